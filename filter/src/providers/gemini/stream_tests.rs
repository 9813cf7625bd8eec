use super::*;
use crate::stream::Framing;
use crate::testutil;
use crate::view::{Api, ToolCall, Usage};
use serde_json::json;

fn fold(frames: &[Frame]) -> view::Response {
    testutil::fold_forwarding(Api::GenerateContent, frames).response().clone()
}

fn json_array(rel: &str) -> view::Response {
    fold(&testutil::read_frames(Framing::JsonArray, rel))
}

fn sse(rel: &str) -> view::Response {
    fold(&testutil::read_frames(Framing::Sse, rel))
}

#[test]
fn json_array_stream_with_a_thought_and_a_call_is_folded() {
    let resp = json_array("gemini/extracted/llm-gemini__test_tools.i0.response.jsonarray.json");

    assert_eq!(resp.model.as_deref(), Some("gemini-2.5-flash"));
    assert_eq!(resp.text, "", "the thought summary is not answer text");
    assert_eq!(
        resp.tool_calls,
        [ToolCall { id: None, name: "pelican_name_generator".into(), arguments: json!({}).into() }]
    );
    assert_eq!(resp.finish_reason.as_deref(), Some("STOP"));
    // The last chunk's usageMetadata is the total.
    assert_eq!(resp.usage, Some(Usage { input: 32, output: 12, reasoning: 42, ..Usage::default() }));
}

#[test]
fn json_array_text_chunks_are_concatenated() {
    let resp = json_array("gemini/extracted/llm-gemini__test_tools.i2.response.jsonarray.json");

    assert_eq!(resp.text, "How about Charles and Sammy?");
    assert!(resp.tool_calls.is_empty());
    assert_eq!(resp.usage, Some(Usage { input: 137, output: 6, ..Usage::default() }));
}

#[test]
fn gemini_3_call_with_arguments_is_folded() {
    let resp = json_array("gemini/extracted/llm-gemini__gemini3_thought_signatures.i0.response.jsonarray.json");

    assert_eq!(resp.model.as_deref(), Some("gemini-3-flash-preview"));
    assert_eq!(resp.tool_calls[0].name, "multiply");
    assert_eq!(resp.tool_calls[0].arguments, json!({"x": 5, "y": 3}));
    assert_eq!(resp.usage, Some(Usage { input: 60, output: 16, reasoning: 32, ..Usage::default() }));
}

#[test]
fn sse_stream_with_crlf_separators_is_folded() {
    let frames =
        testutil::read_frames(Framing::Sse, "gemini/extracted/pydantic-ai__google_streaming_tool_call.i0.response.sse");
    assert_eq!(frames.len(), 2);
    let resp = fold(&frames);

    assert_eq!(resp.model.as_deref(), Some("gemini-3-pro-preview"));
    assert_eq!(resp.tool_calls, [ToolCall { id: None, name: "get_country".into(), arguments: json!({}).into() }]);
    assert_eq!(resp.finish_reason.as_deref(), Some("STOP"));
    assert_eq!(resp.usage, Some(Usage { input: 29, output: 10, reasoning: 202, ..Usage::default() }));
}

#[test]
fn single_event_sse_stream_is_folded() {
    let resp = sse("gemini/louter__streaming_function_calling_response_0.sse");

    assert_eq!(resp.tool_calls[0].name, "getWeather");
    assert_eq!(resp.tool_calls[0].arguments, json!({"location": "Tokyo"}));
    assert_eq!(resp.usage, Some(Usage { input: 83, output: 14, reasoning: 104, ..Usage::default() }));
}

#[test]
fn calls_from_several_chunks_are_all_kept() {
    let chunk = |name: &str| {
        Frame {
        name: None,
        data: serde_json::to_vec(&json!({"candidates": [{"content": {"parts": [{"functionCall": {"id": name, "name": name, "args": {"n": 1}}}]}}]}))
            .unwrap(),
        raw: Vec::new(),
    }
    };
    let resp = fold(&[chunk("a"), chunk("b")]);
    let ids: Vec<Option<&str>> = resp.tool_calls.iter().map(|c| c.id.as_deref()).collect();
    assert_eq!(ids, [Some("a"), Some("b")]);
}

#[test]
fn frames_that_are_not_json_are_forwarded_and_ignored() {
    let resp = fold(&[
        Frame { name: None, data: b"not json".to_vec(), raw: Vec::new() },
        Frame { name: None, data: b"{\"usageMetadata\":{\"promptTokenCount\":3}}".to_vec(), raw: Vec::new() },
        Frame { name: None, data: Vec::new(), raw: Vec::new() },
    ]);
    assert_eq!(resp.usage, Some(Usage { input: 3, ..Usage::default() }));
}

#[test]
fn an_sse_event_with_a_bare_json_line_is_unreadable() {
    // google-genai parses a line without `data:` as JSON on its own.
    let raw =
        b"{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"read_file\"}}]}}]}\n\n".to_vec();
    let frame = Frame { name: None, data: Vec::new(), raw };
    let mut fold = Fold::new(Framing::Sse);
    assert!(fold.on_frame(&frame).unreadable);
    let keep_alive = Frame { name: None, data: Vec::new(), raw: b": ping\n\n".to_vec() };
    assert!(!fold.on_frame(&keep_alive).unreadable);
}
