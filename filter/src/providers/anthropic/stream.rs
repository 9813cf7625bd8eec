//! Folds an Anthropic Messages SSE stream (`event:` names, JSON data) into a neutral response.

use super::response::usage;
use crate::providers::common::{event_kind, OpenCalls};
use crate::providers::json;
use crate::providers::lenient::Text;
use crate::providers::typed::{object_reader, read_whole};
use crate::providers::FrameInfo;
use crate::stream::Frame;
use crate::view::{self, Arguments, ToolCall, Unreadable, Usage};
use serde_json::Value;

#[derive(Debug, Default)]
pub struct Fold {
    response: view::Response,
    /// tool_use blocks started and not yet stopped; their arguments in `response` read as
    /// incomplete until the block ends, because partial JSON cannot be judged.
    open: OpenCalls,
    /// Indices of every tool_use block started, so its deltas and stop are known as tool frames.
    pub(super) tool_blocks: Vec<u64>,
    /// Blocks started and not stopped, tool or not: a refusal closes them before its own block.
    pub(super) open_blocks: Vec<u64>,
    /// One past the highest block index seen: the index a new block would take upstream.
    pub(super) next_index: u64,
    /// What `strip_tools` did; the refusal reads it (see `refusal.rs`).
    pub(super) strip: Strip,
    /// Tests and the `response_path` fuzz target compare the typed fast path (`fold_delta`) with the general one.
    #[cfg(any(test, fuzzing))]
    pub(crate) general_only: bool,
}

/// The event nearly every frame of a streamed answer is: a `content_block_delta` of text or
/// thinking. Read typed and borrowed (`providers::typed`: a value is taken only when a tree
/// takes it, skipped ones read as a tree reads them) instead of as a `Value` tree; any other
/// event, a tool's `input_json_delta`, a key given twice or a field of an unexpected type takes
/// the general path.
#[derive(Default)]
struct DeltaEvent<'a> {
    kind: Text<'a>,
    index: Option<u64>,
    delta: Option<Delta<'a>>,
}

object_reader!(DeltaEvent, "an event object", |this, key, map| {
    "type" => this.kind = map.next_value()?,
    "index" => this.index = map.next_value()?,
    "delta" => this.delta = Some(map.next_value()?),
});

#[derive(Default)]
struct Delta<'a> {
    kind: Text<'a>,
    text: Text<'a>,
}

object_reader!(Delta, "a delta object", |this, key, map| {
    "type" => this.kind = map.next_value()?,
    "text" => this.text = map.next_value()?,
});

/// What stripping held frames left behind.
#[derive(Debug, Default)]
pub(super) struct Strip {
    /// tool_use blocks removed from the client's stream; later blocks move down past them.
    pub(super) blocks: Vec<u64>,
    /// `message_stop` or `error` seen while stripping (the stream ended without `message_delta`):
    /// they are sent after the refusal, so the refusal is not after the end of the stream.
    pub(super) deferred: Vec<Frame>,
    pub(super) error: bool,
}

impl Fold {
    pub fn new() -> Self {
        Fold::default()
    }

    /// A fold that keeps at most `limit` bytes of argument text per tool call.
    pub fn with_limit(limit: usize) -> Self {
        Fold { open: OpenCalls::new(limit), ..Fold::default() }
    }

    /// Every frame is forwarded: the fold only observes. A tool_use block's start, deltas and stop
    /// are tool frames; `message_delta` carries the stop reason and ends the message.
    pub fn on_frame(&mut self, frame: &Frame) -> FrameInfo {
        if let Some(info) = self.fold_delta(frame) {
            return info;
        }
        let mut info = FrameInfo::default();
        let Ok(data) = serde_json::from_slice::<Value>(&frame.data) else {
            return FrameInfo::unparsed(&frame.data);
        };
        let index = data.get("index").and_then(Value::as_u64);
        match event_kind(frame, &data) {
            Some("message_start") => {
                let names = self.message_start(&data);
                if !names.is_empty() {
                    info.tool = true;
                    info.started_tools = names;
                }
            }
            Some("content_block_start") => {
                // The SDK appends blocks in arrival order and addresses deltas by position: a block
                // stated at another index would have its input read into a different call than
                // the one judged here.
                if index != Some(self.next_index) {
                    info.unreadable = true;
                    return info;
                }
                if let Some(i) = index {
                    self.open_blocks.push(i);
                    self.next_index = self.next_index.max(i.saturating_add(1));
                }
                if let Some(name) = self.block_start(&data) {
                    info.tool = true;
                    info.started_tools.push(name);
                }
            }
            Some("content_block_delta") => {
                info.tool = self.is_tool_block(index);
                self.block_delta(&data);
            }
            Some("content_block_stop") => {
                info.tool = self.is_tool_block(index);
                self.open_blocks.retain(|&i| Some(i) != index);
                self.open.close(self.open.position(index), &mut self.response.tool_calls);
            }
            Some("message_delta") => {
                info.ends_message = true;
                self.message_delta(&data);
            }
            // A stream cut by max_tokens has no content_block_stop for its last block.
            Some("message_stop") => self.close_all(),
            Some("error") => {
                self.close_all();
                // The stream ends here; the error type says why better than no reason at all.
                if let Some(kind) = data.get("error").and_then(|e| json::str_at(e, "type")) {
                    self.response.finish_reason = Some(kind.to_string());
                }
            }
            _ => {}
        }
        info
    }

