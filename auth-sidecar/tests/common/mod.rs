//! Shared by the sidecar's integration tests: start the real binary with an environment, read
//! credentials out of answers, and prove that no secret leaked.
#![allow(dead_code)]

pub mod fake_chat;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use warden_e2e::sidecar::Sidecar;
use warden_proto::v1::{credential, AwsCredentials, Credential};

pub fn start(config: Value, env: &[(&str, String)]) -> Sidecar {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    Sidecar::start(Path::new(env!("CARGO_BIN_EXE_warden-sidecar")), &config, &env)
}

pub fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(&path, content).expect("write test file");
    path
}

pub fn bearer(c: &Credential) -> String {
    match &c.kind {
        Some(credential::Kind::Bearer(b)) => b.access_token.clone(),
        other => panic!("expected a bearer token, got {other:?}"),
    }
}

pub fn aws(c: &Credential) -> AwsCredentials {
    match &c.kind {
        Some(credential::Kind::Aws(a)) => a.clone(),
        other => panic!("expected AWS credentials, got {other:?}"),
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Asserts that the expiry lies within `expected` (± 5 s) from now.
pub fn assert_expires_in(c: &Credential, expected: Duration) {
    let delta = c.expires_at_unix_ms - now_ms();
    let want = expected.as_millis() as i64;
    assert!((delta - want).abs() < 5_000, "expires in {delta} ms, expected about {want} ms");
}

/// Fails if any secret appears in the status message or in the sidecar's stderr.
pub fn assert_no_secret(sidecar: &Sidecar, status: &tonic::Status, secrets: &[&str]) {
    let stderr = sidecar.stderr();
    for secret in secrets {
        assert!(!status.message().contains(secret), "status leaks {secret:?}: {}", status.message());
        assert!(!stderr.contains(secret), "stderr leaks {secret:?}:\n{stderr}");
    }
}

/// The value of a Prometheus sample line `name{labels} value` on the admin port, 0 when absent.
pub fn metric(sidecar: &Sidecar, series: &str) -> f64 {
    let text = warden_e2e::client::get(&sidecar.admin_url("/metrics"), &[]).text();
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A `warden.v1.Keys` client on a fresh connection.
pub async fn keys_client(sidecar: &Sidecar) -> warden_proto::v1::keys_client::KeysClient<tonic::transport::Channel> {
    warden_proto::v1::keys_client::KeysClient::connect(sidecar.grpc_url()).await.expect("connect to the sidecar")
}

/// `Keys.Resolve` for the SHA-256 of `key` (the filter never sends the key itself).
pub async fn resolve_key(
    sidecar: &Sidecar,
    key: &str,
    provider: &str,
) -> Result<warden_proto::v1::ResolveReply, tonic::Status> {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes()).to_vec();
    let request = warden_proto::v1::ResolveRequest {
        subject: Some(warden_proto::v1::resolve_request::Subject::KeySha256(digest)),
        provider: provider.to_string(),
    };
    keys_client(sidecar).await.resolve(request).await.map(|r| r.into_inner())
}

/// Polls `check` every 100 ms until it holds or `within` has passed; returns whether it held.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Replaces a file the way a deployment does (write beside it, rename over it), so the sidecar
/// never reads half of it.
pub fn replace(path: &Path, content: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}
