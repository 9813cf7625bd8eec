//! The life of one request through the gateway, as plain logic: the host (`host/`) reads from
//! Envoy, calls one of these methods, and applies what it returns.

mod cost;
mod guard;
mod hold_back;
mod identity;
mod response_stream;

#[cfg(test)]
mod cost_tests;
#[cfg(test)]
mod pipeline_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod tests;

pub use hold_back::Blocked;
#[cfg(test)]
pub(crate) use hold_back::Hold;
pub use identity::Identity;
pub use response_stream::ResponseStream;

use crate::config::Config;
use crate::error::{Reply, WardenError};
use crate::meter::limits::{self as cost_limits, CounterStore, ScopeIds};
use crate::meter::metrics::{self, Update};
use crate::meter::prices::{self, PriceSource};
use crate::meter::record::Record;
use crate::policy::trust::{self, ResultDecision};
use crate::policy::{self as policy_mod, Context};
use crate::providers::{self, openai_chat, ErrorShape, Provider, StreamFold};
use crate::routes::{self, Route};
use crate::view::{self, Api};
use serde_json::Value;
use std::rc::Rc;

/// Headers the gateway sets on the upstream request.
pub const UPSTREAM_HEADER: &str = "x-warden-upstream";

/// What to do with the request once the gateway has looked at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The new `:path`.
    pub path: String,
    /// Headers to set (replacing any existing value).
    pub set_headers: Vec<(&'static str, String)>,
    /// A replacement body, when the gateway changed it.
    pub body: Option<Vec<u8>>,
}

/// How the response body is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// Not looked at (errors, APIs the gateway does not parse).
    PassThrough,
    /// Buffered whole, parsed at the end.
    Buffer,
    /// Decoded frame by frame as it arrives.
    Stream,
}

/// A request the gateway could not classify: the reply to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub reply: Reply,
    pub metric: Update,
}

