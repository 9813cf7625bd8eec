//! What a client made of a reply: the assistant text, the tool calls that reached it and the finish
//! reason, read from the raw bytes in every wire format, streaming and not, with every way the
//! reply breaks its provider's rules listed in `problems` (an SDK would choke on those, or quietly
//! read something else). Independent of the filter's own parsers on purpose.

use crate::cases::Case;
use crate::mock::bedrock;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    ChatJson,
    ChatSse,
    ResponsesJson,
    ResponsesSse,
    AnthropicJson,
    AnthropicSse,
    GeminiJson,
    GeminiSse,
    GeminiArray,
    BedrockJson,
    BedrockEvents,
    CohereJson,
    CohereSse,
}

impl Format {
    pub fn of(case: &Case) -> Format {
        match (case.api, case.stream) {
            ("chat_completions", false) => Format::ChatJson,
            ("chat_completions", true) => Format::ChatSse,
            ("responses", false) => Format::ResponsesJson,
            ("responses", true) => Format::ResponsesSse,
            ("messages", false) => Format::AnthropicJson,
            ("messages", true) => Format::AnthropicSse,
            ("generate_content", false) => Format::GeminiJson,
            ("generate_content", true) if case.client_path.contains("alt=sse") => Format::GeminiSse,
            ("generate_content", true) => Format::GeminiArray,
            ("converse", false) => Format::BedrockJson,
            ("converse", true) => Format::BedrockEvents,
            ("chat", false) => Format::CohereJson,
            _ => Format::CohereSse,
        }
    }
}

/// The finish reason a reply without tool calls carries (Responses: the response status).
pub fn stop_finish(api: &str) -> &'static str {
    match api {
        "chat_completions" => "stop",
        "responses" => "completed",
        "messages" | "converse" => "end_turn",
        "generate_content" => "STOP",
        _ => "COMPLETE",
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenCall {
    pub name: String,
    /// The argument text as delivered (concatenated deltas, or the JSON as sent).
    pub arguments: String,
}

#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Assistant text, every text block / delta in order.
    pub text: String,
    /// Cohere's `tool_plan` (what it says before calling tools).
    pub plan: String,
    /// Every tool call that reached the client, also ones a later event took back.
    pub calls: Vec<SeenCall>,
    pub finish: Option<String>,
    /// Text blocks by their index (Anthropic, Bedrock streams): `(index, text)` in order.
    pub text_blocks: Vec<(u64, String)>,
    pub problems: Vec<String>,
}

impl Seen {
    fn problem(&mut self, what: impl Into<String>) {
        self.problems.push(what.into());
    }

    /// Text and plan together: what the model "said", wherever the provider put it.
    pub fn said(&self) -> String {
        format!("{}{}", self.plan, self.text)
    }
}

pub fn read(format: Format, body: &[u8]) -> Seen {
    let mut seen = Seen::default();
    match format {
        Format::ChatJson => json_body(&mut seen, body, chat_json),
        Format::ChatSse => chat_sse(&mut seen, body),
        Format::ResponsesJson => json_body(&mut seen, body, responses_json),
        Format::ResponsesSse => responses_sse(&mut seen, body),
        Format::AnthropicJson => json_body(&mut seen, body, anthropic_json),
        Format::AnthropicSse => anthropic_sse(&mut seen, body),
        Format::GeminiJson => json_body(&mut seen, body, gemini_chunk),
        Format::GeminiSse => {
            for (_, data) in sse(&mut seen, body) {
                match serde_json::from_str::<Value>(&data) {
                    Ok(chunk) => gemini_chunk(&mut seen, &chunk),
                    Err(e) => seen.problem(format!("an SSE event is not JSON ({e}): {data}")),
                }
            }
        }
        Format::GeminiArray => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(chunks)) => chunks.iter().for_each(|c| gemini_chunk(&mut seen, c)),
            _ => seen.problem(format!("the JSON-array stream is not a JSON array: {}", String::from_utf8_lossy(body))),
        },
        Format::BedrockJson => json_body(&mut seen, body, bedrock_json),
        Format::BedrockEvents => bedrock_events(&mut seen, body),
        Format::CohereJson => json_body(&mut seen, body, cohere_json),
        Format::CohereSse => cohere_sse(&mut seen, body),
    }
    seen
}

fn s(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).map(str::to_string)
}

