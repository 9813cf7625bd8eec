//! Refusals: what the client receives instead of blocked tool calls.

use super::stream::Fold;
use crate::providers::common::{event_kind, rewrite_end_reason};
use crate::providers::json;
use crate::stream::{Frame, Framing};
use serde_json::{json, Value};

/// The stop reason of a message that ends with the refusal text instead of tool calls.
const STOP: &str = "end_turn";

/// The response as a plain assistant message whose only content is `message`. Thinking and text
/// blocks go too: the message must read as the refusal alone, and a thinking block's signature
/// only matters to a tool-use turn that no longer exists.
pub fn body(response: &Value, message: &str) -> Value {
    let mut out = json::fields(response);
    // Inserting an existing key keeps its place, so the body reads like the upstream one.
    for (key, default) in [("type", "message"), ("role", "assistant")] {
        if !out.get(key).is_some_and(Value::is_string) {
            out.insert(key.to_owned(), json!(default));
        }
    }
    out.insert("content".to_owned(), json!([{"type": "text", "text": message}]));
    out.insert("stop_reason".to_owned(), json!(STOP));
    out.insert("stop_sequence".to_owned(), Value::Null);
    Value::Object(out)
}

impl Fold {
    /// Held tool_use blocks go; any other block held after them moves down to the index the client
    /// expects next. A `message_stop` or `error` held because no `message_delta` came is kept back
    /// for `refusal`, which must come before it.
    pub fn strip_tools(&mut self, frame: &Frame) -> Option<Frame> {
        let Ok(mut data) = serde_json::from_slice::<Value>(&frame.data) else {
            return Some(frame.clone());
        };
        let kind = event_kind(frame, &data).map(str::to_owned);
        let index = data.get("index").and_then(Value::as_u64);
        match (kind.as_deref(), index) {
            (Some("content_block_start"), Some(i)) if self.tool_blocks.contains(&i) => {
                self.strip.blocks.push(i);
                None
            }
            (Some("content_block_delta" | "content_block_stop"), Some(i)) if self.strip.blocks.contains(&i) => None,
            (Some("content_block_start" | "content_block_delta" | "content_block_stop"), Some(i)) => {
                let moved = self.client_index(i);
                if moved == i {
                    return Some(frame.clone());
                }
                if let Some(obj) = data.as_object_mut() {
                    obj.insert("index".to_owned(), json!(moved));
                }
                Some(frame.with_data(Framing::Sse, &crate::providers::json::to_bytes(&data, 256)))
            }
            (Some("message_start"), _) => {
                let Some(Value::Array(content)) = data.pointer_mut("/message/content") else {
                    return Some(frame.clone());
                };
                let before = content.len();
                let mut at = 0u64;
                content.retain(|block| {
                    let tool = block.get("type").and_then(Value::as_str) == Some("tool_use");
                    if tool {
                        self.strip.blocks.push(at);
                    }
                    at = at.saturating_add(1);
                    !tool
                });
                if content.len() == before {
                    return Some(frame.clone());
                }
                Some(frame.with_data(Framing::Sse, &crate::providers::json::to_bytes(&data, 256)))
            }
            (Some("message_stop"), _) => {
                self.strip.deferred.push(frame.clone());
                None
            }
            (Some("error"), _) => {
                self.strip.error = true;
                self.strip.deferred.push(frame.clone());
                None
            }
            _ => Some(frame.clone()),
        }
    }

    /// A text block carrying `message` at the next free index, then the end of the message: the
    /// held `message_delta` with a stop reason that matches what the client got, or, when the
    /// stream ended without one, a synthesised `message_delta` + `message_stop`.
    pub fn refusal(&mut self, message: &str, finish: Option<&Frame>) -> Vec<Frame> {
        let mut out = Vec::new();
        // A block the stream left open (cut short) would otherwise overlap the refusal block.
        let open: Vec<u64> = self.open_blocks.iter().copied().filter(|i| !self.strip.blocks.contains(i)).collect();
        for i in open {
            out.push(event("content_block_stop", json!({"type": "content_block_stop", "index": self.client_index(i)})));
        }
        let index = self.next_index.saturating_sub(self.stripped_count());
        out.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        ));
        out.push(event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": message}}),
        ));
        out.push(event("content_block_stop", json!({"type": "content_block_stop", "index": index})));

        match finish {
            Some(frame) => out.push(self.rewrite_finish(frame)),
            // A stream that ended in an error still ends in that error, now after the refusal.
            None if self.strip.error => {}
            None => {
                let output = self.response().usage.map(|u| u.output).unwrap_or_default();
                out.push(event(
                    "message_delta",
                    json!({"type": "message_delta", "delta": {"stop_reason": self.stop_reason(None), "stop_sequence": null},
                        "usage": {"output_tokens": output}}),
                ));
                if self.strip.deferred.is_empty() {
                    out.push(event("message_stop", json!({"type": "message_stop"})));
                }
            }
        }
        out.append(&mut self.strip.deferred);
        out
    }

    fn rewrite_finish(&self, frame: &Frame) -> Frame {
        rewrite_end_reason(frame, "message_delta", "stop_reason", |up| self.stop_reason(up), &["stop_sequence"])
    }

    /// `end_turn` unless a tool_use block already reached the client (a tool that streams live):
    /// then the upstream reason stands, since the client holds a call to answer.
    fn stop_reason(&self, upstream: Option<&str>) -> String {
        if self.tool_blocks.len() > self.strip.blocks.len() {
            upstream.unwrap_or("tool_use").to_owned()
        } else {
            STOP.to_owned()
        }
    }

    fn stripped_count(&self) -> u64 {
        u64::try_from(self.strip.blocks.len()).unwrap_or(u64::MAX)
    }

    /// Where block `i` sits in the client's stream: down by one for each stripped block before it.
    fn client_index(&self, i: u64) -> u64 {
        let before = self.strip.blocks.iter().filter(|&&s| s < i).count();
        i.saturating_sub(u64::try_from(before).unwrap_or(u64::MAX))
    }
}

fn event(name: &str, data: Value) -> Frame {
    Frame::build(Framing::Sse, Some(name), &crate::providers::json::to_bytes(&data, 256))
}

#[cfg(test)]
#[path = "refusal_tests.rs"]
mod tests;
