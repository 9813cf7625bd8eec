//! A `chat.completion` as a Response object.

use super::{call_item_id, message_id, response_id, response_object, status, usage, Echo, ResponseParts};
use crate::providers::json::str_at;
use crate::providers::translate::TranslateError;
use serde_json::{json, Value};

pub fn translate(chat: &[u8], echo: &Echo) -> Result<Vec<u8>, TranslateError> {
    let v: Value = serde_json::from_slice(chat)
        .map_err(|e| TranslateError::Upstream { why: format!("the chat answer is not JSON ({e})") })?;
    let chat_id = str_at(&v, "id").unwrap_or("chatcmpl");
    let choice = v.get("choices").and_then(Value::as_array).and_then(|c| c.first()).unwrap_or(&Value::Null);
    let message = choice.get("message").unwrap_or(&Value::Null);
    let finish = str_at(choice, "finish_reason");
    let (status, incomplete) = status(finish);
    let mut output = Vec::new();
    let text = str_at(message, "content").or_else(|| str_at(message, "refusal")).unwrap_or_default();
    if !text.is_empty() {
        output.push(json!({
            "type": "message",
            "id": message_id(chat_id, 0),
            "status": if status == "completed" { "completed" } else { "incomplete" },
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
        }));
    }
    for call in message.get("tool_calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        let f = call.get("function").unwrap_or(&Value::Null);
        output.push(json!({
            "type": "function_call",
            "id": call_item_id(chat_id, output.len()),
            "call_id": str_at(call, "id").unwrap_or_default(),
            "name": str_at(f, "name").unwrap_or_default(),
            "arguments": str_at(f, "arguments").unwrap_or("{}"),
            "status": "completed",
        }));
    }
    let body = response_object(
        echo,
        ResponseParts {
            id: &response_id(chat_id),
            created_at: v.get("created").and_then(Value::as_u64).unwrap_or(0),
            model: str_at(&v, "model").unwrap_or_default(),
            status,
            incomplete,
            output,
            usage: v.get("usage").filter(|u| u.is_object()).map(usage),
            error: None,
        },
    );
    Ok(crate::providers::json::to_bytes(&body, 256))
}
