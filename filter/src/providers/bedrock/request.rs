//! Bedrock `Converse` / `ConverseStream` request bodies. The model id is normally in the URL path
//! (`/model/{modelId}/converse`), and streaming is the route's choice, so the caller fills both.

use crate::providers::common;
use crate::providers::json::{array_at, object_or_empty, replace_at, str_at};
use crate::view::{self, JsonText, Role};
use serde_json::Value;
use std::collections::HashMap;

pub fn parse(body: &Value) -> view::Request {
    let mut req = view::Request {
        // Present only in the route form that carries the model id in the body.
        model: str_at(body, "modelId").map(str::to_string),
        stream: false,
        ..view::Request::default()
    };
    req.system = system_texts(body.get("system"));
    // Results name only the call id; the tool name comes from the matching `toolUse`, wherever in
    // the history it is.
    let names = tool_use_names(body);
    for (i, message) in array_at(body, "messages").iter().enumerate() {
        parse_message(message, i, &names, &mut req);
    }
    req.tools = declared_tools(body.get("toolConfig"));
    req
}

/// The texts of the `system` blocks.
pub(super) fn system_texts(system: Option<&Value>) -> Vec<String> {
    system
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|block| str_at(block, "text"))
        .map(str::to_string)
        .collect()
}

/// The tools `toolConfig` declares.
pub(super) fn declared_tools(config: Option<&Value>) -> Vec<view::ToolDecl> {
    config.map(|c| array_at(c, "tools")).unwrap_or(&[]).iter().filter_map(tool_decl).collect()
}

fn tool_use_names(body: &Value) -> HashMap<&str, &str> {
    array_at(body, "messages")
        .iter()
        .flat_map(|m| array_at(m, "content"))
        .filter_map(|block| block.get("toolUse").filter(|t| t.is_object()))
        .filter_map(|tu| Some((str_at(tu, "toolUseId")?, str_at(tu, "name")?)))
        .collect()
}

fn parse_message(message: &Value, i: usize, names: &HashMap<&str, &str>, req: &mut view::Request) {
    let role = match str_at(message, "role") {
        Some("assistant") => Role::Assistant,
        _ => Role::User,
    };
    let mut texts: Vec<&str> = Vec::new();
    let mut result_texts: Vec<String> = Vec::new();
    for (j, block) in array_at(message, "content").iter().enumerate() {
        if let Some(text) = str_at(block, "text") {
            texts.push(text);
        }
        if let Some(tu) = block.get("toolUse").filter(|t| t.is_object()) {
            req.tool_calls.push(view::ToolCall {
                id: str_at(tu, "toolUseId").map(str::to_string),
                name: str_at(tu, "name").unwrap_or_default().to_string(),
                arguments: object_or_empty(tu.get("input")),
            });
        }
        if let Some(tr) = block.get("toolResult").filter(|t| t.is_object()) {
            let call_id = str_at(tr, "toolUseId");
            let result = view::ToolResult {
                pointer: format!("/messages/{i}/content/{j}/toolResult/content"),
                call_id: call_id.map(str::to_string),
                tool_name: call_id.and_then(|id| names.get(id)).map(|n| n.to_string()),
                content: result_content(tr.get("content")),
                is_error: str_at(tr, "status") == Some("error"),
            };
            result_texts.push(result.content.clone());
            req.tool_results.push(result);
        }
    }
    req.messages.push(common::turn(role, &texts, &result_texts));
}

/// `toolResult.content` is a list of `{text}` / `{json}` / `{image}` / `{document}` blocks: a lone
/// text block is the text, a lone json block its serialisation, anything else the list as JSON.
pub(super) fn result_content(content: Option<&Value>) -> String {
    match content {
        Some(Value::Array(blocks)) => match blocks.as_slice() {
            [only] => match (only.get("text").and_then(Value::as_str), only.get("json")) {
                (Some(text), _) => text.to_string(),
                (None, Some(json)) => json.to_string(),
                (None, None) => Value::Array(blocks.clone()).to_string(),
            },
            _ => Value::Array(blocks.clone()).to_string(),
        },
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Entries without a `toolSpec` (`cachePoint`, system tools) declare nothing callable by name.
fn tool_decl(tool: &Value) -> Option<view::ToolDecl> {
    let spec = tool.get("toolSpec")?;
    Some(view::ToolDecl {
        name: str_at(spec, "name")?.to_string(),
        custom: false,
        description: str_at(spec, "description").map(str::to_string),
        parameters: spec.get("inputSchema").and_then(|s| s.get("json")).map(JsonText::of),
    })
}

/// Replaces the `toolResult.content` at `pointer` with one text block, the shape a tool's text
/// output has in Converse.
pub fn apply_result_edit(body: &mut Value, pointer: &str, text: &str) -> bool {
    replace_at(body, pointer, serde_json::json!([{ "text": text }]))
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
