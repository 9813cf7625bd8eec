//! Shared by the cost-control test files (TOON, model optimisation, cost limits): one request
//! builder per native API, so every check runs over every provider in its own wire shape.
//! A module of the e2e binary (`tests/e2e/main.rs`); files use it with `use crate::cost;`.
#![allow(dead_code)]

use super::common::Shape;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use warden_e2e::client::{self, Reply};
use warden_e2e::Stack;

/// The native APIs the cost controls apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    OpenAiChat,
    Responses,
    Anthropic,
    Gemini,
    Bedrock,
    Cohere,
    /// The OpenAI-compatible family (groq stands for it).
    Compatible,
}

/// One API: the provider it belongs to, a priced model and a cheaper one for optimisation rules.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    pub kind: Kind,
    /// The provider segment of the route and the `provider` of rules and records.
    pub provider: &'static str,
    pub model: &'static str,
    pub cheaper: &'static str,
    pub shape: Shape,
}

pub const APIS: [Api; 7] = [
    Api { kind: Kind::OpenAiChat, provider: "openai", model: "gpt-4o", cheaper: "gpt-4o-mini", shape: Shape::OpenAi },
    Api { kind: Kind::Responses, provider: "openai", model: "gpt-4o", cheaper: "gpt-4o-mini", shape: Shape::OpenAi },
    Api {
        kind: Kind::Anthropic,
        provider: "anthropic",
        model: "claude-sonnet-4-5",
        cheaper: "claude-haiku-4-5",
        shape: Shape::Anthropic,
    },
    Api {
        kind: Kind::Gemini,
        provider: "gemini",
        model: "gemini-2.5-pro",
        cheaper: "gemini-2.5-flash",
        shape: Shape::Gemini,
    },
    Api {
        kind: Kind::Bedrock,
        provider: "bedrock",
        model: "anthropic.claude-3-haiku-20240307-v1:0",
        cheaper: "amazon.nova-micro-v1:0",
        shape: Shape::Bedrock,
    },
    Api {
        kind: Kind::Cohere,
        provider: "cohere",
        model: "command-a-03-2025",
        cheaper: "command-r7b-12-2024",
        shape: Shape::Cohere,
    },
    Api {
        kind: Kind::Compatible,
        provider: "groq",
        model: "llama-3.3-70b-versatile",
        cheaper: "llama-3.1-8b-instant",
        shape: Shape::OpenAi,
    },
];

/// What goes into a request besides the user's text.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Declare the `list_files` tool.
    pub tools: bool,
    /// A `list_files` call and its result (JSON) in the history, in the API's own shape.
    pub tool_result: Option<Value>,
    pub stream: bool,
}

/// The tool result the TOON checks use: five uniform objects, which TOON turns into a table.
pub fn files_result() -> Value {
    let files: Vec<Value> = [
        ("README.md", 2048, "file"),
        ("src", 4096, "dir"),
        ("Cargo.toml", 812, "file"),
        ("target", 4096, "dir"),
        ("LICENSE", 11357, "file"),
    ]
    .iter()
    .map(|(name, size, kind)| json!({"name": name, "size": size, "type": kind}))
    .collect();
    json!({ "files": files })
}

/// What the TOON form of [`files_result`] starts with.
pub const FILES_TOON_HEADER: &str = "files[5]{name,size,type}";

const TOOL: &str = "list_files";

fn params() -> Value {
    json!({"type": "object", "properties": {"path": {"type": "string"}}})
}

impl Api {
    pub fn label(&self) -> String {
        format!("{}/{:?}", self.provider, self.kind)
    }

    /// Bedrock ids go into the path encoded as boto3 sends them (`:` as `%3A`).
    fn path_model(model: &str) -> String {
        model.replace(':', "%3A")
    }

    /// The client's path under `profile`.
    pub fn client_path(&self, profile: &str, model: &str, stream: bool) -> String {
        let p = self.provider;
        match self.kind {
            Kind::OpenAiChat | Kind::Compatible => format!("/v1/{p}/{profile}/chat/completions"),
            Kind::Responses => format!("/v1/{p}/{profile}/responses"),
            Kind::Anthropic => format!("/v1/{p}/{profile}/v1/messages"),
            Kind::Gemini if stream => format!("/v1/{p}/{profile}/v1beta/models/{model}:streamGenerateContent?alt=sse"),
            Kind::Gemini => format!("/v1/{p}/{profile}/v1beta/models/{model}:generateContent"),
            Kind::Bedrock => {
                let action = if stream { "converse-stream" } else { "converse" };
                format!("/v1/{p}/{profile}/model/{}/{action}", Self::path_model(model))
            }
            Kind::Cohere => format!("/v1/{p}/{profile}/v2/chat"),
        }
    }

