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

/// `fast_path_agrees` for this fold: the typed text-delta path against the general one.
fn typed_agrees(frames: &[Frame]) -> Result<(), proptest::test_runner::TestCaseError> {
    use super::Fold;
    crate::providers::fast_path_agrees(frames, Fold::new(), Fold::new(), Fold::on_frame, |f| &mut f.general_only)
        .map_err(proptest::test_runner::TestCaseError::fail)
}

#[test]
fn the_typed_delta_path_folds_every_recorded_stream_like_the_general_one() {
    let (mut checked, mut typed) = (0, 0);
    // The recorded streams with text are in a cassette: a tool call, then the answer.
    let cassettes = [0, 1].map(|i| {
        let rel = "openai-responses/pydantic-ai__test_openai_responses_stream.yaml";
        (format!("{rel} #{i}"), crate::testutil::cassette_response_text(rel, i).into_bytes())
    });
    for (path, bytes) in crate::testutil::fixtures_ending(".sse").into_iter().chain(cassettes) {
        if !path.contains("openai-responses") {
            continue;
        }
        let frames = crate::testutil::frames(Framing::Sse, &bytes);
        typed_agrees(&frames).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut probe = super::Fold::new();
        typed += frames.iter().filter(|f| probe.fold_text_delta(f).is_some()).count();
        checked += 1;
    }
    assert!(checked > 0 && typed > 0, "{checked} recorded streams, {typed} typed deltas");
}

#[test]
fn text_and_refusal_deltas_take_the_typed_path_and_nothing_else_does() {
    let mut fold = super::Fold::new();
    for data in [
        r#"{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"h\u00e9","logprobs":[],"obfuscation":"kq3"}"#,
        r#"{"type":"response.refusal.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"no"}"#,
    ] {
        let value: serde_json::Value = serde_json::from_str(data).unwrap();
        let name = value["type"].as_str().unwrap().to_owned();
        let frame = event(&name, value);
        assert!(fold.fold_text_delta(&frame).is_some(), "{data}");
    }
    assert_eq!(fold.response().text, "héno");
    for (name, data) in [
        ("response.output_text.delta", r#"{"type":"response.output_text.done","output_index":0,"text":"a"}"#),
        (
            "response.output_text.delta",
            r#"{"type":"response.function_call_arguments.delta","output_index":0,"delta":"{"}"#,
        ),
        ("response.output_text.delta", r#"{"delta":"a"}"#),
        ("response.output_text.delta", r#"{"type":"response.output_text.delta","delta":"a","delta":"b"}"#),
        ("response.output_text.delta", r#"{"type":"response.output_text.delta","delta":"\ud800"}"#),
        ("response.output_text.delta", r#"{"type":"response.output_text.delta","delta":"a","logprobs":[1e999]}"#),
        ("response.created", r#"{"type":"response.output_text.delta","delta":"a"}"#),
    ] {
        let frame = Frame { name: Some(name.into()), raw: Vec::new(), data: data.as_bytes().to_vec() };
        assert!(fold.fold_text_delta(&frame).is_none(), "{name}: {data}");
    }
}

proptest::proptest! {
    #[test]
    fn the_typed_delta_path_folds_like_the_general_one(
        events in proptest::collection::vec((
            proptest::sample::select(vec![Some("response.output_text.delta"), Some("response.refusal.delta"), None,
                Some("response.output_item.added")]),
            proptest::sample::select(vec![
                r#""type":"response.output_text.delta","#, r#""type":"response.refusal.delta","#,
                r#""type":"response.function_call_arguments.delta","#, r#""type":"response.created","#,
                r#""type":1,"#, "", r#""type":"response.output_text.delta","type":"response.output_text.delta","#,
            ]),
            proptest::sample::select(vec![r#""output_index":0,"#, r#""output_index":1,"#, r#""output_index":"1","#, ""]),
            proptest::sample::select(vec![r#""delta":"T""#, r#""delta":1"#, r#""delta":null"#, r#""delta":{"a":"T"}"#,
                r#""delta":"T","delta":"U""#, r#""text":"T""#]),
            proptest::sample::select(vec!["hi", "", "h\\u00e9", "\\n\\\"", "\\ud800", "\\ud83d\\ude00", "\u{e9}"]),
            proptest::sample::select(vec!["", r#","logprobs":[]"#, r#","obfuscation":"x""#, r#","x":1e999"#,
                r#","x":"\ud800""#, r#","response":{"model":"m"}"#]),
            proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0usize..3,
                proptest::sample::select(crate::providers::typed_tests::DAMAGE)), 0..2),
        ), 0..12),
    ) {
        // A function call at output 1 is open, so events at both indices mean something.
        let mut frames = vec![event("response.output_item.added", json!({"type": "response.output_item.added",
            "output_index": 1, "item": {"type": "function_call", "id": "fc", "call_id": "c", "name": "get", "arguments": ""}}))];
        for (name, kind, index, delta, text, extra, cuts) in &events {
            let mut data = format!("{{{kind}{index}{}{extra}}}", delta.replace('T', text)).into_bytes();
            crate::providers::typed_tests::damage(&mut data, cuts);
            frames.push(Frame { name: name.map(str::to_owned), raw: Vec::new(), data });
        }
        typed_agrees(&frames)?;
    }

    #[test]
    fn the_typed_delta_path_folds_arbitrary_frames_like_the_general_one(frames in crate::testutil::arb_wire_frames()) {
        typed_agrees(&frames)?;
    }
}
