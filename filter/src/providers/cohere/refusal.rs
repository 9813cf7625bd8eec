//! Refusals: what the client receives instead of blocked tool calls.

use super::stream::Fold;
use crate::providers::common::{event_kind, rewrite_end_reason};
use crate::providers::json;
use crate::stream::{Frame, Framing};
use serde_json::{json, Value};

/// The finish reason of a message that ends with the refusal text instead of tool calls.
const STOP: &str = "COMPLETE";

/// The response as a plain assistant message whose only content is `message`. The tool plan and
/// citations go with the calls: they describe a turn the client no longer receives.
pub fn body(response: &Value, message: &str) -> Value {
    let mut out = json::fields(response);
    let role = out.get("message").and_then(|m| m.get("role")).and_then(Value::as_str).unwrap_or("assistant");
    let replaced = json!({"role": role, "content": [{"type": "text", "text": message}]});
    out.insert("message".to_owned(), replaced);
    out.insert("finish_reason".to_owned(), json!(STOP));
    Value::Object(out)
}

impl Fold {
    /// Held `tool-call-*` events go; everything else stays as it is (content parts are indexed
    /// apart from tool calls, so nothing moves). A `[DONE]` held because no `message-end` came is
    /// kept back for `refusal`.
    pub fn strip_tools(&mut self, frame: &Frame) -> Option<Frame> {
        let Ok(data) = serde_json::from_slice::<Value>(&frame.data) else {
            if frame.data.trim_ascii() == b"[DONE]" {
                self.strip.deferred.push(frame.clone());
                return None;
            }
            return Some(frame.clone());
        };
        let index = data.get("index").and_then(Value::as_u64);
        match event_kind(frame, &data) {
            Some("tool-call-start") => {
                self.strip.calls.push(index);
                let calls = data.get("delta").and_then(|d| d.get("message")).and_then(|m| m.get("tool_calls"));
                let count = match calls {
                    Some(Value::Array(all)) => all.len(),
                    Some(_) => 1,
                    None => 0,
                };
                self.strip.calls_removed = self.strip.calls_removed.saturating_add(count);
                None
            }
            // An event without an index addresses the latest call, which is a stripped one as
            // soon as any call was: calls come one after another and holding never stops early.
            Some("tool-call-delta" | "tool-call-end")
                if self.strip.calls.contains(&index) || (index.is_none() && !self.strip.calls.is_empty()) =>
            {
                None
            }
            _ => Some(frame.clone()),
        }
    }

    /// A text content part carrying `message` at the next content index, then the one
    /// `message-end`: the held one with a finish reason that matches what the client got, or a
    /// synthesised one when the stream ended without it.
    pub fn refusal(&mut self, message: &str, finish: Option<&Frame>) -> Vec<Frame> {
        let mut out = Vec::new();
        // A part the stream left open (cut short) would otherwise overlap the refusal part.
        for i in std::mem::take(&mut self.open_content) {
            out.push(self.event("content-end", json!({"type": "content-end", "index": i})));
        }
        let index = self.next_content;
        out.push(self.event(
            "content-start",
            json!({"type": "content-start", "index": index,
                "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
        ));
        out.push(self.event(
            "content-delta",
            json!({"type": "content-delta", "index": index, "delta": {"message": {"content": {"text": message}}}}),
        ));
        out.push(self.event("content-end", json!({"type": "content-end", "index": index})));
        out.push(match finish {
            Some(frame) => self.rewrite_finish(frame),
            // No usage is invented: the stream never said what it cost.
            None => self.event(
                "message-end",
                json!({"type": "message-end", "delta": {"finish_reason": self.finish_reason(None)}}),
            ),
        });
        out.append(&mut self.strip.deferred);
        out
    }

    fn rewrite_finish(&self, frame: &Frame) -> Frame {
        rewrite_end_reason(frame, "message-end", "finish_reason", |up| self.finish_reason(up), &[])
    }

    /// `COMPLETE` unless a tool call already reached the client (a tool that streams live): then
    /// the upstream reason stands, since the client holds a call to answer.
    fn finish_reason(&self, upstream: Option<&str>) -> String {
        if self.calls_started > self.strip.calls_removed {
            upstream.unwrap_or("TOOL_CALL").to_owned()
        } else {
            STOP.to_owned()
        }
    }

    fn event(&self, kind: &str, data: Value) -> Frame {
        Frame::build(Framing::Sse, self.named.then_some(kind), &crate::providers::json::to_bytes(&data, 256))
    }
}

#[cfg(test)]
#[path = "refusal_tests.rs"]
mod tests;
