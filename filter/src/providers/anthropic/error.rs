//! Anthropic's error shape: `{"type":"error","error":{"type","message"}}`.

use crate::error::{ErrorClass, Reply, WardenError};
use serde_json::json;

pub fn render(err: &WardenError) -> Reply {
    let kind = match err.class() {
        ErrorClass::InvalidRequest => "invalid_request_error",
        ErrorClass::NotFound => "not_found_error",
        ErrorClass::TooLarge => "request_too_large",
        ErrorClass::LimitExceeded => "usage_limit_exceeded",
    };
    Reply::json(err.status(), &json!({"type": "error", "error": {"type": kind, "message": err.to_string()}}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::limits::{Scope, Window};
    use serde_json::Value;

    fn limit_reached() -> WardenError {
        WardenError::UsageLimitExceeded {
            scope: Scope::User,
            scope_id: "alice".into(),
            limit_usd: 5.0,
            used_usd: 5.25,
            window: Window::CalendarDay,
            resets_at: "2028-03-01T00:00:00Z".into(),
            models: vec![],
        }
    }

    fn body(reply: &Reply) -> Value {
        serde_json::from_slice(&reply.body).unwrap()
    }

    #[test]
    fn a_reached_limit_is_a_402_with_the_usage_limit_type() {
        let reply = render(&limit_reached());
        assert_eq!(reply.status, 402);
        let body = body(&reply);
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "usage_limit_exceeded");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("$5.00") && message.contains("2028-03-01T00:00:00Z"), "{message}");
    }

    #[test]
    fn other_errors_keep_their_types() {
        let reply = render(&WardenError::MalformedJson { detail: "x".into() });
        assert_eq!((reply.status, body(&reply)["error"]["type"].clone()), (400, "invalid_request_error".into()));
    }
}
