//! The interaction record (DESIGN §4.3): one JSON object per handled request, published as the
//! `wasm.warden` filter state for the access log.

use super::metrics::{self, Labels, Update};
use super::prices::{self, PriceSource};
use crate::config::Config;
use crate::policy::tools::Blocked;
use crate::providers::Provider;
use crate::transform::toon::ToonStats;
use crate::view::{self, Api};
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Record {
    pub provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<&'static str>,
    pub profile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// False when the model had no known price and the conservative default was charged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priced: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools_declared: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// The response ended before it was complete (upstream reset, client gone, stream cut).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// The virtual key's id (never the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// `model-router` for a request that came through the model router (DESIGN §4.8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routed_from: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toon_tokens_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toon_tokens_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toon_skip_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_trusted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untrusted_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_tools: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_reason: Option<String>,
    /// Why the gateway refused content it could not police (fail-closed), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpoliced: Option<&'static str>,
    /// How the response ended when it did not end normally (Envoy's response code details, e.g.
    /// `upstream_reset_after_response_started{connection_termination}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_end: Option<String>,
    /// The cost-limit counters could not be read and `sidecar.on_failure: open` let it through.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub limits_unchecked: bool,
    /// One entry per tool result that needed Dual-LLM sanitisation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dual_llm: Vec<DualLlmEntry>,
}

/// One sanitised (or withheld) result, for the record's `dual_llm` list and the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DualLlmEntry {
    pub tool: String,
    pub cached: bool,
    pub rounds: u32,
    pub ok: bool,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Why the result was withheld, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Who called, as the record names them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller<'a> {
    pub agent_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub execution_id: Option<&'a str>,
}

/// The trust of a request's context once its tool results were evaluated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trust {
    pub trusted: bool,
    pub reason: Option<String>,
    /// (tool, decision label) per evaluated tool result, for metrics.
    pub decisions: Vec<(String, &'static str)>,
}

/// Everything one request leaves behind, as the exchange gathered it; `build` turns it into the
/// record and the metric updates.
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a> {
    pub config: &'a Config,
    pub provider: Provider,
    pub api: Option<Api>,
    pub profile: &'a str,
    pub caller: Caller<'a>,
    /// The model the request went to (after optimisation), when known from the request.
    pub model: Option<&'a str>,
    /// The model the client asked for, when an optimisation rule sent the request elsewhere.
    pub baseline_model: Option<&'a str>,
    /// The provider the client asked for, when a rule moved a routed request to another one
    /// (`baseline_model` is then `provider:model`).
    pub baseline_provider: Option<Provider>,
    pub stream: bool,
    pub status: Option<u16>,
    pub error: Option<&'static str>,
    pub tools_declared: Option<usize>,
    pub response: Option<&'a view::Response>,
    pub blocked: Option<&'a Blocked>,
    pub incomplete: bool,
    /// The response was policed as a stream (time to first token applies).
    pub streamed: bool,
    pub toon: Option<&'a ToonStats>,
    pub trust: Option<&'a Trust>,
    pub unpoliced: Option<&'static str>,
    pub stream_end: Option<&'a str>,
    pub limits_unchecked: bool,
    pub dual_llm: &'a [DualLlmEntry],
    /// The virtual key's id, when the request presented one the sidecar knows.
    pub key_id: Option<&'a str>,
    /// The request came through the model router.
    pub routed: bool,
    /// What the record and metrics name as the provider when no provider is known yet (a router
    /// request refused before its model named a target: `model-router`).
    pub provider_label: Option<&'static str>,
    pub duration_ms: Option<u64>,
    pub ttfb_ms: Option<u64>,
    /// The caller's `agent_id` metric label (`meter::agents`: sanitised, bounded, or `other`);
    /// the record keeps the id as sent.
    pub agent_label: Option<&'a str>,
    /// The first request this Envoy saw with the caller's execution id.
    pub first_execution: bool,
}

/// The interaction record and the metric updates of a finished request.
pub fn build(s: &Summary) -> (Record, Vec<Update>) {
    let (record, usage, cost, price) = assemble(s);
    let updates = metric_updates(s, &record, usage, cost, price);
    (record, updates)
}

/// The record alone, without the metric updates (what the trace attributes read).
pub fn record_only(s: &Summary) -> Record {
    assemble(s).0
}

