//! Adversarial model outputs as raw upstream bytes, in every wire format, and a permissive client
//! that reads them the way the official SDKs (or a lenient agent) would.
//!
//! - The model ([`Output`]): choices (candidates), each with text and tool calls whose name and
//!   argument TEXT are raw pieces, so arguments can be anything a model might write, valid JSON or
//!   not. [`Style`] adds what an upstream's framing may do around them (CRLF, `data:` without a
//!   space, gzip, broken framing, an event name that disagrees with its data, …).
//! - [`render`]: the bytes an upstream would send for an output in one [`Format`].
//! - [`client`]: what a permissive client extracts from reply bytes as tool calls, and whether the
//!   test policy forbids a call on the client's own reading of its arguments.
//! - [`corpus`]: every (format × attack) case, with the request that declares the tools.
//!
//! Independent of the filter's parsers on purpose: a shared bug would hide itself.

pub mod client;
mod client_read;
pub mod corpus;
pub mod lenient;
mod render_anthropic;
mod render_bedrock;
mod render_cohere;
mod render_gemini;
mod render_openai;
mod render_responses;
pub mod wire;

pub use crate::seen::Format;

/// A model output: one entry per choice (OpenAI `n`) or candidate (Gemini `candidateCount`).
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub choices: Vec<Choice>,
}

#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// Text pieces (deltas), before the calls.
    pub text: Vec<String>,
    pub calls: Vec<Call>,
}

/// How a call is spelled on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Function,
    /// OpenAI free-form tool (`custom`, Responses `custom_tool_call`): the arguments are input text.
    Custom,
    /// OpenAI chat's pre-`tools` `function_call`.
    Legacy,
    /// A Responses built-in the client runs, by item type (`local_shell_call`, …); the arguments
    /// are its `action` (or `operation`) JSON.
    Builtin(&'static str),
}

#[derive(Debug, Clone)]
pub struct Call {
    pub kind: Kind,
    /// Name pieces as streamed (OpenAI chat sends each in its own delta); empty: no name at all.
    pub name: Vec<String>,
    /// Argument text pieces. Formats that carry arguments as a JSON value splice the joined text in
    /// raw, so invalid text makes the frame (or body) itself invalid.
    pub args: Vec<String>,
}

impl Call {
    pub fn new(name: &str, args: &str) -> Call {
        Call { kind: Kind::Function, name: vec![name.to_string()], args: pieces(args, 6) }
    }

    pub fn kind(mut self, kind: Kind) -> Call {
        self.kind = kind;
        self
    }

    pub fn name_pieces(mut self, pieces: &[&str]) -> Call {
        self.name = pieces.iter().map(|p| p.to_string()).collect();
        self
    }

    pub fn name(&self) -> String {
        self.name.concat()
    }

    pub fn args_text(&self) -> String {
        self.args.concat()
    }
}

impl Output {
    pub fn one(text: &[&str], calls: Vec<Call>) -> Output {
        Output { choices: vec![Choice { text: text.iter().map(|t| t.to_string()).collect(), calls }] }
    }
}

/// `text` in pieces of `n` characters (mid-token on purpose).
pub fn pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(n.max(1)).map(|c| c.iter().collect()).collect()
}

