//! Chat Completions and embeddings responses.

use super::request::{legacy_function_call, tool_call};
use crate::providers::json::{self, array_at, str_at, string_at, u64_at, u64_path};
use crate::providers::lenient::{self, lenient_object, Count, Entries, Object, Skip, StrOrParts, Text};
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

/// [`parse`] without a `Value` tree, for the answers that carry no tool call (almost all of them):
/// `None` when the body is not an object this reader can read, or when any choice has a
/// `tool_calls` entry or a `function_call` object, so those go through [`parse`] and the refusal
/// path that needs the tree. Where it answers, it reads what [`parse`] reads (the tests compare
/// both on every fixture and on odd bodies).
pub fn parse_without_calls(bytes: &[u8]) -> Option<view::Response> {
    let Object(Some(answer)) = lenient::parse::<Object<Answer<'_>>>(bytes).ok()? else { return None };
    let messages = || answer.choices.0.iter().flatten().filter_map(|c| c.message.0.as_ref());
    if messages().any(|m| !m.tool_calls.0.is_empty() || m.function_call.0.is_some()) {
        return None;
    }
    let first = answer.choices.0.first().and_then(Option::as_ref);
    let message = first.and_then(|c| c.message.0.as_ref());
    let mut text = match message.map(|m| &m.content) {
        Some(StrOrParts::Str(s)) => s.clone().into_owned(),
        Some(StrOrParts::Parts(parts)) => {
            let texts: Vec<&str> = parts.iter().flatten().filter_map(|p| p.text.as_deref()).collect();
            texts.join("\n")
        }
        Some(StrOrParts::Neither) | None => String::new(),
    };
    if let Some(refusal) = message.and_then(|m| m.refusal.as_deref()) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(refusal);
    }
    let usage = answer.usage.0.map(|u| {
        let cached = u.prompt_tokens_details.0.map_or(0, |d| d.cached_tokens.0);
        view::Usage {
            input: u.prompt_tokens.0.saturating_sub(cached),
            output: u.completion_tokens.0,
            cache_read: cached,
            cache_write: 0,
            reasoning: u.completion_tokens_details.0.map_or(0, |d| d.reasoning_tokens.0),
        }
    });
    Some(view::Response {
        model: answer.model.as_deref().map(str::to_owned),
        tool_calls: Vec::new(),
        text,
        usage,
        finish_reason: first.and_then(|c| c.finish_reason.as_deref()).map(str::to_owned),
    })
}

lenient_object! {
    struct Answer<'a> {
        model: Text<'a>,
        choices: Entries<Choice<'a>>,
        usage: Object<Usage>,
    }
}

lenient_object! {
    struct Choice<'a> {
        message: Object<Message<'a>>,
        finish_reason: Text<'a>,
    }
}

lenient_object! {
    struct Message<'a> {
        content: StrOrParts<'a, Part<'a>>,
        refusal: Text<'a>,
        tool_calls: Entries<Skip>,
        function_call: Object<Skip>,
    }
}

lenient_object! {
    struct Part<'a> {
        text: Text<'a>,
    }
}

lenient_object! {
    struct Usage {
        prompt_tokens: Count,
        completion_tokens: Count,
        prompt_tokens_details: Object<PromptDetails>,
        completion_tokens_details: Object<CompletionDetails>,
    }
}

lenient_object! {
    struct PromptDetails {
        cached_tokens: Count,
    }
}

lenient_object! {
    struct CompletionDetails {
        reasoning_tokens: Count,
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
