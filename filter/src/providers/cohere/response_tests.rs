use super::parse;
use crate::testutil::read_json;
use crate::view::Usage;
use serde_json::json;

#[test]
fn recorded_parallel_tool_calls_are_read_with_cached_tokens_taken_out_of_input() {
    let resp = parse(&read_json("cohere/vercel-ai__cohere-tool-call.json"));

    assert_eq!(resp.model, None);
    assert_eq!(resp.finish_reason.as_deref(), Some("TOOL_CALL"));
    assert_eq!(resp.text, "");
    assert_eq!(resp.tool_calls.len(), 2);
    assert_eq!(resp.tool_calls[0].id.as_deref(), Some("weather_dqgshstja6p9"));
    assert_eq!(resp.tool_calls[0].name, "weather");
    assert_eq!(resp.tool_calls[0].arguments, json!({"location": "San Francisco"}));
    assert_eq!(resp.tool_calls[1].name, "cityAttractions");
    assert_eq!(resp.tool_calls[1].arguments, json!({"city": "San Francisco"}));
    // tokens.input_tokens 1549 includes cached_tokens 992.
    assert_eq!(resp.usage, Some(Usage { input: 557, output: 103, cache_read: 992, ..Usage::default() }));
}

#[test]
fn recorded_reasoning_response_keeps_thinking_out_of_text() {
    let resp = parse(&read_json("cohere/vercel-ai__cohere-reasoning.json"));

    assert_eq!(resp.text, "2 + 2 = 4");
    assert_eq!(resp.finish_reason.as_deref(), Some("COMPLETE"));
    assert!(resp.tool_calls.is_empty());
    assert_eq!(resp.usage, Some(Usage { input: 50, output: 582, cache_read: 1344, ..Usage::default() }));
}

#[test]
fn recorded_reasoning_tool_call_is_read() {
    let resp = parse(&read_json("cohere/extracted/lc-cohere__command_a_reasoning.i0.response.json"));

    assert_eq!(resp.text, "");
    assert_eq!(resp.tool_calls.len(), 1);
    assert_eq!(resp.tool_calls[0].id.as_deref(), Some("get_the_weather_r8d0r2e0kw9s"));
    assert_eq!(resp.tool_calls[0].name, "get_the_weather");
    assert_eq!(resp.tool_calls[0].arguments, json!({"location": "Osaka"}));
    assert_eq!(resp.finish_reason.as_deref(), Some("TOOL_CALL"));
    assert_eq!(resp.usage, Some(Usage { input: 486, output: 330, cache_read: 1008, ..Usage::default() }));
}

#[test]
fn billed_units_are_used_when_tokens_are_absent() {
    let body = json!({"usage": {"billed_units": {"input_tokens": 12, "output_tokens": 7}}});
    assert_eq!(parse(&body).usage, Some(Usage { input: 12, output: 7, ..Usage::default() }));
}

#[test]
fn cached_tokens_larger_than_input_do_not_underflow() {
    let body = json!({"usage": {"tokens": {"input_tokens": 3}, "cached_tokens": 10}});
    assert_eq!(parse(&body).usage, Some(Usage { input: 0, cache_read: 10, ..Usage::default() }));
}

#[test]
fn text_parts_are_concatenated() {
    let body = json!({"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}});
    let resp = parse(&body);
    assert_eq!(resp.text, "ab");
    assert_eq!(resp.usage, None);
}
