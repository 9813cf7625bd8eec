//! The virtual-keys file (DESIGN §4.9): its YAML schema, validation with errors that name the
//! path of the offending key (`keys[1].providers.openai.api_key_env`), and loading into a
//! [`KeySet`]: `key:` values hashed, real provider keys read from their environment variables and
//! files. Error texts never carry a key: not a `wdn_` key, not a provider key, not a hash.

use super::set::{Identity, KeyLimit, KeySet, ProviderCredential, Secret, VirtualKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use warden_filter::config::limits::{ModelPattern, Window};
use warden_filter::providers::Provider;

/// What a virtual key starts with; the filter recognises one by it.
pub const KEY_PREFIX: &str = "wdn_";

/// The filter refuses limits above this (`config::limits`); the same bound keeps micro-USD
/// counters far from overflowing.
const MAX_LIMIT_USD: f64 = 1_000_000_000.0;

/// Ids and client ids appear in records, metrics and counter keys.
const MAX_ID_CHARS: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysFileError {
    #[error("cannot read the keys file {}: {message}", file.display())]
    Read { file: PathBuf, message: String },
    #[error("invalid keys file {} at {}: {message}", file.display(), if path.is_empty() { "the top level" } else { path.as_str() })]
    Invalid { file: PathBuf, path: String, message: String },
}

/// What the sidecar's own configuration tells the keys file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// `credentials.aws` is enabled, so `auth: sigv4` can be served.
    pub aws_enabled: bool,
}

/// The bytes a load was made from: the keys file and every `api_key_file` it named. A poll that
/// sees the same is not a change; the key material itself is kept only as digests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// SHA-256 of the keys file; `None` when it could not be read.
    pub file: Option<[u8; 32]>,
    /// Each `api_key_file` and the SHA-256 of its contents (`None`: unreadable).
    pub secret_files: Vec<(PathBuf, Option<[u8; 32]>)>,
}

impl Seen {
    /// Reads the keys file and the secret files a previous load named, as a poll does.
    pub fn observe(file: &Path, secret_files: &[PathBuf]) -> Seen {
        Seen {
            file: std::fs::read(file).ok().map(|bytes| digest(&bytes)),
            secret_files: secret_files.iter().map(|p| (p.clone(), std::fs::read(p).ok().map(|b| digest(&b)))).collect(),
        }
    }

    pub fn secret_paths(&self) -> Vec<PathBuf> {
        self.secret_files.iter().map(|(p, _)| p.clone()).collect()
    }
}

pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

// ---- the schema ----
// No `Debug` on these: a derived one would print `key:` values.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Schema {
    #[serde(default)]
    keys: Vec<KeyEntry>,
    #[serde(default)]
    oauth_clients: Vec<ClientEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: String,
    #[serde(default)]
    key_sha256: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    profile: Option<String>,
    providers: BTreeMap<String, ProviderEntry>,
    #[serde(default)]
    limits: Vec<LimitEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    client_id: String,
    #[serde(default)]
    profile: Option<String>,
    providers: BTreeMap<String, ProviderEntry>,
    #[serde(default)]
    limits: Vec<LimitEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderEntry {
    #[serde(default)]
    api_key_env: Option<String>,
    #[serde(default)]
    api_key_file: Option<PathBuf>,
    #[serde(default)]
    auth: Option<Auth>,
    /// Another provider this key maps that serves this one's models (`deepseek: {via: bedrock}`).
    #[serde(default)]
    via: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Auth {
    Sigv4,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitEntry {
    usd: f64,
    window: Window,
    #[serde(default)]
    models: Option<Vec<ModelPattern>>,
}

// ---- loading ----

/// Loads the keys file at `file`. Whatever happens, also says what it read, so that the poller
/// retries only when something changed.
pub fn load(file: &Path, context: Context) -> (Result<KeySet, KeysFileError>, Seen) {
    let mut seen = Seen::default();
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => return (Err(KeysFileError::Read { file: file.to_path_buf(), message: e.kind().to_string() }), seen),
    };
    seen.file = Some(digest(&bytes));
    let mut loader = Loader { file, context, secret_files: Vec::new() };
    let outcome = loader.parse(&bytes);
    seen.secret_files = loader.secret_files;
    (outcome, seen)
}

struct Loader<'a> {
    file: &'a Path,
    context: Context,
    /// Every `api_key_file` read so far, with the digest of what it held.
    secret_files: Vec<(PathBuf, Option<[u8; 32]>)>,
}

