use super::read;
use crate::providers::body::Body;
use crate::providers::edit_result;
use crate::providers::typed_tests::{arb_cuts, damage, with_extra};
use crate::testutil::{arb_wire_json, cassette_request, read_json};
use crate::view::Api;
use proptest::prelude::*;
use serde_json::{json, Value};

fn check(bytes: &[u8]) -> Option<crate::view::Request> {
    crate::providers::typed_tests::check(Api::Converse, bytes)
}

/// A coding agent's Converse request (the body form, with `modelId`): system blocks and a cache
/// point, tools, twelve `toolUse` / `toolResult` turns whose results are JSON text (long enough
/// to be kept per VM), and the other shapes a result's content takes.
pub(super) fn agent_body(model_id: bool) -> Value {
    let mut messages = vec![json!({"role": "user", "content": [{"text": "Survey the repository and fix the bug."}]})];
    for k in 0..12 {
        let rows: Vec<Value> = (0..12)
            .map(|j| json!({"path": format!("src/module_{k}/file_{j}.rs"), "size": 1000 + j, "kind": "file", "ok": true}))
            .collect();
        let id = format!("tooluse_{k}");
        messages.push(json!({"role": "assistant", "content": [
            {"text": format!("Listing module {k}.")},
            {"toolUse": {"toolUseId": id, "name": "list_files", "input": {"path": format!("src/module_{k}")}}}]}));
        messages.push(json!({"role": "user", "content": [
            {"toolResult": {"toolUseId": id, "content": [{"text": json!({"files": rows}).to_string()}], "status": "success"}}]}));
    }
    messages.push(json!({"role": "assistant", "content": [
        {"reasoningContent": {"reasoningText": {"text": "Let me look.", "signature": "c2ln"}}},
        {"toolUse": {"toolUseId": "tooluse_a", "name": "read_file", "input": {"path": "a.rs"}}},
        {"toolUse": {"toolUseId": "tooluse_b", "name": "grep", "input": "not an object"}},
        {"toolUse": {"toolUseId": "tooluse_c", "name": "stat"}},
        {"toolUse": {"toolUseId": "tooluse_d", "name": "run", "input": {}}},
        {"toolUse": {"toolUseId": "tooluse_e", "name": "run", "input": {}}}]}));
    messages.push(json!({"role": "user", "content": [
        {"toolResult": {"toolUseId": "tooluse_a", "content": [{"json": {"lines": 12, "text": "fn main() {}"}}]}},
        {"toolResult": {"toolUseId": "tooluse_b", "status": "error", "content": [{"text": "denied"}]}},
        {"toolResult": {"toolUseId": "tooluse_c", "content": [{"text": "a"}, {"image": {"format": "png", "source": {"bytes": "aGk="}}}]}},
        {"toolResult": {"toolUseId": "tooluse_d"}},
        {"toolResult": {"toolUseId": "tooluse_e", "content": [{"document": {"name": "d", "format": "txt"}}]}},
        {"toolResult": {"toolUseId": "tooluse_z", "content": []}},
        {"text": "Go on.", "cachePoint": {"type": "default"}}]}));
    messages.push(json!({"role": "assistant", "content": [{"text": "Done."}]}));
    let mut body = json!({
        "system": [{"text": "You are a careful coding agent.\n".repeat(10)}, {"cachePoint": {"type": "default"}}],
        "inferenceConfig": {"maxTokens": 1024},
        "toolConfig": {"tools": [
            {"toolSpec": {"name": "list_files", "description": "Lists files", "inputSchema": {"json": {"type": "object"}}}},
            {"toolSpec": {"name": "read_file", "inputSchema": {"json": {"type": "object"}}}},
            {"cachePoint": {"type": "default"}}]},
        "messages": messages,
    });
    if model_id {
        body["modelId"] = json!("anthropic.claude-sonnet-4-5");
    }
    body
}

