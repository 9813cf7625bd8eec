//! Gemini `GenerateContentResponse`. A stream is a sequence of the same objects, so the stream fold
//! reuses [`apply_chunk`].

use crate::providers::json::{array_at, bool_at, first_at, object_or_empty, str_at, u64_at};
use crate::view;
use serde_json::Value;

pub fn parse(body: &Value) -> view::Response {
    let mut response = view::Response::default();
    apply_chunk(&mut response, body);
    response
}

/// Adds what one response object says to `response`: text and function calls are appended, while
/// model, finish reason and usage replace earlier values (Gemini repeats cumulative usage in every
/// chunk, so the last one is the total). Text and finish reason are the first candidate's (the
/// answer); function calls are every candidate's: with `candidateCount > 1` the client can read
/// each candidate, so each call must be judged.
pub fn apply_chunk(response: &mut view::Response, chunk: &Value) {
    if let Some(model) = str_at(chunk, "modelVersion") {
        response.model = Some(model.to_string());
    }
    for candidate in array_at(chunk, "candidates") {
        for call in calls(candidate) {
            response.tool_calls.push(view::ToolCall {
                id: str_at(call, "id").map(str::to_string),
                name: str_at(call, "name").unwrap_or_default().to_string(),
                arguments: object_or_empty(call.get("args")),
            });
        }
    }
    if let Some(candidate) = first_candidate(chunk) {
        let parts = candidate.get("content").map(|c| array_at(c, "parts")).unwrap_or(&[]);
        for part in parts {
            if let Some(text) = str_at(part, "text") {
                if !bool_at(part, "thought") {
                    response.text.push_str(text);
                }
            }
        }
        if let Some(reason) = str_at(candidate, "finishReason") {
            response.finish_reason = Some(reason.to_string());
        }
    }
    // A prompt blocked by safety settings has no candidates; the block reason is the only outcome.
    if response.finish_reason.is_none() {
        if let Some(reason) = chunk.get("promptFeedback").and_then(|f| str_at(f, "blockReason")) {
            response.finish_reason = Some(reason.to_string());
        }
    }
    if let Some(meta @ Value::Object(_)) = chunk.get("usageMetadata") {
        response.usage = Some(usage(meta));
    }
}

/// The function calls among a candidate's parts, in order. A `functionCall` that is not an object
/// still counts: the client sees a call there, and policy refuses what it cannot read.
pub(super) fn calls(candidate: &Value) -> impl Iterator<Item = &Value> {
    let parts = candidate.get("content").map(|c| array_at(c, "parts")).unwrap_or(&[]);
    parts.iter().filter_map(|part| first_at(part, &["functionCall", "function_call"]))
}

/// The candidate with index 0: with `candidateCount > 1` a stream interleaves chunks of several
/// candidates; the first is the answer whose text and finish the record keeps.
pub(super) fn first_candidate(chunk: &Value) -> Option<&Value> {
    array_at(chunk, "candidates").iter().find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
}

/// `promptTokenCount` includes the cached prefix; the neutral `input` does not.
pub fn usage(meta: &Value) -> view::Usage {
    usage_of(|key| u64_at(meta, key))
}

/// [`usage`] from the counts `count` gives by key (0 for one that is absent or not a count).
pub fn usage_of(count: impl Fn(&str) -> u64) -> view::Usage {
    let cached = count("cachedContentTokenCount");
    view::Usage {
        input: count("promptTokenCount").saturating_sub(cached),
        output: count("candidatesTokenCount"),
        cache_read: cached,
        cache_write: 0,
        reasoning: count("thoughtsTokenCount"),
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