    /// Where the upstream must see the model: `Some(path)` for APIs that keep it in the URL.
    pub fn upstream_path(&self, model: &str, stream: bool) -> Option<String> {
        match self.kind {
            Kind::Gemini if stream => Some(format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")),
            Kind::Gemini => Some(format!("/v1beta/models/{model}:generateContent")),
            Kind::Bedrock => {
                let action = if stream { "converse-stream" } else { "converse" };
                Some(format!("/model/{}/{action}", Self::path_model(model)))
            }
            _ => None,
        }
    }

    /// The model the upstream was asked for: from the path or the body.
    pub fn upstream_model(&self, upstream: &Value) -> Option<String> {
        let path = upstream.get("path").and_then(Value::as_str).unwrap_or_default();
        match self.kind {
            Kind::Gemini => {
                let rest = path.strip_prefix("/v1beta/models/")?;
                Some(rest.split(':').next()?.to_string())
            }
            Kind::Bedrock => {
                let rest = path.strip_prefix("/model/")?;
                Some(rest.split('/').next()?.replace("%3A", ":").replace("%3a", ":"))
            }
            _ => upstream_body(upstream).get("model").and_then(Value::as_str).map(str::to_string),
        }
    }

    pub fn auth(&self) -> Vec<(&'static str, &'static str)> {
        match self.kind {
            Kind::OpenAiChat | Kind::Responses => vec![("authorization", "Bearer sk-openai-test")],
            Kind::Compatible => vec![("authorization", "Bearer gsk-test")],
            Kind::Anthropic => vec![("x-api-key", "sk-ant-test"), ("anthropic-version", "2023-06-01")],
            Kind::Gemini => vec![("x-goog-api-key", "AIza-test-key")],
            Kind::Bedrock => vec![("authorization", "Bearer bedrock-api-key-test")],
            Kind::Cohere => vec![("authorization", "Bearer cohere-test-key")],
        }
    }

    /// The request body in the API's own shape.
    pub fn body(&self, model: &str, text: &str, x: &Extras) -> Value {
        let result_text = x.tool_result.as_ref().map(Value::to_string);
        let mut body = match self.kind {
            Kind::OpenAiChat | Kind::Compatible | Kind::Cohere => {
                let mut messages = vec![json!({"role": "user", "content": text})];
                if let Some(result) = &result_text {
                    let mut call = json!({"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": TOOL, "arguments": "{\"path\":\".\"}"}}]});
                    if self.kind == Kind::Cohere {
                        call["tool_plan"] = json!("List the files.");
                    } else {
                        call["content"] = Value::Null;
                    }
                    messages.push(call);
                    messages.push(json!({"role": "tool", "tool_call_id": "call_1", "content": result}));
                }
                let mut body = json!({"model": model, "messages": messages});
                if x.tools {
                    body["tools"] = json!([{"type": "function", "function": {"name": TOOL,
                        "description": "List the files in a directory", "parameters": params()}}]);
                }
                body
            }
            Kind::Responses => {
                let mut input = vec![json!({"role": "user", "content": text})];
                if let Some(result) = &result_text {
                    input.push(json!({"type": "function_call", "call_id": "call_1", "name": TOOL,
                        "arguments": "{\"path\":\".\"}"}));
                    input.push(json!({"type": "function_call_output", "call_id": "call_1", "output": result}));
                }
                let mut body = json!({"model": model, "input": input});
                if x.tools {
                    body["tools"] = json!([{"type": "function", "name": TOOL,
                        "description": "List the files in a directory", "parameters": params()}]);
                }
                body
            }
            Kind::Anthropic => {
                let mut messages = vec![json!({"role": "user", "content": text})];
                if let Some(result) = &result_text {
                    messages.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
                        "name": TOOL, "input": {"path": "."}}]}));
                    messages.push(json!({"role": "user", "content": [{"type": "tool_result",
                        "tool_use_id": "toolu_1", "content": result}]}));
                }
                let mut body = json!({"model": model, "max_tokens": 256, "messages": messages});
                if x.tools {
                    body["tools"] = json!([{"name": TOOL, "description": "List the files in a directory",
                        "input_schema": params()}]);
                }
                body
            }
            Kind::Gemini => {
                let mut contents = vec![json!({"role": "user", "parts": [{"text": text}]})];
                if let Some(result) = &x.tool_result {
                    contents.push(json!({"role": "model", "parts": [{"functionCall": {"name": TOOL,
                        "args": {"path": "."}}}]}));
                    contents.push(json!({"role": "user", "parts": [{"functionResponse": {"name": TOOL,
                        "response": result}}]}));
                }
                let mut body = json!({"contents": contents});
                if x.tools {
                    body["tools"] = json!([{"functionDeclarations": [{"name": TOOL,
                        "description": "List the files in a directory", "parameters": params()}]}]);
                }
                body
            }
            Kind::Bedrock => {
                let mut messages = vec![json!({"role": "user", "content": [{"text": text}]})];
                if let Some(result) = &x.tool_result {
                    messages.push(json!({"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_1",
                        "name": TOOL, "input": {"path": "."}}}]}));
                    messages.push(json!({"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1",
                        "content": [{"json": result}]}}]}));
                }
                let mut body = json!({"messages": messages, "inferenceConfig": {"maxTokens": 256}});
                if x.tools {
                    body["toolConfig"] = json!({"tools": [{"toolSpec": {"name": TOOL,
                        "description": "List the files in a directory", "inputSchema": {"json": params()}}}]});
                }
                body
            }
        };
        let streams_in_body = !matches!(self.kind, Kind::Gemini | Kind::Bedrock);
        if x.stream && streams_in_body {
            body["stream"] = json!(true);
        }
        body
    }
}

