//! `ConverseStream` events. Text arrives as deltas per content block; a tool call is announced in
//! `contentBlockStart` and its input JSON arrives as string fragments in `contentBlockDelta`, so the
//! arguments are parsed once the block stops. Usage comes only in the `metadata` event after
//! `messageStop`.

use crate::providers::json::parse_arguments;
use crate::providers::FrameAction;
use crate::stream::{Frame, MAX_FRAME_BYTES};
use crate::view;
use serde_json::{Map, Value};

/// Largest tool input assembled from deltas. Past it the fragments are dropped and the arguments
/// read as `{}` (what unparseable input gives anyway); the bytes still go to the client.
const MAX_TOOL_INPUT_BYTES: usize = MAX_FRAME_BYTES;

#[derive(Debug, Default)]
pub struct Fold {
    /// Everything the events so far said; a tool call is listed from its `contentBlockStart`, with
    /// `{}` arguments until its block stops.
    response: view::Response,
    /// Tool-use blocks whose `contentBlockStop` has not been seen, in start order.
    open: Vec<OpenToolBlock>,
}

#[derive(Debug)]
struct OpenToolBlock {
    /// `contentBlockIndex` of the block.
    index: u64,
    /// Position of the call in `response.tool_calls`.
    call: usize,
    /// Input fragments so far, concatenated; at most `MAX_TOOL_INPUT_BYTES`.
    input: String,
    overflowed: bool,
}

impl Fold {
    pub fn new() -> Self {
        Fold::default()
    }

    pub fn on_frame(&mut self, frame: &Frame) -> FrameAction {
        let Some(name) = frame.name.as_deref() else {
            return FrameAction::Forward;
        };
        let Ok(event) = serde_json::from_slice::<Value>(&frame.data) else {
            return FrameAction::Forward;
        };
        let index = event.get("contentBlockIndex").and_then(Value::as_u64).unwrap_or(0);
        match name {
            "contentBlockStart" => {
                if let Some(tu) = event.get("start").and_then(|s| s.get("toolUse")).filter(|t| t.is_object()) {
                    self.start_tool(index, tu);
                }
            }
            "contentBlockDelta" => {
                if let Some(delta) = event.get("delta") {
                    self.delta(index, delta);
                }
            }
            "contentBlockStop" => self.close(|b| b.index == index),
            "messageStop" => {
                if let Some(reason) = event.get("stopReason").and_then(Value::as_str) {
                    self.response.finish_reason = Some(reason.to_string());
                }
                // A block the stream never stopped is as complete as it will get.
                self.close(|_| true);
            }
            "metadata" => {
                if let Some(u @ Value::Object(_)) = event.get("usage") {
                    self.response.usage = Some(super::response::usage(u));
                }
            }
            // messageStart, exception frames and unknown events carry nothing the view holds.
            _ => {}
        }
        FrameAction::Forward
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }

    fn start_tool(&mut self, index: u64, tu: &Value) {
        // A repeated start for the same index replaces the earlier, unfinished one.
        self.close(|b| b.index == index);
        self.open.push(OpenToolBlock {
            index,
            call: self.response.tool_calls.len(),
            input: String::new(),
            overflowed: false,
        });
        self.response.tool_calls.push(view::ToolCall {
            id: tu.get("toolUseId").and_then(Value::as_str).map(str::to_string),
            name: tu.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
            arguments: Value::Object(Map::new()),
        });
    }

    fn delta(&mut self, index: u64, delta: &Value) {
        // `reasoningContent` deltas are the model's reasoning, not its answer.
        if let Some(text) = delta.get("text").and_then(Value::as_str) {
            self.response.text.push_str(text);
        }
        let Some(fragment) = delta.get("toolUse").and_then(|t| t.get("input")).and_then(Value::as_str) else {
            return;
        };
        // Fragments for a block that never started have no tool name to check and are dropped.
        let Some(block) = self.open.iter_mut().find(|b| b.index == index) else {
            return;
        };
        if block.input.len().saturating_add(fragment.len()) > MAX_TOOL_INPUT_BYTES {
            block.overflowed = true;
        } else if !block.overflowed {
            block.input.push_str(fragment);
        }
    }

    /// Parses the arguments of the open blocks that `which` selects and forgets them.
    fn close(&mut self, which: impl Fn(&OpenToolBlock) -> bool) {
        let (closing, still_open): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.open).into_iter().partition(|b| which(b));
        self.open = still_open;
        for block in closing {
            if let Some(call) = self.response.tool_calls.get_mut(block.call) {
                call.arguments =
                    if block.overflowed { Value::Object(Map::new()) } else { parse_arguments(&block.input) };
            }
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
