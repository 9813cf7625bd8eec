use super::*;
use crate::config::Config;
use crate::routes;
use crate::store::{MemoryStore, SharedStore};
use std::collections::HashMap;

fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name: &str| map.get(name).cloned()
}

fn config() -> Config {
    Config::from_json(
        br#"{"profiles":{"default":{},"team-a":{},"team-b":{}},
             "providers":{"bedrock":{"auth":"sigv4","region":"us-east-1"}}}"#,
    )
    .expect("valid config")
}

fn route(config: &Config, path: &str) -> Route {
    routes::classify(config, "POST", path).expect("a route")
}

fn presented_in(pairs: &[(&str, &str)]) -> Presented {
    presented(&headers(pairs)).expect("no error").expect("a virtual key")
}

fn ok_reply(profile: &str, credential: Kind) -> pb::ResolveReply {
    pb::ResolveReply {
        outcome: Outcome::Ok as i32,
        id: "team-a-dev".into(),
        profile: profile.into(),
        mapped_providers: vec!["anthropic".into(), "openai".into()],
        credential: Some(pb::ProviderCredential { kind: Some(credential) }),
        expires_at_unix_ms: 0,
        limits: vec![pb::KeyLimit { usd: 5.0, window: "1d".into(), models: vec![] }],
        served_by: String::new(),
    }
}

#[test]
fn a_virtual_key_is_found_in_every_providers_auth_header() {
    let p = presented_in(&[("authorization", "Bearer wdn_abc")]);
    assert_eq!((p.header, p.bearer), ("authorization", true));
    assert_eq!(p.sha256, <[u8; 32]>::from(Sha256::digest(b"wdn_abc")));
    for header in ["x-api-key", "api-key", "x-goog-api-key"] {
        let p = presented_in(&[(header, " wdn_abc ")]);
        assert_eq!((p.header, p.bearer, p.sha256), (header, false, Sha256::digest(b"wdn_abc").into()));
    }
    assert!(presented_in(&[("authorization", "bearer wdn_x")]).bearer, "the scheme is case-insensitive");
}

#[test]
fn provider_keys_and_missing_headers_are_not_virtual_keys() {
    for pairs in [
        vec![("authorization", "Bearer sk-real")],
        vec![("x-api-key", "sk-ant-1")],
        vec![("authorization", "Basic wdn_abc")],
        vec![],
    ] {
        assert_eq!(presented(&headers(&pairs)).unwrap(), None, "{pairs:?}");
    }
}

#[test]
fn two_different_virtual_keys_are_refused_and_the_same_one_twice_is_not() {
    let err = presented(&headers(&[("authorization", "Bearer wdn_a"), ("x-api-key", "wdn_b")])).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(!err.to_string().contains("wdn_a") && !err.to_string().contains("wdn_b"), "{err}");
    let p = presented_in(&[("authorization", "Bearer wdn_a"), ("x-api-key", "wdn_a")]);
    assert_eq!(p.header, "authorization");
}

#[test]
fn the_real_key_goes_in_the_header_the_client_used_in_the_same_form() {
    let c = config();
    let r = route(&c, "/v1/openai/chat/completions");
    let bearer = presented_in(&[("authorization", "Bearer wdn_a")]);
    let g = grant(&ok_reply("", Kind::ApiKey("sk-real".into())), Subject::Key(&bearer), &r, &c, 0).unwrap();
    assert_eq!(g.credential, Credential::Header { name: "authorization", value: "Bearer sk-real".into() });
    assert_eq!((g.key_id.as_str(), g.profile.as_deref(), g.oauth_client), ("team-a-dev", None, false));
    let raw = presented_in(&[("x-api-key", "wdn_a")]);
    let g = grant(&ok_reply("", Kind::ApiKey("sk-ant".into())), Subject::Key(&raw), &r, &c, 0).unwrap();
    assert_eq!(g.credential, Credential::Header { name: "x-api-key", value: "sk-ant".into() });
}

