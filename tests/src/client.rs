//! A small blocking HTTP client for tests: sends exactly the headers given, returns the status,
//! headers and the raw body bytes (decoding nothing), and tells a complete body from one the
//! server broke off.

use serde_json::Value;
use std::io::Read;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// False when the connection ended before the body did (a cut stream).
    pub complete: bool,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; `Value::Null` if it is not JSON (the assertion that follows says why).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Sends one request. Transport failures before a response arrive are returned as `Err(text)`.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Reply, String> {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(body.to_vec()).map_err(|e| format!("bad request {method} {url}: {e}"))?;
    let response = agent().run(request).map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let mut reader = response.into_body().into_reader();
    let mut body = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let complete = loop {
        match reader.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => body.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(_) => break false,
        }
    };
    Ok(Reply { status, headers, body, complete })
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    send("GET", url, headers, b"").unwrap_or_else(|e| panic!("{e}"))
}

pub fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    send("POST", url, headers, body).unwrap_or_else(|e| panic!("{e}"))
}

pub fn post_json(url: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    post(url, &all, body.to_string().as_bytes())
}

/// How long after sending the first body byte of the response arrives (the rest is drained).
pub fn time_to_first_body_byte(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Duration {
    let started = std::time::Instant::now();
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let Ok(request) = builder.body(body.to_vec()) else {
        return Duration::MAX;
    };
    let Ok(response) = agent().run(request) else {
        return Duration::MAX;
    };
    let mut reader = response.into_body().into_reader();
    let mut buf = [0u8; 4096];
    let mut first = Duration::MAX;
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        if first == Duration::MAX {
            first = started.elapsed();
        }
    }
    first
}
