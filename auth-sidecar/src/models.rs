//! `warden.v1.Models/List`: live model lists for the model router's `GET /models` (DESIGN §4.8).
//!
//! For each provider the subject maps, the provider's own list endpoint is asked with the
//! subject's real credential: through the local Envoy's native routes (`models.envoy_url` +
//! `/v1/{provider}/…`, the routes clients use, so Envoy's clusters and TLS apply), or, for Bedrock,
//! the control plane's inference-profile list (`GET /inference-profiles`, SigV4-signed with the
//! sidecar's AWS credentials when the key says `auth: sigv4`, else its Bedrock API key). A provider
//! served through another (`via:`) gets that provider's list, kept to the ids of its own vendor.
//! Lists are cached per provider and credential for `cache_ttl_secs`; a provider whose list cannot
//! be fetched is left out, and its failure is logged without the credential.

use crate::config;
use crate::credentials::{Cloud, Kind, Minter};
use crate::keys::grpc::subject;
use crate::keys::set::{ProviderCredential, Resolution};
use crate::keys::KeyStore;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use warden_filter::providers::Provider;
use warden_proto::v1::models_server::{Models, ModelsServer};
use warden_proto::v1::{self as pb, models_request};

/// What Anthropic's list endpoint needs besides the key.
const ANTHROPIC_VERSION: &str = "2023-06-01";

pub struct ModelsService {
    lister: Option<Arc<Lister>>,
    store: Option<Arc<KeyStore>>,
}

/// The fetching side: the HTTP client, where lists come from, and the cache.
pub struct Lister {
    http: reqwest::Client,
    envoy: String,
    ttl: Duration,
    timeout: Duration,
    bedrock_region: Option<String>,
    minter: Arc<Minter>,
    /// SHA-256 of (provider, credential) → when fetched, and the list.
    cache: Mutex<HashMap<[u8; 32], Fetched>>,
}

/// A list and when it was fetched.
type Fetched = (Instant, Arc<Vec<String>>);

/// How a provider's list is read from its answer.
type Parse = fn(&Value) -> Vec<String>;

/// The credential one list is fetched with.
#[derive(Clone)]
enum Auth {
    Key(String),
    Sigv4,
}

impl ModelsService {
    /// `config` is the sidecar's `models:` block; without it (or without a keys file) `List` answers
    /// FAILED_PRECONDITION.
    pub fn new(
        config: Option<&config::Models>,
        store: Option<Arc<KeyStore>>,
        minter: Arc<Minter>,
    ) -> Result<ModelsServer<ModelsService>, String> {
        let lister = match config {
            Some(c) => Some(Arc::new(Lister {
                http: crate::dual_llm::client::http_client()?,
                envoy: c.envoy_url.trim_end_matches('/').to_owned(),
                ttl: Duration::from_secs(c.cache_ttl_secs),
                timeout: Duration::from_millis(c.timeout_ms),
                bedrock_region: c.bedrock_region.clone(),
                minter,
                cache: Mutex::new(HashMap::new()),
            })),
            None => None,
        };
        Ok(ModelsServer::new(ModelsService { lister, store }))
    }
}

#[tonic::async_trait]
impl Models for ModelsService {
    async fn list(
        &self,
        request: tonic::Request<pb::ModelsRequest>,
    ) -> Result<tonic::Response<pb::ModelsReply>, tonic::Status> {
        let (Some(lister), Some(store)) = (&self.lister, &self.store) else {
            return Err(tonic::Status::failed_precondition(
                "models: live model lists need models.envoy_url and keys.file in the sidecar configuration",
            ));
        };
        let request = request.into_inner();
        let subject = match &request.subject {
            Some(models_request::Subject::KeySha256(bytes)) => subject(Some(bytes), None),
            Some(models_request::Subject::OauthClientId(id)) => subject(None, Some(id)),
            None => subject(None, None),
        }?;
        let set = store.current();
        let Resolution::Ok { identity, .. } = set.resolve(subject, "", now_ms()) else {
            return Ok(tonic::Response::new(pb::ModelsReply::default()));
        };
        // Each asked provider, and the provider that serves it (itself, or its `via:`); each
        // serving provider is fetched once, concurrently with the others.
        let mut asked: Vec<(String, Provider)> = Vec::new();
        let mut fetches: HashMap<Provider, Auth> = HashMap::new();
        for name in &request.providers {
            let (serving, credential) = match identity.providers.get(name) {
                Some(ProviderCredential::Via(host)) => match identity.providers.get(host) {
                    Some(credential) => (host.as_str(), credential),
                    None => continue,
                },
                Some(credential) => (name.as_str(), credential),
                None => continue,
            };
            let (Some(provider), Some(auth)) = (Provider::from_name(serving), auth_of(credential)) else { continue };
            fetches.entry(provider).or_insert(auth);
            asked.push((name.clone(), provider));
        }
        let mut jobs = tokio::task::JoinSet::new();
        for (provider, auth) in fetches {
            let lister = lister.clone();
            jobs.spawn(async move { (provider, lister.list(provider, &auth).await) });
        }
        let mut fetched: HashMap<Provider, Arc<Vec<String>>> = HashMap::new();
        while let Some(done) = jobs.join_next().await {
            match done {
                Ok((provider, Ok(models))) => {
                    fetched.insert(provider, models);
                }
                Ok((provider, Err(why))) => {
                    tracing::warn!(provider = provider.name(), "models: list not fetched: {why}")
                }
                Err(_) => {}
            }
        }
        let mut lists: Vec<pb::ProviderModels> = asked
            .into_iter()
            .filter_map(|(name, provider)| {
                let models = fetched.get(&provider)?;
                let via = name != provider.name();
                // A vendor served through another provider: its own models among that one's.
                let models = models.iter().filter(|id| !via || vendor_of(id) == name).cloned().collect();
                let served_by = if via { provider.name().to_owned() } else { String::new() };
                Some(pb::ProviderModels { provider: name, models, served_by })
            })
            .collect();
        lists.sort_by(|a, b| a.provider.cmp(&b.provider));
        Ok(tonic::Response::new(pb::ModelsReply { lists }))
    }
}

