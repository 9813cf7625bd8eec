//! Pieces of provider logic that several wire APIs share because the APIs themselves work the same
//! way there. JSON accessors live in `json.rs`; this is the logic built on them.

use crate::providers::json;
use crate::providers::FrameInfo;
use crate::stream::{Frame, Framing};
use crate::view::{Arguments, Message, Request, Role, ToolCall, Unreadable};
use serde_json::{Map, Value};

/// The event type: the data's own `type` (Anthropic, Cohere: each event's data repeats it), else
/// the SSE `event:` name. The data decides because that is what the SDKs build the event from:
/// an event named `content-delta` whose data says `tool-call-start` is a tool call to the client.
pub fn event_kind<'a>(frame: &'a Frame, data: &'a Value) -> Option<&'a str> {
    json::str_at(data, "type").or(frame.name.as_deref())
}

/// The event that ends the message (type `kind`, Anthropic and Cohere SSE) with `delta.<key>` set to
/// what `reason` makes of the reason it carried, and the `nulled` delta keys set to null. Any other
/// frame, and one that already gives that reason, stays as it is.
pub fn rewrite_end_reason(
    frame: &Frame,
    kind: &str,
    key: &str,
    reason: impl FnOnce(Option<&str>) -> String,
    nulled: &[&str],
) -> Frame {
    let Ok(mut data) = serde_json::from_slice::<Value>(&frame.data) else {
        return frame.clone();
    };
    if event_kind(frame, &data) != Some(kind) {
        return frame.clone();
    }
    let upstream = data.get("delta").and_then(|d| d.get(key)).and_then(Value::as_str);
    let reason = reason(upstream);
    if upstream == Some(reason.as_str()) {
        return frame.clone();
    }
    if let Some(obj) = data.as_object_mut() {
        let delta = obj.entry("delta").or_insert_with(|| Value::Object(Map::new()));
        if let Some(delta) = delta.as_object_mut() {
            delta.insert(key.to_owned(), Value::String(reason));
            for null in nulled {
                delta.insert((*null).to_owned(), Value::Null);
            }
        }
    }
    frame.with_data(Framing::Sse, &crate::providers::json::to_bytes(&data, 256))
}

/// One turn of a history whose user turns carry tool results as parts (Gemini, Bedrock). A user
/// turn that only carries results is a tool turn, as in the OpenAI shape; its text is the results
/// so token counts and "latest user request" see what the turn carries.
pub fn turn(role: Role, texts: &[&str], results: &[String]) -> Message {
    if texts.is_empty() && !results.is_empty() {
        Message { role: Role::Tool, text: results.join("\n") }
    } else {
        Message { role, text: texts.join("\n") }
    }
}

/// Gives every result still without a tool name the name of the call its call id names, wherever
/// in the history that call is (OpenAI chat and Responses name results by call id only).
pub fn name_results_by_call_id(req: &mut Request) {
    for result in &mut req.tool_results {
        if result.tool_name.is_none() {
            result.tool_name = result
                .call_id
                .as_deref()
                .and_then(|id| req.tool_calls.iter().find(|c| c.id.as_deref() == Some(id)))
                .map(|c| c.name.clone());
        }
    }
}

/// Tool calls of a stream whose arguments arrive as JSON text in pieces, addressed by the event's
/// `index`. A call's arguments in the response read as incomplete from its start until it ends:
/// a call the stream never ends is one whose arguments nobody can know, and is judged as such.
#[derive(Debug)]
pub struct OpenCalls {
    calls: Vec<OpenCall>,
    /// Most argument text kept per call; past it the call's arguments are too large to judge.
    limit: usize,
}

#[derive(Debug)]
struct OpenCall {
    /// The stream's index, which addresses the call's deltas and end.
    index: Option<u64>,
    /// Position of the call in the response's tool calls.
    slot: usize,
    /// The arguments the call started with (Anthropic's `input: {}`), which stand when no text
    /// follows.
    start: Arguments,
    arguments: String,
    too_large: bool,
}

