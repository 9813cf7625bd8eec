//! The real binary resolving virtual keys (`warden.v1.Keys/Resolve`) from a keys file: provider
//! keys from environment variables and files, every outcome, profiles, SigV4, OAuth clients, the
//! file edited while the sidecar runs, and no secret in its logs, statuses or metrics.

use crate::common;

use common::{eventually, keys_client, metric, replace, resolve_key, start, write};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use warden_e2e::sidecar::Sidecar;
use warden_proto::v1::resolve_reply::Outcome;
use warden_proto::v1::{provider_credential, resolve_request, KeyLimit, ResolveReply, ResolveRequest};

const OPENAI_KEY: &str = "sk-test-openai-from-env-0123456789";
const ANTHROPIC_KEY: &str = "sk-ant-test-from-file-0123456789";
const DEV_KEY: &str = "wdn_team_a_dev_0123456789abcdef";
const OPS_KEY: &str = "wdn_ops_0123456789abcdef";
const OLD_KEY: &str = "wdn_expired_0123456789abcdef";

/// A keys file with a key per case: `team-a-dev` (env and file keys, bound profile, a limit, an
/// expiry far ahead), `ops` (SigV4 Bedrock), `old` (expired), and the `billing-bot` client.
fn keys_yaml(anthropic_file: &Path) -> String {
    format!(
        r#"keys:
  - id: team-a-dev
    key: {DEV_KEY}
    expires_at: 2099-01-01T00:00:00Z
    profile: team-a
    providers:
      openai: {{api_key_env: OPENAI_API_KEY}}
      anthropic: {{api_key_file: {}}}
    limits: [{{usd: 5, window: 1d}}]
  - id: ops
    key_sha256: {}
    providers:
      bedrock: {{auth: sigv4}}
  - id: old
    key: {OLD_KEY}
    expires_at: 2020-01-01T00:00:00Z
    providers:
      openai: {{api_key_env: OPENAI_API_KEY}}
oauth_clients:
  - client_id: billing-bot
    providers: {{openai: {{api_key_env: OPENAI_API_KEY}}}}
    limits: [{{usd: 20, window: calendar_month, models: [gpt-5*]}}]
"#,
        anthropic_file.display(),
        hex_sha256(OPS_KEY)
    )
}

