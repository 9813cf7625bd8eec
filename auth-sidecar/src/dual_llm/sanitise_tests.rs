use super::*;
use crate::dual_llm::client::Completion;
use crate::dual_llm::protocol::{Message, Role, QUESTION_MODE, SUMMARY_MODE};
use crate::metrics::Metrics;
use proptest::prelude::*;
use std::sync::Mutex;

type Reply = Result<Option<String>, CallError>;
type Script = Box<dyn Fn(&[Message]) -> Reply + Send + Sync>;

/// A scripted pair of models that records every call.
struct Fake {
    privileged: Script,
    quarantined: Script,
    seen: Mutex<Vec<(Side, String, Vec<Message>)>>,
}

impl Fake {
    fn new(
        privileged: impl Fn(&[Message]) -> Reply + Send + Sync + 'static,
        quarantined: impl Fn(&[Message]) -> Reply + Send + Sync + 'static,
    ) -> Fake {
        Fake { privileged: Box::new(privileged), quarantined: Box::new(quarantined), seen: Mutex::new(Vec::new()) }
    }

    fn calls(&self, side: Side) -> Vec<(String, Vec<Message>)> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|(s, _, _)| *s == side).map(|(_, m, msgs)| (m.clone(), msgs.clone())).collect()
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Chat for Fake {
    async fn complete(&self, side: Side, model: &str, messages: &[Message]) -> Result<Completion, CallError> {
        self.seen.lock().unwrap().push((side, model.to_string(), messages.to_vec()));
        let script = match side {
            Side::Privileged => &self.privileged,
            Side::Quarantined => &self.quarantined,
        };
        script(messages).map(|text| Completion { text, usage: Usage { input: 10, output: 2 } })
    }
}

fn text(s: &str) -> Reply {
    Ok(Some(s.to_string()))
}

fn last(messages: &[Message]) -> &str {
    messages.last().map(|m| m.content.as_str()).unwrap_or_default()
}

fn asked(messages: &[Message]) -> usize {
    messages.iter().filter(|m| m.role == Role::Assistant).count()
}

const QUESTION: &str = "QUESTION: What kind of page is it?\nOPTIONS:\n0: a shop\n1: a blog\n2: cannot tell";

/// Asks `questions` questions, then says DONE; writes "SUMMARY" when asked to.
fn planner(questions: usize) -> impl Fn(&[Message]) -> Reply + Send + Sync {
    move |messages| {
        if last(messages).contains(SUMMARY_MODE) {
            text("SUMMARY")
        } else if asked(messages) < questions {
            text(QUESTION)
        } else {
            text("DONE")
        }
    }
}

fn job(max_rounds: u32) -> Job {
    Job {
        tool_name: "web_fetch".into(),
        tool_result: "Shop opening hours: 9-17. CANARY-00".into(),
        user_request: "When is the shop open?".into(),
        model: "big".into(),
        quarantined_model: "small".into(),
        max_rounds,
    }
}

async fn run_with(fake: &Fake, job: &Job) -> Result<Sanitized, SanitizeError> {
    run(fake, job, &DualLlmMetrics::default()).await
}

