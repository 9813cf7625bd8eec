//! Chat Completions requests (OpenAI and the OpenAI-compatible family).

use crate::providers::common;
use crate::providers::json::{self, array_at, str_at, string_at};
use crate::view::{self, JsonText, Message, Role, ToolCall, ToolDecl, ToolResult};
use serde_json::{Map, Value};

pub fn parse(body: &Value) -> view::Request {
    let mut req = view::Request {
        model: string_at(body, "model"),
        stream: json::bool_at(body, "stream"),
        tools: declared_tools(body.get("tools"), body.get("functions")),
        ..Default::default()
    };
    for (i, msg) in array_at(body, "messages").iter().enumerate() {
        let parts = MessageParts {
            role: str_at(msg, "role"),
            content: Content::Json(msg.get("content")),
            tool_calls: array_at(msg, "tool_calls"),
            function_call: msg.get("function_call"),
            tool_call_id: string_at(msg, "tool_call_id"),
            name: string_at(msg, "name"),
        };
        read_message(&mut req, i, parts);
    }
    // Results name their call by id only; the name comes from whichever assistant turn made the call.
    common::name_results_by_call_id(&mut req);
    req
}

/// A message's `content`: its text when a reader already has it (a string), else the value.
pub(super) enum Content<'v> {
    Text(String),
    Json(Option<&'v Value>),
}

impl Content<'_> {
    /// The text of a conversation turn: a string, or its parts' texts joined.
    fn text(self) -> String {
        match self {
            Content::Text(text) => text,
            Content::Json(v) => json::text_of(v),
        }
    }

    /// The text of a tool result: a string, a single text part unwrapped, else the JSON.
    fn result(self) -> String {
        match self {
            Content::Text(text) => text,
            Content::Json(v) => json::result_text(v),
        }
    }
}

/// The fields of one message the view reads, from a tree or from a typed reader.
pub(super) struct MessageParts<'v> {
    pub role: Option<&'v str>,
    pub content: Content<'v>,
    pub tool_calls: &'v [Value],
    pub function_call: Option<&'v Value>,
    pub tool_call_id: Option<String>,
    pub name: Option<String>,
}

pub(super) fn read_message(req: &mut view::Request, i: usize, msg: MessageParts<'_>) {
    match msg.role.unwrap_or_default() {
        "system" | "developer" => req.messages.push(Message { role: Role::System, text: msg.content.text() }),
        "user" => req.messages.push(Message { role: Role::User, text: msg.content.text() }),
        "assistant" => {
            req.messages.push(Message { role: Role::Assistant, text: msg.content.text() });
            req.tool_calls.extend(msg.tool_calls.iter().filter_map(tool_call));
            if let Some(legacy) = msg.function_call.and_then(legacy_function_call) {
                req.tool_calls.push(legacy);
            }
        }
        // `function` is the legacy form of `tool`: it names the function instead of a call id.
        role @ ("tool" | "function") => {
            let text = msg.content.result();
            req.messages.push(Message { role: Role::Tool, text: text.clone() });
            req.tool_results.push(ToolResult {
                pointer: format!("/messages/{i}/content"),
                call_id: msg.tool_call_id,
                tool_name: if role == "function" { msg.name } else { None },
                content: text,
                is_error: false,
            });
        }
        _ => {}
    }
}

/// One entry of `tool_calls` (request history or response message): a function call, or a custom
/// (free-form input) tool call.
pub(crate) fn tool_call(call: &Value) -> Option<ToolCall> {
    let id = string_at(call, "id");
    if str_at(call, "type") == Some("custom") {
        let custom = call.get("custom").filter(|c| c.is_object())?;
        return Some(ToolCall {
            id,
            // A call without a readable name is kept with an empty one: policy refuses a call
            // nobody can name, where dropping it would let it reach the client unjudged.
            name: string_at(custom, "name").unwrap_or_default(),
            arguments: json::custom_input(str_at(custom, "input").unwrap_or_default()),
        });
    }
    let function = call.get("function").filter(|f| f.is_object())?;
    Some(ToolCall {
        id,
        name: string_at(function, "name").unwrap_or_default(),
        arguments: json::arguments_value(function.get("arguments")),
    })
}

/// The pre-`tools` single `function_call` of an assistant message.
pub(crate) fn legacy_function_call(call: &Value) -> Option<ToolCall> {
    // `"function_call": null` is what a message without one says.
    call.as_object()?;
    let name = string_at(call, "name").unwrap_or_default();
    Some(ToolCall { id: None, name, arguments: json::arguments_value(call.get("arguments")) })
}

pub(super) fn declared_tools(tools: Option<&Value>, functions: Option<&Value>) -> Vec<ToolDecl> {
    let mut declared: Vec<ToolDecl> = list(tools)
        .iter()
        .filter_map(|tool| match str_at(tool, "type") {
            Some("function") => tool.get("function").and_then(function_decl),
            Some("custom") => {
                let custom = tool.get("custom")?;
                Some(ToolDecl {
                    name: string_at(custom, "name")?,
                    custom: true,
                    description: string_at(custom, "description"),
                    parameters: None,
                })
            }
            _ => None,
        })
        .collect();
    // Legacy `functions` declarations.
    declared.extend(list(functions).iter().filter_map(function_decl));
    declared
}

fn list(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

fn function_decl(function: &Value) -> Option<ToolDecl> {
    Some(ToolDecl {
        name: string_at(function, "name")?,
        custom: false,
        description: string_at(function, "description"),
        parameters: function.get("parameters").map(JsonText::of),
    })
}

/// Makes a streaming request ask for the final usage chunk (`stream_options.include_usage`), which
/// metering needs, keeping the client's other `stream_options` and every other field in place.
///
/// Returns `true` when the client had asked for usage itself, so the usage chunk must reach it;
/// `false` when the gateway added the flag, so the stream fold should drop that chunk. Bodies that
/// do not stream (or are not objects) are left untouched and return `true`: there is nothing to hide.
pub fn force_include_usage(body: &mut Value) -> bool {
    let Some(obj) = body.as_object_mut() else { return true };
    if obj.get("stream").and_then(Value::as_bool) != Some(true) {
        return true;
    }
    let options = obj.entry("stream_options").or_insert_with(|| Value::Object(Map::new()));
    if !options.is_object() {
        *options = Value::Object(Map::new());
    }
    let Some(options) = options.as_object_mut() else { return true };
    let asked = options.get("include_usage").and_then(Value::as_bool) == Some(true);
    if !asked {
        options.insert("include_usage".to_owned(), Value::Bool(true));
    }
    asked
}

/// Replaces the tool message content at `pointer` (`/messages/{i}/content`) with `text`, a plain
/// string, which every OpenAI-wire server accepts for a tool message.
pub fn apply_result_edit(body: &mut Value, pointer: &str, text: &str) -> bool {
    json::set_string_at(body, pointer, text)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
