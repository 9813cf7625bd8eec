//! The configuration shipped in examples/kubernetes/injection/ is one the injector accepts and
//! renders, and the Deployment points the injector at it.

use serde_json::Value;
use warden_injector::bootstrap::{self, Paths};
use warden_injector::config::Config;

fn manifest(name: &str) -> Value {
    let path = format!("{}/../examples/kubernetes/injection/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn shipped_config() -> Config {
    let configmap = manifest("configmap.yaml");
    Config::from_yaml(configmap["data"]["config.yaml"].as_str().expect("config.yaml key"))
        .expect("the shipped configuration is valid")
}

#[test]
fn the_shipped_configmap_is_a_valid_configuration_that_renders() {
    let config = shipped_config();
    assert!(config.tls.is_some(), "serve needs the certificate paths");
    bootstrap::render_json(&config, &Paths::default()).unwrap();
}

#[test]
fn the_deployment_mounts_the_config_and_certificate_where_the_config_says() {
    let config = shipped_config();
    let deployment = manifest("deployment.yaml");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    let config_path = args.iter().skip_while(|a| **a != "--config").nth(1).expect("--config FILE");
    let mounts = container["volumeMounts"].as_array().unwrap();
    let mounted = |path: &str, volume: &str| {
        mounts.iter().any(|m| m["name"] == volume && path.starts_with(m["mountPath"].as_str().unwrap()))
    };
    assert!(mounted(config_path, "config"), "{config_path} is not on the config volume");
    let tls = config.tls.unwrap();
    assert!(mounted(tls.cert.to_str().unwrap(), "tls") && mounted(tls.key.to_str().unwrap(), "tls"));
    assert_eq!(container["ports"][0]["containerPort"], u64::from(config.listen.port()));
}
