//! Refusals: what the client receives instead of blocked tool calls. The answer a Gemini client
//! reads is the first candidate's parts, so a refusal is a text part on that candidate with a
//! `STOP` finish; usage, model version and response id stay as the upstream sent them.

use super::stream::Fold;
use crate::providers::json;
use crate::stream::{Frame, Framing};
use serde_json::{json, Map, Value};

/// The non-streaming refusal body: every candidate becomes a model turn whose only part is the
/// refusal text (a candidate may carry calls of its own, and none of them may reach the client).
pub fn body(response: &Value, message: &str) -> Value {
    let mut out = json::fields(response);
    let candidates: Vec<Value> = match out.get("candidates") {
        Some(Value::Array(list)) if !list.is_empty() => list.clone(),
        _ => vec![json!({"index": 0})],
    };
    let rewritten = candidates
        .into_iter()
        .map(|candidate| {
            let mut c = json::fields(&candidate);
            c.insert("content".into(), json!({"parts": [{"text": message}], "role": "model"}));
            finish_with_stop(&mut c);
            Value::Object(c)
        })
        .collect();
    out.insert("candidates".into(), Value::Array(rewritten));
    Value::Object(out)
}

impl Fold {
    /// The chunk without its function-call parts. A chunk left with no part in any candidate is
    /// dropped: Gemini repeats the cumulative usage in every chunk, so nothing is lost with it.
    pub fn strip_tools(&mut self, frame: &Frame) -> Option<Frame> {
        let Ok(mut chunk) = serde_json::from_slice::<Value>(&frame.data) else {
            return Some(self.emit(frame.clone()));
        };
        if remove_calls(&mut chunk) == 0 {
            return Some(self.emit(frame.clone()));
        }
        if !has_parts_or_finish(&chunk) {
            self.carry_prefix(frame);
            return None;
        }
        let stripped = frame.with_data(self.framing, &crate::providers::json::to_bytes(&chunk, 256));
        Some(self.emit(stripped))
    }

    /// One chunk: the message-ending chunk without its calls, the refusal appended as a text part
    /// of the first candidate and its finish rewritten to `STOP` (Gemini reports `STOP` for a turn
    /// of function calls too, so this is the finish a plain answer has). Without an ending chunk, one
    /// is built with the latest usage, model version and response id.
    pub fn refusal(&mut self, message: &str, finish: Option<&Frame>) -> Vec<Frame> {
        let ending = finish.and_then(|f| match serde_json::from_slice::<Value>(&f.data) {
            Ok(chunk @ Value::Object(_)) => Some((f, chunk)),
            _ => None,
        });
        let frame = match ending {
            Some((f, mut chunk)) => {
                remove_calls(&mut chunk);
                append_refusal(&mut chunk, message);
                f.with_data(self.framing, &crate::providers::json::to_bytes(&chunk, 256))
            }
            None => {
                let chunk = self.built_ending(message);
                Frame::build(self.framing, None, &crate::providers::json::to_bytes(&chunk, 256))
            }
        };
        vec![self.emit(frame)]
    }

    fn built_ending(&self, message: &str) -> Value {
        let mut chunk = Map::new();
        chunk.insert(
            "candidates".into(),
            json!([{"content": {"parts": [{"text": message}], "role": "model"}, "finishReason": "STOP", "index": 0}]),
        );
        // The usage was read whole when its chunk was (a tree or the typed reader), so it reads again.
        let usage = self.usage_metadata.as_ref().and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok());
        for (key, value) in [
            ("usageMetadata", usage.as_ref()),
            ("modelVersion", self.model_version.as_ref()),
            ("responseId", self.response_id.as_ref()),
        ] {
            if let Some(v) = value {
                chunk.insert(key.into(), v.clone());
            }
        }
        Value::Object(chunk)
    }

    /// Remembers the bytes before a dropped JSON-array element when they open the array: without
    /// them the client would receive `,{…}` where the array starts.
    fn carry_prefix(&mut self, frame: &Frame) {
        if self.framing != Framing::JsonArray || self.carried_prefix.is_some() {
            return;
        }
        let Some(prefix) = frame.raw.strip_suffix(frame.data.as_slice()) else {
            return;
        };
        if prefix.contains(&b'[') {
            self.carried_prefix = Some(prefix.to_vec());
        }
    }

    /// `frame` as it goes out: the first element after a dropped opening element takes the
    /// opening bytes in place of its own separator.
    fn emit(&mut self, frame: Frame) -> Frame {
        match self.carried_prefix.take() {
            Some(mut raw) => {
                raw.extend_from_slice(&frame.data);
                Frame { raw, ..frame }
            }
            None => frame,
        }
    }
}

/// Removes every function-call part from every candidate; returns how many went.
fn remove_calls(chunk: &mut Value) -> usize {
    let Some(Value::Array(candidates)) = chunk.get_mut("candidates") else {
        return 0;
    };
    let mut removed = 0usize;
    for candidate in candidates {
        let Some(Value::Array(parts)) = candidate.get_mut("content").and_then(|c| c.get_mut("parts")) else {
            continue;
        };
        let before = parts.len();
        parts.retain(|part| !is_call(part));
        removed = removed.saturating_add(before.saturating_sub(parts.len()));
    }
    removed
}

fn is_call(part: &Value) -> bool {
    part.get("functionCall").is_some() || part.get("function_call").is_some()
}

fn has_parts_or_finish(chunk: &Value) -> bool {
    let candidates = chunk.get("candidates").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    candidates.iter().any(|c| {
        c.get("finishReason").is_some()
            || c.get("content")
                .and_then(|content| content.get("parts"))
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty())
    })
}

/// Appends the refusal text to the first candidate (index 0, as the fold reads it) and finishes it.
fn append_refusal(chunk: &mut Value, message: &str) {
    let Some(obj) = chunk.as_object_mut() else {
        return;
    };
    let candidates = obj.entry("candidates").or_insert_with(|| Value::Array(Vec::new()));
    if !candidates.is_array() {
        *candidates = Value::Array(Vec::new());
    }
    let Some(list) = candidates.as_array_mut() else {
        return;
    };
    let position = list.iter().position(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0);
    let position = match position {
        Some(p) => p,
        None => {
            list.push(json!({"index": 0}));
            list.len().saturating_sub(1)
        }
    };
    let Some(Value::Object(candidate)) = list.get_mut(position) else {
        return;
    };
    let text = json!({"text": message});
    match candidate.get_mut("content") {
        Some(Value::Object(content)) => {
            content.entry("role").or_insert_with(|| json!("model"));
            match content.get_mut("parts") {
                Some(Value::Array(parts)) => parts.push(text),
                _ => {
                    content.insert("parts".into(), json!([text]));
                }
            }
        }
        _ => {
            candidate.insert("content".into(), json!({"parts": [text], "role": "model"}));
        }
    }
    finish_with_stop(candidate);
}

/// `finishMessage` explains the upstream finish ("Model generated function call(s).") and would
/// contradict the refusal.
fn finish_with_stop(candidate: &mut Map<String, Value>) {
    candidate.insert("finishReason".into(), json!("STOP"));
    candidate.remove("finishMessage");
}

#[cfg(test)]
#[path = "refusal_tests.rs"]
mod tests;
