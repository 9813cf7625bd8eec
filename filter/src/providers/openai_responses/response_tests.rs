use crate::providers::openai_responses::response;
use crate::testutil::{cassette_response, read_json};
use crate::view::{ToolCall, Usage};
use serde_json::json;

#[test]
fn basic_response_gives_text_status_and_usage() {
    let resp = response::parse(&read_json("openai-responses/agw__responses-basic.json"));
    assert_eq!(resp.model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(resp.text, "Hello! How can I assist you today?");
    assert_eq!(resp.finish_reason.as_deref(), Some("completed"));
    assert_eq!(resp.usage, Some(Usage { input: 10, output: 10, ..Usage::default() }));
}

#[test]
fn function_call_output_item_is_a_tool_call() {
    let cassette = "openai-responses/pydantic-ai__test_openai_responses_model_simple_response_with_tool_call.yaml";
    let resp = response::parse(&cassette_response(cassette, 0));
    assert_eq!(
        resp.tool_calls,
        [ToolCall {
            id: Some("call_YfwRsW8sUxDKipwyhWTzOXCA".into()),
            name: "get_capital".into(),
            arguments: json!({"country": "PotatoLand"}).into(),
        }]
    );
    assert_eq!(resp.usage, Some(Usage { input: 40, output: 18, ..Usage::default() }));
    let answer = response::parse(&cassette_response(cassette, 1));
    assert_eq!(answer.text, "The capital of PotatoLand is Potato City.");
    assert!(answer.tool_calls.is_empty());
}

#[test]
fn cached_input_tokens_are_taken_out_of_input() {
    let resp = response::parse(&cassette_response(
        "openai-responses/pydantic-ai__test_openai_responses_prompt_cache_e2e.yaml",
        1,
    ));
    assert_eq!(resp.model.as_deref(), Some("gpt-5.6-sol"));
    assert_eq!(resp.text, "OK");
    assert_eq!(resp.usage, Some(Usage { input: 4020 - 4012, output: 5, cache_read: 4012, ..Usage::default() }));
}

#[test]
fn incomplete_responses_report_why_they_stopped() {
    let body = json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "par"}, {"type": "refusal", "refusal": "no"}]}],
        "usage": {"input_tokens": 1, "input_tokens_details": {"cached_tokens": 5}}});
    let resp = response::parse(&body);
    assert_eq!(resp.finish_reason.as_deref(), Some("max_output_tokens"));
    assert_eq!(resp.text, "parno");
    assert_eq!(resp.usage.unwrap().input, 0);
    assert_eq!(response::parse(&json!([])), crate::view::Response::default());
}
