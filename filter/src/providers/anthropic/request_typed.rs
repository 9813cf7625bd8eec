//! Anthropic Messages requests read without a `Value` tree: the view [`super::request::parse`]
//! builds, and where each `tool_result` block's content and the model are in the client's bytes,
//! so the body goes upstream as the client sent it with those values written in place
//! (`providers::typed` says how a typed reader stays exactly as strict as the tree).
//!
//! Left to the tree: a body that is not an object, `messages` that is not an array of objects,
//! content blocks that are not objects, a key given twice in the body, a message or a block, a
//! `modelId`.

use super::request::system_texts;
use crate::providers::body::Spans;
use crate::providers::json;
use crate::providers::lenient::{Objects, Text};
use crate::providers::typed::{
    fields_start, object_reader, read_model, read_raw, read_whole, span_of, Declaration, List, Read, StrOrList,
};
use crate::view::{self, Message, Role, ToolCall, ToolResult};
use serde::de;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::HashMap;

/// The view of a Messages request body and the spans of its editable values; `None` when the body
/// is not of the shape this reader takes (read it as a tree).
pub fn read(bytes: &[u8]) -> Option<(view::Request, Spans)> {
    read_whole::<Top>(bytes)?.into_view(bytes)
}

#[derive(Default)]
struct Top<'a> {
    model: Option<&'a RawValue>,
    stream: Option<Value>,
    system: Option<Value>,
    tools: Objects<Declaration<'a>>,
    messages: Option<Vec<Msg<'a>>>,
}

object_reader!(Top, "a request object", |this, key, map| {
    "model" => this.model = Some(map.next_value()?),
    "stream" => this.stream = Some(map.next_value()?),
    "system" => this.system = Some(map.next_value()?),
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
            system: system_texts(self.system.as_ref()),
            // As `request::tool_decl` reads them from a tree.
            tools: (self.tools.0.into_iter())
                .filter_map(|mut t| {
                    let schema = t.input_schema.take();
                    t.decl(false, schema)
                })
                .collect(),
            ..view::Request::default()
        };
        read_model(bytes, self.model, &mut req, &mut spans)?;
        // Every tool_use id in the request is known before any result is resolved (the tree's
        // `tool_use_names`: a later use of an id names it).
        let mut names: HashMap<&str, &str> = HashMap::new();
        for msg in messages.iter().filter(|m| m.role.as_deref() == Some("assistant")) {
            for block in msg.blocks() {
                if let (Some("tool_use"), Some(id), Some(name)) =
                    (block.kind.as_deref(), block.id.as_deref(), block.name.as_deref())
                {
                    names.insert(id, name);
                }
            }
        }
        for (i, msg) in messages.iter().enumerate() {
            let role = if msg.role.as_deref() == Some("assistant") { Role::Assistant } else { Role::User };
            // Thinking, tool_use and tool_result blocks are not the turn's text.
            let text = match &msg.content {
                Some(StrOrList::Text(text)) => text.clone(),
                Some(StrOrList::List(blocks)) => blocks
                    .iter()
                    .filter(|b| b.kind.as_deref() == Some("text"))
                    .filter_map(|b| b.text.as_deref())
                    .collect::<Vec<&str>>()
                    .join("\n"),
                Some(StrOrList::Other) | None => String::new(),
            };
            req.messages.push(Message { role, text });
            for (j, block) in msg.blocks().iter().enumerate() {
                // Every kept raw value is read, used or not: that is where it is checked.
                let content = match block.content {
                    Some(raw) => Some((raw, read_raw(raw)?)),
                    None => None,
                };
                match (role, block.kind.as_deref()) {
                    (Role::Assistant, Some("tool_use")) => req.tool_calls.push(ToolCall {
                        id: block.id.as_deref().map(str::to_owned),
                        name: block.name.as_deref().unwrap_or_default().to_owned(),
                        arguments: json::object_or_empty(block.input.as_ref()),
                    }),
                    (Role::User, Some("tool_result")) => {
                        let pointer = format!("/messages/{i}/content/{j}/content");
                        let text = match content {
                            Some((raw, read)) => {
                                spans.values.push((pointer.clone(), span_of(bytes, raw)?, read.is_multi_block()));
                                match read {
                                    Read::Text(text) => text,
                                    Read::Json(v) => json::result_text(Some(&v)),
                                }
                            }
                            None => String::new(),
                        };
                        let call_id = block.tool_use_id.as_deref();
                        req.tool_results.push(ToolResult {
                            pointer,
                            call_id: call_id.map(str::to_owned),
                            tool_name: call_id.and_then(|id| names.get(id)).map(|n| (*n).to_owned()),
                            content: text,
                            is_error: matches!(block.is_error, Some(Value::Bool(true))),
                        });
                    }
                    _ => {}
                }
            }
        }
        Some((req, spans))
    }
}

#[derive(Default)]
struct Msg<'a> {
    role: Text<'a>,
    content: Option<StrOrList<Block<'a>>>,
}

object_reader!(Msg, "a message object", |this, key, map| {
    "role" => this.role = map.next_value()?,
    "content" => this.content = Some(map.next_value()?),
});

impl<'a> Msg<'a> {
    fn blocks(&self) -> &[Block<'a>] {
        match &self.content {
            Some(StrOrList::List(blocks)) => blocks,
            _ => &[],
        }
    }
}

/// One content block: the fields of text, tool_use and tool_result blocks; the rest skipped.
#[derive(Default)]
struct Block<'a> {
    kind: Text<'a>,
    text: Text<'a>,
    id: Text<'a>,
    name: Text<'a>,
    input: Option<Value>,
    tool_use_id: Text<'a>,
    content: Option<&'a RawValue>,
    is_error: Option<Value>,
}

object_reader!(Block, "a content block", |this, key, map| {
    "type" => this.kind = map.next_value()?,
    "text" => this.text = map.next_value()?,
    "id" => this.id = map.next_value()?,
    "name" => this.name = map.next_value()?,
    "input" => this.input = Some(map.next_value()?),
    "tool_use_id" => this.tool_use_id = map.next_value()?,
    "content" => this.content = Some(map.next_value()?),
    "is_error" => this.is_error = Some(map.next_value()?),
});

#[cfg(test)]
#[path = "request_typed_tests.rs"]
mod tests;
