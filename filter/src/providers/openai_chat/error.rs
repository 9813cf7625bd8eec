//! OpenAI's error shape, used by every OpenAI-wire provider (chat, Responses, Azure, the
//! OpenAI-compatible family): `{"error":{"message","type","param","code"}}`.

use crate::error::{ErrorClass, Reply, WardenError};
use serde_json::json;

pub fn render(err: &WardenError) -> Reply {
    let kind = match err.class() {
        ErrorClass::LimitExceeded => "usage_limit_exceeded",
        ErrorClass::InvalidRequest | ErrorClass::NotFound | ErrorClass::TooLarge => "invalid_request_error",
        ErrorClass::Unavailable | ErrorClass::BadGateway => "server_error",
        ErrorClass::Unauthorized => "authentication_error",
        ErrorClass::Forbidden => "permission_error",
    };
    let body = json!({
        "error": {
            "message": err.to_string(),
            "type": kind,
            "param": null,
            "code": err.code(),
        }
    });
    Reply::json(err.status(), &body)
}