/// What the upstream does around the calls. Each renderer honours the flags that mean something in
/// its format and ignores the rest (the corpus only sets applicable ones).
#[derive(Debug, Clone, Default)]
pub struct Style {
    /// SSE lines end in `\r\n`.
    pub crlf: bool,
    /// SSE `data:` without the space.
    pub no_space: bool,
    /// The stream stops after the last call's arguments: no block/item end, no finish event, no
    /// `[DONE]`, no closing `]`.
    pub unfinished: bool,
    /// The last event has no line terminator at all (SSE), or the array's last element is cut and
    /// never closed (JSON array).
    pub unterminated: bool,
    /// The frames that carry calls also carry a bare `NaN` (JSON a lenient parser takes and serde
    /// does not).
    pub lenient_frames: bool,
    /// The frames that carry calls say `"error": null` (OpenAI chat streams).
    pub null_error: bool,
    /// The events that carry calls are named something other than their data's `type`.
    pub renamed_events: bool,
    /// Anthropic: tool blocks get their stated indexes in reverse order.
    pub swapped_indexes: bool,
    /// Anthropic: the calls arrive inside `message_start`'s `message.content`.
    pub calls_in_message_start: bool,
    /// Bedrock: each call's input deltas address a block index that never started.
    pub orphan_deltas: bool,
    /// Bedrock: call events carry `:event-type` twice, a harmless one first.
    pub duplicate_event_type: bool,
    /// Bedrock: a message with a broken CRC goes before the calls.
    pub bad_crc_before: bool,
    /// Gemini array: a separator that is not `,` goes before the calls.
    pub bad_separator: bool,
    /// Gemini SSE: the calls' chunk is a bare JSON line without `data:`.
    pub bare_json_line: bool,
    /// A single event larger than 4 MiB (text) goes before the calls.
    pub huge_event_before: bool,
    /// Responses: calls only in the terminal `response.completed` output.
    pub only_in_completed: bool,
    /// Responses: `output_item.added` and deltas, never `output_item.done`, and not listed in
    /// `response.completed` either.
    pub never_done: bool,
}

/// Bytes as the upstream writes them: one entry per natural write (an event, or the whole body).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub parts: Vec<Vec<u8>>,
}

impl Rendered {
    pub fn body(&self) -> Vec<u8> {
        self.parts.concat()
    }
}

/// Whether a format is a stream.
pub fn is_stream(format: Format) -> bool {
    !matches!(
        format,
        Format::ChatJson
            | Format::ResponsesJson
            | Format::AnthropicJson
            | Format::GeminiJson
            | Format::BedrockJson
            | Format::CohereJson
    )
}

/// The bytes an upstream sends for `output` in `format`.
pub fn render(format: Format, output: &Output, style: &Style) -> Rendered {
    let (content_type, parts) = match format {
        Format::ChatJson => ("application/json", render_openai::chat_json(output, style)),
        Format::ChatSse => ("text/event-stream", render_openai::chat_sse(output, style)),
        Format::ResponsesJson => ("application/json", render_responses::json(output, style)),
        Format::ResponsesSse => ("text/event-stream", render_responses::sse(output, style)),
        Format::AnthropicJson => ("application/json", render_anthropic::json(output, style)),
        Format::AnthropicSse => ("text/event-stream", render_anthropic::sse(output, style)),
        Format::GeminiJson => ("application/json", render_gemini::json(output, style)),
        Format::GeminiSse => ("text/event-stream", render_gemini::sse(output, style)),
        Format::GeminiArray => ("application/json", render_gemini::array(output, style)),
        Format::BedrockJson => ("application/json", render_bedrock::json(output, style)),
        Format::BedrockEvents => (crate::mock::bedrock::EVENTSTREAM, render_bedrock::events(output, style)),
        Format::CohereJson => ("application/json", render_cohere::json(output, style)),
        Format::CohereSse => ("text/event-stream", render_cohere::sse(output, style)),
    };
    Rendered { content_type: content_type.to_string(), headers: Vec::new(), parts }
}

/// Every format, in a fixed order.
pub const FORMATS: [Format; 13] = [
    Format::ChatJson,
    Format::ChatSse,
    Format::ResponsesJson,
    Format::ResponsesSse,
    Format::AnthropicJson,
    Format::AnthropicSse,
    Format::GeminiJson,
    Format::GeminiSse,
    Format::GeminiArray,
    Format::BedrockJson,
    Format::BedrockEvents,
    Format::CohereJson,
    Format::CohereSse,
];

/// A short label for a format.
pub fn label(format: Format) -> &'static str {
    match format {
        Format::ChatJson => "chat_json",
        Format::ChatSse => "chat_sse",
        Format::ResponsesJson => "responses_json",
        Format::ResponsesSse => "responses_sse",
        Format::AnthropicJson => "anthropic_json",
        Format::AnthropicSse => "anthropic_sse",
        Format::GeminiJson => "gemini_json",
        Format::GeminiSse => "gemini_sse",
        Format::GeminiArray => "gemini_array",
        Format::BedrockJson => "bedrock_json",
        Format::BedrockEvents => "bedrock_events",
        Format::CohereJson => "cohere_json",
        Format::CohereSse => "cohere_sse",
    }
}

#[cfg(test)]
mod tests;
