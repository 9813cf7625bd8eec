//! Adversarial model outputs through real Envoy and the module (issue 7): every (wire format ×
//! attack) case of `adversary::corpus` is scripted into the mock upstream byte for byte, sent with
//! the request that declares the tools, and judged on what a permissive client would take from the
//! reply. An attack passes when no forbidden call is visible to that client, no call structure of
//! the forbidden call is in the raw bytes, the reply is a valid refusal (or an error in the
//! provider's shape) and the record says why; a control passes when it arrives intact.

use crate::common;

use common::{check_error_shape, warden_stack_with, Shape};
use serde_json::Value;
use std::collections::BTreeMap;
use warden_e2e::adversary::client::{self, Policy};
use warden_e2e::adversary::corpus::{self, AdvCase};
use warden_e2e::adversary::{label, wire, Format};
use warden_e2e::client as http;
use warden_e2e::run::{self, Failures, Outcome, Via};
use warden_e2e::seen;
use warden_e2e::{Stack, StackOptions};

fn adversary_stack() -> Stack {
    warden_stack_with(StackOptions { plugin_config: corpus::plugin_config(), ..StackOptions::default() })
}

fn script_name(case: &AdvCase) -> String {
    case.name.replace(['/', '+'], "_")
}

/// Stores every case's reply in the mock, then sends every request (in parallel).
fn run_all(stack: &Stack, cases: &[AdvCase]) -> Vec<Outcome> {
    for case in cases {
        let body = serde_json::to_vec(&case.script).unwrap_or_default();
        let url = stack.mock_url(&format!("/__mock/scripts/{}", script_name(case)));
        let stored = http::send("PUT", &url, &[("content-type", "application/json")], &body)
            .unwrap_or_else(|e| panic!("{}: storing the script: {e}", case.name));
        assert_eq!(stored.status, 204, "{}: storing the script: {}", case.name, stored.text());
    }
    run::parallel(cases, 6, |case| {
        let mut o =
            run::send(stack, &case.request, Via::Filter, &format!("script:{}", script_name(case)), case.chunk, &[]);
        o.label = format!("{} [{}]", case.name, o.request_id);
        o
    })
}

fn shape(format: Format) -> Shape {
    match format {
        Format::ChatJson | Format::ChatSse | Format::ResponsesJson | Format::ResponsesSse => Shape::OpenAi,
        Format::AnthropicJson | Format::AnthropicSse => Shape::Anthropic,
        Format::GeminiJson | Format::GeminiSse | Format::GeminiArray => Shape::Gemini,
        Format::BedrockJson | Format::BedrockEvents => Shape::Bedrock,
        Format::CohereJson | Format::CohereSse => Shape::Cohere,
    }
}

/// The layout a 200 reply is in: what its content type names for the request's API (a gateway
/// that answers a stream request with a whole refusal body is fine, if that body is valid).
fn reply_format(format: Format, content_type: &str, body: &[u8]) -> Format {
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let whole = match format {
        Format::ChatSse => Format::ChatJson,
        Format::ResponsesSse => Format::ResponsesJson,
        Format::AnthropicSse => Format::AnthropicJson,
        Format::GeminiSse | Format::GeminiArray => Format::GeminiJson,
        Format::BedrockEvents => Format::BedrockJson,
        Format::CohereSse => Format::CohereJson,
        other => other,
    };
    let streamed = match whole {
        Format::ChatJson => Format::ChatSse,
        Format::ResponsesJson => Format::ResponsesSse,
        Format::AnthropicJson => Format::AnthropicSse,
        Format::GeminiJson => Format::GeminiSse,
        Format::BedrockJson => Format::BedrockEvents,
        Format::CohereJson => Format::CohereSse,
        other => other,
    };
    match media.as_str() {
        "text/event-stream" | "application/vnd.amazon.eventstream" => streamed,
        "application/json" if whole == Format::GeminiJson && body.trim_ascii_start().starts_with(b"[") => {
            Format::GeminiArray
        }
        "application/json" => whole,
        _ => format,
    }
}

fn plain_body(o: &Outcome) -> Vec<u8> {
    let gzipped = o.reply.header("content-encoding").is_some_and(|e| e.contains("gzip"));
    if gzipped {
        wire::gunzip(&o.reply.body).unwrap_or_else(|| o.reply.body.clone())
    } else {
        o.reply.body.clone()
    }
}

fn record(stack: &Stack, o: &Outcome) -> Value {
    run::log_line(stack, &o.request_id).and_then(|l| l.get("warden").cloned()).unwrap_or(Value::Null)
}

