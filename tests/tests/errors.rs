//! Errors the gateway makes come in the calling SDK's shape; upstream errors and broken streams
//! pass through as they are.

use crate::common;

use common::Shape;
use warden_e2e::cases::{self, Case};
use warden_e2e::run::{self, Failures, Via};
use warden_e2e::{client, StackOptions};

/// One case per error shape (and the Responses API, which shares OpenAI's).
fn shaped_cases() -> Vec<(Case, Shape)> {
    vec![
        (cases::openai_chat("openai", "/v1", "gpt-4o-mini", false), Shape::OpenAi),
        (cases::openai_responses(false), Shape::OpenAi),
        (cases::openai_chat("groq", "/openai/v1", "llama-3.3-70b-versatile", false), Shape::OpenAi),
        (cases::anthropic(false), Shape::Anthropic),
        (cases::gemini(None), Shape::Gemini),
        (cases::bedrock(false), Shape::Bedrock),
        (cases::cohere(false, false), Shape::Cohere),
    ]
}

fn headers(case: &Case) -> Vec<(&str, &str)> {
    let mut h: Vec<(&str, &str)> = case.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    h.push(("content-type", "application/json"));
    h
}

#[test]
fn malformed_json_is_a_400_in_the_provider_shape() {
    let stack = common::warden_stack();
    let mut f = Failures::default();
    for (case, shape) in shaped_cases() {
        let reply = client::post(&stack.url(&case.client_path), &headers(&case), br#"{"model": "x", "messages": ["#);
        common::check_error_shape(&mut f, &case.name, &reply, 400, shape);
    }
    f.check(stack.mock_requests().is_empty(), || "malformed requests reached the upstream".into());
    f.assert_none("malformed JSON");
}

#[test]
fn oversized_body_is_a_413_in_the_provider_shape() {
    let limit = 64 * 1024;
    let stack = common::warden_stack_with(StackOptions { max_body_bytes: Some(limit), ..StackOptions::default() });
    let mut f = Failures::default();
    let filler = "x".repeat(limit + 1024);
    for (case, shape) in shaped_cases() {
        let mut body = case.body.clone().unwrap_or_default();
        body["padding"] = serde_json::json!(filler);
        let reply = client::post(&stack.url(&case.client_path), &headers(&case), body.to_string().as_bytes());
        common::check_error_shape(&mut f, &case.name, &reply, 413, shape);
    }
    f.check(stack.mock_requests().is_empty(), || "oversized requests reached the upstream".into());
    // Just under the limit still goes through.
    let case = cases::openai_chat("openai", "/v1", "gpt-4o-mini", false);
    let mut body = case.body.clone().unwrap_or_default();
    body["padding"] = serde_json::json!("x".repeat(limit - 1024));
    let reply = client::post(&stack.url(&case.client_path), &headers(&case), body.to_string().as_bytes());
    f.check(reply.status == 200, || format!("a body under max_body_bytes got {}: {}", reply.status, reply.text()));
    f.assert_none("oversized bodies");
}

#[test]
fn unknown_profile_is_a_404_in_the_provider_shape() {
    let stack = common::warden_stack();
    let mut f = Failures::default();
    for (path, case, shape) in [
        ("/v1/openai/nope/chat/completions", cases::openai_chat("openai", "/v1", "gpt-4o-mini", false), Shape::OpenAi),
        ("/v1/anthropic/nope/v1/messages", cases::anthropic(false), Shape::Anthropic),
        ("/v1/gemini/nope/v1beta/models/gemini-2.5-flash:generateContent", cases::gemini(None), Shape::Gemini),
        ("/v1/cohere/nope/v2/chat", cases::cohere(false, false), Shape::Cohere),
    ] {
        let reply = client::post(&stack.url(path), &headers(&case), case.body_bytes().as_slice());
        common::check_error_shape(&mut f, path, &reply, 404, shape);
        f.check(reply.text().contains("nope"), || {
            format!("{path}: the message does not name the profile: {}", reply.text())
        });
    }
    f.check(stack.mock_requests().is_empty(), || "unknown-profile requests reached the upstream".into());
    f.assert_none("unknown profile");
}

#[test]
fn unknown_provider_is_a_404_json_error() {
    let stack = common::warden_stack();
    let reply = client::post(
        &stack.url("/v1/nope/chat/completions"),
        &[("content-type", "application/json")],
        br#"{"model":"x"}"#,
    );
    assert_eq!(reply.status, 404, "{}", reply.text());
    assert!(reply.header("content-type").unwrap_or_default().starts_with("application/json"));
    assert!(reply.json().is_object(), "not JSON: {}", reply.text());
    assert!(stack.mock_requests().is_empty());
}

#[test]
fn upstream_errors_pass_through_byte_for_byte() {
    let stack = common::warden_stack();
    let mut f = Failures::default();
    let all = cases::core_cases().into_iter().chain(cases::compatible_cases()).filter(|c| c.method == "POST");
    for case in all {
        let o = run::send(&stack, &case, Via::Filter, "error_429", None, &[]);
        f.check(o.reply.status == 429, || format!("{}: status {}", o.label, o.reply.status));
        f.check(!o.sent.is_empty() && o.reply.body == o.sent, || {
            format!("{}: {}", o.label, run::first_difference(&o.reply.body, &o.sent))
        });
        if case.provider == "bedrock" {
            f.check(o.reply.header("x-amzn-errortype").is_some_and(|v| v.starts_with("ThrottlingException")), || {
                format!("{}: x-amzn-errortype not passed through", o.label)
            });
        }
        f.check(run::log_line(&stack, &o.request_id).is_some(), || format!("{}: no access-log line", o.label));
    }
    f.assert_none("upstream errors");
}

#[test]
fn cut_streams_reach_the_client_as_far_as_they_got_and_are_recorded() {
    let stack = common::warden_stack();
    let runs: Vec<(Case, Option<usize>)> =
        cases::core_cases().into_iter().filter(|c| c.stream).flat_map(|c| [(c.clone(), None), (c, Some(7))]).collect();
    // In parallel: Envoy holds each broken downstream connection for its delayed-close timeout.
    let outcomes = run::parallel(&runs, 8, |(case, chunk)| run::send(&stack, case, Via::Filter, "cut", *chunk, &[]));
    let mut f = Failures::default();
    for o in &outcomes {
        run::check_cut(&mut f, o, Via::Filter);
        let line = run::log_line(&stack, &o.request_id);
        f.check(line.as_ref().is_some_and(|l| l["warden"]["provider"] == o.case.provider), || {
            format!("{}: no interaction record for the cut stream: {line:?}", o.label)
        });
        // The record says the stream was cut, and how Envoy saw it end.
        let record = line.as_ref().map(|l| l["warden"].clone()).unwrap_or_default();
        let end = record.get("stream_end").and_then(serde_json::Value::as_str).unwrap_or_default();
        f.check(record.get("incomplete") == Some(&serde_json::json!(true)) && end.contains("upstream"), || {
            format!("{}: the record does not say the stream was cut: {record}", o.label)
        });
    }
    f.assert_none("cut streams");
}

#[test]
fn slow_streams_are_delivered_event_by_event() {
    // With 50 ms between upstream events the client must see the first event long before the
    // last: the filter must not buffer a stream to its end.
    let stack = common::warden_stack();
    let case = cases::anthropic(true);
    let url = stack.url(&case.client_path);
    let mut h = headers(&case);
    h.push(("x-mock-scenario", "slow_stream"));
    let started = std::time::Instant::now();
    let reply = client::post(&url, &h, &case.body_bytes());
    let total = started.elapsed();
    assert_eq!(reply.status, 200);
    assert!(total >= std::time::Duration::from_millis(300), "slow stream finished in {total:?}");
    // Time to first byte is measured by a raw reader.
    let first = warden_e2e::client::time_to_first_body_byte("POST", &url, &h, &case.body_bytes());
    assert!(first < total / 2, "first byte after {first:?} of {total:?}: the stream was buffered");
}