/// The record, and the usage, cost and price the metric updates are made of.
fn assemble(s: &Summary) -> (Record, Option<view::Usage>, Option<f64>, Option<PriceSource>) {
    let provider = s.provider;
    let response = s.response;
    let model = s.model.map(str::to_owned).or_else(|| response.and_then(|r| r.model.clone()));
    let usage = response.and_then(|r| r.usage);
    let price = model.as_deref().map(|m| {
        let by_request = prices::lookup(&s.config.prices, provider, m);
        match (by_request, response.and_then(|r| r.model.as_deref())) {
            (PriceSource::Unknown, Some(actual)) => prices::lookup(&s.config.prices, provider, actual),
            (found, _) => found,
        }
    });
    let cost = match (usage, price) {
        (Some(u), Some(p)) => Some(p.price().cost(&u)),
        _ => None,
    };
    let baseline_cost = match (usage, s.baseline_model) {
        (Some(u), Some(b)) => {
            let (at, model) = match s.baseline_provider {
                Some(asked) => (asked, b.split_once(':').map_or(b, |(_, model)| model)),
                None => (provider, b),
            };
            Some(prices::lookup(&s.config.prices, at, model).price().cost(&u))
        }
        _ => None,
    };
    let toon = s.toon.filter(|t| t.skip_reason.is_none() || t.tokens_before > 0);
    let record = Record {
        provider: s.provider_label.unwrap_or(provider.name()),
        api: s.api.map(Api::as_str),
        profile: s.profile.to_owned(),
        model: model.clone(),
        stream: s.stream,
        status: s.status,
        input_tokens: usage.map(|u| u.input),
        output_tokens: usage.map(|u| u.output),
        cache_read_tokens: usage.map(|u| u.cache_read),
        cache_write_tokens: usage.map(|u| u.cache_write),
        reasoning_tokens: usage.map(|u| u.reasoning),
        cost_usd: cost,
        priced: usage.and(price).map(|p| p != PriceSource::Unknown),
        finish_reason: response.and_then(|r| r.finish_reason.clone()),
        tools_declared: s.tools_declared,
        error: s.error,
        incomplete: s.incomplete,
        agent_id: s.caller.agent_id.map(str::to_owned),
        user_id: s.caller.user_id.map(str::to_owned),
        session_id: s.caller.session_id.map(str::to_owned),
        execution_id: s.caller.execution_id.map(str::to_owned),
        key_id: s.key_id.map(str::to_owned),
        routed_from: s.routed.then_some(crate::routes::ROUTER_SEGMENT),
        baseline_model: s.baseline_model.map(str::to_owned),
        baseline_cost_usd: baseline_cost,
        toon_tokens_before: toon.map(|t| t.tokens_before),
        toon_tokens_after: toon.map(|t| t.tokens_after),
        toon_skip_reason: s.toon.and_then(|t| t.skip_reason),
        context_trusted: s.trust.map(|t| t.trusted),
        untrusted_reason: s.trust.and_then(|t| t.reason.clone()),
        blocked_tools: s.blocked.map(|b| b.tools.clone()),
        block_reason: s.blocked.map(Blocked::reason),
        unpoliced: s.unpoliced,
        stream_end: s.stream_end.map(str::to_owned),
        limits_unchecked: s.limits_unchecked,
        dual_llm: s.dual_llm.to_vec(),
    };
    (record, usage, cost, price)
}

