//! Tool policies, pure logic (DESIGN §5.1, §5.2): which tool results the model may trust
//! (`trust`), which tool calls it may make (`tools`), and the text the model is shown when a call
//! is blocked (`refusal`). Everything is compiled from configuration once
//! (`config::policy::compile`) into `CompiledPolicies`; evaluation only reads it.

pub mod condition;
pub mod glob;
pub mod path;
pub mod refusal;
pub mod tools;
pub mod trust;

use condition::Condition;
use glob::ToolPattern;
use serde::Deserialize;

/// What a tool-invocation policy row does with a call (DESIGN §5.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ToolAction {
    /// Allowed in trusted and untrusted context.
    AllowWhenContextIsUntrusted,
    /// Allowed only while the context is trusted.
    #[default]
    BlockWhenContextIsUntrusted,
    BlockAlways,
    /// The gateway cannot ask a human, so this blocks, with a reason saying approval was needed.
    RequireApproval,
}

/// What a trusted-data policy row does with a tool result (DESIGN §5.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResultAction {
    MarkAsTrusted,
    #[default]
    MarkAsUntrusted,
    SanitizeWithDualLlm,
    BlockAlways,
}

/// Who and what a request belongs to, for `context.*` conditions. Absent values never match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    /// Group claims (from a verified JWT, later); empty when unknown.
    pub groups: Vec<String>,
}

/// One profile's policies, ready to evaluate. The default value is what an empty profile means:
/// no rows, tools blocked only in untrusted context, results untrusted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompiledPolicies {
    pub(crate) tool_rules: Vec<ToolRule>,
    pub(crate) default_tool_action: ToolAction,
    pub(crate) result_rules: Vec<ResultRule>,
    pub(crate) default_result_action: ResultAction,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolRule {
    pub(crate) tool: ToolPattern,
    /// Empty: the tool's default row.
    pub(crate) conditions: Vec<Condition>,
    pub(crate) action: ToolAction,
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResultRule {
    pub(crate) tool: ToolPattern,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) action: ResultAction,
    pub(crate) description: Option<String>,
}

/// Test helper: a profile's policies from its JSON, through the real configuration loader.
#[cfg(test)]
pub(crate) fn compiled(profile: &str) -> CompiledPolicies {
    let json = format!(r#"{{"profiles":{{"default":{profile}}}}}"#);
    let config = crate::config::Config::from_json(json.as_bytes()).unwrap();
    config.profiles["default"].policies.clone()
}
