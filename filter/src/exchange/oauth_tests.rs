//! OAuth clients acting as virtual keys, and virtual keys in a Gemini `?key=` query, through a
//! whole exchange: what is asked of the sidecar, what goes upstream, which profile and budget
//! apply, and what happens when the client is unknown or the sidecar cannot answer.

use super::*;
use crate::meter::limits::MemoryStore;
use serde_json::json;
use warden_proto::v1::{self as pb, provider_credential::Kind, resolve_reply::Outcome};

const CONFIG: &str = r#"{"profiles":{"default":{},"bots":{"default_tool_action":"block_always"}}}"#;
const OPEN: &str = r#"{"profiles":{"default":{}},"sidecar":{"on_failure":"open"}}"#;
const CHAT: &[u8] = br#"{"model":"gpt-4o","messages":[]}"#;

fn begin_with(config: &str, path: &str, headers: &[(&str, &str)]) -> Exchange {
    let config = Rc::new(Config::from_json(config.as_bytes()).unwrap());
    let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Exchange::begin(config, "POST", path, &|n| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())).unwrap()
}

fn begin(path: &str, headers: &[(&str, &str)]) -> Exchange {
    begin_with(CONFIG, path, headers)
}

fn claims(value: serde_json::Value) -> Claims {
    Claims(value.as_object().cloned().unwrap_or_default())
}

fn client_token(client: &str) -> Claims {
    claims(json!({"sub": "svc", "azp": client}))
}

fn ok(id: &str, profile: &str, provider: &str, real: &str, usd: f64) -> pb::ResolveReply {
    pb::ResolveReply {
        outcome: Outcome::Ok as i32,
        id: id.into(),
        profile: profile.into(),
        mapped_providers: vec![provider.into()],
        credential: Some(pb::ProviderCredential { kind: Some(Kind::ApiKey(real.into())) }),
        expires_at_unix_ms: 0,
        limits: vec![pb::KeyLimit { usd, window: "1d".into(), models: vec![] }],
        served_by: String::new(),
    }
}

fn unknown() -> pb::ResolveReply {
    pb::ResolveReply { outcome: Outcome::Unknown as i32, ..pb::ResolveReply::default() }
}

fn asked(ex: &mut Exchange, store: &MemoryStore) -> pb::resolve_request::Subject {
    match ex.key_step(store, 0).unwrap() {
        KeyStep::Ask(request) => request.subject.unwrap(),
        KeyStep::Ready => panic!("expected a sidecar call"),
    }
}

#[test]
fn a_verified_client_id_is_asked_about_by_name_on_the_routes_provider() {
    let store = MemoryStore::new();
    let mut ex = begin("/v1/anthropic/v1/messages", &[]);
    ex.verified_claims(&client_token("billing-bot"));
    let KeyStep::Ask(request) = ex.key_step(&store, 0).unwrap() else { panic!("expected a sidecar call") };
    assert_eq!(request.provider, "anthropic");
    assert_eq!(request.subject, Some(pb::resolve_request::Subject::OauthClientId("billing-bot".into())));
    let mut ex = begin("/v1/openai/chat/completions", &[]);
    ex.verified_claims(&claims(json!({"client_id": "cli"})));
    assert_eq!(asked(&mut ex, &store), pb::resolve_request::Subject::OauthClientId("cli".into()));
}

