//! Anthropic's error shape: `{"type":"error","error":{"type","message"}}`.

use crate::error::{ErrorClass, Reply, WardenError};
use serde_json::json;

pub fn render(err: &WardenError) -> Reply {
    let kind = match err.class() {
        ErrorClass::InvalidRequest => "invalid_request_error",
        ErrorClass::NotFound => "not_found_error",
        ErrorClass::TooLarge => "request_too_large",
        ErrorClass::LimitExceeded => "usage_limit_exceeded",
        ErrorClass::Unavailable => "overloaded_error",
        ErrorClass::Unauthorized => "authentication_error",
        ErrorClass::Forbidden => "permission_error",
        ErrorClass::BadGateway => "api_error",
    };
    Reply::json(err.status(), &json!({"type": "error", "error": {"type": kind, "message": err.to_string()}}))
}
