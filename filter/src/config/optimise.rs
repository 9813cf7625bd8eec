//! Token-saving settings of a profile: TOON compression of tool results and model optimisation
//! rules (DESIGN §4.5, §5.4).

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Toon {
    /// Re-encode JSON tool results as TOON where that takes fewer tokens.
    #[serde(default)]
    pub enabled: bool,
}

/// `{provider, target_model, conditions}`: requests to `provider` whose conditions all hold are
/// sent to `target_model` instead. The first matching rule in list order wins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OptimizationRule {
    pub provider: String,
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"\S")))]
    pub target_model: String,
    /// ANDed; an empty list always matches.
    #[serde(default)]
    pub conditions: Vec<OptimizationCondition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum OptimizationCondition {
    /// The request (messages, system prompts and tool definitions) has at most this many tokens.
    MaxTokens(#[cfg_attr(feature = "schema", schemars(range(min = 1)))] u64),
    /// The request declares tools (true) or none (false).
    HasTools(bool),
}

impl OptimizationRule {
    pub fn max_tokens(&self) -> Option<u64> {
        self.conditions.iter().find_map(|c| match c {
            OptimizationCondition::MaxTokens(n) => Some(*n),
            OptimizationCondition::HasTools(_) => None,
        })
    }
}
