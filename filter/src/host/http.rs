//! One HTTP request through the filter.
//!
//! Request headers are held (`allow_on_headers_stop_iteration`) until the body has been read, so
//! `:path` and the routing header can still be set after looking at the body.

use super::shared_store::SharedDataStore;
use super::{log, metrics};
use crate::config::Config;
use crate::error::{Reply, WardenError};
use crate::exchange::{Exchange, Forward, ResponseMode};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

enum State {
    /// Before the request headers, or the plugin has no valid configuration.
    New,
    /// The filter answered the request itself.
    Answered,
    Active(Box<Exchange>),
}

pub struct Filter {
    config: Option<Rc<Config>>,
    state: State,
    started: Option<SystemTime>,
    first_response_byte: Option<SystemTime>,
}

impl Filter {
    pub fn new(config: Option<Rc<Config>>) -> Self {
        Filter { config, state: State::New, started: None, first_response_byte: None }
    }

    fn reply(&mut self, reply: &Reply) -> Action {
        let headers: Vec<(&str, &str)> = reply.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if hostcalls::send_http_response(u32::from(reply.status), headers, Some(&reply.body)).is_err() {
            log(LogLevel::Warn, "warden: could not send a local reply");
        }
        Action::Pause
    }

    fn reject(&mut self, err: &WardenError) -> Action {
        let reply = match &mut self.state {
            State::Active(ex) => ex.reject(err),
            _ => return Action::Continue,
        };
        log(LogLevel::Info, &format!("warden: rejected request: {}", err.code()));
        self.reply(&reply)
    }

    fn now() -> Option<SystemTime> {
        hostcalls::get_current_time().ok()
    }

    fn now_secs() -> u64 {
        Self::now().and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs())
    }

    /// Publishes the record and metrics. `on_log` runs before Envoy writes the access log, and
    /// runs for every request, also when the client or upstream went away mid-stream.
    fn publish(&mut self) {
        let State::Active(ex) = &self.state else { return };
        let now = Self::now();
        let elapsed = |from: Option<SystemTime>, to: Option<SystemTime>| -> Option<u64> {
            let d: Duration = to?.duration_since(from?).ok()?;
            u64::try_from(d.as_millis()).ok()
        };
        let duration = elapsed(self.started, now);
        let ttfb = elapsed(self.started, self.first_response_byte);
        let (record, updates) = ex.finish(duration, ttfb);
        ex.record_usage(&record, Self::now_secs(), &SharedDataStore);
        if let Ok(json) = serde_json::to_vec(&record) {
            let _ = hostcalls::set_property(vec!["warden"], Some(&json));
        }
        metrics::apply(&updates);
        metrics::record_memory();
    }
}

/// All request headers in one host call: the exchange looks up about a dozen names, and each
/// separate lookup would cross the VM boundary.
fn request_headers() -> Vec<(String, String)> {
    hostcalls::get_map(MapType::HttpRequestHeaders).unwrap_or_default()
}

fn lookup(headers: &[(String, String)], name: &str) -> Option<String> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
}

