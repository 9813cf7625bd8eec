//! OpenAI's error shape, used by every OpenAI-wire provider (chat, Responses, Azure, the
//! OpenAI-compatible family): `{"error":{"message","type","param","code"}}`.

use crate::error::{Reply, WardenError};
use serde_json::json;

pub fn render(err: &WardenError) -> Reply {
    let body = json!({
        "error": {
            "message": err.to_string(),
            "type": "invalid_request_error",
            "param": null,
            "code": err.code(),
        }
    });
    Reply::json(err.status(), &body)
}
