//! One HTTP request through the filter, as an explicit state machine: each phase owns only what is
//! valid in it, each callback reads from Envoy, hands the data to the `Exchange`, applies what it
//! decides and moves to the next phase.
//!
//! Request headers are held (`allow_on_headers_stop_iteration`) until the body has been read, so
//! `:path` and the routing header can still be set after looking at the body. A whole response
//! that may be refused holds its headers until its body is complete, for the same reason.

use super::shared_store::SharedDataStore;
use super::{limits, log, metrics, sidecar};
use crate::config::limits::LimitsStore;
use crate::config::Config;
use crate::credentials::cache::{self, Cached};
use crate::credentials::{self, Need, Outgoing, Plan, Secret};
use crate::error::{Reply, WardenError};
use crate::exchange::{
    BodyStep, Buffered, Claims, Exchange, Forward, KeyFailure, KeyStep, ResponseHead, ResponsePlan, ResponseStream,
    Sanitizing,
};
use crate::keys;
use crate::meter::limits::Counters;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// Whether this VM has logged that the sidecar serves no live model lists (no `models:` block).
static MODELS_UNCONFIGURED_SAID: AtomicBool = AtomicBool::new(false);

enum Phase {
    /// Before the request headers.
    New,
    /// The filter answered the request itself; `None` before the request was classified.
    Answered(Option<Box<Exchange>>),
    /// Request headers read and held; the body is being buffered.
    RequestBody(Box<Exchange>),
    /// The request waits for the sidecar (a credential, or Dual-LLM summaries); its headers and
    /// body are held.
    AwaitingSidecar(Box<Exchange>, Box<Waiting>),
    /// The request went upstream; the response has not started.
    Upstream(Box<Exchange>),
    /// The response passes through untouched.
    PassThrough(Box<Exchange>),
    /// A whole response, buffered to be parsed at its end; its headers are held.
    Buffering(Box<Exchange>),
    /// A streaming response, policed frame by frame.
    Streaming(Box<Exchange>, Box<ResponseStream>),
    /// The request has been logged.
    Done,
}

/// What a request waits for from the sidecar.
enum Waiting {
    /// What its virtual key stands for; `body` is the request body read so far (all of it) and
    /// the length Envoy holds.
    Key { token: u32, body: Option<(Vec<u8>, usize)> },
    /// Its cost-limit counters from the sidecar's Redis (`limits_store: sidecar`), read as of
    /// `now_secs`; the decided request goes on once they are checked.
    Limits { token: u32, keys: Vec<String>, now_secs: u64, decided: Decided },
    /// The live model lists of a router `GET /models` (it has no body).
    Models { token: u32 },
    /// Its credential.
    Credential(Pending),
    /// Summaries of tool results: `calls` maps each gRPC token to its job.
    Sanitizing { state: Box<Sanitizing>, calls: Vec<(u32, usize)>, old_len: Option<usize>, original: Vec<u8> },
}

/// A request whose body is decided, before the limits and the credential.
struct Decided {
    forward: Forward,
    /// Length of the body Envoy holds (what `forward.body` replaces), when there is one.
    old_len: Option<usize>,
    /// The body as Envoy holds it (what goes upstream when `forward.body` is `None`).
    original: Vec<u8>,
}

/// A decided request waiting for its credential.
struct Pending {
    token: u32,
    forward: Forward,
    /// Length of the body Envoy holds (what `forward.body` replaces), when there is one.
    old_len: Option<usize>,
    /// The body as it will go upstream (what SigV4 signs).
    final_body: Vec<u8>,
    plan: Plan,
}

pub struct Filter {
    config: Option<Rc<Config>>,
    /// The root context's queue for the sidecar's counters (`limits_store: sidecar`).
    adds_queue: Option<u32>,
    phase: Phase,
    started: Option<SystemTime>,
    first_response_byte: Option<SystemTime>,
    /// The request headers as Envoy handed them over (one host call): later steps look names up
    /// here instead of asking again.
    headers: Vec<(String, String)>,
    /// The time as first read during the current callback (`now`); every entry point from Envoy
    /// clears it (`new_callback`), so one callback reads the clock once however many steps ask.
    clock: Cell<Option<SystemTime>>,
}

