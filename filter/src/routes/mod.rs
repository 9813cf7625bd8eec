//! Route classification (DESIGN §4.1): which provider and API a client path addresses, under which
//! profile, and the upstream path it is rewritten to.

use crate::config::Config;
use crate::error::WardenError;
use crate::providers::{ErrorShape, Provider, RESERVED_SEGMENTS};
use crate::view::Api;

pub mod canonical;
#[cfg(test)]
mod tests;

/// A classified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub provider: Provider,
    pub profile: String,
    /// The path named the profile (rather than the default applying).
    pub profile_in_path: bool,
    /// `None`: a path under the provider the gateway forwards without looking at the body.
    pub api: Option<Api>,
    /// Path and query to send upstream. For the Bedrock body-`modelId` form it is completed once the
    /// body is read (see `UpstreamPath::BedrockBodyModel`).
    pub upstream: UpstreamPath,
    /// The model named in the URL (Gemini, Bedrock path form).
    pub path_model: Option<String>,
    /// The route itself says the response streams (Gemini `:streamGenerateContent`, Bedrock
    /// `/converse-stream`).
    pub stream_by_route: bool,
    /// Gemini stream framing: SSE with `alt=sse`, a JSON array otherwise.
    pub gemini_sse: bool,
    /// A path forwarded unread whose body must first be checked for tools the gateway could not
    /// police (`canonical::Gate`).
    pub gate: Option<canonical::Gate>,
    /// A model-router route (`/v1/model-router/…`, DESIGN §4.8): `provider` is a stand-in until the
    /// body's model names the target, and `upstream` is set once the request is translated.
    pub routed: bool,
}

/// The path segment of the model router.
pub const ROUTER_SEGMENT: &str = "model-router";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamPath {
    Fixed(String),
    /// A path that names the model (Gemini, Bedrock): `prefix + model + suffix`, rebuilt when the
    /// model is rewritten or (Bedrock body form) only known from the body.
    Model {
        /// The path as the client sent it, kept byte for byte while the model is unchanged.
        original: Option<String>,
        original_model: Option<String>,
        prefix: String,
        suffix: String,
    },
}

impl UpstreamPath {
    /// The final path for `model` (the model the request will use).
    pub fn resolve(&self, model: Option<&str>) -> Option<String> {
        match self {
            UpstreamPath::Fixed(p) => Some(p.clone()),
            UpstreamPath::Model { original, original_model, prefix, suffix } => match (model, original) {
                (Some(m), Some(o)) if original_model.as_deref() == Some(m) => Some(o.clone()),
                (Some(m), _) => Some(format!("{prefix}{}{suffix}", percent_encode_segment(m))),
                (None, o) => o.clone(),
            },
        }
    }
}

impl Route {
    /// The path and query to send upstream for `model` (the model the request will use).
    pub fn upstream_path(&self, model: Option<&str>) -> Result<String, WardenError> {
        self.upstream.resolve(model).ok_or_else(|| WardenError::InvalidRequest {
            message: "Bedrock Converse needs a model: put 'modelId' in the body or call /model/{modelId}/converse"
                .into(),
        })
    }
}

/// The error shape of the provider a path names (OpenAI's for paths that name none), for errors
/// found before the request is classified.
pub fn error_shape_of(path: &str) -> ErrorShape {
    path.strip_prefix("/v1/")
        .and_then(|rest| rest.split('/').next())
        .and_then(Provider::from_name)
        .map_or(ErrorShape::OpenAi, Provider::error_shape)
}

/// Percent-encodes a path segment the way AWS SDKs encode a model id (`:` → `%3A`).
pub fn percent_encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The upstream base path of the OpenAI-wire providers.
fn default_base_path(provider: Provider) -> &'static str {
    match provider {
        Provider::Groq => "/openai/v1",
        Provider::OpenRouter => "/api/v1",
        Provider::ZhipuAi => "/api/paas/v4",
        Provider::Perplexity => "",
        Provider::Azure => "/openai/v1",
        _ => "/v1",
    }
}

