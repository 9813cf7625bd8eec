//! The Envoy and sidecar configurations the deployments ship (examples/docker-compose,
//! examples/kubernetes/gateway, examples/istio rendered as istiod would) run in the harness with
//! only the substitutions of `warden_e2e::shipped`, and pass the smoke suite.

use serde_json::Value;
use warden_e2e::istio;
use warden_e2e::shipped::{self, Shipped};

fn passes_smoke(shipped: &Shipped, substitutions_at_most: usize) {
    let running = shipped::start(shipped);
    let failures = shipped::smoke(&running.stack, &shipped.label);
    failures.assert_none(&format!("{} (substituted: {})", shipped.label, running.applied.join("; ")));
    // The list is the proof of "as shipped": a new substitution must be a deliberate change here.
    assert!(
        running.applied.len() <= substitutions_at_most,
        "{}: {} substitutions, expected at most {substitutions_at_most}: {:#?}",
        shipped.label,
        running.applied.len(),
        running.applied
    );
}

#[test]
fn the_compose_mock_configuration_passes_the_smoke_suite() {
    let shipped =
        Shipped::load("examples/docker-compose/envoy.mock.yaml", Some("examples/docker-compose/sidecar.yaml"));
    passes_smoke(&shipped, 26);
}

#[test]
fn the_compose_real_provider_configuration_passes_the_smoke_suite_with_tls_dropped_for_the_mock() {
    let shipped = Shipped::load("examples/docker-compose/envoy.yaml", Some("examples/docker-compose/sidecar.yaml"));
    passes_smoke(&shipped, 26);
}

#[test]
fn the_gateway_configuration_passes_the_smoke_suite() {
    let shipped = Shipped::load(
        "examples/kubernetes/gateway/base/envoy.yaml",
        Some("examples/kubernetes/gateway/base/sidecar.yaml"),
    );
    passes_smoke(&shipped, 28);
}

const ISTIO_MESH: [&str; 6] = [
    "examples/istio/mesh-config.yaml",
    "examples/istio/stats-bootstrap.yaml",
    "examples/istio/warden-filter.yaml",
    "examples/istio/routing.yaml",
    "examples/istio/providers.yaml",
    "examples/istio/sidecar-cluster.yaml",
];

const ISTIO_EGRESS: [&str; 6] = [
    "examples/istio/mesh-config.yaml",
    "examples/istio/egress-gateway/stats-bootstrap.yaml",
    "examples/istio/egress-gateway/warden-filter.yaml",
    "examples/istio/egress-gateway/routing.yaml",
    "examples/istio/egress-gateway/providers.yaml",
    "examples/istio/egress-gateway/sidecar-cluster.yaml",
];

/// The resources of a variant plus the sidecar Deployment (whose ConfigMap holds its config).
fn with_sidecar(files: &[&'static str]) -> Vec<&'static str> {
    files.iter().copied().chain(["examples/istio/sidecar.yaml"]).collect()
}

#[test]
fn the_istio_sidecar_proxy_as_rendered_from_the_shipped_resources_passes_the_smoke_suite() {
    let rendered = istio::render(&with_sidecar(&ISTIO_MESH), "mesh", 10000);
    // The filter runs the shipped plugin config: the one the smoke suite's policy expectations
    // come from.
    let shipped: Value = serde_json::from_str(
        &std::fs::read_to_string(warden_e2e::stack::repo_root().join("examples/plugin-config.json"))
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(shipped::plugin_config(&rendered.envoy), Some(shipped));
    passes_smoke(&rendered, 40);
}

#[test]
fn the_istio_egress_gateway_as_rendered_from_the_shipped_resources_passes_the_smoke_suite() {
    let rendered = istio::render(&with_sidecar(&ISTIO_EGRESS), "warden-egress", 10000);
    passes_smoke(&rendered, 40);
}
