//! Cost limits across Envoy workers (DESIGN §5.4, `limits_store: local`): parallel requests on
//! several connections land on both workers of a `--concurrency 2` Envoy, and every one of their
//! costs reaches the shared counter.
//!
//! The proof is a limit that sits between (N−1)× and N× the per-request cost: the N requests all
//! pass (before the last is counted, the usage is at most (N−1)×), and the next one is refused
//! only if none of the N updates was lost.

use crate::common;
use crate::cost;
use crate::limits;

use cost::{Api, Kind, APIS};
use limits::{check_refusal, Want};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use warden_e2e::run::{self, Failures};
use warden_e2e::{Stack, StackOptions};

/// A model priced by the config alone, so one request's cost is exact: the mock reports 25 input
/// tokens (5 of them cached), 12 output, at $10 per million each → 20 + 5 + 12 = 37 tokens = $0.00037.
const MODEL: &str = "e2e-flat-price";
const PER_REQUEST_MICRO: u64 = 370;
const N: u64 = 48;
const THREADS: usize = 8;

fn stack() -> Stack {
    let usd = (N * PER_REQUEST_MICRO - PER_REQUEST_MICRO / 2) as f64 / 1e6;
    common::warden_stack_with(StackOptions {
        concurrency: 2,
        plugin_config: json!({
            "default_profile": "default",
            "profiles": {"default": {}, "conc": {"limits": [{"scope": "profile", "usd": usd, "window": "1d"}]}},
            "prices": {format!("openai:{MODEL}"): {"input": 10, "output": 10, "cache_read": 10, "cache_write": 10}},
            "limits_store": "local",
        }),
        ..StackOptions::default()
    })
}

/// Downstream connections each worker accepted on the listener.
fn connections_per_worker(stack: &Stack) -> BTreeMap<String, u64> {
    let stats = stack.stats_json();
    let mut out = BTreeMap::new();
    for stat in stats.get("stats").and_then(Value::as_array).into_iter().flatten() {
        let name = stat.get("name").and_then(Value::as_str).unwrap_or_default();
        let value = stat.get("value").and_then(Value::as_u64).unwrap_or(0);
        // Named after the configured address (port 0), not the bound port; this stack has no
        // other listener apart from the admin one.
        if name.starts_with("listener.")
            && !name.starts_with("listener.admin.")
            && name.ends_with(".downstream_cx_total")
        {
            if let Some(worker) = name.split('.').find(|part| part.starts_with("worker_")) {
                *out.entry(worker.to_string()).or_insert(0) += value;
            }
        }
    }
    out
}

#[test]
fn parallel_requests_on_both_workers_are_all_counted() {
    let stack = stack();
    let api: Api = APIS.iter().find(|a| a.kind == Kind::OpenAiChat).copied().unwrap_or(APIS[0]);
    let mut f = Failures::default();
    let body = api.body(MODEL, "Say hello", &cost::Extras::default());
    let labels = [("profile", "conc")];
    let micro_before = cost::metric(&stack, "warden_cost_micro_usd_total", &labels);

    // Each request opens its own connection (the test client keeps none alive).
    let items: Vec<u64> = (0..N).collect();
    let sent = run::parallel(&items, THREADS, |_| cost::send(&stack, &api, "conc", MODEL, &body, false, &[]));
    for s in &sent {
        f.check(s.reply.status == 200, || {
            format!("{}: status {} under the limit: {}", s.label, s.reply.status, s.reply.text())
        });
    }
    for s in &sent {
        let record = cost::record(&stack, &s.request_id);
        let cost = record.get("cost_usd").and_then(Value::as_f64).unwrap_or(0.0);
        f.check((cost * 1e6 - PER_REQUEST_MICRO as f64).abs() < 0.01, || {
            format!("{}: record cost_usd {cost}, want {PER_REQUEST_MICRO} micro-USD: {record}", s.label)
        });
    }
    f.assert_none("parallel requests");

    let workers = connections_per_worker(&stack);
    let busy = workers.values().filter(|n| **n > 0).count();
    assert!(busy >= 2, "the requests did not reach both Envoy workers: {workers:?}");

    let micro = cost::metric(&stack, "warden_cost_micro_usd_total", &labels) - micro_before;
    assert_eq!(micro, (N * PER_REQUEST_MICRO) as f64, "warden_cost_micro_usd_total{{profile=conc}} after {N} requests");

    let next = cost::send(&stack, &api, "conc", MODEL, &body, false, &[]);
    let limit_usd = (N * PER_REQUEST_MICRO - PER_REQUEST_MICRO / 2) as f64 / 1e6;
    let used_usd = Some((N * PER_REQUEST_MICRO) as f64 / 1e6);
    check_refusal(&mut f, &next, api.shape, &Want { who: "profile 'conc'", limit_usd, used_usd });
    f.assert_none("the request after N: every update must have been counted");
}