#[test]
fn unknown_and_expired_keys_are_401_and_name_no_key() {
    let c = config();
    let r = route(&c, "/v1/openai/chat/completions");
    let p = presented_in(&[("authorization", "Bearer wdn_a")]);
    let unknown = pb::ResolveReply { outcome: Outcome::Unknown as i32, ..Default::default() };
    let err = grant(&unknown, Subject::Key(&p), &r, &c, 0).unwrap_err();
    assert_eq!((err.status(), err.code()), (401, "invalid_api_key"));
    let expired = pb::ResolveReply { outcome: Outcome::Expired as i32, id: "k".into(), ..Default::default() };
    assert_eq!(grant(&expired, Subject::Key(&p), &r, &c, 0).unwrap_err(), WardenError::KeyRejected { why: "expired" });
    // A cached OK answer whose key has expired since is refused too.
    let mut reply = ok_reply("", Kind::ApiKey("sk-real".into()));
    reply.expires_at_unix_ms = 1_000;
    assert!(grant(&reply, Subject::Key(&p), &r, &c, 999).is_ok());
    assert_eq!(
        grant(&reply, Subject::Key(&p), &r, &c, 1_000).unwrap_err(),
        WardenError::KeyRejected { why: "expired" }
    );
}

#[test]
fn a_key_not_mapped_to_the_provider_is_400_naming_the_providers_it_has() {
    let c = config();
    let r = route(&c, "/v1/gemini/v1beta/models/gemini-2.5-pro:generateContent");
    let p = presented_in(&[("x-goog-api-key", "wdn_a")]);
    let reply = pb::ResolveReply {
        outcome: Outcome::NotMapped as i32,
        id: "team-a-dev".into(),
        mapped_providers: vec!["anthropic".into(), "openai".into()],
        ..Default::default()
    };
    let err = grant(&reply, Subject::Key(&p), &r, &c, 0).unwrap_err();
    assert_eq!(
        err,
        WardenError::KeyNotMapped {
            key_id: "team-a-dev".into(),
            provider: "gemini",
            mapped: "anthropic, openai".into()
        }
    );
    assert_eq!(err.status(), 400);
}

#[test]
fn a_bound_profile_applies_and_a_path_naming_another_is_403() {
    let c = config();
    let p = presented_in(&[("authorization", "Bearer wdn_a")]);
    let reply = ok_reply("team-a", Kind::ApiKey("sk".into()));
    let g = grant(&reply, Subject::Key(&p), &route(&c, "/v1/openai/chat/completions"), &c, 0).unwrap();
    assert_eq!(g.profile.as_deref(), Some("team-a"));
    assert!(grant(&reply, Subject::Key(&p), &route(&c, "/v1/openai/team-a/chat/completions"), &c, 0).is_ok());
    let err = grant(&reply, Subject::Key(&p), &route(&c, "/v1/openai/team-b/chat/completions"), &c, 0).unwrap_err();
    assert_eq!(err.status(), 403);
    assert_eq!(
        err,
        WardenError::KeyProfileMismatch { key_id: "team-a-dev".into(), bound: "team-a".into(), asked: "team-b".into() }
    );
    let stray = ok_reply("team-z", Kind::ApiKey("sk".into()));
    let err = grant(&stray, Subject::Key(&p), &route(&c, "/v1/openai/chat/completions"), &c, 0).unwrap_err();
    assert_eq!(err.status(), 404);
}

