//! Folds a Cohere v2 chat SSE stream into a neutral response. Each event's data carries its own
//! `type`, which stands in for the `event:` name when a client or recorder dropped it.

use super::response::usage;
use crate::providers::common::{event_kind, OpenCalls};
use crate::providers::json;
use crate::providers::lenient::Text;
use crate::providers::typed::{object_reader, read_whole};
use crate::providers::FrameInfo;
use crate::stream::Frame;
use crate::view::{self, Arguments, ToolCall, Unreadable};
use serde_json::Value;

#[derive(Debug, Default)]
pub struct Fold {
    response: view::Response,
    /// Tool calls started and not yet ended; their arguments in `response` read as incomplete
    /// until the call ends, because partial JSON cannot be judged.
    open: OpenCalls,
    /// Tool calls started, whether or not the client got them (see `refusal.rs`).
    pub(super) calls_started: usize,
    /// Content parts (text, thinking) started and not ended. Content and tool calls are indexed
    /// apart: `index` addresses `message.content[i]` or `message.tool_calls[i]`.
    pub(super) open_content: Vec<u64>,
    /// One past the highest content index seen: where a new content part goes.
    pub(super) next_content: u64,
    /// Whether events carry SSE `event:` names (the API's do), so built events match.
    pub(super) named: bool,
    pub(super) strip: Strip,
    /// Tests and the `response_path` fuzz target compare the typed fast path (`fold_text_delta`)
    /// with the general one.
    #[cfg(any(test, fuzzing))]
    pub(crate) general_only: bool,
}

/// The event nearly every frame of a streamed answer is: a `content-delta` (text or thinking). Read
/// typed and borrowed (`providers::typed`: a value is taken only when a tree takes it, skipped
/// ones read as a tree reads them) instead of as a `Value` tree; any other event, a key given
/// twice or a field of an unexpected type takes the general path.
#[derive(Default)]
struct ContentDelta<'a> {
    kind: Text<'a>,
    delta: Option<Delta<'a>>,
}

object_reader!(ContentDelta, "an event object", |this, key, map| {
    "type" => this.kind = map.next_value()?,
    "delta" => this.delta = Some(map.next_value()?),
});

/// `delta`: its `message`.
#[derive(Default)]
struct Delta<'a> {
    message: Option<Message<'a>>,
}

object_reader!(Delta, "a delta object", |this, key, map| {
    "message" => this.message = Some(map.next_value()?),
});

/// `delta.message`: its `content`.
#[derive(Default)]
struct Message<'a> {
    content: Option<Content<'a>>,
}

object_reader!(Message, "a message object", |this, key, map| {
    "content" => this.content = Some(map.next_value()?),
});

/// `delta.message.content`: its `text` (a thinking part carries `thinking` instead).
#[derive(Default)]
struct Content<'a> {
    text: Text<'a>,
}

object_reader!(Content, "a content object", |this, key, map| {
    "text" => this.text = map.next_value()?,
});

/// What stripping held frames left behind.
#[derive(Debug, Default)]
pub(super) struct Strip {
    /// Indices of the tool calls removed from the client's stream (`None`: a call without one).
    pub(super) calls: Vec<Option<u64>>,
    /// How many calls those were (one start event may carry several).
    pub(super) calls_removed: usize,
    /// `data: [DONE]` held because no `message-end` came: sent after the refusal.
    pub(super) deferred: Vec<Frame>,
}

impl Fold {
    pub fn new() -> Self {
        Fold::default()
    }

    /// A fold that keeps at most `limit` bytes of argument text per tool call.
    pub fn with_limit(limit: usize) -> Self {
        Fold { open: OpenCalls::new(limit), ..Fold::default() }
    }

