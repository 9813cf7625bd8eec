//! The examples the page offers: the e2e suite's policy scenarios (`tests/policy-config.json`,
//! the requests and answers of `tests/tests/{trust,tool}_policies.rs`) and recorded provider
//! exchanges from `tests/fixtures/`, compiled into the module so the page needs no server logic.

use serde_json::{json, Value};

const POLICY_CONFIG: &str = include_str!("../../tests/policy-config.json");
const PLAYGROUND_CONFIG: &str = include_str!("../examples/playground-config.json");

struct Example {
    name: &'static str,
    note: &'static str,
    path: &'static str,
    config: &'static str,
    request: &'static str,
    response: &'static str,
}

const EXAMPLES: &[Example] = &[
    Example {
        name: "e2e: send_email after an untrusted web_fetch (OpenAI chat, profile secure)",
        note: "tests/tests/trust_policies.rs an_untrusted_tool_result_blocks_tools_that_need_trust",
        path: "/v1/openai/secure/chat/completions",
        config: POLICY_CONFIG,
        request: include_str!("../examples/untrusted-request.json"),
        response: include_str!("../examples/send-email-response.json"),
    },
    Example {
        name: "e2e: read_file /etc/passwd (OpenAI chat, profile secure)",
        note: "tests/tests/tool_policies.rs a_blocked_call_becomes_a_refusal_in_every_api_and_chunk_size",
        path: "/v1/openai/secure/chat/completions",
        config: POLICY_CONFIG,
        request: include_str!("../examples/trusted-request.json"),
        response: include_str!("../examples/read-file-response.json"),
    },
    Example {
        name: "recorded: Anthropic tool result, then a streamed answer",
        note: "tests/fixtures/anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i1",
        path: "/v1/anthropic/v1/messages",
        config: PLAYGROUND_CONFIG,
        request: include_str!(
            "../../tests/fixtures/anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i1.request.json"
        ),
        response: include_str!(
            "../../tests/fixtures/anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i1.response.sse"
        ),
    },
    Example {
        name: "recorded: Gemini function response, streamed as a JSON array",
        note: "tests/fixtures/gemini/extracted/llm-gemini__test_tools.i1 / i2",
        path: "/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        config: PLAYGROUND_CONFIG,
        request: include_str!("../../tests/fixtures/gemini/extracted/llm-gemini__test_tools.i1.request.json"),
        response: include_str!(
            "../../tests/fixtures/gemini/extracted/llm-gemini__test_tools.i2.response.jsonarray.json"
        ),
    },
    Example {
        name: "recorded: OpenAI streamed tool call",
        note: "tests/fixtures/openai-chat/openai-py__stream-tool-call__c6aa7e39.sse (request written for it)",
        path: "/v1/openai/chat/completions",
        config: PLAYGROUND_CONFIG,
        request: include_str!("../examples/openai-stream-request.json"),
        response: include_str!("../../tests/fixtures/openai-chat/openai-py__stream-tool-call__c6aa7e39.sse"),
    },
];

pub fn all() -> Value {
    Value::Array(
        EXAMPLES
            .iter()
            .map(|e| {
                json!({
                    "name": e.name, "note": e.note, "path": e.path, "headers": "",
                    "config": e.config, "request": e.request, "response": e.response,
                })
            })
            .collect(),
    )
}
