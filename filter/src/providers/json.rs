//! Small tolerant readers over `serde_json::Value` shared by the provider modules. Wire data is
//! hostile: every accessor returns an `Option` or a default, never panics.

use crate::view::{Arguments, Unreadable};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// `v` as JSON text. Written straight into bytes: `Value`'s `Display` (`to_string`) goes through
/// the formatting machinery piece by piece and costs about twice as much, on every body the
/// gateway rewrites. `size_hint` pre-sizes the buffer (e.g. the length of the body it replaces).
pub fn to_bytes(v: &Value, size_hint: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint);
    // Writing a `Value` into a `Vec` cannot fail: its keys are strings and the writer is memory.
    let _ = serde_json::to_writer(&mut out, v);
    out
}

/// The text of the JSON string literal `raw` (quotes included, e.g. a `RawValue` a typed reader
/// kept), read exactly as a `Value` reads a string; `None` when it is not one. Literals of
/// `KEPT_LITERAL_FROM` bytes or more that carry escapes are kept per VM, from their raw form to
/// their text: an agent resends its history every turn, and its tool results are JSON inside JSON
/// strings, an escape every few bytes; unescaping them was the largest part of reading its
/// requests. A raw form is kept only once it has been read as a valid string.
pub fn string_literal_text(raw: &str) -> Option<String> {
    if raw.len() < KEPT_LITERAL_FROM || memchr::memchr(b'\\', raw.as_bytes()).is_none() {
        return serde_json::from_str(raw).ok();
    }
    let kept = LITERALS.with(|cache| cache.try_borrow().ok()?.get("literal", raw).map(|text| text.to_string()));
    if kept.is_some() {
        return kept;
    }
    let text: String = serde_json::from_str(raw).ok()?;
    LITERALS.with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            cache.insert("literal", raw, Box::from(text.as_str()));
        }
    });
    Some(text)
}

const KEPT_LITERAL_FROM: usize = 256;

thread_local! {
    /// Raw literal → text; at most 512 entries and 1 MiB of raw text (the texts are no longer).
    static LITERALS: std::cell::RefCell<crate::cache::TextCache<Box<str>>> =
        std::cell::RefCell::new(crate::cache::TextCache::new(512, 1 << 20));
}

/// An optional string field of a typed reader, borrowed from the input when it has no escapes:
/// `#[serde(borrow, default, deserialize_with = "crate::providers::json::borrowed_str")]` on an
/// `Option<Cow<'a, str>>`. Serde's own `Option<Cow<str>>` copies every string into a new
/// allocation even under `#[serde(borrow)]`. Reads what it reads: null or absent is `None`, a
/// string is `Some`, anything else is an error.
pub fn borrowed_str<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    struct Str<'a>(Cow<'a, str>);
    impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_str(StrVisitor(std::marker::PhantomData))
        }
    }
    struct StrVisitor<'a>(std::marker::PhantomData<&'a ()>);
    impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
        type Value = Str<'a>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Str(Cow::Borrowed(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Str(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Str(Cow::Owned(v)))
        }
    }
    Option::<Str>::deserialize(d).map(|s| s.map(|s| s.0))
}

pub fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub fn u64_at(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// `v[a][b]…` as u64, 0 when absent.
pub fn u64_path(v: &Value, path: &[&str]) -> u64 {
    let mut cur = v;
    for key in path {
        match cur.get(key) {
            Some(next) => cur = next,
            None => return 0,
        }
    }
    cur.as_u64().unwrap_or(0)
}

pub fn array_at<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

pub fn bool_at(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Reads tool-call arguments sent as JSON text. Only exactly one JSON object is readable; blank
/// text means no arguments (`{}`). Anything else is unreadable, and says why: text our parser
/// rejects may still be read by the client's (`NaN`, cut-off JSON), so policy must not treat it as
/// an empty argument set.
pub fn parse_arguments(text: &str) -> Arguments {
    if text.trim().is_empty() {
        return Arguments::empty();
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Arguments::Object(v),
        Ok(_) => Arguments::Unreadable(Unreadable::NotAnObject),
        Err(e) if e.classify() == serde_json::error::Category::Eof => Arguments::Unreadable(Unreadable::Incomplete),
        Err(_) => Arguments::Unreadable(Unreadable::NotJson),
    }
}

/// Arguments already given as JSON (Anthropic `input`, Gemini `args`, Bedrock `input`): absent or
/// null is no arguments, an object is read, anything else is not an object.
pub fn object_or_empty(v: Option<&Value>) -> Arguments {
    match v {
        None | Some(Value::Null) => Arguments::empty(),
        Some(v @ Value::Object(_)) => Arguments::Object(v.clone()),
        Some(_) => Arguments::Unreadable(Unreadable::NotAnObject),
    }
}

/// Text of a content value that is either a string or an array of typed blocks; text blocks are
/// joined with newlines, other blocks ignored.
pub fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let texts: Vec<&str> = parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect();
            texts.join("\n")
        }
        _ => String::new(),
    }
}

