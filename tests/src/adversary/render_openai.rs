//! OpenAI Chat Completions: a whole `chat.completion`, or `chat.completion.chunk` SSE events
//! ended by `data: [DONE]`.

use super::lenient::with_nan;
use super::{wire, Call, Choice, Kind, Output, Style};
use serde_json::{json, Map, Value};

const MODEL: &str = "gpt-4o-mini";

fn usage() -> Value {
    json!({"prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37})
}

fn finish_reason(choice: &Choice) -> &'static str {
    if choice.calls.iter().any(|c| c.kind == Kind::Legacy) {
        "function_call"
    } else if choice.calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    }
}

/// A whole tool call object (`tool_calls[j]`).
fn whole_call(i: usize, j: usize, call: &Call) -> Value {
    let mut body = Map::new();
    if !call.name.is_empty() {
        body.insert("name".into(), json!(call.name()));
    }
    let id = format!("call_{i}_{j}");
    if call.kind == Kind::Custom {
        body.insert("input".into(), json!(call.args_text()));
        json!({"id": id, "type": "custom", "custom": body})
    } else {
        body.insert("arguments".into(), json!(call.args_text()));
        json!({"id": id, "type": "function", "function": body})
    }
}

pub fn chat_json(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let choices: Vec<Value> = output
        .choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let text = choice.text.concat();
            let mut message =
                json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) }});
            let calls: Vec<Value> = choice
                .calls
                .iter()
                .enumerate()
                .filter(|(_, c)| c.kind != Kind::Legacy)
                .map(|(j, c)| whole_call(i, j, c))
                .collect();
            if !calls.is_empty() {
                message["tool_calls"] = Value::Array(calls);
            }
            if let Some(legacy) = choice.calls.iter().find(|c| c.kind == Kind::Legacy) {
                message["function_call"] = json!({"name": legacy.name(), "arguments": legacy.args_text()});
            }
            json!({"index": i, "message": message, "logprobs": null, "finish_reason": finish_reason(choice)})
        })
        .collect();
    let body = json!({"id": "chatcmpl-adversary", "object": "chat.completion", "created": 1_700_000_000,
        "model": MODEL, "choices": choices, "usage": usage()});
    let text = body.to_string();
    vec![if style.lenient_frames { with_nan(&text) } else { text }.into_bytes()]
}

fn chunk(choices: Value) -> Value {
    json!({"id": "chatcmpl-adversary", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": MODEL, "system_fingerprint": "fp_adv", "choices": choices})
}

/// A chunk for one choice's delta.
fn delta_chunk(index: usize, delta: Value, finish: Option<&str>) -> Value {
    chunk(json!([{"index": index, "delta": delta, "logprobs": null, "finish_reason": finish}]))
}

/// The SSE event of a chunk that carries tool content, with the style's tricks applied.
fn tool_event(style: &Style, mut chunk: Value) -> Vec<u8> {
    if style.null_error {
        chunk["error"] = Value::Null;
    }
    let text = chunk.to_string();
    wire::sse(style, None, &if style.lenient_frames { with_nan(&text) } else { text })
}

/// The deltas of one streamed call: its start (id, type, first name piece), further name pieces,
/// then the argument pieces; `whole`: everything in the start delta.
fn call_deltas(i: usize, j: usize, call: &Call, whole: bool) -> Vec<Value> {
    if whole {
        let joined = Call { name: vec![call.name()], args: vec![call.args_text()], ..call.clone() };
        let mut deltas = call_deltas(i, j, &joined, false);
        let args = deltas.pop();
        return match (deltas.pop(), args) {
            (Some(mut start), Some(args)) => {
                merge(&mut start, &args);
                vec![start]
            }
            (start, args) => start.into_iter().chain(args).collect(),
        };
    }
    let (key, field) = if call.kind == Kind::Custom { ("custom", "input") } else { ("function", "arguments") };
    let mut first = Map::new();
    if let Some(name) = call.name.first() {
        first.insert("name".into(), json!(name));
    }
    first.insert(field.into(), json!(""));
    let mut out = Vec::new();
    if call.kind == Kind::Legacy {
        out.push(json!({"function_call": first}));
        out.extend(call.name.iter().skip(1).map(|n| json!({"function_call": {"name": n}})));
        out.extend(call.args.iter().map(|a| json!({"function_call": {"arguments": a}})));
        return out;
    }
    let kind = if call.kind == Kind::Custom { "custom" } else { "function" };
    out.push(json!({"tool_calls": [{"index": j, "id": format!("call_{i}_{j}"), "type": kind, key: first}]}));
    out.extend(call.name.iter().skip(1).map(|n| json!({"tool_calls": [{"index": j, key: {"name": n}}]})));
    out.extend(call.args.iter().map(|a| json!({"tool_calls": [{"index": j, key: {field: a}}]})));
    out
}

pub fn chat_sse(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let plain = |v: Value| wire::sse(style, None, &v.to_string());
    let mut parts = Vec::new();
    for (i, choice) in output.choices.iter().enumerate() {
        parts.push(plain(delta_chunk(i, json!({"role": "assistant", "content": ""}), None)));
        if style.huge_event_before && i == 0 {
            parts.push(plain(delta_chunk(i, json!({"content": wire::huge_text()}), None)));
        }
        for piece in &choice.text {
            parts.push(plain(delta_chunk(i, json!({"content": piece}), None)));
        }
        for (j, call) in choice.calls.iter().enumerate() {
            for delta in call_deltas(i, j, call, style.unterminated) {
                parts.push(tool_event(style, delta_chunk(i, delta, None)));
            }
        }
    }
    if !style.unfinished {
        for (i, choice) in output.choices.iter().enumerate() {
            parts.push(plain(delta_chunk(i, json!({}), Some(finish_reason(choice)))));
        }
        parts.push(wire::sse(style, None, "[DONE]"));
    }
    if style.unterminated {
        wire::unterminate(&mut parts);
    }
    parts
}

/// Merges the strings of `more` into `into` (appending), as a client accumulating deltas would.
fn merge(into: &mut Value, more: &Value) {
    match (into, more) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (x, y) in a.iter_mut().zip(b) {
                merge(x, y);
            }
        }
        (Value::String(a), Value::String(b)) => a.push_str(b),
        _ => {}
    }
}
