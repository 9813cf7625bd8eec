#!/usr/bin/env bash
# Virtual keys and the sidecar's Redis counters (run by scripts/bench.sh; runs alone too):
#   - latency of a 1 KB OpenAI chat request with a wdn_ virtual key whose answer is cached in
#     shared data, against the same request with the provider key passed through (wrk -c1,
#     Envoy --concurrency 1, alternating rounds): the Δ is what a cached resolve costs (budget
#     ≤ 10 µs). The cache holds an answer 5 s, so one request in every 5 s pays a sidecar call;
#   - a limit check through the filter with the counters in the sidecar's Redis
#     (`limits_store: sidecar`) against the same limits in shared data (`local`), at
#     BENCH_KEYS_RPS (default 500) requests/s paced by oha (two limits: 13 counters per check);
#   - the sidecar's Keys.Resolve and Limits.Read/Add at BENCH_KEYS_RPS calls/s
#     against a private redis-server (target/release/keys_limits_load).
#   BENCH_SECONDS (default 10) per latency measurement, BENCH_ROUNDS (default 3; after a warm-up).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${BENCH_SECONDS:-10}"
rounds="${BENCH_ROUNDS:-3}"
rps="${BENCH_KEYS_RPS:-500}"
command -v wrk >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --locked --release -p warden-e2e --bins 2>&1 | grep -E '^(error|warning)' || true
cargo build --locked --profile sidecar -p warden-sidecar 2>&1 | grep -E '^(error|warning)' || true
export WARDEN_SIDECAR="$PWD/target/sidecar/warden-sidecar"
work=$(mktemp -d)
pids=()
source scripts/bench-lib.sh
trap cleanup EXIT

printf 'keys:\n  - {id: bench, key: wdn_bench_0123456789abcdef, providers: {openai: {api_key_env: BENCH_OPENAI_KEY}}}\n' \
  > "$work/keys.yaml"
start_stack plain '{"wasm": true, "concurrency": 1, "log_level": "error"}'
start_stack keys "$(python3 -c 'import json,sys; print(json.dumps({"wasm": True, "concurrency": 1, "log_level": "error",
  "sidecar": {"keys": {"file": sys.argv[1]}}, "sidecar_env": [["BENCH_OPENAI_KEY", "sk-bench-real"]]}))' "$work/keys.yaml")"

path="/v1/openai/chat/completions"
lua() { # file key
  python3 - "$1" "$2" <<'PY'
import json, sys
body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "You are terse. " + "x" * 900}]}
with open(sys.argv[1], "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\n'
            f'wrk.headers["authorization"] = "Bearer {sys.argv[2]}"\nwrk.body = ' + json.dumps(json.dumps(body)) + "\n")
PY
}
lua "$work/plain.lua" sk-bench-client
lua "$work/keys.lua" wdn_bench_0123456789abcdef
status=$(curl -s -o /dev/null -w '%{http_code}' "$(field "$work/keys.ready" base_url)$path" -H 'content-type: application/json' \
  -H 'authorization: Bearer wdn_bench_0123456789abcdef' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}')
[ "$status" = 200 ] || { echo "the virtual-key stack answered $status" >&2; cat "$work/keys.log" >&2; exit 1; }

measure() { # url script seconds
  wrk -t1 -c1 -d"$3s" --latency -s "$2" "$1$path" | python3 scripts/wrk_summary.py
}
# Warm-up, not measured (V8 compiles the code paths on their first requests).
for target in plain keys; do
  wrk -t1 -c1 -d2s -s "$work/$target.lua" "$(field "$work/$target.ready" base_url)$path" > /dev/null
done
declare -A p50 p99
for _ in $(seq 1 "$rounds"); do
  for target in plain keys; do
    read -r a b _ e <<<"$(measure "$(field "$work/$target.ready" base_url)" "$work/$target.lua" "$secs")"
    [ "$e" = 0 ] || { echo "non-2xx responses from the $target stack" >&2; exit 1; }
    p50[$target]="${p50[$target]:-} $a"; p99[$target]="${p99[$target]:-} $b"
  done
done
a=$(med "${p50[plain]}"); b=$(med "${p50[keys]}"); c=$(med "${p99[plain]}"); d=$(med "${p99[keys]}")
echo "| OpenAI chat, 1 KB | provider key p50 µs | virtual key, cached p50 µs | Δp50 µs | provider key p99 µs | virtual key p99 µs | Δp99 µs |"
echo "|---|---|---|---|---|---|---|"
echo "| Envoy --concurrency 1, wrk -c1 | $a | $b | $((b - a)) | $c | $d | $((d - c)) |"
echo "(median of $rounds alternating rounds of ${secs}s)"
echo
cleanup
pids=()
work=$(mktemp -d)

# Limit checks: the same two limits counted in shared data or in Redis through the sidecar.
command -v oha >/dev/null || cargo install --locked --quiet oha >&2
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" > "$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
limits_stack() { # name store
  python3 -c 'import json,sys
plugin = {"default_profile": "default", "limits_store": sys.argv[1],
          "profiles": {"default": {"limits": [{"scope": "profile", "usd": 1e6, "window": "1d"},
                                              {"scope": "user", "usd": 1e6, "window": "1h"}]}}}
options = {"wasm": True, "concurrency": 1, "log_level": "error", "plugin_config": plugin}
if sys.argv[1] == "sidecar":
    options["sidecar"] = {"redis": {"url": "redis://127.0.0.1:" + sys.argv[2]}}
print(json.dumps(options))' "$2" "$redis_port"
}
start_stack local "$(limits_stack local local)"
start_stack redis "$(limits_stack redis sidecar)"
python3 -c 'import json; print(json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "You are terse. " + "x" * 900}]}))' > "$work/chat.json"
declare -A lp50 lp99
for _ in $(seq 1 "$rounds"); do
  for target in local redis; do
    read -r a b _ e <<<"$(oha --no-tui --output-format json -z "${secs}s" -q "$rps" --latency-correction -c 8 \
      -m POST -H 'content-type: application/json' -H 'authorization: Bearer sk-bench' -H 'x-warden-user-id: bench-user' \
      -D "$work/chat.json" "$(field "$work/$target.ready" base_url)$path" | python3 scripts/oha_summary.py)"
    [ "$e" = 0 ] || { echo "non-2xx responses from the $target limits stack" >&2; cat "$work/$target.log" >&2; exit 1; }
    lp50[$target]="${lp50[$target]:-} $a"; lp99[$target]="${lp99[$target]:-} $b"
  done
done
keys=$(redis-cli -p "$redis_port" --scan --pattern 'warden:limit:*' | wc -l)
[ "$keys" -gt 0 ] || { echo "no counter reached Redis" >&2; exit 1; }
a=$(med "${lp50[local]}"); b=$(med "${lp50[redis]}"); c=$(med "${lp99[local]}"); d=$(med "${lp99[redis]}")
echo "| limit check, $rps RPS (oha -q, latency-corrected) | local p50 µs | sidecar+Redis p50 µs | Δp50 µs | local p99 µs | sidecar+Redis p99 µs | Δp99 µs |"
echo "|---|---|---|---|---|---|---|"
echo "| 2 limits (13 counters), OpenAI chat 1 KB | $a | $b | $((b - a)) | $c | $d | $((d - c)) |"
echo "(median of $rounds alternating rounds of ${secs}s; $keys counter keys in Redis afterwards)"
echo
cleanup
pids=()
target/release/keys_limits_load "$WARDEN_SIDECAR" --rps "$rps" --seconds "$secs" --keys 1000
