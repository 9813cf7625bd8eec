//! A chat chunk stream as a Responses event stream: `response.created`, `response.in_progress`,
//! then per output item `output_item.added`, its deltas and its `…done` events, and finally
//! `response.completed` (or `response.incomplete`) with usage — or `error` + `response.failed`.

use super::{call_item_id, message_id, response_id, response_object, status, usage, Echo, ResponseParts};
use crate::providers::json::str_at;
use crate::providers::translate::reply::{json_str, push_u64};
use crate::providers::translate::{ChunkTranslator, ReplyMeta};
use crate::stream::Frame;
use crate::view;
use serde::Deserialize;
use serde_json::{json, Value};
use std::borrow::Cow;

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

    /// An event: its `type` and `sequence_number`, then `fields` (an object's members).
    fn emit(&mut self, kind: &str, fields: Value, out: &mut Vec<Frame>) {
        self.emit_text(kind, &crate::providers::json::to_bytes(&fields, 256), out);
    }

    /// An event whose other members are the JSON object text `fields`.
    fn emit_text(&mut self, kind: &str, fields: &[u8], out: &mut Vec<Frame>) {
        let mut data = Vec::with_capacity(fields.len().saturating_add(kind.len()).saturating_add(48));
        data.extend_from_slice(br#"{"type":"#);
        json_str(&mut data, kind);
        data.extend_from_slice(br#","sequence_number":"#);
        push_u64(&mut data, self.sequence);
        let members = fields.strip_prefix(b"{").unwrap_or_default();
        if members.first().is_some_and(|b| *b != b'}') {
            data.push(b',');
        }
        data.extend_from_slice(members);
        if members.is_empty() {
            data.push(b'}');
        }
        self.sequence = self.sequence.saturating_add(1);
        out.push(named_sse(kind, data));
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
        // Both events carry the same response: written once.
        let fields = json!({"response": self.response("in_progress", None, None)}).to_string();
        self.emit_text("response.created", fields.as_bytes(), out);
        self.emit_text("response.in_progress", fields.as_bytes(), out);
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
        out.push(delta_event("response.output_text.delta", self.sequence, &item.id, n, true, delta));
        self.sequence = self.sequence.saturating_add(1);
    }

    fn tool_delta(&mut self, tc: &ToolDelta<'_>, out: &mut Vec<Frame>) {
        let index = tc.index.unwrap_or(0);
        let f = tc.function.as_ref();
        let known = self.calls.iter().find(|(i, _)| *i == index).map(|(_, n)| *n);
        let n = match known {
            Some(n) => n,
            None => {
                let call_id = tc.id.as_deref().unwrap_or_default().to_owned();
                let name = f.and_then(|f| f.name.as_deref()).unwrap_or_default().to_owned();
                let n = self.add(Some((call_id, name)), out);
                self.calls.push((index, n));
                n
            }
        };
        let piece = f.and_then(|f| f.arguments.as_deref()).unwrap_or_default();
        if piece.is_empty() {
            return;
        }
        let Some(item) = self.items.get_mut(n) else { return };
        // A piece for a call already closed (servers that interleave calls) still counts.
        item.text.push_str(piece);
        out.push(delta_event("response.function_call_arguments.delta", self.sequence, &item.id, n, false, piece));
        self.sequence = self.sequence.saturating_add(1);
    }

    fn chunk(&mut self, chunk: ChatChunk<'_>, out: &mut Vec<Frame>) {
        if let Some(error) = &chunk.error {
            let message = str_at(error, "message").unwrap_or("the upstream stream failed").to_owned();
            self.fail(&message, out);
            return;
        }
        if !self.started {
            let envelope = json!({"id": chunk.id, "model": chunk.model, "created": chunk.created});
            self.start(&envelope, out);
        }
        // One choice: the router asks for one, and Responses has no place for more.
        let choice = chunk.choices.iter().flatten().find(|c| c.index.unwrap_or(0) == 0);
        if let Some(choice) = choice {
            if let Some(delta) = &choice.delta {
                for text in [&delta.content, &delta.refusal].into_iter().flatten() {
                    if !text.is_empty() {
                        self.text(text, out);
                    }
                }
                for tc in delta.tool_calls.iter().flatten() {
                    self.tool_delta(tc, out);
                }
            }
            if let Some(reason) = &choice.finish_reason {
                self.finish = Some(reason.to_string());
                for n in 0..self.items.len() {
                    self.close(n, out);
                }
            }
        }
        if let Some(u) = chunk.usage.filter(|u| u.is_object()) {
            self.usage = Some(u);
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

/// The parts of a chat chunk this translation reads. Typed, with borrowed text, because it is
/// parsed once per chunk on the stream's hot path; unknown fields are skipped.
#[derive(Deserialize)]
struct ChatChunk<'a> {
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    created: Option<u64>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    choices: Option<Vec<ChatChoice<'a>>>,
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChatChoice<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(borrow, default)]
    delta: Option<ChatDelta<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ChatDelta<'a> {
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    refusal: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolDelta<'a>>>,
}

#[derive(Deserialize)]
struct ToolDelta<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct FunctionDelta<'a> {
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    arguments: Option<Cow<'a, str>>,
}

/// A delta event written as text (`output_text.delta`, `function_call_arguments.delta`): these
/// are most of a stream, so they skip building a `Value`.
fn delta_event(kind: &str, sequence: u64, item_id: &str, output_index: usize, text_delta: bool, delta: &str) -> Frame {
    let mut data = Vec::with_capacity(delta.len().saturating_add(item_id.len()).saturating_add(160));
    data.extend_from_slice(br#"{"type":"#);
    json_str(&mut data, kind);
    data.extend_from_slice(br#","sequence_number":"#);
    push_u64(&mut data, sequence);
    data.extend_from_slice(br#","item_id":"#);
    json_str(&mut data, item_id);
    data.extend_from_slice(br#","output_index":"#);
    push_u64(&mut data, u64::try_from(output_index).unwrap_or(u64::MAX));
    if text_delta {
        data.extend_from_slice(br#","content_index":0"#);
    }
    data.extend_from_slice(br#","delta":"#);
    json_str(&mut data, delta);
    if text_delta {
        data.extend_from_slice(br#","logprobs":[]"#);
    }
    data.push(b'}');
    named_sse(kind, data)
}

/// A named SSE frame for one line of JSON.
fn named_sse(name: &str, data: Vec<u8>) -> Frame {
    let mut raw = Vec::with_capacity(data.len().saturating_add(name.len()).saturating_add(16));
    raw.extend_from_slice(b"event: ");
    raw.extend_from_slice(name.as_bytes());
    raw.extend_from_slice(b"\ndata: ");
    raw.extend_from_slice(&data);
    raw.extend_from_slice(b"\n\n");
    Frame { name: Some(name.to_owned()), data, raw }
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
        let data = frame.data.trim_ascii();
        if data.is_empty() {
            return;
        }
        match serde_json::from_slice::<ChatChunk<'_>>(data) {
            Ok(chunk) => self.chunk(chunk, out),
            Err(_) => self.fail("the chat stream sent an event the model router cannot read", out),
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
