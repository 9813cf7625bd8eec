use super::read;
use crate::providers::body::{Body, UsageChunk};
use crate::providers::typed_tests::{arb_cuts, damage, with_extra};
use crate::providers::{edit_result, prepare_upstream};
use crate::testutil::{arb_wire_json, cassette_request, read_json};
use crate::view::Api;
use proptest::prelude::*;
use serde_json::{json, Value};

fn check(bytes: &[u8]) -> Option<crate::view::Request> {
    crate::providers::typed_tests::check(Api::ChatCompletions, bytes)
}

fn edits_agree(bytes: &[u8]) {
    check(bytes);
}

/// An agent's request: a long system prompt, tool calls and JSON tool results (JSON inside JSON
/// strings, long enough to be kept per VM).
fn agent_body(stream: Value) -> Value {
    let rows: Vec<Value> = (0..20).map(|j| json!({"name": format!("file_{j}.rs"), "size": 1000 + j})).collect();
    json!({
        "model": "gpt-4o",
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are a careful agent. ".repeat(10)},
            {"role": "user", "content": "Survey the repository."},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "list_files", "arguments": "{\"path\": \"/src\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": json!({"files": rows}).to_string()},
            {"role": "assistant", "content": [{"type": "text", "text": "Reading."}], "function_call": {"name": "read_file", "arguments": "{}"}},
            {"role": "function", "name": "read_file", "content": "fn main() {}\n\"quoted\""},
            {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "one"}, {"type": "image_url"}]},
            {"role": "tool", "tool_call_id": "call_1"},
        ],
        "tools": [{"type": "function", "function": {"name": "list_files", "parameters": {"type": "object"}}},
                  {"type": "custom", "custom": {"name": "shell"}}],
        "functions": [{"name": "read_file"}],
        "temperature": 0.5e-3,
        "metadata": {"nested": [1, 2.5, -3, true, null, "\u{e9}\u{1F600}"]}
    })
}

#[test]
fn fixtures_read_as_the_tree_reads_them_and_edit_the_same() {
    let mut bodies: Vec<Value> = [
        "openai-chat/envoy-aigw__chat-basic.yaml",
        "openai-chat/envoy-aigw__chat-multiturn.yaml",
        "openai-chat/envoy-aigw__chat-parallel-tools.yaml",
        "openai-chat/envoy-aigw__chat-streaming.yaml",
        "openai-chat/envoy-aigw__chat-streaming-detailed-usage.yaml",
        "openai-chat/envoy-aigw__chat-tools.yaml",
    ]
    .into_iter()
    .map(|rel| cassette_request(rel, 0))
    .collect();
    bodies.push(read_json("openai-chat/extracted/pydantic-ai__run_stream_sync.i1.request.json"));
    bodies.push(agent_body(json!(false)));
    bodies.push(agent_body(json!(true)));
    for body in bodies {
        for bytes in [serde_json::to_vec(&body).unwrap(), serde_json::to_vec_pretty(&body).unwrap()] {
            let view = check(&bytes);
            assert!(view.is_some(), "the typed reader takes {}", String::from_utf8_lossy(&bytes));
            // Read again: long literals now come from the per-VM cache.
            assert_eq!(check(&bytes), view);
        }
    }
}

#[test]
fn the_usage_chunk_is_asked_for_in_place_or_on_the_tree() {
    let asked = |options: Option<Value>| {
        let mut body = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
        if let Some(options) = options {
            body["stream_options"] = options;
        }
        let bytes = serde_json::to_vec(&body).unwrap();
        edits_agree(&bytes);
        read(&bytes).unwrap().1.usage_chunk
    };
    assert_eq!(asked(None), Some(UsageChunk::NotAsked));
    assert_eq!(asked(Some(json!({"include_usage": true}))), Some(UsageChunk::Asked));
    assert_eq!(asked(Some(json!({"include_usage": false, "x": 1}))), Some(UsageChunk::Other));
    assert_eq!(asked(Some(json!("yes"))), Some(UsageChunk::Other));
    let quiet = serde_json::to_vec(&json!({"stream": "true", "messages": []})).unwrap();
    assert_eq!(read(&quiet).unwrap().1.usage_chunk, None, "only `true` streams");
    // Added in place: the client's bytes, one field more.
    let bytes = br#" {"messages":[],"stream":true}"#;
    let (_, spans) = read(bytes).unwrap();
    let mut body = Body::from_read(bytes, spans);
    assert!(prepare_upstream(Api::ChatCompletions, true, &mut body).hide_usage_chunk);
    assert_eq!(
        body.into_upstream().unwrap(),
        br#" {"stream_options":{"include_usage":true},"messages":[],"stream":true}"#
    );
}