#[test]
fn a_resolved_client_puts_the_real_key_in_the_providers_own_header_and_nothing_of_the_clients() {
    let store = MemoryStore::new();
    let mut ex = begin("/v1/anthropic/v1/messages", &[("authorization", "Bearer sk-clients-own")]);
    ex.verified_claims(&client_token("billing-bot"));
    asked(&mut ex, &store);
    ex.key_resolved(&ok("billing-bot", "bots", "anthropic", "sk-ant-real", 5.0), &store, 0).unwrap();
    assert_eq!(ex.route().profile, "bots", "the client's profile applies");
    let fwd = ex.request_body(br#"{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[]}"#).unwrap();
    assert!(fwd.set_headers.contains(&("x-api-key", "sk-ant-real".to_string())), "{fwd:?}");
    for other in ["authorization", "api-key", "x-goog-api-key"] {
        assert!(fwd.remove_headers.contains(&other), "{other} must not go upstream: {fwd:?}");
    }
    assert!(!fwd.remove_headers.contains(&"x-api-key"), "the header just set stays");
    let (record, updates) = ex.finish(None, None, None, None);
    assert_eq!(record.key_id.as_deref(), Some("billing-bot"));
    assert!(updates.iter().any(|u| u.name().contains("key_id=.=billing-bot;.;")), "{updates:?}");
}

#[test]
fn each_provider_gets_a_clients_key_in_the_header_its_own_sdk_uses() {
    for (path, provider, header, value) in [
        ("/v1/openai/chat/completions", "openai", "authorization", "Bearer real"),
        ("/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent", "gemini", "x-goog-api-key", "real"),
        ("/v1/azure/chat/completions", "azure", "api-key", "real"),
        ("/v1/cohere/v2/chat", "cohere", "authorization", "Bearer real"),
    ] {
        let store = MemoryStore::new();
        let mut ex = begin(path, &[]);
        ex.verified_claims(&client_token("svc"));
        ex.key_resolved(&ok("svc", "", provider, "real", 5.0), &store, 0).unwrap();
        let fwd = ex.request_body(br#"{"model":"m","messages":[],"contents":[]}"#).unwrap();
        assert!(fwd.set_headers.contains(&(header, value.to_string())), "{provider}: {fwd:?}");
    }
}

#[test]
fn an_unknown_client_changes_nothing_and_is_not_asked_about_again_for_a_while() {
    let store = MemoryStore::new();
    let mut ex = begin("/v1/openai/chat/completions", &[("authorization", "Bearer sk-users-own")]);
    ex.verified_claims(&client_token("web-frontend"));
    asked(&mut ex, &store);
    ex.key_resolved(&unknown(), &store, 1_000).unwrap();
    let fwd = ex.request_body(CHAT).unwrap();
    assert!(!fwd.set_headers.iter().any(|(h, _)| *h == "authorization"), "{fwd:?}");
    assert!(!fwd.remove_headers.contains(&"authorization"), "the client's own key passes through: {fwd:?}");
    let (record, _) = ex.finish(None, None, None, None);
    assert_eq!(record.key_id, None);

    let mut again = begin("/v1/openai/chat/completions", &[]);
    again.verified_claims(&client_token("web-frontend"));
    assert_eq!(again.key_step(&store, 2_000).unwrap(), KeyStep::Ready, "served from the cache");
    let mut later = begin("/v1/openai/chat/completions", &[]);
    later.verified_claims(&client_token("web-frontend"));
    assert!(matches!(later.key_step(&store, 1_000 + crate::keys::cache::TTL_MS).unwrap(), KeyStep::Ask(_)));
}

#[test]
fn a_virtual_key_wins_over_a_client_token() {
    let store = MemoryStore::new();
    let mut ex = begin("/v1/openai/chat/completions", &[("authorization", "Bearer wdn_team")]);
    ex.verified_claims(&client_token("billing-bot"));
    assert!(matches!(asked(&mut ex, &store), pb::resolve_request::Subject::KeySha256(_)));
}

#[test]
fn only_verified_claims_name_a_client_never_a_header() {
    let store = MemoryStore::new();
    let forged = [("azp", "billing-bot"), ("client_id", "billing-bot"), ("x-warden-identity", "not.a.token")];
    let mut ex = begin("/v1/openai/chat/completions", &forged);
    assert_eq!(ex.key_step(&store, 0).unwrap(), KeyStep::Ready);
    let mut ex = begin("/v1/openai/chat/completions", &forged);
    ex.verified_claims(&claims(json!({"sub": "alice"})));
    assert_eq!(ex.key_step(&store, 0).unwrap(), KeyStep::Ready, "a token without a client names none");
}

#[test]
fn a_clients_budget_is_enforced_with_a_402_naming_the_client() {
    let store = MemoryStore::new();
    let now = 1_800_000_000;
    let call = |store: &MemoryStore, now: u64| -> Result<(), WardenError> {
        let mut ex = begin("/v1/openai/chat/completions", &[]);
        ex.verified_claims(&client_token("billing-bot"));
        ex.key_resolved(&ok("billing-bot", "", "openai", "sk-real", 0.001), store, now * 1000)?;
        super::key_tests::spend_once(&mut ex, store, now)
    };
    call(&store, now).unwrap();
    let err = call(&store, now + 1).unwrap_err();
    assert_eq!(err.status(), 402);
    assert!(err.to_string().contains("'billing-bot'"), "{err}");
}

#[test]
fn a_client_not_mapped_to_the_provider_is_refused_naming_it() {
    let store = MemoryStore::new();
    let mut ex = begin("/v1/anthropic/v1/messages", &[]);
    ex.verified_claims(&client_token("billing-bot"));
    let reply = pb::ResolveReply {
        outcome: Outcome::NotMapped as i32,
        id: "billing-bot".into(),
        mapped_providers: vec!["openai".into()],
        ..pb::ResolveReply::default()
    };
    let err = ex.key_resolved(&reply, &store, 0).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("billing-bot") && err.to_string().contains("openai"), "{err}");
    let expired = pb::ResolveReply { outcome: Outcome::Expired as i32, id: "billing-bot".into(), ..reply };
    let mut ex = begin("/v1/anthropic/v1/messages", &[]);
    ex.verified_claims(&client_token("billing-bot"));
    assert_eq!(ex.key_resolved(&expired, &store, 0).unwrap_err().status(), 401);
}

#[test]
fn a_sidecar_without_a_keys_file_knows_no_client_and_one_that_cannot_answer_follows_on_failure() {
    let store = MemoryStore::new();
    let failure = || KeyFailure::Unavailable("timeout".into());
    let mut ex = begin("/v1/openai/chat/completions", &[]);
    ex.verified_claims(&client_token("svc"));
    ex.key_failed(KeyFailure::NoKeysFile("no keys.file".into()), &store, 0).unwrap();
    assert_eq!(ex.request_body(CHAT).unwrap().set_headers.len(), 2, "only the gateway's routing headers");

    let mut closed = begin("/v1/openai/chat/completions", &[]);
    closed.verified_claims(&client_token("other"));
    assert_eq!(closed.key_failed(failure(), &store, 0).unwrap_err().status(), 503);

    let mut open = begin_with(OPEN, "/v1/openai/chat/completions", &[]);
    open.verified_claims(&client_token("other"));
    open.key_failed(failure(), &store, 0).unwrap();
    assert_eq!(open.key_id(), None);

    // A virtual key has no way on without its real key, whatever on_failure says.
    let mut key = begin_with(OPEN, "/v1/openai/chat/completions", &[("authorization", "Bearer wdn_team")]);
    assert_eq!(key.key_failed(failure(), &store, 0).unwrap_err().status(), 503);
    let mut key = begin_with(OPEN, "/v1/openai/chat/completions", &[("authorization", "Bearer wdn_team")]);
    assert_eq!(key.key_failed(KeyFailure::NoKeysFile("x".into()), &store, 0).unwrap_err().status(), 503);
}

#[test]
fn a_gemini_query_key_resolves_and_goes_upstream_as_a_header_not_in_the_path() {
    for (path, upstream) in [
        (
            "/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=wdn_g",
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        ),
        (
            "/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent?key=wdn_g",
            "/v1beta/models/gemini-2.5-flash:generateContent",
        ),
    ] {
        let store = MemoryStore::new();
        let mut ex = begin(path, &[]);
        assert!(matches!(asked(&mut ex, &store), pb::resolve_request::Subject::KeySha256(_)), "{path}");
        ex.key_resolved(&ok("team-g", "", "gemini", "AIza-real", 5.0), &store, 0).unwrap();
        let fwd = ex.request_body(br#"{"contents":[]}"#).unwrap();
        assert_eq!(fwd.path, upstream);
        assert!(fwd.set_headers.contains(&("x-goog-api-key", "AIza-real".to_string())), "{fwd:?}");
        assert!(!format!("{fwd:?}").contains("wdn_"));
    }
    let ex = begin("/v1/gemini/v1beta/models/m:streamGenerateContent?alt=sse&key=wdn_g", &[]);
    assert!(ex.route().gemini_sse, "alt=sse still selects SSE framing");
}

#[test]
fn a_query_key_and_a_different_header_key_are_refused() {
    let config = Rc::new(Config::from_json(CONFIG.as_bytes()).unwrap());
    let path = "/v1/gemini/v1beta/models/m:generateContent?key=wdn_one";
    let headers = |n: &str| (n == "x-goog-api-key").then(|| "wdn_two".to_string());
    let Err(rejected) = Exchange::begin(config.clone(), "POST", path, &headers) else { panic!("two keys accepted") };
    assert_eq!(rejected.reply.status, 400);
    let same = |n: &str| (n == "x-goog-api-key").then(|| "wdn_one".to_string());
    assert!(Exchange::begin(config, "POST", path, &same).is_ok(), "the same key twice is one key");
}