fn apply_forward(forward: &Forward, old_body_len: Option<usize>) {
    let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, ":path", Some(&forward.path));
    for (name, value) in &forward.set_headers {
        let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value));
    }
    if let (Some(body), Some(old_len)) = (&forward.body, old_body_len) {
        let _ = hostcalls::set_buffer(BufferType::HttpRequestBody, 0, old_len, body);
        let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, "content-length", Some(&body.len().to_string()));
    }
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.started = Self::now();
        let Some(config) = self.config.clone() else {
            let reply = Reply::json(
                503,
                &serde_json::json!({"error": {"message": "the warden filter has no valid configuration; see Envoy's log", "type": "server_error", "code": "not_configured"}}),
            );
            self.state = State::Answered;
            return self.reply(&reply);
        };
        let headers = request_headers();
        let method = lookup(&headers, ":method").unwrap_or_default();
        let path = lookup(&headers, ":path").unwrap_or_default();
        let exchange = match Exchange::begin(config, &method, &path, &|name| lookup(&headers, name)) {
            Ok(ex) => ex,
            Err(rejected) => {
                metrics::apply(std::slice::from_ref(&rejected.metric));
                self.state = State::Answered;
                return self.reply(&rejected.reply);
            }
        };
        let needs_body = exchange.needs_body();
        self.state = State::Active(Box::new(exchange));
        if needs_body && !end_of_stream {
            return Action::Pause;
        }
        let State::Active(ex) = &mut self.state else { return Action::Continue };
        let forward = if needs_body { ex.request_body(&[]) } else { ex.forward_without_body() };
        let forward = forward.and_then(|f| ex.check_limits(Self::now_secs(), &SharedDataStore).map(|()| f));
        match forward {
            Ok(f) => {
                apply_forward(&f, None);
                Action::Continue
            }
            Err(e) => self.reject(&e),
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let State::Active(ex) = &mut self.state else { return Action::Continue };
        if !ex.needs_body() {
            return Action::Continue;
        }
        if let Err(e) = ex.check_body_size(body_size) {
            return self.reject(&e);
        }
        if !end_of_stream {
            // Envoy keeps buffering the body until we continue.
            return Action::Pause;
        }
        let body = match hostcalls::get_buffer(BufferType::HttpRequestBody, 0, body_size) {
            Ok(b) => b.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let forward =
            ex.request_body(&body).and_then(|f| ex.check_limits(Self::now_secs(), &SharedDataStore).map(|()| f));
        match forward {
            Ok(forward) => {
                apply_forward(&forward, Some(body_size));
                Action::Continue
            }
            Err(e) => self.reject(&e),
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.first_response_byte = Self::now();
        let State::Active(ex) = &mut self.state else { return Action::Continue };
        let status = hostcalls::get_map_value(MapType::HttpResponseHeaders, ":status")
            .ok()
            .flatten()
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0);
        let mode = ex.response_headers(status);
        if let Some(model) = ex.rewritten_model() {
            let _ = hostcalls::set_map_value(MapType::HttpResponseHeaders, "x-warden-model", Some(model));
        }
        if !ex.may_rewrite_response() {
            return Action::Continue;
        }
        if mode == ResponseMode::Stream {
            let _ = hostcalls::set_map_value(MapType::HttpResponseHeaders, "content-length", None);
            return Action::Continue;
        }
        // A whole response that may be refused: its headers wait for the body, so that
        // `content-length` and `x-warden-blocked` can still be set.
        if end_of_stream {
            Action::Continue
        } else {
            Action::Pause
        }
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let State::Active(ex) = &mut self.state else { return Action::Continue };
        match ex.response_mode() {
            ResponseMode::PassThrough => Action::Continue,
            ResponseMode::Stream => {
                let chunk = match hostcalls::get_buffer(BufferType::HttpResponseBody, 0, body_size) {
                    Ok(b) => b.unwrap_or_default(),
                    Err(_) => Vec::new(),
                };
                let out = ex.response_chunk(&chunk, end_of_stream);
                if out != chunk {
                    let _ = hostcalls::set_buffer(BufferType::HttpResponseBody, 0, body_size, &out);
                }
                Action::Continue
            }
            ResponseMode::Buffer => {
                if !end_of_stream {
                    return Action::Pause;
                }
                let body = match hostcalls::get_buffer(BufferType::HttpResponseBody, 0, body_size) {
                    Ok(b) => b.unwrap_or_default(),
                    Err(_) => Vec::new(),
                };
                if let Some(new_body) = ex.response_body(&body) {
                    let _ = hostcalls::set_buffer(BufferType::HttpResponseBody, 0, body_size, &new_body);
                    let length = new_body.len().to_string();
                    let _ = hostcalls::set_map_value(MapType::HttpResponseHeaders, "content-length", Some(&length));
                }
                if let Some(blocked) = ex.blocked_header() {
                    let _ = hostcalls::set_map_value(MapType::HttpResponseHeaders, "x-warden-blocked", Some(&blocked));
                }
                Action::Continue
            }
        }
    }

    fn on_log(&mut self) {
        self.publish();
    }
}
