//! A Gemini generateContent answer as a `chat.completion`.

use super::{call_id, finish_reason};
use crate::providers::gemini::response::usage;
use crate::providers::json::str_at;
use crate::providers::translate::reply::{ChatUsage, Completion, DoneCall};
use crate::providers::translate::{ReplyMeta, TranslateError};
use serde_json::Value;

pub fn translate(native: &[u8], meta: &ReplyMeta) -> Result<Completion, TranslateError> {
    let v: Value = serde_json::from_slice(native)
        .map_err(|e| TranslateError::Upstream { why: format!("Gemini sent a body that is not JSON ({e})") })?;
    let id = str_at(&v, "responseId").unwrap_or(&meta.id).to_owned();
    let candidate = first_candidate(&v);
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in parts(candidate) {
        if let Some(call) = part.get("functionCall") {
            let n = u32::try_from(calls.len()).unwrap_or(u32::MAX);
            calls.push(DoneCall {
                id: call_id(&id, n, signature(part)),
                name: str_at(call, "name").unwrap_or_default().to_owned(),
                arguments: call.get("args").filter(|a| a.is_object()).map_or_else(|| "{}".to_owned(), Value::to_string),
            });
        } else if let Some(t) = visible_text(part) {
            text.push_str(t);
        }
    }
    let blocked = candidate.is_none() && v.pointer("/promptFeedback/blockReason").is_some();
    let finish = if blocked {
        "content_filter"
    } else {
        finish_reason(candidate.and_then(|c| str_at(c, "finishReason")), !calls.is_empty())
    };
    let native_usage = v.get("usageMetadata").filter(|u| u.is_object()).map(usage);
    Ok(Completion {
        model: str_at(&v, "modelVersion").unwrap_or(&meta.model).to_owned(),
        id,
        created: meta.created,
        text,
        calls,
        finish_reason: finish,
        usage: native_usage.as_ref().map(|u| ChatUsage::from_view(u, false)),
        native_usage,
    })
}

/// A part's thought signature (Google's REST API accepts both spellings).
fn signature(part: &Value) -> Option<&str> {
    part.get("thoughtSignature").or_else(|| part.get("thought_signature")).and_then(Value::as_str)
}

/// The first candidate (the router asks for one).
fn first_candidate(v: &Value) -> Option<&Value> {
    v.get("candidates").and_then(Value::as_array).and_then(|c| c.first())
}

fn parts(candidate: Option<&Value>) -> &[Value] {
    candidate
        .and_then(|c| c.get("content"))
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A part's answer text; thought summaries (`thought: true`) are the model's scratchpad.
fn visible_text(part: &Value) -> Option<&str> {
    if part.get("thought").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    str_at(part, "text")
}
