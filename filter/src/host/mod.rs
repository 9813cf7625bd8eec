//! The only code that talks to the proxy-wasm host. Callbacks read from Envoy, hand the data to
//! `exchange::Exchange`, and apply what it decides.

mod http;
mod limits;
mod metrics;
mod root;
mod shared_store;
mod sidecar;

use proxy_wasm::types::LogLevel;

// The SDK's entry point expands to an `unsafe` call of the wasm constructors.
#[allow(unsafe_code)]
mod entry {
    proxy_wasm::main! {{
        proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn proxy_wasm::traits::RootContext> { Box::new(super::root::Root::default()) });
    }}
}

/// Logs through the host; a failing log call is not worth failing a request over.
fn log(level: LogLevel, message: &str) {
    let _ = proxy_wasm::hostcalls::log(level, message);
}
