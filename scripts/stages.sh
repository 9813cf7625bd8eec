#!/usr/bin/env bash
# Runs make targets one after another and says how long each took, so a CI log shows where its
# minutes go: `scripts/stages.sh lint unit e2e`. Stops at the first failing target.
set -euo pipefail
make_cmd="${MAKE:-make}"
summary=()
total_start=$SECONDS
for stage in "$@"; do
    start=$SECONDS
    "$make_cmd" --no-print-directory "$stage"
    summary+=("$(printf '%-16s %5d s' "$stage" $((SECONDS - start)))")
    echo "== stage $stage: $((SECONDS - start)) s"
done
echo "== stages (total $((SECONDS - total_start)) s):"
printf '   %s\n' "${summary[@]}"
