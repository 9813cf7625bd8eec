//! Bedrock with `auth: sigv4` (DESIGN §4.7): the filter signs the final request — model rewritten
//! in the path, TOON in the body — with AWS credentials the real sidecar got from the fake
//! container-credentials endpoint (temporary keys with a session token) or from static keys in
//! its environment. Every signature the upstream received is checked by botocore
//! (`tests/scripts/verify_sigv4.py`), not by the code that made it.

use crate::common;

use common::keyless::{
    assert_no_secret_in_logs, aws_container_env, fake_secrets, header, post, runtime, stack, upstream,
};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};
use warden_e2e::fake_identity::aws::Aws;

const SONNET: &str = "anthropic.claude-3-5-sonnet-20240620-v1%3A0";
const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const HAIKU_IN_PATH: &str = "anthropic.claude-3-haiku-20240307-v1%3A0";
const PROFILE_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";
/// The ARN as boto3 puts it in the path: one segment, `:` and `/` encoded.
const PROFILE_ARN_IN_PATH: &str =
    "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0";

/// What the client sends besides the body: its own credentials of every kind, none of which
/// may reach AWS.
const CLIENT: [(&str, &str); 4] = [
    ("authorization", "Bearer bedrock-client-api-key"),
    ("x-api-key", "client-x-api-key"),
    ("x-amz-security-token", "client-session-token"),
    ("x-amz-date", "20000101T000000Z"),
];

/// The AWS keys a signature should have been made with.
struct Keys<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: Option<&'a str>,
    region: &'a str,
}

/// Checks `up`'s signature with botocore; `Err` carries botocore's explanation.
fn botocore_verifies(up: &Value, keys: &Keys) -> Result<(), String> {
    let python = warden_e2e::stack::venv().join("bin/python");
    let script = warden_e2e::stack::repo_root().join("tests/scripts/verify_sigv4.py");
    let input = json!({"method": up["method"], "path": up["path"], "headers": up["headers"], "body": up["body"],
        "access_key_id": keys.access_key_id, "secret_access_key": keys.secret_access_key,
        "session_token": keys.session_token, "region": keys.region, "service": "bedrock"});
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    child.stdin.take().expect("stdin").write_all(input.to_string().as_bytes()).expect("write to the verifier");
    let out = child.wait_with_output().expect("the verifier ran");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(())
    } else {
        Err(text)
    }
}

/// A conversation with a JSON tool result in Bedrock's shape (TOON turns it into a table).
fn converse_body() -> Value {
    let files: Vec<Value> = ["README.md", "src", "Cargo.toml", "target", "LICENSE"]
        .iter()
        .enumerate()
        .map(|(i, name)| json!({"name": name, "size": 1000 + i * 512, "type": "file"}))
        .collect();
    json!({
        "messages": [
            {"role": "user", "content": [{"text": "What is in this directory?"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "list_files", "input": {"path": "."}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"json": {"files": files}}]}}]}
        ],
        "toolConfig": {"tools": [{"toolSpec": {"name": "list_files", "description": "List the files in a directory",
            "inputSchema": {"json": {"type": "object", "properties": {"path": {"type": "string"}}}}}}]},
        "inferenceConfig": {"maxTokens": 256}
    })
}

fn plugin(region: &str, host: Option<&str>) -> Value {
    let mut bedrock = json!({"auth": "sigv4", "region": region});
    if let Some(host) = host {
        bedrock["host"] = json!(host);
    }
    json!({"default_profile": "default", "profiles": {
            "default": {"toon": {"enabled": true},
                "optimization_rules": [{"provider": "bedrock", "target_model": HAIKU, "conditions": [{"max_tokens": 100000}]}]},
            "inference": {"optimization_rules": [{"provider": "bedrock", "target_model": PROFILE_ARN, "conditions": [{"max_tokens": 100000}]}]},
            "plain": {}},
        "providers": {"bedrock": bedrock}})
}

