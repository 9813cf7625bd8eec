//! Refusals: what the client receives instead of blocked tool calls.
//!
//! Streaming: the engine holds every frame from the one where a blockable call starts. When the
//! calls are blocked, the held chunks lose the deltas of the calls that started inside the held
//! part (calls that started earlier were already streamed live, so their remaining deltas stay and
//! the client's copy of them is complete), the refusal arrives as a content delta, and the finish
//! chunk says `stop` for every choice that is left without tool calls.

use super::stream::{hash, is_error, is_usage_only, Fold};
use crate::providers::common::RefusalEnd;
use crate::providers::json::{self, str_at};
use crate::stream::{Frame, Framing};
use serde_json::{json, Map, Value};

/// What the refusal hooks learnt about the held part of a stream.
#[derive(Debug, Default)]
pub struct Hold {
    /// Stream position of the first held frame: calls that started at or after it are the held
    /// ones (earlier calls went out live).
    from: Option<u64>,
    /// The `Fold::log` entry of the next held frame.
    cursor: Option<usize>,
    /// A held `[DONE]`, and whether the refusal went out.
    pub(super) end: RefusalEnd,
    /// A held usage-only chunk, re-sent after a synthesised finish so usage still comes last.
    usage: Option<Frame>,
}

/// The non-streaming refusal body: each choice that made tool calls becomes a plain assistant
/// message whose text is `message` (after any text the model wrote), with `finish_reason: stop`.
pub fn body(response: &Value, message: &str) -> Value {
    let mut body = json::fields(response);
    body.entry("object").or_insert_with(|| json!("chat.completion"));
    let choices = body.entry("choices").or_insert_with(|| json!([]));
    if !choices.is_array() {
        *choices = json!([]);
    }
    if let Some(choices) = choices.as_array_mut() {
        let mut refused = false;
        for choice in choices.iter_mut().filter(|c| has_tool_calls(c)) {
            refuse_choice(choice, message);
            refused = true;
        }
        // A body without tool calls is still turned into the refusal the caller asked for.
        if !refused {
            match choices.first_mut() {
                Some(first) => refuse_choice(first, message),
                None => {
                    let mut choice = json!({"index": 0});
                    refuse_choice(&mut choice, message);
                    choices.push(choice);
                }
            }
        }
    }
    Value::Object(body)
}

fn has_tool_calls(choice: &Value) -> bool {
    choice.get("message").is_some_and(|m| {
        m.get("tool_calls").and_then(Value::as_array).is_some_and(|c| !c.is_empty())
            || m.get("function_call").is_some_and(|f| !f.is_null())
    })
}

fn refuse_choice(choice: &mut Value, message: &str) {
    let Some(choice) = choice.as_object_mut() else { return };
    let msg = choice.entry("message").or_insert_with(|| json!({}));
    if !msg.is_object() {
        *msg = json!({});
    }
    if let Some(msg) = msg.as_object_mut() {
        msg.remove("tool_calls");
        msg.remove("function_call");
        let before = msg.get("content").and_then(Value::as_str).unwrap_or_default();
        let text = after_text(before, message);
        msg.insert("role".to_owned(), json!("assistant"));
        msg.insert("content".to_owned(), Value::String(text));
        msg.entry("refusal").or_insert(Value::Null);
    }
    choice.insert("finish_reason".to_owned(), json!("stop"));
    // Log probabilities described the tokens of the calls that are gone.
    if choice.contains_key("logprobs") {
        choice.insert("logprobs".to_owned(), Value::Null);
    }
}

/// `message` as it follows `before`, the text the client already has.
fn after_text(before: &str, message: &str) -> String {
    if before.is_empty() {
        message.to_owned()
    } else {
        format!("{before}\n\n{message}")
    }
}

impl Fold {
    /// See `StreamFold::strip_tools`.
    pub fn strip_tools(&mut self, frame: &Frame) -> Option<Frame> {
        let calls = self.recognise(frame);
        let mut chunk = match self.hold.end.held_json(frame) {
            Ok(chunk) => chunk,
            Err(stripped) => return stripped,
        };
        if !chunk.is_object() || is_error(&chunk) {
            return Some(frame.clone());
        }
        if is_usage_only(&chunk) {
            // Held only when the stream had no finish chunk; it goes out after the synthesised one.
            if !self.hide_usage_chunk {
                self.hold.usage = Some(frame.clone());
            }
            return None;
        }
        match self.strip_chunk(&mut chunk, calls.as_deref()) {
            Stripped::Unchanged => Some(frame.clone()),
            Stripped::Empty => None,
            Stripped::Changed => Some(frame.with_data(Framing::Sse, &to_bytes(&chunk))),
        }
    }

