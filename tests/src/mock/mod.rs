//! The mock provider: one HTTP/1.1 listener that speaks every upstream wire format by path,
//! records what it received and remembers the bytes it sent.
//!
//! Control (all through Envoy, the filter passes the headers on): `x-mock-scenario`,
//! `x-mock-chunk-size`, `x-mock-status`, `x-mock-tool-calls`. Scripted replies: `PUT
//! /__mock/scripts/NAME` stores a reply (`Script`), which `x-mock-scenario: script:NAME` replays
//! byte for byte, one write per part. Introspection: `GET|DELETE /__mock/requests`,
//! `GET /__mock/last_response`, `GET /__mock/response/<x-request-id>` (the bytes sent for the
//! request that carried that `x-request-id`, which Envoy forwards unchanged; header
//! `x-mock-complete-bytes` says how many of them form whole events, less than all for a `cut`).
//! The Dual-LLM models: `PUT /__mock/dual/<model>` stores how that model answers (`dual`).

pub mod anthropic;
pub mod bedrock;
pub mod cohere;
pub mod dual;
pub mod gemini;
pub mod openai;
pub mod scenario;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use scenario::{Canned, Content, Scenario};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;

/// One request as the mock saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    fn to_json(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (name, value) in &self.headers {
            let merged = match headers.get(name).and_then(Value::as_str) {
                Some(prev) => format!("{prev}, {value}"),
                None => value.clone(),
            };
            headers.insert(name.clone(), json!(merged));
        }
        json!({"method": self.method, "path": self.path, "headers": headers,
            "body": String::from_utf8_lossy(&self.body)})
    }
}

/// The bytes sent for one request (still growing while it streams) and how many form whole events.
type Sent = (Arc<Mutex<Vec<u8>>>, usize);

#[derive(Default)]
pub struct State {
    requests: Mutex<Vec<Recorded>>,
    last_response: Mutex<Arc<Mutex<Vec<u8>>>>,
    by_request_id: Mutex<std::collections::HashMap<String, Sent>>,
    fixtures: PathBuf,
    /// Off (`MOCK_NO_RECORD=1`) for benchmarks: nothing accumulates per request.
    record: bool,
    scripts: Mutex<std::collections::HashMap<String, Canned>>,
    /// Dual-LLM model scripts by model name.
    dual: Mutex<std::collections::HashMap<String, dual::DualScript>>,
}

/// A scripted reply as a test stores it: any status, headers and body bytes (base64 parts, each
/// written on its own; `repeat` writes a part that many times), so a test can send whatever an
/// upstream might: odd JSON, broken framing, compressed bodies, huge streams.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Script {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub parts: Vec<ScriptPart>,
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct ScriptPart {
    pub b64: String,
    #[serde(default = "one")]
    pub repeat: usize,
}

fn one() -> usize {
    1
}

impl Script {
    fn canned(&self) -> Result<Canned, String> {
        use base64::Engine;
        let mut parts = Vec::new();
        for part in &self.parts {
            let bytes = base64::engine::general_purpose::STANDARD.decode(&part.b64).map_err(|e| e.to_string())?;
            parts.extend(std::iter::repeat_n(bytes, part.repeat));
        }
        Ok(Canned { status: self.status, headers: self.headers.clone(), parts, stream: true })
    }
}

impl State {
    pub fn new(fixtures: PathBuf) -> Arc<State> {
        Arc::new(State { fixtures, record: std::env::var_os("MOCK_NO_RECORD").is_none(), ..State::default() })
    }
}

/// Where recorded fixtures live: `WARDEN_FIXTURES`, else `<repo>/tests/fixtures`.
pub fn default_fixtures_dir() -> PathBuf {
    std::env::var_os("WARDEN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")))
}

type Body = BoxBody<Bytes, io::Error>;

