use super::*;
use crate::stream::Framing;
use crate::testutil::{self, event};
use crate::view::{Api, ToolCall, Usage};
use serde_json::json;
use serde_json::Value;

fn fold_frames(frames: &[Frame]) -> view::Response {
    testutil::fold_forwarding(Api::Converse, frames).response().clone()
}

fn fold_file(rel: &str) -> view::Response {
    fold_frames(&testutil::read_frames(Framing::EventStream, rel))
}

#[test]
fn text_stream_is_folded_with_usage_from_metadata() {
    let resp = fold_file("bedrock/agw__bedrock-basic.eventstream.bin");

    assert!(resp.text.starts_with("\nOnce upon a time, there was a little boy named Jack"));
    assert!(resp.text.ends_with("everyone loved to hear his stories about the birds he had helped."));
    assert!(resp.text.contains("One day, Jack and his friends"), "deltas are joined without separators");
    assert_eq!(resp.model, None);
    assert!(resp.tool_calls.is_empty());
    assert_eq!(resp.finish_reason.as_deref(), Some("end_turn"));
    assert_eq!(resp.usage, Some(Usage { input: 15, output: 142, ..Usage::default() }));
}

#[test]
fn tool_use_stream_gives_the_call_with_parsed_arguments() {
    let resp = fold_file("bedrock/extracted/pydantic-ai__bedrock_iter_stream.i0.response.eventstream.bin");

    assert_eq!(
        resp.tool_calls,
        [ToolCall {
            id: Some("tooluse_lAG_zP8QRHmSYOwZzzaCqA".into()),
            name: "get_temperature".into(),
            arguments: json!({"city": "Paris"}).into(),
        }]
    );
    assert_eq!(resp.finish_reason.as_deref(), Some("tool_use"));
    assert_eq!(resp.usage, Some(Usage { input: 471, output: 91, ..Usage::default() }));
    // The client sent the folded text back verbatim in its next request.
    let next = testutil::read_json("bedrock/extracted/pydantic-ai__bedrock_iter_stream.i1.request.json");
    assert_eq!(next.pointer("/messages/1/content/0/text").and_then(Value::as_str), Some(resp.text.as_str()));
}

#[test]
fn answer_after_a_tool_result_is_folded() {
    let resp = fold_file("bedrock/extracted/pydantic-ai__bedrock_iter_stream.i1.response.eventstream.bin");

    assert_eq!(resp.text, "The current temperature in Paris, the capital of France, is 30°C.");
    assert_eq!(resp.usage, Some(Usage { input: 577, output: 18, ..Usage::default() }));
}

#[test]
fn reasoning_deltas_are_not_answer_text() {
    let resp = fold_file("bedrock/extracted/pydantic-ai__bedrock_thinking_stream.i0.response.eventstream.bin");

    assert_eq!(resp.text, "Hello! It's nice to meet you. How can I help you today?");
    assert_eq!(resp.usage, Some(Usage { input: 36, output: 73, ..Usage::default() }));
}

#[test]
fn a_stream_cut_by_max_tokens_reports_it() {
    let resp = fold_file("bedrock/plano__converse-stream-text.eventstream.bin");

    assert!(resp.text.starts_with("# Binary Search"));
    assert_eq!(resp.finish_reason.as_deref(), Some("max_tokens"));
    assert_eq!(resp.usage, Some(Usage { input: 19, output: 500, ..Usage::default() }));
}

#[test]
fn invoke_model_chunk_events_are_not_converse_and_fold_to_nothing() {
    // InvokeModelWithResponseStream wraps model-native events in base64 `chunk` payloads; that API
    // is not Converse, so its frames pass through without being read.
    let frames =
        testutil::read_frames(Framing::EventStream, "bedrock/agw__bedrock-invoke-with-response-stream.eventstream.bin");
    assert!(frames.iter().all(|f| f.name.as_deref() == Some("chunk")));
    assert_eq!(fold_frames(&frames), view::Response::default());
}

#[test]
fn tool_input_is_assembled_from_many_deltas() {
    // Synthetic: the recorded tool-use streams send the input in one delta.
    let mut frames = vec![
        event("messageStart", json!({"role": "assistant"})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"text": "Let me look."}})),
        event("contentBlockStop", json!({"contentBlockIndex": 0})),
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "search"}}}),
        ),
    ];
    for fragment in ["{\"que", "ry\": \"rust ", "eventstream\", \"li", "mit\": 5", "}"] {
        frames.push(event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": fragment}}}),
        ));
    }
    frames.push(event("contentBlockStop", json!({"contentBlockIndex": 1})));
    frames.push(event("messageStop", json!({"stopReason": "tool_use"})));
    frames.push(event("metadata", json!({"usage": {"inputTokens": 10, "outputTokens": 20, "cacheReadInputTokens": 3, "cacheWriteInputTokens": 4}})));
    let resp = fold_frames(&frames);

    assert_eq!(resp.text, "Let me look.");
    assert_eq!(
        resp.tool_calls,
        [ToolCall {
            id: Some("t1".into()),
            name: "search".into(),
            arguments: json!({"query": "rust eventstream", "limit": 5}).into()
        }]
    );
    assert_eq!(resp.usage, Some(Usage { input: 10, output: 20, cache_read: 3, cache_write: 4, reasoning: 0 }));
}

