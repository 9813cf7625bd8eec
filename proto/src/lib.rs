//! `warden.v1`: the messages the filter and the sidecar exchange (`warden.proto`). Without
//! features this is prost message types only and builds for wasm32-wasip1; the `grpc` feature adds
//! the tonic `credentials_client` and `credentials_server` modules.

#![allow(clippy::derive_partial_eq_without_eq)]

pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/warden.v1.rs"));
}

/// The gRPC service name the filter dispatches to (`dispatch_grpc_call`).
pub const CREDENTIALS_SERVICE: &str = "warden.v1.Credentials";
/// The method of [`CREDENTIALS_SERVICE`] that returns a credential.
pub const CREDENTIALS_GET: &str = "Get";
