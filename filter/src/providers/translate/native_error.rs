//! A target's error answer in the OpenAI shape (`{"error":{"message","type","param","code"}}`):
//! routed clients speak OpenAI whatever the upstream (DESIGN §4.8).

use serde_json::{json, Value};

/// Longest piece of an unreadable error body quoted back to the client.
const QUOTE_LIMIT: usize = 200;

/// What a target's error body said.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NativeError {
    pub message: Option<String>,
    /// The target's own error code or type (`overloaded_error`, `RESOURCE_EXHAUSTED`), if any.
    pub code: Option<String>,
}

/// Reads `{"message"}` (Bedrock, Cohere) and `{"error":{"message", <code_key>}}` (Anthropic,
/// Gemini) bodies.
pub fn read(native: &[u8], code_key: &str) -> NativeError {
    let Ok(v) = serde_json::from_slice::<Value>(native) else { return NativeError::default() };
    let inner = v.get("error").filter(|e| e.is_object()).unwrap_or(&v);
    let text = |x: &Value, k: &str| x.get(k).and_then(Value::as_str).map(str::to_owned);
    NativeError { message: text(inner, "message").or_else(|| text(&v, "message")), code: text(inner, code_key) }
}

/// The client's status and OpenAI body for a target's error answer.
pub fn render(target: &str, status: u16, native: &[u8], said: NativeError) -> (u16, Vec<u8>) {
    let client_status = match status {
        // Anthropic's "overloaded": a plain 503 to every HTTP client, still retried by the SDKs.
        529 => 503,
        // Bedrock's ModelErrorException and anything that is not an error status.
        424 => 502,
        400..=599 => status,
        _ => 502,
    };
    let kind = match status {
        400 | 404 | 409 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        500..=599 => "server_error",
        _ => "upstream_error",
    };
    let detail = said.message.unwrap_or_else(|| quote(native));
    let message = if detail.is_empty() {
        format!("{target} answered HTTP {status}")
    } else {
        format!("{target} answered HTTP {status}: {detail}")
    };
    let code = said.code.unwrap_or_else(|| status.to_string());
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (client_status, crate::providers::json::to_bytes(&body, 256))
}

fn quote(native: &[u8]) -> String {
    let text = String::from_utf8_lossy(native);
    let text = text.trim();
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    }
}
