//! Whole exchanges over recorded streams: the client gets exactly the upstream bytes (minus a usage
//! chunk it did not ask for), usage is folded, and neither depends on where the chunks were cut.

use super::*;
use crate::testutil;
use proptest::prelude::*;
use serde_json::Value;

struct Case {
    fixture: &'static str,
    path: &'static str,
    body: &'static str,
}

const CASES: &[Case] = &[
    Case {
        fixture: "openai-chat/agw__completions-stream.sse",
        path: "/v1/openai/chat/completions",
        body: r#"{"model":"gpt-5-nano","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#,
    },
    Case {
        fixture: "openai-chat/openai-py__stream-tool-call__c6aa7e39.sse",
        path: "/v1/openai/chat/completions",
        body: r#"{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#,
    },
    Case {
        fixture: "openai-responses/extracted/pydantic-ai__responses_streaming_usage.i0.response.sse",
        path: "/v1/openai/responses",
        body: r#"{"model":"gpt-4o","stream":true,"input":"hi"}"#,
    },
    Case {
        fixture: "anthropic-messages/agw__anthropic-stream_basic.sse",
        path: "/v1/anthropic/v1/messages",
        body: r#"{"model":"claude-sonnet-4-5","stream":true,"max_tokens":10,"messages":[]}"#,
    },
    Case {
        fixture: "anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i0.response.sse",
        path: "/v1/anthropic/v1/messages",
        body: r#"{"model":"claude-sonnet-4-5","stream":true,"max_tokens":10,"messages":[]}"#,
    },
    Case {
        fixture: "gemini/extracted/pydantic-ai__google_streaming_tool_call.i0.response.sse",
        path: "/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        body: r#"{"contents":[]}"#,
    },
    Case {
        fixture: "gemini/extracted/llm-gemini__test_tools.i0.response.jsonarray.json",
        path: "/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        body: r#"{"contents":[]}"#,
    },
    Case {
        fixture: "bedrock/agw__bedrock-basic.eventstream.bin",
        path: "/v1/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream",
        body: r#"{"messages":[]}"#,
    },
    Case {
        fixture: "bedrock/extracted/pydantic-ai__bedrock_iter_stream.i0.response.eventstream.bin",
        path: "/v1/bedrock/converse-stream",
        body: r#"{"modelId":"us.amazon.nova-pro-v1:0","messages":[]}"#,
    },
    Case {
        fixture: "cohere/extracted/lc-cohere__stream_with_vision.i0.response.sse",
        path: "/v1/cohere/v2/chat",
        body: r#"{"model":"command-a-03-2025","stream":true,"messages":[]}"#,
    },
];

/// A chat stream whose client did not ask for usage (the gateway asks for it and hides its chunk).
const CHAT_WITHOUT_USAGE: Case = Case {
    fixture: "openai-chat/agw__completions-stream.sse",
    path: "/v1/openai/chat/completions",
    body: r#"{"model":"gpt-5-nano","stream":true,"messages":[]}"#,
};

