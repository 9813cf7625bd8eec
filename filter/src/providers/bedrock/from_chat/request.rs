//! A chat request as a Bedrock Converse request.

use super::TARGET;
use crate::providers::translate::chat::{self, push_merged, Caps, ImageSource, Part, ToolChoice, Turn};
use crate::providers::translate::{NativeRequest, TranslateError};
use crate::routes::percent_encode_segment;
use crate::stream::Framing;
use serde_json::{json, Map, Value};

const CAPS: Caps = Caps {
    target: TARGET,
    seed: false,
    penalties: false,
    json_object: false,
    json_schema: false,
    // Converse takes image bytes or S3 locations, never web URLs.
    image_urls: false,
    image_types: &["image/png", "image/jpeg", "image/gif", "image/webp"],
    tool_result_images: true,
    serial_tool_calls: false,
    max_temperature: 1.0,
};

pub fn translate(chat: &Value, model: &str) -> Result<NativeRequest, TranslateError> {
    let req = chat::read(chat, &CAPS)?;
    let mut body = Map::new();
    body.insert("messages".into(), messages(&req.turns).into());
    let system: Vec<Value> = chat::system_texts(&req.turns).into_iter().map(|t| json!({"text": t})).collect();
    if !system.is_empty() {
        body.insert("system".into(), system.into());
    }
    let mut inference = Map::new();
    if let Some(n) = req.max_tokens {
        inference.insert("maxTokens".into(), n.into());
    }
    if let Some(t) = req.temperature {
        inference.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        inference.insert("topP".into(), p.into());
    }
    if !req.stop.is_empty() {
        inference.insert("stopSequences".into(), req.stop.clone().into());
    }
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), inference.into());
    }
    if let Some(config) = tool_config(&req)? {
        body.insert("toolConfig".into(), config);
    }
    let action = if req.stream { "converse-stream" } else { "converse" };
    Ok(NativeRequest {
        path: format!("/model/{}/{action}", percent_encode_segment(model)),
        headers: Vec::new(),
        body: crate::providers::json::to_bytes(&Value::Object(body), 1024),
        stream: req.stream,
        framing: Framing::EventStream,
    })
}

/// Converse has no "none" tool choice. Leaving the tools out says the same — unless the history
/// holds tool calls, which Converse only accepts with tools declared; then it is refused.
fn tool_config(req: &chat::ChatRequest) -> Result<Option<Value>, TranslateError> {
    if req.tools.is_empty() {
        return Ok(None);
    }
    let choice = match &req.tool_choice {
        ToolChoice::None => {
            let history_has_tools = req.turns.iter().any(|t| match t {
                Turn::Tool(_) => true,
                Turn::Assistant { calls, .. } => !calls.is_empty(),
                _ => false,
            });
            if history_has_tools {
                let why = "Converse cannot forbid tool calls while the history holds tool calls";
                return Err(TranslateError::unsupported("tool_choice", TARGET, why));
            }
            return Ok(None);
        }
        ToolChoice::Auto => json!({"auto": {}}),
        ToolChoice::Required => json!({"any": {}}),
        ToolChoice::Named(name) => json!({"tool": {"name": name}}),
    };
    let tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| {
            let mut spec = json!({"name": t.name, "inputSchema": {"json": t.parameters}});
            if let Some(obj) = spec.as_object_mut() {
                if let Some(d) = &t.description {
                    obj.insert("description".into(), d.clone().into());
                }
                if t.strict {
                    obj.insert("strict".into(), true.into());
                }
            }
            json!({"toolSpec": spec})
        })
        .collect();
    Ok(Some(json!({"tools": tools, "toolChoice": choice})))
}

/// User and assistant turns, consecutive turns of one role merged: Converse requires the roles to
/// alternate, and tool results go in the user message after the calls.
fn messages(turns: &[Turn]) -> Vec<Value> {
    let mut out = Vec::with_capacity(turns.len());
    for turn in turns {
        match turn {
            Turn::System(_) => {}
            Turn::User(parts) => push_merged(&mut out, "user", "content", blocks(parts)),
            Turn::Assistant { text, calls } => {
                let mut content = Vec::with_capacity(calls.len().saturating_add(1));
                if !text.is_empty() {
                    content.push(json!({"text": text}));
                }
                for call in calls {
                    content
                        .push(json!({"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}}));
                }
                push_merged(&mut out, "assistant", "content", content);
            }
            Turn::Tool(result) => {
                let mut content = blocks(&result.parts);
                if content.is_empty() {
                    // Converse refuses an empty result; an empty text says "no output".
                    content.push(json!({"text": ""}));
                }
                let block =
                    json!({"toolResult": {"toolUseId": result.call_id, "content": content, "status": "success"}});
                push_merged(&mut out, "user", "content", vec![block]);
            }
        }
    }
    out
}

fn blocks(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .filter_map(|part| match part {
            Part::Text(t) if t.is_empty() => None,
            Part::Text(t) => Some(json!({"text": t})),
            Part::Image(image) => match &image.source {
                ImageSource::Data { media_type, data } => {
                    let format = media_type.strip_prefix("image/").unwrap_or(media_type);
                    Some(json!({"image": {"format": format, "source": {"bytes": data}}}))
                }
                // `Caps::image_urls` is false: the reader refused URLs already.
                ImageSource::Url(_) => None,
            },
        })
        .collect()
}