/// One request through the gateway and what the upstream saw of it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub label: String,
    pub request_id: String,
    pub reply: Reply,
    /// `None` when the request never reached the mock.
    pub upstream: Option<Value>,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

pub fn next_request_id() -> String {
    format!("cost-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed))
}

/// Sends `body` for `api` under `profile` (extra headers after the API's auth).
pub fn send(
    stack: &Stack,
    api: &Api,
    profile: &str,
    model: &str,
    body: &Value,
    stream: bool,
    extra: &[(&str, &str)],
) -> Sent {
    let request_id = next_request_id();
    let mut headers = api.auth();
    headers.push(("content-type", "application/json"));
    headers.push(("x-request-id", &request_id));
    headers.extend_from_slice(extra);
    let path = api.client_path(profile, model, stream);
    let label = format!("{} {path}", api.label());
    let reply = client::send("POST", &stack.url(&path), &headers, body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let upstream = upstream_of(stack, &request_id);
    Sent { label, request_id, reply, upstream }
}

/// A plain request: `text` as the user's message, the API's baseline model.
pub fn send_text(stack: &Stack, api: &Api, profile: &str, text: &str, stream: bool, extra: &[(&str, &str)]) -> Sent {
    let body = api.body(api.model, text, &Extras { stream, ..Extras::default() });
    send(stack, api, profile, api.model, &body, stream, extra)
}

/// The request the mock received with this `x-request-id` (Envoy forwards it unchanged).
pub fn upstream_of(stack: &Stack, request_id: &str) -> Option<Value> {
    stack
        .mock_requests()
        .into_iter()
        .find(|r| r.pointer("/headers/x-request-id").and_then(Value::as_str) == Some(request_id))
}

pub fn upstream_body(upstream: &Value) -> Value {
    upstream.get("body").and_then(Value::as_str).and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null)
}

/// The interaction record of a request, waiting briefly for the access log flush.
pub fn record(stack: &Stack, request_id: &str) -> Value {
    warden_e2e::run::log_line(stack, request_id).and_then(|l| l.get("warden").cloned()).unwrap_or(Value::Null)
}

/// Sum of a metric over every label set matching `labels`.
pub fn metric(stack: &Stack, name: &str, labels: &[(&str, &str)]) -> f64 {
    warden_e2e::prom::sum(&warden_e2e::prom::parse(&stack.prometheus()), name, labels)
}
