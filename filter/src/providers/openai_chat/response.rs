//! Chat Completions and embeddings responses.

use super::request::{legacy_function_call, tool_call};
use crate::providers::json::{self, array_at, str_at, string_at, u64_at, u64_path};
use crate::view;
use serde_json::Value;

pub fn parse(body: &Value) -> view::Response {
    let choices = array_at(body, "choices");
    let first = choices.first();
    let message = first.and_then(|c| c.get("message"));
    let mut text = json::text_of(message.and_then(|m| m.get("content")));
    if let Some(refusal) = message.and_then(|m| str_at(m, "refusal")) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(refusal);
    }
    // Every choice's calls, not only the first: with `n > 1` each choice reaches the client, so each
    // call must be seen by policy.
    let mut tool_calls = Vec::new();
    for message in choices.iter().filter_map(|c| c.get("message")) {
        tool_calls.extend(array_at(message, "tool_calls").iter().filter_map(tool_call));
        tool_calls.extend(message.get("function_call").and_then(legacy_function_call));
    }
    view::Response {
        model: string_at(body, "model"),
        tool_calls,
        text,
        usage: body.get("usage").and_then(usage),
        finish_reason: first.and_then(|c| string_at(c, "finish_reason")),
    }
}

/// Usage of an embeddings response (prompt tokens only).
pub fn parse_embeddings(body: &Value) -> view::Response {
    let usage = body
        .get("usage")
        .filter(|u| u.is_object())
        .map(|u| view::Usage { input: u64_at(u, "prompt_tokens"), ..Default::default() });
    view::Response { model: string_at(body, "model"), usage, ..Default::default() }
}

/// A chat `usage` object in neutral terms: `prompt_tokens` includes the cached prompt tokens, which
/// are billed at the cache-read price, so they are taken out of `input`.
pub(crate) fn usage(u: &Value) -> Option<view::Usage> {
    if !u.is_object() {
        return None;
    }
    let cached = u64_path(u, &["prompt_tokens_details", "cached_tokens"]);
    Some(view::Usage {
        input: u64_at(u, "prompt_tokens").saturating_sub(cached),
        output: u64_at(u, "completion_tokens"),
        cache_read: cached,
        cache_write: 0,
        reasoning: u64_path(u, &["completion_tokens_details", "reasoning_tokens"]),
    })
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
