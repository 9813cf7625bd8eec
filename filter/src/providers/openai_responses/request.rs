//! Responses API requests (`POST /v1/responses`).

use crate::providers::common;
use crate::providers::json::{self, array_at, str_at, string_at};
use crate::view::{self, Message, Role, ToolCall, ToolDecl, ToolResult};
use serde_json::Value;

pub fn parse(body: &Value) -> view::Request {
    let mut req = view::Request {
        model: string_at(body, "model"),
        stream: json::bool_at(body, "stream"),
        tools: declared_tools(body),
        ..Default::default()
    };
    if let Some(instructions) = str_at(body, "instructions").filter(|s| !s.is_empty()) {
        req.system.push(instructions.to_owned());
    }
    match body.get("input") {
        Some(Value::String(text)) => req.messages.push(Message { role: Role::User, text: text.clone() }),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                read_item(&mut req, i, item);
            }
        }
        _ => {}
    }
    // Outputs name their call by `call_id` only; the name is on the matching call item.
    common::name_results_by_call_id(&mut req);
    req
}

fn read_item(req: &mut view::Request, i: usize, item: &Value) {
    // Items without a `type` are messages (the "easy input message" form: just role and content).
    match str_at(item, "type").unwrap_or("message") {
        "message" => {
            let role = match str_at(item, "role") {
                Some("system" | "developer") => Role::System,
                Some("assistant") => Role::Assistant,
                Some("user") => Role::User,
                _ => return,
            };
            req.messages.push(Message { role, text: json::text_of(item.get("content")) });
        }
        "function_call" => req.tool_calls.extend(function_call(item)),
        "custom_tool_call" => req.tool_calls.extend(custom_tool_call(item)),
        "function_call_output" | "custom_tool_call_output" => {
            let content = json::result_text(item.get("output"));
            req.messages.push(Message { role: Role::Tool, text: content.clone() });
            req.tool_results.push(ToolResult {
                pointer: format!("/input/{i}/output"),
                call_id: string_at(item, "call_id"),
                tool_name: None,
                content,
                is_error: false,
            });
        }
        _ => {}
    }
}

/// A `function_call` item (request history, response output, or a streamed `output_item.done`).
pub(crate) fn function_call(item: &Value) -> Option<ToolCall> {
    Some(ToolCall {
        id: string_at(item, "call_id"),
        name: string_at(item, "name")?,
        arguments: json::arguments_value(item.get("arguments")),
    })
}

/// A `custom_tool_call` item: free-form input text rather than JSON arguments.
pub(crate) fn custom_tool_call(item: &Value) -> Option<ToolCall> {
    Some(ToolCall {
        id: string_at(item, "call_id"),
        name: string_at(item, "name")?,
        arguments: json::custom_input(str_at(item, "input").unwrap_or_default()),
    })
}

fn declared_tools(body: &Value) -> Vec<ToolDecl> {
    array_at(body, "tools")
        .iter()
        .filter_map(|tool| {
            let parameters = match str_at(tool, "type") {
                Some("function") => tool.get("parameters").cloned(),
                Some("custom") => None,
                // Built-in tools (web search, file search, …) run at OpenAI, not in the client.
                _ => return None,
            };
            Some(ToolDecl { name: string_at(tool, "name")?, description: string_at(tool, "description"), parameters })
        })
        .collect()
}

/// Replaces a `function_call_output` (or `custom_tool_call_output`) item's `output` at `pointer`
/// (`/input/{i}/output`) with `text`; a string is valid for both, whatever shape it had.
pub fn apply_result_edit(body: &mut Value, pointer: &str, text: &str) -> bool {
    json::set_string_at(body, pointer, text)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
