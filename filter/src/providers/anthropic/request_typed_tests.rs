use super::read;
use crate::providers::body::Body;
use crate::providers::edit_result;
use crate::providers::typed_tests::{arb_cuts, damage, with_extra};
use crate::testutil::{arb_wire_json, cassette_request, read_json};
use crate::view::Api;
use proptest::prelude::*;
use serde_json::{json, Value};

fn check(bytes: &[u8]) -> Option<crate::view::Request> {
    crate::providers::typed_tests::check(Api::Messages, bytes)
}

/// A coding agent's request: system blocks, tools, tool_use and tool_result blocks (JSON inside
/// JSON strings, long enough to be kept per VM), an image, thinking.
fn agent_body(stream: bool) -> Value {
    let rows: Vec<Value> = (0..20).map(|j| json!({"name": format!("file_{j}.rs"), "size": 1000 + j})).collect();
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "stream": stream,
        "system": [{"type": "text", "text": "You are a careful agent.\n".repeat(10), "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "list_files", "description": "Lists files", "input_schema": {"type": "object"}},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "messages": [
            {"role": "user", "content": "Survey the repository."},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Let me look.", "signature": "c2ln"},
                {"type": "text", "text": "Listing."},
                {"type": "tool_use", "id": "toolu_1", "name": "list_files", "input": {"path": "/src"}},
                {"type": "tool_use", "id": "toolu_2", "name": "read_file", "input": "not an object"}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": json!({"files": rows}).to_string()},
                {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true, "content": [{"type": "text", "text": "denied"}]},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "a"}, {"type": "image", "source": {"type": "base64", "data": "aGk="}}]},
                {"type": "tool_result", "tool_use_id": "toolu_9"},
                {"type": "text", "text": "Go on."}]},
            {"role": "assistant", "content": "Done."},
        ]
    })
}

#[test]
fn fixtures_read_as_the_tree_reads_them_and_edit_the_same() {
    let mut bodies = Vec::new();
    for (name, n) in [
        ("anthropic-messages/anthropic-sdk-py__runner-tools__a8ac789b.json", 2),
        ("anthropic-messages/anthropic-sdk-py__runner-stream-tools__555fb399.json", 2),
        ("anthropic-messages/anthropic-sdk-py__runner-tools-400__f59a9391.json", 2),
        ("anthropic-messages/anthropic-sdk-py__parse-429-retry__d743d628.json", 3),
    ] {
        let recorded = read_json(name);
        bodies.extend((0..n).map(|i| recorded[i]["request"]["body"].clone()));
    }
    bodies.push(read_json("anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i1.request.json"));
    bodies.push(cassette_request("anthropic-messages/pydantic-ai__test_multiple_parallel_tool_calls.yaml", 1));
    bodies.push(agent_body(false));
    bodies.push(agent_body(true));
    for body in bodies {
        for bytes in [serde_json::to_vec(&body).unwrap(), serde_json::to_vec_pretty(&body).unwrap()] {
            let view = check(&bytes);
            assert!(view.is_some(), "the typed reader takes {}", String::from_utf8_lossy(&bytes));
            assert_eq!(check(&bytes), view, "read again, long literals from the per-VM cache");
        }
    }
}

#[test]
fn a_tool_result_is_written_in_place() {
    let bytes = br#"{"model":"claude","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"old"}]}]}"#;
    let (view, spans) = read(bytes).unwrap();
    assert_eq!(view.tool_results[0].pointer, "/messages/0/content/0/content");
    let mut body = Body::from_read(bytes, spans);
    assert!(edit_result(Api::Messages, &mut body, &view.tool_results[0].pointer, "new"));
    assert_eq!(
        body.into_upstream().unwrap(),
        br#"{"model":"claude","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"new"}]}]}"#
    );
}

#[test]
fn odd_bodies_are_left_to_the_tree() {
    let none = [
        r#"{"messages":[],"messages":[]}"#,
        r#"{"messages":[{"role":"user","content":[{"type":"text","type":"tool_result"}]}]}"#,
        r#"{"messages":[{"role":"user","content":["text"]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"type":"tool_result","content":"\ud800"}]}]}"#,
        r#"{"messages":[{"role":"assistant","content":[{"type":"text","content":1e400}]}]}"#,
        r#"{"modelId":"a","messages":[]}"#,
        r#"{"system":"s"}"#,
    ];
    for body in none {
        assert_eq!(check(body.as_bytes()), None, "{body}");
    }
    let other = br#"{"messages":[{"role":"user","content":{"a":[1]}},{"role":7,"content":null}]}"#;
    assert_eq!(check(other).unwrap().messages.len(), 2);
}

fn arb_block() -> impl Strategy<Value = Value> {
    let kind = proptest::sample::select(&["text", "tool_use", "tool_result", "image", "thinking"][..]);
    (kind, arb_wire_json(), arb_wire_json(), arb_wire_json(), any::<bool>()).prop_map(
        |(kind, content, input, extra, long)| {
            let content = match (long, content) {
                (true, Value::Object(obj)) => Value::String(Value::Object(obj).to_string().repeat(20)),
                (_, content) => content,
            };
            let block = json!({"type": kind, "id": "toolu_1", "tool_use_id": "toolu_1", "name": "list_files",
                                "content": content, "input": input, "text": "t"});
            with_extra(block, extra)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_bodies_read_and_edit_as_the_tree(
        model in arb_wire_json(),
        system in arb_wire_json(),
        turns in proptest::collection::vec((any::<bool>(), proptest::collection::vec(arb_block(), 0..4), arb_wire_json()), 0..4),
        tools in prop_oneof![arb_wire_json(), crate::providers::typed_tests::arb_tools(&["", "custom", "web_search_20250305"], |kind, name, description, schema| {
            json!({"type": kind, "name": name, "description": description, "input_schema": schema})
        })],
    ) {
        let messages: Vec<Value> = turns
            .into_iter()
            .map(|(assistant, blocks, text)| {
                let role = if assistant { "assistant" } else { "user" };
                let content = if blocks.is_empty() { text } else { Value::Array(blocks) };
                json!({"role": role, "content": content})
            })
            .collect();
        let body = json!({"model": model, "system": system, "messages": messages, "tools": tools});
        let content_is_blocks_or_not_an_array = messages_ok(&body);
        let taken = check(&serde_json::to_vec(&body).unwrap()).is_some();
        prop_assert_eq!(taken, content_is_blocks_or_not_an_array);
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

/// Whether every message's content, when it is an array, holds objects only (what the reader takes).
fn messages_ok(body: &Value) -> bool {
    body["messages"].as_array().into_iter().flatten().all(|m| match &m["content"] {
        Value::Array(blocks) => blocks.iter().all(Value::is_object),
        _ => true,
    })
}
