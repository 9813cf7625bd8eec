//! A Cohere v2 chat answer as a `chat.completion`. Cohere answers name no model: the requested one
//! stands in.

use super::finish_reason;
use crate::providers::cohere::response::usage;
use crate::providers::json::str_at;
use crate::providers::translate::reply::{ChatUsage, Completion, DoneCall};
use crate::providers::translate::{ReplyMeta, TranslateError};
use serde_json::Value;

pub fn translate(native: &[u8], meta: &ReplyMeta) -> Result<Completion, TranslateError> {
    let v: Value = serde_json::from_slice(native)
        .map_err(|e| TranslateError::Upstream { why: format!("Cohere sent a body that is not JSON ({e})") })?;
    let message = v.get("message").unwrap_or(&Value::Null);
    let mut text = String::new();
    for part in message.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        // Thinking parts are the model's scratchpad.
        if str_at(part, "type") == Some("text") {
            text.push_str(str_at(part, "text").unwrap_or_default());
        }
    }
    let calls: Vec<DoneCall> = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|call| {
            let f = call.get("function").unwrap_or(&Value::Null);
            DoneCall {
                id: str_at(call, "id").unwrap_or_default().to_owned(),
                name: str_at(f, "name").unwrap_or_default().to_owned(),
                arguments: match f.get("arguments") {
                    Some(Value::String(s)) => s.clone(),
                    Some(obj @ Value::Object(_)) => obj.to_string(),
                    _ => "{}".to_owned(),
                },
            }
        })
        .collect();
    if text.is_empty() && !calls.is_empty() {
        text = str_at(message, "tool_plan").unwrap_or_default().to_owned();
    }
    let native_usage = v.get("usage").filter(|u| u.is_object()).map(usage);
    Ok(Completion {
        id: str_at(&v, "id").unwrap_or(&meta.id).to_owned(),
        created: meta.created,
        model: meta.model.clone(),
        text,
        calls,
        finish_reason: finish_reason(str_at(&v, "finish_reason")),
        usage: native_usage.as_ref().map(|u| ChatUsage::from_view(u, true)),
        native_usage,
    })
}
