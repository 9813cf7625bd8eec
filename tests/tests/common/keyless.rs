//! Shared by the keyless-credential test files (DESIGN §4.7): a stack running the real sidecar
//! against fake identity endpoints, requests tagged with an `x-request-id`, what the upstream saw
//! for each, and the check that no secret reached a log.

use serde_json::Value;
use std::path::{Path, PathBuf};
use warden_e2e::client::{self, Reply};
use warden_e2e::fake_identity::aws::{self, Aws};
use warden_e2e::fake_identity::entra::{self, Entra};
use warden_e2e::fake_identity::google::{self, Google};
use warden_e2e::{Stack, StackOptions};

/// The fakes are tokio servers; the tests themselves are plain threads.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}

pub fn stack(plugin: Value, sidecar: Value, env: Vec<(String, String)>, concurrency: u32) -> Stack {
    super::warden_stack_with(StackOptions {
        plugin_config: plugin,
        sidecar: Some(sidecar),
        sidecar_env: env,
        concurrency,
        log_level: "info".into(),
        ..StackOptions::default()
    })
}

/// The request the mock provider received with this `x-request-id` (Envoy forwards it), or null.
pub fn upstream(stack: &Stack, request_id: &str) -> Value {
    stack
        .mock_requests()
        .into_iter()
        .find(|r| r.pointer("/headers/x-request-id").and_then(Value::as_str) == Some(request_id))
        .unwrap_or(Value::Null)
}

pub fn header<'a>(upstream: &'a Value, name: &str) -> Option<&'a str> {
    upstream.pointer(&format!("/headers/{name}")).and_then(Value::as_str)
}

/// POSTs a JSON body with `x-request-id: request_id`.
pub fn post(stack: &Stack, path: &str, headers: &[(&str, &str)], body: &Value, request_id: &str) -> Reply {
    let mut all = headers.to_vec();
    all.push(("content-type", "application/json"));
    all.push(("x-request-id", request_id));
    client::send("POST", &stack.url(path), &all, body.to_string().as_bytes()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A directory of its own for files a test hands the sidecar (the test CA), removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!("warden-{label}-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Entra client-secret credentials against the fake authority (HTTPS, the test CA trusted
/// through `SSL_CERT_FILE`).
pub fn entra_env(fake: &Entra, dir: &Path) -> Vec<(String, String)> {
    let ca = dir.join("test-ca.pem");
    fake.ca.write_ca(&ca);
    vec![
        ("AZURE_TENANT_ID".into(), entra::TENANT_ID.into()),
        ("AZURE_CLIENT_ID".into(), entra::CLIENT_ID.into()),
        ("AZURE_CLIENT_SECRET".into(), entra::CLIENT_SECRET.into()),
        ("AZURE_AUTHORITY_HOST".into(), fake.authority_host()),
        ("SSL_CERT_FILE".into(), ca.display().to_string()),
    ]
}

/// AWS container credentials (what EKS Pod Identity and ECS use): temporary keys with a session
/// token.
pub fn aws_container_env(fake: &Aws) -> Vec<(String, String)> {
    vec![
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI".into(), fake.container_uri()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN".into(), aws::CONTAINER_TOKEN.into()),
    ]
}

/// The GCE metadata server (what GKE Workload Identity serves).
pub fn gcp_env(fake: &Google) -> Vec<(String, String)> {
    vec![("GCE_METADATA_HOST".into(), fake.metadata_host())]
}

/// The secrets the fakes check, and the stems of every token and key they issue.
pub fn fake_secrets() -> Vec<String> {
    vec![
        entra::CLIENT_SECRET.into(),
        entra::FEDERATED_TOKEN.into(),
        entra::IDENTITY_HEADER.into(),
        aws::CONTAINER_TOKEN.into(),
        aws::WEB_IDENTITY_TOKEN.into(),
        google::CLIENT_SECRET.into(),
        google::REFRESH_TOKEN.into(),
        // Every issued token and key carries these stems.
        "fake-entra-secret-".into(),
        "fake-mds-".into(),
        "-secret-access-key-".into(),
        "-session-token-".into(),
    ]
}

/// Envoy's log, the access log and the sidecar's stderr, which must never hold a secret.
pub fn all_logs(stack: &Stack) -> String {
    let access = std::fs::read_to_string(stack.dir().join("access.log")).unwrap_or_default();
    let sidecar = stack.sidecar().map(|s| s.stderr()).unwrap_or_default();
    format!("{}\n{access}\n{sidecar}", stack.envoy_log())
}

pub fn assert_no_secret_in_logs(stack: &Stack, secrets: &[String]) {
    let logs = all_logs(stack);
    for secret in secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached Envoy's log, the access log or the sidecar's: {secret}"
        );
    }
}
