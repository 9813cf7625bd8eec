//! Anthropic Messages.

use super::scenario::{
    argument_pieces, sse_event, text, text_first, text_pieces, tool_calls, Canned, Content, CACHED, CACHE_WRITE, INPUT,
    OUTPUT, TEXT_PIECES,
};
use serde_json::{json, Value};

pub fn error_429() -> Canned {
    Canned::json(
        429,
        &json!({"type": "error",
            "error": {"type": "rate_limit_error",
                "message": "This request would exceed the rate limit for your organization of 50 requests per minute."},
            "request_id": "req_mock0001"}),
    )
    .with_header("request-id", "req_mock0001")
    .with_header("retry-after", "20")
}

fn usage(output: u64) -> Value {
    json!({
        "input_tokens": INPUT,
        "cache_creation_input_tokens": CACHE_WRITE,
        "cache_read_input_tokens": CACHED,
        "cache_creation": {"ephemeral_5m_input_tokens": CACHE_WRITE, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output,
        "service_tier": "standard"
    })
}

fn blocks(content: &Content) -> Vec<Value> {
    let calls = tool_calls(content);
    if calls.is_empty() {
        let text = if matches!(content, Content::Pieces(_)) { text_pieces(content).concat() } else { text() };
        return vec![json!({"type": "text", "text": text})];
    }
    // The fixed scenarios open with a short preamble, as Claude often does; listed calls only when
    // asked (`text_then_tools`), so a tool_use can also be block 0.
    let mut out = match content {
        Content::Calls(_) if text_first(content) => vec![json!({"type": "text", "text": text()})],
        Content::Calls(_) => Vec::new(),
        _ => vec![json!({"type": "text", "text": "Let me check."})],
    };
    for (i, c) in calls.iter().enumerate() {
        out.push(json!({"type": "tool_use", "id": format!("toolu_mock000{i}"), "name": c.name, "input": c.arguments}));
    }
    out
}

fn stop_reason(content: &Content) -> &'static str {
    if tool_calls(content).is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }
}

pub fn messages(model: &str, content: &Content, stream: bool) -> Canned {
    if !stream {
        return Canned::json(
            200,
            &json!({"id": "msg_mock0001", "type": "message", "role": "assistant", "model": model,
                "content": blocks(content), "stop_reason": stop_reason(content), "stop_sequence": null,
                "usage": usage(OUTPUT)}),
        );
    }
    let mut parts = vec![sse_event(
        "message_start",
        &json!({"type": "message_start", "message": {"id": "msg_mock0001", "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(1)}}),
    )];
    for (index, block) in blocks(content).iter().enumerate() {
        let kind = block.get("type").and_then(Value::as_str).unwrap_or("text");
        if kind == "text" {
            parts.push(sse_event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "text", "text": ""}}),
            ));
            if index == 0 {
                parts.push(sse_event("ping", &json!({"type": "ping"})));
            }
            let body = block.get("text").and_then(Value::as_str).unwrap_or_default();
            let pieces: Vec<String> = if matches!(content, Content::Pieces(_)) {
                text_pieces(content)
            } else if body == text() {
                TEXT_PIECES.iter().map(|s| s.to_string()).collect()
            } else {
                vec![body.to_string()]
            };
            for piece in pieces {
                parts.push(sse_event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "text_delta", "text": piece}}),
                ));
            }
        } else {
            let start = json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}});
            parts.push(sse_event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index, "content_block": start}),
            ));
            if index == 0 {
                parts.push(sse_event("ping", &json!({"type": "ping"})));
            }
            for piece in argument_pieces(&block["input"]) {
                parts.push(sse_event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": piece}}),
                ));
            }
        }
        parts.push(sse_event("content_block_stop", &json!({"type": "content_block_stop", "index": index})));
    }
    parts.push(sse_event(
        "message_delta",
        &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(content), "stop_sequence": null},
            "usage": {"output_tokens": OUTPUT}}),
    ));
    parts.push(sse_event("message_stop", &json!({"type": "message_stop"})));
    Canned::stream("text/event-stream; charset=utf-8", parts)
}

pub fn models() -> Canned {
    Canned::json(
        200,
        &json!({"data": [
            {"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Claude Sonnet 4.5",
             "created_at": "2025-09-29T00:00:00Z"},
            {"type": "model", "id": "claude-haiku-4-5-20251001", "display_name": "Claude Haiku 4.5",
             "created_at": "2025-10-01T00:00:00Z"}
        ], "has_more": false, "first_id": "claude-sonnet-4-5-20250929", "last_id": "claude-haiku-4-5-20251001"}),
    )
}
