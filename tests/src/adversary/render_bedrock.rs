//! Bedrock Converse: a whole response (tool `input` is a JSON value: the argument text is spliced
//! in raw), or ConverseStream events in AWS eventstream framing (tool input in string deltas).

use super::lenient::{splice, with_nan};
use super::{wire, Call, Output, Style};
use serde_json::{json, Value};

fn placeholder(j: usize) -> String {
    format!("@ADVERSARY_INPUT_{j}@")
}

fn usage() -> Value {
    json!({"inputTokens": 25, "outputTokens": 12, "totalTokens": 45, "cacheReadInputTokens": 5, "cacheWriteInputTokens": 3})
}

fn tool_use(j: usize, call: &Call, input: Option<Value>) -> Value {
    let mut tu = json!({"toolUseId": format!("tooluse_adv_{j}")});
    if !call.name.is_empty() {
        tu["name"] = json!(call.name());
    }
    if let Some(input) = input {
        tu["input"] = input;
    }
    tu
}

pub fn json(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let choice = output.choices.first().cloned().unwrap_or_default();
    let mut content = Vec::new();
    if !choice.text.is_empty() {
        content.push(json!({"text": choice.text.concat()}));
    }
    content.extend(
        choice.calls.iter().enumerate().map(|(j, c)| json!({"toolUse": tool_use(j, c, Some(json!(placeholder(j))))})),
    );
    let stop = if choice.calls.is_empty() { "end_turn" } else { "tool_use" };
    let body = json!({"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
        "usage": usage(), "metrics": {"latencyMs": 100}});
    let raw: Vec<(String, String)> = choice
        .calls
        .iter()
        .enumerate()
        .map(|(j, c)| (placeholder(j), if c.args.is_empty() { "{}".into() } else { c.args_text() }))
        .collect();
    let text = splice(&body, &raw);
    vec![if style.lenient_frames { with_nan(&text) } else { text }.into_bytes()]
}

fn event(style: &Style, kind: &str, payload: &Value, tool: bool) -> Vec<u8> {
    let text = payload.to_string();
    let text = if tool && style.lenient_frames { with_nan(&text) } else { text };
    let mut headers = vec![(":event-type", kind), (":content-type", "application/json"), (":message-type", "event")];
    if tool && style.duplicate_event_type {
        headers.insert(0, (":event-type", "x-adversary-ignored"));
    }
    wire::eventstream(&headers, &text)
}

pub fn events(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let choice = output.choices.first().cloned().unwrap_or_default();
    let mut parts = vec![event(style, "messageStart", &json!({"role": "assistant"}), false)];
    let mut index = 0u64;
    if style.bad_crc_before {
        let mut broken =
            event(style, "contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": "…"}}), false);
        if let Some(last) = broken.last_mut() {
            *last ^= 0xff;
        }
        parts.push(broken);
    }
    if style.huge_event_before || !choice.text.is_empty() {
        if style.huge_event_before {
            parts.push(event(
                style,
                "contentBlockDelta",
                &json!({"contentBlockIndex": index, "delta": {"text": wire::huge_text()}}),
                false,
            ));
        }
        for piece in &choice.text {
            parts.push(event(
                style,
                "contentBlockDelta",
                &json!({"contentBlockIndex": index, "delta": {"text": piece}}),
                false,
            ));
        }
        parts.push(event(style, "contentBlockStop", &json!({"contentBlockIndex": index}), false));
        index += 1;
    }
    for (j, call) in choice.calls.iter().enumerate() {
        let at = index + j as u64;
        let start = json!({"contentBlockIndex": at, "start": {"toolUse": tool_use(j, call, None)}});
        parts.push(event(style, "contentBlockStart", &start, true));
        let delta_at = if style.orphan_deltas { at + 7 } else { at };
        for piece in &call.args {
            let delta = json!({"contentBlockIndex": delta_at, "delta": {"toolUse": {"input": piece}}});
            parts.push(event(style, "contentBlockDelta", &delta, true));
        }
        if !style.unfinished {
            parts.push(event(style, "contentBlockStop", &json!({"contentBlockIndex": at}), true));
        }
    }
    if !style.unfinished {
        let stop = if choice.calls.is_empty() { "end_turn" } else { "tool_use" };
        parts.push(event(style, "messageStop", &json!({"stopReason": stop}), false));
        parts.push(event(style, "metadata", &json!({"usage": usage(), "metrics": {"latencyMs": 100}}), false));
    }
    parts
}