#[test]
fn interleaved_tool_blocks_keep_their_own_input() {
    let resp = fold_frames(&[
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "a", "name": "one"}}}),
        ),
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "b", "name": "two"}}}),
        ),
        event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"b\":"}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{\"a\":1}"}}})),
        event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "2}"}}})),
        event("contentBlockStop", json!({"contentBlockIndex": 1})),
        event("contentBlockStop", json!({"contentBlockIndex": 0})),
    ]);
    let args: Vec<Option<&Value>> = resp.tool_calls.iter().map(|c| c.arguments.object()).collect();
    assert_eq!(args, [Some(&json!({"a": 1})), Some(&json!({"b": 2}))]);
}

#[test]
fn a_call_is_listed_from_its_start_and_completed_by_message_stop() {
    let mut fold = Fold::new();
    fold.on_frame(&event(
        "contentBlockStart",
        json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "a", "name": "one"}}}),
    ));
    fold.on_frame(&event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{\"x\":true}"}}}),
    ));
    assert_eq!(fold.response().tool_calls[0].name, "one");
    assert_eq!(
        fold.response().tool_calls[0].arguments,
        crate::view::Arguments::Unreadable(crate::view::Unreadable::Incomplete),
        "arguments are parsed when the block ends"
    );

    fold.on_frame(&event("messageStop", json!({"stopReason": "tool_use"})));
    assert_eq!(fold.response().tool_calls[0].arguments, json!({"x": true}));
}

#[test]
fn tool_input_for_a_block_that_never_started_is_an_unnamed_call() {
    let resp = fold_frames(&[
        event("contentBlockDelta", json!({"contentBlockIndex": 4, "delta": {"toolUse": {"input": "{\"orphan\":1}"}}})),
        event("contentBlockStop", json!({"contentBlockIndex": 4})),
    ]);
    assert_eq!(resp.tool_calls.len(), 1);
    assert_eq!((resp.tool_calls[0].name.as_str(), &resp.tool_calls[0].arguments), ("", &json!({"orphan": 1}).into()));
}

#[test]
fn exceptions_and_strays_are_forwarded_and_ignored() {
    let resp = fold_frames(&[
        event("throttlingException", json!({"message": "Too many requests, please wait before trying again."})),
        Frame { name: None, data: b"{}".to_vec(), raw: Vec::new() },
        Frame { name: Some("metadata".into()), data: b"not json".to_vec(), raw: Vec::new() },
        event("contentBlockStart", json!({"contentBlockIndex": 0, "start": {"toolUse": "bad"}})),
    ]);
    assert_eq!(resp, view::Response::default());
}

#[test]
fn oversized_tool_input_is_too_large_to_judge() {
    let mut fold = Fold::with_limit(1000);
    fold.on_frame(&event(
        "contentBlockStart",
        json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "a", "name": "big"}}}),
    ));
    let chunk = "x".repeat(501);
    for fragment in ["{\"k\":\"", chunk.as_str(), chunk.as_str(), "\"}"] {
        fold.on_frame(&event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": fragment}}}),
        ));
    }
    fold.on_frame(&event("contentBlockStop", json!({"contentBlockIndex": 0})));
    assert_eq!(fold.response().tool_calls[0].arguments, Arguments::Unreadable(Unreadable::TooLarge));
}

/// `fast_path_agrees` for this fold: the typed text-delta path against the general one.
fn typed_agrees(frames: &[Frame]) -> Result<(), proptest::test_runner::TestCaseError> {
    crate::providers::fast_path_agrees(frames, Fold::new(), Fold::new(), Fold::on_frame, |f| &mut f.general_only)
        .map_err(proptest::test_runner::TestCaseError::fail)
}

#[test]
fn the_typed_delta_path_folds_every_recorded_stream_like_the_general_one() {
    let (mut checked, mut typed) = (0, 0);
    for (path, bytes) in testutil::fixtures_ending(".eventstream.bin") {
        if !path.contains("bedrock") {
            continue;
        }
        let frames = testutil::frames(Framing::EventStream, &bytes);
        typed_agrees(&frames).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut probe = Fold::new();
        let deltas = frames.iter().filter(|f| f.name.as_deref() == Some("contentBlockDelta"));
        typed += deltas.filter(|f| probe.fold_text_delta(&f.data).is_some()).count();
        checked += 1;
    }
    assert!(checked > 0 && typed > 0, "{checked} recorded streams, {typed} typed deltas");
}

