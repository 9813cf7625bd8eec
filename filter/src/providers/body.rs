//! A request body under edit. Every change goes through `Body`'s methods, and the body remembers on
//! its own that it changed: no later step can mark it unchanged again, so an edit cannot be lost on
//! the way upstream. (This replaces flags set by hand, one of which overwrote every earlier edit of
//! a streamed OpenAI request and sent the original body, blocked tool results included, upstream.)
//!
//! A body is held one of two ways. As a `Value` tree (`parse`): any edit, re-serialised whole
//! when it goes upstream. Or as the client's bytes with the places the pipeline may edit
//! ([`Spans`], from a provider's typed reader that built the view without a tree): the common
//! edits (a tool result's text, the model, one added top-level field) are written into the bytes
//! in place, and everything else goes upstream exactly as the client sent it. Any other edit, or a
//! question only a tree answers, turns such a body into a tree first.

use crate::error::WardenError;
use serde_json::Value;
use std::cell::OnceCell;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    held: Held,
    changed: bool,
    /// Length of the client's bytes: the rewritten body is about as long.
    size: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Held {
    Tree(Value),
    Bytes(Bytes),
}

/// The client's bytes, where the editable values are, and the edits made so far.
#[derive(Debug, Clone, PartialEq)]
struct Bytes {
    bytes: Vec<u8>,
    spans: Spans,
    /// Byte ranges of `bytes` and what replaces each (an empty range inserts), in no order.
    edits: Vec<(Range<usize>, Vec<u8>)>,
    /// The body as a tree, built when something asks for one without editing.
    tree: OnceCell<Value>,
}

/// Where a typed reader found the values the pipeline may edit, as byte ranges of the body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spans {
    /// Values at JSON pointers (tool-result contents): the pointer, the value's bytes, and whether
    /// it is a list of more than one content block.
    pub values: Vec<(String, Range<usize>, bool)>,
    /// The top-level `model` value, and its text when it is a string. `None`: no `model` key.
    pub model: Option<(Range<usize>, Option<String>)>,
    /// Just after the body's opening brace, where a new top-level field goes (before the first
    /// field: a typed reader only gives spans of an object with at least one field).
    pub fields_start: usize,
    /// Chat Completions: what a streaming request says about the usage chunk (`None`: the body
    /// does not stream).
    pub usage_chunk: Option<UsageChunk>,
    /// Bedrock Converse: a tool result's new text is written as a list of one text block
    /// (`[{"text": …}]`), the shape the tree's edit gives it; otherwise as a string.
    pub text_block_results: bool,
}

/// Whether a streaming Chat Completions request asks for the final usage chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageChunk {
    /// No `stream_options` field: the gateway adds one asking for it.
    NotAsked,
    /// `stream_options.include_usage` is true.
    Asked,
    /// `stream_options` says something else: the tree is edited.
    Other,
}

impl Body {
    /// Parses a request body; anything but a JSON object is a 400 in the provider's shape.
    pub fn parse(bytes: &[u8]) -> Result<Body, WardenError> {
        let json: Value =
            serde_json::from_slice(bytes).map_err(|e| WardenError::MalformedJson { detail: e.to_string() })?;
        if !json.is_object() {
            return Err(WardenError::MalformedJson { detail: "the body must be a JSON object".into() });
        }
        Ok(Body { held: Held::Tree(json), changed: false, size: bytes.len().saturating_add(64) })
    }

    /// The client's bytes, read by a typed reader that accepted them (a JSON object it read
    /// exactly as a `Value` reads it) and found `spans` in them.
    pub fn from_read(bytes: &[u8], spans: Spans) -> Body {
        Body {
            held: Held::Bytes(Bytes { bytes: bytes.to_vec(), spans, edits: Vec::new(), tree: OnceCell::new() }),
            changed: false,
            size: bytes.len().saturating_add(64),
        }
    }

    /// The body as a tree. A body held as bytes is parsed (with its edits) the first time.
    pub fn json(&self) -> &Value {
        match &self.held {
            Held::Tree(json) => json,
            Held::Bytes(held) => held.tree.get_or_init(|| held.to_tree()),
        }
    }

    /// Runs `edit` on the body as a tree, which returns whether it changed the body. Returns the
    /// same.
    pub fn edit(&mut self, edit: impl FnOnce(&mut Value) -> bool) -> bool {
        if let Held::Bytes(held) = &mut self.held {
            let tree = held.tree.take().unwrap_or_else(|| held.to_tree());
            self.held = Held::Tree(tree);
        }
        let changed = match &mut self.held {
            Held::Tree(json) => edit(json),
            Held::Bytes(_) => false,
        };
        self.changed |= changed;
        changed
    }

    /// Puts `text` at `pointer`, which a typed reader gave a span for; `false` when it gave none
    /// (the caller edits the tree instead).
    pub fn set_string_in_place(&mut self, pointer: &str, text: &str) -> bool {
        let Held::Bytes(held) = &mut self.held else { return false };
        let Some((_, range, multi)) = held.spans.values.iter_mut().find(|(p, _, _)| p == pointer) else {
            return false;
        };
        // The value is one text now, as on a tree after the same edit.
        *multi = false;
        let range = range.clone();
        let value = if held.spans.text_block_results { text_block_list(text) } else { string_literal(text) };
        held.replace(range, value);
        self.changed = true;
        true
    }