/// Checks what AWS would have received for one request: signed by `keys` for `host`, nothing of
/// the client's credentials.
fn check_signed(up: &Value, keys: &Keys, host: &str, label: &str) {
    assert_eq!(header(up, "host"), Some(host), "{label}: :authority is the signed host");
    let auth = header(up, "authorization").unwrap_or_default();
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={}/", keys.access_key_id)),
        "{label}: authorization {auth:?}"
    );
    assert!(auth.contains(&format!("/{}/bedrock/aws4_request", keys.region)), "{label}: {auth}");
    assert_eq!(header(up, "x-api-key"), None, "{label}: the client's x-api-key went upstream");
    assert_eq!(header(up, "x-amz-security-token"), keys.session_token, "{label}: the session token");
    assert_ne!(header(up, "x-amz-date"), Some("20000101T000000Z"), "{label}: the client's x-amz-date went upstream");
    if let Err(why) = botocore_verifies(up, keys) {
        panic!("{label}: botocore rejects the signature: {why}\nrequest: {up}");
    }
}

#[test]
fn bedrock_requests_are_signed_with_container_credentials_after_every_rewrite() {
    let rt = runtime();
    let fake = rt.block_on(Aws::start());
    let stack = stack(
        plugin("us-east-1", None),
        json!({"credentials": {"aws": {"region": "us-east-1"}}}),
        aws_container_env(&fake),
        2,
    );
    // (profile, client path model, action, upstream path model, TOON expected)
    let cases = [
        ("default", SONNET, "converse", HAIKU_IN_PATH, true),
        ("default", SONNET, "converse-stream", HAIKU_IN_PATH, true),
        ("inference", SONNET, "converse", PROFILE_ARN_IN_PATH, false),
        ("inference", SONNET, "converse-stream", PROFILE_ARN_IN_PATH, false),
        ("plain", PROFILE_ARN_IN_PATH, "converse", PROFILE_ARN_IN_PATH, false),
        ("plain", HAIKU_IN_PATH, "converse-stream", HAIKU_IN_PATH, false),
    ];
    let keys = Keys {
        access_key_id: "ASIAFAKECONTAINER0001",
        secret_access_key: "test-only-container-secret-access-key-1",
        session_token: Some("test-only-container-session-token-1"),
        region: "us-east-1",
    };
    for (i, (profile, model, action, want_model, toon)) in cases.into_iter().enumerate() {
        let id = format!("bedrock-{i}");
        let label = format!("{profile} {model} {action}");
        let reply =
            post(&stack, &format!("/v1/bedrock/{profile}/model/{model}/{action}"), &CLIENT, &converse_body(), &id);
        assert_eq!(reply.status, 200, "{label}: {}", reply.text());
        assert!(String::from_utf8_lossy(&reply.body).contains("llo"), "{label}: the answer reached the client");
        let up = upstream(&stack, &id);
        assert_eq!(up["path"], format!("/model/{want_model}/{action}"), "{label}: the model in the path");
        let body = up["body"].as_str().unwrap_or_default();
        assert_eq!(body.contains("files[5]{"), toon, "{label}: TOON in the signed body: {body}");
        check_signed(&up, &keys, "bedrock-runtime.us-east-1.amazonaws.com", &label);
    }
    // The checker is not a rubber stamp: the same request with one byte of the body changed fails.
    let mut tampered = upstream(&stack, "bedrock-0");
    tampered["body"] = json!(tampered["body"].as_str().unwrap_or_default().replacen("README", "READMF", 1));
    assert!(botocore_verifies(&tampered, &keys).is_err(), "botocore accepted a signature over another body");
    assert_eq!(fake.server.control.issued(), 1, "one set of credentials signed every request");
    assert_no_secret_in_logs(&stack, &fake_secrets());
    assert!(stack.filter_crashes().is_empty(), "{:?}", stack.filter_crashes());
}

