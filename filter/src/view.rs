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
    /// A free-form ("custom") tool: the model calls it with text, not JSON arguments. A call of the
    /// other kind is not a call to this tool (a client may still dispatch it by name).
    pub custom: bool,
    pub description: Option<String>,
    /// JSON schema of the arguments, as sent (`null` too).
    pub parameters: Option<JsonText>,
}

/// A JSON value kept as the compact text `Value::to_string` writes for it: what token counting
/// reads of a tool's schema. The typed readers write it straight from the body
/// (`typed::Compact`), without building the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    pub fn of(value: &Value) -> JsonText {
        JsonText(value.to_string())
    }

    /// Compact JSON text; the caller vouches that it is what `Value::to_string` writes.
    pub(crate) fn from_compact(text: String) -> JsonText {
        JsonText(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_null(&self) -> bool {
        self.0 == "null"
    }

    /// The value again (tests read its fields).
    #[cfg(test)]
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

/// A tool call made by the model, either in the request history or in a response.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: Option<String>,
    pub name: String,
    pub arguments: Arguments,
}

/// A tool call's arguments as the gateway could read them.
#[derive(Debug, Clone, PartialEq)]
pub enum Arguments {
    /// Exactly one JSON object.
    Object(Value),
    /// The free text of a call to a custom (free-form) tool; policies address it as `input`.
    Custom(String),
    /// What the gateway could not read as exactly one JSON object. The client decides what runs,
    /// and its parser may read more than ours (Python's `json` takes `NaN`, the Anthropic SDK
    /// completes cut-off JSON), so policy treats such a call as one it cannot check.
    Unreadable(Unreadable),
}

/// Why a call's arguments could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Not JSON the gateway's parser accepts.
    NotJson,
    /// JSON, but not an object.
    NotAnObject,
    /// The call never ended: its argument text stopped part-way.
    Incomplete,
    /// Over the gateway's size limit for arguments it holds.
    TooLarge,
    /// The tool name arrived in several different pieces, so the client may assemble another name.
    AmbiguousName,
}

impl Unreadable {
    pub fn describe(self) -> &'static str {
        match self {
            Unreadable::NotJson => "its arguments are not valid JSON",
            Unreadable::NotAnObject => "its arguments are not a JSON object",
            Unreadable::Incomplete => "its arguments were cut off before the call ended",
            Unreadable::TooLarge => "its arguments are larger than the gateway holds for checking",
            Unreadable::AmbiguousName => "its tool name arrived in conflicting pieces",
        }
    }
}

impl Arguments {
    /// No arguments: `{}`.
    pub fn empty() -> Arguments {
        Arguments::Object(Value::Object(serde_json::Map::new()))
    }

    /// The object, when these are JSON arguments that were read.
    pub fn object(&self) -> Option<&Value> {
        match self {
            Arguments::Object(v) => Some(v),
            Arguments::Custom(_) | Arguments::Unreadable(_) => None,
        }
    }

    /// What policy conditions see: the object, or a custom call's text as `{"input": text}`.
    pub fn for_policy(&self) -> Option<std::borrow::Cow<'_, Value>> {
        match self {
            Arguments::Object(v) => Some(std::borrow::Cow::Borrowed(v)),
            Arguments::Custom(text) => {
                let mut obj = serde_json::Map::new();
                obj.insert("input".to_owned(), Value::String(text.clone()));
                Some(std::borrow::Cow::Owned(Value::Object(obj)))
            }
            Arguments::Unreadable(_) => None,
        }
    }

    /// Whether this is a call to a custom (free-form) tool.
    pub fn is_custom(&self) -> bool {
        matches!(self, Arguments::Custom(_))
    }

    /// Compact text for messages and records: the JSON, or why there is none.
    pub fn display(&self) -> String {
        match self {
            Arguments::Object(v) => v.to_string(),
            Arguments::Custom(text) => Value::String(text.clone()).to_string(),
            Arguments::Unreadable(why) => format!("(unreadable: {})", why.describe()),
        }
    }
}

/// Readable arguments equal to `value` (tests compare against `json!` literals; a custom call's
/// text compares as `{"input": text}`).
impl PartialEq<Value> for Arguments {
    fn eq(&self, value: &Value) -> bool {
        self.for_policy().is_some_and(|v| v.as_ref() == value)
    }
}

impl From<Value> for Arguments {
    /// A JSON value given as the arguments: an object is read, anything else is not an object.
    fn from(value: Value) -> Arguments {
        match value {
            v @ Value::Object(_) => Arguments::Object(v),
            _ => Arguments::Unreadable(Unreadable::NotAnObject),
        }
    }
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
