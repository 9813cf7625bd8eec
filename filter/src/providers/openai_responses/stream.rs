//! Responses API streams: SSE events named by `event:` whose data repeats the name in `type`.
//! The fold only reads; rewriting held events after a block is `refusal.rs`'s business.

use super::request::{client_call, is_client_call};
use super::response;
use crate::providers::json::str_at;
use crate::providers::lenient::Text;
use crate::providers::typed::{object_reader, read_whole};
use crate::providers::FrameInfo;
use crate::stream::Frame;
use crate::view::{self, Arguments, ToolCall, Unreadable};
use serde_json::Value;

#[derive(Debug, Default)]
pub struct Fold {
    pub(super) response: view::Response,
    /// Every output item the stream announced, in order.
    pub(super) items: Vec<Item>,
    /// The `response` of the latest lifecycle event (`response.created`, `…in_progress`): what a
    /// terminal event the gateway has to write is built on.
    pub(super) lifecycle: Option<Value>,
    /// What the refusal hooks learnt about the held part of the stream.
    pub(super) hold: super::refusal::Hold,
    /// Frames folded so far: the number of the next one.
    pub(super) frames: u64,
    /// Tests and the `response_path` fuzz target compare the typed fast path (`fold_text_delta`) with the general one.
    #[cfg(any(test, fuzzing))]
    pub(crate) general_only: bool,
}

/// The event nearly every frame of a streamed answer is: a text (or refusal) delta. Read typed
/// and borrowed (`providers::typed`: a value is taken only when a tree takes it, skipped ones —
/// `item_id`, `logprobs`, `obfuscation`… — read as a tree reads them) instead of as a `Value`
/// tree; any other event, or a key given twice, takes the general path.
#[derive(Default)]
struct TextDelta<'a> {
    kind: Text<'a>,
    delta: Text<'a>,
}

object_reader!(TextDelta, "an event object", |this, key, map| {
    "type" => this.kind = map.next_value()?,
    "delta" => this.delta = map.next_value()?,
});

/// The events `TextDelta` stands for.
fn is_text_delta(kind: &str) -> bool {
    matches!(kind, "response.output_text.delta" | "response.refusal.delta")
}

/// One output item of the stream.
#[derive(Debug)]
pub(super) struct Item {
    pub(super) output_index: u64,
    /// The number of the frame that announced it.
    pub(super) born: u64,
    /// A call the client runs (function, custom, or a client-side built-in): what policies judge.
    pub(super) tool: bool,
    /// Its position in the response's tool calls, from its announcement on: arguments read as
    /// incomplete until `output_item.done` gives them, so a call the stream never finishes is
    /// judged as one whose arguments nobody knows.
    pub(super) call: Option<usize>,
    /// The number of the frame that made it a call (announced it, or turned an item of another
    /// type into one): from a frame the hold-back held on, the client never learns of it.
    pub(super) tool_since: u64,
    /// A call announced inside the held part of a blocked stream: the client never sees it.
    pub(super) held: bool,
    /// The item as last described (`added`, then `done`).
    pub(super) body: Value,
}

pub(super) fn is_tool_item(item: &Value) -> bool {
    str_at(item, "type").is_some_and(is_client_call)
}

pub(super) fn is_terminal(kind: &str) -> bool {
    matches!(kind, "response.completed" | "response.incomplete" | "response.failed")
}

/// The event's type: `type` is authoritative; the SSE name covers servers that send only that.
pub(super) fn kind<'a>(event: &'a Value, frame: &'a Frame) -> &'a str {
    str_at(event, "type").or(frame.name.as_deref()).unwrap_or_default()
}

impl Fold {
    pub fn new() -> Self {
        Fold::default()
    }

