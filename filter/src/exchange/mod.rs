//! The life of one request through the gateway, as plain logic: the host (`host/`) reads from
//! Envoy, calls one of these methods, and applies what it returns. The host keeps the phase (which
//! callback comes next, and the state only that phase owns, such as a response stream); the
//! `Exchange` keeps what the request turned out to be and what happened to it, for the record.

mod compress;
mod explain;
mod guard;
mod hold_back;
mod identity;
mod key;
mod optimise;
mod response;
mod response_stream;
mod router;
pub mod sanitize;

#[cfg(test)]
mod compress_tests;
#[cfg(test)]
mod key_tests;
#[cfg(test)]
mod oauth_tests;
#[cfg(test)]
mod pipeline_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod router_tests;
#[cfg(test)]
mod sanitize_tests;
#[cfg(test)]
mod stream_end_tests;
#[cfg(test)]
mod tests;

pub use explain::ExplainedResult;
#[cfg(test)]
pub(crate) use hold_back::{Flow, Hold, Judge};
pub use identity::{Claims, Identity};
pub use key::{KeyFailure, KeyStep};
pub use response::{Buffered, ResponseHead, ResponsePlan};
pub use response_stream::ResponseStream;
pub use router::Translation;
pub use sanitize::Sanitizing;

use crate::config::limits::LimitsStore;
use crate::config::{Config, OnFailure};
use crate::credentials;
use crate::error::{Reply, WardenError};
use crate::keys;
use crate::meter::agents::{AgentLabels, Executions, Sighting};
use crate::meter::limits::{self as cost_limits, CheckError, CounterStore, Counters};
use crate::meter::metrics::{self, Update};
use crate::meter::record::{self, Caller, Record, Summary, Trust};
use crate::policy::tools::Blocked;
use crate::policy::trust::{self, ResultDecision};
use crate::policy::Context;
use crate::providers::{self, Body};
use crate::routes::{self, Route};
use crate::store::SharedStore;
use crate::transform::toon::ToonStats;
use crate::view::{self, Api};
use std::rc::Rc;

/// Headers the gateway sets on the upstream request.
pub const UPSTREAM_HEADER: &str = "x-warden-upstream";

/// Headers some upstreams (Google's front end among them) read as the request's real method: a
/// GET the gateway forwards unread must not become a POST the gateway never classified.
const METHOD_OVERRIDES: [&str; 3] = ["x-http-method-override", "x-http-method", "x-method-override"];

/// What to do with the request once the gateway has looked at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The new `:path`.
    pub path: String,
    /// Headers to set (replacing any existing value).
    pub set_headers: Vec<(&'static str, String)>,
    /// Headers to remove.
    pub remove_headers: Vec<&'static str>,
    /// A replacement body, when the gateway changed it.
    pub body: Option<Vec<u8>>,
}

/// Where a request body stands once read.
#[derive(Debug)]
pub enum BodyStep {
    /// Decided: send it.
    Ready(Forward),
    /// Tool results wait for the sidecar's Dual-LLM sanitiser: dispatch `Sanitizing::jobs`, then
    /// `Exchange::finish_body`.
    Sanitize(Box<Sanitizing>),
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
    /// `x-warden-context-untrusted: true` (it can only tighten).
    untrusted_header: bool,
    facts: Facts,
    /// The request's tool policies, for the response (whole or streamed).
    guard: Option<guard::Guard>,
    outcome: Outcome,
    /// The virtual key the request presented (or the OAuth client its token named), and what it
    /// resolved to.
    key: key::KeyState,
    /// The virtual key's or OAuth client's id once the sidecar named it (also when it was then
    /// refused).
    key_id: Option<String>,
    /// What the model router decided (target, translation), for routed requests.
    routing: Option<router::Routing>,
}

