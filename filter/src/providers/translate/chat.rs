//! Reads the hub request (OpenAI Chat Completions) into typed parts every target translates
//! from, refusing on the way what the target cannot express (`Caps`). Every field the router knows
//! is either translated, checked to hold its default, or listed as droppable (no effect on the
//! answer); any other field is refused by name, so a new OpenAI option never changes an answer
//! silently.

use super::TranslateError;
use crate::providers::json::str_at;
use serde_json::{Map, Value};

/// What a target can express beyond the common core.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub target: &'static str,
    pub seed: bool,
    /// `presence_penalty`, `frequency_penalty`.
    pub penalties: bool,
    /// `response_format: json_object` is enforced.
    pub json_object: bool,
    /// `response_format: json_schema` is enforced.
    pub json_schema: bool,
    /// The target fetches http(s) image URLs itself.
    pub image_urls: bool,
    /// Media types of data-URL images the target takes; empty: any `image/*`.
    pub image_types: &'static [&'static str],
    /// Images inside tool results.
    pub tool_result_images: bool,
    /// `parallel_tool_calls: false` can be expressed.
    pub serial_tool_calls: bool,
    /// The highest `temperature` the target accepts.
    pub max_temperature: f64,
}

/// The hub request, typed. Turns keep the client's order; targets that keep system prompts apart
/// hoist `Turn::System`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub turns: Vec<Turn>,
    pub tools: Vec<Tool>,
    pub tool_choice: ToolChoice,
    pub parallel_tool_calls: bool,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// `max_completion_tokens`, else `max_tokens`.
    pub max_tokens: Option<u64>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub format: Format,
    pub stream: bool,
    pub include_usage: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// A `system` or `developer` message's text.
    System(String),
    User(Vec<Part>),
    /// Empty assistant turns (no text, no calls) are left out: no target accepts them.
    Assistant {
        text: String,
        calls: Vec<Call>,
    },
    Tool(ToolResult),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub id: String,
    pub name: String,
    /// The arguments, parsed: always a JSON object.
    pub arguments: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub call_id: String,
    /// The name of the call `call_id` names, from the latest assistant turn that made it.
    pub name: Option<String>,
    pub parts: Vec<Part>,
    /// The position of the message in `messages`, for errors.
    pub message: usize,
}

impl ToolResult {
    /// Where the message is (`messages[3]`), for errors.
    pub fn field(&self) -> String {
        format!("messages[{}]", self.message)
    }

    /// The result's text parts joined, as targets that take text only want it.
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self.parts.iter().filter_map(Part::as_text).collect();
        texts.join("\n")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Image(Image),
}

