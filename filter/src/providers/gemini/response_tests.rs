use super::*;
use crate::testutil;
use crate::view::{ToolCall, Usage};
use serde_json::json;

#[test]
fn function_call_response_from_gemini_3_is_read() {
    let resp = parse(&testutil::read_json("gemini/vercel-ai__google-tool-call-gemini3.json"));

    assert_eq!(resp.model.as_deref(), Some("gemini-3-pro-preview"));
    assert_eq!(
        resp.tool_calls,
        [ToolCall { id: None, name: "weather".into(), arguments: json!({"location": "San Francisco"}).into() }]
    );
    assert_eq!(resp.text, "");
    assert_eq!(resp.finish_reason.as_deref(), Some("STOP"));
    assert_eq!(resp.usage, Some(Usage { input: 29, output: 15, cache_read: 0, cache_write: 0, reasoning: 1801 }));
}

#[test]
fn usage_excludes_cached_content_tokens() {
    let resp = parse(&testutil::cassette_response("gemini/pydantic-ai__test_google_model_cached_content.yaml", 1));

    assert_eq!(resp.text, "Paris.");
    assert_eq!(resp.model.as_deref(), Some("gemini-2.5-flash"));
    // promptTokenCount 3520 of which cachedContentTokenCount 3512.
    assert_eq!(resp.usage, Some(Usage { input: 8, output: 2, cache_read: 3512, cache_write: 0, reasoning: 42 }));
}

#[test]
fn function_call_arguments_from_a_second_turn_are_read() {
    let resp = parse(&testutil::cassette_response("gemini/pydantic-ai__test_google_tool_output.yaml", 1));

    assert_eq!(resp.tool_calls[0].name, "final_result");
    assert_eq!(resp.tool_calls[0].arguments, json!({"city": "Mexico City", "country": "Mexico"}));
    assert_eq!(resp.usage, Some(Usage { input: 47, output: 8, ..Usage::default() }));
}

#[test]
fn thought_text_is_not_answer_text() {
    let resp = parse(&json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "**Planning**", "thought": true},
        {"text": "Hello"},
        {"text": " world", "thoughtSignature": "abc"},
    ]}}]}));
    assert_eq!(resp.text, "Hello world");
    assert_eq!(resp.usage, None);
}

#[test]
fn only_the_first_candidate_is_the_answer() {
    let resp = parse(&json!({"candidates": [
        {"index": 1, "content": {"parts": [{"text": "second"}]}, "finishReason": "MAX_TOKENS"},
        {"index": 0, "content": {"parts": [{"text": "first"}]}, "finishReason": "STOP"},
    ]}));
    assert_eq!(resp.text, "first");
    assert_eq!(resp.finish_reason.as_deref(), Some("STOP"));
}

#[test]
fn a_blocked_prompt_reports_the_block_reason() {
    let resp = parse(&json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 7}}));
    assert_eq!(resp.finish_reason.as_deref(), Some("SAFETY"));
    assert_eq!(resp.usage, Some(Usage { input: 7, ..Usage::default() }));
}

#[test]
fn odd_shapes_give_defaults_instead_of_failing() {
    for body in [
        json!(null),
        json!({"candidates": {"x": 1}}),
        json!({"candidates": [{"content": {"parts": [null, {"functionCall": "x"}]}}], "usageMetadata": "x"}),
        json!({"usageMetadata": {"promptTokenCount": 1, "cachedContentTokenCount": 5}}),
    ] {
        let resp = parse(&body);
        // A `functionCall` that is not an object is still a call the client sees: unnamed, refused.
        assert!(resp.tool_calls.iter().all(|c| c.name.is_empty() && c.arguments.object().is_some()));
        assert!(resp.usage.is_none_or(|u| u.input == 0));
    }
}

#[test]
fn calls_of_every_candidate_are_judged() {
    let resp = parse(&json!({"candidates": [
        {"index": 0, "content": {"parts": [{"text": "nothing to do"}]}, "finishReason": "STOP"},
        {"index": 1, "content": {"parts": [{"functionCall": {"name": "read_file", "args": {"path": "/etc/shadow"}}}]}},
    ]}));
    assert_eq!(resp.text, "nothing to do");
    assert_eq!(resp.tool_calls.len(), 1);
    assert_eq!(resp.tool_calls[0].name, "read_file");
}
