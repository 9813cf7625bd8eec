//! Cohere v2 chat request (`POST /v2/chat`) → neutral view.

use crate::providers::json;
use crate::view::{self, JsonText, Message, Role, ToolCall, ToolDecl, ToolResult};
use serde_json::Value;
use std::collections::HashMap;

pub fn parse(body: &Value) -> view::Request {
    let messages = json::array_at(body, "messages");
    // Tool messages name their call only by id; every call in the history is known up front.
    let names = tool_call_names(messages);

    let mut req = view::Request {
        model: json::str_at(body, "model").map(str::to_string),
        stream: json::bool_at(body, "stream"),
        tools: json::array_at(body, "tools").iter().filter_map(tool_decl).collect(),
        ..view::Request::default()
    };

    for (i, msg) in messages.iter().enumerate() {
        match json::str_at(msg, "role") {
            Some("system") => {
                req.messages.push(Message { role: Role::System, text: json::typed_text(msg.get("content")) })
            }
            Some("assistant") => {
                req.messages.push(Message { role: Role::Assistant, text: assistant_text(msg) });
                req.tool_calls.extend(json::array_at(msg, "tool_calls").iter().map(tool_call));
            }
            Some("tool") => {
                let content = result_text(msg.get("content"));
                let call_id = json::str_at(msg, "tool_call_id");
                req.tool_results.push(ToolResult {
                    pointer: format!("/messages/{i}/content"),
                    call_id: call_id.map(str::to_string),
                    tool_name: call_id.and_then(|id| names.get(id)).map(|n| n.to_string()),
                    content: content.clone(),
                    // v2 tool messages carry no error flag; errors come back as ordinary content.
                    is_error: false,
                });
                req.messages.push(Message { role: Role::Tool, text: content });
            }
            _ => req.messages.push(Message { role: Role::User, text: json::typed_text(msg.get("content")) }),
        }
    }
    req
}

/// An assistant turn's text; a tool-calling turn usually has no content but a `tool_plan`,
/// which the model reads back as part of the conversation.
fn assistant_text(msg: &Value) -> String {
    with_plan(json::typed_text(msg.get("content")), json::str_at(msg, "tool_plan"))
}

/// An assistant turn's `content` text with its `tool_plan` (`assistant_text`; shared with the
/// typed reader).
pub(super) fn with_plan(content: String, plan: Option<&str>) -> String {
    match plan.filter(|p| !p.is_empty()) {
        Some(plan) if content.is_empty() => plan.to_string(),
        Some(plan) => format!("{plan}\n{content}"),
        None => content,
    }
}

/// A tool message's content as text: a string as is; each part's text, or a document's `data`
/// (as is when a string, else as JSON); one part unwrapped, several joined with newlines.
pub(super) fn result_text(content: Option<&Value>) -> String {
    let Some(Value::Array(parts)) = content else {
        return json::result_text(content);
    };
    let texts: Vec<String> = parts
        .iter()
        .map(|part| match json::str_at(part, "type") {
            Some("text") => json::str_at(part, "text").unwrap_or_default().to_string(),
            Some("document") => match part.get("document").and_then(|d| d.get("data")) {
                Some(Value::String(s)) => s.clone(),
                Some(data) => data.to_string(),
                None => part.to_string(),
            },
            _ => part.to_string(),
        })
        .collect();
    texts.join("\n")
}

fn tool_call_names(messages: &[Value]) -> HashMap<&str, &str> {
    call_names(
        messages
            .iter()
            .filter(|m| json::str_at(m, "role") == Some("assistant"))
            .flat_map(|m| json::array_at(m, "tool_calls")),
    )
}

/// Each call's id → its function's name, over the assistant turns' `tool_calls` in order (a later
/// call with the same id names it; shared with the typed reader).
pub(super) fn call_names<'v>(calls: impl Iterator<Item = &'v Value>) -> HashMap<&'v str, &'v str> {
    calls
        .filter_map(|call| {
            let name = call.get("function").and_then(|f| json::str_at(f, "name"))?;
            Some((json::str_at(call, "id")?, name))
        })
        .collect()
}

/// Shared with the response parser: `{id, type:"function", function:{name, arguments}}`, where
/// `arguments` is a JSON string (an object is accepted too).
pub(crate) fn tool_call(call: &Value) -> ToolCall {
    let function = call.get("function");
    ToolCall {
        id: json::str_at(call, "id").map(str::to_string),
        name: function.and_then(|f| json::str_at(f, "name")).unwrap_or_default().to_string(),
        arguments: json::arguments_value(function.and_then(|f| f.get("arguments"))),
    }
}

pub(super) fn tool_decl(tool: &Value) -> Option<ToolDecl> {
    let function = tool.get("function")?;
    Some(ToolDecl {
        name: json::str_at(function, "name")?.to_string(),
        custom: false,
        description: json::str_at(function, "description").map(str::to_string),
        parameters: function.get("parameters").map(JsonText::of),
    })
}

/// Replaces the content of the tool message at `pointer` (from `parse`) with `text` as a plain
/// string, adding it when the message had none. A pointer that no longer names a tool message is
/// refused rather than written somewhere else in the body.
pub fn apply_result_edit(body: &mut Value, pointer: &str, text: &str) -> bool {
    json::set_content_where(body, pointer, ("role", "tool"), text)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
