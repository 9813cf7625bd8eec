//! Keyless cloud credentials through real Envoy + the filter + the real sidecar (DESIGN §4.7):
//! the sidecar gets them from fake identity endpoints on 127.0.0.1, reached only through each
//! cloud's standard variables; the mock provider records what the upstream received.

use crate::common;

use common::keyless::{entra_env, header, post, runtime, stack, upstream, TempDir};
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime};
use warden_e2e::fake_identity::entra::{self, Entra};
use warden_e2e::fake_identity::google::Google;
use warden_e2e::fake_identity::Mode;

fn vertex_plugin() -> Value {
    json!({"profiles": {"default": {
            "optimization_rules": [{"provider": "gemini", "target_model": "gemini-2.5-flash", "conditions": [{"has_tools": false}]}]}},
        "providers": {"gemini": {"vertex": {"project": "warden-test", "location": "us-central1"}}}})
}

fn gemini_body() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
}

const VERTEX_PREFIX: &str = "/v1/projects/warden-test/locations/us-central1/publishers/google/models/";

#[test]
fn gemini_goes_to_vertex_with_an_adc_token_in_every_stream_form() {
    let rt = runtime();
    let fake = rt.block_on(Google::start());
    let stack = stack(
        vertex_plugin(),
        json!({"credentials": {"gcp": {}}}),
        vec![("GCE_METADATA_HOST".into(), fake.metadata_host())],
        2,
    );
    let client_key = [("x-goog-api-key", "AIza-client-key-must-not-go-upstream")];
    for (i, (action, want_suffix)) in [
        ("generateContent", "gemini-2.5-flash:generateContent"),
        ("streamGenerateContent?alt=sse", "gemini-2.5-flash:streamGenerateContent?alt=sse"),
        ("streamGenerateContent", "gemini-2.5-flash:streamGenerateContent"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("vertex-{i}");
        let reply = post(
            &stack,
            &format!("/v1/gemini/v1beta/models/gemini-2.5-pro:{action}"),
            &client_key,
            &gemini_body(),
            &id,
        );
        assert_eq!(reply.status, 200, "{action}: {}", reply.text());
        assert!(reply.text().contains("llo"), "{action}: the answer reached the client: {}", reply.text());
        let up = upstream(&stack, &id);
        assert_eq!(
            up["path"],
            format!("{VERTEX_PREFIX}{want_suffix}"),
            "{action}: model optimisation in the Vertex path"
        );
        assert_eq!(header(&up, "authorization"), Some("Bearer ya29.fake-mds-1"), "{action}: {up}");
        assert_eq!(header(&up, "x-goog-api-key"), None, "{action}: the client's key went upstream");
    }
    // Every request after the first was served from the shared cache: one token fetch in all.
    assert_eq!(fake.server.control.issued(), 1);
    assert!(stack.filter_crashes().is_empty(), "{:?}", stack.filter_crashes());
}

#[test]
fn concurrent_requests_on_two_workers_cause_one_token_fetch() {
    let rt = runtime();
    let fake = rt.block_on(Google::start());
    let stack = stack(
        vertex_plugin(),
        json!({"credentials": {"gcp": {}}}),
        vec![("GCE_METADATA_HOST".into(), fake.metadata_host())],
        2,
    );
    let ids: Vec<String> = (0..50).map(|i| format!("burst-{i}")).collect();
    let statuses = warden_e2e::run::parallel(&ids, 25, |id| {
        post(&stack, "/v1/gemini/v1beta/models/gemini-2.5-pro:generateContent", &[], &gemini_body(), id).status
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(fake.server.control.issued(), 1, "token fetches at the identity endpoint");
}

#[test]
fn a_failing_identity_endpoint_is_a_503_in_the_providers_shape_that_names_the_cause_and_no_secret() {
    let rt = runtime();
    let fake = rt.block_on(Entra::start());
    let dir = TempDir::new("entra-fail");
    let stack = stack(
        json!({"profiles": {"default": {}}, "providers": {"azure": {"auth": "entra"}, "anthropic": {"auth": "entra"}},
            "sidecar": {"timeout_ms": 8000}}),
        json!({"credentials": {"azure": {}}}),
        entra_env(&fake, dir.path()),
        1,
    );
    fake.server.control.set_mode(Mode::Fail500);
    let chat = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    let reply = post(&stack, "/v1/azure/chat/completions", &[("api-key", "azure-client-key")], &chat, "fail-1");
    assert_eq!(reply.status, 503, "{}", reply.text());
    let body = reply.json();
    let message = body.pointer("/error/message").and_then(Value::as_str).unwrap_or_default();
    assert!(message.contains("warden-sidecar") && message.contains("azure"), "{message}");
    assert_eq!(body.pointer("/error/code"), Some(&json!("credentials_unavailable")));
    let claude =
        json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let reply = post(
        &stack,
        "/v1/anthropic/v1/messages",
        &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")],
        &claude,
        "fail-2",
    );
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json().pointer("/error/type"), Some(&json!("overloaded_error")), "{}", reply.text());
    assert!(
        upstream(&stack, "fail-1").is_null() && upstream(&stack, "fail-2").is_null(),
        "nothing reached the provider"
    );

    // The identity endpoint recovers: the next request gets a token.
    fake.server.control.set_mode(Mode::Normal);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = 0;
    while Instant::now() < deadline {
        let reply = post(&stack, "/v1/azure/chat/completions", &[("api-key", "azure-client-key")], &chat, "recover");
        last = reply.status;
        if last == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(last, 200, "requests succeed again once the identity endpoint does");
    let up = upstream(&stack, "recover");
    assert!(header(&up, "authorization").is_some_and(|a| a.starts_with("Bearer eyJ0eXAi.fake-entra-secret")), "{up}");
    assert_eq!(header(&up, "api-key"), None);
    let logs = format!(
        "{}\n{}",
        stack.envoy_log(),
        std::fs::read_to_string(stack.dir().join("access.log")).unwrap_or_default()
    );
    for secret in [entra::CLIENT_SECRET, "fake-entra-secret"] {
        assert!(!logs.contains(secret), "a secret reached Envoy's or the access log: {secret}");
    }
}

/// The token number in `Bearer eyJ0eXAi.fake-entra-secret-<n>`.
fn entra_token_number(up: &Value) -> Option<u64> {
    header(up, "authorization")?.strip_prefix("Bearer eyJ0eXAi.fake-entra-secret-")?.parse().ok()
}

#[test]
fn a_token_nearing_expiry_is_refreshed_ahead_and_an_expired_one_is_never_sent() {
    const LIFE: Duration = Duration::from_secs(8);
    let rt = runtime();
    let fake = rt.block_on(Entra::start());
    fake.server.control.set_lifetime_secs(LIFE.as_secs());
    let dir = TempDir::new("entra-expiry");
    let stack = stack(
        json!({"profiles": {"default": {}}, "providers": {"azure": {"auth": "entra"}}}),
        json!({"credentials": {"azure": {}}}),
        entra_env(&fake, dir.path()),
        2,
    );
    let chat = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    let start = Instant::now();
    // (token number, when the reply was complete: the token was sent before that)
    let mut uses: Vec<(u64, SystemTime)> = Vec::new();
    let mut i = 0;
    while start.elapsed() < LIFE.mul_f64(2.5) {
        i += 1;
        let id = format!("expiry-{i}");
        let reply = post(&stack, "/v1/azure/chat/completions", &[("api-key", "k")], &chat, &id);
        assert_eq!(reply.status, 200, "{id}: {}", reply.text());
        let n = entra_token_number(&upstream(&stack, &id)).unwrap_or_else(|| panic!("{id}: no Entra token upstream"));
        uses.push((n, SystemTime::now()));
        std::thread::sleep(Duration::from_millis(200));
    }

    // Token n was issued for the n-th token request the authority saw, so it expires no earlier
    // than that request's arrival plus its life; every use of it ended before that.
    let asked: Vec<SystemTime> = fake.server.control.requests().iter().map(|r| r.at).collect();
    let issued_at = |n: u64| *asked.get(usize::try_from(n - 1).unwrap_or(usize::MAX)).expect("an issued token");
    let mut last = 0;
    for (n, used_by) in &uses {
        assert!(*n >= last, "an older token came back after a newer one: {uses:?}");
        last = *n;
        let expired = issued_at(*n) + LIFE;
        assert!(*used_by < expired, "token {n} was sent {:?} after it expired", used_by.duration_since(expired));
    }
    assert!(last >= 3, "two and a half lifetimes need at least three tokens, got {last}");
    // Ahead of expiry: each new token was fetched while the one before still served, before the
    // gateway stops using a token (a quarter of its life before expiry) and a request would
    // have had to wait for the sidecar.
    for n in 2..=last {
        let (previous, next) = (issued_at(n - 1), issued_at(n));
        let ahead = (previous + LIFE.mul_f64(0.75)).duration_since(next);
        assert!(ahead.is_ok(), "token {n} was fetched only once token {} was no longer usable", n - 1);
        assert!(
            next.duration_since(previous).unwrap_or_default() >= LIFE / 2 - Duration::from_millis(500),
            "token {n} came too early"
        );
    }
    assert!(
        fake.server.control.issued() <= last + 1,
        "tokens fetched that no request used: {} issued, {last} used",
        fake.server.control.issued()
    );
    assert!(stack.filter_crashes().is_empty(), "{:?}", stack.filter_crashes());
}

/// The model router to Gemini on a gateway that sends Gemini to Vertex AI: the translated request
/// takes the Vertex path (optimised model included) and the ADC token, never a key.
#[test]
fn a_routed_gemini_request_goes_to_vertex_with_an_adc_token() {
    const VIRTUAL: &str = "wdn_router_vertex_0123456789";
    let rt = runtime();
    let fake = rt.block_on(Google::start());
    let dir = TempDir::new("router-vertex");
    let keys_file = dir.path().join("keys.yaml");
    let keys = format!(
        "keys:\n  - {{id: vertex-user, key: {VIRTUAL}, providers: {{gemini: {{api_key_env: AI_STUDIO_KEY}}}}}}\n"
    );
    std::fs::write(&keys_file, keys).expect("keys file");
    let stack = stack(
        vertex_plugin(),
        json!({"credentials": {"gcp": {}}, "keys": {"file": keys_file}}),
        vec![
            ("GCE_METADATA_HOST".into(), fake.metadata_host()),
            ("AI_STUDIO_KEY".into(), "AIza-studio-key-not-for-vertex".into()),
        ],
        1,
    );
    let auth = format!("Bearer {VIRTUAL}");
    for (i, (stream, suffix)) in
        [(false, "gemini-2.5-flash:generateContent"), (true, "gemini-2.5-flash:streamGenerateContent?alt=sse")]
            .into_iter()
            .enumerate()
    {
        let id = format!("routed-vertex-{i}");
        let body = json!({"model": "gemini:gemini-2.5-pro", "stream": stream, "messages": [{"role": "user", "content": "hi"}]});
        let reply = post(&stack, "/v1/model-router/chat/completions", &[("authorization", auth.as_str())], &body, &id);
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(reply.text().contains("chat.completion") && reply.text().contains("llo"), "{}", reply.text());
        let up = upstream(&stack, &id);
        assert_eq!(up["path"], format!("{VERTEX_PREFIX}{suffix}"));
        assert_eq!(header(&up, "authorization"), Some("Bearer ya29.fake-mds-1"), "{up}");
        assert_eq!(header(&up, "x-goog-api-key"), None, "a key went to Vertex: {up}");
        assert!(!up.to_string().contains("wdn_"), "the virtual key reached Google");
    }
}
