"""Adversarial model outputs replayed through the official SDKs (issue 7).

Every case of the Rust corpus (`adversarial_corpus` prints it: request, scripted upstream reply,
declared tools) is stored in the mock and requested with the SDK of its API, streaming and not.
An attack passes when the SDK hands the caller no tool call the adversary policy forbids, read as
permissively as an agent might (Python's json, then jiter's partial mode, then trailing commas
dropped); an SDK exception is fine only for a 400/502 error the gateway answered in the provider's
shape. A control passes when the SDK hands the caller exactly its allowed calls.

Left out: Gemini's JSON-array stream (no `alt=sse`), which google-genai never requests, and Gemini
SSE spelled `data:` without a space, which google-genai cannot read at all.
"""

import json
import os
import pathlib
import re
import subprocess
import urllib.request

import anthropic
import boto3
import cohere
import jiter
import openai
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from cohere.core.api_error import ApiError
from conftest import REPO, _run_stack

CONFIG = REPO / "tests" / "adversary-config.json"
CORPUS_BIN = pathlib.Path(os.environ.get("WARDEN_CORPUS_BIN", REPO / "target" / "debug" / "adversarial_corpus"))
BUILTINS = {"computer_use_preview", "local_shell", "shell", "apply_patch"}
BEDROCK_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def _corpus():
    if not CORPUS_BIN.exists():
        return []
    out = subprocess.run([str(CORPUS_BIN)], check=True, capture_output=True).stdout
    return json.loads(out)


def _replayable(case):
    # google-genai only streams with SSE, and reads `data:` lines only with the space after the colon.
    return case["format"] != "gemini_array" and not (case["format"] == "gemini_sse" and "without_space" in case["attack"])


CASES = [c for c in _corpus() if _replayable(c)]


def test_the_corpus_is_built():
    assert CORPUS_BIN.exists(), f"{CORPUS_BIN} not found: run `cargo build -p warden-e2e --bins`"
    assert len(CASES) >= 250, len(CASES)


@pytest.fixture(scope="session")
def adv_stack():
    yield from _run_stack(json.loads(CONFIG.read_text()))


# --- what the caller would run ---------------------------------------------------------------------

def parse_args(args):
    """Arguments as an agent reads them: already a value, or text through json, jiter, repair."""
    if not isinstance(args, str):
        return args
    if not args.strip():
        return {}
    try:
        return json.loads(args)
    except ValueError:
        pass
    try:
        return jiter.from_json(args.encode(), partial_mode="trailing-strings", allow_inf_nan=True)
    except ValueError:
        pass
    try:
        return json.loads(re.sub(r",\s*([}\]])", r"\1", args))
    except ValueError:
        return None


def violates(value):
    if isinstance(value, dict):
        path = value.get("path")
        return isinstance(path, str) and path.startswith("/etc/") or (path is not None and not isinstance(path, str) and violates(path))
    if isinstance(value, str):
        if value.startswith("/etc/"):
            return True
        inner = parse_args(value)
        return not isinstance(inner, str) and inner is not None and violates(inner)
    if isinstance(value, list):
        return any(violates(v) for v in value)
    return False


def forbidden(calls, declared):
    out = []
    for name, args in calls:
        name = name or ""
        if not name:
            out.append(f"unnamed call {args!r}")
        elif declared and name not in declared:
            out.append(f"undeclared {name}")
        elif name in BUILTINS:
            out.append(f"built-in {name}")
        elif name == "read_file" and violates(parse_args(args)):
            out.append(f"read_file {args!r}")
    return out


def _d(obj):
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


def _acc(store, key, name, args):
    entry = store.setdefault(key, ["", ""])
    entry[0] += name or ""
    entry[1] += args if isinstance(args, str) else (json.dumps(args) if args else "")


# --- one function per API: the calls the SDK hands the caller ---------------------------------------

def openai_chat(stack, case, headers):
    client = openai.OpenAI(api_key="sk-test", base_url=f"{stack['base_url']}/v1/openai/adversary", max_retries=0)
    body = dict(case["body"])
    model, messages, stream = body.pop("model"), body.pop("messages"), body.pop("stream", False)
    calls = []
    if not stream:
        r = client.chat.completions.create(model=model, messages=messages, extra_body=body, extra_headers=headers)
        for choice in _d(r).get("choices") or [] if isinstance(_d(r), dict) else []:
            message = choice.get("message") or {}
            for tc in message.get("tool_calls") or []:
                part = tc.get("function") or tc.get("custom") or {}
                calls.append((part.get("name"), part.get("arguments", part.get("input"))))
            if message.get("function_call"):
                fc = message["function_call"]
                calls.append((fc.get("name"), fc.get("arguments")))
        return calls
    acc = {}
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True, extra_body=body,
                                                extra_headers=headers):
        for choice in _d(chunk).get("choices") or []:
            delta = choice.get("delta") or {}
            for tc in delta.get("tool_calls") or []:
                part = tc.get("function") or tc.get("custom") or {}
                _acc(acc, (choice.get("index"), tc.get("index")), part.get("name"), part.get("arguments", part.get("input")))
            if delta.get("function_call"):
                fc = delta["function_call"]
                _acc(acc, (choice.get("index"), "legacy"), fc.get("name"), fc.get("arguments"))
    return [tuple(v) for v in acc.values()]


