//! Refusals: what the client receives instead of blocked tool calls.
//!
//! Streaming: the engine holds every event from the `response.output_item.added` of a blockable
//! call. When the calls are blocked, every call item that became one inside the held part is
//! withheld: the events at its `output_index` or naming its id are dropped, and so is any held
//! call event that does not belong to a call the client already knew of (fail closed: an item
//! announced twice, or a call event that names no item). The items after a withheld one move down
//! so `output_index` stays contiguous, `sequence_number`s are renumbered, the refusal arrives as
//! a complete `message` item, and the terminal event lists the output the client received.

use super::stream::{is_terminal, is_tool_item, kind, same_item, Fold};
use crate::providers::common::RefusalEnd;
use crate::providers::json::{self, str_at};
use crate::stream::{Frame, Framing};
use serde_json::{json, Map, Value};

/// What the refusal hooks learnt about the held part of a stream.
#[derive(Debug, Default)]
pub struct Hold {
    /// The `sequence_number` the next event written to the client gets; set from the first held
    /// event (the events before it went out as they were).
    next_seq: Option<u64>,
    /// A held `[DONE]` (some compatible servers end with one), and whether the refusal went out.
    pub(super) end: RefusalEnd,
    /// The number of the first held frame (see `Fold::frames`).
    pub(super) from_frame: Option<u64>,
}

/// The non-streaming refusal body: tool-call items removed from `output`, the refusal appended as
/// an assistant `message` item, status `completed`; id, model and usage kept.
pub fn body(response: &Value, message: &str) -> Value {
    let mut body = json::fields(response);
    let mut output: Vec<Value> = body
        .get("output")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter(|i| !is_tool_item(i)).cloned().collect())
        .unwrap_or_default();
    output.push(message_item(&message_id(&body), message, "completed"));
    body.insert("output".to_owned(), Value::Array(output));
    body.entry("object").or_insert_with(|| json!("response"));
    complete(&mut body);
    Value::Object(body)
}

/// A finished-with-tool-calls response becomes an ordinary completed one; a failed one stays failed.
fn complete(response: &mut Map<String, Value>) {
    if response.get("status").and_then(Value::as_str) != Some("failed") {
        response.insert("status".to_owned(), json!("completed"));
        if response.contains_key("incomplete_details") {
            response.insert("incomplete_details".to_owned(), Value::Null);
        }
    }
}

/// An id for the refusal's message item, derived from the response's own so it is stable.
fn message_id(response: &Map<String, Value>) -> String {
    let id = response.get("id").and_then(Value::as_str).unwrap_or_default();
    format!("msg_warden_{}", id.strip_prefix("resp_").unwrap_or(id))
}

fn message_item(id: &str, text: &str, status: &str) -> Value {
    let content = if text.is_empty() && status == "in_progress" { json!([]) } else { json!([output_text(text)]) };
    json!({"id": id, "type": "message", "status": status, "role": "assistant", "content": content})
}

fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

impl Fold {
    /// See `StreamFold::strip_tools`.
    pub fn strip_tools(&mut self, frame: &Frame) -> Option<Frame> {
        let mut event = match self.hold.end.held_json(frame) {
            Ok(event) => event,
            Err(stripped) => return stripped,
        };
        if self.hold.next_seq.is_none() {
            self.hold.next_seq = event.get("sequence_number").and_then(Value::as_u64);
        }
        // Frames are stripped only once something was held: without word of where that began,
        // everything folded counts as held.
        let from = *self.hold.from_frame.get_or_insert(0);
        self.withhold(from);
        if !self.passes_held(&event, frame) {
            return None;
        }
        let index = event.get("output_index").and_then(Value::as_u64);
        let mut changed = false;
        if let (Some(index), Some(slot)) = (index, event.get_mut("output_index")) {
            let moved = self.client_index(index);
            if moved != index {
                *slot = json!(moved);
                changed = true;
            }
        }
        if event.get("sequence_number").is_some() {
            changed |= self.renumber(&mut event);
        }
        if changed {
            Some(frame.with_data(Framing::Sse, &to_bytes(&event)))
        } else {
            Some(frame.clone())
        }
    }

    /// See `StreamFold::hold_begins`.
    pub fn hold_begins(&mut self) {
        self.hold.from_frame = Some(self.frames.saturating_sub(1));
    }

    /// See `StreamFold::hold_released`: what was held is the client's now.
    pub fn hold_released(&mut self) {
        self.hold.from_frame = None;
    }

    /// Marks held every call that became one at or after frame `from`.
    fn withhold(&mut self, from: u64) {
        for item in &mut self.items {
            item.held |= item.tool && item.tool_since >= from;
        }
    }

    /// Whether a held event may reach the client once the calls are blocked: not if it points at
    /// a withheld item (by `output_index` or `item_id`), and a call event only when it belongs to a
    /// call the client already knew of.
    fn passes_held(&self, event: &Value, frame: &Frame) -> bool {
        let index = event.get("output_index").and_then(Value::as_u64);
        let item_id = str_at(event, "item_id").filter(|id| !id.is_empty());
        let at = |known: &super::stream::Item| {
            index.is_some_and(|i| known.output_index == i)
                || item_id.is_some_and(|id| str_at(&known.body, "id") == Some(id))
        };
        if self.items.iter().any(|known| known.held && at(known)) {
            return false;
        }
        let kind = kind(event, frame);
        let released = |item: Option<&Value>| {
            self.items.iter().any(|known| {
                !known.held
                    && known.tool
                    && match item {
                        Some(item) => index.is_none_or(|i| known.output_index == i) && same_item(&known.body, item),
                        None => at(known),
                    }
            })
        };
        match kind {
            "response.output_item.added" | "response.output_item.done" => {
                let item = event.get("item").filter(|item| is_tool_item(item));
                item.is_none_or(|item| released(Some(item)))
            }
            _ if is_call_content(kind) => released(None),
            _ => true,
        }
    }

