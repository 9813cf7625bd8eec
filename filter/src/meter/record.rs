//! The interaction record (DESIGN §4.3): one JSON object per handled request, published as the
//! `wasm.warden` filter state for the access log.

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Record {
    pub provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<&'static str>,
    pub profile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// False when the model had no known price and the conservative default was charged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priced: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools_declared: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// The response ended before it was complete (upstream reset, client gone, stream cut).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toon_tokens_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toon_tokens_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toon_skip_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_trusted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untrusted_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_tools: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_reason: Option<String>,
}
