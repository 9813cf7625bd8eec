//! Random JSON for property tests of the OpenAI parsers.

use serde_json::Value;

/// Arbitrary JSON drawn from the vocabulary of the OpenAI wire formats, so that random trees reach
/// the parsers' interesting branches instead of stopping at the first missing key.
pub fn arb_wire_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    const WORDS: &[&str] = &[
        "model",
        "stream",
        "stream_options",
        "include_usage",
        "messages",
        "role",
        "content",
        "tool_calls",
        "function",
        "function_call",
        "name",
        "arguments",
        "id",
        "type",
        "custom",
        "input",
        "tool_call_id",
        "tools",
        "choices",
        "delta",
        "index",
        "usage",
        "prompt_tokens",
        "completion_tokens",
        "prompt_tokens_details",
        "cached_tokens",
        "finish_reason",
        "refusal",
        "x_groq",
        "output",
        "call_id",
        "item",
        "response",
        "status",
        "instructions",
        "text",
        "system",
        "developer",
        "user",
        "assistant",
        "tool",
        "message",
        "function_call_output",
        "custom_tool_call",
        "output_text",
        "input_tokens",
        "incomplete_details",
        "reason",
        "incomplete",
        "response.completed",
        "response.output_item.done",
        "response.output_text.delta",
        "response.created",
        "{",
        "}",
        "{\"a\":",
        "1}",
        "[DONE]",
    ];
    let word = proptest::sample::select(WORDS).prop_map(str::to_owned);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        word.clone().prop_map(Value::String),
        ".{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((word.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Frames named anything or nothing, each carrying arbitrary wire JSON (`raw` is the JSON itself:
/// folds never read it).
pub fn arb_wire_frames() -> impl proptest::strategy::Strategy<Value = Vec<crate::stream::Frame>> {
    use proptest::prelude::*;
    let values = proptest::collection::vec(arb_wire_json(), 0..8);
    let names = proptest::collection::vec(proptest::option::of("[a-z._]{0,12}"), 8);
    (values, names).prop_map(|(values, names)| {
        values
            .iter()
            .zip(names)
            .map(|(v, name)| {
                let data = v.to_string();
                crate::stream::Frame { name, raw: data.clone().into_bytes(), data: data.into_bytes() }
            })
            .collect()
    })
}