fn auth_of(credential: &ProviderCredential) -> Option<Auth> {
    match credential {
        ProviderCredential::ApiKey(key) => Some(Auth::Key(key.expose().to_owned())),
        ProviderCredential::Sigv4 => Some(Auth::Sigv4),
        ProviderCredential::Via(_) => None,
    }
}

/// The vendor segment of a Bedrock id: `us.deepseek.r1-v1:0` → `deepseek`, `amazon.nova-pro-v1:0`
/// → `amazon`.
pub fn vendor_of(id: &str) -> &str {
    let segments: Vec<&str> = id.split('.').collect();
    match segments.as_slice() {
        [_, vendor, _, ..] => vendor,
        [vendor, ..] => vendor,
        [] => "",
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

impl Lister {
    /// `provider`'s list with `auth`, from the cache while it is fresh.
    async fn list(&self, provider: Provider, auth: &Auth) -> Result<Arc<Vec<String>>, String> {
        let mut hasher = Sha256::new();
        hasher.update(provider.name().as_bytes());
        hasher.update([0]);
        match auth {
            Auth::Key(key) => hasher.update(key.as_bytes()),
            Auth::Sigv4 => hasher.update(b"\0sigv4"),
        }
        let slot: [u8; 32] = hasher.finalize().into();
        if let Some((at, models)) = self.cache.lock().ok().and_then(|c| c.get(&slot).cloned()) {
            if at.elapsed() < self.ttl {
                return Ok(models);
            }
        }
        let models = tokio::time::timeout(self.timeout, self.fetch(provider, auth))
            .await
            .map_err(|_| format!("no answer within {} ms", self.timeout.as_millis()))??;
        let models = Arc::new(models);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(slot, (Instant::now(), models.clone()));
        }
        Ok(models)
    }

    async fn fetch(&self, provider: Provider, auth: &Auth) -> Result<Vec<String>, String> {
        let key = match auth {
            Auth::Key(key) => key.as_str(),
            Auth::Sigv4 if provider == Provider::Bedrock => return self.bedrock_signed().await,
            Auth::Sigv4 => return Err("sigv4 signs Bedrock only".to_owned()),
        };
        let bearer = format!("Bearer {key}");
        let envoy = &self.envoy;
        let name = provider.name();
        let (url, headers, parse): (String, Vec<(&str, &str)>, Parse) = match provider {
            Provider::Anthropic => (
                format!("{envoy}/v1/anthropic/v1/models?limit=1000"),
                vec![("x-api-key", key), ("anthropic-version", ANTHROPIC_VERSION)],
                ids_in_data,
            ),
            Provider::Gemini => {
                (format!("{envoy}/v1/gemini/v1beta/models?pageSize=1000"), vec![("x-goog-api-key", key)], gemini_ids)
            }
            Provider::Cohere => {
                (format!("{envoy}/v1/cohere/v1/models?endpoint=chat"), vec![("authorization", &bearer)], cohere_ids)
            }
            Provider::Bedrock => return self.bedrock_with_key(key).await,
            Provider::Azure => {
                return Err("Azure lists deployments per resource; name them in router.models".to_owned())
            }
            p if p == Provider::OpenAi || p.is_openai_compatible() => {
                (format!("{envoy}/v1/{name}/models"), vec![("authorization", &bearer)], ids_in_data)
            }
            _ => return Err(format!("{name} has no model list the router reads")),
        };
        let body = self.get(&url, &headers).await?;
        Ok(parse(&body))
    }

    async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Value, String> {
        let mut request = self.http.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        // reqwest's errors name the URL, never a header: no credential in them.
        let response = request.send().await.map_err(|e| format!("the request failed: {e}"))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| format!("the answer could not be read: {e}"))?;
        if !status.is_success() {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("the answer is not JSON: {e}"))
    }

    /// Bedrock's control plane: `AWS_ENDPOINT_URL_BEDROCK` (then `AWS_ENDPOINT_URL`), the AWS
    /// SDKs' standard overrides, else `https://bedrock.{region}.amazonaws.com`.
    fn bedrock_base(region: &str) -> String {
        std::env::var("AWS_ENDPOINT_URL_BEDROCK")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|_| format!("https://bedrock.{region}.amazonaws.com"))
    }

    const BEDROCK_PATH: &'static str = "/inference-profiles?maxResults=1000&typeEquals=SYSTEM_DEFINED";

    async fn bedrock_with_key(&self, key: &str) -> Result<Vec<String>, String> {
        let region = self
            .bedrock_region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_else(|| "us-east-1".to_owned());
        let url = format!("{}{}", Self::bedrock_base(&region), Self::BEDROCK_PATH);
        let bearer = format!("Bearer {key}");
        Ok(inference_profile_ids(&self.get(&url, &[("authorization", &bearer)]).await?))
    }

    async fn bedrock_signed(&self) -> Result<Vec<String>, String> {
        let minted = self.minter.get(Cloud::Aws, "").await.map_err(|e| e.to_string())?;
        let Kind::Aws { access_key_id, secret_access_key, session_token, region } = minted.kind else {
            return Err("the sidecar's AWS credentials are not AWS keys".to_owned());
        };
        let base = Self::bedrock_base(&region);
        let host = base.split_once("://").map_or(base.as_str(), |(_, rest)| rest).to_owned();
        let keys = warden_filter::credentials::sigv4::Keys {
            access_key_id: &access_key_id,
            secret_access_key: &secret_access_key,
            session_token: session_token.as_deref().unwrap_or_default(),
        };
        let outgoing = warden_filter::credentials::Outgoing {
            method: "GET",
            path: Self::BEDROCK_PATH,
            content_type: None,
            body: b"",
            now: SystemTime::now(),
        };
        let signed = warden_filter::credentials::sigv4::sign(&keys, &region, &host, &outgoing)?;
        let headers: Vec<(&str, &str)> = signed.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        Ok(inference_profile_ids(&self.get(&format!("{base}{}", Self::BEDROCK_PATH), &headers).await?))
    }
}