#[test]
fn sigv4_removes_the_virtual_key_and_needs_sigv4_configured() {
    let c = config();
    let p = presented_in(&[("authorization", "Bearer wdn_a")]);
    let r = route(&c, "/v1/bedrock/model/amazon.nova-pro-v1:0/converse");
    let g = grant(&ok_reply("", Kind::Sigv4(true)), Subject::Key(&p), &r, &c, 0).unwrap();
    assert_eq!(g.credential, Credential::Sigv4 { remove: "authorization" });
    let plain = Config::from_json(br#"{"profiles":{"default":{}}}"#).unwrap();
    let r = route(&plain, "/v1/bedrock/model/amazon.nova-pro-v1:0/converse");
    assert_eq!(grant(&ok_reply("", Kind::Sigv4(true)), Subject::Key(&p), &r, &plain, 0).unwrap_err().status(), 503);
}

#[test]
fn a_real_key_that_could_inject_a_header_is_not_used() {
    let c = config();
    let p = presented_in(&[("authorization", "Bearer wdn_a")]);
    let r = route(&c, "/v1/openai/chat/completions");
    let err = grant(&ok_reply("", Kind::ApiKey("sk\r\nx-evil: 1".into())), Subject::Key(&p), &r, &c, 0).unwrap_err();
    assert_eq!(err.status(), 503);
    assert!(!err.to_string().contains("sk\r\n"), "{err}");
}

#[test]
fn a_keys_budgets_become_limits_of_scope_key() {
    let c = config();
    let p = presented_in(&[("authorization", "Bearer wdn_a")]);
    let mut reply = ok_reply("", Kind::ApiKey("sk".into()));
    reply.limits.push(pb::KeyLimit { usd: 1.5, window: "calendar_month".into(), models: vec!["gpt-5*".into()] });
    let g = grant(&reply, Subject::Key(&p), &route(&c, "/v1/openai/chat/completions"), &c, 0).unwrap();
    assert_eq!(g.limits.len(), 2);
    assert_eq!((g.limits[0].scope, g.limits[0].window, g.limits[0].micro_usd()), (Scope::Key, Window::Day, 5_000_000));
    assert!(g.limits[1].applies_to(Some("gpt-5-mini")) && !g.limits[1].applies_to(Some("claude")));
}

#[test]
fn debug_output_never_shows_a_key_or_its_digest() {
    let p = presented_in(&[("authorization", "Bearer wdn_secret")]);
    let c = config();
    let g = grant(
        &ok_reply("", Kind::ApiKey("sk-live-1".into())),
        Subject::Key(&p),
        &route(&c, "/v1/openai/chat/completions"),
        &c,
        0,
    )
    .unwrap();
    let text = format!("{p:?} {g:?}");
    assert!(!text.contains("sk-live") && !text.contains("wdn_secret"), "{text}");
    assert!(!text.contains("sha256"), "{text}");
}

// ---- the cache ----

#[test]
fn a_resolved_key_is_served_from_the_cache_until_the_ttl() {
    let store = MemoryStore::new();
    let p = presented_in(&[("authorization", "Bearer wdn_a")]);
    let reply = ok_reply("", Kind::ApiKey("sk".into()));
    cache::write(&store, Subject::Key(&p), Provider::OpenAi, &reply, 10_000);
    assert_eq!(cache::read(&store, Subject::Key(&p), Provider::OpenAi, 10_001), Some(reply.clone()));
    assert_eq!(cache::read(&store, Subject::Key(&p), Provider::OpenAi, 10_000 + cache::TTL_MS), None);
    assert_eq!(cache::read(&store, Subject::Key(&p), Provider::Anthropic, 10_001), None, "one entry per provider");
    let keys = store.keys();
    assert!(keys.iter().all(|k| !k.contains("wdn_")), "{keys:?}");
}

#[test]
fn a_keys_expiry_ends_its_cache_entry_early() {
    let store = MemoryStore::new();
    let p = presented_in(&[("authorization", "Bearer wdn_a")]);
    let mut reply = ok_reply("", Kind::ApiKey("sk".into()));
    reply.expires_at_unix_ms = 10_500;
    cache::write(&store, Subject::Key(&p), Provider::OpenAi, &reply, 10_000);
    assert!(cache::read(&store, Subject::Key(&p), Provider::OpenAi, 10_499).is_some());
    assert_eq!(cache::read(&store, Subject::Key(&p), Provider::OpenAi, 10_500), None);
}

#[test]
fn unknown_and_expired_answers_are_never_cached() {
    let store = MemoryStore::new();
    let p = presented_in(&[("authorization", "Bearer wdn_a")]);
    for outcome in [Outcome::Unknown, Outcome::Expired, Outcome::Unspecified] {
        let reply = pb::ResolveReply { outcome: outcome as i32, ..Default::default() };
        cache::write(&store, Subject::Key(&p), Provider::OpenAi, &reply, 0);
    }
    assert!(store.is_empty());
    let not_mapped = pb::ResolveReply { outcome: Outcome::NotMapped as i32, id: "k".into(), ..Default::default() };
    cache::write(&store, Subject::Key(&p), Provider::OpenAi, &not_mapped, 0);
    assert_eq!(cache::read(&store, Subject::Key(&p), Provider::OpenAi, 1), Some(not_mapped));
}

#[test]
fn a_corrupt_cache_entry_reads_as_missing() {
    let store = MemoryStore::new();
    let p = presented_in(&[("authorization", "Bearer wdn_a")]);
    cache::write(&store, Subject::Key(&p), Provider::OpenAi, &ok_reply("", Kind::ApiKey("sk".into())), 0);
    let key = store.keys().pop().unwrap();
    for junk in [&b""[..], b"1234", &[0xff; 20]] {
        store.set(&key, junk, None).unwrap();
        assert_eq!(cache::read(&store, Subject::Key(&p), Provider::OpenAi, 1), None);
    }
}

// ---- OAuth clients and query keys ----

#[test]
fn a_clients_unknown_answer_is_cached_and_a_keys_is_not() {
    let store = MemoryStore::new();
    let unknown = pb::ResolveReply { outcome: Outcome::Unknown as i32, ..Default::default() };
    cache::write(&store, Subject::Client("web"), Provider::OpenAi, &unknown, 0);
    assert_eq!(cache::read(&store, Subject::Client("web"), Provider::OpenAi, 1), Some(unknown.clone()));
    assert_eq!(cache::read(&store, Subject::Client("web"), Provider::Gemini, 1), None, "one entry per provider");
    let p = presented_in(&[("authorization", "Bearer wdn_web")]);
    cache::write(&store, Subject::Key(&p), Provider::OpenAi, &unknown, 0);
    assert_eq!(cache::read(&store, Subject::Key(&p), Provider::OpenAi, 1), None);
    let expired = pb::ResolveReply { outcome: Outcome::Expired as i32, ..Default::default() };
    cache::write(&store, Subject::Client("gone"), Provider::OpenAi, &expired, 0);
    assert_eq!(cache::read(&store, Subject::Client("gone"), Provider::OpenAi, 1), None);
}

#[test]
fn a_clients_real_key_goes_in_the_providers_own_header() {
    let c = config();
    let g = grant(
        &ok_reply("", Kind::ApiKey("sk-ant".into())),
        Subject::Client("bot"),
        &route(&c, "/v1/anthropic/v1/messages"),
        &c,
        0,
    )
    .unwrap();
    assert_eq!(g.credential, Credential::Header { name: "x-api-key", value: "sk-ant".into() });
    assert!(g.sole_credential && g.oauth_client);
    let r = route(&c, "/v1/bedrock/model/amazon.nova-pro-v1:0/converse");
    let g = grant(&ok_reply("", Kind::Sigv4(true)), Subject::Client("bot"), &r, &c, 0).unwrap();
    assert_eq!(g.credential, Credential::Sigv4 { remove: "authorization" });
}

#[test]
fn a_query_key_goes_back_in_the_providers_own_header_and_a_header_key_stays_where_it_was() {
    let digest: [u8; 32] = Sha256::digest(b"wdn_q").into();
    let none = headers(&[]);
    let p = presented_in_request(&none, Some(digest), Provider::Gemini).unwrap().unwrap();
    assert_eq!((p.header, p.bearer, p.sha256), ("x-goog-api-key", false, digest));
    let p = presented_in_request(&none, Some(digest), Provider::OpenAi).unwrap().unwrap();
    assert_eq!((p.header, p.bearer), ("authorization", true));
    let both = headers(&[("authorization", "Bearer wdn_q")]);
    let p = presented_in_request(&both, Some(digest), Provider::Gemini).unwrap().unwrap();
    assert_eq!(p.header, "authorization");
    assert_eq!(presented_in_request(&none, None, Provider::Gemini).unwrap(), None);
}
