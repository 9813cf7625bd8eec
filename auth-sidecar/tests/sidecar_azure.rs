//! Azure credentials from the real binary, configured only through Azure's standard variables
//! (`AZURE_AUTHORITY_HOST` at an HTTPS fake whose test CA comes through `SSL_CERT_FILE`).

use crate::common;

use common::{assert_expires_in, assert_no_secret, bearer, metric, now_ms, start, write};
use serde_json::json;
use std::time::Duration;
use warden_e2e::fake_identity::entra::{self, Entra};
use warden_e2e::fake_identity::Mode;
use warden_e2e::sidecar::Sidecar;
use warden_proto::v1::Cloud;

const SCOPE: &str = "https://cognitiveservices.azure.com/.default";

fn azure_config() -> serde_json::Value {
    json!({"credentials": {"azure": {}}})
}

/// The CA file lives in `dir`, which must outlive the sidecar.
fn ca_env(fake: &Entra, dir: &std::path::Path) -> (&'static str, String) {
    let ca = dir.join("test-ca.pem");
    fake.ca.write_ca(&ca);
    ("SSL_CERT_FILE", ca.display().to_string())
}

fn client_secret_sidecar(fake: &Entra, dir: &std::path::Path) -> Sidecar {
    start(
        azure_config(),
        &[
            ("AZURE_TENANT_ID", entra::TENANT_ID.to_string()),
            ("AZURE_CLIENT_ID", entra::CLIENT_ID.to_string()),
            ("AZURE_CLIENT_SECRET", entra::CLIENT_SECRET.to_string()),
            ("AZURE_AUTHORITY_HOST", fake.authority_host()),
            ca_env(fake, dir),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_gets_a_token_from_the_authority_over_https() {
    let fake = Entra::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sidecar = client_secret_sidecar(&fake, dir.path());

    let c = sidecar.get(Cloud::Azure, SCOPE).await.unwrap();
    assert_eq!(bearer(&c), "eyJ0eXAi.fake-entra-secret-1");
    assert_expires_in(&c, Duration::from_secs(3600));
    let form = fake.server.control.requests()[0].form();
    assert_eq!(form["scope"], SCOPE);
    assert_eq!(form["client_id"], entra::CLIENT_ID);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_sends_the_federated_token_file_as_the_client_assertion() {
    let fake = Entra::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = write(dir.path(), "azure-identity-token", entra::FEDERATED_TOKEN);
    let sidecar = start(
        azure_config(),
        &[
            ("AZURE_TENANT_ID", entra::TENANT_ID.to_string()),
            ("AZURE_CLIENT_ID", entra::CLIENT_ID.to_string()),
            ("AZURE_FEDERATED_TOKEN_FILE", token_file.display().to_string()),
            ("AZURE_AUTHORITY_HOST", fake.authority_host()),
            ca_env(&fake, dir.path()),
        ],
    );

    let c = sidecar.get(Cloud::Azure, SCOPE).await.unwrap();
    assert_eq!(bearer(&c), "eyJ0eXAi.fake-entra-federated-1");
    let form = fake.server.control.requests()[0].form();
    assert_eq!(form["client_assertion"], entra::FEDERATED_TOKEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_uses_identity_endpoint_and_its_header() {
    let fake = Entra::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sidecar = start(
        azure_config(),
        &[
            ("IDENTITY_ENDPOINT", fake.identity_endpoint()),
            ("IDENTITY_HEADER", entra::IDENTITY_HEADER.to_string()),
            ca_env(&fake, dir.path()),
        ],
    );

    let c = sidecar.get(Cloud::Azure, SCOPE).await.unwrap();
    assert_eq!(bearer(&c), "eyJ0eXAi.fake-msi-1");
    assert_expires_in(&c, Duration::from_secs(3600));
    let seen = &fake.server.control.requests()[0];
    assert_eq!(seen.query.get("resource").map(String::as_str), Some("https://cognitiveservices.azure.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_lived_token_is_replaced_before_it_expires() {
    let fake = Entra::start().await;
    fake.server.control.set_lifetime_secs(4);
    let dir = tempfile::tempdir().unwrap();
    let sidecar = client_secret_sidecar(&fake, dir.path());

    let first = sidecar.get(Cloud::Azure, SCOPE).await.unwrap();
    assert_eq!(bearer(&sidecar.get(Cloud::Azure, SCOPE).await.unwrap()), bearer(&first));
    assert_eq!(fake.server.control.issued(), 1);
    // Past half of its life the token is refreshed, while it is still valid.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let second = sidecar.get(Cloud::Azure, SCOPE).await.unwrap();
    assert!(first.expires_at_unix_ms > now_ms(), "the first token had expired before the refresh");
    assert_eq!(bearer(&second), "eyJ0eXAi.fake-entra-secret-2");
    assert!(second.expires_at_unix_ms > first.expires_at_unix_ms);
    assert_eq!(fake.server.control.issued(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_requests_cause_one_fetch() {
    let fake = Entra::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sidecar = std::sync::Arc::new(client_secret_sidecar(&fake, dir.path()));

    let mut calls = Vec::new();
    for _ in 0..40 {
        let sidecar = sidecar.clone();
        calls.push(tokio::spawn(async move { sidecar.get(Cloud::Azure, SCOPE).await }));
    }
    for call in calls {
        assert_eq!(bearer(&call.await.unwrap().unwrap()), "eyJ0eXAi.fake-entra-secret-1");
    }
    assert_eq!(fake.server.control.count("/"), 1);
    assert_eq!(metric(&sidecar, "warden_sidecar_token_fetches_total{cloud=\"azure\",result=\"ok\"}"), 1.0);
    assert_eq!(metric(&sidecar, "warden_sidecar_cache_hits_total{cloud=\"azure\"}"), 39.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_authority_is_unavailable_naming_azure_and_leaking_no_secret() {
    let fake = Entra::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sidecar = client_secret_sidecar(&fake, dir.path());

    for mode in [Mode::Fail500, Mode::Garbage] {
        fake.server.control.set_mode(mode);
        let status = sidecar.get(Cloud::Azure, SCOPE).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable, "{mode:?}: {status:?}");
        assert!(status.message().starts_with("azure: client secret token request failed"), "{}", status.message());
        assert_no_secret(&sidecar, &status, &[entra::CLIENT_SECRET]);
    }
    assert_eq!(metric(&sidecar, "warden_sidecar_token_fetches_total{cloud=\"azure\",result=\"error\"}"), 2.0);
    assert_eq!(metric(&sidecar, "warden_sidecar_credential_failures_total{cloud=\"azure\"}"), 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_is_refused_by_the_authority_and_not_echoed() {
    let fake = Entra::start().await;
    let dir = tempfile::tempdir().unwrap();
    let wrong = "test-only-wrong-secret-0000";
    let sidecar = start(
        azure_config(),
        &[
            ("AZURE_TENANT_ID", entra::TENANT_ID.to_string()),
            ("AZURE_CLIENT_ID", entra::CLIENT_ID.to_string()),
            ("AZURE_CLIENT_SECRET", wrong.to_string()),
            ("AZURE_AUTHORITY_HOST", fake.authority_host()),
            ca_env(&fake, dir.path()),
        ],
    );
    let status = sidecar.get(Cloud::Azure, SCOPE).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(status.message().contains("invalid_client") || status.message().contains("401"), "{}", status.message());
    assert_no_secret(&sidecar, &status, &[wrong]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_test_ca_the_authority_is_not_trusted() {
    let fake = Entra::start().await;
    let sidecar = start(
        azure_config(),
        &[
            ("AZURE_TENANT_ID", entra::TENANT_ID.to_string()),
            ("AZURE_CLIENT_ID", entra::CLIENT_ID.to_string()),
            ("AZURE_CLIENT_SECRET", entra::CLIENT_SECRET.to_string()),
            ("AZURE_AUTHORITY_HOST", fake.authority_host()),
        ],
    );
    let status = sidecar.get(Cloud::Azure, SCOPE).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(fake.server.control.issued(), 0);
}