    /// See `StreamFold::refusal`.
    pub fn refusal(&mut self, message: &str, finish: Option<&Frame>) -> Vec<Frame> {
        let calls = finish.and_then(|f| self.recognise(f));
        // Nothing was recognised as held: every call counts as held rather than one leaking.
        let from = *self.hold.from.get_or_insert(0);
        let mut refused: Vec<u64> = Vec::new();
        for call in self.calls.iter().filter(|c| c.start >= from) {
            if !refused.contains(&call.choice) {
                refused.push(call.choice);
            }
        }
        if refused.is_empty() {
            refused.push(0);
        }
        let mut out = vec![self.text_chunk(message, &refused)];
        let finish_chunk = finish.and_then(|f| serde_json::from_slice::<Value>(&f.data).ok()).filter(Value::is_object);
        match (finish, finish_chunk) {
            (Some(frame), Some(mut chunk)) => match self.strip_chunk(&mut chunk, calls.as_deref()) {
                Stripped::Unchanged => out.push(frame.clone()),
                _ => out.push(frame.with_data(Framing::Sse, &to_bytes(&chunk))),
            },
            (Some(frame), None) => out.push(frame.clone()),
            (None, _) => {
                out.push(self.finish_chunk());
                out.extend(self.hold.usage.take());
                self.hold.end.done = true;
            }
        }
        self.hold.end.close(&mut out);
        out
    }

    /// Finds a held frame in the log; returns the calls its tool deltas belong to (`None` when it
    /// cannot be placed, so all its tool content goes). The first held frame also fixes `from`: it
    /// is the earliest logged call start with these bytes, since an earlier identical start would
    /// have started the hold itself.
    fn recognise(&mut self, frame: &Frame) -> Option<Vec<usize>> {
        let h = hash(&frame.data);
        let at = match self.hold.cursor {
            Some(cursor) => (cursor..self.log.len()).find(|&i| self.log.get(i).is_some_and(|s| s.hash == h)),
            None => {
                let found = self.log.iter().position(|s| s.hash == h && s.starts);
                found.or_else(|| self.log.iter().position(|s| s.hash == h))
            }
        };
        let Some((i, seen)) = at.and_then(|i| Some((i, self.log.get(i)?))) else {
            self.hold.from.get_or_insert(0);
            return None;
        };
        self.hold.from.get_or_insert(seen.seq);
        let calls = seen.calls.clone();
        self.hold.cursor = Some(i.saturating_add(1));
        Some(calls)
    }

    /// Whether a call's deltas in held frames are the held part's: calls that started in it, and a
    /// call that went out live until its name turned out to come in conflicting pieces (the rest of
    /// it, the piece that would have completed another name included, never goes out).
    fn is_held(&self, pos: Option<usize>) -> bool {
        let from = self.hold.from.unwrap_or(0);
        pos.and_then(|p| self.calls.get(p)).is_none_or(|c| c.start >= from || c.ambiguous_name)
    }

    /// Whether some call of `choice` reached the client (started before the held part).
    fn delivered_calls(&self, choice: u64) -> bool {
        let from = self.hold.from.unwrap_or(0);
        self.calls.iter().any(|c| c.choice == choice && c.start < from)
    }

    fn held_calls(&self, choice: u64) -> bool {
        let from = self.hold.from.unwrap_or(0);
        self.calls.iter().any(|c| c.choice == choice && c.start >= from)
    }

