use crate::providers::openai_chat::stream;
use crate::providers::FrameInfo;
use crate::stream::{Frame, Framing};
use crate::testutil::{arb_wire_json, cassette_response_text, data_frame, frames, read_frames};
use crate::view::{self, ToolCall, Usage};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

/// Runs every frame through a fold, returning it and what it said about each frame.
fn fold_all(frames: &[Frame], hide_usage_chunk: bool) -> (stream::Fold, Vec<FrameInfo>) {
    let mut fold = stream::Fold::new(hide_usage_chunk);
    let actions = frames.iter().map(|f| fold.on_frame(f)).collect();
    (fold, actions)
}

fn is_usage_only_chunk(frame: &Frame) -> bool {
    serde_json::from_slice::<Value>(&frame.data)
        .is_ok_and(|v| v["usage"].is_object() && v["choices"].as_array().is_some_and(Vec::is_empty))
}

#[test]
fn text_stream_folds_model_text_finish_reason_and_usage() {
    let frames = read_frames(Framing::Sse, "openai-chat/agw__completions-stream.sse");
    let (fold, actions) = fold_all(&frames, false);
    assert!(actions.iter().all(|a| !a.drop));
    let resp = fold.response();
    assert_eq!(resp.model.as_deref(), Some("gpt-5-nano-2025-08-07"));
    assert!(resp.text.starts_with("Hi there! How can I help today?"));
    assert!(resp.text.ends_with("and I’ll tailor my help."));
    assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
    assert_eq!(resp.usage, Some(Usage { input: 18, output: 286, reasoning: 192, ..Usage::default() }));
}

