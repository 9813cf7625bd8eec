"""The official `openai` SDK against /v1/openai through Envoy + warden."""

import math

import openai
import pytest

from conftest import CACHED, INPUT, OUTPUT, TEXT, scenario

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
# The parallel scenario also calls get_time: a tool the request did not declare would be blocked.
PARALLEL_TOOLS = TOOLS + [{"type": "function", "function": {"name": "get_time", "description": "Time in a zone",
                           "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}}}}]


@pytest.fixture
def client(base_url):
    return openai.OpenAI(api_key="sk-test-openai", base_url=f"{base_url}/v1/openai", max_retries=0)


def test_chat_completion_text_and_usage(client, mock):
    r = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert r.choices[0].message.content == TEXT
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens == INPUT and r.usage.completion_tokens == OUTPUT
    seen = mock.last()
    assert seen["path"] == "/v1/chat/completions"
    assert seen["headers"]["authorization"] == "Bearer sk-test-openai"


def test_chat_completion_tool_call(client):
    r = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS, extra_headers=scenario("tool_call"))
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert call.function.arguments == '{"city":"Paris"}'
    assert r.choices[0].finish_reason == "tool_calls"


def test_chat_stream_without_stream_options_hides_the_usage_chunk(client, mock, access_log):
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == TEXT
    assert all(c.choices for c in chunks), "the client received a usage chunk it did not ask for"
    assert all(c.usage is None for c in chunks)
    # …while the gateway asked the upstream for usage, and metered it.
    import json
    assert json.loads(mock.last()["body"])["stream_options"]["include_usage"] is True
    record = access_log.record()
    assert record["input_tokens"] == INPUT - CACHED and record["output_tokens"] == OUTPUT


def test_chat_stream_with_stream_options_gets_usage(client):
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                                 stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens == INPUT and usage.completion_tokens == OUTPUT
    assert usage.prompt_tokens_details.cached_tokens == CACHED


def test_chat_stream_tool_call(client):
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=PARALLEL_TOOLS, stream=True,
                                            extra_headers=scenario("parallel_tools"))
    calls = {}
    for chunk in stream:
        for d in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = calls.setdefault(d.index, {"name": "", "arguments": ""})
            entry["name"] += d.function.name or ""
            entry["arguments"] += d.function.arguments or ""
    assert calls[0] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert calls[1]["name"] == "get_time"


def test_responses_text_and_tool_call(client, mock):
    r = client.responses.create(model=MODEL, input="Say hello")
    assert r.output_text == TEXT
    assert r.usage.input_tokens == INPUT and r.usage.output_tokens == OUTPUT
    assert mock.last()["path"] == "/v1/responses"
    r = client.responses.create(model=MODEL, input="Weather?", extra_headers=scenario("tool_call"),
                                tools=[{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}])
    call = [o for o in r.output if o.type == "function_call"][0]
    assert call.name == "get_weather" and call.arguments == '{"city":"Paris"}'


def test_responses_stream(client):
    events = list(client.responses.create(model=MODEL, input="Say hello", stream=True))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == TEXT
    done = events[-1]
    assert done.type == "response.completed" and done.response.usage.output_tokens == OUTPUT


def test_embeddings_default_base64(client, mock):
    r = client.embeddings.create(model="text-embedding-3-small", input="hello")
    vec = r.data[0].embedding
    assert len(vec) == 4 and math.isclose(vec[1], -0.25)
    assert mock.last()["path"] == "/v1/embeddings"


def test_models_list(client, mock):
    ids = [m.id for m in client.models.list()]
    assert "gpt-4o-mini" in ids
    assert mock.last()["path"] == "/v1/models"


def test_upstream_rate_limit_reaches_the_sdk_as_its_own_error(client):
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=scenario("error_429"))
    assert err.value.code == "rate_limit_exceeded"


def test_unknown_profile_is_a_not_found_error(base_url):
    c = openai.OpenAI(api_key="sk", base_url=f"{base_url}/v1/openai/nope", max_retries=0)
    with pytest.raises(openai.NotFoundError) as err:
        c.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert "nope" in str(err.value)


def test_profile_segment_and_openai_compatible_provider(base_url, mock, access_log):
    c = openai.OpenAI(api_key="gsk-test", base_url=f"{base_url}/v1/groq/team-a", max_retries=0)
    r = c.chat.completions.create(model="llama-3.3-70b-versatile", messages=MESSAGES)
    assert r.choices[0].message.content == TEXT
    assert mock.last()["path"] == "/openai/v1/chat/completions"
    record = access_log.record()
    assert record["provider"] == "groq" and record["profile"] == "team-a"