    /// Removes the held calls' deltas from a chunk and gives choices left without calls a `stop`.
    /// `calls` are the chunk's tool deltas' calls in the order `Fold::on_frame` met them.
    fn strip_chunk(&self, chunk: &mut Value, calls: Option<&[usize]>) -> Stripped {
        let Some(choices) = chunk.get_mut("choices").and_then(Value::as_array_mut) else {
            return Stripped::Unchanged;
        };
        let mut next = 0usize;
        let mut call_at = || {
            let pos = calls.and_then(|c| c.get(next).copied());
            next = next.saturating_add(1);
            pos
        };
        let mut changed = false;
        let mut emptied = Vec::new();
        for (pos, choice) in choices.iter_mut().enumerate() {
            let index = choice_index(choice);
            let mut stripped = false;
            // Visited exactly as `on_frame` folds: a choice without a delta object has no tool deltas.
            if let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) {
                if let Some(list) = delta.get_mut("tool_calls").and_then(Value::as_array_mut) {
                    let keep: Vec<bool> = list.iter().map(|_| !self.is_held(call_at())).collect();
                    let before = list.len();
                    let mut flags = keep.into_iter();
                    list.retain(|_| flags.next().unwrap_or(false));
                    stripped |= list.len() != before;
                    if list.is_empty() && before > 0 {
                        delta.remove("tool_calls");
                    }
                }
                if delta.get("function_call").is_some_and(Value::is_object) && self.is_held(call_at()) {
                    delta.remove("function_call");
                    stripped = true;
                }
            }
            if stripped {
                changed = true;
                // Log probabilities of a stripped delta describe the call's tokens.
                if let Some(logprobs) = choice.get_mut("logprobs").filter(|l| !l.is_null()) {
                    *logprobs = Value::Null;
                }
            }
            let ends_otherwise = str_at(choice, "finish_reason").is_some_and(|r| r != "stop");
            if ends_otherwise && self.held_calls(index) && !self.delivered_calls(index) {
                if let Some(reason) = choice.get_mut("finish_reason") {
                    *reason = json!("stop");
                    changed = true;
                }
            }
            if stripped && is_empty_choice(choice) {
                emptied.push(pos);
            }
        }
        if !changed {
            return Stripped::Unchanged;
        }
        let mut pos = 0;
        choices.retain(|_| {
            let keep = !emptied.contains(&pos);
            pos = pos.saturating_add(1);
            keep
        });
        let has_usage = chunk.get("usage").is_some_and(|u| !u.is_null());
        if chunk.get("choices").and_then(Value::as_array).is_some_and(Vec::is_empty) && !has_usage {
            Stripped::Empty
        } else {
            Stripped::Changed
        }
    }

    /// The chunk carrying the refusal text in each refused choice.
    fn text_chunk(&self, message: &str, refused: &[u64]) -> Frame {
        let choices: Vec<Value> = refused
            .iter()
            .map(|&index| {
                let state = self.choices.iter().find(|c| c.index == index);
                let mut delta = Map::new();
                if !state.is_some_and(|c| c.role_sent) {
                    delta.insert("role".to_owned(), json!("assistant"));
                }
                let text =
                    if state.is_some_and(|c| c.text_sent) { format!("\n\n{message}") } else { message.to_owned() };
                delta.insert("content".to_owned(), Value::String(text));
                json!({"index": index, "delta": delta, "logprobs": null, "finish_reason": null})
            })
            .collect();
        self.chunk_frame(choices)
    }

    /// A finish chunk for a stream that ended without one.
    fn finish_chunk(&self) -> Frame {
        let mut indices: Vec<u64> = self.choices.iter().filter(|c| !c.finished).map(|c| c.index).collect();
        if self.choices.is_empty() {
            indices.push(0);
        }
        let choices: Vec<Value> = indices
            .into_iter()
            .map(|index| {
                let reason = if self.delivered_calls(index) { "tool_calls" } else { "stop" };
                json!({"index": index, "delta": {}, "logprobs": null, "finish_reason": reason})
            })
            .collect();
        self.chunk_frame(choices)
    }

    fn chunk_frame(&self, choices: Vec<Value>) -> Frame {
        let mut chunk = Map::new();
        chunk.insert("id".to_owned(), json!("chatcmpl-warden"));
        chunk.insert("object".to_owned(), json!("chat.completion.chunk"));
        chunk.insert("created".to_owned(), json!(0));
        chunk.insert("model".to_owned(), json!(self.response.model.clone().unwrap_or_default()));
        for (key, value) in &self.envelope {
            chunk.insert(key.clone(), value.clone());
        }
        chunk.insert("choices".to_owned(), Value::Array(choices));
        Frame::build(Framing::Sse, None, &to_bytes(&Value::Object(chunk)))
    }
}

enum Stripped {
    Unchanged,
    /// Nothing the client needs is left in the chunk.
    Empty,
    Changed,
}

fn choice_index(choice: &Value) -> u64 {
    choice.get("index").and_then(Value::as_u64).unwrap_or(0)
}

/// A choice with nothing left for the client: no delta content, no finish reason.
fn is_empty_choice(choice: &Value) -> bool {
    let delta_empty = choice.get("delta").and_then(Value::as_object).is_none_or(|d| d.values().all(Value::is_null));
    delta_empty && choice.get("finish_reason").is_none_or(Value::is_null)
}

fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
#[path = "refusal_tests.rs"]
mod tests;
