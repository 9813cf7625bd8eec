"""The official SDKs, unmodified, through the gateway in keyless mode (DESIGN §4.7): each client
keeps whatever dummy key it insists on, and the gateway replaces it with a credential the real
warden-sidecar minted from fake identity endpoints (the `fake_identity` binary: GCE metadata
server, Entra authority over HTTPS, AWS container credentials).

- `openai.AzureOpenAI` with a dummy api-key → an Entra token;
- `anthropic.AnthropicFoundry` (and the plain client) on the Foundry-Claude route → an Entra token;
- `google-genai` as an AI Studio client with any key → Vertex AI with an ADC token;
- `boto3` bedrock-runtime with a dummy bearer token, or its own SigV4 → re-signed by the gateway
  (checked with botocore).
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import anthropic
import boto3
import openai
import pytest
from botocore.config import Config
from google import genai
from google.genai import types

from conftest import REPO, TEXT, Mock, _run_stack

sys.path.insert(0, str(REPO / "tests" / "scripts"))
import verify_sigv4  # noqa: E402

PLUGIN = {
    "default_profile": "default",
    "profiles": {"default": {}},
    "providers": {
        "azure": {"auth": "entra"},
        "anthropic": {"auth": "entra"},
        "gemini": {"vertex": {"project": "warden-test", "location": "us-central1"}},
        "bedrock": {"auth": "sigv4", "region": "us-east-1"},
    },
}
ENTRA = "Bearer eyJ0eXAi.fake-entra-secret-"
ADC = "Bearer ya29.fake-mds-"
VERTEX = "/v1/projects/warden-test/locations/us-central1/publishers/google/models/"
BEDROCK_HOST = "bedrock-runtime.us-east-1.amazonaws.com"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Say hello"}]}]


@pytest.fixture(scope="module")
def fakes():
    binary = pathlib.Path(os.environ.get("WARDEN_FAKE_IDENTITY_BIN", REPO / "target" / "debug" / "fake_identity"))
    if not binary.exists():
        pytest.fail(f"{binary} not found: run `cargo build -p warden-e2e` first (or set WARDEN_FAKE_IDENTITY_BIN)")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="warden-fakes-"))
    # Closing its stdin ends it, also if this process dies first.
    proc = subprocess.Popen([str(binary), str(workdir)], stdin=subprocess.PIPE)
    ready = workdir / "ready.json"
    deadline = time.time() + 30
    while not ready.exists():
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail("fake_identity did not start")
        time.sleep(0.05)
    try:
        yield json.loads(ready.read_text())
    finally:
        proc.stdin.close()
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def keyless(fakes):
    yield from _run_stack(PLUGIN, {"sidecar": fakes["sidecar_config"], "sidecar_env": fakes["sidecar_env"]})


@pytest.fixture
def upstream(keyless):
    m = Mock(keyless["mock_url"])
    m.clear()
    return m


def no_client_key(seen, *names):
    for name in names:
        assert name not in seen["headers"], f"the client's {name} went upstream"


def test_azure_openai_client_with_a_dummy_key_gets_an_entra_token(keyless, upstream):
    client = openai.AzureOpenAI(api_key="dummy-azure-key", api_version="2024-10-21",
                                azure_endpoint=f"{keyless['base_url']}/v1/azure", max_retries=0)
    r = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == TEXT
    seen = upstream.last()
    assert seen["path"] == "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    assert seen["headers"]["authorization"].startswith(ENTRA)
    no_client_key(seen, "api-key")

    stream = client.chat.completions.create(model="gpt-4o", stream=True,
                                            messages=[{"role": "user", "content": "hi"}])
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == TEXT
    r = client.responses.create(model="gpt-4o", input="hi")
    assert r.output_text == TEXT
    seen = upstream.last()
    assert seen["path"].startswith("/openai/responses?api-version=")
    assert seen["headers"]["authorization"].startswith(ENTRA)
    no_client_key(seen, "api-key")


@pytest.mark.parametrize("kind", ["foundry", "plain"])
def test_anthropic_clients_on_the_foundry_route_get_an_entra_token(keyless, upstream, kind):
    base = f"{keyless['base_url']}/v1/anthropic"
    if kind == "foundry":
        client = anthropic.AnthropicFoundry(api_key="dummy-foundry-key", base_url=base, max_retries=0)
    else:
        client = anthropic.Anthropic(api_key="dummy-anthropic-key", base_url=base, max_retries=0)
    r = client.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                               messages=[{"role": "user", "content": "hi"}])
    assert r.content[0].text == TEXT
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        assert "".join(stream.text_stream) == TEXT
    for seen in upstream.requests():
        assert seen["path"] == "/v1/messages"
        assert seen["headers"]["authorization"].startswith(ENTRA)
        no_client_key(seen, "x-api-key", "api-key")


def test_google_genai_ai_studio_client_reaches_vertex_with_an_adc_token(keyless, upstream):
    client = genai.Client(api_key="AIza-any-key", http_options=types.HttpOptions(
        base_url=f"{keyless['base_url']}/v1/gemini", api_version="v1beta",
        retry_options=types.HttpRetryOptions(attempts=1)))
    r = client.models.generate_content(model="gemini-2.5-flash", contents="Say hello")
    assert r.text == TEXT
    text = "".join(c.text or "" for c in client.models.generate_content_stream(model="gemini-2.5-flash",
                                                                               contents="Say hello"))
    assert text == TEXT
    paths = [s["path"] for s in upstream.requests()]
    assert paths == [f"{VERTEX}gemini-2.5-flash:generateContent",
                     f"{VERTEX}gemini-2.5-flash:streamGenerateContent?alt=sse"]
    for seen in upstream.requests():
        assert seen["headers"]["authorization"].startswith(ADC)
        no_client_key(seen, "x-goog-api-key")


def check_resigned(seen):
    """The gateway's SigV4 over what AWS would receive, checked by botocore with the fake's keys."""
    auth = seen["headers"]["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=ASIAFAKECONTAINER"), auth
    assert seen["headers"]["host"] == BEDROCK_HOST
    n = int(auth.split("Credential=")[1].split("/")[0][-4:])
    verify_sigv4.check(dict(seen, access_key_id=f"ASIAFAKECONTAINER{n:04d}",
                            secret_access_key=f"test-only-container-secret-access-key-{n}",
                            session_token=f"test-only-container-session-token-{n}",
                            region="us-east-1", service="bedrock"))


def test_boto3_with_a_dummy_bearer_token_is_signed_by_the_gateway(keyless, upstream, monkeypatch):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "dummy-bedrock-key")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("bedrock-runtime", region_name="us-east-1",
                          endpoint_url=f"{keyless['https_url']}/v1/bedrock", verify=keyless["ca_file"],
                          config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    r = client.converse(modelId=HAIKU, messages=MESSAGES)
    assert r["output"]["message"]["content"][0]["text"] == TEXT
    events = client.converse_stream(modelId=HAIKU, messages=MESSAGES)["stream"]
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert text == TEXT
    seen_all = upstream.requests()
    assert [s["path"] for s in seen_all] == ["/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
                                             "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"]
    for seen in seen_all:
        assert "dummy-bedrock-key" not in json.dumps(seen["headers"])
        check_resigned(seen)


def test_boto3_signing_with_its_own_keys_is_re_signed_by_the_gateway(keyless, upstream):
    # A client's own SigV4 cannot survive the gateway's rewrites; with auth: sigv4 it does not
    # have to, and none of its signature headers (session token included) reach AWS.
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=f"{keyless['base_url']}/v1/bedrock",
                          aws_access_key_id="AKIDCLIENTDUMMY", aws_secret_access_key="client-dummy-secret",
                          aws_session_token="client-dummy-session",
                          config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    r = client.converse(modelId=HAIKU, messages=MESSAGES)
    assert r["output"]["message"]["content"][0]["text"] == TEXT
    seen = upstream.last()
    assert "AKIDCLIENTDUMMY" not in seen["headers"]["authorization"]
    assert seen["headers"]["x-amz-security-token"] != "client-dummy-session"
    check_resigned(seen)
