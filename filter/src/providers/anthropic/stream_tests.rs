use super::Fold;
use crate::providers::{FrameInfo, StreamFold};
use crate::stream::{Frame, Framing};
use crate::testutil::{data_frame, event, fold_forwarding, frames, read_frames, read_json};
use crate::view::{Api, Usage};
use serde_json::json;

fn fold(frames: &[Frame]) -> StreamFold {
    fold_forwarding(Api::Messages, frames)
}

fn fold_file(name: &str) -> StreamFold {
    fold(&read_frames(Framing::Sse, name))
}

#[test]
fn recorded_tool_use_arguments_are_assembled_from_deltas() {
    let fold = fold_file("anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i0.response.sse");
    let resp = fold.response();

    assert_eq!(resp.model.as_deref(), Some("claude-haiku-4-5-20251001"));
    assert_eq!(resp.tool_calls.len(), 1);
    assert_eq!(resp.tool_calls[0].id.as_deref(), Some("toolu_018acGYLtfR52q9yDbWaEdQZ"));
    assert_eq!(resp.tool_calls[0].name, "get_weather");
    assert_eq!(resp.tool_calls[0].arguments, json!({"location": "San Francisco, CA", "units": "f"}));
    assert_eq!(resp.text, "");
    assert_eq!(resp.finish_reason.as_deref(), Some("tool_use"));
    assert_eq!(resp.usage, Some(Usage { input: 656, output: 74, ..Usage::default() }));
}

#[test]
fn recorded_snapshot_stream_body_folds_like_the_extracted_file() {
    let all = read_json("anthropic-messages/anthropic-sdk-py__runner-stream-tools__555fb399.json");
    let turn2 = fold(&frames(Framing::Sse, all[1]["response"]["body"].as_str().unwrap().as_bytes()));
    let extracted = fold_file("anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i1.response.sse");

    assert_eq!(turn2.response(), extracted.response());
    assert!(turn2.response().tool_calls.is_empty());
    assert_eq!(turn2.response().finish_reason.as_deref(), Some("end_turn"));
    assert!(!turn2.response().text.is_empty());
}

#[test]
fn recorded_text_stream_concatenates_deltas() {
    let fold = fold_file("anthropic-messages/agw__anthropic-stream_basic.sse");
    let resp = fold.response();

    assert_eq!(resp.model.as_deref(), Some("claude-haiku-4-5-20251001"));
    assert_eq!(resp.text, "Hi there! How are you doing today? Is there anything I can help you with?");
    assert_eq!(resp.finish_reason.as_deref(), Some("end_turn"));
    assert_eq!(resp.usage, Some(Usage { input: 15, output: 21, ..Usage::default() }));
}

#[test]
fn stream_cut_by_max_tokens_mid_arguments_keeps_the_call_with_incomplete_arguments() {
    let fold = fold_file("anthropic-messages/anthropic-sdk-py__incomplete_partial_json_response.sse");
    let resp = fold.response();

    assert_eq!(resp.model.as_deref(), Some("claude-3-7-sonnet-20250219"));
    assert!(resp.text.starts_with("I'll create a comprehensive tax guide"));
    assert_eq!(resp.tool_calls.len(), 1);
    assert_eq!(resp.tool_calls[0].id.as_deref(), Some("toolu_01EKqbqmZrGRXy18eN7m9kvY"));
    assert_eq!(resp.tool_calls[0].name, "make_file");
    // The SDK completes the cut-off JSON and hands the agent a call: it must be judged as unreadable.
    assert_eq!(resp.tool_calls[0].arguments, crate::view::Arguments::Unreadable(crate::view::Unreadable::Incomplete));
    assert_eq!(resp.finish_reason.as_deref(), Some("max_tokens"));
    // message_delta carries only output_tokens here; input comes from message_start.
    assert_eq!(resp.usage, Some(Usage { input: 450, output: 124, ..Usage::default() }));
}

#[test]
fn recorded_thinking_is_not_text() {
    let fold = fold_file("anthropic-messages/extracted/pydantic-ai__anthropic_thinking_stream.i0.response.sse");
    let resp = fold.response();

    assert_eq!(resp.model.as_deref(), Some("claude-sonnet-4-20250514"));
    assert!(!resp.text.contains("straightforward question"));
    assert!(resp.text.ends_with("when crossing streets."));
    assert_eq!(resp.usage, Some(Usage { input: 43, output: 282, ..Usage::default() }));
}

