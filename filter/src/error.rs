//! Errors the filter itself answers with. Each variant knows its HTTP status; the provider modules
//! render it in the shape that provider's SDK parses (DESIGN §4.4).

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WardenError {
    #[error("the request body is not valid JSON ({detail}); send a JSON object as the provider's API expects")]
    MalformedJson { detail: String },
    #[error("{message}")]
    InvalidRequest { message: String },
    #[error("the request body is {actual} bytes, over the gateway's limit of {limit} bytes (max_body_bytes); send a smaller request or raise the limit")]
    BodyTooLarge { limit: usize, actual: usize },
    #[error("unknown profile '{profile}'; configured profiles: {known}")]
    UnknownProfile { profile: String, known: String },
    #[error("no route for {method} {path}: {hint}")]
    UnknownRoute { method: String, path: String, hint: String },
}

/// What class of error this is, so each provider can pick its own type/code/status names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    InvalidRequest,
    NotFound,
    TooLarge,
}

impl WardenError {
    pub fn status(&self) -> u16 {
        match self.class() {
            ErrorClass::InvalidRequest => 400,
            ErrorClass::NotFound => 404,
            ErrorClass::TooLarge => 413,
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            WardenError::MalformedJson { .. } | WardenError::InvalidRequest { .. } => ErrorClass::InvalidRequest,
            WardenError::BodyTooLarge { .. } => ErrorClass::TooLarge,
            WardenError::UnknownProfile { .. } | WardenError::UnknownRoute { .. } => ErrorClass::NotFound,
        }
    }

    /// A stable machine-readable code (OpenAI `error.code`, metric label).
    pub fn code(&self) -> &'static str {
        match self {
            WardenError::MalformedJson { .. } => "invalid_json",
            WardenError::InvalidRequest { .. } => "invalid_request",
            WardenError::BodyTooLarge { .. } => "request_too_large",
            WardenError::UnknownProfile { .. } => "unknown_profile",
            WardenError::UnknownRoute { .. } => "unknown_route",
        }
    }
}

/// A complete local reply: status, extra headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }
}
