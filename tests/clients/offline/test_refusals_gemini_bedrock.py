"""Offline: the refused streams and bodies that the Gemini and Bedrock refusal hooks produce, parsed
by the official SDKs — google-genai over an httpx MockTransport, boto3 with a `before-send` hook
that answers in place of the network. No Envoy, no mock provider.

The bytes come from the filter's unit tests (`providers::{gemini,bedrock}::refusal::tests`): run
with `WARDEN_REFUSAL_DUMP=<dir>`, they write there what a client of the hold-back engine would
receive. This module runs them through cargo into a temporary directory, unless
WARDEN_REFUSAL_DUMP already names a directory holding the dumps.
"""

import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
# The refusal text the unit tests use.
MESSAGE = "The gateway blocked this tool call: a policy forbids it."
TEST_FILTERS = ["providers::gemini::refusal::tests", "providers::bedrock::refusal::tests"]


@pytest.fixture(scope="module")
def dumps():
    given = os.environ.get("WARDEN_REFUSAL_DUMP")
    if given and any(pathlib.Path(given).glob("bedrock-*")):
        yield pathlib.Path(given)
        return
    cargo = shutil.which(os.environ.get("CARGO", "cargo"))
    if cargo is None:
        pytest.skip("cargo not found and WARDEN_REFUSAL_DUMP not set")
    out = pathlib.Path(tempfile.mkdtemp(prefix="warden-refusal-"))
    try:
        subprocess.run([cargo, "test", "-q", "-p", "warden-filter", "--lib", "--", *TEST_FILTERS],
                       cwd=REPO, env={**os.environ, "WARDEN_REFUSAL_DUMP": str(out)}, check=True,
                       stdout=subprocess.DEVNULL)
        yield out
    finally:
        shutil.rmtree(out, ignore_errors=True)


def dumped(dumps, pattern):
    files = sorted(dumps.glob(pattern))
    assert files, f"no {pattern} in {dumps}"
    return files


# --- Gemini: google-genai --------------------------------------------------------------------

def genai_client(body, content_type):
    httpx = pytest.importorskip("httpx")
    genai = pytest.importorskip("google.genai")
    from google.genai import types

    def answer(request):
        return httpx.Response(200, headers={"content-type": content_type}, content=body)

    return genai.Client(api_key="offline", http_options=types.HttpOptions(
        base_url="http://offline.invalid", api_version="v1beta",
        httpx_client=httpx.Client(transport=httpx.MockTransport(answer))))


def answer_text(response):
    """The answer text as an SDK user reads it: every non-thought text part."""
    parts = response.candidates[0].content.parts if response.candidates and response.candidates[0].content else []
    return "".join(p.text for p in parts or [] if p.text and not p.thought)


def test_google_genai_reads_a_refused_sse_stream(dumps):
    from google.genai import types

    for path in dumped(dumps, "gemini-*.sse"):
        client = genai_client(path.read_bytes(), "text/event-stream")
        chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="x"))
        assert chunks, path.name
        assert not any(c.function_calls for c in chunks), path.name
        text = "".join(answer_text(c) for c in chunks)
        assert text.endswith(MESSAGE), (path.name, text)
        finishes = [c.candidates[0].finish_reason for c in chunks if c.candidates and c.candidates[0].finish_reason]
        assert finishes == [types.FinishReason.STOP], path.name
        assert chunks[-1].usage_metadata.prompt_token_count > 0, path.name


def test_google_genai_types_read_every_element_of_a_refused_json_array_stream(dumps):
    from google.genai import models, types

    for path in dumped(dumps, "gemini-*.json"):
        if path.name == "gemini-body.json":
            continue
        elements = json.loads(path.read_bytes())
        assert isinstance(elements, list) and elements, path.name
        chunks = [types.GenerateContentResponse._from_response(
            response=models._GenerateContentResponse_from_mldev(e, None, None), kwargs={}) for e in elements]
        assert not any(c.function_calls for c in chunks), path.name
        assert "".join(answer_text(c) for c in chunks).endswith(MESSAGE), path.name
        assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP, path.name


