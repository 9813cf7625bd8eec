//! Anthropic Messages request (`POST /v1/messages`) → neutral view.

use crate::providers::json;
use crate::view::{self, JsonText, Message, Role, ToolCall, ToolDecl, ToolResult};
use serde_json::Value;
use std::collections::HashMap;

pub fn parse(body: &Value) -> view::Request {
    let messages = json::array_at(body, "messages");
    // Results name their call only by id, and a client may reorder or trim history, so every
    // tool_use id in the request is known before any result is resolved.
    let names = tool_use_names(messages);

    let mut req = view::Request {
        model: json::str_at(body, "model").map(str::to_string),
        stream: json::bool_at(body, "stream"),
        system: system_texts(body.get("system")),
        tools: json::array_at(body, "tools").iter().filter_map(tool_decl).collect(),
        ..view::Request::default()
    };

    for (i, msg) in messages.iter().enumerate() {
        let role = match json::str_at(msg, "role") {
            Some("assistant") => Role::Assistant,
            _ => Role::User,
        };
        // Thinking, tool_use and tool_result blocks are not the turn's text.
        req.messages.push(Message { role, text: json::typed_text(msg.get("content")) });

        for (j, block) in json::array_at(msg, "content").iter().enumerate() {
            match (role, json::str_at(block, "type")) {
                (Role::Assistant, Some("tool_use")) => req.tool_calls.push(tool_call(block)),
                (Role::User, Some("tool_result")) => req.tool_results.push(tool_result(block, i, j, &names)),
                _ => {}
            }
        }
    }
    req
}

/// `system` is either a string or a list of text blocks (each may carry its own cache_control).
pub(super) fn system_texts(system: Option<&Value>) -> Vec<String> {
    match system {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter(|b| json::str_at(b, "type").is_none_or(|t| t == "text"))
            .filter_map(|b| json::str_at(b, "text"))
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn tool_use_names(messages: &[Value]) -> HashMap<&str, &str> {
    messages
        .iter()
        .filter(|m| json::str_at(m, "role") == Some("assistant"))
        .flat_map(|m| json::array_at(m, "content"))
        .filter(|block| json::str_at(block, "type") == Some("tool_use"))
        .filter_map(|block| Some((json::str_at(block, "id")?, json::str_at(block, "name")?)))
        .collect()
}

fn tool_call(block: &Value) -> ToolCall {
    ToolCall {
        id: json::str_at(block, "id").map(str::to_string),
        name: json::str_at(block, "name").unwrap_or_default().to_string(),
        arguments: json::object_or_empty(block.get("input")),
    }
}

fn tool_result(block: &Value, msg: usize, part: usize, names: &HashMap<&str, &str>) -> ToolResult {
    let call_id = json::str_at(block, "tool_use_id");
    ToolResult {
        // Points at `content` even when the block has none, so a replacement can add it.
        pointer: format!("/messages/{msg}/content/{part}/content"),
        call_id: call_id.map(str::to_string),
        tool_name: call_id.and_then(|id| names.get(id)).map(|n| n.to_string()),
        content: json::result_text(block.get("content")),
        is_error: json::bool_at(block, "is_error"),
    }
}

/// Client tools carry `input_schema`; server tools (`web_search_…`, `bash_…`) carry only a type
/// and a name, and are kept so policies still see the name.
pub(super) fn tool_decl(tool: &Value) -> Option<ToolDecl> {
    Some(ToolDecl {
        name: json::str_at(tool, "name")?.to_string(),
        custom: false,
        description: json::str_at(tool, "description").map(str::to_string),
        parameters: tool.get("input_schema").map(JsonText::of),
    })
}

/// Replaces the `content` of the tool_result block at `pointer` (from `tool_result`) with `text`,
/// adding it when the block had none. A pointer that no longer names a tool_result block is
/// refused rather than written somewhere else in the body.
pub fn apply_result_edit(body: &mut Value, pointer: &str, text: &str) -> bool {
    json::set_content_where(body, pointer, ("type", "tool_result"), text)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