#[test]
fn tool_call_stream_folds_the_call_with_parsed_arguments() {
    let frames = read_frames(Framing::Sse, "openai-chat/extracted/pydantic-ai__run_stream_sync.i0.response.sse");
    let (fold, _) = fold_all(&frames, false);
    let resp = fold.response();
    assert_eq!(resp.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
    assert_eq!(
        resp.tool_calls,
        [ToolCall {
            id: Some("call_ZR5UUuTt3pf61kjwAJIYdVMj".into()),
            name: "get_capital".into(),
            arguments: json!({"country": "UK"}).into()
        }]
    );
    assert_eq!(fold.raw_arguments(0), Some(r#"{"country":"UK"}"#));
    assert_eq!(fold.raw_arguments(1), None);
    assert_eq!(resp.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(resp.text, "");
    assert_eq!(resp.usage, Some(Usage { input: 53, output: 15, ..Usage::default() }));

    let frames = read_frames(Framing::Sse, "openai-chat/openai-py__stream-tool-call__c6aa7e39.sse");
    let (fold, _) = fold_all(&frames, false);
    let resp = fold.response();
    assert_eq!(resp.tool_calls.len(), 1);
    assert_eq!(resp.tool_calls[0].name, "GetWeatherArgs");
    assert_eq!(resp.tool_calls[0].arguments, json!({"city": "Edinburgh", "country": "UK", "units": "c"}));
    assert_eq!(resp.usage, Some(Usage { input: 76, output: 24, ..Usage::default() }));
}

#[test]
fn recorded_streams_without_a_usage_chunk_fold_text_only() {
    let sse = cassette_response_text("openai-chat/envoy-aigw__chat-streaming.yaml", 0);
    let frames = frames(Framing::Sse, sse.as_bytes());
    let (fold, actions) = fold_all(&frames, true);
    assert!(actions.iter().all(|a| !a.drop));
    assert!(fold.response().text.starts_with("Hi there!"));
    assert_eq!(fold.response().usage, None);
}

#[test]
fn detailed_usage_stream_reports_length_finish_and_reasoning() {
    let frames =
        read_frames(Framing::Sse, "openai-chat/extracted/envoy-aigw__chat-streaming-detailed-usage.i0.response.sse");
    let (fold, _) = fold_all(&frames, false);
    assert_eq!(fold.response().finish_reason.as_deref(), Some("length"));
    assert_eq!(fold.response().usage, Some(Usage { input: 12, output: 100, reasoning: 100, ..Usage::default() }));
}

#[test]
fn hiding_usage_drops_exactly_the_usage_chunk() {
    for path in [
        "openai-chat/agw__completions-stream.sse",
        "openai-chat/openai-py__stream-tool-call__c6aa7e39.sse",
        "openai-chat/extracted/pydantic-ai__run_stream_sync.i0.response.sse",
        "openai-chat/extracted/envoy-aigw__chat-streaming-detailed-usage.i0.response.sse",
    ] {
        let frames = read_frames(Framing::Sse, path);
        let (shown, _) = fold_all(&frames, false);
        let (hidden, actions) = fold_all(&frames, true);
        let dropped: Vec<&Frame> = frames.iter().zip(&actions).filter(|(_, a)| a.drop).map(|(f, _)| f).collect();
        assert_eq!(dropped.len(), 1, "{path}");
        assert!(is_usage_only_chunk(dropped[0]), "{path}");
        assert_eq!(hidden.response(), shown.response(), "{path}: folding does not depend on hiding");
        assert!(hidden.response().usage.is_some());
    }
}

#[test]
fn done_and_error_frames_are_forwarded_without_folding_and_other_data_is_unreadable() {
    let mut fold = stream::Fold::new(true);
    for payload in ["[DONE]", "", r#"{"error":{"message":"overloaded","usage":{"prompt_tokens":1}}}"#] {
        assert_eq!(fold.on_frame(&data_frame(payload)), FrameInfo::default(), "{payload}");
    }
    // Python's json reads `NaN`; serde does not: such a chunk may carry calls nobody judged.
    for payload in [": keep-alive", "{not json", r#"{"choices":[],"x":NaN}"#] {
        let unreadable = FrameInfo { unreadable: true, ..FrameInfo::default() };
        assert_eq!(fold.on_frame(&data_frame(payload)), unreadable, "{payload}");
    }
    assert_eq!(*fold.response(), crate::view::Response::default());
}

#[test]
fn a_usage_chunk_that_also_carries_choices_is_never_dropped() {
    let mut fold = stream::Fold::new(true);
    let chunk = r#"{"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1}}"#;
    assert!(!fold.on_frame(&data_frame(chunk)).drop);
    assert_eq!(fold.response().usage, Some(Usage { input: 5, output: 1, ..Usage::default() }));
    // Azure's prompt-filter chunk has empty choices but no usage: it is the client's.
    let filter = r#"{"choices":[],"model":"","prompt_filter_results":[{"prompt_index":0}]}"#;
    assert!(!fold.on_frame(&data_frame(filter)).drop);
    assert_eq!(fold.response().model.as_deref(), Some("m"));
}

#[test]
fn parallel_tool_call_deltas_fold_by_index() {
    let chunks = [
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{\"y\":"}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"2}"}}]}}]}"#,
    ];
    let mut fold = stream::Fold::new(false);
    for c in chunks {
        fold.on_frame(&data_frame(c));
    }
    let calls = &fold.response().tool_calls;
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].id.as_deref(), calls[0].name.as_str(), calls[0].arguments.object()),
        (Some("a"), "f", Some(&json!({"x": 1})))
    );
    assert_eq!(
        (calls[1].id.as_deref(), calls[1].name.as_str(), calls[1].arguments.object()),
        (Some("b"), "g", Some(&json!({"y": 2})))
    );
}

#[test]
fn arguments_are_incomplete_until_their_text_is_complete() {
    let mut fold = stream::Fold::new(false);
    fold.on_frame(&data_frame(
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"path\":\"/etc"}}]}}]}"#,
    ));
    assert_eq!(fold.response().tool_calls[0].arguments, view::Arguments::Unreadable(view::Unreadable::Incomplete));
    assert_eq!(fold.raw_arguments(0), Some(r#"{"path":"/etc"#));
    fold.on_frame(&data_frame(
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"/passwd\"}"}}]}}]}"#,
    ));
    assert_eq!(fold.response().tool_calls[0].arguments, json!({"path": "/etc/passwd"}));
}

#[test]
fn servers_that_reuse_an_index_with_new_ids_get_separate_calls() {
    let mut fold = stream::Fold::new(false);
    for c in [
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"g","arguments":{"k":"v"}}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"c","function":{"name":"h","arguments":"{}"}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"c","function":{"name":"h"}}]}}]}"#,
    ] {
        fold.on_frame(&data_frame(c));
    }
    let calls: Vec<(&str, Option<&Value>)> =
        fold.response().tool_calls.iter().map(|c| (c.name.as_str(), c.arguments.object())).collect();
    assert_eq!(calls, [("f", Some(&json!({}))), ("g", Some(&json!({"k": "v"}))), ("h", Some(&json!({})))]);
}

