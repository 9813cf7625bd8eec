use crate::providers::openai_chat::response;
use crate::testutil::{cassette_response, read_json};
use crate::view::{ToolCall, Usage};
use serde_json::json;

#[test]
fn basic_response_gives_model_text_finish_reason_and_usage() {
    let resp = response::parse(&read_json("openai-chat/agw__completions-basic.json"));
    assert_eq!(resp.model.as_deref(), Some("gpt-3.5-turbo-0125"));
    assert!(resp.text.starts_with("Sorry, I couldn't find the name"));
    assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
    assert_eq!(resp.usage, Some(Usage { input: 17, output: 23, ..Usage::default() }));
    assert!(resp.tool_calls.is_empty());
}

#[test]
fn tool_call_responses_give_parsed_arguments_and_reasoning_tokens() {
    let cases = [
        (
            "openai-chat/envoy-aigw__chat-parallel-tools.yaml",
            "call_Xc4Aiih37EUJvqjoZlu4Vdoi",
            json!({"location": "San Francisco, CA"}),
            219,
            192,
        ),
        (
            "openai-chat/envoy-aigw__chat-tools.yaml",
            "call_8fxy20OEu9ulvvaa5b5CzVA4",
            json!({"location": "Boston, MA", "unit": "fahrenheit"}),
            287,
            256,
        ),
    ];
    for (path, id, args, output, reasoning) in cases {
        let body = cassette_response(path, 0);
        let resp = response::parse(&body);
        assert_eq!(resp.model.as_deref(), Some("gpt-5-nano-2025-08-07"));
        assert_eq!(
            resp.tool_calls,
            [ToolCall { id: Some(id.into()), name: "get_current_weather".into(), arguments: args.into() }]
        );
        assert_eq!(resp.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(resp.text, "");
        assert_eq!(resp.usage, Some(Usage { input: 162, output, reasoning, ..Usage::default() }));
    }
}

#[test]
fn cached_prompt_tokens_are_taken_out_of_input() {
    let cassette = "openai-chat/pydantic-ai__test_openai_chat_prompt_cache_e2e.yaml";
    // The second call's response is the one served from the prompt cache.
    let resp = response::parse(&cassette_response(cassette, 1));
    assert_eq!(resp.model.as_deref(), Some("gpt-5.6-sol"));
    assert_eq!(resp.text, "OK");
    assert_eq!(resp.usage, Some(Usage { input: 4020 - 4012, output: 4, cache_read: 4012, ..Usage::default() }));
    let first = response::parse(&cassette_response(cassette, 0));
    assert_eq!(first.usage, Some(Usage { input: 4020, output: 4, ..Usage::default() }));
}

#[test]
fn refusals_are_part_of_the_text() {
    let body = json!({"choices": [{"message": {"content": null, "refusal": "I can't help with that."}, "finish_reason": "stop"}]});
    assert_eq!(response::parse(&body).text, "I can't help with that.");
}

#[test]
fn tool_calls_of_every_choice_are_seen() {
    let body = json!({"choices": [
        {"index": 0, "message": {"tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}},
        {"index": 1, "message": {"tool_calls": [{"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}}]}}
    ]});
    let names: Vec<String> = response::parse(&body).tool_calls.into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["f", "g"]);
}

#[test]
fn cached_tokens_larger_than_the_prompt_do_not_underflow() {
    let body =
        json!({"usage": {"prompt_tokens": 3, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 9}}});
    assert_eq!(response::parse(&body).usage.unwrap().input, 0);
    assert_eq!(response::parse(&json!({"usage": null})).usage, None);
    assert_eq!(response::parse(&json!("garbage")), crate::view::Response::default());
}

#[test]
fn embeddings_usage_is_the_prompt_tokens() {
    let body = json!({"object": "list", "data": [], "model": "text-embedding-3-small", "usage": {"prompt_tokens": 8, "total_tokens": 8}});
    let resp = response::parse_embeddings(&body);
    assert_eq!(resp.model.as_deref(), Some("text-embedding-3-small"));
    assert_eq!(resp.usage, Some(Usage { input: 8, ..Usage::default() }));
    assert_eq!(response::parse_embeddings(&json!({})).usage, None);
}

#[test]
fn a_call_without_a_name_is_kept_for_policy_to_refuse() {
    let body = json!({"choices": [{"index": 0, "message": {
        "tool_calls": [{"id": "a", "type": "function", "function": {"arguments": "{\"path\":\"/etc/passwd\"}"}}],
        "function_call": {"name": 7, "arguments": "{}"}}}]});
    let calls = response::parse(&body).tool_calls;
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.name.is_empty()));
    assert_eq!(calls[0].arguments, json!({"path": "/etc/passwd"}));
}

#[test]
fn a_null_function_call_is_no_call() {
    let body =
        json!({"choices": [{"index": 0, "message": {"content": "hi", "function_call": null, "tool_calls": null}}]});
    assert!(response::parse(&body).tool_calls.is_empty());
}
