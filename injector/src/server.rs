//! The HTTPS server the API server calls: `POST /inject`, `POST /inject-namespace`, and
//! `GET /healthz` for the injector's own probes. The certificate is re-read when its files change
//! (cert-manager renews it in place), so a renewal needs no restart.

use crate::config::Config;
use crate::inject::Scope;
use crate::review;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, StatusCode};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The API server sends one pod per review; far below this.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// How often a handshake may look at the certificate files' modification times.
const RELOAD_CHECK: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot load the TLS certificate {path}: {message}")]
    Certificate { path: PathBuf, message: String },
    #[error("cannot listen on {addr}: {message}")]
    Listen { addr: std::net::SocketAddr, message: String },
    #[error("the configuration has no `tls` block: the API server only calls webhooks over HTTPS")]
    NoTls,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, ServeError> {
    let cert_err = |message: String| ServeError::Certificate { path: cert.to_owned(), message };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_err(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err("no certificate in the file".to_owned()));
    }
    // The key's own error text is not repeated: it could quote key material.
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|_| ServeError::Certificate {
        path: key.to_owned(),
        message: "no readable PEM private key".to_owned(),
    })?;
    // rustls's errors here name the problem (unsupported type, key not matching), not the bytes.
    CertifiedKey::from_der(chain, key_der, &provider())
        .map_err(|e| ServeError::Certificate { path: key.to_owned(), message: e.to_string() })
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

struct Loaded {
    key: Arc<CertifiedKey>,
    stamps: (Option<SystemTime>, Option<SystemTime>),
    checked: Instant,
}

/// Serves the current certificate, reloading it when the files changed.
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    every: Duration,
    state: Mutex<Loaded>,
}

impl std::fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingCert").field("cert", &self.cert).finish_non_exhaustive()
    }
}

impl ReloadingCert {
    pub fn new(cert: &Path, key: &Path) -> Result<Self, ServeError> {
        Self::checking_every(cert, key, RELOAD_CHECK)
    }

    /// [`ReloadingCert::new`] looking at the files at most once per `every`.
    pub fn checking_every(cert: &Path, key: &Path, every: Duration) -> Result<Self, ServeError> {
        let loaded = Loaded {
            key: Arc::new(load(cert, key)?),
            stamps: (modified(cert), modified(key)),
            checked: Instant::now(),
        };
        Ok(ReloadingCert { cert: cert.to_owned(), key: key.to_owned(), every, state: Mutex::new(loaded) })
    }

    /// The certificate a handshake starting now gets.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        let mut state = self.state.lock().ok()?;
        if state.checked.elapsed() >= self.every {
            state.checked = Instant::now();
            let stamps = (modified(&self.cert), modified(&self.key));
            if stamps != state.stamps {
                // A renewal writes both files; a half-written pair fails to load and the old
                // certificate keeps serving until the next check.
                match load(&self.cert, &self.key) {
                    Ok(key) => {
                        state.key = Arc::new(key);
                        state.stamps = stamps;
                        tracing::info!(cert = %self.cert.display(), "reloaded the serving certificate");
                    }
                    Err(e) => tracing::warn!(error = %e, "keeping the previous serving certificate"),
                }
            }
        }
        Some(state.key.clone())
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ServeError> {
    let resolver = Arc::new(ReloadingCert::new(cert, key)?);
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Certificate { path: cert.to_owned(), message: e.to_string() })?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    response
}

/// The answer to one request.
pub async fn handle(config: &Config, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let scope = match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => return reply(StatusCode::OK, "text/plain", "ok\n"),
        (&Method::POST, "/inject") => Scope::Pod,
        (&Method::POST, "/inject-namespace") => Scope::Namespace,
        (_, "/inject" | "/inject-namespace") => {
            return reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "POST only\n")
        }
        _ => return reply(StatusCode::NOT_FOUND, "text/plain", "not found: POST /inject, /inject-namespace\n"),
    };
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return reply(StatusCode::BAD_REQUEST, "text/plain", format!("cannot read the body: {e}\n")),
    };
    match review::answer(config, &body, scope) {
        Ok(answer) => match serde_json::to_vec(&answer) {
            Ok(json) => reply(StatusCode::OK, "application/json", json),
            Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", format!("{e}\n")),
        },
        Err(e) => reply(StatusCode::BAD_REQUEST, "text/plain", format!("{e}\n")),
    }
}

/// Accepts connections on `listener` until the process ends.
pub async fn serve(config: Arc<Config>, listener: TcpListener, acceptor: TlsAcceptor) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (config, acceptor) = (config.clone(), acceptor.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
            };
            let service = hyper::service::service_fn(move |req| {
                let config = config.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&config, req).await) }
            });
            let io = hyper_util::rt::TokioIo::new(tls);
            if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// Binds the configured address and serves; returns only on a start-up error.
pub async fn run(config: Config) -> Result<(), ServeError> {
    let tls = config.tls.as_ref().ok_or(ServeError::NoTls)?;
    let acceptor = tls_acceptor(&tls.cert, &tls.key)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServeError::Listen { addr: config.listen, message: e.to_string() })?;
    tracing::info!(addr = %config.listen, "warden-injector serving");
    serve(Arc::new(config), listener, acceptor).await;
    Ok(())
}
