use super::Fold;
use crate::providers::StreamFold;
use crate::stream::{Frame, Framing};
use crate::testutil::{event, fold_forwarding, jsonl_frames, read, read_frames};
use crate::view::{Api, Usage};
use serde_json::json;

fn fold(frames: &[Frame]) -> StreamFold {
    fold_forwarding(Api::Chat, frames)
}

#[test]
fn recorded_tool_call_arguments_are_assembled_from_deltas() {
    let fold = fold(&jsonl_frames(&read("cohere/vercel-ai__cohere-tool-call.chunks.jsonl")));
    let resp = fold.response();

    assert_eq!(resp.model, None);
    assert_eq!(resp.text, "");
    assert_eq!(resp.tool_calls.len(), 2);
    assert_eq!(resp.tool_calls[0].id.as_deref(), Some("weather_e8p4pn45zt0t"));
    assert_eq!(resp.tool_calls[0].name, "weather");
    assert_eq!(resp.tool_calls[0].arguments, json!({"location": "San Francisco"}));
    assert_eq!(resp.tool_calls[1].id.as_deref(), Some("cityAttractions_pyxssbwnq9fq"));
    assert_eq!(resp.tool_calls[1].name, "cityAttractions");
    assert_eq!(resp.tool_calls[1].arguments, json!({"city": "San Francisco"}));
    assert_eq!(resp.finish_reason.as_deref(), Some("TOOL_CALL"));
    // tokens.input_tokens 1549 includes cached_tokens 1504.
    assert_eq!(resp.usage, Some(Usage { input: 45, output: 95, cache_read: 1504, ..Usage::default() }));
}

#[test]
fn recorded_text_stream_concatenates_deltas_and_ignores_done() {
    let frames = read_frames(Framing::Sse, "cohere/extracted/lc-cohere__stream_with_vision.i0.response.sse");
    assert_eq!(frames.last().map(|f| f.data.as_slice()), Some(&b"[DONE]"[..]));
    let fold = fold(&frames);
    let resp = fold.response();

    assert!(resp.text.starts_with("The image you've provided is quite abstract and blurred"));
    assert!(resp.text.ends_with('!'));
    assert!(resp.tool_calls.is_empty());
    assert_eq!(resp.finish_reason.as_deref(), Some("COMPLETE"));
    assert_eq!(resp.usage, Some(Usage { input: 20, output: 156, cache_read: 480, ..Usage::default() }));
}

#[test]
fn event_names_and_data_types_fold_the_same() {
    let named = read_frames(Framing::Sse, "cohere/extracted/lc-cohere__stream_with_vision.i0.response.sse");
    let unnamed: Vec<Frame> = named.iter().cloned().map(|f| Frame { name: None, ..f }).collect();
    assert_eq!(fold(&named).response(), fold(&unnamed).response());
}

#[test]
fn thinking_deltas_are_not_text() {
    let frames = [
        event(
            "content-start",
            json!({"type": "content-start", "index": 0,
            "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}}}),
        ),
        event(
            "content-delta",
            json!({"type": "content-delta", "index": 0,
            "delta": {"message": {"content": {"thinking": "hmm"}}}}),
        ),
        event(
            "content-start",
            json!({"type": "content-start", "index": 1,
            "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
        ),
        event(
            "content-delta",
            json!({"type": "content-delta", "index": 1,
            "delta": {"message": {"content": {"text": "4"}}}}),
        ),
    ];
    assert_eq!(fold(&frames).response().text, "4");
}

#[test]
fn a_call_cut_off_by_message_end_is_closed_with_what_arrived() {
    let frames = [
        event(
            "tool-call-start",
            json!({"type": "tool-call-start", "index": 0, "delta": {"message":
            {"tool_calls": {"id": "x", "type": "function", "function": {"name": "f", "arguments": "{\"a\""}}}}}),
        ),
        event(
            "tool-call-delta",
            json!({"type": "tool-call-delta", "index": 0, "delta": {"message":
            {"tool_calls": {"function": {"arguments": ":1}"}}}}}),
        ),
        event(
            "tool-call-start",
            json!({"type": "tool-call-start", "delta": {"message":
            {"tool_calls": {"id": "y", "function": {"name": "g", "arguments": ""}}}}}),
        ),
        event(
            "tool-call-delta",
            json!({"type": "tool-call-delta", "delta": {"message":
            {"tool_calls": {"function": {"arguments": "{\"b\":"}}}}}),
        ),
        event(
            "message-end",
            json!({"type": "message-end", "delta": {"finish_reason": "MAX_TOKENS",
            "usage": {"billed_units": {"input_tokens": 9, "output_tokens": 4}}}}),
        ),
    ];
    let fold = fold(&frames);
    let resp = fold.response();
    assert_eq!(resp.tool_calls[0].arguments, json!({"a": 1}));
    assert_eq!(resp.tool_calls[1].name, "g");
    assert_eq!(resp.tool_calls[1].arguments, crate::view::Arguments::Unreadable(crate::view::Unreadable::Incomplete));
    assert_eq!(resp.finish_reason.as_deref(), Some("MAX_TOKENS"));
    assert_eq!(resp.usage, Some(Usage { input: 9, output: 4, ..Usage::default() }));
}

#[test]
fn odd_frames_are_forwarded_and_ignored() {
    let mut fold = Fold::new();
    for f in [
        Frame { name: None, data: b"\xff\xfe".to_vec(), raw: Vec::new() },
        event("tool-call-delta", json!({"index": 3})),
        event("tool-call-end", json!({})),
        event("content-delta", json!({"delta": []})),
        event("message-end", json!({"delta": {"usage": 5}})),
    ] {
        let info = fold.on_frame(&f);
        assert!(!info.drop && info.started_tools.is_empty());
    }
    assert_eq!(fold.response(), &crate::view::Response::default());
}

#[test]
fn a_tool_call_under_another_event_name_is_still_a_tool_call() {
    // The SDK reads the data's `type`; the event line cannot hide a call from the gateway.
    let start = event(
        "content-delta",
        json!({"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {"id": "c",
            "type": "function", "function": {"name": "read_file", "arguments": ""}}}}}),
    );
    let mut fold = Fold::new();
    let info = fold.on_frame(&start);
    assert!(info.tool);
    assert_eq!(info.started_tools, ["read_file"]);
}
