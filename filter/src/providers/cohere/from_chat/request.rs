//! A chat request as a Cohere v2 chat request.

use super::TARGET;
use crate::providers::translate::chat::{self, Caps, Format, ImageSource, Part, ToolChoice, Turn};
use crate::providers::translate::{NativeRequest, TranslateError};
use crate::stream::Framing;
use serde_json::{json, Map, Value};

const CAPS: Caps = Caps {
    target: TARGET,
    seed: true,
    penalties: true,
    json_object: true,
    json_schema: true,
    image_urls: true,
    image_types: &["image/jpeg", "image/png", "image/gif", "image/webp"],
    tool_result_images: false,
    serial_tool_calls: false,
    max_temperature: 2.0,
};

pub fn translate(chat: &Value, model: &str) -> Result<NativeRequest, TranslateError> {
    let req = chat::read(chat, &CAPS)?;
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("messages".into(), req.turns.iter().map(message).collect::<Vec<_>>().into());
    if !req.tools.is_empty() {
        // Cohere's tool_choice has no named form: offering only the named tool, and requiring a
        // call, says the same.
        let (offered, choice): (Vec<&chat::Tool>, Option<&str>) = match &req.tool_choice {
            ToolChoice::Auto => (req.tools.iter().collect(), None),
            ToolChoice::None => (req.tools.iter().collect(), Some("NONE")),
            ToolChoice::Required => (req.tools.iter().collect(), Some("REQUIRED")),
            ToolChoice::Named(name) => (req.tools.iter().filter(|t| &t.name == name).collect(), Some("REQUIRED")),
        };
        let tools: Vec<Value> = offered
            .iter()
            .map(|t| {
                let mut f = json!({"name": t.name, "parameters": t.parameters});
                if let (Some(d), Some(obj)) = (&t.description, f.as_object_mut()) {
                    obj.insert("description".into(), d.clone().into());
                }
                json!({"type": "function", "function": f})
            })
            .collect();
        body.insert("tools".into(), tools.into());
        if let Some(choice) = choice {
            body.insert("tool_choice".into(), choice.into());
        }
    }
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            body.insert(k.into(), v);
        }
    };
    put("max_tokens", req.max_tokens.map(Value::from));
    put("stop_sequences", Some(req.stop.clone()).filter(|s| !s.is_empty()).map(Value::from));
    put("temperature", req.temperature.map(Value::from));
    put("p", req.top_p.map(Value::from));
    put("seed", req.seed.map(Value::from));
    put("presence_penalty", req.presence_penalty.map(Value::from));
    put("frequency_penalty", req.frequency_penalty.map(Value::from));
    put(
        "response_format",
        match &req.format {
            Format::Text => None,
            Format::JsonObject => Some(json!({"type": "json_object"})),
            Format::JsonSchema { schema, .. } => Some(json!({"type": "json_object", "json_schema": schema})),
        },
    );
    put("stream", req.stream.then_some(Value::Bool(true)));
    Ok(NativeRequest {
        path: "/v2/chat".into(),
        headers: Vec::new(),
        body: crate::providers::json::to_bytes(&Value::Object(body), 1024),
        stream: req.stream,
        framing: Framing::Sse,
    })
}

/// One message; Cohere keeps system messages in place, as the chat shape does.
fn message(turn: &Turn) -> Value {
    match turn {
        Turn::System(text) => json!({"role": "system", "content": text}),
        Turn::User(parts) => json!({"role": "user", "content": content(parts)}),
        Turn::Assistant { text, calls } if calls.is_empty() => json!({"role": "assistant", "content": text}),
        Turn::Assistant { text, calls } => {
            let calls: Vec<Value> = calls
                .iter()
                .map(|c| {
                    let arguments = c.arguments.to_string();
                    json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": arguments}})
                })
                .collect();
            let mut m = json!({"role": "assistant", "tool_calls": calls});
            if let (false, Some(obj)) = (text.is_empty(), m.as_object_mut()) {
                obj.insert("tool_plan".into(), text.clone().into());
            }
            m
        }
        Turn::Tool(result) => json!({"role": "tool", "tool_call_id": result.call_id, "content": result.text()}),
    }
}

/// A single text as a string, anything else as typed parts.
fn content(parts: &[Part]) -> Value {
    if let [Part::Text(t)] = parts {
        return t.clone().into();
    }
    let list: Vec<Value> = parts
        .iter()
        .map(|part| match part {
            Part::Text(t) => json!({"type": "text", "text": t}),
            Part::Image(image) => {
                let url = match &image.source {
                    ImageSource::Data { media_type, data } => format!("data:{media_type};base64,{data}"),
                    ImageSource::Url(url) => url.clone(),
                };
                json!({"type": "image_url", "image_url": {"url": url}})
            }
        })
        .collect();
    Value::Array(list)
}
