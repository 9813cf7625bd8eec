#!/usr/bin/env python3
"""The bench's requests and agent profile, written into DIR for scripts/bench.sh and
scripts/wasm-order.sh (one definition, so the function order is profiled on what the bench sends):

    bench_requests.py DIR

- chat.json: a 1 KB OpenAI chat request (`gpt-4o-mini`, no tools); stream.json: the same with
  `stream: true`;
- agent.json: the ~32 KB agent request (10 declared tools, 8 JSON tool results in the history);
- agent-config.json: the agent stack's plugin config (policies, TOON, an optimisation rule);
- coding-agent.json: a coding agent's ~31 KB Anthropic Messages request, most of it tool
  declarations (20 tools of 6 described parameters, 4 tool turns), for `scripts/wasm_profile.cjs`
  (BENCHMARKS.md, 2026-12-08).
"""
import json
import sys

work = sys.argv[1]
chat = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "x" * 900}]}
tools = [{"type": "function", "function": {"name": n, "description": f"Tool {n} of the agent, with a description long enough to be realistic.",
          "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}}, "required": ["path"]}}}
         for n in ["list_files", "search_docs", "get_weather", "get_time", "read_file", "write_file", "send_email", "list_issues", "search_web", "get_user"]]
messages = [{"role": "system", "content": "You are a careful coding agent. " * 20}, {"role": "user", "content": "Survey the repository and report."}]
for i in range(8):
    name = ["list_files", "search_docs"][i % 2]
    rows = [{"name": f"file_{i}_{j}.rs", "size": 1000 + j * 37, "type": "file", "owner": "dev", "modified": f"2026-11-{1 + j % 28:02d}"} for j in range(30)]
    messages.append({"role": "assistant", "content": None, "tool_calls": [{"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps({"path": f"/src/{i}"})}}]})
    messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": json.dumps({"files": rows})})
agent = {"model": "gpt-4o", "messages": messages, "tools": tools}
agent_config = {"default_profile": "default", "profiles": {"default": {
    "tool_policies": [{"tool": "read_file", "conditions": [{"key": "path", "operator": "starts_with", "value": "/etc/"}], "action": "block_always"},
                      {"tool": "get_*", "action": "allow_when_context_is_untrusted"}],
    "result_policies": [{"tool": "list_*", "action": "mark_as_trusted"}, {"tool": "search_*", "action": "mark_as_trusted"}],
    "toon": {"enabled": True},
    "optimization_rules": [{"provider": "openai", "target_model": "gpt-4o-mini", "conditions": [{"max_tokens": 1000}]}]}}}
coding_tools = [{"name": f"tool_{i}", "description": f"Tool {i} of a coding agent. " * 8, "input_schema": {
    "type": "object", "required": ["field_0"], "additionalProperties": False, "properties": {
        f"field_{j}": {"type": "string" if j % 2 else "integer",
                       "description": f"The {j}th parameter of tool {i}: what it means, its unit and its default, as a coding agent describes it."}
        for j in range(6)}}} for i in range(20)]
coding_turns = [{"role": "user", "content": "Fix the failing test in src/lib.rs."}]
for t in range(4):
    coding_turns.append({"role": "assistant", "content": [{"type": "text", "text": "Looking."},
                         {"type": "tool_use", "id": f"toolu_{t}", "name": "tool_1", "input": {"field_0": t, "field_1": "src/lib.rs"}}]})
    coding_turns.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{t}", "content": "fn main() {}\n" * 40}]})
coding_agent = {"model": "claude-sonnet-4-5", "max_tokens": 4096, "system": "You are a coding agent. " * 80,
                "tools": coding_tools, "messages": coding_turns}
for name, value in [("chat", chat), ("stream", dict(chat, stream=True)), ("agent", agent), ("agent-config", agent_config),
                    ("coding-agent", coding_agent)]:
    with open(f"{work}/{name}.json", "w") as f:
        json.dump(value, f)
