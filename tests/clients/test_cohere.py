"""The official `cohere` SDK (ClientV2) against /v1/cohere through Envoy + warden."""

import cohere
import pytest

from conftest import CACHED, INPUT, OUTPUT, TEXT, scenario

MODEL = "command-a-03-2025"
MESSAGES = [{"role": "user", "content": "Say hello"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


@pytest.fixture
def client(base_url):
    return cohere.ClientV2(api_key="cohere-test-key", base_url=f"{base_url}/v1/cohere")


def options(name=None):
    opts = {"max_retries": 0}
    if name:
        opts["additional_headers"] = scenario(name)
    return opts


def test_chat_text_and_usage(client, mock, access_log):
    r = client.chat(model=MODEL, messages=MESSAGES, request_options=options())
    assert r.message.content[0].text == TEXT
    assert r.finish_reason == "COMPLETE"
    assert r.usage.tokens.input_tokens == INPUT and r.usage.tokens.output_tokens == OUTPUT
    seen = mock.last()
    assert seen["path"] == "/v2/chat"
    assert seen["headers"]["authorization"] == "Bearer cohere-test-key"
    record = access_log.record()
    assert record["api"] == "chat" and record["input_tokens"] == INPUT - CACHED


def test_chat_stream(client, access_log):
    events = list(client.chat_stream(model=MODEL, messages=MESSAGES, request_options=options()))
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text == TEXT
    end = [e for e in events if e.type == "message-end"][0]
    assert end.delta.finish_reason == "COMPLETE"
    assert access_log.record()["output_tokens"] == OUTPUT


def test_tool_call(client):
    r = client.chat(model=MODEL, messages=MESSAGES, tools=TOOLS, request_options=options("tool_call"))
    call = r.message.tool_calls[0]
    assert call.function.name == "get_weather" and call.function.arguments == '{"city":"Paris"}'
    assert r.finish_reason == "TOOL_CALL"


def test_tool_call_stream(client):
    events = list(client.chat_stream(model=MODEL, messages=MESSAGES, tools=TOOLS,
                                     request_options=options("tool_call")))
    start = [e for e in events if e.type == "tool-call-start"][0]
    args = "".join(e.delta.message.tool_calls.function.arguments for e in events if e.type == "tool-call-delta")
    assert start.delta.message.tool_calls.function.name == "get_weather"
    assert args == '{"city":"Paris"}'


def test_upstream_rate_limit_reaches_the_sdk_as_its_own_error(client):
    with pytest.raises(cohere.errors.TooManyRequestsError):
        client.chat(model=MODEL, messages=MESSAGES, request_options=options("error_429"))
