"""What the official `openai` SDK makes of the refusals warden writes, without Envoy or a network.

The filter's own tests write what a client receives after a blocked tool call (streams and
non-streaming bodies, for Chat Completions and Responses) into WARDEN_SDK_SAMPLES, with an
`.expect.json` beside each. This module has cargo write them (unless WARDEN_SDK_SAMPLES already
points at a written set), serves each one to the SDK through an httpx mock transport, and checks
that the SDK parses it strictly and accumulates the expected message.

Run: <venv>/bin/python -m pytest -q tests/clients/offline/test_openai_refusals.py
"""

import atexit
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import httpx
import openai
import pydantic
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import ResponseOutputMessage, ResponseStreamEvent

REPO = pathlib.Path(__file__).resolve().parents[3]
MODEL = "gpt-4o-mini"


def _write_samples():
    given = os.environ.get("WARDEN_SDK_SAMPLES")
    if given:
        return pathlib.Path(given)
    out = pathlib.Path(tempfile.mkdtemp(prefix="warden-sdk-samples-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    subprocess.run(
        ["cargo", "test", "-q", "-p", "warden-filter", "--lib", "sdk_samples_are_written_when_asked"],
        cwd=REPO, env={**os.environ, "WARDEN_SDK_SAMPLES": str(out)}, check=True,
    )
    return out


SAMPLES = _write_samples()


def _samples(api, suffix):
    found = (SAMPLES / api).glob(f"*{suffix}")
    return sorted((p for p in found if not p.name.endswith(".expect.json")), key=lambda p: p.name)


def _expect(path):
    return json.loads(path.with_name(path.name.split(".")[0] + ".expect.json").read_text())


def _client(body, content_type):
    def handler(request):
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    return openai.OpenAI(api_key="sk-offline", base_url="http://offline.invalid/v1", max_retries=0,
                         http_client=httpx.Client(transport=httpx.MockTransport(handler)))


def _sse_data(body):
    """The data payload of every SSE event, as the SDK's decoder joins them."""
    events = []
    for block in body.decode().split("\n\n"):
        lines = [line[len("data:"):].lstrip(" ") for line in block.split("\n") if line.startswith("data:")]
        if lines:
            events.append("\n".join(lines))
    return events


@pytest.mark.parametrize("path", _samples("openai_chat", ".sse"), ids=lambda p: p.stem)
def test_chat_stream_refusal_is_accumulated_by_the_sdk(path):
    body, expect = path.read_bytes(), _expect(path)
    data = _sse_data(body)
    assert data[-1] == "[DONE]" and data.count("[DONE]") == 1
    for payload in data[:-1]:
        ChatCompletionChunk.model_validate_json(payload, strict=False)

    client = _client(body, "text/event-stream")
    with client.chat.completions.stream(model=MODEL, messages=[{"role": "user", "content": "hi"}]) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.message.content == expect["text"]
    assert choice.finish_reason == expect["finish_reason"]
    assert [c.function.name for c in choice.message.tool_calls or []] == expect["tool_calls"]
    assert choice.message.function_call is None
    assert (final.usage is not None) == expect["usage"]

    chunks = list(client.chat.completions.create(model=MODEL, messages=[], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expect["text"]


@pytest.mark.parametrize("path", _samples("openai_chat", ".json"), ids=lambda p: p.stem)
def test_chat_refusal_body_is_a_plain_completion(path):
    body, expect = path.read_bytes(), _expect(path)
    ChatCompletion.model_validate_json(body)
    r = _client(body, "application/json").chat.completions.create(model=MODEL, messages=[])
    assert r.choices[0].message.content == expect["text"]
    assert r.choices[0].message.tool_calls is None
    assert r.choices[0].finish_reason == expect["finish_reason"]
    assert r.usage is not None


@pytest.mark.parametrize("path", _samples("openai_responses", ".sse"), ids=lambda p: p.stem)
def test_responses_stream_refusal_is_accumulated_by_the_sdk(path):
    body, expect = path.read_bytes(), _expect(path)
    # The events warden writes for its message item validate strictly; the rest is the upstream's
    # (recorded by older API versions, which lack fields today's models require).
    adapter = pydantic.TypeAdapter(ResponseStreamEvent)
    written = [p for p in _sse_data(body) if "msg_warden_" in p and '"response.completed"' not in p]
    assert len(written) == 6
    for payload in written:
        event = json.loads(payload)
        # Numbered only when the upstream numbers its events (older recordings do not).
        event.setdefault("sequence_number", 0)
        adapter.validate_python(event)

    client = _client(body, "text/event-stream")
    with client.responses.stream(model=MODEL, input="hi") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == expect["text"]
    assert [item.type for item in final.output] == expect["items"]
    assert final.status == "completed"
    assert (final.usage is not None) == expect["usage"]

    events = list(client.responses.create(model=MODEL, input="hi", stream=True))
    assert events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == expect["text"]


@pytest.mark.parametrize("path", _samples("openai_responses", ".json"), ids=lambda p: p.stem)
def test_responses_refusal_body_is_a_completed_message(path):
    body, expect = path.read_bytes(), _expect(path)
    ResponseOutputMessage.model_validate(json.loads(body)["output"][-1])
    r = _client(body, "application/json").responses.create(model=MODEL, input="hi")
    assert r.output_text == expect["text"]
    assert [item.type for item in r.output] == expect["items"]
    assert r.status == "completed"
