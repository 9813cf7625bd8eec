"""`boto3` bedrock-runtime (Converse, ConverseStream) against /v1/bedrock through Envoy + warden,
with the Bedrock API-key bearer auth (`AWS_BEARER_TOKEN_BEDROCK`), which survives the gateway's
path rewrite where a client's own SigV4 signature would not."""

import boto3
import pytest
from botocore.config import Config

from conftest import CACHE_WRITE, CACHED, INPUT, OUTPUT, TEXT

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Say hello"}]}]
TOOLS = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather in a city",
                                 "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}]}


@pytest.fixture
def make_client(stack, monkeypatch):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-test")
    # No AWS credentials are needed with a bearer token; keep any ambient ones out of the way.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)

    def make(scenario=None):
        client = boto3.client("bedrock-runtime", region_name="us-east-1",
                              endpoint_url=f"{stack['https_url']}/v1/bedrock", verify=stack["ca_file"],
                              config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        if scenario:
            def add_header(request, **_):
                request.headers["x-mock-scenario"] = scenario
            client.meta.events.register("before-send.bedrock-runtime.*", add_header)
        return client

    return make


def test_converse_text_and_usage(make_client, mock, access_log):
    r = make_client().converse(modelId=MODEL, messages=MESSAGES)
    assert r["output"]["message"]["content"][0]["text"] == TEXT
    assert r["stopReason"] == "end_turn"
    assert r["usage"]["inputTokens"] == INPUT and r["usage"]["outputTokens"] == OUTPUT
    seen = mock.last()
    assert seen["path"] == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    assert seen["headers"]["authorization"] == "Bearer bedrock-api-key-test"
    record = access_log.record()
    assert record["api"] == "converse" and record["model"] == MODEL
    assert record["cache_read_tokens"] == CACHED and record["cache_write_tokens"] == CACHE_WRITE


def test_converse_stream(make_client, access_log):
    r = make_client().converse_stream(modelId=MODEL, messages=MESSAGES)
    text, usage, stop = "", None, None
    for event in r["stream"]:
        if "contentBlockDelta" in event:
            text += event["contentBlockDelta"]["delta"].get("text", "")
        if "messageStop" in event:
            stop = event["messageStop"]["stopReason"]
        if "metadata" in event:
            usage = event["metadata"]["usage"]
    assert text == TEXT and stop == "end_turn"
    assert usage["outputTokens"] == OUTPUT
    record = access_log.record()
    assert record["stream"] is True and record["output_tokens"] == OUTPUT


def test_tool_use(make_client):
    r = make_client("tool_call").converse(modelId=MODEL, messages=MESSAGES, toolConfig=TOOLS)
    use = r["output"]["message"]["content"][0]["toolUse"]
    assert use["name"] == "get_weather" and use["input"] == {"city": "Paris"}
    assert r["stopReason"] == "tool_use"


def test_tool_use_stream(make_client):
    r = make_client("tool_call").converse_stream(modelId=MODEL, messages=MESSAGES, toolConfig=TOOLS)
    name, args = None, ""
    for event in r["stream"]:
        start = event.get("contentBlockStart", {}).get("start", {}).get("toolUse")
        if start:
            name = start["name"]
        delta = event.get("contentBlockDelta", {}).get("delta", {}).get("toolUse")
        if delta:
            args += delta["input"]
    assert name == "get_weather" and args == '{"city":"Paris"}'


def test_upstream_throttling_reaches_the_sdk_as_its_own_error(make_client):
    client = make_client("error_429")
    with pytest.raises(client.exceptions.ThrottlingException):
        client.converse(modelId=MODEL, messages=MESSAGES)


def test_sigv4_client_passes_through_in_api_key_mode(base_url, mock, monkeypatch):
    # With dummy SigV4 credentials (plain HTTP is fine here) the client's own Authorization header
    # reaches the upstream unchanged; a real AWS endpoint would reject the signature after the
    # path rewrite, which is why Bedrock clients use the API-key form or `auth: sigv4`.
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=f"{base_url}/v1/bedrock",
                          aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="dummy-secret",
                          config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    r = client.converse(modelId=MODEL, messages=MESSAGES)
    assert r["output"]["message"]["content"][0]["text"] == TEXT
    assert mock.last()["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
