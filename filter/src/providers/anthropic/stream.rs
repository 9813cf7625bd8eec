//! Folds an Anthropic Messages SSE stream (`event:` names, JSON data) into a neutral response.

use super::response::usage;
use crate::providers::json;
use crate::providers::FrameAction;
use crate::stream::Frame;
use crate::view::{self, ToolCall, Usage};
use serde_json::Value;

#[derive(Debug, Default)]
pub struct Fold {
    response: view::Response,
    /// tool_use blocks started and not yet stopped; their arguments in `response` stay `{}` until
    /// the block ends, because partial JSON cannot be parsed.
    open: Vec<OpenCall>,
}

#[derive(Debug)]
struct OpenCall {
    /// The stream's content block index, which addresses the block's deltas.
    index: Option<u64>,
    /// Position of the call in `response.tool_calls`.
    slot: usize,
    partial_json: String,
}

impl Fold {
    pub fn new() -> Self {
        Fold::default()
    }

    /// Every frame is forwarded: the fold only observes.
    pub fn on_frame(&mut self, frame: &Frame) -> FrameAction {
        let Ok(data) = serde_json::from_slice::<Value>(&frame.data) else {
            return FrameAction::Forward;
        };
        let kind = frame.name.as_deref().or_else(|| json::str_at(&data, "type"));
        match kind {
            Some("message_start") => self.message_start(&data),
            Some("content_block_start") => self.block_start(&data),
            Some("content_block_delta") => self.block_delta(&data),
            Some("content_block_stop") => {
                let index = data.get("index").and_then(Value::as_u64);
                if let Some(pos) = self.open.iter().rposition(|c| c.index == index) {
                    let call = self.open.remove(pos);
                    self.close(call);
                }
            }
            Some("message_delta") => self.message_delta(&data),
            // A stream cut by max_tokens has no content_block_stop for its last block.
            Some("message_stop") => self.close_all(),
            Some("error") => {
                self.close_all();
                // The stream ends here; the error type says why better than no reason at all.
                if let Some(kind) = data.get("error").and_then(|e| json::str_at(e, "type")) {
                    self.response.finish_reason = Some(kind.to_string());
                }
            }
            _ => {}
        }
        FrameAction::Forward
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }

    fn message_start(&mut self, data: &Value) {
        let Some(message) = data.get("message") else { return };
        if let Some(model) = json::str_at(message, "model") {
            self.response.model = Some(model.to_string());
        }
        if let Some(u) = message.get("usage").filter(|u| u.is_object()) {
            self.response.usage = Some(usage(u));
        }
    }

    fn block_start(&mut self, data: &Value) {
        let Some(block) = data.get("content_block") else { return };
        match json::str_at(block, "type") {
            Some("text") => self.response.text.push_str(json::str_at(block, "text").unwrap_or_default()),
            Some("tool_use") => {
                self.open.push(OpenCall {
                    index: data.get("index").and_then(Value::as_u64),
                    slot: self.response.tool_calls.len(),
                    partial_json: String::new(),
                });
                self.response.tool_calls.push(ToolCall {
                    id: json::str_at(block, "id").map(str::to_string),
                    name: json::str_at(block, "name").unwrap_or_default().to_string(),
                    arguments: json::object_or_empty(block.get("input")),
                });
            }
            _ => {}
        }
    }

    fn block_delta(&mut self, data: &Value) {
        let Some(delta) = data.get("delta") else { return };
        match json::str_at(delta, "type") {
            Some("text_delta") => self.response.text.push_str(json::str_at(delta, "text").unwrap_or_default()),
            Some("input_json_delta") => {
                let index = data.get("index").and_then(Value::as_u64);
                if let Some(call) = self.open.iter_mut().rev().find(|c| c.index == index) {
                    call.partial_json.push_str(json::str_at(delta, "partial_json").unwrap_or_default());
                }
            }
            _ => {}
        }
    }

    fn message_delta(&mut self, data: &Value) {
        if let Some(reason) = data.get("delta").and_then(|d| json::str_at(d, "stop_reason")) {
            self.response.finish_reason = Some(reason.to_string());
        }
        if let Some(u) = data.get("usage").filter(|u| u.is_object()) {
            // message_delta carries the final output count and, on newer API versions, repeats
            // the input counts; what it carries is the latest word, what it omits stands.
            let total = self.response.usage.get_or_insert_with(Usage::default);
            let fields: [(&str, &mut u64); 4] = [
                ("input_tokens", &mut total.input),
                ("output_tokens", &mut total.output),
                ("cache_read_input_tokens", &mut total.cache_read),
                ("cache_creation_input_tokens", &mut total.cache_write),
            ];
            for (key, slot) in fields {
                if let Some(n) = u.get(key).and_then(Value::as_u64) {
                    *slot = n;
                }
            }
        }
        // No content follows message_delta; a block it interrupted will never be stopped.
        self.close_all();
    }

    fn close_all(&mut self) {
        for call in std::mem::take(&mut self.open) {
            self.close(call);
        }
    }

    fn close(&mut self, call: OpenCall) {
        if call.partial_json.is_empty() {
            return;
        }
        if let Some(tc) = self.response.tool_calls.get_mut(call.slot) {
            tc.arguments = json::parse_arguments(&call.partial_json);
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
