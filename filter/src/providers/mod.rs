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
pub mod body;
pub mod cohere;
pub mod common;
pub mod gemini;
pub mod json;
pub mod lenient;
pub mod openai_chat;
pub mod openai_responses;
pub mod translate;
pub mod typed;
#[cfg(test)]
mod typed_tests;

#[cfg(test)]
#[path = "error_tests.rs"]
mod error_tests;

pub use body::Body;

use crate::error::{Reply, WardenError};
use crate::stream::{Frame, Framing};
use crate::view::{self, Api};
use serde_json::Value;

/// First segments of provider API paths. A segment after the provider that is one of these starts
/// the API path; otherwise it names a profile. Config validation rejects profile ids among them.
pub const RESERVED_SEGMENTS: &[&str] = &[
    "v1",
    "v1beta",
    "v1alpha",
    "v2",
    "chat",
    "responses",
    "embeddings",
    "models",
    "model",
    "converse",
    "converse-stream",
    "openai",
    "files",
    "batches",
    "uploads",
    "images",
    "audio",
    "moderations",
    "fine_tuning",
    "vector_stores",
    "assistants",
    "threads",
    "realtime",
    "conversations",
    "completions",
];

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
    if let WardenError::Translation(t) = err {
        // Only the model router translates, and it always answers in the OpenAI shape.
        return t.reply();
    }
    match shape {
        ErrorShape::OpenAi => openai_chat::error::render(err),
        ErrorShape::Anthropic => anthropic::error::render(err),
        ErrorShape::Gemini => gemini::error::render(err),
        ErrorShape::Bedrock => bedrock::error::render(err),
        ErrorShape::Cohere => cohere::error::render(err),
    }
}

/// Reads a request body of `api` without a `Value` tree where the API has a typed reader: the
/// body held as the client's bytes, and its view. `None` means "parse it as a tree"
/// ([`Body::parse`], [`parse_request`]): another API, or a body the reader does not take.
pub fn read_request(api: Api, bytes: &[u8]) -> Option<(Body, view::Request)> {
    match api {
        Api::ChatCompletions => openai_chat::request_typed::read(bytes),
        Api::Messages => anthropic::request_typed::read(bytes),
        Api::Responses => openai_responses::request_typed::read(bytes),
        Api::Chat => cohere::request_typed::read(bytes),
        Api::Converse => bedrock::request_typed::read(bytes),
        _ => None,
    }
    .map(|(view, spans)| (Body::from_read(bytes, spans), view))
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

/// Refuses request options whose answer the gateway could not police (for instance a Responses
/// request run in the background, whose output is fetched later by id).
pub fn check_request(api: Api, body: &Body) -> Result<(), WardenError> {
    match api {
        // A body held as bytes was taken by the typed reader, which leaves what `check` refuses
        // to the tree.
        Api::Responses if body.spans().is_some() => Ok(()),
        Api::Responses => openai_responses::request::check(body.json()),
        _ => Ok(()),
    }
}

/// What `prepare_upstream` changed that the response side must know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prepared {
    /// The gateway asked for a usage chunk the client did not: it must not reach the client.
    pub hide_usage_chunk: bool,
}

