//! The injector's own configuration: defaults, and errors that name the key.

use warden_injector::config::{Config, ConfigError};

const MINIMAL: &str = "envoy:\n  image: warden-envoy:1\n  plugin_config: {profiles: {default: {}}}\nsidecar:\n  image: warden-sidecar:1\n";

fn path_of(extra: &str) -> String {
    match Config::from_yaml(&format!("{MINIMAL}{extra}")) {
        Err(ConfigError::Invalid { path, .. }) => path,
        other => panic!("expected an invalid configuration, got {other:?}"),
    }
}

#[test]
fn a_minimal_configuration_gets_the_builtin_providers_and_base_urls() {
    let config = Config::from_yaml(MINIMAL).unwrap();
    assert_eq!(config.providers["openai"].host, "api.openai.com");
    assert_eq!(config.base_urls["CO_API_URL"], "cohere");
    assert_eq!(config.max_body_bytes(), 16 * 1024 * 1024);
    assert_eq!(config.run_as_user, 65532);
}

#[test]
fn errors_name_the_offending_key() {
    assert_eq!(path_of("run_as_usr: 5\n"), "run_as_usr");
    assert_eq!(path_of("providers:\n  openai: {hots: x}\n"), "providers.openai.hots");
    assert_eq!(path_of("providers:\n  Open-AI: {host: api.openai.com}\n"), "providers.Open-AI");
    assert_eq!(path_of("providers:\n  openai: {host: 'a b'}\n"), "providers.openai.host");
    assert_eq!(path_of("base_urls: {OPENAI_BASE_URL: nowhere}\n"), "base_urls.OPENAI_BASE_URL");
    assert_eq!(path_of("base_urls: {'1X': openai}\n"), "base_urls.1X");
    assert_eq!(path_of("run_as_user: 0\n"), "run_as_user");
}

#[test]
fn ports_of_the_injected_containers_must_differ() {
    let yaml = MINIMAL.replace("image: warden-sidecar:1", "image: warden-sidecar:1\n  admin_port: 15100");
    assert!(matches!(Config::from_yaml(&yaml), Err(ConfigError::Invalid { path, .. }) if path == "sidecar.admin_port"));
}

#[test]
fn a_redis_password_is_refused_because_the_config_lands_in_an_annotation() {
    let with = MINIMAL.replace(
        "image: warden-sidecar:1",
        "image: warden-sidecar:1\n  config: {redis: {url: 'redis://:hunter2@redis:6379'}}",
    );
    let err = Config::from_yaml(&with).unwrap_err().to_string();
    assert!(err.contains("sidecar.config.redis.url"), "{err}");
    assert!(!err.contains("hunter2"), "the error must not repeat the secret: {err}");
    let without = MINIMAL.replace(
        "image: warden-sidecar:1",
        "image: warden-sidecar:1\n  config: {redis: {url: 'redis://redis:6379/0'}}",
    );
    assert!(Config::from_yaml(&without).is_ok());
}

#[test]
fn the_sidecar_config_gets_the_injected_listen_addresses() {
    let yaml = MINIMAL.replace(
        "image: warden-sidecar:1",
        "image: warden-sidecar:1\n  config: {credentials: {aws: {region: eu-west-1}}}",
    );
    let config = Config::from_yaml(&yaml).unwrap();
    let rendered: serde_json::Value = serde_yaml_ng::from_str(&config.sidecar_config_yaml()).unwrap();
    assert_eq!(rendered["listen"], "127.0.0.1:15103");
    assert_eq!(rendered["admin_listen"], "0.0.0.0:15104");
    assert_eq!(rendered["credentials"]["aws"]["region"], "eu-west-1");
}
