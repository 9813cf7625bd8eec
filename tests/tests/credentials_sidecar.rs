//! Keyless credentials when the sidecar or an identity endpoint fails (DESIGN §4.7, §5.5): a
//! needed credential that cannot be had is a 503 in each provider's own error shape that names
//! the sidecar and the cause, Envoy stays up, requests succeed again once the sidecar is back,
//! a cached credential keeps serving while the sidecar is down, and no secret reaches a log.

use crate::common;

use common::keyless::{
    assert_no_secret_in_logs, aws_container_env, entra_env, fake_secrets, gcp_env, header, post, runtime, stack,
    upstream, TempDir,
};
use common::Shape;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use warden_e2e::client::{self, Reply};
use warden_e2e::fake_identity::aws::Aws;
use warden_e2e::fake_identity::entra::Entra;
use warden_e2e::fake_identity::google::Google;
use warden_e2e::fake_identity::Mode;
use warden_e2e::run::Failures;
use warden_e2e::Stack;

/// One keyless request per provider: label, path, client headers, body, error shape.
struct Call {
    label: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Value,
    shape: Shape,
}

fn calls() -> Vec<Call> {
    vec![
        Call {
            label: "azure openai",
            path: "/v1/azure/chat/completions",
            headers: &[("api-key", "k")],
            body: json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
            shape: Shape::OpenAi,
        },
        Call {
            label: "claude on foundry",
            path: "/v1/anthropic/v1/messages",
            headers: &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")],
            body: json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}),
            shape: Shape::Anthropic,
        },
        Call {
            label: "vertex",
            path: "/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent",
            headers: &[("x-goog-api-key", "k")],
            body: json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
            shape: Shape::Gemini,
        },
        Call {
            label: "bedrock",
            path: "/v1/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
            headers: &[("authorization", "Bearer k")],
            body: json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
            shape: Shape::Bedrock,
        },
    ]
}

fn keyless_plugin() -> Value {
    json!({"profiles": {"default": {}},
        "providers": {"azure": {"auth": "entra"}, "anthropic": {"auth": "entra"},
            "gemini": {"vertex": {"project": "warden-test", "location": "us-central1"}},
            "bedrock": {"auth": "sigv4", "region": "us-east-1"}},
        "sidecar": {"timeout_ms": 8000}})
}