fn json_body(seen: &mut Seen, body: &[u8], read: fn(&mut Seen, &Value)) {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => read(seen, &v),
        Err(e) => seen.problem(format!("the body is not JSON ({e}): {}", String::from_utf8_lossy(body))),
    }
}

/// Arguments a JSON response carries as a JSON value (Anthropic `input`, Gemini `args`, Bedrock
/// `input`), as text.
fn value_text(v: Option<&Value>) -> String {
    v.map(Value::to_string).unwrap_or_default()
}

/// SSE events as (event name, data), each `data:` line joined by `\n`. A trailing event without
/// its blank line is a problem (a stream that stopped mid-event).
fn sse(seen: &mut Seen, body: &[u8]) -> Vec<(Option<String>, String)> {
    let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
    let mut events = Vec::new();
    let mut blocks: Vec<&str> = text.split("\n\n").collect();
    if let Some(last) = blocks.pop() {
        if !last.trim().is_empty() {
            seen.problem(format!("the stream ends inside an event: {last:?}"));
        }
    }
    for block in blocks.into_iter().filter(|b| !b.trim().is_empty()) {
        let mut name = None;
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        if !data.is_empty() {
            events.push((name, data.join("\n")));
        }
    }
    events
}

/// SSE events whose data is JSON, the event name checked against the data's `type` when both exist.
fn typed_sse(seen: &mut Seen, body: &[u8]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, data) in sse(seen, body) {
        if data == "[DONE]" {
            out.push(("[DONE]".to_string(), Value::Null));
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(&data) else {
            seen.problem(format!("an SSE event is not JSON: {data}"));
            continue;
        };
        let kind = s(&v, "/type").or(name.clone()).unwrap_or_default();
        if let (Some(name), Some(t)) = (&name, s(&v, "/type")) {
            if *name != t {
                seen.problem(format!("event name {name:?} but data type {t:?}"));
            }
        }
        out.push((kind, v));
    }
    out
}

fn chat_json(seen: &mut Seen, v: &Value) {
    let message = v.pointer("/choices/0/message").cloned().unwrap_or(Value::Null);
    seen.text = s(&message, "/content").unwrap_or_default();
    for call in message.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
        let name = s(call, "/function/name").or_else(|| s(call, "/custom/name")).unwrap_or_default();
        let arguments = s(call, "/function/arguments").or_else(|| s(call, "/custom/input")).unwrap_or_default();
        seen.calls.push(SeenCall { name, arguments });
    }
    if let Some(legacy) = message.get("function_call").filter(|f| !f.is_null()) {
        seen.calls.push(SeenCall {
            name: s(legacy, "/name").unwrap_or_default(),
            arguments: s(legacy, "/arguments").unwrap_or_default(),
        });
    }
    seen.finish = s(v, "/choices/0/finish_reason");
}

fn chat_sse(seen: &mut Seen, body: &[u8]) {
    let events = sse(seen, body);
    if events.last().map(|(_, d)| d.as_str()) != Some("[DONE]") {
        seen.problem("the stream does not end with data: [DONE]");
    }
    let mut by_index: Vec<(u64, SeenCall)> = Vec::new();
    for (_, data) in events.iter().filter(|(_, d)| d != "[DONE]") {
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            seen.problem(format!("a chunk is not JSON: {data}"));
            continue;
        };
        // The first choice is the answer; with `n > 1` other choices' chunks interleave with it.
        let first = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|choices| choices.iter().find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0));
        let Some(choice) = first else { continue };
        if seen.finish.is_some() {
            seen.problem(format!("a choice chunk after the finish_reason: {data}"));
        }
        if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str) {
            seen.text.push_str(text);
        }
        for delta in choice.pointer("/delta/tool_calls").and_then(Value::as_array).into_iter().flatten() {
            let index = delta.get("index").and_then(Value::as_u64).unwrap_or(0);
            let pos = match by_index.iter().position(|(i, _)| *i == index) {
                Some(p) => p,
                None => {
                    by_index.push((index, SeenCall::default()));
                    by_index.len() - 1
                }
            };
            if let Some((_, call)) = by_index.get_mut(pos) {
                call.name.push_str(&s(delta, "/function/name").unwrap_or_default());
                call.arguments.push_str(&s(delta, "/function/arguments").unwrap_or_default());
            }
        }
        if let Some(finish) = choice.get("finish_reason").and_then(Value::as_str) {
            seen.finish = Some(finish.to_string());
        }
    }
    seen.calls = by_index.into_iter().map(|(_, c)| c).collect();
}

