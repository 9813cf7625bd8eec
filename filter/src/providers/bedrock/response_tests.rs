use super::*;
use crate::testutil;
use crate::view::{ToolCall, Usage};
use serde_json::json;

#[test]
fn tool_use_after_reasoning_is_read() {
    let resp =
        parse(&testutil::cassette_response("bedrock/pydantic-ai__test_bedrock_anthropic_tool_with_thinking.yaml", 0));

    assert_eq!(resp.model, None);
    assert_eq!(resp.text, "I'll need to check what country you're from to answer that question.");
    assert_eq!(
        resp.tool_calls,
        [ToolCall {
            id: Some("tooluse_W9DaUFg4Tj2cRPpndqxWSg".into()),
            name: "get_user_country".into(),
            arguments: json!({}).into()
        }]
    );
    assert_eq!(resp.finish_reason.as_deref(), Some("tool_use"));
    assert_eq!(resp.usage, Some(Usage { input: 397, output: 130, ..Usage::default() }));
}

#[test]
fn tool_use_arguments_are_read() {
    let resp = parse(&testutil::cassette_response("bedrock/pydantic-ai__test_bedrock_mixed_strict_tool_run.yaml", 1));

    assert_eq!(resp.tool_calls[0].id.as_deref(), Some("tooluse_k5WHQUrqFgm8eDWkXPCheP"));
    assert_eq!(resp.tool_calls[0].arguments, json!({"country": "Japan"}));
    assert_eq!(resp.usage, Some(Usage { input: 691, output: 53, ..Usage::default() }));
}

#[test]
fn cache_write_then_cache_read_are_reported_beside_uncached_input() {
    let rel = "bedrock/pydantic-ai__test_bedrock_cache_write_and_read.yaml";
    let first = parse(&testutil::cassette_response(rel, 0));
    let second = parse(&testutil::cassette_response(rel, 1));

    assert_eq!(first.text, "21");
    assert_eq!(first.usage, Some(Usage { input: 2, output: 5, cache_read: 0, cache_write: 1322, reasoning: 0 }));
    assert_eq!(second.usage, Some(Usage { input: 2, output: 5, cache_read: 1322, cache_write: 0, reasoning: 0 }));
    assert_eq!(second.finish_reason.as_deref(), Some("end_turn"));
}

#[test]
fn token_count_spellings_are_a_fallback() {
    let u = usage(&json!({"inputTokens": 1, "cacheReadInputTokenCount": 4, "cacheWriteInputTokenCount": 5}));
    assert_eq!(u, Usage { input: 1, output: 0, cache_read: 4, cache_write: 5, reasoning: 0 });
}

#[test]
fn odd_shapes_give_defaults_instead_of_failing() {
    for body in [
        json!(null),
        json!({"output": "x", "usage": 1, "stopReason": 2}),
        json!({"output": {"message": {"content": [null, {"toolUse": "x"}, {"text": 1}]}}}),
    ] {
        assert_eq!(parse(&body), view::Response::default());
    }
}
