//! The sidecar's YAML configuration (DESIGN §4.7). Unknown keys are errors, and every error names
//! the path of the offending key (`credentials.aws.regoin`).

use serde::{Deserialize, Deserializer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("invalid sidecar configuration at {}: {message}", if path.is_empty() { "the top level" } else { path.as_str() })]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// gRPC (HTTP/2 cleartext) for the filter.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// `GET /healthz`, `GET /metrics`.
    #[serde(default = "default_admin_listen")]
    pub admin_listen: SocketAddr,
    #[serde(default)]
    pub credentials: Credentials,
    /// Enables `warden.v1.DualLlm` (DESIGN §5.3).
    #[serde(default)]
    pub dual_llm: Option<DualLlm>,
    #[serde(default)]
    pub keys: Option<Keys>,
    #[serde(default)]
    pub redis: Option<Redis>,
    /// Live model lists for the model router (`warden.v1.Models`).
    #[serde(default)]
    pub models: Option<Models>,
}

/// Each block present (even empty or null) enables that cloud's credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[serde(default, deserialize_with = "present")]
    pub gcp: Option<Gcp>,
    #[serde(default, deserialize_with = "present")]
    pub azure: Option<Azure>,
    #[serde(default, deserialize_with = "present")]
    pub aws: Option<Aws>,
}

/// Application Default Credentials; nothing to configure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gcp {}

/// Microsoft Entra ID from the standard environment; nothing to configure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Azure {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aws {
    /// Returned with the credentials (the filter signs for it) and used for STS. Without it the
    /// SDK's region chain applies (`AWS_REGION`, profile).
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DualLlm {
    /// Where the model calls go: the local Envoy, so Warden meters and limits them.
    pub envoy_url: String,
    /// The environment variable holding the key the calls send as `Authorization: Bearer`.
    pub api_key_env: String,
    /// How many finished sanitisations are kept (least recently used ones go first).
    #[serde(default = "default_cache_entries")]
    pub cache_entries: usize,
    /// How long a finished sanitisation is kept.
    #[serde(default = "default_cache_ttl_secs")]
    pub cache_ttl_secs: u64,
}

fn default_cache_entries() -> usize {
    10_000
}

fn default_cache_ttl_secs() -> u64 {
    3600
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    pub file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redis {
    pub url: String,
}

/// `models: {envoy_url, cache_ttl_secs, timeout_ms, bedrock_region}`: where the live model lists
/// of the model router come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Models {
    /// The local Envoy: lists are fetched through its native routes (`/v1/{provider}/…`).
    pub envoy_url: String,
    /// How long a fetched list is served before it is fetched again.
    #[serde(default = "default_models_ttl_secs")]
    pub cache_ttl_secs: u64,
    /// How long one list fetch may take; a slower provider is left out.
    #[serde(default = "default_models_timeout_ms")]
    pub timeout_ms: u64,
    /// The region of Bedrock's control plane when the sidecar has no AWS credentials to say it
    /// (keys with a Bedrock API key); else `AWS_REGION`, else `us-east-1`.
    #[serde(default)]
    pub bedrock_region: Option<String>,
}

fn default_models_ttl_secs() -> u64 {
    300
}

fn default_models_timeout_ms() -> u64 {
    5000
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50051))
}

fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9902))
}

/// `gcp: {}` and a bare `gcp:` (null) both enable the block; leaving the key out disables it.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(deserializer)?.unwrap_or_default()))
}