    /// The spans of a body held as bytes; `None` for a tree.
    pub fn spans(&self) -> Option<&Spans> {
        match &self.held {
            Held::Bytes(held) => Some(&held.spans),
            Held::Tree(_) => None,
        }
    }

    /// Whether the value at `pointer` is a list of more than one content block.
    pub fn is_multi_block(&self, pointer: &str) -> bool {
        if let Held::Bytes(held) = &self.held {
            if let Some((_, _, multi)) = held.spans.values.iter().find(|(p, _, _)| p == pointer) {
                return *multi;
            }
        }
        self.json().pointer(pointer).and_then(Value::as_array).is_some_and(|blocks| blocks.len() > 1)
    }

    /// Writes `model` where the request body keeps it (OpenAI family, Anthropic, Cohere `model`;
    /// Bedrock `modelId` in the body form); Gemini and Bedrock path forms keep it in the URL, which
    /// the route rebuilds. Returns whether the body changed.
    pub fn set_model(&mut self, model: &str) -> bool {
        if let Held::Bytes(held) = &mut self.held {
            let Some((range, current)) = held.spans.model.clone() else { return false };
            if current.as_deref() == Some(model) {
                return false;
            }
            held.replace(range.clone(), string_literal(model));
            held.spans.model = Some((range, Some(model.to_owned())));
            self.changed = true;
            return true;
        }
        self.edit(|json| {
            let Some(obj) = json.as_object_mut() else { return false };
            let mut changed = false;
            for key in ["model", "modelId"] {
                if let Some(v) = obj.get_mut(key) {
                    if v.as_str() != Some(model) {
                        *v = Value::String(model.to_string());
                        changed = true;
                    }
                }
            }
            changed
        })
    }

    /// Adds the top-level field `key` with the JSON text `value` to a body held as bytes, which
    /// the caller knows has no such field; `false` for a tree (the caller edits the tree).
    pub fn add_field_in_place(&mut self, key: &str, value: &[u8]) -> bool {
        let Held::Bytes(held) = &mut self.held else { return false };
        let mut field = string_literal(key);
        field.push(b':');
        field.extend_from_slice(value);
        field.push(b',');
        let at = held.spans.fields_start;
        held.replace(at..at, field);
        self.changed = true;
        true
    }

    pub fn changed(&self) -> bool {
        self.changed
    }

    /// What goes upstream: the new bytes when anything changed, `None` to send the client's own.
    pub fn into_upstream(self) -> Option<Vec<u8>> {
        if !self.changed {
            return None;
        }
        Some(match self.held {
            Held::Tree(json) => crate::providers::json::to_bytes(&json, self.size),
            Held::Bytes(held) => held.edited(),
        })
    }
}

impl Bytes {
    /// Replaces `range` (an earlier edit of the same value is replaced in turn); an empty range
    /// inserts, after anything inserted there before.
    fn replace(&mut self, range: Range<usize>, with: Vec<u8>) {
        self.tree = OnceCell::new();
        match self.edits.iter_mut().find(|(r, _)| *r == range && !r.is_empty()) {
            Some(edit) => edit.1 = with,
            None => self.edits.push((range, with)),
        }
    }

    /// The bytes with every edit applied. Edits never overlap: they are whole values the typed
    /// reader found, or insertions between fields.
    fn edited(&self) -> Vec<u8> {
        let mut edits: Vec<&(Range<usize>, Vec<u8>)> = self.edits.iter().collect();
        // Stable: insertions at one place keep their order.
        edits.sort_by_key(|(r, _)| (r.start, r.end));
        let grow: usize = edits.iter().map(|(_, with)| with.len()).sum();
        let mut out = Vec::with_capacity(self.bytes.len().saturating_add(grow));
        let mut at = 0;
        for (range, with) in edits {
            if let Some(before) = self.bytes.get(at..range.start) {
                out.extend_from_slice(before);
            }
            out.extend_from_slice(with);
            at = at.max(range.end);
        }
        out.extend_from_slice(self.bytes.get(at..).unwrap_or_default());
        out
    }

    /// The edited bytes as a tree. They are a JSON object: the client's object (read the way a
    /// `Value` reads it) with whole values replaced by JSON values and fields added. Should that
    /// ever not parse, the tree is an empty object, which the upstream refuses: nothing the
    /// client sent is passed on unread.
    fn to_tree(&self) -> Value {
        serde_json::from_slice(&self.edited()).unwrap_or_else(|_| Value::Object(serde_json::Map::new()))
    }
}

/// `text` as a JSON string literal.
fn string_literal(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len().saturating_add(2));
    // Writing a string into memory cannot fail.
    let _ = serde_json::to_writer(&mut out, text);
    out
}

/// `[{"text":<text>}]`: `text` as the one text block of a list.
fn text_block_list(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len().saturating_add(13));
    out.extend_from_slice(br#"[{"text":"#);
    out.extend_from_slice(&string_literal(text));
    out.extend_from_slice(b"}]");
    out
}

#[cfg(test)]
#[path = "body_tests.rs"]
mod tests;
