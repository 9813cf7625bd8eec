use super::cache::{self, Cached};
use super::*;
use crate::config::Config;
use crate::routes::classify;
use crate::store::MemoryStore;
use std::time::{Duration, UNIX_EPOCH};

fn config(providers: &str) -> Config {
    Config::from_json(format!(r#"{{"profiles":{{"default":{{}}}},"providers":{providers}}}"#).as_bytes()).unwrap()
}

fn plan_for(providers: &str, path: &str) -> Option<Plan> {
    let c = config(providers);
    let route = classify(&c, "POST", path).unwrap();
    plan(&c, &route)
}

fn bearer(token: &str) -> Secret {
    Secret::Bearer { token: token.into() }
}

fn request<'a>(path: &'a str, body: &'a [u8]) -> Outgoing<'a> {
    Outgoing {
        method: "POST",
        path,
        content_type: Some("application/json"),
        body,
        now: UNIX_EPOCH + Duration::from_secs(1_767_225_600),
    }
}

#[test]
fn each_provider_setting_asks_for_its_own_credential() {
    let vertex = plan_for(
        r#"{"gemini":{"vertex":{"project":"p","location":"l"}}}"#,
        "/v1/gemini/v1beta/models/m:generateContent",
    );
    assert_eq!(vertex.unwrap().need, Need { cloud: Cloud::Gcp, scope: GCP_SCOPE.into() });
    let azure = plan_for(r#"{"azure":{"auth":"entra"}}"#, "/v1/azure/chat/completions").unwrap();
    assert_eq!(azure.need.scope, AZURE_OPENAI_SCOPE);
    let foundry_host =
        plan_for(r#"{"azure":{"auth":"entra","host":"res.services.ai.azure.com"}}"#, "/v1/azure/chat/completions");
    assert_eq!(foundry_host.unwrap().need.scope, FOUNDRY_SCOPE);
    let claude = plan_for(r#"{"anthropic":{"auth":"entra"}}"#, "/v1/anthropic/v1/messages").unwrap();
    assert_eq!((claude.need.cloud, claude.need.scope.as_str()), (Cloud::Azure, FOUNDRY_SCOPE));
    let scoped = plan_for(r#"{"azure":{"auth":"entra","scope":"api://x/.default"}}"#, "/v1/azure/chat/completions");
    assert_eq!(scoped.unwrap().need.scope, "api://x/.default");
    let bedrock =
        plan_for(r#"{"bedrock":{"auth":"sigv4","region":"eu-west-1"}}"#, "/v1/bedrock/model/m/converse").unwrap();
    assert_eq!(
        bedrock.how,
        Use::SigV4 { region: "eu-west-1".into(), host: "bedrock-runtime.eu-west-1.amazonaws.com".into() }
    );
    assert_eq!(plan_for(r#"{"bedrock":{"auth":"api_key"}}"#, "/v1/bedrock/model/m/converse"), None);
    assert_eq!(plan_for("{}", "/v1/openai/chat/completions"), None);
}

#[test]
fn a_bearer_token_replaces_the_clients_keys() {
    let how = Use::Bearer { remove: &["api-key", "authorization"] };
    let edits = apply(&how, &bearer("tok"), &request("/openai/v1/chat/completions", b"{}")).unwrap();
    assert_eq!(edits.set, [("authorization".to_owned(), "Bearer tok".to_owned())]);
    assert_eq!(edits.remove, ["api-key"]);
}

#[test]
fn claude_on_foundry_drops_every_key_header_the_foundry_sdk_sends() {
    let plan = plan_for(r#"{"anthropic":{"auth":"entra"}}"#, "/v1/anthropic/v1/messages").unwrap();
    let edits = apply(&plan.how, &bearer("tok"), &request("/v1/messages", b"{}")).unwrap();
    assert_eq!(edits.set, [("authorization".to_owned(), "Bearer tok".to_owned())]);
    for header in ["x-api-key", "api-key"] {
        assert!(edits.remove.contains(&header), "{header} is removed: {:?}", edits.remove);
    }
}

#[test]
fn the_wrong_kind_of_credential_is_an_error_that_names_no_secret() {
    let how = Use::SigV4 { region: "us-east-1".into(), host: "h".into() };
    let err = apply(&how, &bearer("very-secret"), &request("/model/m/converse", b"{}")).unwrap_err();
    assert!(!err.to_string().contains("very-secret"), "{err}");
    assert_eq!(format!("{:?}", bearer("very-secret")), "Secret::Bearer(..)");
}

#[test]
fn sigv4_signs_the_final_request_with_the_session_token() {
    let how = Use::SigV4 { region: "us-east-1".into(), host: "bedrock-runtime.us-east-1.amazonaws.com".into() };
    let secret = Secret::Aws {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: "session-token".into(),
    };
    let path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
    let edits = apply(&how, &secret, &request(path, br#"{"messages":[]}"#)).unwrap();
    let get = |name: &str| edits.set.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let auth = get("authorization").unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request"),
        "{auth}"
    );
    assert!(auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"), "{auth}");
    assert!(!auth.contains("wJalrXUtnFEMI"), "the secret key is not in the header");
    assert_eq!(get("x-amz-date").as_deref(), Some("20260101T000000Z"));
    assert_eq!(get("x-amz-security-token").as_deref(), Some("session-token"));
    assert_eq!(get(":authority").as_deref(), Some("bedrock-runtime.us-east-1.amazonaws.com"));
    // A different body (a later rewrite) signs differently: the signature covers the final body.
    let other = apply(&how, &secret, &request(path, br#"{"messages":[1]}"#)).unwrap();
    assert_ne!(other.set, edits.set);
}

#[test]
fn a_clients_own_aws_session_token_never_rides_along_with_the_gateways_keys() {
    let how = Use::SigV4 { region: "us-east-1".into(), host: "bedrock-runtime.us-east-1.amazonaws.com".into() };
    let static_keys = Secret::Aws {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: String::new(),
    };
    let edits = apply(&how, &static_keys, &request("/model/m/converse", b"{}")).unwrap();
    for header in ["x-amz-security-token", "x-amz-content-sha256", "x-api-key"] {
        assert!(edits.remove.contains(&header), "{header} of the client is removed: {:?}", edits.remove);
    }
    assert!(edits.set.iter().all(|(k, _)| k != "x-amz-security-token"), "static keys carry no session token");
    let names: Vec<&str> = edits.set.iter().map(|(k, _)| k.as_str()).collect();
    assert!(names.contains(&"authorization") && names.contains(&"x-amz-date"), "{names:?}");
}

#[test]
fn sidecar_replies_become_credentials_and_empty_ones_do_not() {
    use warden_proto::v1::{credential::Kind, AwsCredentials, BearerToken, Credential as Reply};
    let token = Reply { kind: Some(Kind::Bearer(BearerToken { access_token: "t".into() })), expires_at_unix_ms: 9_000 };
    assert_eq!(
        from_reply(token, 1_000),
        Some(Credential { secret: bearer("t"), expires_at_ms: 9_000, fetched_at_ms: 1_000 })
    );
    let static_keys = Reply {
        kind: Some(Kind::Aws(AwsCredentials {
            access_key_id: "AK".into(),
            secret_access_key: "SK".into(),
            session_token: String::new(),
            region: "us-east-1".into(),
        })),
        expires_at_unix_ms: 0,
    };
    assert_eq!(from_reply(static_keys, 1_000).map(|c| c.expires_at_ms), Some(1_000 + NO_EXPIRY_REUSE_MS));
    let empty = Reply { kind: Some(Kind::Bearer(BearerToken { access_token: String::new() })), expires_at_unix_ms: 9 };
    assert_eq!(from_reply(empty, 0), None);
    assert_eq!(from_reply(Reply { kind: None, expires_at_unix_ms: 9 }, 0), None);
    assert_eq!(
        super::request(&Need { cloud: Cloud::Azure, scope: "s".into() }).cloud,
        warden_proto::v1::Cloud::Azure as i32
    );
}

fn cred(fetched: u64, expires: u64) -> Credential {
    Credential { secret: bearer("t"), fetched_at_ms: fetched, expires_at_ms: expires }
}

#[test]
fn a_cached_credential_is_used_refreshed_ahead_of_expiry_and_dropped_near_it() {
    let store = MemoryStore::new();
    let need = Need { cloud: Cloud::Gcp, scope: GCP_SCOPE.into() };
    assert_eq!(cache::read(&store, &need, 0).unwrap(), Cached::Missing);
    let hour = 3_600_000;
    cache::write(&store, &need, &cred(0, hour)).unwrap();
    assert!(matches!(cache::read(&store, &need, 1_000).unwrap(), Cached::Fresh(_)));
    // Five minutes before expiry at most (half of a one-hour life is later than that).
    assert!(matches!(cache::read(&store, &need, hour - 300_000 - 1).unwrap(), Cached::Fresh(_)));
    assert!(matches!(cache::read(&store, &need, hour - 300_000).unwrap(), Cached::RefreshDue(_)));
    assert_eq!(cache::read(&store, &need, hour - cache::EXPIRY_SKEW_MS).unwrap(), Cached::Missing);
    // A short-lived token refreshes at half its life and is dropped at three quarters.
    cache::write(&store, &need, &cred(0, 60_000)).unwrap();
    assert!(matches!(cache::read(&store, &need, 29_999).unwrap(), Cached::Fresh(_)));
    assert!(matches!(cache::read(&store, &need, 30_000).unwrap(), Cached::RefreshDue(_)));
    assert_eq!(cache::read(&store, &need, 45_000).unwrap(), Cached::Missing);
}

#[test]
fn one_refresh_lease_at_a_time() {
    let store = MemoryStore::new();
    let need = Need { cloud: Cloud::Aws, scope: String::new() };
    assert!(cache::take_lease(&store, &need, 1_000));
    assert!(!cache::take_lease(&store, &need, 2_000), "held");
    assert!(cache::take_lease(&store, &need, 1_000 + cache::LEASE_MS), "expired");
}

#[test]
fn the_background_refresh_knows_every_credential_the_configuration_can_need_once() {
    let c = config(
        r#"{"gemini":{"vertex":{"project":"p","location":"l"}},"azure":{"auth":"entra"},
            "anthropic":{"auth":"entra"},"bedrock":{"auth":"sigv4","region":"us-east-1"},"openai":{}}"#,
    );
    let needs = needs(&c);
    assert_eq!(needs.len(), 4, "{needs:?}");
    for want in [
        Need { cloud: Cloud::Gcp, scope: GCP_SCOPE.into() },
        Need { cloud: Cloud::Azure, scope: AZURE_OPENAI_SCOPE.into() },
        Need { cloud: Cloud::Azure, scope: FOUNDRY_SCOPE.into() },
        Need { cloud: Cloud::Aws, scope: String::new() },
    ] {
        assert!(needs.contains(&want), "{want:?} missing from {needs:?}");
    }
    // Two providers on the same scope share one credential.
    let foundry = config(r#"{"azure":{"auth":"entra","host":"r.services.ai.azure.com"},"anthropic":{"auth":"entra"}}"#);
    assert_eq!(super::needs(&foundry), [Need { cloud: Cloud::Azure, scope: FOUNDRY_SCOPE.into() }]);
    assert!(super::needs(&config("{}")).is_empty(), "nothing to refresh without keyless providers");
}

#[test]
fn a_released_lease_can_be_taken_again_at_once() {
    let store = MemoryStore::new();
    let need = Need { cloud: Cloud::Azure, scope: AZURE_OPENAI_SCOPE.into() };
    assert!(cache::take_lease(&store, &need, 1_000));
    cache::release_lease(&store, &need);
    assert!(cache::take_lease(&store, &need, 1_001), "released");
    assert!(!cache::take_lease(&store, &need, 1_002), "held again");
}

#[test]
fn a_sidecar_failure_says_whether_the_sidecar_answered_and_quotes_it_decoded() {
    use super::failure::describe;
    let refused = "upstream connect error or disconnect/reset before headers. reset reason: remote connection \
                   failure{upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}}";
    let down = describe(14, refused);
    assert!(down.starts_with("the sidecar is unreachable (gRPC status 14: upstream connect error"), "{down}");
    assert_eq!(describe(4, ""), "the sidecar did not answer in time (gRPC status 4)");
    let garbage = describe(14, "aws:%20the%20default%20credential%20chain%20failed:%20invalid%20JSON{via_upstream}");
    assert_eq!(garbage, "the sidecar could not get one (aws: the default credential chain failed: invalid JSON)");
    let disabled = describe(9, "azure:%20not%20enabled%20in%20the%20sidecar%20configuration{via_upstream}");
    assert!(disabled.starts_with("the sidecar does not have this cloud's credentials enabled (azure: not enabled"));
    let long = describe(14, &format!("gcp:%20{}{{via_upstream}}", "é".repeat(1000)));
    assert!(long.len() < 800 && long.ends_with("…)"), "{long}");
}
