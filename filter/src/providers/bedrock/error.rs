//! Bedrock's error shape: `{"message"}` with the error name in `x-amzn-errortype`, which is what
//! botocore reads to build `ClientError.response["Error"]["Code"]`.

use crate::error::{ErrorClass, Reply, WardenError};
use serde_json::json;

pub fn render(err: &WardenError) -> Reply {
    let kind = match err.class() {
        ErrorClass::InvalidRequest | ErrorClass::TooLarge => "ValidationException",
        ErrorClass::NotFound => "ResourceNotFoundException",
        ErrorClass::LimitExceeded => "ServiceQuotaExceededException",
    };
    let mut reply = Reply::json(err.status(), &json!({"message": err.to_string()}));
    reply.headers.push(("x-amzn-errortype".into(), kind.into()));
    reply
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

    fn error_type(reply: &Reply) -> Option<&str> {
        reply.headers.iter().find(|(k, _)| k == "x-amzn-errortype").map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_reached_limit_is_a_402_service_quota_exception() {
        let reply = render(&limit_reached());
        assert_eq!(reply.status, 402);
        assert_eq!(error_type(&reply), Some("ServiceQuotaExceededException"));
        let body = body(&reply);
        assert_eq!(body.as_object().unwrap().len(), 1);
        assert!(body["message"].as_str().unwrap().contains("user 'alice'"));
    }

    #[test]
    fn other_errors_keep_their_types() {
        let reply = render(&WardenError::BodyTooLarge { limit: 1, actual: 2 });
        assert_eq!((reply.status, error_type(&reply)), (413, Some("ValidationException")));
    }
}
