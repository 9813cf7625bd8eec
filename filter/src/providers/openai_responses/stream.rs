//! Responses API streams: SSE events named by `event:` whose data repeats the name in `type`.
//! Nothing is ever withheld from the client here; the fold only reads.

use super::request::{custom_tool_call, function_call};
use super::response;
use crate::providers::json::str_at;
use crate::providers::FrameAction;
use crate::stream::Frame;
use crate::view;
use serde_json::Value;

#[derive(Debug, Default)]
pub struct Fold {
    response: view::Response,
}

impl Fold {
    pub fn new() -> Self {
        Fold::default()
    }

    pub fn on_frame(&mut self, frame: &Frame) -> FrameAction {
        let Ok(event) = serde_json::from_slice::<Value>(&frame.data) else {
            return FrameAction::Forward;
        };
        // `type` is authoritative; the SSE name covers servers that send only that.
        let kind = str_at(&event, "type").or(frame.name.as_deref()).unwrap_or_default();
        match kind {
            "response.created" | "response.in_progress" => {
                if let Some(model) = event.get("response").and_then(|r| str_at(r, "model")) {
                    self.response.model = Some(model.to_owned());
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                self.response.text.push_str(str_at(&event, "delta").unwrap_or_default());
            }
            // The call is folded only once complete: its arguments are final in this event.
            "response.output_item.done" => {
                if let Some(item) = event.get("item") {
                    let call = match str_at(item, "type") {
                        Some("function_call") => function_call(item),
                        Some("custom_tool_call") => custom_tool_call(item),
                        _ => None,
                    };
                    self.response.tool_calls.extend(call);
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                if let Some(terminal) = event.get("response") {
                    self.fold_terminal(terminal);
                }
            }
            _ => {}
        }
        FrameAction::Forward
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }

    /// The terminal event carries the whole response: usage and status from it always; its output
    /// only where the stream delivered none of its own (it repeats what the items already said).
    fn fold_terminal(&mut self, terminal: &Value) {
        let whole = response::parse(terminal);
        if whole.model.is_some() {
            self.response.model = whole.model;
        }
        if whole.usage.is_some() {
            self.response.usage = whole.usage;
        }
        if whole.finish_reason.is_some() {
            self.response.finish_reason = whole.finish_reason;
        }
        if self.response.tool_calls.is_empty() {
            self.response.tool_calls = whole.tool_calls;
        }
        if self.response.text.is_empty() {
            self.response.text = whole.text;
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
