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

/// `fast_path_agrees` for this fold: the typed content-delta path against the general one.
fn typed_agrees(frames: &[Frame]) -> Result<(), proptest::test_runner::TestCaseError> {
    crate::providers::fast_path_agrees(frames, Fold::new(), Fold::new(), Fold::on_frame, |f| &mut f.general_only)
        .map_err(proptest::test_runner::TestCaseError::fail)
}

#[test]
fn the_typed_delta_path_folds_every_recorded_stream_like_the_general_one() {
    let (mut checked, mut typed) = (0, 0);
    let mut streams: Vec<(String, Vec<Frame>)> = crate::testutil::fixtures_ending(".sse")
        .into_iter()
        .filter(|(path, _)| path.contains("cohere"))
        .map(|(path, bytes)| (path, crate::testutil::frames(Framing::Sse, &bytes)))
        .collect();
    for rel in ["cohere/lc-cohere__test_stream.yaml", "cohere/lc-cohere__test_streaming_tool_call.yaml"] {
        let text = crate::testutil::cassette_response_text(rel, 0);
        streams.push((rel.to_owned(), crate::testutil::frames(Framing::Sse, text.as_bytes())));
    }
    for (path, frames) in streams {
        typed_agrees(&frames).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut probe = Fold::new();
        typed += frames.iter().filter(|f| probe.fold_text_delta(f).is_some()).count();
        checked += 1;
    }
    assert!(checked > 0 && typed > 0, "{checked} recorded streams, {typed} typed deltas");
}

#[test]
fn content_deltas_take_the_typed_path_and_nothing_else_does() {
    let mut fold = Fold::new();
    for data in [
        r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"h\u00e9"}}}}"#,
        r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"hmm"}}}}"#,
        // Text anywhere but at `delta.message.content.text` is not the answer's.
        r#"{"type":"content-delta","index":0,"delta":{"content":{"content":{"text":"no"}}}}"#,
        r#"{"type":"content-delta","index":0,"delta":{"message":{"text":"no","message":{"content":{"text":"no"}}}}}"#,
    ] {
        let frame = event("content-delta", serde_json::from_str(data).unwrap());
        assert!(fold.fold_text_delta(&frame).is_some(), "{data}");
    }
    assert_eq!(fold.response().text, "hé");
    assert!(fold.named);
    for (name, data) in [
        (
            "content-delta",
            r#"{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}"#,
        ),
        (
            "content-delta",
            r#"{"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"{"}}}}}"#,
        ),
        ("content-delta", r#"{"type":"content-delta","delta":"a"}"#),
        ("content-delta", r#"{"type":"content-delta","delta":{"message":{"content":"a"}}}"#),
        ("content-delta", r#"{"type":"content-delta","delta":{"message":{"content":{"text":"a","text":"b"}}}}"#),
        ("content-delta", r#"{"type":"content-delta","delta":{"message":{"content":{"text":"\ud800"}}}}"#),
        ("message-end", r#"{"type":"content-delta","delta":{"message":{"content":{"text":"a"}}}}"#),
    ] {
        let frame = Frame { name: Some(name.into()), raw: Vec::new(), data: data.as_bytes().to_vec() };
        assert!(fold.fold_text_delta(&frame).is_none(), "{name}: {data}");
    }
}

proptest::proptest! {
    #[test]
    fn the_typed_delta_path_folds_like_the_general_one(
        events in proptest::collection::vec((
            proptest::sample::select(vec![Some("content-delta"), None, Some("content-start"), Some("tool-call-start")]),
            proptest::sample::select(vec![r#""type":"content-delta","#, r#""type":"content-start","#, r#""type":"tool-call-start","#,
                r#""type":1,"#, "", r#""type":"content-delta","type":"content-delta","#]),
            proptest::sample::select(vec![r#""index":0,"#, r#""index":1,"#, r#""index":null,"#, r#""index":"0","#, ""]),
            proptest::sample::select(vec![
                r#""delta":{"message":{"content":{"text":"~"}}}"#, r#""delta":{"message":{"content":{"thinking":"~"}}}"#,
                r#""delta":{"message":{"content":{"text":1}}}"#, r#""delta":{"content":{"content":{"text":"~"}}}"#,
                r#""delta":{"message":{"message":{"content":{"text":"~"}}}}"#, r#""delta":{"message":{"content":"~"}}"#,
                r#""delta":{"message":"~"}"#, r#""delta":"~""#, r#""delta":null"#, r#""delta":{"message":{"content":{"text":"~"}},"message":{}}"#,
                r#""delta":{"message":{"tool_calls":{"id":"c","function":{"name":"get","arguments":""}}}}"#,
            ]),
            proptest::sample::select(vec!["hi", "", "h\\u00e9", "\\n\\\"", "\\ud83d\\ude00", "\u{e9}"]),
            proptest::sample::select(vec!["", r#","x":1e999"#, r#","x":"\ud800""#, r#","x":{"y":[true,null]}"#]),
            proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0usize..3,
                proptest::sample::select(crate::providers::typed_tests::DAMAGE)), 0..2),
        ), 0..12),
    ) {
        let frames: Vec<Frame> = events.iter().map(|(name, kind, index, delta, text, extra, cuts)| {
            let mut data = format!("{{{kind}{index}{}{extra}}}", delta.replace('~', text)).into_bytes();
            crate::providers::typed_tests::damage(&mut data, cuts);
            Frame { name: name.map(str::to_owned), raw: Vec::new(), data }
        }).collect();
        typed_agrees(&frames)?;
    }

    #[test]
    fn the_typed_delta_path_folds_arbitrary_frames_like_the_general_one(frames in crate::testutil::arb_wire_frames()) {
        typed_agrees(&frames)?;
    }
}