def test_google_genai_reads_a_refused_body(dumps):
    from google.genai import types

    client = genai_client((dumps / "gemini-body.json").read_bytes(), "application/json; charset=UTF-8")
    r = client.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert r.function_calls is None
    assert r.text == MESSAGE
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert r.usage_metadata.prompt_token_count > 0


# --- Bedrock: boto3 ----------------------------------------------------------------------------

class Raw:
    """What botocore reads a response body from; handed out in small pieces so the eventstream
    parser has to reassemble messages across reads."""

    def __init__(self, data, piece=7):
        self.data, self.piece = data, piece

    def stream(self, **_):
        for i in range(0, len(self.data), self.piece):
            yield self.data[i:i + self.piece]

    def read(self, *_):
        return self.data

    def close(self):
        pass


def bedrock_client(operation, body, content_type):
    boto3 = pytest.importorskip("boto3")
    from botocore.awsrequest import AWSResponse

    client = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="AKIAOFFLINE",
                          aws_secret_access_key="offline", endpoint_url="https://offline.invalid")

    def answer(request, **_):
        return AWSResponse(request.url, 200, {"content-type": content_type, "x-amzn-requestid": "offline"},
                           Raw(body))

    client.meta.events.register(f"before-send.bedrock-runtime.{operation}", answer)
    return client


# Per dump: the tool calls that streamed before the hold (allowed) and the stop reason the client sees.
BEDROCK_STREAMS = {
    "bedrock-pydantic-temperature.bin": ([], "end_turn"),
    "bedrock-mock-two-calls.bin": ([], "end_turn"),
    "bedrock-renumbered.bin": ([], "end_turn"),
    "bedrock-one-live-call.bin": (["lookup"], "tool_use"),
}


def test_boto3_reads_a_refused_converse_stream(dumps):
    files = dumped(dumps, "bedrock-*.bin")
    assert {p.name for p in files} == set(BEDROCK_STREAMS)
    for path in files:
        live_calls, stop_reason = BEDROCK_STREAMS[path.name]
        client = bedrock_client("ConverseStream", path.read_bytes(), "application/vnd.amazon.eventstream")
        r = client.converse_stream(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                                   messages=[{"role": "user", "content": [{"text": "x"}]}])
        events = list(r["stream"])
        kinds = [next(iter(e)) for e in events]
        assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"], (path.name, kinds)
        assert kinds.count("messageStop") == 1 and kinds.count("metadata") == 1, path.name
        texts, calls = {}, []
        for e in events:
            if "contentBlockStart" in e and "toolUse" in e["contentBlockStart"]["start"]:
                calls.append(e["contentBlockStart"]["start"]["toolUse"]["name"])
            if "contentBlockDelta" in e and "text" in e["contentBlockDelta"]["delta"]:
                index = e["contentBlockDelta"]["contentBlockIndex"]
                texts[index] = texts.get(index, "") + e["contentBlockDelta"]["delta"]["text"]
        assert calls == live_calls, path.name
        assert texts[max(texts)] == MESSAGE, path.name
        stops = [e["contentBlockStop"]["contentBlockIndex"] for e in events if "contentBlockStop" in e]
        assert stops == list(range(len(stops))), (path.name, stops)
        assert events[kinds.index("messageStop")]["messageStop"]["stopReason"] == stop_reason, path.name
        assert events[-1]["metadata"]["usage"]["inputTokens"] > 0, path.name


def test_boto3_reads_a_refused_converse_body(dumps):
    for path in dumped(dumps, "bedrock-body-*.json"):
        client = bedrock_client("Converse", path.read_bytes(), "application/json")
        r = client.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                            messages=[{"role": "user", "content": [{"text": "x"}]}])
        assert r["output"]["message"] == {"role": "assistant", "content": [{"text": MESSAGE}]}, path.name
        assert r["stopReason"] == "end_turn", path.name
        assert r["usage"]["inputTokens"] > 0, path.name