impl Part {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Part::Text(t) => Some(t),
            Part::Image(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub source: ImageSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    /// A `data:` URL: its media type and base64 payload (as sent, not decoded: every target's JSON
    /// takes base64 text).
    Data { media_type: String, data: String },
    /// An http(s) URL, only kept for targets that fetch images themselves.
    Url(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON schema of the arguments; `{"type":"object","properties":{}}` when none was given.
    pub parameters: Value,
    pub strict: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Named(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    Text,
    JsonObject,
    JsonSchema { name: String, schema: Value, strict: bool },
}

/// Top-level fields with no effect on the answer: dropped.
const DROPPED: &[&str] =
    &["user", "metadata", "store", "service_tier", "prompt_cache_key", "prompt_cache_retention", "safety_identifier"];

/// Reads `chat` for a target with `caps`.
pub fn read(chat: &Value, caps: &Caps) -> Result<ChatRequest, TranslateError> {
    let Some(obj) = chat.as_object() else {
        return Err(TranslateError::invalid("body", "a chat completions request is a JSON object"));
    };
    let mut req = ChatRequest {
        turns: Vec::new(),
        tools: Vec::new(),
        tool_choice: ToolChoice::Auto,
        parallel_tool_calls: true,
        temperature: None,
        top_p: None,
        max_tokens: None,
        stop: Vec::new(),
        seed: None,
        presence_penalty: None,
        frequency_penalty: None,
        format: Format::Text,
        stream: false,
        include_usage: false,
    };
    let mut max_completion = None;
    for (key, value) in obj {
        if value.is_null() || DROPPED.contains(&key.as_str()) {
            continue;
        }
        let unsupported = |why: &str| Err(TranslateError::unsupported(key.as_str(), caps.target, why));
        match key.as_str() {
            "model" | "messages" | "tools" | "tool_choice" => {}
            "stream" => req.stream = as_bool(key, value)?,
            "stream_options" => req.include_usage = value.get("include_usage").and_then(Value::as_bool) == Some(true),
            "parallel_tool_calls" => req.parallel_tool_calls = as_bool(key, value)?,
            "temperature" => req.temperature = Some(number(key, value)?),
            "top_p" => req.top_p = Some(number(key, value)?),
            "max_tokens" => req.max_tokens = Some(count(key, value)?),
            "max_completion_tokens" => max_completion = Some(count(key, value)?),
            "stop" => req.stop = stop(value)?,
            "seed" if caps.seed => req.seed = Some(value.as_i64().ok_or_else(|| invalid_type(key, "an integer"))?),
            "presence_penalty" | "frequency_penalty" => {
                let v = number(key, value)?;
                if v != 0.0 && !caps.penalties {
                    return unsupported("the target has no presence/frequency penalties");
                }
                if key == "presence_penalty" {
                    req.presence_penalty = Some(v).filter(|v| *v != 0.0);
                } else {
                    req.frequency_penalty = Some(v).filter(|v| *v != 0.0);
                }
            }
            "response_format" => req.format = format(value, caps)?,
            "n" if value.as_u64() == Some(1) => {}
            "n" => return unsupported("only one choice (n = 1) can be produced; the gateway polices a single answer"),
            "logprobs" if value.as_bool() == Some(false) => {}
            "top_logprobs" if value.as_u64() == Some(0) => {}
            "logprobs" | "top_logprobs" => return unsupported("the target does not return OpenAI token logprobs"),
            "logit_bias" if value.as_object().is_some_and(Map::is_empty) => {}
            "logit_bias" => return unsupported("the target has no per-token bias"),
            "modalities" if is_text_only(value) => {}
            "modalities" | "audio" => return unsupported("only text output can be translated"),
            "seed" => return unsupported("the target does not take a sampling seed"),
            "reasoning_effort" => {
                return unsupported("reasoning effort has no faithful equivalent on this target");
            }
            "functions" | "function_call" => {
                return unsupported("the legacy functions API is not translated; declare `tools` instead");
            }
            _ => return unsupported("the router does not translate this field"),
        }
    }
    req.max_tokens = max_completion.or(req.max_tokens);
    if req.temperature.is_some_and(|t| t > caps.max_temperature) {
        let why = format!("the target accepts a temperature of at most {}", caps.max_temperature);
        return Err(TranslateError::unsupported("temperature", caps.target, why));
    }
    req.tools = tools(obj.get("tools"), caps)?;
    // Harmless to drop without tools; with tools the client may not cope with several calls.
    if !req.parallel_tool_calls && !caps.serial_tool_calls && !req.tools.is_empty() {
        return Err(TranslateError::unsupported(
            "parallel_tool_calls",
            caps.target,
            "the target cannot be told to make one tool call at a time",
        ));
    }
    req.tool_choice = tool_choice(obj.get("tool_choice"), &req.tools)?;
    req.turns = messages(obj.get("messages"), caps)?;
    Ok(req)
}

fn invalid_type(field: &str, what: &str) -> TranslateError {
    TranslateError::invalid(field, format!("expected {what}"))
}

fn as_bool(key: &str, v: &Value) -> Result<bool, TranslateError> {
    v.as_bool().ok_or_else(|| invalid_type(key, "true or false"))
}

fn number(key: &str, v: &Value) -> Result<f64, TranslateError> {
    v.as_f64().ok_or_else(|| invalid_type(key, "a number"))
}

fn count(key: &str, v: &Value) -> Result<u64, TranslateError> {
    v.as_u64().ok_or_else(|| invalid_type(key, "a non-negative integer"))
}

fn is_text_only(v: &Value) -> bool {
    v.as_array().is_some_and(|m| m.iter().all(|x| x.as_str() == Some("text")))
}

fn stop(v: &Value) -> Result<Vec<String>, TranslateError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(all) => {
            all.iter().map(|s| s.as_str().map(str::to_owned).ok_or_else(|| invalid_type("stop", "strings"))).collect()
        }
        _ => Err(invalid_type("stop", "a string or an array of strings")),
    }
}

fn format(v: &Value, caps: &Caps) -> Result<Format, TranslateError> {
    let refuse = |why: &str| Err(TranslateError::unsupported("response_format", caps.target, why));
    match str_at(v, "type") {
        Some("text") => Ok(Format::Text),
        Some("json_object") if caps.json_object => Ok(Format::JsonObject),
        Some("json_object") => refuse("the target cannot be made to answer in JSON"),
        Some("json_schema") if caps.json_schema => {
            let spec = v.get("json_schema").unwrap_or(&Value::Null);
            let Some(schema) = spec.get("schema").filter(|s| s.is_object()) else {
                return Err(TranslateError::invalid(
                    "response_format.json_schema.schema",
                    "expected a JSON schema object",
                ));
            };
            Ok(Format::JsonSchema {
                name: str_at(spec, "name").unwrap_or("response").to_owned(),
                schema: schema.clone(),
                strict: spec.get("strict").and_then(Value::as_bool).unwrap_or(false),
            })
        }
        Some("json_schema") => refuse("the target cannot enforce a JSON schema on its answer"),
        _ => Err(TranslateError::invalid("response_format.type", "expected text, json_object or json_schema")),
    }
}

fn tools(v: Option<&Value>, caps: &Caps) -> Result<Vec<Tool>, TranslateError> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let all = v.as_array().ok_or_else(|| invalid_type("tools", "an array"))?;
    let mut out = Vec::with_capacity(all.len());
    for (i, tool) in all.iter().enumerate() {
        if str_at(tool, "type") != Some("function") {
            let why = "only function tools are translated";
            return Err(TranslateError::unsupported(format!("tools[{i}].type"), caps.target, why));
        }
        let f = tool.get("function").unwrap_or(&Value::Null);
        let name = str_at(f, "name").filter(|n| !n.is_empty());
        let name = name.ok_or_else(|| TranslateError::invalid(format!("tools[{i}].function.name"), "missing"))?;
        let parameters = match f.get("parameters") {
            Some(p @ Value::Object(_)) => p.clone(),
            None | Some(Value::Null) => serde_json::json!({"type": "object", "properties": {}}),
            Some(_) => return Err(invalid_type(&format!("tools[{i}].function.parameters"), "a JSON schema object")),
        };
        out.push(Tool {
            name: name.to_owned(),
            description: str_at(f, "description").filter(|d| !d.is_empty()).map(str::to_owned),
            parameters,
            strict: f.get("strict").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    Ok(out)
}

fn tool_choice(v: Option<&Value>, tools: &[Tool]) -> Result<ToolChoice, TranslateError> {
    let choice = match v {
        None | Some(Value::Null) => ToolChoice::Auto,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            _ => return Err(TranslateError::invalid("tool_choice", "expected auto, none, required or a function")),
        },
        Some(obj) if str_at(obj, "type") == Some("function") => {
            let name = obj.get("function").and_then(|f| str_at(f, "name"));
            let name = name.ok_or_else(|| TranslateError::invalid("tool_choice.function.name", "missing"))?;
            ToolChoice::Named(name.to_owned())
        }
        Some(_) => return Err(TranslateError::invalid("tool_choice", "only auto, none, required or a named function")),
    };
    if let ToolChoice::Named(name) = &choice {
        if !tools.iter().any(|t| &t.name == name) {
            return Err(TranslateError::invalid(
                "tool_choice.function.name",
                format!("no tool named '{name}' is declared"),
            ));
        }
    }
    if choice != ToolChoice::Auto && choice != ToolChoice::None && tools.is_empty() {
        return Err(TranslateError::invalid("tool_choice", "a tool is required but no tools are declared"));
    }
    Ok(choice)
}

fn messages(v: Option<&Value>, caps: &Caps) -> Result<Vec<Turn>, TranslateError> {
    let all = v.and_then(Value::as_array).ok_or_else(|| invalid_type("messages", "an array"))?;
    let mut turns = Vec::with_capacity(all.len());
    for (i, m) in all.iter().enumerate() {
        // Paths name the field only when an error needs them: the happy path allocates none.
        let at = At { message: i, part: None };
        let content = m.get("content").filter(|c| !c.is_null());
        match str_at(m, "role") {
            Some("system" | "developer") => turns.push(Turn::System(plain_text(content, at, caps)?)),
            Some("user") => turns.push(Turn::User(parts(content, at, caps, true)?)),
            Some("assistant") => {
                if let Some(t) = assistant(m, content, at, caps)? {
                    turns.push(t);
                }
            }
            Some("tool") => {
                let call_id = str_at(m, "tool_call_id")
                    .ok_or_else(|| TranslateError::invalid(at.path(".tool_call_id"), "missing"))?;
                let parts = parts(content, at, caps, caps.tool_result_images)?;
                let name = called(&turns, call_id);
                turns.push(Turn::Tool(ToolResult { call_id: call_id.to_owned(), name, parts, message: i }));
            }
            Some("function") => {
                let why = "legacy function messages are not translated";
                return Err(TranslateError::unsupported(at.path(""), caps.target, why));
            }
            _ => {
                let why = "expected system, developer, user, assistant or tool";
                return Err(TranslateError::invalid(at.path(".role"), why));
            }
        }
    }
    Ok(turns)
}

/// Where a value is in `messages`: formatted into a path only for an error.
#[derive(Debug, Clone, Copy)]
struct At {
    message: usize,
    /// The content part, when the value is inside one.
    part: Option<usize>,
}

impl At {
    fn path(self, tail: &str) -> String {
        match self.part {
            Some(j) => format!("messages[{}].content[{j}]{tail}", self.message),
            None => format!("messages[{}]{tail}", self.message),
        }
    }
}

/// The name of the latest call with id `call_id` in the turns so far.
fn called(turns: &[Turn], call_id: &str) -> Option<String> {
    turns.iter().rev().find_map(|t| match t {
        Turn::Assistant { calls, .. } => calls.iter().find(|c| c.id == call_id).map(|c| c.name.clone()),
        _ => None,
    })
}

fn assistant(m: &Value, content: Option<&Value>, at: At, caps: &Caps) -> Result<Option<Turn>, TranslateError> {
    for key in ["audio", "function_call"] {
        if m.get(key).is_some_and(|v| !v.is_null()) {
            let why = "only text and tool calls are translated";
            return Err(TranslateError::unsupported(at.path(&format!(".{key}")), caps.target, why));
        }
    }
    let mut text = plain_text(content, at, caps)?;
    if let Some(refusal) = str_at(m, "refusal").filter(|r| !r.is_empty()) {
        text.push_str(refusal);
    }
    let mut calls = Vec::new();
    for (j, call) in m.get("tool_calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate()
    {
        let path = |tail: &str| at.path(&format!(".tool_calls[{j}]{tail}"));
        if str_at(call, "type").is_some_and(|t| t != "function") {
            return Err(TranslateError::unsupported(path(".type"), caps.target, "only function calls are translated"));
        }
        let f = call.get("function").unwrap_or(&Value::Null);
        let id = str_at(call, "id").ok_or_else(|| TranslateError::invalid(path(".id"), "missing"))?;
        let name = str_at(f, "name").ok_or_else(|| TranslateError::invalid(path(".function.name"), "missing"))?;
        let arguments = arguments(f.get("arguments"))
            .ok_or_else(|| TranslateError::invalid(path(".function.arguments"), "not a JSON object"))?;
        calls.push(Call { id: id.to_owned(), name: name.to_owned(), arguments });
    }
    if text.is_empty() && calls.is_empty() {
        return Ok(None);
    }
    Ok(Some(Turn::Assistant { text, calls }))
}

/// Tool-call arguments as an object. An empty string (tools without parameters) is `{}`; text
/// that is not a JSON object is `None`, refused rather than guessed at.
fn arguments(v: Option<&Value>) -> Option<Value> {
    match v {
        None | Some(Value::Null) => Some(Value::Object(Map::new())),
        Some(Value::String(s)) if s.trim().is_empty() => Some(Value::Object(Map::new())),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok().filter(Value::is_object),
        Some(obj @ Value::Object(_)) => Some(obj.clone()),
        Some(_) => None,
    }
}

/// Text-only content (system, developer, assistant): a string or text/refusal parts.
fn plain_text(content: Option<&Value>, at: At, caps: &Caps) -> Result<String, TranslateError> {
    if let Some(Value::String(s)) = content {
        return Ok(s.clone());
    }
    let mut text = String::new();
    for part in parts(content, at, caps, false)? {
        if let Part::Text(t) = part {
            text.push_str(&t);
        }
    }
    Ok(text)
}

/// Content as parts. Images are kept only when `images` allows them here.
fn parts(content: Option<&Value>, at: At, caps: &Caps, images: bool) -> Result<Vec<Part>, TranslateError> {
    let list = match content {
        None => return Ok(Vec::new()),
        Some(Value::String(s)) => return Ok(vec![Part::Text(s.clone())]),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(invalid_type(&at.path(".content"), "a string or an array of parts")),
    };
    let mut out = Vec::with_capacity(list.len());
    for (j, part) in list.iter().enumerate() {
        let at = At { part: Some(j), ..at };
        match str_at(part, "type") {
            Some("text") => out.push(Part::Text(str_at(part, "text").unwrap_or_default().to_owned())),
            Some("refusal") => out.push(Part::Text(str_at(part, "refusal").unwrap_or_default().to_owned())),
            Some("image_url") if images => out.push(Part::Image(image(part, at, caps)?)),
            Some(kind) => {
                let why = match kind {
                    "image_url" => "images are not accepted in this message on this target",
                    "input_audio" => "audio input is not translated",
                    "file" => "file parts are not translated",
                    _ => "unknown content part type",
                };
                return Err(TranslateError::unsupported(at.path(""), caps.target, why));
            }
            None => return Err(TranslateError::invalid(at.path(".type"), "missing")),
        }
    }
    Ok(out)
}

fn image(part: &Value, at: At, caps: &Caps) -> Result<Image, TranslateError> {
    let field = || at.path(".image_url.url");
    let url = part.get("image_url").and_then(|u| str_at(u, "url").or_else(|| u.as_str()));
    let url = url.ok_or_else(|| TranslateError::invalid(field(), "missing"))?;
    if let Some(rest) = url.strip_prefix("data:") {
        let (meta, data) =
            rest.split_once(',').ok_or_else(|| TranslateError::invalid(field(), "a data URL needs a comma"))?;
        let media_type = meta
            .strip_suffix(";base64")
            .ok_or_else(|| TranslateError::invalid(field(), "only base64 data URLs are translated"))?;
        let accepted = if caps.image_types.is_empty() {
            media_type.starts_with("image/")
        } else {
            caps.image_types.contains(&media_type)
        };
        if !accepted {
            let why = format!("images of type '{media_type}' are not accepted");
            return Err(TranslateError::unsupported(field(), caps.target, why));
        }
        return Ok(Image { source: ImageSource::Data { media_type: media_type.to_owned(), data: data.to_owned() } });
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(TranslateError::invalid(field(), "expected a data: or http(s) URL"));
    }
    if !caps.image_urls {
        let why = "the target does not fetch image URLs; send the image inline as a base64 data URL";
        return Err(TranslateError::unsupported(field(), caps.target, why));
    }
    Ok(Image { source: ImageSource::Url(url.to_owned()) })
}

/// Turns with consecutive same-role messages merged, as the targets that require alternation
/// want them: `role` names each message's role, `push` appends a message's blocks to the last
/// message when roles repeat. A helper over `serde_json` arrays of `{role, <key>: [...]}`.
pub fn push_merged(messages: &mut Vec<Value>, role: &str, key: &str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = messages.last_mut().filter(|m| str_at(m, "role") == Some(role)) {
        if let Some(list) = last.get_mut(key).and_then(Value::as_array_mut) {
            list.extend(blocks);
            return;
        }
    }
    let mut m = Map::new();
    m.insert("role".into(), Value::String(role.to_owned()));
    m.insert(key.into(), Value::Array(blocks));
    messages.push(Value::Object(m));
}

/// The system texts of `turns`, in order, without empty ones.
pub fn system_texts(turns: &[Turn]) -> Vec<&str> {
    turns
        .iter()
        .filter_map(|t| match t {
            Turn::System(s) if !s.is_empty() => Some(s.as_str()),
            _ => None,
        })
        .collect()
}
