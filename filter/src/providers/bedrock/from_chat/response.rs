//! A Converse answer as a `chat.completion`. Converse answers carry no id and no model: the
//! gateway's (`ReplyMeta`) stand in.

use super::finish_reason;
use crate::providers::bedrock::response::usage;
use crate::providers::json::str_at;
use crate::providers::translate::reply::{ChatUsage, Completion, DoneCall};
use crate::providers::translate::{ReplyMeta, TranslateError};
use serde_json::Value;

pub fn translate(native: &[u8], meta: &ReplyMeta) -> Result<Completion, TranslateError> {
    let v: Value = serde_json::from_slice(native)
        .map_err(|e| TranslateError::Upstream { why: format!("Bedrock sent a body that is not JSON ({e})") })?;
    let content = v.pointer("/output/message/content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in content {
        if let Some(t) = str_at(block, "text") {
            text.push_str(t);
        } else if let Some(tool) = block.get("toolUse") {
            calls.push(DoneCall {
                id: str_at(tool, "toolUseId").unwrap_or_default().to_owned(),
                name: str_at(tool, "name").unwrap_or_default().to_owned(),
                arguments: tool
                    .get("input")
                    .filter(|i| i.is_object())
                    .map_or_else(|| "{}".to_owned(), Value::to_string),
            });
        }
        // reasoningContent is the model's scratchpad: the chat shape has no place for it.
    }
    let native_usage = v.get("usage").filter(|u| u.is_object()).map(usage);
    Ok(Completion {
        id: meta.id.clone(),
        created: meta.created,
        model: meta.model.clone(),
        text,
        calls,
        finish_reason: finish_reason(str_at(&v, "stopReason")),
        usage: native_usage.as_ref().map(|u| ChatUsage::from_view(u, true)),
        native_usage,
    })
}