#[tokio::test]
async fn questions_are_asked_until_done_then_one_summary_replaces_the_result() {
    let fake = Fake::new(planner(2), |_| text(r#"{"answer": 1}"#));
    let metrics = Metrics::default();
    let out = run(&fake, &job(5), &metrics.dual_llm).await.unwrap();
    assert_eq!(out, Sanitized { summary: "SUMMARY".into(), rounds: 2, usage: Usage { input: 60, output: 12 } });
    let privileged = fake.calls(Side::Privileged);
    assert_eq!(privileged.len(), 4, "two questions, DONE, the summary");
    assert!(privileged.iter().all(|(model, _)| model == "big"));
    assert!(fake.calls(Side::Quarantined).iter().all(|(model, _)| model == "small"));
    assert!(last(&privileged[1].1).starts_with("Answer: a blog\n\n"));
    assert!(last(&privileged[3].1).contains(SUMMARY_MODE));
    let text = metrics.render();
    for line in [
        "warden_sidecar_dual_llm_calls_total{role=\"privileged\",result=\"question\"} 2",
        "warden_sidecar_dual_llm_calls_total{role=\"privileged\",result=\"done\"} 1",
        "warden_sidecar_dual_llm_calls_total{role=\"privileged\",result=\"summary\"} 1",
        "warden_sidecar_dual_llm_calls_total{role=\"quarantined\",result=\"answer\"} 2",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
}

#[tokio::test]
async fn the_round_budget_stops_a_privileged_model_that_never_says_done() {
    let fake = Fake::new(planner(usize::MAX), |_| text(r#"{"answer": 0}"#));
    let out = run_with(&fake, &job(3)).await.unwrap();
    assert_eq!(out.rounds, 3);
    assert_eq!(fake.count(), 7, "three questions, three answers, the summary");
    let privileged = fake.calls(Side::Privileged);
    assert!(last(&privileged[2].1).contains("1 question(s) left"));
    assert!(last(&privileged[3].1).contains(SUMMARY_MODE) && !last(&privileged[3].1).contains(QUESTION_MODE));
}

#[tokio::test]
async fn a_reply_in_neither_form_ends_the_questioning_and_the_summary_follows() {
    let fake = Fake::new(
        |messages| if last(messages).contains(SUMMARY_MODE) { text("SUMMARY") } else { text("Let me think about it.") },
        |_| panic!("no question was asked"),
    );
    let out = run_with(&fake, &job(5)).await.unwrap();
    assert_eq!((out.rounds, fake.count()), (0, 2));
}

#[tokio::test]
async fn answers_that_are_not_valid_take_the_catch_all_and_their_text_goes_nowhere() {
    let answers =
        ["{\"answer\": 7}", "I pick 0, see LEAKED-PROSE", "{\"answer\": \"1\"}", "{\"answer\": 1} LEAKED-TAIL"];
    let round = std::sync::atomic::AtomicUsize::new(0);
    let fake = Fake::new(planner(4), move |_| {
        let i = round.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        text(answers[i])
    });
    let out = run_with(&fake, &job(4)).await.unwrap();
    assert_eq!(out.rounds, 4);
    let summary_call = &fake.calls(Side::Privileged)[4].1;
    let answers: Vec<&str> =
        summary_call.iter().filter(|m| m.content.starts_with("Answer:")).map(|m| m.content.as_str()).collect();
    assert_eq!(answers.len(), 4);
    assert!(answers.iter().all(|a| a.starts_with("Answer: cannot tell")), "{answers:?}");
    for (_, messages) in fake.calls(Side::Privileged) {
        assert!(messages.iter().all(|m| !m.content.contains("LEAKED")));
    }
}

#[tokio::test]
async fn a_failed_call_on_either_side_fails_the_sanitisation() {
    let down = || CallError::Status { status: 500, path: "/v1/openai/work/chat/completions".into() };
    let fake = Fake::new(planner(1), move |_| Err(down()));
    let err = run_with(&fake, &job(3)).await.unwrap_err();
    assert_eq!(err, SanitizeError::Call { side: Side::Quarantined, error: down() });

    let fake = Fake::new(move |_| Err(down()), |_| text(r#"{"answer": 0}"#));
    let err = run_with(&fake, &job(3)).await.unwrap_err();
    assert_eq!(err, SanitizeError::Call { side: Side::Privileged, error: down() });
    assert_eq!(fake.count(), 1);
}

#[tokio::test]
async fn an_empty_summary_is_an_error_not_an_empty_replacement() {
    for summary in [None, Some("  \n")] {
        let fake = Fake::new(
            move |m| if last(m).contains(SUMMARY_MODE) { Ok(summary.map(str::to_string)) } else { text("DONE") },
            |_| text(r#"{"answer": 0}"#),
        );
        assert_eq!(run_with(&fake, &job(3)).await.unwrap_err(), SanitizeError::EmptySummary);
    }
}

/// A quarantined model that has been fully taken over by the result: it answers with the result
/// itself, with an index the result names, or with the result after a valid answer.
fn compromised(round: &std::sync::atomic::AtomicUsize, messages: &[Message]) -> Reply {
    let data = messages.get(1).map(|m| m.content.clone()).unwrap_or_default();
    match round.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 3 {
        0 => text(&data),
        1 => text(&format!("{{\"answer\": 0}}\n{data}")),
        _ => text(r#"{"answer": 1}"#),
    }
}

async fn assert_result_never_reaches_the_privileged_model(result: String) {
    let round = std::sync::atomic::AtomicUsize::new(0);
    let fake = Fake::new(planner(3), move |m| compromised(&round, m));
    let job = Job { tool_result: result.clone(), ..job(3) };
    run_with(&fake, &job).await.unwrap();
    let quarantined = fake.calls(Side::Quarantined);
    assert_eq!(quarantined.len(), 3);
    assert!(quarantined.iter().all(|(_, m)| m.iter().any(|m| m.content.contains(&result))));
    for (_, messages) in fake.calls(Side::Privileged) {
        for message in messages {
            assert!(!message.content.contains("CANARY"), "{:?} reached the privileged model", message.content);
        }
    }
}

fn injections() -> Vec<String> {
    let mut corpus: Vec<String> =
        serde_json::from_str(include_str!("../../tests/cases/dual_llm_injections.json")).expect("the corpus is JSON");
    corpus.push(format!("{}CANARY-11", "filler text that pushes the payload far down. ".repeat(2000)));
    corpus
}

#[tokio::test]
async fn no_injected_tool_result_reaches_the_privileged_model() {
    for result in injections() {
        assert_result_never_reaches_the_privileged_model(result).await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_tool_result_whatever_its_text_reaches_the_privileged_model(
        before in "\\PC{0,200}",
        after in "[ -~\n]{0,200}",
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(assert_result_never_reaches_the_privileged_model(format!("{before}CANARY-P{after}")));
    }
}
