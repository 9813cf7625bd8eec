use super::read;
use crate::providers::body::Body;
use crate::providers::edit_result;
use crate::providers::typed_tests::{arb_cuts, damage, with_extra};
use crate::testutil::{arb_wire_json, cassette_request, read_json};
use crate::view::Api;
use proptest::prelude::*;
use serde_json::{json, Value};

fn check(bytes: &[u8]) -> Option<crate::view::Request> {
    crate::providers::typed_tests::check(Api::Chat, bytes)
}

/// A coding agent's request: tools, tool plans and calls, tool results that are JSON inside JSON
/// strings (long enough to be kept per VM), lists of parts and documents, a tool message without
/// content.
fn agent_body(stream: bool) -> Value {
    let rows: Vec<Value> = (0..20).map(|j| json!({"name": format!("file_{j}.rs"), "size": 1000 + j})).collect();
    json!({
        "model": "command-a-03-2025",
        "stream": stream,
        "temperature": 0.3,
        "messages": [
            {"role": "system", "content": "You are a careful agent.\n".repeat(10)},
            {"role": "user", "content": [{"type": "text", "text": "Survey the repository."},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGk="}}]},
            {"role": "assistant", "tool_plan": "I will list the files.", "tool_calls": [
                {"id": "list_1", "type": "function", "function": {"name": "list_files", "arguments": "{\"path\": \"/src\"}"}},
                {"id": "read_1", "type": "function", "function": {"name": "read_file", "arguments": {"path": "a.rs"}}},
                {"id": "bad_1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\": "}}]},
            {"role": "tool", "tool_call_id": "list_1", "content": json!({"files": rows}).to_string()},
            {"role": "tool", "tool_call_id": "read_1", "content": [
                {"type": "document", "document": {"data": "fn main() {}\n\"quoted\""}},
                {"type": "document", "document": {"data": {"lines": 1}}},
                {"type": "text", "text": "end"}]},
            {"role": "tool", "tool_call_id": "bad_1", "content": [{"type": "text", "text": "denied"}]},
            {"role": "tool", "tool_call_id": "nope"},
            {"role": "tool", "tool_call_id": "read_1", "content": null},
            {"role": "assistant", "content": [{"type": "text", "text": "Done."}], "tool_plan": ""},
        ],
        "tools": [{"type": "function", "function": {"name": "list_files", "description": "Lists files",
                                                    "parameters": {"type": "object"}}},
                  {"type": "function", "function": {"name": "read_file"}},
                  {"type": "function"}],
        "response_format": {"type": "text"},
    })
}

/// Every Cohere v2 chat request recorded in the fixtures.
fn recorded() -> Vec<Value> {
    let mut bodies = Vec::new();
    for (name, n) in [
        ("cohere/lc-cohere__test_command_a_reasoning_with_tool_call.yaml", 1),
        ("cohere/lc-cohere__test_invoke_multiple_tools.yaml", 1),
        ("cohere/lc-cohere__test_invoke_tool_calls.yaml", 1),
        ("cohere/lc-cohere__test_langgraph_react_agent.yaml", 10),
        ("cohere/lc-cohere__test_stream.yaml", 1),
        ("cohere/lc-cohere__test_stream_with_vision.yaml", 1),
        ("cohere/lc-cohere__test_streaming_tool_call.yaml", 1),
        ("cohere/pydantic-ai__test_cohere_request_usage_with_cached_tokens.yaml", 1),
    ] {
        bodies.extend((0..n).map(|i| cassette_request(name, i)));
    }
    bodies.push(read_json("cohere/extracted/lc-cohere__langgraph_react_agent.i2.request.json"));
    bodies
}

#[test]
fn fixtures_read_as_the_tree_reads_them_and_edit_the_same() {
    let mut bodies = recorded();
    // The recorded agent's history has tool results: the reader gives them spans.
    assert!(bodies.iter().any(|b| b["messages"].as_array().unwrap().iter().any(|m| m["role"] == "tool")));
    bodies.push(agent_body(false));
    bodies.push(agent_body(true));
    for body in bodies {
        for bytes in [serde_json::to_vec(&body).unwrap(), serde_json::to_vec_pretty(&body).unwrap()] {
            let view = check(&bytes);
            assert!(view.is_some(), "the typed reader takes {}", String::from_utf8_lossy(&bytes));
            assert_eq!(check(&bytes), view, "read again, long literals from the per-VM cache");
            let (view, spans) = read(&bytes).unwrap();
            let with_content = body["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["role"] == "tool" && m.get("content").is_some())
                .count();
            assert_eq!(spans.values.len(), with_content, "a span for every tool message with content");
            assert!(view.tool_results.len() >= with_content);
        }
    }
}

#[test]
fn a_tool_result_is_written_in_place() {
    let bytes = br#"{"model":"command-a","messages":[{"role":"tool","tool_call_id":"t","content":"{\"old\":1}"},{"role":"tool","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}"#;
    let (view, spans) = read(bytes).unwrap();
    assert_eq!(view.tool_results[0].pointer, "/messages/0/content");
    assert_eq!(view.tool_results[0].content, r#"{"old":1}"#);
    assert_eq!(view.tool_results[1].content, "a\nb");
    assert_eq!(spans.values[1].0, "/messages/1/content");
    assert!(spans.values[1].2, "two parts");
    let mut body = Body::from_read(bytes, spans);
    assert!(edit_result(Api::Chat, &mut body, &view.tool_results[0].pointer, "new \"x\""));
    assert!(edit_result(Api::Chat, &mut body, &view.tool_results[1].pointer, "b"));
    assert!(body.set_model("command-r"));
    assert_eq!(
        body.into_upstream().unwrap(),
        br#"{"model":"command-r","messages":[{"role":"tool","tool_call_id":"t","content":"new \"x\""},{"role":"tool","content":"b"}]}"#
    );
}

#[test]
fn a_tool_message_without_content_gets_it_through_the_tree() {
    let bytes = br#"{"model":"command-a","messages":[{"role":"tool","tool_call_id":"t"}]}"#;
    let (view, spans) = read(bytes).unwrap();
    assert!(spans.values.is_empty());
    assert_eq!(view.tool_results[0].pointer, "/messages/0/content");
    assert_eq!(view.tool_results[0].content, "");
    check(bytes).unwrap();
    let mut body = Body::from_read(bytes, spans);
    assert!(edit_result(Api::Chat, &mut body, "/messages/0/content", "added"));
    let sent: Value = serde_json::from_slice(&body.into_upstream().unwrap()).unwrap();
    assert_eq!(sent, json!({"model":"command-a","messages":[{"role":"tool","tool_call_id":"t","content":"added"}]}));
}

#[test]
fn odd_bodies_are_left_to_the_tree() {
    let none = [
        // A key given twice: in the body, in a message (its role too).
        r#"{"messages":[],"messages":[]}"#,
        r#"{"model":"a","model":"b","messages":[]}"#,
        r#"{"messages":[{"role":"tool","content":"a","content":"b"}]}"#,
        r#"{"messages":[{"role":"user","role":"tool","content":"a"}]}"#,
        r#"{"messages":[{"role":"tool","tool_call_id":"a","tool_call_id":"b"}]}"#,
        r#"{"messages":[{"role":"assistant","tool_plan":"a","tool_plan":"b"}]}"#,
        r#"{"messages":[{"role":"assistant","tool_calls":[],"tool_calls":[]}]}"#,
        r#"{"tools":[],"tools":[],"messages":[]}"#,
        r#"{"stream":true,"stream":false,"messages":[]}"#,
        // Messages that are not an array of objects, or none.
        r#"{"messages":["hi"]}"#,
        r#"{"messages":[null]}"#,
        r#"{"messages":{"role":"tool"}}"#,
        r#"{"messages":null}"#,
        r#"{"model":"a"}"#,
        r#"{}"#,
        // Not JSON a tree reads; another API's model key.
        r#"{"messages":[{"role":"tool","content":"\ud800"}]}"#,
        r#"{"messages":[{"role":"user","content":[{"type":"text","text":1e400}]}]}"#,
        r#"{"messages":[{"role":"user","extra":"\ud800"}]}"#,
        r#"{"modelId":"a","messages":[]}"#,
        r#"[{"messages":[]}]"#,
    ];
    for body in none {
        assert_eq!(check(body.as_bytes()), None, "{body}");
    }
    // Odd types the tree reads with defaults are taken and read the same way.
    let odd = [
        r#"{"model":7,"stream":"yes","tools":{"a":1},"messages":[{"role":7,"content":{"a":[1]}},{"role":"tool","content":5,"tool_call_id":[]}]}"#,
        r#"{"messages":[{"role":"assistant","content":3,"tool_plan":{},"tool_calls":{"id":"x"}},{"role":"tool","content":{"type":"text"}}]}"#,
        r#"{"messages":[{"role":"assistant","tool_calls":[1,null,{"id":"a","function":{"name":"f","arguments":"[]"}}]},{"role":"tool","tool_call_id":"a","content":[7,"x"]}]}"#,
        r#"{"messages":[{"role":"to\u006fl","tool_call_id":"a","content":"x"}],"model":"m\u00e9"}"#,
    ];
    for body in odd {
        assert!(check(body.as_bytes()).is_some(), "{body}");
    }
}

#[test]
fn values_a_tree_refuses_are_refused_under_every_key() {
    let bad = [r#""\ud800""#, "1e400", r#"{"a":["\udfff"]}"#, r#"[1e400]"#];
    let top = ["model", "stream", "tools", "response_format", "temperature", "documents", "tool_choice", "other"];
    let message = ["role", "content", "tool_plan", "tool_calls", "tool_call_id", "name", "other"];
    for value in bad {
        for key in top {
            let body = format!(r#"{{"messages":[{{"role":"tool","content":"x"}}],"{key}":{value}}}"#);
            assert_eq!(check(body.as_bytes()), None, "{body}");
        }
        for key in message {
            for role in ["user", "assistant", "tool"] {
                let body = format!(r#"{{"messages":[{{"role":"{role}","{key}":{value}}}]}}"#);
                let body = body.replacen(r#""role":"tool","role""#, r#""role""#, 1);
                assert_eq!(check(body.as_bytes()), None, "{body}");
            }
        }
    }
}

fn arb_message() -> impl Strategy<Value = Value> {
    let role = proptest::sample::select(&["system", "user", "assistant", "tool", "developer"][..]);
    let part_kind = proptest::sample::select(&["text", "document", "image_url", "thinking"][..]);
    let part = (part_kind, arb_wire_json(), any::<bool>()).prop_map(|(kind, data, long)| {
        let data = match (long, data) {
            (true, Value::Object(obj)) => Value::String(Value::Object(obj).to_string().repeat(20)),
            (_, data) => data,
        };
        json!({"type": kind, "text": "t", "document": {"data": data}})
    });
    let content = prop_oneof![
        arb_wire_json(),
        arb_wire_json().prop_map(|v| Value::String(v.to_string().repeat(30))),
        proptest::collection::vec(part, 0..4).prop_map(Value::Array),
    ];
    let call = (arb_wire_json(), any::<bool>()).prop_map(|(arguments, string)| {
        let arguments = if string { Value::String(arguments.to_string()) } else { arguments };
        json!({"id": "call_1", "type": "function", "function": {"name": "list_files", "arguments": arguments}})
    });
    let calls = prop_oneof![arb_wire_json(), proptest::collection::vec(call, 0..3).prop_map(Value::Array)];
    (role, proptest::option::of(content), proptest::option::of(calls), arb_wire_json(), arb_wire_json()).prop_map(
        |(role, content, calls, plan, extra)| {
            let mut msg = json!({"role": role, "tool_call_id": "call_1", "tool_plan": plan});
            if let Some(obj) = msg.as_object_mut() {
                if let Some(content) = content {
                    obj.insert("content".into(), content);
                }
                if let Some(calls) = calls {
                    obj.insert("tool_calls".into(), calls);
                }
            }
            with_extra(msg, extra)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_bodies_read_and_edit_as_the_tree(
        model in arb_wire_json(),
        stream in arb_wire_json(),
        messages in proptest::collection::vec(arb_message(), 0..6),
        tools in prop_oneof![arb_wire_json(), crate::providers::typed_tests::arb_tools(&["function"], |kind, name, description, schema| {
            json!({"type": kind, "function": {"name": name, "description": description, "parameters": schema}})
        })],
        extra in arb_wire_json(),
    ) {
        let body = json!({"model": model, "stream": stream, "messages": messages, "tools": tools, "extra": extra});
        for bytes in [serde_json::to_vec(&body).unwrap(), serde_json::to_vec_pretty(&body).unwrap()] {
            // Every message is an object and no key is given twice: taken.
            prop_assert!(check(&bytes).is_some());
        }
    }

    #[test]
    fn arbitrary_bodies_read_as_the_tree_reads_them(body in arb_wire_json(), messages in arb_wire_json()) {
        let mut body = body;
        if let Some(obj) = body.as_object_mut() {
            obj.insert("messages".into(), messages);
        }
        check(&serde_json::to_vec(&body).unwrap());
    }

    #[test]
    fn damaged_bodies_are_read_as_the_tree_reads_them(
        stream in any::<bool>(),
        cuts in arb_cuts(),
    ) {
        let mut bytes = serde_json::to_vec(&agent_body(stream)).unwrap();
        damage(&mut bytes, &cuts);
        check(&bytes);
    }

    #[test]
    fn damaged_recordings_are_read_as_the_tree_reads_them(
        which in any::<proptest::sample::Index>(),
        cuts in arb_cuts(),
    ) {
        static RECORDED: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
        let mut bytes = serde_json::to_vec(which.get(RECORDED.get_or_init(recorded))).unwrap();
        damage(&mut bytes, &cuts);
        check(&bytes);
    }
}
