//! Anthropic Messages response (non-streaming) → neutral view.

use crate::providers::json;
use crate::view::{self, ToolCall, Usage};
use serde_json::Value;

pub fn parse(body: &Value) -> view::Response {
    let mut resp = view::Response {
        model: json::str_at(body, "model").map(str::to_string),
        finish_reason: json::str_at(body, "stop_reason").map(str::to_string),
        usage: body.get("usage").filter(|u| u.is_object()).map(usage),
        ..view::Response::default()
    };
    for block in json::array_at(body, "content") {
        match json::str_at(block, "type") {
            // Concatenated without a separator, as the stream fold does, so both agree.
            Some("text") => resp.text.push_str(json::str_at(block, "text").unwrap_or_default()),
            Some("tool_use") => resp.tool_calls.push(ToolCall {
                id: json::str_at(block, "id").map(str::to_string),
                name: json::str_at(block, "name").unwrap_or_default().to_string(),
                arguments: json::object_or_empty(block.get("input")),
            }),
            _ => {}
        }
    }
    resp
}

/// Anthropic's `input_tokens` already excludes cache reads and writes, so it is taken as is.
/// Shared with the stream fold, whose `message_start` carries the same object.
pub(crate) fn usage(u: &Value) -> Usage {
    Usage {
        input: json::u64_at(u, "input_tokens"),
        output: json::u64_at(u, "output_tokens"),
        cache_read: json::u64_at(u, "cache_read_input_tokens"),
        cache_write: json::u64_at(u, "cache_creation_input_tokens"),
        reasoning: 0,
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