fn message(reply: &Reply, shape: Shape) -> String {
    let pointer = if shape == Shape::Bedrock { "/message" } else { "/error/message" };
    reply.json().pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// Sends `call` until it succeeds or `within` has passed; the last reply.
fn until_ok(stack: &Stack, call: &Call, id: &str, within: Duration) -> Reply {
    let deadline = Instant::now() + within;
    loop {
        let reply = post(stack, call.path, call.headers, &call.body, id);
        if reply.status == 200 || Instant::now() > deadline {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn without_the_sidecar_every_provider_answers_503_in_its_shape_and_recovers_when_it_returns() {
    let rt = runtime();
    let (google, entra, aws) = rt.block_on(async { (Google::start().await, Entra::start().await, Aws::start().await) });
    let dir = TempDir::new("sidecar-down");
    let mut env = entra_env(&entra, dir.path());
    env.extend(gcp_env(&google));
    env.extend(aws_container_env(&aws));
    let mut stack = stack(
        keyless_plugin(),
        json!({"credentials": {"gcp": {}, "azure": {}, "aws": {"region": "us-east-1"}}}),
        env,
        2,
    );
    stack.sidecar_mut().stop();
    let mut f = Failures::default();
    for (i, call) in calls().iter().enumerate() {
        let reply = post(&stack, call.path, call.headers, &call.body, &format!("down-{i}"));
        common::check_error_shape(&mut f, call.label, &reply, 503, call.shape);
        let text = message(&reply, call.shape);
        f.check(text.contains("warden-sidecar") && text.contains("unreachable"), || {
            format!("{}: the message names neither the sidecar nor what is wrong: {text}", call.label)
        });
        if call.shape == Shape::Bedrock {
            let kind = reply.header("x-amzn-errortype").unwrap_or_default();
            f.check(kind.starts_with("ServiceUnavailableException"), || format!("bedrock: x-amzn-errortype {kind}"));
        }
    }
    f.assert_none("sidecar down");
    assert!(stack.mock_requests().is_empty(), "nothing reached a provider without a credential");
    assert_eq!(client::get(&stack.admin_url("/ready"), &[]).status, 200, "Envoy stays up");

    // The sidecar comes back on the same port: the next requests get credentials.
    stack.sidecar_mut().restart();
    for (i, call) in calls().iter().enumerate() {
        let id = format!("back-{i}");
        let reply = until_ok(&stack, call, &id, Duration::from_secs(20));
        assert_eq!(reply.status, 200, "{}: {}", call.label, reply.text());
        let up = upstream(&stack, &id);
        assert!(header(&up, "authorization").is_some_and(|a| a.contains("fake-") || a.contains("FAKE")), "{up}");
    }
    assert_no_secret_in_logs(&stack, &fake_secrets());
    assert!(stack.filter_crashes().is_empty(), "{:?}", stack.filter_crashes());
}

#[test]
fn an_identity_endpoint_answering_garbage_is_a_503_that_names_the_cause() {
    let rt = runtime();
    let (google, aws) = rt.block_on(async { (Google::start().await, Aws::start().await) });
    let mut env = gcp_env(&google);
    env.extend(aws_container_env(&aws));
    let stack = stack(keyless_plugin(), json!({"credentials": {"gcp": {}, "aws": {"region": "us-east-1"}}}), env, 1);
    google.server.control.set_mode(Mode::Garbage);
    aws.server.control.set_mode(Mode::Garbage);
    let all = calls();
    let mut f = Failures::default();
    for (call, cloud) in [(&all[2], "gcp"), (&all[3], "aws")] {
        let reply = post(&stack, call.path, call.headers, &call.body, &format!("garbage-{cloud}"));
        common::check_error_shape(&mut f, call.label, &reply, 503, call.shape);
        let text = message(&reply, call.shape);
        f.check(text.contains("warden-sidecar") && text.contains(&format!("{cloud}: ")), || {
            format!("{}: the message does not say the {cloud} credential failed at the sidecar: {text}", call.label)
        });
        f.check(!text.contains("unreachable"), || {
            format!("{}: the sidecar answered, it is not unreachable: {text}", call.label)
        });
    }
    // Azure is not enabled in this sidecar: the message says so.
    let reply = post(&stack, all[0].path, all[0].headers, &all[0].body, "not-enabled");
    common::check_error_shape(&mut f, "azure (not enabled)", &reply, 503, Shape::OpenAi);
    let text = message(&reply, Shape::OpenAi);
    f.check(text.contains("azure"), || format!("azure (not enabled): {text}"));
    f.assert_none("garbage from the identity endpoints");
    assert!(stack.mock_requests().is_empty(), "nothing reached a provider without a credential");

    google.server.control.set_mode(Mode::Normal);
    aws.server.control.set_mode(Mode::Normal);
    for call in [&all[2], &all[3]] {
        let reply = until_ok(&stack, call, call.label, Duration::from_secs(20));
        assert_eq!(reply.status, 200, "{}: {}", call.label, reply.text());
    }
    assert_no_secret_in_logs(&stack, &fake_secrets());
}

#[test]
fn a_cached_credential_keeps_serving_while_the_sidecar_is_down_until_it_must_be_refreshed() {
    // Long enough that each step has seconds to spare on a loaded CI runner: the request after the
    // failed refresh must land between half (8 s) and three quarters (12 s) of the token's life;
    // with 8 s of life that window was 0.5 s wide and a busy runner missed it.
    const LIFE: Duration = Duration::from_secs(16);
    let rt = runtime();
    let fake = rt.block_on(Entra::start());
    fake.server.control.set_lifetime_secs(LIFE.as_secs());
    let dir = TempDir::new("sidecar-cached");
    let mut stack = stack(keyless_plugin(), json!({"credentials": {"azure": {}}}), entra_env(&fake, dir.path()), 2);
    let azure = &calls()[0];
    let send = |stack: &Stack, id: &str| post(stack, azure.path, azure.headers, &azure.body, id);
    let start = Instant::now();
    assert_eq!(send(&stack, "fetch").status, 200);
    stack.sidecar_mut().stop();

    // Within the token's life, on either worker: served from the shared cache.
    for i in 0..4 {
        let reply = send(&stack, &format!("cached-{i}"));
        assert_eq!(reply.status, 200, "a cached token serves without the sidecar: {}", reply.text());
        assert_eq!(
            header(&upstream(&stack, &format!("cached-{i}")), "authorization"),
            Some("Bearer eyJ0eXAi.fake-entra-secret-1")
        );
    }
    // Past half its life the background refresh fails; the token still serves.
    std::thread::sleep((LIFE / 2 + Duration::from_millis(1500)).saturating_sub(start.elapsed()));
    assert_eq!(send(&stack, "refresh-failing").status, 200, "a failed refresh does not stop a valid token");
    // Once the token is too close to expiry to use, the request needs the sidecar: closed.
    std::thread::sleep((LIFE * 3 / 4 + Duration::from_millis(1000)).saturating_sub(start.elapsed()));
    let reply = send(&stack, "expired");
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(message(&reply, Shape::OpenAi).contains("warden-sidecar"));
    assert!(upstream(&stack, "expired").is_null(), "an expiring token is never sent");

    stack.sidecar_mut().restart();
    let reply = until_ok(&stack, azure, "after", Duration::from_secs(20));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(header(&upstream(&stack, "after"), "authorization"), Some("Bearer eyJ0eXAi.fake-entra-secret-2"));
    assert_no_secret_in_logs(&stack, &fake_secrets());
}
