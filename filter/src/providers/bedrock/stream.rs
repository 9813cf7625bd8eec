//! `ConverseStream` events. Text arrives as deltas per content block; a tool call is announced in
//! `contentBlockStart` and its input JSON arrives as string fragments in `contentBlockDelta`, so the
//! arguments are parsed once the block stops. Usage comes only in the `metadata` event after
//! `messageStop`.

use crate::providers::json::parse_arguments;
use crate::providers::lenient::Text;
use crate::providers::typed::{object_reader, read_whole};
use crate::providers::FrameInfo;
use crate::stream::{Frame, DEFAULT_MAX_HELD_BYTES};
use crate::view::{self, Arguments, Unreadable};
use serde::de;
use serde_json::Value;
use std::collections::BTreeSet;

#[derive(Debug)]
pub struct Fold {
    /// Largest tool input assembled from deltas. Past it the fragments are dropped and the
    /// arguments are too large to judge (the call is then refused if it could be blocked).
    limit: usize,
    /// Everything the events so far said; a tool call is listed from its `contentBlockStart`, with
    /// incomplete arguments until its block stops.
    response: view::Response,
    /// Tool-use blocks whose `contentBlockStop` has not been seen, in start order.
    open: Vec<OpenToolBlock>,
    /// `contentBlockIndex` of every tool-use block started so far.
    pub(super) tool_blocks: BTreeSet<u64>,
    /// Tool blocks that only ever had input deltas, no `contentBlockStart`: nothing of them may go
    /// out when the calls are refused (a client appends such input to the latest call it holds).
    pub(super) orphans: BTreeSet<u64>,
    /// The upstream's `metadata` event (usage, metrics) has been seen; the usage it carried.
    pub(super) metadata: Option<Value>,
    /// Highest `contentBlockIndex` seen: with `withheld`, where a refusal's text block goes.
    pub(super) max_index: Option<u64>,
    /// Tool-use blocks whose start `strip_tools` removed; later blocks are renumbered past them.
    pub(super) withheld: BTreeSet<u64>,
    /// Whether `messageStop` has been seen: before it, `strip_tools` keeps `metadata` and exception
    /// frames back so the refusal's `messageStop` can go first.
    pub(super) message_stopped: bool,
    /// Frames `strip_tools` kept back for after the refusal, in order.
    pub(super) after_stop: Vec<Frame>,
    /// Tests and the `response_path` fuzz target compare the typed fast path (`fold_text_delta`)
    /// with the general one.
    #[cfg(any(test, fuzzing))]
    pub(crate) general_only: bool,
}

/// The event nearly every frame of a streamed answer is: a `contentBlockDelta` of text. Read
/// typed and borrowed (`providers::typed`: a value is taken only when a tree takes it, skipped
/// ones read as a tree reads them) instead of as a `Value` tree; a tool's input delta, a key
/// given twice or a field of an unexpected type takes the general path.
#[derive(Default)]
struct TextDelta<'a> {
    index: Option<u64>,
    delta: Option<Delta<'a>>,
}

object_reader!(TextDelta, "an event object", |this, key, map| {
    "contentBlockIndex" => this.index = map.next_value()?,
    "delta" => this.delta = Some(map.next_value()?),
});

/// A delta's text; a `toolUse` delta is not read here (`reasoningContent` is skipped: it is not
/// the answer).
#[derive(Default)]
struct Delta<'a> {
    text: Text<'a>,
}

object_reader!(Delta, "a delta object", |this, key, map| {
    "text" => this.text = map.next_value()?,
    "toolUse" => return Err(de::Error::custom("a tool's input")),
});

#[derive(Debug)]
struct OpenToolBlock {
    /// `contentBlockIndex` of the block.
    index: u64,
    /// Position of the call in `response.tool_calls`.
    call: usize,
    /// Input fragments so far, concatenated; at most `Fold::limit` bytes.
    input: String,
    overflowed: bool,
}

impl Default for Fold {
    fn default() -> Self {
        Fold::with_limit(DEFAULT_MAX_HELD_BYTES)
    }
}

impl Fold {
    pub fn new() -> Self {
        Fold::default()
    }

    /// A fold that keeps at most `limit` bytes of input text per tool call.
    pub fn with_limit(limit: usize) -> Self {
        Fold {
            limit,
            response: view::Response::default(),
            open: Vec::new(),
            tool_blocks: BTreeSet::new(),
            orphans: BTreeSet::new(),
            metadata: None,
            max_index: None,
            withheld: BTreeSet::new(),
            message_stopped: false,
            after_stop: Vec::new(),
            #[cfg(any(test, fuzzing))]
            general_only: false,
        }
    }