fn invalid(path: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { path: path.to_string(), message: message.into() }
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.to_path_buf(), message: e.to_string() })?;
        Config::from_yaml(&text)
    }

    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        // An empty file is an empty mapping: every default applies.
        let text = if text.trim().is_empty() { "{}" } else { text };
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let mut path = e.path().to_string();
            if path == "." {
                path.clear();
            }
            let message = e.into_inner().to_string();
            // serde reports a missing field at its parent; point at the field itself.
            // (serde_yaml_ng puts the parent's name and a position around the usual text.)
            let missing = message.split_once("missing field `").and_then(|(_, m)| m.split('`').next());
            if let Some(field) = missing {
                path = if path.is_empty() { field.to_string() } else { format!("{path}.{field}") };
            }
            ConfigError::Invalid { path, message }
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.listen == self.admin_listen && self.listen.port() != 0 {
            return Err(invalid("admin_listen", "must differ from listen"));
        }
        if let Some(region) = self.credentials.aws.as_ref().and_then(|a| a.region.as_deref()) {
            if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(invalid("credentials.aws.region", format!("{region:?} is not an AWS region name")));
            }
        }
        if let Some(dual) = &self.dual_llm {
            if !(dual.envoy_url.starts_with("http://") || dual.envoy_url.starts_with("https://")) {
                return Err(invalid("dual_llm.envoy_url", "must be an http:// or https:// URL"));
            }
            if dual.api_key_env.is_empty() {
                return Err(invalid("dual_llm.api_key_env", "must name an environment variable"));
            }
            if dual.cache_entries == 0 {
                return Err(invalid("dual_llm.cache_entries", "must be at least 1"));
            }
            if dual.cache_ttl_secs == 0 {
                return Err(invalid("dual_llm.cache_ttl_secs", "must be at least 1"));
            }
        }
        if self.keys.as_ref().is_some_and(|k| k.file.as_os_str().is_empty()) {
            return Err(invalid("keys.file", "must be a path"));
        }
        if let Some(redis) = &self.redis {
            if !(redis.url.starts_with("redis://") || redis.url.starts_with("rediss://")) {
                return Err(invalid("redis.url", "must be a redis:// or rediss:// URL"));
            }
        }
        if let Some(models) = &self.models {
            if !(models.envoy_url.starts_with("http://") || models.envoy_url.starts_with("https://")) {
                return Err(invalid("models.envoy_url", "must be an http:// or https:// URL"));
            }
            if models.timeout_ms == 0 {
                return Err(invalid("models.timeout_ms", "must be at least 1"));
            }
            if let Some(region) = models.bedrock_region.as_deref() {
                if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(invalid("models.bedrock_region", format!("{region:?} is not an AWS region name")));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(yaml: &str) -> String {
        match Config::from_yaml(yaml) {
            Err(ConfigError::Invalid { path, .. }) => path,
            other => panic!("expected an invalid config, got {other:?}"),
        }
    }

    #[test]
    fn the_documented_example_parses() {
        let config = Config::from_yaml(
            "listen: 127.0.0.1:50051\nadmin_listen: 127.0.0.1:9902\ncredentials:\n  gcp: {}\n  azure: {}\n  aws: {region: us-east-1}\n\
             dual_llm:\n  envoy_url: http://127.0.0.1:10000\n  api_key_env: OPENAI_API_KEY\nkeys:\n  file: /etc/warden/keys.yaml\n\
             redis:\n  url: redis://127.0.0.1:6379\n",
        )
        .unwrap();
        assert_eq!(config.credentials.gcp, Some(Gcp {}));
        assert_eq!(config.credentials.azure, Some(Azure {}));
        assert_eq!(config.credentials.aws, Some(Aws { region: Some("us-east-1".into()) }));
        assert_eq!(config.keys.unwrap().file, PathBuf::from("/etc/warden/keys.yaml"));
        let dual = config.dual_llm.unwrap();
        assert_eq!((dual.envoy_url.as_str(), dual.api_key_env.as_str()), ("http://127.0.0.1:10000", "OPENAI_API_KEY"));
        assert_eq!((dual.cache_entries, dual.cache_ttl_secs), (10_000, 3600));
    }

    #[test]
    fn the_dual_llm_cache_can_be_sized_but_not_disabled() {
        let config = Config::from_yaml(
            "dual_llm: {envoy_url: 'http://e', api_key_env: K, cache_entries: 5, cache_ttl_secs: 60}\n",
        )
        .unwrap();
        let dual = config.dual_llm.unwrap();
        assert_eq!((dual.cache_entries, dual.cache_ttl_secs), (5, 60));
        assert_eq!(
            path_of("dual_llm: {envoy_url: 'http://e', api_key_env: K, cache_entries: 0}\n"),
            "dual_llm.cache_entries"
        );
        assert_eq!(
            path_of("dual_llm: {envoy_url: 'http://e', api_key_env: K, cache_ttl_secs: 0}\n"),
            "dual_llm.cache_ttl_secs"
        );
    }

    #[test]
    fn the_models_block_takes_defaults_and_checks_its_url_and_region() {
        let config = Config::from_yaml("models: {envoy_url: 'http://127.0.0.1:10000'}\n").unwrap();
        let models = config.models.unwrap();
        assert_eq!((models.cache_ttl_secs, models.timeout_ms, models.bedrock_region), (300, 5000, None));
        assert_eq!(path_of("models: {envoy_url: 'ftp://e'}\n"), "models.envoy_url");
        assert_eq!(path_of("models: {envoy_url: 'http://e', timeout_ms: 0}\n"), "models.timeout_ms");
        assert_eq!(path_of("models: {envoy_url: 'http://e', bedrock_region: 'us east'}\n"), "models.bedrock_region");
    }

    #[test]
    fn an_empty_file_takes_every_default_and_enables_no_cloud() {
        let config = Config::from_yaml("").unwrap();
        assert_eq!(config.listen, default_listen());
        assert_eq!(config.admin_listen, default_admin_listen());
        assert_eq!(config.credentials, Credentials::default());
    }

    #[test]
    fn a_bare_block_enables_its_cloud_and_a_missing_one_does_not() {
        let config = Config::from_yaml("credentials:\n  gcp:\n  aws: {}\n").unwrap();
        assert_eq!(config.credentials.gcp, Some(Gcp {}));
        assert_eq!(config.credentials.aws, Some(Aws { region: None }));
        assert_eq!(config.credentials.azure, None);
    }

    #[test]
    fn unknown_keys_are_errors_naming_their_path() {
        assert_eq!(path_of("credentials:\n  aws: {regoin: us-east-1}\n"), "credentials.aws.regoin");
        assert_eq!(path_of("credentials:\n  oracle: {}\n"), "credentials.oracle");
        assert_eq!(path_of("listen_on: 1.2.3.4:5\n"), "listen_on");
        assert_eq!(path_of("keys: {file: /k, watch: true}\n"), "keys.watch");
    }

    #[test]
    fn missing_required_keys_point_at_the_key() {
        assert_eq!(path_of("dual_llm: {envoy_url: http://127.0.0.1:10000}\n"), "dual_llm.api_key_env");
        assert_eq!(path_of("redis: {}\n"), "redis.url");
    }

    #[test]
    fn bad_values_name_their_path() {
        assert_eq!(path_of("listen: not-an-address\n"), "listen");
        assert_eq!(path_of("credentials: {aws: {region: 'us east'}}\n"), "credentials.aws.region");
        assert_eq!(path_of("dual_llm: {envoy_url: 127.0.0.1:10000, api_key_env: K}\n"), "dual_llm.envoy_url");
        assert_eq!(path_of("redis: {url: http://127.0.0.1:6379}\n"), "redis.url");
        assert_eq!(path_of("listen: 127.0.0.1:7000\nadmin_listen: 127.0.0.1:7000\n"), "admin_listen");
    }

    #[test]
    fn an_unreadable_file_names_the_file() {
        let err = Config::from_file(Path::new("/nonexistent/sidecar.yaml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/sidecar.yaml"), "{err}");
    }
}
