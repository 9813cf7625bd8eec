//! Cost controls applied to a request body: TOON compression of tool results and model
//! optimisation (DESIGN §5.4). Pure functions over the neutral view; the provider applies edits.

use crate::config::cost::{OptimizationCondition, OptimizationRule};
use crate::meter::tokens::{self, Tokenizer};
use crate::providers::{self, Provider};
use crate::transform::toon::{self, ToonInput, ToonOutcome};
use crate::view::{self, Api};
use serde_json::Value;

/// What TOON did to one request, for the record and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToonStats {
    pub tokens_before: u64,
    pub tokens_after: u64,
    /// Why nothing was compressed (`not_enabled`, `no_tool_results`, `not_effective`); `None` when
    /// at least one result was replaced.
    pub skip_reason: Option<&'static str>,
}

impl ToonStats {
    pub fn skipped(reason: &'static str) -> Self {
        ToonStats { skip_reason: Some(reason), ..ToonStats::default() }
    }

    pub fn saved(&self) -> u64 {
        self.tokens_before.saturating_sub(self.tokens_after)
    }
}

/// A result made of several content blocks is left alone: replacing it with one text would drop
/// the other blocks (images, documents) the model was meant to see.
fn is_multi_block(body: &Value, pointer: &str) -> bool {
    body.pointer(pointer).and_then(Value::as_array).is_some_and(|blocks| blocks.len() > 1)
}

/// Compresses every JSON tool result of `view` whose TOON form has fewer tokens. `replaced`
/// holds the pointers a policy already replaced: those are never touched.
pub fn apply_toon(
    tok: &Tokenizer,
    api: Api,
    view: &view::Request,
    body: &mut Value,
    replaced: &[String],
) -> (bool, ToonStats) {
    if view.tool_results.is_empty() {
        return (false, ToonStats::skipped("no_tool_results"));
    }
    let mut stats = ToonStats::default();
    let mut changed = false;
    for result in &view.tool_results {
        if is_multi_block(body, &result.pointer) {
            continue;
        }
        let input = ToonInput {
            content: &result.content,
            is_error: result.is_error,
            policy_replaced: replaced.iter().any(|p| p == &result.pointer),
        };
        let outcome = toon::compress_cached(tok, input);
        if let Some((before, after)) = outcome.totals() {
            stats.tokens_before = stats.tokens_before.saturating_add(before);
            stats.tokens_after = stats.tokens_after.saturating_add(after);
        }
        if let ToonOutcome::Replaced { text, .. } = outcome {
            changed |= providers::apply_result_edit(api, body, &result.pointer, &text);
        }
    }
    if !changed {
        stats.skip_reason = Some("not_effective");
    }
    (changed, stats)
}

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
/// the route rebuilds.
pub fn set_body_model(body: &mut Value, model: &str) -> bool {
    let Some(obj) = body.as_object_mut() else { return false };
    let mut changed = false;
    for key in ["model", "modelId"] {
        if let Some(v) = obj.get_mut(key) {
            *v = Value::String(model.to_string());
            changed = true;
        }
    }
    changed
}
