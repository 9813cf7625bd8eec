//! Credentials the sidecar mints (DESIGN §4.7, §5.5): which one a route needs, how it is cached in
//! shared data for every worker, and how it goes onto the upstream request — a bearer token in
//! place of the client's key, or a SigV4 signature over the final request.
//!
//! Credentials always fail closed: without one the request gets a 503 in the provider's shape that
//! names the sidecar and what failed, never a secret.

pub mod cache;
pub mod failure;
pub mod sigv4;

use crate::config::{Auth, Config};
use crate::providers::Provider;
use crate::routes::Route;

/// The OAuth scope of Google Cloud's APIs (Vertex AI).
pub const GCP_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Azure OpenAI's Entra scope.
pub const AZURE_OPENAI_SCOPE: &str = "https://cognitiveservices.azure.com/.default";
/// Azure AI Foundry's Entra scope (Claude on Foundry, Foundry resources).
pub const FOUNDRY_SCOPE: &str = "https://ai.azure.com/.default";

/// A credential source of the sidecar.
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

/// Which credential a request needs: the cloud and, for OAuth clouds, the scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Need {
    pub cloud: Cloud,
    /// OAuth scope (GCP, Azure); empty for AWS.
    pub scope: String,
}

impl Need {
    /// The shared-data key of the cached credential.
    pub fn key(&self) -> String {
        format!("warden:cred:{}:{}", self.cloud.name(), self.scope)
    }
}

/// How the credential goes onto the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// `authorization: Bearer <token>`; the client's own credential headers are removed.
    Bearer { remove: &'static [&'static str] },
    /// SigV4 for Bedrock over the final method, path, host and body.
    SigV4 { region: String, host: String },
}

/// A route's credential plan: what to fetch and how to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub need: Need,
    pub how: Use,
}

/// A credential the sidecar returned.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Secret {
    Bearer { token: String },
    Aws { access_key_id: String, secret_access_key: String, session_token: String },
}

/// Never prints the secret.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Bearer { .. } => f.write_str("Secret::Bearer(..)"),
            Secret::Aws { .. } => f.write_str("Secret::Aws(..)"),
        }
    }
}

/// A credential with its lifetime (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Credential {
    pub secret: Secret,
    pub expires_at_ms: u64,
    /// When the gateway received it: with `expires_at_ms`, when to refresh ahead of expiry.
    pub fetched_at_ms: u64,
}

/// How long a credential without an expiry (static AWS keys) is used before it is asked for again.
pub const NO_EXPIRY_REUSE_MS: u64 = 3_600_000;

/// The sidecar request for `need`.
pub fn request(need: &Need) -> warden_proto::v1::CredentialRequest {
    let cloud = match need.cloud {
        Cloud::Gcp => warden_proto::v1::Cloud::Gcp,
        Cloud::Azure => warden_proto::v1::Cloud::Azure,
        Cloud::Aws => warden_proto::v1::Cloud::Aws,
    };
    warden_proto::v1::CredentialRequest { cloud: cloud.into(), scope: need.scope.clone() }
}

/// The sidecar's answer as a credential, received at `now_ms`; `None` when it carries none.
pub fn from_reply(reply: warden_proto::v1::Credential, now_ms: u64) -> Option<Credential> {
    use warden_proto::v1::credential::Kind;
    let secret = match reply.kind? {
        Kind::Bearer(b) if !b.access_token.is_empty() => Secret::Bearer { token: b.access_token },
        Kind::Aws(a) if !a.access_key_id.is_empty() && !a.secret_access_key.is_empty() => Secret::Aws {
            access_key_id: a.access_key_id,
            secret_access_key: a.secret_access_key,
            session_token: a.session_token,
        },
        _ => return None,
    };
    let expires_at_ms = match u64::try_from(reply.expires_at_unix_ms) {
        Ok(0) | Err(_) => now_ms.saturating_add(NO_EXPIRY_REUSE_MS),
        Ok(at) => at,
    };
    Some(Credential { secret, expires_at_ms, fetched_at_ms: now_ms })
}

/// Header edits that put a credential on a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderEdits {
    pub set: Vec<(String, String)>,
    pub remove: Vec<&'static str>,
}