def _responses_item(item):
    kind = item.get("type")
    if kind == "function_call":
        return item.get("name"), item.get("arguments")
    if kind == "custom_tool_call":
        return item.get("name"), item.get("input")
    builtin = {"computer_call": "computer_use_preview", "local_shell_call": "local_shell",
               "shell_call": "shell", "apply_patch_call": "apply_patch"}.get(kind)
    if builtin:
        return builtin, item.get("action") or item.get("operation")
    return None


def openai_responses(stack, case, headers):
    client = openai.OpenAI(api_key="sk-test", base_url=f"{stack['base_url']}/v1/openai/adversary", max_retries=0)
    body = dict(case["body"])
    model, input_, stream = body.pop("model"), body.pop("input"), body.pop("stream", False)
    if not stream:
        r = client.responses.create(model=model, input=input_, extra_body=body, extra_headers=headers)
        output = _d(r).get("output") if isinstance(_d(r), dict) else None
        return [c for c in (_responses_item(i) for i in output or []) if c]
    calls, items = [], {}
    for event in client.responses.create(model=model, input=input_, stream=True, extra_body=body, extra_headers=headers):
        e = _d(event)
        kind, index = e.get("type"), e.get("output_index")
        if kind in ("response.output_item.added", "response.output_item.done"):
            items[index] = dict(e.get("item") or {})
            if kind.endswith("done"):
                calls.append(_responses_item(items[index]))
        elif kind in ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta"):
            key = "arguments" if "function" in kind else "input"
            item = items.setdefault(index, {})
            item[key] = (item.get(key) or "") + (e.get("delta") or "")
        elif (e.get("response") or {}).get("output"):
            calls.extend(_responses_item(i) for i in e["response"]["output"])
    calls.extend(_responses_item(i) for i in items.values())
    return [c for c in calls if c]


def anthropic_messages(stack, case, headers):
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url=f"{stack['base_url']}/v1/anthropic/adversary",
                                 max_retries=0)
    body = dict(case["body"])
    kwargs = dict(model=body.pop("model"), max_tokens=body.pop("max_tokens"), messages=body.pop("messages"))
    stream = body.pop("stream", False)
    if not stream:
        message = client.messages.create(**kwargs, extra_body=body, extra_headers=headers)
    else:
        with client.messages.stream(**kwargs, extra_body=body, extra_headers=headers) as s:
            for _ in s:
                pass
            message = s.get_final_message()
    return [(b.name, b.input) for b in message.content if b.type == "tool_use"]


def gemini_generate(stack, case, headers):
    client = genai.Client(api_key="AIza-test-key", http_options=types.HttpOptions(
        base_url=f"{stack['base_url']}/v1/gemini/adversary", api_version="v1beta", headers=headers,
        retry_options=types.HttpRetryOptions(attempts=1)))
    declarations = [types.FunctionDeclaration(name=n, description=n, parameters=types.Schema(
        type="OBJECT", properties={"path": types.Schema(type="STRING")})) for n in case["declared"]]
    config = types.GenerateContentConfig(candidate_count=2, tools=[types.Tool(function_declarations=declarations)]
                                         if declarations else None)
    args = dict(model="gemini-2.5-flash", contents="Say hello", config=config)
    chunks = list(client.models.generate_content_stream(**args)) if case["stream"] else \
        [client.models.generate_content(**args)]
    calls = []
    for chunk in chunks:
        for candidate in chunk.candidates or []:
            for part in (candidate.content.parts if candidate.content else None) or []:
                if part.function_call:
                    calls.append((part.function_call.name, part.function_call.args))
    return calls


