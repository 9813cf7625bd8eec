//! The route table the filter must honour (DESIGN §4.1), as test cases: what the client sends,
//! where the upstream must see it, and what the interaction record must say.

use crate::mock::scenario::{CACHED, CACHE_WRITE, INPUT, OUTPUT};
use serde_json::{json, Value};

/// Token counts the record must carry for a case (the mock's usage, normalised).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

/// Providers whose input count includes the cache (so the record's input is `INPUT - CACHED`).
const INCLUDES_CACHE: Usage = Usage { input: INPUT - CACHED, output: OUTPUT, cache_read: CACHED, cache_write: 0 };
/// Anthropic and Bedrock report input without the cache and also report cache writes.
const EXCLUDES_CACHE: Usage = Usage { input: INPUT, output: OUTPUT, cache_read: CACHED, cache_write: CACHE_WRITE };

#[derive(Debug, Clone)]
pub struct Case {
    /// Unique, readable: `openai/chat_completions/stream`.
    pub name: String,
    pub provider: &'static str,
    /// The record's `api`.
    pub api: &'static str,
    pub profile: &'static str,
    pub method: &'static str,
    pub client_path: String,
    pub upstream_path: String,
    /// Headers the client sends (auth first; it must reach the upstream unchanged).
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    pub stream: bool,
    /// The record's `model`.
    pub model: String,
    pub usage: Option<Usage>,
    /// OpenAI-family stream: the filter must force `stream_options.include_usage` upstream.
    pub forces_usage: bool,
    /// The client itself asked for `stream_options.include_usage`.
    pub client_asked_usage: bool,
    /// The model is in every price table (cost must be > 0).
    pub priced: bool,
}

impl Case {
    pub fn auth(&self) -> (&str, &str) {
        self.headers.first().map(|(k, v)| (k.as_str(), v.as_str())).unwrap_or(("", ""))
    }

    pub fn body_bytes(&self) -> Vec<u8> {
        self.body.as_ref().map(|b| b.to_string().into_bytes()).unwrap_or_default()
    }

    /// The same case with the client asking for the usage chunk itself.
    pub fn asking_usage(mut self) -> Case {
        if let Some(obj) = self.body.as_mut().and_then(Value::as_object_mut) {
            obj.insert("stream_options".into(), json!({"include_usage": true}));
        }
        self.client_asked_usage = true;
        self.name.push_str("+usage");
        self
    }

    /// The same case under another profile segment (`/v1/<provider>/<profile>/…`).
    pub fn in_profile(mut self, profile: &'static str) -> Case {
        let prefix = format!("/v1/{}/", self.provider);
        if let Some(rest) = self.client_path.strip_prefix(&prefix) {
            self.client_path = format!("{prefix}{profile}/{rest}");
        }
        self.profile = profile;
        self.name = format!("{}@{profile}", self.name);
        self
    }
}

fn bearer(key: &str) -> (String, String) {
    ("authorization".into(), format!("Bearer {key}"))
}

fn chat_body(model: &str, stream: bool) -> Value {
    let mut body = json!({"model": model, "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say héllo wörld ✓"}
    ]});
    if stream {
        body["stream"] = json!(true);
    }
    body
}

fn suffix(stream: bool) -> &'static str {
    if stream {
        "stream"
    } else {
        "plain"
    }
}

/// An OpenAI-compatible chat route of `provider` whose upstream base path is `base`.
pub fn openai_chat(provider: &'static str, base: &str, model: &str, stream: bool) -> Case {
    let auth = if provider == "azure" {
        ("api-key".to_string(), "azure-test-key".to_string())
    } else {
        bearer(&format!("sk-{provider}-test"))
    };
    Case {
        name: format!("{provider}/chat_completions/{}", suffix(stream)),
        provider,
        api: "chat_completions",
        profile: "default",
        method: "POST",
        client_path: format!("/v1/{provider}/chat/completions"),
        upstream_path: format!("{base}/chat/completions"),
        headers: vec![auth],
        body: Some(chat_body(model, stream)),
        stream,
        model: model.to_string(),
        usage: Some(INCLUDES_CACHE),
        forces_usage: stream,
        client_asked_usage: false,
        priced: provider == "openai" || provider == "azure",
    }
}

