#!/usr/bin/env bash
# Keyless credentials under load (run by scripts/bench.sh; runs alone too). Against the same mock,
# Envoy --concurrency 1 (as scripts/bench.sh):
#   - latency of a 1 KB Gemini generateContent request sent to Vertex AI with the ADC token cached
#     in shared data, against the same request to AI Studio with the client's key (wrk -c1,
#     alternating rounds): the Δ is what the credential path costs (budget Δp50 ≤ 20 µs);
#   - under load (wrk -c16 for BENCH_CRED_SECONDS, default 60): calls from the filter to the sidecar
#     and token fetches at the (fake) GCE metadata server, per minute.
# The sidecar runs against the fake identity endpoints (target/release/fake_identity).
#   BENCH_SECONDS (default 10) per latency measurement, BENCH_ROUNDS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${BENCH_SECONDS:-10}"
rounds="${BENCH_ROUNDS:-2}"
load_secs="${BENCH_CRED_SECONDS:-60}"
command -v wrk >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --locked --release -p warden-e2e --bins 2>&1 | grep -E '^(error|warning)' || true
cargo build --locked --profile sidecar -p warden-sidecar 2>&1 | grep -E '^(error|warning)' || true
export WARDEN_SIDECAR="$PWD/target/sidecar/warden-sidecar"
work=$(mktemp -d)
pids=()
source scripts/bench-lib.sh
cleanup() { exec 3>&- 2>/dev/null || true; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The fakes live as long as fd 3 (their stdin) is open.
mkdir -p "$work/fakes"
mkfifo "$work/fakes.in"
target/release/fake_identity "$work/fakes" < "$work/fakes.in" &
pids+=($!)
exec 3>"$work/fakes.in"
for _ in $(seq 1 100); do [ -s "$work/fakes/ready.json" ] && break; sleep 0.1; done
[ -s "$work/fakes/ready.json" ] || { echo "fake_identity did not start" >&2; exit 1; }

start_stack aistudio '{"wasm": true, "concurrency": 1, "log_level": "error"}'
vertex_options=$(python3 - "$work/fakes/ready.json" <<'PY'
import json, sys
fakes = json.load(open(sys.argv[1]))
print(json.dumps({"wasm": True, "concurrency": 1, "log_level": "error",
    "plugin_config": {"default_profile": "default", "profiles": {"default": {}},
        "providers": {"gemini": {"vertex": {"project": "bench", "location": "us-central1"}}}},
    "sidecar": {"credentials": {"gcp": {}}},
    "sidecar_env": [kv for kv in fakes["sidecar_env"] if kv[0] == "GCE_METADATA_HOST"]}))
PY
)
start_stack vertex "$vertex_options"

path="/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent"
python3 - "$work/gemini.lua" <<'PY'
import json, sys
body = {"contents": [{"role": "user", "parts": [{"text": "You are terse. " + "x" * 900}]}]}
with open(sys.argv[1], "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\n'
            'wrk.headers["x-goog-api-key"] = "AIza-bench"\nwrk.body = ' + json.dumps(json.dumps(body)) + "\n")
PY
# The first Vertex request fetches the token; every later one finds it cached.
status=$(curl -s -o /dev/null -w '%{http_code}' "$(field "$work/vertex.ready" base_url)$path" \
  -H 'content-type: application/json' -d '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}')
[ "$status" = 200 ] || { echo "the Vertex stack answered $status" >&2; cat "$work/vertex.log" >&2; exit 1; }

measure() { # url connections seconds
  wrk -t1 -c"$2" -d"$3s" --latency -s "$work/gemini.lua" "$1$path" | python3 scripts/wrk_summary.py
}
declare -A p50 p99
for r in $(seq 1 "$rounds"); do
  for target in aistudio vertex; do
    read -r a b _ e <<<"$(measure "$(field "$work/$target.ready" base_url)" 1 "$secs")"
    [ "$e" = 0 ] || { echo "non-2xx responses from the $target stack" >&2; exit 1; }
    p50[$target]="${p50[$target]:-} $a"; p99[$target]="${p99[$target]:-} $b"
  done
done

# Under load: what reaches the sidecar and the identity endpoint.
sidecar_calls() { # Credentials/Get answered by the sidecar (fetched or from its cache)
  curl -s "$(field "$work/vertex.ready" sidecar_admin_url)/metrics" | awk '
    /^warden_sidecar_token_fetches_total\{cloud="gcp"/ || /^warden_sidecar_cache_hits_total\{cloud="gcp"/ { n += $2 }
    END { print n + 0 }'
}
identity_fetches() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["google"])' "$work/fakes/issued.json"; }
calls_before=$(sidecar_calls); fetches_before=$(identity_fetches)
read -r _ _ load_rps load_e <<<"$(measure "$(field "$work/vertex.ready" base_url)" 16 "$load_secs")"
sleep 1.5  # issued.json is rewritten every second
calls=$(( $(sidecar_calls) - calls_before )); fetches=$(( $(identity_fetches) - fetches_before ))

a=$(med "${p50[aistudio]}"); b=$(med "${p50[vertex]}"); c=$(med "${p99[aistudio]}"); d=$(med "${p99[vertex]}")
echo "| Gemini generateContent, 1 KB | AI Studio p50 µs | Vertex, cached token p50 µs | Δp50 µs | AI Studio p99 µs | Vertex p99 µs | Δp99 µs |"
echo "|---|---|---|---|---|---|---|"
echo "| Envoy --concurrency 1, wrk -c1 | $a | $b | $((b - a)) | $c | $d | $((d - c)) |"
echo
per_min() { python3 -c "print(f'{$1 * 60 / $2:.1f}')"; }
echo "Under load (Vertex stack, wrk -t1 -c16 -d${load_secs}s: $load_rps req/s, $load_e non-2xx):" \
  "$(per_min "$calls" "$load_secs") filter→sidecar credential calls/min ($calls in all)," \
  "$(per_min "$fetches" "$load_secs") token fetches/min at the identity endpoint ($fetches in all)."
echo "(The sidecar reports a GCP token as valid for 60 s, so the filter refreshes it every 30 s;"
echo "google-cloud-auth serves those refreshes from its own cache. Latency: median of $rounds alternating rounds of ${secs}s.)"