#[test]
fn text_deltas_take_the_typed_path_and_nothing_else_does() {
    let mut fold = Fold::new();
    for data in [
        r#"{"contentBlockIndex":0,"delta":{"text":"h\u00e9"},"p":"abcdef"}"#,
        r#"{"contentBlockIndex":1,"delta":{"reasoningContent":{"text":"hmm"}}}"#,
    ] {
        assert!(fold.fold_text_delta(data.as_bytes()).is_some(), "{data}");
    }
    assert_eq!(fold.response().text, "hé");
    assert_eq!(fold.max_index, Some(1));
    // Input for a block that never started (an orphan) takes no index on the client's side, and
    // neither does later text at that index.
    let orphan = Frame {
        name: Some("contentBlockDelta".into()),
        raw: Vec::new(),
        data: br#"{"contentBlockIndex":4,"delta":{"toolUse":{"input":"{"}}}"#.to_vec(),
    };
    let text = Frame {
        name: Some("contentBlockDelta".into()),
        raw: Vec::new(),
        data: br#"{"contentBlockIndex":4,"delta":{"text":"a"}}"#.to_vec(),
    };
    typed_agrees(&[orphan.clone(), text.clone()]).unwrap();
    fold.on_frame(&orphan);
    assert!(fold.fold_text_delta(&text.data).is_some());
    assert_eq!(fold.max_index, Some(1));
    for data in [
        r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{"}}}"#,
        r#"{"contentBlockIndex":1,"delta":{"toolUse":null,"text":"a"}}"#,
        r#"{"contentBlockIndex":0}"#,
        r#"{"contentBlockIndex":0,"delta":"a"}"#,
        r#"{"contentBlockIndex":0.0,"delta":{"text":"a"}}"#,
        r#"{"contentBlockIndex":0,"contentBlockIndex":1,"delta":{"text":"a"}}"#,
        r#"{"contentBlockIndex":0,"delta":{"text":"\ud800"}}"#,
        r#"{"contentBlockIndex":0,"delta":{"text":"a"},"p":1e999}"#,
    ] {
        assert!(fold.fold_text_delta(data.as_bytes()).is_none(), "{data}");
    }
}

proptest::proptest! {
    #[test]
    fn the_typed_delta_path_folds_like_the_general_one(
        events in proptest::collection::vec((
            proptest::sample::select(vec!["contentBlockDelta", "contentBlockDelta", "contentBlockStart", "contentBlockStop", "metadata"]),
            proptest::sample::select(vec![r#""contentBlockIndex":0,"#, r#""contentBlockIndex":1,"#, r#""contentBlockIndex":2,"#,
                r#""contentBlockIndex":null,"#, r#""contentBlockIndex":1.0,"#, r#""contentBlockIndex":-1,"#, ""]),
            proptest::sample::select(vec![
                r#""delta":{"text":"~"}"#, r#""delta":{"reasoningContent":{"text":"~"}}"#, r#""delta":{"text":1}"#,
                r#""delta":{"toolUse":{"input":"{\"a\":"}}"#, r#""delta":{"toolUse":null}"#, r#""delta":{"text":"~","text":"u"}"#,
                r#""delta":"~""#, r#""delta":null"#, r#""delta":{}"#, r#""start":{"toolUse":{"toolUseId":"t","name":"get"}}"#,
                r#""usage":{"inputTokens":3,"outputTokens":4}"#,
            ]),
            proptest::sample::select(vec!["hi", "", "h\\u00e9", "\\n\\\"", "\\ud83d\\ude00", "\u{e9}"]),
            proptest::sample::select(vec!["", r#","p":"abcd""#, r#","x":1e999"#, r#","x":"\ud800""#, r#","x":{"y":[true,null]}"#]),
            proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0usize..3,
                proptest::sample::select(crate::providers::typed_tests::DAMAGE)), 0..2),
        ), 0..12),
    ) {
        // A tool block at index 1 has started, so deltas there mean something.
        let mut frames = vec![event("contentBlockStart", json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t", "name": "get"}}}))];
        for (name, index, body, text, extra, cuts) in &events {
            let mut data = format!("{{{index}{}{extra}}}", body.replace('~', text)).into_bytes();
            crate::providers::typed_tests::damage(&mut data, cuts);
            frames.push(Frame { name: Some((*name).to_owned()), raw: Vec::new(), data });
        }
        typed_agrees(&frames)?;
    }
}
