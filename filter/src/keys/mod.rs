//! Virtual keys, filter side (DESIGN §4.6): finding a `wdn_` key in a provider's auth header,
//! the shared-data cache of the sidecar's answers, and turning an answer into a grant (the real
//! key for the header the client used, the profile, the key's id and budgets) or a refusal.
//!
//! The key itself never leaves this module: it is hashed where it is found and only the SHA-256
//! travels (to the sidecar, into cache keys). Neither the virtual nor the real key is ever in an
//! error message, the record or a metric.
//!
//! An OAuth client (the `azp` / `client_id` of a token Envoy's `jwt_authn` verified) resolves the
//! same way, by its client id, and its grant puts the real key in the provider's own auth header.

pub mod cache;
pub mod query;

#[cfg(test)]
mod tests;

use crate::config::limits::{Limit, ModelPattern, Scope, Window};
use crate::config::Config;
use crate::error::WardenError;
use crate::providers::Provider;
use crate::routes::Route;
use sha2::{Digest, Sha256};
use warden_proto::v1::{self as pb, provider_credential::Kind, resolve_reply::Outcome};

/// What a Warden virtual key starts with.
pub const PREFIX: &str = "wdn_";

/// The auth headers provider SDKs send a key in, in the order they are looked at.
pub const AUTH_HEADERS: [&str; 4] = ["authorization", "x-api-key", "api-key", "x-goog-api-key"];

/// Where a real key goes: a header, and whether as `Bearer …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub header: &'static str,
    pub bearer: bool,
}

/// The header each provider's own SDK sends its key in: where the real key goes when the client
/// named none (an OAuth client, a `?key=` query parameter).
pub fn native_place(provider: Provider) -> Place {
    match provider {
        Provider::Anthropic => Place { header: "x-api-key", bearer: false },
        Provider::Gemini => Place { header: "x-goog-api-key", bearer: false },
        Provider::Azure => Place { header: "api-key", bearer: false },
        _ => Place { header: "authorization", bearer: true },
    }
}

/// Who a `Keys.Resolve` asks about.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A `wdn_` key, by its digest.
    Key(&'a Presented),
    /// The client id of a verified token (`Claims::client_id`).
    Client(&'a str),
}

/// A virtual key a request presented: where, and its digest.
#[derive(Clone, PartialEq, Eq)]
pub struct Presented {
    /// The header it came in, where the real key goes.
    pub header: &'static str,
    /// `Authorization: Bearer …` (the real key goes back in the same form).
    pub bearer: bool,
    pub sha256: [u8; 32],
}

impl Presented {
    fn place(&self) -> Place {
        Place { header: self.header, bearer: self.bearer }
    }
}

// Hand-written so a digest of a key never shows in a debug print either.
impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented").field("header", &self.header).field("bearer", &self.bearer).finish()
    }
}

/// How the request to the provider is authenticated once the key resolved.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// This value replaces the client's header.
    Header { name: &'static str, value: String },
    /// The client's header is removed; the sidecar's AWS credentials sign (Bedrock `auth: sigv4`).
    Sigv4 { remove: &'static str },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Header { name, .. } => write!(f, "Header({name}: [redacted])"),
            Credential::Sigv4 { remove } => write!(f, "Sigv4(remove {remove})"),
        }
    }
}

/// A resolved key, as the request uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// The key's id (records, metrics, limit messages).
    pub key_id: String,
    /// The profile the key is bound to, when it is.
    pub profile: Option<String>,
    pub credential: Credential,
    /// The key's own budgets, as limits of scope `key`.
    pub limits: Vec<Limit>,
    /// The grant is an OAuth client's: the client named no header, so every other auth header it
    /// sent is removed and only the gateway's credential goes upstream.
    pub sole_credential: bool,
    /// The grant is an OAuth client's (`oauth_clients` in the keys file), not a virtual key's.
    pub oauth_client: bool,
}

