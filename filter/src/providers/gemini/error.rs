//! Google's error shape: `{"error":{"code","message","status"}}`.

use crate::error::{ErrorClass, Reply, WardenError};
use serde_json::json;

pub fn render(err: &WardenError) -> Reply {
    let status = match err.class() {
        ErrorClass::InvalidRequest | ErrorClass::TooLarge => "INVALID_ARGUMENT",
        ErrorClass::NotFound => "NOT_FOUND",
        ErrorClass::LimitExceeded => "RESOURCE_EXHAUSTED",
        ErrorClass::Unavailable => "UNAVAILABLE",
        ErrorClass::Unauthorized => "UNAUTHENTICATED",
        ErrorClass::Forbidden => "PERMISSION_DENIED",
        ErrorClass::BadGateway => "INTERNAL",
    };
    Reply::json(err.status(), &json!({"error": {"code": err.status(), "message": err.to_string(), "status": status}}))
}
