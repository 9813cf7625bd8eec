//! A permissive client: every tool call that reply bytes could hand to an agent, read the way the
//! official SDKs read them (and a little more leniently), judged by the adversary test policy on
//! the client's own reading of the arguments.
//!
//! Permissive means: every choice and candidate; name pieces concatenated as the SDKs accumulate
//! them; arguments parsed with `jiter` (`NaN`/`Infinity`, partial input completed, last duplicate
//! key wins, lone surrogates taken); a pending SSE event dispatched at the end of the body; a body
//! read both as the request's format and as the one its content type names; gzip undone.

use super::client_read;
use super::lenient;
use super::wire;
use super::Format;
use serde_json::Value;

/// One call as the client would run it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientCall {
    pub name: String,
    pub args: ClientArgs,
    /// Where the client found it (for failure messages).
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientArgs {
    /// Argument text (OpenAI, Cohere, streamed Anthropic / Bedrock input).
    Text(String),
    /// Arguments already a JSON value in the frame (Anthropic, Gemini, Bedrock whole messages).
    Value(Value),
}

impl ClientCall {
    pub fn text(name: impl Into<String>, args: impl Into<String>, origin: impl Into<String>) -> ClientCall {
        ClientCall { name: name.into(), args: ClientArgs::Text(args.into()), origin: origin.into() }
    }

    pub fn value(name: impl Into<String>, args: Value, origin: impl Into<String>) -> ClientCall {
        ClientCall { name: name.into(), args: ClientArgs::Value(args), origin: origin.into() }
    }

    /// The arguments as the client parses them; `None` when even a lenient parser cannot.
    pub fn parsed(&self) -> Option<Value> {
        match &self.args {
            ClientArgs::Text(t) if t.trim().is_empty() => Some(Value::Object(Default::default())),
            ClientArgs::Text(t) => lenient::parse_partial(t.as_bytes()),
            ClientArgs::Value(v) => Some(v.clone()),
        }
    }

    pub fn describe(&self) -> String {
        let args = match &self.args {
            ClientArgs::Text(t) => t.chars().take(120).collect::<String>(),
            ClientArgs::Value(v) => v.to_string().chars().take(120).collect(),
        };
        format!("{:?}({args}) from {}", self.name, self.origin)
    }
}

/// The tool name each Responses built-in client call goes by.
pub const BUILTINS: [(&str, &str); 4] = [
    ("computer_call", "computer_use_preview"),
    ("local_shell_call", "local_shell"),
    ("shell_call", "shell"),
    ("apply_patch_call", "apply_patch"),
];

/// The adversary profile (`tests/adversary-config.json`) as a client-side judge: `read_file` of a
/// path under `/etc/` and the four built-ins are forbidden, every other declared tool is allowed,
/// a tool the request did not declare is forbidden when it declared any, a call without a name is
/// forbidden (nobody can say what it runs).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub declared: Vec<String>,
}

impl Policy {
    pub fn declaring(tools: &[&str]) -> Policy {
        Policy { declared: tools.iter().map(|t| t.to_string()).collect() }
    }

    /// Why the client's reading of `call` breaks the policy, if it does.
    pub fn forbidden(&self, call: &ClientCall) -> Option<String> {
        if call.name.is_empty() {
            return Some("a call without a name".into());
        }
        if !self.declared.is_empty() && !self.declared.contains(&call.name) {
            return Some(format!("{} was not declared", call.name));
        }
        if BUILTINS.iter().any(|(_, name)| *name == call.name) {
            return Some(format!("{} is blocked always", call.name));
        }
        if call.name == "read_file" && call.parsed().is_some_and(|v| violates(&v)) {
            return Some("read_file of a path under /etc/".into());
        }
        None
    }
}

/// Whether arguments, read as permissively as a client might, name a path under `/etc/`: the
/// `path` member of an object, a bare string (a client that passes it as the only parameter),
/// JSON text inside a string (a client that decodes it again), any element of an array.
pub fn violates(v: &Value) -> bool {
    match v {
        Value::Object(obj) => obj.get("path").is_some_and(|p| match p {
            Value::String(s) => s.starts_with("/etc/"),
            other => violates(other),
        }),
        Value::String(s) => {
            s.starts_with("/etc/")
                || lenient::parse(s.as_bytes()).is_some_and(|inner| !inner.is_string() && violates(&inner))
        }
        Value::Array(items) => items.iter().any(violates),
        _ => false,
    }
}

