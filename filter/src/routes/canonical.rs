//! Paths as an upstream may read them, for the routes the gateway would otherwise forward unread.
//!
//! Servers decode what clients encode: `chat%2Fcompletions`, `%63hat/completions`,
//! `chat/./completions`, `chat\completions`, `Chat/Completions` or `chat/completions;v=1` can all
//! reach the chat endpoint of some upstream. The gateway classifies the path as sent; when that
//! finds no API, it classifies the canonical form too, and a canonical form that is an API the
//! gateway polices is refused (the client can send the plain path). Endpoints that carry tool calls
//! the gateway does not police are refused as well, or checked for tools first (`Gate`).

use super::percent_decode;
use crate::config::Config;
use crate::error::WardenError;
use crate::providers::Provider;
use crate::view::Api;

/// What an unread route must pass before it is forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Refused: the endpoint carries tool calls (or stored model output) the gateway cannot police.
    Refuse(&'static str),
    /// Refused when the request declares tools (the body is read first): without tools the model
    /// cannot call any, so the answer needs no policing.
    RefuseIfTools(&'static str),
}

/// Request body keys that declare tools, across the APIs gated with `RefuseIfTools`.
pub const TOOL_KEYS: [&str; 6] = ["tools", "toolConfig", "tool_config", "tool_choice", "functions", "tool_resources"];

/// The part of `full_path` after `/v1/` and before the query.
pub fn rest(full_path: &str) -> Option<&str> {
    let path = full_path.split('?').next().unwrap_or(full_path);
    path.strip_prefix("/v1/")
}

/// `/v1/{provider}/{segments}` with the segments decoded (repeatedly, so double encoding hides
/// nothing), `\` read as `/`, `;parameters` dropped, `.` and `..` resolved, empty segments dropped
/// and letters lower-cased; a leading profile segment keeps its configured spelling.
pub fn path(config: &Config, provider: Provider, rest: &str) -> String {
    let mut decoded = rest.to_owned();
    for _ in 0..3 {
        let next = percent_decode(&decoded);
        if next == decoded {
            break;
        }
        decoded = next;
    }
    let decoded = decoded.replace('\\', "/");
    let mut segments: Vec<String> = Vec::new();
    for raw in decoded.split('/').skip(1) {
        let segment = raw.split(';').next().unwrap_or_default().trim();
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s.to_ascii_lowercase()),
        }
    }
    if let Some(first) = segments.first_mut() {
        if let Some(profile) = config.profiles.keys().find(|p| p.eq_ignore_ascii_case(first)) {
            *first = profile.clone();
        }
    }
    format!("/v1/{}/{}", provider.name(), segments.join("/"))
}

/// The refusal of a path that encodes a policed API.
pub fn encoded(method: &str, path: &str, api: Api) -> WardenError {
    WardenError::InvalidRequest {
        message: format!(
            "{method} {path} is an encoded form of the {} API, which the Warden gateway checks against its \
             policies; send the plain path (for example without percent-encoding, '.' segments, ';' \
             parameters or capital letters)",
            api.as_str()
        ),
    }
}

const ASSISTANTS: &str = "the Assistants API's runs carry tool calls the Warden gateway does not check against its \
                          policies; use chat completions or Responses through the gateway";
const REALTIME: &str = "realtime sessions carry tool calls the Warden gateway does not check against its policies";
const STORED: &str = "stored model output fetched by id may hold tool calls the Warden gateway refused when they \
                      were made; read the answer from the original request instead";
const BATCH: &str = "batch results carry tool calls the Warden gateway does not check against its policies; send \
                     the requests one by one through the gateway";
const INVOKE: &str = "InvokeModel with tools returns tool calls in the model vendor's own format, which the Warden \
                      gateway does not check against its policies; use the Converse API for tool use";
const COHERE_V1: &str = "Cohere's v1 chat API with tools is not checked by the Warden gateway; use the v2 chat API \
                         (/v2/chat) for tool use";

/// The gate for an unread route, from its canonical path.
pub fn gate(config: &Config, provider: Provider, method: &str, canonical: &str) -> Option<Gate> {
    let segments: Vec<&str> = canonical.split('/').skip(3).filter(|s| !s.is_empty()).collect();
    let get = method.eq_ignore_ascii_case("GET");
    let post = method.eq_ignore_ascii_case("POST");
    let api: &[&str] = match segments.split_first() {
        Some((first, rest)) if config.profiles.contains_key(*first) => rest,
        _ => &segments,
    };
    match provider {
        Provider::Anthropic => match api {
            ["v1", "messages", "batches", ..] => Some(Gate::Refuse(BATCH)),
            _ => None,
        },
        Provider::Gemini => {
            let last = api.last().copied().unwrap_or_default();
            if last.ends_with(":batchgeneratecontent") || api.contains(&"batches") {
                Some(Gate::Refuse(BATCH))
            } else if api.iter().any(|s| s.contains("bidigeneratecontent")) {
                Some(Gate::Refuse(REALTIME))
            } else {
                None
            }
        }
        Provider::Bedrock => match api {
            ["model", _, "invoke" | "invoke-with-response-stream"] | ["async-invoke", ..] if post => {
                Some(Gate::RefuseIfTools(INVOKE))
            }
            _ => None,
        },
        Provider::Cohere => match api {
            ["v1", "chat"] if post => Some(Gate::RefuseIfTools(COHERE_V1)),
            _ => None,
        },
        _ => openai_gate(strip_openai_prefix(api), get, post),
    }
}

