//! A Cohere v2 chat SSE stream as an OpenAI chat chunk stream, tool calls included (the reference
//! router drops them). Each event's data repeats its type, which stands in for a missing `event:`.

use super::{finish_reason, TARGET};
use crate::providers::cohere::response::usage;
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
    /// (Cohere tool-call index, OpenAI tool-call index) of every call started. Cohere indexes
    /// content parts and tool calls apart.
    tools: Vec<(u64, u32)>,
    /// Content indices of thinking parts, whose deltas are the model's scratchpad.
    thinking: Vec<u64>,
    /// From `message-end`.
    usage: Option<view::Usage>,
}

impl Stream {
    pub fn new(meta: ReplyMeta, include_usage: bool) -> Self {
        Stream { w: ChunkWriter::new(meta, include_usage), tools: Vec::new(), thinking: Vec::new(), usage: None }
    }

    fn event(&mut self, kind: &str, v: &Value, out: &mut Vec<Frame>) {
        let index = v.get("index").and_then(Value::as_u64);
        let message = v.get("delta").and_then(|d| d.get("message")).unwrap_or(&Value::Null);
        match kind {
            "message-start" => {
                self.w.envelope(str_at(v, "id"), None);
                self.w.start(out);
            }
            "content-start" => {
                let content = message.get("content").unwrap_or(&Value::Null);
                if str_at(content, "type") == Some("thinking") {
                    self.thinking.extend(index);
                } else {
                    self.w.text(str_at(content, "text").unwrap_or_default(), out);
                }
            }
            "content-delta" if !index.is_some_and(|i| self.thinking.contains(&i)) => {
                let text = message.get("content").and_then(|c| str_at(c, "text"));
                self.w.text(text.unwrap_or_default(), out);
            }
            "tool-plan-delta" => self.w.text(str_at(message, "tool_plan").unwrap_or_default(), out),
            "tool-call-start" => {
                let call = message.get("tool_calls").unwrap_or(&Value::Null);
                let f = call.get("function").unwrap_or(&Value::Null);
                let at = self.w.call_start(
                    str_at(call, "id").unwrap_or_default(),
                    str_at(f, "name").unwrap_or_default(),
                    out,
                );
                if let Some(i) = index {
                    self.tools.push((i, at));
                }
                self.w.arguments(at, str_at(f, "arguments").unwrap_or_default(), out);
            }
            "tool-call-delta" => {
                let piece = message.pointer("/tool_calls/function/arguments").and_then(Value::as_str);
                let at = index.and_then(|i| self.tools.iter().find(|(c, _)| *c == i).map(|(_, at)| *at));
                if let (Some(at), Some(piece)) = (at, piece) {
                    self.w.arguments(at, piece, out);
                }
            }
            "message-end" => {
                let delta = v.get("delta").unwrap_or(&Value::Null);
                if let Some(u) = delta.get("usage").filter(|u| u.is_object()) {
                    self.usage = Some(usage(u));
                }
                self.w.finish(finish_reason(str_at(delta, "finish_reason")), out);
                let chat_usage = self.usage.as_ref().map(|u| ChatUsage::from_view(u, true));
                self.w.end(chat_usage, out);
            }
            // content-end, tool-call-end, citations, debug: nothing for the client.
            _ => {}
        }
    }
}

impl ChunkTranslator for Stream {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<Frame>) {
        if self.w.closed() {
            return;
        }
        match frame_json(frame) {
            FrameData::Json(v) => {
                if let Some(kind) = event_kind(frame, &v).map(str::to_owned) {
                    self.event(&kind, &v, out);
                }
            }
            // Cohere's own `data: [DONE]` comes after message-end, which already ended the output.
            FrameData::Skip => {}
            FrameData::Unreadable => unreadable(&mut self.w, TARGET, out),
        }
    }

    fn finish(&mut self, out: &mut Vec<Frame>) {
        if !self.w.closed() {
            cut_short(&mut self.w, TARGET, out);
        }
    }

    fn usage(&self) -> Option<view::Usage> {
        self.usage
    }
}
