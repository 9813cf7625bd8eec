//! What the gateway cannot hold, it refuses (DESIGN §5.1, issue 7 "too big to hold"): a tool call
//! whose arguments outgrow `max_held_bytes` is refused, never released, and the VM's memory stays
//! flat however long the stream the upstream keeps sending.

use crate::common;

use base64::Engine;
use serde_json::{json, Value};
use warden_e2e::client;
use warden_e2e::mock::{Script, ScriptPart};
use warden_e2e::seen::{self, Format};
use warden_e2e::{Stack, StackOptions};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sse(data: &Value) -> Vec<u8> {
    format!("data: {data}\n\n").into_bytes()
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "chatcmpl-big", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn put_script(stack: &Stack, name: &str, script: &Script) {
    let reply = client::send(
        "PUT",
        &stack.mock_url(&format!("/__mock/scripts/{name}")),
        &[("content-type", "application/json")],
        serde_json::to_string(script).unwrap_or_default().as_bytes(),
    )
    .unwrap_or_else(|e| panic!("storing the script: {e}"));
    assert_eq!(reply.status, 204, "{}", reply.text());
}

fn vm_memory(stack: &Stack) -> f64 {
    warden_e2e::prom::sum(&warden_e2e::prom::parse(&stack.prometheus()), "warden_vm_memory_bytes", &[])
}

#[test]
fn a_call_too_large_to_hold_is_refused_and_memory_stays_flat() {
    const HELD: usize = 1 << 20;
    let stack = common::warden_stack_with(StackOptions {
        concurrency: 1,
        plugin_config: json!({"default_profile": "default", "max_held_bytes": HELD, "profiles": {"default": {
            "tool_policies": [{"tool": "read_file", "action": "block_always",
                "conditions": [{"key": "path", "operator": "starts_with", "value": "/etc/"}]}],
            "default_tool_action": "allow_when_context_is_untrusted"}}}),
        ..StackOptions::default()
    });
    // 50 MB of arguments for one call, in 12,800 deltas of 4,000 bytes.
    let start = chunk(
        json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_big", "type": "function",
            "function": {"name": "read_file", "arguments": "{\"path\": \"/etc/shadow\", \"pad\": \""}}]}),
        None,
    );
    let pad = chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "x".repeat(4000)}}]}), None);
    let end = chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"}"}}]}), None);
    let finish = chunk(json!({}), Some("tool_calls"));
    let script = Script {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        parts: vec![
            ScriptPart { b64: b64(&sse(&start)), repeat: 1 },
            ScriptPart { b64: b64(&sse(&pad)), repeat: 12_800 },
            ScriptPart { b64: b64(&sse(&end)), repeat: 1 },
            ScriptPart { b64: b64(&sse(&finish)), repeat: 1 },
            ScriptPart { b64: b64(b"data: [DONE]\n\n"), repeat: 1 },
        ],
    };
    put_script(&stack, "big_call", &script);
    let body = json!({"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "read it"}],
        "tools": [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}]});
    let headers = [
        ("authorization", "Bearer sk-test"),
        ("content-type", "application/json"),
        ("x-request-id", "held-cap-warmup"),
        ("x-mock-scenario", "text"),
    ];
    // A small request first, so the memory gauge has a baseline.
    let warm = client::post(&stack.url("/v1/openai/chat/completions"), &headers, body.to_string().as_bytes());
    assert_eq!(warm.status, 200, "{}", warm.text());
    stack.wait_access_log(1);
    let before = vm_memory(&stack);
    let headers = [
        ("authorization", "Bearer sk-test"),
        ("content-type", "application/json"),
        ("x-request-id", "held-cap"),
        ("x-mock-scenario", "script:big_call"),
    ];
    let reply = client::post(&stack.url("/v1/openai/chat/completions"), &headers, body.to_string().as_bytes());
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body[..reply.body.len().min(400)]));
    let seen = seen::read(Format::ChatSse, &reply.body);
    assert!(seen.calls.is_empty(), "a call too large to hold reached the client: {:?}", seen.calls.len());
    assert!(seen.problems.is_empty(), "{:?}", seen.problems);
    assert!(seen.said().contains("max_held_bytes"), "the refusal says why: {}", seen.said());
    assert!(reply.body.len() < 64 * 1024, "the rest of the stream was not passed on: {} bytes", reply.body.len());
    let lines = stack.wait_access_log(2);
    let record = lines.iter().find(|l| l["request_id"] == "held-cap").map(|l| l["warden"].clone()).unwrap_or_default();
    assert_eq!(record["blocked_tools"], json!(["read_file"]), "{record}");
    assert_eq!(record["unpoliced"], json!("held_bytes_limit"), "{record}");
    let after = vm_memory(&stack);
    // The upstream sent 50 MB; the VM holds at most the cap twice (held frames, argument text) and
    // one frame being decoded.
    let grew = after - before;
    eprintln!("VM memory: {before} bytes before, {after} after the 50 MB stream");
    assert!(grew < 16.0 * 1024.0 * 1024.0, "VM memory grew by {grew} bytes (from {before} to {after})");
    assert!(stack.filter_crashes().is_empty(), "{:?}", stack.filter_crashes());
}
