use super::*;
use crate::view::{JsonText, Message, Request, Role, ToolDecl};
use serde_json::json;
use std::path::PathBuf;

fn tok() -> Tokenizer {
    Tokenizer::new().unwrap()
}

fn fixtures_dir() -> PathBuf {
    crate::testutil::fixtures_dir()
}

#[test]
fn counts_match_published_cl100k_values() {
    // OpenAI's cookbook and tiktoken README values for cl100k_base.
    let t = tok();
    assert_eq!(t.count("hello world"), 2);
    assert_eq!(t.count("Hello, world!"), 4);
    assert_eq!(t.count("tiktoken is great!"), 6);
    assert_eq!(t.count("antidisestablishmentarianism"), 6);
    assert_eq!(t.count("2 + 2 = 4"), 7);
    assert_eq!(t.count("お誕生日おめでとう"), 9);
    assert_eq!(t.count(""), 0);
}

#[test]
fn special_token_markers_count_as_ordinary_text() {
    // tiktoken's encode_ordinary: the marker is text a user could send, never token 100257.
    assert_eq!(tok().count("<|endoftext|>"), 7);
}

#[test]
fn message_count_includes_the_role_run_into_the_text() {
    let t = tok();
    assert_eq!(t.count_message("user", ""), 1);
    assert_eq!(t.count_message("user", "hello world"), 3);
    // The reference's e2e TOON example: the JSON tool result with the "user" prefix is 81 tokens.
    let json = r#"{"files":[{"name":"README.md","size":1024,"type":"file"},{"name":"src","size":4096,"type":"directory"},{"name":"package.json","size":512,"type":"file"},{"name":"tsconfig.json","size":256,"type":"file"},{"name":"node_modules","size":102400,"type":"directory"}],"totalCount":5,"directory":"."}"#;
    assert_eq!(t.count_message("user", json), 81);
}

#[test]
fn counts_match_the_reference_tokenizer_on_every_fixture() {
    // Expected values come from the npm `tiktoken` package (cl100k_base, encode_ordinary), the
    // tokenizer the reference runs; tiktoken-rs 0.12 gives the same numbers. Files that are not
    // UTF-8 (binary eventstream captures) are left out.
    let t = tok();
    let dir = fixtures_dir();
    let mut total = 0usize;
    for (path, expected) in FIXTURE_COUNTS {
        let text = std::fs::read_to_string(dir.join(path)).unwrap();
        assert_eq!(t.count(&text), *expected, "{path}");
        total += expected;
    }
    assert_eq!(total, 228_350);
}

