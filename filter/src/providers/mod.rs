//! One module per wire API. Each turns its own JSON into the neutral `view` types and renders the
//! filter's errors in its own shape; nothing outside this directory names a provider's fields.
//!
//! Every provider module has the same parts:
//! - `request::parse(&Value) -> view::Request` — tolerant: missing or odd fields give defaults (the
//!   upstream, not the gateway, rejects invalid requests);
//! - `response::parse(&Value) -> view::Response`;
//! - `stream::Fold` — folds stream frames into a `view::Response` and says whether each frame goes
//!   to the client;
//! - `error::render(&WardenError) -> Reply`.

pub mod anthropic;
pub mod bedrock;
pub mod cohere;
pub mod gemini;
pub mod json;
pub mod openai_chat;
pub mod openai_responses;

use crate::error::{Reply, WardenError};
use crate::stream::{Frame, Framing};
use crate::view::{self, Api};
use serde_json::Value;

/// A provider as named in the route (`/v1/{provider}/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    OpenAi,
    Azure,
    Anthropic,
    Gemini,
    Bedrock,
    Cohere,
    Groq,
    Mistral,
    Xai,
    OpenRouter,
    Cerebras,
    DeepSeek,
    MiniMax,
    ZhipuAi,
    Perplexity,
    Vllm,
    Ollama,
}

impl Provider {
    pub const ALL: [Provider; 17] = [
        Provider::OpenAi,
        Provider::Azure,
        Provider::Anthropic,
        Provider::Gemini,
        Provider::Bedrock,
        Provider::Cohere,
        Provider::Groq,
        Provider::Mistral,
        Provider::Xai,
        Provider::OpenRouter,
        Provider::Cerebras,
        Provider::DeepSeek,
        Provider::MiniMax,
        Provider::ZhipuAi,
        Provider::Perplexity,
        Provider::Vllm,
        Provider::Ollama,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Azure => "azure",
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
            Provider::Bedrock => "bedrock",
            Provider::Cohere => "cohere",
            Provider::Groq => "groq",
            Provider::Mistral => "mistral",
            Provider::Xai => "xai",
            Provider::OpenRouter => "openrouter",
            Provider::Cerebras => "cerebras",
            Provider::DeepSeek => "deepseek",
            Provider::MiniMax => "minimax",
            Provider::ZhipuAi => "zhipuai",
            Provider::Perplexity => "perplexity",
            Provider::Vllm => "vllm",
            Provider::Ollama => "ollama",
        }
    }

    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The error shape this provider's SDKs parse.
    pub fn error_shape(self) -> ErrorShape {
        match self {
            Provider::Anthropic => ErrorShape::Anthropic,
            Provider::Gemini => ErrorShape::Gemini,
            Provider::Bedrock => ErrorShape::Bedrock,
            Provider::Cohere => ErrorShape::Cohere,
            _ => ErrorShape::OpenAi,
        }
    }

    /// Whether this is one of the OpenAI-compatible providers that only proxy chat/embeddings.
    pub fn is_openai_compatible(self) -> bool {
        !matches!(
            self,
            Provider::OpenAi
                | Provider::Azure
                | Provider::Anthropic
                | Provider::Gemini
                | Provider::Bedrock
                | Provider::Cohere
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    OpenAi,
    Anthropic,
    Gemini,
    Bedrock,
    Cohere,
}

pub fn render_error(shape: ErrorShape, err: &WardenError) -> Reply {
    match shape {
        ErrorShape::OpenAi => openai_chat::error::render(err),
        ErrorShape::Anthropic => anthropic::error::render(err),
        ErrorShape::Gemini => gemini::error::render(err),
        ErrorShape::Bedrock => bedrock::error::render(err),
        ErrorShape::Cohere => cohere::error::render(err),
    }
}

/// Parses a request body of `api` into the neutral view. `None` for APIs that carry no
/// conversation (embeddings, model lists).
pub fn parse_request(api: Api, body: &Value) -> Option<view::Request> {
    match api {
        Api::ChatCompletions => Some(openai_chat::request::parse(body)),
        Api::Responses => Some(openai_responses::request::parse(body)),
        Api::Messages => Some(anthropic::request::parse(body)),
        Api::GenerateContent => Some(gemini::request::parse(body)),
        Api::Converse => Some(bedrock::request::parse(body)),
        Api::Chat => Some(cohere::request::parse(body)),
        Api::Embeddings | Api::Models => None,
    }
}

/// Parses a non-streaming response body of `api`.
pub fn parse_response(api: Api, body: &Value) -> Option<view::Response> {
    match api {
        Api::ChatCompletions => Some(openai_chat::response::parse(body)),
        Api::Responses => Some(openai_responses::response::parse(body)),
        Api::Messages => Some(anthropic::response::parse(body)),
        Api::GenerateContent => Some(gemini::response::parse(body)),
        Api::Converse => Some(bedrock::response::parse(body)),
        Api::Chat => Some(cohere::response::parse(body)),
        Api::Embeddings => Some(openai_chat::response::parse_embeddings(body)),
        Api::Models => None,
    }
}

/// What happens to one stream frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameAction {
    Forward,
    /// The frame is the gateway's business only (the usage chunk a client did not ask for).
    Drop,
}

