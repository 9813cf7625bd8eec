//! The root context: parses the plugin configuration once per VM and hands it to each request.

use super::http::Filter;
use super::log;
use crate::config::Config;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};
use std::rc::Rc;

#[derive(Default)]
pub struct Root {
    config: Option<Rc<Config>>,
}

impl Context for Root {}

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

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter::new(self.config.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
