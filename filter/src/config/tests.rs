use super::*;

fn parse(json: &str) -> Result<Config, ConfigError> {
    Config::from_json(json.as_bytes())
}

#[test]
fn minimal_config_gets_defaults() {
    let c = parse(r#"{"profiles":{"default":{}}}"#).unwrap();
    assert_eq!(c.default_profile, "default");
    assert_eq!(c.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    assert!(c.prices.is_empty());
}

#[test]
fn unknown_keys_are_rejected_with_their_path() {
    let e = parse(r#"{"profiles":{"ops":{"tool_polices":[]}}}"#).unwrap_err();
    assert_eq!(e.path, "profiles.ops.tool_polices");
    assert!(e.message.contains("tool_polices"), "{e}");
    let e = parse(r#"{"profiles":{"default":{}},"prices":{"openai:gpt-5":{"input":1,"output":2,"cahce_read":1}}}"#)
        .unwrap_err();
    assert_eq!(e.path, "prices.openai:gpt-5.cahce_read");
}

#[test]
fn wrong_types_name_the_path() {
    let e = parse(r#"{"profiles":{"default":{}},"max_body_bytes":"big"}"#).unwrap_err();
    assert_eq!(e.path, "max_body_bytes");
}

#[test]
fn profiles_are_required() {
    assert_eq!(parse(r#"{}"#).unwrap_err().path, "profiles");
    assert_eq!(parse(r#"{"profiles":{}}"#).unwrap_err().path, "profiles");
}

#[test]
fn default_profile_must_exist() {
    let e = parse(r#"{"default_profile":"ops","profiles":{"default":{}}}"#).unwrap_err();
    assert_eq!(e.path, "default_profile");
}

#[test]
fn profile_ids_that_collide_with_api_segments_are_rejected() {
    let e = parse(r#"{"profiles":{"default":{},"v1":{}}}"#).unwrap_err();
    assert_eq!(e.path, "profiles.v1");
    let e = parse(r#"{"profiles":{"default":{},"chat":{}}}"#).unwrap_err();
    assert_eq!(e.path, "profiles.chat");
}

#[test]
fn price_keys_must_name_a_provider_and_model() {
    assert_eq!(
        parse(r#"{"profiles":{"default":{}},"prices":{"gpt-5":{"input":1,"output":1}}}"#).unwrap_err().path,
        "prices.gpt-5"
    );
    assert_eq!(
        parse(r#"{"profiles":{"default":{}},"prices":{"nope:x":{"input":1,"output":1}}}"#).unwrap_err().path,
        "prices.nope:x"
    );
    assert_eq!(
        parse(r#"{"profiles":{"default":{}},"prices":{"openai:x":{"input":-1,"output":1}}}"#).unwrap_err().path,
        "prices.openai:x.input"
    );
    // Bedrock ids contain ':' themselves; the key splits at the first one.
    let c = parse(r#"{"profiles":{"default":{}},"prices":{"bedrock:anthropic.claude-3-haiku-20240307-v1:0":{"input":0.25,"output":1.25}}}"#).unwrap();
    assert_eq!(c.prices.len(), 1);
}

#[test]
fn provider_settings_are_checked() {
    assert_eq!(parse(r#"{"profiles":{"default":{}},"providers":{"nope":{}}}"#).unwrap_err().path, "providers.nope");
    assert_eq!(
        parse(r#"{"profiles":{"default":{}},"providers":{"groq":{"base_path":"openai/v1"}}}"#).unwrap_err().path,
        "providers.groq.base_path"
    );
    assert_eq!(
        parse(r#"{"profiles":{"default":{}},"providers":{"openai":{"region":"x"}}}"#).unwrap_err().path,
        "providers.openai.region"
    );
    let c = parse(r#"{"profiles":{"default":{}},"providers":{"bedrock":{"auth":"api_key","region":"us-east-1"}}}"#)
        .unwrap();
    assert!(c.providers.contains_key("bedrock"));
}

#[test]
fn credential_settings_belong_to_the_providers_that_use_them() {
    let path = |providers: &str| {
        parse(&format!(r#"{{"profiles":{{"default":{{}}}},"providers":{providers}}}"#)).err().map(|e| e.path)
    };
    assert_eq!(path(r#"{"openai":{"auth":"entra"}}"#).as_deref(), Some("providers.openai.auth"));
    assert_eq!(path(r#"{"azure":{"auth":"sigv4"}}"#).as_deref(), Some("providers.azure.auth"));
    assert_eq!(path(r#"{"bedrock":{"auth":"sigv4"}}"#).as_deref(), Some("providers.bedrock.region"));
    assert_eq!(path(r#"{"bedrock":{"auth":"sigv4","region":"us east"}}"#).as_deref(), Some("providers.bedrock.region"));
    assert_eq!(
        path(r#"{"openai":{"vertex":{"project":"p","location":"l"}}}"#).as_deref(),
        Some("providers.openai.vertex")
    );
    assert_eq!(
        path(r#"{"gemini":{"vertex":{"project":"p/x","location":"l"}}}"#).as_deref(),
        Some("providers.gemini.vertex.project")
    );
    assert_eq!(path(r#"{"gemini":{"vertex":{"project":"p"}}}"#).as_deref(), Some("providers.gemini.vertex.location"));
    assert_eq!(path(r#"{"azure":{"scope":"x"}}"#).as_deref(), Some("providers.azure.scope"));
    assert_eq!(path(r#"{"azure":{"auth":"entra","cope":"x"}}"#).as_deref(), Some("providers.azure.cope"));
    for ok in [
        r#"{"azure":{"auth":"entra"},"anthropic":{"auth":"entra","host":"r.services.ai.azure.com"}}"#,
        r#"{"bedrock":{"auth":"sigv4","region":"eu-west-1","host":"bedrock.internal"}}"#,
        r#"{"gemini":{"vertex":{"project":"my-proj","location":"us-central1"}}}"#,
        r#"{"azure":{"auth":"entra","scope":"api://custom/.default"}}"#,
    ] {
        assert_eq!(path(ok), None, "{ok}");
    }
}

#[test]
fn trailing_garbage_is_an_error() {
    assert!(parse(r#"{"profiles":{"default":{}}} x"#).is_err());
}

#[test]
fn optimisation_rules_and_toon_are_parsed_and_checked() {
    let c = parse(
        r#"{"profiles":{"default":{"toon":{"enabled":true},"optimization_rules":[
            {"provider":"openai","target_model":"gpt-5-mini","conditions":[{"max_tokens":1000},{"has_tools":false}]}]}}}"#,
    )
    .unwrap();
    let p = &c.profiles["default"];
    assert!(p.toon.enabled);
    assert_eq!(p.optimization_rules[0].max_tokens(), Some(1000));
    assert!(c.tokenizer.is_some(), "TOON needs the tokenizer, built at configure time");
    assert!(parse(r#"{"profiles":{"default":{}}}"#).unwrap().tokenizer.is_none());
    let e = parse(r#"{"profiles":{"default":{"optimization_rules":[{"provider":"nope","target_model":"x"}]}}}"#)
        .unwrap_err();
    assert_eq!(e.path, "profiles.default.optimization_rules[0].provider");
    let e = parse(r#"{"profiles":{"default":{"optimization_rules":[{"provider":"openai","target_model":"x","conditions":[{"max_token":5}]}]}}}"#)
        .unwrap_err();
    assert!(e.path.starts_with("profiles.default.optimization_rules[0].conditions[0]"), "{e}");
}

#[test]
fn the_agent_label_bound_defaults_to_100_and_is_capped() {
    let c = parse(r#"{"profiles":{"default":{}}}"#).unwrap();
    assert_eq!(c.metrics.max_agent_ids, DEFAULT_MAX_AGENT_IDS);
    let c = parse(r#"{"profiles":{"default":{}},"metrics":{"max_agent_ids":0}}"#).unwrap();
    assert_eq!(c.metrics.max_agent_ids, 0);
    let e = parse(r#"{"profiles":{"default":{}},"metrics":{"max_agent_ids":1001}}"#).unwrap_err();
    assert_eq!(e.path, "metrics.max_agent_ids");
    let e = parse(r#"{"profiles":{"default":{}},"metrics":{"max_agents":5}}"#).unwrap_err();
    assert_eq!(e.path, "metrics.max_agents");
    let e = parse(r#"{"profiles":{"default":{}},"metrics":{"max_agent_ids":-1}}"#).unwrap_err();
    assert_eq!(e.path, "metrics.max_agent_ids");
}

#[test]
fn router_settings_name_known_providers_and_models() {
    let ok = parse(r#"{"profiles":{"default":{"router":{"default_provider":"groq","models":{"bedrock":["amazon.nova-pro-v1:0"]}}}}}"#)
        .unwrap();
    assert_eq!(ok.profiles["default"].router.default_provider.as_deref(), Some("groq"));
    let e = parse(r#"{"profiles":{"default":{"router":{"default_provider":"nope"}}}}"#).unwrap_err();
    assert_eq!(e.path, "profiles.default.router.default_provider");
    let e = parse(r#"{"profiles":{"default":{"router":{"models":{"nope":["m"]}}}}}"#).unwrap_err();
    assert_eq!(e.path, "profiles.default.router.models.nope");
    let e = parse(r#"{"profiles":{"default":{"router":{"models":{"groq":["m", " "]}}}}}"#).unwrap_err();
    assert_eq!(e.path, "profiles.default.router.models.groq[1]");
}

#[test]
fn dual_llm_through_the_router_needs_provider_prefixed_models_or_a_default_provider() {
    let dual = |model: &str, router: &str| {
        format!(
            r#"{{"profiles":{{"default":{{"router":{router},"dual_llm":{{"provider":"model-router","model":"{model}"}}}}}}}}"#
        )
    };
    assert!(parse(&dual("groq:llama-3.3-70b", "{}")).is_ok());
    assert!(parse(&dual("llama-3.3-70b", r#"{"default_provider":"groq"}"#)).is_ok());
    let e = parse(&dual("llama-3.3-70b", "{}")).unwrap_err();
    assert_eq!(e.path, "profiles.default.dual_llm.model");
    let e = parse(r#"{"profiles":{"default":{"dual_llm":{"provider":"anthropic","model":"claude"}}}}"#).unwrap_err();
    assert!(e.message.contains("model-router"), "{e}");
}

#[test]
fn router_bedrock_allows_by_vendor_and_region_prefix() {
    let config = Config::from_json(
        br#"{"profiles":{"default":{"router":{"bedrock":{"allowed_providers":["anthropic","deepseek"],"allowed_regions":["us","global"]}}}}}"#,
    )
    .unwrap();
    let allowed = &config.profiles["default"].router.bedrock;
    for (id, ok) in [
        ("us.anthropic.claude-sonnet-4-5-v1:0", true),
        ("global.anthropic.claude-sonnet-4-5-v1:0", true),
        ("eu.anthropic.claude-sonnet-4-5-v1:0", false),
        ("anthropic.claude-3-haiku-v1:0", true),
        ("us.deepseek.r1-v1:0", true),
        ("amazon.nova-pro-v1:0", false),
        ("us.meta.llama3-70b-v1:0", false),
        ("arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.x", false),
    ] {
        assert_eq!(allowed.allows(id), ok, "{id}");
    }
    assert!(crate::config::BedrockRouting::default().allows("arn:aws:bedrock:x"));
    let e = parse(r#"{"profiles":{"default":{"router":{"bedrock":{"allowed_regions":["us.east"]}}}}}"#).unwrap_err();
    assert_eq!(e.path, "profiles.default.router.bedrock.allowed_regions[0]");
}
