//! `warden.v1.DualLlm.Sanitize` (DESIGN §5.3): replaces an untrusted tool result with a summary
//! written by a privileged model that never sees it, from the option indices a quarantined model
//! that does see it picked.
//!
//! - [`protocol`] — the prompts and the parsing of both models' answers;
//! - [`client`] — the chat-completions calls through the local Envoy;
//! - [`sanitise`] — one sanitisation, round by round;
//! - [`cache`] — finished sanitisations, and single flight for running ones, with deadlines.
//!
//! Statuses: INVALID_ARGUMENT (a field is unusable), FAILED_PRECONDITION (no `dual_llm` block, or
//! its key variable is unset), UNAVAILABLE (a model call failed or the summary was empty),
//! DEADLINE_EXCEEDED (`deadline_ms` passed), INTERNAL (a bug). Logs carry sizes, counts and
//! outcomes, never the tool result, the user request, a prompt or an answer.

pub mod cache;
pub mod client;
pub mod protocol;
pub mod sanitise;

use crate::config;
use crate::error::DualLlmError;
use crate::metrics::Metrics;
use cache::{Cache, Failure, Served};
use client::{Calls, Envoy, Route};
use sanitise::{Job, SanitizeError, Sanitized};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use warden_proto::v1::dual_llm_server::{DualLlm, DualLlmServer};
use warden_proto::v1::{SanitizeReply, SanitizeRequest};

/// The most questions a request may allow (the reference's bound; each costs two calls).
pub const MAX_ROUNDS: u32 = 20;

/// Bumped when the prompts change, so that no summary made under other prompts is served.
const KEY_VERSION: &[u8] = b"warden-dual-llm/1";

struct Sanitizer {
    envoy: Arc<Envoy>,
    cache: Arc<Cache<Sanitized, SanitizeError>>,
}

pub struct DualLlmService {
    /// Why Sanitize cannot run, when it cannot.
    sanitizer: Result<Sanitizer, DualLlmError>,
    metrics: Arc<Metrics>,
}

impl DualLlmService {
    /// The service for `config.dual_llm`; without that block (or with its key variable unset)
    /// every call is FAILED_PRECONDITION, so the filter learns why.
    pub fn new(config: Option<&config::DualLlm>, metrics: Arc<Metrics>) -> DualLlmService {
        let sanitizer = match config {
            None => Err(DualLlmError::NotConfigured),
            Some(config) => Sanitizer::new(config),
        };
        if let Err(err) = &sanitizer {
            if config.is_some() {
                tracing::warn!(error = %err, "Dual LLM is configured but cannot run");
            }
        }
        DualLlmService { sanitizer, metrics }
    }

    /// Whether Sanitize can run (for the health service).
    pub fn ready(&self) -> bool {
        self.sanitizer.is_ok()
    }

    pub fn into_server(self) -> DualLlmServer<DualLlmService> {
        DualLlmServer::new(self)
    }
}

impl Sanitizer {
    fn new(config: &config::DualLlm) -> Result<Sanitizer, DualLlmError> {
        let key = std::env::var(&config.api_key_env).ok().filter(|k| !k.is_empty()).ok_or_else(|| {
            DualLlmError::Misconfigured(format!(
                "the environment variable {} named by dual_llm.api_key_env is not set",
                config.api_key_env
            ))
        })?;
        let envoy = Envoy::new(&config.envoy_url, &key).map_err(DualLlmError::Misconfigured)?;
        let entries = NonZeroUsize::new(config.cache_entries).unwrap_or(NonZeroUsize::MIN);
        let cache = Cache::new(entries, Duration::from_secs(config.cache_ttl_secs));
        Ok(Sanitizer { envoy: Arc::new(envoy), cache: Arc::new(cache) })
    }
}

/// A provider or profile name becomes a path segment of the Envoy route.
fn path_segment(field: &str, value: &str) -> Result<(), DualLlmError> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(DualLlmError::BadRequest(format!("{field} must be a non-empty name of letters, digits, '-', '_' or '.'")))
    }
}