def bedrock_converse(stack, case, headers):
    client = boto3.client("bedrock-runtime", region_name="us-east-1",
                          endpoint_url=f"{stack['https_url']}/v1/bedrock/adversary", verify=stack["ca_file"],
                          config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def add_headers(request, **_):
        for k, v in headers.items():
            request.headers[k] = v
    client.meta.events.register("before-send.bedrock-runtime.*", add_headers)
    body = dict(case["body"])
    kwargs = dict(modelId=BEDROCK_MODEL, messages=body["messages"], system=body["system"],
                  inferenceConfig=body["inferenceConfig"])
    if "toolConfig" in body:
        kwargs["toolConfig"] = body["toolConfig"]
    if not case["stream"]:
        r = client.converse(**kwargs)
        return [(b["toolUse"].get("name"), b["toolUse"].get("input"))
                for b in r["output"]["message"]["content"] if "toolUse" in b]
    by_index, latest, order = {}, [], []
    for event in client.converse_stream(**kwargs)["stream"]:
        start = event.get("contentBlockStart", {})
        if start.get("start", {}).get("toolUse"):
            name = start["start"]["toolUse"].get("name")
            by_index[start.get("contentBlockIndex")] = [name, ""]
            order.append(start.get("contentBlockIndex"))
            latest.append([name, ""])
        delta = event.get("contentBlockDelta", {})
        piece = delta.get("delta", {}).get("toolUse", {}).get("input")
        if piece is not None:
            index = delta.get("contentBlockIndex")
            key = index if index in by_index else (order[-1] if order else index)
            by_index.setdefault(key, ["", ""])[1] += piece
            (latest[-1] if latest else latest.append(["", ""]) or latest[-1])[1] += piece
    return [tuple(v) for v in by_index.values()] + [tuple(v) for v in latest]


def cohere_chat(stack, case, headers):
    co = cohere.ClientV2(api_key="cohere-test-key", base_url=f"{stack['base_url']}/v1/cohere/adversary")
    body = dict(case["body"])
    kwargs = dict(model=body["model"], messages=body["messages"],
                  request_options={"max_retries": 0, "additional_headers": headers})
    if "tools" in body:
        kwargs["tools"] = body["tools"]
    if not case["stream"]:
        r = co.chat(**kwargs)
        return [(tc.function.name, tc.function.arguments) for tc in (r.message.tool_calls or []) if tc.function]
    by_index, latest = {}, []
    for e in co.chat_stream(**kwargs):
        if e.type == "tool-call-start":
            tc = e.delta.message.tool_calls
            by_index[e.index] = [tc.function.name, tc.function.arguments or ""]
            latest.append([tc.function.name, tc.function.arguments or ""])
        elif e.type == "tool-call-delta":
            piece = e.delta.message.tool_calls.function.arguments or ""
            key = e.index if e.index in by_index else (list(by_index)[-1] if by_index else e.index)
            by_index.setdefault(key, ["", ""])[1] += piece
            (latest[-1] if latest else latest.append(["", ""]) or latest[-1])[1] += piece
    return [tuple(v) for v in by_index.values()] + [tuple(v) for v in latest]


CLIENTS = {"chat_completions": openai_chat, "responses": openai_responses, "messages": anthropic_messages,
           "generate_content": gemini_generate, "converse": bedrock_converse, "chat": cohere_chat}


def http_error(err):
    """(status, whether the body is the provider's error shape) of an SDK error raised for an HTTP
    error status; None for any other failure (a 200 whose body the SDK could not read included)."""
    error = _http_error(err)
    return error if error is not None and error[0] is not None and error[0] >= 400 else None


def _http_error(err):
    if isinstance(err, (openai.APIStatusError, anthropic.APIStatusError)):
        body = err.body if isinstance(err.body, dict) else {}
        return err.status_code, bool(body.get("message") or (body.get("error") or {}).get("message"))
    if isinstance(err, genai_errors.APIError):
        return err.code, bool(err.message)
    if isinstance(err, ClientError):
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status, bool(err.response.get("Error", {}).get("Message"))
    if isinstance(err, ApiError) and err.status_code:
        return err.status_code, isinstance(err.body, dict) and bool(err.body.get("message"))
    return None


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_sdk_hands_the_caller_no_forbidden_call(adv_stack, case, monkeypatch):
    if case["api"] == "converse":
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-test")
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
    body = json.dumps(case["script"]).encode()
    request = urllib.request.Request(f"{adv_stack['mock_url']}/__mock/scripts/{case['script_name']}", data=body,
                                     method="PUT", headers={"content-type": "application/json"})
    urllib.request.urlopen(request).read()
    headers = {"x-mock-scenario": f"script:{case['script_name']}"}
    if case.get("chunk"):
        headers["x-mock-chunk-size"] = str(case["chunk"])
    try:
        calls = CLIENTS[case["api"]](adv_stack, case, headers)
    except Exception as err:  # noqa: BLE001 - any SDK failure is judged below
        assert not case["control"], f"a control failed in the SDK: {err!r}"
        # An SDK that cannot read a reply at all (the upstream broke its protocol) hands the caller
        # nothing; an HTTP error must be the gateway's 400/502 in the provider's shape.
        error = http_error(err)
        if error is not None:
            status, shaped = error
            assert status in (400, 502) and shaped, f"the SDK raised for status {status}: {err!r}"
        return
    # The same call seen by several readings (item added, done, final output) is one call.
    unique = {}
    for name, args in calls:
        unique.setdefault((name or "", json.dumps(parse_args(args), sort_keys=True, default=str)), (name, args))
    calls = list(unique.values())
    bad = forbidden(calls, case["declared"])
    if case["control"]:
        assert not bad, bad
        assert sorted(n or "" for n, _ in calls) == sorted(case["calls"]), calls
    else:
        assert not bad, f"BYPASS: the SDK hands the caller {bad}"