#[test]
fn untouched_bodies_go_as_the_client_sent_them_and_edits_keep_the_rest() {
    let bytes =
        br#"{ "model" : "gpt-4o",  "messages":[{"role":"tool","tool_call_id":"c","content":"old"} ], "x": 1.50 }"#;
    let (view, spans) = read(bytes).unwrap();
    let body = Body::from_read(bytes, spans.clone());
    assert_eq!(body.into_upstream(), None);
    let mut body = Body::from_read(bytes, spans);
    assert!(edit_result(Api::ChatCompletions, &mut body, &view.tool_results[0].pointer, "first"));
    assert!(edit_result(Api::ChatCompletions, &mut body, &view.tool_results[0].pointer, "new \"one\""));
    assert!(body.set_model("gpt-4o-mini"));
    assert_eq!(
        body.into_upstream().unwrap(),
        br#"{ "model" : "gpt-4o-mini",  "messages":[{"role":"tool","tool_call_id":"c","content":"new \"one\""} ], "x": 1.50 }"#
    );
}

/// Bodies the typed reader leaves to the tree: it must answer `None` (never a view that differs).
#[test]
fn odd_bodies_are_left_to_the_tree() {
    let long_escaped = format!("\"{}\"", "\\\"x\\\"".repeat(80));
    let lone = format!("\"{}\\ud800\"", "\\\"x\\\"".repeat(80));
    let none = [
        r#"{"messages":[],"messages":[]}"#.to_owned(),
        r#"{"model":"a","messages":[],"model":"b"}"#.to_owned(),
        r#"{"messages":[{"role":"tool","content":"a","content":"b"}]}"#.to_owned(),
        r#"{"messages":[{"role":"tool","role":"user","content":"a"}]}"#.to_owned(),
        r#"{"mod\u0065l":"a","messages":[],"model":"b"}"#.to_owned(),
        r#"{"modelId":"a","messages":[]}"#.to_owned(),
        r#"{"messages":{}}"#.to_owned(),
        r#"{"messages":[1]}"#.to_owned(),
        r#"{"model":"a"}"#.to_owned(),
        r#"[{"messages":[]}]"#.to_owned(),
        r#"{"messages":[]} x"#.to_owned(),
        r#"{"messages":[],"x":1e400}"#.to_owned(),
        r#"{"messages":[],"x":"\ud800"}"#.to_owned(),
        format!(r#"{{"messages":[{{"role":"tool","content":{lone}}}]}}"#),
        format!(r#"{{"messages":[],"x":{}}}"#, "[".repeat(200) + &"]".repeat(200)),
        format!(r#"{{"messages":[],{}"x":1}}"#, (0..48).map(|k| format!(r#""k{k}":{k},"#)).collect::<String>()),
    ];
    for body in &none {
        assert_eq!(check(body.as_bytes()), None, "{body}");
    }
    // The valid literal is kept; the invalid one of the same length is still refused.
    let valid = format!(r#"{{"messages":[{{"role":"tool","content":{long_escaped}}}]}}"#);
    assert!(check(valid.as_bytes()).is_some());
    assert!(check(valid.as_bytes()).is_some());
    assert_eq!(check(none[13].as_bytes()), None);
    let many = format!(r#"{{"messages":[],{}"x":1}}"#, (0..46).map(|k| format!(r#""k{k}":{k},"#)).collect::<String>());
    assert!(check(many.as_bytes()).is_some(), "48 keys are read");
    let escaped_key = br#"{"mod\u0065l":"a","messages":[{"r\u006fle":"user","content":"hi"}]}"#;
    assert_eq!(check(escaped_key).unwrap().model.as_deref(), Some("a"));
    assert!(check(&[b"{\"messages\":[],\"x\":\"".as_slice(), &[0xff], b"\"}"].concat()).is_none());
}

/// Tools read typed give the tree's declarations, schemas written as the tree writes them; what
/// the compact writer cannot match (a key given twice, serde_json's raw value marker) is left to
/// the tree.
#[test]
fn tool_declarations_read_as_the_tree_reads_them() {
    let schemas = [
        r#"{"type":"object","properties":{"a":{"type":"number","minimum":-0.0,"maximum":1e3,"multipleOf":2.50}}}"#,
        r#"{ "enum" : [ 1 , -2 , 18446744073709551615 , -9223372036854775808 , 1.5e-7 , true , null , "\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t\u0001" ] }"#,
        r#"{"nested":[[[]],{},[{}],{"":""}],"k\u0065y":"v"}"#,
        r#"[]"#,
        r#""a string""#,
        r#"null"#,
        r#"12"#,
    ];
    for schema in schemas {
        let body = format!(
            r#"{{"messages":[],"tools":[{{"type":"function","function":{{"name":"f","description":"d","parameters":{schema}}}}},1,{{"type":"custom","custom":{{"name":"c","parameters":{schema}}}}}],"functions":[{{"name":"g","parameters":{schema}}},"x"]}}"#
        );
        let view = check(body.as_bytes()).unwrap_or_else(|| panic!("left to the tree: {body}"));
        assert_eq!(view.tools.len(), 3, "{body}");
        let tree: Value = serde_json::from_str(schema).unwrap();
        assert_eq!(view.tools[0].parameters.as_ref().map(|p| p.as_str().to_owned()), Some(tree.to_string()));
        assert_eq!(view.tools[1].parameters, None, "a custom tool has no schema");
    }
    for body in [
        r#"{"messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":{"a":1,"a":2}}}]}"#,
        r#"{"messages":[],"tools":[{"type":"function","function":{"name":"f","name":"g"}}]}"#,
        r#"{"messages":[],"tools":[{"type":"function","type":"custom","function":{"name":"f"}}]}"#,
        r#"{"messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":{"$serde_json::private::RawValue":"[1]"}}}]}"#,
        r#"{"messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":"\ud800"}}]}"#,
    ] {
        assert_eq!(check(body.as_bytes()), None, "{body}");
    }
    // Shapes a tree drops are dropped: a tool of another type, a function without a string name,
    // `tools` that is not a list.
    let body = r#"{"messages":[],"tools":[{"type":"web_search"},{"type":"function","function":{"name":1}},{"type":"function","function":[]}]}"#;
    assert_eq!(check(body.as_bytes()).map(|v| v.tools.len()), Some(0));
    let body = r#"{"messages":[],"tools":{"type":"function","function":{"name":"f"}},"functions":null}"#;
    assert_eq!(check(body.as_bytes()).map(|v| v.tools.len()), Some(0));
}

/// Chat Completions tools: function and custom ones, and another kind.
fn arb_tools() -> impl Strategy<Value = Value> {
    crate::providers::typed_tests::arb_tools(
        &["function", "custom", "other"],
        |kind, name, description, schema| json!({"type": kind, kind: {"name": name, "description": description, "parameters": schema}}),
    )
}

/// An assistant's `tool_calls`: function and custom calls, and another kind, any value in each
/// field now and then.
fn arb_calls() -> impl Strategy<Value = Value> {
    let kind = proptest::sample::select(&["function", "custom", "other"][..]);
    let call = (kind, arb_wire_json(), arb_wire_json(), arb_wire_json(), any::<bool>()).prop_map(
        |(kind, id, name, arguments, usual)| {
            let (id, name, arguments) =
                if usual { (json!("call_1"), json!("a_tool"), json!("{\"a\": 1}")) } else { (id, name, arguments) };
            json!({"id": id, "type": kind, kind: {"name": name, "arguments": arguments, "input": arguments}})
        },
    );
    proptest::collection::vec(call, 0..3).prop_map(Value::Array)
}

fn arb_message() -> impl Strategy<Value = Value> {
    let role = proptest::sample::select(&["system", "developer", "user", "assistant", "tool", "function", "other"][..]);
    (role, arb_wire_json(), prop_oneof![arb_wire_json(), arb_calls()], arb_wire_json(), any::<bool>()).prop_map(
        |(role, content, calls, extra, long)| {
            let content = match (long, content) {
                // A long JSON-in-JSON result, kept per VM once read.
                (true, Value::Object(obj)) => Value::String(Value::Object(obj).to_string().repeat(20)),
                (_, content) => content,
            };
            let msg = json!({"role": role, "content": content, "tool_call_id": "call_1", "tool_calls": calls});
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
        options in arb_wire_json(),
        messages in proptest::collection::vec(arb_message(), 0..5),
        tools in prop_oneof![arb_wire_json(), arb_tools()],
        functions in prop_oneof![arb_wire_json(), arb_tools()],
        pretty in any::<bool>(),
    ) {
        let body = json!({"model": model, "stream": stream, "stream_options": options, "messages": messages, "tools": tools, "functions": functions});
        let bytes = if pretty { serde_json::to_vec_pretty(&body).unwrap() } else { serde_json::to_vec(&body).unwrap() };
        prop_assert!(check(&bytes).is_some());
    }

    /// Bytes cut and spliced anywhere: whatever the typed reader takes, the tree takes too, with the
    /// same view and the same edits.
    #[test]
    fn damaged_bodies_are_read_as_the_tree_reads_them(
        stream in any::<bool>(),
        cuts in arb_cuts(),
    ) {
        let mut bytes = serde_json::to_vec(&agent_body(json!(stream))).unwrap();
        damage(&mut bytes, &cuts);
        check(&bytes);
    }
}