impl Loader<'_> {
    fn invalid(&self, path: impl Into<String>, message: impl Into<String>) -> KeysFileError {
        KeysFileError::Invalid { file: self.file.to_path_buf(), path: path.into(), message: message.into() }
    }

    fn parse(&mut self, bytes: &[u8]) -> Result<KeySet, KeysFileError> {
        let text = std::str::from_utf8(bytes).map_err(|_| self.invalid("", "the file is not UTF-8 text"))?;
        // An empty file is an empty set: every key is unknown.
        let text = if text.trim().is_empty() { "{}" } else { text };
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let schema: Schema = serde_path_to_error::deserialize(de).map_err(|e| {
            // An unknown field's name is part of the path: a pasted key would be too.
            let mut path = scrub(&e.path().to_string());
            if path == "." {
                path.clear();
            }
            let message = scrub(&e.into_inner().to_string());
            // serde reports a missing field at its parent; point at the field itself.
            if let Some(field) = message.split_once("missing field `").and_then(|(_, m)| m.split('`').next()) {
                path = if path.is_empty() { field.to_string() } else { format!("{path}.{field}") };
            }
            self.invalid(path, message)
        })?;

        let mut ids: HashMap<String, String> = HashMap::new();
        let mut digests: HashSet<[u8; 32]> = HashSet::new();
        let mut keys = Vec::with_capacity(schema.keys.len());
        for (i, entry) in schema.keys.into_iter().enumerate() {
            let at = format!("keys[{i}]");
            self.check_id(&format!("{at}.id"), &entry.id, &mut ids)?;
            let key_sha256 = self.key_digest(&at, entry.key_sha256.as_deref(), entry.key.as_deref())?;
            if !digests.insert(key_sha256) {
                return Err(self.invalid(format!("{at}.key_sha256"), "the same key is listed twice"));
            }
            let expires_at_unix_ms = match &entry.expires_at {
                Some(text) => Some(self.expiry(&format!("{at}.expires_at"), text)?),
                None => None,
            };
            let identity = self.identity(&at, entry.id, entry.profile, entry.providers, entry.limits)?;
            keys.push(VirtualKey { key_sha256, expires_at_unix_ms, identity });
        }
        let mut clients = HashMap::with_capacity(schema.oauth_clients.len());
        for (i, entry) in schema.oauth_clients.into_iter().enumerate() {
            let at = format!("oauth_clients[{i}]");
            self.check_id(&format!("{at}.client_id"), &entry.client_id, &mut ids)?;
            let identity = self.identity(&at, entry.client_id.clone(), entry.profile, entry.providers, entry.limits)?;
            clients.insert(entry.client_id, identity);
        }
        Ok(KeySet::new(keys, clients))
    }

    /// Ids are shown in records and metrics and name limit counters: one id, one identity.
    fn check_id(&self, at: &str, id: &str, seen: &mut HashMap<String, String>) -> Result<(), KeysFileError> {
        if id.is_empty() || id.chars().count() > MAX_ID_CHARS || !id.chars().all(|c| c.is_ascii_graphic()) {
            return Err(self.invalid(at, format!("must be 1 to {MAX_ID_CHARS} visible ASCII characters, no spaces")));
        }
        if id.starts_with(KEY_PREFIX) {
            return Err(self.invalid(
                at,
                "looks like a virtual key; the id is shown in records and metrics, so it must not be the key",
            ));
        }
        if let Some(first) = seen.insert(id.to_string(), at.to_string()) {
            return Err(self.invalid(at, format!("{id:?} is already the id of {first}")));
        }
        Ok(())
    }

    fn key_digest(&self, at: &str, sha256: Option<&str>, key: Option<&str>) -> Result<[u8; 32], KeysFileError> {
        match (sha256, key) {
            (Some(_), Some(_)) => Err(self.invalid(format!("{at}.key"), "give key_sha256 or key, not both")),
            (None, None) => Err(self.invalid(
                format!("{at}.key_sha256"),
                "missing: the SHA-256 of the wdn_ key, as 64 hex digits (or `key:` for local use)",
            )),
            (Some(hex_text), None) => {
                let mut out = [0u8; 32];
                hex::decode_to_slice(hex_text.trim(), &mut out).map_err(|_| {
                    self.invalid(format!("{at}.key_sha256"), "must be 64 hex digits (the SHA-256 of the wdn_ key)")
                })?;
                Ok(out)
            }
            (None, Some(key)) => {
                if !key.starts_with(KEY_PREFIX) || key.len() == KEY_PREFIX.len() {
                    return Err(self.invalid(format!("{at}.key"), "a virtual key starts with wdn_"));
                }
                if !key.chars().all(|c| c.is_ascii_graphic()) {
                    return Err(self.invalid(format!("{at}.key"), "a virtual key is visible ASCII, no spaces"));
                }
                Ok(digest(key.as_bytes()))
            }
        }
    }

    fn expiry(&self, at: &str, text: &str) -> Result<i64, KeysFileError> {
        let ts: jiff::Timestamp = text
            .trim()
            .parse()
            .map_err(|_| self.invalid(at, "must be an RFC 3339 time with an offset, e.g. 2027-06-30T00:00:00Z"))?;
        Ok(ts.as_millisecond())
    }

    fn identity(
        &mut self,
        at: &str,
        id: String,
        profile: Option<String>,
        providers: BTreeMap<String, ProviderEntry>,
        limits: Vec<LimitEntry>,
    ) -> Result<Identity, KeysFileError> {
        if let Some(p) = &profile {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_graphic()) {
                return Err(self.invalid(format!("{at}.profile"), "must name a profile of the plugin configuration"));
            }
        }
        if providers.is_empty() {
            return Err(self.invalid(format!("{at}.providers"), "map at least one provider"));
        }
        let mut credentials = BTreeMap::new();
        for (name, entry) in providers {
            let path = format!("{at}.providers.{name}");
            let credential = self.credential(&path, &name, entry)?;
            credentials.insert(name, credential);
        }
        for (name, credential) in &credentials {
            if let ProviderCredential::Via(host) = credential {
                if !matches!(credentials.get(host), Some(c) if !matches!(c, ProviderCredential::Via(_))) {
                    return Err(self.invalid(
                        format!("{at}.providers.{name}.via"),
                        format!("names {host}, which this key must also map with a credential of its own"),
                    ));
                }
            }
        }
        let mut key_limits = Vec::with_capacity(limits.len());
        for (i, limit) in limits.into_iter().enumerate() {
            key_limits.push(self.limit(&format!("{at}.limits[{i}]"), limit)?);
        }
        Ok(Identity { id, profile, providers: credentials, limits: key_limits })
    }

    fn credential(&mut self, at: &str, name: &str, entry: ProviderEntry) -> Result<ProviderCredential, KeysFileError> {
        let Some(provider) = Provider::from_name(name) else {
            let known: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
            return Err(self.invalid(at, format!("unknown provider; one of {}", known.join(", "))));
        };
        match (entry.api_key_env, entry.api_key_file, entry.auth, entry.via) {
            (None, None, None, Some(host)) => {
                let at = format!("{at}.via");
                match Provider::from_name(&host) {
                    Some(serving) if serving != provider => Ok(ProviderCredential::Via(host)),
                    Some(_) => Err(self.invalid(at, "a provider cannot be served through itself")),
                    None => Err(self.invalid(at, "must name another provider this key maps")),
                }
            }
            (Some(var), None, None, None) => {
                let at = format!("{at}.api_key_env");
                if var.is_empty() {
                    return Err(self.invalid(at, "must name an environment variable"));
                }
                let value = std::env::var(&var)
                    .map_err(|_| self.invalid(&at, format!("the environment variable {var} is not set")))?;
                let key = self.secret(&at, &value, &format!("the environment variable {var}"))?;
                Ok(ProviderCredential::ApiKey(key))
            }
            (None, Some(file), None, None) => {
                let at = format!("{at}.api_key_file");
                // Relative to the keys file, not to wherever the sidecar was started.
                let file = match self.file.parent() {
                    Some(dir) if file.is_relative() => dir.join(file),
                    _ => file,
                };
                let bytes = std::fs::read(&file);
                self.secret_files.push((file.clone(), bytes.as_ref().ok().map(|b| digest(b))));
                let bytes =
                    bytes.map_err(|e| self.invalid(&at, format!("cannot read {}: {}", file.display(), e.kind())))?;
                let text = std::str::from_utf8(&bytes)
                    .map_err(|_| self.invalid(&at, format!("{} is not UTF-8 text", file.display())))?;
                let key = self.secret(&at, text, &file.display().to_string())?;
                Ok(ProviderCredential::ApiKey(key))
            }
            (None, None, Some(Auth::Sigv4), None) => {
                let at = format!("{at}.auth");
                if provider != Provider::Bedrock {
                    return Err(self.invalid(at, "sigv4 signs Bedrock requests only"));
                }
                if !self.context.aws_enabled {
                    return Err(self.invalid(
                        at,
                        "sigv4 signs with the sidecar's AWS credentials: add credentials.aws to the sidecar configuration",
                    ));
                }
                Ok(ProviderCredential::Sigv4)
            }
            _ => Err(self.invalid(at, "give exactly one of api_key_env, api_key_file, auth: sigv4 or via")),
        }
    }

    /// A provider key goes into a request header: trimmed, non-empty, visible ASCII only (a line
    /// break inside would let a header be injected).
    fn secret(&self, at: &str, raw: &str, source: &str) -> Result<Secret, KeysFileError> {
        let key = raw.trim();
        if key.is_empty() {
            return Err(self.invalid(at, format!("{source} is empty")));
        }
        if !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(self.invalid(at, format!("{source} holds characters an API key cannot have")));
        }
        Ok(Secret::new(key.to_string()))
    }

    fn limit(&self, at: &str, limit: LimitEntry) -> Result<KeyLimit, KeysFileError> {
        let micro = (limit.usd * 1_000_000.0).round();
        if !(limit.usd.is_finite() && limit.usd > 0.0 && limit.usd <= MAX_LIMIT_USD) || micro < 1.0 {
            return Err(self.invalid(format!("{at}.usd"), "a limit is a number of USD between 0.000001 and 1000000000"));
        }
        if limit.models.as_ref().is_some_and(Vec::is_empty) {
            return Err(self.invalid(
                format!("{at}.models"),
                "an empty list matches no model; omit 'models' to limit every model",
            ));
        }
        let models = limit.models.unwrap_or_default().iter().map(|m| m.as_str().to_string()).collect();
        Ok(KeyLimit { usd: limit.usd, window: limit.window, models })
    }
}

/// Cuts anything that looks like a virtual key out of a parser's message (an unknown field named
/// by a pasted key, a value echoed back).
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY_PREFIX) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        out.push_str("wdn_[redacted]");
        let end = from.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(from.len());
        rest = from.get(end..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
