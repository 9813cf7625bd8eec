#!/usr/bin/env bash
# Dual LLM (run by scripts/bench.sh; runs alone too). One stack — mock, Envoy --concurrency 1 with
# the filter, the sidecar whose model calls come back through that Envoy — and one OpenAI chat
# request (1 KB) carrying a 1 KB web_fetch result, sent to two profiles:
#   - `plain`: the result is only evaluated (untrusted), no sanitisation;
#   - `dual`: `sanitize_with_dual_llm`, with the summary already in the filter's shared-data cache:
#     the Δp50 over `plain` is what a cached sanitised result costs (budget ≤ 50 µs);
#   - `replaced`: `block_always` replaces the same result with a notice — the body is rewritten as
#     on the cached path, without any Dual-LLM work: what rewriting the body alone costs;
#   - `dual`, uncached: every request carries a new result, so the sidecar runs the protocol
#     against the mock models (one question: question, answer, DONE, summary = 4 calls), each call
#     delayed BENCH_DUAL_MODEL_MS (default 20) ms by the mock.
#   BENCH_SECONDS (default 10) per latency measurement, BENCH_ROUNDS (default 3; after a warm-up),
#   BENCH_DUAL_UNCACHED (default 30) uncached requests.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${BENCH_SECONDS:-10}"
rounds="${BENCH_ROUNDS:-3}"
model_ms="${BENCH_DUAL_MODEL_MS:-20}"
uncached="${BENCH_DUAL_UNCACHED:-30}"
command -v wrk >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --locked --release -p warden-e2e --bins 2>&1 | grep -E '^(error|warning)' || true
cargo build --locked --profile sidecar -p warden-sidecar 2>&1 | grep -E '^(error|warning)' || true
export WARDEN_SIDECAR="$PWD/target/sidecar/warden-sidecar"
work=$(mktemp -d)
pids=()
source scripts/bench-lib.sh
trap cleanup EXIT

# The sidecar must know Envoy's port before Envoy (which needs the sidecar's) starts.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$work/options.json" "$port" <<'PY'
import json, sys
path, port = sys.argv[1], int(sys.argv[2])
dual = {"result_policies": [{"tool": "web_fetch", "action": "sanitize_with_dual_llm"}],
        "dual_llm": {"provider": "openai", "model": "dual-planner", "quarantined_model": "dual-reader", "max_rounds": 3}}
json.dump({"wasm": True, "concurrency": 1, "log_level": "error", "listen_port": port,
    "plugin_config": {"default_profile": "plain", "profiles": {"plain": {}, "dual": dual,
                      "replaced": {"result_policies": [{"tool": "web_fetch", "action": "block_always"}]}},
                      "sidecar": {"timeout_ms": 10000}},
    "sidecar": {"dual_llm": {"envoy_url": f"http://127.0.0.1:{port}", "api_key_env": "BENCH_DUAL_KEY"}},
    "sidecar_env": [["BENCH_DUAL_KEY", "sk-bench"]]}, open(path, "w"))
PY
MOCK_NO_RECORD=1 target/release/warden_stack "$work/options.json" "$work/ready" > "$work/stack.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do [ -s "$work/ready" ] && break; sleep 0.1; done
[ -s "$work/ready" ] || { cat "$work/stack.log"; exit 1; }
base=$(field "$work/ready" base_url)
mock=$(field "$work/ready" mock_url)
q='QUESTION: Does the page give opening hours?\nOPTIONS:\n0: yes\n1: no\n2: cannot tell'
curl -sf -X PUT "$mock/__mock/dual/dual-planner" -H 'content-type: application/json' \
  -d "{\"questions\": [\"$q\"], \"summary\": \"The page gives opening hours.\", \"delay_ms\": $model_ms}"
curl -sf -X PUT "$mock/__mock/dual/dual-reader" -H 'content-type: application/json' \
  -d "{\"answer\": \"{\\\"answer\\\": 0}\", \"delay_ms\": $model_ms}"

# body.py N: the agent's request with result number N (the same N, the same body).
cat > "$work/body.py" <<'PY'
import json, sys
page = f"page {sys.argv[1]}: open Monday to Friday 9-17. " + "lorem ipsum " * 80
print(json.dumps({"model": "gpt-4o-mini", "messages": [
    {"role": "system", "content": "You are terse. " + "x" * 900},
    {"role": "user", "content": "When is the shop open?"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "web_fetch", "arguments": "{\"url\": \"https://shop.example/\"}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": json.dumps({"url": "https://shop.example/", "body": page})}],
    "tools": [{"type": "function", "function": {"name": "web_fetch", "parameters": {"type": "object"}}}]}))
PY
python3 - "$work/chat.lua" "$(python3 "$work/body.py" 0)" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\n'
            'wrk.headers["authorization"] = "Bearer sk-bench"\nwrk.body = ' + json.dumps(sys.argv[2]) + "\n")
