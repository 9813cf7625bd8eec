//! Gemini `generateContent` / `streamGenerateContent` request bodies. The model and the streaming
//! flag live in the URL, so the caller fills them from the route. Google's REST API accepts every
//! field in lowerCamel or snake_case (SDKs send both), so each field is looked up in both spellings.

use crate::providers::common;
use crate::providers::json::{
    array_at, bool_at, first_at, first_key, object_or_empty, pointer_token, replace_at, result_text, str_at,
};
use crate::view::{self, JsonText, Role};
use serde_json::Value;

pub fn parse(body: &Value) -> view::Request {
    let mut req = view::Request {
        // A body `model` is rare (cached-content style bodies); the path form `models/x` is stripped
        // so it matches the bare name the route gives.
        model: str_at(body, "model").map(|m| m.strip_prefix("models/").unwrap_or(m).to_string()),
        stream: false,
        ..view::Request::default()
    };
    if let Some(system) = first_at(body, &["systemInstruction", "system_instruction"]) {
        req.system = system_texts(system);
    }
    for (i, content) in array_at(body, "contents").iter().enumerate() {
        parse_content(content, &format!("/contents/{i}"), &mut req);
    }
    req.tools = tool_decls(body.get("tools"));
    req
}

/// `systemInstruction` is a Content (`{parts:[{text}]}`); a bare string is tolerated.
fn system_texts(system: &Value) -> Vec<String> {
    if let Some(text) = system.as_str() {
        return vec![text.to_string()];
    }
    array_at(system, "parts")
        .iter()
        .filter_map(|p| str_at(p, "text"))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_content(content: &Value, base: &str, req: &mut view::Request) {
    let role = match str_at(content, "role") {
        Some("model") => Role::Assistant,
        Some("function" | "tool") => Role::Tool,
        _ => Role::User,
    };
    let mut texts: Vec<&str> = Vec::new();
    let mut result_texts: Vec<String> = Vec::new();
    for (j, part) in array_at(content, "parts").iter().enumerate() {
        if let Some(text) = str_at(part, "text") {
            // Thought summaries echoed back in the history are the model's reasoning, not the turn.
            if !bool_at(part, "thought") {
                texts.push(text);
            }
        }
        if let Some(call) = first_at(part, &["functionCall", "function_call"]).filter(|c| c.is_object()) {
            req.tool_calls.push(view::ToolCall {
                id: str_at(call, "id").map(str::to_string),
                name: str_at(call, "name").unwrap_or_default().to_string(),
                arguments: object_or_empty(call.get("args")),
            });
        }
        if let Some((key, fr)) =
            first_key(part, &["functionResponse", "function_response"]).filter(|(_, fr)| fr.is_object())
        {
            let result = tool_result(fr, &format!("{base}/parts/{j}/{}/response", pointer_token(key)));
            result_texts.push(result.content.clone());
            req.tool_results.push(result);
        }
    }
    req.messages.push(common::turn(role, &texts, &result_texts));
}

fn tool_result(fr: &Value, pointer: &str) -> view::ToolResult {
    let response = fr.get("response");
    view::ToolResult {
        pointer: pointer.to_string(),
        call_id: str_at(fr, "id").map(str::to_string),
        tool_name: str_at(fr, "name").map(str::to_string),
        content: response_text(response),
        // Google's convention: the `output` key carries a result, the `error` key a failure.
        is_error: response.is_some_and(|r| r.get("error").is_some() && r.get("output").is_none()),
    }
}

/// `{"output": "<text>"}` and `{"content": …}` wrappers are unwrapped so policies and TOON see the
/// tool's own output; any other response object is the result, serialised.
fn response_text(response: Option<&Value>) -> String {
    let Some(Value::Object(obj)) = response else {
        return result_text(response);
    };
    if obj.len() == 1 {
        if let Some(Value::String(s)) = obj.get("output") {
            return s.clone();
        }
        if let Some(inner) = obj.get("content") {
            return result_text(Some(inner));
        }
    }
    Value::Object(obj.clone()).to_string()
}

/// `tools` is an array of Tool objects, or a single Tool (both are seen in the wild).
fn tool_decls(tools: Option<&Value>) -> Vec<view::ToolDecl> {
    let tools: &[Value] = match tools {
        Some(Value::Array(list)) => list,
        Some(one @ Value::Object(_)) => std::slice::from_ref(one),
        _ => &[],
    };
    let mut decls = Vec::new();
    for tool in tools {
        let Some(Value::Array(list)) = first_at(tool, &["functionDeclarations", "function_declarations"]) else {
            continue;
        };
        for decl in list {
            let Some(name) = str_at(decl, "name") else { continue };
            decls.push(view::ToolDecl {
                name: name.to_string(),
                custom: false,
                description: str_at(decl, "description").map(str::to_string),
                parameters: first_at(decl, &["parameters", "parametersJsonSchema", "parameters_json_schema"])
                    .map(JsonText::of),
            });
        }
    }
    decls
}

/// Replaces the `functionResponse.response` at `pointer` with `{"content": text}`: the API wants an
/// object there, and `content` is the wrapper the parser unwraps, so the result reads as `text`.
pub fn apply_result_edit(body: &mut Value, pointer: &str, text: &str) -> bool {
    replace_at(body, pointer, serde_json::json!({ "content": text }))
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
