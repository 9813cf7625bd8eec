#!/usr/bin/env bash
# Instructions per exchange of the native and the routed path (the `router_stage_costs` timing
# test's 1 KB request and answer), counted by valgrind's callgrind: unlike timings, the count
# does not move with the machine's load. Runs the test at two iteration counts and divides the
# difference, so set-up is not counted. Needs valgrind. Usage: scripts/router-icount.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin=$(cargo test --locked --release -p warden-filter --lib router_stage --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() { # path iterations
    WARDEN_STAGE_ONLY=$1 WARDEN_STAGE_N=$2 valgrind --tool=callgrind --callgrind-out-file="$work/out" \
        "$bin" router_stage_costs --ignored --test-threads=1 >/dev/null 2>&1
    awk '/^summary:/ {print $2}' "$work/out"
}
for path in native routed; do
    small=$(count "$path" 500)
    large=$(count "$path" 1500)
    echo "$path: $(( (large - small) / 1000 )) instructions per exchange"
done
