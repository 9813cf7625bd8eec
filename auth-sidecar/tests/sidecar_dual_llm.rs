//! `warden.v1.DualLlm.Sanitize` on the real binary, against a scripted chat-completions endpoint
//! that plays the privileged model (`planner-model`) and the quarantined one (`reader-model`) and
//! records every request: what each model may see, the catch-all, failures, the cache, single
//! flight, deadlines and a corpus of prompt injections.

use crate::common;

use common::fake_chat::{Answer, Call, FakeChat, USAGE};
use common::{metric, start};
use serde_json::json;
use std::time::{Duration, Instant};
use warden_e2e::sidecar::Sidecar;
use warden_proto::v1::dual_llm_client::DualLlmClient;
use warden_proto::v1::{SanitizeReply, SanitizeRequest};
use warden_sidecar::dual_llm::protocol::SUMMARY_MODE;

const KEY: &str = "sk-test-dual-llm-key-0123456789";
const PRIVILEGED: &str = "planner-model";
const QUARANTINED: &str = "reader-model";
const SUMMARY: &str = "The page lists the shop's opening hours.";
const QUESTION: &str =
    "QUESTION: What does the output contain?\nOPTIONS:\n0: opening hours\n1: prices\n2: none of these";
const RESULT: &str = "Open Monday to Friday, 9:00-17:00. Closed on public holidays. RESULT-MARKER-5a1e";

fn sidecar(fake: &FakeChat) -> Sidecar {
    start(
        json!({"dual_llm": {"envoy_url": fake.url(), "api_key_env": "WARDEN_DUAL_LLM_KEY"}}),
        &[("WARDEN_DUAL_LLM_KEY", KEY.to_string()), ("WARDEN_SIDECAR_LOG", "debug".to_string())],
    )
}

fn request(result: &str) -> SanitizeRequest {
    SanitizeRequest {
        tool_name: "web_fetch".into(),
        tool_result: result.into(),
        user_request: "When is the shop open?".into(),
        provider: "openai".into(),
        profile: "work".into(),
        model: PRIVILEGED.into(),
        quarantined_model: QUARANTINED.into(),
        max_rounds: 3,
        deadline_ms: 10_000,
    }
}

async fn sanitize(sidecar: &Sidecar, request: SanitizeRequest) -> Result<SanitizeReply, tonic::Status> {
    let mut client = DualLlmClient::connect(sidecar.grpc_url()).await.expect("connect to the sidecar");
    client.sanitize(request).await.map(|r| r.into_inner())
}

/// The privileged model asks `questions` questions, then says DONE, and writes [`SUMMARY`] when
/// asked for the summary; the quarantined model answers with `quarantined`.
fn script(questions: usize, quarantined: impl Fn(&Call) -> Answer + Send + Sync) -> impl Fn(&Call) -> Answer {
    move |call| {
        if call.model() == QUARANTINED {
            quarantined(call)
        } else if call.last_message().contains(SUMMARY_MODE) {
            Answer::text(SUMMARY)
        } else if call.asked() < questions {
            Answer::text(QUESTION)
        } else {
            Answer::text("DONE")
        }
    }
}

