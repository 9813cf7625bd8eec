//! warden-sidecar: the one Warden component that holds secrets. It mints cloud credentials for
//! the Envoy filter over gRPC (`warden.v1.Credentials`), sanitises untrusted tool results with two
//! models (`warden.v1.DualLlm`), resolves virtual keys (`warden.v1.Keys`), keeps the mesh-wide
//! cost-limit counters in Redis (`warden.v1.Limits`), serves `grpc.health.v1`, exposes `/healthz`
//! and `/metrics` on an admin port, and validates plugin configurations (`check-config`) with the
//! filter's own code.
//!
//! - [`config`] — the YAML configuration;
//! - [`credentials`] — one module per cloud, the cache in front of them;
//! - [`dual_llm`] — the Dual-LLM sanitiser: protocol, model calls, cache;
//! - [`keys`] — the virtual-keys file, kept current; [`limits`] — the Redis counters;
//! - [`models`] — live model lists for the model router;
//! - [`server`] — the gRPC services; [`admin`] — the admin port; [`metrics`] — Prometheus;
//! - [`error`] — errors and their gRPC statuses; [`redact`] — keeps secrets out of messages;
//! - [`check`] — `check-config`.

pub mod admin;
pub mod check;
pub mod config;
pub mod credentials;
pub mod dual_llm;
pub mod error;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod models;
pub mod redact;
pub mod server;

use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind { addr: std::net::SocketAddr, what: &'static str, source: std::io::Error },
    #[error("the gRPC server stopped: {0}")]
    Grpc(#[from] tonic::transport::Error),
    #[error("{0}")]
    Keys(#[from] keys::file::KeysFileError),
    #[error("{0}")]
    Redis(#[from] limits::SetupError),
    #[error("models: {0}")]
    Models(String),
}

/// Runs the sidecar until SIGINT/SIGTERM. Prints one line to stdout once both ports listen:
/// `LISTENING grpc=<addr> admin=<addr>` (the actual ports when the config asks for port 0).
pub async fn serve(config: config::Config) -> Result<(), ServeError> {
    let grpc = TcpListener::bind(config.listen).await.map_err(|source| ServeError::Bind {
        addr: config.listen,
        what: "listen",
        source,
    })?;
    let admin = TcpListener::bind(config.admin_listen).await.map_err(|source| ServeError::Bind {
        addr: config.admin_listen,
        what: "admin_listen",
        source,
    })?;
    let grpc_addr =
        grpc.local_addr().map_err(|source| ServeError::Bind { addr: config.listen, what: "listen", source })?;
    let admin_addr = admin.local_addr().map_err(|source| ServeError::Bind {
        addr: config.admin_listen,
        what: "admin_listen",
        source,
    })?;

    let metrics = Arc::new(metrics::Metrics::default());
    let serving = Arc::new(admin::Serving::default());
    let minter =
        Arc::new(credentials::Minter::new(&config.credentials, redact::Redactor::from_env(), metrics.clone()).await);
    let key_store = match &config.keys {
        Some(k) => {
            let context = keys::file::Context { aws_enabled: config.credentials.aws.is_some() };
            Some(Arc::new(keys::KeyStore::open(&k.file, context, metrics.clone())?))
        }
        None => None,
    };
    let counters = match &config.redis {
        Some(r) => Some(Arc::new(limits::Counters::new(r, metrics.clone())?)),
        None => None,
    };
    let models = models::ModelsService::new(config.models.as_ref(), key_store.clone(), minter.clone())
        .map_err(ServeError::Models)?;
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<warden_proto::v1::credentials_server::CredentialsServer<server::CredentialsService>>().await;
    let dual_llm = dual_llm::DualLlmService::new(config.dual_llm.as_ref(), metrics.clone());
    if dual_llm.ready() {
        health.set_serving::<warden_proto::v1::dual_llm_server::DualLlmServer<dual_llm::DualLlmService>>().await;
    }
    health.set_serving::<warden_proto::v1::keys_server::KeysServer<keys::grpc::KeysService>>().await;
    health.set_serving::<warden_proto::v1::limits_server::LimitsServer<limits::grpc::LimitsService>>().await;
    if let Some(store) = &key_store {
        tokio::spawn(store.clone().watch());
    }

    tokio::spawn(admin::serve(admin, serving.clone(), metrics.clone()));
    serving.set(true);
    println!("LISTENING grpc={grpc_addr} admin={admin_addr}");
    tracing::info!(%grpc_addr, %admin_addr, "warden-sidecar serving");
    let outcome = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(server::CredentialsService::new(minter))
        .add_service(dual_llm.into_server())
        .add_service(keys::grpc::KeysService::new(key_store, metrics.clone()))
        .add_service(limits::grpc::LimitsService::new(counters))
        .add_service(models)
        .serve_with_incoming_shutdown(incoming(grpc), shutdown())
        .await;
    serving.set(false);
    outcome.map_err(ServeError::from)
}

/// Accepted gRPC connections with Nagle's algorithm off. A listener of our own (bound before the
/// server, to print its address) does not get tonic's default `TCP_NODELAY`; without it the last
/// small frame of an answer (the trailers) waits for Envoy's delayed ACK — 20 to 40 ms a call when
/// requests come one at a time.
fn incoming(listener: TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

async fn shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