impl Filter {
    pub fn new(config: Option<Rc<Config>>, adds_queue: Option<u32>) -> Self {
        Filter {
            config,
            adds_queue,
            phase: Phase::New,
            started: None,
            first_response_byte: None,
            headers: Vec::new(),
            clock: Cell::new(None),
        }
    }

    fn take_phase(&mut self) -> Phase {
        std::mem::replace(&mut self.phase, Phase::Done)
    }

    /// Called first by every callback from Envoy.
    fn new_callback(&self) {
        self.clock.set(None);
    }

    fn now(&self) -> Option<SystemTime> {
        if self.clock.get().is_none() {
            self.clock.set(hostcalls::get_current_time().ok());
        }
        self.clock.get()
    }

    fn now_secs(&self) -> u64 {
        self.now().and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs())
    }

    fn now_ms(&self) -> u64 {
        sidecar::epoch_ms(self.now())
    }

    /// Sends `reply` instead of whatever Envoy would send, and ends the exchange.
    fn answer(&mut self, exchange: Option<Box<Exchange>>, reply: &Reply) -> Action {
        send(reply);
        self.phase = Phase::Answered(exchange);
        Action::Pause
    }

    /// Refuses the request with `err` in the provider's shape.
    fn reject(&mut self, mut exchange: Box<Exchange>, err: &WardenError) -> Action {
        let reply = exchange.reject(err);
        log(LogLevel::Info, &format!("warden: rejected request: {}", err.code()));
        self.answer(Some(exchange), &reply)
    }

    /// The request body is complete (or there is none): resolve its virtual key first, when it
    /// presented one the cache does not know, since the key can choose the profile.
    fn forward(&mut self, mut exchange: Box<Exchange>, body: Option<(&[u8], usize)>) -> Action {
        let request_id = lookup(&self.headers, "x-request-id");
        if let Err(e) =
            exchange.choose_target(body.map(|(b, _)| b), request_id.as_deref().unwrap_or(""), self.now_secs())
        {
            return self.reject(exchange, &e);
        }
        match exchange.key_step(&SharedDataStore, self.now_ms()) {
            Ok(KeyStep::Ready) => self.decide(exchange, body),
            Ok(KeyStep::Ask(request)) => self.ask_key(exchange, &request, body.map(|(b, len)| (b.to_vec(), len))),
            Err(e) => self.reject(exchange, &e),
        }
    }

    /// Asks the sidecar about the request's key (`Keys.Resolve`); the request waits for the
    /// answer with its body.
    fn ask_key(
        &mut self,
        mut exchange: Box<Exchange>,
        request: &warden_proto::v1::ResolveRequest,
        body: Option<(Vec<u8>, usize)>,
    ) -> Action {
        match sidecar::dispatch_resolve(exchange.sidecar(), request) {
            Ok(token) => {
                self.phase = Phase::AwaitingSidecar(exchange, Box::new(Waiting::Key { token, body }));
                Action::Pause
            }
            // Envoy refuses to start a call only when it has no such cluster: no sidecar is
            // deployed, so no client is known (a key still fails closed). A sidecar that is
            // deployed but down fails later, with UNAVAILABLE, and `on_failure` decides.
            Err(detail) => match exchange.key_failed(KeyFailure::NoKeysFile(detail), &SharedDataStore, self.now_ms()) {
                Ok(()) => self.decide(exchange, body.as_ref().map(|(b, len)| (b.as_slice(), *len))),
                Err(e) => self.reject(exchange, &e),
            },
        }
    }

    /// Decides the request and sends it upstream, with the credential the provider needs when it
    /// needs one from the sidecar.
    fn decide(&mut self, mut exchange: Box<Exchange>, body: Option<(&[u8], usize)>) -> Action {
        // A router model list: the providers `router.models` does not name are listed live by the
        // sidecar first; without an answer the list is what the configuration names.
        if let Some(request) = exchange.models_request() {
            match sidecar::call(exchange.sidecar(), warden_proto::MODELS_SERVICE, warden_proto::MODELS_LIST, &request) {
                Ok(token) => {
                    self.phase = Phase::AwaitingSidecar(exchange, Box::new(Waiting::Models { token }));
                    return Action::Pause;
                }
                Err(detail) => {
                    log(LogLevel::Warn, &format!("warden: live model lists not asked for: {detail}"));
                    exchange.models_listed(None);
                }
            }
        }
        if let Some(reply) = exchange.local_answer() {
            return self.answer(Some(exchange), &reply);
        }
        let step = match body {
            Some((bytes, _)) => exchange.begin_body(bytes, &SharedDataStore, self.now_ms()),
            None if exchange.needs_body() => exchange.begin_body(&[], &SharedDataStore, self.now_ms()),
            None => exchange.forward_without_body().map(BodyStep::Ready),
        };
        let old_len = body.map(|(_, len)| len);
        let original = body.map(|(b, _)| b.to_vec()).unwrap_or_default();
        match step {
            Ok(BodyStep::Ready(f)) => self.proceed(exchange, f, old_len, original),
            Ok(BodyStep::Sanitize(mut state)) => {
                // One call per result, all at once: the request waits for the slowest, not the sum.
                let mut calls = Vec::new();
                let mut failed = Vec::new();
                for (index, job) in state.jobs.iter().enumerate() {
                    match sidecar::dispatch_sanitize(exchange.sidecar(), &job.request) {
                        Ok(token) => calls.push((token, index)),
                        Err(why) => failed.push((index, why)),
                    }
                }
                for (index, why) in failed {
                    state.complete(index, Err(why));
                }
                let waiting = Waiting::Sanitizing { state, calls, old_len, original };
                self.wait_or_go(exchange, waiting)
            }
            Err(e) => self.reject(exchange, &e),
        }
    }

    /// Goes on when everything the request waits for is in, else waits (pauses) for the rest.
    fn wait_or_go(&mut self, mut exchange: Box<Exchange>, waiting: Waiting) -> Action {
        match waiting {
            Waiting::Sanitizing { state, old_len, original, .. } if state.all_done() => {
                match exchange.finish_body(*state, &SharedDataStore, self.now_ms()) {
                    Ok(f) => self.proceed(exchange, f, old_len, original),
                    Err(e) => self.reject(exchange, &e),
                }
            }
            waiting => {
                self.phase = Phase::AwaitingSidecar(exchange, Box::new(waiting));
                Action::Pause
            }
        }
    }

    /// The body is decided: check the limits, put on the credential the provider needs, and send.
    fn proceed(
        &mut self,
        mut exchange: Box<Exchange>,
        f: Forward,
        old_len: Option<usize>,
        original: Vec<u8>,
    ) -> Action {
        let now_secs = self.now_secs();
        let decided = Decided { forward: f, old_len, original };
        if exchange.limits_store() == LimitsStore::Local {
            return match exchange.check_limits(now_secs, Counters::Local(&SharedDataStore)) {
                Ok(()) => self.send_upstream(exchange, decided),
                Err(e) => self.reject(exchange, &e),
            };
        }
        let keys = exchange.limit_keys(now_secs);
        if keys.is_empty() {
            return self.send_upstream(exchange, decided);
        }
        match limits::dispatch_read(exchange.sidecar(), keys.clone()) {
            Ok(token) => {
                let waiting = Waiting::Limits { token, keys, now_secs, decided };
                self.phase = Phase::AwaitingSidecar(exchange, Box::new(waiting));
                Action::Pause
            }
            Err(detail) => match exchange.limits_unreadable(detail) {
                Ok(()) => self.send_upstream(exchange, decided),
                Err(e) => self.reject(exchange, &e),
            },
        }
    }

    /// The limits allow it: put on the credential the provider needs, and send.
    fn send_upstream(&mut self, exchange: Box<Exchange>, decided: Decided) -> Action {
        let Decided { forward: f, old_len, original } = decided;
        let Some(plan) = exchange.credential_plan() else {
            apply_forward(&f, old_len, &self.headers);
            self.phase = Phase::Upstream(exchange);
            return Action::Continue;
        };
        let final_body = f.body.clone().unwrap_or(original);
        match cache::read(&SharedDataStore, &plan.need, self.now_ms()) {
            // A credential due for refresh still serves; the root context's timer refreshes it
            // (`sidecar::Refresher`).
            Ok(Cached::Fresh(cred) | Cached::RefreshDue(cred)) => {
                self.send_with(exchange, &f, old_len, &final_body, &plan, &cred.secret)
            }
            Ok(Cached::Missing) | Err(_) => match dispatch_credential(&exchange, &plan.need) {
                Ok(token) => {
                    let pending = Pending { token, forward: f, old_len, final_body, plan };
                    self.phase = Phase::AwaitingSidecar(exchange, Box::new(Waiting::Credential(pending)));
                    Action::Pause
                }
                Err(detail) => {
                    let cloud = plan.need.cloud.name();
                    self.reject(exchange, &WardenError::CredentialsUnavailable { cloud, detail })
                }
            },
        }
    }

    /// Applies the decision and the credential to the held request and lets it go upstream.
    fn send_with(
        &mut self,
        exchange: Box<Exchange>,
        forward: &Forward,
        old_len: Option<usize>,
        final_body: &[u8],
        plan: &Plan,
        secret: &Secret,
    ) -> Action {
        let method =
            hostcalls::get_map_value(MapType::HttpRequestHeaders, ":method").ok().flatten().unwrap_or_default();
        let content_type = hostcalls::get_map_value(MapType::HttpRequestHeaders, "content-type").ok().flatten();
        let now = self.now().unwrap_or(SystemTime::UNIX_EPOCH);
        let outgoing = Outgoing {
            method: &method,
            path: &forward.path,
            content_type: content_type.as_deref(),
            body: final_body,
            now,
        };
        match credentials::apply(&plan.how, secret, &outgoing) {
            Ok(edits) => {
                apply_forward(forward, old_len, &self.headers);
                for name in &edits.remove {
                    let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, None);
                }
                for (name, value) in &edits.set {
                    let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value));
                }
                self.phase = Phase::Upstream(exchange);
                Action::Continue
            }
            Err(e) => {
                let cloud = plan.need.cloud.name();
                self.reject(exchange, &WardenError::CredentialsUnavailable { cloud, detail: e.to_string() })
            }
        }
    }

    /// Publishes the record and metrics. `on_log` runs before Envoy writes the access log, and
    /// runs for every request, also when the client or upstream went away mid-stream.
    fn publish(&self, exchange: &Exchange, stream: Option<&ResponseStream>) {
        let now = self.now();
        let elapsed = |from: Option<SystemTime>, to: Option<SystemTime>| -> Option<u64> {
            let d: Duration = to?.duration_since(from?).ok()?;
            u64::try_from(d.as_millis()).ok()
        };
        let details = hostcalls::get_property(vec!["response", "code_details"])
            .ok()
            .flatten()
            .and_then(|b| String::from_utf8(b).ok());
        let sighting = metrics::sighting(exchange);
        let (record, mut updates) = exchange.finish_seen(
            stream,
            elapsed(self.started, now),
            elapsed(self.started, self.first_response_byte),
            details.as_deref().filter(|d| *d != "via_upstream"),
            &sighting,
        );
        match exchange.limits_store() {
            LimitsStore::Local => updates.extend(exchange.record_usage(&record, self.now_secs(), &SharedDataStore)),
            LimitsStore::Sidecar => {
                let increments = exchange.usage_increments(&record, self.now_secs());
                if !increments.is_empty() && !limits::enqueue(self.adds_queue, exchange.profile(), increments) {
                    updates.push(exchange.usage_not_recorded());
                }
            }
        }
        if let Ok(json) = serde_json::to_vec(&record) {
            let _ = hostcalls::set_property(vec!["warden"], Some(&json));
        }
        metrics::apply(&updates);
        metrics::record_memory();
    }
}