#[test]
fn fixtures_read_as_the_tree_reads_them_and_edit_the_same() {
    let mut bodies = Vec::new();
    for (name, n) in [
        ("bedrock/pydantic-ai__test_bedrock_anthropic_tool_with_thinking.yaml", 2),
        ("bedrock/pydantic-ai__test_bedrock_cache_write_and_read.yaml", 2),
        ("bedrock/pydantic-ai__test_bedrock_error.yaml", 1),
        ("bedrock/pydantic-ai__test_bedrock_mixed_strict_tool_run.yaml", 3),
        ("bedrock/pydantic-ai__test_bedrock_model_iter_stream.yaml", 2),
        ("bedrock/pydantic-ai__test_bedrock_model_thinking_part_stream.yaml", 1),
        ("bedrock/pydantic-ai__test_bedrock_streaming_error.yaml", 1),
    ] {
        bodies.extend((0..n).map(|i| cassette_request(name, i)));
    }
    bodies.push(read_json("bedrock/extracted/pydantic-ai__bedrock_iter_stream.i1.request.json"));
    bodies.push(agent_body(false));
    bodies.push(agent_body(true));
    let mut results = 0;
    for body in bodies {
        for bytes in [serde_json::to_vec(&body).unwrap(), serde_json::to_vec_pretty(&body).unwrap()] {
            let view = check(&bytes);
            assert!(view.is_some(), "the typed reader takes {}", String::from_utf8_lossy(&bytes));
            assert_eq!(check(&bytes), view, "read again, long literals from the per-VM cache");
            results += view.map_or(0, |v| v.tool_results.len());
        }
    }
    assert!(results > 40, "{results} tool results read");
}

#[test]
fn the_agent_body_reads_every_shape_of_result() {
    let bytes = serde_json::to_vec(&agent_body(true)).unwrap();
    let view = check(&bytes).unwrap();
    assert_eq!(view.model.as_deref(), Some("anthropic.claude-sonnet-4-5"));
    let contents: Vec<&str> = view.tool_results.iter().skip(12).map(|r| r.content.as_str()).collect();
    assert_eq!(
        contents,
        [
            r#"{"lines":12,"text":"fn main() {}"}"#,
            "denied",
            r#"[{"text":"a"},{"image":{"format":"png","source":{"bytes":"aGk="}}}]"#,
            "",
            r#"[{"document":{"name":"d","format":"txt"}}]"#,
            "[]",
        ]
    );
    assert!(view.tool_results[13].is_error);
    let (_, spans) = read(&bytes).unwrap();
    assert_eq!(spans.values.len(), 17, "every result with content, none for the one without");
    let multi: Vec<&str> = spans.values.iter().filter(|v| v.2).map(|v| v.0.as_str()).collect();
    assert_eq!(multi, ["/messages/26/content/2/toolResult/content"]);
}

#[test]
fn a_tool_result_is_written_in_place_as_one_text_block() {
    let bytes = br#"{"modelId":"m","messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"text":"old"},{"json":{}}]}}]}]}"#;
    let (view, spans) = read(bytes).unwrap();
    assert_eq!(view.tool_results[0].pointer, "/messages/0/content/0/toolResult/content");
    let mut body = Body::from_read(bytes, spans);
    assert!(body.is_multi_block(&view.tool_results[0].pointer));
    assert!(edit_result(Api::Converse, &mut body, &view.tool_results[0].pointer, "new \"x\""));
    assert!(body.set_model("m2"));
    assert_eq!(
        body.into_upstream().unwrap(),
        br#"{"modelId":"m2","messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"text":"new \"x\""}]}}]}]}"#
    );
}

