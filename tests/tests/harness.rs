//! The harness proves itself without the filter: the mock's bytes cross plain Envoy unchanged,
//! routing by `x-warden-upstream` works, cut streams and the access log behave.

use serde_json::Value;
use warden_e2e::cases::{self, Case};
use warden_e2e::run::{self, Failures, Via};
use warden_e2e::seen;
use warden_e2e::{client, Stack, StackOptions};

fn plain_stack() -> Stack {
    Stack::start(StackOptions {
        wasm: false,
        concurrency: 2,
        mock_binary: Some(env!("CARGO_BIN_EXE_mock_provider").into()),
        ..StackOptions::default()
    })
}

#[test]
fn mock_bytes_cross_plain_envoy_unchanged_at_every_chunk_size() {
    let stack = plain_stack();
    let mut matrix: Vec<(Case, Option<usize>)> = Vec::new();
    for case in cases::core_cases().into_iter().chain(cases::compatible_cases()) {
        for chunk in [None, Some(1), Some(7), Some(64)] {
            matrix.push((case.clone(), chunk));
        }
    }
    let outcomes = run::parallel(&matrix, 8, |(case, chunk)| run::send(&stack, case, Via::Plain, "text", *chunk, &[]));
    let mut f = Failures::default();
    for o in &outcomes {
        run::check_bytes(&mut f, o, Via::Plain);
        run::check_upstream(&mut f, o, Via::Plain);
    }
    f.assert_none("plain Envoy pass-through");
}

#[test]
fn tool_call_scenarios_cross_plain_envoy_unchanged() {
    let stack = plain_stack();
    let mut f = Failures::default();
    for case in cases::core_cases() {
        for scenario in ["tool_call", "parallel_tools"] {
            let o = run::send(&stack, &case, Via::Plain, scenario, Some(7), &[]);
            run::check_bytes(&mut f, &o, Via::Plain);
        }
    }
    f.assert_none("tool-call scenarios");
}

#[test]
fn listed_tool_calls_read_back_through_plain_envoy_in_every_layout() {
    // The policy tests' mock side on its own: the calls, the text before them and the tool-call
    // finish reasons arrive as the providers send them, whatever the chunking.
    let stack = plain_stack();
    let calls = warden_e2e::policy::calls_header(&[
        ("read_file", serde_json::json!({"path": "/etc/passwd"})),
        ("get_weather", serde_json::json!({"city": "Paris"})),
    ]);
    let runs: Vec<(Case, &str, Option<usize>)> = warden_e2e::policy::api_cases("default")
        .into_iter()
        .flat_map(|case| {
            [("text", Some(1)), ("text_then_tools", Some(7)), ("mixed_chunk", None)]
                .map(|(scenario, chunk)| (case.clone(), scenario, chunk))
        })
        .collect();
    // In parallel: byte-by-byte delivery is paced by the mock, so these runs mostly wait.
    let outcomes = run::parallel(&runs, 8, |(case, scenario, chunk)| {
        run::send(&stack, case, Via::Plain, scenario, *chunk, &[("x-mock-tool-calls", calls.as_str())])
    });
    let mut f = Failures::default();
    for ((case, scenario, _), o) in runs.iter().zip(&outcomes) {
        run::check_bytes(&mut f, o, Via::Plain);
        let seen = seen::read(seen::Format::of(case), &o.reply.body);
        f.check(seen.problems.is_empty(), || format!("{}: {:?}", o.label, seen.problems));
        let names: Vec<&str> = seen.calls.iter().map(|c| c.name.as_str()).collect();
        f.check(names == ["read_file", "get_weather"], || format!("{}: calls {names:?}", o.label));
        let lead = *scenario != "text";
        f.check(seen.said() == if lead { warden_e2e::mock::scenario::text() } else { String::new() }, || {
            format!("{}: text {:?}", o.label, seen.said())
        });
        let want = match case.api {
            "chat_completions" => "tool_calls",
            "responses" => "completed",
            "messages" | "converse" => "tool_use",
            "generate_content" => "STOP",
            _ => "TOOL_CALL",
        };
        f.check(seen.finish.as_deref() == Some(want), || format!("{}: finish {:?}", o.label, seen.finish));
    }
    f.assert_none("listed tool calls");
}

#[test]
fn cut_stream_reaches_the_client_as_far_as_it_got_and_is_logged() {
    let stack = plain_stack();
    let streams: Vec<Case> = cases::core_cases().into_iter().filter(|c| c.stream).collect();
    let outcomes = run::parallel(&streams, 8, |case| run::send(&stack, case, Via::Plain, "cut", None, &[]));
    let mut f = Failures::default();
    for o in &outcomes {
        run::check_cut(&mut f, o, Via::Plain);
        // Plain Envoy forwards the torn tail too.
        f.check(o.reply.body == o.sent, || format!("{}: {}", o.label, run::first_difference(&o.reply.body, &o.sent)));
        f.check(run::log_line(&stack, &o.request_id).is_some(), || format!("{}: no access-log line", o.label));
    }
    f.assert_none("cut streams");
}

#[test]
fn upstream_errors_pass_through_plain_envoy() {
    let stack = plain_stack();
    let mut f = Failures::default();
    for case in cases::core_cases().into_iter().filter(|c| c.method == "POST") {
        let o = run::send(&stack, &case, Via::Plain, "error_429", None, &[]);
        f.check(o.reply.status == 429, || format!("{}: status {}", o.label, o.reply.status));
        f.check(o.reply.body == o.sent, || format!("{}: {}", o.label, run::first_difference(&o.reply.body, &o.sent)));
    }
    f.assert_none("upstream 429");
}

