//! Tool-invocation evaluation (DESIGN §5.1): may the model's tool calls in one response go out?
//!
//! Per call: a tool the request did not declare is blocked (when it declared any). Otherwise the
//! rows for the tool (exact name or glob) form one tier: the conditional rows whose conditions all
//! match, in list order; if none matched, the tool's default rows (no conditions); if there are
//! none, the profile's `default_tool_action`. The call is blocked if any row of the tier blocks
//! under the current trust, with the reason of the first such row: `block_always` and
//! `require_approval` always block, the other two block in untrusted context except
//! `allow_when_context_is_untrusted`. So in untrusted context a call passes only if every row of
//! its tier is `allow_when_context_is_untrusted`.

use super::{CompiledPolicies, Context, ToolAction, ToolRule};
use crate::view::{Arguments, ToolCall};

#[derive(Debug, Clone, PartialEq)]
pub struct BlockedCall {
    /// Position in the evaluated slice of calls.
    pub index: usize,
    pub name: String,
    pub arguments: Arguments,
    pub reason: String,
}

/// What was refused: every call of the message that did not reach the client, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocked {
    pub tools: Vec<String>,
    pub calls: Vec<BlockedCall>,
}

impl Blocked {
    pub fn reason(&self) -> String {
        let reasons: Vec<String> = self.calls.iter().map(|c| format!("{}: {}", c.name, c.reason)).collect();
        reasons.join("; ")
    }

    /// Every call of the message refused for one `reason`, unjudged (the gateway could not hold or
    /// read them to judge them).
    pub fn unjudged(calls: &[ToolCall], reason: &str) -> Blocked {
        let blocked = calls
            .iter()
            .enumerate()
            .map(|(index, call)| BlockedCall {
                index,
                name: call.name.clone(),
                arguments: call.arguments.clone(),
                reason: reason.to_owned(),
            })
            .collect();
        Blocked { tools: calls.iter().map(|c| c.name.clone()).collect(), calls: blocked }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolOutcome {
    /// The calls blocked on their own account, in response order.
    pub blocked: Vec<BlockedCall>,
    /// One blocked call blocks every call of the response (the batch): none of them may go out.
    pub any_blocked: bool,
}

/// A tool the request declared: its name and whether it is a custom (free-form) tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub name: String,
    pub custom: bool,
}

/// How one call was judged, and by which row of `tool_policies` (its index; `None` when the
/// profile's default action or a rule before the rows, such as an undeclared tool, decided).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub row: Option<usize>,
    /// Why the call is refused; `None` when it may go out.
    pub blocked: Option<String>,
}

/// Judges every call of one response on its own account (what `evaluate` decides, with the row
/// that decided): for tools that show why, such as the playground.
pub fn explain(
    policies: &CompiledPolicies,
    calls: &[ToolCall],
    declared: &[Declared],
    ctx: &Context,
    context_trusted: bool,
) -> Vec<Judgement> {
    calls.iter().map(|call| judge(policies, call, declared, ctx, context_trusted)).collect()
}

/// Evaluates every call of one response. `declared` are the tools the request declared.
pub fn evaluate(
    policies: &CompiledPolicies,
    calls: &[ToolCall],
    declared: &[Declared],
    ctx: &Context,
    context_trusted: bool,
) -> ToolOutcome {
    let blocked: Vec<BlockedCall> = calls
        .iter()
        .enumerate()
        .filter_map(|(index, call)| {
            let reason = judge(policies, call, declared, ctx, context_trusted).blocked?;
            Some(BlockedCall { index, name: call.name.clone(), arguments: call.arguments.clone(), reason })
        })
        .collect();
    ToolOutcome { any_blocked: !blocked.is_empty(), blocked }
}

/// For stream hold-back, before the arguments are known: false only when no arguments and no
/// request context could make a call to `tool` blocked under the current trust, so it may stream
/// live. Conditions are assumed able to match or not independently. The caller must still hold
/// back a tool the request did not declare: this does not know the declared list.
pub fn could_block(policies: &CompiledPolicies, tool: &str, context_trusted: bool) -> bool {
    let rows: Vec<&ToolRule> = policies.tool_rules.iter().filter(|r| r.tool.matches(tool)).collect();
    // Any single conditional row can be the only one that matches.
    let conditional = rows.iter().filter(|r| !r.conditions.is_empty()).any(|r| blocks(r.action, context_trusted));
    // Every call may also match no conditional row and fall through to the defaults.
    let mut defaults = rows.iter().filter(|r| r.conditions.is_empty()).peekable();
    let fallback = if defaults.peek().is_some() {
        defaults.any(|r| blocks(r.action, context_trusted))
    } else {
        blocks(policies.default_tool_action, context_trusted)
    };
    conditional || fallback
}

