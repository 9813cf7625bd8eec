//! Gemini streams: every frame (an `alt=sse` event or a JSON-array element) is one complete
//! `GenerateContentResponse`, and function calls arrive whole, so folding is appending.

use crate::providers::FrameAction;
use crate::stream::Frame;
use crate::view;
use serde_json::Value;

#[derive(Debug, Default)]
pub struct Fold {
    /// Everything the frames so far said; usage and finish reason are those of the latest frame
    /// that carried them.
    response: view::Response,
}

impl Fold {
    pub fn new(framing: crate::stream::Framing) -> Self {
        let _ = framing; // HELPER: keep it for re-encoding frames
        Fold::default()
    }

    pub fn on_frame(&mut self, frame: &Frame) -> FrameAction {
        // A frame that is not JSON (a keep-alive, a cut stream) says nothing about the response.
        if let Ok(chunk) = serde_json::from_slice::<Value>(&frame.data) {
            super::response::apply_chunk(&mut self.response, &chunk);
        }
        FrameAction::Forward
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
