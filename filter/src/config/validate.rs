//! Checks that serde cannot express: cross-references, reserved names, value ranges.

use super::Config;
use crate::providers::{Provider, RESERVED_SEGMENTS};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid plugin configuration at {}: {message}", if path.is_empty() { "the top level" } else { path.as_str() })]
pub struct ConfigError {
    /// Where the problem is, e.g. `profiles.ops.tool_policies[2].operator`; empty for the top level.
    pub path: String,
    pub message: String,
}

fn err(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { path: path.into(), message: message.into() }
}

/// Which provider takes which credential settings (DESIGN §4.7).
fn validate_auth(path: &str, provider: Provider, settings: &super::ProviderSettings) -> Result<(), ConfigError> {
    use super::Auth;
    let entra = matches!(provider, Provider::Azure | Provider::Anthropic);
    match settings.auth {
        None | Some(Auth::ApiKey) => {}
        Some(Auth::Entra) if entra => {}
        Some(Auth::Sigv4) if provider == Provider::Bedrock => {}
        Some(Auth::Entra) => return Err(err(format!("{path}.auth"), "'entra' applies to azure and anthropic only")),
        Some(Auth::Sigv4) => return Err(err(format!("{path}.auth"), "'sigv4' applies to bedrock only")),
    }
    if settings.auth.is_some() && !(entra || provider == Provider::Bedrock) {
        return Err(err(format!("{path}.auth"), "'auth' applies to azure, anthropic and bedrock"));
    }
    if settings.region.is_some() && provider != Provider::Bedrock {
        return Err(err(format!("{path}.region"), "'region' applies to bedrock only"));
    }
    if let Some(region) = &settings.region {
        if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(err(format!("{path}.region"), "an AWS region such as us-east-1"));
        }
    }
    if settings.auth == Some(Auth::Sigv4) && settings.region.is_none() {
        return Err(err(format!("{path}.region"), "SigV4 signs for a region: set providers.bedrock.region"));
    }
    if settings.host.is_some() && !(entra || provider == Provider::Bedrock) {
        return Err(err(format!("{path}.host"), "'host' applies to bedrock, azure and anthropic"));
    }
    if let Some(host) = &settings.host {
        if host.is_empty() || host.contains('/') || host.contains(char::is_whitespace) {
            return Err(err(format!("{path}.host"), "a host name such as bedrock-runtime.us-east-1.amazonaws.com"));
        }
    }
    if settings.scope.is_some() && settings.auth != Some(Auth::Entra) {
        return Err(err(format!("{path}.scope"), "'scope' applies with auth: entra"));
    }
    if let Some(vertex) = &settings.vertex {
        if provider != Provider::Gemini {
            return Err(err(format!("{path}.vertex"), "'vertex' applies to gemini only"));
        }
        let segment = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !segment(&vertex.project) {
            return Err(err(format!("{path}.vertex.project"), "a Google Cloud project id"));
        }
        if !segment(&vertex.location) {
            return Err(err(format!("{path}.vertex.location"), "a Vertex AI location such as us-central1 or global"));
        }
    }
    Ok(())
}

