//! The permissive client's readers, one per wire format: what each SDK (or a lenient agent loop
//! accumulating events by hand) would end up holding as tool calls.

use super::client::{ClientCall, BUILTINS};
use super::lenient;
use super::Format;
use serde_json::Value;

pub fn calls(format: Format, body: &[u8]) -> Vec<ClientCall> {
    match format {
        Format::ChatJson => whole(body, chat_json),
        Format::ChatSse => chat_sse(body),
        Format::ResponsesJson => whole(body, |v| responses_items(v.get("output"), "output")),
        Format::ResponsesSse => responses_sse(body),
        Format::AnthropicJson => whole(body, |v| anthropic_blocks(v.get("content"), "content")),
        Format::AnthropicSse => anthropic_sse(body),
        Format::GeminiJson => whole(body, |v| gemini_chunk(v, "body")),
        Format::GeminiSse => gemini_sse(body),
        Format::GeminiArray => gemini_array(body),
        Format::BedrockJson => whole(body, bedrock_json),
        Format::BedrockEvents => bedrock_events(body),
        Format::CohereJson => whole(body, cohere_json),
        Format::CohereSse => cohere_sse(body),
    }
}

fn whole(body: &[u8], read: impl Fn(&Value) -> Vec<ClientCall>) -> Vec<ClientCall> {
    lenient::parse(body).map(|v| read(&v)).unwrap_or_default()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn array(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// Argument text: a string as is, an object (some servers send one) as its JSON.
fn args_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// SSE events as (name, data), by the WHATWG rules; a pending event is dispatched at the end of
/// the body too (google-genai does; a lenient client may).
pub fn sse_events(body: &[u8]) -> Vec<(Option<String>, String)> {
    let text = String::from_utf8_lossy(body);
    let mut events = Vec::new();
    let (mut name, mut data): (Option<String>, Option<String>) = (None, None);
    let lines = text.split("\r\n").flat_map(|l| l.split(['\n', '\r']));
    for line in lines.chain(std::iter::once("")) {
        if line.is_empty() {
            if let Some(d) = data.take() {
                events.push((name.take(), d));
            }
            name = None;
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => name = Some(value.to_string()).filter(|n| !n.is_empty()),
            "data" => match data.as_mut() {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_string()),
            },
            _ => {}
        }
    }
    events
}

fn chat_json(v: &Value) -> Vec<ClientCall> {
    let mut out = Vec::new();
    for (i, choice) in array(v.get("choices")).iter().enumerate() {
        let origin = format!("choices[{i}]");
        let Some(message) = choice.get("message") else { continue };
        for call in array(message.get("tool_calls")) {
            if let Some(custom) = call.get("custom").filter(|_| call.get("function").is_none()) {
                let name = str_at(custom, "/name").unwrap_or_default();
                out.push(ClientCall::text(name, args_text(custom.get("input")), &origin));
            } else if let Some(function) = call.get("function") {
                let name = str_at(function, "/name").unwrap_or_default();
                out.push(ClientCall::text(name, args_text(function.get("arguments")), &origin));
            }
        }
        if let Some(legacy) = message.get("function_call").filter(|f| f.is_object()) {
            let name = str_at(legacy, "/name").unwrap_or_default();
            out.push(ClientCall::text(name, args_text(legacy.get("arguments")), format!("{origin} function_call")));
        }
    }
    out
}

/// Accumulates streamed calls by key, concatenating name and argument pieces as the SDKs do.
#[derive(Default)]
struct Accumulator {
    calls: Vec<(String, String, String, String)>,
}

impl Accumulator {
    fn at(&mut self, key: String, origin: &str) -> &mut (String, String, String, String) {
        let pos = match self.calls.iter().position(|(k, ..)| *k == key) {
            Some(p) => p,
            None => {
                self.calls.push((key, String::new(), String::new(), origin.to_string()));
                self.calls.len() - 1
            }
        };
        &mut self.calls[pos]
    }

    fn last_key(&self) -> Option<String> {
        self.calls.last().map(|(k, ..)| k.clone())
    }

    fn finish(self) -> Vec<ClientCall> {
        self.calls.into_iter().map(|(_, name, args, origin)| ClientCall::text(name, args, origin)).collect()
    }
}

fn chat_sse(body: &[u8]) -> Vec<ClientCall> {
    let mut acc = Accumulator::default();
    for (_, data) in sse_events(body) {
        if data.starts_with("[DONE]") {
            break;
        }
        let Some(chunk) = lenient::parse(data.as_bytes()) else { continue };
        // A truthy `error` makes the SDK raise: the stream ends for the caller.
        if chunk.get("error").is_some_and(|e| !e.is_null() && e != &Value::Bool(false)) {
            break;
        }
        for choice in array(chunk.get("choices")) {
            let ci = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            let Some(delta) = choice.get("delta") else { continue };
            for tc in array(delta.get("tool_calls")) {
                let key = match (tc.get("index").and_then(Value::as_u64), str_at(tc, "/id")) {
                    (Some(i), _) => format!("{ci}/{i}"),
                    (None, Some(id)) => format!("{ci}/id/{id}"),
                    (None, None) => acc.last_key().unwrap_or_else(|| format!("{ci}/0")),
                };
                let body = tc.get("function").or_else(|| tc.get("custom")).unwrap_or(&Value::Null);
                let entry = acc.at(key, &format!("choices[{ci}] stream"));
                entry.1.push_str(str_at(body, "/name").unwrap_or_default());
                let piece = body.get("arguments").or_else(|| body.get("input"));
                entry.2.push_str(&args_text(piece));
            }
            if let Some(legacy) = delta.get("function_call").filter(|f| f.is_object()) {
                let entry = acc.at(format!("{ci}/legacy"), &format!("choices[{ci}] function_call stream"));
                entry.1.push_str(str_at(legacy, "/name").unwrap_or_default());
                entry.2.push_str(&args_text(legacy.get("arguments")));
            }
        }
    }
    acc.finish()
}

fn responses_item(item: &Value, origin: &str) -> Option<ClientCall> {
    let kind = str_at(item, "/type")?;
    let name = str_at(item, "/name").unwrap_or_default();
    match kind {
        "function_call" => Some(ClientCall::text(name, args_text(item.get("arguments")), origin)),
        "custom_tool_call" => Some(ClientCall::text(name, args_text(item.get("input")), origin)),
        _ => {
            let (_, builtin) = BUILTINS.iter().find(|(k, _)| *k == kind)?;
            let action = item.get("action").or_else(|| item.get("operation")).cloned().unwrap_or(Value::Null);
            Some(ClientCall::value(*builtin, action, origin))
        }
    }
}

fn responses_items(output: Option<&Value>, origin: &str) -> Vec<ClientCall> {
    array(output).iter().filter_map(|item| responses_item(item, origin)).collect()
}

/// The SDK's stream state (items by `output_index`, argument deltas appended), plus every item an
/// `output_item.done` or a lifecycle / terminal event lists.
fn responses_sse(body: &[u8]) -> Vec<ClientCall> {
    let mut items: Vec<(u64, Value)> = Vec::new();
    let mut out = Vec::new();
    for (name, data) in sse_events(body) {
        let Some(event) = lenient::parse(data.as_bytes()) else { continue };
        let kind = str_at(&event, "/type").map(str::to_string).or(name).unwrap_or_default();
        let index = event.get("output_index").and_then(Value::as_u64);
        let slot = |items: &mut Vec<(u64, Value)>, index: u64| -> usize {
            match items.iter().position(|(i, _)| *i == index) {
                Some(p) => p,
                None => {
                    items.push((index, Value::Null));
                    items.len() - 1
                }
            }
        };
        match kind.as_str() {
            "response.output_item.added" | "response.output_item.done" => {
                let item = event.get("item").cloned().unwrap_or(Value::Null);
                if kind.ends_with("done") {
                    out.extend(responses_item(&item, "output_item.done"));
                }
                let next = items.len() as u64;
                let at = slot(&mut items, index.unwrap_or(next));
                items[at].1 = item;
            }
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                let key = if kind.contains("function") { "arguments" } else { "input" };
                let at = slot(&mut items, index.unwrap_or(0));
                let item = &mut items[at].1;
                if let Some(obj) = item.as_object_mut() {
                    let mut text = args_text(obj.get(key));
                    text.push_str(str_at(&event, "/delta").unwrap_or_default());
                    obj.insert(key.to_string(), Value::String(text));
                }
            }
            k if k.starts_with("response.") && event.get("response").is_some() => {
                out.extend(responses_items(event.pointer("/response/output"), k));
            }
            _ => {}
        }
    }
    out.extend(items.iter().filter_map(|(_, item)| responses_item(item, "stream state")));
    out
}

