//! AWS credentials from the real binary through the SDK's default chain, configured only through
//! AWS's standard variables, against the fake STS, container-credentials and IMDSv2 endpoints.

use crate::common;

use common::{assert_expires_in, assert_no_secret, aws, now_ms, start, write};
use serde_json::json;
use std::time::Duration;
use warden_e2e::fake_identity::aws::{self as fake_aws, Aws};
use warden_e2e::fake_identity::Mode;
use warden_proto::v1::Cloud;

fn aws_config() -> serde_json::Value {
    json!({"credentials": {"aws": {"region": "eu-west-3"}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_keys_come_back_with_the_configured_region_and_no_expiry() {
    let sidecar = start(
        aws_config(),
        &[
            ("AWS_ACCESS_KEY_ID", "AKIATESTONLY0000".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "test-only-static-secret-key".to_string()),
        ],
    );
    let c = sidecar.get(Cloud::Aws, "").await.unwrap();
    let creds = aws(&c);
    assert_eq!(creds.access_key_id, "AKIATESTONLY0000");
    assert_eq!(creds.secret_access_key, "test-only-static-secret-key");
    assert_eq!(creds.session_token, "");
    assert_eq!(creds.region, "eu-west-3");
    assert_eq!(c.expires_at_unix_ms, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_identity_assumes_the_role_at_the_sts_endpoint_override() {
    let fake = Aws::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "eks-token", fake_aws::WEB_IDENTITY_TOKEN);
    let sidecar = start(
        aws_config(),
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
            ("AWS_ROLE_ARN", fake_aws::ROLE_ARN.to_string()),
            ("AWS_ENDPOINT_URL_STS", fake.sts_url()),
        ],
    );
    let c = sidecar.get(Cloud::Aws, "").await.unwrap();
    let creds = aws(&c);
    assert_eq!(creds.access_key_id, "ASIAFAKESTS0001");
    assert_eq!(creds.session_token, "test-only-sts-session-token-1");
    assert_eq!(creds.region, "eu-west-3");
    assert_expires_in(&c, Duration::from_secs(3600));
    let form = fake.server.control.requests()[0].form();
    assert_eq!(form["Action"], "AssumeRoleWithWebIdentity");
    assert_eq!(form["RoleArn"], fake_aws::ROLE_ARN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_credentials_send_the_authorization_token() {
    let fake = Aws::start().await;
    let sidecar = start(
        aws_config(),
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", fake.container_uri()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", fake_aws::CONTAINER_TOKEN.to_string()),
        ],
    );
    let c = sidecar.get(Cloud::Aws, "").await.unwrap();
    assert_eq!(aws(&c).access_key_id, "ASIAFAKECONTAINER0001");
    assert_eq!(aws(&c).session_token, "test-only-container-session-token-1");
    assert_expires_in(&c, Duration::from_secs(3600));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_credentials_read_the_authorization_token_file() {
    let fake = Aws::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "pod-identity-token", fake_aws::CONTAINER_TOKEN);
    let sidecar = start(
        aws_config(),
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", fake.container_uri()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token.display().to_string()),
        ],
    );
    let c = sidecar.get(Cloud::Aws, "").await.unwrap();
    assert_eq!(aws(&c).access_key_id, "ASIAFAKECONTAINER0001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imdsv2_takes_a_session_token_then_reads_the_role_credentials() {
    let fake = Aws::start().await;
    let sidecar = start(
        aws_config(),
        &[
            ("AWS_EC2_METADATA_DISABLED", "false".to_string()),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.imds_endpoint()),
        ],
    );
    let c = sidecar.get(Cloud::Aws, "").await.unwrap();
    assert_eq!(aws(&c).access_key_id, "ASIAFAKEIMDS0001");
    assert_expires_in(&c, Duration::from_secs(3600));
    let requests = fake.server.control.requests();
    assert_eq!(requests[0].method, "PUT");
    assert_eq!(requests[0].path, "/latest/api/token");
    assert!(requests.iter().skip(1).all(|r| r.header("x-aws-ec2-metadata-token").is_some()), "{requests:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_credentials_are_replaced_before_they_expire() {
    let fake = Aws::start().await;
    fake.server.control.set_lifetime_secs(4);
    let sidecar = start(
        aws_config(),
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", fake.container_uri()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", fake_aws::CONTAINER_TOKEN.to_string()),
        ],
    );
    let first = sidecar.get(Cloud::Aws, "").await.unwrap();
    assert_eq!(aws(&sidecar.get(Cloud::Aws, "").await.unwrap()).access_key_id, aws(&first).access_key_id);
    assert_eq!(fake.server.control.issued(), 1);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let second = sidecar.get(Cloud::Aws, "").await.unwrap();
    assert!(first.expires_at_unix_ms > now_ms(), "the first credentials had expired before the refresh");
    assert_eq!(aws(&second).access_key_id, "ASIAFAKECONTAINER0002");
    assert_eq!(fake.server.control.issued(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_is_unavailable_naming_aws_and_leaking_no_secret() {
    let fake = Aws::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "eks-token", fake_aws::WEB_IDENTITY_TOKEN);
    let sidecar = start(
        aws_config(),
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
            ("AWS_ROLE_ARN", fake_aws::ROLE_ARN.to_string()),
            ("AWS_ENDPOINT_URL_STS", fake.sts_url()),
        ],
    );
    for mode in [Mode::Fail500, Mode::Garbage] {
        fake.server.control.set_mode(mode);
        let status = sidecar.get(Cloud::Aws, "").await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable, "{mode:?}: {status:?}");
        assert!(status.message().starts_with("aws: "), "{}", status.message());
        assert_no_secret(&sidecar, &status, &[fake_aws::WEB_IDENTITY_TOKEN]);
    }
    fake.server.control.set_mode(Mode::Normal);
    let c = sidecar.get(Cloud::Aws, "").await.unwrap();
    assert!(aws(&c).access_key_id.starts_with("ASIAFAKESTS"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_container_token_is_unavailable_without_the_token() {
    let fake = Aws::start().await;
    let wrong = "test-only-wrong-container-token";
    let sidecar = start(
        aws_config(),
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", fake.container_uri()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", wrong.to_string()),
        ],
    );
    let status = sidecar.get(Cloud::Aws, "").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_no_secret(&sidecar, &status, &[wrong]);
}
