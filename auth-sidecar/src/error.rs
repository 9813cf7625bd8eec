//! The sidecar's errors and the one place they become gRPC statuses. Messages name the cloud (or
//! the Dual-LLM step, Redis, or the keys file) and what failed; they are built from error texts
//! that went through [`crate::redact`] or carry none from outside, so they never carry a secret,
//! and they never carry a prompt, a model's answer or a tool result.

use crate::credentials::Cloud;
use crate::dual_llm::sanitise::SanitizeError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The request named no cloud, or lacks a scope the cloud needs.
    #[error("{0}")]
    BadRequest(String),
    /// The cloud has no block under `credentials:` in the sidecar's configuration.
    #[error("{cloud}: not enabled in the sidecar configuration (add credentials.{cloud} to it)")]
    NotEnabled { cloud: Cloud },
    /// The cloud's identity source was reached but answered with an error or with something that
    /// is not a credential, or could not be reached, or no source is configured.
    #[error("{cloud}: {what}")]
    Unavailable { cloud: Cloud, what: String },
}

impl From<CredentialError> for tonic::Status {
    fn from(err: CredentialError) -> Self {
        let message = err.to_string();
        match err {
            CredentialError::BadRequest(_) => tonic::Status::invalid_argument(message),
            CredentialError::NotEnabled { .. } => tonic::Status::failed_precondition(message),
            CredentialError::Unavailable { .. } => tonic::Status::unavailable(message),
        }
    }
}

/// Why a `DualLlm.Sanitize` call got no summary. Every variant means the filter withholds the
/// tool result (DESIGN §5.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DualLlmError {
    /// A field of the request is missing or unusable.
    #[error("dual_llm: {0}")]
    BadRequest(String),
    /// The sidecar's configuration has no `dual_llm` block.
    #[error("dual_llm: not configured in the sidecar (add a dual_llm block with envoy_url and api_key_env)")]
    NotConfigured,
    /// The block is there but cannot be used (its key variable is unset).
    #[error("dual_llm: {0}")]
    Misconfigured(String),
    /// A model call failed (HTTP error, unreachable, unreadable reply) or the summary was empty.
    #[error("dual_llm: {0}")]
    Sanitize(#[from] SanitizeError),
    #[error("dual_llm: the deadline of {ms} ms passed; the sanitisation was abandoned")]
    DeadlineExceeded { ms: u32 },
    /// The sanitisation's task ended without an outcome (a bug).
    #[error("dual_llm: the sanitisation ended without an outcome")]
    Lost,
}

impl DualLlmError {
    /// The `reason` label of `warden_sidecar_dual_llm_failures_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            DualLlmError::BadRequest(_) => "invalid_argument",
            DualLlmError::NotConfigured => "not_configured",
            DualLlmError::Misconfigured(_) => "misconfigured",
            DualLlmError::Sanitize(SanitizeError::Call { .. }) => "model_error",
            DualLlmError::Sanitize(SanitizeError::EmptySummary) => "empty_summary",
            DualLlmError::DeadlineExceeded { .. } => "deadline",
            DualLlmError::Lost => "internal",
        }
    }
}

impl From<DualLlmError> for tonic::Status {
    fn from(err: DualLlmError) -> Self {
        let message = err.to_string();
        match err {
            DualLlmError::BadRequest(_) => tonic::Status::invalid_argument(message),
            DualLlmError::NotConfigured | DualLlmError::Misconfigured(_) => tonic::Status::failed_precondition(message),
            DualLlmError::Sanitize(_) => tonic::Status::unavailable(message),
            DualLlmError::DeadlineExceeded { .. } => tonic::Status::deadline_exceeded(message),
            DualLlmError::Lost => tonic::Status::internal(message),
        }
    }
}

/// `warden.v1.Keys` errors. The outcomes a key can have (unknown, expired, not mapped) are
/// answers, not errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// No subject, or a digest that is not 32 bytes.
    #[error("{0}")]
    BadRequest(String),
    #[error("keys: no keys file in the sidecar configuration (add keys.file to it)")]
    NotConfigured,
}

impl From<KeysError> for tonic::Status {
    fn from(err: KeysError) -> Self {
        let message = err.to_string();
        match err {
            KeysError::BadRequest(_) => tonic::Status::invalid_argument(message),
            KeysError::NotConfigured => tonic::Status::failed_precondition(message),
        }
    }
}

