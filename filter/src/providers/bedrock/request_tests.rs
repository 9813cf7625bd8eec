use super::*;
use crate::testutil::{self, roles};
use crate::view::{ToolCall, ToolDecl};
use serde_json::json;

#[test]
fn converse_stream_history_from_boto3_is_read() {
    let body = testutil::read_json("bedrock/extracted/pydantic-ai__bedrock_iter_stream.i1.request.json");
    let req = parse(&body);

    assert_eq!(req.model, None);
    assert!(!req.stream);
    assert_eq!(req.system, ["You are a helpful chatbot."]);
    assert_eq!(roles(&req), [Role::User, Role::Assistant, Role::Tool]);
    assert!(req.messages[1].text.starts_with("<thinking> To find the temperature"));
    assert_eq!(
        req.tool_calls,
        [ToolCall {
            id: Some("tooluse_lAG_zP8QRHmSYOwZzzaCqA".into()),
            name: "get_temperature".into(),
            arguments: json!({"city": "Paris"}).into(),
        }]
    );
    let result = &req.tool_results[0];
    assert_eq!(result.pointer, "/messages/2/content/0/toolResult/content");
    assert_eq!(body.pointer(&result.pointer), Some(&json!([{"text": "30°C"}])));
    assert_eq!(result.call_id.as_deref(), Some("tooluse_lAG_zP8QRHmSYOwZzzaCqA"));
    assert_eq!(result.tool_name.as_deref(), Some("get_temperature"));
    assert_eq!(result.content, "30°C");
    assert!(!result.is_error);
    assert_eq!(req.messages[2].text, "30°C");
    let names: Vec<&str> = req.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["get_capital", "get_temperature"]);
    assert_eq!(req.tools[1].description.as_deref(), Some("Get the temperature in a city."));
    assert_eq!(req.tools[1].parameters.as_ref().unwrap().value()["required"], json!(["city"]));
}

#[test]
fn every_result_of_a_multi_turn_agent_gets_its_tool_name() {
    let body = testutil::cassette_request("bedrock/pydantic-ai__test_bedrock_mixed_strict_tool_run.yaml", 2);
    let req = parse(&body);

    assert_eq!(roles(&req), [Role::User, Role::Assistant, Role::Tool, Role::Assistant, Role::Tool]);
    let calls: Vec<(&str, Option<&Value>)> =
        req.tool_calls.iter().map(|c| (c.name.as_str(), c.arguments.object())).collect();
    assert_eq!(calls, [("country_source", Some(&json!({}))), ("capital_lookup", Some(&json!({"country": "Japan"})))]);
    let results: Vec<(Option<&str>, &str)> =
        req.tool_results.iter().map(|r| (r.tool_name.as_deref(), r.content.as_str())).collect();
    assert_eq!(results, [(Some("country_source"), "Japan"), (Some("capital_lookup"), "Tokyo")]);
    for result in &req.tool_results {
        assert!(body.pointer(&result.pointer).is_some(), "{}", result.pointer);
    }
    assert_eq!(req.system.len(), 1);
    assert_eq!(req.tools.len(), 2);
}

#[test]
fn cache_points_are_neither_system_text_nor_tools() {
    let body = testutil::cassette_request("bedrock/pydantic-ai__test_bedrock_cache_write_and_read.yaml", 0);
    let req = parse(&body);

    assert_eq!(req.system.len(), 1);
    assert!(req.system[0].starts_with("YOU MUST RESPONSE ONLY WITH SINGLE NUMBER\n"));
    let names: Vec<&str> = req.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["catalog_lookup", "diagnostics"]);
    assert!(req.messages[0].text.ends_with("What is 10 + 11?"));
}

#[test]
fn result_content_blocks_are_reduced_to_text() {
    let body = json!({
        "modelId": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "messages": [
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {"q": "x"}}}]},
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"json": {"rows": [1, 2]}}]}},
                {"toolResult": {"toolUseId": "t1", "content": [{"text": "a"}, {"text": "b"}], "status": "error"}},
                {"toolResult": {"toolUseId": "unknown", "content": []}},
                {"text": "and a question"},
            ]},
        ],
    });
    let req = parse(&body);

    assert_eq!(req.model.as_deref(), Some("us.anthropic.claude-sonnet-4-5-20250929-v1:0"));
    let contents: Vec<&str> = req.tool_results.iter().map(|r| r.content.as_str()).collect();
    assert_eq!(contents, [r#"{"rows":[1,2]}"#, r#"[{"text":"a"},{"text":"b"}]"#, "[]"]);
    let errors: Vec<bool> = req.tool_results.iter().map(|r| r.is_error).collect();
    assert_eq!(errors, [false, true, false]);
    assert_eq!(req.tool_results[2].tool_name, None);
    // A turn with text is the user's, even when it also carries results.
    assert_eq!(req.messages[1], view::Message { role: Role::User, text: "and a question".into() });
}

#[test]
fn results_find_their_call_wherever_it_is_in_the_history() {
    let body = json!({"messages": [
        {"role": "user", "content": [{"toolResult": {"toolUseId": "late", "content": [{"text": "r"}]}}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "late", "name": "named_later", "input": {}}}]},
    ]});
    assert_eq!(parse(&body).tool_results[0].tool_name.as_deref(), Some("named_later"));
}

#[test]
fn tool_specs_without_a_name_are_skipped() {
    let body = json!({"toolConfig": {"tools": [
        {"toolSpec": {"description": "no name"}},
        {"toolSpec": {"name": "bare"}},
        {"cachePoint": {"type": "default"}},
    ]}});
    assert_eq!(
        parse(&body).tools,
        [ToolDecl { name: "bare".into(), custom: false, description: None, parameters: None }]
    );
}

#[test]
fn odd_shapes_give_defaults_instead_of_failing() {
    for body in [
        json!(null),
        json!("text"),
        json!({"messages": {"role": "user"}, "system": "x", "toolConfig": []}),
        json!({"messages": [null, {"content": [null, {"toolUse": 1}, {"toolResult": "x"}]}]}),
        json!({"toolConfig": {"tools": [null, {"toolSpec": {"name": 3}}]}}),
    ] {
        let req = parse(&body);
        assert!(req.tool_calls.is_empty());
        assert!(req.tool_results.is_empty());
        assert!(req.tools.is_empty());
    }
}
