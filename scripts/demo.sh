#!/usr/bin/env bash
# Runs Envoy + warden + warden-sidecar in front of the mock provider (ports 10000 / admin 9901 /
# mock 18080 / sidecar gRPC 50051, admin 9902) and prints calls to try. With AWS keys in the
# environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optionally AWS_SESSION_TOKEN and
# AWS_REGION) the sidecar serves them and Bedrock requests are signed by the gateway (auth: sigv4);
# without, no cloud credential is enabled. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077
ready=$(mktemp)
rm -f "$ready"
options=envoy/demo-stack.json
keyless="none (export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to have Bedrock requests signed by the gateway)"
if [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_ACCESS_KEY:-}" ]; then
  # The keys go to the sidecar's environment only; this file holds them until the stack is up.
  options=$(mktemp --suffix .json)
  python3 - "$options" <<'PY'
import json, os, sys
opts = json.load(open("envoy/demo-stack.json"))
region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
opts["sidecar"]["credentials"] = {"aws": {"region": region}}
opts["sidecar_env"] = [[k, os.environ[k]] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
                       if os.environ.get(k)]
opts["plugin_config"]["providers"] = {"bedrock": {"auth": "sigv4", "region": region}}
json.dump(opts, open(sys.argv[1], "w"))
PY
  keyless="AWS: Bedrock requests are signed by the gateway with your keys (the mock does not check them)"
fi
target/debug/warden_stack "$options" "$ready" &
pid=$!
cleanup() {
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  rm -f "$ready"
  [ "$options" = envoy/demo-stack.json ] || rm -f "$options"
}
trap cleanup EXIT INT TERM
for _ in $(seq 1 150); do [ -s "$ready" ] && break; sleep 0.1; done
[ -s "$ready" ] || { echo "the stack did not come up" >&2; exit 1; }
[ "$options" = envoy/demo-stack.json ] || rm -f "$options"
cat <<TXT

Warden is up: Envoy on http://localhost:10000 (admin http://localhost:9901), mock provider behind it,
warden-sidecar on 127.0.0.1:50051 (health: curl localhost:9902/healthz, metrics: localhost:9902/metrics).
Keyless cloud credentials: $keyless.
TXT
cat <<'TXT'
Try:
  curl -s localhost:10000/v1/openai/chat/completions -H 'authorization: Bearer sk-demo' \
    -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
  curl -sN localhost:10000/v1/anthropic/team-a/v1/messages -H 'x-api-key: demo' -H 'anthropic-version: 2023-06-01' \
    -H 'content-type: application/json' -d '{"model":"claude-haiku-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
  curl -s localhost:10000/v1/bedrock/model/amazon.nova-micro-v1%3A0/converse -H 'authorization: Bearer demo' \
    -H 'content-type: application/json' -d '{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'
  bash examples/clients/curl.sh           # one call per provider
  .venv/bin/python examples/clients/openai_chat.py
  curl -s localhost:9901/stats/prometheus | grep ^warden_
  curl -s localhost:9902/metrics          # the sidecar's credential fetches and cache hits
Access log (one JSON record per request): the "access_log" file named in the line above. Ctrl-C to stop.
TXT
wait $pid
