//! End-to-end harness: real Envoy, the warden module, a mock provider.
//!
//! - [`mock`]: the mock provider (also the `mock_provider` binary).
//! - [`stack`]: starts mock + Envoy for a test and tears them down on drop.
//! - [`client`]: a small blocking HTTP client that returns raw bytes.
//! - [`prom`]: reads Prometheus text exposition.
//! - [`promql`]: what a dashboard's PromQL asks of the metrics it names, checked against a scrape.
//! - [`seen`]: what a client made of a reply (text, tool calls, finish), in every wire format.
//! - [`sidecar`]: runs the real `warden-sidecar` binary; [`fake_identity`]: the fake cloud
//!   identity endpoints it is tested against; [`redis`]: a private `redis-server` per test.
//! - [`shipped`]: an Envoy bootstrap and sidecar config a deployment ships, run as shipped with
//!   the fewest substitutions, and the deployment smoke suite; [`istio`]: Istio's resources
//!   rendered into the Envoy configuration istiod would hand the proxy; [`injection`]: what the
//!   sidecar-injection webhook renders into a pod.

pub mod adversary;
pub mod cases;
pub mod client;
pub mod fake_identity;
pub mod injection;
pub mod istio;

pub mod mock;
pub mod otlp;
pub mod policy;
pub mod prom;
pub mod promql;
pub mod redis;
pub mod run;
pub mod seen;
pub mod shipped;
pub mod sidecar;
pub mod stack;

pub use stack::{Stack, StackOptions};
