//! The sidecar inside a stack: Envoy loads the template's `warden_sidecar` cluster (HTTP/2), and
//! its gRPC health check reaches the real sidecar through that cluster.

use serde_json::json;
use std::time::{Duration, Instant};
use warden_e2e::{client, Stack, StackOptions};

#[test]
fn envoy_loads_the_sidecar_cluster_and_its_grpc_health_check_passes() {
    let stack = Stack::start(StackOptions {
        wasm: false,
        mock_binary: Some(env!("CARGO_BIN_EXE_mock_provider").into()),
        sidecar: Some(json!({"credentials": {"aws": {"region": "us-east-1"}}})),
        sidecar_env: vec![
            ("AWS_ACCESS_KEY_ID".into(), "AKIATESTONLY0000".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test-only-static-secret-key".into()),
        ],
        ..StackOptions::default()
    });
    let port = stack.sidecar().map(|s| s.grpc.port()).unwrap_or_default();
    let healthy = format!("warden_sidecar::127.0.0.1:{port}::health_flags::healthy");

    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut clusters, mut successes) = (String::new(), 0.0);
    while Instant::now() < deadline {
        clusters = client::get(&stack.admin_url("/clusters"), &[]).text();
        successes = stack.stats_json()["stats"]
            .as_array()
            .and_then(|all| all.iter().find(|s| s["name"] == "cluster.warden_sidecar.health_check.success"))
            .and_then(|s| s["value"].as_f64())
            .unwrap_or(0.0);
        if clusters.lines().any(|l| l == healthy) && successes >= 1.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(clusters.lines().any(|l| l == healthy), "no {healthy:?} in /clusters:\n{clusters}");
    assert!(successes >= 1.0, "Envoy's gRPC health check of the sidecar never succeeded");

    let healthz = client::get(&stack.sidecar_admin_url("/healthz"), &[]);
    assert_eq!(healthz.status, 200);
}