#[test]
fn cache_usage_from_message_start_survives_and_message_delta_overwrites_what_it_carries() {
    let frames = [
        event(
            "message_start",
            json!({"type": "message_start", "message": {"model": "m", "usage": {
            "input_tokens": 5, "output_tokens": 1, "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 200}}}),
        ),
        event(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 40, "cache_creation_input_tokens": 250}}),
        ),
    ];
    let fold = fold(&frames);
    assert_eq!(
        fold.response().usage,
        Some(Usage { input: 5, output: 40, cache_read: 1000, cache_write: 250, reasoning: 0 })
    );
}

#[test]
fn parallel_tool_calls_are_assembled_by_block_index() {
    let start = |i: u64, id: &str, name: &str| {
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": i,
            "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
        )
    };
    let delta = |i: u64, s: &str| {
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": i,
            "delta": {"type": "input_json_delta", "partial_json": s}}),
        )
    };
    let stop = |i: u64| event("content_block_stop", json!({"type": "content_block_stop", "index": i}));
    let frames = [
        start(0, "a", "first"),
        start(1, "b", "second"),
        delta(1, "{\"y\":"),
        delta(0, "{\"x\":"),
        delta(0, "1}"),
        delta(1, "2}"),
        stop(1),
        stop(0),
        start(2, "c", "third"),
        stop(2),
    ];
    let fold = fold(&frames);
    let calls = &fold.response().tool_calls;
    assert_eq!(calls.len(), 3);
    assert_eq!((calls[0].name.as_str(), calls[0].arguments.object()), ("first", Some(&json!({"x": 1}))));
    assert_eq!((calls[1].name.as_str(), calls[1].arguments.object()), ("second", Some(&json!({"y": 2}))));
    assert_eq!((calls[2].name.as_str(), calls[2].arguments.object()), ("third", Some(&json!({}))));
}

#[test]
fn event_type_is_taken_from_data_when_the_event_name_is_missing() {
    let frames = [
        data_frame(&json!({"type": "message_start", "message": {"model": "m"}}).to_string()),
        data_frame(
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}})
                .to_string(),
        ),
    ];
    let fold = fold(&frames);
    assert_eq!(fold.response().model.as_deref(), Some("m"));
    assert_eq!(fold.response().text, "hi");
}

#[test]
fn error_event_closes_open_calls_and_is_the_finish_reason() {
    let frames = [
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "tool_use", "id": "a", "name": "t", "input": {}}}),
        ),
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
        ),
        event("error", json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
    ];
    let fold = fold(&frames);
    assert_eq!(fold.response().finish_reason.as_deref(), Some("overloaded_error"));
    assert_eq!(fold.response().tool_calls.len(), 1);
}

#[test]
fn frames_that_are_not_json_are_unreadable_and_odd_json_is_ignored() {
    let mut fold = Fold::new();
    let junk = Frame { name: Some("ping".into()), data: b"\xff{not json".to_vec(), raw: Vec::new() };
    assert_eq!(fold.on_frame(&junk), FrameInfo { unreadable: true, ..FrameInfo::default() });
    let odd = event("content_block_delta", json!({"delta": "x", "index": "zero"}));
    assert_eq!(fold.on_frame(&odd), FrameInfo::default());
    assert_eq!(fold.response(), &crate::view::Response::default());
}

#[test]
fn a_block_that_starts_at_another_index_than_the_next_is_unreadable() {
    // The SDK addresses blocks by arrival position: a stated index that differs would let input be
    // read into another call than the one judged.
    let start = |i: u64, name: &str| {
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": i,
            "content_block": {"type": "tool_use", "id": name, "name": name, "input": {}}}),
        )
    };
    let mut fold = Fold::new();
    assert!(!fold.on_frame(&start(0, "a")).unreadable);
    assert!(fold.on_frame(&start(2, "b")).unreadable);
}

#[test]
fn tool_use_blocks_inside_message_start_are_calls() {
    let start = event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "m", "role": "assistant",
        "content": [{"type": "tool_use", "id": "t", "name": "read_file", "input": {"path": "/etc/passwd"}}],
        "model": "claude", "usage": {"input_tokens": 1, "output_tokens": 1}}}),
    );
    let mut fold = Fold::new();
    let info = fold.on_frame(&start);
    assert!(info.tool);
    assert_eq!(info.started_tools, ["read_file"]);
    assert_eq!(fold.response().tool_calls[0].arguments, json!({"path": "/etc/passwd"}));
}