fn responses_output(seen: &mut Seen, output: &[Value], text: &mut String) {
    for item in output {
        match s(item, "/type").as_deref() {
            Some("message") => {
                for part in item.get("content").and_then(Value::as_array).into_iter().flatten() {
                    text.push_str(&s(part, "/text").unwrap_or_default());
                }
            }
            Some("function_call") => seen.calls.push(SeenCall {
                name: s(item, "/name").unwrap_or_default(),
                arguments: s(item, "/arguments").unwrap_or_default(),
            }),
            Some("custom_tool_call") => seen.calls.push(SeenCall {
                name: s(item, "/name").unwrap_or_default(),
                arguments: s(item, "/input").unwrap_or_default(),
            }),
            _ => {}
        }
    }
}

fn responses_json(seen: &mut Seen, v: &Value) {
    let output = v.get("output").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut text = String::new();
    responses_output(seen, &output, &mut text);
    seen.text = text;
    seen.finish = s(v, "/status");
}

fn responses_sse(seen: &mut Seen, body: &[u8]) {
    let events = typed_sse(seen, body);
    let mut last_seq: Option<u64> = None;
    let mut final_text = None;
    for (kind, v) in &events {
        if let Some(seq) = v.get("sequence_number").and_then(Value::as_u64) {
            if last_seq.is_some_and(|last| seq <= last) {
                seen.problem(format!("sequence_number {seq} after {last_seq:?}"));
            }
            last_seq = Some(seq);
        }
        match kind.as_str() {
            "response.output_text.delta" => seen.text.push_str(&s(v, "/delta").unwrap_or_default()),
            "response.output_item.added" if s(v, "/item/type").as_deref() == Some("function_call") => {
                seen.calls.push(SeenCall { name: s(v, "/item/name").unwrap_or_default(), arguments: String::new() })
            }
            "response.function_call_arguments.delta" => {
                if let Some(call) = seen.calls.last_mut() {
                    call.arguments.push_str(&s(v, "/delta").unwrap_or_default());
                } else {
                    seen.problem("function_call_arguments.delta without a function_call item");
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                if seen.finish.is_some() {
                    seen.problem(format!("a second terminal event {kind}"));
                }
                seen.finish = s(v, "/response/status");
                let output = v.pointer("/response/output").and_then(Value::as_array).cloned().unwrap_or_default();
                let mut text = String::new();
                let mut final_calls = Seen::default();
                responses_output(&mut final_calls, &output, &mut text);
                // The SDK's final response is this object: a call in it reached the client too.
                for call in final_calls.calls {
                    if !seen.calls.iter().any(|c| c.name == call.name) {
                        seen.calls.push(call);
                    }
                }
                final_text = Some(text);
            }
            _ => {}
        }
    }
    if events.first().map(|(k, _)| k.as_str()) != Some("response.created") {
        seen.problem("the stream does not start with response.created");
    }
    match final_text {
        None => seen.problem("no response.completed event"),
        Some(text) if text != seen.text => {
            seen.problem(format!("response.completed says the text is {text:?}, the deltas said {:?}", seen.text))
        }
        Some(_) => {}
    }
    let terminal = ["response.completed", "response.incomplete", "response.failed"];
    if events.last().is_some_and(|(k, _)| !terminal.contains(&k.as_str())) {
        seen.problem("events after the terminal response event");
    }
}

fn anthropic_json(seen: &mut Seen, v: &Value) {
    for (i, block) in v.get("content").and_then(Value::as_array).into_iter().flatten().enumerate() {
        match s(block, "/type").as_deref() {
            Some("text") => {
                let text = s(block, "/text").unwrap_or_default();
                seen.text.push_str(&text);
                seen.text_blocks.push((i as u64, text));
            }
            Some("tool_use" | "server_tool_use") => seen.calls.push(SeenCall {
                name: s(block, "/name").unwrap_or_default(),
                arguments: value_text(block.get("input")),
            }),
            _ => {}
        }
    }
    seen.finish = s(v, "/stop_reason");
}

/// Checks Anthropic's block discipline: blocks open at the next free index, one at a time, deltas
/// match the open block's type, `message_delta` once, `message_stop` last.
fn anthropic_sse(seen: &mut Seen, body: &[u8]) {
    let events = typed_sse(seen, body);
    let mut next_index = 0u64;
    let mut open: Option<(u64, String)> = None;
    let mut deltas = 0;
    for (kind, v) in &events {
        match kind.as_str() {
            "content_block_start" => {
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX);
                let block_type = s(v, "/content_block/type").unwrap_or_default();
                if index != next_index {
                    seen.problem(format!("content_block_start at index {index}, the next free index is {next_index}"));
                }
                if let Some((i, _)) = &open {
                    seen.problem(format!("block {index} starts while block {i} is still open"));
                }
                next_index = index.saturating_add(1);
                if block_type == "tool_use" || block_type == "server_tool_use" {
                    let name = s(v, "/content_block/name").unwrap_or_default();
                    seen.calls.push(SeenCall { name, arguments: String::new() });
                }
                if block_type == "text" {
                    let text = s(v, "/content_block/text").unwrap_or_default();
                    seen.text.push_str(&text);
                    seen.text_blocks.push((index, text));
                }
                open = Some((index, block_type));
            }
            "content_block_delta" => {
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX);
                let Some((open_index, block_type)) = &open else {
                    seen.problem(format!("a delta for block {index}, no block is open"));
                    continue;
                };
                if index != *open_index {
                    seen.problem(format!("a delta for block {index} while block {open_index} is open"));
                }
                match (s(v, "/delta/type").as_deref(), block_type.as_str()) {
                    (Some("text_delta"), "text") => {
                        let text = s(v, "/delta/text").unwrap_or_default();
                        seen.text.push_str(&text);
                        if let Some((_, t)) = seen.text_blocks.last_mut() {
                            t.push_str(&text);
                        }
                    }
                    (Some("input_json_delta"), "tool_use" | "server_tool_use") => {
                        if let Some(call) = seen.calls.last_mut() {
                            call.arguments.push_str(&s(v, "/delta/partial_json").unwrap_or_default());
                        }
                    }
                    (Some("thinking_delta" | "signature_delta"), "thinking") => {}
                    (delta, block) => seen.problem(format!("a {delta:?} delta in a {block} block")),
                }
            }
            "content_block_stop" => {
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX);
                match &open {
                    Some((i, _)) if *i == index => open = None,
                    _ => seen.problem(format!("content_block_stop for block {index}, open is {open:?}")),
                }
            }
            "message_delta" => {
                deltas += 1;
                if let Some((i, _)) = &open {
                    seen.problem(format!("message_delta while block {i} is open"));
                }
                seen.finish = s(v, "/delta/stop_reason");
            }
            _ => {}
        }
    }
    if deltas != 1 {
        seen.problem(format!("{deltas} message_delta events, want 1"));
    }
    if events.first().map(|(k, _)| k.as_str()) != Some("message_start") {
        seen.problem("the stream does not start with message_start");
    }
    if events.last().map(|(k, _)| k.as_str()) != Some("message_stop") {
        seen.problem("the stream does not end with message_stop");
    }
}

