//! A chat request as a Gemini generateContent request (AI Studio `v1beta` paths).

use super::{SIGNATURE_MARK, TARGET};
use crate::providers::translate::chat::{self, push_merged, Caps, Format, ImageSource, Part, ToolChoice, Turn};
use crate::providers::translate::{NativeRequest, TranslateError};
use crate::routes::percent_encode_segment;
use crate::stream::Framing;
use serde_json::{json, Map, Value};

const CAPS: Caps = Caps {
    target: TARGET,
    seed: true,
    penalties: true,
    json_object: true,
    json_schema: true,
    // AI Studio reads only its own Files API URIs, not the open web.
    image_urls: false,
    image_types: &["image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"],
    tool_result_images: false,
    serial_tool_calls: false,
    max_temperature: 2.0,
};

/// Google's documented stand-in for a thought signature the history does not have.
const NO_SIGNATURE: &str = "skip_thought_signature_validator";

pub fn translate(chat: &Value, model: &str) -> Result<NativeRequest, TranslateError> {
    let req = chat::read(chat, &CAPS)?;
    let model = model.strip_prefix("models/").unwrap_or(model);
    let mut body = Map::new();
    body.insert("contents".into(), contents(&req.turns, model.starts_with("gemini-3"))?.into());
    let system: Vec<Value> = chat::system_texts(&req.turns).into_iter().map(|t| json!({"text": t})).collect();
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({"parts": system}));
    }
    if !req.tools.is_empty() {
        let declarations: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut d = json!({"name": t.name, "parametersJsonSchema": t.parameters});
                if let (Some(desc), Some(obj)) = (&t.description, d.as_object_mut()) {
                    obj.insert("description".into(), desc.clone().into());
                }
                d
            })
            .collect();
        body.insert("tools".into(), json!([{"functionDeclarations": declarations}]));
        let config = match &req.tool_choice {
            ToolChoice::Auto => None,
            ToolChoice::None => Some(json!({"mode": "NONE"})),
            ToolChoice::Required => Some(json!({"mode": "ANY"})),
            ToolChoice::Named(name) => Some(json!({"mode": "ANY", "allowedFunctionNames": [name]})),
        };
        if let Some(config) = config {
            body.insert("toolConfig".into(), json!({"functionCallingConfig": config}));
        }
    }
    let generation = generation_config(&req);
    if !generation.is_empty() {
        body.insert("generationConfig".into(), generation.into());
    }
    let path = if req.stream {
        format!("/v1beta/models/{}:streamGenerateContent?alt=sse", percent_encode_segment(model))
    } else {
        format!("/v1beta/models/{}:generateContent", percent_encode_segment(model))
    };
    Ok(NativeRequest {
        path,
        headers: Vec::new(),
        body: crate::providers::json::to_bytes(&Value::Object(body), 1024),
        stream: req.stream,
        framing: Framing::Sse,
    })
}

fn generation_config(req: &chat::ChatRequest) -> Map<String, Value> {
    let mut g = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            g.insert(k.into(), v);
        }
    };
    put("temperature", req.temperature.map(Value::from));
    put("topP", req.top_p.map(Value::from));
    put("maxOutputTokens", req.max_tokens.map(Value::from));
    put("stopSequences", Some(req.stop.clone()).filter(|s| !s.is_empty()).map(Value::from));
    put("seed", req.seed.map(Value::from));
    put("presencePenalty", req.presence_penalty.map(Value::from));
    put("frequencyPenalty", req.frequency_penalty.map(Value::from));
    match &req.format {
        Format::Text => {}
        Format::JsonObject => put("responseMimeType", Some("application/json".into())),
        Format::JsonSchema { schema, .. } => {
            put("responseMimeType", Some("application/json".into()));
            put("responseJsonSchema", Some(schema.clone()));
        }
    }
    g
}

/// Turns as `contents`; consecutive turns of one role are merged, so the responses to parallel
/// calls share one user turn, as Gemini pairs them.
fn contents(turns: &[Turn], gemini_3: bool) -> Result<Vec<Value>, TranslateError> {
    let mut out = Vec::with_capacity(turns.len());
    for turn in turns {
        match turn {
            Turn::System(_) => {}
            Turn::User(parts) => push_merged(&mut out, "user", "parts", user_parts(parts)),
            Turn::Assistant { text, calls } => {
                let mut parts = Vec::with_capacity(calls.len().saturating_add(1));
                if !text.is_empty() {
                    parts.push(json!({"text": text}));
                }
                for (i, call) in calls.iter().enumerate() {
                    let mut part = json!({"functionCall": {"name": call.name, "args": call.arguments}});
                    let signature = call.id.split_once(SIGNATURE_MARK).map(|(_, s)| s);
                    let signature = signature.or((gemini_3 && i == 0).then_some(NO_SIGNATURE));
                    if let (Some(s), Some(obj)) = (signature, part.as_object_mut()) {
                        obj.insert("thoughtSignature".into(), s.into());
                    }
                    parts.push(part);
                }
                push_merged(&mut out, "model", "parts", parts);
            }
            Turn::Tool(result) => {
                let Some(name) = &result.name else {
                    let why = "it names no tool call of an earlier assistant message, and Gemini needs the tool's name";
                    return Err(TranslateError::invalid(format!("{}.tool_call_id", result.field()), why));
                };
                let part = json!({"functionResponse": {"name": name, "response": {"output": result.text()}}});
                push_merged(&mut out, "user", "parts", vec![part]);
            }
        }
    }
    Ok(out)
}

fn user_parts(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .filter_map(|part| match part {
            Part::Text(t) if t.is_empty() => None,
            Part::Text(t) => Some(json!({"text": t})),
            Part::Image(image) => match &image.source {
                ImageSource::Data { media_type, data } => {
                    Some(json!({"inlineData": {"mimeType": media_type, "data": data}}))
                }
                // `Caps::image_urls` is false: the reader refused URLs already.
                ImageSource::Url(_) => None,
            },
        })
        .collect()
}