fn hex_sha256(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

struct Setup {
    sidecar: Sidecar,
    keys_file: PathBuf,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let anthropic = write(dir.path(), "secrets/anthropic", &format!("{ANTHROPIC_KEY}\n"));
    let keys_file = write(dir.path(), "keys.yaml", &keys_yaml(&anthropic));
    let sidecar = start(
        json!({"keys": {"file": keys_file}, "credentials": {"aws": {"region": "us-east-1"}}}),
        &[("OPENAI_API_KEY", OPENAI_KEY.to_string())],
    );
    Setup { sidecar, keys_file, _dir: dir }
}

fn api_key(reply: &ResolveReply) -> Option<&str> {
    match reply.credential.as_ref()?.kind.as_ref()? {
        provider_credential::Kind::ApiKey(key) => Some(key),
        provider_credential::Kind::Sigv4(_) => None,
    }
}

fn outcome(reply: &ResolveReply) -> Outcome {
    Outcome::try_from(reply.outcome).unwrap_or(Outcome::Unspecified)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_resolves_to_the_provider_key_from_its_environment_variable_or_its_file() {
    let s = setup();
    let reply = resolve_key(&s.sidecar, DEV_KEY, "openai").await.unwrap();
    assert_eq!(outcome(&reply), Outcome::Ok);
    assert_eq!(api_key(&reply), Some(OPENAI_KEY));
    assert_eq!((reply.id.as_str(), reply.profile.as_str()), ("team-a-dev", "team-a"));
    assert_eq!(reply.mapped_providers, ["anthropic", "openai"]);
    assert_eq!(reply.expires_at_unix_ms, 4_070_908_800_000, "2099-01-01T00:00:00Z");
    assert_eq!(reply.limits, [KeyLimit { usd: 5.0, window: "1d".into(), models: vec![] }]);

    let reply = resolve_key(&s.sidecar, DEV_KEY, "anthropic").await.unwrap();
    assert_eq!(api_key(&reply), Some(ANTHROPIC_KEY), "the file's key, without its newline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_expired_and_unmapped_each_get_their_outcome() {
    let s = setup();
    let unknown = resolve_key(&s.sidecar, "wdn_nobody_has_this_key", "openai").await.unwrap();
    assert_eq!(unknown, ResolveReply { outcome: Outcome::Unknown as i32, ..Default::default() });

    let expired = resolve_key(&s.sidecar, OLD_KEY, "openai").await.unwrap();
    assert_eq!(outcome(&expired), Outcome::Expired);
    assert_eq!((expired.id.as_str(), expired.expires_at_unix_ms), ("old", 1_577_836_800_000));
    assert_eq!(expired.credential, None);

    let unmapped = resolve_key(&s.sidecar, DEV_KEY, "gemini").await.unwrap();
    assert_eq!(outcome(&unmapped), Outcome::NotMapped);
    assert_eq!(unmapped.mapped_providers, ["anthropic", "openai"]);
    assert_eq!((unmapped.id.as_str(), unmapped.profile.as_str()), ("team-a-dev", "team-a"));
    assert_eq!(unmapped.credential, None);

    assert_eq!(metric(&s.sidecar, "warden_sidecar_key_resolves_total{outcome=\"unknown\"}"), 1.0);
    assert_eq!(metric(&s.sidecar, "warden_sidecar_key_resolves_total{outcome=\"expired\"}"), 1.0);
    assert_eq!(metric(&s.sidecar, "warden_sidecar_key_resolves_total{outcome=\"not_mapped\"}"), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bedrock_key_with_sigv4_resolves_to_the_signing_flag_and_no_key() {
    let s = setup();
    let reply = resolve_key(&s.sidecar, OPS_KEY, "bedrock").await.unwrap();
    assert_eq!(outcome(&reply), Outcome::Ok);
    let kind = reply.credential.and_then(|c| c.kind);
    assert_eq!(kind, Some(provider_credential::Kind::Sigv4(true)));
    assert_eq!((reply.id.as_str(), reply.profile.as_str(), reply.expires_at_unix_ms), ("ops", "", 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_client_resolves_by_its_client_id() {
    let s = setup();
    let mut client = keys_client(&s.sidecar).await;
    let ask = |id: &str| ResolveRequest {
        subject: Some(resolve_request::Subject::OauthClientId(id.into())),
        provider: "openai".into(),
    };
    let reply = client.resolve(ask("billing-bot")).await.unwrap().into_inner();
    assert_eq!(outcome(&reply), Outcome::Ok);
    assert_eq!((reply.id.as_str(), api_key(&reply)), ("billing-bot", Some(OPENAI_KEY)));
    assert_eq!(reply.limits, [KeyLimit { usd: 20.0, window: "calendar_month".into(), models: vec!["gpt-5*".into()] }]);
    let reply = client.resolve(ask("someone-else")).await.unwrap().into_inner();
    assert_eq!(outcome(&reply), Outcome::Unknown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_provider_named_lists_what_the_key_maps_without_a_credential() {
    let s = setup();
    let reply = resolve_key(&s.sidecar, DEV_KEY, "").await.unwrap();
    assert_eq!(outcome(&reply), Outcome::Ok);
    assert_eq!(reply.mapped_providers, ["anthropic", "openai"]);
    assert_eq!(reply.credential, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_request_is_invalid_argument_and_keys_not_configured_is_failed_precondition() {
    let s = setup();
    let mut client = keys_client(&s.sidecar).await;
    for request in [
        ResolveRequest { subject: None, provider: "openai".into() },
        ResolveRequest { subject: Some(resolve_request::Subject::KeySha256(vec![1; 31])), provider: "openai".into() },
        // A client that sends the key instead of its hash is refused, not looked up.
        ResolveRequest {
            subject: Some(resolve_request::Subject::KeySha256(DEV_KEY.as_bytes().to_vec())),
            provider: "openai".into(),
        },
        ResolveRequest {
            subject: Some(resolve_request::Subject::OauthClientId(String::new())),
            provider: "openai".into(),
        },
    ] {
        let status = client.resolve(request).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(!status.message().contains(DEV_KEY), "{}", status.message());
    }
    assert_eq!(metric(&s.sidecar, "warden_sidecar_key_resolves_total{outcome=\"error\"}"), 4.0);

    let bare = start(json!({}), &[]);
    let status = resolve_key(&bare, DEV_KEY, "openai").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(status.message(), "keys: no keys file in the sidecar configuration (add keys.file to it)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_to_the_keys_file_take_effect_without_a_restart_and_a_broken_edit_keeps_the_last_good_set() {
    let s = setup();
    let new_key = "wdn_added_later_0123456789abcdef";
    let ok = |key: &'static str| {
        let sidecar = &s.sidecar;
        move || async move { resolve_key(sidecar, key, "openai").await.map(|r| outcome(&r) == Outcome::Ok).unwrap_or(false) }
    };
    assert!(!ok(new_key)().await);

    // Added: works within the poll interval (DESIGN allows 10 s; the sidecar polls every 1 s).
    let anthropic = s.keys_file.parent().unwrap().join("secrets/anthropic");
    let with_new = keys_yaml(&anthropic).replace(
        "oauth_clients:",
        &format!(
            "  - {{id: added, key: {new_key}, providers: {{openai: {{api_key_env: OPENAI_API_KEY}}}}}}\noauth_clients:"
        ),
    );
    replace(&s.keys_file, &with_new);
    assert!(eventually(Duration::from_secs(5), ok(new_key)).await, "the added key never worked");

    // Removed: unknown within the poll interval.
    let without_dev = with_new.replace(&format!("key: {DEV_KEY}"), "key: wdn_rotated_0123456789abcdef");
    replace(&s.keys_file, &without_dev);
    let gone = || async {
        resolve_key(&s.sidecar, DEV_KEY, "openai").await.map(|r| outcome(&r) == Outcome::Unknown).unwrap_or(false)
    };
    assert!(eventually(Duration::from_secs(5), gone).await, "the removed key kept working");

    // Broken (and quoting a key where it does not belong): the last good set stays in force.
    let failures = "warden_sidecar_keys_reload_failures_total";
    let broken = without_dev.replace("oauth_clients:", &format!("  - id: broken\n    {new_key}: oops\noauth_clients:"));
    replace(&s.keys_file, &broken);
    let failed = || async { metric(&s.sidecar, failures) >= 1.0 };
    assert!(eventually(Duration::from_secs(5), failed).await, "the broken edit was not noticed");
    assert!(ok(new_key)().await, "the last good set must stay after a broken edit");
    let stderr = s.sidecar.stderr();
    assert!(stderr.contains("keeping the last good set") && stderr.contains("keys[4]"), "{stderr}");
    assert!(!stderr.contains(new_key), "the broken edit's key leaked:\n{stderr}");

    // Fixed again: loads.
    replace(&s.keys_file, &without_dev);
    let reloaded = || async { metric(&s.sidecar, "warden_sidecar_keys_reloads_total") >= 4.0 };
    assert!(eventually(Duration::from_secs(5), reloaded).await);
    assert_eq!(metric(&s.sidecar, failures), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_of_any_kind_reaches_the_logs_statuses_or_metrics() {
    let s = setup();
    for (key, provider) in [(DEV_KEY, "openai"), (DEV_KEY, "anthropic"), (OLD_KEY, "openai"), (DEV_KEY, "cohere")] {
        resolve_key(&s.sidecar, key, provider).await.unwrap();
    }
    let status = keys_client(&s.sidecar)
        .await
        .resolve(ResolveRequest {
            subject: Some(resolve_request::Subject::KeySha256(DEV_KEY.as_bytes().to_vec())),
            provider: "openai".into(),
        })
        .await
        .unwrap_err();
    let secrets = [OPENAI_KEY, ANTHROPIC_KEY, DEV_KEY, OLD_KEY, OPS_KEY];
    common::assert_no_secret(&s.sidecar, &status, &secrets);
    let metrics = warden_e2e::client::get(&s.sidecar.admin_url("/metrics"), &[]).text();
    for secret in secrets {
        assert!(!metrics.contains(secret), "metrics leak {secret:?}");
    }
    assert!(!metrics.contains("team-a-dev"), "metrics carry outcomes, not key ids");
}

#[test]
fn a_keys_file_that_cannot_be_loaded_stops_the_sidecar_at_start_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let keys = write(
        dir.path(),
        "keys.yaml",
        &format!("keys:\n  - {{id: a, key: {DEV_KEY}, providers: {{openai: {{api_key_env: OPENAI_API_KEY}}}}}}\n"),
    );
    let config = write(dir.path(), "sidecar.yaml", &format!("keys: {{file: {}}}\n", keys.display()));
    // OPENAI_API_KEY is not set for it.
    let out = Command::new(env!("CARGO_BIN_EXE_warden-sidecar"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at keys[0].providers.openai.api_key_env"), "{stderr}");
    assert!(stderr.contains(&keys.display().to_string()), "{stderr}");
    assert!(!stderr.contains(DEV_KEY), "{stderr}");
    assert!(out.stdout.is_empty(), "it must not announce LISTENING");
}
