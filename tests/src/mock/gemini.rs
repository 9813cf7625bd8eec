//! Gemini generateContent / streamGenerateContent (SSE with `alt=sse`, else a JSON array stream).

use super::scenario::{
    mixed_chunk, text, text_first, tool_calls, Canned, Content, CACHED, INPUT, OUTPUT, REASONING, TEXT_PIECES,
};
use serde_json::{json, Value};

const JSON: &str = "application/json; charset=UTF-8";

pub fn error_429() -> Canned {
    let body = json!({"error": {"code": 429,
        "message": "Resource has been exhausted (e.g. check quota).",
        "status": "RESOURCE_EXHAUSTED"}});
    Canned {
        status: 429,
        headers: vec![("content-type".into(), JSON.into())],
        parts: vec![pretty(&body).into_bytes()],
        stream: false,
    }
}

fn usage(candidates: u64) -> Value {
    json!({
        "promptTokenCount": INPUT,
        "candidatesTokenCount": candidates,
        "totalTokenCount": INPUT + candidates + REASONING,
        "cachedContentTokenCount": CACHED,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": INPUT}],
        "thoughtsTokenCount": REASONING
    })
}

fn chunk(model: &str, parts: Vec<Value>, finish: Option<&str>, candidates: u64) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let (Some(f), Some(obj)) = (finish, candidate.as_object_mut()) {
        obj.insert("finishReason".into(), json!(f));
    }
    json!({"candidates": [candidate], "usageMetadata": usage(candidates), "modelVersion": model,
        "responseId": "mockResp0001"})
}

fn call_parts(content: &Content) -> Vec<Value> {
    tool_calls(content).into_iter().map(|c| json!({"functionCall": {"name": c.name, "args": c.arguments}})).collect()
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// `stream`: `None` for generateContent, `Some(sse)` for streamGenerateContent.
pub fn generate(model: &str, content: &Content, stream: Option<bool>) -> Canned {
    let calls = call_parts(content);
    let chunks: Vec<Value> = if matches!(content, Content::Calls(_)) && !calls.is_empty() {
        listed_calls(model, content, calls, stream.is_some())
    } else if !calls.is_empty() {
        vec![chunk(model, calls, Some("STOP"), OUTPUT)]
    } else if stream.is_some() {
        let last = TEXT_PIECES.len().saturating_sub(1);
        TEXT_PIECES
            .iter()
            .enumerate()
            .map(|(i, piece)| {
                let finish = (i == last).then_some("STOP");
                let so_far = if i == last { OUTPUT } else { (i as u64 + 1) * 4 };
                chunk(model, vec![json!({"text": piece})], finish, so_far)
            })
            .collect()
    } else {
        vec![chunk(model, vec![json!({"text": text()})], Some("STOP"), OUTPUT)]
    };
    match stream {
        None => Canned {
            status: 200,
            headers: vec![("content-type".into(), JSON.into())],
            parts: vec![pretty(chunks.first().unwrap_or(&Value::Null)).into_bytes()],
            stream: false,
        },
        Some(true) => Canned::stream(
            "text/event-stream",
            chunks.iter().map(|c| format!("data: {c}\r\n\r\n").into_bytes()).collect(),
        ),
        Some(false) => {
            // Google's array stream: `[` first, objects separated by `\r\n,\r\n`, `]` at the end.
            let mut parts: Vec<Vec<u8>> = chunks
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{}{}", if i == 0 { "[" } else { "\r\n,\r\n" }, pretty(c)).into_bytes())
                .collect();
            parts.push(b"]".to_vec());
            Canned::stream(JSON, parts)
        }
    }
}

/// Listed calls, in both layouts Gemini streams them: text chunks, then the calls in the chunk that
/// finishes (`text_then_tools`); or the text and the calls in one chunk followed by a closing chunk
/// with an empty text part and the finish reason (`mixed_chunk`, as gemini-3 streams end).
fn listed_calls(model: &str, content: &Content, calls: Vec<Value>, stream: bool) -> Vec<Value> {
    let lead = text_first(content);
    if !stream {
        let mut parts = if lead { vec![json!({"text": text()})] } else { Vec::new() };
        parts.extend(calls);
        return vec![chunk(model, parts, Some("STOP"), OUTPUT)];
    }
    if mixed_chunk(content) {
        let mut parts = vec![json!({"text": text()})];
        parts.extend(calls);
        return vec![chunk(model, parts, None, OUTPUT), chunk(model, vec![json!({"text": ""})], Some("STOP"), OUTPUT)];
    }
    let mut chunks = Vec::new();
    if lead {
        for (i, piece) in TEXT_PIECES.iter().enumerate() {
            chunks.push(chunk(model, vec![json!({"text": piece})], None, (i as u64 + 1) * 4));
        }
    }
    chunks.push(chunk(model, calls, Some("STOP"), OUTPUT));
    chunks
}

pub fn models() -> Canned {
    Canned::json(
        200,
        &json!({"models": [{"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash",
            "supportedGenerationMethods": ["generateContent", "countTokens"]}]}),
    )
}
