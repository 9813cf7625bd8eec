//! The committed JSON Schema (`schema/warden-config.schema.json`) is the one the configuration
//! types generate, and it agrees with the filter's own parser on every plugin configuration the
//! repository holds: the JSON files and Envoy configs, and every configuration literal in the Rust
//! tests. Where the filter rejects what no JSON Schema can express (rules across two values), the
//! test names the rule instead. `UPDATE_SCHEMA=1` rewrites the committed file (`make schema`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use warden_filter::config::{schema, Config, ConfigError};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn committed_path() -> PathBuf {
    repo().join("schema/warden-config.schema.json")
}

fn generated_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema::json_schema()).unwrap();
    text.push('\n');
    text
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(committed_path()).unwrap();
    jsonschema::draft202012::new(&serde_json::from_str::<Value>(&text).unwrap()).unwrap()
}

/// Rules of `validate.rs` and `policy.rs` that relate two values or need the filter's own parsers
/// (regex, key paths): JSON Schema cannot say them, so a configuration the filter refuses for one
/// of these may pass the schema. Each is (the error path's last segment, words of its message).
const BEYOND_SCHEMA: &[(&str, &str)] = &[
    ("default_profile", "is not a declared profile"),
    ("auth", "applies to"),
    ("region", "SigV4 signs for a region"),
    ("region", "applies to bedrock only"),
    ("host", "applies to"),
    ("scope", "applies with auth: entra"),
    ("vertex", "applies to gemini only"),
    ("model", "through model-router"),
    ("quarantined_model", "through model-router"),
    ("operator", "context.groups is a list"),
    ("value", "invalid regex"),
    ("key", ""),
    // A map key such as `profiles.ops` whose value is fine: the id itself (pattern, reserved)
    // is in the schema, so these never reach here; listed for the price model after the colon.
    ("", "empty model in price key"),
];

fn beyond_schema(err: &ConfigError) -> bool {
    let last = err.path.rsplit(['.', ']']).next().unwrap_or("");
    let last = if err.path.ends_with(']') { "" } else { last };
    BEYOND_SCHEMA.iter().any(|(field, words)| (field.is_empty() || *field == last) && err.message.contains(words))
}

/// Every raw string literal (`r#"…"#`) in the Rust sources under `dir` that is a JSON object with
/// `profiles` at its top: the configurations the unit and e2e tests parse. With `profile_fields`,
/// also the objects with one of those keys: profile fragments the config tests wrap into a
/// configuration, wrapped the same way here (profile `ops`).
fn rust_literals(dir: &Path, profile_fields: &[String], found: &mut Vec<(String, Value)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_literals(&path, profile_fields, found);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut rest = text.as_str();
        let mut n = 0;
        while let Some(start) = rest.find("r#\"") {
            let after = &rest[start + 3..];
            let Some(end) = after.find("\"#") else { break };
            let literal = &after[..end];
            rest = &after[end + 2..];
            n += 1;
            if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(literal) {
                let name = format!("{}#{n}", path.strip_prefix(repo()).unwrap_or(&path).display());
                if value.get("profiles").is_some() {
                    found.push((name, value));
                } else if profile_fields.iter().any(|f| value.get(f).is_some()) {
                    found.push((name, serde_json::json!({"profiles": {"ops": value}, "default_profile": "ops"})));
                }
            }
        }
    }
}

/// Plugin configurations embedded in Envoy / deployment YAML: a single-quoted JSON value (the
/// `google.protobuf.StringValue` of a wasm filter) holding `profiles`.
fn yaml_values(dir: &Path, found: &mut Vec<(String, Value)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_values(&path, found);
            continue;
        }
        if !path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let Some((_, quoted)) = line.split_once("value: '") else { continue };
            let Some(json) = quoted.strip_suffix('\'') else { continue };
            if let Ok(value) = serde_json::from_str::<Value>(&json.replace("''", "'")) {
                if value.get("profiles").is_some() {
                    found.push((format!("{}:{}", path.strip_prefix(repo()).unwrap_or(&path).display(), i + 1), value));
                }
            }
        }
    }
}

