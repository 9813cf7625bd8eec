//! Trusted-data evaluation (DESIGN §5.2): classifies every tool result in a request's history and
//! derives whether the context is trusted.
//!
//! Per result, the rows for its tool (exact name or glob) are tried in two tiers, like tool
//! policies: first the conditional rows whose conditions all match, else the tool's default rows
//! (no conditions), else the profile's `default_result_action`. Within the deciding tier a
//! `block_always` row wins wherever it sits in the list (so a broad "trusted" row listed first
//! cannot hide a later block); otherwise the first row in list order decides. This follows the
//! reference (§3.3), which also lets any matching block win over the first match.
//!
//! Content is parsed as JSON to evaluate argument-path conditions. A result that is not JSON (or is
//! a bare JSON scalar) has nothing a path can reach, so path conditions are false for it and only
//! its default rows, or conditional rows keyed on `context.*` alone, can apply. A result whose tool
//! name could not be resolved is matched under the empty name: only a bare `*` row reaches it.
//!
//! The context is trusted when it did not start untrusted and no result was `Untrusted` or
//! `Blocked`. `Sanitize` does not make it untrusted: the caller must replace that content anyway
//! (with the Dual LLM summary or, when sanitisation fails, a notice: `exchange::sanitize`), so none of it
//! reaches the model. A context that starts untrusted is still fully evaluated: blocks and
//! sanitisation apply regardless (the reference's early return is a bug we do not copy).

use super::{CompiledPolicies, Context, ResultAction, ResultRule};
use crate::view::ToolResult;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultDecision {
    Trusted,
    Untrusted,
    /// Replace the content with `notice_for`'s text.
    Blocked {
        reason: String,
    },
    /// Replace the content with a Dual LLM summary (or, when that fails, a notice).
    Sanitize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustOutcome {
    pub trusted: bool,
    /// Why the context is untrusted: the first boundary (the start, or the first untrusted or
    /// blocked result).
    pub untrusted_reason: Option<String>,
    /// One decision per tool result, in the order given.
    pub results: Vec<ResultDecision>,
}

pub fn evaluate(
    policies: &CompiledPolicies,
    results: &[ToolResult],
    ctx: &Context,
    start_untrusted: bool,
) -> TrustOutcome {
    let mut untrusted_reason = start_untrusted
        .then(|| "the profile or the x-warden-context-untrusted header marks the conversation untrusted".to_owned());
    let decisions: Vec<ResultDecision> = results
        .iter()
        .map(|result| {
            let decision = classify(policies, result, ctx);
            if untrusted_reason.is_none() {
                untrusted_reason = boundary(&decision, result);
            }
            decision
        })
        .collect();
    TrustOutcome { trusted: untrusted_reason.is_none(), untrusted_reason, results: decisions }
}

/// The text that replaces a blocked result; `None` for results that pass unchanged and for results
/// to sanitise, which the Dual-LLM summary (or, when sanitisation fails, its own notice) replaces
/// (`exchange::sanitize`).
pub fn notice_for(decision: &ResultDecision, tool: Option<&str>) -> Option<String> {
    let tool = tool.filter(|t| !t.is_empty()).map(|t| format!(" of the {t} tool")).unwrap_or_default();
    match decision {
        ResultDecision::Trusted | ResultDecision::Untrusted | ResultDecision::Sanitize => None,
        ResultDecision::Blocked { reason } => Some(format!(
            "[The Warden gateway withheld this result{tool}: {reason}. Its content was not shown to the model.]"
        )),
    }
}

/// Where a deciding row came from, for the block reason.
#[derive(Clone, Copy)]
enum Source {
    Row,
    ProfileDefault,
}

/// Each result's decision (as `evaluate` makes it) and the row of `result_policies` that made it
/// (its index; `None` for the profile's `default_result_action`): for tools that show why.
pub fn explain(
    policies: &CompiledPolicies,
    results: &[ToolResult],
    ctx: &Context,
) -> Vec<(ResultDecision, Option<usize>)> {
    results.iter().map(|result| classify_row(policies, result, ctx)).collect()
}

fn classify(policies: &CompiledPolicies, result: &ToolResult, ctx: &Context) -> ResultDecision {
    classify_row(policies, result, ctx).0
}

fn classify_row(policies: &CompiledPolicies, result: &ToolResult, ctx: &Context) -> (ResultDecision, Option<usize>) {
    let name = result.tool_name.as_deref().unwrap_or("");
    // Each row with its index in `result_policies`.
    let rows: Vec<(usize, &ResultRule)> =
        policies.result_rules.iter().enumerate().filter(|(_, r)| r.tool.matches(name)).collect();
    let needs_doc = rows.iter().any(|(_, r)| r.conditions.iter().any(|c| c.reads_document()));
    let doc: Option<Value> = if needs_doc { serde_json::from_str(&result.content).ok() } else { None };
    let matched: Vec<(usize, &ResultRule)> = rows
        .iter()
        .copied()
        .filter(|(_, r)| !r.conditions.is_empty() && r.conditions.iter().all(|c| c.matches(doc.as_ref(), ctx)))
        .collect();
    let tier =
        if matched.is_empty() { rows.into_iter().filter(|(_, r)| r.conditions.is_empty()).collect() } else { matched };
    let decider = tier.iter().find(|(_, r)| r.action == ResultAction::BlockAlways).or_else(|| tier.first());
    match decider {
        Some((i, row)) => (decide(row.action, row.description.as_deref(), Source::Row), Some(*i)),
        None => (decide(policies.default_result_action, None, Source::ProfileDefault), None),
    }
}

fn decide(action: ResultAction, description: Option<&str>, source: Source) -> ResultDecision {
    match action {
        ResultAction::MarkAsTrusted => ResultDecision::Trusted,
        ResultAction::MarkAsUntrusted => ResultDecision::Untrusted,
        ResultAction::SanitizeWithDualLlm => ResultDecision::Sanitize,
        ResultAction::BlockAlways => ResultDecision::Blocked {
            reason: match (description, source) {
                (Some(d), _) => format!("blocked by policy \"{d}\""),
                (None, Source::Row) => "a policy blocks this tool's output".to_owned(),
                (None, Source::ProfileDefault) => "the profile blocks tool output that no policy allows".to_owned(),
            },
        },
    }
}

fn boundary(decision: &ResultDecision, result: &ToolResult) -> Option<String> {
    let name = result.tool_name.as_deref().unwrap_or("an unknown tool");
    let call = result.call_id.as_deref().map(|id| format!(" (call {id})")).unwrap_or_default();
    match decision {
        ResultDecision::Trusted | ResultDecision::Sanitize => None,
        ResultDecision::Untrusted => Some(format!("a result of {name}{call} is untrusted")),
        ResultDecision::Blocked { reason } => Some(format!("a result of {name}{call} was blocked: {reason}")),
    }
}

#[cfg(test)]
#[path = "trust_tests.rs"]
mod tests;
