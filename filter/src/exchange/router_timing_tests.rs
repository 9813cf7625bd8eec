//! What the model router costs the request path natively (issue 11's budgets are ≤ 30 µs per 1 KB
//! request and ≤ 2 µs per stream chunk in Envoy): the whole exchange — key grant, parse,
//! translation, response translation, policing, record — routed to Anthropic, against the same
//! request sent natively to Anthropic. Ignored by default; prints its numbers:
//!
//! `cargo test --release -p warden-filter --lib router_cost -- --ignored --nocapture`

use super::*;
use crate::store::MemoryStore;
use serde_json::json;
use std::time::Instant;
use warden_proto::v1::{self as pb, provider_credential::Kind, resolve_reply::Outcome};

fn grant() -> pb::ResolveReply {
    pb::ResolveReply {
        outcome: Outcome::Ok as i32,
        id: "bench".into(),
        mapped_providers: vec!["anthropic".into()],
        credential: Some(pb::ProviderCredential { kind: Some(Kind::ApiKey("sk-ant".into())) }),
        ..pb::ResolveReply::default()
    }
}

fn text() -> String {
    format!("You are terse. {}", "x".repeat(900))
}

fn answer(stream: bool) -> Vec<u8> {
    if !stream {
        return json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "hello there"}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 300, "output_tokens": 3}})
        .to_string()
        .into_bytes();
    }
    let mut out = String::new();
    let mut event = |name: &str, data: serde_json::Value| out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    event(
        "message_start",
        json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":300,"output_tokens":1}}}),
    );
    event(
        "content_block_start",
        json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
    );
    for i in 0..300 {
        event(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":format!("tok{i} ")}}),
        );
    }
    event("content_block_stop", json!({"type":"content_block_stop","index":0}));
    event(
        "message_delta",
        json!({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":300}}),
    );
    event("message_stop", json!({"type":"message_stop"}));
    out.into_bytes()
}

/// µs per exchange: `routed` through the router, else natively to Anthropic.
fn per_exchange(config: &Rc<Config>, routed: bool, stream: bool, n: u32) -> f64 {
    let (path, body, auth) = if routed {
        let body = json!({"model": "anthropic:claude-sonnet-4-5", "max_tokens": 256, "stream": stream, "messages": [{"role": "user", "content": text()}]});
        ("/v1/model-router/chat/completions", body, ("authorization", "Bearer wdn_bench"))
    } else {
        let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": stream, "messages": [{"role": "user", "content": text()}]});
        ("/v1/anthropic/v1/messages", body, ("x-api-key", "wdn_bench"))
    };
    let bytes = body.to_string().into_bytes();
    let native = answer(stream);
    let store = MemoryStore::new();
    let content_type = if stream { "text/event-stream" } else { "application/json" };
    let started = Instant::now();
    for _ in 0..n {
        let get = |name: &str| (name == auth.0).then(|| auth.1.to_owned());
        let mut ex = Exchange::begin(config.clone(), "POST", path, &get).unwrap();
        ex.choose_target(Some(&bytes), "req", 1).unwrap();
        let _ = ex.key_step(&store, 0).unwrap();
        ex.key_resolved(&grant(), &store, 0).unwrap();
        drop(std::hint::black_box(ex.request_body(&bytes).unwrap()));
        let head = ResponseHead { status: 200, content_type: Some(content_type), ..Default::default() };
        match ex.response_headers(&head) {
            ResponsePlan::Stream(mut s) => {
                let mut out = Vec::new();
                for chunk in native.chunks(200) {
                    s.push(chunk, false, &mut out);
                }
                s.push(&[], true, &mut out);
                let (record, updates) = ex.finish(Some(&s), Some(1), None, None);
                drop(std::hint::black_box((out, serde_json::to_vec(&record).unwrap(), updates)));
            }
            _ => {
                drop(std::hint::black_box(ex.buffered_response(&native)));
                let (record, updates) = ex.finish(None, Some(1), None, None);
                drop(std::hint::black_box((serde_json::to_vec(&record).unwrap(), updates)));
            }
        }
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

#[test]
#[ignore = "timing: run by hand with --release --ignored --nocapture"]
fn router_cost_per_request_and_per_chunk() {
    let config = Rc::new(Config::from_json(br#"{"profiles":{"default":{}}}"#).unwrap());
    for _ in 0..3 {
        let native = per_exchange(&config, false, false, 5_000);
        let routed = per_exchange(&config, true, false, 5_000);
        let native_s = per_exchange(&config, false, true, 300);
        let routed_s = per_exchange(&config, true, true, 300);
        println!(
            "1 KB chat: native {native:.1} µs, routed {routed:.1} µs (Δ {:.1}); 300-event stream: native {native_s:.0} µs, routed {routed_s:.0} µs (Δ {:.2} µs per event)",
            routed - native,
            (routed_s - native_s) / 300.0
        );
    }
}

/// Where the routed request's extra time goes, stage by stage (same command, `router_stage`).
#[test]
#[ignore = "timing: run by hand with --release --ignored --nocapture"]
fn router_stage_costs() {
    let config = Rc::new(Config::from_json(br#"{"profiles":{"default":{}}}"#).unwrap());
    // `WARDEN_STAGE_ONLY=routed|native` runs one of the two (for an instruction count of one path:
    // `valgrind --tool=callgrind` on the test binary with `WARDEN_STAGE_N` iterations).
    let only = std::env::var("WARDEN_STAGE_ONLY").ok();
    for routed in [false, true].into_iter().filter(|r| only.as_deref().is_none_or(|o| (o == "routed") == *r)) {
        let (path, body, auth) = if routed {
            let body = json!({"model": "anthropic:claude-sonnet-4-5", "max_tokens": 256, "messages": [{"role": "user", "content": text()}]});
            ("/v1/model-router/chat/completions", body, ("authorization", "Bearer wdn_bench"))
        } else {
            let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": [{"role": "user", "content": text()}]});
            ("/v1/anthropic/v1/messages", body, ("x-api-key", "wdn_bench"))
        };
        let bytes = body.to_string().into_bytes();
        let native = answer(false);
        let store = MemoryStore::new();
        let mut t = [0f64; 6];
        let n = std::env::var("WARDEN_STAGE_N").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000u32);
        for _ in 0..n {
            let get = |name: &str| (name == auth.0).then(|| auth.1.to_owned());
            let s0 = Instant::now();
            let mut ex = Exchange::begin(config.clone(), "POST", path, &get).unwrap();
            ex.choose_target(Some(&bytes), "req", 1).unwrap();
            let s1 = Instant::now();
            let _ = ex.key_step(&store, 0).unwrap();
            ex.key_resolved(&grant(), &store, 0).unwrap();
            let s2 = Instant::now();
            drop(std::hint::black_box(ex.request_body(&bytes).unwrap()));
            let s3 = Instant::now();
            let head = ResponseHead { status: 200, content_type: Some("application/json"), ..Default::default() };
            let _ = ex.response_headers(&head);
            drop(std::hint::black_box(ex.buffered_response(&native)));
            let s4 = Instant::now();
            let (record, updates) = ex.finish(None, Some(1), None, None);
            drop(std::hint::black_box((serde_json::to_vec(&record).unwrap(), updates)));
            let s5 = Instant::now();
            for (i, (a, b)) in [(s0, s1), (s1, s2), (s2, s3), (s3, s4), (s4, s5), (s0, s5)].into_iter().enumerate() {
                t[i] += (b - a).as_secs_f64() * 1e6;
            }
        }
        let t: Vec<String> = t.iter().map(|x| format!("{:.1}", x / f64::from(n))).collect();
        println!(
            "routed={routed}: begin+target {} key {} body {} response {} finish {} total {}",
            t[0], t[1], t[2], t[3], t[4], t[5]
        );
    }
}
