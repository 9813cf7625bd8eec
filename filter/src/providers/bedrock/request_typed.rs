//! Bedrock `Converse` / `ConverseStream` requests read without a `Value` tree: the view
//! [`super::request::parse`] builds, and where each `toolResult`'s content and the body's
//! `modelId` are in the client's bytes, so the body goes upstream as the client sent it with those
//! values written in place (`providers::typed` says how a typed reader stays exactly as strict as
//! the tree). A tool result's content is written as one text block (`[{"text": …}]`), the shape
//! the tree's edit gives it (`Spans::text_block_results`).
//!
//! A `toolResult.content` is kept raw. The commonest one, `[{"text": …}]`, has its text literal
//! read through the per-VM cache of long literals without scanning it again (agents put JSON
//! text there); a lone block with other keys is read typed with `text` and `json` kept raw; any
//! other content is read as a `Value`, as the tree reads it.
//!
//! Left to the tree: a body that is not an object, no `messages` or `messages` that is not an
//! array of objects, content blocks that are not objects, a key given twice in the body, a
//! message, a block, a `toolUse` or a `toolResult`, a top-level `model` (the tree's model rewrite
//! sets it too), a tool result's content nested more than `typed::MAX_RAW_DEPTH` (64) levels deep.

use super::request::{declared_tools, result_content, system_texts};
use crate::providers::body::Spans;
use crate::providers::common;
use crate::providers::json;
use crate::providers::lenient::{Object, Skip, Text};
use crate::providers::typed::{
    fields_start, object_reader, read_model, read_raw, read_whole, span_of, List, Read, StrOrList,
};
use crate::view::{self, Role, ToolCall, ToolResult};
use serde::de;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::HashMap;

/// The view of a Converse request body and the spans of its editable values; `None` when the body
/// is not of the shape this reader takes (read it as a tree).
pub fn read(bytes: &[u8]) -> Option<(view::Request, Spans)> {
    read_whole::<Top>(bytes)?.into_view(bytes)
}

#[derive(Default)]
struct Top<'a> {
    model_id: Option<&'a RawValue>,
    system: Option<Value>,
    tool_config: Option<Value>,
    messages: Option<Vec<Msg<'a>>>,
}

