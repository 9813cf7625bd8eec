//! Folds a Cohere v2 chat SSE stream into a neutral response. Each event's data carries its own
//! `type`, which stands in for the `event:` name when a client or recorder dropped it.

use super::response::usage;
use crate::providers::json;
use crate::providers::FrameAction;
use crate::stream::Frame;
use crate::view::{self, ToolCall};
use serde_json::Value;

#[derive(Debug, Default)]
pub struct Fold {
    response: view::Response,
    /// Tool calls started and not yet ended; their arguments in `response` stay `{}` until the
    /// call ends, because partial JSON cannot be parsed.
    open: Vec<OpenCall>,
}

#[derive(Debug)]
struct OpenCall {
    /// The event's `index`, which addresses the call's deltas.
    index: Option<u64>,
    /// Position of the call in `response.tool_calls`.
    slot: usize,
    arguments: String,
}

impl Fold {
    pub fn new() -> Self {
        Fold::default()
    }

    /// Every frame is forwarded: the fold only observes.
    pub fn on_frame(&mut self, frame: &Frame) -> FrameAction {
        // `data: [DONE]` and other non-JSON data fail here and are simply passed on.
        let Ok(data) = serde_json::from_slice::<Value>(&frame.data) else {
            return FrameAction::Forward;
        };
        let kind = frame.name.as_deref().or_else(|| json::str_at(&data, "type"));
        let message = data.get("delta").and_then(|d| d.get("message")).unwrap_or(&Value::Null);
        let index = data.get("index").and_then(Value::as_u64);
        match kind {
            Some("content-start" | "content-delta") => {
                // Thinking parts carry `thinking`, not `text`, so they never reach the text.
                if let Some(text) = message.get("content").and_then(|c| json::str_at(c, "text")) {
                    self.response.text.push_str(text);
                }
            }
            Some("tool-call-start") => match message.get("tool_calls") {
                Some(Value::Array(calls)) => calls.iter().for_each(|c| self.start_call(index, c)),
                Some(call) => self.start_call(index, call),
                None => {}
            },
            Some("tool-call-delta") => {
                let piece = message
                    .get("tool_calls")
                    .and_then(|c| c.get("function"))
                    .and_then(|f| json::str_at(f, "arguments"))
                    .unwrap_or_default();
                if let Some(pos) = self.open_position(index) {
                    if let Some(call) = self.open.get_mut(pos) {
                        call.arguments.push_str(piece);
                    }
                }
            }
            Some("tool-call-end") => {
                if let Some(pos) = self.open_position(index) {
                    let call = self.open.remove(pos);
                    self.close(call);
                }
            }
            Some("message-end") => {
                let delta = data.get("delta").unwrap_or(&Value::Null);
                if let Some(reason) = json::str_at(delta, "finish_reason") {
                    self.response.finish_reason = Some(reason.to_string());
                }
                if let Some(u) = delta.get("usage").filter(|u| u.is_object()) {
                    self.response.usage = Some(usage(u));
                }
                // Nothing follows message-end; a call it interrupted will never end.
                for call in std::mem::take(&mut self.open) {
                    self.close(call);
                }
            }
            _ => {}
        }
        FrameAction::Forward
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }

    fn start_call(&mut self, index: Option<u64>, call: &Value) {
        let function = call.get("function");
        self.open.push(OpenCall {
            index,
            slot: self.response.tool_calls.len(),
            arguments: function.and_then(|f| json::str_at(f, "arguments")).unwrap_or_default().to_string(),
        });
        self.response.tool_calls.push(ToolCall {
            id: json::str_at(call, "id").map(str::to_string),
            name: function.and_then(|f| json::str_at(f, "name")).unwrap_or_default().to_string(),
            arguments: json::parse_arguments(""),
        });
    }

    /// The open call an event addresses: by its index, or the latest one when it has none.
    fn open_position(&self, index: Option<u64>) -> Option<usize> {
        match index {
            Some(_) => self.open.iter().rposition(|c| c.index == index),
            None => self.open.len().checked_sub(1),
        }
    }

    fn close(&mut self, call: OpenCall) {
        if let Some(tc) = self.response.tool_calls.get_mut(call.slot) {
            tc.arguments = json::parse_arguments(&call.arguments);
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
