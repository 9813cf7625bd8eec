//! Responses API response objects (whole responses, and the `response` inside terminal stream events).

use super::request::{client_call, is_client_call};
use crate::providers::json::{array_at, str_at, string_at, u64_at, u64_path};
use crate::view;
use serde_json::Value;

pub fn parse(body: &Value) -> view::Response {
    let mut resp = view::Response {
        model: string_at(body, "model"),
        usage: body.get("usage").and_then(usage),
        finish_reason: finish_reason(body),
        ..Default::default()
    };
    for item in array_at(body, "output") {
        match str_at(item, "type") {
            Some("message") => {
                for part in array_at(item, "content") {
                    let text = match str_at(part, "type") {
                        Some("output_text") => str_at(part, "text"),
                        Some("refusal") => str_at(part, "refusal"),
                        _ => None,
                    };
                    resp.text.push_str(text.unwrap_or_default());
                }
            }
            Some(kind) if is_client_call(kind) => resp.tool_calls.push(client_call(item)),
            _ => {}
        }
    }
    resp
}

/// `status`, or for an incomplete response the reason it stopped (`max_output_tokens`,
/// `content_filter`), which is what a finish reason means elsewhere.
pub(crate) fn finish_reason(response: &Value) -> Option<String> {
    let status = str_at(response, "status")?;
    let reason = response.get("incomplete_details").and_then(|d| str_at(d, "reason"));
    match (status, reason) {
        ("incomplete", Some(reason)) => Some(reason.to_owned()),
        _ => Some(status.to_owned()),
    }
}

/// Responses usage in neutral terms: `input_tokens` includes the cached tokens, which are billed at
/// the cache-read price, so they are taken out of `input`.
pub(crate) fn usage(u: &Value) -> Option<view::Usage> {
    if !u.is_object() {
        return None;
    }
    let cached = u64_path(u, &["input_tokens_details", "cached_tokens"]);
    Some(view::Usage {
        input: u64_at(u, "input_tokens").saturating_sub(cached),
        output: u64_at(u, "output_tokens"),
        cache_read: cached,
        cache_write: 0,
        reasoning: u64_path(u, &["output_tokens_details", "reasoning_tokens"]),
    })
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
