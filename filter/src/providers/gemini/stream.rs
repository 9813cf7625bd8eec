//! Gemini streams: every frame (an `alt=sse` event or a JSON-array element) is one complete
//! `GenerateContentResponse`, and function calls arrive whole, so folding is appending.

use crate::providers::json::{array_at, str_at};
use crate::providers::FrameInfo;
use crate::stream::{Frame, Framing};
use crate::view;
use serde_json::Value;

#[derive(Debug)]
pub struct Fold {
    /// Everything the frames so far said; usage and finish reason are those of the latest frame
    /// that carried them.
    response: view::Response,
    /// How the frames are framed on the wire: frames the refusal builds must be framed the same.
    pub(super) framing: Framing,
    /// The latest `modelVersion`, `responseId` and `usageMetadata` seen, so a refusal chunk built
    /// from nothing (the stream ended without a finish) still names the model and the usage.
    pub(super) model_version: Option<Value>,
    pub(super) response_id: Option<Value>,
    pub(super) usage_metadata: Option<Value>,
    /// The bytes before a JSON-array element that `strip_tools` dropped whole, when they open the
    /// array (`[`): the next frame that goes out carries them in place of its own `,` separator.
    pub(super) carried_prefix: Option<Vec<u8>>,
    /// Every candidate index seen, and whether its finish reason has arrived.
    candidates: Vec<(u64, bool)>,
}

impl Fold {
    pub fn new(framing: Framing) -> Self {
        Fold {
            response: view::Response::default(),
            framing,
            model_version: None,
            response_id: None,
            usage_metadata: None,
            carried_prefix: None,
            candidates: Vec::new(),
        }
    }

    pub fn on_frame(&mut self, frame: &Frame) -> FrameInfo {
        // A JSON-array element's raw bytes end with its data; an SSE event's end with its blank line.
        let sse_event = frame.data.is_empty() || !frame.raw.ends_with(&frame.data);
        if self.framing == Framing::Sse && sse_event && has_bare_line(&frame.raw) {
            return FrameInfo { unreadable: true, ..FrameInfo::default() };
        }
        // A frame that is not JSON says nothing the gateway can read; unless blank, it is unreadable.
        let Ok(chunk) = serde_json::from_slice::<Value>(&frame.data) else {
            return FrameInfo::unparsed(&frame.data);
        };
        super::response::apply_chunk(&mut self.response, &chunk);
        for (key, slot) in [
            ("modelVersion", &mut self.model_version),
            ("responseId", &mut self.response_id),
            ("usageMetadata", &mut self.usage_metadata),
        ] {
            if let Some(v) = chunk.get(key) {
                *slot = Some(v.clone());
            }
        }
        let candidates = array_at(&chunk, "candidates");
        // Each call arrives whole, so every call in a chunk also starts in it.
        let started_tools: Vec<String> = candidates
            .iter()
            .flat_map(super::response::calls)
            .map(|call| str_at(call, "name").unwrap_or_default().to_string())
            .collect();
        let mut finishes = false;
        for candidate in candidates {
            let index = candidate.get("index").and_then(Value::as_u64).unwrap_or(0);
            let finished = str_at(candidate, "finishReason").is_some_and(|r| r != "FINISH_REASON_UNSPECIFIED");
            finishes |= finished;
            match self.candidates.iter_mut().find(|(i, _)| *i == index) {
                Some((_, done)) => *done |= finished,
                None => self.candidates.push((index, finished)),
            }
        }
        // A prompt blocked before generation ends the stream with no candidate at all.
        let blocked_prompt =
            candidates.is_empty() && chunk.get("promptFeedback").and_then(|f| f.get("blockReason")).is_some();
        FrameInfo {
            drop: false,
            tool: !started_tools.is_empty(),
            started_tools,
            // The message ends once every candidate seen has finished.
            ends_message: (finishes && self.candidates.iter().all(|(_, done)| *done)) || blocked_prompt,
            unreadable: false,
        }
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }
}

/// Whether an SSE event has a line that is neither blank, a comment nor a `data:` line. Gemini sends
/// only data lines, and google-genai reads any other line as raw JSON (it takes error objects that
/// way): a call on such a line reaches the client without ever being a frame's data here.
fn has_bare_line(raw: &[u8]) -> bool {
    raw.split(|b| *b == b'\n' || *b == b'\r')
        .any(|line| !line.is_empty() && !line.starts_with(b":") && !line.starts_with(b"data:"))
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
