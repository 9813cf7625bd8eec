use super::{request, response, stream};
use crate::providers::openai_chat::test_support::{fixture, fixture_json, jsonl_frames, sse_frames, vcr_parsed_body};
use crate::providers::FrameAction;
use crate::stream::Frame;
use crate::view::{Role, ToolCall, Usage};
use serde_json::{json, Value};

fn roles(req: &crate::view::Request) -> Vec<Role> {
    req.messages.iter().map(|m| m.role).collect()
}

fn fold_all(frames: &[Frame]) -> stream::Fold {
    let mut fold = stream::Fold::new();
    for frame in frames {
        assert_eq!(fold.on_frame(frame), FrameAction::Forward, "every Responses frame goes to the client");
    }
    fold
}

fn event(name: &str, data: Value) -> Frame {
    let data = data.to_string();
    Frame {
        name: Some(name.to_owned()),
        raw: format!("event: {name}\ndata: {data}\n\n").into_bytes(),
        data: data.into_bytes(),
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

#[test]
fn function_call_output_gets_its_tool_name_and_a_pointer_that_resolves() {
    let body = fixture_json("openai-responses/extracted/pydantic-ai__responses_stream.i1.request.json");
    let req = request::parse(&body);
    assert_eq!(req.model.as_deref(), Some("gpt-4o"));
    assert!(req.stream);
    assert!(req.system.is_empty(), "empty instructions are no system prompt");
    assert_eq!(roles(&req), [Role::User, Role::Tool]);
    assert_eq!(req.messages[0].text, "What is the capital of France?");
    assert_eq!(req.tools.len(), 1);
    assert_eq!(req.tools[0].name, "get_capital");
    assert_eq!(req.tools[0].parameters.as_ref().unwrap()["properties"]["country"]["type"], json!("string"));
    let call_id = "fc_67e554a1de488191af0831d35cbe082e0794405d35281ae2";
    assert_eq!(
        req.tool_calls,
        [ToolCall { id: Some(call_id.into()), name: "get_capital".into(), arguments: json!({"country": "France"}) }]
    );
    let result = &req.tool_results[0];
    assert_eq!(result.pointer, "/input/2/output");
    assert_eq!(result.call_id.as_deref(), Some(call_id));
    assert_eq!(result.tool_name.as_deref(), Some("get_capital"));
    assert_eq!(result.content, "Paris");
    assert_eq!(body.pointer(&result.pointer), Some(&json!("Paris")));
}

#[test]
fn recorded_follow_up_request_carries_the_call_and_its_output() {
    let cassette =
        fixture("openai-responses/pydantic-ai__test_openai_responses_model_simple_response_with_tool_call.yaml");
    let body = vcr_parsed_body(&cassette, 2);
    let req = request::parse(&body);
    assert!(!req.stream);
    assert_eq!(req.tool_calls[0].id.as_deref(), Some("call_YfwRsW8sUxDKipwyhWTzOXCA"));
    assert_eq!(req.tool_calls[0].arguments, json!({"country": "PotatoLand"}));
    assert_eq!(req.tool_results[0].tool_name.as_deref(), Some("get_capital"));
    assert_eq!(body.pointer(&req.tool_results[0].pointer), Some(&json!("Potato City")));
    assert_eq!(req.tools[0].description, None);
}

#[test]
fn string_input_is_one_user_message_and_instructions_are_system() {
    let req = request::parse(&json!({"model": "gpt-5", "instructions": "Be brief.", "input": "Hi"}));
    assert_eq!(req.system, ["Be brief."]);
    assert_eq!(roles(&req), [Role::User]);
    assert_eq!(req.messages[0].text, "Hi");
}

#[test]
fn message_items_custom_calls_and_part_outputs_are_read() {
    let body = json!({
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "input_image", "image_url": "x"}, {"type": "input_text", "text": "b"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done"}]},
            {"type": "reasoning", "summary": []},
            {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "*** Begin Patch"},
            {"type": "custom_tool_call_output", "call_id": "c1", "output": "ok"},
            {"type": "function_call", "call_id": "c2", "name": "f", "arguments": "{\"a\":[1]}"},
            {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "{\"rows\":2}"}]},
            {"type": "function_call_output", "call_id": "nobody", "output": "orphan"}
        ],
        "tools": [
            {"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}},
            {"type": "custom", "name": "apply_patch"},
            {"type": "web_search"}
        ]
    });
    let req = request::parse(&body);
    assert_eq!(roles(&req), [Role::System, Role::User, Role::Assistant, Role::Tool, Role::Tool, Role::Tool]);
    assert_eq!(req.messages[1].text, "a\nb");
    assert_eq!(req.tool_calls[0].arguments, json!({"input": "*** Begin Patch"}));
    assert_eq!(req.tool_calls[1].arguments, json!({"a": [1]}));
    let names: Vec<Option<&str>> = req.tool_results.iter().map(|r| r.tool_name.as_deref()).collect();
    assert_eq!(names, [Some("apply_patch"), Some("f"), None]);
    assert_eq!(req.tool_results[1].content, "{\"rows\":2}");
    assert_eq!(req.tool_results[1].pointer, "/input/7/output");
    for result in &req.tool_results {
        assert!(body.pointer(&result.pointer).is_some(), "{} resolves", result.pointer);
    }
    let tools: Vec<&str> = req.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tools, ["f", "apply_patch"]);
}

