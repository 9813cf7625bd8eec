//! The webhook's HTTPS server, end to end: a certificate made here, a TLS client that trusts only
//! it (as the API server trusts only the `caBundle`), an AdmissionReview POSTed as the API server
//! does.

use crate::{config, fixture};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

struct Server {
    addr: std::net::SocketAddr,
    ca: CertificateDer<'static>,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let cert = rcgen::generate_simple_self_signed(vec!["warden-injector.warden-system.svc".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let acceptor = warden_injector::server::tls_acceptor(&cert_path, &key_path).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warden_injector::server::serve(Arc::new(config()), listener, acceptor));
    Server { addr, ca: cert.cert.der().clone(), _dir: dir }
}

async fn send(server: &Server, method: &str, path: &str, body: Vec<u8>) -> (StatusCode, Bytes) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server.ca.clone()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("warden-injector.warden-system.svc").unwrap();
    let stream = connector.connect(name, tcp).await.expect("the handshake verifies the served certificate");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let request = Request::builder()
        .method(method)
        .uri(format!("{path}?timeout=5s"))
        .header("host", "warden-injector.warden-system.svc:443")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn an_admission_review_posted_over_https_gets_its_patch() {
    let server = start().await;
    let body = serde_json::to_vec(&fixture("labelled.json")).unwrap();
    let (status, answer) = send(&server, "POST", "/inject", body).await;
    assert_eq!(status, StatusCode::OK);
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["response"]["uid"], "b1f7e9a2-0c4d-4e5f-8a9b-1c2d3e4f5a60");
    assert_eq!(answer["response"]["allowed"], true);
    assert_eq!(answer["response"]["patchType"], "JSONPatch");
    assert!(answer["response"]["patch"].as_str().is_some_and(|p| !p.is_empty()));
}

#[tokio::test]
async fn the_namespace_path_injects_unlabelled_pods_and_the_pod_path_does_not() {
    let server = start().await;
    let body = serde_json::to_vec(&fixture("unlabelled.json")).unwrap();
    let (_, by_pod) = send(&server, "POST", "/inject", body.clone()).await;
    let (_, by_namespace) = send(&server, "POST", "/inject-namespace", body).await;
    let by_pod: serde_json::Value = serde_json::from_slice(&by_pod).unwrap();
    let by_namespace: serde_json::Value = serde_json::from_slice(&by_namespace).unwrap();
    assert!(by_pod["response"].get("patch").is_none());
    assert!(by_namespace["response"]["patch"].is_string());
}

#[tokio::test]
async fn health_bad_bodies_and_unknown_paths_get_plain_answers() {
    let server = start().await;
    assert_eq!(send(&server, "GET", "/healthz", Vec::new()).await.0, StatusCode::OK);
    assert_eq!(send(&server, "POST", "/inject", b"{}".to_vec()).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(send(&server, "GET", "/inject", Vec::new()).await.0, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(send(&server, "POST", "/mutate", Vec::new()).await.0, StatusCode::NOT_FOUND);
}