/// What the request turned out to be; fixed once its body was read.
#[derive(Debug, Default)]
struct Facts {
    /// Model from the body, else from the path; after optimisation, the model it goes to.
    model: Option<String>,
    /// The model the client asked for, when an optimisation rule sent the request elsewhere
    /// (`provider:model` when the rule moved a routed request to another provider).
    baseline_model: Option<String>,
    /// The index of the optimisation rule that fired (native routes; the router decides its own).
    optimization_rule: Option<usize>,
    /// The provider the client asked for, when a rule moved a routed request away from it.
    baseline_provider: Option<crate::providers::Provider>,
    stream: bool,
    /// The gateway forced `include_usage` on a stream whose client did not ask for it.
    hide_usage_chunk: bool,
    tools_declared: Option<usize>,
    /// Trust of the request's context, once its tool results were evaluated.
    trust: Option<Trust>,
    toon: Option<ToonStats>,
    limits_unchecked: bool,
    /// One entry per result that needed Dual-LLM sanitisation.
    dual_llm: Vec<sanitize::Entry>,
    /// A router model list: the providers the key maps to, once resolved.
    router_mapped: Option<Vec<String>>,
    /// A router model list: the sidecar's live lists (`Some` once asked, empty when it had none).
    live_models: Option<Vec<warden_proto::v1::ProviderModels>>,
}

/// What happened to the request; filled as it goes.
#[derive(Debug, Default)]
struct Outcome {
    status: Option<u16>,
    /// The filter answered the request itself with this error.
    error: Option<&'static str>,
    /// A whole (non-streaming) response, parsed.
    response: Option<view::Response>,
    /// Tool calls refused in a whole response.
    blocked: Option<Blocked>,
    complete: bool,
    /// Why the gateway refused content it could not police.
    unpoliced: Option<&'static str>,
}

fn decision_label(decision: &ResultDecision) -> &'static str {
    match decision {
        ResultDecision::Trusted => "mark_as_trusted",
        ResultDecision::Untrusted => "mark_as_untrusted",
        ResultDecision::Blocked { .. } => "block_always",
        ResultDecision::Sanitize => "sanitize_with_dual_llm",
    }
}

/// `warden_limits_unavailable_total{action="usage_not_recorded"}`: a request's cost could not be
/// added to its limits (also counted by the root context when the sidecar refuses an add).
pub fn limits_not_recorded(profile: &str) -> Update {
    let labels = [("profile", profile), ("action", "usage_not_recorded")];
    metrics::counter("warden_limits_unavailable_total", &labels, 1)
}

impl Exchange {
    /// Classifies a request from its headers. `get` looks a request header up by lower-case name.
    pub fn begin(
        config: Rc<Config>,
        method: &str,
        path: &str,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Exchange, Rejected> {
        // A `wdn_` key in the query is cut out before anything reads the path (DESIGN §4.6).
        let in_query = keys::query::take(path).map_err(|err| {
            let reply = providers::render_error(routes::error_shape_of(path), &err);
            let metric = metrics::counter("warden_rejected_requests_total", &[("code", err.code())], 1);
            Rejected { reply, metric }
        })?;
        let path = in_query.as_ref().map_or(path, |q| q.path.as_str());
        let route = routes::classify(&config, method, path).map_err(|err| {
            let reply = providers::render_error(routes::error_shape_of(path), &err);
            let metric = metrics::counter("warden_rejected_requests_total", &[("code", err.code())], 1);
            Rejected { reply, metric }
        })?;
        let untrusted_header = ["x-warden-context-untrusted", "x-archestra-context-untrusted"]
            .iter()
            .any(|h| get(h).is_some_and(|v| v.trim().eq_ignore_ascii_case("true")));
        let facts = Facts { model: route.path_model.clone(), stream: route.stream_by_route, ..Facts::default() };
        let key = key::KeyState::from_request(get, in_query.map(|q| q.sha256), route.provider).map_err(|err| {
            let reply = providers::render_error(route.provider.error_shape(), &err);
            let metric = metrics::counter("warden_rejected_requests_total", &[("code", err.code())], 1);
            Rejected { reply, metric }
        })?;
        Ok(Exchange {
            untrusted_header,
            identity: Identity::from_headers(get),
            facts,
            guard: None,
            outcome: Outcome::default(),
            key,
            key_id: None,
            routing: None,
            route,
            config,
        })
    }

    /// The claims of a token Envoy's `jwt_authn` verified for this request (DESIGN §4.6): they
    /// decide the user and the groups, whatever the identity headers say, and the OAuth client
    /// they name acts as a virtual key when the request presented none.
    pub fn verified_claims(&mut self, claims: &Claims) {
        let groups_claim = self.config.jwt.groups_claim.clone();
        self.identity.apply_claims(claims, &groups_claim);
        self.oauth_client(claims.client_id());
    }

    pub fn route(&self) -> &Route {
        &self.route
    }

    /// Whether the gateway needs to see the request body before forwarding.
    pub fn needs_body(&self) -> bool {
        self.route.api.is_some_and(|api| api != Api::Models)
            || matches!(self.route.gate, Some(routes::canonical::Gate::RefuseIfTools(_)))
    }

    /// The error reply for `err` in this provider's shape; the exchange remembers it for the record.
    pub fn reject(&mut self, err: &WardenError) -> Reply {
        self.outcome.error = Some(err.code());
        let reply = providers::render_error(self.error_shape(), err);
        self.outcome.status = Some(reply.status);
        reply
    }

    /// The error shape the client parses: the provider's, and always OpenAI's on the model router.
    fn error_shape(&self) -> providers::ErrorShape {
        if self.route.routed {
            providers::ErrorShape::OpenAi
        } else {
            self.route.provider.error_shape()
        }
    }

    /// A request the gateway answers itself, once its key is resolved: the model router's model
    /// list.
    pub fn local_answer(&mut self) -> Option<Reply> {
        let mapped = self.facts.router_mapped.as_deref()?;
        let reply = Reply::json_bytes(200, self.model_list(mapped));
        self.outcome.status = Some(200);
        self.outcome.complete = true;
        Some(reply)
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
            // Bodies must stay readable: no compressed responses (one that comes anyway is refused).
            ("accept-encoding", "identity".to_string()),
        ];
        let mut forward = Forward { path, set_headers, remove_headers: METHOD_OVERRIDES.to_vec(), body };
        self.key.edit_headers(&mut forward);
        forward
    }