/// Client credential headers of each API family, removed when the gateway supplies its own.
const GOOGLE_KEYS: &[&str] = &["x-goog-api-key", "authorization"];
const AZURE_KEYS: &[&str] = &["api-key", "authorization"];
/// Anthropic's own SDK sends `x-api-key`; its Foundry client (`AnthropicFoundry`) sends `api-key` too.
const ANTHROPIC_KEYS: &[&str] = &["x-api-key", "api-key", "authorization"];
/// What a Bedrock client may send of its own credentials: a bearer API key, or its own SigV4
/// (`authorization`, `x-amz-date`, `x-amz-security-token`, and a payload hash of the body as it
/// sent it). The gateway's signature replaces `authorization` and `x-amz-date`; the rest must go,
/// or a session token of the client's would ride along with static keys of the gateway's (and AWS
/// would refuse the pair).
const AWS_CLIENT_HEADERS: &[&str] = &["x-api-key", "x-amz-security-token", "x-amz-content-sha256"];

/// The credential plan of a route, from the provider's settings; `None` when the client's own
/// credential passes through.
pub fn plan(config: &Config, route: &Route) -> Option<Plan> {
    provider_plan(config, route.provider)
}

/// Every credential this configuration can need, each once: what the background refresh keeps
/// fresh in the shared cache.
pub fn needs(config: &Config) -> Vec<Need> {
    let mut needs: Vec<Need> = Vec::new();
    for plan in Provider::ALL.iter().filter_map(|p| provider_plan(config, *p)) {
        if !needs.contains(&plan.need) {
            needs.push(plan.need);
        }
    }
    needs
}

/// The plan of every request to `provider` (it depends on the provider's settings only).
fn provider_plan(config: &Config, provider: Provider) -> Option<Plan> {
    let settings = config.provider_settings(provider)?;
    match provider {
        Provider::Gemini if settings.vertex.is_some() => Some(Plan {
            need: Need { cloud: Cloud::Gcp, scope: GCP_SCOPE.to_owned() },
            how: Use::Bearer { remove: GOOGLE_KEYS },
        }),
        Provider::Azure | Provider::Anthropic if settings.auth == Some(Auth::Entra) => {
            let foundry = provider == Provider::Anthropic
                || settings.host.as_deref().is_some_and(|h| h.ends_with(".services.ai.azure.com"));
            let default = if foundry { FOUNDRY_SCOPE } else { AZURE_OPENAI_SCOPE };
            let scope = settings.scope.clone().unwrap_or_else(|| default.to_owned());
            let remove = if provider == Provider::Azure { AZURE_KEYS } else { ANTHROPIC_KEYS };
            Some(Plan { need: Need { cloud: Cloud::Azure, scope }, how: Use::Bearer { remove } })
        }
        Provider::Bedrock if settings.auth == Some(Auth::Sigv4) => {
            let region = settings.region.clone()?;
            let host = settings.host.clone().unwrap_or_else(|| format!("bedrock-runtime.{region}.amazonaws.com"));
            Some(Plan { need: Need { cloud: Cloud::Aws, scope: String::new() }, how: Use::SigV4 { region, host } })
        }
        _ => None,
    }
}

/// Why a credential could not be put on the request (never carries the secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("the sidecar returned a {got} credential where a {want} one was needed")]
    WrongKind { got: &'static str, want: &'static str },
    #[error("SigV4 signing failed: {0}")]
    Signing(String),
}

/// The request as it goes upstream, for signing.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub method: &'a str,
    /// Path and query, exactly as sent.
    pub path: &'a str,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    pub now: std::time::SystemTime,
}

/// The header edits that put `secret` on `request` the way `how` says.
pub fn apply(how: &Use, secret: &Secret, request: &Outgoing) -> Result<HeaderEdits, CredentialError> {
    match (how, secret) {
        (Use::Bearer { remove }, Secret::Bearer { token }) => Ok(HeaderEdits {
            set: vec![("authorization".to_owned(), format!("Bearer {token}"))],
            // `authorization` is replaced by the set, not removed.
            remove: remove.iter().copied().filter(|h| *h != "authorization").collect(),
        }),
        (Use::SigV4 { region, host }, Secret::Aws { access_key_id, secret_access_key, session_token }) => {
            let keys = sigv4::Keys { access_key_id, secret_access_key, session_token };
            let mut set = sigv4::sign(&keys, region, host, request).map_err(CredentialError::Signing)?;
            set.push((":authority".to_owned(), host.clone()));
            // Removed first, then set: a temporary credential's own token goes back on.
            Ok(HeaderEdits { set, remove: AWS_CLIENT_HEADERS.to_vec() })
        }
        (Use::Bearer { .. }, Secret::Aws { .. }) => Err(CredentialError::WrongKind { got: "AWS", want: "bearer" }),
        (Use::SigV4 { .. }, Secret::Bearer { .. }) => Err(CredentialError::WrongKind { got: "bearer", want: "AWS" }),
    }
}

#[cfg(test)]
mod tests;
