//! `warden.v1`: the messages the filter and the sidecar exchange (`warden.proto`). Without
//! features this is prost message types only and builds for wasm32-wasip1; the `grpc` feature adds
//! the tonic client and server modules of every service.

#![allow(clippy::derive_partial_eq_without_eq)]

pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/warden.v1.rs"));
}

/// The gRPC service name the filter dispatches to (`dispatch_grpc_call`).
pub const CREDENTIALS_SERVICE: &str = "warden.v1.Credentials";
/// The method of [`CREDENTIALS_SERVICE`] that returns a credential.
pub const CREDENTIALS_GET: &str = "Get";

/// [`DUAL_LLM_SERVICE`]'s method that sanitises one tool result.
pub const DUAL_LLM_SANITIZE: &str = "Sanitize";
/// The Dual-LLM service.
pub const DUAL_LLM_SERVICE: &str = "warden.v1.DualLlm";
/// The virtual-key service and its method.
pub const KEYS_SERVICE: &str = "warden.v1.Keys";
pub const KEYS_RESOLVE: &str = "Resolve";
/// The live model lists of the model router and their method.
pub const MODELS_SERVICE: &str = "warden.v1.Models";
pub const MODELS_LIST: &str = "List";
/// The shared cost-limit counters and their methods.
pub const LIMITS_SERVICE: &str = "warden.v1.Limits";
pub const LIMITS_READ: &str = "Read";
pub const LIMITS_ADD: &str = "Add";
