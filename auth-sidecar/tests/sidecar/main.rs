//! The sidecar's integration tests as one test binary (each file beside this directory is one
//! module): the binary links the cloud SDKs once. Run one file with
//! `cargo test -p warden-sidecar --test sidecar <file>::`.

#[path = "../common/mod.rs"]
mod common;

#[path = "../sidecar_aws.rs"]
mod sidecar_aws;
#[path = "../sidecar_azure.rs"]
mod sidecar_azure;
#[path = "../sidecar_dual_llm.rs"]
mod sidecar_dual_llm;
#[path = "../sidecar_gcp.rs"]
mod sidecar_gcp;
#[path = "../sidecar_keys.rs"]
mod sidecar_keys;
#[path = "../sidecar_limits.rs"]
mod sidecar_limits;
#[path = "../sidecar_service.rs"]
mod sidecar_service;
