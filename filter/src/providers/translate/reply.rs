//! Writes the hub's answers: `chat.completion` bodies and `chat.completion.chunk` SSE streams, with
//! usage in the OpenAI convention whatever the target's (`prompt_tokens` is the whole input:
//! uncached + cache read + cache write; `cached_tokens` is the cache read).

use super::ReplyMeta;
use crate::providers::json;
use crate::stream::Frame;
use crate::view;
use serde::ser::SerializeStruct;
use serde::Serialize;
use serde_json::Value;

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

    /// The `usage` object of a chat completion or usage chunk.
    pub fn to_json(self) -> Value {
        serde_json::to_value(self.body()).unwrap_or(Value::Null)
    }

    fn body(self) -> UsageBody {
        UsageBody {
            prompt_tokens: self.prompt,
            completion_tokens: self.completion,
            total_tokens: self.prompt.saturating_add(self.completion),
            prompt_tokens_details: PromptDetails { cached_tokens: self.cached, cache_write_tokens: self.cache_write },
            completion_tokens_details: CompletionDetails { reasoning_tokens: self.reasoning },
        }
    }
}

// The chat wire shapes the writer serialises, borrowed from what the translators built: a typed
// write is a third of the cost of building a `Value` tree and printing it, on every routed answer.

#[derive(Serialize)]
struct UsageBody {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Serialize)]
struct PromptDetails {
    cached_tokens: u64,
    #[serde(skip_serializing_if = "is_zero")]
    cache_write_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct CompletionBody<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [ChoiceBody<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<UsageBody>,
}

#[derive(Serialize)]
struct ChoiceBody<'a> {
    index: u32,
    message: MessageBody<'a>,
    logprobs: (),
    finish_reason: &'a str,
}

#[derive(Serialize)]
struct MessageBody<'a> {
    role: &'static str,
    /// `null` when the answer is only tool calls.
    content: Option<&'a str>,
    refusal: (),
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tool_calls: &'a [DoneCall],
}

impl Serialize for DoneCall {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Function<'a> {
            name: &'a str,
            arguments: &'a str,
        }
        let mut call = s.serialize_struct("ToolCall", 3)?;
        call.serialize_field("id", &self.id)?;
        call.serialize_field("type", "function")?;
        call.serialize_field("function", &Function { name: &self.name, arguments: &self.arguments })?;
        call.end()
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
    /// The target's own usage in neutral terms (what the answer is metered and priced with);
    /// `usage` is its chat rendering.
    pub native_usage: Option<view::Usage>,
}

impl Completion {
    pub fn to_bytes(&self) -> Vec<u8> {
        let content = if self.text.is_empty() && !self.calls.is_empty() { None } else { Some(self.text.as_str()) };
        let body = CompletionBody {
            id: &self.id,
            object: "chat.completion",
            created: self.created,
            model: &self.model,
            choices: [ChoiceBody {
                index: 0,
                message: MessageBody { role: "assistant", content, refusal: (), tool_calls: &self.calls },
                logprobs: (),
                finish_reason: self.finish_reason,
            }],
            usage: self.usage.map(ChatUsage::body),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// What policy and metering read: the neutral view of the answer `to_bytes` writes (what
    /// `openai_chat::response::parse` reads back from those bytes), with the target's own usage.
    pub fn into_view(self) -> view::Response {
        view::Response {
            model: Some(self.model),
            tool_calls: self
                .calls
                .into_iter()
                .map(|c| view::ToolCall {
                    arguments: json::parse_arguments(&c.arguments),
                    id: Some(c.id),
                    name: c.name,
                })
                .collect(),
            text: self.text,
            usage: self.native_usage,
            finish_reason: Some(self.finish_reason.to_owned()),
        }
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
            data.extend_from_slice(&crate::providers::json::to_bytes(&u.to_json(), 256));
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
        let body = serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
        out.push(sse(crate::providers::json::to_bytes(&body, 256)));
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