fn anthropic_blocks(content: Option<&Value>, origin: &str) -> Vec<ClientCall> {
    array(content)
        .iter()
        .filter(|b| str_at(b, "/type") == Some("tool_use"))
        .map(|b| {
            let input = b.get("input").cloned().unwrap_or(Value::Null);
            ClientCall::value(str_at(b, "/name").unwrap_or_default(), input, origin)
        })
        .collect()
}

/// The Anthropic SDK's accumulator: events without a name (or `ping`) skipped, `error` ends the
/// stream, the rest dispatched by the data's `type`; blocks appended in arrival order and
/// addressed by position; tool input is the partial-JSON reading of the deltas so far.
fn anthropic_sse(body: &[u8]) -> Vec<ClientCall> {
    let mut blocks: Vec<(Value, Option<String>)> = Vec::new();
    for (name, data) in sse_events(body) {
        match name.as_deref() {
            None | Some("ping") => continue,
            Some("error") => break,
            _ => {}
        }
        let Some(event) = lenient::parse(data.as_bytes()) else { continue };
        match str_at(&event, "/type") {
            Some("message_start") => {
                blocks = array(event.pointer("/message/content")).iter().map(|b| (b.clone(), None)).collect();
            }
            Some("content_block_start") => {
                blocks.push((event.get("content_block").cloned().unwrap_or(Value::Null), None));
            }
            Some("content_block_delta") => {
                let position = event.get("index").and_then(Value::as_u64).and_then(|i| usize::try_from(i).ok());
                let Some((block, buf)) = position.and_then(|p| blocks.get_mut(p)) else { continue };
                if str_at(&event, "/delta/type") == Some("input_json_delta")
                    && str_at(block, "/type") == Some("tool_use")
                {
                    buf.get_or_insert_with(String::new)
                        .push_str(str_at(&event, "/delta/partial_json").unwrap_or_default());
                }
            }
            _ => {}
        }
    }
    blocks
        .into_iter()
        .filter(|(b, _)| str_at(b, "/type") == Some("tool_use"))
        .map(|(b, buf)| {
            let name = str_at(&b, "/name").unwrap_or_default().to_string();
            match buf.filter(|t| !t.is_empty()) {
                Some(text) => ClientCall::text(name, text, "stream"),
                None => ClientCall::value(name, b.get("input").cloned().unwrap_or(Value::Null), "stream"),
            }
        })
        .collect()
}

