//! A Cohere v2 chat SSE stream as an OpenAI chat chunk stream, tool calls included (the reference
//! router drops them). Each event's data repeats its type, which stands in for a missing `event:`.

use super::{finish_reason, TARGET};
use crate::providers::cohere::response::usage;
use crate::providers::json::str_at;
use crate::providers::translate::reply::{cut_short, unreadable, ChatUsage, ChunkWriter};
use crate::providers::translate::{ChunkTranslator, ReplyMeta};
use crate::stream::Frame;
use crate::view;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

/// The parts of an event this translation reads, typed with borrowed text for the hot path.
/// `content` and `tool_calls` stay JSON values: `message-start` sends them as empty lists, the
/// deltas as objects.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    id: Option<Cow<'a, str>>,
    index: Option<u64>,
    #[serde(borrow)]
    delta: Option<EventDelta<'a>>,
}

#[derive(Deserialize)]
struct EventDelta<'a> {
    #[serde(borrow)]
    message: Option<MessageDelta<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    finish_reason: Option<Cow<'a, str>>,
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct MessageDelta<'a> {
    content: Option<Value>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    tool_plan: Option<Cow<'a, str>>,
    tool_calls: Option<Value>,
}

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

    fn event(&mut self, kind: &str, e: Event<'_>, out: &mut Vec<Frame>) {
        let index = e.index;
        let (message, finish, usage_value) = match e.delta {
            Some(d) => (d.message, d.finish_reason, d.usage),
            None => (None, None, None),
        };
        let content = message.as_ref().and_then(|m| m.content.as_ref()).unwrap_or(&Value::Null);
        let call = message.as_ref().and_then(|m| m.tool_calls.as_ref()).unwrap_or(&Value::Null);
        match kind {
            "message-start" => {
                self.w.envelope(e.id.as_deref(), None);
                self.w.start(out);
            }
            "content-start" => {
                if str_at(content, "type") == Some("thinking") {
                    self.thinking.extend(index);
                } else {
                    self.w.text(str_at(content, "text").unwrap_or_default(), out);
                }
            }
            "content-delta" if !index.is_some_and(|i| self.thinking.contains(&i)) => {
                self.w.text(str_at(content, "text").unwrap_or_default(), out);
            }
            "tool-plan-delta" => {
                let plan = message.as_ref().and_then(|m| m.tool_plan.as_deref());
                self.w.text(plan.unwrap_or_default(), out);
            }
            "tool-call-start" => {
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
                let piece = call.pointer("/function/arguments").and_then(Value::as_str);
                let at = index.and_then(|i| self.tools.iter().find(|(c, _)| *c == i).map(|(_, at)| *at));
                if let (Some(at), Some(piece)) = (at, piece) {
                    self.w.arguments(at, piece, out);
                }
            }
            "message-end" => {
                if let Some(u) = usage_value.filter(|u| u.is_object()) {
                    self.usage = Some(usage(&u));
                }
                self.w.finish(finish_reason(finish.as_deref()), out);
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
        let data = frame.data.trim_ascii();
        // Cohere's own `data: [DONE]` comes after message-end, which already ended the output.
        if self.w.closed() || data.is_empty() || data == b"[DONE]" {
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
        if !self.w.closed() {
            cut_short(&mut self.w, TARGET, out);
        }
    }

    fn usage(&self) -> Option<view::Usage> {
        self.usage
    }
}