    pub fn on_frame(&mut self, frame: &Frame) -> FrameInfo {
        let mut info = FrameInfo::default();
        let Some(name) = frame.name.as_deref() else {
            return info;
        };
        if name == "contentBlockDelta" {
            if let Some(info) = self.fold_text_delta(&frame.data) {
                return info;
            }
        }
        let Ok(event) = serde_json::from_slice::<Value>(&frame.data) else {
            return FrameInfo::unparsed(&frame.data);
        };
        let stated = event.get("contentBlockIndex").and_then(Value::as_u64);
        let index = stated.unwrap_or(0);
        match name {
            "contentBlockStart" => {
                if let Some(tu) = event.get("start").and_then(|s| s.get("toolUse")).filter(|t| t.is_object()) {
                    self.start_tool(index, tu);
                    info.tool = true;
                    info.started_tools.push(str_of(tu, "name"));
                }
            }
            "contentBlockDelta" => {
                if let Some(delta) = event.get("delta") {
                    info.tool = delta.get("toolUse").is_some();
                    if info.tool && !self.open.iter().any(|b| b.index == index) {
                        // Input for a block that never started: a call whose name nobody knows,
                        // held and judged like any other (an unnamed call is always refused).
                        if !self.tool_blocks.contains(&index) {
                            self.orphans.insert(index);
                        }
                        self.start_tool(index, &Value::Null);
                        info.started_tools.push(String::new());
                    }
                    self.delta(index, delta);
                }
            }
            "contentBlockStop" => {
                info.tool = self.tool_blocks.contains(&index);
                self.close(|b| b.index == index);
            }
            "messageStop" => {
                if let Some(reason) = event.get("stopReason").and_then(Value::as_str) {
                    self.response.finish_reason = Some(reason.to_string());
                }
                // A block the stream never stopped is as complete as it will get.
                self.close(|_| true);
                self.message_stopped = true;
                info.ends_message = true;
            }
            "metadata" => {
                if let Some(u @ Value::Object(_)) = event.get("usage") {
                    self.response.usage = Some(super::response::usage(u));
                }
                self.metadata = Some(event.get("usage").cloned().unwrap_or(Value::Null));
            }
            // messageStart, exception frames and unknown events carry nothing the view holds.
            _ => {}
        }
        // Blocks of orphan input never reach the client, so they take no index there.
        if let Some(i) = stated.filter(|i| name.starts_with("contentBlock") && !self.orphans.contains(i)) {
            self.max_index = Some(self.max_index.map_or(i, |m| m.max(i)));
        }
        info
    }

    /// The general path's effect for a text `contentBlockDelta` (the frame's name), without a
    /// `Value` tree; `None` when its data is not one.
    fn fold_text_delta(&mut self, data: &[u8]) -> Option<FrameInfo> {
        #[cfg(any(test, fuzzing))]
        if self.general_only {
            return None;
        }
        let event = read_whole::<TextDelta>(data)?;
        self.response.text.push_str(event.delta?.text.as_deref().unwrap_or_default());
        if let Some(i) = event.index.filter(|i| !self.orphans.contains(i)) {
            self.max_index = Some(self.max_index.map_or(i, |m| m.max(i)));
        }
        Some(FrameInfo::default())
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }

    fn start_tool(&mut self, index: u64, tu: &Value) {
        // A repeated start for the same index replaces the earlier, unfinished one.
        self.close(|b| b.index == index);
        self.open.push(OpenToolBlock {
            index,
            call: self.response.tool_calls.len(),
            input: String::new(),
            overflowed: false,
        });
        self.tool_blocks.insert(index);
        self.response.tool_calls.push(view::ToolCall {
            id: tu.get("toolUseId").and_then(Value::as_str).map(str::to_string),
            name: str_of(tu, "name"),
            arguments: Arguments::Unreadable(Unreadable::Incomplete),
        });
    }

    fn delta(&mut self, index: u64, delta: &Value) {
        // `reasoningContent` deltas are the model's reasoning, not its answer.
        if let Some(text) = delta.get("text").and_then(Value::as_str) {
            self.response.text.push_str(text);
        }
        let Some(fragment) = delta.get("toolUse").and_then(|t| t.get("input")).and_then(Value::as_str) else {
            return;
        };
        let Some(block) = self.open.iter_mut().find(|b| b.index == index) else {
            return;
        };
        if block.overflowed || block.input.len().saturating_add(fragment.len()) > self.limit {
            block.overflowed = true;
            block.input = String::new();
        } else {
            block.input.push_str(fragment);
        }
    }

    /// Parses the arguments of the open blocks that `which` selects and forgets them.
    fn close(&mut self, which: impl Fn(&OpenToolBlock) -> bool) {
        let (closing, still_open): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.open).into_iter().partition(|b| which(b));
        self.open = still_open;
        for block in closing {
            if let Some(call) = self.response.tool_calls.get_mut(block.call) {
                call.arguments = if block.overflowed {
                    Arguments::Unreadable(Unreadable::TooLarge)
                } else {
                    parse_arguments(&block.input)
                };
            }
        }
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