/// Also compiles each profile's policies, which is where their regexes and paths are checked.
pub(super) fn validate(config: &mut Config) -> Result<(), ConfigError> {
    if config.profiles.is_empty() {
        return Err(err("profiles", "declare at least one profile, e.g. {\"profiles\": {\"default\": {}}}"));
    }
    if !config.profiles.contains_key(&config.default_profile) {
        let known: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
        return Err(err(
            "default_profile",
            format!("'{}' is not a declared profile (declared: {})", config.default_profile, known.join(", ")),
        ));
    }
    for (id, profile) in &config.profiles {
        for (i, rule) in profile.optimization_rules.iter().enumerate() {
            let path = format!("profiles.{id}.optimization_rules[{i}]");
            if Provider::from_name(&rule.provider).is_none() {
                return Err(err(format!("{path}.provider"), format!("unknown provider '{}'", rule.provider)));
            }
            if rule.target_model.trim().is_empty() {
                return Err(err(format!("{path}.target_model"), "name the model to send matching requests to"));
            }
            if rule.max_tokens() == Some(0) {
                return Err(err(format!("{path}.conditions"), "max_tokens must be greater than zero"));
            }
        }
    }
    for (id, profile) in &config.profiles {
        let path = format!("profiles.{id}.router");
        if let Some(p) = profile.router.default_provider.as_deref().filter(|p| Provider::from_name(p).is_none()) {
            return Err(err(format!("{path}.default_provider"), format!("unknown provider '{p}'")));
        }
        for (provider, models) in &profile.router.models {
            if Provider::from_name(provider).is_none() {
                return Err(err(format!("{path}.models.{provider}"), format!("unknown provider '{provider}'")));
            }
            if let Some(i) = models.iter().position(|m| m.trim().is_empty()) {
                return Err(err(format!("{path}.models.{provider}[{i}]"), "name a model"));
            }
        }
        let bedrock = &profile.router.bedrock;
        for (field, list) in
            [("allowed_providers", &bedrock.allowed_providers), ("allowed_regions", &bedrock.allowed_regions)]
        {
            if let Some(i) = list.iter().position(|p| p.is_empty() || p.contains('.') || p.trim() != p) {
                return Err(err(
                    format!("{path}.bedrock.{field}[{i}]"),
                    "one segment of a Bedrock model id, without dots (e.g. anthropic, us)",
                ));
            }
        }
    }
    for (id, profile) in &config.profiles {
        let Some(dual) = &profile.dual_llm else { continue };
        let path = format!("profiles.{id}.dual_llm");
        let routed = dual.provider == crate::routes::ROUTER_SEGMENT;
        let chat_wire = Provider::from_name(&dual.provider)
            .is_some_and(|p| p == Provider::OpenAi || p == Provider::Azure || p.is_openai_compatible());
        if !chat_wire && !routed {
            return Err(err(
                format!("{path}.provider"),
                format!(
                    "'{}' does not speak OpenAI chat completions; use openai, azure, an OpenAI-compatible provider or model-router",
                    dual.provider
                ),
            ));
        }
        // Through the router, each model names its provider unless the profile has a default.
        let unrouted = |model: &str| {
            routed
                && profile.router.default_provider.is_none()
                && model.split_once(':').is_none_or(|(p, _)| Provider::from_name(p).is_none())
        };
        for (field, model) in [("model", Some(&dual.model)), ("quarantined_model", dual.quarantined_model.as_ref())] {
            if model.is_some_and(|m| unrouted(m)) {
                return Err(err(
                    format!("{path}.{field}"),
                    "through model-router, name the model as provider:model (or set router.default_provider)",
                ));
            }
        }
        if dual.model.trim().is_empty() {
            return Err(err(format!("{path}.model"), "name the privileged model"));
        }
        if dual.quarantined_model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Err(err(format!("{path}.quarantined_model"), "name the quarantined model or leave it out"));
        }
        if !(1..=20).contains(&dual.max_rounds) {
            return Err(err(format!("{path}.max_rounds"), "between 1 and 20 questions"));
        }
    }
    for id in config.profiles.keys() {
        let path = format!("profiles.{id}");
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
            return Err(err(path, "profile ids are URL path segments: use letters, digits, '-', '_' or '.'"));
        }
        if RESERVED_SEGMENTS.contains(&id.as_str()) {
            return Err(err(path, format!("'{id}' collides with a provider API path segment; pick another id")));
        }
    }
    for (key, price) in &config.prices {
        let path = format!("prices.{key}");
        let Some((provider, model)) = key.split_once(':') else {
            return Err(err(path, "price keys are 'provider:model', e.g. \"openai:gpt-5\""));
        };
        if Provider::from_name(provider).is_none() || model.is_empty() {
            return Err(err(path, format!("unknown provider '{provider}' or empty model in price key")));
        }
        for (field, value) in [
            ("input", Some(price.input)),
            ("output", Some(price.output)),
            ("cache_read", price.cache_read),
            ("cache_write", price.cache_write),
        ] {
            if let Some(v) = value {
                if !v.is_finite() || v < 0.0 {
                    return Err(err(format!("{path}.{field}"), "prices are non-negative USD per million tokens"));
                }
            }
        }
    }
    for (name, settings) in &config.providers {
        let path = format!("providers.{name}");
        let Some(provider) = Provider::from_name(name) else {
            let known: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
            return Err(err(path, format!("unknown provider (known: {})", known.join(", "))));
        };
        if let Some(base) = &settings.base_path {
            if !(base.is_empty() || base.starts_with('/')) || base.ends_with('/') {
                return Err(err(
                    format!("{path}.base_path"),
                    "a base path starts with '/' and does not end with '/' (or is empty)",
                ));
            }
        }
        validate_auth(&path, provider, settings)?;
    }
    if config.max_body_bytes == 0 {
        return Err(err("max_body_bytes", "must be greater than zero"));
    }
    if config.max_held_bytes < 1024 {
        return Err(err("max_held_bytes", "must be at least 1024 bytes (a tool call held for checking)"));
    }
    if config.sidecar.cluster.trim().is_empty() {
        return Err(err("sidecar.cluster", "name the Envoy cluster that reaches warden-sidecar"));
    }
    if config.sidecar.timeout_ms == 0 || config.sidecar.timeout_ms > 600_000 {
        return Err(err("sidecar.timeout_ms", "must be between 1 and 600000 milliseconds"));
    }
    if config.metrics.max_agent_ids > crate::meter::agents::MAX_AGENT_IDS_LIMIT {
        return Err(err(
            "metrics.max_agent_ids",
            format!(
                "at most {} distinct agent labels (0 labels every agent 'other')",
                crate::meter::agents::MAX_AGENT_IDS_LIMIT
            ),
        ));
    }
    for (id, profile) in &mut config.profiles {
        super::limits::validate(&format!("profiles.{id}"), &profile.limits)?;
        profile.policies = super::policy::compile(&format!("profiles.{id}"), profile)?;
    }
    Ok(())
}