/// A checked request: the job, its route, its cache key and its deadline in milliseconds.
struct Checked {
    job: Job,
    route: Route,
    key: cache::Key,
    deadline_ms: u32,
}

fn check(request: SanitizeRequest) -> Result<Checked, DualLlmError> {
    path_segment("provider", &request.provider)?;
    path_segment("profile", &request.profile)?;
    if request.model.trim().is_empty() {
        return Err(DualLlmError::BadRequest("model is empty".into()));
    }
    if !(1..=MAX_ROUNDS).contains(&request.max_rounds) {
        return Err(DualLlmError::BadRequest(format!("max_rounds must be 1 to {MAX_ROUNDS}")));
    }
    if request.deadline_ms == 0 {
        return Err(DualLlmError::BadRequest("deadline_ms must be more than 0".into()));
    }
    let quarantined_model =
        if request.quarantined_model.trim().is_empty() { request.model.clone() } else { request.quarantined_model };
    let key = cache::key(&[
        KEY_VERSION,
        request.tool_name.as_bytes(),
        request.tool_result.as_bytes(),
        request.user_request.as_bytes(),
        request.provider.as_bytes(),
        request.profile.as_bytes(),
        request.model.as_bytes(),
        quarantined_model.as_bytes(),
        &request.max_rounds.to_le_bytes(),
    ]);
    Ok(Checked {
        job: Job {
            tool_name: request.tool_name,
            tool_result: request.tool_result,
            user_request: request.user_request,
            model: request.model,
            quarantined_model,
            max_rounds: request.max_rounds,
        },
        route: Route { provider: request.provider, profile: request.profile },
        key,
        deadline_ms: request.deadline_ms,
    })
}

impl DualLlmService {
    async fn handle(&self, request: SanitizeRequest) -> Result<(Sanitized, Served), DualLlmError> {
        let sanitizer = self.sanitizer.as_ref().map_err(Clone::clone)?;
        let Checked { job, route, key, deadline_ms } = check(request)?;
        let deadline = Instant::now() + Duration::from_millis(u64::from(deadline_ms));
        let (envoy, metrics) = (sanitizer.envoy.clone(), self.metrics.clone());
        let work = async move {
            let started = Instant::now();
            let calls = Calls { envoy, route };
            let outcome = sanitise::run(&calls, &job, &metrics.dual_llm).await;
            metrics.dual_llm.sanitised(started.elapsed());
            outcome
        };
        sanitizer.cache.get(key, deadline, work).await.map_err(|failure| match failure {
            Failure::Failed(err) => DualLlmError::Sanitize(err),
            Failure::DeadlineExceeded => DualLlmError::DeadlineExceeded { ms: deadline_ms },
            Failure::Lost => DualLlmError::Lost,
        })
    }
}

