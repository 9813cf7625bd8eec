//! Cohere's error shape: `{"message"}`.

use crate::error::{Reply, WardenError};
use serde_json::json;

pub fn render(err: &WardenError) -> Reply {
    Reply::json(err.status(), &json!({"message": err.to_string()}))
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
    fn a_reached_limit_is_a_402_with_only_a_message() {
        let reply = render(&limit_reached());
        assert_eq!(reply.status, 402);
        let body = body(&reply);
        assert_eq!(body.as_object().unwrap().len(), 1);
        assert!(body["message"].as_str().unwrap().contains("$5.25 used"));
    }
}
