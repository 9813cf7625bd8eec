//! Every provider's error shape, for every error the filter answers with.

use super::{render_error, ErrorShape};
use crate::config::limits::{Scope, Window};
use crate::error::{ErrorClass, Reply, WardenError};
use serde_json::Value;

const SHAPES: [ErrorShape; 5] =
    [ErrorShape::OpenAi, ErrorShape::Anthropic, ErrorShape::Gemini, ErrorShape::Bedrock, ErrorShape::Cohere];

/// Each shape's name for each error class, in the order invalid request, not found, too large,
/// limit exceeded, unavailable, bad gateway, unauthorized, forbidden; Cohere names none.
const KINDS: [(ErrorShape, [&str; 8]); 4] = [
    (
        ErrorShape::OpenAi,
        [
            "invalid_request_error",
            "invalid_request_error",
            "invalid_request_error",
            "usage_limit_exceeded",
            "server_error",
            "server_error",
            "authentication_error",
            "permission_error",
        ],
    ),
    (
        ErrorShape::Anthropic,
        [
            "invalid_request_error",
            "not_found_error",
            "request_too_large",
            "usage_limit_exceeded",
            "overloaded_error",
            "api_error",
            "authentication_error",
            "permission_error",
        ],
    ),
    (
        ErrorShape::Gemini,
        [
            "INVALID_ARGUMENT",
            "NOT_FOUND",
            "INVALID_ARGUMENT",
            "RESOURCE_EXHAUSTED",
            "UNAVAILABLE",
            "INTERNAL",
            "UNAUTHENTICATED",
            "PERMISSION_DENIED",
        ],
    ),
    (
        ErrorShape::Bedrock,
        [
            "ValidationException",
            "ResourceNotFoundException",
            "ValidationException",
            "ServiceQuotaExceededException",
            "ServiceUnavailableException",
            "InternalServerException",
            "UnrecognizedClientException",
            "AccessDeniedException",
        ],
    ),
];

fn limit_reached() -> WardenError {
    WardenError::UsageLimitExceeded {
        scope: Scope::User,
        scope_id: "alice".into(),
        key_is_client: false,
        limit_usd: 5.0,
        used_usd: 5.25,
        window: Window::CalendarDay,
        resets_at: "2028-03-01T00:00:00Z".into(),
        models: vec![],
    }
}

/// One error of every variant.
fn every_error() -> Vec<WardenError> {
    vec![
        WardenError::MalformedJson { detail: "x".into() },
        WardenError::InvalidRequest { message: "messages must be an array".into() },
        WardenError::BodyTooLarge { limit: 1, actual: 2 },
        WardenError::UnknownProfile { profile: "x".into(), known: "default".into() },
        WardenError::UnknownRoute { method: "GET".into(), path: "/v9/x".into(), hint: "see the docs".into() },
        limit_reached(),
        WardenError::LimitsUnavailable { detail: "the counter store failed: InternalFailure".into() },
        WardenError::CredentialsUnavailable { cloud: "gcp", detail: "the sidecar did not answer in 5000 ms".into() },
        WardenError::UnpoliceableResponse { reason: "it arrived compressed".into() },
        WardenError::KeyRejected { why: "unknown" },
        WardenError::KeyNotMapped { key_id: "team-a".into(), provider: "gemini", mapped: "openai".into() },
        WardenError::KeyProfileMismatch { key_id: "team-a".into(), bound: "a".into(), asked: "b".into() },
    ]
}

fn body(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap()
}

fn message(shape: ErrorShape, body: &Value) -> &str {
    let pointer = match shape {
        ErrorShape::Bedrock | ErrorShape::Cohere => "/message",
        _ => "/error/message",
    };
    body.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("{shape:?}: no message in {body}"))
}

/// The shape's name for the error: in the body, or for Bedrock the header botocore reads.
fn kind(shape: ErrorShape, reply: &Reply) -> Option<String> {
    let body = body(reply);
    match shape {
        ErrorShape::OpenAi | ErrorShape::Anthropic => body["error"]["type"].as_str().map(str::to_owned),
        ErrorShape::Gemini => body["error"]["status"].as_str().map(str::to_owned),
        ErrorShape::Bedrock => reply.headers.iter().find(|(k, _)| k == "x-amzn-errortype").map(|(_, v)| v.clone()),
        ErrorShape::Cohere => None,
    }
}

fn class_column(class: ErrorClass) -> usize {
    match class {
        ErrorClass::InvalidRequest => 0,
        ErrorClass::NotFound => 1,
        ErrorClass::TooLarge => 2,
        ErrorClass::LimitExceeded => 3,
        ErrorClass::Unavailable => 4,
        ErrorClass::BadGateway => 5,
        ErrorClass::Unauthorized => 6,
        ErrorClass::Forbidden => 7,
    }
}

#[test]
fn every_shape_answers_every_error_with_its_status_and_whole_message() {
    for shape in SHAPES {
        for err in every_error() {
            let reply = render_error(shape, &err);
            assert_eq!(reply.status, err.status(), "{shape:?} {err:?}");
            assert_eq!(message(shape, &body(&reply)), err.to_string(), "{shape:?}");
        }
    }
    let statuses: Vec<u16> = every_error().iter().map(WardenError::status).collect();
    assert_eq!(statuses, [400, 400, 413, 404, 404, 402, 503, 503, 502, 401, 400, 403]);
}

#[test]
fn every_shape_names_each_error_class_its_own_way() {
    for shape in SHAPES {
        let names = KINDS.iter().find(|(s, _)| *s == shape).map(|(_, names)| names);
        for err in every_error() {
            let expected = names.map(|names| names[class_column(err.class())].to_owned());
            assert_eq!(kind(shape, &render_error(shape, &err)), expected, "{shape:?} {err:?}");
        }
    }
}

#[test]
fn each_shape_keeps_the_envelope_its_sdks_parse() {
    for err in every_error() {
        let openai = body(&render_error(ErrorShape::OpenAi, &err));
        assert_eq!(openai["error"]["code"], err.code());
        assert_eq!(openai["error"]["param"], Value::Null);
        assert_eq!(body(&render_error(ErrorShape::Anthropic, &err))["type"], "error");
        assert_eq!(body(&render_error(ErrorShape::Gemini, &err))["error"]["code"], err.status());
        for shape in [ErrorShape::Bedrock, ErrorShape::Cohere] {
            assert_eq!(body(&render_error(shape, &err)).as_object().unwrap().len(), 1, "{shape:?}: only a message");
        }
    }
    let code = |err: &WardenError| body(&render_error(ErrorShape::OpenAi, err))["error"]["code"].clone();
    assert_eq!(code(&limit_reached()), "usage_limit_exceeded");
    assert_eq!(code(&WardenError::MalformedJson { detail: "x".into() }), "invalid_json");
}

#[test]
fn a_reached_limit_says_in_every_shape_who_blocked_it_how_much_was_used_and_when_it_resets() {
    for shape in SHAPES {
        let reply = render_error(shape, &limit_reached());
        assert_eq!(reply.status, 402);
        let body = body(&reply);
        let message = message(shape, &body);
        assert!(message.starts_with("This request was blocked by the Warden gateway"), "{message}");
        for part in ["$5.00", "$5.25 used", "user 'alice'", "calendar day", "2028-03-01T00:00:00Z"] {
            assert!(message.contains(part), "{shape:?}: {part} in {message}");
        }
    }
}
