//! Metrics per agent and per execution through real Envoy with two workers (DESIGN §4.3): the
//! bounded `agent_id` label, executions counted once whichever worker sees them, the token
//! histograms in their own buckets, and what the cache cost and saved.

use crate::common;

use serde_json::json;
use std::time::{Duration, Instant};
use warden_e2e::cases::{self, Case};
use warden_e2e::prom::{self, Sample};
use warden_e2e::run::{self, Via};
use warden_e2e::{Stack, StackOptions};

/// Two agents keep their label; the third distinct one and later are `other`.
fn stack() -> Stack {
    common::warden_stack_with(StackOptions {
        plugin_config: json!({
            "default_profile": "default",
            "profiles": {"default": {}, "team-a": {}},
            "metrics": {"max_agent_ids": 2},
        }),
        ..StackOptions::default()
    })
}

/// Sends `case` and waits for its record, which the filter writes in the same `on_log` as the metrics.
fn send(stack: &Stack, case: &Case, headers: &[(&str, &str)]) {
    let o = run::send(stack, case, Via::Filter, "text", None, headers);
    assert_eq!(o.reply.status, 200, "{}: {}", o.label, o.reply.text());
    assert!(run::log_line(stack, &o.request_id).is_some(), "{}: no access-log record", o.label);
}

fn samples(stack: &Stack) -> Vec<Sample> {
    prom::parse(&stack.prometheus())
}

/// Envoy merges histograms from its workers only at each stats flush (every 5 s by default).
fn wait_for(stack: &Stack, name: &str, labels: &[(&str, &str)], want: f64) -> Vec<Sample> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = samples(stack);
        if prom::sum(&s, name, labels) >= want || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn the_first_agents_keep_their_label_and_later_ones_are_counted_as_other() {
    let stack = stack();
    // A dot and a separator-like sequence in ids must survive the label encoding and extraction.
    for agent in ["planner.v1", "coder;.;x=.=y", "reviewer", "tester"] {
        send(&stack, &cases::anthropic(false), &[("x-warden-agent-id", agent)]);
    }
    send(&stack, &cases::anthropic(false), &[("x-warden-meta", "planner.v1//")]);
    send(&stack, &cases::anthropic(false), &[]);
    let text = stack.prometheus();
    for line in text.lines().filter(|l| l.starts_with("warden_")) {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        assert!(!name.contains('=') && !name.ends_with('_'), "label text leaked into a metric name: {line}");
    }
    let s = prom::parse(&text);
    let requests = |agent: &str| prom::sum(&s, "warden_requests_total", &[("agent_id", agent)]);
    assert_eq!(requests("planner.v1"), 2.0, "header and meta name the same agent");
    assert_eq!(requests("coder_._x_._y"), 1.0, "';' and '=' become '_'");
    assert_eq!(requests("other"), 2.0);
    assert_eq!(requests("reviewer") + requests("tester"), 0.0);
    let total = prom::sum(&s, "warden_requests_total", &[("provider", "anthropic")]);
    assert_eq!(total, 6.0, "the request without an agent is counted too, without agent_id");
    let input = prom::sum(&s, "warden_input_tokens_total", &[("agent_id", "other"), ("model", "claude-sonnet-4-5")]);
    assert_eq!(input, 2.0 * 25.0, "token counters carry the label");
}

