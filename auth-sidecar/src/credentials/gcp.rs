//! Google Cloud: Application Default Credentials through Google's own `google-cloud-auth`.
//! It reads `GOOGLE_APPLICATION_CREDENTIALS` (service-account key — used as a self-signed JWT —,
//! `authorized_user`, `external_account`), then the gcloud ADC file, then the metadata server
//! (`GCE_METADATA_HOST` overrides its address), and keeps and refreshes tokens itself.
//!
//! The crate does not tell when a token expires (its `AccessToken` has only the token; it
//! refreshes 4 minutes before expiry in the background). So the expiry the sidecar reports for a
//! GCP token is a lease, [`LEASE`] from when it was handed out: shorter than the crate's refresh
//! margin, so the lease ends before the token does while the crate's refreshes succeed.
//! docs/sidecar-credentials.md says the same for operators.

use super::{Kind, Minted};
use crate::redact::Redactor;
use google_cloud_auth::credentials::{AccessTokenCredentials, Builder};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

pub const DEFAULT_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// How long a handed-out GCP token is reported valid (see the module docs).
pub const LEASE: Duration = Duration::from_secs(60);

pub struct Gcp {
    /// One credentials object per scope: the crate binds the scope when it builds credentials.
    by_scope: Mutex<HashMap<String, AccessTokenCredentials>>,
    redactor: Arc<Redactor>,
}

impl Gcp {
    pub fn new(redactor: Arc<Redactor>) -> Gcp {
        Gcp { by_scope: Mutex::new(HashMap::new()), redactor }
    }

    fn credentials(&self, scope: &str) -> Result<AccessTokenCredentials, String> {
        let mut by_scope = self.by_scope.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = by_scope.get(scope) {
            return Ok(c.clone());
        }
        // Built on first use, so a credentials file that appears later (a mounted secret) is
        // picked up on the next request; a failed build is not kept.
        let built = Builder::default()
            .with_scopes([scope])
            .build_access_token_credentials()
            .map_err(|e| format!("cannot load Application Default Credentials: {}", self.redactor.error_chain(&e)))?;
        by_scope.insert(scope.to_string(), built.clone());
        Ok(built)
    }

    pub async fn fetch(&self, scope: &str) -> Result<Minted, String> {
        let credentials = self.credentials(scope)?;
        let token = match credentials.access_token().await {
            Ok(token) => token,
            Err(e) => {
                // The crate keeps some failures for good ("subsequent calls with this credential
                // will also fail"): start over with fresh credentials on the next fetch.
                self.by_scope.lock().unwrap_or_else(|e| e.into_inner()).remove(scope);
                return Err(format!("cannot get an access token: {}", self.redactor.error_chain(&e)));
            }
        };
        if token.token.is_empty() {
            return Err("the identity source returned an empty access token".into());
        }
        Ok(Minted { kind: Kind::Bearer(token.token), expires_at: Some(SystemTime::now() + LEASE) })
    }
}
