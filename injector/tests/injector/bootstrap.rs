//! The injected Envoy's bootstrap, rendered from the shipped template.

use serde_json::Value;
use warden_injector::bootstrap::{render_json, render_yaml, Paths, WASM_IN_IMAGE};
use warden_injector::config::Config;

fn config(extra: &str) -> Config {
    Config::from_yaml(&format!(
        "envoy:\n  image: e\n  plugin_config: {{profiles: {{default: {{}}}}, max_body_bytes: 1048576}}\nsidecar:\n  image: s\n{extra}"
    ))
    .unwrap()
}

fn clusters(bootstrap: &Value) -> Vec<&Value> {
    bootstrap["static_resources"]["clusters"].as_array().unwrap().iter().collect()
}

#[test]
fn every_provider_gets_a_route_and_a_tls_cluster() {
    let config = config("");
    let bootstrap: Value = serde_json::from_str(&render_json(&config, &Paths::default()).unwrap()).unwrap();
    let names: Vec<&str> = clusters(&bootstrap).iter().map(|c| c["name"].as_str().unwrap()).collect();
    for provider in config.providers.keys() {
        assert!(names.contains(&format!("provider_{provider}").as_str()), "{provider} has no cluster");
    }
    assert!(names.contains(&"warden_sidecar") && names.contains(&"envoy_admin"));
    let openai = clusters(&bootstrap).into_iter().find(|c| c["name"] == "provider_openai").unwrap();
    assert_eq!(openai["transport_socket"]["typed_config"]["sni"], "api.openai.com");
    let routes = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        ["route_config"]["virtual_hosts"][0]["routes"]
        .as_array()
        .unwrap();
    assert_eq!(routes.len(), config.providers.len() + 1, "one route per provider and the 404 safety net");
}

#[test]
fn ports_buffer_limit_and_plugin_config_come_from_the_configuration() {
    let config = config("");
    let bootstrap: Value = serde_json::from_str(&render_json(&config, &Paths::default()).unwrap()).unwrap();
    let listener = &bootstrap["static_resources"]["listeners"][0];
    assert_eq!(listener["address"]["socket_address"]["address"], "127.0.0.1");
    assert_eq!(listener["address"]["socket_address"]["port_value"], 15100);
    assert_eq!(listener["per_connection_buffer_limit_bytes"], 2 * 1048576);
    let wasm = &listener["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"][0]["typed_config"]["config"];
    let plugin: Value = serde_json::from_str(wasm["configuration"]["value"].as_str().unwrap()).unwrap();
    assert_eq!(plugin, config.envoy.plugin_config);
    assert_eq!(wasm["vm_config"]["code"]["local"]["filename"], WASM_IN_IMAGE);
    assert_eq!(bootstrap["admin"]["address"]["socket_address"]["port_value"], 15101);
    let sidecar = clusters(&bootstrap).into_iter().find(|c| c["name"] == "warden_sidecar").unwrap();
    assert_eq!(
        sidecar["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
            ["port_value"],
        15103
    );
}

#[test]
fn a_plain_http_upstream_has_no_transport_socket() {
    let config = config(
        "providers:\n  openai: {host: 127.0.0.1, port: 18080, tls: false}\nbase_urls: {OPENAI_BASE_URL: openai}\n",
    );
    let yaml = render_yaml(&config, &Paths { wasm: "/tmp/w.wasm".into(), access_log: "/tmp/a.log".into() }).unwrap();
    let bootstrap: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let openai = clusters(&bootstrap).into_iter().find(|c| c["name"] == "provider_openai").unwrap();
    assert!(openai.get("transport_socket").is_none());
    assert!(yaml.contains("/tmp/w.wasm") && yaml.contains("/tmp/a.log"));
}

#[test]
fn a_plugin_config_with_quotes_and_newlines_stays_one_string() {
    let mut config = config("");
    config.envoy.plugin_config =
        serde_json::json!({"profiles": {"default": {"note": "a \"quoted\"\nline: {{x}} \\ #"}}});
    let bootstrap: Value = serde_json::from_str(&render_json(&config, &Paths::default()).unwrap()).unwrap();
    let value = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        ["http_filters"][0]["typed_config"]["config"]["configuration"]["value"]
        .as_str()
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(value).unwrap(), config.envoy.plugin_config);
}
