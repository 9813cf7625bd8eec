//! Keyless cloud credentials through real Envoy + the filter + the real sidecar (DESIGN §4.7):
//! the sidecar gets them from fake identity endpoints on 127.0.0.1, reached only through each
//! cloud's standard variables; the mock provider records what the upstream received.

mod common;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use warden_e2e::client::{self, Reply};
use warden_e2e::fake_identity::entra::{self, Entra};
use warden_e2e::fake_identity::google::Google;
use warden_e2e::fake_identity::Mode;
use warden_e2e::{Stack, StackOptions};

/// The fakes are tokio servers; the tests themselves are plain threads.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}

fn stack(plugin: Value, sidecar: Value, env: Vec<(String, String)>, concurrency: u32) -> Stack {
    common::warden_stack_with(StackOptions {
        plugin_config: plugin,
        sidecar: Some(sidecar),
        sidecar_env: env,
        concurrency,
        ..StackOptions::default()
    })
}

fn upstream(stack: &Stack, request_id: &str) -> Value {
    stack
        .mock_requests()
        .into_iter()
        .find(|r| r.pointer("/headers/x-request-id").and_then(Value::as_str) == Some(request_id))
        .unwrap_or(Value::Null)
}

fn header<'a>(upstream: &'a Value, name: &str) -> Option<&'a str> {
    upstream.pointer(&format!("/headers/{name}")).and_then(Value::as_str)
}

fn post(stack: &Stack, path: &str, headers: &[(&str, &str)], body: &Value, request_id: &str) -> Reply {
    let mut all = headers.to_vec();
    all.push(("content-type", "application/json"));
    all.push(("x-request-id", request_id));
    client::send("POST", &stack.url(path), &all, body.to_string().as_bytes()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

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

fn entra_env(fake: &Entra, dir: &std::path::Path) -> Vec<(String, String)> {
    let ca = dir.join("test-ca.pem");
    fake.ca.write_ca(&ca);
    vec![
        ("AZURE_TENANT_ID".into(), entra::TENANT_ID.into()),
        ("AZURE_CLIENT_ID".into(), entra::CLIENT_ID.into()),
        ("AZURE_CLIENT_SECRET".into(), entra::CLIENT_SECRET.into()),
        ("AZURE_AUTHORITY_HOST".into(), fake.authority_host()),
        ("SSL_CERT_FILE".into(), ca.display().to_string()),
    ]
}

#[test]
fn a_failing_identity_endpoint_is_a_503_in_the_providers_shape_that_names_the_cause_and_no_secret() {
    let rt = runtime();
    let fake = rt.block_on(Entra::start());
    let dir = std::env::temp_dir().join(format!("warden-entra-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let stack = stack(
        json!({"profiles": {"default": {}}, "providers": {"azure": {"auth": "entra"}, "anthropic": {"auth": "entra"}},
            "sidecar": {"timeout_ms": 8000}}),
        json!({"credentials": {"azure": {}}}),
        entra_env(&fake, &dir),
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
    let _ = std::fs::remove_dir_all(&dir);
}
