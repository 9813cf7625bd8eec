//! Plugin configuration (DESIGN §4.5): parsed once in `on_configure`, strict (unknown keys are
//! errors) and every error names the path of the offending value.

pub mod limits;
pub mod optimise;
pub mod policy;
#[cfg(feature = "schema")]
pub mod schema;
mod validate;

use crate::meter::prices::Price;
use crate::policy::CompiledPolicies;
use serde::Deserialize;
use std::collections::BTreeMap;

pub use validate::ConfigError;

pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_profile_id")]
    pub default_profile: String,
    pub profiles: BTreeMap<String, Profile>,
    /// `provider:model` → price; overrides the built-in table.
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderSettings>,
    #[serde(default = "default_max_body_bytes")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub max_body_bytes: usize,
    /// Built at configure time when a feature counts tokens (TOON, `max_tokens` rules); never per
    /// request.
    #[serde(skip)]
    pub tokenizer: Option<crate::meter::tokens::Tokenizer>,
    /// Where cost-limit counters are kept.
    #[serde(default)]
    pub limits_store: limits::LimitsStore,
    /// How the filter reaches the sidecar, and what happens when it (or a store the request path
    /// needs) cannot answer.
    #[serde(default)]
    pub sidecar: SidecarSettings,
    /// Most bytes a stream holds back while its tool calls are judged, and most argument text
    /// kept per call. Reaching it refuses the calls; it never releases them unchecked.
    #[serde(default = "default_max_held_bytes")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1024)))]
    pub max_held_bytes: usize,
    /// Where Envoy's `jwt_authn` filter leaves the verified claims (DESIGN §4.6).
    #[serde(default)]
    pub jwt: JwtSettings,
    /// Bounds on what the metrics may label.
    #[serde(default)]
    pub metrics: MetricsSettings,
}

/// `metrics: {max_agent_ids: 100}`: the first `max_agent_ids` distinct agent ids an Envoy sees keep
/// their own `agent_id` label; later ones are counted as `other` (label cardinality stays bounded
/// whatever ids clients send).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    #[serde(default = "default_max_agent_ids")]
    #[cfg_attr(feature = "schema", schemars(range(max = crate::meter::agents::MAX_AGENT_IDS_LIMIT)))]
    pub max_agent_ids: usize,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings { max_agent_ids: default_max_agent_ids() }
    }
}

pub const DEFAULT_MAX_AGENT_IDS: usize = 100;

fn default_max_agent_ids() -> usize {
    DEFAULT_MAX_AGENT_IDS
}

/// Verified identity from Envoy's `jwt_authn` filter: its `payload_in_metadata` key, and the claim
/// (a dotted path for nested claims, e.g. `realm_access.roles`) that lists the caller's groups.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct JwtSettings {
    #[serde(default = "default_jwt_metadata_key")]
    pub metadata_key: String,
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
}

impl Default for JwtSettings {
    fn default() -> Self {
        JwtSettings { metadata_key: default_jwt_metadata_key(), groups_claim: default_groups_claim() }
    }
}

fn default_jwt_metadata_key() -> String {
    "jwt_payload".to_owned()
}

fn default_groups_claim() -> String {
    "groups".to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SidecarSettings {
    /// The Envoy cluster (HTTP/2) that reaches `warden-sidecar`.
    #[serde(default = "default_sidecar_cluster")]
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"\S")))]
    pub cluster: String,
    /// How long a request waits for the sidecar.
    #[serde(default = "default_sidecar_timeout_ms")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 600_000)))]
    pub timeout_ms: u64,
    /// When the sidecar, or a store a request needs (the cost-limit counters, Redis behind the
    /// sidecar), cannot answer: `closed` refuses the request (503), `open` lets it through without
    /// that contribution and counts it. Credentials and Dual LLM always fail closed.
    #[serde(default)]
    pub on_failure: OnFailure,
}

