//! Every handled request leaves an interaction record in the access log and moves the Prometheus
//! counters by the same amounts; identity comes from the documented headers.

use crate::common;

use serde_json::Value;
use warden_e2e::cases;
use warden_e2e::prom;
use warden_e2e::run::{self, Failures, Via};

#[test]
fn every_request_is_recorded_and_metered() {
    let stack = common::warden_stack();
    let all = cases::core_cases().into_iter().chain(cases::compatible_cases()).chain(cases::route_variant_cases());
    let mut f = Failures::default();
    // One at a time: the counters are compared before and after each request.
    for case in all {
        let before = prom::parse(&stack.prometheus());
        let o = run::send(&stack, &case, Via::Filter, "text", None, &[]);
        let Some(record) = run::check_record(&mut f, &stack, &o) else {
            continue;
        };
        let after = prom::parse(&stack.prometheus());
        run::check_metrics(&mut f, &o, &record, &before, &after);
    }
    f.assert_none("records and metrics");
}

#[test]
fn metric_labels_are_prometheus_labels_not_name_parts() {
    let stack = common::warden_stack();
    let o =
        run::send(&stack, &cases::openai_chat("openai", "/v1", "gpt-4o-mini", false), Via::Filter, "text", None, &[]);
    assert_eq!(o.reply.status, 200);
    let text = stack.prometheus();
    let warden: Vec<&str> = text.lines().filter(|l| l.starts_with("warden_")).collect();
    assert!(!warden.is_empty(), "no warden_ metrics in /stats/prometheus:\n{text}");
    for line in &warden {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        assert!(!name.contains("=") && !name.ends_with('_'), "label text leaked into a metric name: {line}");
    }
    let samples = prom::parse(&text);
    let labels = [("provider", "openai"), ("model", "gpt-4o-mini"), ("profile", "default")];
    assert_eq!(prom::sum(&samples, "warden_requests_total", &labels), 1.0, "{}", warden.join("\n"));
}

fn record_for(stack: &warden_e2e::Stack, headers: &[(&str, &str)]) -> Value {
    let o = run::send(stack, &cases::anthropic(false), Via::Filter, "text", None, headers);
    assert_eq!(o.reply.status, 200, "{}", o.reply.text());
    run::log_line(stack, &o.request_id).map(|l| l["warden"].clone()).unwrap_or(Value::Null)
}

fn ids(record: &Value) -> [Option<&str>; 4] {
    ["agent_id", "user_id", "session_id", "execution_id"].map(|k| record.get(k).and_then(Value::as_str))
}

#[test]
fn identity_comes_from_the_warden_headers() {
    let stack = common::warden_stack();
    let record = record_for(
        &stack,
        &[
            ("x-warden-agent-id", "agent-1"),
            ("x-warden-user-id", "user-1"),
            ("x-warden-session-id", "session-1"),
            ("x-warden-execution-id", "exec-1"),
        ],
    );
    assert_eq!(ids(&record), [Some("agent-1"), Some("user-1"), Some("session-1"), Some("exec-1")], "{record}");
}

#[test]
fn identity_comes_from_the_meta_header_and_individual_headers_win() {
    let stack = common::warden_stack();
    let record = record_for(&stack, &[("x-warden-meta", "agent-m/exec-m/session-m")]);
    assert_eq!(ids(&record), [Some("agent-m"), None, Some("session-m"), Some("exec-m")], "{record}");

    let record =
        record_for(&stack, &[("x-warden-meta", "agent-m/exec-m/session-m"), ("x-warden-session-id", "session-h")]);
    assert_eq!(ids(&record), [Some("agent-m"), None, Some("session-h"), Some("exec-m")], "{record}");

    let record = record_for(&stack, &[("x-warden-meta", "/exec-only/")]);
    assert_eq!(ids(&record), [None, None, None, Some("exec-only")], "{record}");
}

#[test]
fn archestra_header_spellings_are_accepted() {
    let stack = common::warden_stack();
    let record = record_for(
        &stack,
        &[
            ("X-Archestra-Agent-Id", "agent-a"),
            ("X-Archestra-User-Id", "user-a"),
            ("X-Archestra-Session-Id", "session-a"),
            ("X-Archestra-Execution-Id", "exec-a"),
        ],
    );
    assert_eq!(ids(&record), [Some("agent-a"), Some("user-a"), Some("session-a"), Some("exec-a")], "{record}");
    let record = record_for(&stack, &[("X-Archestra-Meta", "agent-b/exec-b/session-b")]);
    assert_eq!(ids(&record), [Some("agent-b"), None, Some("session-b"), Some("exec-b")], "{record}");
}

#[test]
fn streamed_tool_calls_are_recorded_with_usage() {
    let stack = common::warden_stack();
    let mut f = Failures::default();
    for case in cases::core_cases().into_iter().filter(|c| c.stream && c.usage.is_some()) {
        let o = run::send(&stack, &case, Via::Filter, "tool_call", Some(7), &[]);
        run::check_record(&mut f, &stack, &o);
    }
    f.assert_none("streamed tool calls");
}