const FIXTURE_COUNTS: &[(&str, usize)] = &[
    ("MANIFEST.md", 14857),
    ("anthropic-messages/agw__anthropic-stream_basic.sse", 438),
    ("anthropic-messages/anthropic-sdk-py__incomplete_partial_json_response.sse", 653),
    ("anthropic-messages/anthropic-sdk-py__parse-429-retry__d743d628.json", 2810),
    ("anthropic-messages/anthropic-sdk-py__runner-stream-tools__555fb399.json", 2937),
    ("anthropic-messages/anthropic-sdk-py__runner-tools-400__f59a9391.json", 1763),
    ("anthropic-messages/anthropic-sdk-py__runner-tools__a8ac789b.json", 1833),
    ("anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i0.response.sse", 661),
    ("anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i1.request.json", 434),
    ("anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i1.response.sse", 582),
    ("anthropic-messages/extracted/pydantic-ai__anthropic_thinking_stream.i0.response.sse", 4373),
    ("anthropic-messages/pydantic-ai__test_anthropic_cache_real_api.yaml", 4204),
    ("anthropic-messages/pydantic-ai__test_anthropic_model_thinking_part_stream.yaml", 4894),
    ("anthropic-messages/pydantic-ai__test_anthropic_tool_with_thinking.yaml", 2498),
    ("anthropic-messages/pydantic-ai__test_multiple_parallel_tool_calls.yaml", 1775),
    ("bedrock/extracted/pydantic-ai__bedrock_iter_stream.i1.request.json", 397),
    ("bedrock/pydantic-ai__test_bedrock_anthropic_tool_with_thinking.yaml", 1677),
    ("bedrock/pydantic-ai__test_bedrock_cache_write_and_read.yaml", 2205),
    ("bedrock/pydantic-ai__test_bedrock_error.yaml", 254),
    ("bedrock/pydantic-ai__test_bedrock_mixed_strict_tool_run.yaml", 1992),
    ("bedrock/pydantic-ai__test_bedrock_model_iter_stream.yaml", 7376),
    ("bedrock/pydantic-ai__test_bedrock_model_thinking_part_stream.yaml", 5694),
    ("bedrock/pydantic-ai__test_bedrock_streaming_error.yaml", 255),
    ("cohere/extracted/lc-cohere__command_a_reasoning.i0.response.json", 423),
    ("cohere/extracted/lc-cohere__langgraph_react_agent.i2.request.json", 481),
    ("cohere/extracted/lc-cohere__stream_with_vision.i0.response.sse", 4657),
    ("cohere/lc-cohere__test_command_a_reasoning_with_tool_call.yaml", 1470),
    ("cohere/lc-cohere__test_invoke_multiple_tools.yaml", 796),
    ("cohere/lc-cohere__test_invoke_tool_calls.yaml", 749),
    ("cohere/lc-cohere__test_langgraph_react_agent.yaml", 12484),
    ("cohere/lc-cohere__test_stream.yaml", 3047),
    ("cohere/lc-cohere__test_stream_with_vision.yaml", 5807),
    ("cohere/lc-cohere__test_streaming_tool_call.yaml", 2225),
    ("cohere/pydantic-ai__test_cohere_request_usage_with_cached_tokens.yaml", 3019),
    ("cohere/vercel-ai__cohere-reasoning.json", 187),
    ("cohere/vercel-ai__cohere-tool-call.chunks.jsonl", 1091),
    ("cohere/vercel-ai__cohere-tool-call.json", 274),
    ("gemini/extracted/llm-gemini__gemini3_thought_signatures.i0.response.jsonarray.json", 581),
    ("gemini/extracted/llm-gemini__test_tools.i0.response.jsonarray.json", 684),
    ("gemini/extracted/llm-gemini__test_tools.i1.request.json", 467),
    ("gemini/extracted/llm-gemini__test_tools.i2.response.jsonarray.json", 338),
    ("gemini/extracted/pydantic-ai__google_streaming_tool_call.i0.response.sse", 1257),
    ("gemini/llm-gemini__test_prompt.yaml", 2211),
    ("gemini/llm-gemini__test_tools.yaml", 3719),
    ("gemini/llm-gemini__test_tools_with_gemini_3_thought_signatures.yaml", 2158),
    ("gemini/louter__streaming_function_calling_request_1.json", 350),
    ("gemini/louter__streaming_function_calling_response_0.sse", 710),
    ("gemini/pydantic-ai__test_google_model_cached_content.yaml", 5826),
    ("gemini/pydantic-ai__test_google_model_iter_stream.yaml", 2141),
    ("gemini/pydantic-ai__test_google_streaming_tool_call_thought_signature.yaml", 3424),
    ("gemini/pydantic-ai__test_google_tool_output.yaml", 1177),
    (
        "gemini/pydantic-ai__vertex-400-error__test_multimodal_tool_return_matrix_direct-url-image-google_vertex.yaml",
        7885,
    ),
    ("gemini/vercel-ai__google-429-retry-info.json", 126),
    ("gemini/vercel-ai__google-tool-call-gemini3.json", 287),
    ("openai-chat/agw__completions-basic.json", 275),
    ("openai-chat/agw__completions-stream.sse", 8842),
    ("openai-chat/envoy-aigw__chat-bad-request.yaml", 650),
    ("openai-chat/envoy-aigw__chat-basic.yaml", 861),
    ("openai-chat/envoy-aigw__chat-multiturn.yaml", 902),
    ("openai-chat/envoy-aigw__chat-parallel-tools.yaml", 1049),
    ("openai-chat/envoy-aigw__chat-streaming-detailed-usage.yaml", 995),
    ("openai-chat/envoy-aigw__chat-streaming.yaml", 5748),
    ("openai-chat/envoy-aigw__chat-tools.yaml", 1048),
    ("openai-chat/envoy-aigw__chat-unknown-model.yaml", 482),
    ("openai-chat/extracted/envoy-aigw__chat-streaming-detailed-usage.i0.response.sse", 368),
    ("openai-chat/extracted/pydantic-ai__run_stream_sync.i0.response.sse", 1110),
    ("openai-chat/extracted/pydantic-ai__run_stream_sync.i1.request.json", 311),
    ("openai-chat/openai-py__stream-tool-call__c6aa7e39.sse", 1834),
    ("openai-chat/pydantic-ai__test_openai_chat_prompt_cache_e2e.yaml", 9436),
    ("openai-chat/pydantic-ai__test_run_stream_sync_streams_real_model.yaml", 3282),
    ("openai-chat/vercel-ai__reasoning-model-legacy-parameter-error.json", 61),
    ("openai-responses/agw__responses-basic.json", 515),
    ("openai-responses/agw__responses-stream-image.sse", 3001),
    ("openai-responses/extracted/pydantic-ai__responses_stream.i0.response.sse", 1319),
    ("openai-responses/extracted/pydantic-ai__responses_stream.i1.request.json", 272),
    ("openai-responses/extracted/pydantic-ai__responses_streaming_usage.i0.response.sse", 7995),
    ("openai-responses/pydantic-ai__test_openai_responses_model_http_error.yaml", 319),
    ("openai-responses/pydantic-ai__test_openai_responses_model_simple_response_with_tool_call.yaml", 1834),
    ("openai-responses/pydantic-ai__test_openai_responses_prompt_cache_e2e.yaml", 10130),
    ("openai-responses/pydantic-ai__test_openai_responses_stream.yaml", 3915),
    ("openai-responses/pydantic-ai__test_openai_responses_streaming_usage.yaml", 8428),
    ("openai-responses/pydantic-ai__test_openai_responses_thinking_with_tool_calls.yaml", 17898),
    ("openai-responses/vercel-ai__openai-error.1.chunks.jsonl", 778),
    ("openai-responses/vercel-ai__openai-error.1.json", 79),
];

