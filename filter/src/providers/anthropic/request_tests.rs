use super::parse;
use crate::testutil::read_json;
use crate::view::{JsonText, Role};
use serde_json::{json, Value};

/// The request body of interaction `i` of an anthropic-sdk-python runner snapshot.
fn recorded_request(name: &str, i: usize) -> Value {
    read_json(name)[i]["request"]["body"].clone()
}

#[test]
fn recorded_tool_result_is_named_after_its_tool_use() {
    let body = recorded_request("anthropic-messages/anthropic-sdk-py__runner-tools__a8ac789b.json", 1);
    let req = parse(&body);

    assert_eq!(req.model.as_deref(), Some("claude-haiku-4-5"));
    assert!(!req.stream);
    assert_eq!(req.messages.len(), 3);
    assert_eq!(req.messages[0].role, Role::User);
    assert_eq!(req.messages[0].text, "What's the weather in SF in Celsius?");
    assert_eq!(req.messages[1].role, Role::Assistant);

    assert_eq!(req.tool_calls.len(), 1);
    assert_eq!(req.tool_calls[0].id.as_deref(), Some("toolu_013DU6hV4C1M8dJ32ybQFAFi"));
    assert_eq!(req.tool_calls[0].name, "get_weather");
    assert_eq!(req.tool_calls[0].arguments, json!({"location": "SF", "units": "c"}));

    assert_eq!(req.tool_results.len(), 1);
    let result = &req.tool_results[0];
    assert_eq!(result.pointer, "/messages/2/content/0/content");
    assert_eq!(result.call_id.as_deref(), Some("toolu_013DU6hV4C1M8dJ32ybQFAFi"));
    assert_eq!(result.tool_name.as_deref(), Some("get_weather"));
    // The SDK sent Python json.dumps output, with its `\u00b0` escape, as a plain string.
    assert_eq!(result.content, r#"{"location": "SF", "temperature": "20\u00b0C", "condition": "Sunny"}"#);
    assert!(!result.is_error);
    assert_eq!(body.pointer(&result.pointer).and_then(Value::as_str), Some(result.content.as_str()));

    assert_eq!(req.tools.len(), 1);
    assert_eq!(req.tools[0].name, "get_weather");
    assert_eq!(req.tools[0].description.as_deref(), Some(""));
    assert_eq!(
        req.tools[0].parameters.as_ref().map(|p| p.value()["required"].clone()),
        Some(json!(["location", "units"]))
    );
}

#[test]
fn recorded_streaming_request_sets_the_stream_flag() {
    let body = read_json("anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i1.request.json");
    let req = parse(&body);

    assert!(req.stream);
    assert_eq!(req.tool_calls[0].arguments, json!({"location": "San Francisco, CA", "units": "f"}));
    let result = &req.tool_results[0];
    assert_eq!(result.tool_name.as_deref(), Some("get_weather"));
    assert!(body.pointer(&result.pointer).is_some());
    assert_eq!(
        req.tools[0].description.as_deref(),
        Some("Lookup the weather for a given city in either celsius or fahrenheit")
    );
}

#[test]
fn tool_result_without_a_matching_tool_use_has_no_name() {
    // The recorded request the API rejected with 400: the tool_use turn was dropped.
    let body = recorded_request("anthropic-messages/anthropic-sdk-py__runner-tools-400__f59a9391.json", 1);
    let req = parse(&body);

    assert!(req.tool_calls.is_empty());
    assert_eq!(req.tool_results.len(), 1);
    assert_eq!(req.tool_results[0].call_id.as_deref(), Some("toolu_01GHndag5wQmbzNihYmV2UBj"));
    assert_eq!(req.tool_results[0].tool_name, None);
    assert_eq!(req.tool_results[0].pointer, "/messages/1/content/0/content");
    assert!(body.pointer(&req.tool_results[0].pointer).is_some());
}

#[test]
fn system_is_read_from_a_string_or_text_blocks() {
    assert_eq!(parse(&json!({"system": "be brief"})).system, vec!["be brief"]);
    let blocks = json!({"system": [
        {"type": "text", "text": "one", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "two"}
    ]});
    assert_eq!(parse(&blocks).system, vec!["one", "two"]);
    assert!(parse(&json!({"system": 3})).system.is_empty());
}

#[test]
fn message_text_joins_text_blocks_and_skips_others() {
    let body = json!({"messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "a"},
            {"type": "image", "source": {"type": "base64", "data": "xx"}},
            {"type": "text", "text": "b"}
        ]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": "c"}
        ]}
    ]});
    let req = parse(&body);
    assert_eq!(req.messages[0].text, "a\nb");
    assert_eq!(req.messages[1].text, "c");
}

#[test]
fn parallel_tool_results_resolve_each_name_and_flag_errors() {
    let body = json!({"messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "calling"},
            {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "/a"}},
            {"type": "tool_use", "id": "t2", "name": "fetch", "input": "not an object"}
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t2", "is_error": true,
             "content": [{"type": "text", "text": "timeout"}]},
            {"type": "tool_result", "tool_use_id": "t1",
             "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]},
            {"type": "text", "text": "and now?"}
        ]}
    ]});
    let req = parse(&body);

    assert_eq!(req.tool_calls.len(), 2);
    assert_eq!(req.tool_calls[1].arguments, crate::view::Arguments::Unreadable(crate::view::Unreadable::NotAnObject));
    assert_eq!(req.messages[2].text, "and now?");

    let [first, second] = req.tool_results.as_slice() else { panic!("two results") };
    assert_eq!(first.tool_name.as_deref(), Some("fetch"));
    assert!(first.is_error);
    assert_eq!(first.content, "timeout");
    assert_eq!(first.pointer, "/messages/2/content/0/content");
    assert_eq!(second.tool_name.as_deref(), Some("read_file"));
    assert!(!second.is_error);
    assert_eq!(second.content, r#"[{"type":"text","text":"x"},{"type":"text","text":"y"}]"#);
    assert_eq!(second.pointer, "/messages/2/content/1/content");
    assert!(body.pointer(&second.pointer).is_some());
}

#[test]
fn tool_blocks_in_the_wrong_role_are_ignored() {
    let body = json!({"messages": [
        {"role": "user", "content": [{"type": "tool_use", "id": "x", "name": "n", "input": {}}]},
        {"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "r"}]}
    ]});
    let req = parse(&body);
    assert!(req.tool_calls.is_empty());
    assert!(req.tool_results.is_empty());
}

#[test]
fn server_tools_without_a_schema_keep_their_name() {
    let body = json!({"tools": [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
        {"name": "calc", "description": "adds", "input_schema": {"type": "object"}},
        {"type": "nameless"}
    ]});
    let tools = parse(&body).tools;
    assert_eq!(tools.len(), 2);
    assert_eq!(tools[0].name, "web_search");
    assert_eq!(tools[0].parameters, None);
    assert_eq!(tools[1].parameters, Some(JsonText::of(&json!({"type": "object"}))));
}

#[test]
fn odd_bodies_give_defaults() {
    for body in [json!(null), json!([]), json!({"messages": "x", "tools": {}, "stream": "yes"})] {
        let req = parse(&body);
        assert_eq!(req, crate::view::Request::default());
    }
}
