//! Cohere v2 chat.

use super::scenario::{
    argument_pieces, sse_event, text, text_first, tool_calls, Canned, Content, CACHED, INPUT, OUTPUT, TEXT_PIECES,
};
use serde_json::{json, Value};

pub fn error_429() -> Canned {
    Canned::json(
        429,
        &json!({"id": "6b1f2c4e-0000-4000-8000-000000000429",
            "message": "You are using a Trial key, which is limited to 20 API calls / minute. Please try again later."}),
    )
}

fn usage() -> Value {
    json!({"billed_units": {"input_tokens": INPUT - CACHED, "output_tokens": OUTPUT},
        "tokens": {"input_tokens": INPUT, "output_tokens": OUTPUT},
        "cached_tokens": CACHED})
}

fn finish(content: &Content) -> &'static str {
    if tool_calls(content).is_empty() {
        "COMPLETE"
    } else {
        "TOOL_CALL"
    }
}

const ID: &str = "c0e0a1b2-0000-4000-8000-000000000001";
const PLAN: &str = "I will look up the weather.";

/// Cohere says what it is about to do as a `tool_plan`, never as content, when it calls tools: the
/// fixed scenarios always plan, listed calls plan with the scenario text when `text_then_tools`.
fn plan(content: &Content) -> Option<String> {
    match content {
        Content::Calls(_) if text_first(content) => Some(text()),
        Content::Calls(_) => None,
        _ => Some(PLAN.to_string()),
    }
}

pub fn chat(content: &Content, stream: bool) -> Canned {
    let calls = tool_calls(content);
    if !stream {
        let message = if calls.is_empty() {
            json!({"role": "assistant", "content": [{"type": "text", "text": text()}]})
        } else {
            let tool_calls: Vec<Value> = calls
                .iter()
                .map(|c| {
                    json!({"id": c.id, "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments.to_string()}})
                })
                .collect();
            match plan(content) {
                Some(plan) => json!({"role": "assistant", "tool_plan": plan, "tool_calls": tool_calls}),
                None => json!({"role": "assistant", "tool_calls": tool_calls}),
            }
        };
        return Canned::json(
            200,
            &json!({"id": ID, "message": message, "finish_reason": finish(content), "usage": usage()}),
        );
    }
    let mut parts = vec![sse_event(
        "message-start",
        &json!({"id": ID, "type": "message-start", "delta": {"message": {"role": "assistant", "content": [],
            "tool_plan": "", "tool_calls": [], "citations": []}}}),
    )];
    if calls.is_empty() {
        parts.push(sse_event(
            "content-start",
            &json!({"type": "content-start", "index": 0,
            "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
        ));
        for piece in TEXT_PIECES {
            parts.push(sse_event(
                "content-delta",
                &json!({"type": "content-delta", "index": 0,
                "delta": {"message": {"content": {"text": piece}}}}),
            ));
        }
        parts.push(sse_event("content-end", &json!({"type": "content-end", "index": 0})));
    } else if let Some(plan) = plan(content) {
        let pieces: Vec<String> = if plan == text() {
            TEXT_PIECES.iter().map(|s| s.to_string()).collect()
        } else {
            plan.split_inclusive(' ').map(str::to_string).collect()
        };
        for piece in pieces {
            parts.push(sse_event(
                "tool-plan-delta",
                &json!({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": piece}}}),
            ));
        }
    }
    for (index, call) in calls.iter().enumerate() {
        parts.push(sse_event(
            "tool-call-start",
            &json!({"type": "tool-call-start", "index": index,
            "delta": {"message": {"tool_calls": {"id": call.id, "type": "function",
                "function": {"name": call.name, "arguments": ""}}}}}),
        ));
        for piece in argument_pieces(&call.arguments) {
            parts.push(sse_event(
                "tool-call-delta",
                &json!({"type": "tool-call-delta", "index": index,
                "delta": {"message": {"tool_calls": {"function": {"arguments": piece}}}}}),
            ));
        }
        parts.push(sse_event("tool-call-end", &json!({"type": "tool-call-end", "index": index})));
    }
    parts.push(sse_event(
        "message-end",
        &json!({"type": "message-end", "delta": {"finish_reason": finish(content), "usage": usage()}}),
    ));
    parts.push(b"data: [DONE]\n\n".to_vec());
    Canned::stream("text/event-stream", parts)
}

/// `GET /v1/models?endpoint=chat`.
pub fn models() -> Canned {
    Canned::json(
        200,
        &json!({"models": [
            {"name": "command-a-03-2025", "endpoints": ["chat"], "finetuned": false, "context_length": 256000},
            {"name": "command-r-plus", "endpoints": ["chat"], "finetuned": false, "context_length": 128000}
        ], "next_page_token": null}),
    )
}
