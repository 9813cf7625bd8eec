use crate::providers::openai_chat::{request, response};
use crate::testutil::{arb_wire_json, cassette_request, read_json, roles};
use crate::view::{Role, ToolCall, ToolDecl};
use proptest::prelude::*;
use serde_json::{json, Value};

#[test]
fn multi_turn_request_resolves_tool_result_names_and_pointers() {
    let body = read_json("openai-chat/extracted/pydantic-ai__run_stream_sync.i1.request.json");
    let req = request::parse(&body);
    assert_eq!(req.model.as_deref(), Some("gpt-4o-mini"));
    assert!(req.stream);
    assert_eq!(roles(&req), [Role::User, Role::Assistant, Role::Tool]);
    assert_eq!(req.messages[0].text, "What is the capital of the UK? Use the tool, then answer.");
    assert_eq!(req.tools.len(), 1);
    assert_eq!(req.tools[0].name, "get_capital");
    assert_eq!(req.tools[0].parameters.as_ref().unwrap().value()["required"], json!(["country"]));
    assert_eq!(
        req.tool_calls,
        [ToolCall {
            id: Some("call_ZR5UUuTt3pf61kjwAJIYdVMj".into()),
            name: "get_capital".into(),
            arguments: json!({"country": "UK"}).into(),
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
    let body: Value = cassette_request("openai-chat/envoy-aigw__chat-multiturn.yaml", 0);
    let req = request::parse(&body);
    assert_eq!(req.model.as_deref(), Some("gpt-5-nano"));
    assert!(!req.stream);
    assert_eq!(roles(&req), [Role::System, Role::User, Role::Assistant, Role::User]);
    assert_eq!(req.messages[0].text, "You are a helpful assistant.");
    assert!(req.system.is_empty());
}

#[test]
fn declared_tools_come_from_function_and_custom_entries() {
    let body: Value = cassette_request("openai-chat/envoy-aigw__chat-tools.yaml", 0);
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
    assert_eq!(req.tool_calls[1].arguments, crate::view::Arguments::Unreadable(crate::view::Unreadable::NotJson));
    assert_eq!(req.tool_calls[2].arguments, json!({"already": "object"}));
    assert_eq!(req.tool_calls[3], ToolCall { id: None, name: "old".into(), arguments: json!({"x": 1}).into() });
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
        // A `function` object without a name is still a call (with no name), never a named one.
        assert!(req.tool_calls.iter().all(|c| c.name.is_empty()));
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
    let body = read_json("openai-chat/extracted/pydantic-ai__run_stream_sync.i1.request.json");
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
}
