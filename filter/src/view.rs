//! The provider-neutral view of one LLM exchange. Policy, metering and transforms see only these
//! types; each provider module builds them from its own wire format.

use serde_json::Value;

/// Which wire API a request speaks. The names are the `api` values of the interaction record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    ChatCompletions,
    Responses,
    Embeddings,
    Models,
    Messages,
    GenerateContent,
    Converse,
    Chat,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::ChatCompletions => "chat_completions",
            Api::Responses => "responses",
            Api::Embeddings => "embeddings",
            Api::Models => "models",
            Api::Messages => "messages",
            Api::GenerateContent => "generate_content",
            Api::Converse => "converse",
            Api::Chat => "chat",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One conversation turn reduced to its text (used for token counting and "latest user request").
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub text: String,
}

/// A tool the request declares to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDecl {
    pub name: String,
    pub description: Option<String>,
    /// JSON schema of the arguments, as sent.
    pub parameters: Option<Value>,
}

/// A tool call made by the model, either in the request history or in a response.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: Option<String>,
    pub name: String,
    /// Parsed arguments; `{}` when the model sent text that is not a JSON object.
    pub arguments: Value,
}

/// A tool result in the request history.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// JSON pointer (RFC 6901) into the request body of the value that holds the result content, so
    /// the provider can replace it in its own shape.
    pub pointer: String,
    pub call_id: Option<String>,
    /// Resolved from the matching call id in the history (or given directly, as Gemini does).
    pub tool_name: Option<String>,
    /// The content as text (a single text block unwrapped; structured content serialised as JSON).
    pub content: String,
    pub is_error: bool,
}

/// What a provider request says, in neutral terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub model: Option<String>,
    pub stream: bool,
    /// System prompts that live outside `messages` (Anthropic `system`, Gemini `systemInstruction`, …).
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDecl>,
    /// Tool calls found in assistant turns of the history.
    pub tool_calls: Vec<ToolCall>,
    pub tool_results: Vec<ToolResult>,
}

/// Token usage in neutral terms. `input` never includes cached tokens, whatever the provider's
/// convention (see DESIGN §5.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

impl Usage {
    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }
}

/// What a provider response (whole, or a stream folded so far) says, in neutral terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub model: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    /// Assistant text, concatenated.
    pub text: String,
    pub usage: Option<Usage>,
    pub finish_reason: Option<String>,
}