/// The trace attributes as filter state (`wasm.gen_ai.system`, …) for the Envoy config's
/// `custom_tags`, which Envoy reads when it finishes the span — after the last response body
/// callback, before `on_log`.
fn publish_trace(exchange: &Exchange, stream: Option<&ResponseStream>) {
    for (name, value) in exchange.trace_attributes(stream) {
        let _ = hostcalls::set_property(vec![name], Some(value.as_bytes()));
    }
}

/// Asks the sidecar for `need`'s credential; the answer comes to this context's
/// `on_grpc_call_response`.
fn dispatch_credential(exchange: &Exchange, need: &Need) -> Result<u32, String> {
    sidecar::dispatch(exchange.sidecar(), need)
}

fn send(reply: &Reply) {
    let headers: Vec<(&str, &str)> = reply.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if hostcalls::send_http_response(u32::from(reply.status), headers, Some(&reply.body)).is_err() {
        log(LogLevel::Warn, "warden: could not send a local reply");
    }
}

/// The claims Envoy's `jwt_authn` filter verified and stored under `payload_in_metadata: key`
/// (Envoy hands a metadata struct over as a serialized `google.protobuf.Struct`).
fn verified_claims(key: &str) -> Option<Claims> {
    let path = vec!["metadata", "filter_metadata", "envoy.filters.http.jwt_authn", key];
    let bytes = hostcalls::get_property(path).ok().flatten()?;
    Some(Claims::from_metadata(&bytes))
}

