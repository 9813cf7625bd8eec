use super::test_support::{fixture, fixture_json, govcr_body, sse_frames, vcr_parsed_body};
use super::{request, response, stream};
use crate::providers::FrameAction;
use crate::stream::Frame;
use crate::view::{Role, ToolCall, ToolDecl, Usage};
use serde_json::{json, Value};

fn roles(req: &crate::view::Request) -> Vec<Role> {
    req.messages.iter().map(|m| m.role).collect()
}

fn data_frame(payload: &str) -> Frame {
    Frame { name: None, data: payload.as_bytes().to_vec(), raw: format!("data: {payload}\n\n").into_bytes() }
}

/// Runs every frame through a fold, returning it and what it said about each frame.
fn fold_all(frames: &[Frame], hide_usage_chunk: bool) -> (stream::Fold, Vec<FrameAction>) {
    let mut fold = stream::Fold::new(hide_usage_chunk);
    let actions = frames.iter().map(|f| fold.on_frame(f)).collect();
    (fold, actions)
}

fn is_usage_only_chunk(frame: &Frame) -> bool {
    serde_json::from_slice::<Value>(&frame.data)
        .is_ok_and(|v| v["usage"].is_object() && v["choices"].as_array().is_some_and(Vec::is_empty))
}

// ---------------------------------------------------------------------------------------------
// Requests

#[test]
fn multi_turn_request_resolves_tool_result_names_and_pointers() {
    let body = fixture_json("openai-chat/extracted/pydantic-ai__run_stream_sync.i1.request.json");
    let req = request::parse(&body);
    assert_eq!(req.model.as_deref(), Some("gpt-4o-mini"));
    assert!(req.stream);
    assert_eq!(roles(&req), [Role::User, Role::Assistant, Role::Tool]);
    assert_eq!(req.messages[0].text, "What is the capital of the UK? Use the tool, then answer.");
    assert_eq!(req.tools.len(), 1);
    assert_eq!(req.tools[0].name, "get_capital");
    assert_eq!(req.tools[0].parameters.as_ref().unwrap()["required"], json!(["country"]));
    assert_eq!(
        req.tool_calls,
        [ToolCall {
            id: Some("call_ZR5UUuTt3pf61kjwAJIYdVMj".into()),
            name: "get_capital".into(),
            arguments: json!({"country": "UK"}),
        }]
    );
    let result = &req.tool_results[0];
    assert_eq!(result.pointer, "/messages/2/content");
    assert_eq!(result.call_id.as_deref(), Some("call_ZR5UUuTt3pf61kjwAJIYdVMj"));
    assert_eq!(result.tool_name.as_deref(), Some("get_capital"));
    assert_eq!(result.content, "London");
    assert!(!result.is_error);
    assert_eq!(body.pointer(&result.pointer), Some(&json!("London")));
}

#[test]
fn developer_and_system_messages_are_system_turns() {
    let body: Value =
        serde_json::from_str(&govcr_body(&fixture("openai-chat/envoy-aigw__chat-multiturn.yaml"), 0)).unwrap();
    let req = request::parse(&body);
    assert_eq!(req.model.as_deref(), Some("gpt-5-nano"));
    assert!(!req.stream);
    assert_eq!(roles(&req), [Role::System, Role::User, Role::Assistant, Role::User]);
    assert_eq!(req.messages[0].text, "You are a helpful assistant.");
    assert!(req.system.is_empty());
}

#[test]
fn declared_tools_come_from_function_and_custom_entries() {
    let body: Value =
        serde_json::from_str(&govcr_body(&fixture("openai-chat/envoy-aigw__chat-tools.yaml"), 0)).unwrap();
    let req = request::parse(&body);
    assert_eq!(req.tools[0].name, "get_current_weather");
    assert_eq!(req.tools[0].description.as_deref(), Some("Get the current weather in a given location"));

    let body = json!({"tools": [
        {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}},
        {"type": "custom", "custom": {"name": "apply_patch", "description": "free text"}},
        {"type": "web_search"},
        {"type": "function", "function": {"description": "no name"}},
    ], "functions": [{"name": "legacy"}]});
    let names: Vec<String> = request::parse(&body).tools.into_iter().map(|t: ToolDecl| t.name).collect();
    assert_eq!(names, ["f", "apply_patch", "legacy"]);
}