fn request() -> Request {
    Request {
        system: vec!["You are terse.".to_string()],
        messages: vec![
            Message { role: Role::User, text: "What is the weather in Paris?".to_string() },
            Message { role: Role::Assistant, text: String::new() },
            Message { role: Role::Tool, text: r#"{"temp":21,"unit":"C"}"#.to_string() },
        ],
        tools: vec![ToolDecl {
            name: "get_weather".to_string(),
            custom: false,
            description: Some("Current weather for a city".to_string()),
            parameters: Some(JsonText::of(
                &json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
            )),
        }],
        ..Request::default()
    }
}

#[test]
fn request_count_sums_system_turns_and_tool_definitions() {
    let t = tok();
    let req = request();
    let expected = t.count_message("system", "You are terse.")
        + t.count_message("user", "What is the weather in Paris?")
        + t.count_message("assistant", "")
        + t.count_message("tool", r#"{"temp":21,"unit":"C"}"#)
        + t.count_message("user", &tool_definitions_text(&req.tools));
    assert_eq!(count_request(&t, &req), expected);
    assert_eq!(count_request(&t, &Request::default()), 0);
}

#[test]
fn tool_definitions_read_as_name_description_and_schema_joined_by_spaces() {
    let tools = vec![
        ToolDecl {
            name: "get_weather".to_string(),
            custom: false,
            description: Some("Current weather".to_string()),
            parameters: Some(JsonText::of(&json!({"type":"object","properties":{"city":{"type":"string"}}}))),
        },
        ToolDecl { name: "ping".to_string(), custom: false, description: Some(String::new()), parameters: None },
        ToolDecl {
            name: "noop".to_string(),
            custom: false,
            description: None,
            parameters: Some(JsonText::of(&json!({}))),
        },
    ];
    assert_eq!(
        tool_definitions_text(&tools),
        r#"get_weather Current weather {"type":"object","properties":{"city":{"type":"string"}}} ping noop {}"#
    );
}

#[test]
fn bounded_request_count_agrees_with_the_full_count_at_the_limit() {
    let t = tok();
    let req = request();
    let full = count_request(&t, &req);
    assert_eq!(count_request_within(&t, &req, full), Some(full));
    assert_eq!(count_request_within(&t, &req, full + 100), Some(full));
    assert_eq!(count_request_within(&t, &req, full - 1), None);
    assert_eq!(count_request_within(&t, &req, 0), None);
    assert_eq!(count_request_within(&t, &Request::default(), 0), Some(0));
}

#[test]
fn bounded_message_count_stops_early_on_long_text() {
    let t = tok();
    let long = "word ".repeat(50_000);
    assert_eq!(t.count_message_within("user", &long, 10), None);
    assert_eq!(t.count_message_within("user", "hello world", 3), Some(3));
    assert_eq!(t.count_message_within("user", "hello world", 2), None);
}

#[test]
fn role_names_are_the_ones_the_reference_prefixes() {
    assert_eq!(role_name(Role::System), "system");
    assert_eq!(role_name(Role::User), "user");
    assert_eq!(role_name(Role::Assistant), "assistant");
    assert_eq!(role_name(Role::Tool), "tool");
}

#[test]
fn splits_and_tokens_match_bpe_openai_on_every_fixture_and_line() {
    // build.rs drops the table fields only other encoders read and compiles the split regex into
    // a DFA: pieces, token ids (not only counts) and bounded counts must stay bpe-openai's own, on
    // whole files and on every line.
    let ours = tok().bpe;
    let full = bpe_openai::cl100k_base();
    let dir = fixtures_dir();
    let mut texts = 0usize;
    for (path, _) in FIXTURE_COUNTS {
        let text = std::fs::read_to_string(dir.join(path)).unwrap();
        for piece in std::iter::once(text.as_str()).chain(text.lines()) {
            assert_same_as_bpe_openai(ours, full, piece);
            texts += 1;
        }
    }
    assert!(texts > 5_000, "only {texts} texts compared");
}

fn assert_same_as_bpe_openai(ours: &Cl100k, full: &bpe_openai::Tokenizer, text: &str) {
    let pieces: Vec<&str> = ours.pieces(text).collect();
    assert_eq!(pieces, full.split(text).collect::<Vec<_>>(), "{text:.80?}");
    for piece in pieces {
        let bytes = piece.as_bytes();
        assert_eq!(ours.bpe.encode_via_backtracking(bytes), full.bpe.encode_via_backtracking(bytes), "{piece:?}");
    }
    let normalized = full.normalize(text);
    for limit in [0, 1, 5, 100] {
        assert_eq!(ours.count_till_limit(text, limit), full.count_till_limit(&normalized, limit), "{text:.80?}");
    }
}

proptest::proptest! {
    #[test]
    fn splits_and_tokens_match_bpe_openai_on_mixed_text(text in "[a-zA-Z0-9 \t\r\n'’.,;:!?(){}\\[\\]\"_#$%&*+<=>@^|~/-]{0,60}|[\\PC\\s]{0,40}|((?i:'s|'T|'re|'VE|'m|'ll|'d)| +|\n+|\\p{L}+|\\p{N}+|\\p{M}|\\p{P}|\\p{S}|\u{a0}|\u{3000}|\u{1F600}){0,20}") {
        assert_same_as_bpe_openai(tok().bpe, bpe_openai::cl100k_base(), &text);
    }
}

#[test]
fn tokenizer_handles_share_one_build_of_the_tables() {
    let first = tok();
    let second = tok();
    assert!(std::ptr::eq(first.bpe, second.bpe));
}

#[test]
fn kept_piece_counts_answer_like_the_encoder_also_after_the_table_starts_over() {
    let t = tok();
    // More distinct short pieces than the table keeps, twice over, and one too long to keep.
    let mut pieces: Vec<String> = (0..KNOWN_PIECES_MAX * 2 + 7).map(|i| format!(" w{i:x}q")).collect();
    pieces.push("x".repeat(KNOWN_PIECE_BYTES + 1));
    for round in 0..2 {
        for piece in &pieces {
            let bytes = piece.as_bytes();
            assert_eq!(t.bpe.piece_count(bytes), t.bpe.bpe.count(bytes), "{piece} (round {round})");
        }
    }
    KNOWN_PIECES.with(|known| assert!(known.borrow().len() <= KNOWN_PIECES_MAX));
}

/// Pieces that differ only by trailing zero bytes (the key's padding) or fill the key exactly.
#[test]
fn piece_keys_tell_padding_from_content() {
    let t = tok();
    for piece in [&b"a"[..], b"a\0", b"a\0\0\0\0\0\0\0\0", &[0u8; KNOWN_PIECE_BYTES], &[b'z'; KNOWN_PIECE_BYTES]] {
        for _ in 0..2 {
            assert_eq!(t.bpe.piece_count(piece), t.bpe.bpe.count(piece), "{piece:?}");
        }
    }
    assert!(PieceKey::new(b"a") != PieceKey::new(b"a\0"));
    assert!(PieceKey::new(&[b'z'; KNOWN_PIECE_BYTES + 1]).is_none());
}

/// Kept message counts answer every later count, bounded or not, as a fresh count would: an
/// exact count against any limit, "more than" only against a limit no larger than the one it was
/// found with, and a larger limit counts again.
#[test]
fn kept_message_counts_answer_like_a_fresh_count() {
    let t = tok();
    let text = "The quick brown fox jumps over the lazy dog; ".repeat(8);
    let fresh = to_u64(t.bpe.count(&joined("user", &text)));
    assert!(text.len() >= KNOWN_MESSAGE_BYTES && fresh > 50);
    // A bounded count that stops first, then larger and smaller limits, then the full count.
    for limit in [10, 5, 11, fresh - 1, fresh, fresh + 1, 3] {
        let expected = (fresh <= limit).then_some(fresh);
        assert_eq!(t.count_message_within("user", &text, limit), expected, "limit {limit}");
        assert_eq!(t.count_message_within("user", &text, limit), expected, "limit {limit}, again");
    }
    assert_eq!(t.count_message("user", &text), fresh);
    // Another role is another message.
    assert_eq!(t.count_message("system", &text), to_u64(t.bpe.count(&joined("system", &text))));
    let other = format!("{text}!");
    assert_eq!(t.count_message_within("user", &other, 1_000_000), Some(to_u64(t.bpe.count(&joined("user", &other)))));
}
