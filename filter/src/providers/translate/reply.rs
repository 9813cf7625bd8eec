//! Writes the hub's answers: `chat.completion` bodies and `chat.completion.chunk` SSE streams, with
//! usage in the OpenAI convention whatever the target's (`prompt_tokens` is the whole input:
//! uncached + cache read + cache write; `cached_tokens` is the cache read).

use super::ReplyMeta;
use crate::stream::Frame;
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
///
/// Chunks are written as JSON text around the envelope serialised once: a stream chunk is on the
/// per-event path, where building a `Value` per chunk costs more than the upstream parse.
#[derive(Debug)]
pub struct ChunkWriter {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
    /// `{"id":…,"object":"chat.completion.chunk","created":…,"model":…,` once the first chunk is
    /// written (empty before): the envelope is fixed from then on.
    prefix: Vec<u8>,
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
            prefix: Vec::new(),
            calls: 0,
            finished: false,
            closed: false,
        }
    }

    fn started(&self) -> bool {
        !self.prefix.is_empty()
    }

    /// Takes the upstream's id and model for the envelope, if no chunk has been written yet.
    pub fn envelope(&mut self, id: Option<&str>, model: Option<&str>) {
        if self.started() {
            return;
        }
        if let Some(id) = id.filter(|s| !s.is_empty()) {
            id.clone_into(&mut self.id);
        }
        if let Some(model) = model.filter(|s| !s.is_empty()) {
            model.clone_into(&mut self.model);
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
        if !self.started() && !self.closed {
            self.chunk(|d| d.extend_from_slice(br#"{"role":"assistant","content":""}"#), None, out);
        }
    }

    pub fn text(&mut self, text: &str, out: &mut Vec<Frame>) {
        if text.is_empty() || self.finished {
            return;
        }
        self.start(out);
        self.chunk(
            |d| {
                d.extend_from_slice(br#"{"content":"#);
                json_str(d, text);
                d.push(b'}');
            },
            None,
            out,
        );
    }

    /// Starts a tool call; returns its index for `arguments`.
    pub fn call_start(&mut self, id: &str, name: &str, out: &mut Vec<Frame>) -> u32 {
        let index = self.calls;
        if self.finished {
            return index;
        }
        self.start(out);
        self.calls = self.calls.saturating_add(1);
        self.chunk(
            |d| {
                d.extend_from_slice(br#"{"tool_calls":[{"index":"#);
                push_u64(d, u64::from(index));
                d.extend_from_slice(br#","id":"#);
                json_str(d, id);
                d.extend_from_slice(br#","type":"function","function":{"name":"#);
                json_str(d, name);
                d.extend_from_slice(br#","arguments":""}}]}"#);
            },
            None,
            out,
        );
        index
    }

    pub fn arguments(&mut self, index: u32, piece: &str, out: &mut Vec<Frame>) {
        if piece.is_empty() || self.finished {
            return;
        }
        self.chunk(
            |d| {
                d.extend_from_slice(br#"{"tool_calls":[{"index":"#);
                push_u64(d, u64::from(index));
                d.extend_from_slice(br#","function":{"arguments":"#);
                json_str(d, piece);
                d.extend_from_slice(b"}}]}");
            },
            None,
            out,
        );
    }

    pub fn finish(&mut self, reason: &str, out: &mut Vec<Frame>) {
        if self.finished {
            return;
        }
        self.start(out);
        self.chunk(|d| d.extend_from_slice(b"{}"), Some(reason), out);
        self.finished = true;
    }

    /// The usage chunk (when the client asked for it), then `[DONE]`.
    pub fn end(&mut self, usage: Option<ChatUsage>, out: &mut Vec<Frame>) {
        if self.closed {
            return;
        }
        if let (true, Some(u)) = (self.include_usage, usage) {
            self.fix_envelope();
            let mut data = self.prefix.clone();
            data.extend_from_slice(br#""choices":[],"usage":"#);
            data.extend_from_slice(u.to_json().to_string().as_bytes());
            data.push(b'}');
            out.push(sse(data));
        }
        out.push(sse(b"[DONE]".to_vec()));
        self.closed = true;
    }

    /// Ends the stream with an OpenAI error event (what the SDKs raise as an APIError).
    pub fn error(&mut self, message: &str, kind: &str, code: Option<&str>, out: &mut Vec<Frame>) {
        if self.closed {
            return;
        }
        let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
        out.push(sse(body.to_string().into_bytes()));
        self.closed = true;
    }

    fn fix_envelope(&mut self) {
        if self.started() {
            return;
        }
        let mut p = Vec::with_capacity(self.id.len().saturating_add(self.model.len()).saturating_add(80));
        p.extend_from_slice(br#"{"id":"#);
        json_str(&mut p, &self.id);
        p.extend_from_slice(br#","object":"chat.completion.chunk","created":"#);
        push_u64(&mut p, self.created);
        p.extend_from_slice(br#","model":"#);
        json_str(&mut p, &self.model);
        p.push(b',');
        self.prefix = p;
    }

    /// One chunk with one choice whose delta `write_delta` writes.
    fn chunk(&mut self, write_delta: impl FnOnce(&mut Vec<u8>), finish_reason: Option<&str>, out: &mut Vec<Frame>) {
        if self.closed {
            return;
        }
        self.fix_envelope();
        let mut data = Vec::with_capacity(self.prefix.len().saturating_add(128));
        data.extend_from_slice(&self.prefix);
        data.extend_from_slice(br#""choices":[{"index":0,"delta":"#);
        write_delta(&mut data);
        data.extend_from_slice(br#","logprobs":null,"finish_reason":"#);
        match finish_reason {
            Some(reason) => json_str(&mut data, reason),
            None => data.extend_from_slice(b"null"),
        }
        data.extend_from_slice(b"}]}");
        out.push(sse(data));
    }
}

/// `n` in decimal, without a `String` in between.
pub fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at = at.saturating_sub(1);
        if let Some(d) = digits.get_mut(at) {
            // `rest % 10` is below 10, so the narrowing is exact.
            *d = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 || at == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

/// `s` as a JSON string literal.
pub fn json_str(out: &mut Vec<u8>, s: &str) {
    // Writing a string into a Vec cannot fail; should it ever, the literal stays valid JSON.
    if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

/// An SSE frame (unnamed) for one line of JSON: JSON text holds no raw newline, so the data is one
/// `data:` line.
pub fn sse(data: Vec<u8>) -> Frame {
    let mut raw = Vec::with_capacity(data.len().saturating_add(8));
    raw.extend_from_slice(b"data: ");
    raw.extend_from_slice(&data);
    raw.extend_from_slice(b"\n\n");
    Frame { name: None, data, raw }
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