/// Folds one provider's stream frames into a neutral response.
#[derive(Debug)]
pub enum StreamFold {
    OpenAiChat(openai_chat::stream::Fold),
    Responses(openai_responses::stream::Fold),
    Anthropic(anthropic::stream::Fold),
    Gemini(gemini::stream::Fold),
    Bedrock(bedrock::stream::Fold),
    Cohere(cohere::stream::Fold),
}

impl StreamFold {
    /// `hide_usage_chunk`: the gateway forced `stream_options.include_usage` on an OpenAI-family
    /// request whose client did not ask for it, so the extra usage chunk must not reach the client.
    pub fn new(api: Api, hide_usage_chunk: bool) -> Option<StreamFold> {
        match api {
            Api::ChatCompletions => Some(StreamFold::OpenAiChat(openai_chat::stream::Fold::new(hide_usage_chunk))),
            Api::Responses => Some(StreamFold::Responses(openai_responses::stream::Fold::new())),
            Api::Messages => Some(StreamFold::Anthropic(anthropic::stream::Fold::new())),
            Api::GenerateContent => Some(StreamFold::Gemini(gemini::stream::Fold::new())),
            Api::Converse => Some(StreamFold::Bedrock(bedrock::stream::Fold::new())),
            Api::Chat => Some(StreamFold::Cohere(cohere::stream::Fold::new())),
            Api::Embeddings | Api::Models => None,
        }
    }

    pub fn on_frame(&mut self, frame: &Frame) -> FrameAction {
        match self {
            StreamFold::OpenAiChat(f) => f.on_frame(frame),
            StreamFold::Responses(f) => f.on_frame(frame),
            StreamFold::Anthropic(f) => f.on_frame(frame),
            StreamFold::Gemini(f) => f.on_frame(frame),
            StreamFold::Bedrock(f) => f.on_frame(frame),
            StreamFold::Cohere(f) => f.on_frame(frame),
        }
    }

    pub fn response(&self) -> &view::Response {
        match self {
            StreamFold::OpenAiChat(f) => f.response(),
            StreamFold::Responses(f) => f.response(),
            StreamFold::Anthropic(f) => f.response(),
            StreamFold::Gemini(f) => f.response(),
            StreamFold::Bedrock(f) => f.response(),
            StreamFold::Cohere(f) => f.response(),
        }
    }
}

/// The framing a streaming response of `api` uses. Gemini streams are SSE only with `alt=sse`.
pub fn stream_framing(api: Api, gemini_sse: bool) -> Framing {
    match api {
        Api::Converse => Framing::EventStream,
        Api::GenerateContent if !gemini_sse => Framing::JsonArray,
        _ => Framing::Sse,
    }
}
