//! A ConverseStream (AWS eventstream; each frame is named by its event type and carries that
//! event's JSON) as an OpenAI chat chunk stream. Usage comes only in the `metadata` event after
//! `messageStop`, so the stream ends there.

use super::{finish_reason, TARGET};
use crate::providers::bedrock::response::usage;
use crate::providers::translate::reply::{cut_short, unreadable, ChatUsage, ChunkWriter};
use crate::providers::translate::{ChunkTranslator, ReplyMeta};
use crate::stream::Frame;
use crate::view;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

/// The parts of an event this translation reads, typed with borrowed text for the hot path.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    content_block_index: Option<u64>,
    #[serde(borrow)]
    start: Option<Start<'a>>,
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    stop_reason: Option<Cow<'a, str>>,
    usage: Option<Value>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Start<'a> {
    #[serde(borrow)]
    tool_use: Option<ToolStart<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolStart<'a> {
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    tool_use_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delta<'a> {
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tool_use: Option<ToolDelta<'a>>,
}

#[derive(Deserialize)]
struct ToolDelta<'a> {
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    input: Option<Cow<'a, str>>,
}

/// Per-stream state.
#[derive(Debug)]
pub struct Stream {
    w: ChunkWriter,
    /// (Converse `contentBlockIndex`, OpenAI tool-call index) of every toolUse block started.
    tools: Vec<(u64, u32)>,
    /// From the `metadata` event.
    usage: Option<view::Usage>,
}

impl Stream {
    pub fn new(meta: ReplyMeta, include_usage: bool) -> Self {
        Stream { w: ChunkWriter::new(meta, include_usage), tools: Vec::new(), usage: None }
    }

    fn chat_usage(&self) -> Option<ChatUsage> {
        self.usage.as_ref().map(|u| ChatUsage::from_view(u, true))
    }

    fn event(&mut self, name: &str, e: Event<'_>, out: &mut Vec<Frame>) {
        let index = e.content_block_index;
        match name {
            "messageStart" => self.w.start(out),
            "contentBlockStart" => {
                if let Some(tool) = e.start.and_then(|s| s.tool_use) {
                    let id = tool.tool_use_id.as_deref().unwrap_or_default();
                    let at = self.w.call_start(id, tool.name.as_deref().unwrap_or_default(), out);
                    if let Some(i) = index {
                        self.tools.push((i, at));
                    }
                }
            }
            "contentBlockDelta" => {
                let Some(delta) = e.delta else { return };
                if let Some(t) = delta.text.as_deref() {
                    self.w.text(t, out);
                } else if let Some(piece) = delta.tool_use.as_ref().and_then(|t| t.input.as_deref()) {
                    let at = index.and_then(|i| self.tools.iter().find(|(b, _)| *b == i).map(|(_, at)| *at));
                    if let Some(at) = at {
                        self.w.arguments(at, piece, out);
                    }
                }
                // reasoningContent deltas are the model's scratchpad.
            }
            "messageStop" => self.w.finish(finish_reason(e.stop_reason.as_deref()), out),
            "metadata" => {
                if let Some(u) = e.usage.filter(|u| u.is_object()) {
                    self.usage = Some(usage(&u));
                }
                if self.w.finished() {
                    let usage = self.chat_usage();
                    self.w.end(usage, out);
                }
            }
            // Exception frames are named by their type (`throttlingException`, …).
            other if other.ends_with("Exception") => {
                let message = format!("{TARGET}: {}", e.message.as_deref().unwrap_or(other));
                self.w.error(&message, "upstream_error", Some(other), out);
            }
            // contentBlockStop and events newer than this translation carry nothing for the client.
            _ => {}
        }
    }
}

impl ChunkTranslator for Stream {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<Frame>) {
        let data = frame.data.trim_ascii();
        if self.w.closed() || data.is_empty() {
            return;
        }
        let parsed = serde_json::from_slice::<Event<'_>>(data);
        match (frame.name.as_deref(), parsed) {
            (Some(name), Ok(e)) => self.event(name, e, out),
            _ => unreadable(&mut self.w, TARGET, out),
        }
    }

    fn finish(&mut self, out: &mut Vec<Frame>) {
        if self.w.closed() {
            return;
        }
        if self.w.finished() {
            // messageStop came but metadata did not: the answer is complete, its usage unknown.
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
