//! A chat request as an Anthropic Messages request.

use super::TARGET;
use crate::providers::translate::chat::{self, push_merged, Caps, ImageSource, Part, ToolChoice, Turn};
use crate::providers::translate::{NativeRequest, TranslateError};
use crate::stream::Framing;
use serde_json::{json, Map, Value};

/// `max_tokens` when the client sent none: Anthropic requires one, and OpenAI's default is "as much
/// as the model allows". 8192 is the output limit of the oldest current Claude models (3.5) and
/// below that of every newer one, so it never makes the request invalid.
pub const DEFAULT_MAX_TOKENS: u64 = 8192;

/// The API version every request names (Anthropic requires the header).
const VERSION: &str = "2023-06-01";

const CAPS: Caps = Caps {
    target: TARGET,
    seed: false,
    penalties: false,
    json_object: false,
    json_schema: false,
    image_urls: true,
    image_types: &["image/jpeg", "image/png", "image/gif", "image/webp"],
    tool_result_images: true,
    serial_tool_calls: true,
    max_temperature: 1.0,
};

pub fn translate(chat: &Value, model: &str) -> Result<NativeRequest, TranslateError> {
    let req = chat::read(chat, &CAPS)?;
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("max_tokens".into(), req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS).into());
    let system = chat::system_texts(&req.turns).join("\n\n");
    if !system.is_empty() {
        body.insert("system".into(), system.into());
    }
    body.insert("messages".into(), messages(&req.turns).into());
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut tool = json!({"name": t.name, "input_schema": t.parameters});
                if let (Some(d), Some(obj)) = (&t.description, tool.as_object_mut()) {
                    obj.insert("description".into(), d.clone().into());
                }
                tool
            })
            .collect();
        body.insert("tools".into(), tools.into());
        let mut choice = match &req.tool_choice {
            ToolChoice::Auto => json!({"type": "auto"}),
            ToolChoice::None => json!({"type": "none"}),
            ToolChoice::Required => json!({"type": "any"}),
            ToolChoice::Named(name) => json!({"type": "tool", "name": name}),
        };
        if !req.parallel_tool_calls && req.tool_choice != ToolChoice::None {
            if let Some(obj) = choice.as_object_mut() {
                obj.insert("disable_parallel_tool_use".into(), true.into());
            }
        }
        body.insert("tool_choice".into(), choice);
    }
    if !req.stop.is_empty() {
        body.insert("stop_sequences".into(), req.stop.clone().into());
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), p.into());
    }
    if req.stream {
        body.insert("stream".into(), true.into());
    }
    Ok(NativeRequest {
        path: "/v1/messages".into(),
        headers: vec![("anthropic-version", VERSION.into())],
        body: crate::providers::json::to_bytes(&Value::Object(body), 1024),
        stream: req.stream,
        framing: Framing::Sse,
    })
}

/// User and assistant turns; consecutive turns of one role are merged, so tool results of
/// parallel calls share the user message that follows the calls, as Anthropic requires.
fn messages(turns: &[Turn]) -> Vec<Value> {
    let mut out = Vec::with_capacity(turns.len());
    for turn in turns {
        match turn {
            Turn::System(_) => {}
            Turn::User(parts) => push_merged(&mut out, "user", "content", blocks(parts)),
            Turn::Assistant { text, calls } => {
                let mut content = Vec::with_capacity(calls.len().saturating_add(1));
                if !text.is_empty() {
                    content.push(json!({"type": "text", "text": text}));
                }
                for call in calls {
                    content
                        .push(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}));
                }
                push_merged(&mut out, "assistant", "content", content);
            }
            Turn::Tool(result) => {
                let has_images = result.parts.iter().any(|p| matches!(p, Part::Image(_)));
                let content = if has_images { Value::Array(blocks(&result.parts)) } else { result.text().into() };
                let block = json!({"type": "tool_result", "tool_use_id": result.call_id, "content": content});
                push_merged(&mut out, "user", "content", vec![block]);
            }
        }
    }
    out
}

/// Content blocks; empty text parts are left out (Anthropic refuses empty text blocks).
fn blocks(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .filter_map(|part| match part {
            Part::Text(t) if t.is_empty() => None,
            Part::Text(t) => Some(json!({"type": "text", "text": t})),
            Part::Image(image) => Some(match &image.source {
                ImageSource::Data { media_type, data } => {
                    json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}})
                }
                ImageSource::Url(url) => json!({"type": "image", "source": {"type": "url", "url": url}}),
            }),
        })
        .collect()
}
