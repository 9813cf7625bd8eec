//! A Gemini `streamGenerateContent` stream (SSE with `alt=sse`, or JSON-array elements: each frame
//! is one whole `GenerateContentResponse`) as an OpenAI chat chunk stream.

use super::response::{first_candidate, parts, visible_text};
use super::{call_id, finish_reason, TARGET};
use crate::providers::gemini::response::usage;
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
    /// The answer's id, for the ids of its calls: `responseId` from the first chunk that has one.
    answer_id: String,
    /// The latest `usageMetadata`: every chunk repeats the running totals, the last one wins.
    usage: Option<view::Usage>,
}

impl Stream {
    pub fn new(meta: ReplyMeta, include_usage: bool) -> Self {
        let answer_id = meta.id.clone();
        Stream { w: ChunkWriter::new(meta, include_usage), answer_id, usage: None }
    }

    fn chunk(&mut self, v: &Value, out: &mut Vec<Frame>) {
        if let Some(error) = v.get("error") {
            let message = format!("{TARGET}: {}", str_at(error, "message").unwrap_or("stream error"));
            self.w.error(&message, "upstream_error", str_at(error, "status"), out);
            return;
        }
        if let (false, Some(id)) = (self.w.calls_started() > 0, str_at(v, "responseId")) {
            self.answer_id = id.to_owned();
        }
        self.w.envelope(str_at(v, "responseId"), str_at(v, "modelVersion"));
        self.w.start(out);
        if let Some(u) = v.get("usageMetadata").filter(|u| u.is_object()) {
            self.usage = Some(usage(u));
        }
        let candidate = first_candidate(v);
        for part in parts(candidate) {
            if let Some(call) = part.get("functionCall") {
                // Gemini sends each call whole: its start, then all its arguments in one piece.
                let id = call_id(&self.answer_id, self.w.calls_started(), part);
                let at = self.w.call_start(&id, str_at(call, "name").unwrap_or_default(), out);
                let args = call.get("args").filter(|a| a.is_object()).map_or_else(|| "{}".to_owned(), Value::to_string);
                self.w.arguments(at, &args, out);
            } else if let Some(t) = visible_text(part) {
                self.w.text(t, out);
            }
        }
        if let Some(reason) = candidate.and_then(|c| str_at(c, "finishReason")) {
            self.w.finish(finish_reason(Some(reason), self.w.calls_started() > 0), out);
        } else if candidate.is_none() && v.pointer("/promptFeedback/blockReason").is_some() {
            self.w.finish("content_filter", out);
        }
    }
}

impl ChunkTranslator for Stream {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<Frame>) {
        if self.w.closed() {
            return;
        }
        match frame_json(frame) {
            FrameData::Json(v) => self.chunk(&v, out),
            FrameData::Skip => {}
            FrameData::Unreadable => unreadable(&mut self.w, TARGET, out),
        }
    }

    /// Gemini has no closing event: the end of the stream after a finish reason is the end.
    fn finish(&mut self, out: &mut Vec<Frame>) {
        if self.w.closed() {
            return;
        }
        if self.w.finished() {
            let usage = self.usage.as_ref().map(|u| ChatUsage::from_view(u, false));
            self.w.end(usage, out);
        } else {
            cut_short(&mut self.w, TARGET, out);
        }
    }

    fn usage(&self) -> Option<view::Usage> {
        self.usage
    }
}
