//! Writes the hub's answers: `chat.completion` bodies and `chat.completion.chunk` SSE streams, with
//! usage in the OpenAI convention whatever the target's (`prompt_tokens` is the whole input:
//! uncached + cache read + cache write; `cached_tokens` is the cache read).

use super::ReplyMeta;
use crate::stream::{Frame, Framing};
use crate::view;
use serde_json::{json, Map, Value};

/// Usage in OpenAI chat terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatUsage {
    pub prompt: u64,
    pub completion: u64,
    pub cached: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

impl ChatUsage {
    /// From the neutral view (`input` uncached). `output_has_reasoning`: the target's output count
    /// already includes reasoning tokens (Anthropic); Gemini counts thoughts apart, and OpenAI's
    /// `completion_tokens` includes them, so they are added.
    pub fn from_view(u: &view::Usage, output_has_reasoning: bool) -> Self {
        let completion = if output_has_reasoning { u.output } else { u.output.saturating_add(u.reasoning) };
        ChatUsage {
            prompt: u.input.saturating_add(u.cache_read).saturating_add(u.cache_write),
            completion,
            cached: u.cache_read,
            cache_write: u.cache_write,
            reasoning: u.reasoning,
        }
    }

    pub fn to_json(self) -> Value {
        let mut prompt_details = Map::new();
        prompt_details.insert("cached_tokens".into(), self.cached.into());
        if self.cache_write > 0 {
            prompt_details.insert("cache_write_tokens".into(), self.cache_write.into());
        }
        json!({
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "total_tokens": self.prompt.saturating_add(self.completion),
            "prompt_tokens_details": prompt_details,
            "completion_tokens_details": {"reasoning_tokens": self.reasoning},
        })
    }
}

/// A finished tool call of a whole answer.
#[derive(Debug, Clone, PartialEq)]
pub struct DoneCall {
    pub id: String,
    pub name: String,
    /// The arguments as JSON text.
    pub arguments: String,
}

/// A whole `chat.completion`: one choice.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub id: String,
    pub created: u64,
    pub model: String,
    pub text: String,
    pub calls: Vec<DoneCall>,
    pub finish_reason: &'static str,
    pub usage: Option<ChatUsage>,
}

impl Completion {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut message = Map::new();
        message.insert("role".into(), "assistant".into());
        let content =
            if self.text.is_empty() && !self.calls.is_empty() { Value::Null } else { self.text.clone().into() };
        message.insert("content".into(), content);
        message.insert("refusal".into(), Value::Null);
        if !self.calls.is_empty() {
            let calls: Vec<Value> = self
                .calls
                .iter()
                .map(
                    |c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}),
                )
                .collect();
            message.insert("tool_calls".into(), calls.into());
        }
        let mut body = json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": self.finish_reason}],
        });
        if let (Some(u), Some(obj)) = (self.usage, body.as_object_mut()) {
            obj.insert("usage".into(), u.to_json());
        }
        body.to_string().into_bytes()
    }
}

/// Writes one chat chunk stream. Translators drive it with what each upstream event means.
///
/// Invariants: the envelope (`id`, `created`, `model`) is fixed by the first chunk written and
/// every later chunk repeats it; `role` is in the first delta only; tool calls get dense indices
/// 0, 1, … in order of their start; nothing is written after `[DONE]` or an error event.
#[derive(Debug)]
pub struct ChunkWriter {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
    /// A chunk has been written, so the envelope is fixed.
    started: bool,
    /// Tool calls started so far: the index the next call gets.
    calls: u32,
    /// The finish chunk has been written.
    finished: bool,
    /// `[DONE]` or an error event has been written: the stream is over.
    closed: bool,
}

impl ChunkWriter {
    pub fn new(meta: ReplyMeta, include_usage: bool) -> Self {
        ChunkWriter {
            id: meta.id,
            created: meta.created,
            model: meta.model,
            include_usage,
            started: false,
            calls: 0,
            finished: false,
            closed: false,
        }
    }

    /// Takes the upstream's id and model for the envelope, if no chunk has been written yet.
    pub fn envelope(&mut self, id: Option<&str>, model: Option<&str>) {
        if self.started {
            return;
        }
        if let Some(id) = id.filter(|s| !s.is_empty()) {
            self.id = id.to_owned();
        }
        if let Some(model) = model.filter(|s| !s.is_empty()) {
            self.model = model.to_owned();
        }
    }