#[test]
fn custom_and_legacy_streamed_calls_are_folded() {
    let mut fold = stream::Fold::new(false);
    for c in [
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","type":"custom","custom":{"name":"apply_patch","input":"*** Begin"}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"custom":{"input":" Patch"}}]}}]}"#,
        r#"{"choices":[{"index":1,"delta":{"function_call":{"name":"old","arguments":"{\"q\""}}}]}"#,
        r#"{"choices":[{"index":1,"delta":{"function_call":{"arguments":":1}"}}}]}"#,
    ] {
        fold.on_frame(&data_frame(c));
    }
    let calls = &fold.response().tool_calls;
    assert_eq!(calls[0].arguments, json!({"input": "*** Begin Patch"}));
    assert_eq!(fold.raw_arguments(0), Some("*** Begin Patch"));
    assert_eq!((calls[1].name.as_str(), calls[1].arguments.object()), ("old", Some(&json!({"q": 1}))));
    // Text and finish reason come from the first choice only.
    assert_eq!(fold.response().text, "");
}

#[test]
fn groq_usage_under_x_groq_is_folded() {
    let mut fold = stream::Fold::new(false);
    let chunk = r#"{"model":"llama","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"usage":{"prompt_tokens":10,"completion_tokens":3}}}"#;
    assert!(!fold.on_frame(&data_frame(chunk)).drop);
    assert_eq!(fold.response().usage, Some(Usage { input: 10, output: 3, ..Usage::default() }));
}

/// Each folded call's arguments are what its raw argument text parses to (as JSON or as custom
/// tool input); text that does not parse reads as unreadable (the reason may lag behind).
fn views_match_raw_text(fold: &stream::Fold) -> Result<(), TestCaseError> {
    for (i, call) in fold.response().tool_calls.iter().enumerate() {
        let raw = fold.raw_arguments(i).unwrap_or_default();
        let parsed = crate::providers::json::parse_arguments(raw);
        prop_assert!(
            call.arguments == parsed
                || call.arguments == crate::providers::json::custom_input(raw)
                // Unreadable either way; a call whose name came in different pieces is unreadable
                // whatever its text.
                || (call.arguments.object().is_none() && parsed.object().is_none())
                || call.arguments == view::Arguments::Unreadable(view::Unreadable::AmbiguousName),
            "{:?} vs {:?}",
            call.arguments,
            raw
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn streamed_argument_views_always_match_their_raw_text(
        chunks in proptest::collection::vec(arb_wire_json(), 0..12),
        hide in any::<bool>(),
    ) {
        let mut fold = stream::Fold::new(hide);
        for chunk in &chunks {
            let action = fold.on_frame(&data_frame(&chunk.to_string()));
            prop_assert!(!action.drop || (hide && is_usage_only_chunk(&data_frame(&chunk.to_string()))));
        }
        views_match_raw_text(&fold)?;
    }

    #[test]
    fn tool_call_deltas_in_any_order_keep_views_equal_to_their_raw_text(
        deltas in proptest::collection::vec((
            0u64..3,
            proptest::option::of(proptest::sample::select(vec!["a", "b", "c"])),
            proptest::option::of(proptest::sample::select(vec!["f", "g"])),
            proptest::sample::select(vec!["{", "}", "\"", "\\", "[", "]", ":", ",", "\"k\"", "1", " ", "x", "{\"k\":1}"]),
            any::<bool>(),
        ), 0..24),
    ) {
        let mut fold = stream::Fold::new(false);
        for (index, id, name, piece, custom) in deltas {
            let mut call = if custom {
                json!({"index": index, "type": "custom", "custom": {"input": piece}})
            } else {
                json!({"index": index, "function": {"arguments": piece}})
            };
            if let Some(id) = id {
                call["id"] = json!(id);
            }
            if let Some(name) = name {
                call[if custom { "custom" } else { "function" }]["name"] = json!(name);
            }
            let chunk = json!({"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]});
            fold.on_frame(&data_frame(&chunk.to_string()));
        }
        views_match_raw_text(&fold)?;
    }

    #[test]
    fn random_bytes_are_forwarded(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut fold = stream::Fold::new(true);
        let frame = Frame { name: None, raw: data.clone(), data };
        fold.on_frame(&frame);
    }
}

#[test]
fn a_chunk_whose_error_is_null_is_still_folded_as_a_chunk() {
    // The SDKs raise only on a truthy `error`; a chunk saying `"error": null` is handed over whole.
    let chunk = json!({"error": null, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0,
        "id": "c", "type": "function", "function": {"name": "read_file", "arguments": "{}"}}]}}]});
    let (fold, actions) = fold_all(&[data_frame(&chunk.to_string())], false);
    assert_eq!(actions[0].started_tools, ["read_file"]);
    assert_eq!(fold.response().tool_calls.len(), 1);
    let failing = json!({"error": {"message": "overloaded"}, "choices": [{"index": 0, "delta": {"content": "x"}}]});
    let (fold, actions) = fold_all(&[data_frame(&failing.to_string())], false);
    assert_eq!(actions[0], FrameInfo::default());
    assert!(fold.response().text.is_empty());
}

