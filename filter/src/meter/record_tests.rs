use super::*;
use crate::meter::agents::{AgentLabels, OTHER};
use crate::meter::metrics::Kind;
use crate::store::MemoryStore;
use std::collections::BTreeMap;

fn config() -> Config {
    Config::from_json(br#"{"profiles":{"default":{}}}"#).unwrap()
}

fn response(usage: Option<view::Usage>) -> view::Response {
    view::Response { model: Some("claude-sonnet-4-5".into()), usage, ..view::Response::default() }
}

fn usage() -> view::Usage {
    view::Usage { input: 1000, output: 300, cache_read: 10_000, cache_write: 2000, reasoning: 50 }
}

fn summary<'a>(config: &'a Config, response: &'a view::Response) -> Summary<'a> {
    Summary {
        config,
        provider: Provider::Anthropic,
        api: Some(Api::Messages),
        profile: "default",
        caller: Caller::default(),
        model: Some("claude-sonnet-4-5"),
        baseline_model: None,
        baseline_provider: None,
        stream: false,
        status: Some(200),
        error: None,
        tools_declared: None,
        response: Some(response),
        blocked: None,
        incomplete: false,
        streamed: false,
        toon: None,
        trust: None,
        unpoliced: None,
        stream_end: None,
        limits_unchecked: false,
        dual_llm: &[],
        key_id: None,
        routed: false,
        provider_label: None,
        duration_ms: Some(2000),
        ttfb_ms: Some(100),
        agent_label: None,
        first_execution: false,
    }
}

/// The metric name and labels an update encodes (`tag=.=value;.;…name`).
fn decode(u: &Update) -> (String, BTreeMap<String, String>) {
    let encoded = u.name();
    let mut parts: Vec<&str> = encoded.split(";.;").collect();
    let name = parts.pop().unwrap().to_string();
    let labels = parts.iter().map(|p| p.split_once("=.=").unwrap()).map(|(k, v)| (k.into(), v.into())).collect();
    (name, labels)
}

/// Every update named `name`: its labels and value.
fn find(updates: &[Update], name: &str) -> Vec<(BTreeMap<String, String>, Kind, u64)> {
    updates
        .iter()
        .map(|u| (decode(u), u))
        .filter(|((n, _), _)| n == name)
        .map(|((_, l), u)| (l, u.kind, u.value))
        .collect()
}

fn one(updates: &[Update], name: &str) -> (BTreeMap<String, String>, Kind, u64) {
    let mut found = find(updates, name);
    assert_eq!(found.len(), 1, "{name} in {updates:#?}");
    found.remove(0)
}

#[test]
fn the_agent_label_is_on_every_per_request_metric() {
    let config = config();
    let response = response(Some(usage()));
    let s = Summary { agent_label: Some("bot-1"), streamed: true, ..summary(&config, &response) };
    let (_, updates) = build(&s);
    for name in [
        "warden_requests_total",
        "warden_input_tokens_total",
        "warden_output_tokens_total",
        "warden_cache_read_tokens_total",
        "warden_cost_micro_usd_total",
        "warden_cache_cost_micro_usd_total",
        "warden_cache_savings_micro_usd_total",
        "warden_request_duration_ms",
        "warden_time_to_first_token_ms",
        "warden_tokens_per_request",
        "warden_output_tokens_per_second",
    ] {
        let (labels, _, _) = one(&updates, name);
        assert_eq!(labels.get("agent_id").map(String::as_str), Some("bot-1"), "{name}: {labels:?}");
        assert_eq!(labels.get("model").map(String::as_str), Some("claude-sonnet-4-5"), "{name}");
    }
}

#[test]
fn requests_without_an_agent_id_carry_no_agent_label() {
    let config = config();
    let response = response(Some(usage()));
    let (_, updates) = build(&summary(&config, &response));
    assert!(!updates.is_empty());
    for u in &updates {
        assert!(!decode(u).1.contains_key("agent_id"), "{}", u.name());
    }
}

#[test]
fn agents_past_the_bound_are_labelled_other() {
    let config = config();
    let response = response(Some(usage()));
    let store = MemoryStore::new();
    let mut agents = AgentLabels::default();
    let labels: Vec<String> = ["a", "b", "c", "d"].iter().map(|id| agents.label(id, 2, &store)).collect();
    let seen: Vec<String> = labels
        .iter()
        .map(|label| {
            let (_, updates) = build(&Summary { agent_label: Some(label), ..summary(&config, &response) });
            one(&updates, "warden_requests_total").0.get("agent_id").cloned().unwrap_or_default()
        })
        .collect();
    assert_eq!(seen, ["a", "b", OTHER, OTHER]);
}

#[test]
fn tokens_per_request_counts_input_cache_and_output_tokens() {
    let config = config();
    let response = response(Some(usage()));
    let (_, updates) = build(&summary(&config, &response));
    let (_, kind, value) = one(&updates, "warden_tokens_per_request");
    assert_eq!(kind, Kind::Histogram);
    // Reasoning tokens are part of the output count already.
    assert_eq!(value, 1000 + 10_000 + 2000 + 300);
}

#[test]
fn output_tokens_per_second_is_measured_over_the_whole_stream_only() {
    let config = config();
    let response = response(Some(usage()));
    let streamed = Summary { streamed: true, stream: true, ..summary(&config, &response) };
    let (_, updates) = build(&streamed);
    let (_, kind, value) = one(&updates, "warden_output_tokens_per_second");
    assert_eq!((kind, value), (Kind::Histogram, 150), "300 output tokens in 2 s");
    let (_, updates) = build(&summary(&config, &response));
    assert!(find(&updates, "warden_output_tokens_per_second").is_empty(), "not for a whole response");
    let (_, updates) = build(&Summary { duration_ms: Some(0), ..streamed });
    assert!(find(&updates, "warden_output_tokens_per_second").is_empty(), "no rate without a duration");
    let (_, updates) = build(&Summary { duration_ms: None, ..streamed });
    assert!(find(&updates, "warden_output_tokens_per_second").is_empty());
}

#[test]
fn cache_cost_and_savings_come_from_the_models_cache_prices() {
    let config = config();
    let response = response(Some(usage()));
    let (_, updates) = build(&summary(&config, &response));
    // claude-sonnet-4-5: input 3, cache_read 0.3, cache_write 3.75 USD per million tokens.
    let (_, kind, cost) = one(&updates, "warden_cache_cost_micro_usd_total");
    assert_eq!((kind, cost), (Kind::Counter, 10_000 * 3 / 10 + 2000 * 375 / 100));
    let (_, _, saved) = one(&updates, "warden_cache_savings_micro_usd_total");
    assert_eq!(saved, 10_000 * 27 / 10);
}

#[test]
fn a_model_without_a_cache_discount_saves_nothing_and_its_cache_costs_the_input_price() {
    let config =
        Config::from_json(br#"{"profiles":{"default":{}},"prices":{"anthropic:plain":{"input":2,"output":4}}}"#)
            .unwrap();
    let response = view::Response { model: Some("plain".into()), usage: Some(usage()), ..view::Response::default() };
    let (_, updates) = build(&Summary { model: Some("plain"), ..summary(&config, &response) });
    assert!(find(&updates, "warden_cache_savings_micro_usd_total").is_empty());
    assert_eq!(one(&updates, "warden_cache_cost_micro_usd_total").2, 12_000 * 2);
}

#[test]
fn without_usage_there_are_no_token_histograms_or_cache_money() {
    let config = config();
    let response = response(None);
    let (_, updates) = build(&Summary { streamed: true, agent_label: Some("bot"), ..summary(&config, &response) });
    for name in [
        "warden_tokens_per_request",
        "warden_output_tokens_per_second",
        "warden_cache_cost_micro_usd_total",
        "warden_cache_savings_micro_usd_total",
    ] {
        assert!(find(&updates, name).is_empty(), "{name}");
    }
    let uncached = view::Usage { input: 10, output: 5, ..view::Usage::default() };
    let response = self::response(Some(uncached));
    let (_, updates) = build(&summary(&config, &response));
    assert!(find(&updates, "warden_cache_cost_micro_usd_total").is_empty(), "no cache tokens, no zero increment");
    assert_eq!(one(&updates, "warden_tokens_per_request").2, 15);
}

#[test]
fn an_execution_is_counted_on_its_first_request_with_agent_and_profile() {
    let config = config();
    let response = response(None);
    let s = Summary { agent_label: Some("bot"), first_execution: true, ..summary(&config, &response) };
    let (_, updates) = build(&s);
    let (labels, kind, value) = one(&updates, "warden_agent_executions_total");
    assert_eq!((kind, value), (Kind::Counter, 1));
    let want: BTreeMap<String, String> =
        [("agent_id", "bot"), ("profile", "default")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(labels, want);
    let (_, updates) = build(&Summary { first_execution: false, ..s });
    assert!(find(&updates, "warden_agent_executions_total").is_empty());
    let (_, updates) = build(&Summary { agent_label: None, ..s });
    let (labels, _, _) = one(&updates, "warden_agent_executions_total");
    assert!(!labels.contains_key("agent_id"));
}
