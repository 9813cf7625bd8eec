//! OpenAI wire formats: chat completions (and the OpenAI-compatible family), Responses,
//! embeddings, model lists.

use super::scenario::{
    argument_pieces, sse_data, sse_event, text, text_first, text_pieces, tool_calls, Canned, Content, CACHED, INPUT,
    OUTPUT, REASONING, TEXT_PIECES,
};
use serde_json::{json, Value};

const CREATED: u64 = 1_763_800_000;

pub fn error_429() -> Canned {
    Canned::json(
        429,
        &json!({"error": {
            "message": "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
            "type": "requests",
            "param": null,
            "code": "rate_limit_exceeded"
        }}),
    )
    .with_header("x-ratelimit-limit-requests", "3")
    .with_header("x-ratelimit-remaining-requests", "0")
}

fn chat_usage() -> Value {
    json!({
        "prompt_tokens": INPUT,
        "completion_tokens": OUTPUT,
        "total_tokens": INPUT + OUTPUT,
        "prompt_tokens_details": {"cached_tokens": CACHED, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": REASONING, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    })
}

pub fn chat(model: &str, content: &Content, stream: bool, include_usage: bool) -> Canned {
    if stream {
        return chat_stream(model, content, include_usage);
    }
    let calls = tool_calls(content);
    let message = if calls.is_empty() {
        json!({"role": "assistant", "content": text(), "refusal": null, "annotations": []})
    } else {
        let tool_calls: Vec<Value> = calls
            .iter()
            .map(|c| {
                json!({"id": c.id, "type": "function",
                "function": {"name": c.name, "arguments": c.arguments.to_string()}})
            })
            .collect();
        let lead = if text_first(content) { json!(text()) } else { Value::Null };
        json!({"role": "assistant", "content": lead, "tool_calls": tool_calls, "refusal": null, "annotations": []})
    };
    let finish = if calls.is_empty() { "stop" } else { "tool_calls" };
    Canned::json(
        200,
        &json!({
            "id": "chatcmpl-mock0001",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
            "usage": chat_usage(),
            "service_tier": "default",
            "system_fingerprint": "fp_mock"
        }),
    )
}

fn chat_chunk(model: &str, delta: Value, finish: Value, include_usage: bool) -> Vec<u8> {
    let mut chunk = json!({
        "id": "chatcmpl-mock0001",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": "fp_mock",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
    });
    // Like the real API: with include_usage every chunk carries `"usage": null` until the last.
    if include_usage {
        if let Some(obj) = chunk.as_object_mut() {
            obj.insert("usage".into(), Value::Null);
        }
    }
    sse_data(&chunk.to_string())
}

fn chat_stream(model: &str, content: &Content, include_usage: bool) -> Canned {
    let mut parts = vec![chat_chunk(
        model,
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
        include_usage,
    )];
    let calls = tool_calls(content);
    if text_first(content) {
        for piece in text_pieces(content) {
            parts.push(chat_chunk(model, json!({"content": piece}), Value::Null, include_usage));
        }
    }
    for (index, call) in calls.iter().enumerate() {
        let start = json!({"tool_calls": [{"index": index, "id": call.id, "type": "function",
            "function": {"name": call.name, "arguments": ""}}]});
        parts.push(chat_chunk(model, start, Value::Null, include_usage));
        for piece in argument_pieces(&call.arguments) {
            let delta = json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]});
            parts.push(chat_chunk(model, delta, Value::Null, include_usage));
        }
    }
    let finish = if calls.is_empty() { "stop" } else { "tool_calls" };
    parts.push(chat_chunk(model, json!({}), json!(finish), include_usage));
    if include_usage {
        let usage = json!({
            "id": "chatcmpl-mock0001",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_mock",
            "choices": [],
            "usage": chat_usage()
        });
        parts.push(sse_data(&usage.to_string()));
    }
    parts.push(sse_data("[DONE]"));
    Canned::stream("text/event-stream; charset=utf-8", parts)
}

fn responses_usage() -> Value {
    json!({
        "input_tokens": INPUT,
        "input_tokens_details": {"cached_tokens": CACHED},
        "output_tokens": OUTPUT,
        "output_tokens_details": {"reasoning_tokens": REASONING},
        "total_tokens": INPUT + OUTPUT
    })
}

fn responses_items(content: &Content) -> Vec<Value> {
    let mut items = Vec::new();
    if text_first(content) {
        items.push(json!({"id": "msg_mock0001", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text()}]}));
    }
    items.extend(tool_calls(content).iter().enumerate().map(|(i, c)| {
        json!({"id": format!("fc_mock000{i}"), "type": "function_call",
            "status": "completed", "arguments": c.arguments.to_string(), "call_id": c.id, "name": c.name})
    }));
    items
}