impl Default for SidecarSettings {
    fn default() -> Self {
        SidecarSettings {
            cluster: default_sidecar_cluster(),
            timeout_ms: default_sidecar_timeout_ms(),
            on_failure: OnFailure::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    #[default]
    Closed,
    Open,
}

fn default_sidecar_cluster() -> String {
    "warden_sidecar".to_owned()
}

fn default_sidecar_timeout_ms() -> u64 {
    5000
}

fn default_max_held_bytes() -> usize {
    crate::stream::DEFAULT_MAX_HELD_BYTES
}

/// A profile groups the settings one set of agents runs under. TOON, optimisation and limits are
/// added to it by the features that use them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Every conversation starts untrusted (tool results are still evaluated).
    #[serde(default)]
    pub context_untrusted: bool,
    #[serde(default)]
    pub tool_policies: Vec<policy::ToolPolicy>,
    /// For tool calls no row applies to.
    #[serde(default)]
    pub default_tool_action: crate::policy::ToolAction,
    #[serde(default)]
    pub result_policies: Vec<policy::ResultPolicy>,
    /// For tool results no row applies to.
    #[serde(default)]
    pub default_result_action: crate::policy::ResultAction,
    #[serde(default)]
    pub toon: optimise::Toon,
    /// Model optimisation: the first matching rule in list order rewrites the model.
    #[serde(default)]
    pub optimization_rules: Vec<optimise::OptimizationRule>,
    /// Cost limits; every applicable one is checked before the upstream call, in list order.
    #[serde(default)]
    pub limits: Vec<limits::Limit>,
    /// Dual-LLM sanitisation of results a `sanitize_with_dual_llm` policy names (DESIGN §5.3).
    #[serde(default)]
    pub dual_llm: Option<DualLlm>,
    /// The model router's settings for requests under this profile (DESIGN §4.8).
    #[serde(default)]
    pub router: RouterSettings,
    /// The fields above compiled when the configuration is loaded; requests read only this.
    #[serde(skip)]
    pub policies: CompiledPolicies,
}

/// `router: {default_provider, models}`: where a routed model id without a `provider:` prefix
/// goes, and the models `GET /v1/model-router/{profile}/models` lists per provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RouterSettings {
    #[serde(default)]
    pub default_provider: Option<String>,
    #[serde(default)]
    pub models: BTreeMap<String, Vec<String>>,
    /// Which Bedrock models the router lists and serves (by the model id's prefixes).
    #[serde(default)]
    pub bedrock: BedrockRouting,
}

/// `router.bedrock: {allowed_providers, allowed_regions}`: the Bedrock model ids the router lists
/// and routes to. An id is `[region.]vendor.model` (`us.anthropic.claude-sonnet-4-5-v1:0`,
/// `amazon.nova-pro-v1:0`); empty lists allow everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BedrockRouting {
    /// Model vendors (`anthropic`, `amazon`, `meta`, `deepseek`, …).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(inner(regex(pattern = r"^[^.\s](?:[^.]*[^.\s])?$"))))]
    pub allowed_providers: Vec<String>,
    /// Inference-profile region prefixes (`us`, `eu`, `apac`, `global`, …). Base model ids, which
    /// have none, stay allowed.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(inner(regex(pattern = r"^[^.\s](?:[^.]*[^.\s])?$"))))]
    pub allowed_regions: Vec<String>,
}

impl BedrockRouting {
    /// Whether the router may list and serve the Bedrock model `id`. A model ARN names no vendor:
    /// allowed only when no vendor list is set.
    pub fn allows(&self, id: &str) -> bool {
        if id.starts_with("arn:") {
            return self.allowed_providers.is_empty();
        }
        let segments: Vec<&str> = id.split('.').collect();
        let (region, vendor) = match segments.as_slice() {
            [region, vendor, _, ..] => (Some(*region), *vendor),
            [vendor, ..] => (None, *vendor),
            [] => (None, ""),
        };
        let vendor_ok = self.allowed_providers.is_empty() || self.allowed_providers.iter().any(|p| p == vendor);
        let region_ok = match region {
            Some(region) => self.allowed_regions.is_empty() || self.allowed_regions.iter().any(|r| r == region),
            None => true,
        };
        vendor_ok && region_ok
    }

