//! One sanitisation (DESIGN §5.3): up to `max_rounds` questions from the privileged model, each
//! answered by the quarantined model with an option index, then one summary call.
//!
//! Calls, for `q` questions: `2q + 1` when the round budget ran out, `2q + 2` when the privileged
//! model ended the questioning itself (its `DONE`, or a reply in neither form, is one more call).
//! An HTTP error, a transport error or a reply that is not a chat completion ends the
//! sanitisation with an error; a quarantined reply that is a chat completion but not a valid
//! answer is the catch-all option.

use super::client::{CallError, Chat, Side, Usage};
use super::protocol::{self, Exchange, PrivilegedReply, Task};
use crate::metrics::DualLlmMetrics;

/// Everything a sanitisation needs besides the route (which the [`Chat`] carries).
#[derive(Debug, Clone)]
pub struct Job {
    pub tool_name: String,
    pub tool_result: String,
    pub user_request: String,
    pub model: String,
    pub quarantined_model: String,
    pub max_rounds: u32,
}

/// A finished sanitisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanitized {
    /// The privileged model's summary: what replaces the tool result.
    pub summary: String,
    /// Questions asked and answered.
    pub rounds: u32,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SanitizeError {
    #[error("the {} model call failed: {error}", side.name())]
    Call { side: Side, error: CallError },
    #[error("the privileged model wrote an empty summary")]
    EmptySummary,
}

async fn call<C: Chat>(
    chat: &C,
    side: Side,
    model: &str,
    messages: &[protocol::Message],
    metrics: &DualLlmMetrics,
    usage: &mut Usage,
) -> Result<Option<String>, SanitizeError> {
    match chat.complete(side, model, messages).await {
        Ok(completion) => {
            *usage += completion.usage;
            Ok(completion.text)
        }
        Err(error) => {
            metrics.call(side, "error");
            Err(SanitizeError::Call { side, error })
        }
    }
}

/// Runs the protocol for `job`. Logs carry round numbers, option counts and choices, never text.
pub async fn run<C: Chat>(chat: &C, job: &Job, metrics: &DualLlmMetrics) -> Result<Sanitized, SanitizeError> {
    let task = Task { tool_name: &job.tool_name, user_request: &job.user_request, max_rounds: job.max_rounds };
    let mut exchanges: Vec<Exchange> = Vec::new();
    let mut usage = Usage::default();
    let mut rounds = 0u32;
    while rounds < job.max_rounds {
        let messages = protocol::question_messages(&task, &exchanges);
        let reply = call(chat, Side::Privileged, &job.model, &messages, metrics, &mut usage).await?;
        let question = match protocol::parse_privileged(reply.as_deref().unwrap_or_default()) {
            PrivilegedReply::Ask(question) => question,
            PrivilegedReply::Done => {
                metrics.call(Side::Privileged, "done");
                tracing::debug!(rounds, "dual-llm: the privileged model is done");
                break;
            }
            PrivilegedReply::OutOfForm => {
                metrics.call(Side::Privileged, "out_of_form");
                tracing::debug!(rounds, "dual-llm: a privileged reply in neither form ends the questioning");
                break;
            }
        };
        metrics.call(Side::Privileged, "question");
        let messages = protocol::quarantined_messages(&job.tool_name, &job.tool_result, &question);
        let answer = call(chat, Side::Quarantined, &job.quarantined_model, &messages, metrics, &mut usage).await?;
        let choice = protocol::parse_quarantined(answer.as_deref(), question.options.len());
        metrics.call(Side::Quarantined, if choice.catch_all { "catch_all" } else { "answer" });
        rounds += 1;
        tracing::debug!(
            round = rounds,
            options = question.options.len(),
            chosen = choice.index,
            catch_all = choice.catch_all,
            "dual-llm: question answered"
        );
        exchanges.push(Exchange { question, chosen: choice.index });
    }
    let messages = protocol::summary_messages(&task, &exchanges);
    let summary = call(chat, Side::Privileged, &job.model, &messages, metrics, &mut usage).await?;
    let summary = summary.map(|s| s.trim().to_string()).unwrap_or_default();
    if summary.is_empty() {
        metrics.call(Side::Privileged, "empty_summary");
        return Err(SanitizeError::EmptySummary);
    }
    metrics.call(Side::Privileged, "summary");
    Ok(Sanitized { summary, rounds, usage })
}

#[cfg(test)]
#[path = "sanitise_tests.rs"]
mod tests;