fn check_attack(f: &mut Failures, stack: &Stack, case: &AdvCase, o: &Outcome) {
    let label = &o.label;
    f.check(!o.sent.is_empty(), || format!("{label}: the request never reached the upstream"));
    let policy = Policy { declared: case.declared.clone() };
    let calls = client::read(case.format, o.reply.status, &o.reply.headers, &o.reply.body);
    let forbidden = client::forbidden(&policy, &calls);
    f.check(forbidden.is_empty(), || format!("{label}: BYPASS, the client can run: {}", forbidden.join("; ")));
    let body = plain_body(o);
    let text = String::from_utf8_lossy(&body);
    for marker in &case.markers {
        f.check(!text.contains(marker.as_str()), || format!("{label}: the client bytes contain {marker}"));
    }
    match o.reply.status {
        200 => {
            let ct = o.reply.header("content-type").unwrap_or_default();
            let seen = seen::read(reply_format(case.format, ct, &body), &body);
            f.check(seen.problems.is_empty(), || {
                format!("{label}: the refusal is not a valid reply: {:?}", seen.problems)
            });
            // Calls that could not be blocked (allowed ones streamed live) may have gone out first;
            // when none did, the message must end like one without tool calls.
            let stop = seen::stop_finish(case.request.api);
            f.check(!seen.calls.is_empty() || seen.finish.as_deref() == Some(stop), || {
                format!("{label}: finish {:?}, want {stop:?} for a refusal", seen.finish)
            });
        }
        400 | 502 => check_error_shape(f, label, &o.reply, o.reply.status, shape(case.format)),
        other => {
            f.0.push(format!("{label}: status {other}, want a refusal (200) or an error (400/502): {}", o.reply.text()))
        }
    }
    let record = record(stack, o);
    let blocked = record.get("blocked_tools").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    let unpoliced = record.get("unpoliced").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    f.check(blocked || unpoliced, || {
        format!(
            "{label}: the record says nothing was refused (blocked_tools {:?}, unpoliced {:?})",
            record.get("blocked_tools"),
            record.get("unpoliced")
        )
    });
}

fn check_control(f: &mut Failures, stack: &Stack, case: &AdvCase, o: &Outcome) {
    let label = &o.label;
    run::check_bytes(f, o, Via::Filter);
    let policy = Policy { declared: case.declared.clone() };
    let calls = client::read(case.format, o.reply.status, &o.reply.headers, &o.reply.body);
    let forbidden = client::forbidden(&policy, &calls);
    f.check(forbidden.is_empty(), || format!("{label}: a control carries forbidden calls: {forbidden:?}"));
    let mut want: Vec<String> = case.output.choices.iter().flat_map(|c| &c.calls).map(|c| c.name()).collect();
    let mut got: Vec<String> = calls.iter().map(|c| c.name.clone()).collect();
    want.sort();
    got.sort();
    f.check(got == want, || format!("{label}: the client sees calls {got:?}, want {want:?}"));
    let record = record(stack, o);
    let blocked = record.get("blocked_tools").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    f.check(!blocked && record.get("unpoliced").is_none_or(Value::is_null), || {
        format!("{label}: an allowed reply was refused: {record}")
    });
}

/// Cases per format, for the log.
fn counts(cases: &[AdvCase]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for case in cases {
        *by.entry(label(case.format)).or_default() += 1;
    }
    by.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

#[test]
fn no_adversarial_output_reaches_a_permissive_client() {
    let stack = adversary_stack();
    let cases: Vec<AdvCase> = corpus::corpus().into_iter().filter(|c| !c.control).collect();
    println!("{} attack cases: {}", cases.len(), counts(&cases));
    let outcomes = run_all(&stack, &cases);
    let mut f = Failures::default();
    for (case, o) in cases.iter().zip(&outcomes) {
        check_attack(&mut f, &stack, case, o);
    }
    let crashes = stack.filter_crashes();
    f.check(crashes.is_empty(), || format!("the filter crashed: {crashes:?}"));
    f.assert_none("adversarial outputs");
}

#[test]
fn allowed_outputs_reach_the_client_intact() {
    let stack = adversary_stack();
    let cases: Vec<AdvCase> = corpus::corpus().into_iter().filter(|c| c.control).collect();
    println!("{} control cases: {}", cases.len(), counts(&cases));
    let outcomes = run_all(&stack, &cases);
    let mut f = Failures::default();
    for (case, o) in cases.iter().zip(&outcomes) {
        check_control(&mut f, &stack, case, o);
    }
    let crashes = stack.filter_crashes();
    f.check(crashes.is_empty(), || format!("the filter crashed: {crashes:?}"));
    f.assert_none("control outputs");
}