/// Accepts connections forever.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Each piece must leave as its own segment, or chunk boundaries would not reach Envoy.
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn full(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()).map_err(|never: Infallible| match never {}).boxed());
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert("content-type", v);
    }
    resp
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).to_string()))
        .collect();
    let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();

    if let Some(control) = path.strip_prefix("/__mock/") {
        return Ok(control_endpoint(&state, &method, control, &body));
    }
    let full_path = match &query {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let scenario = Scenario::from_headers(
        header("x-mock-scenario"),
        header("x-mock-chunk-size"),
        header("x-mock-status"),
        header("x-mock-tool-calls"),
    );
    let json_body: Option<Value> = serde_json::from_slice(&body).ok();
    if let Some((canned, delay)) = dual_reply(&state, &path, json_body.as_ref()) {
        let request_id = header("x-request-id").map(str::to_string);
        if let (true, Ok(mut requests)) = (state.record, state.requests.lock()) {
            requests.push(Recorded { method, path: full_path, headers, body });
        }
        tokio::time::sleep(delay).await;
        return Ok(deliver(&state, canned, &scenario, request_id));
    }
    let canned = respond(
        &state,
        &method,
        &path,
        query.as_deref(),
        header("anthropic-version").is_some(),
        json_body.as_ref(),
        &scenario,
    );
    let request_id = header("x-request-id").map(str::to_string);
    if let (true, Ok(mut requests)) = (state.record, state.requests.lock()) {
        requests.push(Recorded { method, path: full_path, headers, body });
    }
    Ok(deliver(&state, canned, &scenario, request_id))
}

/// The scripted Dual-LLM model's reply, when the request is a chat completion for one.
fn dual_reply(state: &State, path: &str, body: Option<&Value>) -> Option<(Canned, Duration)> {
    let body = body.filter(|_| path.ends_with("/chat/completions"))?;
    let model = body.get("model").and_then(Value::as_str)?;
    let script = state.dual.lock().ok()?.get(model).cloned()?;
    Some(script.reply(body))
}

