//! Cohere v2 chat: a whole response (arguments as JSON text), or SSE events named like their
//! data's `type` (`message-start`, `tool-call-start|delta|end`, `message-end`).

use super::lenient::with_nan;
use super::{wire, Call, Output, Style};
use serde_json::{json, Value};

fn usage() -> Value {
    json!({"billed_units": {"input_tokens": 20, "output_tokens": 12},
        "tokens": {"input_tokens": 25, "output_tokens": 12}, "cached_tokens": 5})
}

fn function(call: &Call, arguments: &str) -> Value {
    let mut f = json!({"arguments": arguments});
    if !call.name.is_empty() {
        f["name"] = json!(call.name());
    }
    f
}

pub fn json(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let choice = output.choices.first().cloned().unwrap_or_default();
    let mut message = json!({"role": "assistant"});
    if !choice.text.is_empty() {
        message["content"] = json!([{"type": "text", "text": choice.text.concat()}]);
    }
    if !choice.calls.is_empty() {
        message["tool_plan"] = json!("I will use the tools.");
        message["tool_calls"] = choice
            .calls
            .iter()
            .enumerate()
            .map(|(j, c)| json!({"id": format!("call_adv_{j}"), "type": "function", "function": function(c, &c.args_text())}))
            .collect();
    }
    let finish = if choice.calls.is_empty() { "COMPLETE" } else { "TOOL_CALL" };
    let body = json!({"id": "adversary", "finish_reason": finish, "message": message, "usage": usage()});
    let text = body.to_string();
    vec![if style.lenient_frames { with_nan(&text) } else { text }.into_bytes()]
}

pub fn sse(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let choice = output.choices.first().cloned().unwrap_or_default();
    let mut parts = Vec::new();
    let mut push = |kind: &str, data: Value, tool: bool| {
        let mut data = data;
        data["type"] = json!(kind);
        let text = data.to_string();
        let text = if tool && style.lenient_frames { with_nan(&text) } else { text };
        // Renamed: the event line says text content while the data says tool call.
        let name = if tool && style.renamed_events { "content-delta" } else { kind };
        parts.push(wire::sse(style, Some(name), &text));
    };
    let start = json!({"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []});
    push("message-start", json!({"id": "adversary", "delta": {"message": start}}), false);
    if style.huge_event_before || !choice.text.is_empty() {
        push(
            "content-start",
            json!({"index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
            false,
        );
        if style.huge_event_before {
            push(
                "content-delta",
                json!({"index": 0, "delta": {"message": {"content": {"text": wire::huge_text()}}}}),
                false,
            );
        }
        for piece in &choice.text {
            push("content-delta", json!({"index": 0, "delta": {"message": {"content": {"text": piece}}}}), false);
        }
        push("content-end", json!({"index": 0}), false);
    }
    if !choice.calls.is_empty() {
        push("tool-plan-delta", json!({"delta": {"message": {"tool_plan": "I will use the tools."}}}), false);
    }
    for (j, call) in choice.calls.iter().enumerate() {
        let tc = json!({"id": format!("call_adv_{j}"), "type": "function", "function": function(call, "")});
        push("tool-call-start", json!({"index": j, "delta": {"message": {"tool_calls": tc}}}), true);
        for piece in &call.args {
            let tc = json!({"function": {"arguments": piece}});
            push("tool-call-delta", json!({"index": j, "delta": {"message": {"tool_calls": tc}}}), true);
        }
        if !style.unfinished {
            push("tool-call-end", json!({"index": j}), true);
        }
    }
    if !style.unfinished {
        let finish = if choice.calls.is_empty() { "COMPLETE" } else { "TOOL_CALL" };
        push("message-end", json!({"delta": {"finish_reason": finish, "usage": usage()}}), false);
    }
    if style.unterminated {
        wire::unterminate(&mut parts);
    }
    parts
}
