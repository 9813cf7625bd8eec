//! A scripted OpenAI chat-completions endpoint on 127.0.0.1 that plays both Dual-LLM models for
//! the sidecar's tests. A script decides each answer (text, HTTP status, delay) from the request;
//! every request is recorded when it arrives, before any delay, so a test also sees calls that
//! were abandoned mid-flight.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    /// The body as sent.
    pub raw: String,
    /// The body parsed (Null when it is not JSON).
    pub body: Value,
}

impl Call {
    pub fn model(&self) -> &str {
        self.body["model"].as_str().unwrap_or_default()
    }

    pub fn messages(&self) -> Vec<(String, String)> {
        self.body["messages"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .map(|m| {
                        (
                            m["role"].as_str().unwrap_or_default().to_string(),
                            m["content"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn last_message(&self) -> String {
        self.messages().last().map(|(_, content)| content.clone()).unwrap_or_default()
    }

    /// How many questions the privileged model asked before this call.
    pub fn asked(&self) -> usize {
        self.messages().iter().filter(|(role, _)| role == "assistant").count()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// What the fake answers to one call.
#[derive(Debug, Clone)]
pub struct Answer {
    status: u16,
    /// The assistant message's content; `None` sends `null`.
    text: Option<String>,
    delay: Duration,
}

impl Answer {
    pub fn text(text: impl Into<String>) -> Answer {
        Answer { status: 200, text: Some(text.into()), delay: Duration::ZERO }
    }

    /// An HTTP error with an OpenAI-shaped error body.
    pub fn status(status: u16) -> Answer {
        Answer { status, text: None, delay: Duration::ZERO }
    }

    pub fn after(self, delay: Duration) -> Answer {
        Answer { delay, ..self }
    }
}

/// Input and output tokens the fake reports for every call.
pub const USAGE: (u64, u64) = (11, 4);

pub type Script = Arc<dyn Fn(&Call) -> Answer + Send + Sync>;

pub struct FakeChat {
    pub addr: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
    script: Arc<Mutex<Script>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeChat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(call: &Call, answer: &Answer) -> Response<Full<Bytes>> {
    let body = if answer.status == 200 {
        json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": call.model(),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": USAGE.0, "completion_tokens": USAGE.1, "total_tokens": USAGE.0 + USAGE.1},
        })
    } else {
        json!({"error": {"message": "the fake was told to fail", "type": "server_error", "code": null}})
    };
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    response
}

async fn collect(req: Request<hyper::body::Incoming>) -> Call {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let raw = String::from_utf8_lossy(&body).into_owned();
    Call {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: serde_json::from_str(&raw).unwrap_or(Value::Null),
        raw,
    }
}

impl FakeChat {
    pub async fn start(script: impl Fn(&Call) -> Answer + Send + Sync + 'static) -> FakeChat {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fake chat endpoint");
        let addr = listener.local_addr().expect("local address");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Mutex<Script>> = Arc::new(Mutex::new(Arc::new(script)));
        let (task_calls, task_script) = (calls.clone(), script.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (calls, script) = (task_calls.clone(), task_script.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (calls, script) = (calls.clone(), script.clone());
                        async move {
                            let call = collect(req).await;
                            calls.lock().unwrap().push(call.clone());
                            let script = script.lock().unwrap().clone();
                            let answer = script(&call);
                            tokio::time::sleep(answer.delay).await;
                            Ok::<_, std::convert::Infallible>(reply(&call, &answer))
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        FakeChat { addr, calls, script, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_script(&self, script: impl Fn(&Call) -> Answer + Send + Sync + 'static) {
        *self.script.lock().unwrap() = Arc::new(script);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    pub fn calls_of(&self, model: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.model() == model).collect()
    }
}
