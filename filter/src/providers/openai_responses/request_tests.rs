use crate::providers::openai_responses::{request, response, stream};
use crate::stream::Frame;
use crate::testutil::{arb_wire_json, cassette_request, read_json, roles};
use crate::view::{Role, ToolCall};
use proptest::prelude::*;
use serde_json::json;

#[test]
fn function_call_output_gets_its_tool_name_and_a_pointer_that_resolves() {
    let body = read_json("openai-responses/extracted/pydantic-ai__responses_stream.i1.request.json");
    let req = request::parse(&body);
    assert_eq!(req.model.as_deref(), Some("gpt-4o"));
    assert!(req.stream);
    assert!(req.system.is_empty(), "empty instructions are no system prompt");
    assert_eq!(roles(&req), [Role::User, Role::Tool]);
    assert_eq!(req.messages[0].text, "What is the capital of France?");
    assert_eq!(req.tools.len(), 1);
    assert_eq!(req.tools[0].name, "get_capital");
    assert_eq!(req.tools[0].parameters.as_ref().unwrap().value()["properties"]["country"]["type"], json!("string"));
    let call_id = "fc_67e554a1de488191af0831d35cbe082e0794405d35281ae2";
    assert_eq!(
        req.tool_calls,
        [ToolCall {
            id: Some(call_id.into()),
            name: "get_capital".into(),
            arguments: json!({"country": "France"}).into()
        }]
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
    let body = cassette_request(
        "openai-responses/pydantic-ai__test_openai_responses_model_simple_response_with_tool_call.yaml",
        1,
    );
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
        assert!(req.messages.is_empty() && req.tools.is_empty());
        // A call item without a name is kept as an unnamed call, which policy always refuses.
        assert!(req.tool_calls.iter().all(|c| c.name.is_empty()));
    }
}

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
        prop_assert!(!fold.on_frame(&frame).drop);
    }
}
