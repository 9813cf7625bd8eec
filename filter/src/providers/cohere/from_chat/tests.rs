//! Edge cases of the Cohere translation the recorded fixtures do not show.

use super::COHERE;
use crate::providers::translate::cases::payloads;
use crate::providers::translate::{FromChat, ReplyMeta};
use crate::stream::Frame;
use crate::testutil::event;
use serde_json::{json, Value};

fn meta() -> ReplyMeta {
    ReplyMeta { id: "fallback".into(), created: 7, model: "command-a".into() }
}

fn body(chat: Value) -> Value {
    serde_json::from_slice(&COHERE.request(&chat, "command-a").unwrap().body).unwrap()
}

fn stream(frames: &[Frame]) -> Vec<Value> {
    let mut t = COHERE.stream(meta(), false);
    let mut out = Vec::new();
    for f in frames {
        t.frame(f, &mut out);
    }
    t.finish(&mut out);
    payloads(&out)
}

#[test]
fn a_named_tool_choice_offers_only_that_tool_and_requires_a_call() {
    let b = body(json!({
        "messages": [{"role": "user", "content": "go"}],
        "tools": [{"type": "function", "function": {"name": "a"}}, {"type": "function", "function": {"name": "b"}}],
        "tool_choice": {"type": "function", "function": {"name": "b"}},
    }));
    assert_eq!(b["tool_choice"], "REQUIRED");
    assert_eq!(b["tools"].as_array().unwrap().len(), 1);
    assert_eq!(b["tools"][0]["function"]["name"], "b");
}

#[test]
fn assistant_text_beside_tool_calls_is_the_tool_plan() {
    let b = body(json!({"messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "I will look.", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{\"q\":1}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "found"},
    ]}));
    assert_eq!(b["messages"][1]["tool_plan"], "I will look.");
    assert!(b["messages"][1].get("content").is_none());
    assert_eq!(b["messages"][1]["tool_calls"][0]["function"]["arguments"], "{\"q\":1}");
    assert_eq!(b["messages"][2], json!({"role": "tool", "tool_call_id": "c", "content": "found"}));
}

#[test]
fn thinking_parts_are_not_answer_text() {
    let frames = [
        event("message-start", json!({"id": "m1", "delta": {"message": {"role": "assistant"}}})),
        event(
            "content-start",
            json!({"index": 0, "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}}}),
        ),
        event("content-delta", json!({"index": 0, "delta": {"message": {"content": {"thinking": "hmm"}}}})),
        event("content-start", json!({"index": 1, "delta": {"message": {"content": {"type": "text", "text": ""}}}})),
        event("content-delta", json!({"index": 1, "delta": {"message": {"content": {"text": "Hi"}}}})),
        event("message-end", json!({"delta": {"finish_reason": "COMPLETE"}})),
    ];
    let out = stream(&frames);
    let text: String = out.iter().filter_map(|p| p["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "Hi");
    assert_eq!(out[0]["id"], "m1");
}

#[test]
fn a_stream_without_message_end_is_cut_short() {
    let frames = [event("message-start", json!({"id": "m1"}))];
    assert_eq!(stream(&frames).last().unwrap()["error"]["code"], "stream_incomplete");
}

#[test]
fn an_error_answer_keeps_cohere_s_message() {
    let (status, body) = COHERE.error(422, br#"{"id":"x","message":"invalid request: model not found"}"#);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 422);
    assert_eq!(body["error"]["message"], "cohere answered HTTP 422: invalid request: model not found");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}