    /// For requests forwarded without reading a body (GET model lists, pass-through paths).
    pub fn forward_without_body(&mut self) -> Result<Forward, WardenError> {
        let path = self.route.upstream_path(None)?;
        Ok(self.forward(path, None))
    }

    /// Reads the whole request body of a parsed API and decides how it goes upstream, without the
    /// sidecar: a result that needs Dual-LLM sanitisation is withheld (the caller cannot wait).
    pub fn request_body(&mut self, bytes: &[u8]) -> Result<Forward, WardenError> {
        match self.begin_body(bytes, &crate::store::MemoryStore::new(), 0)? {
            BodyStep::Ready(forward) => Ok(forward),
            BodyStep::Sanitize(mut s) => {
                s.fail_pending("the caller cannot wait for the sidecar");
                self.finish_body(*s, &crate::store::MemoryStore::new(), 0)
            }
        }
    }

    /// Reads the whole request body of a parsed API and decides how it goes upstream — or, when
    /// tool results need Dual-LLM sanitisation that is not cached, what to ask the sidecar first
    /// (`BodyStep::Sanitize`; then `finish_body`). `store` holds cached summaries.
    pub fn begin_body(&mut self, bytes: &[u8], store: &dyn SharedStore, now_ms: u64) -> Result<BodyStep, WardenError> {
        self.check_body_size(bytes.len())?;
        let Some(api) = self.wire_api() else {
            if let Some(routes::canonical::Gate::RefuseIfTools(reason)) = self.route.gate {
                let declares_tools = match Body::parse(bytes) {
                    Ok(body) => routes::canonical::TOOL_KEYS.iter().any(|k| body.json().get(k).is_some()),
                    // A body the gateway cannot read might declare anything.
                    Err(_) => true,
                };
                if declares_tools {
                    return Err(WardenError::InvalidRequest { message: reason.to_owned() });
                }
            }
            return self.forward_without_body().map(BodyStep::Ready);
        };
        if self.routing.is_none() {
            if let Some((body, view)) = providers::read_request(api, bytes) {
                return self.read_body(api, body, view, store, now_ms);
            }
        }
        let parsed = self.routing.as_mut().and_then(|r| r.parsed.take());
        let mut body = match parsed {
            Some(body) => body,
            None => Body::parse(bytes)?,
        };
        self.routed_body(&mut body)?;
        let Some(view) = providers::parse_request(api, body.json()) else {
            if let Some(model) = body.json().get("model").and_then(serde_json::Value::as_str) {
                self.facts.model = Some(model.to_string());
            }
            return self.complete(api, body).map(BodyStep::Ready);
        };
        self.read_body(api, body, view, store, now_ms)
    }

