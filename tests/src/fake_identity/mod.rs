//! Fake identity endpoints on 127.0.0.1 for the sidecar's tests: Google (OAuth token endpoint,
//! STS, GCE metadata server), Microsoft Entra (authority over HTTPS with a test CA, App Service
//! managed identity) and AWS (STS web identity, container credentials, IMDSv2).
//!
//! Each fake is an in-process tokio server. It checks what a real endpoint checks (secrets,
//! headers, grant types), records every request, counts the credentials it issued, and can be told
//! to answer HTTP 500 or garbage, or to issue short-lived credentials (for expiry tests). Issued
//! tokens are numbered (`…-1`, `…-2`), so a test sees whether it got a fresh one.
//!
//! Every secret here is test-only material made up for these tests or generated at run time.

pub mod aws;
pub mod entra;
pub mod google;
pub mod tls;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// How a fake answers requests that pass its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// HTTP 500 with a JSON error body.
    Fail500,
    /// HTTP 200 with a body that is not what the endpoint returns.
    Garbage,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    pub body: String,
    /// When the request arrived (before the answer was made): a credential issued for it expires
    /// no earlier than this plus its lifetime.
    pub at: std::time::SystemTime,
}

impl Seen {
    /// The body parsed as `application/x-www-form-urlencoded`.
    pub fn form(&self) -> HashMap<String, String> {
        form_urlencoded::parse(self.body.as_bytes()).into_owned().collect()
    }

    /// The body's parameters, whether it was sent as a form or as a JSON object (Google's token
    /// endpoint takes both; google-cloud-auth sends JSON).
    pub fn params(&self) -> HashMap<String, String> {
        if self.header("content-type").is_some_and(|t| t.contains("json")) {
            let value: serde_json::Value = serde_json::from_str(&self.body).unwrap_or_default();
            let Some(object) = value.as_object() else { return HashMap::new() };
            return object
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect();
        }
        self.form()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// State shared by a fake's handler and the test that drives it.
#[derive(Debug)]
pub struct Control {
    requests: Mutex<Vec<Seen>>,
    mode: Mutex<Mode>,
    lifetime_secs: AtomicU64,
    issued: AtomicU64,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            requests: Mutex::new(Vec::new()),
            mode: Mutex::new(Mode::Normal),
            lifetime_secs: AtomicU64::new(3600),
            issued: AtomicU64::new(0),
        }
    }
}

impl Control {
    pub fn mode(&self) -> Mode {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// Lifetime of the credentials issued from now on.
    pub fn set_lifetime_secs(&self, secs: u64) {
        self.lifetime_secs.store(secs, Ordering::SeqCst);
    }

    pub fn lifetime_secs(&self) -> u64 {
        self.lifetime_secs.load(Ordering::SeqCst)
    }

    /// Counts a credential issued and returns its number (1, 2, …).
    pub fn issue(&self) -> u64 {
        self.issued.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Credentials issued so far.
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.requests().iter().filter(|r| r.path.starts_with(prefix)).count()
    }

    fn record(&self, seen: Seen) {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).push(seen);
    }
}

pub type Reply = Response<Full<Bytes>>;

pub fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    reply(status, "application/json", value.to_string())
}

/// The answers every fake gives in [`Mode::Fail500`] and [`Mode::Garbage`], or `None` to answer
/// normally.
pub fn forced(control: &Control) -> Option<Reply> {
    match control.mode() {
        Mode::Normal => None,
        Mode::Fail500 => Some(json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &serde_json::json!({"error": "server_error", "error_description": "the fake was told to fail"}),
        )),
        Mode::Garbage => Some(reply(StatusCode::OK, "application/json", "<html>this is not a credential</html>")),
    }
}

/// A running fake: its address, its control, and the server task (stopped on drop).
pub struct Server {
    pub addr: SocketAddr,
    pub control: Arc<Control>,
    scheme: &'static str,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Handler = dyn Fn(&Seen, &Control) -> Reply + Send + Sync;

async fn collect(req: Request<hyper::body::Incoming>) -> Seen {
    let at = std::time::SystemTime::now();
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let query =
        parts.uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    Seen {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at,
    }
}

/// Starts a fake on 127.0.0.1 (a free port) on the current tokio runtime; with `tls`, HTTPS.
pub async fn start(
    handler: impl Fn(&Seen, &Control) -> Reply + Send + Sync + 'static,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a fake identity endpoint");
    let addr = listener.local_addr().expect("local address");
    let control = Arc::new(Control::default());
    let handler: Arc<Handler> = Arc::new(handler);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let task_control = control.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (handler, control, tls) = (handler.clone(), task_control.clone(), tls.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let (handler, control) = (handler.clone(), control.clone());
                    async move {
                        let seen = collect(req).await;
                        let response = handler(&seen, &control);
                        control.record(seen);
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let builder = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                        }
                    }
                    None => {
                        let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                    }
                }
            });
        }
    });
    Server { addr, control, scheme, task }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// RFC 3339 time `secs` from now (what AWS endpoints put in `Expiration`).
pub fn rfc3339_in(secs: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now() + std::time::Duration::from_secs(secs)).to_string()
}