pub fn openai_responses(stream: bool) -> Case {
    let mut body = json!({"model": "gpt-4o-mini", "input": "Say héllo wörld ✓", "instructions": "Be terse."});
    if stream {
        body["stream"] = json!(true);
    }
    Case {
        name: format!("openai/responses/{}", suffix(stream)),
        provider: "openai",
        api: "responses",
        profile: "default",
        method: "POST",
        client_path: "/v1/openai/responses".into(),
        upstream_path: "/v1/responses".into(),
        headers: vec![bearer("sk-openai-test")],
        body: Some(body),
        stream,
        model: "gpt-4o-mini".into(),
        usage: Some(INCLUDES_CACHE),
        forces_usage: false,
        client_asked_usage: false,
        priced: true,
    }
}

pub fn openai_embeddings() -> Case {
    Case {
        name: "openai/embeddings/plain".into(),
        provider: "openai",
        api: "embeddings",
        profile: "default",
        method: "POST",
        client_path: "/v1/openai/embeddings".into(),
        upstream_path: "/v1/embeddings".into(),
        headers: vec![bearer("sk-openai-test")],
        body: Some(json!({"model": "text-embedding-3-small", "input": ["héllo wörld"], "encoding_format": "float"})),
        stream: false,
        model: "text-embedding-3-small".into(),
        usage: Some(Usage { input: 8, output: 0, cache_read: 0, cache_write: 0 }),
        forces_usage: false,
        client_asked_usage: false,
        priced: true,
    }
}

pub fn openai_models() -> Case {
    Case {
        name: "openai/models/plain".into(),
        provider: "openai",
        api: "models",
        profile: "default",
        method: "GET",
        client_path: "/v1/openai/models".into(),
        upstream_path: "/v1/models".into(),
        headers: vec![bearer("sk-openai-test")],
        body: None,
        stream: false,
        model: String::new(),
        usage: None,
        forces_usage: false,
        client_asked_usage: false,
        priced: false,
    }
}

pub fn anthropic(stream: bool) -> Case {
    let mut body = json!({"model": "claude-sonnet-4-5", "max_tokens": 256, "system": "Be terse.",
        "messages": [{"role": "user", "content": "Say héllo wörld ✓"}]});
    if stream {
        body["stream"] = json!(true);
    }
    Case {
        name: format!("anthropic/messages/{}", suffix(stream)),
        provider: "anthropic",
        api: "messages",
        profile: "default",
        method: "POST",
        client_path: "/v1/anthropic/v1/messages".into(),
        upstream_path: "/v1/messages".into(),
        headers: vec![("x-api-key".into(), "sk-ant-test".into()), ("anthropic-version".into(), "2023-06-01".into())],
        body: Some(body),
        stream,
        model: "claude-sonnet-4-5".into(),
        usage: Some(EXCLUDES_CACHE),
        forces_usage: false,
        client_asked_usage: false,
        priced: true,
    }
}

/// `stream`: `None` generateContent, `Some(true)` SSE (`?alt=sse`), `Some(false)` JSON array.
pub fn gemini(stream: Option<bool>) -> Case {
    let model = "gemini-2.5-flash";
    let action = match stream {
        None => "generateContent",
        Some(true) => "streamGenerateContent?alt=sse",
        Some(false) => "streamGenerateContent",
    };
    let name = match stream {
        None => "plain",
        Some(true) => "stream_sse",
        Some(false) => "stream_array",
    };
    Case {
        name: format!("gemini/generate_content/{name}"),
        provider: "gemini",
        api: "generate_content",
        profile: "default",
        method: "POST",
        client_path: format!("/v1/gemini/v1beta/models/{model}:{action}"),
        upstream_path: format!("/v1beta/models/{model}:{action}"),
        headers: vec![("x-goog-api-key".into(), "AIza-test-key".into())],
        body: Some(json!({"systemInstruction": {"parts": [{"text": "Be terse."}]},
            "contents": [{"role": "user", "parts": [{"text": "Say héllo wörld ✓"}]}]})),
        stream: stream.is_some(),
        model: model.into(),
        usage: Some(INCLUDES_CACHE),
        forces_usage: false,
        client_asked_usage: false,
        priced: true,
    }
}

pub const BEDROCK_MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

fn bedrock_body() -> Value {
    json!({"system": [{"text": "Be terse."}],
        "messages": [{"role": "user", "content": [{"text": "Say héllo wörld ✓"}]}],
        "inferenceConfig": {"maxTokens": 256}})
}

