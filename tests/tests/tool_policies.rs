//! Tool-invocation policies (DESIGN §5.1) through Envoy and the module, in every wire format,
//! streaming and not, at several chunk sizes: a blocked call reaches the client as a normal,
//! valid assistant message that explains the refusal; an allowed call reaches it byte for byte.

use crate::common;

use common::policy::{matrix, policy_stack, send};
use serde_json::json;
use warden_e2e::cases::Case;
use warden_e2e::mock::scenario::text;
use warden_e2e::policy::{self, PolicyRecord, Refusal, SYSTEM_FILES_REASON};
use warden_e2e::prom;
use warden_e2e::run::{self, Failures, Via};
use warden_e2e::seen::{self, Format};

const CHUNKS: [Option<usize>; 3] = [Some(1), Some(7), Some(64)];

fn etc_passwd() -> (&'static str, serde_json::Value) {
    ("read_file", json!({"path": "/etc/passwd"}))
}

fn system_files_refusal() -> Refusal {
    Refusal {
        tools: vec!["read_file"],
        mentions: vec!["/etc/passwd".into(), SYSTEM_FILES_REASON.into()],
        kept_text: None,
        batch: vec![],
    }
}

fn system_files_record() -> PolicyRecord {
    PolicyRecord {
        context_trusted: true,
        blocked_tools: vec!["read_file"],
        block_mentions: Some(SYSTEM_FILES_REASON.into()),
        ..PolicyRecord::default()
    }
}

#[test]
fn a_blocked_call_becomes_a_refusal_in_every_api_and_chunk_size() {
    let stack = policy_stack();
    let runs = matrix(policy::api_cases("secure"), &CHUNKS);
    let outcomes = run::parallel(&runs, 8, |(case, chunk)| send(&stack, case, "text", &[etc_passwd()], *chunk, &[]));
    let mut f = Failures::default();
    for o in &outcomes {
        policy::check_refusal(&mut f, o, &system_files_refusal());
        policy::check_policy_record(&mut f, &stack, o, &system_files_record());
    }
    f.assert_none("read_file /etc/passwd under secure");
}

#[test]
fn an_allowed_call_passes_intact_in_every_api_and_chunk_size() {
    // `read_file` can be blocked under `secure`, so streams hold it back until its arguments are
    // complete; released, it must still be exactly the upstream's bytes.
    let stack = policy_stack();
    let runs = matrix(policy::api_cases("secure"), &CHUNKS);
    let notes = ("read_file", json!({"path": "/home/me/notes"}));
    let outcomes =
        run::parallel(&runs, 8, |(case, chunk)| send(&stack, case, "text", std::slice::from_ref(&notes), *chunk, &[]));
    let mut f = Failures::default();
    for o in &outcomes {
        run::check_bytes(&mut f, o, Via::Filter);
        let want = PolicyRecord { context_trusted: true, ..PolicyRecord::default() };
        policy::check_policy_record(&mut f, &stack, o, &want);
    }
    f.assert_none("read_file /home/me/notes under secure");
}

#[test]
fn a_tool_the_request_did_not_declare_is_blocked() {
    let stack = policy_stack();
    let cases: Vec<_> =
        policy::api_cases("default").into_iter().map(|c| policy::with_tools(c, &["get_weather"])).collect();
    let runs = matrix(cases, &[None, Some(7)]);
    let call = ("delete_repo", json!({"repo": "warden/main"}));
    let outcomes =
        run::parallel(&runs, 8, |(case, chunk)| send(&stack, case, "text", std::slice::from_ref(&call), *chunk, &[]));
    let mut f = Failures::default();
    let want =
        Refusal { tools: vec!["delete_repo"], mentions: vec!["warden/main".into()], kept_text: None, batch: vec![] };
    for o in &outcomes {
        policy::check_refusal(&mut f, o, &want);
        let record = PolicyRecord {
            context_trusted: true,
            blocked_tools: vec!["delete_repo"],
            block_mentions: Some("declare".into()),
            ..PolicyRecord::default()
        };
        policy::check_policy_record(&mut f, &stack, o, &record);
    }
    f.assert_none("undeclared tool");
}

