//! An Anthropic Messages SSE stream as an OpenAI chat chunk stream, event by event.

use super::{finish_reason, TARGET};
use crate::providers::anthropic::response::usage;
use crate::providers::common::event_kind;
use crate::providers::json::str_at;
use crate::providers::translate::reply::{cut_short, frame_json, unreadable, ChatUsage, ChunkWriter, FrameData};
use crate::providers::translate::{ChunkTranslator, ReplyMeta};
use crate::stream::Frame;
use crate::view;
use serde_json::Value;

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

    fn event(&mut self, kind: &str, data: &Value, out: &mut Vec<Frame>) {
        let index = data.get("index").and_then(Value::as_u64);
        match kind {
            "message_start" => {
                let message = data.get("message").unwrap_or(&Value::Null);
                self.w.envelope(str_at(message, "id"), str_at(message, "model"));
                if let Some(u) = message.get("usage").filter(|u| u.is_object()) {
                    self.usage = Some(usage(u));
                }
                self.w.start(out);
            }
            "content_block_start" => {
                let block = data.get("content_block").unwrap_or(&Value::Null);
                match str_at(block, "type") {
                    Some("text") => self.w.text(str_at(block, "text").unwrap_or_default(), out),
                    Some("tool_use") => {
                        let id = str_at(block, "id").unwrap_or_default();
                        let at = self.w.call_start(id, str_at(block, "name").unwrap_or_default(), out);
                        if let Some(i) = index {
                            self.tools.push((i, at));
                        }
                        // Input normally streams as deltas from `{}`; a block that starts with
                        // its input already filled has it sent as the first piece.
                        if let Some(input) = block.get("input").filter(|i| i.as_object().is_some_and(|o| !o.is_empty()))
                        {
                            self.w.arguments(at, &input.to_string(), out);
                        }
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let delta = data.get("delta").unwrap_or(&Value::Null);
                match str_at(delta, "type") {
                    Some("text_delta") => self.w.text(str_at(delta, "text").unwrap_or_default(), out),
                    Some("input_json_delta") => {
                        if let Some(at) = self.tool_index(index) {
                            self.w.arguments(at, str_at(delta, "partial_json").unwrap_or_default(), out);
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(u) = data.get("usage").filter(|u| u.is_object()) {
                    merge_usage(self.usage.get_or_insert_with(view::Usage::default), u);
                }
                let reason = data.get("delta").and_then(|d| str_at(d, "stop_reason"));
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
                let error = data.get("error").unwrap_or(&Value::Null);
                let message = format!("{TARGET}: {}", str_at(error, "message").unwrap_or("stream error"));
                self.w.error(&message, "upstream_error", str_at(error, "type"), out);
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
        if self.w.closed() {
            return;
        }
        match frame_json(frame) {
            FrameData::Json(data) => {
                if let Some(kind) = event_kind(frame, &data).map(str::to_owned) {
                    self.event(&kind, &data, out);
                }
            }
            FrameData::Skip => {}
            FrameData::Unreadable => unreadable(&mut self.w, TARGET, out),
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