    pub fn on_frame(&mut self, frame: &Frame) -> FrameInfo {
        let this = self.frames;
        self.frames = self.frames.saturating_add(1);
        if let Some(info) = self.fold_text_delta(frame) {
            return info;
        }
        let Ok(event) = serde_json::from_slice::<Value>(&frame.data) else {
            return FrameInfo::unparsed(&frame.data);
        };
        let mut info = FrameInfo::default();
        match kind(&event, frame) {
            "response.created" | "response.in_progress" | "response.queued" => {
                if let Some(lifecycle) = event.get("response").filter(|r| r.is_object()) {
                    if let Some(model) = str_at(lifecycle, "model") {
                        self.response.model = Some(model.to_owned());
                    }
                    self.lifecycle = Some(lifecycle.clone());
                }
            }
            kind if is_text_delta(kind) => {
                self.response.text.push_str(str_at(&event, "delta").unwrap_or_default());
            }
            "response.output_item.added" => {
                if let Some(item) = event.get("item").filter(|i| i.is_object()) {
                    // Arguments read as incomplete until `output_item.done` gives them.
                    let call = is_tool_item(item).then(|| ToolCall {
                        arguments: Arguments::Unreadable(Unreadable::Incomplete),
                        ..client_call(item)
                    });
                    let output_index = self.output_index(&event);
                    self.announce(output_index, item, call, this, &mut info);
                }
            }
            // The call is folded only once complete: its arguments are final in this event.
            "response.output_item.done" => {
                if let Some(item) = event.get("item").filter(|i| i.is_object()) {
                    self.fold_item_done(&event, item, this, &mut info);
                }
            }
            kind if is_terminal(kind) => {
                info.ends_message = true;
                if let Some(terminal) = event.get("response") {
                    self.fold_terminal(terminal, &mut info);
                }
            }
            _ => info.tool = self.tool_item_at(&event).is_some(),
        }
        self.hold.end.screen(&mut info);
        info
    }

    /// The general path's effect for a text or refusal delta, without building a `Value`; `None`
    /// when the frame is not one (an event named otherwise is not tried: its data would have to
    /// say it is one).
    pub(super) fn fold_text_delta(&mut self, frame: &Frame) -> Option<FrameInfo> {
        #[cfg(any(test, fuzzing))]
        if self.general_only {
            return None;
        }
        if frame.name.as_deref().is_some_and(|name| !is_text_delta(name)) {
            return None;
        }
        let event = read_whole::<TextDelta>(&frame.data)?;
        if !event.kind.as_deref().is_some_and(is_text_delta) {
            return None;
        }
        self.response.text.push_str(event.delta.as_deref().unwrap_or_default());
        let mut info = FrameInfo::default();
        self.hold.end.screen(&mut info);
        Some(info)
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }

    /// The item an event's `output_index` points at, when that item is a tool call.
    pub(super) fn tool_item_at(&self, event: &Value) -> Option<&Item> {
        let index = event.get("output_index").and_then(Value::as_u64)?;
        self.items.iter().rev().find(|i| i.output_index == index).filter(|i| i.tool)
    }

    fn output_index(&self, event: &Value) -> u64 {
        event
            .get("output_index")
            .and_then(Value::as_u64)
            .unwrap_or_else(|| u64::try_from(self.items.len()).unwrap_or(u64::MAX))
    }

    /// A new output item, announced by frame `this`; `call` when it is a call the client runs.
    fn announce(&mut self, output_index: u64, item: &Value, call: Option<ToolCall>, this: u64, info: &mut FrameInfo) {
        let tool = call.is_some();
        let call = call.map(|call| start_call(&mut self.response.tool_calls, call, info));
        self.items.push(Item {
            output_index,
            born: this,
            tool,
            call,
            tool_since: this,
            held: false,
            body: item.clone(),
        });
    }

