"""The official `google-genai` SDK against /v1/gemini through Envoy + warden."""

import pytest
from google import genai
from google.genai import errors, types

from conftest import CACHED, INPUT, OUTPUT, TEXT, scenario

MODEL = "gemini-2.5-flash"
WEATHER = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="get_weather", description="Weather in a city",
    parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}))])
# The parallel scenario also calls get_time: a tool the request did not declare would be blocked.
WEATHER_AND_TIME = types.Tool(function_declarations=[*WEATHER.function_declarations, types.FunctionDeclaration(
    name="get_time", description="Time in a zone",
    parameters=types.Schema(type="OBJECT", properties={"timezone": types.Schema(type="STRING")}))])


def make_client(base_url, headers=None):
    return genai.Client(api_key="AIza-test-key", http_options=types.HttpOptions(
        base_url=f"{base_url}/v1/gemini", api_version="v1beta", headers=headers or {},
        retry_options=types.HttpRetryOptions(attempts=1)))


def test_generate_content_text_and_usage(base_url, mock, access_log):
    client = make_client(base_url)  # keep a reference: the SDK closes its HTTP client when collected
    r = client.models.generate_content(model=MODEL, contents="Say hello")
    assert r.text == TEXT
    assert r.usage_metadata.prompt_token_count == INPUT
    assert r.usage_metadata.candidates_token_count == OUTPUT
    seen = mock.last()
    assert seen["path"] == f"/v1beta/models/{MODEL}:generateContent"
    assert seen["headers"]["x-goog-api-key"] == "AIza-test-key"
    record = access_log.record()
    assert record["api"] == "generate_content" and record["input_tokens"] == INPUT - CACHED


def test_generate_content_stream(base_url, mock, access_log):
    client = make_client(base_url)
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="Say hello"))
    assert "".join(c.text or "" for c in chunks) == TEXT
    assert chunks[-1].usage_metadata.candidates_token_count == OUTPUT
    assert mock.last()["path"] == f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
    record = access_log.record()
    assert record["stream"] is True and record["output_tokens"] == OUTPUT


def test_function_call(base_url):
    client = make_client(base_url, scenario("tool_call"))
    r = client.models.generate_content(model=MODEL, contents="Weather in Paris?",
                                       config=types.GenerateContentConfig(tools=[WEATHER]))
    call = r.function_calls[0]
    assert call.name == "get_weather" and call.args == {"city": "Paris"}


def test_function_call_stream(base_url):
    client = make_client(base_url, scenario("parallel_tools"))
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="Weather and time?",
                                                        config=types.GenerateContentConfig(tools=[WEATHER_AND_TIME])))
    names = [c.name for chunk in chunks for c in (chunk.function_calls or [])]
    assert names == ["get_weather", "get_time"]


def test_upstream_rate_limit_reaches_the_sdk_as_its_own_error(base_url):
    client = make_client(base_url, scenario("error_429"))
    with pytest.raises(errors.ClientError) as err:
        client.models.generate_content(model=MODEL, contents="hi")
    assert err.value.code == 429 and err.value.status == "RESOURCE_EXHAUSTED"