fn base_path(config: &Config, provider: Provider) -> String {
    config
        .provider_settings(provider)
        .and_then(|s| s.base_path.clone())
        .unwrap_or_else(|| default_base_path(provider).to_string())
}

fn not_found(method: &str, path: &str, hint: impl Into<String>) -> WardenError {
    WardenError::UnknownRoute { method: method.to_string(), path: path.to_string(), hint: hint.into() }
}

/// Classifies `method path?query`. A path the gateway would forward unread, but that an upstream
/// may decode into an API the gateway polices (`chat%2Fcompletions`, `chat/./completions`,
/// `Chat/Completions`, `chat/completions;x`), is refused rather than let through unpoliced; so are
/// the endpoints that carry tool calls the gateway does not police (`canonical.rs`).
pub fn classify(config: &Config, method: &str, full_path: &str) -> Result<Route, WardenError> {
    let mut route = classify_as_sent(config, method, full_path)?;
    if route.api.is_some() {
        return Ok(route);
    }
    if let Some(rest) = canonical::rest(full_path) {
        let canonical = canonical::path(config, route.provider, rest);
        if let Ok(found) = classify_as_sent(config, method, &canonical) {
            if let Some(api) = found.api.filter(|api| *api != Api::Models) {
                return Err(canonical::encoded(method, full_path, api));
            }
        }
        route.gate = canonical::gate(config, route.provider, method, &canonical);
        if let Some(canonical::Gate::Refuse(reason)) = route.gate {
            return Err(WardenError::InvalidRequest { message: reason.to_owned() });
        }
    }
    Ok(route)
}

/// Classifies the path exactly as the client sent it.
fn classify_as_sent(config: &Config, method: &str, full_path: &str) -> Result<Route, WardenError> {
    let (path, query) = match full_path.find('?') {
        Some(i) => (full_path.get(..i).unwrap_or(""), full_path.get(i..).unwrap_or("")),
        None => (full_path, ""),
    };
    let providers_hint = || {
        let names: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
        format!("Warden serves /v1/{{provider}}/[{{profile}}/]… with provider one of: {}", names.join(", "))
    };
    let Some(rest) = path.strip_prefix("/v1/") else {
        return Err(not_found(method, path, providers_hint()));
    };
    let (provider_seg, rest) = rest.split_once('/').unwrap_or((rest, ""));
    if provider_seg == ROUTER_SEGMENT {
        return classify_router(config, method, path, rest);
    }
    let Some(provider) = Provider::from_name(provider_seg) else {
        return Err(not_found(method, path, providers_hint()));
    };
    let (segments, profile, profile_in_path) = profile_of(config, rest)?;
    let api_path = segments.join("/");
    let mut route = Route {
        provider,
        profile,
        profile_in_path,
        api: None,
        upstream: UpstreamPath::Fixed(String::new()),
        path_model: None,
        stream_by_route: false,
        gemini_sse: false,
        gate: None,
        routed: false,
    };
    let post = method.eq_ignore_ascii_case("POST");
    let get = method.eq_ignore_ascii_case("GET");
    match provider {
        Provider::OpenAi => {
            let api_path = api_path.strip_prefix("v1/").unwrap_or(&api_path);
            route.api = openai_api(api_path, post, get, true);
            route.upstream = UpstreamPath::Fixed(format!("/v1/{api_path}{query}"));
        }
        Provider::Azure => {
            if api_path.starts_with("openai/") {
                route.api = openai_api(suffix_api(&api_path), post, get, true);
                route.upstream = UpstreamPath::Fixed(format!("/{api_path}{query}"));
            } else {
                let api_path = api_path.strip_prefix("v1/").unwrap_or(&api_path);
                route.api = openai_api(api_path, post, get, true);
                route.upstream = UpstreamPath::Fixed(format!("{}/{api_path}{query}", base_path(config, provider)));
            }
        }
        Provider::Anthropic => {
            route.api = match api_path.as_str() {
                "v1/messages" if post => Some(Api::Messages),
                "v1/models" if get => Some(Api::Models),
                _ => None,
            };
            route.upstream = UpstreamPath::Fixed(format!("/{api_path}{query}"));
        }
        Provider::Gemini => {
            classify_gemini(&mut route, &api_path, query, post);
            if let Some(vertex) = config.provider_settings(provider).and_then(|s| s.vertex.as_ref()) {
                to_vertex(&mut route, vertex, method, path)?;
            }
        }
        Provider::Bedrock => {
            classify_bedrock(&mut route, &segments, query, post);
        }
        Provider::Cohere => {
            if post && (api_path == "v2/chat" || api_path == "chat") {
                route.api = Some(Api::Chat);
                route.upstream = UpstreamPath::Fixed(format!("/v2/chat{query}"));
            } else {
                route.upstream = UpstreamPath::Fixed(format!("/{api_path}{query}"));
            }
        }
        _ => {
            let api_path = api_path.strip_prefix("v1/").unwrap_or(&api_path);
            route.api = openai_api(api_path, post, get, false);
            route.upstream = UpstreamPath::Fixed(format!("{}/{api_path}{query}", base_path(config, provider)));
        }
    }
    Ok(route)
}