#[test]
fn one_blocked_call_blocks_every_call_of_the_response() {
    // Both calls are held back (read_file can be blocked), so neither may reach the client when
    // only the second is blocked.
    let stack = policy_stack();
    let runs = matrix(policy::api_cases("secure"), &[None, Some(7)]);
    let calls = [("read_file", json!({"path": "/home/me/notes"})), etc_passwd()];
    let outcomes = run::parallel(&runs, 8, |(case, chunk)| send(&stack, case, "text", &calls, *chunk, &[]));
    let mut f = Failures::default();
    for o in &outcomes {
        policy::check_refusal(&mut f, o, &system_files_refusal());
        policy::check_policy_record(&mut f, &stack, o, &system_files_record());
    }
    // A whole non-streaming response is evaluated at once: an always-allowed call goes too.
    let plain: Vec<_> = policy::api_cases("secure").into_iter().filter(|c| !c.stream).collect();
    for case in &plain {
        let o = send(&stack, case, "text", &[("get_weather", json!({"city": "Paris"})), etc_passwd()], None, &[]);
        policy::check_refusal(&mut f, &o, &Refusal { batch: vec!["get_weather"], ..system_files_refusal() });
        let record = PolicyRecord { batch: vec!["get_weather"], ..system_files_record() };
        policy::check_policy_record(&mut f, &stack, &o, &record);
    }
    f.assert_none("parallel calls, second blocked");
}

/// The finish reason a reply whose tool calls went out carries.
fn tool_finish(api: &str) -> &'static str {
    match api {
        "chat_completions" => "tool_calls",
        "responses" => "completed",
        "messages" | "converse" => "tool_use",
        "generate_content" => "STOP",
        _ => "TOOL_CALL",
    }
}

#[test]
fn a_call_streamed_live_before_a_blocked_one_leaves_a_consistent_stream() {
    // get_weather is always allowed, so a stream may deliver it live before read_file is known to
    // be blocked. Whatever went out, the blocked call never does, the model is told, and the
    // finish reason matches what the client got: tool-style if a call went out, else stop-style.
    let stack = policy_stack();
    let streams: Vec<_> = policy::api_cases("secure").into_iter().filter(|c| c.stream).collect();
    let runs = matrix(streams, &[None, Some(7)]);
    let calls = [("get_weather", json!({"city": "Paris"})), etc_passwd()];
    let outcomes = run::parallel(&runs, 8, |(case, chunk)| send(&stack, case, "text", &calls, *chunk, &[]));
    let mut f = Failures::default();
    for o in &outcomes {
        let label = &o.label;
        let seen = seen::read(Format::of(&o.case), &o.reply.body);
        f.check(seen.problems.is_empty(), || format!("{label}: invalid reply: {:?}", seen.problems));
        let names: Vec<&str> = seen.calls.iter().map(|c| c.name.as_str()).collect();
        f.check(names.is_empty() || names == ["get_weather"], || {
            format!("{label}: calls {names:?} reached the client")
        });
        f.check(!o.reply.text().contains("\"name\":\"read_file\""), || format!("{label}: a read_file call structure"));
        f.check(seen.said().contains("read_file") && seen.said().contains(SYSTEM_FILES_REASON), || {
            format!("{label}: no refusal for read_file: {:?}", seen.said())
        });
        let want = if names.is_empty() { seen::stop_finish(o.case.api) } else { tool_finish(o.case.api) };
        f.check(seen.finish.as_deref() == Some(want), || {
            format!("{label}: finish {:?} with calls {names:?}, want {want:?}", seen.finish)
        });
        let record = PolicyRecord { batch: vec!["get_weather"], ..system_files_record() };
        policy::check_policy_record(&mut f, &stack, o, &record);
    }
    f.assert_none("live call, then a blocked one");
}

#[test]
fn text_before_a_blocked_call_is_kept() {
    let stack = policy_stack();
    let runs = matrix(policy::api_cases("secure"), &[None, Some(7)]);
    let outcomes =
        run::parallel(&runs, 8, |(case, chunk)| send(&stack, case, "text_then_tools", &[etc_passwd()], *chunk, &[]));
    let mut f = Failures::default();
    let want = Refusal { kept_text: Some(text()), ..system_files_refusal() };
    for o in &outcomes {
        let seen = policy::check_refusal(&mut f, o, &want);
        // Anthropic streams: the text block stays block 0, the refusal is a text block at the next
        // free index (tool_use would have been 1).
        if Format::of(&o.case) == Format::AnthropicSse {
            let indexes: Vec<u64> = seen.text_blocks.iter().map(|(i, _)| *i).collect();
            f.check(indexes == [0, 1] && seen.text_blocks.first().is_some_and(|(_, t)| *t == text()), || {
                format!("{}: text blocks {:?}, want the text at 0 and the refusal at 1", o.label, seen.text_blocks)
            });
        }
    }
    f.assert_none("text then a blocked call");
}

#[test]
fn gemini_chunk_with_text_and_a_call_keeps_the_text_and_drops_the_call() {
    let stack = policy_stack();
    let cases: Vec<_> = policy::api_cases("secure").into_iter().filter(|c| c.provider == "gemini").collect();
    let runs = matrix(cases, &[None, Some(1), Some(7), Some(64)]);
    let outcomes =
        run::parallel(&runs, 8, |(case, chunk)| send(&stack, case, "mixed_chunk", &[etc_passwd()], *chunk, &[]));
    let mut f = Failures::default();
    let want = Refusal { kept_text: Some(text()), ..system_files_refusal() };
    for o in &outcomes {
        policy::check_refusal(&mut f, o, &want);
    }
    f.assert_none("Gemini mixed chunk");
}

