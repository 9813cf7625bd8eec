//! A virtual key through a whole exchange: the profile it selects, the header that goes
//! upstream, its own budget (402 naming the key id), `key_id` in the record and metrics.

use super::*;
use crate::meter::limits::MemoryStore;
use warden_proto::v1::{self as pb, provider_credential::Kind, resolve_reply::Outcome};

const CONFIG: &str = r#"{"profiles":{"default":{},"team-a":{"default_tool_action":"block_always"}}}"#;

fn begin(path: &str, auth: &str) -> Exchange {
    let config = Rc::new(Config::from_json(CONFIG.as_bytes()).unwrap());
    let headers = [("authorization".to_string(), auth.to_string())];
    Exchange::begin(config, "POST", path, &|n| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())).unwrap()
}

fn reply(profile: &str, usd: f64) -> pb::ResolveReply {
    pb::ResolveReply {
        outcome: Outcome::Ok as i32,
        id: "team-a-dev".into(),
        profile: profile.into(),
        mapped_providers: vec!["openai".into()],
        credential: Some(pb::ProviderCredential { kind: Some(Kind::ApiKey("sk-real-1".into())) }),
        expires_at_unix_ms: 0,
        limits: vec![pb::KeyLimit { usd, window: "1d".into(), models: vec![] }],
        served_by: String::new(),
    }
}

#[test]
fn an_unresolved_key_asks_the_sidecar_with_its_digest_only() {
    let store = MemoryStore::new();
    let mut ex = begin("/v1/openai/chat/completions", "Bearer wdn_team_a");
    let KeyStep::Ask(request) = ex.key_step(&store, 0).unwrap() else { panic!("expected a sidecar call") };
    assert_eq!(request.provider, "openai");
    let Some(pb::resolve_request::Subject::KeySha256(digest)) = request.subject else { panic!("no digest") };
    assert_eq!(digest.len(), 32);
    // Unresolved, the virtual key would still never go upstream.
    let fwd = ex.forward_without_body().unwrap();
    assert!(fwd.remove_headers.contains(&"authorization"));
}

#[test]
fn a_resolved_key_selects_its_profile_and_puts_the_real_key_in_the_header() {
    let store = MemoryStore::new();
    let mut ex = begin("/v1/openai/chat/completions", "Bearer wdn_team_a");
    assert!(matches!(ex.key_step(&store, 0).unwrap(), KeyStep::Ask(_)));
    ex.key_resolved(&reply("team-a", 5.0), &store, 0).unwrap();
    assert_eq!(ex.route().profile, "team-a");
    let fwd = ex.request_body(br#"{"model":"gpt-4o","messages":[]}"#).unwrap();
    assert!(fwd.set_headers.contains(&("authorization", "Bearer sk-real-1".to_string())));
    let (record, updates) = ex.finish(None, None, None, None);
    assert_eq!((record.key_id.as_deref(), record.profile.as_str()), (Some("team-a-dev"), "team-a"));
    assert!(updates.iter().any(|u| u.name().contains("key_id=.=team-a-dev;.;")), "{updates:?}");
    let json = serde_json::to_string(&record).unwrap();
    assert!(!json.contains("sk-real") && !json.contains("wdn_"), "{json}");

    // The next request with the same key is served from the cache.
    let mut again = begin("/v1/openai/chat/completions", "Bearer wdn_team_a");
    assert_eq!(again.key_step(&store, 1).unwrap(), KeyStep::Ready);
    assert_eq!(again.key_id(), Some("team-a-dev"));
}

/// An already resolved request for gpt-4o through its limits, answered upstream with 400 input
/// tokens, and its cost counted — or the refusal of its limit check.
pub(super) fn spend_once(ex: &mut Exchange, store: &MemoryStore, now: u64) -> Result<(), WardenError> {
    ex.request_body(br#"{"model":"gpt-4o","messages":[]}"#)?;
    ex.check_limits(now, crate::meter::limits::Counters::Local(store))?;
    ex.response_headers(&ResponseHead { status: 200, ..Default::default() });
    ex.buffered_response(br#"{"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":400,"completion_tokens":0}}"#);
    let (record, _) = ex.finish(None, None, None, None);
    ex.record_usage(&record, now, store);
    Ok(())
}

#[test]
fn a_keys_own_budget_is_enforced_with_a_402_naming_the_key() {
    let store = MemoryStore::new();
    let now = 1_800_000_000;
    let call = |store: &MemoryStore, now: u64| -> Result<(), WardenError> {
        let mut ex = begin("/v1/openai/chat/completions", "Bearer wdn_team_a");
        ex.key_resolved(&reply("", 0.001), store, now * 1000)?;
        spend_once(&mut ex, store, now)
    };
    call(&store, now).unwrap();
    let err = call(&store, now + 1).unwrap_err();
    assert_eq!(err.status(), 402);
    assert!(err.to_string().contains("virtual key 'team-a-dev'"), "{err}");
    assert!(store.keys().iter().any(|k| k.starts_with("warden:limit::key:team-a-dev:1d:")), "{:?}", store.keys());
}

#[test]
fn a_refused_key_is_refused_in_the_providers_shape_with_its_id_in_the_record() {
    let store = MemoryStore::new();
    let mut ex = begin("/v1/openai/default/chat/completions", "Bearer wdn_team_a");
    let err = ex.key_resolved(&reply("team-a", 5.0), &store, 0).unwrap_err();
    let rendered = ex.reject(&err);
    assert_eq!(rendered.status, 403);
    let body: serde_json::Value = serde_json::from_slice(&rendered.body).unwrap();
    assert_eq!(body["error"]["code"], "key_profile_mismatch");
    let (record, _) = ex.finish(None, None, None, None);
    assert_eq!(record.key_id.as_deref(), Some("team-a-dev"));
}
