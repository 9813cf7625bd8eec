//! Edge cases of the Anthropic translation the recorded fixtures do not show.

use super::ANTHROPIC;
use crate::providers::translate::cases::payloads;
use crate::providers::translate::{FromChat, ReplyMeta};
use crate::stream::Frame;
use crate::testutil::event;
use serde_json::{json, Value};

fn body(chat: Value) -> Value {
    serde_json::from_slice(&ANTHROPIC.request(&chat, "claude").unwrap().body).unwrap()
}

fn meta() -> ReplyMeta {
    ReplyMeta { id: "fallback".into(), created: 7, model: "claude".into() }
}

fn stream(frames: &[Frame], include_usage: bool) -> Vec<Value> {
    let mut t = ANTHROPIC.stream(meta(), include_usage);
    let mut out = Vec::new();
    for f in frames {
        t.frame(f, &mut out);
    }
    t.finish(&mut out);
    payloads(&out)
}

fn start(usage: Value) -> Frame {
    event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude-x", "usage": usage}}),
    )
}

#[test]
fn serial_tool_calls_disable_parallel_tool_use() {
    let b = body(json!({
        "messages": [{"role": "user", "content": "go"}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": "required",
        "parallel_tool_calls": false,
    }));
    assert_eq!(b["tool_choice"], json!({"type": "any", "disable_parallel_tool_use": true}));
    assert_eq!(b["tools"][0]["input_schema"], json!({"type": "object", "properties": {}}));
}

#[test]
fn a_tool_result_with_an_image_keeps_its_blocks() {
    let b = body(json!({"messages": [
        {"role": "user", "content": "look"},
        {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "shot", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": [
            {"type": "text", "text": "screen"},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/"}},
        ]},
    ]}));
    let result = &b["messages"][2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(result["content"][1]["source"], json!({"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}));
}

#[test]
fn prompt_tokens_count_cache_reads_and_writes() {
    let frames = [
        start(
            json!({"input_tokens": 10, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5, "output_tokens": 1}),
        ),
        event(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}),
        ),
        event("message_stop", json!({"type": "message_stop"})),
    ];
    let out = stream(&frames, true);
    let usage = &out[out.len() - 2]["usage"];
    assert_eq!(usage["prompt_tokens"], 115);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 100);
    assert_eq!(usage["completion_tokens"], 7);
}

#[test]
fn an_error_event_ends_the_stream_with_an_openai_error() {
    let frames = [
        start(json!({"input_tokens": 1})),
        event("error", json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
        event("message_stop", json!({"type": "message_stop"})),
    ];
    let out = stream(&frames, true);
    let last = out.last().unwrap();
    assert_eq!(last["error"]["code"], "overloaded_error");
    assert_eq!(last["error"]["message"], "anthropic: Overloaded");
    assert!(!out.iter().any(|p| p == "[DONE]"));
}

#[test]
fn a_stream_cut_before_its_stop_reason_ends_with_an_error() {
    let frames = [
        start(json!({})),
        event("content_block_start", json!({"index": 0, "content_block": {"type": "text", "text": "Hel"}})),
    ];
    let out = stream(&frames, false);
    assert_eq!(out[1]["choices"][0]["delta"]["content"], "Hel");
    assert_eq!(out.last().unwrap()["error"]["code"], "stream_incomplete");
}

#[test]
fn a_stream_whose_message_stop_is_missing_still_ends_after_the_stop_reason() {
    let frames = [start(json!({})), event("message_delta", json!({"delta": {"stop_reason": "refusal"}}))];
    let out = stream(&frames, false);
    assert_eq!(out[out.len() - 2]["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(out.last().unwrap(), "[DONE]");
}

#[test]
fn an_unreadable_frame_fails_closed() {
    let frames = [
        start(json!({})),
        Frame { name: Some("content_block_delta".into()), data: b"{not json".to_vec(), raw: Vec::new() },
    ];
    let out = stream(&frames, false);
    assert_eq!(out.last().unwrap()["error"]["code"], "upstream_unreadable");
}

#[test]
fn an_answer_that_is_not_json_is_an_upstream_error() {
    assert!(ANTHROPIC.response(b"<html>", &meta()).is_err());
}