#[test]
fn an_execution_is_counted_once_across_workers_and_header_spellings() {
    let stack = stack();
    let mut sends: Vec<Vec<(&str, &str)>> = Vec::new();
    for _ in 0..4 {
        sends.push(vec![("x-warden-agent-id", "runner"), ("x-warden-execution-id", "exec-a")]);
        sends.push(vec![("x-warden-meta", "runner/exec-a/session-1")]);
        sends.push(vec![("x-archestra-agent-id", "runner"), ("x-archestra-execution-id", "exec-a")]);
    }
    sends.push(vec![("x-warden-agent-id", "runner"), ("x-warden-execution-id", "exec-b")]);
    sends.push(vec![("x-warden-execution-id", "exec-c")]);
    // Concurrent, so that both workers see the same execution id.
    run::parallel(&sends, 4, |headers| send(&stack, &cases::anthropic(false), headers));
    let s = samples(&stack);
    let runs = prom::sum(&s, "warden_agent_executions_total", &[("agent_id", "runner"), ("profile", "default")]);
    assert_eq!(runs, 2.0, "exec-a once, exec-b once");
    assert_eq!(prom::sum(&s, "warden_agent_executions_total", &[("profile", "default")]), 3.0);
    let unnamed: f64 = s
        .iter()
        .filter(|x| x.name == "warden_agent_executions_total" && !x.labels.contains_key("agent_id"))
        .map(|x| x.value)
        .sum();
    assert_eq!(unnamed, 1.0, "an execution without an agent has no agent_id label");
}

#[test]
fn token_histograms_use_their_own_buckets() {
    let stack = stack();
    let agent = [("agent_id", "streamer")];
    send(&stack, &cases::anthropic(true), &[("x-warden-agent-id", "streamer")]);
    send(&stack, &cases::anthropic(false), &[("x-warden-agent-id", "streamer")]);
    let s = wait_for(&stack, "warden_tokens_per_request_count", &agent, 2.0);
    let s = if prom::sum(&s, "warden_output_tokens_per_second_count", &agent) >= 1.0 {
        s
    } else {
        wait_for(&stack, "warden_output_tokens_per_second_count", &agent, 1.0)
    };
    assert_eq!(prom::sum(&s, "warden_tokens_per_request_count", &agent), 2.0);
    // 25 uncached input + 5 cache read + 3 cache write + 12 output; Envoy keeps histogram values in
    // log-linear bins, so the sum is close, not exact.
    let sum = prom::sum(&s, "warden_tokens_per_request_sum", &agent);
    assert!((sum - 2.0 * 45.0).abs() <= 2.0, "sum {sum}, want about 90");
    let bucket = |name: &str, le: &str| {
        let mut labels = agent.to_vec();
        labels.push(("le", le));
        prom::sum(&s, name, &labels)
    };
    assert_eq!(bucket("warden_tokens_per_request_bucket", "16"), 0.0);
    assert_eq!(bucket("warden_tokens_per_request_bucket", "64"), 2.0);
    assert_eq!(bucket("warden_tokens_per_request_bucket", "65536"), 2.0);
    assert_eq!(prom::sum(&s, "warden_output_tokens_per_second_count", &agent), 1.0, "streams only");
    let les: Vec<&str> = s
        .iter()
        .filter(|x| x.name == "warden_output_tokens_per_second_bucket")
        .filter_map(|x| x.labels.get("le").map(String::as_str))
        .collect();
    for le in ["5", "300", "+Inf"] {
        assert!(les.contains(&le), "bucket le={le} missing: {les:?}");
    }
    assert!(!les.contains(&"0.5"), "Envoy's default buckets were used: {les:?}");
}

#[test]
fn cache_cost_and_savings_follow_the_models_cache_prices() {
    let stack = stack();
    send(&stack, &cases::anthropic(false), &[("x-warden-agent-id", "cacher")]);
    let s = samples(&stack);
    let labels = [("agent_id", "cacher"), ("provider", "anthropic"), ("model", "claude-sonnet-4-5")];
    // claude-sonnet-4-5: 5 read tokens at $0.30/M and 3 written at $3.75/M = 12.75 µUSD; reading
    // them instead of paying $3/M input saved 5 × 2.70 = 13.5 µUSD.
    let cost = prom::sum(&s, "warden_cache_cost_micro_usd_total", &labels);
    assert!((cost - 12.75).abs() <= 0.5, "cache cost {cost}");
    let saved = prom::sum(&s, "warden_cache_savings_micro_usd_total", &labels);
    assert!((saved - 13.5).abs() <= 0.5, "cache savings {saved}");
}