/// Bedrock with the model id in the path, encoded as boto3 sends it (`:` as `%3A`).
pub fn bedrock(stream: bool) -> Case {
    let action = if stream { "converse-stream" } else { "converse" };
    let encoded = BEDROCK_MODEL.replace(':', "%3A");
    Case {
        name: format!("bedrock/converse/{}", suffix(stream)),
        provider: "bedrock",
        api: "converse",
        profile: "default",
        method: "POST",
        client_path: format!("/v1/bedrock/model/{encoded}/{action}"),
        upstream_path: format!("/model/{encoded}/{action}"),
        headers: vec![bearer("bedrock-api-key-test")],
        body: Some(bedrock_body()),
        stream,
        model: BEDROCK_MODEL.into(),
        usage: Some(EXCLUDES_CACHE),
        forces_usage: false,
        client_asked_usage: false,
        priced: true,
    }
}

/// Bedrock with the model id only in the body (`/converse`): the filter builds the path.
pub fn bedrock_body_model(stream: bool) -> Case {
    let action = if stream { "converse-stream" } else { "converse" };
    let mut case = bedrock(stream);
    case.name = format!("bedrock/converse_body_model/{}", suffix(stream));
    case.client_path = format!("/v1/bedrock/{action}");
    let mut body = bedrock_body();
    body["modelId"] = json!(BEDROCK_MODEL);
    case.body = Some(body);
    case
}

/// Cohere v2 chat; `short` uses the `/v1/cohere/chat` spelling.
pub fn cohere(stream: bool, short: bool) -> Case {
    let mut body = chat_body("command-a-03-2025", false);
    if stream {
        body["stream"] = json!(true);
    }
    Case {
        name: format!("cohere/chat{}/{}", if short { "_short" } else { "" }, suffix(stream)),
        provider: "cohere",
        api: "chat",
        profile: "default",
        method: "POST",
        client_path: if short { "/v1/cohere/chat".into() } else { "/v1/cohere/v2/chat".into() },
        upstream_path: "/v2/chat".into(),
        headers: vec![bearer("cohere-test-key")],
        body: Some(body),
        stream,
        model: "command-a-03-2025".into(),
        usage: Some(INCLUDES_CACHE),
        forces_usage: false,
        client_asked_usage: false,
        priced: true,
    }
}

/// The OpenAI-compatible family: provider, upstream base path, a model it serves.
pub const COMPATIBLE: [(&str, &str, &str); 11] = [
    ("groq", "/openai/v1", "llama-3.3-70b-versatile"),
    ("mistral", "/v1", "mistral-large-latest"),
    ("xai", "/v1", "grok-3"),
    ("openrouter", "/api/v1", "openai/gpt-4o-mini"),
    ("cerebras", "/v1", "llama3.1-8b"),
    ("deepseek", "/v1", "deepseek-chat"),
    ("minimax", "/v1", "MiniMax-M1"),
    ("zhipuai", "/api/paas/v4", "glm-4.5"),
    ("perplexity", "", "sonar"),
    ("vllm", "/v1", "meta-llama/Llama-3.1-8B-Instruct"),
    ("ollama", "/v1", "llama3.2"),
];

/// Every first-class API once, streaming and not (the matrix the byte-for-byte tests run).
pub fn core_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for stream in [false, true] {
        cases.push(openai_chat("openai", "/v1", "gpt-4o-mini", stream));
        cases.push(openai_responses(stream));
        cases.push(openai_chat("azure", "/openai/v1", "gpt-4o-mini", stream));
        cases.push(anthropic(stream));
        cases.push(bedrock(stream));
        cases.push(cohere(stream, false));
    }
    cases.push(openai_chat("openai", "/v1", "gpt-4o-mini", true).asking_usage());
    cases.push(gemini(None));
    cases.push(gemini(Some(true)));
    cases.push(gemini(Some(false)));
    cases.push(openai_embeddings());
    cases.push(openai_models());
    cases
}

/// The OpenAI-compatible family, streaming and not.
pub fn compatible_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (provider, base, model) in COMPATIBLE {
        for stream in [false, true] {
            cases.push(openai_chat(provider, base, model, stream));
        }
    }
    cases
}

/// Route spellings beyond the core matrix: profile segments, the short Cohere path, the Bedrock
/// body-model form.
pub fn route_variant_cases() -> Vec<Case> {
    vec![
        openai_chat("openai", "/v1", "gpt-4o-mini", false).in_profile("team-a"),
        anthropic(false).in_profile("team-a"),
        gemini(None).in_profile("team-a"),
        bedrock(false).in_profile("team-a"),
        cohere(false, false).in_profile("team-a"),
        cohere(false, true),
        cohere(true, true),
        bedrock_body_model(false),
        bedrock_body_model(true),
    ]
}
