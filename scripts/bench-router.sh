#!/usr/bin/env bash
# The model router against the same request sent natively, on one Envoy (--concurrency 1) with
# the same cached virtual key, the same target (Anthropic Messages on the mock), alternating
# rounds (run by scripts/bench.sh; runs alone too):
#   - a 1 KB chat: POST /v1/anthropic/v1/messages (native) vs /v1/model-router/chat/completions
#     with model anthropic:… (translated both ways): Δp50/Δp99 is what translation costs per
#     request (budget ≤ 30 µs);
#   - a 300-event stream (mock scenario pieces:300), native vs routed: Δ of the whole stream's
#     p50, divided by 300, is the cost per chunk (budget ≤ 2 µs).
#   BENCH_SECONDS (default 10) per measurement, BENCH_ROUNDS (default 3; after a warm-up).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${BENCH_SECONDS:-10}"
rounds="${BENCH_ROUNDS:-3}"
command -v wrk >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --locked --release -p warden-e2e --bins 2>&1 | grep -E '^(error|warning)' || true
cargo build --locked --profile sidecar -p warden-sidecar 2>&1 | grep -E '^(error|warning)' || true
export WARDEN_SIDECAR="$PWD/target/sidecar/warden-sidecar"
work=$(mktemp -d)
pids=()
source scripts/bench-lib.sh
trap cleanup EXIT

key=wdn_bench_router_0123456789abcdef
printf 'keys:\n  - {id: bench, key: %s, providers: {anthropic: {api_key_env: BENCH_ANTHROPIC_KEY}}}\n' "$key" > "$work/keys.yaml"
start_stack router "$(python3 -c 'import json,sys; print(json.dumps({"wasm": True, "concurrency": 1, "log_level": "error",
  "sidecar": {"keys": {"file": sys.argv[1]}}, "sidecar_env": [["BENCH_ANTHROPIC_KEY", "sk-ant-bench-real"]]}))' "$work/keys.yaml")"
base=$(field "$work/router.ready" base_url)

# One wrk script per (route, stream): same words, same key, each in its API's shape.
python3 - "$work" "$key" <<'PY'
import json, sys
work, key = sys.argv[1], sys.argv[2]
text = "You are terse. " + "x" * 900
native = {"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": [{"role": "user", "content": text}]}
routed = {"model": "anthropic:claude-sonnet-4-5", "max_tokens": 256, "messages": [{"role": "user", "content": text}]}
def write(name, path, body, headers):
    lines = ['wrk.method = "POST"', f'wrk.path = "{path}"', 'wrk.headers["content-type"] = "application/json"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    lines.append("wrk.body = " + json.dumps(json.dumps(body)))
    open(f"{work}/{name}.lua", "w").write("\n".join(lines) + "\n")
    # The same request for scripts/interleave.py.
    json.dump({"name": name, "path": path, "headers": headers, "body": body}, open(f"{work}/{name}.json", "w"))
for stream in (False, True):
    suffix = "-stream" if stream else ""
    extra = {"x-mock-scenario": "pieces:300"} if stream else {}
    write("native" + suffix, "/v1/anthropic/v1/messages", {**native, "stream": stream},
          {"x-api-key": key, "anthropic-version": "2023-06-01", **extra})
    write("routed" + suffix, "/v1/model-router/chat/completions", {**routed, "stream": stream},
          {"authorization": "Bearer " + key, **extra})
PY
for name in routed routed-stream; do
  path=$(sed -n 's/^wrk.path = "\(.*\)"$/\1/p' "$work/$name.lua")
  out=$(curl -s "$base$path" -H 'content-type: application/json' -H "authorization: Bearer $key" \
    $([ "$name" = routed-stream ] && echo "-H x-mock-scenario:pieces:300") \
    -d "$(python3 -c 'import json,sys; print(json.dumps({"model":"anthropic:claude-sonnet-4-5","stream":sys.argv[1]=="-stream","messages":[{"role":"user","content":"hi"}]}))' "${name#routed}")")
  case "$name" in
    routed) grep -q '"chat.completion"' <<<"$out" || { echo "the router did not answer: $out" >&2; exit 1; } ;;
    *) [ "$(grep -c 'chat.completion.chunk' <<<"$out")" -ge 300 ] || { echo "the routed stream is short: $out" >&2; exit 1; } ;;
  esac
done

measure() { # script seconds
  wrk -t1 -c1 -d"$2s" --latency -s "$1" "$base" | python3 scripts/wrk_summary.py
}
for name in native routed native-stream routed-stream; do measure "$work/$name.lua" 2 > /dev/null; done
declare -A p50 p99
for _ in $(seq 1 "$rounds"); do
  for name in native routed native-stream routed-stream; do
    read -r a b _ e <<<"$(measure "$work/$name.lua" "$secs")"
    [ "$e" = 0 ] || { echo "non-2xx responses for $name" >&2; cat "$work/router.log" >&2; exit 1; }
    p50[$name]="${p50[$name]:-} $a"; p99[$name]="${p99[$name]:-} $b"
  done
done
echo "| same target (Anthropic on the mock), cached virtual key | native p50 µs | routed p50 µs | Δp50 µs | native p99 µs | routed p99 µs | Δp99 µs |"
echo "|---|---|---|---|---|---|---|"
for row in "1 KB chat:" "300-event stream:-stream"; do
  label=${row%%:*}; suffix=${row#*:}
  a=$(med "${p50[native$suffix]}"); b=$(med "${p50[routed$suffix]}"); c=$(med "${p99[native$suffix]}"); d=$(med "${p99[routed$suffix]}")
  echo "| $label | $a | $b | $((b - a)) | $c | $d | $((d - c)) |"
done
a=$(med "${p50[native-stream]}"); b=$(med "${p50[routed-stream]}")
echo "(Envoy --concurrency 1, wrk -c1; median of $rounds alternating rounds of ${secs}s; per stream chunk: Δp50 / 300 = $(python3 -c "print(round(($b - $a) / 300, 2))") µs)"

# The same pairs interleaved request by request (scripts/interleave.py): the machine's drifts,
# which move whole wrk rounds by more than the budgets, hit both sides alike.
n="${BENCH_INTERLEAVED:-3000}"
chat=$(python3 scripts/interleave.py "$base" "$n" "$work/native.json" "$work/routed.json" | awk 'NR==2 {print $3}')
stream=$(python3 scripts/interleave.py "$base" "$((n / 5))" "$work/native-stream.json" "$work/routed-stream.json" | awk 'NR==2 {print $3}')
echo
echo "Interleaved ($n rounds; stream $((n / 5))): 1 KB chat Δp50 ${chat} µs; 300-event stream Δp50 ${stream} µs" \
  "= $(python3 -c "print(round(int('$stream') / 300, 2))") µs per chunk"
