//! The reader against the mock's own output, and the problems it must catch.

use super::*;
use crate::mock::scenario::{Call, Calls, Content};
use crate::mock::{anthropic, bedrock, cohere, gemini, openai};
use serde_json::json;

fn calls(text_first: bool, mixed_chunk: bool) -> Content {
    let call = |name: &str, arguments| Call { id: format!("id_{name}"), name: name.into(), arguments };
    Content::Calls(Calls {
        calls: vec![call("read_file", json!({"path": "/etc/passwd"})), call("get_weather", json!({"city": "Paris"}))],
        text_first,
        mixed_chunk,
    })
}

/// Every format the mock writes reads back as the same two calls and the scenario text.
#[test]
fn the_mock_reads_back_in_every_format() {
    let text = crate::mock::scenario::text();
    let content = calls(true, false);
    let bodies: Vec<(Format, Vec<u8>, &str)> = vec![
        (Format::ChatJson, openai::chat("m", &content, false, false).parts.concat(), "tool_calls"),
        (Format::ChatSse, openai::chat("m", &content, true, true).parts.concat(), "tool_calls"),
        (Format::ResponsesJson, openai::responses("m", &content, false).parts.concat(), "completed"),
        (Format::ResponsesSse, openai::responses("m", &content, true).parts.concat(), "completed"),
        (Format::AnthropicJson, anthropic::messages("m", &content, false).parts.concat(), "tool_use"),
        (Format::AnthropicSse, anthropic::messages("m", &content, true).parts.concat(), "tool_use"),
        (Format::GeminiJson, gemini::generate("m", &content, None).parts.concat(), "STOP"),
        (Format::GeminiSse, gemini::generate("m", &content, Some(true)).parts.concat(), "STOP"),
        (Format::GeminiArray, gemini::generate("m", &calls(true, true), Some(false)).parts.concat(), "STOP"),
        (Format::BedrockJson, bedrock::converse(&content, false).parts.concat(), "tool_use"),
        (Format::BedrockEvents, bedrock::converse(&content, true).parts.concat(), "tool_use"),
        (Format::CohereJson, cohere::chat(&content, false).parts.concat(), "TOOL_CALL"),
        (Format::CohereSse, cohere::chat(&content, true).parts.concat(), "TOOL_CALL"),
    ];
    for (format, body, finish) in bodies {
        let seen = read(format, &body);
        assert!(seen.problems.is_empty(), "{format:?}: {:?}", seen.problems);
        assert_eq!(seen.said(), text, "{format:?}");
        let names: Vec<&str> = seen.calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["read_file", "get_weather"], "{format:?}");
        let args: Value = serde_json::from_str(&seen.calls[0].arguments).unwrap();
        assert_eq!(args, json!({"path": "/etc/passwd"}), "{format:?}");
        assert_eq!(seen.finish.as_deref(), Some(finish), "{format:?}");
    }
}

#[test]
fn a_text_answer_reads_back_with_a_stop_finish_in_every_format() {
    let t = &Content::Text;
    let bodies: Vec<(Format, Vec<u8>, &str)> = vec![
        (Format::ChatJson, openai::chat("m", t, false, false).parts.concat(), "chat_completions"),
        (Format::ChatSse, openai::chat("m", t, true, false).parts.concat(), "chat_completions"),
        (Format::ResponsesJson, openai::responses("m", t, false).parts.concat(), "responses"),
        (Format::ResponsesSse, openai::responses("m", t, true).parts.concat(), "responses"),
        (Format::AnthropicJson, anthropic::messages("m", t, false).parts.concat(), "messages"),
        (Format::AnthropicSse, anthropic::messages("m", t, true).parts.concat(), "messages"),
        (Format::GeminiJson, gemini::generate("m", t, None).parts.concat(), "generate_content"),
        (Format::GeminiSse, gemini::generate("m", t, Some(true)).parts.concat(), "generate_content"),
        (Format::GeminiArray, gemini::generate("m", t, Some(false)).parts.concat(), "generate_content"),
        (Format::BedrockJson, bedrock::converse(t, false).parts.concat(), "converse"),
        (Format::BedrockEvents, bedrock::converse(t, true).parts.concat(), "converse"),
        (Format::CohereJson, cohere::chat(t, false).parts.concat(), "chat"),
        (Format::CohereSse, cohere::chat(t, true).parts.concat(), "chat"),
    ];
    for (format, body, api) in bodies {
        let seen = read(format, &body);
        assert!(seen.problems.is_empty(), "{format:?}: {:?}", seen.problems);
        assert_eq!(seen.text, crate::mock::scenario::text(), "{format:?}");
        assert!(seen.calls.is_empty(), "{format:?}");
        assert_eq!(seen.finish.as_deref(), Some(stop_finish(api)), "{format:?}");
    }
}

#[test]
fn anthropic_block_index_reuse_is_a_problem() {
    let body = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let seen = read(Format::AnthropicSse, body.as_bytes());
    assert_eq!(seen.problems.len(), 1, "{:?}", seen.problems);
    assert!(seen.problems[0].contains("next free index is 1"));
}

#[test]
fn a_torn_or_unterminated_stream_is_a_problem() {
    let full = openai::chat("m", &Content::Text, true, false).parts.concat();
    let torn = &full[..full.len() - 5];
    assert!(!read(Format::ChatSse, torn).problems.is_empty());
    let events = bedrock::converse(&Content::Text, true).parts.concat();
    assert!(!read(Format::BedrockEvents, &events[..events.len() - 3]).problems.is_empty());
}