#[test]
fn static_keys_sign_for_the_configured_host_and_region_without_a_session_token() {
    const KEY_ID: &str = "AKIAWARDENTESTONLY01";
    const SECRET: &str = "test-only-static-secret-access-key-0b7e";
    let host = "bedrock-runtime-fips.us-west-2.amazonaws.com";
    let stack = stack(
        plugin("us-west-2", Some(host)),
        json!({"credentials": {"aws": {"region": "us-west-2"}}}),
        vec![("AWS_ACCESS_KEY_ID".into(), KEY_ID.into()), ("AWS_SECRET_ACCESS_KEY".into(), SECRET.into())],
        1,
    );
    let keys = Keys { access_key_id: KEY_ID, secret_access_key: SECRET, session_token: None, region: "us-west-2" };
    for (i, action) in ["converse", "converse-stream"].into_iter().enumerate() {
        let id = format!("static-{i}");
        let reply =
            post(&stack, &format!("/v1/bedrock/plain/model/{HAIKU_IN_PATH}/{action}"), &CLIENT, &converse_body(), &id);
        assert_eq!(reply.status, 200, "{action}: {}", reply.text());
        check_signed(&upstream(&stack, &id), &keys, host, action);
    }
    // The body form: the filter builds the path from `modelId`, then signs it.
    let mut body = converse_body();
    body["modelId"] = json!(PROFILE_ARN);
    let reply = post(&stack, "/v1/bedrock/plain/converse", &CLIENT, &body, "static-body-model");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let up = upstream(&stack, "static-body-model");
    assert_eq!(up["path"], format!("/model/{PROFILE_ARN_IN_PATH}/converse"));
    check_signed(&up, &keys, host, "modelId in the body");
    let mut secrets = fake_secrets();
    secrets.push(SECRET.into());
    assert_no_secret_in_logs(&stack, &secrets);
}

/// The model router to Bedrock with a virtual key that says `auth: sigv4`: the OpenAI request is
/// translated to Converse, then signed with the sidecar's AWS credentials; neither the virtual key
/// nor any client credential reaches AWS.
#[test]
fn a_routed_request_to_bedrock_is_translated_then_signed_when_the_key_says_sigv4() {
    const KEY_ID: &str = "AKIAWARDENROUTERONLY1";
    const SECRET: &str = "test-only-router-secret-access-key-77";
    const VIRTUAL: &str = "wdn_router_sigv4_0123456789";
    let dir = common::keyless::TempDir::new("router-sigv4");
    let keys_file = dir.path().join("keys.yaml");
    std::fs::write(
        &keys_file,
        format!("keys:\n  - {{id: signer, key: {VIRTUAL}, providers: {{bedrock: {{auth: sigv4}}}}}}\n"),
    )
    .expect("keys file");
    let stack = stack(
        plugin("us-east-1", None),
        json!({"credentials": {"aws": {"region": "us-east-1"}}, "keys": {"file": keys_file}}),
        vec![("AWS_ACCESS_KEY_ID".into(), KEY_ID.into()), ("AWS_SECRET_ACCESS_KEY".into(), SECRET.into())],
        1,
    );
    let keys = Keys { access_key_id: KEY_ID, secret_access_key: SECRET, session_token: None, region: "us-east-1" };
    let auth = format!("Bearer {VIRTUAL}");
    for (i, stream) in [false, true].into_iter().enumerate() {
        let id = format!("routed-sigv4-{i}");
        let body = json!({"model": format!("bedrock:{HAIKU}"), "stream": stream, "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}]});
        let reply =
            post(&stack, "/v1/model-router/plain/chat/completions", &[("authorization", auth.as_str())], &body, &id);
        assert_eq!(reply.status, 200, "{}", reply.text());
        let text = reply.text();
        assert!(text.contains("chat.completion") && text.contains("llo"), "an OpenAI answer: {text}");
        let up = upstream(&stack, &id);
        let action = if stream { "converse-stream" } else { "converse" };
        assert_eq!(up["path"], format!("/model/{HAIKU_IN_PATH}/{action}"));
        assert!(up["body"].as_str().unwrap_or_default().contains("\"inferenceConfig\""), "a Converse body: {up}");
        assert!(!up.to_string().contains("wdn_"), "the virtual key reached AWS");
        check_signed(&up, &keys, "bedrock-runtime.us-east-1.amazonaws.com", action);
    }
    let mut secrets = fake_secrets();
    secrets.extend([SECRET.into(), VIRTUAL.into()]);
    assert_no_secret_in_logs(&stack, &secrets);
}
