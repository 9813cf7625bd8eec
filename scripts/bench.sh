#!/usr/bin/env bash
# Plain Envoy vs Envoy + warden against the same kind of fast mock, Envoy --concurrency 1, in one
# run (alternating rounds so drift hits both alike). Prints Markdown tables for BENCHMARKS.md:
# latency and throughput (wrk), latency at fixed rates (oha, corrected for coordinated omission),
# and resident memory and time to ready (scripts/envoy_start.py) at --concurrency 1 and 2, with
# and without the tokenizer features. A third stack runs the floor module (bench/floor: hold the
# request until its body has ended, read it, route it, read each response chunk; nothing else) in
# the same Envoy configuration: what any body-inspecting wasm filter costs, next to Warden's cost.
# A fourth (full floor) runs it with `hold_response record`: it also holds a whole response until
# its body has ended, as a filter that may have to replace an answer must, and reports each request
# as Warden's contract does (a record-sized filter state for the access log, trace attributes,
# counters and histograms), none of it computed; the chat and agent rows say what that floor costs.
#   BENCH_SECONDS (default 10) per measurement, BENCH_ROUNDS (default 2), BENCH_RATES (default
#   "200 500 1000"; empty skips the fixed-rate rows), BENCH_STARTS (default 3) starts per memory row.
# Then scripts/bench-credentials.sh (keyless credentials: Vertex with a cached token against AI
# Studio, sidecar calls and token fetches under load; BENCH_CREDENTIALS=0 skips it), and
# scripts/bench-dual-llm.sh (a sanitised result with a cached summary against an unsanitised
# request, and uncached against mock models; BENCH_DUAL_LLM=0 skips it).
# scripts/bench-keys.sh (a cached virtual key against a passed-through provider key; the sidecar's
# Keys and Limits calls against Redis; BENCH_KEYS=0 skips it), and scripts/bench-router.sh (the
# model router against the same request sent natively; BENCH_ROUTER=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${BENCH_SECONDS:-10}"
rounds="${BENCH_ROUNDS:-2}"
rates="${BENCH_RATES-200 500 1000}"
starts="${BENCH_STARTS:-3}"
envoy="${WARDEN_VENV:-.venv}/bin/envoy"
command -v wrk >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
# oha (crates.io) sends at a fixed rate (--qps); wrk2, which does the same, is not in Debian.
if [ -n "$rates" ] && ! command -v oha >/dev/null; then
  echo "installing oha for the fixed-rate rows (cargo install --locked oha)" >&2
  cargo install --locked --quiet oha >&2 || { echo "oha unavailable: skipping fixed-rate rows" >&2; rates=""; }
fi
cargo build --locked --release -p warden-e2e --bins 2>&1 | grep -E '^(error|warning)' || true
cargo build --locked --release --target wasm32-wasip1 -p warden-floor 2>&1 | grep -E '^(error|warning)' || true
floor_wasm=$PWD/target/wasm32-wasip1/release/warden_floor.wasm
[ -f "$floor_wasm" ] || { echo "no $floor_wasm (the wasm32-wasip1 target is needed)" >&2; exit 1; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Not in a subshell, so `cleanup` knows every stack's pid.
start_stack() { # name options-json [module]
  echo "$2" > "$work/$1.json"
  WARDEN_WASM="${3:-$PWD/dist/warden.wasm}" MOCK_NO_RECORD=1 target/release/warden_stack "$work/$1.json" "$work/$1.ready" > "$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$work/$1.ready" ] && break; sleep 0.1; done
  [ -s "$work/$1.ready" ] || { cat "$work/$1.log"; exit 1; }
}
ready_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/$1.ready" "$2"; }
start_stack plain '{"wasm": false, "template": "envoy/plain.template.yaml", "concurrency": 1, "log_level": "error"}'
start_stack warden '{"wasm": true, "concurrency": 1, "log_level": "error"}'
start_stack floor '{"wasm": true, "concurrency": 1, "log_level": "error"}' "$floor_wasm"
start_stack floorfull '{"wasm": true, "concurrency": 1, "log_level": "error", "plugin_config": "hold_response record"}' "$floor_wasm"
plain_url=$(ready_field plain base_url); warden_url=$(ready_field warden base_url); floor_url=$(ready_field floor base_url)
floorfull_url=$(ready_field floorfull base_url)
warden_admin=$(ready_field warden admin_url)
# The agent stack: policies, TOON and optimisation on (the tokenizer is built at configure time).
# The requests and the agent profile: scripts/bench_requests.py (shared with scripts/wasm-order.sh).
# (Their own directory: start_stack writes each stack's options to "$work/<stack>.json".)
mkdir -p "$work/requests" && python3 scripts/bench_requests.py "$work/requests"
agent_config=$(cat "$work/requests/agent-config.json")
start_stack agent '{"wasm": true, "concurrency": 1, "log_level": "info", "plugin_config": '"$agent_config"'}'
agent_url=$(ready_field agent base_url); agent_dir=$(ready_field agent dir); agent_admin=$(ready_field agent admin_url)

