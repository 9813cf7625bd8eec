//! Runs a case through a stack and checks it against the contract, collecting every mismatch
//! (a matrix run reports all failures at once rather than stopping at the first).

use crate::cases::Case;
use crate::client::{self, Reply};
use crate::prom;
use crate::stack::Stack;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};

/// What happened to one request.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub case: Case,
    pub label: String,
    pub request_id: String,
    pub reply: Reply,
    /// The bytes the mock sent (empty when the request never reached it).
    pub sent: Vec<u8>,
    /// How many of them form whole events (all, unless the scenario cut the stream).
    pub sent_complete: usize,
    /// The request as the mock received it.
    pub upstream: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Through the warden filter, with the client's path.
    Filter,
    /// Plain Envoy: the test routes itself with the upstream path and `x-warden-upstream`.
    Plain,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Sends `case` (with `x-mock-scenario: scenario`, optional chunk size, extra headers).
pub fn send(
    stack: &Stack,
    case: &Case,
    via: Via,
    scenario: &str,
    chunk: Option<usize>,
    extra: &[(&str, &str)],
) -> Outcome {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let label = format!("{} [{scenario}, chunk {}]", case.name, chunk.map_or("-".to_string(), |c| c.to_string()));
    let request_id = format!("e2e-{}-{seq}", std::process::id());
    let chunk_text = chunk.map(|c| c.to_string());
    let mut headers: Vec<(&str, &str)> = case.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    headers.push(("x-request-id", &request_id));
    headers.push(("x-mock-scenario", scenario));
    // A client that would take compressed bodies: the filter must still see plain bytes.
    headers.push(("accept-encoding", "gzip, deflate, br"));
    if let Some(c) = &chunk_text {
        headers.push(("x-mock-chunk-size", c));
    }
    if case.body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let path = match via {
        Via::Filter => case.client_path.clone(),
        Via::Plain => {
            headers.push(("x-warden-upstream", case.provider));
            case.upstream_path.clone()
        }
    };
    headers.extend_from_slice(extra);
    let reply = client::send(case.method, &stack.url(&path), &headers, &case.body_bytes())
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let sent_reply = client::get(&stack.mock_url(&format!("/__mock/response/{request_id}")), &[]);
    let sent_complete = sent_reply.header("x-mock-complete-bytes").and_then(|v| v.parse().ok()).unwrap_or(0);
    let sent = if sent_reply.status == 200 { sent_reply.body } else { Vec::new() };
    let upstream = stack
        .mock_requests()
        .into_iter()
        .find(|r| r.pointer("/headers/x-request-id").and_then(Value::as_str) == Some(request_id.as_str()));
    Outcome { case: case.clone(), label, request_id, reply, sent, sent_complete, upstream }
}

/// Mismatches found so far.
#[derive(Debug, Default)]
pub struct Failures(pub Vec<String>);

impl Failures {
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    /// Panics with every failure, one per line.
    pub fn assert_none(&self, context: &str) {
        if !self.0.is_empty() {
            panic!("{context}: {} failure(s)\n  - {}", self.0.len(), self.0.join("\n  - "));
        }
    }
}

/// The mock's bytes minus the OpenAI usage chunk (`"choices":[]` with `usage`): what a client that
/// did not ask for usage must receive when the filter forced it upstream.
pub fn without_usage_chunk(sent: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(sent.len());
    let mut rest = sent;
    while !rest.is_empty() {
        let end = rest.windows(2).position(|w| w == b"\n\n").map_or(rest.len(), |p| p + 2);
        let (event, tail) = rest.split_at(end);
        let data = std::str::from_utf8(event).ok().and_then(|e| e.trim_end().strip_prefix("data: "));
        let parsed = data.and_then(|d| serde_json::from_str::<Value>(d).ok());
        let is_usage = parsed.is_some_and(|v| {
            v.get("choices").and_then(Value::as_array).is_some_and(Vec::is_empty)
                && v.get("usage").is_some_and(Value::is_object)
        });
        if !is_usage {
            out.extend_from_slice(event);
        }
        rest = tail;
    }
    out
}