#[derive(Debug)]
pub struct Exchange {
    config: Rc<Config>,
    route: Route,
    identity: Identity,
    /// Model from the body, else from the path.
    model: Option<String>,
    stream: bool,
    /// The gateway forced `include_usage` on a stream whose client did not ask for it.
    hide_usage_chunk: bool,
    tools_declared: Option<usize>,
    status: Option<u16>,
    mode: ResponseMode,
    response_stream: Option<ResponseStream>,
    response: Option<view::Response>,
    /// The filter answered the request itself with this error.
    error: Option<&'static str>,
    response_complete: bool,
    /// `x-warden-context-untrusted: true` (it can only tighten).
    untrusted_header: bool,
    /// The request's tool policies, until the response takes them.
    guard: Option<guard::Guard>,
    /// Trust of the request's context, once its tool results were evaluated.
    trust: Option<Trust>,
    /// Tool calls refused in a non-streaming response.
    blocked: Option<Blocked>,
    /// The model the client asked for, when an optimisation rule sent the request elsewhere.
    baseline_model: Option<String>,
    toon: Option<cost::ToonStats>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Trust {
    trusted: bool,
    reason: Option<String>,
    /// (tool, decision label) per evaluated tool result, for metrics.
    decisions: Vec<(String, &'static str)>,
}

fn decision_label(decision: &ResultDecision) -> &'static str {
    match decision {
        ResultDecision::Trusted => "mark_as_trusted",
        ResultDecision::Untrusted => "mark_as_untrusted",
        ResultDecision::Blocked { .. } => "block_always",
        ResultDecision::Sanitize => "sanitize_with_dual_llm",
    }
}

impl Exchange {
    /// Classifies a request from its headers. `get` looks a request header up by lower-case name.
    pub fn begin(
        config: Rc<Config>,
        method: &str,
        path: &str,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Exchange, Rejected> {
        let route = routes::classify(&config, method, path).map_err(|err| {
            let shape = path
                .strip_prefix("/v1/")
                .and_then(|r| r.split('/').next())
                .and_then(Provider::from_name)
                .map_or(ErrorShape::OpenAi, Provider::error_shape);
            let reply = providers::render_error(shape, &err);
            let metric = metrics::counter("warden_rejected_requests_total", &[("code", err.code())], 1);
            Rejected { reply, metric }
        })?;
        let untrusted_header = ["x-warden-context-untrusted", "x-archestra-context-untrusted"]
            .iter()
            .any(|h| get(h).is_some_and(|v| v.trim().eq_ignore_ascii_case("true")));
        Ok(Exchange {
            untrusted_header,
            guard: None,
            trust: None,
            blocked: None,
            baseline_model: None,
            toon: None,
            identity: Identity::from_headers(get),
            model: route.path_model.clone(),
            stream: route.stream_by_route,
            route,
            config,
            hide_usage_chunk: false,
            tools_declared: None,
            status: None,
            mode: ResponseMode::PassThrough,
            response_stream: None,
            response: None,
            error: None,
            response_complete: false,
        })
    }

    pub fn route(&self) -> &Route {
        &self.route
    }

    pub fn max_body_bytes(&self) -> usize {
        self.config.max_body_bytes
    }

    /// Whether the gateway needs to see the request body before forwarding.
    pub fn needs_body(&self) -> bool {
        self.route.api.is_some_and(|api| api != Api::Models)
    }

    /// The error reply for `err` in this provider's shape; the exchange remembers it for the record.
    pub fn reject(&mut self, err: &WardenError) -> Reply {
        self.error = Some(err.code());
        let reply = providers::render_error(self.route.provider.error_shape(), err);
        self.status = Some(reply.status);
        reply
    }

    /// Checks a request body size (called as the body grows, so oversized bodies fail early).
    pub fn check_body_size(&self, size: usize) -> Result<(), WardenError> {
        let limit = self.config.max_body_bytes;
        if size > limit {
            return Err(WardenError::BodyTooLarge { limit, actual: size });
        }
        Ok(())
    }

    fn forward(&self, path: String, body: Option<Vec<u8>>) -> Forward {
        let set_headers = vec![
            (UPSTREAM_HEADER, self.route.provider.name().to_string()),
            // Bodies must stay parseable: no compressed responses.
            ("accept-encoding", "identity".to_string()),
        ];
        Forward { path, set_headers, body }
    }

    /// For requests forwarded without reading a body (GET model lists, pass-through paths).
    pub fn forward_without_body(&mut self) -> Result<Forward, WardenError> {
        let path = self.route.upstream.resolve(None).ok_or_else(|| WardenError::InvalidRequest {
            message: "this Bedrock route needs the model id in the body ('modelId') or in the path (/model/{modelId}/converse)".into(),
        })?;
        Ok(self.forward(path, None))
    }

    /// Reads the whole request body of a parsed API and decides how it goes upstream.
    pub fn request_body(&mut self, body: &[u8]) -> Result<Forward, WardenError> {
        self.check_body_size(body.len())?;
        let Some(api) = self.route.api else {
            return self.forward_without_body();
        };
        let mut json: Value =
            serde_json::from_slice(body).map_err(|e| WardenError::MalformedJson { detail: e.to_string() })?;
        if !json.is_object() {
            return Err(WardenError::MalformedJson { detail: "the body must be a JSON object".into() });
        }
        let mut changed = false;
        if let Some(view) = providers::parse_request(api, &json) {
            self.model = view.model.clone().or_else(|| self.model.take());
            self.stream = self.stream || view.stream;
            self.tools_declared = Some(view.tools.len());
            let replaced = self.apply_policies(api, &view, &mut json);
            changed |= !replaced.is_empty();
            changed |= self.apply_cost_controls(api, &view, &mut json, &replaced);
        } else if let Some(model) = json.get("model").and_then(Value::as_str) {
            self.model = Some(model.to_string());
        }
        if api == Api::ChatCompletions && self.stream {
            let client_asked = openai_chat::request::force_include_usage(&mut json);
            self.hide_usage_chunk = !client_asked;
            changed = !client_asked;
        }
        let path = self.route.upstream.resolve(self.model.as_deref()).ok_or_else(|| WardenError::InvalidRequest {
            message: "Bedrock Converse needs a model: put 'modelId' in the body or call /model/{modelId}/converse"
                .into(),
        })?;
        let new_body = if changed { Some(json.to_string().into_bytes()) } else { None };
        Ok(self.forward(path, new_body))
    }

    fn policy_context(&self) -> Context {
        Context {
            agent_id: self.identity.agent_id.clone(),
            user_id: self.identity.user_id.clone(),
            session_id: self.identity.session_id.clone(),
            groups: Vec::new(),
        }
    }

    /// TOON compression of tool results, then model optimisation (DESIGN §5.4). Returns whether
    /// the body changed.
    fn apply_cost_controls(&mut self, api: Api, view: &view::Request, json: &mut Value, replaced: &[String]) -> bool {
        let config = self.config.clone();
        let Some(profile) = config.profiles.get(&self.route.profile) else { return false };
        let tokenizer = config.tokenizer.as_ref();
        let mut changed = false;
        self.toon = Some(match tokenizer {
            Some(tok) if profile.toon.enabled => {
                let (c, stats) = cost::apply_toon(tok, api, view, json, replaced);
                changed |= c;
                stats
            }
            _ => cost::ToonStats::skipped("not_enabled"),
        });
        if let Some(target) = cost::choose_model(&profile.optimization_rules, self.route.provider, view, tokenizer) {
            if self.model.as_deref() != Some(target) {
                self.baseline_model = self.model.take();
                self.model = Some(target.to_string());
                changed |= cost::set_body_model(json, target);
            }
        }
        changed
    }

    /// Checks the profile's cost limits for the model the request will use (after optimisation);
    /// called once the body is read, before anything goes upstream.
    pub fn check_limits(&self, now_secs: u64, store: &dyn CounterStore) -> Result<(), WardenError> {
        let Some(profile) = self.config.profiles.get(&self.route.profile) else { return Ok(()) };
        if profile.limits.is_empty() || self.route.api.is_none_or(|api| api == Api::Models) {
            return Ok(());
        }
        let ids = ScopeIds::from_identity(&self.identity);
        cost_limits::check(&profile.limits, &self.route.profile, &ids, self.model.as_deref(), now_secs, store)
            .map_err(WardenError::from)
    }

    /// Adds what the request cost (as far as the response got: aborted streams count what was
    /// reported so far) to every applicable limit.
    pub fn record_usage(&self, record: &Record, now_secs: u64, store: &dyn CounterStore) {
        let (Some(profile), Some(cost)) = (self.config.profiles.get(&self.route.profile), record.cost_usd) else {
            return;
        };
        if profile.limits.is_empty() || cost <= 0.0 {
            return;
        }
        let ids = ScopeIds::from_identity(&self.identity);
        let _ = cost_limits::record(
            &profile.limits,
            &self.route.profile,
            &ids,
            record.model.as_deref(),
            cost,
            now_secs,
            store,
        );
    }

    /// The model the request was sent to, when an optimisation rule rewrote it.
    pub fn rewritten_model(&self) -> Option<&str> {
        self.baseline_model.as_ref().and(self.model.as_deref())
    }

    /// Evaluates every tool result of the history (DESIGN §5.2), replaces the content of blocked
    /// ones in the provider's shape, and keeps the tool policies for the response. Returns the
    /// pointers of the results it replaced.
    fn apply_policies(&mut self, api: Api, view: &view::Request, json: &mut Value) -> Vec<String> {
        let Some(profile) = self.config.profiles.get(&self.route.profile) else { return Vec::new() };
        let ctx = self.policy_context();
        let start_untrusted = profile.context_untrusted || self.untrusted_header;
        let outcome = trust::evaluate(&profile.policies, &view.tool_results, &ctx, start_untrusted);
        let mut trusted = outcome.trusted;
        let mut reason = outcome.untrusted_reason;
        let mut replaced = Vec::new();
        let mut decisions = Vec::with_capacity(outcome.results.len());
        for (result, decision) in view.tool_results.iter().zip(&outcome.results) {
            let tool = result.tool_name.clone().unwrap_or_default();
            decisions.push((tool, decision_label(decision)));
            let Some(notice) = trust::notice_for(decision, result.tool_name.as_deref()) else { continue };
            if providers::apply_result_edit(api, json, &result.pointer, &notice) {
                replaced.push(result.pointer.clone());
            }
            if *decision == ResultDecision::Sanitize && trusted {
                // Without the Dual LLM sidecar a result that needs sanitising is withheld: fail
                // closed, and the conversation is no longer trusted.
                trusted = false;
                reason = Some(format!(
                    "the result of {} needs Dual LLM sanitisation, which is unavailable",
                    result.tool_name.as_deref().unwrap_or("a tool")
                ));
            }
        }
        let declared = view.tools.iter().map(|t| t.name.clone()).collect();
        self.guard = Some(guard::Guard::new(self.config.clone(), self.route.profile.clone(), ctx, trusted, declared));
        self.trust = Some(Trust { trusted, reason, decisions });
        replaced
    }

    /// Decides how the response body is handled, from its status.
    pub fn response_headers(&mut self, status: u16) -> ResponseMode {
        self.status = Some(status);
        let success = (200..300).contains(&status);
        self.mode = match self.route.api {
            Some(api) if success && self.stream => {
                let framing = providers::stream_framing(api, self.route.gemini_sse);
                match StreamFold::new(api, self.hide_usage_chunk, framing) {
                    Some(fold) => {
                        let hold_back = self.guard.take().map(hold_back::HoldBack::new);
                        self.response_stream = Some(ResponseStream::new(framing, fold, hold_back));
                        ResponseMode::Stream
                    }
                    None => ResponseMode::PassThrough,
                }
            }
            Some(Api::Models) | None => ResponseMode::PassThrough,
            Some(_) if success => ResponseMode::Buffer,
            Some(_) => ResponseMode::PassThrough,
        };
        self.mode
    }

    pub fn response_mode(&self) -> ResponseMode {
        self.mode
    }

    /// Whether the response body may differ from upstream's, so `content-length` must go.
    pub fn may_rewrite_response(&self) -> bool {
        match self.mode {
            ResponseMode::Stream => true,
            ResponseMode::Buffer => self.guard.is_some(),
            ResponseMode::PassThrough => false,
        }
    }

    /// Tool calls refused in a non-streaming response, for the `x-warden-blocked` header.
    pub fn blocked_header(&self) -> Option<String> {
        self.blocked.as_ref().map(|b| b.tools.join(","))
    }

    /// One chunk of a streaming response; returns the bytes the client gets now.
    pub fn response_chunk(&mut self, chunk: &[u8], end: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len());
        match self.response_stream.as_mut() {
            Some(s) => s.push(chunk, end, &mut out),
            None => out.extend_from_slice(chunk),
        }
        if end {
            self.response_complete = true;
        }
        out
    }