    /// `this`: the frame's number. A `…done` describes the item last announced at its index when
    /// it is the same item (same id, or neither has one); otherwise it announces a new one.
    fn fold_item_done(&mut self, event: &Value, item: &Value, this: u64, info: &mut FrameInfo) {
        let output_index = self.output_index(event);
        let tool = is_tool_item(item);
        let known = self.items.iter().rposition(|i| i.output_index == output_index && same_or_unkeyed(&i.body, item));
        let Some(known) = known.and_then(|pos| self.items.get_mut(pos)) else {
            // A server that skips `output_item.added`: the call starts and ends here.
            self.announce(output_index, item, tool.then(|| client_call(item)), this, info);
            return;
        };
        known.body = item.clone();
        if !tool {
            return;
        }
        info.tool = true;
        let call = client_call(item);
        match known.call.and_then(|slot| self.response.tool_calls.get_mut(slot)) {
            Some(started) => {
                // Another name than the announced one is another call: it is judged as starting
                // here, and the client learns of it only if it is let through.
                if started.name != call.name {
                    info.started_tools.push(call.name.clone());
                    known.tool_since = this;
                }
                *started = call;
            }
            None => {
                // An item of another type that turns out a call: it starts here.
                known.tool = true;
                known.tool_since = this;
                known.call = Some(start_call(&mut self.response.tool_calls, call, info));
            }
        }
    }

    /// The terminal event carries the whole response: usage and status from it always; its output
    /// only where the stream delivered none of its own (it repeats what the items already said).
    fn fold_terminal(&mut self, terminal: &Value, info: &mut FrameInfo) {
        let whole = response::parse(terminal);
        if whole.model.is_some() {
            self.response.model = whole.model;
        }
        if whole.usage.is_some() {
            self.response.usage = whole.usage;
        }
        if whole.finish_reason.is_some() {
            self.response.finish_reason = whole.finish_reason;
        }
        // Calls listed only here never streamed: they start (and end) in this event.
        let unstreamed: Vec<&Value> = terminal
            .get("output")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|item| is_tool_item(item) && !self.items.iter().any(|known| same_item(&known.body, item)))
            .collect();
        if !unstreamed.is_empty() {
            info.tool = true;
            info.started_tools.extend(unstreamed.iter().map(|i| str_at(i, "name").unwrap_or_default().to_owned()));
        }
        // Calls the items already gave are repeated here; any other is new and must be judged too.
        for call in whole.tool_calls {
            let known = self.response.tool_calls.iter().any(|c| match (&c.id, &call.id) {
                (Some(a), Some(b)) => a == b,
                _ => c.name == call.name && c.arguments == call.arguments,
            });
            if !known {
                self.response.tool_calls.push(call);
            }
        }
        if self.response.text.is_empty() {
            self.response.text = whole.text;
        }
    }
}

/// A call starts: judged from this frame on, at the returned position among the response's calls.
fn start_call(calls: &mut Vec<ToolCall>, call: ToolCall, info: &mut FrameInfo) -> usize {
    info.tool = true;
    info.started_tools.push(call.name.clone());
    calls.push(call);
    calls.len().saturating_sub(1)
}

/// `same_item`, or neither names itself (no `id`, no `call_id`): what a server that numbers no
/// items sends for one item at one index.
fn same_or_unkeyed(a: &Value, b: &Value) -> bool {
    same_item(a, b) || (!is_keyed(a) && !is_keyed(b))
}

fn is_keyed(item: &Value) -> bool {
    ["id", "call_id"].iter().any(|k| str_at(item, k).is_some_and(|s| !s.is_empty()))
}

/// Two descriptions of one output item: same `id`, or for calls without one, same `call_id`.
pub(super) fn same_item(a: &Value, b: &Value) -> bool {
    let key = |v: &Value, k: &str| str_at(v, k).filter(|s| !s.is_empty()).map(str::to_owned);
    match (key(a, "id"), key(b, "id")) {
        (Some(x), Some(y)) => x == y,
        _ => key(a, "call_id").is_some_and(|x| key(b, "call_id").as_deref() == Some(x.as_str())),
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
