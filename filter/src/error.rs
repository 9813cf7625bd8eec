//! Errors the filter itself answers with. Each variant knows its HTTP status; the provider modules
//! render it in the shape that provider's SDK parses (DESIGN §4.4).

use crate::config::limits::{Scope, Window};
use crate::meter::limits::LimitExceeded;

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
    /// A cost limit was reached (`meter::limits::check`). 402, not 429: SDKs retry 429 on their own.
    #[error("{}", limit_message(*.scope, .scope_id, *.key_is_client, *.limit_usd, *.used_usd, *.window, .resets_at, .models))]
    UsageLimitExceeded {
        scope: Scope,
        scope_id: String,
        /// The `key` scope's id is an OAuth client's (`oauth_clients` in the keys file), not a
        /// virtual key's.
        key_is_client: bool,
        limit_usd: f64,
        used_usd: f64,
        window: Window,
        /// RFC 3339, UTC.
        resets_at: String,
        /// The limit's model filter; empty when it covers every model.
        models: Vec<String>,
    },
    /// A cost-limit counter could not be read and `sidecar.on_failure` is `closed`.
    #[error("This request was blocked by the Warden gateway, not by the AI provider: its cost limits could not be checked ({detail}), and the gateway is configured to refuse requests it cannot check (sidecar.on_failure: closed). Retry shortly; if this persists, ask the gateway administrator.")]
    LimitsUnavailable { detail: String },
    /// A `wdn_` virtual key the gateway does not know, or that expired (401).
    #[error("The Warden gateway does not accept this API key: it is {why}. Use a key from your gateway administrator (Warden virtual keys start with wdn_).")]
    KeyRejected { why: &'static str },
    /// A virtual key that maps no credential for this provider (400).
    #[error("The Warden virtual key '{key_id}' is not mapped to {provider}; it is mapped to: {mapped}. Ask the gateway administrator to add {provider} to the key, or call one of those providers.")]
    KeyNotMapped { key_id: String, provider: &'static str, mapped: String },
    /// A virtual key bound to another profile than the one the path names (403).
    #[error("The Warden virtual key '{key_id}' is bound to profile '{bound}', not '{asked}': call /v1/{{provider}}/{bound}/… or leave the profile out of the path.")]
    KeyProfileMismatch { key_id: String, bound: String, asked: String },
    /// The credential the upstream needs could not be had from the sidecar (always fails closed).
    #[error("The Warden gateway could not get the {cloud} credential this provider needs from warden-sidecar: {detail}. Nothing was sent to the provider; check the sidecar's log and its identity configuration.")]
    CredentialsUnavailable { cloud: &'static str, detail: String },
    /// The upstream answered with something the gateway must police but cannot read.
    #[error("The Warden gateway refused the AI provider's response: {reason}, so the gateway could not check it against its tool policies. Nothing of it was passed on.")]
    UnpoliceableResponse { reason: String },
    /// The model router cannot express the request for its target, or cannot read the target's
    /// answer (always answered in the OpenAI shape, `param` naming the field).
    #[error("{0}")]
    Translation(crate::providers::translate::TranslateError),
    /// A model-router request without a virtual key or a known OAuth client (401): the router
    /// must know the real key for whichever provider the model names.
    #[error("The Warden model router needs a Warden virtual key (Authorization: Bearer wdn_…) or an OAuth client token the gateway knows: it must hold the real key of whichever provider the model names. Ask your gateway administrator for a key.")]
    KeyRequired,
}

/// What class of error this is, so each provider can pick its own type/code/status names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    InvalidRequest,
    NotFound,
    TooLarge,
    LimitExceeded,
    /// The caller's credential is not accepted (401).
    Unauthorized,
    /// The caller may not use this route (403).
    Forbidden,
    /// Something the gateway needs is not available right now (503).
    Unavailable,
    /// The upstream's answer could not be used (502).
    BadGateway,
}

impl WardenError {
    pub fn status(&self) -> u16 {
        match self.class() {
            ErrorClass::InvalidRequest => 400,
            ErrorClass::NotFound => 404,
            ErrorClass::TooLarge => 413,
            ErrorClass::LimitExceeded => 402,
            ErrorClass::Unauthorized => 401,
            ErrorClass::Forbidden => 403,
            ErrorClass::Unavailable => 503,
            ErrorClass::BadGateway => 502,
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            WardenError::MalformedJson { .. }
            | WardenError::InvalidRequest { .. }
            | WardenError::KeyNotMapped { .. } => ErrorClass::InvalidRequest,
            WardenError::KeyRejected { .. } | WardenError::KeyRequired => ErrorClass::Unauthorized,
            WardenError::Translation(t) if t.status() == 400 => ErrorClass::InvalidRequest,
            WardenError::Translation(_) => ErrorClass::BadGateway,
            WardenError::KeyProfileMismatch { .. } => ErrorClass::Forbidden,
            WardenError::BodyTooLarge { .. } => ErrorClass::TooLarge,
            WardenError::UnknownProfile { .. } | WardenError::UnknownRoute { .. } => ErrorClass::NotFound,
            WardenError::UsageLimitExceeded { .. } => ErrorClass::LimitExceeded,
            WardenError::LimitsUnavailable { .. } | WardenError::CredentialsUnavailable { .. } => {
                ErrorClass::Unavailable
            }
            WardenError::UnpoliceableResponse { .. } => ErrorClass::BadGateway,
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
            WardenError::UsageLimitExceeded { .. } => "usage_limit_exceeded",
            WardenError::LimitsUnavailable { .. } => "limits_unavailable",
            WardenError::KeyRejected { .. } => "invalid_api_key",
            WardenError::KeyNotMapped { .. } => "key_not_mapped",
            WardenError::KeyProfileMismatch { .. } => "key_profile_mismatch",
            WardenError::CredentialsUnavailable { .. } => "credentials_unavailable",
            WardenError::UnpoliceableResponse { .. } => "unpoliceable_response",
            WardenError::Translation(t) => t.code(),
            WardenError::KeyRequired => "missing_api_key",
        }
    }
}

/// Says who blocked the request (so nobody files a ticket with the provider), which limit, how much
/// was used, when it resets and what to do.
#[allow(clippy::too_many_arguments)]
fn limit_message(
    scope: Scope,
    scope_id: &str,
    key_is_client: bool,
    limit_usd: f64,
    used_usd: f64,
    window: Window,
    resets_at: &str,
    models: &[String],
) -> String {
    let anonymous = scope_id == crate::meter::limits::ANONYMOUS;
    let whose = match scope {
        Scope::Profile => format!("profile '{scope_id}'"),
        Scope::Key if key_is_client => format!("OAuth client '{scope_id}'"),
        Scope::Key => format!("virtual key '{scope_id}'"),
        _ if anonymous => format!("requests without a{} {scope} id", if scope == Scope::Agent { "n" } else { "" }),
        _ => format!("{scope} '{scope_id}'"),
    };
    let which = if models.is_empty() { "all models".to_owned() } else { format!("models {}", models.join(", ")) };
    let own_id = if anonymous && scope != Scope::Profile {
        format!("send an x-warden-{scope}-id header to be counted on your own, ")
    } else {
        String::new()
    };
    format!(
        "This request was blocked by the Warden gateway, not by the AI provider: the cost limit of {} per {} for \
         {whose} ({which}) has been reached, with {} used. It resets at {resets_at}; {own_id}retry after that, or \
         ask the gateway administrator to raise the limit ({where_set}).",
        usd(limit_usd),
        window.describe(),
        usd(used_usd),
        where_set = match scope {
            Scope::Key if key_is_client => "the client's 'limits' under oauth_clients in the keys file",
            Scope::Key => "the key's 'limits' in the keys file",
            _ => "the profile's 'limits'",
        },
    )
}

/// Dollars with cents, and with the fractions of a cent that small limits are made of.
fn usd(value: f64) -> String {
    if value >= 1.0 {
        return format!("${value:.2}");
    }
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0');
    let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
    format!("${text}{}", "0".repeat(2usize.saturating_sub(decimals)))
}

impl WardenError {
    /// A reached limit as the 402 the client gets; `key_is_client` when the request's `key` scope
    /// is an OAuth client's.
    pub fn limit_reached(e: LimitExceeded, key_is_client: bool) -> WardenError {
        WardenError::UsageLimitExceeded {
            scope: e.scope,
            scope_id: e.scope_id,
            key_is_client,
            limit_usd: e.limit_usd,
            used_usd: e.used_usd,
            window: e.window,
            resets_at: crate::meter::limits::rfc3339(e.resets_at_secs),
            models: e.models,
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
        Reply::json_bytes(status, crate::providers::json::to_bytes(body, 256))
    }

    /// A reply whose body is already JSON text.
    pub fn json_bytes(status: u16, body: Vec<u8>) -> Self {
        Reply { status, headers: vec![("content-type".into(), "application/json".into())], body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(scope: Scope, scope_id: &str, limit_usd: f64) -> WardenError {
        WardenError::UsageLimitExceeded {
            scope,
            scope_id: scope_id.into(),
            key_is_client: false,
            limit_usd,
            used_usd: limit_usd,
            window: Window::CalendarMonth,
            resets_at: "2028-03-01T00:00:00Z".into(),
            models: vec!["gpt-5".into(), "gpt-5-mini".into()],
        }
    }

    #[test]
    fn amounts_show_cents_and_the_fractions_small_limits_need() {
        assert_eq!(
            [usd(50.0), usd(1.005), usd(0.5), usd(0.05), usd(0.00025), usd(0.0)],
            ["$50.00", "$1.00", "$0.50", "$0.05", "$0.00025", "$0.00"]
        );
    }

    #[test]
    fn the_limit_message_names_who_which_limit_and_when_it_resets() {
        let text = limit(Scope::Profile, "ops", 50.0).to_string();
        assert!(text.contains("not by the AI provider"), "{text}");
        assert!(
            text.contains("$50.00 per calendar month (UTC) for profile 'ops' (models gpt-5, gpt-5-mini)"),
            "{text}"
        );
        assert!(text.contains("resets at 2028-03-01T00:00:00Z"), "{text}");
        assert!(!text.contains("x-warden-"), "{text}");
        let text = limit(Scope::Agent, crate::meter::limits::ANONYMOUS, 1.0).to_string();
        assert!(text.contains("requests without an agent id") && text.contains("x-warden-agent-id header"), "{text}");
        assert!(limit(Scope::Session, "s1", 1.0).to_string().contains("session 's1'"));
        let key = limit(Scope::Key, "team-a-dev", 5.0).to_string();
        assert!(
            key.contains("virtual key 'team-a-dev'") && key.contains("the key's 'limits' in the keys file"),
            "{key}"
        );
        let mut client = limit(Scope::Key, "billing-bot", 5.0);
        if let WardenError::UsageLimitExceeded { key_is_client, .. } = &mut client {
            *key_is_client = true;
        }
        let client = client.to_string();
        assert!(
            client.contains("for OAuth client 'billing-bot'") && client.contains("oauth_clients in the keys file"),
            "{client}"
        );
        assert!(!client.contains("virtual key"), "{client}");
    }

    #[test]
    fn a_reached_limit_is_402_not_429() {
        let err = limit(Scope::User, "u", 1.0);
        assert_eq!((err.status(), err.class(), err.code()), (402, ErrorClass::LimitExceeded, "usage_limit_exceeded"));
    }
}