fn repository_configs() -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for dir in ["tests", "envoy", "examples", "playground/examples"] {
        for entry in std::fs::read_dir(repo().join(dir)).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let name = path.strip_prefix(repo()).unwrap().display().to_string();
                // Stack descriptions (`envoy/demo-stack.json`) carry the plugin's under `plugin_config`.
                if let Some(plugin) = value.get("plugin_config") {
                    found.push((name, plugin.clone()));
                } else if value.get("profiles").is_some() {
                    found.push((name, value));
                }
            }
        }
        yaml_values(&repo().join(dir), &mut found);
    }
    let schema = schema::json_schema();
    let profile_fields: Vec<String> =
        schema["$defs"]["Profile"]["properties"].as_object().unwrap().keys().cloned().collect();
    assert!(profile_fields.contains(&"tool_policies".to_owned()), "{profile_fields:?}");
    rust_literals(&repo().join("filter/src/config"), &profile_fields, &mut found);
    rust_literals(&repo().join("filter/src/exchange"), &[], &mut found);
    for dir in [
        "filter/src/policy",
        "filter/src/meter",
        "filter/src/providers",
        "filter/src/routes",
        "tests/src",
        "tests/tests",
    ] {
        rust_literals(&repo().join(dir), &[], &mut found);
    }
    found
}

#[test]
fn the_committed_schema_is_the_one_the_types_generate() {
    let generated = generated_text();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(committed_path(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/warden-config.schema.json is stale: run `make schema` and commit the result"
    );
}

#[test]
fn the_schema_agrees_with_the_filter_on_every_configuration_in_the_repository() {
    let validator = validator();
    let configs = repository_configs();
    let (mut accepted, mut rejected, mut beyond) = (0, 0, Vec::new());
    for (name, config) in &configs {
        let text = serde_json::to_vec(config).unwrap();
        let schema_errors: Vec<String> =
            validator.iter_errors(config).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        match Config::from_json(&text) {
            Ok(_) => {
                assert!(schema_errors.is_empty(), "{name}: the filter accepts it, the schema says {schema_errors:?}");
                accepted += 1;
            }
            Err(err) if schema_errors.is_empty() => {
                assert!(beyond_schema(&err), "{name}: the filter refuses it ({err}) and the schema accepts it");
                beyond.push(format!("{name}: {err}"));
            }
            Err(_) => rejected += 1,
        }
    }
    eprintln!("{accepted} accepted by both, {rejected} refused by both, {} refused by the filter only:", beyond.len());
    for line in &beyond {
        eprintln!("  {line}");
    }
    // The corpus is the repository's: if the scan found nothing, it is broken, not the schema.
    assert!(accepted >= 40 && rejected >= 30, "{accepted} accepted, {rejected} rejected: the scan missed configs");
}

#[test]
fn invalid_values_are_refused_at_their_path() {
    let validator = validator();
    let cases = [
        (r#"{"profiles":{}}"#, "/profiles"),
        (r#"{"profiles":{"default":{"tool_polices":[]}}}"#, "/profiles/default"),
        (r#"{"profiles":{"v1":{}}}"#, "/profiles"),
        (r#"{"profiles":{"default":{}},"max_held_bytes":10}"#, "/max_held_bytes"),
        (r#"{"profiles":{"default":{}},"sidecar":{"timeout_ms":0}}"#, "/sidecar/timeout_ms"),
        (r#"{"profiles":{"default":{}},"providers":{"nope":{}}}"#, "/providers"),
        (r#"{"profiles":{"default":{}},"prices":{"gpt-5":{"input":1,"output":1}}}"#, "/prices"),
        (r#"{"profiles":{"a":{"limits":[{"scope":"team","usd":1,"window":"1d"}]}}}"#, "/profiles/a/limits/0/scope"),
        (r#"{"profiles":{"a":{"limits":[{"scope":"user","usd":0,"window":"1d"}]}}}"#, "/profiles/a/limits/0/usd"),
        (
            r#"{"profiles":{"a":{"optimization_rules":[{"provider":"x","target_model":"m"}]}}}"#,
            "/profiles/a/optimization_rules/0/provider",
        ),
        (
            r#"{"profiles":{"a":{"dual_llm":{"provider":"openai","model":"m","max_rounds":21}}}}"#,
            // An optional object is `anyOf [object, null]`: its errors are reported at the option.
            "/profiles/a/dual_llm",
        ),
    ];
    for (config, path) in cases {
        let config: Value = serde_json::from_str(config).unwrap();
        let paths: Vec<String> = validator.iter_errors(&config).map(|e| e.instance_path().to_string()).collect();
        assert!(paths.iter().any(|p| p == path), "{config}: expected an error at {path}, got {paths:?}");
        assert!(Config::from_json(config.to_string().as_bytes()).is_err(), "{config}: the filter accepts it");
    }
}
