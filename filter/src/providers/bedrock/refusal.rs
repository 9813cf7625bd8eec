//! Refusals: what the client receives instead of blocked tool calls. In a stream the refusal is a
//! text block at the next free `contentBlockIndex`, then `messageStop`; `metadata` (the usage)
//! follows as upstream sent it.

use super::stream::Fold;
use crate::providers::json;
use crate::stream::{Frame, Framing};
use serde_json::{json, Value};

/// The non-streaming refusal body: the output message is the refusal text alone and the turn
/// ends with `end_turn`; usage, metrics and any other field stay.
pub fn body(response: &Value, message: &str) -> Value {
    let mut out = json::fields(response);
    out.insert("output".into(), json!({"message": {"role": "assistant", "content": [{"text": message}]}}));
    out.insert("stopReason".into(), json!("end_turn"));
    Value::Object(out)
}

impl Fold {
    /// Drops the start, input deltas and stop of every tool-use block that starts among the held
    /// frames; renumbers the other blocks so the indices the client sees stay contiguous. Before
    /// `messageStop`, `metadata` and exceptions are kept back for after the refusal.
    pub fn strip_tools(&mut self, frame: &Frame) -> Option<Frame> {
        let name = frame.name.as_deref().unwrap_or_default();
        if !self.message_stopped && (name == "metadata" || name.ends_with("Exception")) {
            self.after_stop.push(frame.clone());
            return None;
        }
        if !name.starts_with("contentBlock") {
            return Some(frame.clone());
        }
        let Ok(mut event) = serde_json::from_slice::<Value>(&frame.data) else {
            return Some(frame.clone());
        };
        let Some(index) = event.get("contentBlockIndex").and_then(Value::as_u64) else {
            return Some(frame.clone());
        };
        let starts_tool = event.get("start").and_then(|s| s.get("toolUse")).is_some();
        let tool_delta = event.get("delta").and_then(|d| d.get("toolUse")).is_some();
        if name == "contentBlockStart" && starts_tool {
            self.withheld.insert(index);
            return None;
        }
        // Input for a block whose start did not go out belongs to a withheld (or unknown) call.
        let delivered_tool =
            self.tool_blocks.contains(&index) && !self.withheld.contains(&index) && !self.orphans.contains(&index);
        if self.withheld.contains(&index) || (tool_delta && !delivered_tool) {
            return None;
        }
        let shift = u64::try_from(self.withheld.range(..index).count()).unwrap_or(u64::MAX);
        if shift == 0 {
            return Some(frame.clone());
        }
        if let Some(obj) = event.as_object_mut() {
            obj.insert("contentBlockIndex".into(), json!(index.saturating_sub(shift)));
        }
        Some(frame.with_data(Framing::EventStream, &crate::providers::json::to_bytes(&event, 256)))
    }

    /// A text block (`contentBlockDelta` + `contentBlockStop`; Converse sends no start for text)
    /// at the next free index, then `messageStop` with `end_turn`, or `tool_use` when a call
    /// streamed before the hold did reach the client.
    pub fn refusal(&mut self, message: &str, finish: Option<&Frame>) -> Vec<Frame> {
        let withheld = u64::try_from(self.withheld.len()).unwrap_or(u64::MAX);
        let index = self.max_index.map_or(0, |m| m.saturating_add(1).saturating_sub(withheld));
        let mut frames = vec![
            event("contentBlockDelta", &json!({"contentBlockIndex": index, "delta": {"text": message}})),
            event("contentBlockStop", &json!({"contentBlockIndex": index})),
        ];
        let delivered_calls = self.tool_blocks.iter().any(|i| !self.withheld.contains(i) && !self.orphans.contains(i));
        let reason = if delivered_calls { "tool_use" } else { "end_turn" };
        let stop = finish.and_then(|f| match serde_json::from_slice::<Value>(&f.data) {
            Ok(Value::Object(mut obj)) => {
                obj.insert("stopReason".into(), json!(reason));
                Some(f.with_data(Framing::EventStream, &crate::providers::json::to_bytes(&Value::Object(obj), 256)))
            }
            _ => None,
        });
        frames.push(stop.unwrap_or_else(|| event("messageStop", &json!({"stopReason": reason}))));
        self.message_stopped = true;
        // An exception the stream ended in is its last word.
        let exception = self.after_stop.iter().any(|f| f.name.as_deref().is_some_and(|n| n.ends_with("Exception")));
        frames.append(&mut self.after_stop);
        // Without the upstream's messageStop nothing follows the refusal, so a stream that never
        // carried metadata gets one (SDKs read usage there), with the usage known so far.
        if finish.is_none() && self.metadata.is_none() && !exception {
            let usage = self.response().usage.unwrap_or_default();
            let usage = json!({"inputTokens": usage.input, "outputTokens": usage.output,
                "totalTokens": usage.input.saturating_add(usage.output)});
            frames.push(event("metadata", &json!({"usage": usage, "metrics": {"latencyMs": 0}})));
            self.metadata = Some(Value::Null);
        }
        frames
    }
}

fn event(name: &str, payload: &Value) -> Frame {
    Frame::build(Framing::EventStream, Some(name), &crate::providers::json::to_bytes(payload, 256))
}

#[cfg(test)]
#[path = "refusal_tests.rs"]
mod tests;
