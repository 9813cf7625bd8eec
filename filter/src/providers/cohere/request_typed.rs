//! Cohere v2 chat requests (`POST /v2/chat`) read without a `Value` tree: the view
//! [`super::request::parse`] builds, and where each tool message's content and the model are in
//! the client's bytes, so the body goes upstream as the client sent it with those values written
//! in place (`providers::typed` says how a typed reader stays exactly as strict as the tree).
//!
//! Message contents are kept raw and read as a string (long literals through the per-VM cache) or,
//! when they are anything else (a list of parts), as a small `Value`; `tools` and an assistant's
//! `tool_calls` are read as `Value`s. Left to the tree: a body that is not an object, no
//! `messages` or `messages` that is not an array of objects, a key given twice in the body or in a
//! message, a `modelId`.

use super::request::{call_names, result_text, tool_call, with_plan};
use crate::providers::body::Spans;
use crate::providers::json;
use crate::providers::lenient::{Objects, Text};
use crate::providers::typed::{
    fields_start, object_reader, read_model, read_raw, read_whole, span_of, Declaration, List, Read,
};
use crate::view::{self, Message, Role, ToolResult};
use serde::de;
use serde_json::value::RawValue;
use serde_json::Value;

/// The view of a Cohere v2 chat request body and the spans of its editable values; `None` when
/// the body is not of the shape this reader takes (read it as a tree).
pub fn read(bytes: &[u8]) -> Option<(view::Request, Spans)> {
    read_whole::<Top>(bytes)?.into_view(bytes)
}

#[derive(Default)]
struct Top<'a> {
    model: Option<&'a RawValue>,
    stream: Option<Value>,
    tools: Objects<Declaration<'a>>,
    messages: Option<Vec<Msg<'a>>>,
}

object_reader!(Top, "a request object", |this, key, map| {
    "model" => this.model = Some(map.next_value()?),
    "stream" => this.stream = Some(map.next_value()?),
    "tools" => this.tools = map.next_value()?,
    "messages" => this.messages = Some(map.next_value::<List<Msg<'a>>>()?.0),
    // The model key of another API, which the tree's model rewrite also sets.
    "modelId" => return Err(de::Error::custom("modelId")),
});

impl<'a> Top<'a> {
    fn into_view(self, bytes: &[u8]) -> Option<(view::Request, Spans)> {
        let messages = self.messages?;
        let mut spans = Spans { fields_start: fields_start(bytes)?, ..Spans::default() };
        let mut req = view::Request {
            stream: matches!(self.stream, Some(Value::Bool(true))),
            // As `request::tool_decl` reads them from a tree.
            tools: self.tools.0.into_iter().filter_map(|t| t.function.0?.function_decl(false)).collect(),
            ..view::Request::default()
        };
        read_model(bytes, self.model, &mut req, &mut spans)?;
        // Tool messages name their call only by id; every call in the history is known up front
        // (the tree's `tool_call_names`).
        let names = call_names(
            messages
                .iter()
                .filter(|m| m.role.as_deref() == Some("assistant"))
                .flat_map(|m| m.tool_calls.as_ref().and_then(Value::as_array).into_iter().flatten()),
        );
        for (i, msg) in messages.iter().enumerate() {
            // Every kept raw value is read, used or not: that is where it is checked.
            let content = match msg.content {
                Some(raw) => Some((raw, read_raw(raw)?)),
                None => None,
            };
            let role = msg.role.as_deref();
            if role == Some("tool") {
                let pointer = format!("/messages/{i}/content");
                let text = match content {
                    Some((raw, read)) => {
                        spans.values.push((pointer.clone(), span_of(bytes, raw)?, read.is_multi_block()));
                        match read {
                            Read::Text(text) => text,
                            Read::Json(v) => result_text(Some(&v)),
                        }
                    }
                    None => String::new(),
                };
                let call_id = msg.tool_call_id.as_deref();
                req.tool_results.push(ToolResult {
                    pointer,
                    call_id: call_id.map(str::to_owned),
                    tool_name: call_id.and_then(|id| names.get(id)).map(|n| (*n).to_owned()),
                    content: text.clone(),
                    // v2 tool messages carry no error flag.
                    is_error: false,
                });
                req.messages.push(Message { role: Role::Tool, text });
                continue;
            }
            let text = match content {
                Some((_, Read::Text(text))) => text,
                Some((_, Read::Json(v))) => json::typed_text(Some(&v)),
                None => String::new(),
            };
            match role {
                Some("system") => req.messages.push(Message { role: Role::System, text }),
                Some("assistant") => {
                    req.messages
                        .push(Message { role: Role::Assistant, text: with_plan(text, msg.tool_plan.as_deref()) });
                    let calls = msg.tool_calls.as_ref().and_then(Value::as_array).into_iter().flatten();
                    req.tool_calls.extend(calls.map(tool_call));
                }
                _ => req.messages.push(Message { role: Role::User, text }),
            }
        }
        Some((req, spans))
    }
}

/// One message: the fields of system, user, assistant and tool messages; the rest skipped.
#[derive(Default)]
struct Msg<'a> {
    role: Text<'a>,
    content: Option<&'a RawValue>,
    tool_plan: Text<'a>,
    tool_calls: Option<Value>,
    tool_call_id: Text<'a>,
}

object_reader!(Msg, "a message object", |this, key, map| {
    "role" => this.role = map.next_value()?,
    "content" => this.content = Some(map.next_value()?),
    "tool_plan" => this.tool_plan = map.next_value()?,
    "tool_calls" => this.tool_calls = Some(map.next_value()?),
    "tool_call_id" => this.tool_call_id = map.next_value()?,
});

#[cfg(test)]
#[path = "request_typed_tests.rs"]
mod tests;
