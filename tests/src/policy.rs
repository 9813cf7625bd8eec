//! Tool-invocation and trusted-data policies end to end (DESIGN §5.1, §5.2): the plugin config the
//! policy tests run under, requests that declare tools and carry tool results in each provider's
//! own shape, and the checks on what the client and the upstream saw.
//!
//! Profiles (`tests/policy-config.json`, shared with the SDK suite):
//! - `secure`: `read_file` under `/etc/` is `block_always` ("system files are off limits"),
//!   `get_weather` is allowed even in untrusted context, every other tool is blocked once the
//!   context is untrusted; `web_fetch` results are trusted only from `https://intranet.example/`.
//! - `trusting`: every `web_fetch` result is trusted.
//! - `strict`: `read_secrets` results are `block_always` (the upstream sees a notice instead).

use crate::cases::{self, Case};
use crate::run::{Failures, Outcome};
use crate::seen::{self, Format, Seen};
use crate::stack::Stack;
use serde_json::{json, Value};

pub const CONFIG: &str = include_str!("../policy-config.json");

pub fn plugin_config() -> Value {
    serde_json::from_str(CONFIG).unwrap_or_else(|e| panic!("tests/policy-config.json: {e}"))
}

pub const SYSTEM_FILES_REASON: &str = "system files are off limits";
/// Every tool the policy requests declare unless a test says otherwise.
pub const TOOLS: [&str; 5] = ["read_file", "get_weather", "send_email", "web_fetch", "read_secrets"];

/// `x-mock-tool-calls` for these calls.
pub fn calls_header(calls: &[(&str, Value)]) -> String {
    Value::Array(calls.iter().map(|(name, arguments)| json!({"name": name, "arguments": arguments})).collect())
        .to_string()
}

/// Every native API streaming and not, plus one OpenAI-compatible provider, under `profile`.
pub fn api_cases(profile: &'static str) -> Vec<Case> {
    let mut out = Vec::new();
    for stream in [false, true] {
        out.push(cases::openai_chat("openai", "/v1", "gpt-4o-mini", stream));
        out.push(cases::openai_responses(stream));
        out.push(cases::anthropic(stream));
        out.push(cases::bedrock(stream));
        out.push(cases::cohere(stream, false));
        out.push(cases::openai_chat("groq", "/openai/v1", "llama-3.3-70b-versatile", stream));
    }
    out.push(cases::gemini(None));
    out.push(cases::gemini(Some(true)));
    out.push(cases::gemini(Some(false)));
    out.into_iter().map(|c| with_tools(c.in_profile(profile), &TOOLS)).collect()
}

fn schema(api: &str) -> Value {
    if api == "generate_content" {
        json!({"type": "OBJECT", "properties": {"path": {"type": "STRING"}}})
    } else {
        json!({"type": "object", "properties": {"path": {"type": "string"}}})
    }
}

/// The case with exactly `tools` declared, in its API's shape.
pub fn with_tools(mut case: Case, tools: &[&str]) -> Case {
    let api = case.api;
    let Some(body) = case.body.as_mut().and_then(Value::as_object_mut) else { return case };
    let decl = |name: &&str| -> Value {
        let description = format!("The {name} tool");
        match api {
            "chat_completions" | "chat" => json!({"type": "function",
                "function": {"name": name, "description": description, "parameters": schema(api)}}),
            "responses" => json!({"type": "function", "name": name, "description": description,
                "parameters": schema(api)}),
            "messages" => json!({"name": name, "description": description, "input_schema": schema(api)}),
            "converse" => json!({"toolSpec": {"name": name, "description": description,
                "inputSchema": {"json": schema(api)}}}),
            _ => json!({"name": name, "description": description, "parameters": schema(api)}),
        }
    };
    let list: Vec<Value> = tools.iter().map(decl).collect();
    match api {
        "generate_content" => body.insert("tools".into(), json!([{"functionDeclarations": list}])),
        "converse" => body.insert("toolConfig".into(), json!({"tools": list})),
        _ => body.insert("tools".into(), Value::Array(list)),
    };
    case
}

