//! The root context: parses the plugin configuration once per VM and hands it to each request,
//! keeps the cached cloud credentials fresh in the background (`sidecar::Refresher`) and sends
//! the requests' costs to the sidecar's Redis counters (`limits::Adder`).

use super::http::Filter;
use super::limits::{self, Adder};
use super::log;
use super::sidecar::{Refresher, REFRESH_TICK};
use crate::config::limits::LimitsStore;
use crate::config::Config;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};
use std::rc::Rc;

#[derive(Default)]
pub struct Root {
    config: Option<Rc<Config>>,
    refresher: Refresher,
    adder: Adder,
    /// The shared queue of increments for the sidecar's counters (`limits_store: sidecar`).
    adds_queue: Option<u32>,
}

impl Context for Root {
    fn on_grpc_call_response(&mut self, token_id: u32, status_code: u32, response_size: usize) {
        if !self.refresher.answered(token_id, status_code, response_size) {
            self.adder.answered(token_id, status_code, response_size);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, size: usize) -> bool {
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, size) {
            Ok(Some(b)) => b,
            _ => Vec::new(),
        };
        let started = hostcalls::get_current_time().ok();
        match Config::from_json(&bytes) {
            Ok(config) => {
                let elapsed = started
                    .zip(hostcalls::get_current_time().ok())
                    .and_then(|(a, b)| b.duration_since(a).ok())
                    .map_or(0, |d| d.as_millis());
                log(
                    LogLevel::Info,
                    &format!(
                        "warden: configured with {} profile(s) in {elapsed} ms (tokenizer {})",
                        config.profiles.len(),
                        if config.tokenizer.is_some() { "built" } else { "not needed" }
                    ),
                );
                self.refresher = Refresher::new(&config);
                if self.refresher.has_work() && hostcalls::set_tick_period(REFRESH_TICK).is_err() {
                    log(LogLevel::Warn, "warden: no timer: cached credentials are fetched again only once they expire");
                }
                self.adds_queue = None;
                if config.limits_store == LimitsStore::Sidecar {
                    match limits::register() {
                        Ok(queue) => {
                            self.adder = Adder::new(queue, &config.sidecar);
                            self.adds_queue = Some(queue);
                        }
                        Err(status) => log(
                            LogLevel::Error,
                            &format!("warden: no shared queue ({status}): costs cannot reach the sidecar's counters"),
                        ),
                    }
                }
                self.config = Some(Rc::new(config));
                true
            }
            Err(e) => {
                // Returning false makes Envoy reject the configuration and log why.
                log(LogLevel::Error, &format!("warden: {e}"));
                false
            }
        }
    }

    fn on_tick(&mut self) {
        self.refresher.tick();
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        self.adder.drain(queue_id);
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter::new(self.config.clone(), self.adds_queue)))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
