//! The admin port: `GET /healthz` (200 while the gRPC server is serving, 503 otherwise) and
//! `GET /metrics` (Prometheus text). Plain HTTP/1.1.

use crate::metrics::Metrics;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;

/// Set once the gRPC listener accepts connections, cleared when it stops.
#[derive(Debug, Default)]
pub struct Serving(AtomicBool);

impl Serving {
    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::SeqCst);
    }

    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    response
}

/// The answer to one admin request.
pub fn respond(method: &Method, path: &str, serving: &Serving, metrics: &Metrics) -> Response<Full<Bytes>> {
    match (method, path) {
        (&Method::GET, "/healthz") if serving.get() => reply(StatusCode::OK, "text/plain", "ok\n".into()),
        (&Method::GET, "/healthz") => reply(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "not serving\n".into()),
        (&Method::GET, "/metrics") => {
            reply(StatusCode::OK, "application/openmetrics-text; version=1.0.0; charset=utf-8", metrics.render())
        }
        (_, "/healthz" | "/metrics") => reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only\n".into()),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found: GET /healthz or /metrics\n".into()),
    }
}

/// Serves the admin port until the process ends.
pub async fn serve(listener: TcpListener, serving: Arc<Serving>, metrics: Arc<Metrics>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "admin accept failed");
                continue;
            }
        };
        let (serving, metrics) = (serving.clone(), metrics.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let response = respond(req.method(), req.uri().path(), &serving, &metrics);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await {
                tracing::debug!(error = %e, "admin connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthz_follows_the_serving_flag() {
        let (serving, metrics) = (Serving::default(), Metrics::default());
        assert_eq!(respond(&Method::GET, "/healthz", &serving, &metrics).status(), StatusCode::SERVICE_UNAVAILABLE);
        serving.set(true);
        assert_eq!(respond(&Method::GET, "/healthz", &serving, &metrics).status(), StatusCode::OK);
    }

    #[test]
    fn metrics_is_prometheus_text_and_other_paths_are_404() {
        let (serving, metrics) = (Serving::default(), Metrics::default());
        let r = respond(&Method::GET, "/metrics", &serving, &metrics);
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()[hyper::header::CONTENT_TYPE].to_str().unwrap().starts_with("application/openmetrics-text"));
        assert_eq!(respond(&Method::GET, "/", &serving, &metrics).status(), StatusCode::NOT_FOUND);
        assert_eq!(respond(&Method::POST, "/metrics", &serving, &metrics).status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
