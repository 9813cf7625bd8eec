//! The floor of a body-inspecting LLM filter, for `make bench` only (never shipped).
//!
//! It does what any filter in Warden's place must do and nothing else: hold the request headers
//! until the body has ended, copy the body into the VM, route it the way Warden does (rewrite
//! `/v1/openai/…` to `/v1/…` and set `x-warden-upstream: openai`, which the same Envoy
//! configuration routes on), and copy every response body chunk into the VM as it passes. What
//! Envoy + this module costs over plain Envoy (memory, start, latency, throughput) is the part of
//! Warden's cost no module can avoid; `scripts/bench.sh` reports both side by side.
//!
//! With a plugin configuration that contains `hold_response`, it also holds a whole (not
//! streamed) response's headers and body until the body has ended, then lets them go unchanged:
//! what a filter that may have to replace an answer carrying a forbidden tool call must do
//! (it can only set `content-length` and its own headers before the headers leave). That is the
//! floor of a *policing* filter on the whole-response path (`full floor` in the bench tables, with `record`).
//!
//! With `record` as well, it reports each request the way Warden's contract says a request is
//! reported (DESIGN §4.3): a JSON record of a typical chat answer's size as the filter state the
//! access log writes, five trace attributes as filter state, and the counters and histograms a
//! chat request updates (six and two, defined once per VM). None of it is computed: it is the
//! Envoy-side cost of reporting, the part of `on_log` no module can avoid.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { hold_response: false, record: None })
    });
}}

struct Root {
    hold_response: bool,
    /// The metric ids, when requests are reported.
    record: Option<Metrics>,
}

#[derive(Clone, Copy)]
struct Metrics {
    counters: [u32; 6],
    histograms: [u32; 2],
}

const COUNTERS: [&str; 6] = [
    "requests_total",
    "input_tokens_total",
    "output_tokens_total",
    "cost_micro_usd_total",
    "cache_read_tokens_total",
    "reasoning_tokens_total",
];
const HISTOGRAMS: [&str; 2] = ["request_duration_ms", "tokens_per_request"];
const LABELS: &str = "provider=.=openai;.;model=.=gpt-4o-mini;.;profile=.=default;.;status=.=200;.;floor_";

fn mentions(config: &[u8], word: &[u8]) -> bool {
    config.windows(word.len()).any(|w| w == word)
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        self.hold_response = mentions(&config, b"hold_response");
        if mentions(&config, b"record") {
            let define = |kind, name: &str| hostcalls::define_metric(kind, &format!("{LABELS}{name}")).unwrap_or(0);
            self.record = Some(Metrics {
                counters: COUNTERS.map(|n| define(MetricType::Counter, n)),
                histograms: HISTOGRAMS.map(|n| define(MetricType::Histogram, n)),
            });
        }
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Floor {
            path: None,
            seen: 0,
            hold_response: self.hold_response,
            holding: false,
            record: self.record,
        }))
    }
}

struct Floor {
    /// The upstream path, once the request path has been read.
    path: Option<String>,
    /// Bytes copied into the VM (kept so the copies are not optimised away).
    seen: usize,
    /// Hold whole responses until their body has ended (see the module's doc).
    hold_response: bool,
    /// This response is held.
    holding: bool,
    /// Report the request (see the module's doc).
    record: Option<Metrics>,
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

    fn on_http_response_headers(&mut self, _headers: usize, end_of_stream: bool) -> Action {
        let whole = self.get_http_response_header("content-type").is_some_and(|t| t.starts_with("application/json"));
        self.holding = self.hold_response && whole && !end_of_stream;
        if self.holding {
            return Action::Pause;
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.holding && !end_of_stream {
            return Action::Pause;
        }
        self.seen += self.get_http_response_body(0, body_size).map_or(0, |b| b.len());
        Action::Continue
    }

    fn on_log(&mut self) {
        let Some(metrics) = self.record else { return };
        let seen = self.seen;
        for (name, value) in [
            ("gen_ai.system", "openai".to_owned()),
            ("gen_ai.request.model", "gpt-4o-mini".to_owned()),
            ("gen_ai.response.model", "gpt-4o-mini-2024-07-18".to_owned()),
            ("gen_ai.usage.input_tokens", (seen % 997).to_string()),
            ("gen_ai.usage.output_tokens", (seen % 89).to_string()),
        ] {
            let _ = hostcalls::set_property(vec![name], Some(value.as_bytes()));
        }
        let record = format!(
            concat!(
                r#"{{"provider":"openai","api":"chat_completions","profile":"default","model":"gpt-4o-mini","#,
                r#""response_model":"gpt-4o-mini-2024-07-18","stream":false,"status":200,"input_tokens":{},"#,
                r#""output_tokens":{},"cache_read_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0,"#,
                r#""cost_usd":0.000{},"priced":true,"finish_reason":"stop","tools_declared":0,"tool_calls":0,"#,
                r#""duration_ms":1,"ttfb_ms":1,"request_id":"{}","bytes":{}}}"#
            ),
            seen % 997,
            seen % 89,
            seen % 1000,
            self.get_http_request_header("x-request-id").unwrap_or_default(),
            seen
        );
        let _ = hostcalls::set_property(vec!["warden"], Some(record.as_bytes()));
        for id in metrics.counters {
            let _ = hostcalls::increment_metric(id, 1);
        }
        for id in metrics.histograms {
            let _ = hostcalls::record_metric(id, (seen % 1000) as u64);
        }
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