/// The path's segments after the provider, without the profile segment when there is one, and
/// the profile the request runs under.
fn profile_of<'a>(config: &Config, rest: &'a str) -> Result<(Vec<&'a str>, String, bool), WardenError> {
    let mut segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let mut profile = config.default_profile.clone();
    let mut profile_in_path = false;
    if let Some(first) = segments.first().copied() {
        if config.profiles.contains_key(first) {
            profile = first.to_string();
            profile_in_path = true;
            segments.remove(0);
        } else if !RESERVED_SEGMENTS.contains(&first) && segments.len() > 1 {
            let known: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
            return Err(WardenError::UnknownProfile { profile: first.to_string(), known: known.join(", ") });
        }
    }
    Ok((segments, profile, profile_in_path))
}

/// `/v1/model-router/[{profile}/]{chat/completions | responses | embeddings | models}`. Anything
/// else under the router is a 404: the router forwards nothing it does not translate.
fn classify_router(config: &Config, method: &str, path: &str, rest: &str) -> Result<Route, WardenError> {
    let (segments, profile, profile_in_path) = profile_of(config, rest)?;
    let api_path = segments.join("/");
    let api_path = api_path.strip_prefix("v1/").unwrap_or(&api_path);
    let post = method.eq_ignore_ascii_case("POST");
    let get = method.eq_ignore_ascii_case("GET");
    let Some(api) = openai_api(api_path, post, get, true) else {
        return Err(not_found(
            method,
            path,
            "the model router serves POST /v1/model-router/[{profile}/]chat/completions, /responses, /embeddings and GET …/models",
        ));
    };
    Ok(Route {
        provider: Provider::OpenAi,
        profile,
        profile_in_path,
        api: Some(api),
        upstream: UpstreamPath::Fixed(String::new()),
        path_model: None,
        stream_by_route: false,
        gemini_sse: false,
        gate: None,
        routed: true,
    })
}

/// The trailing API of an Azure deployment path (`openai/deployments/{d}/chat/completions`).
fn suffix_api(path: &str) -> &str {
    ["chat/completions", "responses", "embeddings"].into_iter().find(|s| path.ends_with(s)).unwrap_or("")
}

fn openai_api(api_path: &str, post: bool, get: bool, has_responses: bool) -> Option<Api> {
    match api_path {
        "chat/completions" if post => Some(Api::ChatCompletions),
        "responses" if post && has_responses => Some(Api::Responses),
        "embeddings" if post => Some(Api::Embeddings),
        "models" if get => Some(Api::Models),
        _ => None,
    }
}