# wrk scripts: the 1 KB chat request, the streaming one whose response has 300 chunks (all at once,
# and with the first event apart), the agent request.
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
body = {name: json.load(open(f"{work}/requests/{name}.json")) for name in ["chat", "stream", "agent"]}
sys.stderr.write(f"agent request: {len(json.dumps(body['agent']))} bytes\n")
for name, request, extra in [("chat", "chat", ""), ("stream", "stream", 'wrk.headers["x-mock-scenario"] = "pieces:300"\n'),
                             ("stream_first", "stream", 'wrk.headers["x-mock-scenario"] = "pieces:300,first_apart"\n'),
                             ("agent", "agent", "")]:
    with open(f"{work}/{name}.lua", "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\n'
                'wrk.headers["authorization"] = "Bearer sk-bench"\n' + extra +
                "wrk.body = " + json.dumps(json.dumps(body[request])) + "\n")
PY

# wrk prints latency percentiles with --latency; pull p50, p99 (µs) and requests/s.
measure() { # url script connections
  wrk -t1 -c"$3" -d"${secs}s" --latency -s "$2" "$1/v1/openai/chat/completions" | python3 scripts/wrk_summary.py
}

declare -A p50 p99 rps
for r in $(seq 1 "$rounds"); do
  for kind in chat stream agent; do
    targets="plain warden floor floorfull"; [ $kind = stream ] && targets="plain warden floor"
    for target in $targets; do
      url=$plain_url; [ $target = warden ] && url=$warden_url; [ $target = floor ] && url=$floor_url
      [ $target = floorfull ] && url=$floorfull_url
      [ $kind = agent ] && [ $target = warden ] && url=$agent_url
      read -r a b _ e <<<"$(measure "$url" "$work/$kind.lua" 1)"
      read -r _ _ c e2 <<<"$(measure "$url" "$work/$kind.lua" 16)"
      [ "$e" = 0 ] && [ "$e2" = 0 ] || { echo "non-2xx responses in $target $kind" >&2; exit 1; }
      p50[$target.$kind]="${p50[$target.$kind]:-} $a"; p99[$target.$kind]="${p99[$target.$kind]:-} $b"; rps[$target.$kind]="${rps[$target.$kind]:-} $c"
    done
  done
done
# Streams: time to first byte and total time, one request at a time over one connection. The
# mock writes the 300 events at once (the filter reads them all in one or two callbacks, so the
# first byte waits for all of them), then again with the first event 1 ms ahead of the rest, as
# a model streams: that first byte waits only for the request and the first event.
declare -A ttfb50 ttfb99 tot50 tot99 first50 first99
for r in $(seq 1 "$rounds"); do
  for target in plain warden floor; do
    url=$plain_url; [ $target = warden ] && url=$warden_url; [ $target = floor ] && url=$floor_url
    read -r a b c d _ e <<<"$(python3 scripts/ttfb.py "$url/v1/openai/chat/completions" "$work/stream.lua" "$secs")"
    [ "$e" = 0 ] || { echo "non-2xx responses in $target stream (ttfb)" >&2; exit 1; }
    ttfb50[$target]="${ttfb50[$target]:-} $a"; ttfb99[$target]="${ttfb99[$target]:-} $b"
    tot50[$target]="${tot50[$target]:-} $c"; tot99[$target]="${tot99[$target]:-} $d"
    read -r a b _ _ _ e <<<"$(python3 scripts/ttfb.py "$url/v1/openai/chat/completions" "$work/stream_first.lua" "$secs")"
    [ "$e" = 0 ] || { echo "non-2xx responses in $target stream (first event apart)" >&2; exit 1; }
    first50[$target]="${first50[$target]:-} $a"; first99[$target]="${first99[$target]:-} $b"
  done
done

# Fixed rates: oha --qps paces requests (and --latency-correction counts queueing as latency),
# so these percentiles are not flattered when the server falls behind, unlike wrk's closed loop.
declare -A qp50 qp99 qrps
for r in $(seq 1 "$rounds"); do
  for rate in $rates; do
    for target in plain warden floor floorfull; do
      url=$plain_url; [ $target = warden ] && url=$warden_url; [ $target = floor ] && url=$floor_url
      [ $target = floorfull ] && url=$floorfull_url
      read -r a b c e <<<"$(oha --no-tui --output-format json -z "${secs}s" -q "$rate" --latency-correction -c 8 \
        -m POST -H 'content-type: application/json' -H 'authorization: Bearer sk-bench' -D "$work/requests/chat.json" \
        "$url/v1/openai/chat/completions" | python3 scripts/oha_summary.py)"
      [ "$e" = 0 ] || { echo "non-2xx responses in $target chat at $rate RPS" >&2; exit 1; }
      qp50[$target.$rate]="${qp50[$target.$rate]:-} $a"; qp99[$target.$rate]="${qp99[$target.$rate]:-} $b"; qrps[$target.$rate]="${qrps[$target.$rate]:-} $c"
    done
  done