    /// See `StreamFold::refusal`.
    pub fn refusal(&mut self, message: &str, finish: Option<&Frame>) -> Vec<Frame> {
        if let Some(from) = self.hold.from_frame {
            self.withhold(from);
        }
        let finish_event = finish.and_then(|f| serde_json::from_slice::<Value>(&f.data).ok()).filter(Value::is_object);
        if self.hold.next_seq.is_none() {
            self.hold.next_seq = finish_event.as_ref().and_then(|e| e.get("sequence_number")).and_then(Value::as_u64);
        }
        let mut terminal = match (&finish_event, finish) {
            (Some(event), Some(frame)) if is_terminal(kind(event, frame)) => event.clone(),
            _ => self.synthetic_terminal(),
        };
        let response = terminal.get("response").and_then(Value::as_object).cloned().unwrap_or_default();
        let item_id = message_id(&response);
        let index = self.items.iter().filter(|i| self.seen(i)).count();
        let mut out = self.message_events(&item_id, index, message);

        let mut response = response;
        let mut output: Vec<Value> = response
            .get("output")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter(|item| !self.is_blocked(item)).cloned().collect())
            .unwrap_or_default();
        output.push(message_item(&item_id, message, "completed"));
        response.insert("output".to_owned(), Value::Array(output));
        complete(&mut response);
        let failed = response.get("status").and_then(Value::as_str) == Some("failed");
        let name = if failed { "response.failed" } else { "response.completed" };
        if let Some(event) = terminal.as_object_mut() {
            event.insert("type".to_owned(), json!(name));
            event.insert("response".to_owned(), Value::Object(response));
        }
        self.renumber(&mut terminal);
        out.push(Frame::build(Framing::Sse, Some(name), &to_bytes(&terminal)));
        self.hold.end.close(&mut out);
        out
    }

    /// The events of a complete assistant `message` item whose text is `message`.
    fn message_events(&mut self, item_id: &str, index: usize, message: &str) -> Vec<Frame> {
        let at = |mut event: Value| {
            if let Some(event) = event.as_object_mut() {
                event.insert("item_id".to_owned(), json!(item_id));
                event.insert("output_index".to_owned(), json!(index));
                event.insert("content_index".to_owned(), json!(0));
            }
            event
        };
        let events = [
            json!({"type": "response.output_item.added", "output_index": index,
                   "item": message_item(item_id, "", "in_progress")}),
            at(json!({"type": "response.content_part.added", "part": output_text("")})),
            at(json!({"type": "response.output_text.delta", "delta": message, "logprobs": []})),
            at(json!({"type": "response.output_text.done", "text": message, "logprobs": []})),
            at(json!({"type": "response.content_part.done", "part": output_text(message)})),
            json!({"type": "response.output_item.done", "output_index": index,
                   "item": message_item(item_id, message, "completed")}),
        ];
        events
            .into_iter()
            .map(|mut event| {
                self.renumber(&mut event);
                let name = str_at(&event, "type").unwrap_or_default().to_owned();
                Frame::build(Framing::Sse, Some(&name), &to_bytes(&event))
            })
            .collect()
    }

    /// A `response.completed` for a stream that ended without a terminal event, built on the
    /// last lifecycle response and the items the client saw.
    fn synthetic_terminal(&self) -> Value {
        let mut response = match &self.lifecycle {
            Some(Value::Object(lifecycle)) => lifecycle.clone(),
            _ => Map::new(),
        };
        response.entry("object").or_insert_with(|| json!("response"));
        if let Some(model) = &self.response.model {
            response.entry("model").or_insert_with(|| json!(model));
        }
        let output: Vec<Value> = self.items.iter().filter(|i| !i.held).map(|i| i.body.clone()).collect();
        response.insert("output".to_owned(), Value::Array(output));
        json!({"type": "response.completed", "response": response})
    }

    /// A call in the terminal output that the client was not given: announced in the held part,
    /// or never streamed at all.
    fn is_blocked(&self, item: &Value) -> bool {
        is_tool_item(item) && !self.items.iter().any(|known| !known.held && known.tool && same_item(&known.body, item))
    }

    /// Whether the client saw the item announced: not withheld, or announced before the hold (an
    /// item that turned out a call there).
    fn seen(&self, item: &super::stream::Item) -> bool {
        !item.held || self.hold.from_frame.is_some_and(|from| item.born < from)
    }

    /// Where the client sees the item the upstream put at `index`: withheld items before it are gone.
    fn client_index(&self, index: u64) -> u64 {
        let removed = self.items.iter().filter(|i| !self.seen(i) && i.output_index < index).count();
        index.saturating_sub(u64::try_from(removed).unwrap_or(u64::MAX))
    }

    /// Gives the event the next `sequence_number`, when the stream numbers its events.
    fn renumber(&mut self, event: &mut Value) -> bool {
        let Some(next) = self.hold.next_seq else { return false };
        let Some(event) = event.as_object_mut() else { return false };
        self.hold.next_seq = Some(next.saturating_add(1));
        let changed = event.get("sequence_number").and_then(Value::as_u64) != Some(next);
        event.insert("sequence_number".to_owned(), json!(next));
        changed
    }
}

/// Events that carry a call's own content (its arguments or input), named by the call they belong to.
fn is_call_content(kind: &str) -> bool {
    kind.starts_with("response.function_call_arguments.") || kind.starts_with("response.custom_tool_call_input.")
}

fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
#[path = "refusal_tests.rs"]
mod tests;