fn classify_gemini(route: &mut Route, api_path: &str, query: &str, post: bool) {
    route.upstream = UpstreamPath::Fixed(format!("/{api_path}{query}"));
    // {version}/models/{model}:{action}, or a tuned model: {version}/tunedModels/{model}:{action}
    let mut parts = api_path.splitn(3, '/');
    let (Some(version), Some(collection), Some(model_action)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let known_collection = ["models", "tunedModels"].iter().any(|c| c.eq_ignore_ascii_case(collection));
    if !version.starts_with("v1") || !known_collection || !post {
        return;
    }
    let Some((model, action)) = model_action.rsplit_once(':') else {
        return;
    };
    if model.is_empty() || model.contains('/') {
        return;
    }
    // Google matches method names without regard to case; so does the gateway.
    if action.eq_ignore_ascii_case("streamGenerateContent") {
        route.stream_by_route = true;
        route.gemini_sse = query.trim_start_matches('?').split('&').any(|kv| kv == "alt=sse");
    } else if !action.eq_ignore_ascii_case("generateContent") {
        return;
    }
    route.api = Some(Api::GenerateContent);
    route.path_model = Some(percent_decode(model));
    route.upstream = UpstreamPath::Model {
        original: Some(format!("/{api_path}{query}")),
        original_model: route.path_model.clone(),
        prefix: format!("/{version}/{collection}/"),
        suffix: format!(":{action}{query}"),
    };
}

/// The Vertex AI form of a Gemini route (DESIGN §4.1): the same model and method under
/// `/v1/projects/{p}/locations/{l}/publishers/google/models/`, without an AI Studio `key` in the
/// query (the sidecar's ADC token authenticates). Other Gemini paths are AI Studio's and have no
/// Vertex counterpart the gateway knows.
fn to_vertex(route: &mut Route, vertex: &crate::config::Vertex, method: &str, path: &str) -> Result<(), WardenError> {
    let UpstreamPath::Model { prefix, suffix, .. } = &route.upstream else {
        return Err(WardenError::InvalidRequest {
            message: format!(
                "{method} {path} is an AI Studio path with no Vertex AI counterpart; this gateway sends Gemini \
                 traffic to Vertex AI (providers.gemini.vertex), which serves models/{{model}}:generateContent \
                 and :streamGenerateContent"
            ),
        });
    };
    if !prefix.ends_with("/models/") {
        return Err(WardenError::InvalidRequest {
            message: "tuned models are served by Vertex AI endpoints, not through the publisher models path; \
                      call the tuned model's endpoint directly"
                .into(),
        });
    }
    let suffix = without_query_key(suffix, "key");
    route.upstream = UpstreamPath::Model {
        original: None,
        original_model: None,
        prefix: format!("/v1/projects/{}/locations/{}/publishers/google/models/", vertex.project, vertex.location),
        suffix,
    };
    Ok(())
}

/// `rest` (`:action?query`) without the query parameter `name`.
fn without_query_key(rest: &str, name: &str) -> String {
    let Some((head, query)) = rest.split_once('?') else { return rest.to_owned() };
    let kept: Vec<&str> = query.split('&').filter(|kv| !kv.is_empty() && kv.split('=').next() != Some(name)).collect();
    if kept.is_empty() {
        head.to_owned()
    } else {
        format!("{head}?{}", kept.join("&"))
    }
}

fn classify_bedrock(route: &mut Route, segments: &[&str], query: &str, post: bool) {
    let path = segments.join("/");
    route.upstream = UpstreamPath::Fixed(format!("/{path}{query}"));
    if !post {
        return;
    }
    match segments {
        ["model", model, action @ ("converse" | "converse-stream")] => {
            route.api = Some(Api::Converse);
            route.path_model = Some(percent_decode(model));
            route.stream_by_route = *action == "converse-stream";
            route.upstream = UpstreamPath::Model {
                original: Some(format!("/{path}{query}")),
                original_model: route.path_model.clone(),
                prefix: "/model/".into(),
                suffix: format!("/{action}{query}"),
            };
        }
        [action @ ("converse" | "converse-stream")] => {
            route.api = Some(Api::Converse);
            route.stream_by_route = *action == "converse-stream";
            route.upstream = UpstreamPath::Model {
                original: None,
                original_model: None,
                prefix: "/model/".into(),
                suffix: format!("/{action}{query}"),
            };
        }
        _ => {}
    }
}
