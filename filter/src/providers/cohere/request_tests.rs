use super::parse;
use crate::testutil::read_json;
use crate::view::Role;
use serde_json::json;

#[test]
fn recorded_agent_request_resolves_tool_results_by_call_id() {
    let body = read_json("cohere/extracted/lc-cohere__langgraph_react_agent.i2.request.json");
    let req = parse(&body);

    assert_eq!(req.model.as_deref(), Some("command-a-03-2025"));
    assert!(!req.stream);
    assert!(req.system.is_empty());
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::Tool, Role::Assistant, Role::Tool]);
    assert_eq!(req.messages[0].text, "You are a helpful assistant. Respond only in English.");
    assert!(req.messages[2].text.starts_with("I will first search for Barack Obama's age."));

    assert_eq!(req.tool_calls.len(), 2);
    assert_eq!(req.tool_calls[0].id.as_deref(), Some("web_search_eyqpk2grf0f7"));
    assert_eq!(req.tool_calls[0].name, "web_search");
    assert_eq!(req.tool_calls[0].arguments, json!({"query": "Barack Obama's age"}));
    assert_eq!(req.tool_calls[1].name, "python_interpeter_temp");
    assert!(req.tool_calls[1].arguments.object().unwrap()["code"].as_str().unwrap().contains("math.sqrt(age)"));

    assert_eq!(req.tool_results.len(), 2);
    let first = &req.tool_results[0];
    assert_eq!(first.pointer, "/messages/3/content");
    assert_eq!(first.call_id.as_deref(), Some("web_search_eyqpk2grf0f7"));
    assert_eq!(first.tool_name.as_deref(), Some("web_search"));
    assert_eq!(first.content, r#"{"output":"60"}"#);
    assert!(!first.is_error);
    let second = &req.tool_results[1];
    assert_eq!(second.pointer, "/messages/5/content");
    assert_eq!(second.tool_name.as_deref(), Some("python_interpeter_temp"));
    assert_eq!(second.content, r#"{"output":"7.75"}"#);
    for result in &req.tool_results {
        assert!(body.pointer(&result.pointer).is_some(), "{} resolves", result.pointer);
    }

    assert_eq!(req.tools.len(), 2);
    assert_eq!(req.tools[0].name, "web_search");
    assert!(req.tools[0].description.as_deref().unwrap().starts_with("Search the web"));
    assert_eq!(req.tools[0].parameters.as_ref().map(|p| p.value()["required"].clone()), Some(json!(["query"])));
}

#[test]
fn tool_content_may_be_a_string_text_parts_or_string_documents() {
    let body = json!({"stream": true, "messages": [
        {"role": "assistant", "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "one", "arguments": "{}"}},
            {"id": "b", "type": "function", "function": {"name": "two", "arguments": {"k": 1}}},
            {"id": "c", "type": "function", "function": {"name": "three", "arguments": "nope"}}
        ]},
        {"role": "tool", "tool_call_id": "a", "content": "plain"},
        {"role": "tool", "tool_call_id": "b", "content": [{"type": "text", "text": "t1"}, {"type": "text", "text": "t2"}]},
        {"role": "tool", "tool_call_id": "c", "content": [{"type": "document", "document": {"data": "doc text", "id": "1"}}]},
        {"role": "tool", "tool_call_id": "zzz", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}
    ]});
    let req = parse(&body);

    assert!(req.stream);
    assert_eq!(req.tool_calls[1].arguments, json!({"k": 1}));
    assert_eq!(req.tool_calls[2].arguments, crate::view::Arguments::Unreadable(crate::view::Unreadable::NotJson));
    let contents: Vec<&str> = req.tool_results.iter().map(|r| r.content.as_str()).collect();
    assert_eq!(contents, ["plain", "t1\nt2", "doc text", r#"{"type":"image_url","image_url":{"url":"u"}}"#]);
    let names: Vec<Option<&str>> = req.tool_results.iter().map(|r| r.tool_name.as_deref()).collect();
    assert_eq!(names, [Some("one"), Some("two"), Some("three"), None]);
    assert_eq!(req.messages[2].text, "t1\nt2");
}

#[test]
fn user_content_parts_keep_only_text() {
    let body = json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,xx"}}
    ]}]});
    let req = parse(&body);
    assert_eq!(req.messages[0].role, Role::User);
    assert_eq!(req.messages[0].text, "what is this?");
}

#[test]
fn tools_without_a_function_name_are_skipped() {
    let body = json!({"tools": [{"type": "function", "function": {"description": "x"}}, {"type": "other"}]});
    assert!(parse(&body).tools.is_empty());
}

#[test]
fn odd_bodies_give_defaults() {
    for body in [json!(null), json!("x"), json!({"messages": {}, "tools": 1, "stream": 1})] {
        assert_eq!(parse(&body), crate::view::Request::default());
    }
}
