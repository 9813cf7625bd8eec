//! The two Dual-LLM models (DESIGN §5.3), chosen by the request's `model`: a test stores a
//! [`DualScript`] with `PUT /__mock/dual/<model>`, and every chat-completions request for that
//! model is answered from it, whatever control headers it carries (the sidecar sends none).
//!
//! The reply depends only on the request, so concurrent and repeated sanitisations get the same
//! answers: a request whose last message is in summary mode gets `summary`; one in question mode
//! gets `questions[n]`, `n` being the questions already in its transcript (its assistant turns),
//! then `after`; any other request is the quarantined model's and gets the reply of the first
//! `answers` entry whose `when` occurs in its last message (the question), else `answer`.

use super::scenario::Canned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// What the privileged prompts' last message says in each mode (the sidecar's own markers).
const SUMMARY_MODE: &str = "SUMMARY MODE";
const QUESTION_MODE: &str = "QUESTION MODE";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DualScript {
    /// Question-mode replies, in order.
    pub questions: Vec<String>,
    /// The question-mode reply once `questions` are used up (`DONE` when absent).
    pub after: Option<String>,
    pub summary: String,
    /// Quarantined replies by question.
    pub answers: Vec<When>,
    /// The quarantined reply no `answers` entry matched.
    pub answer: String,
    /// A quarantined model the tool result took over: its reply is `answer` followed by every
    /// message it was sent (the result included), as an injection would have it.
    pub echo: bool,
    /// Answer every request with this HTTP status and an OpenAI error body instead (0 = 200).
    pub status: u16,
    /// Wait this long before answering (a slow or hanging model).
    pub delay_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    pub when: String,
    pub reply: String,
}

fn messages(body: &Value) -> &[Value] {
    body.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

fn text(message: &Value) -> &str {
    message.get("content").and_then(Value::as_str).unwrap_or_default()
}

impl DualScript {
    fn text_for(&self, body: &Value) -> String {
        let all = messages(body);
        let last = all.last().map(text).unwrap_or_default();
        if last.contains(SUMMARY_MODE) {
            return self.summary.clone();
        }
        if last.contains(QUESTION_MODE) {
            let asked = all.iter().filter(|m| m.get("role").and_then(Value::as_str) == Some("assistant")).count();
            return self
                .questions
                .get(asked)
                .cloned()
                .unwrap_or_else(|| self.after.clone().unwrap_or_else(|| "DONE".to_string()));
        }
        let reply = self
            .answers
            .iter()
            .find(|a| last.contains(&a.when))
            .map_or_else(|| self.answer.clone(), |a| a.reply.clone());
        if self.echo {
            let seen: Vec<&str> = all.iter().map(text).collect();
            return format!("{reply} {}", seen.join("\n"));
        }
        reply
    }

    /// The reply to `body` and how long to wait before sending it.
    pub fn reply(&self, body: &Value) -> (Canned, Duration) {
        let delay = Duration::from_millis(self.delay_ms);
        if self.status != 0 && self.status != 200 {
            let error = json!({"error": {"message": "mock Dual-LLM model: scripted failure", "type": "server_error",
                "param": null, "code": null}});
            return (Canned::json(self.status, &error), delay);
        }
        let model = body.get("model").and_then(Value::as_str).unwrap_or_default();
        let completion = json!({
            "id": "chatcmpl-mockdual",
            "object": "chat.completion",
            "created": 1_763_800_000u64,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": self.text_for(body), "refusal": null},
                "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 8, "total_tokens": 48}
        });
        (Canned::json(200, &completion), delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script() -> DualScript {
        DualScript {
            questions: vec!["QUESTION: q1?\nOPTIONS:\n0: a\n1: b".into()],
            summary: "the note".into(),
            answers: vec![When { when: "q1?".into(), reply: r#"{"answer": 0}"#.into() }],
            answer: r#"{"answer": 1}"#.into(),
            ..DualScript::default()
        }
    }

    fn content(canned: &Canned) -> String {
        let body: Value = serde_json::from_slice(&canned.parts.concat()).unwrap();
        body.pointer("/choices/0/message/content").and_then(Value::as_str).unwrap().to_string()
    }

    #[test]
    fn each_mode_and_each_question_gets_its_scripted_reply() {
        let s = script();
        let ask = |history: Vec<Value>| content(&s.reply(&json!({"model": "p", "messages": history})).0);
        assert!(ask(vec![json!({"role": "user", "content": "task\n\nQUESTION MODE: 2 left"})]).starts_with("QUESTION"));
        let second = vec![
            json!({"role": "user", "content": "task"}),
            json!({"role": "assistant", "content": "QUESTION: q1?"}),
            json!({"role": "user", "content": "Answer: a\n\nQUESTION MODE: 1 left"}),
        ];
        assert_eq!(ask(second), "DONE");
        assert_eq!(ask(vec![json!({"role": "user", "content": "SUMMARY MODE: now"})]), "the note");
        assert_eq!(ask(vec![json!({"role": "user", "content": "Question: q1?\nOptions: …"})]), r#"{"answer": 0}"#);
        assert_eq!(ask(vec![json!({"role": "user", "content": "Question: other"})]), r#"{"answer": 1}"#);
    }

    #[test]
    fn an_echoing_quarantined_model_repeats_what_it_was_sent() {
        let s = DualScript { echo: true, ..script() };
        let body = json!({"model": "q", "messages": [{"role": "user", "content": "PAYLOAD"}, {"role": "user", "content": "Question: q1?"}]});
        assert_eq!(content(&s.reply(&body).0), "{\"answer\": 0} PAYLOAD\nQuestion: q1?");
    }

    #[test]
    fn a_scripted_status_is_an_openai_error() {
        let s = DualScript { status: 500, delay_ms: 7, ..script() };
        let (canned, delay) = s.reply(&json!({"model": "p", "messages": []}));
        assert_eq!((canned.status, delay), (500, Duration::from_millis(7)));
    }
}
