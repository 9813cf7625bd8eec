use super::*;
use crate::testutil::{self, roles};
use crate::view::{Role, ToolCall, ToolDecl};
use serde_json::json;

#[test]
fn snake_case_history_from_llm_gemini_is_read() {
    let body = testutil::read_json("gemini/extracted/llm-gemini__test_tools.i1.request.json");
    let req = parse(&body);

    assert_eq!(req.model, None);
    assert!(!req.stream);
    assert!(req.system.is_empty());
    assert_eq!(roles(&req), [Role::User, Role::Assistant, Role::Tool]);
    assert_eq!(req.messages[0].text, "Two names for a pet pelican");
    assert_eq!(
        req.tool_calls,
        [ToolCall {
            id: Some("call_27db36357f594e73b557ec8f70da9e87".into()),
            name: "pelican_name_generator".into(),
            arguments: json!({}).into(),
        }]
    );
    let result = &req.tool_results[0];
    assert_eq!(result.pointer, "/contents/2/parts/0/function_response/response");
    assert_eq!(body.pointer(&result.pointer), Some(&json!({"output": "Charles"})));
    assert_eq!(result.call_id.as_deref(), Some("call_27db36357f594e73b557ec8f70da9e87"));
    assert_eq!(result.tool_name.as_deref(), Some("pelican_name_generator"));
    assert_eq!(result.content, "Charles");
    assert!(!result.is_error);
    assert_eq!(req.messages[2].text, "Charles");
    assert_eq!(
        req.tools,
        [ToolDecl {
            name: "pelican_name_generator".into(),
            custom: false,
            description: None,
            parameters: Some(JsonText::of(&json!({"properties": {}, "type": "object"}))),
        }]
    );
}

#[test]
fn object_function_response_in_a_tool_turn_is_serialised() {
    let body = testutil::read_json("gemini/louter__streaming_function_calling_request_1.json");
    let req = parse(&body);

    assert_eq!(roles(&req), [Role::User, Role::Assistant, Role::Tool]);
    assert_eq!(req.tool_calls[0].name, "getWeather");
    assert_eq!(req.tool_calls[0].arguments, json!({"location": "Tokyo", "unit": "celsius"}));
    assert_eq!(req.tool_calls[0].id, None);
    let result = &req.tool_results[0];
    assert_eq!(result.tool_name.as_deref(), Some("getWeather"));
    assert_eq!(result.call_id, None);
    let response = body.pointer(&result.pointer).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&result.content).unwrap(), *response);
    assert_eq!(response["condition"], "Cloudy");
    assert_eq!(req.tools.len(), 1);
    assert_eq!(req.tools[0].name, "getWeather");
    assert_eq!(req.tools[0].description.as_deref(), Some("指定された都市の現在の天気を取得する"));
    assert_eq!(req.tools[0].parameters.as_ref().unwrap().value()["required"], json!(["location"]));
}

#[test]
fn camel_case_history_from_pydantic_ai_is_read() {
    let rel = "gemini/pydantic-ai__test_google_tool_output.yaml";
    let body = testutil::cassette_request(rel, 1);
    let req = parse(&body);

    assert_eq!(req.tool_calls[0].id.as_deref(), Some("pyd_ai_3fa5644dae1d4aad997ae39c70006fbd"));
    assert_eq!(req.tool_calls[0].name, "get_user_country");
    let result = &req.tool_results[0];
    assert_eq!(result.pointer, "/contents/2/parts/0/functionResponse/response");
    assert_eq!(body.pointer(&result.pointer), Some(&json!({"return_value": "Mexico"})));
    assert_eq!(result.content, r#"{"return_value":"Mexico"}"#);
    assert_eq!(result.call_id, req.tool_calls[0].id);
    assert_eq!(result.tool_name.as_deref(), Some("get_user_country"));
    let names: Vec<&str> = req.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["get_user_country", "final_result"]);
    assert_eq!(req.tools[1].description.as_deref(), Some("The final response which ends this conversation"));
}