#[test]
fn custom_and_legacy_tool_calls_and_results_are_read() {
    let body = json!({"messages": [
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "c1", "type": "custom", "custom": {"name": "apply_patch", "input": "*** Begin Patch"}},
            {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "not json"}},
            {"id": "c3", "type": "function", "function": {"name": "g", "arguments": {"already": "object"}}}
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "patched"}]},
        {"role": "assistant", "function_call": {"name": "old", "arguments": "{\"x\":1}"}},
        {"role": "function", "name": "old", "content": "{\"ok\":true}"},
        {"role": "tool", "tool_call_id": "unknown", "content": "orphan"}
    ]});
    let req = request::parse(&body);
    assert_eq!(req.tool_calls[0].arguments, json!({"input": "*** Begin Patch"}));
    assert_eq!(req.tool_calls[1].arguments, json!({}));
    assert_eq!(req.tool_calls[2].arguments, json!({"already": "object"}));
    assert_eq!(req.tool_calls[3], ToolCall { id: None, name: "old".into(), arguments: json!({"x": 1}) });
    let names: Vec<Option<&str>> = req.tool_results.iter().map(|r| r.tool_name.as_deref()).collect();
    assert_eq!(names, [Some("apply_patch"), Some("old"), None]);
    assert_eq!(req.tool_results[0].content, "patched");
    for result in &req.tool_results {
        assert!(body.pointer(&result.pointer).is_some(), "{} resolves", result.pointer);
    }
}

#[test]
fn content_parts_are_reduced_to_their_text() {
    let body = json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "look at"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this"}
    ]}]});
    assert_eq!(request::parse(&body).messages[0].text, "look at\nthis");
}

#[test]
fn odd_request_bodies_give_defaults() {
    for body in [
        json!(null),
        json!([1, 2]),
        json!({"messages": "nope", "tools": {}, "stream": "true"}),
        json!({"messages": [1, null, {"role": 7}, {"role": "tool"}, {"role": "assistant", "tool_calls": [{}, {"function": {}}]}]}),
    ] {
        let req = request::parse(&body);
        assert!(!req.stream);
        assert!(req.tool_calls.is_empty());
    }
}