/// Describes where two byte strings first differ.
pub fn first_difference(got: &[u8], want: &[u8]) -> String {
    let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
    let window = |b: &[u8]| {
        String::from_utf8_lossy(b.get(at.saturating_sub(40)..(at + 60).min(b.len())).unwrap_or_default()).into_owned()
    };
    format!(
        "lengths {} vs {} (want), first difference at byte {at}: got …{:?}… want …{:?}…",
        got.len(),
        want.len(),
        window(got),
        window(want)
    )
}

/// The client got exactly what the upstream sent (minus a usage chunk the client did not ask for).
pub fn check_bytes(f: &mut Failures, o: &Outcome, via: Via) {
    f.check(o.reply.status == 200, || format!("{}: status {} (body {})", o.label, o.reply.status, o.reply.text()));
    f.check(!o.sent.is_empty(), || format!("{}: the mock sent nothing (request did not reach it)", o.label));
    let want = if via == Via::Filter && o.case.forces_usage && !o.case.client_asked_usage {
        without_usage_chunk(&o.sent)
    } else {
        o.sent.clone()
    };
    f.check(o.reply.body == want, || {
        format!("{}: client bytes differ from upstream bytes: {}", o.label, first_difference(&o.reply.body, &want))
    });
}

/// A stream the upstream broke off mid-event: the client sees the break, gets every whole event
/// the upstream sent and nothing it did not send (the torn tail may be withheld: a filter that
/// forwards whole events cannot flush it after the upstream reset).
pub fn check_cut(f: &mut Failures, o: &Outcome, via: Via) {
    f.check(!o.reply.complete, || format!("{}: a cut stream looked complete to the client", o.label));
    let sent = if via == Via::Filter && o.case.forces_usage && !o.case.client_asked_usage {
        without_usage_chunk(&o.sent)
    } else {
        o.sent.clone()
    };
    let got = &o.reply.body;
    f.check(o.sent_complete > 0 && sent.starts_with(got) && got.len() >= o.sent_complete, || {
        format!(
            "{}: client got {} bytes of a cut stream, want the {} bytes of whole events (up to {} sent): {}",
            o.label,
            got.len(),
            o.sent_complete,
            sent.len(),
            first_difference(got, sent.get(..got.len().max(o.sent_complete).min(sent.len())).unwrap_or_default())
        )
    });
}

/// What the upstream saw: rewritten path, auth unchanged, no routing header, identity encoding,
/// forced usage on OpenAI-family streams.
pub fn check_upstream(f: &mut Failures, o: &Outcome, via: Via) {
    let Some(up) = &o.upstream else {
        f.0.push(format!("{}: the mock recorded no request", o.label));
        return;
    };
    let header = |name: &str| up.pointer(&format!("/headers/{name}")).and_then(Value::as_str);
    let path = up.get("path").and_then(Value::as_str).unwrap_or_default();
    f.check(path == o.case.upstream_path, || {
        format!("{}: upstream path {path:?}, want {:?}", o.label, o.case.upstream_path)
    });
    let (auth_name, auth_value) = o.case.auth();
    f.check(header(auth_name) == Some(auth_value), || {
        format!("{}: upstream {auth_name} = {:?}, want {auth_value:?} unchanged", o.label, header(auth_name))
    });
    f.check(header("x-warden-upstream").is_none(), || format!("{}: x-warden-upstream reached the upstream", o.label));
    if via == Via::Filter {
        f.check(header("accept-encoding") == Some("identity"), || {
            format!("{}: upstream accept-encoding {:?}, want \"identity\"", o.label, header("accept-encoding"))
        });
        if o.case.forces_usage {
            let body: Value = up
                .get("body")
                .and_then(Value::as_str)
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or(Value::Null);
            let forced = body.pointer("/stream_options/include_usage").and_then(Value::as_bool);
            f.check(forced == Some(true), || {
                format!("{}: upstream stream_options.include_usage = {forced:?}, want true", o.label)
            });
        }
    }
}

/// The access-log line of a request (by `x-request-id`), waiting briefly for the flush.
pub fn log_line(stack: &Stack, request_id: &str) -> Option<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let found =
            stack.access_log().into_iter().find(|l| l.get("request_id").and_then(Value::as_str) == Some(request_id));
        if found.is_some() || std::time::Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The interaction record: provider, api, profile, model, stream, tokens, cost.
