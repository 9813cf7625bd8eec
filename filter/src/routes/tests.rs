use super::*;
use crate::config::Config;

fn config() -> Config {
    Config::from_json(br#"{"profiles":{"default":{},"team-a":{}},"providers":{"vllm":{"base_path":"/serve/v1"}}}"#)
        .unwrap()
}

fn classify_ok(method: &str, path: &str) -> Route {
    classify(&config(), method, path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn upstream(route: &Route) -> String {
    route.upstream.resolve(None).unwrap()
}

#[test]
fn openai_routes_with_and_without_profile() {
    let r = classify_ok("POST", "/v1/openai/chat/completions");
    assert_eq!((r.provider, r.api, r.profile.as_str()), (Provider::OpenAi, Some(Api::ChatCompletions), "default"));
    assert_eq!(upstream(&r), "/v1/chat/completions");
    let r = classify_ok("POST", "/v1/openai/team-a/responses");
    assert_eq!((r.api, r.profile.as_str()), (Some(Api::Responses), "team-a"));
    assert_eq!(upstream(&r), "/v1/responses");
    assert_eq!(classify_ok("POST", "/v1/openai/embeddings").api, Some(Api::Embeddings));
    let r = classify_ok("GET", "/v1/openai/models");
    assert_eq!((r.api, upstream(&r).as_str()), (Some(Api::Models), "/v1/models"));
}

#[test]
fn other_paths_under_a_provider_pass_through() {
    let r = classify_ok("GET", "/v1/openai/files?limit=2");
    assert_eq!((r.api, upstream(&r).as_str()), (None, "/v1/files?limit=2"));
    let r = classify_ok("POST", "/v1/anthropic/v1/messages/count_tokens");
    assert_eq!((r.api, upstream(&r).as_str()), (None, "/v1/messages/count_tokens"));
}

#[test]
fn unknown_profiles_and_providers_are_not_found() {
    assert!(matches!(
        classify(&config(), "POST", "/v1/openai/nope/chat/completions"),
        Err(WardenError::UnknownProfile { .. })
    ));
    assert!(matches!(classify(&config(), "POST", "/v1/nope/chat/completions"), Err(WardenError::UnknownRoute { .. })));
    assert!(matches!(classify(&config(), "GET", "/healthz"), Err(WardenError::UnknownRoute { .. })));
}

#[test]
fn azure_uses_the_v1_api_or_the_deployment_path_the_client_sent() {
    let r = classify_ok("POST", "/v1/azure/chat/completions");
    assert_eq!(upstream(&r), "/openai/v1/chat/completions");
    let r = classify_ok("POST", "/v1/azure/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
    assert_eq!(r.api, Some(Api::ChatCompletions));
    assert_eq!(upstream(&r), "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
}

#[test]
fn anthropic_messages() {
    let r = classify_ok("POST", "/v1/anthropic/team-a/v1/messages");
    assert_eq!((r.api, r.profile.as_str(), upstream(&r).as_str()), (Some(Api::Messages), "team-a", "/v1/messages"));
    assert_eq!(classify_ok("GET", "/v1/anthropic/v1/models").api, Some(Api::Models));
}

#[test]
fn gemini_model_and_stream_come_from_the_path() {
    let r = classify_ok("POST", "/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent");
    assert_eq!(
        (r.api, r.path_model.as_deref(), r.stream_by_route),
        (Some(Api::GenerateContent), Some("gemini-2.5-flash"), false)
    );
    let r = classify_ok("POST", "/v1/gemini/team-a/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
    assert!(r.stream_by_route && r.gemini_sse);
    assert_eq!(upstream(&r), "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
    let r = classify_ok("POST", "/v1/gemini/v1beta/models/gemini-2.5-pro:streamGenerateContent");
    assert!(r.stream_by_route && !r.gemini_sse);
    assert_eq!(classify_ok("POST", "/v1/gemini/v1beta/models/gemini-2.5-pro:countTokens").api, None);
}

#[test]
fn bedrock_path_and_body_forms() {
    let r = classify_ok("POST", "/v1/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream");
    assert_eq!(r.path_model.as_deref(), Some("anthropic.claude-3-haiku-20240307-v1:0"));
    assert!(r.stream_by_route);
    assert_eq!(upstream(&r), "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream");
    let r = classify_ok("POST", "/v1/bedrock/team-a/converse");
    assert_eq!(r.api, Some(Api::Converse));
    assert_eq!(r.upstream.resolve(None), None);
    assert_eq!(
        r.upstream.resolve(Some("us.amazon.nova-pro-v1:0")).unwrap(),
        "/model/us.amazon.nova-pro-v1%3A0/converse"
    );
}

#[test]
fn cohere_chat_maps_to_v2() {
    assert_eq!(upstream(&classify_ok("POST", "/v1/cohere/chat")), "/v2/chat");
    assert_eq!(upstream(&classify_ok("POST", "/v1/cohere/team-a/v2/chat")), "/v2/chat");
}

#[test]
fn openai_compatible_base_paths() {
    for (p, expected) in [
        ("groq", "/openai/v1/chat/completions"),
        ("openrouter", "/api/v1/chat/completions"),
        ("zhipuai", "/api/paas/v4/chat/completions"),
        ("perplexity", "/chat/completions"),
        ("mistral", "/v1/chat/completions"),
        ("xai", "/v1/chat/completions"),
        ("cerebras", "/v1/chat/completions"),
        ("deepseek", "/v1/chat/completions"),
        ("minimax", "/v1/chat/completions"),
        ("ollama", "/v1/chat/completions"),
        ("vllm", "/serve/v1/chat/completions"),
    ] {
        let r = classify_ok("POST", &format!("/v1/{p}/chat/completions"));
        assert_eq!((r.api, upstream(&r).as_str()), (Some(Api::ChatCompletions), expected), "{p}");
    }
    assert_eq!(classify_ok("POST", "/v1/mistral/embeddings").api, Some(Api::Embeddings));
    // Compatible providers have no Responses API.
    assert_eq!(classify_ok("POST", "/v1/groq/responses").api, None);
}

#[test]
fn encoded_forms_of_a_policed_api_are_refused_not_forwarded_unread() {
    for path in [
        "/v1/openai/chat%2Fcompletions",
        "/v1/openai/%63hat/completions",
        "/v1/openai/chat/./completions",
        "/v1/openai/chat/x/../completions",
        "/v1/openai/Chat/Completions",
        "/v1/openai/chat/completions;v=1",
        "/v1/openai/chat\\completions",
        "/v1/openai/team-a/chat%252Fcompletions",
        "/v1/azure/openai/deployments/d/chat%2Fcompletions?api-version=1",
        "/v1/anthropic/v1/Messages",
        "/v1/gemini/v1beta/models/gemini-2.5-flash%3AgenerateContent",
        "/v1/bedrock/model/m/Converse",
        "/v1/cohere/v2/Chat",
        "/v1/groq/chat/./completions",
    ] {
        match classify(&config(), "POST", path) {
            Err(WardenError::InvalidRequest { message }) => {
                assert!(message.contains("encoded form"), "{path}: {message}")
            }
            // An encoded first segment reads as a profile name, which is refused as unknown.
            Err(WardenError::UnknownProfile { .. }) => {}
            other => panic!("{path}: {other:?}"),
        }
    }
}

#[test]
fn gemini_method_names_are_matched_like_google_matches_them_and_tuned_models_are_policed() {
    let r = classify_ok("POST", "/v1/gemini/v1beta/tunedModels/my-model:generateContent");
    assert_eq!((r.api, r.path_model.as_deref()), (Some(Api::GenerateContent), Some("my-model")));
    let r = classify_ok("POST", "/v1/gemini/v1beta/models/gemini-2.5-flash:StreamGenerateContent?alt=sse");
    assert_eq!((r.api, r.stream_by_route, r.gemini_sse), (Some(Api::GenerateContent), true, true));
}

#[test]
fn endpoints_whose_tool_calls_the_gateway_does_not_police_are_refused() {
    for (method, path) in [
        ("POST", "/v1/openai/threads/t1/runs"),
        ("GET", "/v1/openai/responses/resp_1"),
        ("GET", "/v1/openai/chat/completions/chatcmpl_1"),
        ("POST", "/v1/anthropic/v1/messages/batches"),
        ("POST", "/v1/gemini/v1beta/models/gemini-2.5-flash:batchGenerateContent"),
    ] {
        assert!(
            matches!(classify(&config(), method, path), Err(WardenError::InvalidRequest { .. })),
            "{method} {path}"
        );
    }
    let r = classify_ok("POST", "/v1/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke");
    assert!(matches!(r.gate, Some(canonical::Gate::RefuseIfTools(_))));
    assert_eq!(classify_ok("DELETE", "/v1/openai/responses/resp_1").gate, None);
}

#[test]
fn gemini_on_vertex_goes_to_the_publisher_model_path_without_the_studio_key() {
    let c = Config::from_json(
        br#"{"profiles":{"default":{}},"providers":{"gemini":{"vertex":{"project":"my-proj","location":"us-central1"}}}}"#,
    )
    .unwrap();
    let r = classify(&c, "POST", "/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent?key=AIza").unwrap();
    assert_eq!(
        r.upstream_path(Some("gemini-2.5-flash")).unwrap(),
        "/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
    );
    let r =
        classify(&c, "POST", "/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=k").unwrap();
    assert_eq!(
        r.upstream_path(Some("gemini-2.5-pro")).unwrap(),
        "/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert!(r.stream_by_route && r.gemini_sse);
    assert!(matches!(
        classify(&c, "POST", "/v1/gemini/v1beta/tunedModels/t:generateContent"),
        Err(WardenError::InvalidRequest { .. })
    ));
    assert!(matches!(classify(&c, "GET", "/v1/gemini/v1beta/files"), Err(WardenError::InvalidRequest { .. })));
}