fn gemini_chunk(seen: &mut Seen, chunk: &Value) {
    let Some(candidate) = chunk.pointer("/candidates/0") else { return };
    for part in candidate.pointer("/content/parts").and_then(Value::as_array).into_iter().flatten() {
        if let Some(text) = part.get("text").and_then(Value::as_str) {
            if part.get("thought").and_then(Value::as_bool) != Some(true) {
                seen.text.push_str(text);
            }
        }
        if let Some(call) = part.get("functionCall").or_else(|| part.get("function_call")) {
            seen.calls
                .push(SeenCall { name: s(call, "/name").unwrap_or_default(), arguments: value_text(call.get("args")) });
        }
    }
    if let Some(finish) = s(candidate, "/finishReason") {
        seen.finish = Some(finish);
    }
}

fn bedrock_json(seen: &mut Seen, v: &Value) {
    for (i, block) in v.pointer("/output/message/content").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if let Some(text) = block.get("text").and_then(Value::as_str) {
            seen.text.push_str(text);
            seen.text_blocks.push((i as u64, text.to_string()));
        }
        if let Some(tool) = block.get("toolUse") {
            seen.calls.push(SeenCall {
                name: s(tool, "/name").unwrap_or_default(),
                arguments: value_text(tool.get("input")),
            });
        }
    }
    seen.finish = s(v, "/stopReason");
}

