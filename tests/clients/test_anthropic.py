"""The official `anthropic` SDK against /v1/anthropic through Envoy + warden."""

import anthropic
import pytest

from conftest import CACHE_WRITE, CACHED, INPUT, OUTPUT, TEXT, scenario

MODEL = "claude-sonnet-4-5"
MESSAGES = [{"role": "user", "content": "Say hello"}]
TOOLS = [{"name": "get_weather", "description": "Weather in a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
# The parallel scenario also calls get_time: a tool the request did not declare would be blocked.
PARALLEL_TOOLS = TOOLS + [{"name": "get_time", "description": "Time in a zone",
                           "input_schema": {"type": "object", "properties": {"timezone": {"type": "string"}}}}]


@pytest.fixture
def client(base_url):
    return anthropic.Anthropic(api_key="sk-ant-test", base_url=f"{base_url}/v1/anthropic", max_retries=0)


def test_messages_text_and_usage(client, mock, access_log):
    r = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert r.content[0].text == TEXT and r.stop_reason == "end_turn"
    assert r.usage.input_tokens == INPUT and r.usage.output_tokens == OUTPUT
    assert r.usage.cache_read_input_tokens == CACHED
    seen = mock.last()
    assert seen["path"] == "/v1/messages"
    # Newer SDKs send the key as a bearer token, older ones as x-api-key: either passes unchanged.
    headers = seen["headers"]
    assert headers.get("x-api-key") == "sk-ant-test" or headers.get("authorization") == "Bearer sk-ant-test"
    record = access_log.record()
    assert record["provider"] == "anthropic" and record["api"] == "messages"
    assert record["input_tokens"] == INPUT and record["cache_write_tokens"] == CACHE_WRITE


def test_messages_stream(client):
    with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == TEXT
    assert final.usage.output_tokens == OUTPUT and final.stop_reason == "end_turn"


def test_tool_use(client):
    r = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, tools=TOOLS,
                               extra_headers=scenario("tool_call"))
    use = [b for b in r.content if b.type == "tool_use"][0]
    assert use.name == "get_weather" and use.input == {"city": "Paris"}
    assert r.stop_reason == "tool_use"


def test_tool_use_stream(client):
    with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES, tools=PARALLEL_TOOLS,
                                extra_headers=scenario("parallel_tools")) as stream:
        final = stream.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    assert [u.name for u in uses] == ["get_weather", "get_time"]
    assert uses[0].input == {"city": "Paris"}


def test_models_list(client, mock):
    ids = [m.id for m in client.models.list()]
    assert "claude-sonnet-4-5-20250929" in ids
    assert mock.last()["path"].startswith("/v1/models")


def test_upstream_rate_limit_reaches_the_sdk_as_its_own_error(client):
    with pytest.raises(anthropic.RateLimitError) as err:
        client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, extra_headers=scenario("error_429"))
    assert err.value.body["error"]["type"] == "rate_limit_error"


def test_team_profile(base_url, mock, access_log):
    c = anthropic.Anthropic(api_key="sk-ant-test", base_url=f"{base_url}/v1/anthropic/team-a", max_retries=0)
    r = c.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert r.content[0].text == TEXT
    assert mock.last()["path"] == "/v1/messages"
    assert access_log.record()["profile"] == "team-a"
