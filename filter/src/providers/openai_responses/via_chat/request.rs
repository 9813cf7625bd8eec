//! A Responses request as a chat request: the first step of routing it to a target that only the
//! hub translates to. Built-in tools and server-side state (`previous_response_id`, stored
//! prompts, conversations) have no chat equivalent and are refused by name.

use super::{Echo, TARGET};
use crate::providers::json::str_at;
use crate::providers::translate::TranslateError;
use serde_json::{json, Map, Value};

/// Fields with no effect on the answer: dropped (the echoed ones come back in the response).
const DROPPED: &[&str] = &[
    "model",
    "store",
    "metadata",
    "user",
    "service_tier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "include",
    "stream_options",
];

/// The chat request for a Responses request, and what its answer must echo.
pub fn translate(body: &Value) -> Result<(Value, Echo), TranslateError> {
    let Some(obj) = body.as_object() else {
        return Err(TranslateError::invalid("body", "a Responses request is a JSON object"));
    };
    let mut chat = Map::new();
    chat.insert("model".into(), obj.get("model").cloned().unwrap_or(Value::Null));
    let mut messages = Vec::new();
    if let Some(instructions) = obj.get("instructions").filter(|v| !v.is_null()) {
        let text = instructions.as_str().ok_or_else(|| TranslateError::invalid("instructions", "expected a string"))?;
        messages.push(json!({"role": "system", "content": text}));
    }
    for (key, value) in obj {
        if value.is_null() || DROPPED.contains(&key.as_str()) {
            continue;
        }
        let refuse = |why: &str| Err(TranslateError::unsupported(key.as_str(), TARGET, why));
        match key.as_str() {
            "instructions" | "input" => {}
            "tools" => {
                chat.insert("tools".into(), tools(value)?);
            }
            "tool_choice" => {
                chat.insert("tool_choice".into(), tool_choice(value)?);
            }
            "max_output_tokens" => {
                chat.insert("max_completion_tokens".into(), value.clone());
            }
            "temperature" | "top_p" | "parallel_tool_calls" => {
                chat.insert(key.clone(), value.clone());
            }
            "stream" => {
                chat.insert("stream".into(), value.clone());
                // The response stream's final event carries usage, so the chat stream must too.
                if value.as_bool() == Some(true) {
                    chat.insert("stream_options".into(), json!({"include_usage": true}));
                }
            }
            "text" => text(value, &mut chat)?,
            "reasoning" => {
                if let Some(effort) = value.get("effort").filter(|e| !e.is_null()) {
                    chat.insert("reasoning_effort".into(), effort.clone());
                }
            }
            "truncation" if value.as_str() == Some("disabled") => {}
            "background" if value.as_bool() == Some(false) => {}
            "top_logprobs" if value.as_u64() == Some(0) => {}
            "truncation" => return refuse("the router cannot drop parts of the conversation for the model"),
            "background" => return refuse("background responses need server-side storage"),
            "top_logprobs" => return refuse("logprobs are not translated"),
            "previous_response_id" | "conversation" | "prompt" => {
                return refuse("server-side state cannot be translated; send the whole conversation as `input`")
            }
            "max_tool_calls" => return refuse("a cap on tool calls cannot be translated"),
            _ => return refuse("the router does not translate this field"),
        }
    }
    input(obj.get("input"), &mut messages)?;
    chat.insert("messages".into(), messages.into());
    Ok((Value::Object(chat), Echo::of(obj)))
}

fn tools(v: &Value) -> Result<Value, TranslateError> {
    let all = v.as_array().ok_or_else(|| TranslateError::invalid("tools", "expected an array"))?;
    let mut out = Vec::with_capacity(all.len());
    for (i, tool) in all.iter().enumerate() {
        match str_at(tool, "type") {
            Some("function") => {
                let mut f = Map::new();
                for key in ["name", "description", "parameters", "strict"] {
                    if let Some(v) = tool.get(key).filter(|v| !v.is_null()) {
                        f.insert(key.into(), v.clone());
                    }
                }
                out.push(json!({"type": "function", "function": f}));
            }
            kind => {
                let why = format!("the built-in tool '{}' exists only on OpenAI", kind.unwrap_or("?"));
                return Err(TranslateError::unsupported(format!("tools[{i}]"), TARGET, why));
            }
        }
    }
    Ok(out.into())
}

fn tool_choice(v: &Value) -> Result<Value, TranslateError> {
    if v.is_string() {
        return Ok(v.clone());
    }
    match (str_at(v, "type"), str_at(v, "name")) {
        (Some("function"), Some(name)) => Ok(json!({"type": "function", "function": {"name": name}})),
        _ => Err(TranslateError::unsupported("tool_choice", TARGET, "only auto, none, required or a function")),
    }
}