#[test]
fn recorded_fixtures_replay_byte_for_byte() {
    let stack = plain_stack();
    let fixtures = [
        ("openai", "/v1/chat/completions", "openai-chat/agw__completions-stream.sse"),
        ("anthropic", "/v1/messages", "anthropic-messages/agw__anthropic-stream_basic.sse"),
        (
            "gemini",
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            "gemini/extracted/llm-gemini__test_tools.i0.response.jsonarray.json",
        ),
        ("bedrock", "/model/m/converse-stream", "bedrock/agw__bedrock-basic.eventstream.bin"),
        ("cohere", "/v2/chat", "cohere/extracted/lc-cohere__stream_with_vision.i0.response.sse"),
    ];
    for (provider, path, fixture) in fixtures {
        let file = warden_e2e::mock::default_fixtures_dir().join(fixture);
        let want = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e} (set WARDEN_FIXTURES)", file.display()));
        let scenario = format!("fixture:{fixture}");
        let reply = client::post(
            &stack.url(path),
            &[("x-warden-upstream", provider), ("x-mock-scenario", &scenario), ("x-mock-chunk-size", "13")],
            b"{}",
        );
        assert_eq!(reply.status, 200, "{fixture}");
        assert!(reply.body == want, "{fixture}: {}", run::first_difference(&reply.body, &want));
    }
}

#[test]
fn access_log_is_one_json_object_per_request() {
    let stack = plain_stack();
    let o = run::send(&stack, &cases::anthropic(true), Via::Plain, "text", None, &[]);
    let line = run::log_line(&stack, &o.request_id).expect("access-log line");
    assert_eq!(line["method"], "POST");
    assert_eq!(line["path"], "/v1/messages");
    assert_eq!(line["status"], 200);
    assert_eq!(line["upstream_cluster"], "provider_anthropic");
    // Without the filter there is no record; Envoy writes null for absent filter state.
    assert!(line["warden"].is_null() || line["warden"] == "-", "warden field: {}", line["warden"]);
}

#[test]
fn unrouted_requests_get_the_json_404_safety_net() {
    let stack = plain_stack();
    let reply = client::post(&stack.url("/v1/chat/completions"), &[("content-type", "application/json")], b"{}");
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json()["error"]["code"], Value::from("unknown_route"));
    assert!(stack.mock_requests().is_empty(), "the mock must not see unrouted requests");
}

#[test]
fn plain_baseline_template_routes_upstream_paths_to_the_mock() {
    let stack = Stack::start(StackOptions {
        wasm: false,
        template: Some(warden_e2e::stack::repo_root().join("envoy/plain.template.yaml")),
        mock_binary: Some(env!("CARGO_BIN_EXE_mock_provider").into()),
        ..StackOptions::default()
    });
    let mut f = Failures::default();
    for case in cases::core_cases().into_iter().chain(cases::compatible_cases()) {
        // The baseline routes by path alone; the routing header is simply ignored there.
        let o = run::send(&stack, &case, Via::Plain, "text", None, &[]);
        run::check_bytes(&mut f, &o, Via::Plain);
    }
    f.assert_none("plain baseline template");
}

#[test]
fn demo_config_is_valid_envoy_configuration() {
    // Run from the repository root, as documented: the module path in it is relative.
    let envoy = warden_e2e::stack::venv().join("bin/envoy");
    let out = std::process::Command::new(envoy)
        .current_dir(warden_e2e::stack::repo_root())
        .args(["--mode", "validate", "-c", "envoy/envoy.yaml", "--disable-hot-restart", "-l", "error"])
        .output()
        .expect("run envoy --mode validate");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !warden_e2e::stack::repo_root().join("dist/warden.wasm").exists() {
        // Validation loads the module; without it only the wasm error is acceptable.
        assert!(text.contains("warden.wasm"), "{text}");
        return;
    }
    assert!(out.status.success() && text.contains("OK"), "{text}");
}

#[test]
fn demo_config_matches_the_test_template() {
    // envoy.yaml is the template with real clusters: routes and stats tags must not drift apart.
    let root = warden_e2e::stack::repo_root();
    let demo = std::fs::read_to_string(root.join("envoy/envoy.yaml")).unwrap();
    let template = std::fs::read_to_string(root.join("envoy/envoy.template.yaml")).unwrap();
    let pick = |text: &str| -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| {
                l.starts_with("regex:") || l.contains("x-warden-upstream") || l.starts_with("- name: provider_")
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(pick(&demo), pick(&template));
}

#[test]
fn a_filter_panic_fails_the_test_that_owns_the_stack() {
    // A module that panics on purpose would need its own build; instead feed the detector the
    // exact lines Envoy 1.40 logs for a Rust proxy-wasm panic and trap.
    let stack = plain_stack();
    let log = stack.dir().join("envoy.log");
    let mut text = std::fs::read_to_string(&log).unwrap_or_default();
    text.push_str("[2026-11-22 14:50:37.090][7964][critical][wasm] [source/extensions/common/wasm/context.cc:1160] wasm log warden warden warden: panicked at src/lib.rs:14:13:\n");
    text.push_str("[2026-11-22 14:50:37.091][7964][error][wasm] [source/extensions/common/wasm/wasm_vm.cc:38] Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable\n");
    std::fs::write(&log, text).unwrap();
    assert_eq!(stack.filter_crashes().len(), 2);
}
