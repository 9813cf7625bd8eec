//! A chat chunk stream as a Responses event stream: `response.created`, `response.in_progress`,
//! then per output item `output_item.added`, its deltas and its `…done` events, and finally
//! `response.completed` (or `response.incomplete`) with usage — or `error` + `response.failed`.

use super::{call_item_id, message_id, response_id, response_object, status, usage, Echo, ResponseParts};
use crate::providers::json::str_at;
use crate::providers::translate::reply::{frame_json, FrameData};
use crate::providers::translate::{ChunkTranslator, ReplyMeta};
use crate::stream::{Frame, Framing};
use crate::view;
use serde_json::{json, Map, Value};

/// Per-stream state.
///
/// Invariants: `sequence` numbers every event written, from 0; the envelope (`chat_id`,
/// `created_at`, `model`) is fixed by the first chunk; `items` are in `output_index` order and
/// only the last one can be open; nothing is written once `closed`.
#[derive(Debug)]
pub struct Stream {
    echo: Echo,
    sequence: u64,
    started: bool,
    chat_id: String,
    created_at: u64,
    model: String,
    items: Vec<Item>,
    /// (chat tool-call `index`, position in `items`) of every call started.
    calls: Vec<(u64, usize)>,
    finish: Option<String>,
    /// The chat usage object of the usage chunk.
    usage: Option<Value>,
    closed: bool,
}

#[derive(Debug)]
struct Item {
    id: String,
    /// `None` for a message; the call id and name for a function call.
    call: Option<(String, String)>,
    /// The message text or the call's arguments so far.
    text: String,
    done: bool,
}

impl Stream {
    /// `meta` stands in for the envelope until the first chunk gives the chat stream's own.
    pub fn new(echo: Echo, meta: ReplyMeta) -> Self {
        Stream {
            echo,
            sequence: 0,
            started: false,
            chat_id: meta.id,
            created_at: meta.created,
            model: meta.model,
            items: Vec::new(),
            calls: Vec::new(),
            finish: None,
            usage: None,
            closed: false,
        }
    }

    fn emit(&mut self, kind: &str, fields: Value, out: &mut Vec<Frame>) {
        let mut event = Map::new();
        event.insert("type".into(), kind.into());
        event.insert("sequence_number".into(), self.sequence.into());
        if let Value::Object(fields) = fields {
            event.extend(fields);
        }
        self.sequence = self.sequence.saturating_add(1);
        out.push(Frame::build(Framing::Sse, Some(kind), Value::Object(event).to_string().as_bytes()));
    }

    fn response(&self, status: &str, incomplete: Option<&str>, error: Option<Value>) -> Value {
        let output = self.items.iter().map(|item| item_json(item, status)).collect();
        let usage = self.usage.as_ref().map(usage);
        let (id, model) = (response_id(&self.chat_id), self.model.as_str());
        let parts =
            ResponseParts { id: &id, created_at: self.created_at, model, status, incomplete, output, usage, error };
        response_object(&self.echo, parts)
    }

    fn start(&mut self, chunk: &Value, out: &mut Vec<Frame>) {
        if self.started {
            return;
        }
        self.started = true;
        if let Some(id) = str_at(chunk, "id").filter(|s| !s.is_empty()) {
            self.chat_id = id.to_owned();
        }
        if let Some(model) = str_at(chunk, "model").filter(|s| !s.is_empty()) {
            self.model = model.to_owned();
        }
        self.created_at = chunk.get("created").and_then(Value::as_u64).unwrap_or(self.created_at);
        let response = self.response("in_progress", None, None);
        self.emit("response.created", json!({"response": response}), out);
        let response = self.response("in_progress", None, None);
        self.emit("response.in_progress", json!({"response": response}), out);
    }

    /// Adds an output item after closing the open one; returns its position.
    fn add(&mut self, call: Option<(String, String)>, out: &mut Vec<Frame>) -> usize {
        self.close_open(out);
        let n = self.items.len();
        let id = if call.is_some() { call_item_id(&self.chat_id, n) } else { message_id(&self.chat_id, n) };
        self.items.push(Item { id, call, text: String::new(), done: false });
        let item = self.items.get(n).map(|i| item_json(i, "in_progress")).unwrap_or_default();
        self.emit("response.output_item.added", json!({"output_index": n, "item": item}), out);
        if let Some(Item { id, call: None, .. }) = self.items.get(n) {
            let fields = json!({"item_id": id, "output_index": n, "content_index": 0, "part": text_part("")});
            self.emit("response.content_part.added", fields, out);
        }
        n
    }

    fn close_open(&mut self, out: &mut Vec<Frame>) {
        if let Some(n) = self.items.len().checked_sub(1) {
            self.close(n, out);
        }
    }

    fn close(&mut self, n: usize, out: &mut Vec<Frame>) {
        let Some(item) = self.items.get_mut(n).filter(|i| !i.done) else { return };
        item.done = true;
        let (id, text, call) = (item.id.clone(), item.text.clone(), item.call.clone());
        let done = self.items.get(n).map(|i| item_json(i, "completed")).unwrap_or_default();
        match call {
            None => {
                let base = json!({"item_id": id, "output_index": n, "content_index": 0});
                let mut text_done = base.clone();
                if let Some(obj) = text_done.as_object_mut() {
                    obj.insert("text".into(), text.clone().into());
                    obj.insert("logprobs".into(), json!([]));
                }
                self.emit("response.output_text.done", text_done, out);
                let mut part_done = base;
                if let Some(obj) = part_done.as_object_mut() {
                    obj.insert("part".into(), text_part(&text));
                }
                self.emit("response.content_part.done", part_done, out);
            }
            Some((_, name)) => {
                let fields = json!({"item_id": id, "output_index": n, "arguments": text, "name": name});
                self.emit("response.function_call_arguments.done", fields, out);
            }
        }
        self.emit("response.output_item.done", json!({"output_index": n, "item": done}), out);
    }