#[test]
fn long_arguments_split_over_many_events_are_evaluated_whole() {
    // The path decides, and it comes after a long field: the verdict needs every piece.
    let stack = policy_stack();
    let note = "ünïcödé padding ".repeat(24);
    let call = ("read_file", json!({"note": note, "path": "/etc/shadow"}));
    let runs = matrix(policy::api_cases("secure").into_iter().filter(|c| c.stream).collect(), &[Some(3), Some(11)]);
    let outcomes =
        run::parallel(&runs, 8, |(case, chunk)| send(&stack, case, "text", std::slice::from_ref(&call), *chunk, &[]));
    let mut f = Failures::default();
    let want = Refusal {
        tools: vec!["read_file"],
        mentions: vec!["/etc/shadow".into(), SYSTEM_FILES_REASON.into()],
        kept_text: None,
        batch: vec![],
    };
    for o in &outcomes {
        policy::check_refusal(&mut f, o, &want);
    }
    f.assert_none("long arguments");
}

#[test]
fn blocked_calls_and_policy_decisions_are_counted() {
    let stack = policy_stack();
    let case = policy::api_cases("secure").into_iter().find(|c| c.provider == "openai" && c.api == "chat_completions");
    let Some(case) = case else { panic!("no openai chat case") };
    let before = prom::parse(&stack.prometheus());
    let o = send(&stack, &case, "text", &[etc_passwd()], None, &[]);
    assert_eq!(o.reply.status, 200, "{}", o.reply.text());
    assert!(run::log_line(&stack, &o.request_id).is_some(), "no access-log line");
    let text = stack.prometheus();
    let after = prom::parse(&text);
    let delta =
        |name: &str, labels: &[(&str, &str)]| prom::sum(&after, name, labels) - prom::sum(&before, name, labels);
    let mut f = Failures::default();
    let labels = [("provider", "openai"), ("profile", "secure"), ("model", "gpt-4o-mini"), ("tool", "read_file")];
    let blocked = delta("warden_blocked_tool_calls_total", &labels);
    f.check(blocked == 1.0, || {
        format!("warden_blocked_tool_calls_total{labels:?} moved by {blocked}, want 1; have:\n{}", warden_lines(&text))
    });
    let decisions: Vec<&prom::Sample> = after.iter().filter(|s| s.name == "warden_policy_decisions_total").collect();
    f.check(
        decisions.iter().any(|s| {
            s.labels.get("tool").map(String::as_str) == Some("read_file")
                && s.labels.get("type").map(String::as_str) == Some("tool")
                && s.labels.get("action").is_some_and(|a| !a.is_empty())
                && s.labels.get("profile").map(String::as_str) == Some("secure")
        }),
        || {
            format!(
                "no warden_policy_decisions_total{{type=tool,tool=read_file,action=…}}; have:\n{}",
                warden_lines(&text)
            )
        },
    );
    f.check(delta("warden_policy_decisions_total", &[("tool", "read_file"), ("type", "tool")]) >= 1.0, || {
        "warden_policy_decisions_total{tool=read_file,type=tool} did not move".to_string()
    });
    f.assert_none("policy metrics");
}

fn warden_lines(text: &str) -> String {
    text.lines().filter(|l| l.starts_with("warden_")).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_refusal_reads_the_same_whatever_the_chunking() {
    // Chunk boundaries must not change what the client is told.
    let stack = policy_stack();
    let chunks = [Some(1), Some(64), None];
    let cases: Vec<Case> = policy::api_cases("secure").into_iter().filter(|c| c.stream).collect();
    // In parallel: byte-by-byte delivery is paced by the mock, so these runs mostly wait.
    let runs = matrix(cases.clone(), &chunks);
    let said = run::parallel(&runs, 8, |(case, chunk)| {
        let o = send(&stack, case, "text", &[etc_passwd()], *chunk, &[]);
        seen::read(Format::of(case), &o.reply.body).said()
    });
    let mut f = Failures::default();
    for (case, texts) in cases.iter().zip(said.chunks(chunks.len())) {
        f.check(texts.iter().all(|t| t.contains("read_file") && t.contains(SYSTEM_FILES_REASON)), || {
            format!("{}: no refusal: {texts:?}", case.name)
        });
        f.check(texts.windows(2).all(|w| w[0] == w[1]), || {
            format!("{}: refusal differs by chunking: {texts:?}", case.name)
        });
    }
    f.assert_none("refusal text by chunking");
}