fn blocks(action: ToolAction, trusted: bool) -> bool {
    match action {
        ToolAction::AllowWhenContextIsUntrusted => false,
        ToolAction::BlockWhenContextIsUntrusted => !trusted,
        ToolAction::BlockAlways | ToolAction::RequireApproval => true,
    }
}

/// Where a deciding row came from, for the reason text.
#[derive(Clone, Copy)]
enum Source {
    Row,
    ProfileDefault,
}

/// A refusal (or pass) that no row made.
fn before_rows(blocked: Option<String>) -> Judgement {
    Judgement { row: None, blocked }
}

fn judge(
    policies: &CompiledPolicies,
    call: &ToolCall,
    declared: &[Declared],
    ctx: &Context,
    trusted: bool,
) -> Judgement {
    if call.name.is_empty() {
        return before_rows(Some(
            "the tool call has no name, so the gateway cannot tell which tool it would run".to_owned(),
        ));
    }
    if !declared.is_empty() {
        let custom = call.arguments.is_custom();
        match declared.iter().find(|d| d.name == call.name) {
            None => {
                return before_rows(Some(
                    "the request did not declare this tool, so the model may not call it".to_owned(),
                ))
            }
            Some(d) if d.custom != custom => {
                let (called, kind) = if custom { ("free-form", "function") } else { ("function", "free-form") };
                return before_rows(Some(format!(
                    "the model made a {called} call to a tool the request declared as a {kind} tool, which a \
                     client may still run by name"
                )));
            }
            Some(_) => {}
        }
    }
    let arguments = match call.arguments.for_policy() {
        Some(v) => v,
        // The client, not the gateway, decides what its parser makes of these arguments: a call
        // whose outcome could depend on them is refused. A name that came in conflicting pieces
        // is no name at all.
        None if call.arguments == Arguments::Unreadable(crate::view::Unreadable::AmbiguousName) => {
            return before_rows(Some(
                "the tool name arrived in conflicting pieces, so the client may run another tool".to_owned(),
            ));
        }
        None => {
            let why = match &call.arguments {
                Arguments::Unreadable(why) => why.describe(),
                _ => "its arguments could not be read",
            };
            return before_rows(
                could_block(policies, &call.name, trusted)
                    .then(|| format!("the gateway could not check this call against its policies: {why}")),
            );
        }
    };
    // Each row with its index in `tool_policies`.
    let rows: Vec<(usize, &ToolRule)> =
        policies.tool_rules.iter().enumerate().filter(|(_, r)| r.tool.matches(&call.name)).collect();
    let matched: Vec<(Option<usize>, ToolAction, Option<&str>)> = rows
        .iter()
        .filter(|(_, r)| !r.conditions.is_empty() && r.conditions.iter().all(|c| c.matches(Some(&arguments), ctx)))
        .map(|(i, r)| (Some(*i), r.action, r.reason.as_deref()))
        .collect();
    let defaults: Vec<(Option<usize>, ToolAction, Option<&str>)> = rows
        .iter()
        .filter(|(_, r)| r.conditions.is_empty())
        .map(|(i, r)| (Some(*i), r.action, r.reason.as_deref()))
        .collect();
    let (tier, source) = if !matched.is_empty() {
        (matched, Source::Row)
    } else if !defaults.is_empty() {
        (defaults, Source::Row)
    } else {
        (vec![(None, policies.default_tool_action, None)], Source::ProfileDefault)
    };
    match tier.iter().find(|(_, action, _)| blocks(*action, trusted)) {
        Some((row, action, custom)) => Judgement { row: *row, blocked: Some(reason_text(*action, *custom, source)) },
        // Allowed: every row of the tier lets it through; the first one is named.
        None => Judgement { row: tier.first().and_then(|(row, _, _)| *row), blocked: None },
    }
}

fn reason_text(action: ToolAction, custom: Option<&str>, source: Source) -> String {
    match (action, custom, source) {
        (ToolAction::RequireApproval, Some(custom), _) => {
            format!("{custom} (this tool needs human approval, which the gateway cannot obtain)")
        }
        (ToolAction::RequireApproval, None, _) => {
            "a policy requires human approval for this call, which the gateway cannot obtain".to_owned()
        }
        (_, Some(custom), _) => custom.to_owned(),
        (ToolAction::BlockAlways, None, Source::Row) => "a policy blocks this tool call".to_owned(),
        (ToolAction::BlockAlways, None, Source::ProfileDefault) => {
            "the profile blocks every tool that no policy allows".to_owned()
        }
        (_, None, Source::Row) => {
            "the conversation contains untrusted data (from an earlier tool result), and this tool's policy blocks it in that case".to_owned()
        }
        (_, None, Source::ProfileDefault) => {
            "the conversation contains untrusted data (from an earlier tool result), and no policy allows this tool in that case".to_owned()
        }
    }
}

#[cfg(test)]
#[path = "tools_tests.rs"]
mod tests;