/// All request headers in one host call: the exchange looks up about a dozen names, and each
/// separate lookup would cross the VM boundary.
fn request_headers() -> Vec<(String, String)> {
    hostcalls::get_map(MapType::HttpRequestHeaders).unwrap_or_default()
}

fn lookup(headers: &[(String, String)], name: &str) -> Option<String> {
    header_values(headers, name).next().cloned()
}

/// Every value of the header `name` in `headers`.
fn header_values<'a>(headers: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a String> {
    headers.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

fn response_header(name: &str) -> Option<String> {
    hostcalls::get_map_value(MapType::HttpResponseHeaders, name).ok().flatten()
}

fn set_response_header(name: &str, value: Option<&str>) {
    let _ = hostcalls::set_map_value(MapType::HttpResponseHeaders, name, value);
}

fn read_body(kind: BufferType, size: usize) -> Vec<u8> {
    match hostcalls::get_buffer(kind, 0, size) {
        Ok(b) => b.unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// How much of a response chunk is read and decoded at a time. Envoy hands the filter whatever
/// accumulated since the last call, which can be megabytes when the upstream is fast; decoding it
/// in slices keeps the VM's working set at a slice's copies, not a whole chunk's.
const SLICE_BYTES: usize = 256 * 1024;

/// Feeds the `size` buffered bytes of a streaming response through `stream`, slice by slice, and
/// replaces the buffer only when the output differs from the input.
fn stream_chunk(stream: &mut ResponseStream, size: usize, end_of_stream: bool) {
    let mut pos = 0;
    // The output from the first slice that changed on; `None` while every slice went out as it came.
    let mut changed: Option<(usize, Vec<u8>)> = None;
    loop {
        let len = SLICE_BYTES.min(size.saturating_sub(pos));
        let slice = if len == 0 { Vec::new() } else { read_body_range(BufferType::HttpResponseBody, pos, len) };
        let last = pos.saturating_add(len) >= size;
        let mut out = Vec::with_capacity(slice.len());
        let verbatim = stream.push(&slice, end_of_stream && last, &mut out);
        match &mut changed {
            Some((_, all)) => all.extend_from_slice(&out),
            None if !verbatim && out != slice => changed = Some((pos, out)),
            None => {}
        }
        pos = pos.saturating_add(len);
        if last {
            break;
        }
    }
    if let Some((from, tail)) = changed {
        let mut all = if from == 0 { Vec::new() } else { read_body_range(BufferType::HttpResponseBody, 0, from) };
        all.extend_from_slice(&tail);
        let _ = hostcalls::set_buffer(BufferType::HttpResponseBody, 0, size, &all);
    }
}

fn read_body_range(kind: BufferType, start: usize, len: usize) -> Vec<u8> {
    match hostcalls::get_buffer(kind, start, len) {
        Ok(b) => b.unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// `headers` are the request's headers as Envoy handed them over, before this first edit (only
/// `:path` may have changed since): a header already set to exactly the value, once, or a header
/// to remove that is not there, costs no host call.
fn apply_forward(forward: &Forward, old_body_len: Option<usize>, headers: &[(String, String)]) {
    let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, ":path", Some(&forward.path));
    for (name, value) in &forward.set_headers {
        let mut present = header_values(headers, name);
        if !(present.next() == Some(value) && present.next().is_none()) {
            let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value));
        }
    }
    for name in &forward.remove_headers {
        if header_values(headers, name).next().is_some() {
            let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, None);
        }
    }
    if let (Some(body), Some(old_len)) = (&forward.body, old_body_len) {
        let _ = hostcalls::set_buffer(BufferType::HttpRequestBody, 0, old_len, body);
        let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, "content-length", Some(&body.len().to_string()));
    }
}

