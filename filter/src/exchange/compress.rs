//! TOON compression of a request's tool results (DESIGN §5.4): pure logic over the neutral view;
//! the provider applies each replacement in its own shape.

use crate::meter::tokens::Tokenizer;
use crate::providers::{self, Body};
use crate::transform::toon::{self, ToonInput, ToonOutcome, ToonStats};
use crate::view::{self, Api};

/// Compresses every JSON tool result of `view` whose TOON form has fewer tokens. `replaced`
/// holds the pointers a policy already replaced: those are never touched.
pub fn apply_toon(tok: &Tokenizer, api: Api, view: &view::Request, body: &mut Body, replaced: &[String]) -> ToonStats {
    if view.tool_results.is_empty() {
        return ToonStats::skipped("no_tool_results");
    }
    let mut stats = ToonStats::default();
    let mut changed = false;
    for result in &view.tool_results {
        // A result made of several content blocks is left alone: replacing it with one text would
        // drop the other blocks (images, documents) the model was meant to see.
        if body.is_multi_block(&result.pointer) {
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
            changed |= providers::edit_result(api, body, &result.pointer, &text);
        }
    }
    if !changed {
        stats.skip_reason = Some("not_effective");
    }
    stats
}