/// An exchange whose response has started as a stream, and that stream (as the host holds them).
fn exchange(case: &Case) -> (Exchange, Box<ResponseStream>) {
    let config = Rc::new(Config::from_json(br#"{"profiles":{"default":{}}}"#).unwrap());
    let mut ex = Exchange::begin(config, "POST", case.path, &|_| None).unwrap();
    ex.request_body(case.body.as_bytes()).unwrap();
    let ResponsePlan::Stream(stream) = ex.response_headers(&ResponseHead { status: 200, ..Default::default() }) else {
        panic!("{}: not a stream", case.fixture)
    };
    (ex, stream)
}

/// What the client gets for one chunk. A chunk the stream reports verbatim (the host then keeps
/// Envoy's buffer as it is) must be exactly what went out.
fn chunk(stream: &mut ResponseStream, bytes: &[u8], end: bool) -> Vec<u8> {
    chunk_verbatim(stream, bytes, end).0
}

fn chunk_verbatim(stream: &mut ResponseStream, bytes: &[u8], end: bool) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let verbatim = stream.push(bytes, end, &mut out);
    assert!(!verbatim || out == bytes, "a chunk reported verbatim was changed");
    (out, verbatim)
}

/// Events one per chunk: the ones that go out as they came are reported verbatim (so the host
/// skips comparing them), a usage chunk the gateway hides and a chunk holding part of an event
/// are not.
#[test]
fn whole_events_that_pass_unchanged_are_reported_verbatim() {
    let case = CHAT_WITHOUT_USAGE;
    let input = String::from_utf8(testutil::read(case.fixture)).unwrap();
    let events: Vec<&str> = input.split_inclusive("\n\n").collect();
    assert!(events.len() > 3, "{}", case.fixture);
    let (_, mut stream) = exchange(&case);
    for event in &events {
        let (out, verbatim) = chunk_verbatim(&mut stream, event.as_bytes(), false);
        let hidden = event.contains("\"choices\":[],");
        assert_eq!(verbatim, !hidden, "{event}");
        assert_eq!(out.is_empty(), hidden, "{event}");
    }
    let (_, mut stream) = exchange(&case);
    let (first, rest) = input.as_bytes().split_at(events[0].len() + 5);
    assert!(!chunk_verbatim(&mut stream, first, false).1, "the chunk ends inside an event");
    assert!(!chunk_verbatim(&mut stream, rest, true).1, "the rest starts inside an event");
    // A whole stream in one chunk, its end included (the usage chunk asked for this time).
    let asked = Case {
        body: r#"{"model":"gpt-5-nano","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#,
        ..case
    };
    let (_, mut stream) = exchange(&asked);
    assert!(chunk_verbatim(&mut stream, input.as_bytes(), true).1);
    let (_, mut stream) = exchange(&asked);
    let unterminated = input.trim_end();
    let (out, verbatim) = chunk_verbatim(&mut stream, unterminated.as_bytes(), true);
    assert!(!verbatim && out.len() == unterminated.len() + 1, "a line end was added to the last line");
}

fn run(case: &Case, cuts: &[usize]) -> (Vec<u8>, Record) {
    let input = testutil::read(case.fixture);
    let (ex, mut stream) = exchange(case);
    let mut out = Vec::new();
    let mut start = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    for p in points.into_iter().chain([input.len()]) {
        let end = p == input.len();
        if p < start {
            continue;
        }
        out.extend(chunk(&mut stream, &input[start..p], end));
        start = p;
        if end {
            break;
        }
    }
    (out, ex.finish(Some(&stream), None, None, None).0)
}

#[test]
fn client_receives_the_upstream_bytes_and_usage_is_folded() {
    for case in CASES {
        let input = testutil::read(case.fixture);
        let (out, record) = run(case, &[]);
        assert!(out == input, "{}: output differs from upstream", case.fixture);
        assert!(record.output_tokens.unwrap_or(0) > 0, "{}: no usage folded: {record:?}", case.fixture);
        assert!(!record.incomplete, "{}", case.fixture);
        assert!(record.cost_usd.unwrap_or(0.0) > 0.0, "{}: {record:?}", case.fixture);
    }
}

#[test]
fn the_usage_chunk_a_client_did_not_ask_for_is_hidden() {
    let case = CHAT_WITHOUT_USAGE;
    let config = Rc::new(Config::from_json(br#"{"profiles":{"default":{}}}"#).unwrap());
    let mut ex = Exchange::begin(config, "POST", case.path, &|_| None).unwrap();
    let fwd = ex.request_body(case.body.as_bytes()).unwrap();
    let sent: Value = serde_json::from_slice(&fwd.body.unwrap()).unwrap();
    assert_eq!(sent["stream_options"]["include_usage"], true);
    let ResponsePlan::Stream(mut stream) = ex.response_headers(&ResponseHead { status: 200, ..Default::default() })
    else {
        panic!("not a stream")
    };
    let input = testutil::read(case.fixture);
    let out = chunk(&mut stream, &input, true);
    let text = String::from_utf8(out).unwrap();
    let expected: String =
        String::from_utf8(input).unwrap().split_inclusive("\n\n").filter(|e| !e.contains("\"choices\":[],")).collect();
    assert_eq!(text, expected);
    let (record, _) = ex.finish(Some(&stream), None, None, None);
    assert!(record.input_tokens.is_some() && record.output_tokens.unwrap() > 0);
}

#[test]
fn a_stream_cut_short_still_counts_what_arrived() {
    let case = &CASES[3];
    let input = testutil::read(case.fixture);
    let (ex, mut stream) = exchange(case);
    let cut = input.len() * 2 / 3;
    let out = chunk(&mut stream, &input[..cut], false);
    assert!(input.starts_with(&out));
    let (record, _) = ex.finish(Some(&stream), None, None, None);
    assert!(record.incomplete);
    assert!(record.input_tokens.is_some(), "message_start usage is counted: {record:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn output_and_usage_do_not_depend_on_chunk_boundaries(case_index in 0..CASES.len(), cuts in proptest::collection::vec(any::<usize>(), 0..40)) {
        let case = &CASES[case_index];
        let (whole, whole_record) = run(case, &[]);
        let (cut, cut_record) = run(case, &cuts);
        prop_assert!(whole == cut, "{}", case.fixture);
        prop_assert_eq!(whole_record, cut_record);
    }
}