done
mem=$(curl -s "$warden_admin/stats/prometheus" | awk '/^warden_vm_memory_bytes/ {print $2}' | sort -n | tail -1)
agent_mem=$(curl -s "$agent_admin/stats/prometheus" | awk '/^warden_vm_memory_bytes/ {print $2}' | sort -n | tail -1)
configured=$(grep -o 'configured with .* ms (tokenizer [a-z ]*)' "$agent_dir/envoy.log" | head -1)

# Memory and start: fresh Envoys started from each stack's own rendered config (same mock), at
# --concurrency 1 and 2: time from process start to /ready 200, RSS idle 2 s after ready, RSS
# after wrk -c4 for BENCH_SECONDS/2 s of the stack's request (chat; the 32 KB agent request on the
# stack with TOON and the max_tokens rule, and for its plain baseline).
declare -A start_json
for c in 1 2; do
  for target in plain warden agent floor; do
    lua="$work/chat.lua"; [ $target = agent ] && lua="$work/agent.lua"
    start_json[$target.$c]=$(python3 scripts/envoy_start.py "$envoy" "$(ready_field $target dir)/envoy.yaml" \
      --concurrency "$c" --runs "$starts" --load "$lua" --load-seconds "$(( (secs + 1) / 2 ))")
    [ $target = agent ] && start_json[plain_agent.$c]=$(python3 scripts/envoy_start.py "$envoy" \
      "$(ready_field plain dir)/envoy.yaml" --concurrency "$c" --runs 1 --load "$lua" --load-seconds "$(( (secs + 1) / 2 ))")
  done
done
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("-" if v is None else (f"{v:.2f}" if sys.argv[2]=="ready_s" else (v if isinstance(v,int) else f"{v:.0f}")))' "$1" "$2"; }