pub fn check_record(f: &mut Failures, stack: &Stack, o: &Outcome) -> Option<Value> {
    let Some(line) = log_line(stack, &o.request_id) else {
        f.0.push(format!("{}: no access-log line", o.label));
        return None;
    };
    let record = line.get("warden").cloned().unwrap_or(Value::Null);
    if !record.is_object() {
        f.0.push(format!("{}: access-log `warden` is not a JSON object: {line}", o.label));
        return None;
    }
    let c = &o.case;
    let s = |k: &str| record.get(k).and_then(Value::as_str).map(str::to_string);
    let n = |k: &str| record.get(k).and_then(Value::as_u64);
    for (key, want) in [("provider", c.provider), ("api", c.api), ("profile", c.profile)] {
        f.check(s(key).as_deref() == Some(want), || {
            format!("{}: record {key} = {:?}, want {want:?}", o.label, record.get(key))
        });
    }
    if !c.model.is_empty() {
        f.check(s("model").as_deref() == Some(c.model.as_str()), || {
            format!("{}: record model = {:?}, want {:?}", o.label, record.get("model"), c.model)
        });
    }
    f.check(record.get("stream") == Some(&Value::Bool(c.stream)), || {
        format!("{}: record stream = {:?}, want {}", o.label, record.get("stream"), c.stream)
    });
    if let Some(u) = c.usage {
        for (key, want) in [
            ("input_tokens", u.input),
            ("output_tokens", u.output),
            ("cache_read_tokens", u.cache_read),
            ("cache_write_tokens", u.cache_write),
        ] {
            f.check(n(key) == Some(want), || format!("{}: record {key} = {:?}, want {want}", o.label, record.get(key)));
        }
        let cost = record.get("cost_usd").and_then(Value::as_f64);
        f.check(cost.is_some(), || {
            format!("{}: record cost_usd = {:?}, want a number", o.label, record.get("cost_usd"))
        });
        if c.priced {
            f.check(cost.is_some_and(|v| v > 0.0), || {
                format!("{}: record cost_usd = {cost:?}, want > 0 for a priced model", o.label)
            });
        }
    }
    Some(record)
}

/// Prometheus counters the filter must move for one request, compared with the record.
pub fn check_metrics(f: &mut Failures, o: &Outcome, record: &Value, before: &[prom::Sample], after: &[prom::Sample]) {
    let c = &o.case;
    // A request without a model (model lists) is labelled however the filter likes.
    let model = record.get("model").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut labels = vec![("provider", c.provider), ("profile", c.profile)];
    if !model.is_empty() {
        labels.push(("model", model.as_str()));
    }
    let delta = |name: &str| prom::sum(after, name, &labels) - prom::sum(before, name, &labels);
    let requests = delta("warden_requests_total");
    f.check(requests == 1.0, || {
        format!(
            "{}: warden_requests_total{{provider={},model={model},profile={}}} moved by {requests}, want 1",
            o.label, c.provider, c.profile
        )
    });
    if let Some(u) = c.usage {
        for (name, want) in [("warden_input_tokens_total", u.input), ("warden_output_tokens_total", u.output)] {
            let got = delta(name);
            f.check(got == want as f64, || format!("{}: {name} moved by {got}, want {want}", o.label));
        }
        let cost = record.get("cost_usd").and_then(Value::as_f64).unwrap_or(0.0);
        let micro = delta("warden_cost_micro_usd_total");
        f.check((micro - cost * 1e6).abs() <= 1.0, || {
            format!(
                "{}: warden_cost_micro_usd_total moved by {micro}, record cost_usd {cost} (×1e6 = {})",
                o.label,
                cost * 1e6
            )
        });
    }
}

/// Runs `f` over `items` on `threads` threads (requests carry their own ids, so they may overlap);
/// results come back in input order.
pub fn parallel<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                if let Ok(mut out) = results.lock() {
                    out.push((i, r));
                }
            });
        }
    });
    let mut out = results.into_inner().unwrap_or_default();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}
