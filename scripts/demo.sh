#!/usr/bin/env bash
# Runs Envoy + warden in front of the mock provider (ports 10000 / admin 9901 / mock 18080) and
# prints calls to try. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
ready=$(mktemp)
rm -f "$ready"
target/debug/warden_stack envoy/demo-stack.json "$ready" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$ready"' EXIT INT TERM
for _ in $(seq 1 100); do [ -s "$ready" ] && break; sleep 0.1; done
[ -s "$ready" ] || { echo "the stack did not come up" >&2; exit 1; }
cat <<'TXT'

Warden is up: Envoy on http://localhost:10000 (admin http://localhost:9901), mock provider behind it.
Try:
  curl -s localhost:10000/v1/openai/chat/completions -H 'authorization: Bearer sk-demo' \
    -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
  curl -sN localhost:10000/v1/anthropic/team-a/v1/messages -H 'x-api-key: demo' -H 'anthropic-version: 2023-06-01' \
    -H 'content-type: application/json' -d '{"model":"claude-haiku-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
  bash examples/clients/curl.sh           # one call per provider
  .venv/bin/python examples/clients/openai_chat.py
  curl -s localhost:9901/stats/prometheus | grep ^warden_
Access log (one JSON record per request): the "access_log" file named in the line above. Ctrl-C to stop.
TXT
wait $pid