    /// The whole body of a buffered (non-streaming) response. Returns a replacement body when the
    /// gateway changes it.
    pub fn response_body(&mut self, body: &[u8]) -> Option<Vec<u8>> {
        self.response_complete = true;
        let api = self.route.api?;
        let json: Value = serde_json::from_slice(body).ok()?;
        self.response = providers::parse_response(api, &json);
        let calls = &self.response.as_ref()?.tool_calls;
        if calls.is_empty() {
            return None;
        }
        let blocked = hold_back::evaluate(self.guard.as_ref()?, calls)?;
        let message = policy_mod::refusal::message(&blocked.calls);
        let refused = providers::refusal_body(api, &json, &message)?;
        self.blocked = Some(blocked);
        Some(refused.to_string().into_bytes())
    }

    fn blocked_calls(&self) -> Option<&Blocked> {
        self.blocked.as_ref().or_else(|| self.response_stream.as_ref().and_then(ResponseStream::blocked))
    }

    fn final_response(&self) -> Option<&view::Response> {
        self.response.as_ref().or_else(|| self.response_stream.as_ref().map(ResponseStream::response))
    }

    /// The interaction record and the metric updates, once the request is over. `duration_ms` is
    /// the whole request; `ttfb_ms` the time to the first response byte when known.
    pub fn finish(&self, duration_ms: Option<u64>, ttfb_ms: Option<u64>) -> (Record, Vec<Update>) {
        let provider = self.route.provider;
        let response = self.final_response();
        let model = self.model.clone().or_else(|| response.and_then(|r| r.model.clone()));
        let usage = response.and_then(|r| r.usage);
        let price = model.as_deref().map(|m| {
            let by_request = prices::lookup(&self.config.prices, provider, m);
            match (by_request, response.and_then(|r| r.model.as_deref())) {
                (PriceSource::Unknown, Some(actual)) => prices::lookup(&self.config.prices, provider, actual),
                (found, _) => found,
            }
        });
        let cost = match (usage, price) {
            (Some(u), Some(p)) => Some(p.price().cost(&u)),
            _ => None,
        };
        let baseline_cost = match (usage, self.baseline_model.as_deref()) {
            (Some(u), Some(b)) => Some(prices::lookup(&self.config.prices, provider, b).price().cost(&u)),
            _ => None,
        };
        let toon = self.toon.as_ref();
        let record = Record {
            provider: provider.name(),
            api: self.route.api.map(Api::as_str),
            profile: self.route.profile.clone(),
            model: model.clone(),
            stream: self.stream,
            status: self.status,
            input_tokens: usage.map(|u| u.input),
            output_tokens: usage.map(|u| u.output),
            cache_read_tokens: usage.map(|u| u.cache_read),
            cache_write_tokens: usage.map(|u| u.cache_write),
            reasoning_tokens: usage.map(|u| u.reasoning),
            cost_usd: cost,
            priced: usage.and(price).map(|p| p != PriceSource::Unknown),
            finish_reason: response.and_then(|r| r.finish_reason.clone()),
            tools_declared: self.tools_declared,
            error: self.error,
            incomplete: self.status.is_some_and(|s| (200..300).contains(&s))
                && (!self.response_complete || self.response_stream.as_ref().is_some_and(ResponseStream::is_broken)),
            agent_id: self.identity.agent_id.clone(),
            user_id: self.identity.user_id.clone(),
            session_id: self.identity.session_id.clone(),
            execution_id: self.identity.execution_id.clone(),
            baseline_model: self.baseline_model.clone(),
            baseline_cost_usd: baseline_cost,
            toon_tokens_before: toon
                .filter(|t| t.skip_reason.is_none() || t.tokens_before > 0)
                .map(|t| t.tokens_before),
            toon_tokens_after: toon.filter(|t| t.skip_reason.is_none() || t.tokens_before > 0).map(|t| t.tokens_after),
            toon_skip_reason: toon.and_then(|t| t.skip_reason),
            context_trusted: self.trust.as_ref().map(|t| t.trusted),
            untrusted_reason: self.trust.as_ref().and_then(|t| t.reason.clone()),
            blocked_tools: self.blocked_calls().map(|b| b.tools.clone()),
            block_reason: self.blocked_calls().map(Blocked::reason),
        };
        let updates = self.metric_updates(&record, usage, cost, price, duration_ms, ttfb_ms);
        (record, updates)
    }

