//! Google's error shape: `{"error":{"code","message","status"}}`.

use crate::error::{ErrorClass, Reply, WardenError};
use serde_json::json;

pub fn render(err: &WardenError) -> Reply {
    let status = match err.class() {
        ErrorClass::InvalidRequest | ErrorClass::TooLarge => "INVALID_ARGUMENT",
        ErrorClass::NotFound => "NOT_FOUND",
        ErrorClass::LimitExceeded => "RESOURCE_EXHAUSTED",
    };
    Reply::json(err.status(), &json!({"error": {"code": err.status(), "message": err.to_string(), "status": status}}))
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
    fn a_reached_limit_is_a_402_resource_exhausted() {
        let reply = render(&limit_reached());
        assert_eq!(reply.status, 402);
        let body = body(&reply);
        assert_eq!(body["error"]["code"], 402);
        assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
        assert!(body["error"]["message"].as_str().unwrap().contains("calendar day"));
    }

    #[test]
    fn other_errors_keep_their_statuses() {
        let reply = render(&WardenError::UnknownProfile { profile: "x".into(), known: "default".into() });
        assert_eq!((reply.status, body(&reply)["error"]["status"].clone()), (404, "NOT_FOUND".into()));
    }
}
