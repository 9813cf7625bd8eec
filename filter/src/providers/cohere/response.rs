//! Cohere v2 chat response (non-streaming) → neutral view. The v2 response names no model, so
//! `model` stays `None`; the request's model is the one that answered.

use super::request::tool_call;
use crate::providers::json;
use crate::view::{self, Usage};
use serde_json::Value;

pub fn parse(body: &Value) -> view::Response {
    let message = body.get("message").unwrap_or(&Value::Null);
    let mut resp = view::Response {
        tool_calls: json::array_at(message, "tool_calls").iter().map(tool_call).collect(),
        finish_reason: json::str_at(body, "finish_reason").map(str::to_string),
        usage: body.get("usage").filter(|u| u.is_object()).map(usage),
        ..view::Response::default()
    };
    for part in json::array_at(message, "content") {
        if json::str_at(part, "type") == Some("text") {
            // Concatenated without a separator, as the stream fold does, so both agree.
            resp.text.push_str(json::str_at(part, "text").unwrap_or_default());
        }
    }
    resp
}

/// `tokens` counts what the model processed and includes `cached_tokens`; `billed_units` is
/// the fallback for responses without it. Shared with the stream fold (`message-end`).
pub(crate) fn usage(u: &Value) -> Usage {
    let counts = u.get("tokens").filter(|t| t.is_object()).or_else(|| u.get("billed_units")).unwrap_or(&Value::Null);
    let cached = json::u64_at(u, "cached_tokens");
    Usage {
        input: json::u64_at(counts, "input_tokens").saturating_sub(cached),
        output: json::u64_at(counts, "output_tokens"),
        cache_read: cached,
        cache_write: 0,
        reasoning: 0,
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
