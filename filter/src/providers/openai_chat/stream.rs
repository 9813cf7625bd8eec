//! Chat Completions streams: SSE `data:` frames carrying `chat.completion.chunk` objects, ended by
//! `data: [DONE]`.

use super::response::usage;
use crate::providers::json::{self, array_at, str_at, PartialArguments};
use crate::providers::FrameInfo;
use crate::stream::Frame;
use crate::view::{self, ToolCall};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::hash::{Hash, Hasher};

#[derive(Debug, Default)]
pub struct Fold {
    /// Most argument text kept per call (`PartialArguments`); 0 means the default.
    pub(super) limit: usize,
    /// The gateway forced `stream_options.include_usage`, so the usage-only chunk is not the client's.
    pub(super) hide_usage_chunk: bool,
    pub(super) response: view::Response,
    /// One entry per `response.tool_calls` entry, in the same order.
    pub(super) calls: Vec<CallState>,
    /// Frames folded so far: the position of the next frame in the stream.
    pub(super) frames_seen: u64,
    /// Every choice the stream has shown, in order of first appearance.
    pub(super) choices: Vec<ChoiceState>,
    /// `id`, `object`, `created`, `model`… of the stream's chunks, so chunks the gateway writes
    /// look like the upstream's own.
    pub(super) envelope: Map<String, Value>,
    /// Bit `i` set: `envelope` holds `ENVELOPE[i]` (the only writers are `remember` and
    /// `remember_envelope`), so a text chunk's envelope costs no lookup and no copy once known.
    envelope_known: u8,
    /// Frames since the first call start after the last message end, in order: what the refusal
    /// hooks match held frames against.
    pub(super) log: Vec<Seen>,
    /// What the refusal hooks have learnt about the held part of the stream.
    pub(super) hold: super::refusal::Hold,
    /// Tests and the `response_path` fuzz target compare the typed fast path (`fold_text_chunk`)
    /// with the general one.
    #[cfg(any(test, fuzzing))]
    pub(crate) general_only: bool,
}

/// The chunk nearly every frame of a streamed answer is: text (or the role) for choice 0 and
/// nothing that needs judging. Read typed and borrowed instead of as a `Value` tree; anything
/// else — another key, a second choice, a finish, a tool call, usage, an error — fails to
/// deserialise and takes the general path.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TextChunk<'a> {
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    object: Option<Cow<'a, str>>,
    #[serde(default)]
    created: Option<u64>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    system_fingerprint: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    service_tier: Option<Cow<'a, str>>,
    /// Only `null`.
    #[serde(default, rename = "usage")]
    _usage: Option<()>,
    #[serde(borrow)]
    choices: [TextChoice<'a>; 1],
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TextChoice<'a> {
    index: u64,
    #[serde(borrow)]
    delta: TextDelta<'a>,
    /// Only `null`.
    #[serde(default, rename = "logprobs")]
    _logprobs: Option<()>,
    /// Only `null`.
    #[serde(default, rename = "finish_reason")]
    _finish_reason: Option<()>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TextDelta<'a> {
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]
    role: Option<Cow<'a, str>>,
    /// Only `null`.
    #[serde(default, rename = "refusal")]
    _refusal: Option<()>,
}

/// A folded frame, as the refusal hooks need to recognise it later.
#[derive(Debug)]
pub(super) struct Seen {
    /// Hash of the frame's data.
    pub(super) hash: u64,
    /// Its position in the stream (`frames_seen` before it).
    pub(super) seq: u64,
    /// A call started in it.
    pub(super) starts: bool,
    /// It ended the message.
    pub(super) ends: bool,
    /// The call (`calls` position) of each tool delta in it, in the order the chunk lists them.
    pub(super) calls: Vec<usize>,
}

/// Where a streamed tool call's deltas come from, and its arguments as sent.
#[derive(Debug)]
pub(super) struct CallState {
    pub(super) choice: u64,
    /// The delta `index`; `None` for servers that omit it (their deltas are matched by id).
    pub(super) index: Option<u64>,
    /// A custom tool: its input is free text (`Arguments::Custom`), never parsed as JSON.
    custom: bool,
    /// Its name came in conflicting pieces: its arguments stay unreadable.
    pub(super) ambiguous_name: bool,
    arguments: PartialArguments,
    /// `frames_seen` when the call's first delta arrived.
    pub(super) start: u64,
}

#[derive(Debug)]
pub(super) struct ChoiceState {
    pub(super) index: u64,
    /// Its `finish_reason` has arrived.
    pub(super) finished: bool,
    /// A delta carried `role`, so chunks the gateway adds must not repeat it (SDKs concatenate it).
    pub(super) role_sent: bool,
    /// A delta carried text (`content` or `refusal`).
    pub(super) text_sent: bool,
}

