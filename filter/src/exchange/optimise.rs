//! Model optimisation (DESIGN §5.4): the first rule whose conditions hold sends the request to a
//! cheaper model.

use crate::config::optimise::{OptimizationCondition, OptimizationRule};
use crate::meter::tokens::{self, Tokenizer};
use crate::providers::Provider;
use crate::view;

/// Where the first matching rule for `provider` sends this request, if anywhere: a model of
/// `provider`, or (`across`, model-router requests only) another provider's model. Rules that
/// would move a request across providers are skipped otherwise: a native route speaks one
/// provider's API.
pub fn choose_model<'a>(
    rules: &'a [OptimizationRule],
    provider: Provider,
    view: &view::Request,
    tok: Option<&Tokenizer>,
    across: bool,
) -> Option<(Provider, &'a str)> {
    choose_rule(rules, provider, view, tok, across).map(|(_, provider, model)| (provider, model))
}

/// `choose_model`, with the index of the rule that fired in `rules`.
pub fn choose_rule<'a>(
    rules: &'a [OptimizationRule],
    provider: Provider,
    view: &view::Request,
    tok: Option<&Tokenizer>,
    across: bool,
) -> Option<(usize, Provider, &'a str)> {
    // Counted at most once, and only up to the largest limit any rule asks about.
    let mut counted: Option<Option<u64>> = None;
    let limit = rules.iter().filter_map(OptimizationRule::max_tokens).max();
    let applicable = |r: &&OptimizationRule| {
        r.provider == provider.name() && (across || target_of(&r.target_model, provider).0 == provider)
    };
    rules.iter().enumerate().filter(|(_, r)| applicable(r)).find_map(|(index, rule)| {
        let holds = rule.conditions.iter().all(|c| match c {
            OptimizationCondition::HasTools(want) => view.tools.is_empty() != *want,
            OptimizationCondition::MaxTokens(max) => {
                let (Some(tok), Some(limit)) = (tok, limit) else { return false };
                let count = *counted.get_or_insert_with(|| tokens::count_request_within(tok, view, limit));
                count.is_some_and(|n| n <= *max)
            }
        });
        holds.then(|| {
            let (provider, model) = target_of(&rule.target_model, provider);
            (index, provider, model)
        })
    })
}

/// A rule's `target_model`: `provider:model` (split at the first `:`, the part before it a
/// provider name) names that provider's model; anything else (`gpt-5-mini`,
/// `amazon.nova-lite-v1:0`) a model of the rule's own provider `own`.
pub fn target_of(target_model: &str, own: Provider) -> (Provider, &str) {
    match target_model.split_once(':') {
        Some((prefix, model)) if !model.is_empty() => match Provider::from_name(prefix) {
            Some(provider) => (provider, model),
            None => (own, target_model),
        },
        _ => (own, target_model),
    }
}
