//! Microsoft Entra ID tokens in place of API keys (DESIGN §4.7): Azure OpenAI (`auth: entra`) in
//! its deployment and v1 URL forms, Chat Completions and Responses, streaming and not, and Claude
//! on Azure AI Foundry (`providers.anthropic.auth: entra`). The real sidecar gets the tokens from
//! the fake Entra authority (HTTPS, test CA) through the standard `AZURE_*` variables.

use crate::common;

use common::keyless::{
    assert_no_secret_in_logs, entra_env, fake_secrets, header, post, runtime, stack, upstream, TempDir,
};
use serde_json::{json, Value};
use warden_e2e::fake_identity::entra::Entra;

const COGNITIVE_SCOPE: &str = "https://cognitiveservices.azure.com/.default";
const FOUNDRY_SCOPE: &str = "https://ai.azure.com/.default";

/// The scopes the fake authority was asked for, in order.
fn scopes_asked(fake: &Entra) -> Vec<String> {
    fake.server.control.requests().iter().filter_map(|r| r.form().get("scope").cloned()).collect()
}

fn chat(stream: bool) -> Value {
    json!({"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

fn responses(stream: bool) -> Value {
    json!({"model": "gpt-4o", "stream": stream, "input": "hi"})
}

#[test]
fn azure_openai_gets_an_entra_token_in_every_url_form_api_and_stream_mode() {
    let rt = runtime();
    let fake = rt.block_on(Entra::start());
    let dir = TempDir::new("entra");
    let stack = stack(
        json!({"profiles": {"default": {}}, "providers": {"azure": {"auth": "entra"}}}),
        json!({"credentials": {"azure": {}}}),
        entra_env(&fake, dir.path()),
        2,
    );
    // The client's own credentials, in both forms Azure accepts: neither may reach Azure.
    let client = [("api-key", "azure-client-key-must-not-go-upstream"), ("authorization", "Bearer client-bearer")];
    let deployment = "/openai/deployments/gpt4o-prod";
    let cases = [
        ("/v1/azure/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21", chat(false)),
        ("/v1/azure/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21", chat(true)),
        ("/v1/azure/chat/completions", chat(false)),
        ("/v1/azure/chat/completions", chat(true)),
        ("/v1/azure/openai/responses?api-version=2025-04-01-preview", responses(false)),
        ("/v1/azure/openai/responses?api-version=2025-04-01-preview", responses(true)),
        ("/v1/azure/responses", responses(false)),
        ("/v1/azure/responses", responses(true)),
    ];
    let want_paths = [
        format!("{deployment}/chat/completions?api-version=2024-10-21"),
        format!("{deployment}/chat/completions?api-version=2024-10-21"),
        "/openai/v1/chat/completions".to_owned(),
        "/openai/v1/chat/completions".to_owned(),
        "/openai/responses?api-version=2025-04-01-preview".to_owned(),
        "/openai/responses?api-version=2025-04-01-preview".to_owned(),
        "/openai/v1/responses".to_owned(),
        "/openai/v1/responses".to_owned(),
    ];
    for (i, ((path, body), want_path)) in cases.iter().zip(&want_paths).enumerate() {
        let id = format!("azure-{i}");
        let reply = post(&stack, path, &client, body, &id);
        let label = format!("{path} stream={}", body["stream"]);
        assert_eq!(reply.status, 200, "{label}: {}", reply.text());
        assert!(reply.text().contains("llo"), "{label}: the answer reached the client: {}", reply.text());
        let up = upstream(&stack, &id);
        assert_eq!(up["path"], json!(want_path), "{label}");
        assert_eq!(header(&up, "authorization"), Some("Bearer eyJ0eXAi.fake-entra-secret-1"), "{label}: {up}");
        assert_eq!(header(&up, "api-key"), None, "{label}: the client's key went upstream");
    }
    assert_eq!(scopes_asked(&fake), [COGNITIVE_SCOPE], "one token, for Azure OpenAI's scope, served every request");
    assert_no_secret_in_logs(&stack, &fake_secrets());
    assert!(stack.filter_crashes().is_empty(), "{:?}", stack.filter_crashes());
}

#[test]
fn claude_on_foundry_gets_a_token_for_the_foundry_scope_and_no_api_key_goes_upstream() {
    let rt = runtime();
    let fake = rt.block_on(Entra::start());
    let dir = TempDir::new("foundry");
    let stack = stack(
        json!({"profiles": {"default": {}}, "providers": {"anthropic": {"auth": "entra"}}}),
        json!({"credentials": {"azure": {}}}),
        entra_env(&fake, dir.path()),
        1,
    );
    // What anthropic.AnthropicFoundry sends with an API key: both headers.
    let client = [
        ("x-api-key", "foundry-client-key-must-not-go-upstream"),
        ("api-key", "foundry-client-key-must-not-go-upstream"),
        ("anthropic-version", "2023-06-01"),
    ];
    for (i, stream) in [false, true].into_iter().enumerate() {
        let id = format!("foundry-{i}");
        let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": "hi"}]});
        let reply = post(&stack, "/v1/anthropic/v1/messages", &client, &body, &id);
        assert_eq!(reply.status, 200, "stream={stream}: {}", reply.text());
        assert!(reply.text().contains("llo"), "stream={stream}: {}", reply.text());
        let up = upstream(&stack, &id);
        assert_eq!(up["path"], "/v1/messages");
        assert_eq!(header(&up, "authorization"), Some("Bearer eyJ0eXAi.fake-entra-secret-1"), "{up}");
        assert_eq!(header(&up, "x-api-key"), None, "the client's key went upstream");
        assert_eq!(header(&up, "api-key"), None, "the client's key went upstream");
        assert_eq!(header(&up, "anthropic-version"), Some("2023-06-01"), "other headers pass through");
    }
    assert_eq!(scopes_asked(&fake), [FOUNDRY_SCOPE]);
    assert_no_secret_in_logs(&stack, &fake_secrets());
}

#[test]
fn an_azure_resource_on_a_foundry_host_is_asked_a_token_for_the_foundry_scope() {
    let rt = runtime();
    let fake = rt.block_on(Entra::start());
    let dir = TempDir::new("foundry-host");
    let stack = stack(
        json!({"profiles": {"default": {}},
            "providers": {"azure": {"auth": "entra", "host": "x.services.ai.azure.com"}}}),
        json!({"credentials": {"azure": {}}}),
        entra_env(&fake, dir.path()),
        1,
    );
    let reply = post(&stack, "/v1/azure/chat/completions", &[("api-key", "k")], &chat(false), "foundry-host");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let up = upstream(&stack, "foundry-host");
    assert_eq!(header(&up, "authorization"), Some("Bearer eyJ0eXAi.fake-entra-secret-1"));
    assert_eq!(header(&up, "api-key"), None);
    assert_eq!(scopes_asked(&fake), [FOUNDRY_SCOPE]);
}
