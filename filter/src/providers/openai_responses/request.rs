//! Responses API requests (`POST /v1/responses`).

use crate::error::WardenError;
use crate::providers::common;
use crate::providers::json::{self, array_at, str_at, string_at};
use crate::view::{self, JsonText, Message, Role, ToolCall, ToolDecl, ToolResult};
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
        kind if is_client_call(kind) => req.tool_calls.push(client_call(item)),
        kind if OUTPUT_ITEMS.contains(&kind) => {
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

/// Items that carry the output of a call the client ran, in `output`.
pub(super) const OUTPUT_ITEMS: [&str; 6] = [
    "function_call_output",
    "custom_tool_call_output",
    "computer_call_output",
    "local_shell_call_output",
    "shell_call_output",
    "apply_patch_call_output",
];

/// Refuses what the gateway could not police: a `background` response is fetched later by id,
/// outside the request whose tool policies would judge it.
pub fn check(body: &Value) -> Result<(), WardenError> {
    if json::bool_at(body, "background") {
        return Err(WardenError::InvalidRequest {
            message: "'background: true' is not supported through the Warden gateway: a background response is \
                      fetched later by id, where the gateway cannot check its tool calls against the policies. \
                      Send the request without 'background' (streaming works)."
                .into(),
        });
    }
    Ok(())
}

/// Output item types that the client runs: function and custom tools, and the built-in tools
/// executed on the client's side (computer use, local shell, shell, apply patch). Built-in tools
/// OpenAI runs itself (web search, file search, code interpreter, remote MCP) are not here.
const CLIENT_CALLS: [(&str, Option<&str>); 6] = [
    ("function_call", None),
    ("custom_tool_call", None),
    ("computer_call", Some("computer_use_preview")),
    ("local_shell_call", Some("local_shell")),
    ("shell_call", Some("shell")),
    ("apply_patch_call", Some("apply_patch")),
];

/// Whether an item of type `kind` is a call the client runs (and policy judges).
pub(crate) fn is_client_call(kind: &str) -> bool {
    CLIENT_CALLS.iter().any(|(k, _)| *k == kind)
}

/// The tool name a built-in client call goes by: the `type` of the tool that declares it.
fn builtin_name(kind: &str) -> Option<&'static str> {
    CLIENT_CALLS.iter().find(|(k, _)| *k == kind).and_then(|(_, name)| *name)
}

/// A call item the client runs (request history, response output, or a streamed
/// `output_item.done`). A function call without a name keeps an empty one: a call nobody can name
/// is refused, never skipped.
pub(crate) fn client_call(item: &Value) -> ToolCall {
    let kind = str_at(item, "type").unwrap_or_default();
    let id = string_at(item, "call_id");
    let name = builtin_name(kind).map(str::to_owned).or_else(|| string_at(item, "name")).unwrap_or_default();
    let arguments = match kind {
        "function_call" => json::arguments_value(item.get("arguments")),
        "custom_tool_call" => json::custom_input(str_at(item, "input").unwrap_or_default()),
        // The built-ins carry what to do as an object: `action` (computer, shells) or `operation`.
        _ => json::object_or_empty(item.get("action").or_else(|| item.get("operation"))),
    };
    ToolCall { id, name, arguments }
}

/// The built-in tools the client runs (not OpenAI): declared by type, called by that name.
pub(super) fn is_client_builtin(kind: &str) -> bool {
    matches!(kind, "computer_use_preview" | "local_shell" | "shell" | "apply_patch")
}

pub(super) fn declared_tools(body: &Value) -> Vec<ToolDecl> {
    array_at(body, "tools")
        .iter()
        .filter_map(|tool| {
            let kind = str_at(tool, "type")?;
            let parameters = match kind {
                "function" => tool.get("parameters").map(JsonText::of),
                "custom" => None,
                // Built-in tools the client runs are declared by type and called by that name.
                builtin if is_client_builtin(builtin) => {
                    return Some(ToolDecl {
                        name: kind.to_owned(),
                        custom: false,
                        description: None,
                        parameters: None,
                    });
                }
                // Other built-in tools (web search, file search, …) run at OpenAI, not in the client.
                _ => return None,
            };
            let custom = kind == "custom";
            Some(ToolDecl {
                name: string_at(tool, "name")?,
                custom,
                description: string_at(tool, "description"),
                parameters,
            })
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
