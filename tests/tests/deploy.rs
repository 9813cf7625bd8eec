//! The Envoy and sidecar configurations the deployments ship (examples/docker-compose,
//! examples/kubernetes/gateway, examples/istio rendered as istiod would) run in the harness with
//! only the substitutions of `warden_e2e::shipped`, and pass the smoke suite.

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