/// Content that is a string, or a list of typed parts whose `text` parts are joined with newlines;
/// other parts (images, thinking, tool blocks) are not text (Anthropic blocks, Cohere parts).
pub fn typed_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let texts: Vec<&str> =
                parts.iter().filter(|p| str_at(p, "type") == Some("text")).filter_map(|p| str_at(p, "text")).collect();
            texts.join("\n")
        }
        _ => String::new(),
    }
}

/// A tool result's content as text: a string as is, a single text block unwrapped, anything else
/// serialised as JSON.
pub fn result_text(content: Option<&Value>) -> String {
    match content {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => match parts.as_slice() {
            [only] => match only.get("text").and_then(Value::as_str) {
                Some(t) => t.to_string(),
                None => only.to_string(),
            },
            _ => Value::Array(parts.clone()).to_string(),
        },
        Some(other) => other.to_string(),
    }
}

/// The first of `keys` present in `v`, with the key that matched. Google's REST API accepts both
/// the lowerCamel and the snake_case spelling of every request field, and a JSON pointer into the
/// body must name the spelling the client actually used.
pub fn first_key<'a, 'k>(v: &'a Value, keys: &[&'k str]) -> Option<(&'k str, &'a Value)> {
    let obj = v.as_object()?;
    keys.iter().find_map(|k| obj.get(*k).map(|found| (*k, found)))
}

/// The value of the first of `keys` present in `v`.
pub fn first_at<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    first_key(v, keys).map(|(_, found)| found)
}

/// Escapes one reference token of a JSON pointer (RFC 6901).
pub fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// An owned copy of a string field.
pub fn string_at(v: &Value, key: &str) -> Option<String> {
    str_at(v, key).map(str::to_owned)
}

/// Arguments that are usually a JSON string but that some OpenAI-compatible servers send as an
/// object already.
pub fn arguments_value(v: Option<&Value>) -> Arguments {
    match v {
        Some(Value::String(text)) => parse_arguments(text),
        other => object_or_empty(other),
    }
}

/// The arguments view of a free-form ("custom") tool call: its input is arbitrary text, not JSON, so
/// it is exposed under one key that policies can address.
pub fn custom_input(text: &str) -> Arguments {
    Arguments::Custom(text.to_owned())
}

/// The fields of `v` when it is an object, else none: the start of a body rebuilt from an
/// upstream one that may be anything.
pub fn fields(v: &Value) -> Map<String, Value> {
    match v {
        Value::Object(obj) => obj.clone(),
        _ => Map::new(),
    }
}

/// Replaces the value at `pointer` with `value`; false when the pointer does not resolve.
pub fn replace_at(body: &mut Value, pointer: &str, value: Value) -> bool {
    match body.pointer_mut(pointer) {
        Some(slot) => {
            *slot = value;
            true
        }
        None => false,
    }
}

/// Puts `text` at `pointer`: replaces the value there, or adds the key when only its object
/// exists (a tool message sent without content). False when neither resolves.
pub fn set_string_at(body: &mut Value, pointer: &str, text: &str) -> bool {
    if replace_at(body, pointer, Value::String(text.to_owned())) {
        return true;
    }
    let Some((parent, key)) = pointer.rsplit_once('/') else { return false };
    let key = key.replace("~1", "/").replace("~0", "~");
    match body.pointer_mut(parent).and_then(Value::as_object_mut) {
        Some(obj) => {
            obj.insert(key, Value::String(text.to_owned()));
            true
        }
        None => false,
    }
}

