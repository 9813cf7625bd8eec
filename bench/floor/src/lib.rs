//! The floor of a body-inspecting LLM filter, for `make bench` only (never shipped).
//!
//! It does what any filter in Warden's place must do and nothing else: hold the request headers
//! until the body has ended, copy the body into the VM, route it the way Warden does (rewrite
//! `/v1/openai/…` to `/v1/…` and set `x-warden-upstream: openai`, which the same Envoy
//! configuration routes on), and copy every response body chunk into the VM as it passes. What
//! Envoy + this module costs over plain Envoy (memory, start, latency, throughput) is the part of
//! Warden's cost no module can avoid; `scripts/bench.sh` reports both side by side.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Floor { path: None, seen: 0 }))
    }
}

struct Floor {
    /// The upstream path, once the request path has been read.
    path: Option<String>,
    /// Bytes copied into the VM (kept so the copies are not optimised away).
    seen: usize,
}

impl Context for Floor {}

impl HttpContext for Floor {
    fn on_http_request_headers(&mut self, _headers: usize, end_of_stream: bool) -> Action {
        self.path = self
            .get_http_request_header(":path")
            .and_then(|p| p.strip_prefix("/v1/openai").map(|rest| format!("/v1{rest}")));
        if end_of_stream {
            self.route();
            return Action::Continue;
        }
        Action::Pause
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            return Action::Pause;
        }
        self.seen += self.get_http_request_body(0, body_size).map_or(0, |b| b.len());
        self.route();
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.seen += self.get_http_response_body(0, body_size).map_or(0, |b| b.len());
        Action::Continue
    }
}

impl Floor {
    fn route(&self) {
        if let Some(path) = &self.path {
            self.set_http_request_header(":path", Some(path));
            self.set_http_request_header("x-warden-upstream", Some("openai"));
        }
    }
}
