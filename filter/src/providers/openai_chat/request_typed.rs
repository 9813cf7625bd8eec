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

use super::request::{read_message, Content, MessageParts};
use crate::providers::body::{Spans, UsageChunk};
use crate::providers::common;
use crate::providers::lenient::{Objects, Text};
use crate::providers::typed::{
    fields_start, object_reader, read_model, read_raw, read_whole, span_of, Declaration, List, Read,
};
use crate::view;
use serde::de;
use serde_json::value::RawValue;
use serde_json::Value;

/// The view of a Chat Completions request body and the spans of its editable values; `None` when
/// the body is not of the shape this reader takes (read it as a tree).
pub fn read(bytes: &[u8]) -> Option<(view::Request, Spans)> {
    read_whole::<Top>(bytes)?.into_view(bytes)
}

#[derive(Default)]
struct Top<'a> {
    model: Option<&'a RawValue>,
    stream: Option<Value>,
    stream_options: Option<Value>,
    messages: Option<Vec<Msg<'a>>>,
    tools: Objects<Declaration<'a>>,
    functions: Objects<Declaration<'a>>,
}

object_reader!(Top, "a request object", |this, key, map| {
    "model" => this.model = Some(map.next_value()?),
    "stream" => this.stream = Some(map.next_value()?),
    "stream_options" => this.stream_options = Some(map.next_value()?),
    "messages" => this.messages = Some(map.next_value::<List<Msg<'a>>>()?.0),
    "tools" => this.tools = map.next_value()?,
    "functions" => this.functions = map.next_value()?,
    // The model key of another API, which the tree's model rewrite also sets.
    "modelId" => return Err(de::Error::custom("modelId")),
});

impl<'a> Top<'a> {
    fn into_view(self, bytes: &[u8]) -> Option<(view::Request, Spans)> {
        let messages = self.messages?;
        let mut spans = Spans { fields_start: fields_start(bytes)?, ..Spans::default() };
        let mut req = view::Request::default();
        read_model(bytes, self.model, &mut req, &mut spans)?;
        req.stream = matches!(self.stream, Some(Value::Bool(true)));
        spans.usage_chunk = req.stream.then(|| match &self.stream_options {
            None => UsageChunk::NotAsked,
            Some(options) if options.get("include_usage") == Some(&Value::Bool(true)) => UsageChunk::Asked,
            Some(_) => UsageChunk::Other,
        });
        // As `request::declared_tools` reads them from a tree.
        req.tools = (self.tools.0.into_iter())
            .filter_map(|tool| match tool.kind.as_deref() {
                Some("function") => tool.function.0?.function_decl(false),
                Some("custom") => tool.custom.0?.function_decl(true),
                _ => None,
            })
            .collect();
        req.tools.extend(self.functions.0.into_iter().filter_map(|f| f.function_decl(false)));
        for (i, msg) in messages.into_iter().enumerate() {
            let role = msg.role.as_deref();
            let read = match msg.content {
                Some(raw) => Some(read_raw(raw)?),
                None => None,
            };
            if let (Some("tool" | "function"), Some(raw), Some(read)) = (role, msg.content, &read) {
                spans.values.push((format!("/messages/{i}/content"), span_of(bytes, raw)?, read.is_multi_block()));
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

#[derive(Default)]
struct Msg<'a> {
    role: Text<'a>,
    content: Option<&'a RawValue>,
    tool_calls: Option<Value>,
    function_call: Option<Value>,
    tool_call_id: Text<'a>,
    name: Text<'a>,
}

object_reader!(Msg, "a message object", |this, key, map| {
    "role" => this.role = map.next_value()?,
    "content" => this.content = Some(map.next_value()?),
    "tool_calls" => this.tool_calls = Some(map.next_value()?),
    "function_call" => this.function_call = Some(map.next_value()?),
    "tool_call_id" => this.tool_call_id = map.next_value()?,
    "name" => this.name = map.next_value()?,
});

#[cfg(test)]
#[path = "request_typed_tests.rs"]
mod tests;
