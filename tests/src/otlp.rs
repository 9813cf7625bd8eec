//! A small OTLP/gRPC trace receiver: Envoy's OpenTelemetry tracer exports its spans here, and the
//! trace tests read them back (`TraceService/Export`, the collector's own protocol).

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One received span: its name and its attributes, every value as text.
#[derive(Debug, Clone)]
pub struct Span {
    pub name: String,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = Vec::new();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    let attributes = span
                        .attributes
                        .into_iter()
                        .map(|kv| (kv.key, kv.value.and_then(|v| v.value).map(text).unwrap_or_default()))
                        .collect();
                    spans.push(Span { name: span.name, attributes });
                }
            }
        }
        if let Ok(mut all) = self.0.lock() {
            all.extend(spans);
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

fn text(v: AnyValue) -> String {
    match v {
        AnyValue::StringValue(s) => s,
        AnyValue::BoolValue(b) => b.to_string(),
        AnyValue::IntValue(i) => i.to_string(),
        AnyValue::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// The receiver, listening on 127.0.0.1 until dropped.
pub struct Receiver {
    pub port: u16,
    spans: Arc<Mutex<Vec<Span>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    pub fn start() -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("otlp runtime: {e}"));
        let collector = Collector::default();
        let spans = collector.0.clone();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap_or_else(|e| panic!("otlp listener: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("otlp port: {e}"));
        runtime.spawn(async move {
            let incoming = tonic::transport::server::TcpIncoming::from(listener);
            let _ = tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(collector))
                .serve_with_incoming(incoming)
                .await;
        });
        Receiver { port, spans, _runtime: runtime }
    }

    /// The span whose attribute `key` is `value`, waiting up to `wait` for Envoy to export it
    /// (its exporter flushes every few seconds).
    pub fn wait_for(&self, key: &str, value: &str, wait: Duration) -> Option<Span> {
        let deadline = Instant::now() + wait;
        loop {
            let found =
                self.spans.lock().ok().and_then(|all| {
                    all.iter().find(|s| s.attributes.get(key).map(String::as_str) == Some(value)).cloned()
                });
            if found.is_some() || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().map(|s| s.clone()).unwrap_or_default()
    }
}
