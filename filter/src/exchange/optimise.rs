//! Model optimisation (DESIGN §5.4): the first rule whose conditions hold sends the request to a
//! cheaper model.

use crate::config::optimise::{OptimizationCondition, OptimizationRule};
use crate::meter::tokens::{self, Tokenizer};
use crate::providers::Provider;
use crate::view;
use serde_json::Value;

/// The model the first matching rule for `provider` sends this request to, if any.
pub fn choose_model<'a>(
    rules: &'a [OptimizationRule],
    provider: Provider,
    view: &view::Request,
    tok: Option<&Tokenizer>,
) -> Option<&'a str> {
    // Counted at most once, and only up to the largest limit any rule asks about.
    let mut counted: Option<Option<u64>> = None;
    let limit = rules.iter().filter_map(OptimizationRule::max_tokens).max();
    rules.iter().filter(|r| r.provider == provider.name()).find_map(|rule| {
        let holds = rule.conditions.iter().all(|c| match c {
            OptimizationCondition::HasTools(want) => view.tools.is_empty() != *want,
            OptimizationCondition::MaxTokens(max) => {
                let (Some(tok), Some(limit)) = (tok, limit) else { return false };
                let count = *counted.get_or_insert_with(|| tokens::count_request_within(tok, view, limit));
                count.is_some_and(|n| n <= *max)
            }
        });
        holds.then_some(rule.target_model.as_str())
    })
}

/// Writes `model` where the request body keeps it (OpenAI family, Anthropic, Cohere `model`;
/// Bedrock `modelId` in the body form). Gemini and Bedrock path forms keep it in the URL, which
/// the route rebuilds. Returns whether the body changed.
pub fn set_body_model(body: &mut Value, model: &str) -> bool {
    let Some(obj) = body.as_object_mut() else { return false };
    let mut changed = false;
    for key in ["model", "modelId"] {
        if let Some(v) = obj.get_mut(key) {
            if v.as_str() != Some(model) {
                *v = Value::String(model.to_string());
                changed = true;
            }
        }
    }
    changed
}