/// Sets the `content` of the object that `pointer` (ending in `/content`) names to `text`, adding
/// it when the object had none, but only when that object's `key` is `expected`: a pointer that
/// no longer names a tool result is refused rather than written somewhere else in the body.
pub fn set_content_where(body: &mut Value, pointer: &str, (key, expected): (&str, &str), text: &str) -> bool {
    let Some(target) = pointer.strip_suffix("/content").and_then(|p| body.pointer_mut(p)) else {
        return false;
    };
    if str_at(target, key) != Some(expected) {
        return false;
    }
    match target.as_object_mut() {
        Some(obj) => {
            obj.insert("content".to_owned(), Value::String(text.to_owned()));
            true
        }
        None => false,
    }
}

/// Tool-call arguments arriving as JSON text in pieces (stream deltas). It keeps the raw text and
/// tracks, in one pass over each piece, whether the text so far is a single closed JSON object, so
/// a stream fold can keep a parsed view current without re-parsing the whole text on every delta.
/// At any moment the view equals `parse_arguments(raw())`, except that an object still open reads
/// as incomplete and text past `limit` bytes as too large (the text is then no longer kept, so
/// memory stays bounded however long the stream).
#[derive(Debug, Clone, PartialEq)]
pub struct PartialArguments {
    raw: String,
    limit: usize,
    /// Open `{`/`[` minus closers seen outside strings.
    depth: u32,
    in_string: bool,
    /// The previous character inside a string was an unescaped backslash.
    escaped: bool,
    shape: Shape,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Shape {
    /// Only whitespace so far.
    #[default]
    Empty,
    Open,
    /// The top-level object closed; only whitespace after it so far.
    Closed,
    /// Cannot become a single JSON object any more.
    Invalid,
    /// Past the size limit: the text was dropped.
    TooLarge,
}

impl PartialArguments {
    pub fn new(limit: usize) -> Self {
        PartialArguments { raw: String::new(), limit, depth: 0, in_string: false, escaped: false, shape: Shape::Empty }
    }

    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Appends a piece. Returns the new view when it may have changed; `None` when it stays as it
    /// was.
    pub fn push(&mut self, piece: &str) -> Option<Arguments> {
        if self.shape == Shape::TooLarge {
            return None;
        }
        if self.raw.len().saturating_add(piece.len()) > self.limit {
            self.shape = Shape::TooLarge;
            self.raw = String::new();
            return Some(Arguments::Unreadable(Unreadable::TooLarge));
        }
        let was_empty = self.raw.is_empty();
        self.raw.push_str(piece);
        let before = self.shape;
        for c in piece.chars() {
            self.step(c);
        }
        match (before, self.shape) {
            (Shape::Closed, Shape::Closed) | (Shape::Empty, Shape::Empty) => None,
            (Shape::Open, Shape::Open) if !was_empty => None,
            (Shape::Invalid, Shape::Invalid) => None,
            _ => Some(self.arguments()),
        }
    }

    /// The view now (parses the raw text when it is a closed object or invalid; prefer the value
    /// `push` returns in hot paths).
    pub fn arguments(&self) -> Arguments {
        match self.shape {
            Shape::Empty => Arguments::empty(),
            Shape::Open => Arguments::Unreadable(Unreadable::Incomplete),
            Shape::Closed | Shape::Invalid => parse_arguments(&self.raw),
            Shape::TooLarge => Arguments::Unreadable(Unreadable::TooLarge),
        }
    }

    fn step(&mut self, c: char) {
        match self.shape {
            Shape::Invalid | Shape::TooLarge => {}
            Shape::Empty => {
                if c == '{' {
                    self.shape = Shape::Open;
                    self.depth = 1;
                } else if !c.is_whitespace() {
                    self.shape = Shape::Invalid;
                }
            }
            Shape::Closed => {
                if !c.is_whitespace() {
                    self.shape = Shape::Invalid;
                }
            }
            Shape::Open if self.in_string => {
                if self.escaped {
                    self.escaped = false;
                } else if c == '\\' {
                    self.escaped = true;
                } else if c == '"' {
                    self.in_string = false;
                }
            }
            Shape::Open => match c {
                '"' => self.in_string = true,
                '{' | '[' => self.depth = self.depth.saturating_add(1),
                '}' | ']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.shape = Shape::Closed;
                    }
                }
                _ => {}
            },
        }
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
