//! The model calls: non-streaming OpenAI chat-completions requests through the local Envoy
//! (`{envoy_url}/v1/{provider}/{profile}/chat/completions`), so Warden meters, limits and logs
//! them like any other request. Errors say which call failed and how (HTTP status, transport,
//! unreadable reply), never what the reply or the prompt said.

use super::protocol::Message;
use crate::redact::Redactor;
use serde::Deserialize;
use std::future::Future;
use std::time::Duration;

/// The header that marks Dual-LLM traffic for the filter (records, and no recursion).
pub const AGENT_ID_HEADER: &str = "x-warden-agent-id";
pub const AGENT_ID: &str = "warden-dual-llm";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest silence while reading a reply; the request's deadline bounds the whole call anyway.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A chat completion larger than this is not read (a summary is a short note).
const MAX_REPLY_BYTES: usize = 4 << 20;

/// Which side of the protocol a call serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Privileged,
    Quarantined,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Privileged => "privileged",
            Side::Quarantined => "quarantined",
        }
    }
}

/// Tokens a call spent, from the reply's `usage` (0 when the reply has none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
    }
}

/// A model's reply: its text (`None` when the message had none, e.g. a refusal) and its usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: Option<String>,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("HTTP {status} from {path}")]
    Status { status: u16, path: String },
    #[error("{0}")]
    Transport(String),
    #[error("the reply from {path} is not a chat completion")]
    Malformed { path: String },
}

/// One chat-completions call: `model` with `messages`, for `side`.
pub trait Chat: Send + Sync + 'static {
    fn complete(
        &self,
        side: Side,
        model: &str,
        messages: &[Message],
    ) -> impl Future<Output = Result<Completion, CallError>> + Send;
}

/// The route a sanitisation's calls take through Envoy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub provider: String,
    pub profile: String,
}

impl Route {
    pub fn path(&self) -> String {
        format!("/v1/{}/{}/chat/completions", self.provider, self.profile)
    }
}

/// The HTTP side, shared by every sanitisation.
pub struct Envoy {
    http: reqwest::Client,
    base: String,
    authorization: String,
    redactor: Redactor,
}

/// A sanitisation's calls: the shared client and its route.
pub struct Calls {
    pub envoy: std::sync::Arc<Envoy>,
    pub route: Route,
}

pub(crate) fn http_client() -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).read_timeout(READ_TIMEOUT);
    // An https envoy_url may use a private CA, as the Azure flow allows (DESIGN §4.7).
    if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
        let pem =
            std::fs::read(&path).map_err(|e| format!("cannot read SSL_CERT_FILE {}: {e}", path.to_string_lossy()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("SSL_CERT_FILE {} is not a PEM bundle: {e}", path.to_string_lossy()))?;
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| format!("cannot build the HTTP client: {e}"))
}

impl Envoy {
    /// `envoy_url` as configured (validated http(s)); `api_key` the value of `api_key_env`.
    pub fn new(envoy_url: &str, api_key: &str) -> Result<Envoy, String> {
        Ok(Envoy {
            http: http_client()?,
            base: envoy_url.trim_end_matches('/').to_string(),
            authorization: format!("Bearer {api_key}"),
            redactor: Redactor::with_secrets([api_key.to_string()]),
        })
    }

    async fn post(&self, path: &str, body: Vec<u8>) -> Result<Completion, CallError> {
        let url = format!("{}{path}", self.base);
        let mut response = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .header(AGENT_ID_HEADER, AGENT_ID)
            .body(body)
            .send()
            .await
            .map_err(|e| CallError::Transport(self.redactor.error_chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(CallError::Status { status: status.as_u16(), path: path.to_string() });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| CallError::Transport(self.redactor.error_chain(&e)))?
        {
            if bytes.len().saturating_add(chunk.len()) > MAX_REPLY_BYTES {
                return Err(CallError::Malformed { path: path.to_string() });
            }
            bytes.extend_from_slice(&chunk);
        }
        read_completion(&bytes).ok_or_else(|| CallError::Malformed { path: path.to_string() })
    }
}

impl Chat for Calls {
    async fn complete(&self, _side: Side, model: &str, messages: &[Message]) -> Result<Completion, CallError> {
        let path = self.route.path();
        let body = serde_json::json!({"model": model, "messages": messages, "stream": false});
        self.envoy.post(&path, body.to_string().into_bytes()).await
    }
}

#[derive(Deserialize)]
struct Reply {
    choices: Vec<ReplyChoice>,
    #[serde(default)]
    usage: Option<ReplyUsage>,
}

#[derive(Deserialize)]
struct ReplyChoice {
    message: ReplyMessage,
}

#[derive(Deserialize)]
struct ReplyMessage {
    #[serde(default)]
    content: Option<Content>,
}

/// OpenAI sends a string; some compatible servers send text parts.
#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
struct Part {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct ReplyUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// The first choice's text and the usage of a chat-completions reply; `None` when the bytes are
/// not one (no `choices`, not JSON).
pub fn read_completion(bytes: &[u8]) -> Option<Completion> {
    let reply: Reply = serde_json::from_slice(bytes).ok()?;
    let message = reply.choices.into_iter().next()?.message;
    let text = match message.content {
        None => None,
        Some(Content::Text(text)) => Some(text),
        Some(Content::Parts(parts)) => Some(parts.into_iter().filter_map(|p| p.text).collect()),
    };
    let usage = reply.usage.map(|u| Usage { input: u.prompt_tokens, output: u.completion_tokens }).unwrap_or_default();
    Some(Completion { text, usage })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_completion_gives_the_first_choices_text_and_the_usage() {
        let body = br#"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"DONE"},"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":"x"}}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#;
        let completion = read_completion(body).unwrap();
        assert_eq!(completion, Completion { text: Some("DONE".into()), usage: Usage { input: 12, output: 3 } });
    }

    #[test]
    fn a_null_content_is_no_text_and_missing_usage_is_zero() {
        let body = br#"{"choices":[{"message":{"role":"assistant","content":null,"refusal":"no"}}]}"#;
        assert_eq!(read_completion(body), Some(Completion { text: None, usage: Usage::default() }));
    }

    #[test]
    fn text_parts_are_joined() {
        let body = br#"{"choices":[{"message":{"content":[{"type":"text","text":"{\"answer\""},{"type":"text","text":": 1}"}]}}]}"#;
        assert_eq!(read_completion(body).unwrap().text.as_deref(), Some("{\"answer\": 1}"));
    }

    #[test]
    fn bodies_that_are_not_chat_completions_are_unreadable() {
        for body in [&b"<html>bad gateway</html>"[..], br#"{"choices":[]}"#, br#"{"error":{"message":"x"}}"#, b""] {
            assert_eq!(read_completion(body), None, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn usage_adds_up_without_overflowing() {
        let mut total = Usage { input: u64::MAX - 1, output: 1 };
        total += Usage { input: 5, output: 2 };
        assert_eq!(total, Usage { input: u64::MAX, output: 3 });
    }

    #[test]
    fn the_route_is_the_envoy_chat_completions_path() {
        let route = Route { provider: "openai".into(), profile: "work".into() };
        assert_eq!(route.path(), "/v1/openai/work/chat/completions");
    }
}