/// An earlier turn: the model called `tool` with `arguments` and the client sent back `result`.
#[derive(Debug, Clone)]
pub struct History {
    pub tool: &'static str,
    pub arguments: Value,
    pub result: String,
}

impl History {
    /// A `web_fetch` of `url` whose page says `body` (the result is JSON, so result policies can
    /// address `url`).
    pub fn web_fetch(url: &str, body: &str) -> History {
        History {
            tool: "web_fetch",
            arguments: json!({"url": url}),
            result: json!({"url": url, "body": body}).to_string(),
        }
    }
}

const CALL_ID: &str = "call_hist_1";

/// The case with `history` appended to its conversation, in the provider's own shape.
pub fn with_history(mut case: Case, history: &History) -> Case {
    let api = case.api;
    let Some(body) = case.body.as_mut().and_then(Value::as_object_mut) else { return case };
    let (tool, args, result) = (history.tool, &history.arguments, history.result.as_str());
    let turns: Vec<Value> = match api {
        "chat_completions" => vec![
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": CALL_ID, "type": "function",
                "function": {"name": tool, "arguments": args.to_string()}}]}),
            json!({"role": "tool", "tool_call_id": CALL_ID, "content": result}),
        ],
        "responses" => {
            let first = match body.remove("input") {
                Some(Value::String(text)) => vec![json!({"role": "user", "content": text})],
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let mut input = first;
            input.push(json!({"type": "function_call", "call_id": CALL_ID, "name": tool,
                "arguments": args.to_string()}));
            input.push(json!({"type": "function_call_output", "call_id": CALL_ID, "output": result}));
            body.insert("input".into(), Value::Array(input));
            return case;
        }
        "messages" => vec![
            json!({"role": "assistant", "content": [{"type": "tool_use", "id": CALL_ID, "name": tool, "input": args}]}),
            json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": CALL_ID, "content": result}]}),
        ],
        "generate_content" => vec![
            json!({"role": "model", "parts": [{"functionCall": {"name": tool, "args": args}}]}),
            json!({"role": "user", "parts": [{"functionResponse": {"name": tool, "response": {"output": result}}}]}),
        ],
        "converse" => vec![
            json!({"role": "assistant", "content": [{"toolUse": {"toolUseId": CALL_ID, "name": tool, "input": args}}]}),
            json!({"role": "user", "content": [{"toolResult": {"toolUseId": CALL_ID, "content": [{"text": result}]}}]}),
        ],
        _ => vec![
            json!({"role": "assistant", "tool_plan": format!("I will call {tool}."), "tool_calls": [{"id": CALL_ID,
                "type": "function", "function": {"name": tool, "arguments": args.to_string()}}]}),
            json!({"role": "tool", "tool_call_id": CALL_ID, "content": result}),
        ],
    };
    let key = if api == "generate_content" { "contents" } else { "messages" };
    if let Some(Value::Array(list)) = body.get_mut(key) {
        list.extend(turns);
    }
    case
}

/// The text of the (last) tool result in a request body as the upstream received it: where a
/// result policy's replacement must land.
pub fn tool_result_text(api: &str, body: &Value) -> Option<String> {
    let text_of = |v: &Value| -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect(),
            Value::Object(obj) if obj.len() == 1 && obj.get("output").is_some_and(Value::is_string) => {
                obj.get("output").and_then(Value::as_str).unwrap_or_default().to_string()
            }
            other => other.to_string(),
        }
    };
    let last = |list: &Value, test: &dyn Fn(&Value) -> Option<Value>| -> Option<Value> {
        list.as_array()?.iter().rev().find_map(test)
    };
    let found = match api {
        "chat_completions" | "chat" => last(body.get("messages")?, &|m| {
            (m.get("role").and_then(Value::as_str) == Some("tool")).then(|| m.get("content").cloned()).flatten()
        }),
        "responses" => last(body.get("input")?, &|i| {
            (i.get("type").and_then(Value::as_str) == Some("function_call_output"))
                .then(|| i.get("output").cloned())
                .flatten()
        }),
        "messages" => last(body.get("messages")?, &|m| {
            m.get("content")?.as_array()?.iter().find_map(|b| {
                (b.get("type").and_then(Value::as_str) == Some("tool_result")).then(|| b.get("content").cloned())?
            })
        }),
        "generate_content" => last(body.get("contents")?, &|c| {
            c.get("parts")?.as_array()?.iter().find_map(|p| p.pointer("/functionResponse/response").cloned())
        }),
        "converse" => last(body.get("messages")?, &|m| {
            m.get("content")?.as_array()?.iter().find_map(|b| b.pointer("/toolResult/content").cloned())
        }),
        _ => None,
    };
    found.map(|v| text_of(&v))
}