#[test]
fn odd_bodies_are_left_to_the_tree() {
    let none = [
        r#"{"messages":[],"messages":[]}"#,
        r#"{"modelId":"a","modelId":"b","messages":[]}"#,
        r#"{"messages":[{"role":"user","role":"assistant","content":[]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"a","text":"b"}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolUse":{"name":"a","name":"b"}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"status":"error","status":"success"}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"content":[],"content":[]}}]}]}"#,
        r#"{"messages":["hi"]}"#,
        r#"{"messages":[{"role":"user","content":["text"]}]}"#,
        r#"{"messages":[{"role":"user","content":[null]}]}"#,
        r#"{"messages":{"role":"user"}}"#,
        r#"{"system":[{"text":"s"}]}"#,
        r#"{"model":"a","messages":[]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"content":[{"text":"\ud800"}]}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"content":[{"text":"a"},{"json":1e400}]}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"content":[{"text":"a","json":"\udfff"}]}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"content":"\ud800"}}]}]}"#,
        // A skipped value is still read as a tree reads it (a lone surrogate is no string).
        r#"{"inferenceConfig":{"x":"\ud800"},"messages":[]}"#,
        r#"{"messages":[{"role":"user","x":["\ud800"],"content":[]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"reasoningContent":{"text":"\ud800"}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolUse":{"x":"\ud800"}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"x":"\ud800","content":[]}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"content":[{"image":"\ud800"}]}}]}]}"#,
        r#"[{"messages":[]}]"#,
        "{}",
    ];
    for body in none {
        assert_eq!(check(body.as_bytes()), None, "{body}");
    }
    // Taken, read as the tree reads them: odd types are the tree's defaults, and a result's
    // content the typed read does not take is read as a `Value`.
    let taken = [
        r#"{"modelId":7,"messages":[{"role":7,"content":"text"},{"content":{"a":[1]}},{"role":"user","content":null}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":"x"},{"toolUse":[1]},{"text":5}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"content":"plain"}},{"toolResult":{"content":null}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"content":[{"text":"a","text":"b"}]}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"content":[{"text":1,"json":"j\n"}]}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"content":[{"json":null}]}},{"toolResult":{"content":[7]}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"content":{"text":"a"}}},{"toolResult":{"content":[[{"text":"a"}]]}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"t","toolUse":{"toolUseId":"u","name":"n"},"toolResult":{"toolUseId":"u","content":[{"text":"r"}]}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"u","content":[{"text":"r"}]}}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"u","name":"first"}},{"toolUse":{"toolUseId":"u","name":"later"}}]}]}"#,
        r#"{"modelId":"m","system":"s","toolConfig":[1],"messages":[]}"#,
    ];
    for body in taken {
        assert!(check(body.as_bytes()).is_some(), "{body}");
    }
    let view = check(taken[3].as_bytes()).unwrap();
    assert_eq!(view.tool_results[0].content, "b", "a key given twice in a result block: the last, as a tree");
    let view = check(taken[4].as_bytes()).unwrap();
    assert_eq!(view.tool_results[0].content, r#""j\n""#);
    let view = check(taken[8].as_bytes()).unwrap();
    assert_eq!(view.tool_results[0].tool_name.as_deref(), Some("later"));
}

/// A `toolResult.content`: text blocks (some long JSON text), json blocks, other blocks, or any
/// value.
fn arb_result_content() -> impl Strategy<Value = Value> {
    let block = prop_oneof![
        (arb_wire_json(), any::<bool>()).prop_map(|(v, long)| {
            let text = if long { v.to_string().repeat(40) } else { v.to_string() };
            json!({"text": text})
        }),
        arb_wire_json().prop_map(|v| json!({"json": v})),
        (arb_wire_json(), arb_wire_json()).prop_map(|(t, j)| json!({"text": t, "json": j})),
        arb_wire_json().prop_map(|v| json!({"image": v})),
        arb_wire_json(),
    ];
    prop_oneof![
        3 => proptest::collection::vec(block, 0..3).prop_map(Value::Array),
        1 => arb_wire_json(),
    ]
}

fn arb_block() -> impl Strategy<Value = Value> {
    let kind = proptest::sample::select(&["text", "toolUse", "toolResult", "both", "reasoningContent"][..]);
    (kind, arb_result_content(), arb_wire_json(), arb_wire_json(), any::<bool>()).prop_map(
        |(kind, content, input, extra, status)| {
            let tool_use = json!({"toolUseId": "tooluse_1", "name": "list_files", "input": input});
            let mut tool_result = json!({"toolUseId": "tooluse_1", "content": content});
            if status {
                tool_result["status"] = json!("error");
            }
            let block = match kind {
                "text" => json!({"text": "t"}),
                "toolUse" => json!({"toolUse": tool_use}),
                "toolResult" => json!({"toolResult": tool_result}),
                "both" => json!({"text": "t", "toolUse": tool_use, "toolResult": tool_result}),
                _ => json!({"reasoningContent": {"reasoningText": {"text": "r"}}}),
            };
            with_extra(block, extra)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_bodies_read_and_edit_as_the_tree(
        model_id in proptest::option::of(arb_wire_json()),
        system in arb_wire_json(),
        turns in proptest::collection::vec((any::<bool>(), proptest::collection::vec(arb_block(), 0..4), arb_wire_json()), 0..4),
        tool_config in arb_wire_json(),
    ) {
        let messages: Vec<Value> = turns
            .into_iter()
            .map(|(assistant, blocks, other)| {
                let role = if assistant { "assistant" } else { "user" };
                let content = if blocks.is_empty() { other } else { Value::Array(blocks) };
                json!({"role": role, "content": content})
            })
            .collect();
        let mut body = json!({"system": system, "messages": messages, "toolConfig": tool_config});
        if let Some(model_id) = model_id {
            body["modelId"] = model_id;
        }
        let taken = check(&serde_json::to_vec(&body).unwrap()).is_some();
        prop_assert_eq!(taken, messages_ok(&body));
    }

    #[test]
    fn damaged_bodies_are_read_as_the_tree_reads_them(
        model_id in any::<bool>(),
        cuts in arb_cuts(),
    ) {
        let mut bytes = serde_json::to_vec(&agent_body(model_id)).unwrap();
        damage(&mut bytes, &cuts);
        check(&bytes);
    }

    #[test]
    fn any_json_is_read_as_the_tree_reads_it(body in arb_wire_json()) {
        check(&serde_json::to_vec(&body).unwrap());
    }
}

/// Whether every message's content, when it is an array, holds objects only (what the reader takes).
fn messages_ok(body: &Value) -> bool {
    body["messages"].as_array().into_iter().flatten().all(|m| match &m["content"] {
        Value::Array(blocks) => blocks.iter().all(Value::is_object),
        _ => true,
    })
}

/// A tool result's content is read apart from the body, from depth 0: nested near serde_json's
/// depth limit, it is left to the tree, which reads the body whole with that limit.
#[test]
fn deeply_nested_results_are_read_as_the_tree_reads_them() {
    for n in (1..140).step_by(3) {
        let deep = format!("{}{}", "[".repeat(n), "]".repeat(n));
        for content in [deep.clone(), format!(r#"[{{"json":{deep}}}]"#), format!(r#"[{{"text":"a","image":{deep}}}]"#)]
        {
            let body =
                format!(r#"{{"messages":[{{"role":"user","content":[{{"toolResult":{{"content":{content}}}}}]}}]}}"#);
            let taken = check(body.as_bytes()).is_some();
            assert!(taken || n > 60, "{n}: {content}");
            assert!(!taken || n <= 64, "{n}: {content}");
        }
    }
}

/// The shortcut for a lone text block takes only `[{"text": <literal>}]`; everything else is read
/// the general way, with the same text as the tree.
#[test]
fn a_lone_text_block_is_read_without_a_second_scan_only_when_it_is_one() {
    use super::lone_text_literal;
    assert_eq!(lone_text_literal(r#"[{"text":"a"}]"#), Some(r#""a""#));
    assert_eq!(lone_text_literal("[ {\n\t\"text\" : \"a\\\"b\" \r} ]"), Some(r#""a\"b""#));
    assert_eq!(lone_text_literal(r#"[{"text":1}]"#), None);
    assert_eq!(lone_text_literal(r#"[{"json":"a"}]"#), None);
    assert_eq!(lone_text_literal(r#"[{"\u0074ext":"a"}]"#), None);
    let long = format!("{{\\\"k\\\":\\\"{}\\\"}}", "v".repeat(400));
    for content in [
        r#"[{"text":"a","json":"b"}]"#.to_owned(),
        r#"[{"text":"a"},{"text":"b"}]"#.to_owned(),
        r#"[{"text":"a","text":"b"}]"#.to_owned(),
        format!(r#"[{{"text":"{long}","json":"{long}"}}]"#),
        format!(r#"[{{"text":"{long}"}},{{"text":"{long}"}}]"#),
        format!(r#"[{{"text":"{long}"}}]"#),
        format!(r#"[ {{ "text" : "{long}" }} ]"#),
    ] {
        let body =
            format!(r#"{{"messages":[{{"role":"user","content":[{{"toolResult":{{"content":{content}}}}}]}}]}}"#);
        // Twice: the second read finds the long literals in the per-VM cache.
        assert!(check(body.as_bytes()).is_some(), "{body}");
        assert!(check(body.as_bytes()).is_some(), "{body}");
    }
}
