"""Refusals for Anthropic and Cohere as the official SDKs read them, offline.

The filter's unit tests (`providers::{anthropic,cohere}::refusal::tests`) write the bytes a client
would receive after a blocked tool call into `$WARDEN_REFUSAL_DUMP/{anthropic,cohere}/`. Each file
is served here through an `httpx.MockTransport` to the real SDK client, so the SDK's own SSE
reader, event models and accumulation parse it exactly as they would a live answer.

Environment: WARDEN_REFUSAL_DUMP — a directory the unit tests already filled. Without it, the unit
tests are run once (`cargo test -p warden-filter`) into a temporary directory.

    .venv/bin/python -m pytest tests/clients/offline/test_refusal_anthropic_cohere.py -q
"""

import os
import pathlib
import subprocess

import anthropic
import cohere
import httpx
import httpx2
import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
# The refusal text the unit tests use (`REFUSAL` in both refusal_tests.rs).
REFUSAL = "Warden blocked this tool call: policy says no."
MESSAGES = [{"role": "user", "content": "go"}]


@pytest.fixture(scope="session")
def dump_dir(tmp_path_factory):
    given = os.environ.get("WARDEN_REFUSAL_DUMP")
    if given:
        return pathlib.Path(given)
    out = tmp_path_factory.mktemp("refusals")
    subprocess.run(
        ["cargo", "test", "-q", "-p", "warden-filter", "--lib", "--",
         "providers::anthropic::refusal", "providers::cohere::refusal"],
        cwd=REPO, env={**os.environ, "WARDEN_REFUSAL_DUMP": str(out)}, check=True, capture_output=True,
    )
    return out


def serving(http, path, content_type):
    """An `http.Client` (httpx for cohere, httpx2 for anthropic) that answers every request with
    the file."""
    body = path.read_bytes()
    return http.Client(transport=http.MockTransport(
        lambda request: http.Response(200, headers={"content-type": content_type}, content=body)))


# --- Anthropic -------------------------------------------------------------------------------

ANTHROPIC_STREAMS = {
    # file: (block types in the final message, stop_reason)
    "runner-stream-tools.sse": (["text"], "end_turn"),
    "incomplete-partial-json.sse": (["text", "text"], "end_turn"),
    "mixed-thinking-text-tools.sse": (["thinking", "text", "text", "text"], "end_turn"),
    "live-then-blocked.sse": (["tool_use", "text"], "tool_use"),
    "cut-inside-call.sse": (["text", "text"], "end_turn"),
}


def anthropic_client(path, content_type):
    return anthropic.Anthropic(api_key="sk-ant-offline", base_url="http://offline.test", max_retries=0,
                               http_client=serving(httpx2, path, content_type))


@pytest.mark.parametrize("name", sorted(ANTHROPIC_STREAMS))
def test_anthropic_message_stream_accumulates_the_refusal(dump_dir, name):
    kinds, stop_reason = ANTHROPIC_STREAMS[name]
    client = anthropic_client(dump_dir / "anthropic" / name, "text/event-stream")
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert [b.type for b in final.content] == kinds
    assert final.content[-1].text == REFUSAL
    assert final.stop_reason == stop_reason
    assert sum(e.type == "message_delta" for e in events) == 1
    assert events[-1].type == "message_stop"
    if stop_reason == "end_turn":
        assert not [b for b in final.content if b.type == "tool_use"]


def test_anthropic_refusal_body_is_a_plain_message(dump_dir):
    client = anthropic_client(dump_dir / "anthropic" / "runner-tools.json", "application/json")
    message = client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=MESSAGES)
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == REFUSAL
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0


# --- Cohere ----------------------------------------------------------------------------------

COHERE_STREAMS = {
    # file: (text of each content part, finish_reason, names of calls the client got)
    "streaming-tool-call.sse": ([REFUSAL], "COMPLETE", []),
    "parallel-tool-calls.sse": ([REFUSAL], "COMPLETE", []),
    "mixed-thinking-text-tools.sse": (["Files, then mail.", "Let me look.", REFUSAL], "COMPLETE", []),
    "live-then-blocked.sse": ([REFUSAL], "TOOL_CALL", ["get_time"]),
    "cut-inside-call.sse": (["Sure.", REFUSAL], "COMPLETE", []),
}


def cohere_client(path, content_type):
    return cohere.ClientV2(api_key="offline", base_url="http://offline.test",
                           httpx_client=serving(httpx, path, content_type))


@pytest.mark.parametrize("name", sorted(COHERE_STREAMS))
def test_cohere_chat_stream_parses_into_typed_events_with_one_message_end(dump_dir, name):
    parts, finish_reason, calls = COHERE_STREAMS[name]
    client = cohere_client(dump_dir / "cohere" / name, "text/event-stream")
    events = list(client.chat_stream(model="command-a-03-2025", messages=MESSAGES))
    types = [e.type for e in events]
    assert types[0] == "message-start" and types[-1] == "message-end"
    assert types.count("message-end") == 1

    texts = {}
    for e in events:
        if e.type in ("content-start", "content-delta"):
            content = e.delta.message.content
            piece = getattr(content, "text", None) or getattr(content, "thinking", None) or ""
            texts[e.index] = texts.get(e.index, "") + piece
    assert [texts[i] for i in sorted(texts)] == parts
    assert sorted(texts) == list(range(len(parts)))
    started = [e.delta.message.tool_calls.function.name for e in events if e.type == "tool-call-start"]
    assert started == calls
    assert events[-1].delta.finish_reason == finish_reason


def test_cohere_refusal_body_is_a_plain_message(dump_dir):
    client = cohere_client(dump_dir / "cohere" / "tool-call.json", "application/json")
    response = client.chat(model="command-a-03-2025", messages=MESSAGES)
    assert response.finish_reason == "COMPLETE"
    assert [c.type for c in response.message.content] == ["text"]
    assert response.message.content[0].text == REFUSAL
    assert not response.message.tool_calls
    assert response.usage.tokens.input_tokens == 1549
