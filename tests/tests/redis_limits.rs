//! Mesh-wide cost limits (DESIGN §5.4, `limits_store: sidecar`): two Envoys share one sidecar and
//! its Redis, so one budget holds across both; when Redis goes away, `sidecar.on_failure` decides,
//! and the limits come back with it.
//!
//! The budget sits between (N−1)× and N× one request's exact cost: N requests spread over both
//! Envoys all pass (no check can see more than N−1 costs), and the next one — on either Envoy — is
//! refused only if every one of the N costs reached Redis.

use crate::common;
use crate::cost;
use crate::limits;

use cost::{Api, Kind, APIS};
use limits::{check_refusal, Want};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use warden_e2e::redis::RedisServer;
use warden_e2e::run::{self, Failures};
use warden_e2e::sidecar::{self, Sidecar};
use warden_e2e::{Stack, StackOptions};

/// Priced by the config alone: 20 + 5 + 12 tokens at $10 per million = $0.00037 a request.
const MODEL: &str = "e2e-flat-price";
const PER_REQUEST_MICRO: u64 = 370;
const N: u64 = 100;

fn openai() -> Api {
    APIS.iter().find(|a| a.kind == Kind::OpenAiChat).copied().unwrap_or(APIS[0])
}

fn shared_sidecar(redis: &RedisServer) -> Sidecar {
    Sidecar::start(&sidecar::binary(), &json!({"redis": {"url": redis.url()}}), &[])
}

fn envoy(sidecar: &Sidecar, usd: f64, on_failure: &str) -> Stack {
    common::warden_stack_with(StackOptions {
        concurrency: 2,
        sidecar_port: sidecar.grpc.port(),
        plugin_config: json!({
            "default_profile": "default",
            "profiles": {"default": {}, "mesh": {"limits": [{"scope": "profile", "usd": usd, "window": "1d"}]}},
            "prices": {format!("openai:{MODEL}"): {"input": 10, "output": 10, "cache_read": 10, "cache_write": 10}},
            "limits_store": "sidecar",
            "sidecar": {"on_failure": on_failure, "timeout_ms": 2000},
        }),
        ..StackOptions::default()
    })
}

/// The micro-USD in every Redis counter of profile `mesh`.
fn redis_total(redis: &RedisServer) -> u64 {
    let keys = redis.command("KEYS warden:limit:mesh:*");
    resp_strings(&keys)
        .iter()
        .map(|key| {
            resp_strings(&redis.command(&format!("GET {key}"))).first().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        })
        .sum()
}

/// The bulk strings of a RESP reply (an array of them, or one).
fn resp_strings(reply: &str) -> Vec<String> {
    reply
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with('$'))
        .map(str::to_owned)
        .collect()
}