    /// The general path's effect for a text or thinking `content_block_delta`, without building a
    /// `Value`; `None` when the frame is not one (an event named otherwise is not tried: its data
    /// would have to say `content_block_delta` to be one).
    pub(super) fn fold_delta(&mut self, frame: &Frame) -> Option<FrameInfo> {
        #[cfg(any(test, fuzzing))]
        if self.general_only {
            return None;
        }
        if frame.name.as_deref().is_some_and(|name| name != "content_block_delta") {
            return None;
        }
        let event = read_whole::<DeltaEvent>(&frame.data)?;
        if event.kind.as_deref() != Some("content_block_delta") {
            return None;
        }
        let delta = event.delta?;
        match delta.kind.as_deref() {
            Some("text_delta") => self.response.text.push_str(delta.text.as_deref().unwrap_or_default()),
            Some("input_json_delta") => return None,
            _ => {}
        }
        Some(FrameInfo { tool: self.is_tool_block(event.index), ..FrameInfo::default() })
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }

    fn is_tool_block(&self, index: Option<u64>) -> bool {
        index.is_some_and(|i| self.tool_blocks.contains(&i))
    }

    /// Model and usage; and the blocks `message.content` already holds (the API sends none, but
    /// the SDK's message starts with whatever is there): their tool calls, complete, by name.
    fn message_start(&mut self, data: &Value) -> Vec<String> {
        let Some(message) = data.get("message") else { return Vec::new() };
        if let Some(model) = json::str_at(message, "model") {
            self.response.model = Some(model.to_string());
        }
        if let Some(u) = message.get("usage").filter(|u| u.is_object()) {
            self.response.usage = Some(usage(u));
        }
        let mut names = Vec::new();
        for block in json::array_at(message, "content") {
            let index = self.next_index;
            self.next_index = index.saturating_add(1);
            match json::str_at(block, "type") {
                Some("text") => self.response.text.push_str(json::str_at(block, "text").unwrap_or_default()),
                Some("tool_use") => {
                    let name = json::str_at(block, "name").unwrap_or_default().to_string();
                    self.tool_blocks.push(index);
                    self.response.tool_calls.push(ToolCall {
                        id: json::str_at(block, "id").map(str::to_string),
                        name: name.clone(),
                        arguments: json::object_or_empty(block.get("input")),
                    });
                    names.push(name);
                }
                _ => {}
            }
        }
        names
    }

    /// The name of the tool call the block starts, if it is a tool_use block.
    fn block_start(&mut self, data: &Value) -> Option<String> {
        let block = data.get("content_block")?;
        match json::str_at(block, "type") {
            Some("text") => {
                self.response.text.push_str(json::str_at(block, "text").unwrap_or_default());
                None
            }
            Some("tool_use") => {
                let index = data.get("index").and_then(Value::as_u64);
                if let Some(i) = index {
                    self.tool_blocks.push(i);
                }
                let start = json::object_or_empty(block.get("input"));
                self.open.open(index, self.response.tool_calls.len(), start, "");
                let name = json::str_at(block, "name").unwrap_or_default().to_string();
                self.response.tool_calls.push(ToolCall {
                    id: json::str_at(block, "id").map(str::to_string),
                    name: name.clone(),
                    arguments: Arguments::Unreadable(Unreadable::Incomplete),
                });
                Some(name)
            }
            _ => None,
        }
    }

    fn block_delta(&mut self, data: &Value) {
        let Some(delta) = data.get("delta") else { return };
        match json::str_at(delta, "type") {
            Some("text_delta") => self.response.text.push_str(json::str_at(delta, "text").unwrap_or_default()),
            Some("input_json_delta") => {
                let index = data.get("index").and_then(Value::as_u64);
                let piece = json::str_at(delta, "partial_json").unwrap_or_default();
                self.open.append(self.open.position(index), piece);
            }
            _ => {}
        }
    }

    fn message_delta(&mut self, data: &Value) {
        if let Some(reason) = data.get("delta").and_then(|d| json::str_at(d, "stop_reason")) {
            self.response.finish_reason = Some(reason.to_string());
        }
        if let Some(u) = data.get("usage").filter(|u| u.is_object()) {
            // message_delta carries the final output count and, on newer API versions, repeats
            // the input counts; what it carries is the latest word, what it omits stands.
            let total = self.response.usage.get_or_insert_with(Usage::default);
            let fields: [(&str, &mut u64); 4] = [
                ("input_tokens", &mut total.input),
                ("output_tokens", &mut total.output),
                ("cache_read_input_tokens", &mut total.cache_read),
                ("cache_creation_input_tokens", &mut total.cache_write),
            ];
            for (key, slot) in fields {
                if let Some(n) = u.get(key).and_then(Value::as_u64) {
                    *slot = n;
                }
            }
        }
        // No content follows message_delta; a block it interrupted will never be stopped.
        self.close_all();
    }

    fn close_all(&mut self) {
        self.open.close_all(&mut self.response.tool_calls);
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