/// The API family's format for a content type, when it names a layout.
fn format_for_content_type(format: Format, content_type: &str) -> Vec<Format> {
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let sse = media == "text/event-stream";
    let json = media == "application/json" || media.ends_with("+json");
    let events = media == "application/vnd.amazon.eventstream";
    use Format::*;
    match format {
        ChatJson | ChatSse if sse => vec![ChatSse],
        ChatJson | ChatSse if json => vec![ChatJson],
        ResponsesJson | ResponsesSse if sse => vec![ResponsesSse],
        ResponsesJson | ResponsesSse if json => vec![ResponsesJson],
        AnthropicJson | AnthropicSse if sse => vec![AnthropicSse],
        AnthropicJson | AnthropicSse if json => vec![AnthropicJson],
        GeminiJson | GeminiSse | GeminiArray if sse => vec![GeminiSse],
        GeminiJson | GeminiSse | GeminiArray if json => vec![GeminiJson, GeminiArray],
        BedrockJson | BedrockEvents if events => vec![BedrockEvents],
        BedrockJson | BedrockEvents if json => vec![BedrockJson],
        CohereJson | CohereSse if sse => vec![CohereSse],
        CohereJson | CohereSse if json => vec![CohereJson],
        _ => Vec::new(),
    }
}

/// Every call a client of `format` could take from this reply. An error status gives none (the
/// SDKs raise).
pub fn read(format: Format, status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<ClientCall> {
    if !(200..300).contains(&status) {
        return Vec::new();
    }
    let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let gzipped = header("content-encoding").is_some_and(|e| e.to_ascii_lowercase().contains("gzip"));
    let plain = if gzipped { wire::gunzip(body).unwrap_or_else(|| body.to_vec()) } else { body.to_vec() };
    let mut formats = vec![format];
    for f in format_for_content_type(format, header("content-type").unwrap_or_default()) {
        if !formats.contains(&f) {
            formats.push(f);
        }
    }
    let mut calls = Vec::new();
    for f in formats {
        for call in client_read::calls(f, &plain) {
            // The same call found by several readings is one call.
            let parsed = call.parsed();
            if !calls.iter().any(|c: &ClientCall| c.name == call.name && c.parsed() == parsed) {
                calls.push(call);
            }
        }
    }
    calls
}

/// The calls of a reply that the policy forbids, with why.
pub fn forbidden(policy: &Policy, calls: &[ClientCall]) -> Vec<String> {
    calls.iter().filter_map(|c| policy.forbidden(c).map(|why| format!("{} — {why}", c.describe()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_path_under_etc_is_found_however_the_arguments_are_shaped() {
        assert!(violates(&json!({"path": "/etc/passwd"})));
        assert!(violates(&json!("/etc/passwd")));
        assert!(violates(&json!("{\"path\":\"/etc/passwd\"}")));
        assert!(violates(&json!(["/home", {"path": "/etc/shadow"}])));
        assert!(!violates(&json!({"path": "/home/me/etc/x"})));
        assert!(!violates(&json!({"city": "/etc/"})));
    }

    #[test]
    fn the_policy_forbids_unnamed_undeclared_and_builtin_calls() {
        let policy = Policy::declaring(&["read_file", "get_weather", "shell"]);
        assert!(policy.forbidden(&ClientCall::text("", "{}", "t")).is_some());
        assert!(policy.forbidden(&ClientCall::text("delete_repo", "{}", "t")).is_some());
        assert!(policy.forbidden(&ClientCall::text("shell", "{}", "t")).is_some());
        assert!(policy.forbidden(&ClientCall::text("read_file", r#"{"path":"/etc/x","n":NaN}"#, "t")).is_some());
        assert!(policy.forbidden(&ClientCall::text("read_file", r#"{"path":"/etc/pas"#, "t")).is_some());
        assert!(policy.forbidden(&ClientCall::text("read_file", r#"{"path":"/home"}"#, "t")).is_none());
        assert!(policy.forbidden(&ClientCall::text("get_weather", r#"{"city":"Paris"}"#, "t")).is_none());
    }
}