#[test]
fn odd_request_bodies_give_defaults() {
    for body in [json!(null), json!({"input": 5, "tools": "x"}), json!({"input": [null, 1, {"type": "function_call"}]})]
    {
        let req = request::parse(&body);
        assert!(req.messages.is_empty() && req.tool_calls.is_empty() && req.tools.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

#[test]
fn basic_response_gives_text_status_and_usage() {
    let resp = response::parse(&fixture_json("openai-responses/agw__responses-basic.json"));
    assert_eq!(resp.model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(resp.text, "Hello! How can I assist you today?");
    assert_eq!(resp.finish_reason.as_deref(), Some("completed"));
    assert_eq!(resp.usage, Some(Usage { input: 10, output: 10, ..Usage::default() }));
}

#[test]
fn function_call_output_item_is_a_tool_call() {
    let cassette =
        fixture("openai-responses/pydantic-ai__test_openai_responses_model_simple_response_with_tool_call.yaml");
    let resp = response::parse(&vcr_parsed_body(&cassette, 1));
    assert_eq!(
        resp.tool_calls,
        [ToolCall {
            id: Some("call_YfwRsW8sUxDKipwyhWTzOXCA".into()),
            name: "get_capital".into(),
            arguments: json!({"country": "PotatoLand"}),
        }]
    );
    assert_eq!(resp.usage, Some(Usage { input: 40, output: 18, ..Usage::default() }));
    let answer = response::parse(&vcr_parsed_body(&cassette, 3));
    assert_eq!(answer.text, "The capital of PotatoLand is Potato City.");
    assert!(answer.tool_calls.is_empty());
}

#[test]
fn cached_input_tokens_are_taken_out_of_input() {
    let cassette = fixture("openai-responses/pydantic-ai__test_openai_responses_prompt_cache_e2e.yaml");
    let resp = response::parse(&vcr_parsed_body(&cassette, 3));
    assert_eq!(resp.model.as_deref(), Some("gpt-5.6-sol"));
    assert_eq!(resp.text, "OK");
    assert_eq!(resp.usage, Some(Usage { input: 4020 - 4012, output: 5, cache_read: 4012, ..Usage::default() }));
}

#[test]
fn incomplete_responses_report_why_they_stopped() {
    let body = json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "par"}, {"type": "refusal", "refusal": "no"}]}],
        "usage": {"input_tokens": 1, "input_tokens_details": {"cached_tokens": 5}}});
    let resp = response::parse(&body);
    assert_eq!(resp.finish_reason.as_deref(), Some("max_output_tokens"));
    assert_eq!(resp.text, "parno");
    assert_eq!(resp.usage.unwrap().input, 0);
    assert_eq!(response::parse(&json!([])), crate::view::Response::default());
}

// ---------------------------------------------------------------------------------------------
// Streams

#[test]
fn tool_call_stream_folds_the_completed_call_once() {
    let frames = sse_frames(&fixture("openai-responses/extracted/pydantic-ai__responses_stream.i0.response.sse"));
    let fold = fold_all(&frames);
    let resp = fold.response();
    assert_eq!(resp.model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(
        resp.tool_calls,
        [ToolCall {
            id: Some("call_kL0PCQV7M2WMoVX8V8OtYSAL".into()),
            name: "get_capital".into(),
            arguments: json!({"country": "France"}),
        }]
    );
    assert_eq!(resp.finish_reason.as_deref(), Some("completed"));
    assert_eq!(resp.usage, Some(Usage { input: 255, output: 16, ..Usage::default() }));
}

#[test]
fn reasoning_stream_reports_reasoning_tokens() {
    let frames =
        sse_frames(&fixture("openai-responses/extracted/pydantic-ai__responses_streaming_usage.i0.response.sse"));
    let resp = fold_all(&frames).response().clone();
    let names: Vec<&str> = resp.tool_calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["final_result"]);
    assert_eq!(resp.tool_calls[0].arguments, json!({"result": 6666}));
    assert_eq!(resp.usage, Some(Usage { input: 53, output: 469, reasoning: 448, ..Usage::default() }));
}

#[test]
fn model_comes_from_the_response_not_from_its_tools() {
    let frames = sse_frames(&fixture("openai-responses/agw__responses-stream-image.sse"));
    assert!(frames.iter().any(|f| f.name.as_deref() == Some("keepalive")));
    let resp = fold_all(&frames).response().clone();
    assert_eq!(resp.model.as_deref(), Some("gpt-5-2025-08-07"));
    assert!(resp.tool_calls.is_empty());
    assert_eq!(resp.usage, Some(Usage { input: 1755, output: 1314, reasoning: 1152, ..Usage::default() }));
}

#[test]
fn failed_stream_reports_failed_without_usage() {
    let frames = jsonl_frames(&fixture("openai-responses/vercel-ai__openai-error.1.chunks.jsonl"));
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
    assert_eq!(resp.tool_calls, [ToolCall { id: Some("c".into()), name: "f".into(), arguments: json!({"k": 1}) }]);
}

mod properties {
    use super::*;
    use crate::providers::openai_chat::test_support::arb_wire_json;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_body_or_event_is_read_without_panicking(body in arb_wire_json(), name in proptest::option::of("[a-z._]{0,24}")) {
            let req = request::parse(&body);
            for result in &req.tool_results {
                let parent = result.pointer.trim_end_matches("/output");
                prop_assert!(body.pointer(parent).is_some(), "{} is inside the body", parent);
            }
            response::parse(&body);
            let data = body.to_string();
            let mut fold = stream::Fold::new();
            let frame = Frame { name, raw: data.clone().into_bytes(), data: data.into_bytes() };
            prop_assert_eq!(fold.on_frame(&frame), FrameAction::Forward);
        }
    }
}
