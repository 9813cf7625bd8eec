//! A ConverseStream (AWS eventstream; each frame is named by its event type and carries that
//! event's JSON) as an OpenAI chat chunk stream. Usage comes only in the `metadata` event after
//! `messageStop`, so the stream ends there.

use super::{finish_reason, TARGET};
use crate::providers::bedrock::response::usage;
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

    fn event(&mut self, name: &str, v: &Value, out: &mut Vec<Frame>) {
        let index = v.get("contentBlockIndex").and_then(Value::as_u64);
        match name {
            "messageStart" => self.w.start(out),
            "contentBlockStart" => {
                if let Some(tool) = v.get("start").and_then(|s| s.get("toolUse")) {
                    let id = str_at(tool, "toolUseId").unwrap_or_default();
                    let at = self.w.call_start(id, str_at(tool, "name").unwrap_or_default(), out);
                    if let Some(i) = index {
                        self.tools.push((i, at));
                    }
                }
            }
            "contentBlockDelta" => {
                let delta = v.get("delta").unwrap_or(&Value::Null);
                if let Some(t) = str_at(delta, "text") {
                    self.w.text(t, out);
                } else if let Some(piece) = delta.get("toolUse").and_then(|t| str_at(t, "input")) {
                    let at = index.and_then(|i| self.tools.iter().find(|(b, _)| *b == i).map(|(_, at)| *at));
                    if let Some(at) = at {
                        self.w.arguments(at, piece, out);
                    }
                }
                // reasoningContent deltas are the model's scratchpad.
            }
            "messageStop" => self.w.finish(finish_reason(str_at(v, "stopReason")), out),
            "metadata" => {
                if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                    self.usage = Some(usage(u));
                }
                if self.w.finished() {
                    let usage = self.chat_usage();
                    self.w.end(usage, out);
                }
            }
            "contentBlockStop" => {}
            // Exception frames are named by their type (`throttlingException`, …).
            other => {
                let message = format!("{TARGET}: {}", str_at(v, "message").unwrap_or(other));
                self.w.error(&message, "upstream_error", Some(other), out);
            }
        }
    }
}

impl ChunkTranslator for Stream {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<Frame>) {
        if self.w.closed() {
            return;
        }
        let Some(name) = frame.name.clone() else {
            unreadable(&mut self.w, TARGET, out);
            return;
        };
        match frame_json(frame) {
            FrameData::Json(v) => self.event(&name, &v, out),
            FrameData::Skip => {}
            FrameData::Unreadable => unreadable(&mut self.w, TARGET, out),
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
