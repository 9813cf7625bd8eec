//! The sidecar's errors and the one place they become gRPC statuses. Messages name the cloud and
//! what failed; they are built from error texts that went through [`crate::redact`], so they never
//! carry a secret.

use crate::credentials::Cloud;

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

#[cfg(test)]
mod tests {
    use super::*;

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
