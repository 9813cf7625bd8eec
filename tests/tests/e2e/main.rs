//! The end-to-end suite as one test binary: each file beside this directory is one module, so
//! the suite links once and `--test-threads` spreads every test of every file over the cores.
//! Run one file with `cargo test -p warden-e2e --test e2e <file>::`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/cost.rs"]
mod cost;
#[path = "../common/limits.rs"]
mod limits;

#[path = "../adversarial.rs"]
mod adversarial;
#[path = "../agent_metrics.rs"]
mod agent_metrics;
#[path = "../body_edits.rs"]
mod body_edits;
#[path = "../cost_limits.rs"]
mod cost_limits;
#[path = "../cost_limits_concurrency.rs"]
mod cost_limits_concurrency;
#[path = "../cost_optimization.rs"]
mod cost_optimization;
#[path = "../cost_toon.rs"]
mod cost_toon;
#[path = "../credentials.rs"]
mod credentials;
#[path = "../credentials_azure.rs"]
mod credentials_azure;
#[path = "../credentials_bedrock.rs"]
mod credentials_bedrock;
#[path = "../credentials_sidecar.rs"]
mod credentials_sidecar;
#[path = "../deploy.rs"]
mod deploy;
#[path = "../differential.rs"]
mod differential;
#[path = "../dual_llm.rs"]
mod dual_llm;
#[path = "../errors.rs"]
mod errors;
#[path = "../fail_closed.rs"]
mod fail_closed;
#[path = "../grafana_dashboard.rs"]
mod grafana_dashboard;
#[path = "../harness.rs"]
mod harness;
#[path = "../jwt_identity.rs"]
mod jwt_identity;
#[path = "../keys.rs"]
mod keys;
#[path = "../oauth_clients.rs"]
mod oauth_clients;
#[path = "../passthrough.rs"]
mod passthrough;
#[path = "../records.rs"]
mod records;
#[path = "../redis_limits.rs"]
mod redis_limits;
#[path = "../router.rs"]
mod router;
#[path = "../sidecar_envoy.rs"]
mod sidecar_envoy;
#[path = "../tool_policies.rs"]
mod tool_policies;
#[path = "../traces.rs"]
mod traces;
#[path = "../trust_policies.rs"]
mod trust_policies;
