//! What the filter's own code costs per request natively, phase by phase, for `make bench`'s
//! 1 KB chat request and the mock's answer (issue 12). Ignored by default; prints its numbers:
//!
//! `cargo test --release -p warden-filter --lib request_path_cost -- --ignored --nocapture`

use super::*;
use crate::store::MemoryStore;
use std::time::Instant;

const CONFIG: &str = r#"{"default_profile":"default","profiles":{"default":{}}}"#;
const ANSWER: &[u8] = br#"{"id":"chatcmpl-mock0001","object":"chat.completion","created":1763800000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"h\u00e9llo w\u00f6rld","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":12,"total_tokens":37,"prompt_tokens_details":{"cached_tokens":5,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_mock"}"#;

fn body() -> Vec<u8> {
    serde_json::json!({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "You are terse."}, {"role": "user", "content": "x".repeat(900)}]})
    .to_string()
    .into_bytes()
}

#[test]
#[ignore = "timing: run by hand with --release --ignored --nocapture"]
fn request_path_cost() {
    let config = Rc::new(Config::from_json(CONFIG.as_bytes()).unwrap());
    let store = MemoryStore::new();
    let bytes = body();
    let head = ResponseHead { status: 200, content_type: Some("application/json"), content_encoding: None };
    let n = 50_000u32;
    for _ in 0..3 {
        let mut t = [0f64; 5];
        for _ in 0..n {
            let t0 = Instant::now();
            let mut ex = Exchange::begin(config.clone(), "POST", "/v1/openai/chat/completions", &|_| None).unwrap();
            let t1 = Instant::now();
            match ex.begin_body(&bytes, &store, 1_000).unwrap() {
                BodyStep::Ready(forward) => drop(std::hint::black_box(forward)),
                BodyStep::Sanitize(_) => unreachable!(),
            }
            let t2 = Instant::now();
            let plan = ex.response_headers(&head);
            assert!(matches!(plan, ResponsePlan::Buffer));
            let t3 = Instant::now();
            assert!(matches!(ex.buffered_response(ANSWER), Buffered::Unchanged));
            let t4 = Instant::now();
            let (record, updates) = ex.finish(None, Some(1), None, None);
            drop(std::hint::black_box((serde_json::to_vec(&record).unwrap(), updates)));
            let t5 = Instant::now();
            for (i, (a, b)) in [(t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5)].into_iter().enumerate() {
                t[i] += (b - a).as_secs_f64();
            }
        }
        let us = |x: f64| x * 1e6 / f64::from(n);
        println!(
            "begin {:.2} · body {:.2} · response headers {:.2} · response body {:.2} · record {:.2} µs; total {:.2}",
            us(t[0]),
            us(t[1]),
            us(t[2]),
            us(t[3]),
            us(t[4]),
            us(t.iter().sum())
        );
    }
}

/// The mock's `pieces:300` stream: a role chunk, 300 text chunks, a finish chunk, `[DONE]`.
fn stream_events() -> Vec<Vec<u8>> {
    let envelope = r#""id":"chatcmpl-mock0001","object":"chat.completion.chunk","created":1763800000,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_mock""#;
    let mut events = vec![format!(
        r#"data: {{{envelope},"choices":[{{"index":0,"delta":{{"role":"assistant","content":"","refusal":null}},"logprobs":null,"finish_reason":null}}]}}"#
    )];
    for i in 0..300 {
        events.push(format!(
            r#"data: {{{envelope},"choices":[{{"index":0,"delta":{{"content":"tok{i} "}},"logprobs":null,"finish_reason":null}}]}}"#
        ));
    }
    events.push(format!(
        r#"data: {{{envelope},"choices":[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"stop"}}]}}"#
    ));
    events.push("data: [DONE]".to_owned());
    events.into_iter().map(|e| format!("{e}\n\n").into_bytes()).collect()
}

#[test]
#[ignore = "timing: run by hand with --release --ignored --nocapture"]
fn stream_chunk_cost() {
    let config = Rc::new(Config::from_json(CONFIG.as_bytes()).unwrap());
    let store = MemoryStore::new();
    let mut request: serde_json::Value = serde_json::from_slice(&body()).unwrap();
    request["stream"] = serde_json::Value::Bool(true);
    let bytes = serde_json::to_vec(&request).unwrap();
    let head = ResponseHead { status: 200, content_type: Some("text/event-stream"), content_encoding: None };
    let events = stream_events();
    let n = 2_000u32;
    for _ in 0..3 {
        let mut spent = 0f64;
        for _ in 0..n {
            let mut ex = Exchange::begin(config.clone(), "POST", "/v1/openai/chat/completions", &|_| None).unwrap();
            drop(std::hint::black_box(ex.begin_body(&bytes, &store, 1_000).unwrap()));
            let ResponsePlan::Stream(mut stream) = ex.response_headers(&head) else { panic!("not a stream") };
            let started = Instant::now();
            let last = events.len() - 1;
            for (i, event) in events.iter().enumerate() {
                let mut out = Vec::with_capacity(event.len());
                stream.push(event, i == last, &mut out);
                assert_eq!(&out, event);
            }
            spent += started.elapsed().as_secs_f64();
        }
        println!("{:.3} µs per chunk", spent * 1e6 / f64::from(n) / events.len() as f64);
    }
}
