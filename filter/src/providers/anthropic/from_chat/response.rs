//! An Anthropic Messages answer as a `chat.completion`.

use super::finish_reason;
use crate::providers::anthropic::response::usage;
use crate::providers::json::str_at;
use crate::providers::translate::reply::{ChatUsage, Completion, DoneCall};
use crate::providers::translate::{ReplyMeta, TranslateError};
use serde_json::Value;

pub fn translate(native: &[u8], meta: &ReplyMeta) -> Result<Completion, TranslateError> {
    let v: Value = serde_json::from_slice(native)
        .map_err(|e| TranslateError::Upstream { why: format!("Anthropic sent a body that is not JSON ({e})") })?;
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in v.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        match str_at(block, "type") {
            Some("text") => text.push_str(str_at(block, "text").unwrap_or_default()),
            Some("tool_use") => calls.push(DoneCall {
                id: str_at(block, "id").unwrap_or_default().to_owned(),
                name: str_at(block, "name").unwrap_or_default().to_owned(),
                arguments: block
                    .get("input")
                    .filter(|i| i.is_object())
                    .map_or_else(|| "{}".to_owned(), Value::to_string),
            }),
            // Thinking blocks are the model's scratchpad: the chat shape has no place for them.
            _ => {}
        }
    }
    let native_usage = v.get("usage").filter(|u| u.is_object()).map(usage);
    Ok(Completion {
        id: str_at(&v, "id").unwrap_or(&meta.id).to_owned(),
        created: meta.created,
        model: str_at(&v, "model").unwrap_or(&meta.model).to_owned(),
        text,
        calls,
        finish_reason: finish_reason(str_at(&v, "stop_reason")),
        usage: native_usage.as_ref().map(|u| ChatUsage::from_view(u, true)),
        native_usage,
    })
}
