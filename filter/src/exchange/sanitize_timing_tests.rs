//! What a cached Dual-LLM summary costs the request path natively (issue 9's budget is ≤ 50 µs in
//! Envoy): the whole exchange — parse, policies, cache lookup, replacement, re-serialisation,
//! record — for a 1 KB request with a 1 KB `web_fetch` result, without and with sanitisation.
//! Timings never gate a test run; this one is ignored by default and prints its numbers:
//!
//! `cargo test --release -p warden-filter --lib dual_llm_cached_cost -- --ignored --nocapture`

use super::*;
use crate::store::MemoryStore;
use serde_json::json;
use std::time::Instant;

const CONFIG: &str = r#"{"default_profile":"plain","profiles":{"plain":{},"dual":{
    "result_policies":[{"tool":"web_fetch","action":"sanitize_with_dual_llm"}],
    "dual_llm":{"provider":"openai","model":"dual-planner","quarantined_model":"dual-reader","max_rounds":3}},
  "replaced":{"result_policies":[{"tool":"web_fetch","action":"block_always"}]}}}"#;

fn body() -> Vec<u8> {
    json!({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": format!("You are terse. {}", "x".repeat(900))},
        {"role": "user", "content": "When is the shop open?"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "web_fetch", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "open Monday to Friday 9-17. ".repeat(36)}
    ]})
    .to_string()
    .into_bytes()
}

/// µs per request through `profile`.
fn per_request(config: &Rc<Config>, profile: &str, store: &MemoryStore, n: u32) -> f64 {
    let path = format!("/v1/openai/{profile}/chat/completions");
    let bytes = body();
    let started = Instant::now();
    for _ in 0..n {
        let mut ex = Exchange::begin(config.clone(), "POST", &path, &|_| None).unwrap();
        match ex.begin_body(&bytes, store, 1_000).unwrap() {
            BodyStep::Ready(forward) => drop(std::hint::black_box(forward)),
            BodyStep::Sanitize(mut state) => {
                // Only the first request gets here: it fills the cache every later one reads.
                let summary = "The shop is open Monday to Friday, 9 to 17.".to_owned();
                let reply = warden_proto::v1::SanitizeReply { summary, rounds: 1, ..Default::default() };
                state.complete(0, Ok(reply));
                drop(std::hint::black_box(ex.finish_body(*state, store, 1_000).unwrap()));
            }
        }
        let (record, updates) = ex.finish(None, Some(1), None, None);
        drop(std::hint::black_box((serde_json::to_vec(&record).unwrap(), updates)));
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

#[test]
#[ignore = "timing: run by hand with --release --ignored --nocapture"]
fn dual_llm_cached_cost_per_request() {
    let config = Rc::new(Config::from_json(CONFIG.as_bytes()).unwrap());
    let store = MemoryStore::new();
    per_request(&config, "dual", &store, 1);
    for _ in 0..3 {
        let plain = per_request(&config, "plain", &store, 20_000);
        let dual = per_request(&config, "dual", &store, 20_000);
        let replaced = per_request(&config, "replaced", &store, 20_000);
        println!(
            "unsanitised {plain:.1} µs, sanitised from the cache {dual:.1} µs: Δ {:.1} µs; result replaced by block_always {replaced:.1} µs: Δ {:.1} µs",
            dual - plain,
            replaced - plain
        );
    }
}
