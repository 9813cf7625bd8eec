//! `warden-injector`: the command line over the library.

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use warden_injector::bootstrap::{self, Paths};
use warden_injector::config::Config;
use warden_injector::inject::Scope;

#[derive(Parser)]
#[command(
    name = "warden-injector",
    version,
    about = "Kubernetes mutating admission webhook: adds Warden's Envoy and sidecar to labelled pods"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the webhook over HTTPS (POST /inject, POST /inject-namespace, GET /healthz).
    Serve {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Answer one AdmissionReview read from a file (`-` for stdin) on stdout, as `serve` would.
    Review {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Answer as the namespace-wide webhook (`/inject-namespace`) instead of the pod-label one.
        #[arg(long)]
        namespace_enabled: bool,
        #[arg(value_name = "REVIEW_JSON")]
        review: PathBuf,
    },
    /// Write the injected Envoy's bootstrap, rendered from this configuration, to a file.
    RenderBootstrap {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The filter module (default: where the warden-envoy image has it).
        #[arg(long, value_name = "PATH", default_value = bootstrap::WASM_IN_IMAGE)]
        wasm: String,
        #[arg(long, value_name = "PATH", default_value = "/dev/stdout")]
        access_log: String,
        /// Overrides of the configured ports, for running the bootstrap outside a pod (0 lets
        /// Envoy pick one; its admin API then says which).
        #[arg(long, value_name = "PORT")]
        listen_port: Option<u16>,
        #[arg(long, value_name = "PORT")]
        admin_port: Option<u16>,
        #[arg(long, value_name = "PORT")]
        health_port: Option<u16>,
        #[arg(long, value_name = "PORT")]
        sidecar_port: Option<u16>,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

fn load(path: &Path) -> Result<Config, String> {
    Config::from_file(path).map_err(|e| e.to_string())
}

fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map_err(|e| format!("cannot read stdin: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve { config } => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("WARDEN_INJECTOR_LOG")
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,warden_injector=info")),
                )
                .init();
            let config = load(&config)?;
            // Render once at start so that a configuration Envoy could not load fails here.
            bootstrap::render_json(&config, &Paths::default()).map_err(|e| e.to_string())?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))?;
            runtime.block_on(async {
                tokio::select! {
                    result = warden_injector::server::run(config) => result.map_err(|e| e.to_string()),
                    _ = shutdown() => Ok(()),
                }
            })
        }
        Command::Review { config, namespace_enabled, review } => {
            let config = load(&config)?;
            let body = read_input(&review)?;
            let scope = if namespace_enabled { Scope::Namespace } else { Scope::Pod };
            let answer = warden_injector::review::answer(&config, &body, scope).map_err(|e| e.to_string())?;
            let json = serde_json::to_string_pretty(&answer).map_err(|e| e.to_string())?;
            println!("{json}");
            Ok(())
        }
        Command::RenderBootstrap {
            config,
            wasm,
            access_log,
            listen_port,
            admin_port,
            health_port,
            sidecar_port,
            out,
        } => {
            let mut config = load(&config)?;
            let envoy = &mut config.envoy;
            envoy.listen_port = listen_port.unwrap_or(envoy.listen_port);
            envoy.admin_port = admin_port.unwrap_or(envoy.admin_port);
            envoy.health_port = health_port.unwrap_or(envoy.health_port);
            config.sidecar.grpc_port = sidecar_port.unwrap_or(config.sidecar.grpc_port);
            let yaml = bootstrap::render_yaml(&config, &Paths { wasm, access_log }).map_err(|e| e.to_string())?;
            std::fs::write(&out, yaml).map_err(|e| format!("cannot write {}: {e}", out.display()))
        }
    }
}

/// SIGTERM (the kubelet) or Ctrl-C.
async fn shutdown() {
    #[cfg(unix)]
    {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("warden-injector: {message}");
            ExitCode::FAILURE
        }
    }
}
