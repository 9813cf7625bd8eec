#!/bin/sh
# Plain HTTP through Warden; then the interaction record and the metrics.
set -e
BASE=${WARDEN_URL:-http://127.0.0.1:10000}
ADMIN=${WARDEN_ADMIN:-http://127.0.0.1:9901}

curl -sS "$BASE/v1/openai/chat/completions" -H "Authorization: Bearer ${OPENAI_API_KEY:-sk-demo}" \
  -H 'content-type: application/json' \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}'
echo

curl -sSN "$BASE/v1/anthropic/v1/messages" -H "x-api-key: ${ANTHROPIC_API_KEY:-sk-ant-demo}" \
  -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
  -H 'x-warden-meta: demo-agent/run-1/session-1' \
  -d '{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Say hello"}]}'
echo

curl -sS "$ADMIN/stats/prometheus" | grep '^warden_' || true