med() { python3 -c 'import statistics,sys; print(int(statistics.median(float(x) for x in sys.argv[1:])))' $1; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo "| request | plain p50 µs | warden p50 µs | Δp50 µs | floor Δp50 µs | full floor Δp50 µs | plain p99 µs | warden p99 µs | Δp99 µs | floor Δp99 µs | full floor Δp99 µs | plain RPS | warden RPS | RPS ratio | floor RPS ratio | full floor RPS ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
# full floor columns: "" for the stream rows (a stream is not held whole).
hold_d() { [ -n "${2// /}" ] && echo $(( $(med "$2") - $1 )) || echo ""; }
hold_r() { [ -n "${2// /}" ] && ratio "$(med "$2")" "$1" || echo ""; }
for kind in chat stream agent; do
  a=$(med "${p50[plain.$kind]}"); b=$(med "${p50[warden.$kind]}"); g=$(med "${p50[floor.$kind]}")
  c=$(med "${p99[plain.$kind]}"); d=$(med "${p99[warden.$kind]}"); h=$(med "${p99[floor.$kind]}")
  e=$(med "${rps[plain.$kind]}"); f=$(med "${rps[warden.$kind]}"); i=$(med "${rps[floor.$kind]}")
  label="1 KB chat"; [ $kind = stream ] && label="stream, 300 chunks (total)"; [ $kind = agent ] && label="32 KB agent (policies+TOON+optimisation)"
  echo "| $label | $a | $b | $((b - a)) | $((g - a)) | $(hold_d "$a" "${p50[floorfull.$kind]:-}") | $c | $d | $((d - c)) | $((h - c)) | $(hold_d "$c" "${p99[floorfull.$kind]:-}") | $e | $f | $(ratio "$f" "$e") | $(ratio "$i" "$e") | $(hold_r "$e" "${rps[floorfull.$kind]:-}") |"
done
a=$(med "${ttfb50[plain]}"); b=$(med "${ttfb50[warden]}"); g=$(med "${ttfb50[floor]}")
c=$(med "${ttfb99[plain]}"); d=$(med "${ttfb99[warden]}"); h=$(med "${ttfb99[floor]}")
echo "| stream, time to first byte | $a | $b | $((b - a)) | $((g - a)) | | $c | $d | $((d - c)) | $((h - c)) | | | | | | |"
a=$(med "${tot50[plain]}"); b=$(med "${tot50[warden]}"); g=$(med "${tot50[floor]}")
c=$(med "${tot99[plain]}"); d=$(med "${tot99[warden]}"); h=$(med "${tot99[floor]}")
echo "| stream, time to last byte (1 connection) | $a | $b | $((b - a)) | $((g - a)) | | $c | $d | $((d - c)) | $((h - c)) | | | | | | |"
last_delta=$((b - a)); last_floor=$((g - a))
a=$(med "${first50[plain]}"); b=$(med "${first50[warden]}"); g=$(med "${first50[floor]}")
c=$(med "${first99[plain]}"); d=$(med "${first99[warden]}"); h=$(med "${first99[floor]}")
echo "| stream, time to first byte, first event 1 ms ahead | $a | $b | $((b - a)) | $((g - a)) | | $c | $d | $((d - c)) | $((h - c)) | | | | | | |"
per_event() { python3 -c "print(f'{($1 - $2) / 299:.2f}')"; }
echo "| stream, µs per event: (Δ last byte − Δ first byte with the first event ahead) / 299 | | | $(per_event "$last_delta" $((b - a))) | $(per_event "$last_floor" $((g - a))) | | | | | | | | | | | |"
for rate in $rates; do
  a=$(med "${qp50[plain.$rate]}"); b=$(med "${qp50[warden.$rate]}"); g=$(med "${qp50[floor.$rate]}")
  c=$(med "${qp99[plain.$rate]}"); d=$(med "${qp99[warden.$rate]}"); h=$(med "${qp99[floor.$rate]}")
  e=$(med "${qrps[plain.$rate]}"); f=$(med "${qrps[warden.$rate]}"); i=$(med "${qrps[floor.$rate]}")
  echo "| 1 KB chat at $rate RPS | $a | $b | $((b - a)) | $((g - a)) | $(hold_d "$a" "${qp50[floorfull.$rate]}") | $c | $d | $((d - c)) | $((h - c)) | $(hold_d "$c" "${qp99[floorfull.$rate]}") | $e | $f | $(ratio "$f" "$e") | $(ratio "$i" "$e") | $(hold_r "$e" "${qrps[floorfull.$rate]}") |"
done
echo
echo "| Envoy --concurrency | module, features | plain RSS idle MiB | RSS idle MiB | Δ idle MiB | plain RSS after load MiB | RSS after load MiB | Δ after load MiB | plain ready s | ready s | slowest VM configure ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for c in 1 2; do
  for target in warden agent floor; do
    base=plain; [ $target = agent ] && base=plain_agent
    p=${start_json[plain.$c]}; pl=${start_json[$base.$c]}; w=${start_json[$target.$c]}
    label="warden, no tokenizer features"; [ $target = agent ] && label="warden, TOON + max_tokens rule (tokenizer built)"
    [ $target = floor ] && label="floor module (bench/floor)"
    pi=$(field "$p" rss_idle_mib); wi=$(field "$w" rss_idle_mib); plo=$(field "$pl" rss_load_mib); wl=$(field "$w" rss_load_mib)
    echo "| $c | $label | $pi | $wi | $((wi - pi)) | $plo | $wl | $((wl - plo)) | $(field "$p" ready_s) | $(field "$w" ready_s) | $(field "$w" configure_ms_max) |"
  done
done
echo
echo "Agent stack (tokenizer loaded): per-worker wasm memory $((${agent_mem:-0} / 1048576)) MiB; $configured"
echo "Peak wasm linear memory (warden_vm_memory_bytes): $((${mem:-0} / 1048576)) MiB (${mem:-0} bytes)"
echo "Module: $(stat -c %s dist/warden.wasm) bytes (code section $(python3 scripts/wasm_sections.py dist/warden.wasm code) bytes); floor module: $(stat -c %s "$floor_wasm") bytes."
echo "Latency: wrk -t1 -c1 -d${secs}s; RPS: wrk -t1 -c16 -d${secs}s; fixed rates: oha -c8 -q RATE --latency-correction -z ${secs}s;"
echo "streams: scripts/ttfb.py for ${secs}s; median of $rounds alternating rounds; memory and start: median of $starts starts"
echo "(plain baseline for the agent row: 1 start); $(nproc) cores; load average before the run: $load_before."
if [ "${BENCH_CREDENTIALS:-1}" != 0 ]; then
  # The stacks above are done: stop them so the credential rows run on a quiet machine.
  cleanup
  pids=()
  echo
  bash scripts/bench-credentials.sh
fi
if [ "${BENCH_DUAL_LLM:-1}" != 0 ]; then
  cleanup
  pids=()
  echo
  bash scripts/bench-dual-llm.sh
fi
if [ "${BENCH_KEYS:-1}" != 0 ]; then
  cleanup
  pids=()
  echo
  bash scripts/bench-keys.sh
fi
if [ "${BENCH_ROUTER:-1}" != 0 ]; then
  cleanup
  pids=()
  echo
  bash scripts/bench-router.sh
fi
