//! OpenAI's error shape, used by every OpenAI-wire provider (chat, Responses, Azure, the
//! OpenAI-compatible family): `{"error":{"message","type","param","code"}}`.

use crate::error::{ErrorClass, Reply, WardenError};
use serde_json::json;

pub fn render(err: &WardenError) -> Reply {
    let kind = match err.class() {
        ErrorClass::LimitExceeded => "usage_limit_exceeded",
        ErrorClass::InvalidRequest | ErrorClass::NotFound | ErrorClass::TooLarge => "invalid_request_error",
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
    fn a_reached_limit_is_a_402_with_usage_limit_type_and_code() {
        let reply = render(&limit_reached());
        assert_eq!(reply.status, 402);
        let body = body(&reply);
        assert_eq!(body["error"]["type"], "usage_limit_exceeded");
        assert_eq!(body["error"]["code"], "usage_limit_exceeded");
        assert_eq!(body["error"]["param"], Value::Null);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("This request was blocked by the Warden gateway"));
    }

    #[test]
    fn other_errors_keep_the_invalid_request_type() {
        let reply = render(&WardenError::MalformedJson { detail: "x".into() });
        assert_eq!(reply.status, 400);
        assert_eq!(body(&reply)["error"]["type"], "invalid_request_error");
        assert_eq!(body(&reply)["error"]["code"], "invalid_json");
    }
}