/// Envelope fields of a chunk that chunks written by the gateway repeat.
const ENVELOPE: [&str; 6] = ["id", "object", "created", "model", "system_fingerprint", "service_tier"];

/// `Fold::envelope_known` with every `ENVELOPE` field known.
const ALL_KNOWN: u8 = (1 << ENVELOPE.len()) - 1;

/// An envelope field of a text chunk, borrowed until it is kept.
enum EnvelopeField<'a> {
    Text(Cow<'a, str>),
    Number(u64),
}

impl<'a> EnvelopeField<'a> {
    /// A text field, unless it is absent or "".
    fn text(v: Option<Cow<'a, str>>) -> Option<Self> {
        v.filter(|v| !v.is_empty()).map(EnvelopeField::Text)
    }
}

/// Stands in for the tool-call index of the legacy `function_call` delta (one call per choice).
pub(super) const LEGACY_INDEX: u64 = u64::MAX;

impl Fold {
    pub fn new(hide_usage_chunk: bool) -> Self {
        Fold::with_limit(hide_usage_chunk, crate::stream::DEFAULT_MAX_HELD_BYTES)
    }

    /// A fold that keeps at most `limit` bytes of argument text per tool call.
    pub fn with_limit(hide_usage_chunk: bool, limit: usize) -> Self {
        Fold { hide_usage_chunk, limit, ..Fold::default() }
    }

    pub fn on_frame(&mut self, frame: &Frame) -> FrameInfo {
        let seq = self.frames_seen;
        self.frames_seen = seq.saturating_add(1);
        if self.log.last().is_some_and(|seen| seen.ends) {
            self.log.clear();
        }
        let mut calls = Vec::new();
        let info = self.fold_frame(frame, seq, &mut calls);
        if !info.started_tools.is_empty() || !self.log.is_empty() {
            let (starts, ends) = (!info.started_tools.is_empty(), info.ends_message);
            self.log.push(Seen { hash: hash(&frame.data), seq, starts, ends, calls });
        }
        info
    }

    fn fold_frame(&mut self, frame: &Frame, seq: u64, calls: &mut Vec<usize>) -> FrameInfo {
        if let Some(info) = self.fold_text_chunk(&frame.data) {
            return info;
        }
        let Ok(chunk) = serde_json::from_slice::<Value>(&frame.data) else {
            // `[DONE]` and keep-alives go through untouched; other data is unreadable.
            return FrameInfo::unparsed(&frame.data);
        };
        if !chunk.is_object() || is_error(&chunk) {
            return FrameInfo::default();
        }
        if let Some(model) = str_at(&chunk, "model").filter(|m| !m.is_empty()) {
            if self.response.model.as_deref() != Some(model) {
                self.response.model = Some(model.to_owned());
            }
        }
        self.remember_envelope(&chunk);
        let mut info = FrameInfo::default();
        let mut finishes = false;
        for choice in array_at(&chunk, "choices") {
            finishes |= self.fold_choice(choice, seq, &mut info, calls);
        }
        info.ends_message = finishes && self.choices.iter().all(|c| c.finished);
        // Groq reports stream usage under `x_groq` rather than at the top level.
        let chunk_usage = chunk.get("usage").filter(|u| u.is_object());
        if let Some(u) = chunk_usage.or_else(|| chunk.pointer("/x_groq/usage")).and_then(usage) {
            self.response.usage = Some(u);
        }
        info.drop = self.hide_usage_chunk && is_usage_only(&chunk);
        self.hold.end.screen(&mut info);
        info
    }

    /// The general path's effect for a `TextChunk` of choice 0, without building a `Value`;
    /// `None` when the frame is not one.
    pub(super) fn fold_text_chunk(&mut self, data: &[u8]) -> Option<FrameInfo> {
        #[cfg(any(test, fuzzing))]
        if self.general_only {
            return None;
        }
        let chunk = serde_json::from_slice::<TextChunk>(data).ok()?;
        let [choice] = chunk.choices;
        if choice.index != 0 {
            return None;
        }
        if let Some(model) = chunk.model.as_deref().filter(|m| !m.is_empty()) {
            if self.response.model.as_deref() != Some(model) {
                self.response.model = Some(model.to_owned());
            }
        }
        // In `ENVELOPE` order, as the general path inserts them.
        let TextChunk { id, object, created, model, system_fingerprint, service_tier, .. } = chunk;
        if self.envelope_known != ALL_KNOWN {
            let text = EnvelopeField::text;
            let fields = [
                text(id),
                text(object),
                created.map(EnvelopeField::Number),
                text(model),
                text(system_fingerprint),
                text(service_tier),
            ];
            for (i, field) in fields.into_iter().enumerate() {
                if let Some(field) = field {
                    self.remember(i, || match field {
                        EnvelopeField::Text(text) => Value::String(text.into_owned()),
                        EnvelopeField::Number(n) => Value::from(n),
                    });
                }
            }
        }
        let content = choice.delta.content.unwrap_or_default();
        if let Some(state) = self.choice_state(0) {
            state.role_sent |= choice.delta.role.is_some();
            state.text_sent |= !content.is_empty();
        }
        self.response.text.push_str(&content);
        let mut info = FrameInfo::default();
        self.hold.end.screen(&mut info);
        Some(info)
    }