/// The upstream's request body as JSON.
pub fn upstream_body(o: &Outcome) -> Value {
    o.upstream
        .as_ref()
        .and_then(|u| u.get("body").and_then(Value::as_str))
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null)
}

/// What a blocked response must look like to the client.
#[derive(Debug, Clone, Default)]
pub struct Refusal {
    /// The tools the refusal must name (and the record must list).
    pub tools: Vec<&'static str>,
    /// Text the refusal must quote: arguments, the reason.
    pub mentions: Vec<String>,
    /// The assistant text that came before the calls, which a stream must keep (it went out
    /// before the calls did). A non-streaming refusal replaces the message, so it is not checked.
    pub kept_text: Option<String>,
    /// Other tools of the same response, blocked with the batch: `x-warden-blocked` may list them.
    pub batch: Vec<&'static str>,
}

/// `listed` (deduplicated) holds every tool of `required` and nothing outside `required + optional`.
fn lists(listed: &[String], required: &[&str], optional: &[&str]) -> bool {
    required.iter().all(|t| listed.iter().any(|l| l == t))
        && listed.iter().all(|l| required.contains(&l.as_str()) || optional.contains(&l.as_str()))
}

/// Raw call structures of `tool` as the mock writes them (compact and Gemini's pretty JSON).
fn call_structures(tool: &str) -> [String; 2] {
    [format!("\"name\":\"{tool}\""), format!("\"name\": \"{tool}\"")]
}

/// The client got a normal assistant message instead of the calls: no call structure of the
/// blocked tools in the bytes, no tool call at all, a stop-style finish, text naming tool,
/// arguments and reason, a valid stream, `x-warden-blocked` on non-streaming replies.
pub fn check_refusal(f: &mut Failures, o: &Outcome, want: &Refusal) -> Seen {
    let label = &o.label;
    f.check(o.reply.status == 200, || format!("{label}: status {} (body {})", o.reply.status, o.reply.text()));
    let seen = seen::read(Format::of(&o.case), &o.reply.body);
    f.check(seen.problems.is_empty(), || format!("{label}: invalid reply: {:?}\n{}", seen.problems, o.reply.text()));
    f.check(seen.calls.is_empty(), || format!("{label}: tool calls reached the client: {:?}", seen.calls));
    let raw = o.reply.text();
    for tool in &want.tools {
        for structure in call_structures(tool) {
            f.check(!raw.contains(&structure), || format!("{label}: the client bytes contain {structure}"));
        }
    }
    let said = seen.said();
    for needle in want.tools.iter().map(|t| t.to_string()).chain(want.mentions.iter().cloned()) {
        f.check(said.contains(&needle), || format!("{label}: the refusal does not mention {needle:?}: {said:?}"));
    }
    if let Some(kept) = want.kept_text.as_ref().filter(|_| o.case.stream) {
        f.check(said.starts_with(kept.as_str()), || {
            format!("{label}: the text before the calls was not kept: {said:?}")
        });
    }
    let stop = seen::stop_finish(o.case.api);
    f.check(seen.finish.as_deref() == Some(stop), || {
        format!("{label}: finish reason {:?}, want {stop:?}", seen.finish)
    });
    if !o.case.stream {
        let header = o.reply.header("x-warden-blocked").unwrap_or_default();
        let listed: Vec<String> =
            header.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        f.check(lists(&listed, &want.tools, &want.batch), || {
            format!("{label}: x-warden-blocked {header:?}, want {} (may add {:?})", want.tools.join(","), want.batch)
        });
    }
    seen
}

