//! The real binary as a service and as a CLI: gRPC health, the admin port, statuses for clouds
//! that are not enabled, `check-config` on real plugin configurations, `--version`, and a bad
//! sidecar configuration.

use crate::common;

use common::{metric, start, write};
use serde_json::json;
use std::process::Command;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use warden_e2e::client;
use warden_proto::v1::Cloud;

const BIN: &str = env!("CARGO_BIN_EXE_warden-sidecar");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_health_and_healthz_report_serving() {
    let sidecar = start(json!({}), &[]);
    let channel = tonic::transport::Endpoint::from_shared(sidecar.grpc_url()).unwrap().connect().await.unwrap();
    let mut health = HealthClient::new(channel);
    for service in ["", "warden.v1.Credentials"] {
        let reply = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(reply.status, ServingStatus::Serving as i32, "service {service:?}");
    }
    let healthz = client::get(&sidecar.admin_url("/healthz"), &[]);
    assert_eq!((healthz.status, healthz.text()), (200, "ok\n".to_string()));
    assert_eq!(client::get(&sidecar.admin_url("/nope"), &[]).status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_missing_from_the_config_is_failed_precondition_and_counted() {
    let sidecar = start(json!({"credentials": {"aws": {"region": "us-east-1"}}}), &[]);
    for (cloud, name) in [(Cloud::Gcp, "gcp"), (Cloud::Azure, "azure")] {
        let status = sidecar.get(cloud, "https://example/.default").await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert_eq!(
            status.message(),
            format!("{name}: not enabled in the sidecar configuration (add credentials.{name} to it)")
        );
    }
    let status = sidecar.get(Cloud::Unspecified, "").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(metric(&sidecar, "warden_sidecar_credential_failures_total{cloud=\"gcp\"}"), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_fetches_hits_and_latency_in_prometheus_text() {
    let sidecar = start(
        json!({"credentials": {"aws": {"region": "us-east-1"}}}),
        &[
            ("AWS_ACCESS_KEY_ID", "AKIATESTONLY0000".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "test-only-static-secret-key".to_string()),
        ],
    );
    for _ in 0..3 {
        sidecar.get(Cloud::Aws, "").await.unwrap();
    }
    let reply = client::get(&sidecar.admin_url("/metrics"), &[]);
    assert_eq!(reply.status, 200);
    let text = reply.text();
    for line in [
        "# TYPE warden_sidecar_token_fetches counter",
        "warden_sidecar_token_fetches_total{cloud=\"aws\",result=\"ok\"} 1",
        "warden_sidecar_cache_hits_total{cloud=\"aws\"} 2",
        "# TYPE warden_sidecar_token_fetch_duration_seconds histogram",
        "warden_sidecar_token_fetch_duration_seconds_count{cloud=\"aws\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("test-only-static-secret-key") && !text.contains("AKIATESTONLY0000"));
}

fn check_config(file: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(BIN).arg("check-config").arg(file).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_accepts_the_repositorys_policy_config() {
    let file = warden_e2e::stack::repo_root().join("tests/policy-config.json");
    let (code, stdout, stderr) = check_config(&file);
    assert_eq!((code, stdout.as_str()), (0, "ok\n"), "{stderr}");
}

#[test]
fn check_config_rejects_each_error_kind_with_the_path_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "bad operator",
            r#"{"profiles":{"ops":{"tool_policies":[{"tool":"read_file","conditions":[{"key":"path","operator":"begins_with","value":"/etc"}],"action":"block_always"}]}}}"#,
            "profiles.ops.tool_policies[0].conditions[0].operator",
        ),
        ("unknown key", r#"{"profiles":{"ops":{"tool_polices":[]}}}"#, "profiles.ops.tool_polices"),
        (
            "bad regex",
            r#"{"default_profile":"ops","profiles":{"ops":{"tool_policies":[{"tool":"c","action":"block_always","conditions":[{"key":"x","operator":"regex","value":"(unclosed"}]}]}}}"#,
            "profiles.ops.tool_policies[0].conditions[0].value",
        ),
        ("missing profile", r#"{"default_profile":"ops","profiles":{"default":{}}}"#, "default_profile"),
        ("no profiles", r#"{}"#, "profiles"),
        ("not json", "profiles: {", ""),
    ];
    for (what, text, path) in cases {
        let file = write(dir.path(), &format!("{}.json", what.replace(' ', "-")), text);
        let (code, stdout, stderr) = check_config(&file);
        assert_eq!(code, 1, "{what}: {stdout}{stderr}");
        assert!(stderr.contains(&format!("at {path}")) || path.is_empty(), "{what}: {stderr}");
        assert!(stderr.starts_with(&file.display().to_string()), "{what}: {stderr}");
        assert_eq!(stdout, "", "{what}");
    }
}

#[test]
fn version_prints_the_package_version() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("warden-sidecar {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn serve_refuses_a_config_with_an_unknown_key_naming_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "sidecar.yaml", "credentials:\n  aws: {regoin: us-east-1}\n");
    let out = Command::new(BIN).arg("serve").arg("--config").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at credentials.aws.regoin"), "{stderr}");
}
