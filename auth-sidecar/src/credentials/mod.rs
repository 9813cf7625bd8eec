//! Cloud credentials from each cloud's standard sources, through the cloud's own crate: one module
//! per cloud, a shared cache in front of them, metrics around every fetch.

pub mod aws;
pub mod azure;
pub mod cache;
pub mod gcp;

use crate::config;
use crate::error::CredentialError;
use crate::metrics::Metrics;
use crate::redact::Redactor;
use cache::{Cache, Key, Served};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// A fetch that takes longer than this is abandoned with an error (the SDKs' own retries are
/// bounded well below it; this guards against an endpoint that accepts and never answers).
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    Gcp,
    Azure,
    Aws,
}

impl Cloud {
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
            Cloud::Aws => "aws",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a cloud gave: a bearer token or AWS credentials, and when it stops being valid.
#[derive(Clone, PartialEq, Eq)]
pub struct Minted {
    pub kind: Kind,
    /// `None` for credentials that do not expire (static AWS keys).
    pub expires_at: Option<SystemTime>,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Kind {
    Bearer(String),
    Aws { access_key_id: String, secret_access_key: String, session_token: Option<String>, region: String },
}

// Hand-written so that a credential can never be logged through `{:?}`.
impl fmt::Debug for Minted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minted").field("kind", &self.kind).field("expires_at", &self.expires_at).finish()
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Bearer(_) => f.write_str("Bearer([redacted])"),
            Kind::Aws { region, session_token, .. } => f
                .debug_struct("Aws")
                .field("region", region)
                .field("session_token", &session_token.as_ref().map(|_| "[redacted]"))
                .finish_non_exhaustive(),
        }
    }
}

/// The enabled clouds, the cache in front of them and the metrics.
pub struct Minter {
    gcp: Option<gcp::Gcp>,
    azure: Option<azure::Azure>,
    aws: Option<aws::Aws>,
    cache: Cache,
    metrics: Arc<Metrics>,
}

impl Minter {
    pub async fn new(config: &config::Credentials, redactor: Redactor, metrics: Arc<Metrics>) -> Minter {
        let redactor = Arc::new(redactor);
        let aws = match &config.aws {
            Some(c) => Some(aws::Aws::new(c, redactor.clone()).await),
            None => None,
        };
        Minter {
            gcp: config.gcp.as_ref().map(|_| gcp::Gcp::new(redactor.clone())),
            azure: config.azure.as_ref().map(|_| azure::Azure::new(redactor.clone())),
            aws,
            cache: Cache::default(),
            metrics,
        }
    }

    /// The credential for `cloud` and `scope` (empty = the cloud's default), cached until shortly
    /// before it expires.
    pub async fn get(&self, cloud: Cloud, scope: &str) -> Result<Minted, CredentialError> {
        let outcome = self.get_uncounted(cloud, scope).await;
        match &outcome {
            Ok((_, Served::Cached)) => self.metrics.cache_hit(cloud),
            Ok((_, Served::Fetched)) => {}
            Err(_) => self.metrics.failure(cloud),
        }
        outcome.map(|(m, _)| m)
    }

    async fn get_uncounted(&self, cloud: Cloud, scope: &str) -> Result<(Minted, Served), CredentialError> {
        let scope = match cloud {
            Cloud::Gcp if scope.is_empty() => gcp::DEFAULT_SCOPE,
            Cloud::Azure if scope.is_empty() => {
                return Err(CredentialError::BadRequest(
                    "azure: a scope is required (e.g. https://cognitiveservices.azure.com/.default)".into(),
                ))
            }
            Cloud::Aws => "",
            _ => scope,
        };
        let key = Key { cloud, scope: scope.to_string() };
        match cloud {
            Cloud::Gcp => {
                let source = self.gcp.as_ref().ok_or(CredentialError::NotEnabled { cloud })?;
                self.cache.get(key, || self.timed(cloud, source.fetch(scope))).await
            }
            Cloud::Azure => {
                let source = self.azure.as_ref().ok_or(CredentialError::NotEnabled { cloud })?;
                self.cache.get(key, || self.timed(cloud, source.fetch(scope))).await
            }
            Cloud::Aws => {
                let source = self.aws.as_ref().ok_or(CredentialError::NotEnabled { cloud })?;
                self.cache.get(key, || self.timed(cloud, source.fetch())).await
            }
        }
    }

    async fn timed(
        &self,
        cloud: Cloud,
        fetch: impl std::future::Future<Output = Result<Minted, String>>,
    ) -> Result<Minted, CredentialError> {
        let started = Instant::now();
        let outcome = match tokio::time::timeout(FETCH_TIMEOUT, fetch).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer from the identity source within {} s", FETCH_TIMEOUT.as_secs())),
        };
        self.metrics.fetch(cloud, outcome.is_ok(), started.elapsed());
        match outcome {
            Ok(minted) => {
                tracing::info!(cloud = cloud.name(), expires_at = ?minted.expires_at, "fetched a credential");
                Ok(minted)
            }
            Err(what) => {
                tracing::warn!(cloud = cloud.name(), error = %what, "credential fetch failed");
                Err(CredentialError::Unavailable { cloud, what })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_credential() {
        let m = Minted {
            kind: Kind::Aws {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "wJalrXUtnFEMI".into(),
                session_token: Some("FwoGZXIvYXdzE".into()),
                region: "us-east-1".into(),
            },
            expires_at: None,
        };
        let text = format!("{m:?} {:?}", Kind::Bearer("ya29.secret".into()));
        for secret in ["AKIDEXAMPLE", "wJalrXUtnFEMI", "FwoGZXIvYXdzE", "ya29.secret"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("us-east-1"));
    }

    #[tokio::test]
    async fn a_cloud_without_a_config_block_is_not_enabled() {
        let metrics = Arc::new(Metrics::default());
        let minter = Minter::new(&config::Credentials::default(), Redactor::default(), metrics.clone()).await;
        for cloud in [Cloud::Gcp, Cloud::Aws] {
            assert_eq!(minter.get(cloud, "").await, Err(CredentialError::NotEnabled { cloud }));
        }
        assert!(metrics.render().contains("warden_sidecar_credential_failures_total{cloud=\"aws\"} 1"));
    }

    #[tokio::test]
    async fn azure_needs_a_scope() {
        let minter =
            Minter::new(&config::Credentials::default(), Redactor::default(), Arc::new(Metrics::default())).await;
        assert!(matches!(minter.get(Cloud::Azure, "").await, Err(CredentialError::BadRequest(_))));
    }
}
