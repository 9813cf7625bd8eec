//! What the policies decided for one exchange and which rows decided it, for tools that show why
//! (the playground, `playground/`): the same evaluation the request and response went through
//! (`policy::trust::explain`, `policy::tools::explain`), under this request's profile, caller and
//! trust, never a second implementation of the rules.

use super::{Exchange, ResponseStream};
use crate::policy::tools::Judgement;
use crate::policy::trust::{self, ResultDecision};
use crate::providers;
use crate::view::{self, ToolCall};
use serde_json::Value;

/// One tool result of the request, its decision and the `result_policies` row that made it
/// (`None`: the profile's `default_result_action`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainedResult {
    pub tool: Option<String>,
    pub call_id: Option<String>,
    pub decision: ResultDecision,
    pub row: Option<usize>,
}

impl Exchange {
    /// Each tool result of `body` (the request body as the client sent it). Empty when the body is
    /// not one the gateway reads tool results from, or the exchange was routed (its body was
    /// translated before the results were read).
    pub fn explain_results(&self, body: &[u8]) -> Vec<ExplainedResult> {
        let (Some(api), None) = (self.route.api, self.routing.as_ref()) else { return Vec::new() };
        let Some(profile) = self.config.profiles.get(&self.route.profile) else { return Vec::new() };
        let Ok(json) = serde_json::from_slice::<Value>(body) else { return Vec::new() };
        let Some(request) = providers::parse_request(api, &json) else { return Vec::new() };
        let explained = trust::explain(&profile.policies, &request.tool_results, &self.policy_context());
        request
            .tool_results
            .into_iter()
            .zip(explained)
            .map(|(result, (decision, row))| ExplainedResult {
                tool: result.tool_name,
                call_id: result.call_id,
                decision,
                row,
            })
            .collect()
    }

    /// The response as the gateway read it: the whole body, or `stream` when it came as one.
    pub fn response_view<'a>(&'a self, stream: Option<&'a ResponseStream>) -> Option<&'a view::Response> {
        self.outcome.response.as_ref().or_else(|| stream.map(ResponseStream::response))
    }

    /// Each tool call of the response, judged on its own account under the request's trust (one
    /// refused call refuses the whole batch: `Record::blocked_tools` says which went out).
    pub fn explain_calls(&self, stream: Option<&ResponseStream>) -> Vec<(ToolCall, Judgement)> {
        // A policed stream took the request's guard with it.
        let guard = self.guard.as_ref().or_else(|| stream.and_then(ResponseStream::guard));
        let (Some(guard), Some(response)) = (guard, self.response_view(stream)) else {
            return Vec::new();
        };
        response.tool_calls.iter().cloned().zip(guard.explain(&response.tool_calls)).collect()
    }

    /// The index in the profile's `optimization_rules` of the rule that fired, if one did.
    pub fn optimization_rule(&self) -> Option<usize> {
        self.facts.optimization_rule
    }
}
