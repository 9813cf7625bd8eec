//! The injector over real `admission.k8s.io/v1` AdmissionReviews (`tests/reviews/*.json`, shaped
//! as the API server sends them for a ReplicaSet's pod) and its HTTPS server.

mod bootstrap;
mod cert_reload;
mod https;
mod injector_config;
mod reviews;
mod shipped;

use serde_json::Value;
use warden_injector::config::Config;

/// The configuration the tests inject with (the shipped ConfigMap's, minus what a test varies).
pub const CONFIG: &str = "\
envoy:
  image: registry.example/warden-envoy:0.1.0
  plugin_config: {default_profile: default, profiles: {default: {}, team-a: {}}}
sidecar:
  image: registry.example/warden-sidecar:0.1.0
  config: {credentials: {aws: {region: us-east-1}}}
";

pub fn config() -> Config {
    Config::from_yaml(CONFIG).expect("the test configuration is valid")
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/reviews/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}