    pub fn finished(&self) -> bool {
        self.finished
    }

    pub fn closed(&self) -> bool {
        self.closed
    }

    pub fn calls_started(&self) -> u32 {
        self.calls
    }

    /// The first chunk: the assistant role with empty content.
    pub fn start(&mut self, out: &mut Vec<Frame>) {
        if !self.started && !self.closed {
            self.chunk(json!({"role": "assistant", "content": ""}), Value::Null, out);
        }
    }

    pub fn text(&mut self, text: &str, out: &mut Vec<Frame>) {
        if text.is_empty() || self.finished {
            return;
        }
        self.start(out);
        self.chunk(json!({"content": text}), Value::Null, out);
    }

    /// Starts a tool call; returns its index for `arguments`.
    pub fn call_start(&mut self, id: &str, name: &str, out: &mut Vec<Frame>) -> u32 {
        let index = self.calls;
        if self.finished {
            return index;
        }
        self.start(out);
        self.calls = self.calls.saturating_add(1);
        let call = json!({"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}});
        self.chunk(json!({"tool_calls": [call]}), Value::Null, out);
        index
    }

    pub fn arguments(&mut self, index: u32, piece: &str, out: &mut Vec<Frame>) {
        if piece.is_empty() || self.finished {
            return;
        }
        self.chunk(json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}), Value::Null, out);
    }

    pub fn finish(&mut self, reason: &str, out: &mut Vec<Frame>) {
        if self.finished {
            return;
        }
        self.start(out);
        self.chunk(json!({}), reason.into(), out);
        self.finished = true;
    }

    /// The usage chunk (when the client asked for it), then `[DONE]`.
    pub fn end(&mut self, usage: Option<ChatUsage>, out: &mut Vec<Frame>) {
        if self.closed {
            return;
        }
        if let (true, Some(u)) = (self.include_usage, usage) {
            let mut chunk = self.envelope_json();
            if let Some(obj) = chunk.as_object_mut() {
                obj.insert("choices".into(), Value::Array(Vec::new()));
                obj.insert("usage".into(), u.to_json());
            }
            out.push(sse(&chunk));
        }
        out.push(Frame::build(Framing::Sse, None, b"[DONE]"));
        self.closed = true;
    }

    /// Ends the stream with an OpenAI error event (what the SDKs raise as an APIError).
    pub fn error(&mut self, message: &str, kind: &str, code: Option<&str>, out: &mut Vec<Frame>) {
        if self.closed {
            return;
        }
        out.push(sse(&json!({"error": {"message": message, "type": kind, "param": null, "code": code}})));
        self.closed = true;
    }

    fn envelope_json(&self) -> Value {
        json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model})
    }

    fn chunk(&mut self, delta: Value, finish_reason: Value, out: &mut Vec<Frame>) {
        if self.closed {
            return;
        }
        self.started = true;
        let mut chunk = self.envelope_json();
        if let Some(obj) = chunk.as_object_mut() {
            let choice = json!({"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason});
            obj.insert("choices".into(), Value::Array(vec![choice]));
        }
        out.push(sse(&chunk));
    }
}

fn sse(v: &Value) -> Frame {
    Frame::build(Framing::Sse, None, v.to_string().as_bytes())
}

/// The JSON of a frame's data, or `None` for data that is empty (an SSE comment) or `[DONE]`.
pub enum FrameData {
    Json(Value),
    Skip,
    Unreadable,
}

pub fn frame_json(frame: &Frame) -> FrameData {
    let data = frame.data.trim_ascii();
    if data.is_empty() || data == b"[DONE]" {
        return FrameData::Skip;
    }
    match serde_json::from_slice::<Value>(data) {
        Ok(v) if v.is_object() => FrameData::Json(v),
        _ => FrameData::Unreadable,
    }
}

/// The error event for a frame the translator cannot read: fail closed rather than guess.
pub fn unreadable(writer: &mut ChunkWriter, target: &str, out: &mut Vec<Frame>) {
    let message = format!("the {target} stream sent an event the model router cannot read; the answer was cut short");
    writer.error(&message, "upstream_error", Some("upstream_unreadable"), out);
}

/// What a stream that ends without its closing event gets.
pub fn cut_short(writer: &mut ChunkWriter, target: &str, out: &mut Vec<Frame>) {
    let message = format!("the {target} stream ended before the answer was complete");
    writer.error(&message, "upstream_error", Some("stream_incomplete"), out);
}