    fn text(&mut self, delta: &str, out: &mut Vec<Frame>) {
        let open_message = self.items.last().is_some_and(|i| i.call.is_none() && !i.done);
        let n = if open_message { self.items.len().saturating_sub(1) } else { self.add(None, out) };
        let Some(item) = self.items.get_mut(n) else { return };
        item.text.push_str(delta);
        let fields = json!({"item_id": item.id, "output_index": n, "content_index": 0, "delta": delta, "logprobs": []});
        self.emit("response.output_text.delta", fields, out);
    }

    fn tool_delta(&mut self, tc: &Value, out: &mut Vec<Frame>) {
        let index = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
        let f = tc.get("function").unwrap_or(&Value::Null);
        let known = self.calls.iter().find(|(i, _)| *i == index).map(|(_, n)| *n);
        let n = match known {
            Some(n) => n,
            None => {
                let call_id = str_at(tc, "id").unwrap_or_default().to_owned();
                let n = self.add(Some((call_id, str_at(f, "name").unwrap_or_default().to_owned())), out);
                self.calls.push((index, n));
                n
            }
        };
        let piece = str_at(f, "arguments").unwrap_or_default();
        if piece.is_empty() {
            return;
        }
        let Some(item) = self.items.get_mut(n) else { return };
        // A piece for a call already closed (servers that interleave calls) still counts.
        item.text.push_str(piece);
        let fields = json!({"item_id": item.id, "output_index": n, "delta": piece});
        self.emit("response.function_call_arguments.delta", fields, out);
    }

    fn chunk(&mut self, chunk: &Value, out: &mut Vec<Frame>) {
        if let Some(error) = chunk.get("error") {
            let message = str_at(error, "message").unwrap_or("the upstream stream failed").to_owned();
            self.fail(&message, out);
            return;
        }
        self.start(chunk, out);
        let choice = chunk.get("choices").and_then(Value::as_array).and_then(|c| c.first());
        if let Some(choice) = choice {
            let delta = choice.get("delta").unwrap_or(&Value::Null);
            for key in ["content", "refusal"] {
                if let Some(t) = str_at(delta, key).filter(|t| !t.is_empty()) {
                    self.text(t, out);
                }
            }
            for tc in delta.get("tool_calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
                self.tool_delta(tc, out);
            }
            if let Some(reason) = str_at(choice, "finish_reason") {
                self.finish = Some(reason.to_owned());
                for n in 0..self.items.len() {
                    self.close(n, out);
                }
            }
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
    }

    fn complete(&mut self, out: &mut Vec<Frame>) {
        self.start(&Value::Null, out);
        for n in 0..self.items.len() {
            self.close(n, out);
        }
        let (status, incomplete) = status(self.finish.as_deref());
        let kind = if status == "completed" { "response.completed" } else { "response.incomplete" };
        let response = self.response(status, incomplete, None);
        self.emit(kind, json!({"response": response}), out);
        self.closed = true;
    }

    fn fail(&mut self, message: &str, out: &mut Vec<Frame>) {
        self.start(&Value::Null, out);
        self.emit("error", json!({"code": "server_error", "message": message, "param": null}), out);
        let error = json!({"code": "server_error", "message": message});
        let response = self.response("failed", None, Some(error));
        self.emit("response.failed", json!({"response": response}), out);
        self.closed = true;
    }
}

fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// An output item as of now; `status` is the item's if it is done, else `in_progress`.
fn item_json(item: &Item, status: &str) -> Value {
    let status = if !item.done {
        "in_progress"
    } else if status == "completed" || status == "in_progress" {
        "completed"
    } else {
        "incomplete"
    };
    match &item.call {
        None => {
            let content = if item.done || !item.text.is_empty() { vec![text_part(&item.text)] } else { Vec::new() };
            json!({"type": "message", "id": item.id, "status": status, "role": "assistant", "content": content})
        }
        Some((call_id, name)) => json!({
            "type": "function_call", "id": item.id, "call_id": call_id, "name": name,
            "arguments": item.text, "status": status,
        }),
    }
}

impl ChunkTranslator for Stream {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<Frame>) {
        if self.closed {
            return;
        }
        if frame.data.trim_ascii() == b"[DONE]" {
            self.complete(out);
            return;
        }
        match frame_json(frame) {
            FrameData::Json(chunk) => self.chunk(&chunk, out),
            FrameData::Skip => {}
            FrameData::Unreadable => self.fail("the chat stream sent an event the model router cannot read", out),
        }
    }

    fn finish(&mut self, out: &mut Vec<Frame>) {
        if self.closed {
            return;
        }
        if self.finish.is_some() {
            self.complete(out);
        } else {
            self.fail("the stream ended before the answer was complete", out);
        }
    }

    /// Chat usage is the hub's, not a provider's: the target's translator meters the upstream.
    fn usage(&self) -> Option<view::Usage> {
        None
    }
}
