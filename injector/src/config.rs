//! The injector's YAML configuration (ConfigMap `warden-injector`, key `config.yaml`). Unknown keys
//! are errors, and every error names the path of the offending key, as in the sidecar's config.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("invalid injector configuration at {}: {message}", if path.is_empty() { "the top level" } else { path.as_str() })]
    Invalid { path: String, message: String },
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { path: path.into(), message: message.into() }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The webhook's HTTPS address.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The serving certificate and key (PEM); `serve` needs them, `review` and `render-bootstrap`
    /// do not.
    #[serde(default)]
    pub tls: Option<Tls>,
    pub envoy: Envoy,
    pub sidecar: Sidecar,
    /// `imagePullPolicy` of both injected containers; the cluster's default when absent.
    #[serde(default)]
    pub image_pull_policy: Option<String>,
    /// The (non-root) user and group both injected containers run as.
    #[serde(default = "default_uid")]
    pub run_as_user: i64,
    /// Upstreams the injected Envoy has a cluster and a route for, by Warden provider name.
    /// Replaces the built-in list when given.
    #[serde(default = "default_providers")]
    pub providers: BTreeMap<String, Upstream>,
    /// The base-URL variables set in the app's containers: variable → Warden provider name. The
    /// value becomes `http://127.0.0.1:<listen_port>/v1/<provider>[/<profile>]`.
    #[serde(default = "default_base_urls")]
    pub base_urls: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envoy {
    pub image: String,
    /// The listener on 127.0.0.1 the app's SDKs are pointed at.
    #[serde(default = "default_envoy_listen_port")]
    pub listen_port: u16,
    /// The admin API, on 127.0.0.1.
    #[serde(default = "default_envoy_admin_port")]
    pub admin_port: u16,
    /// `/ready` and `/stats/prometheus` on the pod's IP (probes, scraping).
    #[serde(default = "default_envoy_health_port")]
    pub health_port: u16,
    /// Envoy worker threads (each has its own wasm VM).
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    #[serde(default = "default_envoy_resources")]
    pub resources: ResourceRequirements,
    /// The filter's plugin configuration (README "Configuration"), as YAML/JSON.
    pub plugin_config: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    pub image: String,
    /// gRPC on 127.0.0.1 (the `warden_sidecar` cluster of the injected Envoy).
    #[serde(default = "default_sidecar_grpc_port")]
    pub grpc_port: u16,
    /// `/healthz` and `/metrics` on the pod's IP (probes, scraping).
    #[serde(default = "default_sidecar_admin_port")]
    pub admin_port: u16,
    #[serde(default = "default_sidecar_resources")]
    pub resources: ResourceRequirements,
    /// The sidecar's configuration (DESIGN §4.7) without `listen`/`admin_listen`, which the
    /// injector sets from the ports above.
    #[serde(default = "empty_mapping")]
    pub config: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub host: String,
    #[serde(default = "default_upstream_port")]
    pub port: u16,
    /// TLS with SNI and a certificate check against the image's CA bundle.
    #[serde(default = "default_true")]
    pub tls: bool,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8443))
}
fn default_uid() -> i64 {
    65532
}
fn default_envoy_listen_port() -> u16 {
    15100
}
fn default_envoy_admin_port() -> u16 {
    15101
}
fn default_envoy_health_port() -> u16 {
    15102
}
fn default_concurrency() -> u32 {
    2
}
fn default_sidecar_grpc_port() -> u16 {
    15103
}
fn default_sidecar_admin_port() -> u16 {
    15104
}
fn default_upstream_port() -> u16 {
    443
}
fn default_true() -> bool {
    true
}
fn empty_mapping() -> serde_json::Map<String, serde_json::Value> {
    serde_json::Map::new()
}

fn resources(cpu: &str, memory: &str, memory_limit: &str) -> ResourceRequirements {
    let q = |s: &str| Quantity(s.to_owned());
    ResourceRequirements {
        requests: Some(BTreeMap::from([("cpu".to_owned(), q(cpu)), ("memory".to_owned(), q(memory))])),
        limits: Some(BTreeMap::from([("memory".to_owned(), q(memory_limit))])),
        ..ResourceRequirements::default()
    }
}

/// Each wasm VM holds the tokenizer tables (~26 MiB, TOOLCHAIN.md) and a request's body can be
/// held whole (16 MiB by default): two workers and a few bodies in flight fit in 512 MiB.
fn default_envoy_resources() -> ResourceRequirements {
    resources("100m", "128Mi", "512Mi")
}

fn default_sidecar_resources() -> ResourceRequirements {
    resources("50m", "64Mi", "256Mi")
}

/// The providers of envoy/envoy.yaml that have one public endpoint. Azure needs the resource's
/// host, vLLM and Ollama run somewhere of the user's choosing: add them in `providers`.
fn default_providers() -> BTreeMap<String, Upstream> {
    [
        ("openai", "api.openai.com"),
        ("anthropic", "api.anthropic.com"),
        ("gemini", "generativelanguage.googleapis.com"),
        ("bedrock", "bedrock-runtime.us-east-1.amazonaws.com"),
        ("cohere", "api.cohere.com"),
        ("groq", "api.groq.com"),
        ("mistral", "api.mistral.ai"),
        ("xai", "api.x.ai"),
        ("openrouter", "openrouter.ai"),
        ("cerebras", "api.cerebras.ai"),
        ("deepseek", "api.deepseek.com"),
        ("minimax", "api.minimax.io"),
        ("zhipuai", "open.bigmodel.cn"),
        ("perplexity", "api.perplexity.ai"),
    ]
    .into_iter()
    .map(|(name, host)| (name.to_owned(), Upstream { host: host.to_owned(), port: 443, tls: true }))
    .collect()
}

