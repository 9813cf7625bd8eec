//! Chat Completions streams: SSE `data:` frames carrying `chat.completion.chunk` objects, ended by
//! `data: [DONE]`.

use super::response::usage;
use crate::providers::json::{self, array_at, str_at, PartialArguments};
use crate::providers::FrameAction;
use crate::stream::Frame;
use crate::view::{self, ToolCall};
use serde_json::{Map, Value};

#[derive(Debug, Default)]
pub struct Fold {
    /// The gateway forced `stream_options.include_usage`, so the usage-only chunk is not the client's.
    hide_usage_chunk: bool,
    response: view::Response,
    /// One entry per `response.tool_calls` entry, in the same order.
    calls: Vec<CallState>,
}

/// Where a streamed tool call's deltas come from, and its arguments as sent.
#[derive(Debug)]
struct CallState {
    choice: u64,
    /// The delta `index`; `None` for servers that omit it (their deltas are matched by id).
    index: Option<u64>,
    /// A custom tool: its input is free text, exposed as `{"input": …}`, never parsed as JSON.
    custom: bool,
    arguments: PartialArguments,
}

/// Stands in for the tool-call index of the legacy `function_call` delta (one call per choice).
const LEGACY_INDEX: u64 = u64::MAX;

impl Fold {
    pub fn new(hide_usage_chunk: bool) -> Self {
        Fold { hide_usage_chunk, ..Fold::default() }
    }

    pub fn on_frame(&mut self, frame: &Frame) -> FrameAction {
        let Ok(chunk) = serde_json::from_slice::<Value>(&frame.data) else {
            // `[DONE]`, keep-alive comments and anything else that is not JSON go through untouched.
            return FrameAction::Forward;
        };
        if !chunk.is_object() || chunk.get("error").is_some() {
            return FrameAction::Forward;
        }
        if let Some(model) = str_at(&chunk, "model").filter(|m| !m.is_empty()) {
            if self.response.model.as_deref() != Some(model) {
                self.response.model = Some(model.to_owned());
            }
        }
        for choice in array_at(&chunk, "choices") {
            self.fold_choice(choice);
        }
        // Groq reports stream usage under `x_groq` rather than at the top level.
        let chunk_usage = chunk.get("usage").filter(|u| u.is_object());
        if let Some(u) = chunk_usage.or_else(|| chunk.pointer("/x_groq/usage")).and_then(usage) {
            self.response.usage = Some(u);
        }
        let usage_only =
            chunk_usage.is_some() && chunk.get("choices").and_then(Value::as_array).is_some_and(Vec::is_empty);
        if self.hide_usage_chunk && usage_only {
            FrameAction::Drop
        } else {
            FrameAction::Forward
        }
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }

    /// The argument text of `response().tool_calls[call]` exactly as streamed so far (the parsed view
    /// in `arguments` is `{}` until this text is one complete JSON object).
    pub fn raw_arguments(&self, call: usize) -> Option<&str> {
        self.calls.get(call).map(|c| c.arguments.raw())
    }

    fn fold_choice(&mut self, choice: &Value) {
        let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
        let Some(delta) = choice.get("delta") else { return };
        if index == 0 {
            for key in ["content", "refusal"] {
                if let Some(text) = str_at(delta, key) {
                    self.response.text.push_str(text);
                }
            }
            if let Some(reason) = str_at(choice, "finish_reason") {
                self.response.finish_reason = Some(reason.to_owned());
            }
        }
        for call in array_at(delta, "tool_calls") {
            self.fold_tool_delta(index, call.get("index").and_then(Value::as_u64), call);
        }
        if let Some(legacy) = delta.get("function_call").filter(|f| f.is_object()) {
            let wrapped = Value::Object(Map::from_iter([("function".to_owned(), legacy.clone())]));
            self.fold_tool_delta(index, Some(LEGACY_INDEX), &wrapped);
        }
    }

    fn fold_tool_delta(&mut self, choice: u64, index: Option<u64>, delta: &Value) {
        let id = str_at(delta, "id").filter(|id| !id.is_empty());
        let custom = str_at(delta, "type") == Some("custom") || delta.get("custom").is_some();
        let pos = match self.find_call(choice, index, id) {
            Some(pos) => pos,
            None => {
                self.calls.push(CallState { choice, index, custom, arguments: PartialArguments::new() });
                let arguments = if custom { json::custom_input("") } else { Value::Object(Map::new()) };
                self.response.tool_calls.push(ToolCall { id: None, name: String::new(), arguments });
                self.response.tool_calls.len().saturating_sub(1)
            }
        };
        let (Some(state), Some(call)) = (self.calls.get_mut(pos), self.response.tool_calls.get_mut(pos)) else {
            return;
        };
        if call.id.is_none() {
            call.id = id.map(str::to_owned);
        }
        let body = delta.get(if state.custom { "custom" } else { "function" });
        // Names arrive whole in the first delta; some servers repeat them, which must not double them.
        if let Some(name) = body.and_then(|b| str_at(b, "name")).filter(|n| !n.is_empty()) {
            if call.name.is_empty() {
                call.name = name.to_owned();
            }
        }
        let piece =
            if state.custom { body.and_then(|b| b.get("input")) } else { body.and_then(|b| b.get("arguments")) };
        let piece = match piece {
            Some(Value::String(s)) => s.clone(),
            // Some compatible servers send the arguments object whole instead of JSON text.
            Some(v @ Value::Object(_)) => v.to_string(),
            _ => return,
        };
        let changed = state.arguments.push(&piece);
        if state.custom {
            if let Some(Value::String(input)) = call.arguments.get_mut("input") {
                input.push_str(&piece);
            }
        } else if let Some(parsed) = changed {
            call.arguments = parsed;
        }
    }

    /// The call a delta continues, or `None` when it starts a new one.
    fn find_call(&self, choice: u64, index: Option<u64>, id: Option<&str>) -> Option<usize> {
        let ids = |pos: usize| self.response.tool_calls.get(pos).and_then(|c| c.id.as_deref());
        match (index, id) {
            (Some(index), _) => {
                let pos = self.calls.iter().rposition(|c| c.choice == choice && c.index == Some(index))?;
                // A fresh id on a known index is a new call (servers that reuse index 0 for every call).
                match (ids(pos), id) {
                    (Some(known), Some(id)) if known != id => None,
                    _ => Some(pos),
                }
            }
            (None, Some(id)) => (0..self.calls.len())
                .rev()
                .find(|&pos| ids(pos) == Some(id) && self.calls.get(pos).is_some_and(|c| c.choice == choice)),
            (None, None) => self.calls.iter().rposition(|c| c.choice == choice),
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