/// `fast_path_agrees` for this fold: the typed delta path against the general one.
fn typed_agrees(frames: &[Frame]) -> Result<(), proptest::test_runner::TestCaseError> {
    crate::providers::fast_path_agrees(frames, Fold::new(), Fold::new(), Fold::on_frame, |f| &mut f.general_only)
        .map_err(proptest::test_runner::TestCaseError::fail)
}

#[test]
fn the_typed_delta_path_folds_every_recorded_stream_like_the_general_one() {
    let (mut checked, mut typed) = (0, 0);
    for (path, bytes) in crate::testutil::fixtures_ending(".sse") {
        if !path.contains("anthropic") {
            continue;
        }
        let frames = frames(Framing::Sse, &bytes);
        typed_agrees(&frames).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut probe = Fold::new();
        typed += frames.iter().filter(|f| probe.fold_delta(f).is_some()).count();
        checked += 1;
    }
    assert!(checked > 0 && typed > 0, "{checked} recorded streams, {typed} typed deltas");
}

#[test]
fn text_and_thinking_deltas_take_the_typed_path_and_nothing_else_does() {
    let mut fold = Fold::new();
    for data in [
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"h\u00e9"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{"type":"x"}}}"#,
    ] {
        let frame = event("content_block_delta", serde_json::from_str(data).unwrap());
        assert!(fold.fold_delta(&frame).is_some(), "{data}");
        assert!(fold.fold_delta(&data_frame(data)).is_some(), "{data} without an event name");
    }
    assert_eq!(fold.response().text, "héhé");
    for (name, data) in [
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{"}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
        ),
        ("content_block_delta", r#"{"type":"content_block_delta","index":0}"#),
        ("content_block_delta", r#"{"type":"content_block_delta","type":"content_block_delta","index":0,"delta":{}}"#),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0.0,"delta":{"type":"text_delta","text":"a"}}"#,
        ),
        ("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":"a"}"#),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\ud800"}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"},"x":1e999}"#,
        ),
        ("ping", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}"#),
        ("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}"#),
    ] {
        let frame = Frame { name: Some(name.into()), raw: Vec::new(), data: data.as_bytes().to_vec() };
        assert!(fold.fold_delta(&frame).is_none(), "{name}: {data}");
    }
}

proptest::proptest! {
    #[test]
    fn the_typed_delta_path_folds_like_the_general_one(
        events in proptest::collection::vec((
            proptest::sample::select(vec![Some("content_block_delta"), None, Some("ping")]),
            proptest::sample::select(vec![
                r#""type":"content_block_delta","#, r#""type":"content_block_start","#, r#""type":1,"#, "",
                r#""type":"content_block_delta","type":"content_block_delta","#,
            ]),
            proptest::sample::select(vec![r#""index":0,"#, r#""index":1,"#, r#""index":2,"#, r#""index":1.0,"#,
                r#""index":"0","#, r#""index":null,"#, r#""index":-1,"#, ""]),
            proptest::sample::select(vec![
                r#""delta":{"type":"text_delta","text":"T"}"#, r#""delta":{"text":"T","type":"text_delta"}"#,
                r#""delta":{"type":"thinking_delta","thinking":"T"}"#, r#""delta":{"type":"signature_delta","signature":"T"}"#,
                r#""delta":{"type":"input_json_delta","partial_json":"{\"a\":"}"#, r#""delta":{"type":"text_delta","text":1}"#,
                r#""delta":{"type":"text_delta"}"#, r#""delta":{"type":"text_delta","text":"T","text":"U"}"#,
                r#""delta":"T""#, r#""delta":null"#, r#""delta":[]"#, r#""other":{"type":"text_delta","text":"T"}"#,
            ]),
            proptest::sample::select(vec!["hi", "", "h\\u00e9", "\\n\\\"", "\\ud800", "\\ud83d\\ude00", "\u{e9}"]),
            proptest::sample::select(vec!["", r#","extra":{"a":[1,{"b":null}]}"#, r#","x":1e999"#, r#","x":"\ud800""#, r#","index":3"#]),
            proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0usize..3,
                proptest::sample::select(crate::providers::typed_tests::DAMAGE)), 0..2),
        ), 0..12),
        tool_at_1 in proptest::bool::ANY,
    ) {
        // Blocks 0 (text) and 1 (tool_use or text) are open, so deltas at both indices mean something.
        let second = if tool_at_1 {
            json!({"type": "tool_use", "id": "t", "name": "get", "input": {}})
        } else {
            json!({"type": "text", "text": ""})
        };
        let mut frames = vec![
            event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
            event("content_block_start", json!({"type": "content_block_start", "index": 1, "content_block": second})),
        ];
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
