"""Cost limits through the official SDKs: the gateway's 402 surfaces as each SDK's own error type
with status 402, and no SDK retries it (the gateway sees exactly one request per call, the
upstream none).

The stack here has its own plugin config: a $0.000001 per-user limit, so a user's first request
passes and every later one is refused. Each test uses a user id of its own.
"""

import json
import pathlib
import time

import anthropic
import boto3
import cohere
import openai
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cohere.core.api_error import ApiError
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from conftest import TEXT, Mock, _run_stack

PLUGIN_CONFIG = {
    "default_profile": "default",
    "profiles": {"default": {"limits": [{"scope": "user", "usd": 0.000001, "window": "1d"}]}},
    "limits_store": "local",
}
MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
def limited():
    yield from _run_stack(PLUGIN_CONFIG)


class Gateway:
    """What the gateway and the mock saw: requests the mock received, access-log lines per user."""

    def __init__(self, info):
        self.mock = Mock(info["mock_url"])
        self.log = pathlib.Path(info["access_log"])

    def records(self, user):
        lines = [json.loads(l) for l in self.log.read_text().splitlines() if l.strip()]
        records = [json.loads(l["warden"]) if isinstance(l.get("warden"), str) else l.get("warden") for l in lines]
        return [r for r in records if isinstance(r, dict) and r.get("user_id") == user]

    def wait_records(self, user, count):
        """Waits for the access log to hold `count` records of `user` (the filter counts a request's
        cost before Envoy writes its line), then a little longer to be sure no more arrive."""
        deadline = time.time() + 5
        while len(self.records(user)) < count and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        return self.records(user)

    def upstream_count(self):
        return len(self.mock.requests())


@pytest.fixture
def gateway(limited):
    return Gateway(limited)


def refused_once(gateway, user, call):
    """Runs the first (allowed) call, then the refused one; returns the SDK's exception after
    checking that the refusal reached the gateway once and the upstream never."""
    call()
    assert len(gateway.wait_records(user, 1)) == 1
    upstream = gateway.upstream_count()
    with pytest.raises(Exception) as err:
        call()
    records = gateway.wait_records(user, 2)
    assert len(records) == 2, f"the SDK sent the refused request {len(records) - 1} times: {records}"
    assert gateway.upstream_count() == upstream, "a refused request reached the upstream"
    return err.value


def check_message(message, user):
    assert f"user '{user}'" in message and "$0.000001" in message and "resets at" in message, message


def test_openai_sdk_raises_api_status_error_402_without_retrying(limited, gateway):
    user = "sdk-openai"
    client = openai.OpenAI(api_key="sk-test", base_url=f"{limited['base_url']}/v1/openai", max_retries=2,
                           default_headers={"x-warden-user-id": user})
    err = refused_once(gateway, user, lambda: client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES))
    assert isinstance(err, openai.APIStatusError) and not isinstance(err, openai.RateLimitError), repr(err)
    assert err.status_code == 402
    assert err.code == "usage_limit_exceeded" and err.type == "usage_limit_exceeded"
    check_message(err.message, user)


def test_anthropic_sdk_raises_api_status_error_402_without_retrying(limited, gateway):
    user = "sdk-anthropic"
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url=f"{limited['base_url']}/v1/anthropic",
                                 max_retries=2, default_headers={"x-warden-user-id": user})
    err = refused_once(gateway, user, lambda: client.messages.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES))
    assert isinstance(err, anthropic.APIStatusError) and not isinstance(err, anthropic.RateLimitError), repr(err)
    assert err.status_code == 402
    assert err.body["error"]["type"] == "usage_limit_exceeded"
    check_message(err.body["error"]["message"], user)


def test_google_genai_raises_client_error_402_without_retrying(limited, gateway):
    user = "sdk-gemini"
    client = genai.Client(api_key="AIza-test-key", http_options=genai_types.HttpOptions(
        base_url=f"{limited['base_url']}/v1/gemini", api_version="v1beta", headers={"x-warden-user-id": user},
        # Retries on (the default codes: 408, 429, 5xx); a 402 must not be among them.
        retry_options=genai_types.HttpRetryOptions(attempts=3, initial_delay=0.05, max_delay=0.1)))
    err = refused_once(gateway, user, lambda: client.models.generate_content(model="gemini-2.5-flash",
                                                                             contents="Say hello"))
    assert isinstance(err, genai_errors.ClientError), repr(err)
    assert err.code == 402 and err.status == "RESOURCE_EXHAUSTED"
    check_message(err.message, user)


def test_boto3_raises_client_error_service_quota_exceeded_without_retrying(limited, gateway, monkeypatch):
    user = "sdk-bedrock"
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-test")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("bedrock-runtime", region_name="us-east-1",
                          endpoint_url=f"{limited['https_url']}/v1/bedrock", verify=limited["ca_file"],
                          config=Config(retries={"max_attempts": 3, "mode": "standard"}))

    def add_user(request, **_):
        request.headers["x-warden-user-id"] = user
    client.meta.events.register("before-send.bedrock-runtime.*", add_user)

    err = refused_once(gateway, user, lambda: client.converse(
        modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=[{"role": "user", "content": [{"text": "hi"}]}]))
    assert isinstance(err, ClientError), repr(err)
    assert err.response["Error"]["Code"] == "ServiceQuotaExceededException"
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 402
    assert err.response["ResponseMetadata"]["RetryAttempts"] == 0
    check_message(err.response["Error"]["Message"], user)


def test_cohere_sdk_raises_api_error_402_without_retrying(limited, gateway):
    user = "sdk-cohere"
    client = cohere.ClientV2(api_key="cohere-test-key", base_url=f"{limited['base_url']}/v1/cohere")
    options = {"additional_headers": {"x-warden-user-id": user}, "max_retries": 2}
    err = refused_once(gateway, user, lambda: client.chat(model="command-a-03-2025", messages=MESSAGES,
                                                          request_options=options))
    assert isinstance(err, ApiError), repr(err)
    assert err.status_code == 402
    check_message(err.body["message"], user)


def test_the_first_request_of_a_user_gets_the_normal_answer(limited, gateway):
    client = openai.OpenAI(api_key="sk-test", base_url=f"{limited['base_url']}/v1/openai", max_retries=0,
                           default_headers={"x-warden-user-id": "sdk-first"})
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert r.choices[0].message.content == TEXT
