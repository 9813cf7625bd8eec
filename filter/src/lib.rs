//! Warden: an LLM security gateway that runs inside Envoy as a proxy-wasm filter.
//!
//! Everything except `host/` is plain Rust that builds and is tested natively; `host/` is the only
//! code that talks to the proxy-wasm ABI.
#![deny(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod cache;
pub mod config;
pub mod credentials;
pub mod error;
pub mod exchange;
#[cfg(fuzzing)]
pub mod fuzz_logic;
pub mod keys;
pub mod meter;
pub mod policy;
pub mod providers;
pub mod routes;
pub mod store;
pub mod stream;
#[cfg(test)]
pub(crate) mod testutil;
pub mod transform;
pub mod view;

#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
mod host;
