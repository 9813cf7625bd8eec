use super::read;
use crate::providers::body::Body;
use crate::providers::edit_result;
use crate::providers::typed_tests::{arb_cuts, damage, with_extra};
use crate::testutil::{arb_wire_json, cassette_request, read_json};
use crate::view::Api;
use proptest::prelude::*;
use serde_json::{json, Value};

fn check(bytes: &[u8]) -> Option<crate::view::Request> {
    crate::providers::typed_tests::check(Api::Responses, bytes)
}

/// An agent's Responses request: long instructions with escapes, messages in both forms, every
/// kind of client call and output (JSON inside JSON strings, long enough to be kept per VM).
fn agent_body(stream: bool) -> Value {
    let rows: Vec<Value> = (0..20).map(|j| json!({"name": format!("file_{j}.rs"), "size": 1000 + j})).collect();
    json!({
        "model": "gpt-5",
        "stream": stream,
        "instructions": "You are a careful agent.\n\"Quote\" everything.\n".repeat(10),
        "store": false,
        "tools": [{"type": "function", "name": "list_files", "parameters": {"type": "object"}},
                  {"type": "custom", "name": "shell"}, {"type": "web_search"}, {"type": "local_shell"}],
        "input": [
            {"role": "user", "content": "Survey the repository."},
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call", "call_id": "call_1", "name": "list_files", "arguments": "{\"path\": \"/src\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": json!({"files": rows}).to_string()},
            {"type": "custom_tool_call", "call_id": "call_2", "name": "shell", "input": "ls -la"},
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]},
            {"type": "local_shell_call", "call_id": "call_3", "action": {"type": "exec", "command": ["ls"]}},
            {"type": "local_shell_call_output", "call_id": "call_3"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Done."}]},
            {"type": "message", "role": 3, "content": "ignored"},
        ]
    })
}

#[test]
fn fixtures_read_as_the_tree_reads_them_and_edit_the_same() {
    let mut bodies: Vec<Value> = [
        "openai-responses/pydantic-ai__test_openai_responses_model_simple_response_with_tool_call.yaml",
        "openai-responses/pydantic-ai__test_openai_responses_stream.yaml",
        "openai-responses/pydantic-ai__test_openai_responses_streaming_usage.yaml",
        "openai-responses/pydantic-ai__test_openai_responses_thinking_with_tool_calls.yaml",
        "openai-responses/pydantic-ai__test_openai_responses_prompt_cache_e2e.yaml",
    ]
    .into_iter()
    .map(|rel| cassette_request(rel, 0))
    .collect();
    bodies.push(cassette_request(
        "openai-responses/pydantic-ai__test_openai_responses_model_simple_response_with_tool_call.yaml",
        1,
    ));
    bodies.push(read_json("openai-responses/extracted/pydantic-ai__responses_stream.i1.request.json"));
    bodies.push(agent_body(false));
    bodies.push(agent_body(true));
    bodies.push(json!({"model": "gpt-5", "input": "Just text.", "instructions": ""}));
    for body in bodies {
        for bytes in [serde_json::to_vec(&body).unwrap(), serde_json::to_vec_pretty(&body).unwrap()] {
            let view = check(&bytes);
            assert!(view.is_some(), "the typed reader takes {}", String::from_utf8_lossy(&bytes));
            assert_eq!(check(&bytes), view, "read again, long literals from the per-VM cache");
        }
    }
}

#[test]
fn an_output_is_written_in_place() {
    let bytes = br#"{"model":"gpt-5","input":[{"type":"function_call_output","call_id":"c","output":"old"}]}"#;
    let (view, spans) = read(bytes).unwrap();
    assert_eq!(view.tool_results[0].pointer, "/input/0/output");
    let mut body = Body::from_read(bytes, spans);
    assert!(edit_result(Api::Responses, &mut body, &view.tool_results[0].pointer, "new"));
    assert_eq!(
        body.into_upstream().unwrap(),
        br#"{"model":"gpt-5","input":[{"type":"function_call_output","call_id":"c","output":"new"}]}"#
    );
}

#[test]
fn odd_bodies_are_left_to_the_tree() {
    let none = [
        r#"{"input":[],"background":true}"#,
        r#"{"input":[],"input":[]}"#,
        r#"{"input":["text"]}"#,
        r#"{"input":[{"type":"function_call_output","output":"a","output":"b"}]}"#,
        r#"{"input":[{"type":"function_call","name":"a","name":"b"}]}"#,
        r#"{"input":[{"type":"message","content":"\ud800"}]}"#,
        r#"{"instructions":1e400,"input":[]}"#,
        r#"{"modelId":"a","input":[]}"#,
    ];
    for body in none {
        assert_eq!(check(body.as_bytes()), None, "{body}");
    }
    assert!(check(br#"{"input":[],"background":false}"#).is_some());
    assert!(check(br#"{"input":{"a":1},"instructions":["x"]}"#).is_some());
    assert!(check(br#"{"model":"m"}"#).is_some(), "no input at all");
}

fn arb_item() -> impl Strategy<Value = Value> {
    let kind = proptest::sample::select(
        &[
            "message",
            "function_call",
            "function_call_output",
            "custom_tool_call",
            "custom_tool_call_output",
            "computer_call",
            "apply_patch_call_output",
            "reasoning",
        ][..],
    );
    let role = proptest::sample::select(&["user", "assistant", "system", "developer", "tool"][..]);
    (kind, role, arb_wire_json(), arb_wire_json(), arb_wire_json(), any::<bool>()).prop_map(
        |(kind, role, content, arguments, extra, long)| {
            let content = match (long, content) {
                (true, Value::Object(obj)) => Value::String(Value::Object(obj).to_string().repeat(20)),
                (_, content) => content,
            };
            let item = json!({"type": kind, "role": role, "call_id": "call_1", "name": "list_files",
                                  "content": content.clone(), "output": content, "arguments": arguments});
            with_extra(item, extra)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_bodies_read_and_edit_as_the_tree(
        model in arb_wire_json(),
        instructions in arb_wire_json(),
        items in proptest::collection::vec(arb_item(), 0..5),
        tools in prop_oneof![arb_wire_json(), crate::providers::typed_tests::arb_tools(
            &["function", "custom", "shell", "computer_use_preview", "web_search", "other"],
            |kind, name, description, schema| json!({"type": kind, "name": name, "description": description, "parameters": schema}),
        )],
        background in arb_wire_json(),
    ) {
        let body = json!({"model": model, "instructions": instructions, "input": items, "tools": tools, "background": background});
        let taken = check(&serde_json::to_vec(&body).unwrap()).is_some();
        prop_assert_eq!(taken, body["background"] != json!(true));
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
}
