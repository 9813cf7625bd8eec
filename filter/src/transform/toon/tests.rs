//! Token counts in these tests were checked against the reference's own stack (npm `tiktoken`
//! cl100k over `"user" + text`, `@toon-format/toon` 2.1.0) unless a test says otherwise.

use super::*;
use crate::providers;
use crate::view::ToolResult;

fn tok() -> Tokenizer {
    Tokenizer::new().unwrap()
}

fn plain(content: &str) -> ToonInput<'_> {
    ToonInput { content, is_error: false, policy_replaced: false }
}

fn fixture(path: &str) -> Value {
    let text = std::fs::read(crate::testutil::path(path)).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// The example of the TOON reference (also the encoder's test), and its encoding, line by line.
pub(super) const REFERENCE_EXAMPLE: &str = r#"{"files":[{"name":"README.md","size":1024,"type":"file"},{"name":"src","size":4096,"type":"directory"},{"name":"package.json","size":512,"type":"file"},{"name":"tsconfig.json","size":256,"type":"file"},{"name":"node_modules","size":102400,"type":"directory"}],"totalCount":5,"directory":"."}"#;

pub(super) const REFERENCE_TOON: [&str; 8] = [
    "files[5]{name,size,type}:",
    "  README.md,1024,file",
    "  src,4096,directory",
    "  package.json,512,file",
    "  tsconfig.json,256,file",
    "  node_modules,102400,directory",
    "totalCount: 5",
    "directory: .",
];

#[test]
fn reference_example_compresses_from_81_to_58_tokens() {
    let outcome = compress(&tok(), plain(REFERENCE_EXAMPLE));
    let text = REFERENCE_TOON.join("\n");
    assert_eq!(outcome, ToonOutcome::Replaced { text, tokens_before: 81, tokens_after: 58 });
    assert_eq!(outcome.totals(), Some((81, 58)));
}

#[test]
fn non_json_content_is_skipped_without_counting() {
    let outcome = compress(&tok(), plain("London"));
    assert_eq!(outcome, ToonOutcome::Skipped { reason: SkipReason::NotJson, tokens: None });
    assert_eq!(outcome.totals(), None);
    assert_eq!(
        compress(&tok(), plain(r#"{"truncated": "#)),
        ToonOutcome::Skipped { reason: SkipReason::NotJson, tokens: None }
    );
}

#[test]
fn json_that_does_not_shrink_is_kept_and_counted_on_both_sides() {
    let outcome = compress(&tok(), plain("42"));
    assert_eq!(outcome, ToonOutcome::Skipped { reason: SkipReason::NotSmaller, tokens: Some(2) });
    assert_eq!(outcome.totals(), Some((2, 2)));
    // Nested objects cost more as TOON than as compact JSON: 30 -> 31.
    let nested = r#"{"user":{"id":1,"profile":{"name":"Ada","tags":["a","b"]},"empty":{}},"ok":true}"#;
    assert_eq!(
        compress(&tok(), plain(nested)),
        ToonOutcome::Skipped { reason: SkipReason::NotSmaller, tokens: Some(30) }
    );
}

#[test]
fn an_empty_encoding_is_never_kept() {
    // `{}` encodes to "" (1 token with the prefix, against 2): the reference would send an empty
    // result, which Anthropic rejects for text blocks.
    assert_eq!(compress(&tok(), plain("{}")), ToonOutcome::Skipped { reason: SkipReason::NotSmaller, tokens: Some(2) });
}

#[test]
fn error_results_are_left_alone() {
    let input = ToonInput { content: REFERENCE_EXAMPLE, is_error: true, policy_replaced: false };
    assert_eq!(compress(&tok(), input), ToonOutcome::Skipped { reason: SkipReason::ErrorResult, tokens: None });
}

#[test]
fn policy_replaced_results_are_left_alone_whatever_else_holds() {
    let input = ToonInput { content: REFERENCE_EXAMPLE, is_error: true, policy_replaced: true };
    assert_eq!(compress(&tok(), input), ToonOutcome::Skipped { reason: SkipReason::PolicyReplaced, tokens: None });
}

#[test]
fn skip_reasons_have_their_record_labels() {
    assert_eq!(SkipReason::NotJson.as_str(), "not_json");
    assert_eq!(SkipReason::NotSmaller.as_str(), "not_smaller");
    assert_eq!(SkipReason::ErrorResult.as_str(), "error_result");
    assert_eq!(SkipReason::PolicyReplaced.as_str(), "policy_replaced");
}

#[test]
fn a_lone_serialised_text_block_is_unwrapped_and_counted_as_sent() {
    // Own numbers: the reference counts the unwrapped text (31 before); we count the wrapper the
    // TOON replaces.
    let wrapped = r#"[{"type":"text","text":"{\"files\":[{\"name\":\"a.txt\",\"size\":1,\"type\":\"file\"},{\"name\":\"b\",\"size\":4096,\"type\":\"directory\"}]}"}]"#;
    let text = "files[2]{name,size,type}:\n  a.txt,1,file\n  b,4096,directory".to_string();
    assert_eq!(compress(&tok(), plain(wrapped)), ToonOutcome::Replaced { text, tokens_before: 46, tokens_after: 24 });
}

#[test]
fn a_wrapped_block_whose_text_is_not_json_is_not_json() {
    assert_eq!(
        compress(&tok(), plain(r#"[{"type":"text","text":"plain words"}]"#)),
        ToonOutcome::Skipped { reason: SkipReason::NotJson, tokens: None }
    );
}

#[test]
fn several_blocks_are_encoded_as_the_array_they_are() {
    // The reference would keep only the first block's text and drop the second.
    let blocks = r#"[{"type":"text","text":"{\"a\":1}"},{"type":"text","text":"{\"b\":2}"}]"#;
    let text = r#"[2]{type,text}:
  text,"{\"a\":1}"
  text,"{\"b\":2}""#;
    assert_eq!(
        compress(&tok(), plain(blocks)),
        ToonOutcome::Replaced { text: text.to_string(), tokens_before: 28, tokens_after: 24 }
    );
}

/// Every tool result of a provider request fixture, through that provider's view.
fn results(parse: fn(&Value) -> crate::view::Request, path: &str) -> Vec<ToolResult> {
    parse(&fixture(path)).tool_results
}

#[test]
fn recorded_tool_results_compress_as_the_reference_would() {
    let t = tok();
    let anthropic = results(
        providers::anthropic::request::parse,
        "anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i1.request.json",
    );
    let [weather] = anthropic.as_slice() else { panic!("one result: {anthropic:?}") };
    assert_eq!(
        compress(&t, plain(&weather.content)),
        ToonOutcome::Replaced {
            text: "location: \"San Francisco, CA\"\ntemperature: 68°F\ncondition: Sunny".to_string(),
            tokens_before: 28,
            tokens_after: 18,
        }
    );

    // Plain-text results: "London", "Paris", "30°C", and Gemini's {"output":"Charles"} unwrapped.
    for (parse, path) in [
        (
            providers::openai_chat::request::parse as fn(&Value) -> _,
            "openai-chat/extracted/pydantic-ai__run_stream_sync.i1.request.json",
        ),
        (
            providers::openai_responses::request::parse,
            "openai-responses/extracted/pydantic-ai__responses_stream.i1.request.json",
        ),
        (providers::bedrock::request::parse, "bedrock/extracted/pydantic-ai__bedrock_iter_stream.i1.request.json"),
        (providers::gemini::request::parse, "gemini/extracted/llm-gemini__test_tools.i1.request.json"),
    ] {
        let found = results(parse, path);
        assert_eq!(found.len(), 1, "{path}");
        for r in found {
            assert_eq!(
                compress(&t, plain(&r.content)),
                ToonOutcome::Skipped { reason: SkipReason::NotJson, tokens: None },
                "{path}"
            );
        }
    }

    // Cohere documents {"output":"60"} and {"output":"7.75"}: TOON ties with JSON (6 and 8 tokens).
    let cohere =
        results(providers::cohere::request::parse, "cohere/extracted/lc-cohere__langgraph_react_agent.i2.request.json");
    let outcomes: Vec<_> = cohere.iter().map(|r| compress(&t, plain(&r.content))).collect();
    assert_eq!(
        outcomes,
        vec![
            ToonOutcome::Skipped { reason: SkipReason::NotSmaller, tokens: Some(6) },
            ToonOutcome::Skipped { reason: SkipReason::NotSmaller, tokens: Some(8) },
        ]
    );
}

#[test]
fn synthetic_directory_listing_in_a_recorded_request_becomes_a_table() {
    // SYNTHETIC content in a real request: the recorded OpenAI chat agent turn, with its tool
    // message ("London") swapped for a crafted directory listing.
    let mut body = fixture("openai-chat/extracted/pydantic-ai__run_stream_sync.i1.request.json");
    let listing = r#"{"files":[{"name":"Cargo.toml","size":812,"type":"file"},{"name":"src","size":4096,"type":"directory"},{"name":"README.md","size":2310,"type":"file"},{"name":"tests","size":4096,"type":"directory"},{"name":".gitignore","size":27,"type":"file"}],"path":"/work/warden","truncated":false}"#;
    *body.pointer_mut("/messages/2/content").unwrap() = Value::String(listing.to_string());
    let req = providers::openai_chat::request::parse(&body);
    let [result] = req.tool_results.as_slice() else { panic!("one result: {:?}", req.tool_results) };
    assert_eq!(result.pointer, "/messages/2/content");
    let text = [
        "files[5]{name,size,type}:",
        "  Cargo.toml,812,file",
        "  src,4096,directory",
        "  README.md,2310,file",
        "  tests,4096,directory",
        "  .gitignore,27,file",
        "path: /work/warden",
        "truncated: false",
    ]
    .join("\n");
    assert_eq!(
        compress(&tok(), plain(&result.content)),
        ToonOutcome::Replaced { text, tokens_before: 85, tokens_after: 62 }
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const WORDS: &[&str] =
        &["", " ", "-", "a,b", "true", "null", "05", "1e5", "x: y", "[", "\"", "\\", "\n", "\u{a0}x", "é", "README.md"];

    fn arb_json() -> impl Strategy<Value = Value> {
        let word = proptest::sample::select(WORDS).prop_map(str::to_owned);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            word.clone().prop_map(Value::String),
            ".{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 5, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec((word.clone(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn a_replacement_is_always_non_empty_and_strictly_fewer_tokens(value in arb_json()) {
            let content = value.to_string();
            match compress(&tok(), plain(&content)) {
                ToonOutcome::Replaced { text, tokens_before, tokens_after } => {
                    prop_assert!(!text.is_empty());
                    prop_assert!(tokens_after < tokens_before);
                    prop_assert_eq!(tokens_after, tok().count_message("user", &text));
                }
                ToonOutcome::Skipped { reason, tokens } => {
                    prop_assert_eq!(reason, SkipReason::NotSmaller);
                    prop_assert_eq!(tokens, Some(tok().count_message("user", &content)));
                }
            }
        }

        #[test]
        fn every_line_is_indented_by_whole_levels(value in arb_json()) {
            for line in encode(&value).split('\n') {
                let indent = line.len() - line.trim_start_matches(' ').len();
                prop_assert_eq!(indent % 2, 0, "{:?}", line);
            }
        }
    }
}

#[test]
fn cached_outcomes_equal_fresh_ones() {
    let tok = Tokenizer::new().unwrap();
    let content = r#"{"rows":[{"a":1,"b":"x"},{"a":2,"b":"y"},{"a":3,"b":"z"}]}"#;
    let input = ToonInput { content, is_error: false, policy_replaced: false };
    let fresh = compress(&tok, input);
    assert_eq!(compress_cached(&tok, input), fresh);
    assert_eq!(compress_cached(&tok, input), fresh, "a cache hit gives the same outcome");
    let other = ToonInput { content: r#"{"k":"v"}"#, ..input };
    assert_eq!(compress_cached(&tok, other), compress(&tok, other));
}