fn control_endpoint(state: &State, method: &str, what: &str, body: &[u8]) -> Response<Body> {
    match (method, what) {
        ("PUT", other) if other.starts_with("dual/") => {
            let model = other.trim_start_matches("dual/").to_string();
            match (serde_json::from_slice::<dual::DualScript>(body), state.dual.lock()) {
                (Ok(script), Ok(mut all)) => {
                    all.insert(model, script);
                    full(204, "text/plain", Bytes::new())
                }
                (Err(why), _) => full(400, "application/json", json!({"error": why.to_string()}).to_string()),
                (_, Err(_)) => full(500, "application/json", r#"{"error":"dual script store poisoned"}"#),
            }
        }
        ("PUT", other) if other.starts_with("scripts/") => {
            let name = other.trim_start_matches("scripts/").to_string();
            let canned = serde_json::from_slice::<Script>(body).map_err(|e| e.to_string()).and_then(|s| s.canned());
            match (canned, state.scripts.lock()) {
                (Ok(canned), Ok(mut scripts)) => {
                    scripts.insert(name, canned);
                    full(204, "text/plain", Bytes::new())
                }
                (Err(why), _) => full(400, "application/json", json!({"error": why}).to_string()),
                (_, Err(_)) => full(500, "application/json", r#"{"error":"script store poisoned"}"#),
            }
        }
        ("GET", "requests") => {
            let list: Vec<Value> =
                state.requests.lock().map(|r| r.iter().map(Recorded::to_json).collect()).unwrap_or_default();
            full(200, "application/json", Value::Array(list).to_string())
        }
        ("DELETE", "requests") => {
            if let Ok(mut r) = state.requests.lock() {
                r.clear();
            }
            if let Ok(mut m) = state.by_request_id.lock() {
                m.clear();
            }
            full(204, "text/plain", Bytes::new())
        }
        ("GET", "last_response") => {
            let sent = state
                .last_response
                .lock()
                .ok()
                .and_then(|slot| slot.lock().ok().map(|b| b.clone()))
                .unwrap_or_default();
            full(200, "application/octet-stream", sent)
        }
        ("GET", "health") => full(200, "text/plain", "ok"),
        ("GET", other) if other.starts_with("response/") => {
            let id = other.trim_start_matches("response/");
            let sent = state
                .by_request_id
                .lock()
                .ok()
                .and_then(|m| m.get(id).and_then(|(b, complete)| b.lock().ok().map(|b| (b.clone(), *complete))));
            match sent {
                Some((bytes, complete)) => {
                    let mut resp = full(200, "application/octet-stream", bytes);
                    resp.headers_mut().insert("x-mock-complete-bytes", hyper::header::HeaderValue::from(complete));
                    resp
                }
                None => full(404, "application/json", r#"{"error":"no response for that x-request-id"}"#),
            }
        }
        _ => full(404, "application/json", r#"{"error":"unknown mock control endpoint"}"#),
    }
}

/// Picks the wire format by path, as the real upstreams would see it after the filter's rewrite.
fn respond(
    state: &State,
    method: &str,
    path: &str,
    query: Option<&str>,
    anthropic_client: bool,
    body: Option<&Value>,
    scenario: &Scenario,
) -> Canned {
    let wants_stream = body.and_then(|b| b.get("stream")).and_then(Value::as_bool) == Some(true);
    let model_in_body = body.and_then(|b| b.get("model")).and_then(Value::as_str).unwrap_or("mock-model").to_string();
    let content = &scenario.content;
    if let Content::Fixture(rel) = content {
        return fixture(&state.fixtures, rel);
    }
    if let Content::Script(name) = content {
        let stored = state.scripts.lock().ok().and_then(|s| s.get(name).cloned());
        return stored
            .unwrap_or_else(|| Canned::json(400, &json!({"error": format!("mock provider: no script {name}")})));
    }
    if let Content::BadControl(why) = content {
        return Canned::json(400, &json!({"error": {"message": why, "type": "mock_control_error"}}));
    }
    let error = *content == Content::Error429;

    if method == "GET" && path.ends_with("/v1beta/models") {
        return gemini::models();
    }
    if method == "GET" && path.ends_with("/models") {
        // Cohere's list takes `?endpoint=`; the shapes differ, the path does not.
        let cohere_list = query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("endpoint=")));
        return if anthropic_client {
            anthropic::models()
        } else if cohere_list {
            cohere::models()
        } else {
            openai::models()
        };
    }
    // Bedrock's control plane (`ListInferenceProfiles`), reached through AWS_ENDPOINT_URL_BEDROCK.
    if method == "GET" && path == "/inference-profiles" {
        return bedrock::inference_profiles();
    }
    if path.ends_with("/chat/completions") {
        let include_usage =
            body.and_then(|b| b.pointer("/stream_options/include_usage")).and_then(Value::as_bool) == Some(true);
        return if error {
            openai::error_429()
        } else {
            openai::chat(&model_in_body, content, wants_stream, include_usage)
        };
    }
    if path.ends_with("/responses") {
        return if error { openai::error_429() } else { openai::responses(&model_in_body, content, wants_stream) };
    }
    if path.ends_with("/embeddings") {
        return if error { openai::error_429() } else { openai::embeddings(&model_in_body, body) };
    }
    if path == "/v1/messages" {
        return if error { anthropic::error_429() } else { anthropic::messages(&model_in_body, content, wants_stream) };
    }
    if path == "/v2/chat" {
        return if error { cohere::error_429() } else { cohere::chat(content, wants_stream) };
    }
    if let Some((prefix, action)) = path.rsplit_once(':') {
        if action == "generateContent" || action == "streamGenerateContent" {
            let model = prefix.rsplit('/').next().unwrap_or("gemini");
            let sse = query.is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
            let stream = (action == "streamGenerateContent").then_some(sse);
            return if error { gemini::error_429() } else { gemini::generate(model, content, stream) };
        }
    }
    if path.starts_with("/model/") && (path.ends_with("/converse") || path.ends_with("/converse-stream")) {
        return if error {
            bedrock::error_429()
        } else {
            bedrock::converse(content, path.ends_with("/converse-stream"))
        };
    }
    Canned::json(
        404,
        &json!({"error": {"message": format!("mock provider: no route for {method} {path}"),
        "type": "invalid_request_error", "code": "unknown_url"}}),
    )
}

/// Replays a recorded body as is; the content type follows the file name.
fn fixture(root: &std::path::Path, rel: &str) -> Canned {
    if rel.split('/').any(|seg| seg == "..") {
        return Canned::json(400, &json!({"error": "fixture path must stay under the fixtures directory"}));
    }
    let Ok(bytes) = std::fs::read(root.join(rel)) else {
        return Canned::json(404, &json!({"error": format!("mock provider: no fixture {rel}")}));
    };
    let content_type = if rel.ends_with(".sse") {
        "text/event-stream"
    } else if rel.ends_with(".bin") {
        bedrock::EVENTSTREAM
    } else if rel.ends_with(".jsonl") {
        "application/x-ndjson"
    } else {
        "application/json"
    };
    let stream = !content_type.starts_with("application/json") || rel.ends_with(".jsonarray.json");
    Canned { status: 200, headers: vec![("content-type".into(), content_type.into())], parts: vec![bytes], stream }
}

/// A body fed from a channel, so pieces can be paced and the connection broken mid-body.
struct ChannelBody(mpsc::Receiver<Result<Bytes, io::Error>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;
    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.0.poll_recv(cx).map(|item| item.map(|r| r.map(Frame::data)))
    }
}

fn deliver(state: &State, canned: Canned, scenario: &Scenario, request_id: Option<String>) -> Response<Body> {
    let sent = Arc::new(Mutex::new(Vec::new()));
    if let (true, Ok(mut slot)) = (state.record, state.last_response.lock()) {
        *slot = sent.clone();
    }
    if let (Some(id), true, Ok(mut map)) = (request_id, state.record, state.by_request_id.lock()) {
        map.insert(id, (sent.clone(), scenario::complete_bytes(&canned, &scenario.delivery)));
    }
    let status = scenario.delivery.status.unwrap_or(canned.status);
    let delivery = &scenario.delivery;
    let paced = canned.stream || delivery.chunk_size.is_some() || delivery.cut;
    let mut resp = if paced {
        let (tx, rx) = mpsc::channel(16);
        let (pieces, broken) = scenario::pieces(&canned, delivery);
        let gap = if delivery.slow {
            Some(Duration::from_millis(50))
        } else if delivery.chunk_size.is_some() {
            Some(Duration::from_millis(1))
        } else {
            None
        };
        let first_apart = delivery.first_apart;
        let mut pieces = pieces.into_iter();
        // The first piece is queued before the response head leaves: a gateway that answers on
        // the head alone (a refusal) cannot have its client ask what was sent before it is known.
        if let Some(first) = pieces.next() {
            if let Ok(mut s) = sent.lock() {
                s.extend_from_slice(&first);
            }
            let _ = tx.try_send(Ok(Bytes::from(first)));
        }
        tokio::spawn(async move {
            for (i, piece) in pieces.enumerate() {
                if let Some(gap) = gap {
                    tokio::time::sleep(gap).await;
                } else if i == 0 && first_apart {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                if let Ok(mut s) = sent.lock() {
                    s.extend_from_slice(&piece);
                }
                if tx.send(Ok(Bytes::from(piece))).await.is_err() {
                    return;
                }
            }
            if broken {
                // Give the last piece time to leave before the error aborts the connection.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = tx.send(Err(io::Error::new(io::ErrorKind::ConnectionAborted, "mock: cut"))).await;
            }
        });
        let mut resp = Response::new(ChannelBody(rx).boxed());
        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
        resp
    } else {
        let body = canned.parts.concat();
        if let Ok(mut s) = sent.lock() {
            s.extend_from_slice(&body);
        }
        full(status, "application/octet-stream", body)
    };
    for (name, value) in &canned.headers {
        if let (Ok(n), Ok(v)) = (hyper::header::HeaderName::from_bytes(name.as_bytes()), value.parse()) {
            resp.headers_mut().insert(n, v);
        }
    }
    resp
}