fn metric_updates(
    s: &Summary,
    record: &Record,
    usage: Option<view::Usage>,
    cost: Option<f64>,
    price: Option<PriceSource>,
) -> Vec<Update> {
    let model = record.model.as_deref().unwrap_or("unknown");
    let mut base = vec![("provider", record.provider), ("model", model), ("profile", record.profile.as_str())];
    // Virtual-key traffic is told apart by key (DESIGN §4.3); ids are bounded by the keys file.
    if let Some(key_id) = record.key_id.as_deref() {
        base.push(("key_id", key_id));
    }
    // Requests without an agent id carry no `agent_id` label at all (Prometheus reads a missing
    // label as ""), so their series are the same as before agents were labelled.
    if let Some(agent) = s.agent_label {
        base.push(("agent_id", agent));
    }
    let status = record.status.map(|s| s.to_string()).unwrap_or_else(|| "0".into());
    let api = record.api.unwrap_or("other");
    let common = Labels::new(&base);
    let with_status = common.with(&[("api", api), ("status", status.as_str())]);
    let mut out = vec![with_status.counter("warden_requests_total", 1)];
    if let Some(code) = s.error {
        out.push(common.with(&[("code", code)]).counter("warden_rejected_requests_total", 1));
    }
    if let Some(reason) = s.unpoliced {
        let labels = [("provider", record.provider), ("profile", record.profile.as_str()), ("reason", reason)];
        out.push(metrics::counter("warden_unpoliced_refused_total", &labels, 1));
    }
    if s.limits_unchecked {
        let labels = [("profile", record.profile.as_str()), ("action", "allowed")];
        out.push(metrics::counter("warden_limits_unavailable_total", &labels, 1));
    }
    for entry in s.dual_llm {
        let result = match (entry.ok, entry.cached) {
            (false, _) => "failed",
            (true, true) => "cached",
            (true, false) => "sanitized",
        };
        let labels = [("profile", record.profile.as_str()), ("tool", entry.tool.as_str()), ("result", result)];
        out.push(metrics::counter("warden_dual_llm_results_total", &labels, 1));
        for (kind, value) in [("input", entry.input_tokens), ("output", entry.output_tokens)] {
            if value > 0 {
                let labels = [("profile", record.profile.as_str()), ("type", kind)];
                out.push(metrics::counter("warden_dual_llm_tokens_total", &labels, value));
            }
        }
    }
    if let Some(u) = usage {
        for (name, value) in [
            ("warden_input_tokens_total", u.input),
            ("warden_output_tokens_total", u.output),
            ("warden_cache_read_tokens_total", u.cache_read),
            ("warden_cache_write_tokens_total", u.cache_write),
            ("warden_reasoning_tokens_total", u.reasoning),
        ] {
            // A zero increment is a wasted host call; the series appears with its first token.
            if value > 0 {
                out.push(common.counter(name, value));
            }
        }
    }
    if let Some(c) = cost {
        out.push(common.counter("warden_cost_micro_usd_total", micro_usd(c)));
    }
    if let (Some(u), Some(p)) = (usage, price) {
        out.extend(cache_money(&p.price(), &u, &common));
    }
    out.extend(throughput(s, usage, &common));
    if s.first_execution {
        let mut labels = Vec::with_capacity(2);
        if let Some(agent) = s.agent_label {
            labels.push(("agent_id", agent));
        }
        labels.push(("profile", record.profile.as_str()));
        out.push(metrics::counter("warden_agent_executions_total", &labels, 1));
    }
    if usage.is_some() && price == Some(PriceSource::Unknown) {
        out.push(common.counter("warden_unpriced_requests_total", 1));
    }
    if let Some(saved) = s.toon.map(ToonStats::saved).filter(|s| *s > 0) {
        out.push(common.counter("warden_toon_tokens_saved_total", saved));
        if let Some(p) = price {
            let usd = p.price().cost(&view::Usage { input: saved, ..view::Usage::default() });
            out.push(common.counter("warden_toon_saved_micro_usd_total", micro_usd(usd)));
        }
    }
    if let Some(trust) = s.trust {
        for (tool, action) in &trust.decisions {
            let labels = [
                ("provider", record.provider),
                ("profile", record.profile.as_str()),
                ("type", "result"),
                ("action", action),
                ("tool", tool.as_str()),
            ];
            out.push(metrics::counter("warden_policy_decisions_total", &labels, 1));
        }
    }
    if let Some(blocked) = s.blocked {
        for call in &blocked.calls {
            out.push(common.with(&[("tool", call.name.as_str())]).counter("warden_blocked_tool_calls_total", 1));
            let labels = [
                ("provider", record.provider),
                ("profile", record.profile.as_str()),
                ("type", "tool"),
                ("action", "blocked"),
                ("tool", call.name.as_str()),
            ];
            out.push(metrics::counter("warden_policy_decisions_total", &labels, 1));
        }
    }
    if let Some(d) = s.duration_ms {
        out.push(common.histogram("warden_request_duration_ms", d));
    }
    if let (Some(t), true) = (s.ttfb_ms, s.streamed) {
        out.push(common.histogram("warden_time_to_first_token_ms", t));
    }
    out
}

/// What the cached part of a request cost (read and write tokens at the model's cache prices), and
/// what reading from the cache saved against paying the input price for those tokens.
fn cache_money(price: &prices::Price, u: &view::Usage, common: &Labels) -> Vec<Update> {
    let mut out = Vec::new();
    let cached = view::Usage { cache_read: u.cache_read, cache_write: u.cache_write, ..view::Usage::default() };
    let cost = micro_usd(price.cost(&cached));
    if cost > 0 {
        out.push(common.counter("warden_cache_cost_micro_usd_total", cost));
    }
    let discount = price.input - price.cache_read.unwrap_or(price.input);
    let saved = micro_usd(u.cache_read as f64 * discount / 1_000_000.0);
    if saved > 0 {
        out.push(common.counter("warden_cache_savings_micro_usd_total", saved));
    }
    out
}

/// Histograms of how big and how fast a request was: every token it moved (uncached input, cache
/// reads and writes, output including reasoning), and for streams the output tokens per second
/// of the whole request (from its start to its end, as the reference measures it).
fn throughput(s: &Summary, usage: Option<view::Usage>, common: &Labels) -> Vec<Update> {
    let Some(u) = usage else { return Vec::new() };
    let mut out = Vec::new();
    let total = u.input.saturating_add(u.cache_read).saturating_add(u.cache_write).saturating_add(u.output);
    if total > 0 {
        out.push(common.histogram("warden_tokens_per_request", total));
    }
    if let (true, Some(ms)) = (s.streamed, s.duration_ms.filter(|ms| *ms > 0)) {
        if u.output > 0 {
            let per_second = (u.output as f64 * 1000.0 / ms as f64).round() as u64;
            out.push(common.histogram("warden_output_tokens_per_second", per_second));
        }
    }
    out
}

/// Counters are integers: money is counted in micro-USD.
fn micro_usd(usd: f64) -> u64 {
    let micro = (usd * 1_000_000.0).round();
    if micro.is_finite() && micro > 0.0 {
        micro.min(u64::MAX as f64) as u64
    } else {
        0
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