    /// The policies and edits of a body read into its view.
    fn read_body(
        &mut self,
        api: Api,
        mut body: Body,
        view: view::Request,
        store: &dyn SharedStore,
        now_ms: u64,
    ) -> Result<BodyStep, WardenError> {
        self.facts.model = view.model.clone().or_else(|| self.facts.model.take());
        self.facts.stream = self.facts.stream || view.stream;
        self.facts.tools_declared = Some(view.tools.len());
        providers::check_request(api, &body)?;
        let mut replaced = Vec::new();
        let jobs = self.apply_policies(api, &view, &mut body, &mut replaced, store, now_ms);
        let waiting = Sanitizing { api, body, view, replaced, jobs };
        if waiting.jobs.is_empty() {
            return self.finish_body(waiting, store, now_ms).map(BodyStep::Ready);
        }
        Ok(BodyStep::Sanitize(Box::new(waiting)))
    }

    /// Finishes a body once its sanitisation jobs are answered: summaries (cached for every
    /// worker) or notices replace the results, the context's trust is settled, then TOON, model
    /// optimisation and the upstream's needs as for any request.
    pub fn finish_body(
        &mut self,
        waiting: Sanitizing,
        store: &dyn SharedStore,
        now_ms: u64,
    ) -> Result<Forward, WardenError> {
        let Sanitizing { api, mut body, view, mut replaced, jobs } = waiting;
        for job in jobs {
            let entry = match job.outcome {
                Some(Ok(reply)) if !reply.summary.trim().is_empty() => {
                    sanitize::remember(store, &job.digest, &reply.summary, reply.rounds, now_ms);
                    if sanitize::replace(
                        api,
                        &mut body,
                        &job.pointer,
                        &sanitize::summary_text(&job.tool, &reply.summary),
                    ) {
                        replaced.push(job.pointer.clone());
                    }
                    sanitize::Entry {
                        tool: job.tool,
                        cached: reply.cached,
                        rounds: reply.rounds,
                        ok: true,
                        input_tokens: reply.input_tokens,
                        output_tokens: reply.output_tokens,
                        error: None,
                    }
                }
                outcome => {
                    let why = match outcome {
                        Some(Err(why)) => why,
                        _ => "the sidecar returned an empty summary".to_owned(),
                    };
                    self.withhold(api, &mut body, &mut replaced, &job.pointer, &job.tool, &why);
                    sanitize::Entry { tool: job.tool, error: Some(why), ..sanitize::Entry::default() }
                }
            };
            self.facts.dual_llm.push(entry);
        }
        self.settle_trust(&view);
        self.apply_toon(api, &view, &mut body, &replaced);
        self.optimise(&view, &mut body);
        self.complete(api, body)
    }

    /// The upstream's needs (the forced usage chunk) and the path, for a body whose edits are done.
    fn complete(&mut self, api: Api, mut body: Body) -> Result<Forward, WardenError> {
        let hide = providers::prepare_upstream(api, self.facts.stream, &mut body).hide_usage_chunk;
        // A Responses client of a translated route gets its usage in `response.completed`, made
        // from the chat usage chunk: that one is never hidden.
        self.facts.hide_usage_chunk = hide && self.routing.as_ref().is_none_or(|r| r.echo.is_none());
        if let Some(forward) = self.translated(&body)? {
            return Ok(forward);
        }
        let path = self.route.upstream_path(self.facts.model.as_deref())?;
        Ok(self.forward(path, body.into_upstream()))
    }

    /// Replaces a result that could not be sanitised with a notice and marks the context untrusted.
    fn withhold(
        &mut self,
        api: Api,
        body: &mut Body,
        replaced: &mut Vec<String>,
        pointer: &str,
        tool: &str,
        why: &str,
    ) {
        if sanitize::replace(api, body, pointer, &sanitize::withheld_text(tool, why)) {
            replaced.push(pointer.to_owned());
        }
        if let Some(trust) = self.facts.trust.as_mut().filter(|t| t.trusted) {
            trust.trusted = false;
            let tool = if tool.is_empty() { "a tool" } else { tool };
            trust.reason = Some(format!("the result of {tool} needed Dual LLM sanitisation, which failed: {why}"));
        }
    }