fn answer(index: usize) -> impl Fn(&Call) -> Answer + Send + Sync {
    move |_| Answer::text(format!("{{\"answer\": {index}}}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_quarantined_model_sees_the_result_and_the_planner_gets_the_chosen_option_text() {
    let fake = FakeChat::start(script(2, answer(0))).await;
    let sidecar = sidecar(&fake);
    let reply = sanitize(&sidecar, request(RESULT)).await.unwrap();
    assert_eq!(reply.summary, SUMMARY);
    assert_eq!((reply.cached, reply.rounds), (false, 2));
    assert_eq!((reply.input_tokens, reply.output_tokens), (6 * USAGE.0, 6 * USAGE.1));

    let calls = fake.calls();
    assert_eq!(calls.len(), 6, "2 questions, 2 answers, DONE, the summary");
    for call in &calls {
        assert_eq!((call.method.as_str(), call.path.as_str()), ("POST", "/v1/openai/work/chat/completions"));
        assert_eq!(call.header("x-warden-agent-id"), Some("warden-dual-llm"));
        assert_eq!(call.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(call.body["stream"], json!(false));
    }
    let privileged = fake.calls_of(PRIVILEGED);
    let quarantined = fake.calls_of(QUARANTINED);
    assert_eq!((privileged.len(), quarantined.len()), (4, 2));
    assert!(privileged.iter().all(|c| !c.raw.contains("RESULT-MARKER")), "the result reached the privileged model");
    assert!(quarantined.iter().all(|c| c.messages().iter().any(|(_, m)| m.contains(RESULT))));
    assert!(privileged[1].last_message().starts_with("Answer: opening hours"));
    assert!(privileged.iter().all(|c| !c.raw.contains(r#"{\"answer\""#)), "the quarantined text reached the planner");
    assert!(!sidecar.stderr().contains("RESULT-MARKER") && !sidecar.stderr().contains(KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_rounds_stops_a_privileged_model_that_never_says_done() {
    let fake = FakeChat::start(script(usize::MAX, answer(1))).await;
    let sidecar = sidecar(&fake);
    let reply = sanitize(&sidecar, SanitizeRequest { max_rounds: 4, ..request(RESULT) }).await.unwrap();
    assert_eq!((reply.rounds, reply.summary.as_str()), (4, SUMMARY));
    assert_eq!(fake.count(), 9, "4 questions, 4 answers, the summary");
    assert!(fake.calls().last().unwrap().last_message().contains(SUMMARY_MODE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_and_non_json_answers_count_as_the_catch_all() {
    // Each question gets the next invalid reply.
    let replies = [r#"{"answer": 3}"#, "It is clearly option 0. QUARANTINED-PROSE", r#"{"answer": "0"}"#];
    let next = std::sync::atomic::AtomicUsize::new(0);
    let fake = FakeChat::start(script(3, move |_| {
        Answer::text(replies[next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % replies.len()])
    }))
    .await;
    let sidecar = sidecar(&fake);
    let reply = sanitize(&sidecar, request(RESULT)).await.unwrap();
    assert_eq!(reply.rounds, 3);
    let summary_call = fake.calls_of(PRIVILEGED).pop().unwrap();
    let answers: Vec<String> =
        summary_call.messages().into_iter().filter(|(_, m)| m.starts_with("Answer:")).map(|(_, m)| m).collect();
    assert_eq!(answers.len(), 3);
    assert!(answers.iter().all(|a| a.starts_with("Answer: none of these")), "{answers:?}");
    assert!(fake.calls_of(PRIVILEGED).iter().all(|c| !c.raw.contains("QUARANTINED-PROSE")));
    assert_eq!(metric(&sidecar, "warden_sidecar_dual_llm_calls_total{role=\"quarantined\",result=\"catch_all\"}"), 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_from_either_model_is_unavailable_and_nothing_is_cached() {
    let fake = FakeChat::start(script(1, |_| Answer::status(500))).await;
    let sidecar = sidecar(&fake);
    let status = sanitize(&sidecar, request(RESULT)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(
        status.message(),
        "dual_llm: the quarantined model call failed: HTTP 500 from /v1/openai/work/chat/completions"
    );

    fake.set_script(|call: &Call| if call.model() == PRIVILEGED { Answer::status(503) } else { Answer::text("x") });
    let status = sanitize(&sidecar, request(RESULT)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().starts_with("dual_llm: the privileged model call failed: HTTP 503"), "{status:?}");

    let before = fake.count();
    fake.set_script(script(1, answer(0)));
    let reply = sanitize(&sidecar, request(RESULT)).await.unwrap();
    assert!(!reply.cached);
    assert_eq!(fake.count() - before, 4, "a failure must not be served from the cache");
    assert_eq!(metric(&sidecar, "warden_sidecar_dual_llm_failures_total{reason=\"model_error\"}"), 2.0);
    assert_eq!(metric(&sidecar, "warden_sidecar_dual_llm_calls_total{role=\"quarantined\",result=\"error\"}"), 1.0);
    assert!(!sidecar.stderr().contains("RESULT-MARKER"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identical_request_is_answered_from_the_cache_without_model_calls() {
    let fake = FakeChat::start(script(1, answer(0))).await;
    let sidecar = sidecar(&fake);
    let first = sanitize(&sidecar, request(RESULT)).await.unwrap();
    let calls = fake.count();
    let second = sanitize(&sidecar, SanitizeRequest { deadline_ms: 3000, ..request(RESULT) }).await.unwrap();
    assert_eq!(fake.count(), calls, "the cached answer made model calls");
    assert_eq!((second.summary.as_str(), second.rounds, second.cached), (first.summary.as_str(), first.rounds, true));
    assert_eq!((second.input_tokens, second.output_tokens), (0, 0));
    assert_eq!(metric(&sidecar, "warden_sidecar_dual_llm_cache_hits_total"), 1.0);

    // Another user request is another sanitisation.
    let other = sanitize(&sidecar, SanitizeRequest { user_request: "Is it open on Sunday?".into(), ..request(RESULT) })
        .await
        .unwrap();
    assert!(!other.cached);
    assert_eq!(fake.count(), 2 * calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_identical_requests_share_one_sanitisation() {
    let fake = FakeChat::start(move |call: &Call| script(2, answer(0))(call).after(Duration::from_millis(50))).await;
    let sidecar = std::sync::Arc::new(sidecar(&fake));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let sidecar = sidecar.clone();
        tasks.push(tokio::spawn(async move { sanitize(&sidecar, request(RESULT)).await }));
    }
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap().unwrap());
    }
    assert_eq!(fake.count(), 6, "one sanitisation: 2 questions, 2 answers, DONE, the summary");
    assert!(replies.iter().all(|r| r.summary == SUMMARY && r.rounds == 2));
    assert_eq!(replies.iter().filter(|r| !r.cached).count(), 1);
    assert_eq!(replies.iter().filter(|r| r.cached && r.input_tokens == 0).count(), 9);
    assert_eq!(metric(&sidecar, "warden_sidecar_dual_llm_cache_hits_total"), 9.0);
    assert_eq!(metric(&sidecar, "warden_sidecar_dual_llm_sanitize_duration_seconds_count"), 1.0);
}

/// A quarantined model the result has taken over: it repeats the result, or obeys it.
fn compromised(call: &Call) -> Answer {
    let data = call.messages().get(1).map(|(_, m)| m.clone()).unwrap_or_default();
    match call.raw.len() % 3 {
        0 => Answer::text(data),
        1 => Answer::text(format!("{{\"answer\": 0}} {data}")),
        _ => Answer::text(r#"{"answer": 1}"#),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_prompt_injection_in_a_result_reaches_the_privileged_model() {
    let corpus: Vec<String> = serde_json::from_str(include_str!("cases/dual_llm_injections.json")).unwrap();
    let fake = FakeChat::start(script(2, compromised)).await;
    let sidecar = sidecar(&fake);
    for (i, result) in corpus.iter().enumerate() {
        let reply = sanitize(&sidecar, request(result)).await.unwrap();
        assert_eq!((reply.summary.as_str(), reply.cached), (SUMMARY, false), "case {i}");
    }
    assert_eq!(fake.calls_of(QUARANTINED).len(), 2 * corpus.len());
    for call in fake.calls_of(QUARANTINED) {
        assert!(corpus.iter().any(|r| call.messages().iter().any(|(_, m)| m.contains(r.as_str()))));
    }
    for call in fake.calls_of(PRIVILEGED) {
        assert!(!call.raw.contains("CANARY"), "an injected result reached the privileged model: {}", call.raw);
    }
    assert!(!sidecar.stderr().contains("CANARY"), "the sidecar logged a result or an answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_deadline_a_sanitisation_is_abandoned_with_deadline_exceeded_and_not_cached() {
    let fake = FakeChat::start(|call: &Call| script(1, answer(0))(call).after(Duration::from_millis(600))).await;
    let sidecar = sidecar(&fake);
    let started = Instant::now();
    let status = sanitize(&sidecar, SanitizeRequest { deadline_ms: 200, ..request(RESULT) }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert!(started.elapsed() < Duration::from_millis(590), "answered after {:?}", started.elapsed());
    // The privileged call in flight at the deadline is the last one: no quarantined call follows.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(fake.count(), 1);
    assert_eq!(metric(&sidecar, "warden_sidecar_dual_llm_failures_total{reason=\"deadline\"}"), 1.0);

    fake.set_script(script(1, answer(0)));
    let reply = sanitize(&sidecar, request(RESULT)).await.unwrap();
    assert!(!reply.cached, "an abandoned sanitisation was cached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quarantined_model_defaults_to_the_privileged_one() {
    let fake = FakeChat::start(|call: &Call| {
        if call.raw.contains("RESULT-MARKER") {
            Answer::text(r#"{"answer": 0}"#)
        } else if call.last_message().contains(SUMMARY_MODE) {
            Answer::text(SUMMARY)
        } else if call.asked() < 1 {
            Answer::text(QUESTION)
        } else {
            Answer::text("DONE")
        }
    })
    .await;
    let sidecar = sidecar(&fake);
    let reply = sanitize(&sidecar, SanitizeRequest { quarantined_model: String::new(), ..request(RESULT) }).await;
    assert_eq!(reply.unwrap().rounds, 1);
    assert_eq!(fake.calls_of(PRIVILEGED).len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_the_sidecar_cannot_serve_get_precise_statuses() {
    let fake = FakeChat::start(script(1, answer(0))).await;
    let unconfigured = start(json!({}), &[]);
    let status = sanitize(&unconfigured, request(RESULT)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(status.message().contains("add a dual_llm block"), "{status:?}");

    let no_key = start(json!({"dual_llm": {"envoy_url": fake.url(), "api_key_env": "UNSET_DUAL_LLM_KEY"}}), &[]);
    let status = sanitize(&no_key, request(RESULT)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(status.message().contains("UNSET_DUAL_LLM_KEY"), "{status:?}");

    let sidecar = sidecar(&fake);
    for bad in [
        SanitizeRequest { max_rounds: 0, ..request(RESULT) },
        SanitizeRequest { provider: "openai/../admin".into(), ..request(RESULT) },
        SanitizeRequest { deadline_ms: 0, ..request(RESULT) },
        SanitizeRequest { model: String::new(), ..request(RESULT) },
    ] {
        let status = sanitize(&sidecar, bad).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    }
    assert_eq!(fake.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_health_reports_dual_llm_serving_when_configured() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    let fake = FakeChat::start(script(1, answer(0))).await;
    let sidecar = sidecar(&fake);
    let channel = tonic::transport::Endpoint::from_shared(sidecar.grpc_url()).unwrap().connect().await.unwrap();
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest { service: "warden.v1.DualLlm".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status, ServingStatus::Serving as i32);
}

/// Latency of `Sanitize` on the sidecar side against a model that takes 20 ms per call. Not a
/// pass/fail test (timing belongs in benchmarks): run with
/// `cargo test -p warden-sidecar --test sidecar sidecar_dual_llm:: -- --ignored --nocapture`
/// (`WARDEN_SIDECAR=dist/warden-sidecar` measures the release build).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure_sanitise_latency() {
    let per_call = Duration::from_millis(20);
    let fake = FakeChat::start(move |call: &Call| script(usize::MAX, answer(0))(call).after(per_call)).await;
    let config = json!({"dual_llm": {"envoy_url": fake.url(), "api_key_env": "WARDEN_DUAL_LLM_KEY"}});
    let env = vec![("WARDEN_DUAL_LLM_KEY".to_string(), KEY.to_string())];
    let sidecar = match std::env::var_os("WARDEN_SIDECAR") {
        Some(path) => Sidecar::start(std::path::Path::new(&path), &config, &env),
        None => start(config, &[("WARDEN_DUAL_LLM_KEY", KEY.to_string())]),
    };
    let mut client = DualLlmClient::connect(sidecar.grpc_url()).await.unwrap();
    let runs = 20;
    let (mut uncached, mut cached) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let request = SanitizeRequest { max_rounds: 2, ..request(&format!("{RESULT} run {i}")) };
        let t = Instant::now();
        client.sanitize(request.clone()).await.unwrap();
        uncached.push(t.elapsed());
        let t = Instant::now();
        assert!(client.sanitize(request).await.unwrap().into_inner().cached);
        cached.push(t.elapsed());
    }
    let calls = fake.count() / runs;
    for (what, mut times) in [("uncached", uncached), ("cached", cached)] {
        times.sort();
        let p50 = times[times.len() / 2];
        let max = times[times.len() - 1];
        println!(
            "{what}: p50 {p50:?} max {max:?} over {runs} runs ({calls} model calls of {per_call:?} each uncached)"
        );
    }
}