#[test]
fn system_instruction_parts_are_the_system_prompt() {
    let body = testutil::cassette_request("gemini/pydantic-ai__test_google_model_iter_stream.yaml", 1);
    let req = parse(&body);

    assert_eq!(req.system, ["You are a helpful chatbot."]);
    assert_eq!(req.messages[0].text, "What is the temperature of the capital of France?");
    assert_eq!(req.tool_results[0].content, r#"{"return_value":"Paris"}"#);
    assert_eq!(req.tools.len(), 2);
}

#[test]
fn a_single_tool_object_and_json_schema_parameters_are_accepted() {
    let body = json!({
        "system_instruction": {"parts": [{"text": "be brief"}, {"text": ""}]},
        "tools": {"functionDeclarations": [
            {"name": "a", "description": "first", "parametersJsonSchema": {"type": "object"}},
            {"description": "nameless declarations are skipped"}
        ]},
    });
    let req = parse(&body);
    assert_eq!(req.system, ["be brief"]);
    assert_eq!(
        req.tools,
        [ToolDecl {
            name: "a".into(),
            custom: false,
            description: Some("first".into()),
            parameters: Some(JsonText::of(&json!({"type": "object"})))
        }]
    );
}

#[test]
fn output_and_content_wrappers_are_unwrapped() {
    let body = json!({"contents": [{"role": "user", "parts": [
        {"functionResponse": {"name": "a", "response": {"output": "plain"}}},
        {"functionResponse": {"name": "b", "response": {"content": [{"type": "text", "text": "block"}]}}},
        {"functionResponse": {"name": "c", "response": {"content": "lone"}}},
        {"functionResponse": {"name": "d", "response": {"output": {"n": 1}}}},
        {"functionResponse": {"name": "e", "response": {"output": "x", "extra": true}}},
    ]}]});
    let req = parse(&body);
    let contents: Vec<&str> = req.tool_results.iter().map(|r| r.content.as_str()).collect();
    assert_eq!(contents, ["plain", "block", "lone", r#"{"output":{"n":1}}"#, r#"{"output":"x","extra":true}"#]);
    for result in &req.tool_results {
        assert!(body.pointer(&result.pointer).is_some(), "{}", result.pointer);
    }
}

#[test]
fn an_error_response_marks_the_result_as_an_error() {
    let body = json!({"contents": [{"role": "function", "parts": [
        {"functionResponse": {"name": "a", "response": {"error": "boom"}}},
        {"functionResponse": {"name": "b", "response": {"output": "ok"}}},
    ]}]});
    let req = parse(&body);
    assert!(req.tool_results[0].is_error);
    assert!(!req.tool_results[1].is_error);
    assert_eq!(req.messages[0].role, Role::Tool);
}

#[test]
fn thought_parts_and_model_path_prefix_are_handled() {
    let body = json!({
        "model": "models/gemini-2.5-flash",
        "contents": [{"role": "model", "parts": [{"text": "thinking…", "thought": true}, {"text": "answer"}]}],
    });
    let req = parse(&body);
    assert_eq!(req.model.as_deref(), Some("gemini-2.5-flash"));
    assert_eq!(req.messages, [view::Message { role: Role::Assistant, text: "answer".into() }]);
}

#[test]
fn odd_shapes_give_defaults_instead_of_failing() {
    for body in [
        json!(null),
        json!([1, 2]),
        json!({"contents": "x", "tools": 3, "systemInstruction": 5}),
        json!({"contents": [null, {"parts": [null, {"functionCall": 1}, {"functionResponse": {"response": 2}}]}]}),
        json!({"tools": [{"functionDeclarations": [{"name": 1}]}, null]}),
    ] {
        let req = parse(&body);
        assert!(req.tools.is_empty());
        assert!(req.system.is_empty());
    }
    let req = parse(&json!({"contents": [{"parts": [{"functionCall": {"args": [1]}}]}]}));
    assert_eq!(req.tool_calls[0].arguments, crate::view::Arguments::Unreadable(crate::view::Unreadable::NotAnObject));
}
