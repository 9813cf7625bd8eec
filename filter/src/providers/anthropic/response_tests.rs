use super::parse;
use crate::testutil::{cassette_response, read_json};
use crate::view::Usage;
use serde_json::{json, Value};

fn recorded_response(name: &str, i: usize) -> Value {
    read_json(name)[i]["response"]["body"].clone()
}

#[test]
fn recorded_tool_use_response_is_read() {
    let body = recorded_response("anthropic-messages/anthropic-sdk-py__runner-tools__a8ac789b.json", 0);
    let resp = parse(&body);

    assert_eq!(resp.model.as_deref(), Some("claude-haiku-4-5-20251001"));
    assert_eq!(resp.finish_reason.as_deref(), Some("tool_use"));
    assert_eq!(resp.text, "");
    assert_eq!(resp.tool_calls.len(), 1);
    assert_eq!(resp.tool_calls[0].id.as_deref(), Some("toolu_013DU6hV4C1M8dJ32ybQFAFi"));
    assert_eq!(resp.tool_calls[0].name, "get_weather");
    assert_eq!(resp.tool_calls[0].arguments, json!({"location": "SF", "units": "c"}));
    assert_eq!(resp.usage, Some(Usage { input: 597, output: 71, ..Usage::default() }));
}

#[test]
fn recorded_text_response_is_read() {
    let body = recorded_response("anthropic-messages/anthropic-sdk-py__runner-tools__a8ac789b.json", 1);
    let resp = parse(&body);

    assert_eq!(resp.finish_reason.as_deref(), Some("end_turn"));
    assert_eq!(resp.text, "The weather in SF is currently **20\u{b0}C** (68\u{b0}F) and **Sunny**!");
    assert!(resp.tool_calls.is_empty());
    assert_eq!(resp.usage, Some(Usage { input: 705, output: 25, ..Usage::default() }));
}

#[test]
fn recorded_cache_usage_is_reported_beside_uncached_input() {
    let name = "anthropic-messages/pydantic-ai__test_anthropic_cache_real_api.yaml";
    let first = parse(&cassette_response(name, 0)).usage.unwrap();
    assert_eq!(first, Usage { input: 3, output: 406, cache_read: 1111, cache_write: 0, reasoning: 0 });
    let second = parse(&cassette_response(name, 1)).usage.unwrap();
    assert_eq!(second, Usage { input: 3, output: 33, cache_read: 1111, cache_write: 418, reasoning: 0 });
}

#[test]
fn text_blocks_are_concatenated_and_thinking_is_not_text() {
    let body = json!({"content": [
        {"type": "thinking", "thinking": "let me see", "signature": "sig"},
        {"type": "text", "text": "Hello"},
        {"type": "tool_use", "id": "a", "name": "t", "input": {"q": 1}},
        {"type": "text", "text": " world"}
    ]});
    let resp = parse(&body);
    assert_eq!(resp.text, "Hello world");
    assert_eq!(resp.tool_calls[0].arguments, json!({"q": 1}));
}

#[test]
fn a_body_without_usage_has_none() {
    assert_eq!(parse(&json!({"content": []})).usage, None);
    assert_eq!(parse(&json!({"usage": "lots"})).usage, None);
}