    /// Keeps `ENVELOPE[i]` when the stream has not given it yet (`remember_envelope`); `value` is
    /// made only then, and is never null or "".
    fn remember(&mut self, i: usize, value: impl FnOnce() -> Value) {
        let Some(key) = ENVELOPE.get(i) else { return };
        if self.envelope_known & (1 << i) == 0 {
            self.envelope.insert((*key).to_owned(), value());
            self.envelope_known |= 1 << i;
        }
    }

    pub fn response(&self) -> &view::Response {
        &self.response
    }

    /// The argument text of `response().tool_calls[call]` exactly as streamed so far (the parsed view
    /// in `arguments` is `{}` until this text is one complete JSON object).
    pub fn raw_arguments(&self, call: usize) -> Option<&str> {
        self.calls.get(call).map(|c| c.arguments.raw())
    }

    /// Folds one choice of the chunk at `seq`; true when it carries a finish reason.
    fn fold_choice(&mut self, choice: &Value, seq: u64, info: &mut FrameInfo, calls: &mut Vec<usize>) -> bool {
        let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
        let finishes = str_at(choice, "finish_reason").is_some();
        let delta = choice.get("delta");
        let role = delta.and_then(|d| str_at(d, "role")).is_some();
        let text =
            delta.is_some_and(|d| ["content", "refusal"].iter().any(|k| str_at(d, k).is_some_and(|t| !t.is_empty())));
        if let Some(state) = self.choice_state(index) {
            state.finished |= finishes;
            state.role_sent |= role;
            state.text_sent |= text;
        }
        let Some(delta) = delta else { return finishes };
        if index == 0 {
            for key in ["content", "refusal"] {
                if let Some(text) = str_at(delta, key) {
                    self.response.text.push_str(text);
                }
            }
            if let Some(reason) = str_at(choice, "finish_reason") {
                self.response.finish_reason = Some(reason.to_owned());
            }
        }
        for call in array_at(delta, "tool_calls") {
            info.tool = true;
            let (pos, started) = self.fold_tool_delta(index, call.get("index").and_then(Value::as_u64), call, seq);
            calls.push(pos);
            info.started_tools.extend(started);
        }
        if let Some(legacy) = delta.get("function_call").filter(|f| f.is_object()) {
            info.tool = true;
            let wrapped = Value::Object(Map::from_iter([("function".to_owned(), legacy.clone())]));
            let (pos, started) = self.fold_tool_delta(index, Some(LEGACY_INDEX), &wrapped, seq);
            calls.push(pos);
            info.started_tools.extend(started);
        }
        finishes
    }

    fn choice_state(&mut self, index: u64) -> Option<&mut ChoiceState> {
        match self.choices.iter().position(|c| c.index == index) {
            Some(pos) => self.choices.get_mut(pos),
            None => {
                self.choices.push(ChoiceState { index, finished: false, role_sent: false, text_sent: false });
                self.choices.last_mut()
            }
        }
    }

    fn remember_envelope(&mut self, chunk: &Value) {
        for (i, key) in ENVELOPE.iter().enumerate() {
            match chunk.get(*key) {
                Some(v) if !v.is_null() && v.as_str() != Some("") => self.remember(i, || v.clone()),
                _ => {}
            }
        }
    }

