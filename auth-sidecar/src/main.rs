//! `warden-sidecar`: the command line over the library (DESIGN §4.7).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "warden-sidecar",
    version,
    about = "Warden's sidecar: cloud credentials, Dual-LLM sanitisation, virtual keys and shared cost limits for the Envoy filter"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve gRPC (warden.v1.Credentials, DualLlm, Keys, Limits, grpc.health.v1) and the admin port.
    Serve {
        /// The sidecar's YAML configuration.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Validate a plugin configuration with the filter's own code: "ok" and exit 0 when valid,
    /// the error with the path of the offending key and exit 1 otherwise.
    CheckConfig {
        #[arg(value_name = "PLUGIN_JSON")]
        plugin_json: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { plugin_json } => match warden_sidecar::check::check(&plugin_json) {
            Ok(()) => {
                println!("ok");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("{message}");
                ExitCode::FAILURE
            }
        },
        Command::Serve { config } => serve(&config),
    }
}

fn serve(path: &std::path::Path) -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WARDEN_SIDECAR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,warden_sidecar=info")),
        )
        .init();
    let config = match warden_sidecar::config::Config::from_file(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warden-sidecar: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("warden-sidecar: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(warden_sidecar::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden-sidecar: {e}");
            ExitCode::FAILURE
        }
    }
}