/// The virtual key in the request's auth headers, if any. `get` looks a header up by lower-case
/// name. Two headers with different virtual keys are refused: which one counts would be a guess.
pub fn presented(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Presented>, WardenError> {
    let mut found: Option<Presented> = None;
    for header in AUTH_HEADERS {
        let Some(raw) = get(header) else { continue };
        let raw = raw.trim();
        let (value, bearer) = match raw.get(..7) {
            Some(scheme) if header == "authorization" && scheme.eq_ignore_ascii_case("bearer ") => {
                (raw.get(7..).unwrap_or("").trim(), true)
            }
            _ => (raw, false),
        };
        if !value.starts_with(PREFIX) {
            continue;
        }
        let sha256: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        match &found {
            Some(first) if first.sha256 != sha256 => {
                return Err(WardenError::InvalidRequest {
                    message: format!(
                        "the request carries two different Warden virtual keys ({} and {header}); send one key in one header",
                        first.header
                    ),
                });
            }
            Some(_) => {}
            None => found = Some(Presented { header, bearer, sha256 }),
        }
    }
    Ok(found)
}

/// The virtual key of a request: the one in its auth headers, else the one its path carried in
/// a `key` query parameter (`query`, the digest `query::take` found), which resolves like a key
/// in the provider's own header. Different keys in a header and the query are refused.
pub fn presented_in_request(
    get: &dyn Fn(&str) -> Option<String>,
    query: Option<[u8; 32]>,
    provider: Provider,
) -> Result<Option<Presented>, WardenError> {
    let in_header = presented(get)?;
    match (in_header, query) {
        (Some(p), Some(q)) if p.sha256 != q => Err(WardenError::InvalidRequest {
            message: format!(
                "the request carries two different Warden virtual keys (the key query parameter and {}); send one key",
                p.header
            ),
        }),
        (Some(p), _) => Ok(Some(p)),
        (None, Some(sha256)) => {
            let place = native_place(provider);
            Ok(Some(Presented { header: place.header, bearer: place.bearer, sha256 }))
        }
        (None, None) => Ok(None),
    }
}

/// The sidecar request for `subject` on a route to `provider`: a key's digest, never the key.
pub fn request(subject: Subject, provider: Provider) -> pb::ResolveRequest {
    let subject = match subject {
        Subject::Key(p) => pb::resolve_request::Subject::KeySha256(p.sha256.to_vec()),
        Subject::Client(id) => pb::resolve_request::Subject::OauthClientId(id.to_owned()),
    };
    pb::ResolveRequest { subject: Some(subject), provider: provider.name().to_owned() }
}

/// Turns the sidecar's answer into a grant for `route`, or the refusal the client gets:
/// unknown or expired → 401, not mapped to this provider → 400, bound to a profile other than
/// the one the path names → 403. A key's real key goes where the client put the virtual one; an
/// OAuth client's in the provider's own header.
pub fn grant(
    reply: &pb::ResolveReply,
    subject: Subject,
    route: &Route,
    config: &Config,
    now_ms: u64,
) -> Result<Grant, WardenError> {
    let expired = u64::try_from(reply.expires_at_unix_ms).is_ok_and(|at| at > 0 && now_ms >= at);
    match Outcome::try_from(reply.outcome) {
        Ok(Outcome::Ok) if expired => return Err(WardenError::KeyRejected { why: "expired" }),
        Ok(Outcome::Ok) => {}
        Ok(Outcome::Expired) => return Err(WardenError::KeyRejected { why: "expired" }),
        Ok(Outcome::NotMapped) => {
            let mapped = if reply.mapped_providers.is_empty() {
                "no provider".to_owned()
            } else {
                reply.mapped_providers.join(", ")
            };
            return Err(WardenError::KeyNotMapped {
                key_id: reply.id.clone(),
                provider: route.provider.name(),
                mapped,
            });
        }
        Ok(Outcome::Unknown | Outcome::Unspecified) | Err(_) => {
            return Err(WardenError::KeyRejected { why: "not a key this gateway knows" })
        }
    }
    let profile = (!reply.profile.is_empty()).then(|| reply.profile.clone());
    if let Some(bound) = &profile {
        if route.profile_in_path && *bound != route.profile {
            return Err(WardenError::KeyProfileMismatch {
                key_id: reply.id.clone(),
                bound: bound.clone(),
                asked: route.profile.clone(),
            });
        }
        if !config.profiles.contains_key(bound) {
            let known: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
            return Err(WardenError::UnknownProfile { profile: bound.clone(), known: known.join(", ") });
        }
    }
    // The model router's client spoke OpenAI; the target's real key goes in its own header, and
    // it is the only credential that goes upstream.
    let (place, sole_credential) = match subject {
        Subject::Key(p) if !route.routed => (p.place(), false),
        Subject::Key(_) | Subject::Client(_) => (native_place(route.provider), true),
    };
    let credential = match reply.credential.as_ref().and_then(|c| c.kind.as_ref()) {
        Some(Kind::ApiKey(key)) if header_safe(key) => Credential::Header {
            name: place.header,
            value: if place.bearer { format!("Bearer {key}") } else { key.clone() },
        },
        Some(Kind::Sigv4(true)) if crate::credentials::plan(config, route).is_some() => {
            Credential::Sigv4 { remove: place.header }
        }
        Some(Kind::Sigv4(true)) => {
            return Err(WardenError::CredentialsUnavailable {
                cloud: "aws",
                detail: format!(
                    "the virtual key '{}' signs Bedrock with the sidecar's AWS credentials, but the plugin configuration does not set providers.bedrock.auth: sigv4",
                    reply.id
                ),
            })
        }
        _ => {
            return Err(WardenError::CredentialsUnavailable {
                cloud: "virtual key",
                detail: format!("the sidecar's answer for the virtual key '{}' held no usable credential", reply.id),
            })
        }
    };
    let limits = reply.limits.iter().filter_map(key_limit).collect();
    let oauth_client = matches!(subject, Subject::Client(_));
    Ok(Grant { key_id: reply.id.clone(), profile, credential, limits, sole_credential, oauth_client })
}

/// A value that can go in a request header as is (no line break to inject another header).
fn header_safe(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic())
}

/// A key's budget as a limit of scope `key`. The sidecar validated it when it loaded the keys
/// file; a window the filter does not know (a newer sidecar) is dropped rather than guessed.
fn key_limit(limit: &pb::KeyLimit) -> Option<Limit> {
    let window = match limit.window.as_str() {
        "1h" => Window::Hour,
        "1d" => Window::Day,
        "1w" => Window::Week,
        "calendar_day" => Window::CalendarDay,
        "calendar_week" => Window::CalendarWeek,
        "calendar_month" => Window::CalendarMonth,
        _ => return None,
    };
    let usd = limit.usd;
    if !(usd.is_finite() && usd > 0.0) {
        return None;
    }
    let models = (!limit.models.is_empty()).then(|| limit.models.iter().map(|m| ModelPattern::new(m)).collect());
    Some(Limit { scope: Scope::Key, usd, window, models })
}
