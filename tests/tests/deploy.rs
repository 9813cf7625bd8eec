//! The Envoy and sidecar configurations the deployments ship (examples/docker-compose,
//! examples/kubernetes/gateway, examples/istio rendered as istiod would, and
//! examples/kubernetes/injection rendered by warden-injector) run in the harness with only the
//! substitutions of `warden_e2e::shipped`, and pass the smoke suite.

use serde_json::Value;
use warden_e2e::run::{self, Via};
use warden_e2e::shipped::{self, Shipped};
use warden_e2e::{cases, client, injection, istio, Stack};

fn passes_smoke(shipped: &Shipped, substitutions_at_most: usize) {
    passes_smoke_with_sidecar_env(shipped, &[], substitutions_at_most);
}

/// Runs the smoke suite and returns the deployment still running, for checks of its own.
fn passes_smoke_with_sidecar_env(
    shipped: &Shipped,
    env: &[(&str, &str)],
    substitutions_at_most: usize,
) -> shipped::ShippedStack {
    let running = shipped::start_with_sidecar_env(shipped, env);
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
    running
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

/// The port Envoy bound for the listener `name` (the shipped ports are substituted with 0).
fn listener_port(stack: &Stack, name: &str) -> u16 {
    let listeners = client::get(&stack.admin_url("/listeners?format=json"), &[]).json();
    listeners
        .get("listener_statuses")
        .and_then(Value::as_array)
        .and_then(|all| all.iter().find(|l| l.get("name").and_then(Value::as_str) == Some(name)))
        .and_then(|l| l.pointer("/local_address/socket_address/port_value"))
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| panic!("no listener {name} in {listeners}"))
}

#[test]
fn the_injected_pods_envoy_and_sidecar_as_rendered_by_warden_injector_pass_the_smoke_suite() {
    let rendered = injection::render();
    // The rendering carries the ConfigMap's plugin config: the policy the smoke suite's blocked
    // read_file expects (scripts/deploy-configs.py writes it from examples/plugin-config.json).
    let configmap = shipped::read_yaml(&warden_e2e::stack::repo_root().join(injection::CONFIGMAP));
    let config: Value =
        serde_yaml_ng::from_str(configmap.pointer("/data/config.yaml").and_then(Value::as_str).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(shipped::plugin_config(&rendered.envoy).as_ref(), config.pointer("/envoy/plugin_config"));
    let running = passes_smoke_with_sidecar_env(&rendered, &injection::POD_AWS_IDENTITY, 25);
    let stack = &running.stack;

    // The shipped `providers.bedrock.auth: sigv4`: the gateway signed with the pod's identity
    // (here the test keys) in place of the client's Bedrock API key.
    let o = run::send(stack, &cases::bedrock(false), Via::Filter, "text", None, &[]);
    let auth = o.upstream.as_ref().and_then(|u| u.pointer("/headers/authorization")).and_then(Value::as_str);
    let key_id = injection::POD_AWS_IDENTITY[0].1;
    assert!(
        auth.is_some_and(|a| a.starts_with(&format!("AWS4-HMAC-SHA256 Credential={key_id}/"))),
        "bedrock went upstream with authorization {auth:?}"
    );

    // The kubelet's port: /ready and /stats/prometheus reach the admin API, nothing else of it does.
    let health = |method: &str, path: &str| {
        client::send(method, &format!("http://127.0.0.1:{}{path}", listener_port(stack, "health")), &[], b"")
            .unwrap_or_else(|e| panic!("{method} {path} on the health listener: {e}"))
    };
    let ready = health("GET", "/ready");
    assert_eq!((ready.status, ready.text().trim()), (200, "LIVE"));
    let stats = health("GET", "/stats/prometheus");
    assert!(stats.status == 200 && stats.text().contains("warden_requests_total"), "{}", stats.status);
    for (method, path) in [("POST", "/quitquitquit"), ("GET", "/config_dump"), ("POST", "/ready")] {
        assert_eq!(health(method, path).status, 404, "{method} {path} on the health listener");
    }
}