    /// Folds one tool-call delta; returns the call's position, and its name (possibly still empty)
    /// when it starts here.
    fn fold_tool_delta(&mut self, choice: u64, index: Option<u64>, delta: &Value, seq: u64) -> (usize, Option<String>) {
        let id = str_at(delta, "id").filter(|id| !id.is_empty());
        let custom = str_at(delta, "type") == Some("custom") || delta.get("custom").is_some();
        let (pos, started) = match self.find_call(choice, index, id) {
            Some(pos) => (pos, false),
            None => {
                let limit = if self.limit == 0 { crate::stream::DEFAULT_MAX_HELD_BYTES } else { self.limit };
                let arguments = PartialArguments::new(limit);
                self.calls.push(CallState { choice, index, custom, ambiguous_name: false, arguments, start: seq });
                let arguments = if custom { json::custom_input("") } else { view::Arguments::empty() };
                self.response.tool_calls.push(ToolCall { id: None, name: String::new(), arguments });
                (self.response.tool_calls.len().saturating_sub(1), true)
            }
        };
        let renamed = self.fold_call_piece(pos, id, delta);
        // A nameless start is still reported: an unknown name is treated as one that may be blocked.
        // So is a call whose name just turned out to come in conflicting pieces: from this frame on
        // it is held, whatever went out live before.
        let name = || self.response.tool_calls.get(pos).map(|c| c.name.clone()).unwrap_or_default();
        (pos, if started { Some(name()) } else { renamed.then(String::new) })
    }

    /// Folds one delta of the call at `pos`; true when this delta made its name ambiguous.
    fn fold_call_piece(&mut self, pos: usize, id: Option<&str>, delta: &Value) -> bool {
        let (Some(state), Some(call)) = (self.calls.get_mut(pos), self.response.tool_calls.get_mut(pos)) else {
            return false;
        };
        if call.id.is_none() {
            call.id = id.map(str::to_owned);
        }
        let body = delta.get(if state.custom { "custom" } else { "function" });
        // Names arrive whole in the first delta; some servers repeat them. A different piece would
        // make the client (which concatenates) assemble a name that is not the one judged here.
        let mut renamed = false;
        if let Some(name) = body.and_then(|b| str_at(b, "name")).filter(|n| !n.is_empty()) {
            if call.name.is_empty() {
                call.name = name.to_owned();
            } else if call.name != name && !state.ambiguous_name {
                state.ambiguous_name = true;
                renamed = true;
                call.arguments = view::Arguments::Unreadable(view::Unreadable::AmbiguousName);
            }
        }
        let piece =
            if state.custom { body.and_then(|b| b.get("input")) } else { body.and_then(|b| b.get("arguments")) };
        let piece = match piece {
            Some(Value::String(s)) => s.clone(),
            // Some compatible servers send the arguments object whole instead of JSON text.
            Some(v @ Value::Object(_)) => v.to_string(),
            _ => return renamed,
        };
        let changed = state.arguments.push(&piece);
        if state.ambiguous_name {
            return renamed;
        }
        if state.custom {
            // Free text, kept within the same limit as JSON arguments.
            call.arguments = match (changed, &mut call.arguments) {
                (Some(view::Arguments::Unreadable(view::Unreadable::TooLarge)), _) => {
                    view::Arguments::Unreadable(view::Unreadable::TooLarge)
                }
                (_, view::Arguments::Custom(input)) => {
                    input.push_str(&piece);
                    return renamed;
                }
                (_, other) => other.clone(),
            };
        } else if let Some(parsed) = changed {
            call.arguments = parsed;
        }
        renamed
    }

    /// The call a delta continues, or `None` when it starts a new one.
    fn find_call(&self, choice: u64, index: Option<u64>, id: Option<&str>) -> Option<usize> {
        let ids = |pos: usize| self.response.tool_calls.get(pos).and_then(|c| c.id.as_deref());
        match (index, id) {
            (Some(index), _) => {
                let pos = self.calls.iter().rposition(|c| c.choice == choice && c.index == Some(index))?;
                // A fresh id on a known index is a new call (servers that reuse index 0 for every call).
                match (ids(pos), id) {
                    (Some(known), Some(id)) if known != id => None,
                    _ => Some(pos),
                }
            }
            (None, Some(id)) => (0..self.calls.len())
                .rev()
                .find(|&pos| ids(pos) == Some(id) && self.calls.get(pos).is_some_and(|c| c.choice == choice)),
            (None, None) => self.calls.iter().rposition(|c| c.choice == choice),
        }
    }
}

pub(super) fn hash(data: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut hasher);
    hasher.finish()
}

/// A chunk the SDKs raise on: its `error` is truthy (Python's truth: not null, false, 0 or empty).
/// Any other chunk is read as a chunk, whatever else it says, because the SDKs hand it over as one.
pub(super) fn is_error(chunk: &Value) -> bool {
    match chunk.get("error") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Bool(true)) => true,
    }
}

/// The chunk that carries only the final usage (`choices: []`).
pub(super) fn is_usage_only(chunk: &Value) -> bool {
    chunk.get("usage").is_some_and(Value::is_object)
        && chunk.get("choices").and_then(Value::as_array).is_some_and(Vec::is_empty)
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
