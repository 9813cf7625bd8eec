//! Traces (DESIGN §4.3): Envoy's own span for each request carries Warden's `gen_ai.*` attributes,
//! exported over OTLP/gRPC to a receiver the test starts; the values match the access-log record.

use crate::common;

use common::policy::send;
use serde_json::{json, Value};
use std::time::Duration;
use warden_e2e::otlp::Receiver;
use warden_e2e::policy;
use warden_e2e::run::{self, Failures};
use warden_e2e::StackOptions;

fn system_of(provider: &str) -> &str {
    match provider {
        "gemini" => "gcp.gemini",
        "bedrock" => "aws.bedrock",
        other => other,
    }
}

#[test]
fn every_api_streaming_and_not_gets_one_span_with_the_records_gen_ai_attributes() {
    let receiver = Receiver::start();
    let stack = common::warden_stack_with(StackOptions {
        plugin_config: policy::plugin_config(),
        otlp_port: receiver.port,
        ..StackOptions::default()
    });
    let cases = policy::api_cases("secure");
    let outcomes = run::parallel(&cases, 4, |case| {
        let session = format!("conv-{}", case.name.replace(['/', '@', ' '], "-"));
        send(
            &stack,
            case,
            "text",
            &[("read_file", json!({"path": "/etc/passwd"}))],
            None,
            &[("x-warden-session-id", session.as_str())],
        )
    });
    let mut f = Failures::default();
    // Envoy's exporter flushes every few seconds: wait for the last request's span once.
    if let Some(last) = outcomes.last() {
        receiver.wait_for("guid:x-request-id", &last.request_id, Duration::from_secs(20));
    }
    for o in &outcomes {
        let label = &o.label;
        let record = run::log_line(&stack, &o.request_id).and_then(|l| l.get("warden").cloned()).unwrap_or(Value::Null);
        let Some(span) = receiver.wait_for("guid:x-request-id", &o.request_id, Duration::from_secs(2)) else {
            let seen: Vec<_> = receiver.spans().into_iter().map(|s| s.attributes).take(2).collect();
            f.0.push(format!("{label}: no span with x-request-id {} (first spans received: {seen:?})", o.request_id));
            continue;
        };
        let attr = |k: &str| span.attributes.get(k).cloned().unwrap_or_default();
        let rec = |k: &str| match record.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let provider = rec("provider");
        let want = [
            ("gen_ai.system", system_of(&provider).to_owned()),
            ("gen_ai.request.model", rec("model")),
            ("gen_ai.response.model", rec("model")),
            ("gen_ai.usage.input_tokens", rec("input_tokens")),
            ("gen_ai.usage.output_tokens", rec("output_tokens")),
            ("gen_ai.conversation.id", rec("session_id")),
            ("warden.blocked_tools", "read_file".to_owned()),
        ];
        for (key, value) in want {
            f.check(!value.is_empty() && attr(key) == value, || {
                format!("{label}: span {key} = {:?}, record says {value:?} (span: {:?})", attr(key), span.attributes)
            });
        }
        let same_request =
            receiver.spans().iter().filter(|s| s.attributes.get("guid:x-request-id") == Some(&o.request_id)).count();
        f.check(same_request == 1, || format!("{label}: {same_request} spans for one request"));
    }
    f.assert_none("gen_ai span attributes");
}
