//! Edge cases of Responses over chat the golden files do not show.

use super::{request, Echo, Stream};
use crate::providers::translate::cases::payloads;
use crate::providers::translate::{ChunkTranslator, ReplyMeta, TranslateError};
use crate::stream::Frame;
use crate::testutil::data_frame;
use serde_json::{json, Map, Value};

fn refused(body: Value) -> String {
    match request(&body) {
        Err(TranslateError::Unsupported { field, .. } | TranslateError::Invalid { field, .. }) => field,
        other => panic!("{other:?}"),
    }
}

#[test]
fn built_in_tools_and_server_state_are_refused_by_name() {
    assert_eq!(
        refused(json!({"input": "x", "tools": [{"type": "function", "name": "f"}, {"type": "file_search"}]})),
        "tools[1]"
    );
    assert_eq!(refused(json!({"input": "x", "conversation": "conv_1"})), "conversation");
    assert_eq!(refused(json!({"input": [{"type": "item_reference", "id": "msg_1"}]})), "input[0]");
    assert_eq!(
        refused(json!({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]})),
        "input[0].content[0]"
    );
    assert_eq!(refused(json!({"input": "x", "truncation": "auto"})), "truncation");
}

#[test]
fn function_calls_join_the_assistant_message_before_them() {
    let (chat, _) = request(&json!({"input": [
        {"role": "user", "content": "go"},
        {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "b", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "a", "output": "1"},
        {"type": "function_call_output", "call_id": "b", "output": "2"},
    ], "max_output_tokens": 50, "reasoning": {"effort": null, "summary": "auto"}}))
    .unwrap();
    let roles: Vec<&str> = chat["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "tool", "tool"]);
    assert_eq!(chat["messages"][1]["tool_calls"].as_array().unwrap().len(), 2);
    assert_eq!(chat["max_completion_tokens"], 50);
    assert!(chat.get("reasoning_effort").is_none());
}

fn chunk(delta: Value, finish: Value) -> Frame {
    let c = json!({"id": "c1", "object": "chat.completion.chunk", "created": 5, "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    data_frame(&c.to_string())
}

fn run(frames: &[Frame]) -> Vec<Value> {
    let mut t = Stream::new(Echo::of(&Map::new()), ReplyMeta { id: "x".into(), created: 1, model: "m".into() });
    let mut out = Vec::new();
    for f in frames {
        t.frame(f, &mut out);
    }
    t.finish(&mut out);
    assert_eq!(t.usage(), None);
    payloads(&out)
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[test]
fn a_length_finish_ends_the_response_incomplete() {
    let events = run(&[
        chunk(json!({"role": "assistant", "content": "Hel"}), Value::Null),
        chunk(json!({}), json!("length")),
        data_frame("[DONE]"),
    ]);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(last["response"]["incomplete_details"]["reason"], "max_output_tokens");
    assert_eq!(last["response"]["output"][0]["status"], "incomplete");
    assert_eq!(last["response"]["output"][0]["content"][0]["text"], "Hel");
}

#[test]
fn text_after_a_tool_call_opens_a_new_message_item() {
    let events = run(&[
        chunk(
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}), Value::Null),
        chunk(json!({"content": "done"}), Value::Null),
        chunk(json!({}), json!("stop")),
        data_frame("[DONE]"),
    ]);
    let output = &events.last().unwrap()["response"]["output"];
    assert_eq!(output[0]["type"], "function_call");
    assert_eq!(output[0]["arguments"], "{}");
    assert_eq!(output[1]["type"], "message");
    let added = types(&events).iter().filter(|t| **t == "response.output_item.added").count();
    let done = types(&events).iter().filter(|t| **t == "response.output_item.done").count();
    assert_eq!((added, done), (2, 2));
}

#[test]
fn a_chat_error_event_fails_the_response() {
    let events = run(&[
        chunk(json!({"role": "assistant"}), Value::Null),
        data_frame(r#"{"error":{"message":"bedrock: Too many requests"}}"#),
    ]);
    assert_eq!(types(&events)[2..], ["error", "response.failed"]);
    assert_eq!(events[3]["response"]["error"]["message"], "bedrock: Too many requests");
}

#[test]
fn a_chat_stream_that_stops_early_fails_the_response() {
    let events = run(&[chunk(json!({"role": "assistant", "content": "Hel"}), Value::Null)]);
    assert_eq!(events.last().unwrap()["type"], "response.failed");
}
