//! OpenAI Responses: a whole `response` object, or its SSE events (`event:` name equal to the
//! data's `type`, increasing `sequence_number`).

use super::lenient::{splice, with_nan};
use super::{wire, Call, Kind, Output, Style};
use serde_json::{json, Value};

const MODEL: &str = "gpt-4o-mini";

fn usage() -> Value {
    json!({"input_tokens": 25, "input_tokens_details": {"cached_tokens": 5}, "output_tokens": 12,
        "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 37})
}

fn response(status: &str, output: Vec<Value>, usage: Option<Value>) -> Value {
    json!({"id": "resp_adversary", "object": "response", "created_at": 1_700_000_000, "status": status,
        "model": MODEL, "output": output, "usage": usage, "parallel_tool_calls": true})
}

fn message_item(text: &str) -> Value {
    json!({"type": "message", "id": "msg_adv", "status": "completed", "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

/// Placeholder for call `j`'s raw argument JSON in a built-in's `action`/`operation`.
fn placeholder(j: usize) -> String {
    format!("@ADVERSARY_ARGS_{j}@")
}

/// The item of call `j` as `output_item.done` and the whole response describe it. `args`: the
/// argument text a function or custom call carries (empty while streaming starts).
fn call_item(j: usize, call: &Call, args: &str) -> Value {
    let call_id = format!("call_{j}");
    let mut item = match call.kind {
        Kind::Custom => {
            json!({"type": "custom_tool_call", "id": format!("ctc_{j}"), "call_id": call_id, "input": args})
        }
        Kind::Builtin(kind) => {
            let key = if kind == "apply_patch_call" { "operation" } else { "action" };
            let mut item = json!({"type": kind, "id": format!("bi_{j}"), "call_id": call_id, "status": "completed"});
            item[key] = json!(placeholder(j));
            if kind == "computer_call" {
                item["pending_safety_checks"] = json!([]);
            }
            return item;
        }
        Kind::Function | Kind::Legacy => json!({"type": "function_call", "id": format!("fc_{j}"), "call_id": call_id,
            "arguments": args, "status": "completed"}),
    };
    if !call.name.is_empty() {
        item["name"] = json!(call.name());
    }
    item
}

/// A built-in's action text goes in raw (it is JSON the model wrote, valid or not).
fn raw_args(output: &Output) -> Vec<(String, String)> {
    let calls = output.choices.first().map(|c| c.calls.as_slice()).unwrap_or_default();
    calls
        .iter()
        .enumerate()
        .map(|(j, c)| (placeholder(j), if c.args.is_empty() { "{}".into() } else { c.args_text() }))
        .collect()
}

fn whole_output(output: &Output) -> Vec<Value> {
    let Some(choice) = output.choices.first() else { return Vec::new() };
    let mut items = Vec::new();
    if !choice.text.is_empty() {
        items.push(message_item(&choice.text.concat()));
    }
    items.extend(choice.calls.iter().enumerate().map(|(j, c)| call_item(j, c, &c.args_text())));
    items
}

pub fn json(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let text = splice(&response("completed", whole_output(output), Some(usage())), &raw_args(output));
    vec![if style.lenient_frames { with_nan(&text) } else { text }.into_bytes()]
}

struct Events<'a> {
    style: &'a Style,
    seq: u64,
    parts: Vec<Vec<u8>>,
    raw: Vec<(String, String)>,
}

impl Events<'_> {
    fn push(&mut self, kind: &str, mut data: Value, tool: bool) {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.seq);
        self.seq += 1;
        let text = splice(&data, &self.raw);
        let text = if tool && self.style.lenient_frames { with_nan(&text) } else { text };
        let name = if tool && self.style.renamed_events { "response.in_progress" } else { kind };
        self.parts.push(wire::sse(self.style, Some(name), &text));
    }
}

pub fn sse(output: &Output, style: &Style) -> Vec<Vec<u8>> {
    let mut ev = Events { style, seq: 0, parts: Vec::new(), raw: raw_args(output) };
    ev.push("response.created", json!({"response": response("in_progress", vec![], None)}), false);
    ev.push("response.in_progress", json!({"response": response("in_progress", vec![], None)}), false);
    let choice = output.choices.first().cloned().unwrap_or_default();
    let mut index = 0u64;
    let mut done_items = Vec::new();
    if style.huge_event_before || !choice.text.is_empty() {
        let mut text = choice.text.concat();
        if style.huge_event_before {
            text.insert_str(0, &wire::huge_text());
        }
        let mut added = message_item("");
        added["status"] = json!("in_progress");
        added["content"] = json!([]);
        ev.push("response.output_item.added", json!({"output_index": index, "item": added}), false);
        let part = json!({"type": "output_text", "text": "", "annotations": []});
        ev.push(
            "response.content_part.added",
            json!({"output_index": index, "item_id": "msg_adv", "content_index": 0, "part": part}),
            false,
        );
        let mut deltas = choice.text.clone();
        if style.huge_event_before {
            deltas.insert(0, wire::huge_text());
        }
        for delta in deltas {
            ev.push("response.output_text.delta", json!({"output_index": index, "item_id": "msg_adv", "content_index": 0, "delta": delta, "logprobs": []}), false);
        }
        ev.push(
            "response.output_text.done",
            json!({"output_index": index, "item_id": "msg_adv", "content_index": 0, "text": text, "logprobs": []}),
            false,
        );
        let part = json!({"type": "output_text", "text": text, "annotations": []});
        ev.push(
            "response.content_part.done",
            json!({"output_index": index, "item_id": "msg_adv", "content_index": 0, "part": part}),
            false,
        );
        ev.push("response.output_item.done", json!({"output_index": index, "item": message_item(&text)}), false);
        done_items.push(message_item(&text));
        index += 1;
    }
    for (j, call) in choice.calls.iter().enumerate() {
        let whole = call_item(j, call, &call.args_text());
        if !style.only_in_completed {
            let mut added = call_item(j, call, "");
            added["status"] = json!("in_progress");
            ev.push("response.output_item.added", json!({"output_index": index, "item": added}), true);
            let item_id = whole.get("id").cloned().unwrap_or(Value::Null);
            let delta_kind = match call.kind {
                Kind::Custom => Some("response.custom_tool_call_input.delta"),
                Kind::Function | Kind::Legacy => Some("response.function_call_arguments.delta"),
                Kind::Builtin(_) => None,
            };
            if let Some(kind) = delta_kind {
                for piece in &call.args {
                    ev.push(kind, json!({"output_index": index, "item_id": item_id, "delta": piece}), true);
                }
                if !style.never_done && !style.unfinished && kind.starts_with("response.function") {
                    ev.push(
                        "response.function_call_arguments.done",
                        json!({"output_index": index, "item_id": item_id, "arguments": call.args_text()}),
                        true,
                    );
                }
            }
            if !style.never_done && !style.unfinished {
                ev.push("response.output_item.done", json!({"output_index": index, "item": whole.clone()}), true);
            }
        }
        if !style.never_done {
            done_items.push(whole);
        }
        index += 1;
    }
    if !style.unfinished {
        let carries_calls = style.only_in_completed && !choice.calls.is_empty();
        ev.push(
            "response.completed",
            json!({"response": response("completed", done_items, Some(usage()))}),
            carries_calls,
        );
    }
    let mut parts = ev.parts;
    if style.unterminated {
        wire::unterminate(&mut parts);
    }
    parts
}
