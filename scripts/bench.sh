#!/usr/bin/env bash
# Plain Envoy vs Envoy + warden against the same kind of fast mock, Envoy --concurrency 1, in one
# run (alternating rounds so drift hits both alike). Prints a Markdown table for BENCHMARKS.md.
#   BENCH_SECONDS (default 10) per measurement, BENCH_ROUNDS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${BENCH_SECONDS:-10}"
rounds="${BENCH_ROUNDS:-2}"
command -v wrk >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --locked --release -p warden-e2e --bins 2>&1 | grep -E '^(error|warning)' || true
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start_stack() { # name options-json
  echo "$2" > "$work/$1.json"
  MOCK_NO_RECORD=1 target/release/warden_stack "$work/$1.json" "$work/$1.ready" > "$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$work/$1.ready" ] && break; sleep 0.1; done
  [ -s "$work/$1.ready" ] || { cat "$work/$1.log"; exit 1; }
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/$1.ready" "$3"
}
plain_url=$(start_stack plain '{"wasm": false, "template": "envoy/plain.template.yaml", "concurrency": 1, "log_level": "error"}' base_url)
warden_url=$(start_stack warden '{"wasm": true, "concurrency": 1, "log_level": "error"}' base_url)
warden_admin=$(python3 -c 'import json; print(json.load(open("'"$work"'/warden.ready"))["admin_url"])')
# The agent stack: policies, TOON and optimisation on (the tokenizer is built at configure time).
agent_config='{"default_profile": "default", "profiles": {"default": {
  "tool_policies": [{"tool": "read_file", "conditions": [{"key": "path", "operator": "starts_with", "value": "/etc/"}], "action": "block_always"},
                    {"tool": "get_*", "action": "allow_when_context_is_untrusted"}],
  "result_policies": [{"tool": "list_*", "action": "mark_as_trusted"}, {"tool": "search_*", "action": "mark_as_trusted"}],
  "toon": {"enabled": true},
  "optimization_rules": [{"provider": "openai", "target_model": "gpt-4o-mini", "conditions": [{"max_tokens": 1000}]}]}}}'
agent_url=$(start_stack agent '{"wasm": true, "concurrency": 1, "log_level": "info", "plugin_config": '"$agent_config"'}' base_url)
agent_dir=$(python3 -c 'import json; print(json.load(open("'"$work"'/agent.ready"))["dir"])')
agent_admin=$(python3 -c 'import json; print(json.load(open("'"$work"'/agent.ready"))["admin_url"])')

# A 1 KB chat request, and a streaming one whose response has 300 chunks.
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
filler = "x" * 900
chat = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": filler}]}
stream = dict(chat, stream=True)
# The agent request: ~32 KB, 10 declared tools, 8 JSON tool results in the history.
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
sys.stderr.write(f"agent request: {len(json.dumps(agent))} bytes\n")
for name, body, extra in [("chat", chat, ""), ("stream", stream, 'wrk.headers["x-mock-scenario"] = "pieces:300"\n'), ("agent", agent, "")]:
    with open(f"{work}/{name}.lua", "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\n'
                'wrk.headers["authorization"] = "Bearer sk-bench"\n' + extra +
                "wrk.body = " + json.dumps(json.dumps(body)) + "\n")
PY

# wrk prints latency percentiles with --latency; pull p50, p99 (µs) and requests/s.
measure() { # url script connections
  wrk -t1 -c"$3" -d"${secs}s" --latency -s "$2" "$1/v1/openai/chat/completions" | python3 scripts/wrk_summary.py
}

declare -A p50 p99 rps
for r in $(seq 1 "$rounds"); do
  for kind in chat stream agent; do
    for target in plain warden; do
      url=$plain_url; [ $target = warden ] && url=$warden_url
      [ $kind = agent ] && [ $target = warden ] && url=$agent_url
      read -r a b _ e <<<"$(measure "$url" "$work/$kind.lua" 1)"
      read -r _ _ c e2 <<<"$(measure "$url" "$work/$kind.lua" 16)"
      [ "$e" = 0 ] && [ "$e2" = 0 ] || { echo "non-2xx responses in $target $kind" >&2; exit 1; }
      p50[$target.$kind]="${p50[$target.$kind]:-} $a"; p99[$target.$kind]="${p99[$target.$kind]:-} $b"; rps[$target.$kind]="${rps[$target.$kind]:-} $c"
    done
  done
done
mem=$(curl -s "$warden_admin/stats/prometheus" | awk '/^warden_vm_memory_bytes/ {print $2}' | sort -n | tail -1)

med() { python3 -c 'import statistics,sys; print(int(statistics.median(float(x) for x in sys.argv[1:])))' $1; }
echo "| request | plain p50 µs | warden p50 µs | Δp50 µs | plain p99 µs | warden p99 µs | Δp99 µs | plain RPS | warden RPS | RPS ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for kind in chat stream agent; do
  a=$(med "${p50[plain.$kind]}"); b=$(med "${p50[warden.$kind]}")
  c=$(med "${p99[plain.$kind]}"); d=$(med "${p99[warden.$kind]}")
  e=$(med "${rps[plain.$kind]}"); f=$(med "${rps[warden.$kind]}")
  label="1 KB chat"; [ $kind = stream ] && label="stream, 300 chunks"; [ $kind = agent ] && label="32 KB agent (policies+TOON+optimisation)"
  echo "| $label | $a | $b | $((b - a)) | $c | $d | $((d - c)) | $e | $f | $(python3 -c "print(f'{$f/$e:.2f}')") |"
done
agent_mem=$(curl -s "$agent_admin/stats/prometheus" | awk '/^warden_vm_memory_bytes/ {print $2}' | sort -n | tail -1)
configured=$(grep -o 'configured with .* ms (tokenizer [a-z ]*)' "$agent_dir/envoy.log" | head -1)
echo
echo "Agent stack (tokenizer loaded): per-worker wasm memory $((${agent_mem:-0} / 1048576)) MiB; $configured"
echo "Peak wasm linear memory (warden_vm_memory_bytes): $((${mem:-0} / 1048576)) MiB (${mem:-0} bytes)"
echo "Latency: wrk -t1 -c1 -d${secs}s; RPS: wrk -t1 -c16 -d${secs}s; median of $rounds alternating rounds; $(nproc) cores."
