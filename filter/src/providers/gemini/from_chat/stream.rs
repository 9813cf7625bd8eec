//! A Gemini `streamGenerateContent` stream (SSE with `alt=sse`, or JSON-array elements: each frame
//! is one whole `GenerateContentResponse`) as an OpenAI chat chunk stream.

use super::{call_id, finish_reason, TARGET};
use crate::providers::gemini::response::usage;
use crate::providers::json::str_at;
use crate::providers::translate::reply::{cut_short, unreadable, ChatUsage, ChunkWriter};
use crate::providers::translate::{ChunkTranslator, ReplyMeta};
use crate::stream::Frame;
use crate::view;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

/// The parts of a chunk this translation reads, typed with borrowed text for the hot path.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk<'a> {
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    response_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    model_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    candidates: Option<Vec<Candidate<'a>>>,
    usage_metadata: Option<Value>,
    prompt_feedback: Option<Value>,
    error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(borrow)]
    content: Option<Content<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(borrow)]
    parts: Option<Vec<Part<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part<'a> {
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    text: Option<Cow<'a, str>>,
    thought: Option<bool>,
    #[serde(borrow)]
    function_call: Option<FunctionCall<'a>>,
    #[serde(borrow, alias = "thought_signature", default, deserialize_with = "crate::providers::json::borrowed_str")]
    thought_signature: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct FunctionCall<'a> {
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    name: Option<Cow<'a, str>>,
    args: Option<Value>,
}

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

    fn chunk(&mut self, c: Chunk<'_>, out: &mut Vec<Frame>) {
        if let Some(error) = c.error {
            let message = format!("{TARGET}: {}", str_at(&error, "message").unwrap_or("stream error"));
            self.w.error(&message, "upstream_error", str_at(&error, "status"), out);
            return;
        }
        if let (0, Some(id)) = (self.w.calls_started(), c.response_id.as_deref()) {
            id.clone_into(&mut self.answer_id);
        }
        self.w.envelope(c.response_id.as_deref(), c.model_version.as_deref());
        self.w.start(out);
        if let Some(u) = c.usage_metadata.filter(|u| u.is_object()) {
            self.usage = Some(usage(&u));
        }
        // The first candidate: the router asks for one.
        let candidate = c.candidates.and_then(|all| all.into_iter().next());
        let blocked = candidate.is_none() && c.prompt_feedback.is_some_and(|f| f.get("blockReason").is_some());
        let Some(candidate) = candidate else {
            if blocked {
                self.w.finish("content_filter", out);
            }
            return;
        };
        for part in candidate.content.and_then(|c| c.parts).unwrap_or_default() {
            if let Some(call) = part.function_call {
                // Gemini sends each call whole: its start, then all its arguments in one piece.
                let id = call_id(&self.answer_id, self.w.calls_started(), part.thought_signature.as_deref());
                let at = self.w.call_start(&id, call.name.as_deref().unwrap_or_default(), out);
                let args = call.args.filter(Value::is_object).map_or_else(|| "{}".to_owned(), |a| a.to_string());
                self.w.arguments(at, &args, out);
            } else if part.thought != Some(true) {
                // Thought summaries (`thought: true`) are the model's scratchpad.
                self.w.text(part.text.as_deref().unwrap_or_default(), out);
            }
        }
        if let Some(reason) = candidate.finish_reason.as_deref() {
            self.w.finish(finish_reason(Some(reason), self.w.calls_started() > 0), out);
        }
    }
}

impl ChunkTranslator for Stream {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<Frame>) {
        let data = frame.data.trim_ascii();
        if self.w.closed() || data.is_empty() {
            return;
        }
        match serde_json::from_slice::<Chunk<'_>>(data) {
            Ok(c) => self.chunk(c, out),
            Err(_) => unreadable(&mut self.w, TARGET, out),
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
