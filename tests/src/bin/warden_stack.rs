//! Starts a stack (mock provider + Envoy + warden) and keeps it up until SIGTERM/SIGINT.
//!
//! `warden_stack [OPTIONS_JSON_FILE] [READY_FILE]`: the options file holds `StackOptions` fields
//! (`plugin_config`, `concurrency`, `max_body_bytes`, `wasm`, `wasm_path`, `template`, …; all
//! optional). Once Envoy is ready, `{"base_url","https_url","admin_url","mock_url","access_log","dir",
//! "sidecar_admin_url"}` is written to READY_FILE (and printed; `sidecar_admin_url` is null without a
//! sidecar). Used by the Python SDK suite, `make demo` and `make bench`.

use serde_json::json;
use warden_e2e::{Stack, StackOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options: StackOptions = match args.first() {
        Some(path) => {
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| exit(&format!("cannot read {path}: {e}")));
            serde_json::from_str(&text).unwrap_or_else(|e| exit(&format!("{path}: {e}")))
        }
        None => StackOptions::default(),
    };
    let stack = Stack::start(options);
    let ready = json!({
        "base_url": stack.url(""),
        "admin_url": stack.admin_url(""),
        "mock_url": stack.mock_url(""),
        "https_url": if stack.tls_port != 0 { json!(stack.https_url("")) } else { json!(null) },
        "sidecar_admin_url": stack.sidecar().map(|s| s.admin_url("")),
        "access_log": stack.dir().join("access.log"),
        "dir": stack.dir(),
    });
    if let Some(path) = args.get(1) {
        // Write then rename, so a reader polling for the file never sees half of it.
        let tmp = format!("{path}.tmp");
        if std::fs::write(&tmp, ready.to_string()).and_then(|()| std::fs::rename(&tmp, path)).is_err() {
            exit(&format!("cannot write ready file {path}"));
        }
    }
    println!("{ready}");
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| exit(&e.to_string()));
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            exit("cannot install signal handlers");
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    });
    drop(stack);
}

fn exit(message: &str) -> ! {
    eprintln!("warden_stack: {message}");
    std::process::exit(2)
}
