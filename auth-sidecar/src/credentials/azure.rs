//! Microsoft Entra ID through Microsoft's `azure_identity`. The source is picked from the standard
//! environment in the order Azure's other SDKs use (their `EnvironmentCredential`, then
//! workload identity, then managed identity; `azure_identity` 1.0 no longer ships that chain):
//! - `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`: client secret;
//! - `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_FEDERATED_TOKEN_FILE`: workload identity;
//! - otherwise managed identity (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, else IMDS), for the
//!   user-assigned identity `AZURE_CLIENT_ID` when that is set.
//!
//! The crate honours `AZURE_AUTHORITY_HOST` and insists on HTTPS for it; its HTTP client here
//! trusts the system roots plus the PEM bundle in `SSL_CERT_FILE`.

use super::{Kind, Minted};
use crate::redact::Redactor;
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Which standard source the environment selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    ClientSecret,
    WorkloadIdentity,
    ManagedIdentity,
}

impl Source {
    /// Picks the source from a variable lookup (the process environment in the sidecar).
    pub fn select(var: impl Fn(&str) -> Option<String>) -> Source {
        let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
        let app = set("AZURE_TENANT_ID") && set("AZURE_CLIENT_ID");
        if app && set("AZURE_CLIENT_SECRET") {
            Source::ClientSecret
        } else if app && set("AZURE_FEDERATED_TOKEN_FILE") {
            Source::WorkloadIdentity
        } else {
            Source::ManagedIdentity
        }
    }

    fn name(self) -> &'static str {
        match self {
            Source::ClientSecret => "client secret",
            Source::WorkloadIdentity => "workload identity",
            Source::ManagedIdentity => "managed identity",
        }
    }
}

pub struct Azure {
    source: Source,
    /// Built once; a build error (say, a malformed tenant id) is reported on every request.
    credential: Result<Arc<dyn TokenCredential>, String>,
    redactor: Arc<Redactor>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The HTTP client the crate's pipeline uses: system roots plus `SSL_CERT_FILE`.
fn client_options() -> Result<ClientOptions, String> {
    let mut builder = reqwest::Client::builder();
    if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
        let pem =
            std::fs::read(&path).map_err(|e| format!("cannot read SSL_CERT_FILE {}: {e}", path.to_string_lossy()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("SSL_CERT_FILE {} is not a PEM bundle: {e}", path.to_string_lossy()))?;
        builder = builder.tls_certs_merge(certs);
    }
    let client = builder.build().map_err(|e| format!("cannot build the HTTPS client: {e}"))?;
    // The crate's default retries for a minute; the filter waits 5 s for the sidecar, and callers
    // queued behind this fetch wait with it.
    let retry = RetryOptions::exponential(ExponentialRetryOptions {
        initial_delay: azure_core::time::Duration::milliseconds(200),
        max_retries: 2,
        max_total_elapsed: azure_core::time::Duration::seconds(4),
        max_delay: azure_core::time::Duration::seconds(2),
    });
    Ok(ClientOptions { transport: Some(Transport::new(Arc::new(client))), retry, ..ClientOptions::default() })
}

fn build(source: Source) -> Result<Arc<dyn TokenCredential>, String> {
    let client_options = client_options()?;
    let built: azure_core::Result<Arc<dyn TokenCredential>> = match source {
        Source::ClientSecret => ClientSecretCredential::new(
            &env("AZURE_TENANT_ID").unwrap_or_default(),
            env("AZURE_CLIENT_ID").unwrap_or_default(),
            Secret::new(env("AZURE_CLIENT_SECRET").unwrap_or_default()),
            Some(ClientSecretCredentialOptions { client_options }),
        )
        .map(|c| c as Arc<dyn TokenCredential>),
        Source::WorkloadIdentity => WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions { client_options },
            ..WorkloadIdentityCredentialOptions::default()
        }))
        .map(|c| c as Arc<dyn TokenCredential>),
        Source::ManagedIdentity => ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            user_assigned_id: env("AZURE_CLIENT_ID").filter(|v| !v.is_empty()).map(UserAssignedId::ClientId),
            client_options,
        }))
        .map(|c| c as Arc<dyn TokenCredential>),
    };
    built.map_err(|e| e.to_string())
}

impl Azure {
    pub fn new(redactor: Arc<Redactor>) -> Azure {
        let source = Source::select(env);
        let credential = build(source).map_err(|e| redactor.clean(&e));
        tracing::info!(source = source.name(), "azure credentials");
        Azure { source, credential, redactor }
    }

    pub async fn fetch(&self, scope: &str) -> Result<Minted, String> {
        let what = self.source.name();
        let credential = self.credential.as_ref().map_err(|e| format!("cannot set up {what} credentials: {e}"))?;
        let token = credential
            .get_token(&[scope], None)
            .await
            .map_err(|e| format!("{what} token request failed: {}", self.redactor.error_chain(&e)))?;
        let expires_at = u64::try_from(token.expires_on.unix_timestamp())
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .map_err(|_| format!("{what}: the token's expiry is before 1970"))?;
        let secret = token.token.secret();
        if secret.is_empty() {
            return Err(format!("{what}: the identity source returned an empty access token"));
        }
        Ok(Minted { kind: Kind::Bearer(secret.to_string()), expires_at: Some(expires_at) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(vars: &[(&str, &str)]) -> Source {
        Source::select(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn a_client_secret_wins_over_a_federated_token_file() {
        let vars = [
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/f"),
        ];
        assert_eq!(select(&vars), Source::ClientSecret);
    }

    #[test]
    fn a_federated_token_file_selects_workload_identity() {
        let vars = [("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c"), ("AZURE_FEDERATED_TOKEN_FILE", "/f")];
        assert_eq!(select(&vars), Source::WorkloadIdentity);
    }

    #[test]
    fn without_a_tenant_and_client_it_is_managed_identity() {
        assert_eq!(select(&[("AZURE_CLIENT_SECRET", "s")]), Source::ManagedIdentity);
        assert_eq!(select(&[("AZURE_CLIENT_ID", "c"), ("AZURE_CLIENT_SECRET", "s")]), Source::ManagedIdentity);
        assert_eq!(select(&[]), Source::ManagedIdentity);
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let vars = [("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c"), ("AZURE_CLIENT_SECRET", "")];
        assert_eq!(select(&vars), Source::ManagedIdentity);
    }
}
