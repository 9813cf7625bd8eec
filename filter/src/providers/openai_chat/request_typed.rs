//! Chat Completions requests read without a `Value` tree: the view [`super::request::parse`]
//! builds, and where in the client's bytes the values the pipeline may edit are (tool-result
//! contents, the model, where `stream_options` goes), so the body can go upstream as the client's
//! bytes with those values written in place ([`Body::from_read`]).
//!
//! The reader takes the common shape only and answers `None` for anything else, which is then read
//! as a tree: a body that is not an object, `messages` that is not an array of objects, a key
//! given twice in the body or in a message (a tree keeps the last, the upstream's parser might
//! keep the first), a `modelId`. Every value it reads is read the way a `Value` reads it (kept raw
//! values are then read as a string or a `Value`; skipped ones through `lenient::Skip`), so it
//! accepts exactly the bodies the tree accepts, and gives the same view (tests compare both).

use super::request::{declared_tools, read_message, Content, MessageParts};
use crate::providers::body::{Spans, UsageChunk};
use crate::providers::common;
use crate::providers::json;
use crate::providers::lenient::{Skip, Text};
use crate::view;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// The view of a Chat Completions request body and the spans of its editable values; `None` when
/// the body is not of the shape this reader takes (read it as a tree).
pub fn read(bytes: &[u8]) -> Option<(view::Request, Spans)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let top = Top::deserialize(&mut de).ok()?;
    de.end().ok()?;
    top.into_view(bytes)
}

#[derive(Default)]
struct Top<'a> {
    model: Option<&'a RawValue>,
    stream: Option<Value>,
    stream_options: Option<Value>,
    messages: Option<Vec<Msg<'a>>>,
    tools: Option<Value>,
    functions: Option<Value>,
}

#[derive(Default)]
struct Msg<'a> {
    role: Text<'a>,
    content: Option<&'a RawValue>,
    tool_calls: Option<Value>,
    function_call: Option<Value>,
    tool_call_id: Text<'a>,
    name: Text<'a>,
}

/// A raw value read the way a `Value` reads it: a string's text, or the value.
enum Read {
    Text(String),
    Json(Value),
}

fn read_raw(raw: &RawValue) -> Option<Read> {
    let text = raw.get();
    if text.starts_with('"') {
        json::string_literal_text(text).map(Read::Text)
    } else {
        serde_json::from_str(text).ok().map(Read::Json)
    }
}

/// Where `raw`, borrowed from `bytes`, lies in them.
fn span_of(bytes: &[u8], raw: &RawValue) -> Option<Range<usize>> {
    let start = (raw.get().as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    let end = start.checked_add(raw.get().len())?;
    (end <= bytes.len()).then_some(start..end)
}

impl<'a> Top<'a> {
    fn into_view(self, bytes: &[u8]) -> Option<(view::Request, Spans)> {
        let messages = self.messages?;
        // The body is an object with at least one field (`messages`): a new field goes right after
        // its opening brace.
        let brace = bytes.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))?;
        (bytes.get(brace) == Some(&b'{')).then_some(())?;
        let mut spans = Spans { fields_start: brace.checked_add(1)?, ..Spans::default() };
        let mut req = view::Request::default();
        if let Some(raw) = self.model {
            let text = match read_raw(raw)? {
                Read::Text(text) => Some(text),
                Read::Json(_) => None,
            };
            req.model = text.clone();
            spans.model = Some((span_of(bytes, raw)?, text));
        }
        req.stream = matches!(self.stream, Some(Value::Bool(true)));
        spans.usage_chunk = req.stream.then(|| match &self.stream_options {
            None => UsageChunk::NotAsked,
            Some(options) if options.get("include_usage") == Some(&Value::Bool(true)) => UsageChunk::Asked,
            Some(_) => UsageChunk::Other,
        });
        req.tools = declared_tools(self.tools.as_ref(), self.functions.as_ref());
        for (i, msg) in messages.into_iter().enumerate() {
            let role = msg.role.as_deref();
            let is_result = matches!(role, Some("tool" | "function"));
            let (content, read) = match msg.content {
                Some(raw) => (Some(raw), Some(read_raw(raw)?)),
                None => (None, None),
            };
            if let (true, Some(raw)) = (is_result, content) {
                let multi = matches!(&read, Some(Read::Json(Value::Array(blocks))) if blocks.len() > 1);
                spans.values.push((format!("/messages/{i}/content"), span_of(bytes, raw)?, multi));
            }
            let mut value = None;
            let content = match read {
                Some(Read::Text(text)) => Content::Text(text),
                Some(Read::Json(v)) => Content::Json(Some(&*value.insert(v))),
                None => Content::Json(None),
            };
            let parts = MessageParts {
                role,
                content,
                tool_calls: msg.tool_calls.as_ref().and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default(),
                function_call: msg.function_call.as_ref(),
                tool_call_id: msg.tool_call_id.as_deref().map(str::to_owned),
                name: msg.name.as_deref().map(str::to_owned),
            };
            read_message(&mut req, i, parts);
        }
        common::name_results_by_call_id(&mut req);
        Some((req, spans))
    }
}

