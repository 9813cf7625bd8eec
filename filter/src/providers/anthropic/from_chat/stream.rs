//! An Anthropic Messages SSE stream as an OpenAI chat chunk stream, event by event.

use super::{finish_reason, TARGET};
use crate::providers::anthropic::response::usage;
use crate::providers::json::str_at;
use crate::providers::translate::reply::{cut_short, unreadable, ChatUsage, ChunkWriter};
use crate::providers::translate::{ChunkTranslator, ReplyMeta};
use crate::stream::Frame;
use crate::view;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

/// The parts of an event this translation reads. Typed, with borrowed text, because every event
/// is parsed on the stream's hot path; unknown fields are skipped. The rare, whole-message parts
/// (`message`, `usage`, `error`) stay JSON values.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    kind: Option<Cow<'a, str>>,
    index: Option<u64>,
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    #[serde(borrow)]
    content_block: Option<Block<'a>>,
    message: Option<Value>,
    usage: Option<Value>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(rename = "type", borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    partial_json: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    stop_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    name: Option<Cow<'a, str>>,
    input: Option<Value>,
}

/// Per-stream state.
#[derive(Debug)]
pub struct Stream {
    w: ChunkWriter,
    /// (Anthropic content-block index, OpenAI tool-call index) of every tool_use block started:
    /// deltas name the block, the client's chunks name the call.
    tools: Vec<(u64, u32)>,
    /// Usage from `message_start`, updated by what `message_delta` carries.
    usage: Option<view::Usage>,
}

impl Stream {
    pub fn new(meta: ReplyMeta, include_usage: bool) -> Self {
        Stream { w: ChunkWriter::new(meta, include_usage), tools: Vec::new(), usage: None }
    }

    fn tool_index(&self, block: Option<u64>) -> Option<u32> {
        let block = block?;
        self.tools.iter().find(|(b, _)| *b == block).map(|(_, i)| *i)
    }

    fn chat_usage(&self) -> Option<ChatUsage> {
        self.usage.as_ref().map(|u| ChatUsage::from_view(u, true))
    }

    fn event(&mut self, kind: &str, e: Event<'_>, out: &mut Vec<Frame>) {
        match kind {
            "message_start" => {
                let message = e.message.unwrap_or(Value::Null);
                self.w.envelope(str_at(&message, "id"), str_at(&message, "model"));
                if let Some(u) = message.get("usage").filter(|u| u.is_object()) {
                    self.usage = Some(usage(u));
                }
                self.w.start(out);
            }
            "content_block_start" => {
                let Some(block) = e.content_block else { return };
                match block.kind.as_deref() {
                    Some("text") => self.w.text(block.text.as_deref().unwrap_or_default(), out),
                    Some("tool_use") => {
                        let (id, name) =
                            (block.id.as_deref().unwrap_or_default(), block.name.as_deref().unwrap_or_default());
                        let at = self.w.call_start(id, name, out);
                        if let Some(i) = e.index {
                            self.tools.push((i, at));
                        }
                        // Input normally streams as deltas from `{}`; a block that starts with
                        // its input already filled has it sent as the first piece.
                        if let Some(input) = block.input.filter(|i| i.as_object().is_some_and(|o| !o.is_empty())) {
                            self.w.arguments(at, &input.to_string(), out);
                        }
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let Some(delta) = e.delta else { return };
                match delta.kind.as_deref() {
                    Some("text_delta") => self.w.text(delta.text.as_deref().unwrap_or_default(), out),
                    Some("input_json_delta") => {
                        if let Some(at) = self.tool_index(e.index) {
                            self.w.arguments(at, delta.partial_json.as_deref().unwrap_or_default(), out);
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(u) = e.usage.filter(|u| u.is_object()) {
                    merge_usage(self.usage.get_or_insert_with(view::Usage::default), &u);
                }
                let reason = e.delta.as_ref().and_then(|d| d.stop_reason.as_deref());
                self.w.finish(finish_reason(reason), out);
            }
            "message_stop" => {
                if self.w.finished() {
                    let usage = self.chat_usage();
                    self.w.end(usage, out);
                } else {
                    cut_short(&mut self.w, TARGET, out);
                }
            }
            "error" => {
                let error = e.error.unwrap_or(Value::Null);
                let message = format!("{TARGET}: {}", str_at(&error, "message").unwrap_or("stream error"));
                self.w.error(&message, "upstream_error", str_at(&error, "type"), out);
            }
            // ping, content_block_stop, thinking and signature deltas carry nothing for the client.
            _ => {}
        }
    }
}

/// `message_delta` usage: what it carries is the latest word (output always, input counts on
/// newer API versions); what it omits stands.
fn merge_usage(total: &mut view::Usage, u: &Value) {
    let fields: [(&str, &mut u64); 4] = [
        ("input_tokens", &mut total.input),
        ("output_tokens", &mut total.output),
        ("cache_read_input_tokens", &mut total.cache_read),
        ("cache_creation_input_tokens", &mut total.cache_write),
    ];
    for (key, slot) in fields {
        if let Some(n) = u.get(key).and_then(Value::as_u64) {
            *slot = n;
        }
    }
}

impl ChunkTranslator for Stream {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<Frame>) {
        let data = frame.data.trim_ascii();
        if self.w.closed() || data.is_empty() {
            return;
        }
        match serde_json::from_slice::<Event<'_>>(data) {
            Ok(e) => {
                // The SSE event name; the data's own `type` when a client or recorder dropped it.
                let kind = frame.name.as_deref().map(Cow::Borrowed).or_else(|| e.kind.clone());
                if let Some(kind) = kind {
                    self.event(&kind, e, out);
                }
            }
            Err(_) => unreadable(&mut self.w, TARGET, out),
        }
    }

    fn finish(&mut self, out: &mut Vec<Frame>) {
        if self.w.closed() {
            return;
        }
        if self.w.finished() {
            // message_delta came but message_stop did not: the answer itself is complete.
            let usage = self.chat_usage();
            self.w.end(usage, out);
        } else {
            cut_short(&mut self.w, TARGET, out);
        }
    }

    fn usage(&self) -> Option<view::Usage> {
        self.usage
    }
}
