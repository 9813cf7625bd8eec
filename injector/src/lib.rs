//! `warden-injector`: a Kubernetes mutating admission webhook that adds Warden's Envoy and
//! `warden-sidecar` to labelled pods as native sidecars and points the app's provider SDKs at the
//! local Envoy (docs/injection.md).

pub mod bootstrap;
pub mod config;
pub mod inject;
pub mod review;
pub mod server;
