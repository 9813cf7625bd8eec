//! Responses requests read without a `Value` tree: the view [`super::request::parse`] builds, and
//! where each call output's `output` and the model are in the client's bytes, so the body goes
//! upstream as the client sent it with those values written in place (`providers::typed` says
//! how a typed reader stays exactly as strict as the tree).
//!
//! Left to the tree: a body that is not an object, `input` items that are not objects, a key given
//! twice in the body or an item, a `modelId`, and `background: true` (which [`super::request::check`]
//! refuses: a body this reader takes never needs that check).

use super::request::{client_call, is_client_builtin, is_client_call, OUTPUT_ITEMS};
use crate::providers::body::Spans;
use crate::providers::common;
use crate::providers::json;
use crate::providers::lenient::{Objects, Text};
use crate::providers::typed::{
    fields_start, object_reader, read_model, read_raw, read_whole, span_of, Declaration, Read, StrOrList,
};
use crate::view::{self, Message, Role, ToolDecl, ToolResult};
use serde::de;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The view of a Responses request body and the spans of its editable values; `None` when the
/// body is not of the shape this reader takes (read it as a tree).
pub fn read(bytes: &[u8]) -> Option<(view::Request, Spans)> {
    read_whole::<Top>(bytes)?.into_view(bytes)
}

#[derive(Default)]
struct Top<'a> {
    model: Option<&'a RawValue>,
    stream: Option<Value>,
    background: Option<Value>,
    instructions: Option<&'a RawValue>,
    input: Option<StrOrList<Item<'a>>>,
    tools: Objects<Declaration<'a>>,
}

object_reader!(Top, "a request object", |this, key, map| {
    "model" => this.model = Some(map.next_value()?),
    "stream" => this.stream = Some(map.next_value()?),
    "background" => this.background = Some(map.next_value()?),
    "instructions" => this.instructions = Some(map.next_value()?),
    "input" => this.input = Some(map.next_value()?),
    "tools" => this.tools = map.next_value()?,
    // The model key of another API, which the tree's model rewrite also sets.
    "modelId" => return Err(de::Error::custom("modelId")),
});

impl<'a> Top<'a> {
    fn into_view(self, bytes: &[u8]) -> Option<(view::Request, Spans)> {
        if matches!(self.background, Some(Value::Bool(true))) {
            return None;
        }
        let mut spans = Spans { fields_start: fields_start(bytes)?, ..Spans::default() };
        let mut req = view::Request {
            stream: matches!(self.stream, Some(Value::Bool(true))),
            tools: self.tools.0.into_iter().filter_map(tool_decl).collect(),
            ..view::Request::default()
        };
        read_model(bytes, self.model, &mut req, &mut spans)?;
        if let Some(raw) = self.instructions {
            if let Read::Text(text) = read_raw(raw)? {
                if !text.is_empty() {
                    req.system.push(text);
                }
            }
        }
        match self.input {
            Some(StrOrList::Text(text)) => req.messages.push(Message { role: Role::User, text }),
            Some(StrOrList::List(items)) => {
                for (i, item) in items.into_iter().enumerate() {
                    item.read_into(&mut req, &mut spans, bytes, i)?;
                }
            }
            Some(StrOrList::Other) | None => {}
        }
        // Outputs name their call by `call_id` only; the name is on the matching call item.
        common::name_results_by_call_id(&mut req);
        Some((req, spans))
    }
}

/// One input item: the fields of messages, the client's calls and their outputs; the rest skipped.
/// A call's fields are kept as values: calls are small, and [`client_call`] reads them from an
/// object of those fields exactly as it reads the item.
/// A `tools` entry as `request::declared_tools` reads it from a tree.
fn tool_decl(mut tool: Declaration<'_>) -> Option<ToolDecl> {
    let kind = tool.kind.0.take()?;
    let schema = match kind.as_ref() {
        "function" => tool.parameters.take(),
        "custom" => None,
        builtin if is_client_builtin(builtin) => {
            return Some(ToolDecl { name: kind.into_owned(), custom: false, description: None, parameters: None });
        }
        _ => return None,
    };
    tool.decl(kind == "custom", schema)
}

#[derive(Default)]
struct Item<'a> {
    kind: Option<Value>,
    role: Text<'a>,
    content: Option<&'a RawValue>,
    output: Option<&'a RawValue>,
    call_id: Option<Value>,
    call: Map<String, Value>,
}

object_reader!(Item, "an input item", |this, key, map| {
    "type" => this.kind = Some(map.next_value()?),
    "role" => this.role = map.next_value()?,
    "content" => this.content = Some(map.next_value()?),
    "output" => this.output = Some(map.next_value()?),
    "call_id" => this.call_id = Some(map.next_value()?),
    "name" | "arguments" | "input" | "action" | "operation" => {
        this.call.insert(key.to_owned(), map.next_value()?);
    }
});

impl<'a> Item<'a> {
    /// What the tree's `read_item` makes of the item at `i`.
    fn read_into(self, req: &mut view::Request, spans: &mut Spans, bytes: &[u8], i: usize) -> Option<()> {
        // Every kept raw value is read, used or not: that is where it is checked.
        let content = match self.content {
            Some(raw) => Some(read_raw(raw)?),
            None => None,
        };
        let output = match self.output {
            Some(raw) => Some((raw, read_raw(raw)?)),
            None => None,
        };
        // Items without a `type` are messages (the "easy input message" form).
        let kind = self.kind.as_ref().and_then(Value::as_str).unwrap_or("message");
        match kind {
            "message" => {
                let role = match self.role.as_deref() {
                    Some("system" | "developer") => Role::System,
                    Some("assistant") => Role::Assistant,
                    Some("user") => Role::User,
                    _ => return Some(()),
                };
                let text = match content {
                    Some(Read::Text(text)) => text,
                    Some(Read::Json(v)) => json::text_of(Some(&v)),
                    None => String::new(),
                };
                req.messages.push(Message { role, text });
            }
            kind if is_client_call(kind) => {
                let mut call = self.call;
                if let Some(kind) = self.kind {
                    call.insert("type".to_owned(), kind);
                }
                if let Some(id) = self.call_id {
                    call.insert("call_id".to_owned(), id);
                }
                req.tool_calls.push(client_call(&Value::Object(call)));
            }
            kind if OUTPUT_ITEMS.contains(&kind) => {
                let pointer = format!("/input/{i}/output");
                let text = match output {
                    Some((raw, read)) => {
                        spans.values.push((pointer.clone(), span_of(bytes, raw)?, read.is_multi_block()));
                        match read {
                            Read::Text(text) => text,
                            Read::Json(v) => json::result_text(Some(&v)),
                        }
                    }
                    None => String::new(),
                };
                req.messages.push(Message { role: Role::Tool, text: text.clone() });
                req.tool_results.push(ToolResult {
                    pointer,
                    call_id: self.call_id.as_ref().and_then(Value::as_str).map(str::to_owned),
                    tool_name: None,
                    content: text,
                    is_error: false,
                });
            }
            _ => {}
        }
        Some(())
    }
}

#[cfg(test)]
#[path = "request_typed_tests.rs"]
mod tests;