    /// Every frame is forwarded: the fold only observes. `tool-call-*` events are tool frames;
    /// `message-end` carries the finish reason and ends the message.
    pub fn on_frame(&mut self, frame: &Frame) -> FrameInfo {
        if let Some(info) = self.fold_text_delta(frame) {
            return info;
        }
        let mut info = FrameInfo::default();
        // `data: [DONE]` and other non-JSON data fail here and are simply passed on.
        let Ok(data) = serde_json::from_slice::<Value>(&frame.data) else {
            return FrameInfo::unparsed(&frame.data);
        };
        self.named = frame.name.is_some();
        let message = data.get("delta").and_then(|d| d.get("message")).unwrap_or(&Value::Null);
        let index = data.get("index").and_then(Value::as_u64);
        match event_kind(frame, &data) {
            Some(kind @ ("content-start" | "content-delta")) => {
                if let Some(i) = index.filter(|_| kind == "content-start") {
                    self.open_content.push(i);
                    self.next_content = self.next_content.max(i.saturating_add(1));
                }
                // Thinking parts carry `thinking`, not `text`, so they never reach the text.
                if let Some(text) = message.get("content").and_then(|c| json::str_at(c, "text")) {
                    self.response.text.push_str(text);
                }
            }
            Some("content-end") => self.open_content.retain(|&i| Some(i) != index),
            Some("tool-call-start") => {
                info.tool = true;
                match message.get("tool_calls") {
                    Some(Value::Array(calls)) => {
                        calls.iter().for_each(|c| info.started_tools.push(self.start_call(index, c)))
                    }
                    Some(call) => info.started_tools.push(self.start_call(index, call)),
                    None => {}
                }
            }
            Some("tool-call-delta") => {
                info.tool = true;
                let piece = message
                    .get("tool_calls")
                    .and_then(|c| c.get("function"))
                    .and_then(|f| json::str_at(f, "arguments"))
                    .unwrap_or_default();
                self.open.append(self.open_position(index), piece);
            }
            Some("tool-call-end") => {
                info.tool = true;
                self.open.close(self.open_position(index), &mut self.response.tool_calls);
            }
            Some("message-end") => {
                info.ends_message = true;
                let delta = data.get("delta").unwrap_or(&Value::Null);
                if let Some(reason) = json::str_at(delta, "finish_reason") {
                    self.response.finish_reason = Some(reason.to_string());
                }
                if let Some(u) = delta.get("usage").filter(|u| u.is_object()) {
                    self.response.usage = Some(usage(u));
                }
                // Nothing follows message-end; a call it interrupted will never end.
                self.open.close_all(&mut self.response.tool_calls);
            }
            _ => {}
        }
        info
    }

    /// The general path's effect for a `content-delta`, without a `Value` tree; `None` when the
    /// frame is not one (an event named otherwise is not tried: its data would have to say it is
    /// one).
    fn fold_text_delta(&mut self, frame: &Frame) -> Option<FrameInfo> {
        #[cfg(any(test, fuzzing))]
        if self.general_only {
            return None;
        }
        if frame.name.as_deref().is_some_and(|name| name != "content-delta") {
            return None;
        }
        let event = read_whole::<ContentDelta>(&frame.data)?;
        if event.kind.as_deref() != Some("content-delta") {
            return None;
        }
        self.named = frame.name.is_some();
        let content = event.delta.and_then(|d| d.message).and_then(|m| m.content);
        if let Some(text) = content.as_ref().and_then(|c| c.text.as_deref()) {
            self.response.text.push_str(text);
        }
        Some(FrameInfo::default())
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }

    /// Returns the call's name.
    fn start_call(&mut self, index: Option<u64>, call: &Value) -> String {
        self.calls_started = self.calls_started.saturating_add(1);
        let function = call.get("function");
        let arguments = function.and_then(|f| json::str_at(f, "arguments")).unwrap_or_default();
        self.open.open(index, self.response.tool_calls.len(), Arguments::empty(), arguments);
        let name = function.and_then(|f| json::str_at(f, "name")).unwrap_or_default().to_string();
        self.response.tool_calls.push(ToolCall {
            id: json::str_at(call, "id").map(str::to_string),
            name: name.clone(),
            arguments: Arguments::Unreadable(Unreadable::Incomplete),
        });
        name
    }

    /// The open call an event addresses: by its index, or the latest one when it has none.
    fn open_position(&self, index: Option<u64>) -> Option<usize> {
        match index {
            Some(_) => self.open.position(index),
            None => self.open.latest(),
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
