#!/usr/bin/env bash
# Makes filter/wasm-order.txt, the order tools/passive-data gives the module's functions (those
# requests run first, in the order they first run; docs/efficiency.md §6): builds the module with
# its names and without an order, runs requests through it in V8 with Envoy's compiler settings
# (scripts/wasm_profile.cjs: the bench's requests — a 1 KB chat request, a 300-event chat stream, the
# 32 KB agent request with policies, TOON and an optimisation rule — then a recorded agent turn of
# every other API from tests/fixtures), profiles them and lists the functions seen, in that order
# (scripts/wasm_order.py). Needs node. Run it after large changes to the request
# path, then `make wasm`; the file is committed, so builds do not depend on a profile.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
WARDEN_WASM_NAMES=1 WARDEN_WASM_ORDER=none WARDEN_WASM_OUT="$work/named.wasm" bash scripts/build-wasm.sh >&2
# The bench's requests and agent profile (scripts/bench_requests.py), as wasm_profile.cjs specs.
python3 scripts/bench_requests.py "$work"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
for name in ["chat", "stream", "agent"]:
    body = json.load(open(f"{work}/{name}.json"))
    json.dump({"path": "/v1/openai/chat/completions", "headers": headers, "body": body}, open(f"{work}/{name}-request.json", "w"))
json.dump({"default_profile": "default", "profiles": {"default": {}}}, open(f"{work}/plain-config.json", "w"))
# A recorded second turn (tool calls and their results) of every other API.
fixtures = "tests/fixtures"
for name, path, headers, body in [
    ("anthropic", "/v1/anthropic/v1/messages", {"x-api-key": "sk-ant-order", "anthropic-version": "2023-06-01"},
     "anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i1.request.json"),
    ("responses", "/v1/openai/responses", {"authorization": "Bearer sk-order"},
     "openai-responses/extracted/pydantic-ai__responses_stream.i1.request.json"),
    ("gemini", "/v1/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent", {"x-goog-api-key": "order"},
     "gemini/extracted/llm-gemini__test_tools.i1.request.json"),
    ("bedrock", "/v1/bedrock/model/amazon.nova-lite-v1:0/converse-stream", {"authorization": "Bearer order"},
     "bedrock/extracted/pydantic-ai__bedrock_iter_stream.i1.request.json"),
    ("cohere", "/v1/cohere/v2/chat", {"authorization": "Bearer order"},
     "cohere/extracted/lc-cohere__langgraph_react_agent.i2.request.json"),
]:
    json.dump({"path": path, "headers": dict(headers, **{"content-type": "application/json"}),
               "body": json.load(open(f"{fixtures}/{body}"))}, open(f"{work}/{name}-request.json", "w"))
answer = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "Done."}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22}}
open(f"{work}/answer.json", "w").write(json.dumps(answer))
chunk = lambda delta, finish=None: {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
                                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
events = [chunk({"role": "assistant", "content": ""})] + [chunk({"content": f"word{i} "}) for i in range(300)] + [chunk({}, "stop")]
events.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini", "choices": [],
               "usage": {"prompt_tokens": 20, "completion_tokens": 300, "total_tokens": 320}})
open(f"{work}/stream.sse", "w").write("".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n")
PY
profile() { # name config request response-file count [stream]
  node --no-liftoff --no-wasm-lazy-compilation --cpu-prof --cpu-prof-interval 10 --cpu-prof-dir="$work/prof-$1" \
    scripts/wasm_profile.cjs "$work/named.wasm" "$work/$2" "$work/$3" "$4" "$5" ${6:-} >&2
}
# Caches evicted between chat exchanges (as in Envoy at a gateway's rates), so every function a
# request runs is sampled, not only the ones that dominate a warm loop.
WASM_PROFILE_EVICT_MB=4 profile chat plain-config.json chat-request.json "$work/answer.json" 10000
profile stream plain-config.json stream-request.json "$work/stream.sse" 2000 sse
profile agent agent-config.json agent-request.json "$work/answer.json" 3000
f=$PWD/tests/fixtures
api() { # name response content-type [stream]
  WASM_PROFILE_CONTENT_TYPE=$3 profile "$1" plain-config.json "$1-request.json" "$2" 1000 "${4:-}"
}
api anthropic "$f/anthropic-messages/extracted/anthropic-sdk-py__runner-stream-tools.i1.response.sse" text/event-stream sse-whole
api responses "$f/openai-responses/extracted/pydantic-ai__responses_stream.i0.response.sse" text/event-stream sse-whole
api gemini "$f/gemini/extracted/llm-gemini__test_tools.i2.response.jsonarray.json" application/json sse-whole
api bedrock "$f/bedrock/extracted/pydantic-ai__bedrock_iter_stream.i1.response.eventstream.bin" application/vnd.amazon.eventstream sse-whole
api cohere "$f/cohere/extracted/lc-cohere__command_a_reasoning.i0.response.json" application/json
python3 scripts/wasm_order.py filter/wasm-order.txt "$work"/prof-{chat,stream,agent,anthropic,responses,gemini,bedrock,cohere}