/// An object key, borrowed when it has no escapes (compared by its text, as a tree compares it).
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// Reads an object's keys, refusing one given twice (the caller then reads the body as a tree),
/// and more than `MAX_KEYS` of them (each key is compared with the ones before it; an object with
/// more keys than a request or a message has is left to the tree, which hashes them).
struct Keys<'a> {
    seen: Vec<Cow<'a, str>>,
}

const MAX_KEYS: usize = 48;

impl<'a> Keys<'a> {
    fn next<'de: 'a, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<Option<Cow<'a, str>>, A::Error> {
        let Some(Key(key)) = map.next_key::<Key<'a>>()? else { return Ok(None) };
        if self.seen.len() >= MAX_KEYS || self.seen.contains(&key) {
            return Err(de::Error::custom("a key given twice, or too many keys"));
        }
        self.seen.push(key.clone());
        Ok(Some(key))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Top<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Top<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a request object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'a>, A::Error> {
                let mut top = Top::default();
                let mut keys = Keys { seen: Vec::new() };
                while let Some(key) = keys.next(&mut map)? {
                    match key.as_ref() {
                        "model" => top.model = Some(map.next_value()?),
                        "stream" => top.stream = Some(map.next_value()?),
                        "stream_options" => top.stream_options = Some(map.next_value()?),
                        "messages" => top.messages = Some(map.next_value::<Messages<'a>>()?.0),
                        "tools" => top.tools = Some(map.next_value()?),
                        "functions" => top.functions = Some(map.next_value()?),
                        // The model key of another API, which the tree's model rewrite also sets.
                        "modelId" => return Err(de::Error::custom("modelId")),
                        _ => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(top)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

struct Messages<'a>(Vec<Msg<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Messages<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Messages<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of messages")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Messages<'a>, A::Error> {
                let mut messages = Vec::new();
                while let Some(msg) = seq.next_element::<Msg<'a>>()? {
                    messages.push(msg);
                }
                Ok(Messages(messages))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Msg<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Msg<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a message object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Msg<'a>, A::Error> {
                let mut msg = Msg::default();
                let mut keys = Keys { seen: Vec::new() };
                while let Some(key) = keys.next(&mut map)? {
                    match key.as_ref() {
                        "role" => msg.role = map.next_value()?,
                        "content" => msg.content = Some(map.next_value()?),
                        "tool_calls" => msg.tool_calls = Some(map.next_value()?),
                        "function_call" => msg.function_call = Some(map.next_value()?),
                        "tool_call_id" => msg.tool_call_id = map.next_value()?,
                        "name" => msg.name = map.next_value()?,
                        _ => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(msg)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
#[path = "request_typed_tests.rs"]
mod tests;