    fn policy_context(&self) -> Context {
        Context {
            agent_id: self.identity.agent_id.clone(),
            user_id: self.identity.user_id.clone(),
            session_id: self.identity.session_id.clone(),
            groups: self.identity.groups.clone(),
        }
    }

    /// TOON compression of tool results (DESIGN §5.4), never of results a policy replaced.
    fn apply_toon(&mut self, api: Api, view: &view::Request, body: &mut Body, replaced: &[String]) {
        let config = self.config.clone();
        let Some(profile) = config.profiles.get(&self.route.profile) else { return };
        self.facts.toon = Some(match config.tokenizer.as_ref() {
            Some(tok) if profile.toon.enabled => compress::apply_toon(tok, api, view, body, replaced),
            _ => ToonStats::skipped("not_enabled"),
        });
    }

    /// Model optimisation: the first matching rule rewrites the model, in the body or (Gemini,
    /// Bedrock) in the path the route rebuilds.
    fn optimise(&mut self, view: &view::Request, body: &mut Body) {
        if self.route.routed {
            // Decided with the router's target, before the key was resolved (`choose_target`).
            return;
        }
        let config = self.config.clone();
        let Some(profile) = config.profiles.get(&self.route.profile) else { return };
        let tokenizer = config.tokenizer.as_ref();
        let Some((rule, _, target)) =
            optimise::choose_rule(&profile.optimization_rules, self.route.provider, view, tokenizer, false)
        else {
            return;
        };
        self.facts.optimization_rule = Some(rule);
        if self.facts.model.as_deref() != Some(target) {
            self.facts.baseline_model = self.facts.model.take();
            self.facts.model = Some(target.to_string());
            body.set_model(target);
        }
    }

    /// The limit lists that apply, each with the profile part of its counter keys: the
    /// profile's own, then the virtual key's (counted across profiles, under `KEY_COUNTERS`).
    fn limit_sets(&self) -> Vec<(&[crate::config::limits::Limit], &str)> {
        let mut sets = Vec::new();
        if let Some(profile) = self.config.profiles.get(&self.route.profile) {
            sets.push((profile.limits.as_slice(), self.route.profile.as_str()));
        }
        if let Some(grant) = self.key.grant() {
            sets.push((grant.limits.as_slice(), cost_limits::KEY_COUNTERS));
        }
        sets.retain(|(limits, _)| !limits.is_empty());
        sets
    }

