//! Trace attributes (DESIGN §4.3): `gen_ai.*` semantic-convention values for Envoy's own tracing
//! span. Envoy 1.40 finishes the span before the filter's `on_log`, so the host publishes these as
//! filter state (`wasm.gen_ai.system`, …) when the response ends, and the Envoy config's
//! `custom_tags` read them with `%FILTER_STATE(wasm.<name>:PLAIN)%`. Values match the record's.

use super::record::Record;
use crate::providers::Provider;

/// Every attribute name the filter may publish, in the order of the shipped `custom_tags`.
pub const NAMES: [&str; 7] = [
    "gen_ai.system",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.conversation.id",
    "warden.blocked_tools",
];

/// The `gen_ai.system` value of the OpenTelemetry semantic conventions for a provider; providers
/// the conventions do not name keep Warden's name.
fn system(provider: &str) -> &str {
    match provider {
        "gemini" => "gcp.gemini",
        "vertex" => "gcp.vertex_ai",
        "bedrock" => "aws.bedrock",
        "azure" => "azure.ai.openai",
        "xai" => "xai",
        "mistral" => "mistral_ai",
        other => other,
    }
}

/// The attributes `record` gives, as (name, value); attributes it has no value for are left out.
pub fn attributes(record: &Record, vertex: bool) -> Vec<(&'static str, String)> {
    let provider = if vertex && record.provider == Provider::Gemini.name() { "vertex" } else { record.provider };
    let request_model = record.baseline_model.clone().or_else(|| record.model.clone());
    let values = [
        Some(system(provider).to_owned()),
        request_model,
        record.model.clone(),
        record.input_tokens.map(|t| t.to_string()),
        record.output_tokens.map(|t| t.to_string()),
        record.session_id.clone(),
        record.blocked_tools.as_ref().filter(|b| !b.is_empty()).map(|b| b.join(",")),
    ];
    NAMES.iter().zip(values).filter_map(|(name, value)| Some((*name, value?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            provider: "openai",
            model: Some("gpt-4o-mini".into()),
            input_tokens: Some(12),
            output_tokens: Some(40),
            session_id: Some("s-1".into()),
            ..Record::default()
        }
    }

    #[test]
    fn attributes_carry_the_records_values() {
        let attrs = attributes(&record(), false);
        assert_eq!(
            attrs,
            vec![
                ("gen_ai.system", "openai".to_owned()),
                ("gen_ai.request.model", "gpt-4o-mini".to_owned()),
                ("gen_ai.response.model", "gpt-4o-mini".to_owned()),
                ("gen_ai.usage.input_tokens", "12".to_owned()),
                ("gen_ai.usage.output_tokens", "40".to_owned()),
                ("gen_ai.conversation.id", "s-1".to_owned()),
            ]
        );
    }

    #[test]
    fn a_rewritten_model_is_the_request_model_and_blocked_tools_are_listed() {
        let r = Record {
            baseline_model: Some("gpt-4o".into()),
            blocked_tools: Some(vec!["read_file".into(), "shell".into()]),
            ..record()
        };
        let attrs = attributes(&r, false);
        assert!(attrs.contains(&("gen_ai.request.model", "gpt-4o".to_owned())));
        assert!(attrs.contains(&("gen_ai.response.model", "gpt-4o-mini".to_owned())));
        assert!(attrs.contains(&("warden.blocked_tools", "read_file,shell".to_owned())));
    }

    #[test]
    fn systems_follow_the_semantic_conventions() {
        let r = Record { provider: "gemini", ..record() };
        assert_eq!(attributes(&r, false).first().map(|a| a.1.as_str()), Some("gcp.gemini"));
        assert_eq!(attributes(&r, true).first().map(|a| a.1.as_str()), Some("gcp.vertex_ai"));
        let r = Record { provider: "bedrock", ..record() };
        assert_eq!(attributes(&r, false).first().map(|a| a.1.as_str()), Some("aws.bedrock"));
    }
}
