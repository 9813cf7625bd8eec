//! The Responses API over the chat hub, for the model router: a Responses request becomes a chat
//! request (`request`), and the chat answer — a `chat.completion` (`response`) or a chunk stream
//! (`Stream`) — becomes a Response object or a Responses event stream the official SDKs parse.
//!
//! Routed to OpenAI or Azure, a Responses request needs none of this: it goes to their own
//! `/responses` with the model renamed (see `translate::table`).

mod request;
mod response;
mod stream;

#[cfg(test)]
mod tests;

pub use request::translate as request;
pub use response::translate as response;
pub use stream::Stream;

use crate::providers::translate::reply::ChatUsage;
use serde_json::{json, Map, Value};

/// How refusals name the router when the hub, not a target, cannot express a field.
pub(crate) const TARGET: &str = "a provider without its own Responses API";

/// Request fields a Response object repeats back, with the value the API reports when the request
/// left them out. Kept from the request so the answer can be written without it.
#[derive(Debug, Clone, PartialEq)]
pub struct Echo(Map<String, Value>);

const ECHOED: &[&str] = &[
    "instructions",
    "max_output_tokens",
    "metadata",
    "parallel_tool_calls",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_p",
    "truncation",
    "user",
];

/// What the API reports for an echoed field the request left out.
fn echo_default(key: &str) -> Value {
    match key {
        "metadata" => json!({}),
        "parallel_tool_calls" => Value::Bool(true),
        "text" => json!({"format": {"type": "text"}}),
        "tool_choice" => Value::from("auto"),
        "tools" => json!([]),
        "truncation" => Value::from("disabled"),
        _ => Value::Null,
    }
}

impl Echo {
    pub fn of(request: &Map<String, Value>) -> Echo {
        let mut echo = Map::new();
        for key in ECHOED {
            let value = request.get(*key).filter(|v| !v.is_null()).cloned().unwrap_or_else(|| echo_default(key));
            echo.insert((*key).to_owned(), value);
        }
        Echo(echo)
    }
}

/// How a chat finish reason ends a Response: its status and why it is incomplete.
pub(crate) fn status(finish_reason: Option<&str>) -> (&'static str, Option<&'static str>) {
    match finish_reason {
        Some("length") => ("incomplete", Some("max_output_tokens")),
        Some("content_filter") => ("incomplete", Some("content_filter")),
        _ => ("completed", None),
    }
}

/// Chat usage (`usage` of a completion or of the final chunk) in Responses terms.
pub(crate) fn usage(chat: &Value) -> Value {
    let n = |path: &str| chat.pointer(path).and_then(Value::as_u64).unwrap_or(0);
    let u = ChatUsage {
        prompt: n("/prompt_tokens"),
        completion: n("/completion_tokens"),
        cached: n("/prompt_tokens_details/cached_tokens"),
        cache_write: n("/prompt_tokens_details/cache_write_tokens"),
        reasoning: n("/completion_tokens_details/reasoning_tokens"),
    };
    json!({
        "input_tokens": u.prompt,
        "input_tokens_details": {"cached_tokens": u.cached, "cache_write_tokens": u.cache_write},
        "output_tokens": u.completion,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.prompt.saturating_add(u.completion),
    })
}

/// A Response object.
pub(crate) struct ResponseParts<'a> {
    pub id: &'a str,
    pub created_at: u64,
    pub model: &'a str,
    pub status: &'a str,
    pub incomplete: Option<&'a str>,
    pub output: Vec<Value>,
    pub usage: Option<Value>,
    pub error: Option<Value>,
}

pub(crate) fn response_object(echo: &Echo, parts: ResponseParts<'_>) -> Value {
    let mut r = Map::new();
    r.insert("id".into(), parts.id.into());
    r.insert("object".into(), "response".into());
    r.insert("created_at".into(), parts.created_at.into());
    r.insert("status".into(), parts.status.into());
    r.insert("error".into(), parts.error.unwrap_or(Value::Null));
    r.insert("incomplete_details".into(), parts.incomplete.map_or(Value::Null, |reason| json!({"reason": reason})));
    r.insert("model".into(), parts.model.into());
    r.insert("output".into(), parts.output.into());
    r.insert("previous_response_id".into(), Value::Null);
    r.insert("reasoning".into(), json!({"effort": null, "summary": null}));
    r.insert("store".into(), false.into());
    r.extend(echo.0.iter().map(|(k, v)| (k.clone(), v.clone())));
    r.insert("usage".into(), parts.usage.unwrap_or(Value::Null));
    Value::Object(r)
}

/// The ids of a Response and its items, derived from the chat completion's id.
pub(crate) fn response_id(chat_id: &str) -> String {
    format!("resp_{chat_id}")
}

pub(crate) fn message_id(chat_id: &str, n: usize) -> String {
    format!("msg_{chat_id}_{n}")
}

pub(crate) fn call_item_id(chat_id: &str, n: usize) -> String {
    format!("fc_{chat_id}_{n}")
}