    fn scope_ids(&self) -> cost_limits::ScopeIds<'_> {
        cost_limits::ScopeIds { key: self.key.grant().map(|g| g.key_id.as_str()), ..self.identity.scope_ids() }
    }

    /// Whether cost limits apply to this request at all (model lists and unclassified routes cost
    /// nothing).
    fn limits_apply(&self) -> bool {
        self.route.api.is_some_and(|api| api != Api::Models)
    }

    /// Where the counters live (`limits_store`).
    pub fn limits_store(&self) -> LimitsStore {
        self.config.limits_store
    }

    /// The Redis keys the sidecar must read for [`Exchange::check_limits`] at `now_secs`; empty
    /// when no limit applies.
    pub fn limit_keys(&self, now_secs: u64) -> Vec<String> {
        if !self.limits_apply() {
            return Vec::new();
        }
        let ids = self.scope_ids();
        let model = self.facts.model.as_deref();
        let mut keys = Vec::new();
        for (limits, profile) in self.limit_sets() {
            keys.extend(cost_limits::remote_keys(limits, profile, &ids, model, now_secs));
        }
        keys
    }

    /// Checks the profile's and the virtual key's cost limits for the model the request will use
    /// (after optimisation); called once the body is read, before anything goes upstream. A
    /// counter that cannot be read is [`Exchange::limits_unreadable`].
    pub fn check_limits(&mut self, now_secs: u64, counters: Counters) -> Result<(), WardenError> {
        if !self.limits_apply() {
            return Ok(());
        }
        let ids = self.scope_ids();
        let model = self.facts.model.as_deref();
        let checked = self
            .limit_sets()
            .into_iter()
            .try_for_each(|(limits, profile)| cost_limits::check_in(limits, profile, &ids, model, now_secs, counters));
        match checked {
            Ok(()) => Ok(()),
            Err(CheckError::Exceeded(e)) => {
                Err(WardenError::limit_reached(e, self.key.grant().is_some_and(|g| g.oauth_client)))
            }
            Err(CheckError::Unavailable(e)) => self.limits_unreadable(e.to_string()),
        }
    }

    /// The limits cannot be checked (a counter unreadable, the sidecar or its Redis away): refused
    /// (503) unless `sidecar.on_failure` is `open`, which lets the request through and says so in
    /// the record and `warden_limits_unavailable_total`.
    pub fn limits_unreadable(&mut self, detail: String) -> Result<(), WardenError> {
        match self.config.sidecar.on_failure {
            OnFailure::Closed => Err(WardenError::LimitsUnavailable { detail }),
            OnFailure::Open => {
                self.facts.limits_unchecked = true;
                Ok(())
            }
        }
    }

    /// Adds what the request cost (as far as the response got: aborted streams count what was
    /// reported so far) to every applicable limit. A counter that cannot be written is counted in
    /// `warden_limits_unavailable_total` (the usage is lost for the limit, not for the record).
    pub fn record_usage(&self, record: &Record, now_secs: u64, store: &dyn CounterStore) -> Option<Update> {
        let cost = record.cost_usd.filter(|c| *c > 0.0)?;
        let ids = self.scope_ids();
        let model = record.model.as_deref();
        let mut failed = false;
        for (limits, profile) in self.limit_sets() {
            failed |= cost_limits::record(limits, profile, &ids, model, cost, now_secs, store).is_err();
        }
        failed.then(|| self.usage_not_recorded())
    }

    /// What the request cost, as increments of the sidecar's Redis counters (`limits_store:
    /// sidecar`); empty when it cost nothing or no limit applies.
    pub fn usage_increments(&self, record: &Record, now_secs: u64) -> Vec<cost_limits::Increment> {
        let Some(cost) = record.cost_usd.filter(|c| *c > 0.0) else { return Vec::new() };
        let ids = self.scope_ids();
        let model = record.model.as_deref();
        let mut out = Vec::new();
        for (limits, profile) in self.limit_sets() {
            out.extend(cost_limits::increments(limits, profile, &ids, model, cost, now_secs));
        }
        out
    }

    /// The profile the request runs under.
    pub fn profile(&self) -> &str {
        &self.route.profile
    }

    /// `warden_limits_unavailable_total{action="usage_not_recorded"}` for this request's profile.
    pub fn usage_not_recorded(&self) -> Update {
        limits_not_recorded(&self.route.profile)
    }

    /// The credential the upstream needs from the sidecar, when the provider's settings say so.
    pub fn credential_plan(&self) -> Option<credentials::Plan> {
        credentials::plan(&self.config, &self.route)
    }

    /// The sidecar call timeout and cluster.
    pub fn sidecar(&self) -> &crate::config::SidecarSettings {
        &self.config.sidecar
    }

    /// The model the request was sent to, when an optimisation rule rewrote it (`provider:model`
    /// on the model router, whose clients name models that way).
    pub fn rewritten_model(&self) -> Option<String> {
        let model = self.facts.baseline_model.as_ref().and(self.facts.model.as_deref())?;
        Some(if self.route.routed { format!("{}:{model}", self.route.provider.name()) } else { model.to_owned() })
    }

    /// Evaluates every tool result of the history (DESIGN §5.2), replaces the content of blocked
    /// ones in the provider's shape, and keeps the tool policies for the response. Returns the
    /// pointers of the results it replaced.
    /// Evaluates every tool result of the history (DESIGN §5.2): blocked ones are replaced by a
    /// notice in the provider's shape, ones to sanitise get their cached summary or become jobs
    /// for the sidecar. Records the pointers it replaced in `replaced`; `settle_trust` finishes.
    fn apply_policies(
        &mut self,
        api: Api,
        view: &view::Request,
        body: &mut Body,
        replaced: &mut Vec<String>,
        store: &dyn SharedStore,
        now_ms: u64,
    ) -> Vec<sanitize::Job> {
        let config = self.config.clone();
        let Some(profile) = config.profiles.get(&self.route.profile) else { return Vec::new() };
        let ctx = self.policy_context();
        let start_untrusted = profile.context_untrusted || self.untrusted_header;
        let outcome = trust::evaluate(&profile.policies, &view.tool_results, &ctx, start_untrusted);
        let mut decisions = Vec::with_capacity(outcome.results.len());
        let mut to_sanitize = Vec::new();
        for (result, decision) in view.tool_results.iter().zip(&outcome.results) {
            let tool = result.tool_name.clone().unwrap_or_default();
            decisions.push((tool.clone(), decision_label(decision)));
            match decision {
                ResultDecision::Trusted | ResultDecision::Untrusted => {}
                ResultDecision::Blocked { .. } => {
                    let notice = trust::notice_for(decision, result.tool_name.as_deref()).unwrap_or_default();
                    if providers::edit_result(api, body, &result.pointer, &notice) {
                        replaced.push(result.pointer.clone());
                    }
                }
                ResultDecision::Sanitize => to_sanitize.push((result, tool)),
            }
        }
        self.facts.trust = Some(Trust { trusted: outcome.trusted, reason: outcome.untrusted_reason, decisions });
        let user = sanitize::user_request(view);
        let mut jobs = Vec::new();
        for (result, tool) in to_sanitize {
            let Some(dual) = &profile.dual_llm else {
                self.withhold(
                    api,
                    body,
                    replaced,
                    &result.pointer,
                    &tool,
                    "dual_llm is not configured for this profile",
                );
                self.facts.dual_llm.push(sanitize::Entry {
                    tool,
                    error: Some("dual_llm is not configured".into()),
                    ..sanitize::Entry::default()
                });
                continue;
            };
            let digest = sanitize::digest(dual, &self.route.profile, &tool, &result.content, &user);
            if let Some((summary, rounds)) = sanitize::cached(store, &digest, now_ms) {
                if sanitize::replace(api, body, &result.pointer, &sanitize::summary_text(&tool, &summary)) {
                    replaced.push(result.pointer.clone());
                }
                self.facts.dual_llm.push(sanitize::Entry {
                    tool,
                    cached: true,
                    rounds,
                    ok: true,
                    ..sanitize::Entry::default()
                });
                continue;
            }
            let request = warden_proto::v1::SanitizeRequest {
                tool_name: tool.clone(),
                tool_result: result.content.clone(),
                user_request: user.clone(),
                provider: dual.provider.clone(),
                profile: self.route.profile.clone(),
                model: dual.model.clone(),
                quarantined_model: dual.quarantined_model.clone().unwrap_or_default(),
                max_rounds: dual.max_rounds,
                deadline_ms: u32::try_from(self.config.sidecar.timeout_ms).unwrap_or(u32::MAX),
            };
            jobs.push(sanitize::Job { pointer: result.pointer.clone(), tool, digest, request, outcome: None });
        }
        jobs
    }

    /// The guard the response is judged with, from the context's trust once every result is settled.
    fn settle_trust(&mut self, view: &view::Request) {
        let trusted = self.facts.trust.as_ref().is_some_and(|t| t.trusted);
        let declared = view
            .tools
            .iter()
            .map(|t| crate::policy::tools::Declared { name: t.name.clone(), custom: t.custom })
            .collect();
        let ctx = self.policy_context();
        self.guard = Some(guard::Guard::new(self.config.clone(), self.route.profile.clone(), ctx, trusted, declared));
    }

    /// The interaction record and the metric updates, once the request is over. `stream` is the
    /// response stream when the response was policed as one; `duration_ms` is the whole request;
    /// `ttfb_ms` the time to the first response byte when known; `stream_end` how Envoy says the
    /// response ended when it did not end normally.
    /// The `gen_ai.*` trace attributes of this exchange so far (`meter::trace`): published when
    /// the response ends, before Envoy finishes the span.
    pub fn trace_attributes(&self, stream: Option<&ResponseStream>) -> Vec<(&'static str, String)> {
        // The record only: its metric updates are made once, in `on_log`.
        let record = self.summarized(stream, None, None, None, &Sighting::default(), record::record_only);
        let vertex = self.config.provider_settings(self.route.provider).is_some_and(|s| s.vertex.is_some());
        crate::meter::trace::attributes(&record, vertex)
    }

    pub fn finish(
        &self,
        stream: Option<&ResponseStream>,
        duration_ms: Option<u64>,
        ttfb_ms: Option<u64>,
        stream_end: Option<&str>,
    ) -> (Record, Vec<Update>) {
        self.finish_seen(stream, duration_ms, ttfb_ms, stream_end, &Sighting::default())
    }

    /// Whether this Envoy knows the caller's agent (its metric label) and saw its execution id
    /// before (`meter::agents`): at most one shared-data read each, none once the VM knows.
    pub fn sighting(&self, agents: &mut AgentLabels, executions: &mut Executions, store: &dyn SharedStore) -> Sighting {
        let max = self.config.metrics.max_agent_ids;
        Sighting {
            agent: self.identity.agent_id.as_deref().map(|id| agents.label(id, max, store)),
            first_execution: self
                .identity
                .execution_id
                .as_deref()
                .is_some_and(|id| executions.first_sighting(id, store)),
        }
    }

    /// `finish`, with the metrics labelled by what the shared registries said (`sighting`).
    pub fn finish_seen(
        &self,
        stream: Option<&ResponseStream>,
        duration_ms: Option<u64>,
        ttfb_ms: Option<u64>,
        stream_end: Option<&str>,
        sighting: &Sighting,
    ) -> (Record, Vec<Update>) {
        self.summarized(stream, duration_ms, ttfb_ms, stream_end, sighting, record::build)
    }

    /// What the exchange says for the record, handed to `then` (the record and its metrics, or
    /// the record only).
    fn summarized<R>(
        &self,
        stream: Option<&ResponseStream>,
        duration_ms: Option<u64>,
        ttfb_ms: Option<u64>,
        stream_end: Option<&str>,
        sighting: &Sighting,
        then: impl FnOnce(&Summary) -> R,
    ) -> R {
        let success = self.outcome.status.is_some_and(|s| (200..300).contains(&s));
        let incomplete = success
            && self.outcome.unpoliced.is_none()
            && match stream {
                Some(s) => s.is_incomplete(),
                None => !self.outcome.complete,
            };
        // A translated stream is metered with the target's own usage (cache writes included).
        let routed = stream.and_then(ResponseStream::translated_response);
        let summary = Summary {
            config: &self.config,
            provider: self.route.provider,
            api: self.route.api,
            profile: &self.route.profile,
            caller: Caller {
                agent_id: self.identity.agent_id.as_deref(),
                user_id: self.identity.user_id.as_deref(),
                session_id: self.identity.session_id.as_deref(),
                execution_id: self.identity.execution_id.as_deref(),
            },
            model: self.facts.model.as_deref(),
            baseline_model: self.facts.baseline_model.as_deref(),
            baseline_provider: self.facts.baseline_provider,
            stream: self.facts.stream,
            status: self.outcome.status,
            error: self.outcome.error,
            tools_declared: self.facts.tools_declared,
            response: self
                .outcome
                .response
                .as_ref()
                .or(routed.as_ref())
                .or_else(|| stream.map(ResponseStream::response)),
            blocked: self.outcome.blocked.as_ref().or_else(|| stream.and_then(ResponseStream::blocked)),
            incomplete,
            streamed: stream.is_some(),
            toon: self.facts.toon.as_ref(),
            trust: self.facts.trust.as_ref(),
            unpoliced: self.outcome.unpoliced.or_else(|| stream.and_then(ResponseStream::ended_because)),
            stream_end: stream_end.filter(|_| incomplete),
            limits_unchecked: self.facts.limits_unchecked,
            dual_llm: &self.facts.dual_llm,
            key_id: self.key_id.as_deref(),
            routed: self.route.routed,
            provider_label: (self.route.routed && self.routing.is_none()).then_some(routes::ROUTER_SEGMENT),
            duration_ms,
            ttfb_ms,
            agent_label: sighting.agent.as_deref(),
            first_execution: sighting.first_execution,
        };
        then(&summary)
    }
}
#[cfg(test)]
#[path = "path_timing_tests.rs"]
mod path_timing_tests;
#[cfg(test)]
#[path = "router_timing_tests.rs"]
mod router_timing_tests;
#[cfg(test)]
#[path = "sanitize_timing_tests.rs"]
mod sanitize_timing_tests;
