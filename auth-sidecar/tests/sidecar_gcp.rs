//! GCP credentials from the real binary, configured only through Google's standard variables,
//! against the fake Google endpoints.

use crate::common;

use common::{assert_expires_in, assert_no_secret, bearer, start, write};
use serde_json::json;
use std::time::Duration;
use warden_e2e::fake_identity::google::{self, Google, ServiceAccount};
use warden_e2e::fake_identity::Mode;
use warden_proto::v1::Cloud;

fn gcp_config() -> serde_json::Value {
    json!({"credentials": {"gcp": {}}})
}

const LEASE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_key_gives_a_self_signed_jwt_for_the_requested_scope() {
    let dir = tempfile::tempdir().unwrap();
    let account = ServiceAccount::generate();
    let key = write(dir.path(), "sa.json", &account.key_json("http://127.0.0.1:1/token").to_string());
    let sidecar = start(gcp_config(), &[("GOOGLE_APPLICATION_CREDENTIALS", key.display().to_string())]);

    let default = sidecar.get(Cloud::Gcp, "").await.unwrap();
    let claims = account.verify(&bearer(&default)).unwrap();
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/cloud-platform");
    assert_expires_in(&default, LEASE);

    let other = sidecar.get(Cloud::Gcp, "https://www.googleapis.com/auth/devstorage.read_only").await.unwrap();
    let claims = account.verify(&bearer(&other)).unwrap();
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/devstorage.read_only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorized_user_file_refreshes_at_its_token_uri_once_for_many_requests() {
    let fake = Google::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "adc.json", &fake.authorized_user_json().to_string());
    let sidecar = start(gcp_config(), &[("GOOGLE_APPLICATION_CREDENTIALS", file.display().to_string())]);

    for _ in 0..5 {
        let c = sidecar.get(Cloud::Gcp, "").await.unwrap();
        assert_eq!(bearer(&c), "ya29.fake-user-1");
    }
    assert_eq!(fake.server.control.count("/token"), 1);
    let seen = &fake.server.control.requests()[0];
    assert_eq!(seen.params()["grant_type"], "refresh_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gcloud_adc_file_under_home_is_found() {
    let fake = Google::start().await;
    let home = tempfile::tempdir().unwrap();
    write(home.path(), ".config/gcloud/application_default_credentials.json", &fake.authorized_user_json().to_string());
    let sidecar = start(gcp_config(), &[("HOME", home.path().display().to_string())]);

    let c = sidecar.get(Cloud::Gcp, "").await.unwrap();
    assert_eq!(bearer(&c), "ya29.fake-user-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_account_exchanges_the_credential_source_file_at_sts() {
    let fake = Google::start().await;
    let dir = tempfile::tempdir().unwrap();
    let subject = write(dir.path(), "oidc-token", google::SUBJECT_TOKEN);
    let file = write(dir.path(), "wif.json", &fake.external_account_json(&subject).to_string());
    let sidecar = start(gcp_config(), &[("GOOGLE_APPLICATION_CREDENTIALS", file.display().to_string())]);

    let c = sidecar.get(Cloud::Gcp, "").await.unwrap();
    assert_eq!(bearer(&c), "ya29.fake-sts-1");
    let form = fake.server.control.requests()[0].params();
    assert_eq!(form["scope"], "https://www.googleapis.com/auth/cloud-platform");
    assert_eq!(form["subject_token_type"], "urn:ietf:params:oauth:token-type:jwt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_server_at_gce_metadata_host_is_asked_with_its_flavor_header() {
    let fake = Google::start().await;
    let sidecar = start(gcp_config(), &[("GCE_METADATA_HOST", fake.metadata_host())]);

    let c = sidecar.get(Cloud::Gcp, "").await.unwrap();
    assert_eq!(bearer(&c), "ya29.fake-mds-1");
    assert_expires_in(&c, LEASE);
    let token_requests: Vec<_> =
        fake.server.control.requests().into_iter().filter(|r| r.path.ends_with("/token")).collect();
    assert_eq!(token_requests.len(), 1);
    assert_eq!(token_requests[0].header("metadata-flavor"), Some("Google"));
    assert_eq!(token_requests[0].query.get("scopes").map(String::as_str), Some(google::DEFAULT_SCOPE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_token_endpoint_is_unavailable_naming_gcp_and_leaking_nothing() {
    let fake = Google::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "adc.json", &fake.authorized_user_json().to_string());
    let sidecar = start(gcp_config(), &[("GOOGLE_APPLICATION_CREDENTIALS", file.display().to_string())]);
    let secrets = [google::CLIENT_SECRET, google::REFRESH_TOKEN];

    fake.server.control.set_mode(Mode::Fail500);
    let status = sidecar.get(Cloud::Gcp, "").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().starts_with("gcp: "), "{}", status.message());
    assert!(status.message().contains("500"), "{}", status.message());
    assert_no_secret(&sidecar, &status, &secrets);

    fake.server.control.set_mode(Mode::Garbage);
    let status = sidecar.get(Cloud::Gcp, "").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().starts_with("gcp: "), "{}", status.message());
    assert_no_secret(&sidecar, &status, &secrets);

    fake.server.control.set_mode(Mode::Normal);
    assert_eq!(bearer(&sidecar.get(Cloud::Gcp, "").await.unwrap()), "ya29.fake-user-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_key_file_that_is_not_json_is_unavailable_without_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let account = ServiceAccount::generate();
    let broken = format!("not json {}", account.private_key_pem);
    let key = write(dir.path(), "sa.json", &broken);
    let sidecar = start(gcp_config(), &[("GOOGLE_APPLICATION_CREDENTIALS", key.display().to_string())]);

    let status = sidecar.get(Cloud::Gcp, "").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(status.message().starts_with("gcp: cannot load Application Default Credentials"), "{}", status.message());
    let body = account.private_key_pem.lines().nth(1).unwrap();
    assert_no_secret(&sidecar, &status, &[body]);
}
