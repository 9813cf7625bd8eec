use super::Fold;
use crate::providers::FrameAction;
use crate::stream::Frame;
use crate::view::Usage;
use serde_json::{json, Value};

fn fixture_text(name: &str) -> String {
    let beside_clone = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/");
    // Helper worktrees sit one level deeper (`<root>/wt/<branch>`) than a clone does.
    let beside_worktree = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/");
    std::fs::read_to_string(format!("{beside_clone}{name}"))
        .or_else(|_| std::fs::read_to_string(format!("{beside_worktree}{name}")))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Test-only SSE splitter (the real decoder lives in `stream::sse`): events end at a blank line.
fn sse_frames(text: &str) -> Vec<Frame> {
    text.split_inclusive("\n\n")
        .filter_map(|event| {
            let mut name = None;
            let mut data = Vec::new();
            for line in event.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = Some(v.trim_start().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            (!data.is_empty()).then(|| Frame {
                name,
                data: data.join("\n").into_bytes(),
                raw: event.as_bytes().to_vec(),
            })
        })
        .collect()
}

/// The vercel/ai chunk files hold one data payload per line, SSE framing stripped.
fn payload_frames(text: &str) -> Vec<Frame> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| Frame { name: None, data: l.as_bytes().to_vec(), raw: l.as_bytes().to_vec() })
        .collect()
}

fn fold(frames: &[Frame]) -> Fold {
    let mut fold = Fold::new();
    for frame in frames {
        assert_eq!(fold.on_frame(frame), FrameAction::Forward);
    }
    fold
}

fn frame(name: &str, data: Value) -> Frame {
    let data = data.to_string().into_bytes();
    Frame { name: Some(name.to_string()), raw: data.clone(), data }
}

#[test]
fn recorded_tool_call_arguments_are_assembled_from_deltas() {
    let fold = fold(&payload_frames(&fixture_text("cohere/vercel-ai__cohere-tool-call.chunks.jsonl")));
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
    let text = fixture_text("cohere/extracted/lc-cohere__stream_with_vision.i0.response.sse");
    let frames = sse_frames(&text);
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
    let text = fixture_text("cohere/extracted/lc-cohere__stream_with_vision.i0.response.sse");
    let named = sse_frames(&text);
    let unnamed: Vec<Frame> = named.iter().cloned().map(|f| Frame { name: None, ..f }).collect();
    assert_eq!(fold(&named).response(), fold(&unnamed).response());
}

#[test]
fn thinking_deltas_are_not_text() {
    let frames = [
        frame(
            "content-start",
            json!({"type": "content-start", "index": 0,
            "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}}}),
        ),
        frame(
            "content-delta",
            json!({"type": "content-delta", "index": 0,
            "delta": {"message": {"content": {"thinking": "hmm"}}}}),
        ),
        frame(
            "content-start",
            json!({"type": "content-start", "index": 1,
            "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
        ),
        frame(
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
        frame(
            "tool-call-start",
            json!({"type": "tool-call-start", "index": 0, "delta": {"message":
            {"tool_calls": {"id": "x", "type": "function", "function": {"name": "f", "arguments": "{\"a\""}}}}}),
        ),
        frame(
            "tool-call-delta",
            json!({"type": "tool-call-delta", "index": 0, "delta": {"message":
            {"tool_calls": {"function": {"arguments": ":1}"}}}}}),
        ),
        frame(
            "tool-call-start",
            json!({"type": "tool-call-start", "delta": {"message":
            {"tool_calls": {"id": "y", "function": {"name": "g", "arguments": ""}}}}}),
        ),
        frame(
            "tool-call-delta",
            json!({"type": "tool-call-delta", "delta": {"message":
            {"tool_calls": {"function": {"arguments": "{\"b\":"}}}}}),
        ),
        frame(
            "message-end",
            json!({"type": "message-end", "delta": {"finish_reason": "MAX_TOKENS",
            "usage": {"billed_units": {"input_tokens": 9, "output_tokens": 4}}}}),
        ),
    ];
    let fold = fold(&frames);
    let resp = fold.response();
    assert_eq!(resp.tool_calls[0].arguments, json!({"a": 1}));
    assert_eq!(resp.tool_calls[1].name, "g");
    assert_eq!(resp.tool_calls[1].arguments, json!({}));
    assert_eq!(resp.finish_reason.as_deref(), Some("MAX_TOKENS"));
    assert_eq!(resp.usage, Some(Usage { input: 9, output: 4, ..Usage::default() }));
}

#[test]
fn odd_frames_are_forwarded_and_ignored() {
    let mut fold = Fold::new();
    for f in [
        Frame { name: None, data: b"\xff\xfe".to_vec(), raw: Vec::new() },
        frame("tool-call-delta", json!({"index": 3})),
        frame("tool-call-end", json!({})),
        frame("content-delta", json!({"delta": []})),
        frame("message-end", json!({"delta": {"usage": 5}})),
    ] {
        assert_eq!(fold.on_frame(&f), FrameAction::Forward);
    }
    assert_eq!(fold.response(), &crate::view::Response::default());
}