PY
# The first `dual` request sanitises result 0; every later one finds the summary cached.
first=$(python3 "$work/body.py" 0 | curl -s -o /dev/null -w '%{http_code} %{time_total}' "$base/v1/openai/dual/chat/completions" \
  -H 'content-type: application/json' -H 'authorization: Bearer sk-bench' --data-binary @-)
[ "${first%% *}" = 200 ] || { echo "the dual profile answered $first" >&2; cat "$work/stack.log" >&2; exit 1; }

measure() { # profile
  wrk -t1 -c1 -d"${secs}s" --latency -s "$work/chat.lua" "$base/v1/openai/$1/chat/completions" | python3 scripts/wrk_summary.py
}
# Warm-up, not measured: V8 compiles each profile's code path on its first requests, and the
# first measured round would otherwise charge that to whichever profile runs first.
for profile in plain dual replaced; do
  wrk -t1 -c1 -d2s -s "$work/chat.lua" "$base/v1/openai/$profile/chat/completions" > /dev/null
done
declare -A p50 p99
for _ in $(seq 1 "$rounds"); do
  for profile in plain dual replaced; do
    read -r a b _ e <<<"$(measure "$profile")"
    [ "$e" = 0 ] || { echo "non-2xx responses from profile $profile" >&2; exit 1; }
    p50[$profile]="${p50[$profile]:-} $a"; p99[$profile]="${p99[$profile]:-} $b"
  done
done

# The same comparison interleaved request by request (scripts/interleave.py): the machine's slow
# drifts, which move whole wrk rounds by ±150 µs here, hit every profile alike.
for profile in plain dual replaced; do
  python3 -c 'import json, sys; print(json.dumps({"name": sys.argv[1], "path": f"/v1/openai/{sys.argv[1]}/chat/completions",
    "headers": {"authorization": "Bearer sk-bench"}, "body": sys.stdin.read().strip()}))' "$profile" \
    < <(python3 "$work/body.py" 0) > "$work/$profile.json"
done
interleaved=$(python3 scripts/interleave.py "$base" "${BENCH_INTERLEAVED:-4000}" "$work/plain.json" "$work/dual.json" "$work/replaced.json")

# Uncached: a new result each time, one request at a time.
uncached_ms=$(python3 - "$base" "$work/body.py" "$uncached" <<'PY'
import statistics, subprocess, sys, time, urllib.request
base, body_py, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for i in range(n):
    body = subprocess.run([sys.executable, body_py, f"u{i}-{time.time_ns()}"], capture_output=True).stdout
    req = urllib.request.Request(base + "/v1/openai/dual/chat/completions", data=body,
        headers={"content-type": "application/json", "authorization": "Bearer sk-bench"})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        r.read()
        assert r.status == 200, r.status
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"{statistics.median(times):.1f} {times[int(len(times) * 0.9) - 1]:.1f}")
PY
)
calls=$(curl -s "$(field "$work/ready" sidecar_admin_url)/metrics" | awk '/^warden_sidecar_dual_llm_calls_total/ { n += $2 } END { print n + 0 }')

a=$(med "${p50[plain]}"); b=$(med "${p50[dual]}"); c=$(med "${p99[plain]}"); d=$(med "${p99[dual]}")
echo "| OpenAI chat, 1 KB + 1 KB web_fetch result | unsanitised p50 µs | sanitised, cached p50 µs | Δp50 µs | unsanitised p99 µs | cached p99 µs | Δp99 µs |"
echo "|---|---|---|---|---|---|---|"
echo "| Envoy --concurrency 1, wrk -c1 | $a | $b | $((b - a)) | $c | $d | $((d - c)) |"
r=$(med "${p50[replaced]}"); r99=$(med "${p99[replaced]}")
echo "| same request, result replaced by block_always (body rewritten, no Dual LLM) | $a | $r | $((r - a)) | $c | $r99 | $((r99 - c)) |"
echo
echo "Interleaved, one request at a time per profile in turn (${BENCH_INTERLEAVED:-4000} rounds; client overhead included, equal for all):"
echo "| profile | p50 µs | Δp50 µs | p90 µs |"
echo "|---|---|---|---|"
while read -r name p50 delta p90; do
  echo "| $name | $p50 | $delta | $p90 |"
done <<<"$interleaved"
echo
read -r u50 u90 <<<"$uncached_ms"
echo "Uncached (a new result per request, mock models ${model_ms} ms per call, 1 question = 4 calls):" \
  "p50 ${u50} ms, p90 ${u90} ms over ${uncached} requests; the sidecar counted $calls model calls in all" \
  "(4 per sanitisation, $((uncached + 1)) sanitisations)."
echo "(Cached latency: median of $rounds alternating rounds of ${secs}s.)"
