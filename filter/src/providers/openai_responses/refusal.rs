//! Refusals: what the client receives instead of blocked tool calls.

use super::stream::Fold;
use crate::stream::Frame;
use serde_json::Value;

/// HELPER: the non-streaming refusal body.
pub fn body(response: &Value, _message: &str) -> Value {
    response.clone()
}

impl Fold {
    /// HELPER: see `StreamFold::strip_tools`.
    pub fn strip_tools(&mut self, frame: &Frame) -> Option<Frame> {
        Some(frame.clone())
    }

    /// HELPER: see `StreamFold::refusal`.
    pub fn refusal(&mut self, _message: &str, finish: Option<&Frame>) -> Vec<Frame> {
        finish.cloned().into_iter().collect()
    }
}