    fn metric_updates(
        &self,
        record: &Record,
        usage: Option<view::Usage>,
        cost: Option<f64>,
        price: Option<PriceSource>,
        duration_ms: Option<u64>,
        ttfb_ms: Option<u64>,
    ) -> Vec<Update> {
        let model = record.model.as_deref().unwrap_or("unknown");
        let base = [("provider", record.provider), ("model", model), ("profile", record.profile.as_str())];
        let status = record.status.map(|s| s.to_string()).unwrap_or_else(|| "0".into());
        let api = record.api.unwrap_or("other");
        let mut with_status = base.to_vec();
        with_status.push(("api", api));
        with_status.push(("status", status.as_str()));
        let mut out = vec![metrics::counter("warden_requests_total", &with_status, 1)];
        if let Some(code) = self.error {
            let mut labels = base.to_vec();
            labels.push(("code", code));
            out.push(metrics::counter("warden_rejected_requests_total", &labels, 1));
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
                    out.push(metrics::counter(name, &base, value));
                }
            }
        }
        if let Some(c) = cost {
            out.push(metrics::counter("warden_cost_micro_usd_total", &base, micro_usd(c)));
        }
        if usage.is_some() && price == Some(PriceSource::Unknown) {
            out.push(metrics::counter("warden_unpriced_requests_total", &base, 1));
        }
        if let Some(saved) = self.toon.as_ref().map(cost::ToonStats::saved).filter(|s| *s > 0) {
            out.push(metrics::counter("warden_toon_tokens_saved_total", &base, saved));
            if let Some(p) = price {
                let usd = p.price().cost(&view::Usage { input: saved, ..view::Usage::default() });
                out.push(metrics::counter("warden_toon_saved_micro_usd_total", &base, micro_usd(usd)));
            }
        }
        if let Some(trust) = &self.trust {
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
        if let Some(blocked) = self.blocked_calls() {
            for call in &blocked.calls {
                let mut labels = base.to_vec();
                labels.push(("tool", call.name.as_str()));
                out.push(metrics::counter("warden_blocked_tool_calls_total", &labels, 1));
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
        if let Some(d) = duration_ms {
            out.push(metrics::histogram("warden_request_duration_ms", &base, d));
        }
        if let (Some(t), true) = (ttfb_ms, self.mode == ResponseMode::Stream) {
            out.push(metrics::histogram("warden_time_to_first_token_ms", &base, t));
        }
        out
    }
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