/// Converse stream: CRC-valid messages only, `messageStart` first, block indexes never reused for
/// another kind, one `messageStop`, `metadata` last.
fn bedrock_events(seen: &mut Seen, body: &[u8]) {
    let (events, used) = bedrock::decode_counting(body);
    if used != body.len() {
        seen.problem(format!("{} trailing bytes are not a valid eventstream message", body.len() - used));
    }
    let mut tool_blocks: Vec<u64> = Vec::new();
    let mut stops = 0;
    for (kind, v) in &events {
        let index = v.get("contentBlockIndex").and_then(Value::as_u64).unwrap_or(u64::MAX);
        match kind.as_str() {
            "contentBlockStart" => {
                if let Some(tool) = v.pointer("/start/toolUse") {
                    tool_blocks.push(index);
                    seen.calls.push(SeenCall { name: s(tool, "/name").unwrap_or_default(), arguments: String::new() });
                }
            }
            "contentBlockDelta" => {
                if let Some(text) = v.pointer("/delta/text").and_then(Value::as_str) {
                    if tool_blocks.contains(&index) {
                        seen.problem(format!("a text delta in tool block {index}"));
                    }
                    seen.text.push_str(text);
                    match seen.text_blocks.last_mut() {
                        Some((i, t)) if *i == index => t.push_str(text),
                        _ => seen.text_blocks.push((index, text.to_string())),
                    }
                }
                if let Some(input) = v.pointer("/delta/toolUse/input").and_then(Value::as_str) {
                    if !tool_blocks.contains(&index) {
                        seen.problem(format!("tool input for block {index}, which did not start as a tool block"));
                    }
                    if let Some(call) = seen.calls.last_mut() {
                        call.arguments.push_str(input);
                    }
                }
            }
            "messageStop" => {
                stops += 1;
                seen.finish = s(v, "/stopReason");
            }
            "messageStart" | "contentBlockStop" | "metadata" => {}
            other => seen.problem(format!("an unexpected event {other:?}: {v}")),
        }
    }
    if stops != 1 {
        seen.problem(format!("{stops} messageStop events, want 1"));
    }
    if events.first().map(|(k, _)| k.as_str()) != Some("messageStart") {
        seen.problem("the stream does not start with messageStart");
    }
    if events.last().map(|(k, _)| k.as_str()) != Some("metadata") {
        seen.problem("the stream does not end with metadata");
    }
}

fn cohere_json(seen: &mut Seen, v: &Value) {
    for part in v.pointer("/message/content").and_then(Value::as_array).into_iter().flatten() {
        seen.text.push_str(&s(part, "/text").unwrap_or_default());
    }
    seen.plan = s(v, "/message/tool_plan").unwrap_or_default();
    for call in v.pointer("/message/tool_calls").and_then(Value::as_array).into_iter().flatten() {
        seen.calls.push(SeenCall {
            name: s(call, "/function/name").unwrap_or_default(),
            arguments: s(call, "/function/arguments").unwrap_or_default(),
        });
    }
    seen.finish = s(v, "/finish_reason");
}

fn cohere_sse(seen: &mut Seen, body: &[u8]) {
    let mut events = typed_sse(seen, body);
    if events.last().is_some_and(|(k, _)| k == "[DONE]") {
        events.pop();
    }
    let mut ends = 0;
    for (kind, v) in &events {
        match kind.as_str() {
            "content-start" | "content-delta" => {
                seen.text.push_str(&s(v, "/delta/message/content/text").unwrap_or_default());
            }
            "tool-plan-delta" => seen.plan.push_str(&s(v, "/delta/message/tool_plan").unwrap_or_default()),
            "tool-call-start" => seen.calls.push(SeenCall {
                name: s(v, "/delta/message/tool_calls/function/name").unwrap_or_default(),
                arguments: s(v, "/delta/message/tool_calls/function/arguments").unwrap_or_default(),
            }),
            "tool-call-delta" => {
                if let Some(call) = seen.calls.last_mut() {
                    call.arguments.push_str(&s(v, "/delta/message/tool_calls/function/arguments").unwrap_or_default());
                }
            }
            "message-end" => {
                ends += 1;
                seen.finish = s(v, "/delta/finish_reason");
            }
            _ => {}
        }
    }
    if ends != 1 {
        seen.problem(format!("{ends} message-end events, want exactly 1"));
    }
    if events.first().map(|(k, _)| k.as_str()) != Some("message-start") {
        seen.problem("the stream does not start with message-start");
    }
    if events.last().map(|(k, _)| k.as_str()) != Some("message-end") {
        seen.problem("the stream does not end with message-end");
    }
}

#[cfg(test)]
#[path = "seen_tests.rs"]
mod tests;