/// Sum of `cost_usd` in an Envoy's access log, in micro-USD, for profile `mesh`.
fn logged_micro(stack: &Stack) -> u64 {
    stack
        .access_log()
        .iter()
        .filter_map(|l| l.get("warden"))
        .filter(|w| w.get("profile").and_then(Value::as_str) == Some("mesh"))
        .filter_map(|w| w.get("cost_usd").and_then(Value::as_f64))
        .map(|usd| (usd * 1e6).round() as u64)
        .sum()
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_envoys_enforce_one_budget_and_every_cost_reaches_redis() {
    let redis = RedisServer::start();
    let sidecar = shared_sidecar(&redis);
    let usd = (N * PER_REQUEST_MICRO - PER_REQUEST_MICRO / 2) as f64 / 1e6;
    let envoys = [envoy(&sidecar, usd, "closed"), envoy(&sidecar, usd, "closed")];
    let api = openai();
    let body = api.body(MODEL, "Say hello", &cost::Extras::default());
    let mut f = Failures::default();

    let items: Vec<u64> = (0..N).collect();
    let sent =
        run::parallel(&items, 16, |i| cost::send(&envoys[(*i % 2) as usize], &api, "mesh", MODEL, &body, false, &[]));
    for s in &sent {
        f.check(s.reply.status == 200, || {
            format!("{}: status {} under the budget: {}", s.label, s.reply.status, s.reply.text())
        });
    }
    f.assert_none("N requests over two Envoys, under the shared budget");

    let want = N * PER_REQUEST_MICRO;
    wait_for("every cost to reach Redis", Duration::from_secs(10), || redis_total(&redis) >= want);
    // Envoy writes its access log on a flush timer of its own, so the last lines can trail Redis.
    let logged_total = || envoys.iter().map(logged_micro).sum::<u64>();
    wait_for("every request in the access logs", Duration::from_secs(10), || logged_total() >= want);
    let logged = logged_total();
    assert_eq!(logged, want, "the access logs of both Envoys account for every request's cost");
    assert_eq!(redis_total(&redis), logged, "Redis holds exactly what the access logs say was spent");

    let limit_usd = usd;
    let used_usd = Some(want as f64 / 1e6);
    for (i, stack) in envoys.iter().enumerate() {
        let next = cost::send(stack, &api, "mesh", MODEL, &body, false, &[]);
        check_refusal(&mut f, &next, api.shape, &Want { who: "profile 'mesh'", limit_usd, used_usd });
        f.check(next.reply.status == 402, || format!("envoy {i}: the budget spent on both is enforced here too"));
    }
    f.assert_none("the request after N, on each Envoy");
    for stack in &envoys {
        let crashes = stack.filter_crashes();
        assert!(crashes.is_empty(), "{crashes:?}");
    }
}

#[test]
fn redis_away_follows_on_failure_and_limits_return_with_it() {
    let mut redis = RedisServer::start();
    let sidecar = shared_sidecar(&redis);
    let closed = envoy(&sidecar, 1.0, "closed");
    let open = envoy(&sidecar, 1.0, "open");
    let api = openai();
    let body = api.body(MODEL, "Say hello", &cost::Extras::default());
    let send = |stack: &Stack| cost::send(stack, &api, "mesh", MODEL, &body, false, &[]);
    let mut f = Failures::default();

    for stack in [&closed, &open] {
        let s = send(stack);
        f.check(s.reply.status == 200, || format!("before: status {} {}", s.reply.status, s.reply.text()));
    }
    f.assert_none("with Redis up");
    wait_for("both costs in Redis", Duration::from_secs(10), || redis_total(&redis) == 2 * PER_REQUEST_MICRO);

    redis.stop();
    let refused = send(&closed);
    f.check(refused.reply.status == 503, || {
        format!("closed: status {} {}", refused.reply.status, refused.reply.text())
    });
    common::check_error_shape(&mut f, "closed, Redis away", &refused.reply, 503, api.shape);
    f.check(refused.reply.text().contains("limits_unavailable"), || format!("closed: code {}", refused.reply.text()));
    let allowed = send(&open);
    f.check(allowed.reply.status == 200, || format!("open: status {} {}", allowed.reply.status, allowed.reply.text()));
    let record = cost::record(&open, &allowed.request_id);
    f.check(record.get("limits_unchecked") == Some(&json!(true)), || format!("open: record {record}"));
    f.assert_none("with Redis away");
    let unavailable = |action: &str| {
        cost::metric(&open, "warden_limits_unavailable_total", &[("profile", "mesh"), ("action", action)])
    };
    assert!(unavailable("allowed") >= 1.0, "the unchecked request is counted");
    wait_for("the lost add to be counted", Duration::from_secs(10), || unavailable("usage_not_recorded") >= 1.0);

    redis.restart();
    wait_for("the closed Envoy to serve again", Duration::from_secs(20), || send(&closed).reply.status == 200);
    let back = send(&open);
    f.check(back.reply.status == 200, || format!("open after: status {}", back.reply.status));
    let record = cost::record(&open, &back.request_id);
    f.check(record.get("limits_unchecked").is_none_or(|v| v == &json!(false)), || {
        format!("open after: record {record}")
    });
    f.assert_none("after Redis returned");
    wait_for("costs counted again", Duration::from_secs(10), || redis_total(&redis) >= 2 * PER_REQUEST_MICRO);
}