/// Makes the upstream request give the gateway what metering needs: OpenAI chat streams get
/// `stream_options.include_usage` (DESIGN §5.4).
pub fn prepare_upstream(api: Api, stream: bool, body: &mut Body) -> Prepared {
    match api {
        Api::ChatCompletions if stream => {
            let client_asked = match body.spans().map(|spans| spans.usage_chunk) {
                // The body itself does not stream: nothing to ask for, nothing to hide.
                Some(None | Some(body::UsageChunk::Asked)) => true,
                Some(Some(body::UsageChunk::NotAsked))
                    if body.add_field_in_place("stream_options", br#"{"include_usage":true}"#) =>
                {
                    false
                }
                _ => {
                    let mut client_asked = true;
                    body.edit(|json| {
                        client_asked = openai_chat::request::force_include_usage(json);
                        !client_asked
                    });
                    client_asked
                }
            };
            Prepared { hide_usage_chunk: !client_asked }
        }
        _ => Prepared::default(),
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

/// The neutral view of a whole answer that carries no tool call, read without a `Value` tree where
/// the API has such a reader; `None` means "read it with [`parse_response`]" (a call, an odd body,
/// or an API without one). Where it answers, the view is what [`parse_response`] gives.
pub fn parse_answer_without_calls(api: Api, bytes: &[u8]) -> Option<view::Response> {
    match api {
        Api::ChatCompletions => openai_chat::response::parse_without_calls(bytes),
        _ => None,
    }
}

/// What a stream frame is, as far as the tool-call hold-back (`exchange::hold_back`) cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameInfo {
    /// The frame is the gateway's business only (the usage chunk a client did not ask for, a late
    /// fragment of a blocked call): it does not go to the client.
    pub drop: bool,
    /// The frame carries (part of) a tool call: its start, argument deltas or end.
    pub tool: bool,
    /// Names of the tool calls that start in this frame (a call's name arrives with its start).
    pub started_tools: Vec<String>,
    /// The frame ends the assistant message: it carries the finish/stop reason (OpenAI chunk with
    /// `finish_reason`, Anthropic `message_delta`, Gemini chunk with `finishReason`, Bedrock
    /// `messageStop`, Cohere `message-end`, Responses `response.completed|incomplete|failed`).
    pub ends_message: bool,
    /// The frame carries data the gateway cannot read as JSON, where a client's parser may read
    /// more (Python's `json` takes `NaN`, lone surrogates, `1e999`): what it says cannot be
    /// policed, so a policed stream ends there.
    pub unreadable: bool,
}

impl FrameInfo {
    /// What a frame whose data did not parse as JSON is: nothing, when the data is blank or the
    /// `[DONE]` marker that ends OpenAI-style streams; unreadable otherwise.
    pub fn unparsed(data: &[u8]) -> FrameInfo {
        let data = data.trim_ascii();
        FrameInfo { unreadable: !data.is_empty() && data != b"[DONE]", ..FrameInfo::default() }
    }
}

/// A fold with its typed fast path (`fast`) and the same fold held to its general path
/// (`general`, whose flag `general_only` reaches) fold `frames` alike: the same answer for every
/// frame, and the same state after it (compared by `Debug`, with the flag put back). `Err` says
/// where they first differ. Used by the folds' tests and the `response_path` fuzz target.
#[cfg(any(test, fuzzing))]
pub fn fast_path_agrees<F: std::fmt::Debug>(
    frames: &[crate::stream::Frame],
    mut fast: F,
    mut general: F,
    on_frame: fn(&mut F, &crate::stream::Frame) -> FrameInfo,
    general_only: fn(&mut F) -> &mut bool,
) -> Result<(), String> {
    for (i, frame) in frames.iter().enumerate() {
        *general_only(&mut general) = true;
        let (a, b) = (on_frame(&mut fast, frame), on_frame(&mut general, frame));
        if a != b {
            return Err(format!("frame {i}: {a:?} against {b:?}"));
        }
        *general_only(&mut general) = false;
        let (a, b) = (format!("{fast:?}"), format!("{general:?}"));
        if a != b {
            return Err(format!("after frame {i}: {a} against {b}"));
        }
    }
    Ok(())
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
    pub fn new(api: Api, hide_usage_chunk: bool, framing: Framing) -> Option<StreamFold> {
        StreamFold::with_limit(api, hide_usage_chunk, framing, crate::stream::DEFAULT_MAX_HELD_BYTES)
    }

    /// A fold that keeps at most `limit` bytes of argument text per tool call; past it the call's
    /// arguments read as too large (and the call is refused if it could be blocked).
    pub fn with_limit(api: Api, hide_usage_chunk: bool, framing: Framing, limit: usize) -> Option<StreamFold> {
        match api {
            Api::ChatCompletions => {
                Some(StreamFold::OpenAiChat(openai_chat::stream::Fold::with_limit(hide_usage_chunk, limit)))
            }
            Api::Responses => Some(StreamFold::Responses(openai_responses::stream::Fold::new())),
            Api::Messages => Some(StreamFold::Anthropic(anthropic::stream::Fold::with_limit(limit))),
            Api::GenerateContent => Some(StreamFold::Gemini(gemini::stream::Fold::new(framing))),
            Api::Converse => Some(StreamFold::Bedrock(bedrock::stream::Fold::with_limit(limit))),
            Api::Chat => Some(StreamFold::Cohere(cohere::stream::Fold::with_limit(limit))),
            Api::Embeddings | Api::Models => None,
        }
    }

    pub fn on_frame(&mut self, frame: &Frame) -> FrameInfo {
        match self {
            StreamFold::OpenAiChat(f) => f.on_frame(frame),
            StreamFold::Responses(f) => f.on_frame(frame),
            StreamFold::Anthropic(f) => f.on_frame(frame),
            StreamFold::Gemini(f) => f.on_frame(frame),
            StreamFold::Bedrock(f) => f.on_frame(frame),
            StreamFold::Cohere(f) => f.on_frame(frame),
        }
    }

    /// The frame just folded is the first one the hold-back holds: what the fold learns after it
    /// is what the client has not seen.
    pub fn hold_begins(&mut self) {
        if let StreamFold::Responses(f) = self {
            f.hold_begins();
        }
    }

    /// The held frames went to the client as they were (the judge let the calls through).
    pub fn hold_released(&mut self) {
        if let StreamFold::Responses(f) = self {
            f.hold_released();
        }
    }

    /// A held frame with its tool-call content removed, once the calls are blocked; `None` when
    /// nothing else is left in it. Called in stream order for every held frame except the one that
    /// ends the message, before `refusal`.
    pub fn strip_tools(&mut self, frame: &Frame) -> Option<Frame> {
        match self {
            StreamFold::OpenAiChat(f) => f.strip_tools(frame),
            StreamFold::Responses(f) => f.strip_tools(frame),
            StreamFold::Anthropic(f) => f.strip_tools(frame),
            StreamFold::Gemini(f) => f.strip_tools(frame),
            StreamFold::Bedrock(f) => f.strip_tools(frame),
            StreamFold::Cohere(f) => f.strip_tools(frame),
        }
    }

    /// The frames that replace blocked tool calls: the refusal `message` as assistant text, then
    /// `finish` (the held frame that ended the message, `None` when the stream ended without one)
    /// rewritten to a stop-style finish, so the stream ends validly for this provider's SDKs.
    pub fn refusal(&mut self, message: &str, finish: Option<&Frame>) -> Vec<Frame> {
        match self {
            StreamFold::OpenAiChat(f) => f.refusal(message, finish),
            StreamFold::Responses(f) => f.refusal(message, finish),
            StreamFold::Anthropic(f) => f.refusal(message, finish),
            StreamFold::Gemini(f) => f.refusal(message, finish),
            StreamFold::Bedrock(f) => f.refusal(message, finish),
            StreamFold::Cohere(f) => f.refusal(message, finish),
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

/// Replaces a tool result's content (at `pointer`, from `view::ToolResult`) with `text`, in the
/// provider's own shape. Returns false when the pointer no longer resolves.
pub fn apply_result_edit(api: Api, body: &mut Value, pointer: &str, text: &str) -> bool {
    match api {
        Api::ChatCompletions => openai_chat::request::apply_result_edit(body, pointer, text),
        Api::Responses => openai_responses::request::apply_result_edit(body, pointer, text),
        Api::Messages => anthropic::request::apply_result_edit(body, pointer, text),
        Api::GenerateContent => gemini::request::apply_result_edit(body, pointer, text),
        Api::Converse => bedrock::request::apply_result_edit(body, pointer, text),
        Api::Chat => cohere::request::apply_result_edit(body, pointer, text),
        Api::Embeddings | Api::Models => false,
    }
}

/// `apply_result_edit` on a body: written in place when the body is held as bytes and its reader
/// found the value, else on the tree.
pub fn edit_result(api: Api, body: &mut Body, pointer: &str, text: &str) -> bool {
    body.set_string_in_place(pointer, text) || body.edit(|json| apply_result_edit(api, json, pointer, text))
}

/// A non-streaming response rewritten into a normal assistant message without tool calls whose
/// text is `message`, with a stop-style finish reason; usage, ids and model are kept.
pub fn refusal_body(api: Api, response: &Value, message: &str) -> Option<Value> {
    match api {
        Api::ChatCompletions => Some(openai_chat::refusal::body(response, message)),
        Api::Responses => Some(openai_responses::refusal::body(response, message)),
        Api::Messages => Some(anthropic::refusal::body(response, message)),
        Api::GenerateContent => Some(gemini::refusal::body(response, message)),
        Api::Converse => Some(bedrock::refusal::body(response, message)),
        Api::Chat => Some(cohere::refusal::body(response, message)),
        Api::Embeddings | Api::Models => None,
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