/// Folds `frames` through the typed fast path and through the general path only: the fold's
/// state and what it says about every frame must be the same.
fn fast_path_agrees(frames: &[Frame]) -> Result<(), TestCaseError> {
    let new = || stream::Fold::new(true);
    crate::providers::fast_path_agrees(frames, new(), new(), stream::Fold::on_frame, |f| &mut f.general_only)
        .map_err(TestCaseError::fail)
}

#[test]
fn the_typed_text_path_folds_every_recorded_stream_like_the_general_one() {
    let mut checked = 0;
    for (path, bytes) in crate::testutil::fixtures_ending(".sse") {
        if !path.contains("openai-chat") {
            continue;
        }
        let frames = frames(Framing::Sse, &bytes);
        fast_path_agrees(&frames).unwrap_or_else(|e| panic!("{path}: {e}"));
        checked += 1;
    }
    assert!(checked > 0, "no recorded chat stream found");
}

proptest! {
    #[test]
    fn the_typed_text_path_folds_like_the_general_one(
        chunks in proptest::collection::vec((
            proptest::sample::select(vec![0u64, 0, 0, 1]),
            proptest::option::of(proptest::sample::select(vec!["", "hi", "h\\u00e9", "\\n"])),
            proptest::option::of(proptest::sample::select(vec!["assistant", ""])),
            proptest::sample::select(vec![
                "", r#","logprobs":null"#, r#","finish_reason":null"#, r#","finish_reason":"stop""#,
                r#","logprobs":{}"#, r#","extra":1"#,
            ]),
            proptest::sample::select(vec![
                "", r#","usage":null"#, r#","usage":{"prompt_tokens":1,"completion_tokens":2}"#,
                r#","system_fingerprint":"fp""#, r#","created":7"#, r#","created":"7""#, r#","model":"""#,
                r#","model":"m2""#, r#","error":null"#, r#","refusal":null"#,
            ]),
        ), 0..10)
    ) {
        let frames: Vec<Frame> = chunks.iter().map(|(index, content, role, choice_extra, top_extra)| {
            let mut delta = Vec::new();
            if let Some(c) = content { delta.push(format!(r#""content":"{c}""#)); }
            if let Some(r) = role { delta.push(format!(r#""role":"{r}""#)); }
            let data = format!(
                r#"{{"id":"c1","object":"chat.completion.chunk","model":"m"{top_extra},"choices":[{{"index":{index},"delta":{{{}}}{choice_extra}}}]}}"#,
                delta.join(",")
            );
            data_frame(&data)
        }).collect();
        fast_path_agrees(&frames)?;
    }
}

#[test]
fn text_chunks_as_openai_and_the_router_write_them_take_the_typed_path() {
    let mut fold = stream::Fold::new(false);
    for data in [
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"msg_1","object":"chat.completion.chunk","created":1,"model":"claude","choices":[{"index":0,"delta":{"content":"hé"},"logprobs":null,"finish_reason":null}]}"#,
    ] {
        assert!(fold.fold_text_chunk(data.as_bytes()).is_some(), "{data}");
    }
    assert_eq!(fold.response().text, "hé");
    for data in [
        r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[]}}]}"#,
        r#"{"id":"c","choices":[],"usage":{"prompt_tokens":1}}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}],"error":{"message":"x"}}"#,
    ] {
        assert!(fold.fold_text_chunk(data.as_bytes()).is_none(), "{data}");
    }
}
