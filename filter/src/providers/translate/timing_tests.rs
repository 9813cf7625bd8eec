//! How long translations take, natively: an indication for the V8 budgets of DESIGN §7 (≤ 30 µs
//! per 1 KB request, ≤ 2 µs per stream chunk). Timings never gate a test run; these are ignored
//! by default and print their numbers:
//!
//! `cargo test --release -p warden-filter --lib translation_cost -- --ignored --nocapture`

use super::cases::{meta, upstream_frames, STREAMS};
use super::for_provider;
use crate::providers::openai_responses::via_chat::{self, Echo};
use crate::providers::Provider;
use crate::stream::Frame;
use serde_json::{json, Map, Value};
use std::hint::black_box;
use std::time::Instant;

/// A 1 KB agent-style chat request: system prompt, a tool, one call and its result, a question.
fn one_kb_request() -> Value {
    let chat = json!({
        "model": "router",
        "messages": [
            {"role": "system", "content": "You are a careful assistant for a logistics company. Answer briefly and cite the tool output you relied on."},
            {"role": "user", "content": "Where is parcel 7731-AX right now, and when will it arrive in Lyon?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "track_parcel", "arguments": "{\"parcel_id\":\"7731-AX\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"status\":\"in transit\",\"hub\":\"Dijon\",\"eta\":\"2026-03-02T14:00:00Z\",\"carrier\":\"ACME\"}"},
            {"role": "user", "content": "Thanks. Can it be redirected to the Villeurbanne pickup point instead?"}
        ],
        "tools": [{"type": "function", "function": {"name": "track_parcel", "description": "Current position and ETA of a parcel.",
            "parameters": {"type": "object", "properties": {"parcel_id": {"type": "string", "description": "Parcel id such as 1234-AB"}}, "required": ["parcel_id"]}}}],
        "temperature": 0.2,
        "max_tokens": 512,
        "stream": true,
        "stream_options": {"include_usage": true}
    });
    let size = chat.to_string().len();
    assert!((900..1200).contains(&size), "the request is about 1 KB ({size} bytes)");
    chat
}

/// Microseconds per call: the best of five batches, since the machine is shared.
fn per_call(iterations: u32, mut f: impl FnMut()) -> f64 {
    let batch = (iterations / 5).max(1);
    let mut best = f64::MAX;
    for _ in 0..6 {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / f64::from(batch));
    }
    best
}

#[test]
#[ignore = "timing: run by hand with --release --ignored --nocapture"]
fn translation_cost_per_request_and_per_chunk() {
    let chat = one_kb_request();
    let text = chat.to_string();
    let delta = br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello there"}}"#;
    let parse = per_call(200_000, || {
        black_box(serde_json::from_slice::<Value>(black_box(delta)).unwrap());
    });
    let parse_1kb = per_call(20_000, || {
        black_box(serde_json::from_str::<Value>(black_box(&text)).unwrap());
    });
    eprintln!("baseline parse of one small event {parse:6.3} µs, of the 1 KB request {parse_1kb:6.2} µs");
    for (provider, model) in [
        (Provider::Anthropic, "claude-sonnet-4-5"),
        (Provider::Gemini, "gemini-2.5-flash"),
        (Provider::Bedrock, "amazon.nova-pro-v1:0"),
        (Provider::Cohere, "command-a"),
        (Provider::OpenAi, "gpt-4o-mini"),
    ] {
        let t = for_provider(provider);
        let translate = per_call(20_000, || {
            black_box(t.request(black_box(&chat), model).unwrap());
        });
        let parse_and_translate = per_call(20_000, || {
            let v: Value = serde_json::from_str(black_box(&text)).unwrap();
            black_box(t.request(&v, model).unwrap());
        });
        eprintln!(
            "request  {:<10} translate {translate:6.2} µs   parse+translate {parse_and_translate:6.2} µs",
            t.target()
        );
    }
    let responses = json!({"model": "router", "instructions": "Be brief.", "input": [
        {"role": "user", "content": "Where is parcel 7731-AX?"},
        {"type": "function_call", "call_id": "call_1", "name": "track_parcel", "arguments": "{\"parcel_id\":\"7731-AX\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "{\"status\":\"in transit\",\"hub\":\"Dijon\"}"},
        {"role": "user", "content": "Can it be redirected to Villeurbanne?"}],
        "tools": [{"type": "function", "name": "track_parcel", "parameters": {"type": "object", "properties": {"parcel_id": {"type": "string"}}}}],
        "stream": true});
    let r = per_call(20_000, || {
        black_box(via_chat::request(black_box(&responses)).unwrap());
    });
    eprintln!("request  responses→chat {r:6.2} µs");

    steady_text_deltas();
    for case in STREAMS {
        let frames = upstream_frames(case);
        let mut produced = 0usize;
        let rounds = (20_000 / frames.len().max(1)).max(10) as u32;
        let total = per_call(rounds, || {
            let mut t = for_provider(case.provider).stream(meta(case.model), case.include_usage);
            let mut out: Vec<Frame> = Vec::with_capacity(frames.len() + 4);
            for f in &frames {
                t.frame(f, &mut out);
            }
            t.finish(&mut out);
            produced = out.len();
            black_box(out);
        });
        let per_frame = total / frames.len() as f64;
        let chat = {
            let mut t = for_provider(case.provider).stream(meta(case.model), case.include_usage);
            let mut out = Vec::new();
            for f in &frames {
                t.frame(f, &mut out);
            }
            t.finish(&mut out);
            out
        };
        let responses_total = per_call(rounds, || {
            let mut t = via_chat::Stream::new(Echo::of(&Map::new()), meta(case.model));
            let mut out = Vec::new();
            for f in &chat {
                crate::providers::translate::ChunkTranslator::frame(&mut t, f, &mut out);
            }
            black_box(out);
        });
        eprintln!(
            "stream   {:<34} {:3} frames → {:3} chunks: {per_frame:5.2} µs per upstream frame; chat→Responses {:5.2} µs per \
             chunk ({responses_total:6.1} µs for the stream)",
            case.name,
            frames.len(),
            produced,
            responses_total / chat.len() as f64
        );
    }
}

/// One text delta once the stream has started, repeated: the per-chunk cost without the
/// per-stream start and end.
fn steady_text_deltas() {
    let start =
        crate::testutil::event("message_start", json!({"message": {"id": "msg_1", "model": "claude-x", "usage": {}}}));
    let delta = crate::testutil::event(
        "content_block_delta",
        json!({"index": 0, "delta": {"type": "text_delta", "text": " quick brown"}}),
    );
    let mut anthropic = for_provider(Provider::Anthropic).stream(meta("claude"), true);
    let mut out = Vec::new();
    anthropic.frame(&start, &mut out);
    let mut sink = Vec::new();
    let to_chat = per_call(200_000, || {
        anthropic.frame(black_box(&delta), &mut sink);
        if sink.len() > 1000 {
            sink.clear();
        }
    });
    let chunk = sink.last().unwrap().clone();
    let mut responses = via_chat::Stream::new(Echo::of(&Map::new()), meta("claude"));
    let mut sink = Vec::new();
    let to_responses = per_call(200_000, || {
        crate::providers::translate::ChunkTranslator::frame(&mut responses, black_box(&chunk), &mut sink);
        if sink.len() > 1000 {
            sink.clear();
        }
    });
    eprintln!("steady text delta: Anthropic→chat {to_chat:5.2} µs, chat→Responses {to_responses:5.2} µs");
}
