//! Bedrock's error shape: `{"message"}` with the error name in `x-amzn-errortype`, which is what
//! botocore reads to build `ClientError.response["Error"]["Code"]`.

use crate::error::{ErrorClass, Reply, WardenError};
use serde_json::json;

pub fn render(err: &WardenError) -> Reply {
    let kind = match err.class() {
        ErrorClass::InvalidRequest | ErrorClass::TooLarge => "ValidationException",
        ErrorClass::NotFound => "ResourceNotFoundException",
        ErrorClass::LimitExceeded => "ServiceQuotaExceededException",
        ErrorClass::Unavailable => "ServiceUnavailableException",
        ErrorClass::Unauthorized => "UnrecognizedClientException",
        ErrorClass::Forbidden => "AccessDeniedException",
        ErrorClass::BadGateway => "InternalServerException",
    };
    let mut reply = Reply::json(err.status(), &json!({"message": err.to_string()}));
    reply.headers.push(("x-amzn-errortype".into(), kind.into()));
    reply
}