/// OpenAI-format and Anthropic lists: `{"data": [{"id": …}, …]}`.
fn ids_in_data(body: &Value) -> Vec<String> {
    strings_at(body, "data", |m| m.get("id").and_then(Value::as_str).map(str::to_owned))
}

/// Gemini: `{"models": [{"name": "models/gemini-2.5-flash", "supportedGenerationMethods": […]}]}`;
/// only models that generate content.
fn gemini_ids(body: &Value) -> Vec<String> {
    strings_at(body, "models", |m| {
        let generates = m
            .get("supportedGenerationMethods")
            .and_then(Value::as_array)
            .is_none_or(|methods| methods.iter().any(|x| x.as_str() == Some("generateContent")));
        let name = m.get("name").and_then(Value::as_str)?;
        generates.then(|| name.strip_prefix("models/").unwrap_or(name).to_owned())
    })
}

/// Cohere: `{"models": [{"name": "command-a-03-2025", …}]}`.
fn cohere_ids(body: &Value) -> Vec<String> {
    strings_at(body, "models", |m| m.get("name").and_then(Value::as_str).map(str::to_owned))
}

/// Bedrock `ListInferenceProfiles`: active profiles' ids.
fn inference_profile_ids(body: &Value) -> Vec<String> {
    strings_at(body, "inferenceProfileSummaries", |p| {
        let active = p.get("status").and_then(Value::as_str).is_none_or(|s| s == "ACTIVE");
        let id = p.get("inferenceProfileId").and_then(Value::as_str)?;
        active.then(|| id.to_owned())
    })
}

fn strings_at(body: &Value, field: &str, each: impl Fn(&Value) -> Option<String>) -> Vec<String> {
    body.get(field).and_then(Value::as_array).map(|items| items.iter().filter_map(each).collect()).unwrap_or_default()
}

#[cfg(test)]
#[path = "models_tests.rs"]
mod tests;
