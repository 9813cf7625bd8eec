//! Anthropic Messages: a whole `message`, or its SSE events (`message_start`, content blocks,
//! `message_delta`, `message_stop`). Tool input is a JSON value in a whole message (the argument
//! text is spliced in raw) and `input_json_delta` pieces in a stream.

use super::lenient::{splice, with_nan};
use super::{wire, Call, Output, Style};
use serde_json::{json, Value};

const MODEL: &str = "claude-sonnet-4-5";

fn placeholder(j: usize) -> String {
    format!("@ADVERSARY_INPUT_{j}@")
}

fn raw_inputs(calls: &[Call]) -> Vec<(String, String)> {
    calls
        .iter()
        .enumerate()
        .map(|(j, c)| (placeholder(j), if c.args.is_empty() { "{}".into() } else { c.args_text() }))
        .collect()
}

fn tool_block(j: usize, call: &Call, input: Value) -> Value {
    let mut block = json!({"type": "tool_use", "id": format!("toolu_adv_{j}"), "input": input});
    if !call.name.is_empty() {
        block["name"] = json!(call.name());
    }
    block
}

fn message(content: Vec<Value>, stop: Option<&str>) -> Value {
    json!({"id": "msg_adversary", "type": "message", "role": "assistant", "model": MODEL, "content": content,
        "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": 25, "output_tokens": 12, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 3}})
}

pub fn json(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let choice = output.choices.first().cloned().unwrap_or_default();
    let mut content = Vec::new();
    if !choice.text.is_empty() {
        content.push(json!({"type": "text", "text": choice.text.concat()}));
    }
    content.extend(choice.calls.iter().enumerate().map(|(j, c)| tool_block(j, c, json!(placeholder(j)))));
    let stop = if choice.calls.is_empty() { "end_turn" } else { "tool_use" };
    let text = splice(&message(content, Some(stop)), &raw_inputs(&choice.calls));
    vec![if style.lenient_frames { with_nan(&text) } else { text }.into_bytes()]
}

pub fn sse(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let choice = output.choices.first().cloned().unwrap_or_default();
    let raw = raw_inputs(&choice.calls);
    let mut parts = Vec::new();
    let mut push = |kind: &str, data: Value, tool: bool| {
        let mut data = data;
        data["type"] = json!(kind);
        let text = splice(&data, &raw);
        let text = if tool && style.lenient_frames { with_nan(&text) } else { text };
        let name = if tool && style.renamed_events { "x_adversary_event" } else { kind };
        parts.push(wire::sse(style, Some(name), &text));
    };
    let start_content: Vec<Value> = if style.calls_in_message_start {
        choice.calls.iter().enumerate().map(|(j, c)| tool_block(j, c, json!(placeholder(j)))).collect()
    } else {
        Vec::new()
    };
    let mut start = message(start_content, None);
    start["usage"]["output_tokens"] = json!(1);
    push("message_start", json!({"message": start}), style.calls_in_message_start);
    let mut index = 0u64;
    if style.huge_event_before || !choice.text.is_empty() {
        push("content_block_start", json!({"index": index, "content_block": {"type": "text", "text": ""}}), false);
        if style.huge_event_before {
            push(
                "content_block_delta",
                json!({"index": index, "delta": {"type": "text_delta", "text": wire::huge_text()}}),
                false,
            );
        }
        for piece in &choice.text {
            push("content_block_delta", json!({"index": index, "delta": {"type": "text_delta", "text": piece}}), false);
        }
        push("content_block_stop", json!({"index": index}), false);
        index += 1;
    }
    if style.swapped_indexes {
        // The blocks state their indexes in reverse while every delta and stop addresses a block by
        // its position in arrival order, as the SDK's accumulator reads them.
        let count = choice.calls.len() as u64;
        for (j, call) in choice.calls.iter().enumerate() {
            let stated = index + count - 1 - j as u64;
            push(
                "content_block_start",
                json!({"index": stated, "content_block": tool_block(j, call, json!({}))}),
                true,
            );
        }
        for (j, call) in choice.calls.iter().enumerate() {
            for piece in &call.args {
                let delta = json!({"type": "input_json_delta", "partial_json": piece});
                push("content_block_delta", json!({"index": index + j as u64, "delta": delta}), true);
            }
        }
        for j in 0..count {
            push("content_block_stop", json!({"index": index + j}), true);
        }
    } else if !style.calls_in_message_start {
        for (j, call) in choice.calls.iter().enumerate() {
            let at = index + j as u64;
            push("content_block_start", json!({"index": at, "content_block": tool_block(j, call, json!({}))}), true);
            for piece in &call.args {
                let delta = json!({"type": "input_json_delta", "partial_json": piece});
                push("content_block_delta", json!({"index": at, "delta": delta}), true);
            }
            if !style.unfinished {
                push("content_block_stop", json!({"index": at}), true);
            }
        }
    }
    if !style.unfinished {
        let stop = if choice.calls.is_empty() { "end_turn" } else { "tool_use" };
        push(
            "message_delta",
            json!({"delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 12}}),
            false,
        );
        push("message_stop", json!({}), false);
    }
    if style.unterminated {
        wire::unterminate(&mut parts);
    }
    parts
}
