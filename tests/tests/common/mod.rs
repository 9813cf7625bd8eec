//! Shared by the filter-contract test files.
#![allow(dead_code)]

pub mod jwt;
pub mod keyless;
pub mod policy;

use serde_json::Value;
use warden_e2e::client::Reply;
use warden_e2e::run::Failures;
use warden_e2e::{Stack, StackOptions};

/// Envoy with the warden module and the tests' plugin config.
pub fn warden_stack() -> Stack {
    warden_stack_with(StackOptions::default())
}

pub fn warden_stack_with(options: StackOptions) -> Stack {
    Stack::start(StackOptions {
        concurrency: 2,
        mock_binary: Some(env!("CARGO_BIN_EXE_mock_provider").into()),
        ..options
    })
}

/// The error shapes of DESIGN §4.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    OpenAi,
    Anthropic,
    Gemini,
    Bedrock,
    Cohere,
}

/// Checks a gateway-made error: status, JSON content type, the provider's shape, a message.
pub fn check_error_shape(f: &mut Failures, label: &str, reply: &Reply, status: u16, shape: Shape) {
    f.check(reply.status == status, || {
        format!("{label}: status {}, want {status} (body {})", reply.status, reply.text())
    });
    let ct = reply.header("content-type").unwrap_or_default();
    f.check(ct.starts_with("application/json"), || format!("{label}: content-type {ct:?}, want application/json"));
    let body = reply.json();
    let str_at = |p: &str| body.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty());
    let ok = match shape {
        Shape::OpenAi => {
            str_at("/error/message").is_some()
                && str_at("/error/type").is_some()
                && body.pointer("/error/code").is_some_and(|c| !c.is_null())
        }
        Shape::Anthropic => {
            str_at("/type") == Some("error") && str_at("/error/type").is_some() && str_at("/error/message").is_some()
        }
        Shape::Gemini => {
            body.pointer("/error/code").and_then(Value::as_u64) == Some(u64::from(status))
                && str_at("/error/message").is_some()
                && str_at("/error/status").is_some()
        }
        Shape::Bedrock => {
            str_at("/message").is_some() && reply.header("x-amzn-errortype").is_some_and(|v| !v.is_empty())
        }
        Shape::Cohere => str_at("/message").is_some(),
    };
    f.check(ok, || format!("{label}: body is not the {shape:?} error shape: {}", reply.text()));
}

/// Stores how the mock's Dual-LLM model `model` answers (`PUT /__mock/dual/<model>`).
pub fn dual_script(stack: &Stack, model: &str, script: Value) {
    let reply = warden_e2e::client::send(
        "PUT",
        &stack.mock_url(&format!("/__mock/dual/{model}")),
        &[("content-type", "application/json")],
        script.to_string().as_bytes(),
    )
    .expect("the mock takes the script");
    assert_eq!(reply.status, 204, "{}", reply.text());
}
