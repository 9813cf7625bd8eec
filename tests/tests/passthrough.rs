//! Through the filter, clients get exactly the upstream's bytes, and the upstream sees the
//! rewritten path, the client's credentials and nothing of the gateway's own routing.

use crate::common;

use warden_e2e::cases::{self, Case};
use warden_e2e::client;
use warden_e2e::run::{self, Failures, Via};

fn matrix(cases: Vec<Case>, chunks: &[Option<usize>]) -> Vec<(Case, Option<usize>)> {
    cases.into_iter().flat_map(|c| chunks.iter().map(move |k| (c.clone(), *k))).collect()
}

const CHUNKS: [Option<usize>; 4] = [None, Some(1), Some(7), Some(64)];

#[test]
fn client_bytes_equal_upstream_bytes_for_every_api_and_chunk_size() {
    let stack = common::warden_stack();
    let runs = matrix(cases::core_cases(), &CHUNKS);
    let outcomes = run::parallel(&runs, 8, |(case, chunk)| run::send(&stack, case, Via::Filter, "text", *chunk, &[]));
    let mut f = Failures::default();
    for o in &outcomes {
        run::check_bytes(&mut f, o, Via::Filter);
        run::check_upstream(&mut f, o, Via::Filter);
    }
    f.assert_none("core APIs through the filter");
}

#[test]
fn openai_compatible_family_passes_through_at_every_chunk_size() {
    let stack = common::warden_stack();
    let runs = matrix(cases::compatible_cases(), &CHUNKS);
    let outcomes = run::parallel(&runs, 8, |(case, chunk)| run::send(&stack, case, Via::Filter, "text", *chunk, &[]));
    let mut f = Failures::default();
    for o in &outcomes {
        run::check_bytes(&mut f, o, Via::Filter);
        run::check_upstream(&mut f, o, Via::Filter);
    }
    f.assert_none("OpenAI-compatible providers through the filter");
}

#[test]
fn route_variants_reach_the_right_upstream_path() {
    let stack = common::warden_stack();
    let mut f = Failures::default();
    for case in cases::route_variant_cases() {
        let o = run::send(&stack, &case, Via::Filter, "text", None, &[]);
        run::check_bytes(&mut f, &o, Via::Filter);
        run::check_upstream(&mut f, &o, Via::Filter);
        run::check_record(&mut f, &stack, &o);
    }
    f.assert_none("route variants");
}

#[test]
fn tool_call_responses_pass_through_unchanged_without_policies() {
    let stack = common::warden_stack();
    let runs: Vec<(Case, &str)> = cases::core_cases()
        .into_iter()
        .filter(|c| c.usage.is_some() && c.api != "embeddings")
        .flat_map(|c| [(c.clone(), "tool_call"), (c, "parallel_tools")])
        .collect();
    let outcomes =
        run::parallel(&runs, 8, |(case, scenario)| run::send(&stack, case, Via::Filter, scenario, Some(7), &[]));
    let mut f = Failures::default();
    for o in &outcomes {
        run::check_bytes(&mut f, o, Via::Filter);
    }
    f.assert_none("tool-call responses");
}

#[test]
fn recorded_provider_streams_pass_through_byte_for_byte() {
    let stack = common::warden_stack();
    let fixtures = [
        (
            cases::openai_chat("openai", "/v1", "gpt-5-nano", true).asking_usage(),
            "openai-chat/agw__completions-stream.sse",
        ),
        (
            cases::openai_responses(true),
            "openai-responses/extracted/pydantic-ai__responses_streaming_usage.i0.response.sse",
        ),
        (cases::anthropic(true), "anthropic-messages/agw__anthropic-stream_basic.sse"),
        (cases::anthropic(true), "anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i0.response.sse"),
        (cases::gemini(Some(true)), "gemini/extracted/pydantic-ai__google_streaming_tool_call.i0.response.sse"),
        (cases::gemini(Some(false)), "gemini/extracted/llm-gemini__test_tools.i0.response.jsonarray.json"),
        (cases::bedrock(true), "bedrock/agw__bedrock-basic.eventstream.bin"),
        (cases::bedrock(true), "bedrock/plano__converse-stream-text.eventstream.bin"),
        (cases::bedrock(true), "bedrock/extracted/pydantic-ai__bedrock_iter_stream.i0.response.eventstream.bin"),
        (cases::cohere(true, false), "cohere/extracted/lc-cohere__stream_with_vision.i0.response.sse"),
    ];
    let mut f = Failures::default();
    for (case, fixture) in fixtures {
        let want = match std::fs::read(warden_e2e::mock::default_fixtures_dir().join(fixture)) {
            Ok(bytes) => bytes,
            Err(e) => panic!("fixture {fixture}: {e} (set WARDEN_FIXTURES)"),
        };
        for chunk in [None, Some(13)] {
            let o = run::send(&stack, &case, Via::Filter, &format!("fixture:{fixture}"), chunk, &[]);
            f.check(o.reply.status == 200, || format!("{fixture}: status {}", o.reply.status));
            f.check(o.reply.body == want, || {
                format!("{fixture} (chunk {chunk:?}): {}", run::first_difference(&o.reply.body, &want))
            });
            f.check(run::log_line(&stack, &o.request_id).is_some_and(|l| l["warden"].is_object()), || {
                format!("{fixture}: no interaction record in the access log")
            });
        }
    }
    f.assert_none("recorded streams");
}

#[test]
fn gateway_routing_header_from_a_client_is_not_trusted() {
    // A client cannot pick a cluster by sending the routing header itself on a path the filter
    // does not classify: it still gets the filter's 404.
    let stack = common::warden_stack();
    let reply = client::post(
        &stack.url("/v2/chat"),
        &[("x-warden-upstream", "cohere"), ("content-type", "application/json")],
        b"{}",
    );
    assert_eq!(reply.status, 404, "body: {}", reply.text());
    assert!(stack.mock_requests().is_empty(), "the request reached the upstream");
}
