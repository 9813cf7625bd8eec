//! Cohere v2 chat.

use super::scenario::{
    argument_pieces, sse_event, text, tool_calls, Canned, Content, CACHED, INPUT, OUTPUT, TEXT_PIECES,
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

pub fn chat(content: &Content, stream: bool) -> Canned {
    let calls = tool_calls(content);
    if !stream {
        let message = if calls.is_empty() {
            json!({"role": "assistant", "content": [{"type": "text", "text": text()}]})
        } else {
            let tool_calls: Vec<Value> = calls
                .iter()
                .map(|(id, name, args)| {
                    json!({"id": id, "type": "function",
                    "function": {"name": name, "arguments": args.to_string()}})
                })
                .collect();
            json!({"role": "assistant", "tool_plan": PLAN, "tool_calls": tool_calls})
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
    } else {
        for word in PLAN.split_inclusive(' ') {
            parts.push(sse_event(
                "tool-plan-delta",
                &json!({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": word}}}),
            ));
        }
    }
    for (index, (id, name, args)) in calls.iter().enumerate() {
        parts.push(sse_event(
            "tool-call-start",
            &json!({"type": "tool-call-start", "index": index,
            "delta": {"message": {"tool_calls": {"id": id, "type": "function",
                "function": {"name": name, "arguments": ""}}}}}),
        ));
        for piece in argument_pieces(args) {
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