/// The API path of the OpenAI wire family without its version or Azure deployment prefix.
fn strip_openai_prefix<'a, 'b>(mut api: &'a [&'b str]) -> &'a [&'b str] {
    if let ["openai", rest @ ..] = api {
        api = rest;
    }
    if let ["deployments", _, rest @ ..] = api {
        api = rest;
    }
    if let ["v1", rest @ ..] = api {
        api = rest;
    }
    api
}

fn openai_gate(api: &[&str], get: bool, post: bool) -> Option<Gate> {
    match api {
        ["threads", rest @ ..] if rest.contains(&"runs") => Some(Gate::Refuse(ASSISTANTS)),
        ["threads", "runs", ..] => Some(Gate::Refuse(ASSISTANTS)),
        ["realtime", ..] => Some(Gate::Refuse(REALTIME)),
        ["responses", _, ..] if get => Some(Gate::Refuse(STORED)),
        ["chat", "completions", ..] if get => Some(Gate::Refuse(STORED)),
        ["conversations", _, "items", ..] if get => Some(Gate::Refuse(STORED)),
        ["batches"] if post => Some(Gate::Refuse(BATCH)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_json(br#"{"profiles":{"default":{},"Team-A":{}}}"#).unwrap()
    }

    #[test]
    fn encodings_an_upstream_may_decode_are_undone() {
        let c = config();
        for (sent, canonical) in [
            ("openai/chat%2Fcompletions", "/v1/openai/chat/completions"),
            ("openai/%63hat/completions", "/v1/openai/chat/completions"),
            ("openai/chat%252Fcompletions", "/v1/openai/chat/completions"),
            ("openai/chat/./completions", "/v1/openai/chat/completions"),
            ("openai/chat/x/../completions", "/v1/openai/chat/completions"),
            ("openai/chat\\completions", "/v1/openai/chat/completions"),
            ("openai/Chat/Completions", "/v1/openai/chat/completions"),
            ("openai/chat/completions;v=1", "/v1/openai/chat/completions"),
            ("openai/team-a/chat/completions", "/v1/openai/Team-A/chat/completions"),
            (
                "gemini/v1beta/models/gemini-2.5-flash%3AgenerateContent",
                "/v1/gemini/v1beta/models/gemini-2.5-flash:generatecontent",
            ),
        ] {
            let provider = Provider::from_name(sent.split('/').next().unwrap()).unwrap();
            assert_eq!(path(&c, provider, sent), canonical, "{sent}");
        }
    }

    #[test]
    fn endpoints_with_unpoliced_tool_calls_are_gated() {
        let c = config();
        let gate_of = |p: Provider, m: &str, path: &str| gate(&c, p, m, path);
        assert!(matches!(gate_of(Provider::OpenAi, "POST", "/v1/openai/threads/t1/runs"), Some(Gate::Refuse(_))));
        assert!(matches!(gate_of(Provider::OpenAi, "GET", "/v1/openai/responses/resp_1"), Some(Gate::Refuse(_))));
        assert!(matches!(gate_of(Provider::OpenAi, "GET", "/v1/openai/v1/chat/completions/c1"), Some(Gate::Refuse(_))));
        assert_eq!(gate_of(Provider::OpenAi, "DELETE", "/v1/openai/responses/resp_1"), None);
        assert!(matches!(
            gate_of(Provider::Azure, "GET", "/v1/azure/openai/v1/responses/resp_1"),
            Some(Gate::Refuse(_))
        ));
        assert!(matches!(
            gate_of(Provider::Anthropic, "POST", "/v1/anthropic/v1/messages/batches"),
            Some(Gate::Refuse(_))
        ));
        assert!(matches!(
            gate_of(Provider::Bedrock, "POST", "/v1/bedrock/model/anthropic.claude-3-haiku:0/invoke"),
            Some(Gate::RefuseIfTools(_))
        ));
        assert!(matches!(gate_of(Provider::Cohere, "POST", "/v1/cohere/v1/chat"), Some(Gate::RefuseIfTools(_))));
        assert!(matches!(gate_of(Provider::OpenAi, "POST", "/v1/openai/Team-A/batches"), Some(Gate::Refuse(_))));
        assert_eq!(gate_of(Provider::OpenAi, "GET", "/v1/openai/files"), None);
        assert_eq!(gate_of(Provider::Anthropic, "POST", "/v1/anthropic/v1/messages/count_tokens"), None);
    }
}
