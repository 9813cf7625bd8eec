"""What the official `openai` SDK makes of the model router's translations, offline.

The filter's golden tests (`providers::translate::golden_tests`) keep, in filter/tests/golden/router/,
what a routed client receives: chat chunk streams and Responses event streams translated from
recorded Anthropic, Gemini, Bedrock and Cohere streams (`streams/`), whole answers as
`chat.completion` and Response objects (`answers/`), and upstream errors in the OpenAI shape
(`errors/`). Beside each chat stream, `<case>.expect.json` says what a client must end up with.
Each file is served here through an httpx mock transport to the SDK, which must parse it strictly
and accumulate that text, those tool calls, that finish reason and that usage.

Run: <venv>/bin/python -m pytest -q tests/clients/offline/test_router_translation.py
"""

import json
import pathlib

import httpx
import openai
import pydantic
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent

REPO = pathlib.Path(__file__).resolve().parents[3]
GOLDEN = REPO / "filter" / "tests" / "golden" / "router"
MODEL = "anthropic:claude-sonnet-4-5"


def _client(body, content_type, status=200):
    def handler(request):
        return httpx.Response(status, content=body, headers={"content-type": content_type})

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


def _chat_streams():
    return sorted(p for p in (GOLDEN / "streams").glob("*.sse") if not p.name.endswith(".responses.sse"))


def _expect(stream_path):
    name = stream_path.name.split(".")[0]
    return json.loads((GOLDEN / "streams" / f"{name}.expect.json").read_text())


def _status(finish_reason):
    return "incomplete" if finish_reason in ("length", "content_filter") else "completed"


def test_the_golden_files_are_there():
    assert len(_chat_streams()) >= 15
    assert len(list((GOLDEN / "answers").glob("*.chat.json"))) >= 10
    assert len(list((GOLDEN / "errors").glob("*.json"))) >= 4


@pytest.mark.parametrize("path", _chat_streams(), ids=lambda p: p.stem)
def test_translated_chat_stream_is_accumulated_by_the_sdk(path):
    body, expect = path.read_bytes(), _expect(path)
    data = _sse_data(body)
    assert data[-1] == "[DONE]" and data.count("[DONE]") == 1
    chunks = [ChatCompletionChunk.model_validate_json(p) for p in data[:-1]]
    assert len({(c.id, c.created, c.model) for c in chunks}) == 1, "one envelope per stream"
    assert chunks[0].choices[0].delta.role == "assistant"

    client = _client(body, "text/event-stream")
    try:
        with client.chat.completions.stream(model=MODEL, messages=[{"role": "user", "content": "hi"}]) as stream:
            for _ in stream:
                pass
            final = stream.get_final_completion()
    except openai.LengthFinishReasonError as cut:
        # The stream helper raises on a length finish, with the completion it accumulated.
        assert expect["finish_reason"] == "length"
        final = cut.completion
    choice = final.choices[0]
    assert (choice.message.content or "") == expect["text"]
    assert choice.finish_reason == expect["finish_reason"]
    calls = [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
             for c in choice.message.tool_calls or []]
    assert calls == expect["tool_calls"]
    if expect["usage"] is None:
        assert final.usage is None
    else:
        assert final.usage.prompt_tokens == expect["usage"]["prompt_tokens"]
        assert final.usage.completion_tokens == expect["usage"]["completion_tokens"]
        assert final.usage.total_tokens == final.usage.prompt_tokens + final.usage.completion_tokens
        details = final.usage.prompt_tokens_details
        assert (details.cached_tokens if details else None) == expect["usage"]["cached_tokens"]

    streamed = list(client.chat.completions.create(model=MODEL, messages=[], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == expect["text"]
    assert [c for c in streamed if not c.choices] == ([] if expect["usage"] is None else [streamed[-1]])


@pytest.mark.parametrize("path", sorted((GOLDEN / "streams").glob("*.responses.sse")), ids=lambda p: p.stem)
def test_translated_responses_stream_is_accumulated_by_the_sdk(path):
    body, expect = path.read_bytes(), _expect(path)
    adapter = pydantic.TypeAdapter(ResponseStreamEvent)
    events = [adapter.validate_json(p) for p in _sse_data(body)]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created" and events[1].type == "response.in_progress"

    client = _client(body, "text/event-stream")
    streamed = list(client.responses.create(model=MODEL, input="hi", stream=True))
    final = streamed[-1].response
    if expect["finish_reason"] in ("stop", "tool_calls"):
        # The SDK's stream helper only finishes on response.completed (not on …incomplete).
        with client.responses.stream(model=MODEL, input="hi") as stream:
            for _ in stream:
                pass
            final = stream.get_final_response()
    assert streamed[-1].type == f"response.{_status(expect['finish_reason'])}"
    assert final.status == _status(expect["finish_reason"])
    assert final.output_text == expect["text"]
    calls = [{"id": i.call_id, "name": i.name, "arguments": i.arguments}
             for i in final.output if i.type == "function_call"]
    assert calls == expect["tool_calls"]
    if expect["usage"] is None:
        assert final.usage is None
    else:
        assert final.usage.input_tokens == expect["usage"]["prompt_tokens"]
        assert final.usage.output_tokens == expect["usage"]["completion_tokens"]
        assert final.usage.input_tokens_details.cached_tokens == (expect["usage"]["cached_tokens"] or 0)
    assert "".join(e.delta for e in streamed if e.type == "response.output_text.delta") == expect["text"]


@pytest.mark.parametrize("path", sorted((GOLDEN / "answers").glob("*.chat.json")), ids=lambda p: p.stem)
def test_translated_answer_is_a_completion_and_a_response(path):
    raw = json.loads(path.read_text())
    ChatCompletion.model_validate(raw)
    completion = _client(path.read_bytes(), "application/json").chat.completions.create(model=MODEL, messages=[])
    message, raw_message = completion.choices[0].message, raw["choices"][0]["message"]
    assert message.content == raw_message["content"]
    calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]
    assert calls == [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
                     for c in raw_message.get("tool_calls", [])]
    assert completion.choices[0].finish_reason in ("stop", "length", "tool_calls", "content_filter")
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens

    responses_path = path.with_name(path.name.replace(".chat.json", ".responses.json"))
    Response.model_validate_json(responses_path.read_bytes())
    response = _client(responses_path.read_bytes(), "application/json").responses.create(model=MODEL, input="hi")
    assert response.status == _status(completion.choices[0].finish_reason)
    assert response.output_text == (message.content or "")
    assert [(i.call_id, i.name, json.loads(i.arguments)) for i in response.output if i.type == "function_call"] == calls
    assert response.usage.input_tokens == completion.usage.prompt_tokens
    assert response.usage.output_tokens == completion.usage.completion_tokens


@pytest.mark.parametrize("path", sorted((GOLDEN / "errors").glob("*.json")), ids=lambda p: p.stem)
def test_translated_error_is_raised_by_the_sdk_with_its_message(path):
    case = json.loads(path.read_text())
    client = _client(json.dumps(case["body"]).encode(), "application/json", status=case["status"])
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model=MODEL, messages=[])
    assert raised.value.status_code == case["status"]
    assert raised.value.body == case["body"]["error"]
    assert raised.value.code == case["body"]["error"]["code"]
    assert case["body"]["error"]["message"] in raised.value.message
