//! Which (client API, target) pairs the router serves and how, and what each refuses.
//! `docs/router-translation.md` is the long form of `TABLE`; a test keeps the two in step.

use super::FromChat;
use crate::providers::Provider;
use crate::view::Api;

/// How a routed request reaches its target.
#[derive(Clone, Copy)]
pub enum Plan {
    /// The target speaks the client's API: the body goes as it is, with the model renamed.
    Native,
    /// A chat request, translated for the target by `FromChat`.
    Chat(&'static dyn FromChat),
    /// A Responses request made a chat request first (`openai_responses::via_chat::request`),
    /// then translated by `FromChat`; the chat answer goes back through
    /// `via_chat::response` / `via_chat::Stream`.
    ResponsesViaChat(&'static dyn FromChat),
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Plan::Native => f.write_str("Native"),
            Plan::Chat(t) => write!(f, "Chat({})", t.target()),
            Plan::ResponsesViaChat(t) => write!(f, "ResponsesViaChat({})", t.target()),
        }
    }
}

/// The plan for a client `api` routed to `provider`; `None` for APIs the router does not
/// translate (only Chat Completions and Responses are; `/embeddings` is native-only and `/models`
/// is answered by the gateway).
pub fn plan(api: Api, provider: Provider) -> Option<Plan> {
    let translator = super::for_provider(provider);
    let openai_wire = provider.is_openai_compatible() || matches!(provider, Provider::OpenAi | Provider::Azure);
    match api {
        Api::ChatCompletions if openai_wire => Some(Plan::Native),
        Api::ChatCompletions => Some(Plan::Chat(translator)),
        // Only OpenAI and Azure serve `/responses`; the OpenAI-compatible family gets chat.
        Api::Responses if matches!(provider, Provider::OpenAi | Provider::Azure) => Some(Plan::Native),
        Api::Responses => Some(Plan::ResponsesViaChat(translator)),
        _ => None,
    }
}

/// One row of the support table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub client: &'static str,
    pub target: &'static str,
    pub how: &'static str,
    /// What the pair refuses with a 400 naming the field (besides fields the router does not
    /// know, always refused).
    pub refused: &'static str,
}

const COMMON: &str = "n > 1, logprobs/top_logprobs, logit_bias, audio output/modalities, reasoning_effort, \
                      input_audio and file parts, legacy functions, custom tools";

pub const TABLE: &[Row] = &[
    Row { client: "chat_completions", target: "openai-wire", how: "native, model renamed", refused: "nothing" },
    Row {
        client: "chat_completions",
        target: "anthropic",
        how: "Messages",
        refused: "seed, presence/frequency penalty, response_format json_object/json_schema, temperature > 1",
    },
    Row {
        client: "chat_completions",
        target: "gemini",
        how: "generateContent (AI Studio)",
        refused: "http(s) image URLs, images in tool results, parallel_tool_calls: false with tools",
    },
    Row {
        client: "chat_completions",
        target: "bedrock",
        how: "Converse",
        refused: "seed, penalties, response_format json, http(s) image URLs, temperature > 1, \
                  parallel_tool_calls: false with tools, tool_choice none with tool calls in the history",
    },
    Row {
        client: "chat_completions",
        target: "cohere",
        how: "v2 chat",
        refused: "images in tool results, parallel_tool_calls: false with tools",
    },
    Row { client: "responses", target: "openai, azure", how: "native /responses, model renamed", refused: "nothing" },
    Row {
        client: "responses",
        target: "others",
        how: "via chat, then as chat_completions",
        refused: "built-in tools, previous_response_id/conversation/prompt, background, truncation auto, \
                  max_tool_calls, non-function items, file inputs; then what the chat pair refuses",
    },
];

/// Refused by every translated (non-native) pair.
pub const REFUSED_EVERYWHERE: &str = COMMON;