/// The interaction record's policy fields.
#[derive(Debug, Clone, Default)]
pub struct PolicyRecord {
    pub context_trusted: bool,
    /// Text `untrusted_reason` must contain (only checked for an untrusted context).
    pub untrusted_mentions: Option<&'static str>,
    pub blocked_tools: Vec<&'static str>,
    /// Text `block_reason` must contain (when something was blocked).
    pub block_mentions: Option<String>,
    /// Tools blocked only with their batch, which `blocked_tools` may list too.
    pub batch: Vec<&'static str>,
}

pub fn check_policy_record(f: &mut Failures, stack: &Stack, o: &Outcome, want: &PolicyRecord) -> Value {
    let label = &o.label;
    let Some(line) = crate::run::log_line(stack, &o.request_id) else {
        f.0.push(format!("{label}: no access-log line"));
        return Value::Null;
    };
    let record = line.get("warden").cloned().unwrap_or(Value::Null);
    f.check(record.get("context_trusted") == Some(&Value::Bool(want.context_trusted)), || {
        format!("{label}: record context_trusted = {:?}, want {}", record.get("context_trusted"), want.context_trusted)
    });
    let reason = record.get("untrusted_reason").and_then(Value::as_str).unwrap_or_default();
    if want.context_trusted {
        f.check(reason.is_empty(), || format!("{label}: trusted context with untrusted_reason {reason:?}"));
    } else {
        let needle = want.untrusted_mentions.unwrap_or_default();
        f.check(!reason.is_empty() && reason.contains(needle), || {
            format!("{label}: record untrusted_reason = {reason:?}, want one mentioning {needle:?}")
        });
    }
    let blocked: Vec<String> = record
        .get("blocked_tools")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    // Absent or null is fine for "nothing blocked"; when something was, it is a JSON array.
    let shape_ok = want.blocked_tools.is_empty()
        && record.get("blocked_tools").is_none_or(|b| b.is_null() || b.as_array().is_some_and(Vec::is_empty))
        || record.get("blocked_tools").is_some_and(Value::is_array);
    f.check(shape_ok && lists(&blocked, &want.blocked_tools, &want.batch), || {
        format!(
            "{label}: record blocked_tools = {:?}, want {:?} (may add {:?})",
            record.get("blocked_tools"),
            want.blocked_tools,
            want.batch
        )
    });
    let block_reason = record.get("block_reason").and_then(Value::as_str).unwrap_or_default();
    match &want.block_mentions {
        Some(needle) => f.check(block_reason.contains(needle.as_str()), || {
            format!("{label}: record block_reason = {block_reason:?}, want one mentioning {needle:?}")
        }),
        None if want.blocked_tools.is_empty() => {
            f.check(block_reason.is_empty(), || format!("{label}: nothing blocked but block_reason {block_reason:?}"))
        }
        None => f.check(!block_reason.is_empty(), || format!("{label}: blocked, but no block_reason")),
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_config_names_every_profile_the_tests_use() {
        let config = plugin_config();
        for profile in ["default", "secure", "trusting", "strict"] {
            assert!(config.pointer(&format!("/profiles/{profile}")).is_some(), "{profile}");
        }
    }

    #[test]
    fn the_history_result_is_found_where_each_api_puts_it() {
        let history = History::web_fetch("https://evil.example/", "hello");
        for case in api_cases("secure") {
            let case = with_history(case, &history);
            let body = case.body.clone().unwrap_or_default();
            assert_eq!(tool_result_text(case.api, &body).as_deref(), Some(history.result.as_str()), "{}", case.name);
        }
    }
}