fn response_object(model: &str, status: &str, output: Vec<Value>, usage: Value) -> Value {
    json!({
        "id": "resp_mock0001",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "background": false,
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "max_output_tokens": null,
        "model": model,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "service_tier": "default",
        "store": true,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": null,
        "metadata": {}
    })
}

pub fn responses(model: &str, content: &Content, stream: bool) -> Canned {
    if !stream {
        return Canned::json(200, &response_object(model, "completed", responses_items(content), responses_usage()));
    }
    let mut seq = 0u64;
    let mut parts = Vec::new();
    let mut push = |name: &str, mut data: Value| {
        if let Some(obj) = data.as_object_mut() {
            obj.insert("sequence_number".into(), json!(seq));
        }
        seq += 1;
        parts.push(sse_event(name, &data));
    };
    let pending = response_object(model, "in_progress", Vec::new(), Value::Null);
    push("response.created", json!({"type": "response.created", "response": pending}));
    push("response.in_progress", json!({"type": "response.in_progress", "response": pending}));
    let items = responses_items(content);
    for (index, item) in items.iter().enumerate() {
        let id = item.get("id").cloned().unwrap_or(Value::Null);
        if item.get("type") == Some(&json!("message")) {
            let mut empty = item.clone();
            empty["status"] = json!("in_progress");
            empty["content"] = json!([]);
            push(
                "response.output_item.added",
                json!({"type": "response.output_item.added", "output_index": index, "item": empty}),
            );
            let part = json!({"type": "output_text", "annotations": [], "logprobs": [], "text": ""});
            push(
                "response.content_part.added",
                json!({"type": "response.content_part.added",
                "item_id": id, "output_index": index, "content_index": 0, "part": part}),
            );
            for piece in TEXT_PIECES {
                push(
                    "response.output_text.delta",
                    json!({"type": "response.output_text.delta",
                    "item_id": id, "output_index": index, "content_index": 0, "delta": piece, "logprobs": []}),
                );
            }
            push(
                "response.output_text.done",
                json!({"type": "response.output_text.done",
                "item_id": id, "output_index": index, "content_index": 0, "text": text(), "logprobs": []}),
            );
            let done_part = json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text()});
            push(
                "response.content_part.done",
                json!({"type": "response.content_part.done",
                "item_id": id, "output_index": index, "content_index": 0, "part": done_part}),
            );
        } else {
            let mut empty = item.clone();
            empty["status"] = json!("in_progress");
            empty["arguments"] = json!("");
            push(
                "response.output_item.added",
                json!({"type": "response.output_item.added", "output_index": index, "item": empty}),
            );
            let args = item.get("arguments").and_then(Value::as_str).unwrap_or("{}").to_string();
            for piece in argument_pieces(&serde_json::from_str(&args).unwrap_or(Value::Null)) {
                push(
                    "response.function_call_arguments.delta",
                    json!({"type": "response.function_call_arguments.delta",
                    "item_id": id, "output_index": index, "delta": piece}),
                );
            }
            push(
                "response.function_call_arguments.done",
                json!({"type": "response.function_call_arguments.done",
                "item_id": id, "output_index": index, "arguments": args}),
            );
        }
        push(
            "response.output_item.done",
            json!({"type": "response.output_item.done", "output_index": index, "item": item}),
        );
    }
    let done = response_object(model, "completed", items, responses_usage());
    push("response.completed", json!({"type": "response.completed", "response": done}));
    Canned::stream("text/event-stream; charset=utf-8", parts)
}

/// Embeddings: the official SDK asks for `encoding_format: base64` by default and decodes it.
pub fn embeddings(model: &str, body: Option<&Value>) -> Canned {
    let inputs = match body.and_then(|b| b.get("input")) {
        Some(Value::Array(items)) => items.len().max(1),
        _ => 1,
    };
    let base64 = body.and_then(|b| b.get("encoding_format")).and_then(Value::as_str) == Some("base64");
    let vector = [0.0125f32, -0.25, 0.5, 0.75];
    let data: Vec<Value> = (0..inputs)
        .map(|index| {
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64_encode(&bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    Canned::json(
        200,
        &json!({"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": 8, "total_tokens": 8}}),
    )
}

pub fn models() -> Canned {
    Canned::json(
        200,
        &json!({"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": CREATED, "owned_by": "system"},
            {"id": "gpt-5", "object": "model", "created": CREATED, "owned_by": "system"}
        ]}),
    )
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert_eq!(base64_encode(b"M"), "TQ==");
    }

    #[test]
    fn usage_chunk_only_when_asked() {
        let without = chat("gpt-4o-mini", &Content::Text, true, false).parts.concat();
        let with = chat("gpt-4o-mini", &Content::Text, true, true).parts.concat();
        assert!(!String::from_utf8_lossy(&without).contains("\"choices\":[]"));
        assert!(String::from_utf8_lossy(&with).contains("\"choices\":[],\"usage\""));
    }
}