fn text(v: &Value, chat: &mut Map<String, Value>) -> Result<(), TranslateError> {
    if let Some(verbosity) = v.get("verbosity").and_then(Value::as_str).filter(|v| *v != "medium") {
        chat.insert("verbosity".into(), verbosity.into());
    }
    let Some(format) = v.get("format").filter(|f| !f.is_null()) else { return Ok(()) };
    let response_format = match str_at(format, "type") {
        Some("text") => return Ok(()),
        Some("json_object") => json!({"type": "json_object"}),
        Some("json_schema") => {
            let mut spec = Map::new();
            for key in ["name", "schema", "strict", "description"] {
                if let Some(v) = format.get(key).filter(|v| !v.is_null()) {
                    spec.insert(key.into(), v.clone());
                }
            }
            json!({"type": "json_schema", "json_schema": spec})
        }
        _ => return Err(TranslateError::invalid("text.format.type", "expected text, json_object or json_schema")),
    };
    chat.insert("response_format".into(), response_format);
    Ok(())
}

/// `input` as chat messages: a string is one user message; items map one to one, except that
/// `function_call` items join the assistant message before them (parallel calls are one chat
/// message) and reasoning items, which only their own model can read, are left out.
fn input(v: Option<&Value>, messages: &mut Vec<Value>) -> Result<(), TranslateError> {
    let items = match v {
        Some(Value::String(s)) => {
            messages.push(json!({"role": "user", "content": s}));
            return Ok(());
        }
        Some(Value::Array(items)) => items,
        _ => return Err(TranslateError::invalid("input", "expected a string or an array of items")),
    };
    for (i, item) in items.iter().enumerate() {
        let field = format!("input[{i}]");
        match str_at(item, "type") {
            Some("message") => messages.push(message(item, &field)?),
            None if item.get("role").is_some() => messages.push(message(item, &field)?),
            Some("function_call") => {
                let call = json!({
                    "id": str_at(item, "call_id").ok_or_else(|| TranslateError::invalid(format!("{field}.call_id"), "missing"))?,
                    "type": "function",
                    "function": {
                        "name": str_at(item, "name").ok_or_else(|| TranslateError::invalid(format!("{field}.name"), "missing"))?,
                        "arguments": str_at(item, "arguments").unwrap_or_default(),
                    },
                });
                let last_is_assistant = messages.last().is_some_and(|m| str_at(m, "role") == Some("assistant"));
                if !last_is_assistant {
                    messages.push(json!({"role": "assistant", "content": null, "tool_calls": []}));
                }
                if let Some(last) = messages.last_mut().and_then(Value::as_object_mut) {
                    let calls = last.entry("tool_calls").or_insert_with(|| Value::Array(Vec::new()));
                    if let Some(calls) = calls.as_array_mut() {
                        calls.push(call);
                    }
                }
            }
            Some("function_call_output") => {
                let call_id = str_at(item, "call_id")
                    .ok_or_else(|| TranslateError::invalid(format!("{field}.call_id"), "missing"))?;
                let content = match item.get("output") {
                    Some(Value::String(s)) => Value::String(s.clone()),
                    Some(Value::Array(parts)) => content_parts(parts, &format!("{field}.output"))?,
                    _ => {
                        return Err(TranslateError::invalid(
                            format!("{field}.output"),
                            "expected a string or content parts",
                        ))
                    }
                };
                messages.push(json!({"role": "tool", "tool_call_id": call_id, "content": content}));
            }
            Some("reasoning") => {}
            Some(kind) => {
                let why = format!("'{kind}' items have no chat equivalent");
                return Err(TranslateError::unsupported(field, TARGET, why));
            }
            None => return Err(TranslateError::invalid(format!("{field}.type"), "missing")),
        }
    }
    Ok(())
}

fn message(item: &Value, field: &str) -> Result<Value, TranslateError> {
    let role = match str_at(item, "role") {
        Some(r @ ("user" | "assistant" | "system" | "developer")) => r,
        _ => {
            return Err(TranslateError::invalid(
                format!("{field}.role"),
                "expected user, assistant, system or developer",
            ))
        }
    };
    let content = match item.get("content") {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(Value::Array(parts)) => content_parts(parts, &format!("{field}.content"))?,
        _ => return Err(TranslateError::invalid(format!("{field}.content"), "expected a string or content parts")),
    };
    Ok(json!({"role": role, "content": content}))
}

/// Responses content parts as chat content parts.
fn content_parts(parts: &[Value], field: &str) -> Result<Value, TranslateError> {
    let mut out = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let pfield = format!("{field}[{j}]");
        match str_at(part, "type") {
            Some("input_text" | "output_text" | "text") => {
                out.push(json!({"type": "text", "text": str_at(part, "text").unwrap_or_default()}));
            }
            Some("refusal") => out.push(json!({"type": "text", "text": str_at(part, "refusal").unwrap_or_default()})),
            Some("input_image") => {
                let Some(url) = str_at(part, "image_url") else {
                    let why = "only images given by URL or data URL are translated (not file ids)";
                    return Err(TranslateError::unsupported(pfield, TARGET, why));
                };
                out.push(json!({"type": "image_url", "image_url": {"url": url}}));
            }
            kind => {
                let why = format!("'{}' content is not translated", kind.unwrap_or("?"));
                return Err(TranslateError::unsupported(pfield, TARGET, why));
            }
        }
    }
    Ok(out.into())
}
