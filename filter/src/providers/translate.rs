//! The model router's translation layer (DESIGN §4.8, §5.6). OpenAI Chat Completions is the hub:
//! a routed request is a chat request (Responses requests become one first, see
//! `openai_responses::via_chat`), each target turns it into its own wire format, and turns its
//! answer — a whole body, a stream frame by frame, or an error — back into the chat shape, so the
//! chat stream fold and hold-back police it like native OpenAI traffic.
//!
//! Each translation lives with its target's wire format (`providers/<target>/from_chat/`); this
//! module holds the one interface they share, the hub reader (`chat`), the hub writer (`reply`),
//! the native-error mapping (`native_error`) and the table of what is supported (`table`). Nothing
//! here touches the host: every function is pure and tested natively.

pub mod chat;
pub mod native_error;
pub mod reply;
pub mod table;

#[cfg(test)]
pub(crate) mod cases;
#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod split_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timing_tests;

use crate::error::Reply;
use crate::providers::Provider;
use crate::stream::{Frame, Framing};
use crate::view;
use serde_json::{json, Value};

/// A translated request, ready for the upstream (auth headers are the caller's business).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeRequest {
    /// Path and query of the target's API. For the OpenAI-wire providers it is relative to the
    /// provider's base path (`/chat/completions`, joined like a native request's path); for the
    /// others it is the whole upstream path (`/v1/messages`, `/v1beta/models/{m}:…`,
    /// `/model/{id}/converse`, `/v2/chat`).
    pub path: String,
    /// Headers the target needs besides auth and `content-type: application/json`
    /// (`anthropic-version`, the Bedrock stream `accept`).
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// The answer streams; `framing` says how its bytes are cut into frames.
    pub stream: bool,
    pub framing: Framing,
}

/// Why a request cannot be translated. Both request variants are the client's 400, in the OpenAI
/// error shape with `param` naming the field; `Upstream` is a 502 for an answer the router cannot
/// read (it never reaches the client as a half-translated body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    #[error("`{field}` cannot be sent to {target} through the model router: {why}. Remove it, or route the request to a provider that supports it")]
    Unsupported { field: String, target: &'static str, why: String },
    #[error("`{field}` is invalid: {why}")]
    Invalid { field: String, why: String },
    #[error("the upstream answer could not be translated: {why}")]
    Upstream { why: String },
}

impl TranslateError {
    pub fn unsupported(field: impl Into<String>, target: &'static str, why: impl Into<String>) -> Self {
        TranslateError::Unsupported { field: field.into(), target, why: why.into() }
    }

    pub fn invalid(field: impl Into<String>, why: impl Into<String>) -> Self {
        TranslateError::Invalid { field: field.into(), why: why.into() }
    }

    pub fn status(&self) -> u16 {
        match self {
            TranslateError::Unsupported { .. } | TranslateError::Invalid { .. } => 400,
            TranslateError::Upstream { .. } => 502,
        }
    }

    /// The OpenAI `error.code` (also the metric label).
    pub fn code(&self) -> &'static str {
        match self {
            TranslateError::Unsupported { .. } => "unsupported_parameter",
            TranslateError::Invalid { .. } => "invalid_value",
            TranslateError::Upstream { .. } => "upstream_unreadable",
        }
    }

    /// The OpenAI error reply the client gets (the router always answers in the OpenAI shape).
    pub fn reply(&self) -> Reply {
        let code = self.code();
        let (kind, param) = match self {
            TranslateError::Unsupported { field, .. } | TranslateError::Invalid { field, .. } => {
                ("invalid_request_error", Some(field))
            }
            TranslateError::Upstream { .. } => ("upstream_error", None),
        };
        let body = json!({"error": {"message": self.to_string(), "type": kind, "param": param, "code": code}});
        Reply::json(self.status(), &body)
    }
}

/// What the gateway knows about an exchange that the upstream's answer may not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyMeta {
    /// The completion id when the upstream gives none (Bedrock); an upstream id wins.
    pub id: String,
    /// Unix seconds for `created`.
    pub created: u64,
    /// The model the request named (native id); an upstream-reported model wins.
    pub model: String,
}

/// A whole answer in the hub's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The target's answer as one `chat.completion` (`Completion::to_bytes` writes it,
    /// `Completion::into_view` is what policy reads: the answer is parsed once).
    Translated(Box<reply::Completion>),
    /// The target speaks the hub's format: its answer is the chat completion as it is.
    Chat,
}

#[cfg(test)]
impl Answer {
    /// The chat completion the client would be sent.
    pub(crate) fn into_bytes(self, native: &[u8]) -> Vec<u8> {
        match self {
            Answer::Translated(completion) => completion.to_bytes(),
            Answer::Chat => native.to_vec(),
        }
    }
}

/// One target's translation, from the hub and back. Implementations are stateless; per-request
/// stream state lives in the `ChunkTranslator` that `stream` returns.
pub trait FromChat: Sync {
    /// The target, as named in errors and in the support table.
    fn target(&self) -> &'static str;

    /// Translates a chat request (`chat`, already parsed) for `model` (the native id, without the
    /// `provider:` prefix). Fields the target cannot express and that change the answer are
    /// refused, never dropped.
    fn request(&self, chat: &Value, model: &str) -> Result<NativeRequest, TranslateError>;

    /// Translates a whole (non-streaming, 2xx) answer into a `chat.completion`.
    fn response(&self, native: &[u8], meta: &ReplyMeta) -> Result<Answer, TranslateError>;

    /// A translator for one streaming answer. `include_usage`: the client asked for
    /// `stream_options.include_usage`, so one usage chunk with `choices: []` precedes `[DONE]`.
    fn stream(&self, meta: ReplyMeta, include_usage: bool) -> Box<dyn ChunkTranslator>;

    /// Rewrites a non-2xx answer into the OpenAI error shape: (status for the client, body).
    fn error(&self, status: u16, native: &[u8]) -> (u16, Vec<u8>);
}

/// Turns the frames of one upstream stream (as cut by `stream::Decoder`) into OpenAI chat SSE
/// frames, incrementally: each frame's chunks are appended to `out` as soon as it arrives.
///
/// The output is a well-formed chat stream: one `id`/`created`/`model`, `role` in the first delta,
/// tool calls with `index`, `id`, `type` and `function.name` in their first delta and argument
/// pieces after, a finish chunk, the usage chunk when asked, `data: [DONE]`. An upstream error
/// (in-stream error event, exception frame, unreadable frame, stream cut before the end) ends the
/// output with an OpenAI error event (`data: {"error":{…}}`) instead, which the SDKs raise.
pub trait ChunkTranslator {
    fn frame(&mut self, frame: &Frame, out: &mut Vec<Frame>);

    /// The upstream stream ended: whatever the end still owes the client is appended.
    fn finish(&mut self, out: &mut Vec<Frame>);

    /// The upstream's own usage so far, in neutral terms (for metering the real provider).
    fn usage(&self) -> Option<view::Usage>;
}

/// The translation for a provider the router can route to.
pub fn for_provider(provider: Provider) -> &'static dyn FromChat {
    match provider {
        Provider::Anthropic => &crate::providers::anthropic::from_chat::ANTHROPIC,
        Provider::Gemini => &crate::providers::gemini::from_chat::GEMINI,
        Provider::Bedrock => &crate::providers::bedrock::from_chat::BEDROCK,
        Provider::Cohere => &crate::providers::cohere::from_chat::COHERE,
        _ => &crate::providers::openai_chat::from_chat::OPENAI_WIRE,
    }
}