impl Default for OpenCalls {
    fn default() -> Self {
        OpenCalls::new(crate::stream::DEFAULT_MAX_HELD_BYTES)
    }
}

impl OpenCalls {
    pub fn new(limit: usize) -> Self {
        OpenCalls { calls: Vec::new(), limit }
    }

    /// A call starts at `slot` of the response's tool calls, whose arguments the caller set to
    /// incomplete; `text` is argument text that came with the start.
    pub fn open(&mut self, index: Option<u64>, slot: usize, start: Arguments, text: &str) {
        self.calls.push(OpenCall { index, slot, start, arguments: String::new(), too_large: false });
        let at = self.calls.len().checked_sub(1);
        self.append(at, text);
    }

    /// The latest open call with `index`.
    pub fn position(&self, index: Option<u64>) -> Option<usize> {
        self.calls.iter().rposition(|c| c.index == index)
    }

    /// The latest open call, whatever its index.
    pub fn latest(&self) -> Option<usize> {
        self.calls.len().checked_sub(1)
    }

    pub fn append(&mut self, at: Option<usize>, piece: &str) {
        let limit = self.limit;
        if let Some(call) = at.and_then(|pos| self.calls.get_mut(pos)) {
            if call.too_large || call.arguments.len().saturating_add(piece.len()) > limit {
                call.too_large = true;
                call.arguments = String::new();
            } else {
                call.arguments.push_str(piece);
            }
        }
    }

    /// Ends the call at `at`: its arguments, read from the text that arrived (or the ones it
    /// started with when none did), replace the incomplete ones in `calls`.
    pub fn close(&mut self, at: Option<usize>, calls: &mut [ToolCall]) {
        if let Some(pos) = at.filter(|&pos| pos < self.calls.len()) {
            let call = self.calls.remove(pos);
            finish(call, calls);
        }
    }

    /// Ends every open call: nothing follows in the message, so no call will end on its own.
    pub fn close_all(&mut self, calls: &mut [ToolCall]) {
        for call in std::mem::take(&mut self.calls) {
            finish(call, calls);
        }
    }
}

fn finish(call: OpenCall, calls: &mut [ToolCall]) {
    let arguments = if call.too_large {
        Arguments::Unreadable(Unreadable::TooLarge)
    } else if call.arguments.trim().is_empty() {
        call.start
    } else {
        json::parse_arguments(&call.arguments)
    };
    if let Some(tc) = calls.get_mut(call.slot) {
        tc.arguments = arguments;
    }
}

/// How an OpenAI-wire stream (chat, Responses) ends around a refusal: a held `[DONE]` must follow
/// the frames the refusal adds, and once the refusal went out the message is over for the client.
#[derive(Debug, Default)]
pub struct RefusalEnd {
    /// A `[DONE]` was held: `close` sends it after the refusal.
    pub done: bool,
    refused: bool,
}

impl RefusalEnd {
    /// Tool content after the refusal can only belong to a blocked call (the message has ended), so
    /// it is dropped rather than let through as a frame nobody holds.
    pub fn screen(&self, info: &mut FrameInfo) {
        if self.refused && info.tool {
            info.drop = true;
        }
    }

    /// The JSON data of a held frame, or else what stripping makes of the frame: nothing for a
    /// `[DONE]` (kept for after the refusal), the frame as it is for any other data.
    pub fn held_json(&mut self, frame: &Frame) -> Result<Value, Option<Frame>> {
        match serde_json::from_slice::<Value>(&frame.data) {
            Ok(value) => Ok(value),
            Err(_) if frame.data.trim_ascii() == b"[DONE]" => {
                self.done = true;
                Err(None)
            }
            Err(_) => Err(Some(frame.clone())),
        }
    }

    /// The refusal went out: appends the held `[DONE]`, if any, after it.
    pub fn close(&mut self, out: &mut Vec<Frame>) {
        self.refused = true;
        if std::mem::take(&mut self.done) {
            out.push(Frame::build(Framing::Sse, None, b"[DONE]"));
        }
    }
}

#[cfg(test)]
#[path = "common_tests.rs"]
mod tests;
