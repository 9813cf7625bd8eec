//! Virtual keys and OAuth clients (DESIGN §4.6, §4.9): the keys file, the set loaded from it and
//! kept current, and `warden.v1.Keys/Resolve`.
//!
//! - [`file`] — the YAML schema, validation, loading (hashing `key:` values, reading provider
//!   keys from their environment variables and files);
//! - [`set`] — the loaded set and resolution (constant-time digest comparison);
//! - [`store`] — the set in force and its reloading when the files change;
//! - [`grpc`] — the gRPC service.

pub mod file;
pub mod grpc;
pub mod set;
pub mod store;

pub use store::KeyStore;