/// The variables each official SDK reads its base URL from, with the path Warden's route for that
/// provider expects in front of what the SDK appends (docs/injection.md lists the sources):
/// openai-python appends `/chat/completions` to `OPENAI_BASE_URL`; anthropic-sdk-python appends
/// `/v1/messages` to `ANTHROPIC_BASE_URL`; google-genai appends `v1beta/models/…` to
/// `GOOGLE_GEMINI_BASE_URL`; cohere appends `v2/chat` to `CO_API_URL`; botocore's per-service
/// endpoint variable for `bedrock-runtime` takes the endpoint that `/model/{id}/converse` goes to.
fn default_base_urls() -> BTreeMap<String, String> {
    [
        ("OPENAI_BASE_URL", "openai"),
        ("ANTHROPIC_BASE_URL", "anthropic"),
        ("GOOGLE_GEMINI_BASE_URL", "gemini"),
        ("CO_API_URL", "cohere"),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "bedrock"),
    ]
    .into_iter()
    .map(|(var, provider)| (var.to_owned(), provider.to_owned()))
    .collect()
}

/// What may stand unquoted in the bootstrap: a DNS name or an IP address.
fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
        && !s.starts_with(['-', '.'])
}

/// Provider names become cluster names and route values in the bootstrap.
fn is_provider_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 63 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A C identifier, which is what a variable the SDKs read looks like.
fn is_env_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.to_owned(), message: e.to_string() })?;
        Self::from_yaml(&text)
    }

    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(de)
            .map_err(|e| invalid(e.path().to_string().trim_start_matches('.'), e.inner().to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !self.envoy.plugin_config.is_object() {
            return Err(invalid("envoy.plugin_config", "must be a mapping (the filter's JSON configuration)"));
        }
        let ports = [
            ("envoy.listen_port", self.envoy.listen_port),
            ("envoy.admin_port", self.envoy.admin_port),
            ("envoy.health_port", self.envoy.health_port),
            ("sidecar.grpc_port", self.sidecar.grpc_port),
            ("sidecar.admin_port", self.sidecar.admin_port),
        ];
        for (i, (name, port)) in ports.iter().enumerate() {
            if *port == 0 {
                return Err(invalid(*name, "must not be 0"));
            }
            if ports.iter().take(i).any(|(_, other)| other == port) {
                return Err(invalid(*name, "must differ from the other ports of the injected containers"));
            }
        }
        if self.envoy.concurrency == 0 {
            return Err(invalid("envoy.concurrency", "must be at least 1"));
        }
        if self.run_as_user == 0 {
            return Err(invalid("run_as_user", "must not be 0: the injected containers run as non-root"));
        }
        for key in ["listen", "admin_listen"] {
            if self.sidecar.config.contains_key(key) {
                return Err(invalid(
                    format!("sidecar.config.{key}"),
                    "is set by the injector from sidecar.grpc_port / sidecar.admin_port",
                ));
            }
        }
        // The sidecar's configuration travels in a pod annotation, which anyone who may read the
        // pod can read: it must not carry a password.
        if let Some(url) = self.sidecar.config.get("redis").and_then(|r| r.get("url")).and_then(|u| u.as_str()) {
            let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
            if authority.split('/').next().is_some_and(|a| a.contains('@')) {
                return Err(invalid(
                    "sidecar.config.redis.url",
                    "must not contain credentials: the sidecar's configuration is stored in a pod annotation",
                ));
            }
        }
        if self.providers.is_empty() {
            return Err(invalid("providers", "must name at least one provider"));
        }
        for (name, upstream) in &self.providers {
            if !is_provider_name(name) {
                return Err(invalid(format!("providers.{name}"), "a provider name is lowercase letters, digits and _"));
            }
            if !is_host(&upstream.host) {
                return Err(invalid(format!("providers.{name}.host"), "must be a DNS name or an IP address"));
            }
            if upstream.port == 0 {
                return Err(invalid(format!("providers.{name}.port"), "must not be 0"));
            }
        }
        for (var, provider) in &self.base_urls {
            if !is_env_name(var) {
                return Err(invalid(format!("base_urls.{var}"), "is not an environment variable name"));
            }
            if !self.providers.contains_key(provider) {
                return Err(invalid(
                    format!("base_urls.{var}"),
                    format!("names `{provider}`, which is not in providers"),
                ));
            }
        }
        Ok(())
    }

    /// The filter's `max_body_bytes` (16 MiB when the plugin configuration leaves it out).
    pub fn max_body_bytes(&self) -> u64 {
        self.envoy.plugin_config.get("max_body_bytes").and_then(serde_json::Value::as_u64).unwrap_or(16 * 1024 * 1024)
    }

    /// The sidecar's YAML configuration with the listen addresses of the injected container.
    pub fn sidecar_config_yaml(&self) -> String {
        let mut config = serde_json::Map::new();
        config.insert("listen".to_owned(), format!("127.0.0.1:{}", self.sidecar.grpc_port).into());
        config.insert("admin_listen".to_owned(), format!("0.0.0.0:{}", self.sidecar.admin_port).into());
        config.extend(self.sidecar.config.clone());
        // A map of strings and JSON values always serialises.
        serde_yaml_ng::to_string(&config).unwrap_or_default()
    }
}
