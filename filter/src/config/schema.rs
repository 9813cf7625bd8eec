//! The JSON Schema of the plugin configuration (`schema/warden-config.schema.json`), derived from
//! the configuration types with `schemars` (feature `schema`, never in the filter module), then
//! given the rules that come from the filter's own tables: which provider names exist and which
//! profile ids collide with API path segments. Rules that relate two values (the default profile
//! must be declared, which `auth` fits which provider, …) stay in `validate.rs` only.

use super::limits::ModelPattern;
use super::policy::ConditionValue;
use super::Config;
use crate::providers::{Provider, RESERVED_SEGMENTS};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Value};
use std::borrow::Cow;

/// Where the committed schema says it lives (its `$id`).
pub const SCHEMA_ID: &str = "https://github.com/warden/warden/schema/warden-config.schema.json";

impl JsonSchema for ConditionValue {
    fn schema_name() -> Cow<'static, str> {
        "ConditionValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Compared as text: numbers and booleans as their JSON spelling.",
            "type": ["string", "number", "boolean"]
        })
    }
}

impl JsonSchema for ModelPattern {
    fn schema_name() -> Cow<'static, str> {
        "ModelPattern".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A model id, or a glob over model ids (`gpt-5*`; `*` any run of characters, `?` one).",
            "type": "string",
            "pattern": "\\S"
        })
    }
}

/// The schema as JSON (draft 2020-12), ready to write out.
pub fn json_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<Config>().to_value();
    let providers: Vec<Value> = Provider::ALL.iter().map(|p| json!(p.name())).collect();
    let names: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
    // Dual LLM asks over OpenAI chat completions: those providers, or the model router.
    let mut chat: Vec<Value> = Provider::ALL
        .iter()
        .filter(|p| matches!(p, Provider::OpenAi | Provider::Azure) || p.is_openai_compatible())
        .map(|p| json!(p.name()))
        .collect();
    chat.push(json!(crate::routes::ROUTER_SEGMENT));

    if let Some(root) = schema.as_object_mut() {
        root.insert("$id".into(), json!(SCHEMA_ID));
        root.insert("title".into(), json!("Warden plugin configuration"));
    }
    set(
        &mut schema,
        &["properties", "profiles"],
        "propertyNames",
        json!({
            "pattern": "^[A-Za-z0-9._-]+$",
            "not": {"enum": RESERVED_SEGMENTS},
        }),
    );
    set(&mut schema, &["properties", "profiles"], "minProperties", json!(1));
    set(&mut schema, &["properties", "providers"], "propertyNames", json!({"enum": providers}));
    set(
        &mut schema,
        &["properties", "prices"],
        "propertyNames",
        json!({
            "pattern": format!("^(?:{}):.", names.join("|")),
        }),
    );
    set(&mut schema, &["$defs", "OptimizationRule", "properties", "provider"], "enum", json!(providers));
    set(&mut schema, &["$defs", "RouterSettings", "properties", "models"], "propertyNames", json!({"enum": providers}));
    set(
        &mut schema,
        &["$defs", "RouterSettings", "properties", "models", "additionalProperties", "items"],
        "pattern",
        json!("\\S"),
    );
    let mut optional = providers.clone();
    optional.push(Value::Null);
    set(&mut schema, &["$defs", "RouterSettings", "properties", "default_provider"], "enum", json!(optional));
    set(&mut schema, &["$defs", "DualLlm", "properties", "provider"], "enum", json!(chat));
    schema
}

/// Sets `key` in the object at `path`; a path the generator no longer produces is left alone and
/// caught by the tests, which check every rule added here.
fn set(schema: &mut Value, path: &[&str], key: &str, value: Value) {
    let mut at = schema;
    for segment in path {
        match at.get_mut(*segment) {
            Some(next) => at = next,
            None => return,
        }
    }
    if let Some(object) = at.as_object_mut() {
        object.insert(key.to_owned(), value);
    }
}