#[tonic::async_trait]
impl DualLlm for DualLlmService {
    async fn sanitize(
        &self,
        request: tonic::Request<SanitizeRequest>,
    ) -> Result<tonic::Response<SanitizeReply>, tonic::Status> {
        let started = Instant::now();
        let request = request.into_inner();
        let (tool, result_bytes) = (request.tool_name.clone(), request.tool_result.len());
        match self.handle(request).await {
            Ok((sanitized, Served::Fresh)) => {
                tracing::info!(
                    %tool,
                    result_bytes,
                    summary_bytes = sanitized.summary.len(),
                    rounds = sanitized.rounds,
                    input_tokens = sanitized.usage.input,
                    output_tokens = sanitized.usage.output,
                    ms = started.elapsed().as_millis() as u64,
                    "dual-llm: sanitised"
                );
                Ok(tonic::Response::new(SanitizeReply {
                    summary: sanitized.summary,
                    cached: false,
                    rounds: sanitized.rounds,
                    input_tokens: sanitized.usage.input,
                    output_tokens: sanitized.usage.output,
                }))
            }
            Ok((sanitized, served)) => {
                self.metrics.dual_llm.cache_hit();
                tracing::debug!(%tool, result_bytes, joined = served == Served::Joined, "dual-llm: served without model calls");
                Ok(tonic::Response::new(SanitizeReply {
                    summary: sanitized.summary,
                    cached: true,
                    rounds: sanitized.rounds,
                    input_tokens: 0,
                    output_tokens: 0,
                }))
            }
            Err(err) => {
                self.metrics.dual_llm.failure(err.reason());
                tracing::warn!(%tool, result_bytes, reason = err.reason(), error = %err, "dual-llm: no summary");
                Err(err.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SanitizeRequest {
        SanitizeRequest {
            tool_name: "web_fetch".into(),
            tool_result: "result".into(),
            user_request: "what does it say?".into(),
            provider: "openai".into(),
            profile: "work".into(),
            model: "big".into(),
            quarantined_model: String::new(),
            max_rounds: 3,
            deadline_ms: 5000,
        }
    }

    fn rejected(request: SanitizeRequest) -> String {
        match check(request) {
            Err(DualLlmError::BadRequest(what)) => what,
            other => panic!("expected a bad request, got {:?}", other.map(|c| c.route)),
        }
    }

    #[test]
    fn the_quarantined_model_defaults_to_the_privileged_one() {
        let checked = check(request()).unwrap();
        assert_eq!(checked.job.quarantined_model, "big");
        let named = check(SanitizeRequest { quarantined_model: "small".into(), ..request() }).unwrap();
        assert_eq!(named.job.quarantined_model, "small");
    }

    #[test]
    fn every_field_that_decides_the_outcome_is_in_the_key_and_the_deadline_is_not() {
        let base = check(request()).unwrap().key;
        let variants = [
            SanitizeRequest { tool_name: "other".into(), ..request() },
            SanitizeRequest { tool_result: "other".into(), ..request() },
            SanitizeRequest { user_request: "other".into(), ..request() },
            SanitizeRequest { provider: "azure".into(), ..request() },
            SanitizeRequest { profile: "home".into(), ..request() },
            SanitizeRequest { model: "other".into(), ..request() },
            SanitizeRequest { quarantined_model: "small".into(), ..request() },
            SanitizeRequest { max_rounds: 4, ..request() },
        ];
        for variant in variants {
            assert_ne!(check(variant.clone()).unwrap().key, base, "{variant:?}");
        }
        assert_eq!(check(SanitizeRequest { deadline_ms: 1, ..request() }).unwrap().key, base);
        // An empty quarantined model and the same model named explicitly are one sanitisation.
        assert_eq!(check(SanitizeRequest { quarantined_model: "big".into(), ..request() }).unwrap().key, base);
    }

    #[test]
    fn unusable_fields_are_bad_requests_naming_the_field() {
        assert!(rejected(SanitizeRequest { provider: String::new(), ..request() }).starts_with("provider"));
        assert!(rejected(SanitizeRequest { provider: "../admin".into(), ..request() }).starts_with("provider"));
        assert!(rejected(SanitizeRequest { profile: "a/b".into(), ..request() }).starts_with("profile"));
        assert!(rejected(SanitizeRequest { profile: "..".into(), ..request() }).starts_with("profile"));
        assert!(rejected(SanitizeRequest { model: " ".into(), ..request() }).starts_with("model"));
        assert!(rejected(SanitizeRequest { max_rounds: 0, ..request() }).starts_with("max_rounds"));
        assert!(rejected(SanitizeRequest { max_rounds: 21, ..request() }).starts_with("max_rounds"));
        assert!(rejected(SanitizeRequest { deadline_ms: 0, ..request() }).starts_with("deadline_ms"));
        assert!(check(SanitizeRequest { provider: "model-router".into(), max_rounds: 20, ..request() }).is_ok());
    }

    #[test]
    fn without_a_dual_llm_block_the_service_is_not_ready() {
        let service = DualLlmService::new(None, Arc::new(Metrics::default()));
        assert!(!service.ready());
        assert_eq!(service.sanitizer.err(), Some(DualLlmError::NotConfigured));
    }
}
