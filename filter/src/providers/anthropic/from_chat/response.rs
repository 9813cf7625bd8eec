//! An Anthropic Messages answer as a `chat.completion`.

use super::finish_reason;
use crate::providers::anthropic::response::usage;
use crate::providers::lenient::{self, Object, Objects, Text};
use crate::providers::translate::reply::{ChatUsage, Completion, DoneCall};
use crate::providers::translate::{ReplyMeta, TranslateError};
use serde::Deserialize;
use serde_json::Value;

/// The fields of a Messages answer the chat completion needs, read typed and borrowed (every
/// field lenient: one of the wrong type reads as absent, as the `Value` readers do).
#[derive(Deserialize, Default)]
struct Message<'a> {
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    model: Text<'a>,
    #[serde(default, borrow)]
    content: Objects<Block<'a>>,
    #[serde(default, borrow)]
    stop_reason: Text<'a>,
    #[serde(default)]
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(default, borrow)]
    text: Text<'a>,
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default)]
    input: Option<Value>,
}

pub fn translate(native: &[u8], meta: &ReplyMeta) -> Result<Completion, TranslateError> {
    let v: Message<'_> = lenient::parse::<Object<Message<'_>>>(native)
        .map_err(|e| TranslateError::Upstream { why: format!("Anthropic sent a body that is not JSON ({e})") })?
        .0
        .unwrap_or_default();
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in &v.content.0 {
        match block.kind.as_deref() {
            Some("text") => text.push_str(block.text.as_deref().unwrap_or_default()),
            Some("tool_use") => calls.push(DoneCall {
                id: block.id.as_deref().unwrap_or_default().to_owned(),
                name: block.name.as_deref().unwrap_or_default().to_owned(),
                arguments: block
                    .input
                    .as_ref()
                    .filter(|i| i.is_object())
                    .map_or_else(|| "{}".to_owned(), Value::to_string),
            }),
            // Thinking blocks are the model's scratchpad: the chat shape has no place for them.
            _ => {}
        }
    }
    let native_usage = v.usage.as_ref().filter(|u| u.is_object()).map(usage);
    Ok(Completion {
        id: v.id.as_deref().unwrap_or(&meta.id).to_owned(),
        created: meta.created,
        model: v.model.as_deref().unwrap_or(&meta.model).to_owned(),
        text,
        calls,
        finish_reason: finish_reason(v.stop_reason.as_deref()),
        usage: native_usage.as_ref().map(|u| ChatUsage::from_view(u, true)),
        native_usage,
    })
}
