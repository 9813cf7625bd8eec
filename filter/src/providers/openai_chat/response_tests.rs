use crate::providers::openai_chat::response;
use crate::testutil::{cassette_response, read_json};
use crate::view::{ToolCall, Usage};
use serde_json::json;

#[test]
fn basic_response_gives_model_text_finish_reason_and_usage() {
    let resp = response::parse(&read_json("openai-chat/agw__completions-basic.json"));
    assert_eq!(resp.model.as_deref(), Some("gpt-3.5-turbo-0125"));
    assert!(resp.text.starts_with("Sorry, I couldn't find the name"));
    assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
    assert_eq!(resp.usage, Some(Usage { input: 17, output: 23, ..Usage::default() }));
    assert!(resp.tool_calls.is_empty());
}

#[test]
fn tool_call_responses_give_parsed_arguments_and_reasoning_tokens() {
    let cases = [
        (
            "openai-chat/envoy-aigw__chat-parallel-tools.yaml",
            "call_Xc4Aiih37EUJvqjoZlu4Vdoi",
            json!({"location": "San Francisco, CA"}),
            219,
            192,
        ),
        (
            "openai-chat/envoy-aigw__chat-tools.yaml",
            "call_8fxy20OEu9ulvvaa5b5CzVA4",
            json!({"location": "Boston, MA", "unit": "fahrenheit"}),
            287,
            256,
        ),
    ];
    for (path, id, args, output, reasoning) in cases {
        let body = cassette_response(path, 0);
        let resp = response::parse(&body);
        assert_eq!(resp.model.as_deref(), Some("gpt-5-nano-2025-08-07"));
        assert_eq!(
            resp.tool_calls,
            [ToolCall { id: Some(id.into()), name: "get_current_weather".into(), arguments: args.into() }]
        );
        assert_eq!(resp.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(resp.text, "");
        assert_eq!(resp.usage, Some(Usage { input: 162, output, reasoning, ..Usage::default() }));
    }
}

#[test]
fn cached_prompt_tokens_are_taken_out_of_input() {
    let cassette = "openai-chat/pydantic-ai__test_openai_chat_prompt_cache_e2e.yaml";
    // The second call's response is the one served from the prompt cache.
    let resp = response::parse(&cassette_response(cassette, 1));
    assert_eq!(resp.model.as_deref(), Some("gpt-5.6-sol"));
    assert_eq!(resp.text, "OK");
    assert_eq!(resp.usage, Some(Usage { input: 4020 - 4012, output: 4, cache_read: 4012, ..Usage::default() }));
    let first = response::parse(&cassette_response(cassette, 0));
    assert_eq!(first.usage, Some(Usage { input: 4020, output: 4, ..Usage::default() }));
}

#[test]
fn refusals_are_part_of_the_text() {
    let body = json!({"choices": [{"message": {"content": null, "refusal": "I can't help with that."}, "finish_reason": "stop"}]});
    assert_eq!(response::parse(&body).text, "I can't help with that.");
}

#[test]
fn tool_calls_of_every_choice_are_seen() {
    let body = json!({"choices": [
        {"index": 0, "message": {"tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}},
        {"index": 1, "message": {"tool_calls": [{"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}}]}}
    ]});
    let names: Vec<String> = response::parse(&body).tool_calls.into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["f", "g"]);
}

#[test]
fn cached_tokens_larger_than_the_prompt_do_not_underflow() {
    let body =
        json!({"usage": {"prompt_tokens": 3, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 9}}});
    assert_eq!(response::parse(&body).usage.unwrap().input, 0);
    assert_eq!(response::parse(&json!({"usage": null})).usage, None);
    assert_eq!(response::parse(&json!("garbage")), crate::view::Response::default());
}

#[test]
fn embeddings_usage_is_the_prompt_tokens() {
    let body = json!({"object": "list", "data": [], "model": "text-embedding-3-small", "usage": {"prompt_tokens": 8, "total_tokens": 8}});
    let resp = response::parse_embeddings(&body);
    assert_eq!(resp.model.as_deref(), Some("text-embedding-3-small"));
    assert_eq!(resp.usage, Some(Usage { input: 8, ..Usage::default() }));
    assert_eq!(response::parse_embeddings(&json!({})).usage, None);
}

#[test]
fn a_call_without_a_name_is_kept_for_policy_to_refuse() {
    let body = json!({"choices": [{"index": 0, "message": {
        "tool_calls": [{"id": "a", "type": "function", "function": {"arguments": "{\"path\":\"/etc/passwd\"}"}}],
        "function_call": {"name": 7, "arguments": "{}"}}}]});
    let calls = response::parse(&body).tool_calls;
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.name.is_empty()));
    assert_eq!(calls[0].arguments, json!({"path": "/etc/passwd"}));
}

#[test]
fn a_null_function_call_is_no_call() {
    let body =
        json!({"choices": [{"index": 0, "message": {"content": "hi", "function_call": null, "tool_calls": null}}]});
    assert!(response::parse(&body).tool_calls.is_empty());
}

/// `parse_without_calls` answers only where `parse` finds no call, and then says what `parse` says;
/// a body `Value` cannot read is never read.
fn agrees(bytes: &[u8]) -> bool {
    let full = serde_json::from_slice::<serde_json::Value>(bytes).ok().filter(serde_json::Value::is_object);
    let full = full.map(|v| response::parse(&v));
    match response::parse_without_calls(bytes) {
        Some(fast) => {
            let full = full.unwrap_or_else(|| panic!("read a body a Value cannot: {}", String::from_utf8_lossy(bytes)));
            assert!(full.tool_calls.is_empty(), "missed a call: {}", String::from_utf8_lossy(bytes));
            assert_eq!(fast, full, "{}", String::from_utf8_lossy(bytes));
            true
        }
        None => false,
    }
}

#[test]
fn the_reader_without_a_tree_agrees_with_the_tree_on_every_recorded_body() {
    let mut answered = 0;
    for (_, bytes) in crate::testutil::fixtures_ending(".json") {
        answered += usize::from(agrees(&bytes));
    }
    for rel in ["openai-chat/envoy-aigw__chat-basic.yaml", "openai-chat/envoy-aigw__chat-multiturn.yaml"] {
        let body = serde_json::to_vec(&cassette_response(rel, 0)).unwrap();
        assert!(agrees(&body), "{rel}: an answer without calls is read without the tree");
    }
    for rel in ["openai-chat/envoy-aigw__chat-tools.yaml", "openai-chat/envoy-aigw__chat-parallel-tools.yaml"] {
        let body = serde_json::to_vec(&cassette_response(rel, 0)).unwrap();
        assert!(!agrees(&body), "{rel}: an answer with calls goes to the tree");
    }
    assert!(answered > 0);
}

#[test]
fn the_reader_without_a_tree_leaves_odd_bodies_to_the_tree_or_reads_them_alike() {
    let odd: &[&[u8]] = &[
        br#"{"choices":[{"message":{"content":"a","tool_calls":[{"function":{"name":"read_file"}}]}}]}"#,
        br#"{"choices":[{"message":{"content":"a","tool_calls":[1]}}]}"#,
        br#"{"choices":[{"message":{"content":"a","tool_calls":[]}},{"message":{"tool_calls":[null]}}]}"#,
        br#"{"choices":[{"message":{"function_call":{"name":"read_file","arguments":"{}"}}}]}"#,
        br#"{"choices":[{"message":{"function_call":null,"tool_calls":null,"content":null}}]}"#,
        br#"{"choices":[{"message":{"tool_calls":[]},"finish_reason":"stop"}],"choices":[{"message":{"tool_calls":[{"id":"x"}]}}]}"#,
        br#"{"choices":[{"message":{"tool_calls":[{"id":"x"}]}}],"choices":[]}"#,
        br#"{"choices":[{"message":{"tool\u005fcalls":[{"id":"x"}]}}]}"#,
        br#"{"choices":[7,{"message":{"content":"second"}}],"model":3}"#,
        br#"{"choices":{"message":{"content":"not a list"}}}"#,
        br#"{"choices":[{"message":["assistant","text",null,[{"id":"x"}]]}]}"#,
        br#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"text":2},"b",{"text":"c"}],"refusal":"no"}}]}"#,
        br#"{"choices":[{"message":{"content":"","refusal":"no"}}]}"#,
        br#"{"choices":[],"usage":{"prompt_tokens":-3,"completion_tokens":2.0,"prompt_tokens_details":{"cached_tokens":9}}}"#,
        br#"{"usage":{"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":[1]}}"#,
        br#"{"usage":[10,2]}"#,
        br#"{"usage":null,"model":"m","model":"n"}"#,
        br#"{"choices":[],"x":"\ud800"}"#,
        br#"{"choices":[],"x":"\ud83d\ude00"}"#,
        b"{\"choices\":[],\"x\":\"\xff\"}",
        br#"{"choices":[],"x":1e999}"#,
        br#"{"choices":[]} x"#,
        br#"{"choices":[]"#,
        br#"["choices",[]]"#,
        br#"null"#,
    ];
    for body in odd {
        agrees(body);
    }
    let deep = format!(r#"{{"choices":[],"x":{}{}}}"#, "[".repeat(200), "]".repeat(200));
    assert!(!agrees(deep.as_bytes()), "nesting a Value refuses is refused here too");
}

mod generated {
    use super::agrees;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// A value of any JSON type, small.
    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            "[a-z\u{e9}\u{1F600}]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::vec(("(text|content|tool_calls|x)", inner), 0..3)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// A chat answer whose fields are either the expected shape or any value.
    fn answer() -> impl Strategy<Value = Value> {
        let content = prop_oneof![any_value(), Just(json!("hello")), Just(json!([{"text": "a"}, 3, {"text": "b"}]))];
        let message = (content, any_value(), prop_oneof![Just(json!([])), Just(Value::Null), any_value()], any_value())
            .prop_map(|(c, r, t, f)| json!({"role": "assistant", "content": c, "refusal": r, "tool_calls": t, "function_call": f}));
        let choice = prop_oneof![
            3 => (message, any_value()).prop_map(|(m, f)| json!({"index": 0, "message": m, "finish_reason": f})),
            1 => any_value(),
        ];
        let usage = prop_oneof![
            (any::<i64>(), any_value(), any_value()).prop_map(|(p, c, d)| json!({"prompt_tokens": p, "completion_tokens": c, "prompt_tokens_details": {"cached_tokens": d}})),
            any_value(),
        ];
        (prop::collection::vec(choice, 0..3), usage, any_value())
            .prop_map(|(choices, usage, model)| json!({"id": "x", "model": model, "choices": choices, "usage": usage}))
    }

    proptest! {
        #[test]
        fn the_reader_without_a_tree_agrees_with_the_tree(body in answer()) {
            agrees(&serde_json::to_vec(&body).unwrap());
        }
    }
}