fn gemini_chunk(chunk: &Value, origin: &str) -> Vec<ClientCall> {
    let mut out = Vec::new();
    for (i, candidate) in array(chunk.get("candidates")).iter().enumerate() {
        for part in array(candidate.pointer("/content/parts")) {
            if let Some(call) = part.get("functionCall").or_else(|| part.get("function_call")) {
                let args = call.get("args").cloned().unwrap_or(Value::Null);
                let args = if args.is_null() { Value::Object(Default::default()) } else { args };
                out.push(ClientCall::value(
                    str_at(call, "/name").unwrap_or_default(),
                    args,
                    format!("{origin} candidate {i}"),
                ));
            }
        }
    }
    out
}

/// google-genai's reader: `data: ` lines joined until a blank line; any other line is raw JSON,
/// buffered until its braces balance; what is pending at the end is yielded too.
fn genai_chunks(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let mut out = Vec::new();
    let (mut data, mut raw): (Vec<&str>, String) = (Vec::new(), String::new());
    let mut depth = 0i64;
    let (mut in_string, mut escaped) = (false, false);
    for line in text.split("\r\n").flat_map(|l| l.split(['\n', '\r'])) {
        if line.is_empty() {
            if !data.is_empty() {
                out.push(data.join("\n"));
                data.clear();
            }
            continue;
        }
        if let Some(d) = line.strip_prefix("data: ") {
            data.push(d);
            continue;
        }
        for c in line.chars() {
            match (in_string, escaped, c) {
                (true, true, _) => escaped = false,
                (true, false, '\\') => escaped = true,
                (true, false, '"') => in_string = false,
                (false, _, '"') => in_string = true,
                (false, _, '{') => depth += 1,
                (false, _, '}') => depth -= 1,
                _ => {}
            }
        }
        raw.push_str(line);
        if depth == 0 {
            out.push(std::mem::take(&mut raw));
            (in_string, escaped) = (false, false);
        }
    }
    if !raw.is_empty() {
        out.push(raw);
    }
    if !data.is_empty() {
        out.push(data.join("\n"));
    }
    out
}

fn gemini_sse(body: &[u8]) -> Vec<ClientCall> {
    let mut out = Vec::new();
    for (_, data) in sse_events(body) {
        out.extend(lenient::parse(data.as_bytes()).map(|c| gemini_chunk(&c, "sse event")).unwrap_or_default());
    }
    for chunk in genai_chunks(body) {
        out.extend(lenient::parse(chunk.as_bytes()).map(|c| gemini_chunk(&c, "google-genai line")).unwrap_or_default());
    }
    out
}