object_reader!(Top, "a request object", |this, key, map| {
    "modelId" => this.model_id = Some(map.next_value()?),
    "system" => this.system = Some(map.next_value()?),
    "toolConfig" => this.tool_config = Some(map.next_value()?),
    "messages" => this.messages = Some(map.next_value::<List<Msg<'a>>>()?.0),
    // The model key of other APIs, which the tree's model rewrite also sets.
    "model" => return Err(de::Error::custom("model")),
});

impl<'a> Top<'a> {
    fn into_view(self, bytes: &[u8]) -> Option<(view::Request, Spans)> {
        let messages = self.messages?;
        let mut spans = Spans { fields_start: fields_start(bytes)?, text_block_results: true, ..Spans::default() };
        // `stream` stays false: the route decides.
        let mut req = view::Request {
            system: system_texts(self.system.as_ref()),
            tools: declared_tools(self.tool_config.as_ref()),
            ..view::Request::default()
        };
        read_model(bytes, self.model_id, &mut req, &mut spans)?;
        // Results name only the call id; the tool name comes from the matching `toolUse`, wherever
        // in the history it is (a later use of an id names it, as in the tree's `tool_use_names`).
        let mut names: HashMap<&str, &str> = HashMap::new();
        for tu in messages.iter().flat_map(Msg::blocks).filter_map(|b| b.tool_use.0.as_ref()) {
            if let (Some(id), Some(name)) = (tu.tool_use_id.as_deref(), tu.name.as_deref()) {
                names.insert(id, name);
            }
        }
        for (i, msg) in messages.iter().enumerate() {
            let role = if msg.role.as_deref() == Some("assistant") { Role::Assistant } else { Role::User };
            let mut texts: Vec<&str> = Vec::new();
            let mut result_texts: Vec<String> = Vec::new();
            for (j, block) in msg.blocks().iter().enumerate() {
                if let Some(text) = block.text.as_deref() {
                    texts.push(text);
                }
                if let Some(tu) = &block.tool_use.0 {
                    req.tool_calls.push(ToolCall {
                        id: tu.tool_use_id.as_deref().map(str::to_owned),
                        name: tu.name.as_deref().unwrap_or_default().to_owned(),
                        arguments: json::object_or_empty(tu.input.as_ref()),
                    });
                }
                if let Some(tr) = &block.tool_result.0 {
                    let pointer = format!("/messages/{i}/content/{j}/toolResult/content");
                    let content = match tr.content {
                        Some(raw) => {
                            let (text, multi) = read_result(raw)?;
                            // The tree's edit replaces the content only where it is (a pointer to
                            // a key that is not there does not resolve).
                            spans.values.push((pointer.clone(), span_of(bytes, raw)?, multi));
                            text
                        }
                        None => String::new(),
                    };
                    let call_id = tr.tool_use_id.as_deref();
                    result_texts.push(content.clone());
                    req.tool_results.push(ToolResult {
                        pointer,
                        call_id: call_id.map(str::to_owned),
                        tool_name: call_id.and_then(|id| names.get(id)).map(|n| (*n).to_owned()),
                        content,
                        is_error: tr.status.as_deref() == Some("error"),
                    });
                }
            }
            req.messages.push(common::turn(role, &texts, &result_texts));
        }
        Some((req, spans))
    }
}

/// A `toolResult.content`, read as the tree's `result_content` reads it, and whether it is a list
/// of more than one block. The common one, a lone block with `text` or `json`, is read typed with
/// both kept raw (a long `text` comes from the per-VM cache); anything else is read as a `Value`.
/// `None` when `read_raw` would not read it.
fn read_result(raw: &RawValue) -> Option<(String, bool)> {
    // The commonest content, one text block and nothing else, without scanning its text again:
    // the literal is read (`read_raw`'s way) from the per-VM cache, which holds it only once it
    // was read as one valid string.
    if let Some(text) = lone_text_literal(raw.get()).and_then(json::string_literal_text) {
        return Some((text, false));
    }
    if let Some(List(blocks)) = read_whole::<List<ResultBlock>>(raw.get().as_bytes()) {
        if let [only] = blocks.as_slice() {
            if !only.other {
                // Every kept raw value is read, used or not: that is where it is checked.
                let text = match only.text {
                    Some(raw) => Some(read_raw(raw)?),
                    None => None,
                };
                let json = match only.json {
                    Some(raw) => Some(read_raw(raw)?),
                    None => None,
                };
                match (text, json) {
                    (Some(Read::Text(text)), _) => return Some((text, false)),
                    (_, Some(Read::Text(text))) => return Some((Value::String(text).to_string(), false)),
                    (_, Some(Read::Json(json))) => return Some((json.to_string(), false)),
                    // No text and no json: the list itself, read below.
                    _ => {}
                }
            }
        }
    }
    match read_raw(raw)? {
        Read::Text(text) => Some((text, false)),
        Read::Json(value) => {
            let multi = matches!(&value, Value::Array(blocks) if blocks.len() > 1);
            Some((result_content(Some(&value)), multi))
        }
    }
}

/// JSON's whitespace.
const WS: [char; 4] = [' ', '\t', '\n', '\r'];

/// The text's literal of `content` when it is `[{"text": <a literal>}]` (any JSON whitespace
/// between the tokens): what is between `"text":` and `}]`, when it starts with a quote. It is that
/// one string literal only when it reads as one (`json::string_literal_text`); otherwise it holds
/// more than a literal (`"a","json":1`) and the content is read the general way.
fn lone_text_literal(content: &str) -> Option<&str> {
    let rest = content.strip_prefix('[')?.trim_start_matches(WS).strip_prefix('{')?.trim_start_matches(WS);
    let rest = rest.strip_prefix("\"text\"")?.trim_start_matches(WS).strip_prefix(':')?.trim_start_matches(WS);
    let literal = rest.strip_suffix(']')?.trim_end_matches(WS).strip_suffix('}')?.trim_end_matches(WS);
    literal.starts_with('"').then_some(literal)
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

/// One content block: its `text`, `toolUse` and `toolResult` (each read when it is an object, as
/// the tree reads them; one block may carry several); the rest skipped.
#[derive(Default)]
struct Block<'a> {
    text: Text<'a>,
    tool_use: Object<ToolUse<'a>>,
    tool_result: Object<ToolResultBlock<'a>>,
}

object_reader!(Block, "a content block", |this, key, map| {
    "text" => this.text = map.next_value()?,
    "toolUse" => this.tool_use = map.next_value()?,
    "toolResult" => this.tool_result = map.next_value()?,
});

#[derive(Default)]
struct ToolUse<'a> {
    tool_use_id: Text<'a>,
    name: Text<'a>,
    input: Option<Value>,
}

object_reader!(ToolUse, "a toolUse object", |this, key, map| {
    "toolUseId" => this.tool_use_id = map.next_value()?,
    "name" => this.name = map.next_value()?,
    "input" => this.input = Some(map.next_value()?),
});

#[derive(Default)]
struct ToolResultBlock<'a> {
    tool_use_id: Text<'a>,
    content: Option<&'a RawValue>,
    status: Text<'a>,
}

object_reader!(ToolResultBlock, "a toolResult object", |this, key, map| {
    "toolUseId" => this.tool_use_id = map.next_value()?,
    "content" => this.content = Some(map.next_value()?),
    "status" => this.status = map.next_value()?,
});

/// One block of a tool result's content: `text` and `json` kept raw; any other key is skipped and
/// noted (the content is then read as a `Value`, whose nesting is checked).
#[derive(Default)]
struct ResultBlock<'a> {
    text: Option<&'a RawValue>,
    json: Option<&'a RawValue>,
    other: bool,
}

impl<'a> ResultBlock<'a> {
    fn read_field<'de: 'a, A: de::MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "text" => self.text = Some(map.next_value()?),
            "json" => self.json = Some(map.next_value()?),
            _ => {
                self.other = true;
                map.next_value::<Skip>()?;
            }
        }
        Ok(())
    }
}

object_reader!(ResultBlock, "a tool result content block", read_field);

#[cfg(test)]
#[path = "request_typed_tests.rs"]
mod tests;