    pub fn is_set(&self) -> bool {
        !(self.allowed_providers.is_empty() && self.allowed_regions.is_empty())
    }
}

/// `dual_llm: {provider, model, quarantined_model, max_rounds}`: which models the sidecar's
/// sanitiser calls, through this Envoy's own route `/v1/{provider}/{profile}/chat/completions`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DualLlm {
    pub provider: String,
    /// The privileged model: it asks questions and writes the summary, never seeing the result.
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"\S")))]
    pub model: String,
    /// The quarantined model: it reads the result and answers with option numbers only
    /// (defaults to `model`).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"\S")))]
    pub quarantined_model: Option<String>,
    #[serde(default = "default_max_rounds")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 20)))]
    pub max_rounds: u32,
}

fn default_max_rounds() -> u32 {
    5
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// Upstream path prefix for the OpenAI-compatible family and Azure (e.g. `/openai/v1`).
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"^(?:/.*[^/])?$")))]
    pub base_path: Option<String>,
    /// How the upstream call is authenticated (DESIGN §4.7): `api_key` passes the client's
    /// credential through (the default); `entra` (Azure OpenAI, Claude on Azure Foundry) and
    /// `sigv4` (Bedrock) use credentials the sidecar mints.
    pub auth: Option<Auth>,
    /// Bedrock: the AWS region (SigV4 and the default host).
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"^[A-Za-z0-9-]+$")))]
    pub region: Option<String>,
    /// The upstream host Envoy sends to: Bedrock signs it (default
    /// `bedrock-runtime.{region}.amazonaws.com`); for Azure it picks the Entra scope (a Foundry
    /// resource, `*.services.ai.azure.com`, takes `https://ai.azure.com/.default`).
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"^[^/\s]+$")))]
    pub host: Option<String>,
    /// Entra: the OAuth scope to request, overriding the default.
    pub scope: Option<String>,
    /// Gemini: send requests to Vertex AI with an ADC token instead of AI Studio.
    pub vertex: Option<Vertex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// The client's own credential header is passed through.
    ApiKey,
    /// A Microsoft Entra ID token from the sidecar (Azure OpenAI, Claude on Azure Foundry).
    Entra,
    /// AWS SigV4 over the final request, with credentials from the sidecar (Bedrock).
    Sigv4,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Vertex {
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"^[A-Za-z0-9_-]+$")))]
    pub project: String,
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"^[A-Za-z0-9_-]+$")))]
    pub location: String,
}

fn default_profile_id() -> String {
    "default".to_string()
}

fn default_max_body_bytes() -> usize {
    DEFAULT_MAX_BODY_BYTES
}

impl Config {
    /// Parses and validates the plugin configuration (JSON). An empty configuration is an error:
    /// at least one profile must be declared.
    pub fn from_json(bytes: &[u8]) -> Result<Config, ConfigError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let mut config: Config = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let mut path = e.path().to_string();
            if path == "." {
                path.clear();
            }
            let message = e.into_inner().to_string();
            // serde reports a missing field at its parent; point at the field itself.
            if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
                path = if path.is_empty() { field.to_string() } else { format!("{path}.{field}") };
            }
            ConfigError { path, message }
        })?;
        de.end().map_err(|e| ConfigError { path: String::new(), message: e.to_string() })?;
        validate::validate(&mut config)?;
        if config.needs_tokenizer() {
            let tokenizer = crate::meter::tokens::Tokenizer::new()
                .map_err(|e| ConfigError { path: String::new(), message: e.to_string() })?;
            config.tokenizer = Some(tokenizer);
        }
        Ok(config)
    }

    /// Whether a configured feature counts tokens: TOON, or an optimisation rule with `max_tokens`.
    pub fn needs_tokenizer(&self) -> bool {
        self.profiles.values().any(|p| p.toon.enabled || p.optimization_rules.iter().any(|r| r.max_tokens().is_some()))
    }

    pub fn provider_settings(&self, provider: crate::providers::Provider) -> Option<&ProviderSettings> {
        self.providers.get(provider.name())
    }
}

#[cfg(test)]
mod tests;
