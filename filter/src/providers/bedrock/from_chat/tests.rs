//! Edge cases of the Bedrock translation the recorded fixtures do not show.

use super::BEDROCK;
use crate::providers::translate::cases::payloads;
use crate::providers::translate::{FromChat, ReplyMeta, TranslateError};
use crate::stream::Frame;
use crate::testutil::event;
use serde_json::{json, Value};

fn meta() -> ReplyMeta {
    ReplyMeta { id: "chatcmpl-gw".into(), created: 7, model: "amazon.nova-pro-v1:0".into() }
}

fn stream(frames: &[Frame]) -> Vec<Value> {
    let mut t = BEDROCK.stream(meta(), true);
    let mut out = Vec::new();
    for f in frames {
        t.frame(f, &mut out);
    }
    t.finish(&mut out);
    payloads(&out)
}

fn tools_none(history: bool) -> Value {
    let mut messages = vec![json!({"role": "user", "content": "go"})];
    if history {
        messages.push(json!({"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": "c", "content": "ok"}));
    }
    json!({"messages": messages, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "none"})
}

#[test]
fn tool_choice_none_leaves_the_tools_out_when_the_history_has_no_tool_calls() {
    let req = BEDROCK.request(&tools_none(false), "amazon.nova-pro-v1:0").unwrap();
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert!(body.get("toolConfig").is_none());
    assert_eq!(req.path, "/model/amazon.nova-pro-v1%3A0/converse");
}

#[test]
fn tool_choice_none_is_refused_when_the_history_has_tool_calls() {
    match BEDROCK.request(&tools_none(true), "m") {
        Err(TranslateError::Unsupported { field, .. }) => assert_eq!(field, "tool_choice"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn strict_tools_stay_strict() {
    let chat = json!({"messages": [{"role": "user", "content": "go"}], "stream": true,
        "tools": [{"type": "function", "function": {"name": "f", "strict": true, "parameters": {"type": "object"}}}]});
    let req = BEDROCK.request(&chat, "m").unwrap();
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["toolConfig"]["tools"][0]["toolSpec"]["strict"], true);
    assert!(req.path.ends_with("/converse-stream"));
}

#[test]
fn the_stream_ends_at_the_metadata_event_with_its_usage() {
    let frames = [
        event("messageStart", json!({"role": "assistant"})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": "Hi"}})),
        event("messageStop", json!({"stopReason": "guardrail_intervened"})),
        event(
            "metadata",
            json!({"usage": {"inputTokens": 3, "outputTokens": 1, "cacheReadInputTokens": 4, "cacheWriteInputTokens": 2}}),
        ),
    ];
    let out = stream(&frames);
    assert_eq!(out[0]["id"], "chatcmpl-gw");
    assert_eq!(out[2]["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(out[3]["usage"]["prompt_tokens"], 9);
    assert_eq!(out[3]["usage"]["prompt_tokens_details"], json!({"cached_tokens": 4, "cache_write_tokens": 2}));
    assert_eq!(out[4], "[DONE]");
    assert_eq!(out.len(), 5);
}

#[test]
fn an_exception_frame_becomes_an_openai_error() {
    let frames = [
        event("messageStart", json!({"role": "assistant"})),
        event("throttlingException", json!({"message": "Too many requests"})),
        event("messageStop", json!({"stopReason": "end_turn"})),
    ];
    let out = stream(&frames);
    assert_eq!(out.last().unwrap()["error"]["code"], "throttlingException");
    assert_eq!(out.last().unwrap()["error"]["message"], "bedrock: Too many requests");
}

#[test]
fn tool_input_fragments_follow_their_block() {
    let frames = [
        event("messageStart", json!({"role": "assistant"})),
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "f"}}}),
        ),
        event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"a\":"}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "1}"}}})),
        event("messageStop", json!({"stopReason": "tool_use"})),
    ];
    let out = stream(&frames);
    assert_eq!(out[1]["choices"][0]["delta"]["tool_calls"][0]["id"], "t1");
    assert_eq!(out[3]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"], "1}");
    assert_eq!(out[4]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(out.last().unwrap(), "[DONE]", "messageStop without metadata still ends cleanly");
}
