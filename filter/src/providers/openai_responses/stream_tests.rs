use crate::providers::StreamFold;
use crate::stream::{Frame, Framing};
use crate::testutil::{event, fold_forwarding, jsonl_frames, read, read_frames};
use crate::view::{Api, ToolCall, Usage};
use serde_json::json;

fn fold_all(frames: &[Frame]) -> StreamFold {
    fold_forwarding(Api::Responses, frames)
}

#[test]
fn tool_call_stream_folds_the_completed_call_once() {
    let frames = read_frames(Framing::Sse, "openai-responses/extracted/pydantic-ai__responses_stream.i0.response.sse");
    let fold = fold_all(&frames);
    let resp = fold.response();
    assert_eq!(resp.model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(
        resp.tool_calls,
        [ToolCall {
            id: Some("call_kL0PCQV7M2WMoVX8V8OtYSAL".into()),
            name: "get_capital".into(),
            arguments: json!({"country": "France"}).into(),
        }]
    );
    assert_eq!(resp.finish_reason.as_deref(), Some("completed"));
    assert_eq!(resp.usage, Some(Usage { input: 255, output: 16, ..Usage::default() }));
}

#[test]
fn reasoning_stream_reports_reasoning_tokens() {
    let frames =
        read_frames(Framing::Sse, "openai-responses/extracted/pydantic-ai__responses_streaming_usage.i0.response.sse");
    let resp = fold_all(&frames).response().clone();
    let names: Vec<&str> = resp.tool_calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["final_result"]);
    assert_eq!(resp.tool_calls[0].arguments, json!({"result": 6666}));
    assert_eq!(resp.usage, Some(Usage { input: 53, output: 469, reasoning: 448, ..Usage::default() }));
}

#[test]
fn model_comes_from_the_response_not_from_its_tools() {
    let frames = read_frames(Framing::Sse, "openai-responses/agw__responses-stream-image.sse");
    assert!(frames.iter().any(|f| f.name.as_deref() == Some("keepalive")));
    let resp = fold_all(&frames).response().clone();
    assert_eq!(resp.model.as_deref(), Some("gpt-5-2025-08-07"));
    assert!(resp.tool_calls.is_empty());
    assert_eq!(resp.usage, Some(Usage { input: 1755, output: 1314, reasoning: 1152, ..Usage::default() }));
}

#[test]
fn failed_stream_reports_failed_without_usage() {
    let frames = jsonl_frames(&read("openai-responses/vercel-ai__openai-error.1.chunks.jsonl"));
    let resp = fold_all(&frames).response().clone();
    assert_eq!(resp.model.as_deref(), Some("gpt-5-nano-2025-08-07"));
    assert_eq!(resp.finish_reason.as_deref(), Some("failed"));
    assert_eq!(resp.usage, None);
}

#[test]
fn text_deltas_are_concatenated_and_incomplete_streams_say_why() {
    let frames = [
        event(
            "response.created",
            json!({"type": "response.created", "response": {"model": "gpt-5", "status": "in_progress"}}),
        ),
        event("response.output_text.delta", json!({"type": "response.output_text.delta", "delta": "Hel"})),
        Frame { name: None, data: b"not json".to_vec(), raw: b"data: not json\n\n".to_vec() },
        event("response.output_text.delta", json!({"type": "response.output_text.delta", "delta": "lo"})),
        event(
            "response.incomplete",
            json!({"type": "response.incomplete", "response": {
            "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hello"}]}],
            "usage": {"input_tokens": 7, "output_tokens": 2}}}),
        ),
    ];
    let resp = fold_all(&frames).response().clone();
    assert_eq!(resp.text, "Hello", "the terminal output does not repeat streamed text");
    assert_eq!(resp.finish_reason.as_deref(), Some("max_output_tokens"));
    assert_eq!(resp.usage, Some(Usage { input: 7, output: 2, ..Usage::default() }));
}

#[test]
fn terminal_output_fills_in_calls_the_stream_did_not_itemise() {
    let frames = [event(
        "response.completed",
        json!({"response": {"status": "completed", "output": [
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"k\":1}"}
        ]}}),
    )];
    let resp = fold_all(&frames).response().clone();
    assert_eq!(
        resp.tool_calls,
        [ToolCall { id: Some("c".into()), name: "f".into(), arguments: json!({"k": 1}).into() }]
    );
}