fn gemini_array(body: &[u8]) -> Vec<ClientCall> {
    let parsed = lenient::parse(body).or_else(|| lenient::parse_partial(body));
    let elements: Vec<Value> = match parsed {
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    elements.iter().flat_map(|c| gemini_chunk(c, "array element")).collect()
}

fn bedrock_json(v: &Value) -> Vec<ClientCall> {
    array(v.pointer("/output/message/content"))
        .iter()
        .filter_map(|b| b.get("toolUse"))
        .map(|tu| {
            let input = tu.get("input").cloned().unwrap_or(Value::Null);
            ClientCall::value(str_at(tu, "/name").unwrap_or_default(), input, "output.message.content")
        })
        .collect()
}

/// Converse stream events (CRC-valid messages with no repeated header, as botocore reads them;
/// the stream ends at the first other one). Deltas go to the block their index names; a delta for a block that never
/// started goes to the latest call, as the AWS examples accumulate. Both readings are kept.
fn bedrock_events(body: &[u8]) -> Vec<ClientCall> {
    let events = crate::mock::bedrock::decode_lenient(body, lenient::parse);
    let mut by_index = Accumulator::default();
    let mut latest = Accumulator::default();
    let mut started = 0usize;
    for (kind, event) in &events {
        let index = event.get("contentBlockIndex").and_then(Value::as_u64).unwrap_or(0);
        match kind.as_str() {
            "contentBlockStart" => {
                if let Some(tu) = event.pointer("/start/toolUse") {
                    let name = str_at(tu, "/name").unwrap_or_default();
                    by_index.at(format!("{index}"), "block start").1.push_str(name);
                    started += 1;
                    latest.at(format!("{started}"), "latest call").1.push_str(name);
                }
            }
            "contentBlockDelta" => {
                if let Some(piece) = event.pointer("/delta/toolUse/input").and_then(Value::as_str) {
                    let key = format!("{index}");
                    let known = by_index.calls.iter().any(|(k, ..)| *k == key);
                    let key = if known { key } else { by_index.last_key().unwrap_or(key) };
                    by_index.at(key, "orphan delta").2.push_str(piece);
                    latest.at(format!("{}", started.max(1)), "latest call").2.push_str(piece);
                }
            }
            _ => {}
        }
    }
    let mut out = by_index.finish();
    out.extend(latest.finish());
    out
}

fn cohere_json(v: &Value) -> Vec<ClientCall> {
    array(v.pointer("/message/tool_calls"))
        .iter()
        .map(|c| {
            ClientCall::text(
                str_at(c, "/function/name").unwrap_or_default(),
                args_text(c.pointer("/function/arguments")),
                "message.tool_calls",
            )
        })
        .collect()
}

/// The Cohere SDK dispatches on the data's `type` (the event name is ignored); deltas are
/// accumulated by index, and also onto the latest call as Cohere's examples do.
fn cohere_sse(body: &[u8]) -> Vec<ClientCall> {
    let mut by_index = Accumulator::default();
    let mut latest = Accumulator::default();
    let mut started = 0usize;
    for (_, data) in sse_events(body) {
        if data == "[DONE]" {
            break;
        }
        let Some(event) = lenient::parse(data.as_bytes()) else { continue };
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        let calls = event.pointer("/delta/message/tool_calls");
        match str_at(&event, "/type") {
            Some("tool-call-start") => {
                let list: Vec<&Value> = match calls {
                    Some(Value::Array(items)) => items.iter().collect(),
                    Some(one) => vec![one],
                    None => Vec::new(),
                };
                for call in list {
                    let name = str_at(call, "/function/name").unwrap_or_default();
                    let args = args_text(call.pointer("/function/arguments"));
                    let entry = by_index.at(format!("{index}"), "tool-call-start");
                    entry.1.push_str(name);
                    entry.2.push_str(&args);
                    started += 1;
                    let entry = latest.at(format!("{started}"), "latest call");
                    entry.1.push_str(name);
                    entry.2.push_str(&args);
                }
            }
            Some("tool-call-delta") => {
                let piece = args_text(calls.and_then(|c| c.pointer("/function/arguments")));
                let key = format!("{index}");
                let key = if by_index.calls.iter().any(|(k, ..)| *k == key) {
                    key
                } else {
                    by_index.last_key().unwrap_or(key)
                };
                by_index.at(key, "tool-call-delta").2.push_str(&piece);
                latest.at(format!("{}", started.max(1)), "latest call").2.push_str(&piece);
            }
            _ => {}
        }
    }
    let mut out = by_index.finish();
    out.extend(latest.finish());
    out
}