impl Context for Filter {
    fn on_grpc_call_response(&mut self, token_id: u32, status_code: u32, response_size: usize) {
        self.new_callback();
        let (exchange, waiting) = match self.take_phase() {
            Phase::AwaitingSidecar(ex, waiting) => (ex, waiting),
            other => {
                self.phase = other;
                return;
            }
        };
        let action = match *waiting {
            Waiting::Key { token, body } if token == token_id => {
                let mut exchange = exchange;
                let now = self.now_ms();
                let resolved = match sidecar::resolve_reply(status_code, response_size) {
                    Ok(reply) => exchange.key_resolved(&reply, &SharedDataStore, now),
                    Err(detail) => {
                        log(
                            LogLevel::Warn,
                            &format!("warden: key or OAuth client not resolved by the sidecar: {detail}"),
                        );
                        let failure = if status_code == sidecar::FAILED_PRECONDITION {
                            KeyFailure::NoKeysFile(detail)
                        } else {
                            KeyFailure::Unavailable(detail)
                        };
                        exchange.key_failed(failure, &SharedDataStore, now).map(|()| KeyStep::Ready)
                    }
                };
                match resolved {
                    Ok(KeyStep::Ready) => self.decide(exchange, body.as_ref().map(|(b, len)| (b.as_slice(), *len))),
                    // A routed request moved to a provider the key does not map: its own target's
                    // credential next.
                    Ok(KeyStep::Ask(request)) => self.ask_key(exchange, &request, body),
                    Err(e) => self.reject(exchange, &e),
                }
            }
            Waiting::Limits { token, keys, now_secs, decided } if token == token_id => {
                let mut exchange = exchange;
                let checked = match limits::read_reply(keys, status_code, response_size) {
                    Ok(values) => exchange.check_limits(now_secs, Counters::Remote(&values)),
                    Err(detail) => {
                        log(LogLevel::Warn, &format!("warden: cost limits not read from the sidecar: {detail}"));
                        exchange.limits_unreadable(detail)
                    }
                };
                match checked {
                    Ok(()) => self.send_upstream(exchange, decided),
                    Err(e) => self.reject(exchange, &e),
                }
            }
            Waiting::Credential(pending) if pending.token == token_id => {
                match sidecar::reply(status_code, response_size) {
                    Ok(cred) => {
                        let _ = cache::write(&SharedDataStore, &pending.plan.need, &cred);
                        let p = pending;
                        self.send_with(exchange, &p.forward, p.old_len, &p.final_body, &p.plan, &cred.secret)
                    }
                    Err(detail) => {
                        let cloud = pending.plan.need.cloud.name();
                        log(LogLevel::Warn, &format!("warden: no {cloud} credential from the sidecar: {detail}"));
                        self.reject(exchange, &WardenError::CredentialsUnavailable { cloud, detail })
                    }
                }
            }
            Waiting::Models { token } if token == token_id => {
                let mut exchange = exchange;
                let listed = sidecar::answer::<warden_proto::v1::ModelsReply>(status_code, response_size);
                if let Err(detail) = &listed {
                    // A sidecar without a `models:` block is a setting, not a failure: said once
                    // per VM, not on every `GET /models`.
                    let setting = status_code == sidecar::FAILED_PRECONDITION;
                    if !setting || !MODELS_UNCONFIGURED_SAID.swap(true, Ordering::Relaxed) {
                        log(LogLevel::Warn, &format!("warden: no live model lists from the sidecar: {detail}"));
                    }
                }
                exchange.models_listed(listed.ok());
                self.decide(exchange, None)
            }
            Waiting::Sanitizing { mut state, calls, old_len, original } => {
                if let Some(&(_, job)) = calls.iter().find(|(token, _)| *token == token_id) {
                    state.complete(job, sidecar::sanitize_reply(status_code, response_size));
                }
                self.wait_or_go(exchange, Waiting::Sanitizing { state, calls, old_len, original })
            }
            other => {
                // An answer this request no longer waits for.
                self.phase = Phase::AwaitingSidecar(exchange, Box::new(other));
                return;
            }
        };
        if action == Action::Continue {
            let _ = hostcalls::resume_http_request();
        }
    }
}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.new_callback();
        self.started = self.now();
        let Some(config) = self.config.clone() else {
            let reply = Reply::json(
                503,
                &serde_json::json!({"error": {"message": "the warden filter has no valid configuration; see Envoy's log", "type": "server_error", "code": "not_configured"}}),
            );
            return self.answer(None, &reply);
        };
        self.headers = request_headers();
        let headers = &self.headers;
        let method = lookup(headers, ":method").unwrap_or_default();
        let path = lookup(headers, ":path").unwrap_or_default();
        // A `wdn_` key in the query leaves `:path` first, so that no local reply, access log line
        // or upstream request can show it; the exchange reads it from the original path.
        if let Some(redacted) = keys::query::redacted(&path) {
            let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, ":path", Some(&redacted));
        }
        let jwt_key = config.jwt.metadata_key.clone();
        let mut exchange = match Exchange::begin(config, &method, &path, &|name| lookup(headers, name)) {
            Ok(ex) => Box::new(ex),
            Err(rejected) => {
                metrics::apply(std::slice::from_ref(&rejected.metric));
                return self.answer(None, &rejected.reply);
            }
        };
        if let Some(claims) = verified_claims(&jwt_key) {
            exchange.verified_claims(&claims);
        }
        if exchange.needs_body() && !end_of_stream {
            self.phase = Phase::RequestBody(exchange);
            return Action::Pause;
        }
        self.forward(exchange, None)
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.new_callback();
        let exchange = match self.take_phase() {
            Phase::RequestBody(ex) => ex,
            other => {
                self.phase = other;
                return Action::Continue;
            }
        };
        if let Err(e) = exchange.check_body_size(body_size) {
            return self.reject(exchange, &e);
        }
        if !end_of_stream {
            // Envoy keeps buffering the body until we continue.
            self.phase = Phase::RequestBody(exchange);
            return Action::Pause;
        }
        let body = read_body(BufferType::HttpRequestBody, body_size);
        self.forward(exchange, Some((&body, body_size)))
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.new_callback();
        self.first_response_byte = self.now();
        let mut exchange = match self.take_phase() {
            Phase::Upstream(ex) => ex,
            other => {
                self.phase = other;
                return Action::Continue;
            }
        };
        let status = response_header(":status").and_then(|s| s.parse::<u16>().ok()).unwrap_or(0);
        let content_type = response_header("content-type");
        let content_encoding = response_header("content-encoding");
        let head = ResponseHead {
            status,
            content_type: content_type.as_deref(),
            content_encoding: content_encoding.as_deref(),
        };
        let plan = exchange.response_headers(&head);
        if let Some(model) = exchange.rewritten_model() {
            set_response_header("x-warden-model", Some(&model));
        }
        match plan {
            ResponsePlan::PassThrough => {
                self.phase = Phase::PassThrough(exchange);
                Action::Continue
            }
            ResponsePlan::Refuse(reply) => {
                // The response headers have not reached the client: Envoy sends this instead.
                self.answer(Some(exchange), &reply)
            }
            ResponsePlan::Stream(stream) => {
                set_response_header("content-length", None);
                if let Some(content_type) = exchange.stream_content_type() {
                    set_response_header("content-type", Some(content_type));
                }
                self.phase = Phase::Streaming(exchange, stream);
                Action::Continue
            }
            ResponsePlan::Buffer if end_of_stream => {
                // No body at all: nothing to parse, and an empty body of a policed API is refused.
                match exchange.buffered_response(&[]) {
                    Buffered::Refused(reply) => self.answer(Some(exchange), &reply),
                    Buffered::Translated { status: new_status, body, .. } => {
                        let reply = Reply::json_bytes(new_status.unwrap_or(status), body);
                        self.answer(Some(exchange), &reply)
                    }
                    _ => {
                        self.phase = Phase::PassThrough(exchange);
                        Action::Continue
                    }
                }
            }
            ResponsePlan::Buffer => {
                // Held until the body is complete, so `content-length`, `:status` and
                // `x-warden-blocked` can still change.
                self.phase = Phase::Buffering(exchange);
                Action::Pause
            }
        }
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.new_callback();
        match &mut self.phase {
            Phase::Streaming(exchange, stream) => {
                stream_chunk(stream, body_size, end_of_stream);
                if end_of_stream {
                    publish_trace(exchange, Some(stream));
                }
                Action::Continue
            }
            Phase::Buffering(_) if !end_of_stream => Action::Pause,
            Phase::Buffering(exchange) => {
                let body = read_body(BufferType::HttpResponseBody, body_size);
                match exchange.buffered_response(&body) {
                    Buffered::Unchanged => {}
                    Buffered::Refusal { body: new_body, blocked } => {
                        let _ = hostcalls::set_buffer(BufferType::HttpResponseBody, 0, body_size, &new_body);
                        set_response_header("content-length", Some(&new_body.len().to_string()));
                        set_response_header("x-warden-blocked", Some(&blocked));
                    }
                    Buffered::Translated { status, body: new_body, blocked } => {
                        let _ = hostcalls::set_buffer(BufferType::HttpResponseBody, 0, body_size, &new_body);
                        if let Some(status) = status {
                            set_response_header(":status", Some(&status.to_string()));
                        }
                        set_response_header("content-type", Some("application/json"));
                        set_response_header("content-length", Some(&new_body.len().to_string()));
                        if let Some(blocked) = blocked {
                            set_response_header("x-warden-blocked", Some(&blocked));
                        }
                    }
                    Buffered::Refused(reply) => {
                        let _ = hostcalls::set_buffer(BufferType::HttpResponseBody, 0, body_size, &reply.body);
                        set_response_header(":status", Some(&reply.status.to_string()));
                        set_response_header("content-encoding", None);
                        set_response_header("content-length", Some(&reply.body.len().to_string()));
                        for (name, value) in &reply.headers {
                            set_response_header(name, Some(value));
                        }
                    }
                }
                publish_trace(exchange, None);
                Action::Continue
            }
            _ => Action::Continue,
        }
    }

    fn on_log(&mut self) {
        self.new_callback();
        match self.take_phase() {
            Phase::Answered(Some(ex))
            | Phase::RequestBody(ex)
            | Phase::AwaitingSidecar(ex, _)
            | Phase::Upstream(ex)
            | Phase::PassThrough(ex)
            | Phase::Buffering(ex) => self.publish(&ex, None),
            Phase::Streaming(ex, stream) => self.publish(&ex, Some(&stream)),
            Phase::New | Phase::Answered(None) | Phase::Done => {}
        }
    }
}
