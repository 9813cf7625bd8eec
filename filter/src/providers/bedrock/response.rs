//! Bedrock `Converse` response bodies. The body names no model (the request path does).

use crate::providers::json::{array_at, object_or_empty, str_at, u64_at};
use crate::view;
use serde_json::Value;

pub fn parse(body: &Value) -> view::Response {
    let mut response = view::Response::default();
    let content = body.get("output").and_then(|o| o.get("message")).map(|m| array_at(m, "content")).unwrap_or(&[]);
    for block in content {
        // `reasoningContent` blocks are the model's reasoning, not its answer.
        if let Some(text) = str_at(block, "text") {
            response.text.push_str(text);
        }
        if let Some(tu) = block.get("toolUse").filter(|t| t.is_object()) {
            response.tool_calls.push(view::ToolCall {
                id: str_at(tu, "toolUseId").map(str::to_string),
                name: str_at(tu, "name").unwrap_or_default().to_string(),
                arguments: object_or_empty(tu.get("input")),
            });
        }
    }
    response.finish_reason = str_at(body, "stopReason").map(str::to_string);
    if let Some(u @ Value::Object(_)) = body.get("usage") {
        response.usage = Some(usage(u));
    }
    response
}

/// Bedrock's `inputTokens` already excludes cache reads and writes, so it is the neutral `input`
/// as is. The `…TokenCount` spellings appear in InvokeModel payloads and some older responses.
pub fn usage(u: &Value) -> view::Usage {
    let either = |a: &str, b: &str| match u.get(a).and_then(Value::as_u64) {
        Some(n) => n,
        None => u64_at(u, b),
    };
    view::Usage {
        input: u64_at(u, "inputTokens"),
        output: u64_at(u, "outputTokens"),
        cache_read: either("cacheReadInputTokens", "cacheReadInputTokenCount"),
        cache_write: either("cacheWriteInputTokens", "cacheWriteInputTokenCount"),
        reasoning: 0,
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