#[test]
fn forcing_usage_on_a_stream_that_did_not_ask_reports_false_and_keeps_the_body() {
    let mut body: Value = serde_json::from_str(
        r#"{"model":"m","stream":true,"stream_options":{"x_future":1},"messages":[],"zeta":{"b":1,"a":2}}"#,
    )
    .unwrap();
    assert!(!request::force_include_usage(&mut body));
    assert_eq!(
        body.to_string(),
        r#"{"model":"m","stream":true,"stream_options":{"x_future":1,"include_usage":true},"messages":[],"zeta":{"b":1,"a":2}}"#
    );

    let mut body: Value = serde_json::from_str(r#"{"z":1,"stream":true,"a":2}"#).unwrap();
    assert!(!request::force_include_usage(&mut body));
    assert_eq!(body.to_string(), r#"{"z":1,"stream":true,"a":2,"stream_options":{"include_usage":true}}"#);

    let mut body = json!({"stream": true, "stream_options": {"include_usage": false}});
    assert!(!request::force_include_usage(&mut body));
    assert_eq!(body["stream_options"]["include_usage"], json!(true));
}

#[test]
fn a_client_that_asked_for_usage_is_reported_and_left_alone() {
    let body = fixture_json("openai-chat/extracted/pydantic-ai__run_stream_sync.i1.request.json");
    let mut forced = body.clone();
    assert!(request::force_include_usage(&mut forced));
    assert_eq!(forced.to_string(), body.to_string());
}

#[test]
fn bodies_that_do_not_stream_are_not_touched() {
    for body in [json!({"stream": false}), json!({"messages": []}), json!("text"), json!({"stream": "yes"})] {
        let mut forced = body.clone();
        assert!(request::force_include_usage(&mut forced));
        assert_eq!(forced, body);
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

#[test]
fn basic_response_gives_model_text_finish_reason_and_usage() {
    let resp = response::parse(&fixture_json("openai-chat/agw__completions-basic.json"));
    assert_eq!(resp.model.as_deref(), Some("gpt-3.5-turbo-0125"));
    assert!(resp.text.starts_with("Sorry, I couldn't find the name"));
    assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
    assert_eq!(resp.usage, Some(Usage { input: 17, output: 23, ..Usage::default() }));
    assert!(resp.tool_calls.is_empty());
}

#[test]
fn tool_call_responses_give_parsed_arguments_and_reasoning_tokens() {
    let cases = [
        (
            "openai-chat/envoy-aigw__chat-parallel-tools.yaml",
            "call_Xc4Aiih37EUJvqjoZlu4Vdoi",
            json!({"location": "San Francisco, CA"}),
            219,
            192,
        ),
        (
            "openai-chat/envoy-aigw__chat-tools.yaml",
            "call_8fxy20OEu9ulvvaa5b5CzVA4",
            json!({"location": "Boston, MA", "unit": "fahrenheit"}),
            287,
            256,
        ),
    ];
    for (path, id, args, output, reasoning) in cases {
        let body: Value = serde_json::from_str(&govcr_body(&fixture(path), 1)).unwrap();
        let resp = response::parse(&body);
        assert_eq!(resp.model.as_deref(), Some("gpt-5-nano-2025-08-07"));
        assert_eq!(
            resp.tool_calls,
            [ToolCall { id: Some(id.into()), name: "get_current_weather".into(), arguments: args }]
        );
        assert_eq!(resp.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(resp.text, "");
        assert_eq!(resp.usage, Some(Usage { input: 162, output, reasoning, ..Usage::default() }));
    }
}

#[test]
fn cached_prompt_tokens_are_taken_out_of_input() {
    let cassette = fixture("openai-chat/pydantic-ai__test_openai_chat_prompt_cache_e2e.yaml");
    // parsed_body #3 is the second call's response, the one served from the prompt cache.
    let resp = response::parse(&vcr_parsed_body(&cassette, 3));
    assert_eq!(resp.model.as_deref(), Some("gpt-5.6-sol"));
    assert_eq!(resp.text, "OK");
    assert_eq!(resp.usage, Some(Usage { input: 4020 - 4012, output: 4, cache_read: 4012, ..Usage::default() }));
    let first = response::parse(&vcr_parsed_body(&cassette, 1));
    assert_eq!(first.usage, Some(Usage { input: 4020, output: 4, ..Usage::default() }));
}

#[test]
fn refusals_are_part_of_the_text() {
    let body = json!({"choices": [{"message": {"content": null, "refusal": "I can't help with that."}, "finish_reason": "stop"}]});
    assert_eq!(response::parse(&body).text, "I can't help with that.");
}

#[test]
fn tool_calls_of_every_choice_are_seen() {
    let body = json!({"choices": [
        {"index": 0, "message": {"tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}},
        {"index": 1, "message": {"tool_calls": [{"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}}]}}
    ]});
    let names: Vec<String> = response::parse(&body).tool_calls.into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["f", "g"]);
}

#[test]
fn cached_tokens_larger_than_the_prompt_do_not_underflow() {
    let body =
        json!({"usage": {"prompt_tokens": 3, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 9}}});
    assert_eq!(response::parse(&body).usage.unwrap().input, 0);
    assert_eq!(response::parse(&json!({"usage": null})).usage, None);
    assert_eq!(response::parse(&json!("garbage")), crate::view::Response::default());
}

#[test]
fn embeddings_usage_is_the_prompt_tokens() {
    let body = json!({"object": "list", "data": [], "model": "text-embedding-3-small", "usage": {"prompt_tokens": 8, "total_tokens": 8}});
    let resp = response::parse_embeddings(&body);
    assert_eq!(resp.model.as_deref(), Some("text-embedding-3-small"));
    assert_eq!(resp.usage, Some(Usage { input: 8, ..Usage::default() }));
    assert_eq!(response::parse_embeddings(&json!({})).usage, None);
}

// ---------------------------------------------------------------------------------------------
// Streams

#[test]
fn text_stream_folds_model_text_finish_reason_and_usage() {
    let frames = sse_frames(&fixture("openai-chat/agw__completions-stream.sse"));
    let (fold, actions) = fold_all(&frames, false);
    assert!(actions.iter().all(|a| *a == FrameAction::Forward));
    let resp = fold.response();
    assert_eq!(resp.model.as_deref(), Some("gpt-5-nano-2025-08-07"));
    assert!(resp.text.starts_with("Hi there! How can I help today?"));
    assert!(resp.text.ends_with("and I’ll tailor my help."));
    assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
    assert_eq!(resp.usage, Some(Usage { input: 18, output: 286, reasoning: 192, ..Usage::default() }));
}

#[test]
fn tool_call_stream_folds_the_call_with_parsed_arguments() {
    let frames = sse_frames(&fixture("openai-chat/extracted/pydantic-ai__run_stream_sync.i0.response.sse"));
    let (fold, _) = fold_all(&frames, false);
    let resp = fold.response();
    assert_eq!(resp.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
    assert_eq!(
        resp.tool_calls,
        [ToolCall {
            id: Some("call_ZR5UUuTt3pf61kjwAJIYdVMj".into()),
            name: "get_capital".into(),
            arguments: json!({"country": "UK"})
        }]
    );
    assert_eq!(fold.raw_arguments(0), Some(r#"{"country":"UK"}"#));
    assert_eq!(fold.raw_arguments(1), None);
    assert_eq!(resp.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(resp.text, "");
    assert_eq!(resp.usage, Some(Usage { input: 53, output: 15, ..Usage::default() }));

    let frames = sse_frames(&fixture("openai-chat/openai-py__stream-tool-call__c6aa7e39.sse"));
    let (fold, _) = fold_all(&frames, false);
    let resp = fold.response();
    assert_eq!(resp.tool_calls.len(), 1);
    assert_eq!(resp.tool_calls[0].name, "GetWeatherArgs");
    assert_eq!(resp.tool_calls[0].arguments, json!({"city": "Edinburgh", "country": "UK", "units": "c"}));
    assert_eq!(resp.usage, Some(Usage { input: 76, output: 24, ..Usage::default() }));
}

#[test]
fn recorded_streams_without_a_usage_chunk_fold_text_only() {
    let sse = govcr_body(&fixture("openai-chat/envoy-aigw__chat-streaming.yaml"), 1);
    let frames = sse_frames(&sse);
    let (fold, actions) = fold_all(&frames, true);
    assert!(actions.iter().all(|a| *a == FrameAction::Forward));
    assert!(fold.response().text.starts_with("Hi there!"));
    assert_eq!(fold.response().usage, None);
}

#[test]
fn detailed_usage_stream_reports_length_finish_and_reasoning() {
    let frames =
        sse_frames(&fixture("openai-chat/extracted/envoy-aigw__chat-streaming-detailed-usage.i0.response.sse"));
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
        let frames = sse_frames(&fixture(path));
        let (shown, _) = fold_all(&frames, false);
        let (hidden, actions) = fold_all(&frames, true);
        let dropped: Vec<&Frame> =
            frames.iter().zip(&actions).filter(|(_, a)| **a == FrameAction::Drop).map(|(f, _)| f).collect();
        assert_eq!(dropped.len(), 1, "{path}");
        assert!(is_usage_only_chunk(dropped[0]), "{path}");
        assert_eq!(hidden.response(), shown.response(), "{path}: folding does not depend on hiding");
        assert!(hidden.response().usage.is_some());
    }
}

#[test]
fn done_error_and_non_json_frames_are_forwarded_without_folding() {
    let mut fold = stream::Fold::new(true);
    for payload in
        ["[DONE]", "", ": keep-alive", "{not json", r#"{"error":{"message":"overloaded","usage":{"prompt_tokens":1}}}"#]
    {
        assert_eq!(fold.on_frame(&data_frame(payload)), FrameAction::Forward, "{payload}");
    }
    assert_eq!(*fold.response(), crate::view::Response::default());
}

#[test]
fn a_usage_chunk_that_also_carries_choices_is_never_dropped() {
    let mut fold = stream::Fold::new(true);
    let chunk = r#"{"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1}}"#;
    assert_eq!(fold.on_frame(&data_frame(chunk)), FrameAction::Forward);
    assert_eq!(fold.response().usage, Some(Usage { input: 5, output: 1, ..Usage::default() }));
    // Azure's prompt-filter chunk has empty choices but no usage: it is the client's.
    let filter = r#"{"choices":[],"model":"","prompt_filter_results":[{"prompt_index":0}]}"#;
    assert_eq!(fold.on_frame(&data_frame(filter)), FrameAction::Forward);
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
        (calls[0].id.as_deref(), calls[0].name.as_str(), &calls[0].arguments),
        (Some("a"), "f", &json!({"x": 1}))
    );
    assert_eq!(
        (calls[1].id.as_deref(), calls[1].name.as_str(), &calls[1].arguments),
        (Some("b"), "g", &json!({"y": 2}))
    );
}

#[test]
fn arguments_stay_empty_until_their_text_is_complete() {
    let mut fold = stream::Fold::new(false);
    fold.on_frame(&data_frame(
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"path\":\"/etc"}}]}}]}"#,
    ));
    assert_eq!(fold.response().tool_calls[0].arguments, json!({}));
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
    let calls: Vec<(&str, &Value)> =
        fold.response().tool_calls.iter().map(|c| (c.name.as_str(), &c.arguments)).collect();
    assert_eq!(calls, [("f", &json!({})), ("g", &json!({"k": "v"})), ("h", &json!({}))]);
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
    assert_eq!((calls[1].name.as_str(), &calls[1].arguments), ("old", &json!({"q": 1})));
    // Text and finish reason come from the first choice only.
    assert_eq!(fold.response().text, "");
}

#[test]
fn groq_usage_under_x_groq_is_folded() {
    let mut fold = stream::Fold::new(false);
    let chunk = r#"{"model":"llama","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"usage":{"prompt_tokens":10,"completion_tokens":3}}}"#;
    assert_eq!(fold.on_frame(&data_frame(chunk)), FrameAction::Forward);
    assert_eq!(fold.response().usage, Some(Usage { input: 10, output: 3, ..Usage::default() }));
}

// ---------------------------------------------------------------------------------------------
// Hostile input

mod properties {
    use super::super::test_support::arb_wire_json;
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_body_parses_without_panicking_and_pointers_stay_inside_it(body in arb_wire_json()) {
            let req = request::parse(&body);
            for result in &req.tool_results {
                let parent = result.pointer.trim_end_matches("/content");
                prop_assert!(body.pointer(parent).is_some(), "{} is inside the body", parent);
            }
            response::parse(&body);
            response::parse_embeddings(&body);
            let mut forced = body.clone();
            let asked = request::force_include_usage(&mut forced);
            if body.get("stream") == Some(&Value::Bool(true)) {
                prop_assert_eq!(forced.pointer("/stream_options/include_usage"), Some(&Value::Bool(true)));
            } else {
                prop_assert!(asked);
                prop_assert_eq!(&forced, &body);
            }
        }

        #[test]
        fn streamed_argument_views_always_match_their_raw_text(
            chunks in proptest::collection::vec(arb_wire_json(), 0..12),
            hide in any::<bool>(),
        ) {
            let mut fold = stream::Fold::new(hide);
            for chunk in &chunks {
                let action = fold.on_frame(&data_frame(&chunk.to_string()));
                prop_assert!(action == FrameAction::Forward || (hide && is_usage_only_chunk(&data_frame(&chunk.to_string()))));
            }
            for (i, call) in fold.response().tool_calls.iter().enumerate() {
                let raw = fold.raw_arguments(i).unwrap_or_default();
                prop_assert!(
                    call.arguments == crate::providers::json::parse_arguments(raw)
                        || call.arguments == crate::providers::json::custom_input(raw),
                    "{:?} vs {:?}", call.arguments, raw
                );
            }
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
            for (i, call) in fold.response().tool_calls.iter().enumerate() {
                let raw = fold.raw_arguments(i).unwrap_or_default();
                prop_assert!(
                    call.arguments == crate::providers::json::parse_arguments(raw)
                        || call.arguments == crate::providers::json::custom_input(raw),
                    "{:?} vs {:?}", call.arguments, raw
                );
            }
        }

        #[test]
        fn random_bytes_are_forwarded(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut fold = stream::Fold::new(true);
            let frame = Frame { name: None, raw: data.clone(), data };
            fold.on_frame(&frame);
        }
    }
}