/// `warden.v1.Limits` errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    /// Too many keys, an empty or oversized key, a key outside `warden:`, an increment without a TTL.
    #[error("{0}")]
    BadRequest(String),
    #[error("redis: not configured in the sidecar (add redis.url to its configuration)")]
    NotConfigured,
    /// Redis could not be reached or did not answer in time. `what` names the address (never
    /// the URL's credentials) and the failure.
    #[error("redis: {what}")]
    Unavailable { what: String },
    /// Redis answered, but not with counters (a key holding something else, an overflow).
    #[error("redis: {what}")]
    Failed { what: String },
}

impl From<LimitsError> for tonic::Status {
    fn from(err: LimitsError) -> Self {
        let message = err.to_string();
        match err {
            LimitsError::BadRequest(_) => tonic::Status::invalid_argument(message),
            LimitsError::NotConfigured => tonic::Status::failed_precondition(message),
            LimitsError::Unavailable { .. } => tonic::Status::unavailable(message),
            LimitsError::Failed { .. } => tonic::Status::internal(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dual_llm::client::{CallError, Side};

    #[test]
    fn dual_llm_errors_map_to_the_statuses_the_filter_relies_on() {
        let model = DualLlmError::Sanitize(SanitizeError::Call {
            side: Side::Quarantined,
            error: CallError::Status { status: 500, path: "/v1/openai/work/chat/completions".into() },
        });
        let status = tonic::Status::from(model);
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(
            status.message(),
            "dual_llm: the quarantined model call failed: HTTP 500 from /v1/openai/work/chat/completions"
        );
        let cases = [
            (DualLlmError::Sanitize(SanitizeError::EmptySummary), tonic::Code::Unavailable),
            (DualLlmError::DeadlineExceeded { ms: 5000 }, tonic::Code::DeadlineExceeded),
            (DualLlmError::NotConfigured, tonic::Code::FailedPrecondition),
            (DualLlmError::Misconfigured("OPENAI_API_KEY is not set".into()), tonic::Code::FailedPrecondition),
            (DualLlmError::BadRequest("max_rounds must be 1 to 20".into()), tonic::Code::InvalidArgument),
            (DualLlmError::Lost, tonic::Code::Internal),
        ];
        for (err, code) in cases {
            assert_eq!(tonic::Status::from(err).code(), code);
        }
    }

    #[test]
    fn keys_and_limits_errors_map_to_their_statuses() {
        assert_eq!(tonic::Status::from(KeysError::BadRequest("x".into())).code(), tonic::Code::InvalidArgument);
        let status = tonic::Status::from(KeysError::NotConfigured);
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert!(status.message().contains("keys.file"), "{}", status.message());
        let status = tonic::Status::from(LimitsError::Unavailable { what: "cannot reach 127.0.0.1:6379".into() });
        assert_eq!((status.code(), status.message()), (tonic::Code::Unavailable, "redis: cannot reach 127.0.0.1:6379"));
        assert_eq!(tonic::Status::from(LimitsError::NotConfigured).code(), tonic::Code::FailedPrecondition);
        assert_eq!(tonic::Status::from(LimitsError::Failed { what: "x".into() }).code(), tonic::Code::Internal);
        assert_eq!(tonic::Status::from(LimitsError::BadRequest("x".into())).code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn a_cloud_not_enabled_is_failed_precondition_naming_the_config_key() {
        let status = tonic::Status::from(CredentialError::NotEnabled { cloud: Cloud::Azure });
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert_eq!(status.message(), "azure: not enabled in the sidecar configuration (add credentials.azure to it)");
    }

    #[test]
    fn a_failed_identity_source_is_unavailable_naming_the_cloud() {
        let err =
            CredentialError::Unavailable { cloud: Cloud::Gcp, what: "the token endpoint answered HTTP 500".into() };
        let status = tonic::Status::from(err);
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(status.message(), "gcp: the token endpoint answered HTTP 500");
    }

    #[test]
    fn a_bad_request_is_invalid_argument() {
        let status = tonic::Status::from(CredentialError::BadRequest("no cloud named".into()));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }
}
