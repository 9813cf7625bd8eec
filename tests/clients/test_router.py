"""The official `openai` SDK, unmodified, against the model router (DESIGN §4.8).

One client, `openai.OpenAI(base_url=<gateway>/v1/model-router, api_key=wdn_…)`, reaches every target
by naming the model `provider:model`. The real warden-sidecar resolves the virtual key from a keys
file to the real key of the target (held only in the sidecar's environment); the mock answers in
the target's own wire format (Anthropic Messages, Gemini generateContent, Bedrock Converse, Cohere
v2 chat, OpenAI chat for OpenAI and groq) and the filter translates the answer back. What is
checked is what a client relies on: the SDK's own parsing of whole answers, chunk streams, its
stream helpers, tool-call round trips, the Responses API, the model list, and its typed
exceptions for the router's errors. The Rust e2e (tests/tests/router.rs) checks the raw bytes.
"""

import json
from dataclasses import dataclass

import openai
import pytest

from conftest import CACHED, TEXT, Mock, _run_stack, scenario

KEY_ALL = "wdn_sdk_router_all_0123456789"
KEY_OPENAI = "wdn_sdk_router_openai_0123456789"
REASON = "no clocks"
ROUTER_MODELS = {"anthropic": ["claude-sonnet-4-5"], "bedrock": ["amazon.nova-pro-v1:0"], "openai": ["gpt-4o"]}
BLOCK_TIME = {"tool": "get_time", "action": "block_always", "reason": REASON}
PLUGIN = {"profiles": {
    "default": {"tool_policies": [BLOCK_TIME], "router": {"models": ROUTER_MODELS}},
    # get_weather could be blocked here (not for Paris), so a stream holds it back until it is
    # evaluated instead of passing it on live (DESIGN §5.1).
    "guarded": {"tool_policies": [BLOCK_TIME, {"tool": "get_weather", "action": "block_always", "reason": "sunk",
                                               "conditions": [{"key": "city", "operator": "equal",
                                                               "value": "Atlantis"}]}]},
}}


@dataclass(frozen=True)
class Target:
    provider: str
    model: str
    # The upstream paths a whole and a streamed chat answer are asked for at.
    path: str
    stream_path: str
    real_key: str
    # The mock's usage in the OpenAI convention: prompt = uncached + cache read + cache write,
    # completion includes reasoning (Gemini's thoughts).
    prompt_tokens: int
    completion_tokens: int

    def __str__(self):
        return self.provider


GEMINI = "/v1beta/models/gemini-2.5-flash"
NOVA = "/model/amazon.nova-pro-v1%3A0"
TARGETS = [
    Target("openai", "openai:gpt-4o", "/v1/chat/completions", "/v1/chat/completions", "sk-real-openai-1", 25, 12),
    Target("anthropic", "anthropic:claude-sonnet-4-5", "/v1/messages", "/v1/messages", "sk-ant-real-1", 33, 12),
    Target("gemini", "gemini:gemini-2.5-flash", f"{GEMINI}:generateContent", f"{GEMINI}:streamGenerateContent?alt=sse",
           "AIza-real-gemini-1", 25, 14),
    Target("bedrock", "bedrock:amazon.nova-pro-v1:0", f"{NOVA}/converse", f"{NOVA}/converse-stream",
           "ABSK-real-bedrock-1", 33, 12),
    Target("cohere", "cohere:command-r-plus", "/v2/chat", "/v2/chat", "real-cohere-key-1", 25, 12),
    Target("groq", "groq:llama-3.3-70b-versatile", "/openai/v1/chat/completions", "/openai/v1/chat/completions",
           "gsk-real-groq-1", 25, 12),
]
# Targets that speak OpenAI chat themselves: their errors pass through as the provider sent them.
OPENAI_WIRE = ("openai", "groq")
BY_PROVIDER = {t.provider: t for t in TARGETS}
every_target = pytest.mark.parametrize("target", TARGETS, ids=str)

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}]
GET_WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
GET_TIME = {"type": "function", "function": {"name": "get_time", "description": "Time in a zone",
            "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}}}}
TOOLS = [GET_WEATHER, GET_TIME]
TOOL_RESULT = "sunny, 21 degrees"
# A 1×1 PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def _env_var(provider):
    return f"REAL_{provider.upper()}"


@pytest.fixture(scope="module")
def router_stack(tmp_path_factory):
    keys = tmp_path_factory.mktemp("router-keys") / "keys.yaml"
    every = {t.provider: {"api_key_env": _env_var(t.provider)} for t in TARGETS}
    keys.write_text(json.dumps({"keys": [  # JSON is YAML
        {"id": "sdk-router-all", "key": KEY_ALL, "providers": every},
        {"id": "sdk-router-openai", "key": KEY_OPENAI, "providers": {"openai": {"api_key_env": _env_var("openai")}}},
    ]}))
    env = [[_env_var(t.provider), t.real_key] for t in TARGETS]
    yield from _run_stack(PLUGIN, {"sidecar": {"keys": {"file": str(keys)}}, "sidecar_env": env})


@pytest.fixture
def upstream(router_stack):
    m = Mock(router_stack["mock_url"])
    m.clear()
    return m


def _client(router_stack, key=KEY_ALL, profile=None):
    base = f"{router_stack['base_url']}/v1/model-router" + (f"/{profile}" if profile else "")
    return openai.OpenAI(base_url=base, api_key=key, max_retries=0)


@pytest.fixture
def client(router_stack):
    return _client(router_stack)


def _sent(seen):
    """The JSON body the mock received."""
    return json.loads(seen["body"])


def _dicts(value):
    """Every object nested in a JSON value, the value itself included."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _dicts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dicts(v)


def assert_usage(usage, target):
    assert usage is not None, "no usage"
    assert (usage.prompt_tokens, usage.completion_tokens) == (target.prompt_tokens, target.completion_tokens)
    assert usage.total_tokens == target.prompt_tokens + target.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == CACHED


def assert_real_key_only(seen, target):
    """The target got its real key and never the virtual one."""
    assert target.real_key in json.dumps(seen["headers"]), seen["headers"]
    assert "wdn_" not in json.dumps(seen), "the virtual key reached the provider"


def assert_refusal(text):
    assert "Warden gateway blocked" in text and "`get_time`" in text and REASON in text, text


# --- Chat completions ---------------------------------------------------------------------------------


@every_target
def test_a_whole_chat_answer_from_every_target_has_the_text_usage_and_a_stop_finish(client, upstream, target):
    r = client.chat.completions.create(model=target.model, messages=MESSAGES, max_tokens=64)
    choice = r.choices[0]
    assert choice.message.content == TEXT
    assert choice.finish_reason == "stop"
    assert not choice.message.tool_calls
    assert_usage(r.usage, target)
    seen = upstream.last()
    assert seen["path"] == target.path
    assert_real_key_only(seen, target)


@every_target
def test_a_streamed_chat_answer_from_every_target_joins_to_the_text_and_ends_with_usage(client, upstream, target):
    chunks = list(client.chat.completions.create(model=target.model, messages=MESSAGES, max_tokens=64, stream=True,
                                                 stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [], "the usage chunk is not last"
    assert_usage(chunks[-1].usage, target)
    assert all(c.usage is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1, "one stream, one id"
    seen = upstream.last()
    assert seen["path"] == target.stream_path
    assert_real_key_only(seen, target)


@every_target
def test_the_sdk_stream_helper_accumulates_every_target_s_stream_into_a_final_completion(client, target):
    with client.chat.completions.stream(model=target.model, messages=MESSAGES, max_tokens=64,
                                        stream_options={"include_usage": True}) as stream:
        deltas = "".join(e.delta for e in stream if e.type == "content.delta")
        final = stream.get_final_completion()
    assert deltas == TEXT
    assert final.choices[0].message.content == TEXT
    assert final.choices[0].finish_reason == "stop"
    assert_usage(final.usage, target)


# --- Tool calls ---------------------------------------------------------------------------------------


def _result_in_native_shape(provider, body, call_id):
    """Whether the upstream body carries the tool result as the target's own API does."""
    found = list(_dicts(body))
    if provider == "anthropic":
        return any(d.get("type") == "tool_result" and d.get("tool_use_id") == call_id
                   and TOOL_RESULT in json.dumps(d.get("content"), ensure_ascii=False) for d in found)
    if provider == "gemini":
        return any(isinstance(d.get("functionResponse"), dict) and d["functionResponse"].get("name") == "get_weather"
                   and TOOL_RESULT in json.dumps(d["functionResponse"].get("response")) for d in found)
    if provider == "bedrock":
        return any(isinstance(d.get("toolResult"), dict) and d["toolResult"].get("toolUseId") == call_id
                   and TOOL_RESULT in json.dumps(d["toolResult"].get("content")) for d in found)
    # Cohere v2 and the OpenAI wire: a `tool` message.
    return any(m.get("role") == "tool" and m.get("tool_call_id") == call_id
               and TOOL_RESULT in json.dumps(m.get("content")) for m in body.get("messages", []))


@every_target
def test_a_tool_call_from_every_target_round_trips_with_its_result_in_the_target_s_own_shape(
        client, upstream, target):
    r = client.chat.completions.create(model=target.model, messages=MESSAGES, max_tokens=64, tools=TOOLS,
                                       extra_headers=scenario("tool_call"))
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    # As the SDK's documentation does it: the assistant message object itself goes back.
    history = MESSAGES + [choice.message, {"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT}]
    r = client.chat.completions.create(model=target.model, messages=history, max_tokens=64, tools=TOOLS)
    assert r.choices[0].message.content == TEXT
    assert r.choices[0].finish_reason == "stop"
    sent = _sent(upstream.last())
    assert _result_in_native_shape(target.provider, sent, call.id), json.dumps(sent, ensure_ascii=False)


@every_target
def test_a_streamed_tool_call_from_every_target_accumulates_to_the_whole_call(client, target):
    with client.chat.completions.stream(model=target.model, messages=MESSAGES, max_tokens=64, tools=TOOLS,
                                        extra_headers=scenario("tool_call")) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.id and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


@every_target
def test_a_whole_answer_with_a_blocked_call_reaches_the_sdk_as_a_refusal_without_any_call(client, target):
    raw = client.chat.completions.with_raw_response.create(
        model=target.model, messages=MESSAGES, max_tokens=64, tools=TOOLS, extra_headers=scenario("parallel_tools"))
    assert "get_time" in raw.headers.get("x-warden-blocked", "").split(",")
    choice = raw.parse().choices[0]
    # get_weather was allowed, but none of an answer's calls run when one of them is refused.
    assert not choice.message.tool_calls
    assert choice.finish_reason == "stop"
    assert_refusal(choice.message.content)


@every_target
def test_a_streamed_answer_with_a_blocked_call_ends_validly_with_the_refusal_and_no_held_call(router_stack, target):
    client = _client(router_stack, profile="guarded")
    chunks = list(client.chat.completions.create(
        model=target.model, messages=MESSAGES, max_tokens=64, tools=TOOLS, stream=True,
        stream_options={"include_usage": True}, extra_headers=scenario("parallel_tools")))
    calls = [d for c in chunks for ch in c.choices for d in (ch.delta.tool_calls or [])]
    assert calls == [], calls
    finishes = [ch.finish_reason for c in chunks for ch in c.choices if ch.finish_reason]
    assert finishes == ["stop"]
    assert_refusal("".join(ch.delta.content or "" for c in chunks for ch in c.choices))
    assert chunks[-1].usage is not None


@every_target
def test_an_always_allowed_call_streams_live_and_only_the_blocked_one_is_withheld(client, target):
    # Under the default profile get_weather cannot be blocked, so it streams as it comes (DESIGN
    # §5.1); get_time, which comes after it, is held back and refused.
    with client.chat.completions.stream(model=target.model, messages=MESSAGES, max_tokens=64, tools=TOOLS,
                                        extra_headers=scenario("parallel_tools")) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    calls = [(c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls or []]
    assert calls == [("get_weather", {"city": "Paris"})]
    # The finish names what was delivered: a call went out.
    assert choice.finish_reason == "tool_calls"
    assert_refusal(choice.message.content)


# --- Responses API ------------------------------------------------------------------------------------


def _responses_path(target, stream=False):
    """OpenAI answers the Responses API itself; every other target gets the chat request it became."""
    if target.provider == "openai":
        return "/v1/responses"
    return target.stream_path if stream else target.path


@every_target
def test_a_responses_request_to_every_target_has_the_output_text_and_usage(client, upstream, target):
    r = client.responses.create(model=target.model, input="Say hello", instructions="Be brief.",
                                max_output_tokens=64)
    assert r.status == "completed"
    assert r.output_text == TEXT
    assert (r.usage.input_tokens, r.usage.output_tokens) == (target.prompt_tokens, target.completion_tokens)
    assert r.usage.input_tokens_details.cached_tokens == CACHED
    seen = upstream.last()
    assert seen["path"] == _responses_path(target)
    assert_real_key_only(seen, target)


@every_target
def test_a_streamed_responses_request_to_every_target_parses_and_completes_with_the_text(client, upstream, target):
    events = list(client.responses.create(model=target.model, input="Say hello", max_output_tokens=64, stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds
    assert [e.sequence_number for e in events] == sorted(e.sequence_number for e in events)
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == TEXT
    done = events[-1].response
    assert done.output_text == TEXT
    assert (done.usage.input_tokens, done.usage.output_tokens) == (target.prompt_tokens, target.completion_tokens)
    assert done.usage.input_tokens_details.cached_tokens == CACHED
    assert upstream.last()["path"] == _responses_path(target, stream=True)


@every_target
def test_the_sdk_responses_stream_helper_gets_the_final_response_from_every_target(client, target):
    with client.responses.stream(model=target.model, input="Say hello", max_output_tokens=64) as stream:
        final = stream.get_final_response()
    assert final.output_text == TEXT
    assert final.usage.output_tokens == target.completion_tokens


RESPONSES_TOOLS = [{"type": "function", "name": t["function"]["name"], "description": t["function"]["description"],
                    "parameters": t["function"]["parameters"]} for t in TOOLS]


@every_target
def test_a_responses_function_call_from_every_target_round_trips_with_its_output(client, upstream, target):
    r = client.responses.create(model=target.model, input="Weather in Paris?", tools=RESPONSES_TOOLS,
                                max_output_tokens=64, extra_headers=scenario("tool_call"))
    [call] = [item for item in r.output if item.type == "function_call"]
    assert call.name == "get_weather" and call.call_id
    assert json.loads(call.arguments) == {"city": "Paris"}

    # As the SDK's documentation does it: the output items go back, then the call's output.
    history = [{"role": "user", "content": "Weather in Paris?"}, *r.output,
               {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT}]
    r = client.responses.create(model=target.model, input=history, tools=RESPONSES_TOOLS, max_output_tokens=64)
    assert r.output_text == TEXT
    sent = _sent(upstream.last())
    if target.provider == "openai":
        assert {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT} in sent["input"]
    else:
        assert _result_in_native_shape(target.provider, sent, call.call_id), json.dumps(sent, ensure_ascii=False)


# --- Models, embeddings, images -----------------------------------------------------------------------


def test_the_model_list_names_the_configured_models_of_the_key_s_providers(router_stack, upstream):
    ids = [m.id for m in _client(router_stack).models.list()]
    assert ids == ["anthropic:claude-sonnet-4-5", "bedrock:amazon.nova-pro-v1:0", "openai:gpt-4o"]
    models = _client(router_stack, KEY_OPENAI).models.list()
    assert [(m.id, m.owned_by) for m in models] == [("openai:gpt-4o", "openai")]
    assert upstream.requests() == [], "the list is the gateway's own answer"


def test_embeddings_go_to_an_openai_format_provider_and_are_refused_for_others(client, upstream):
    r = client.embeddings.create(model="openai:text-embedding-3-small", input="hello")
    assert len(r.data[0].embedding) == 4
    seen = upstream.last()
    assert seen["path"] == "/v1/embeddings"
    assert _sent(seen)["model"] == "text-embedding-3-small"
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="anthropic:claude-sonnet-4-5", input="hello")
    assert err.value.param == "model" and "anthropic" in err.value.message
    assert upstream.requests() == [seen], "the refused request reached a provider"


@pytest.mark.parametrize("provider", ["anthropic", "gemini", "bedrock"])
def test_a_data_url_image_reaches_the_target_as_its_own_base64_image(client, upstream, provider):
    target = BY_PROVIDER[provider]
    r = client.chat.completions.create(model=target.model, max_tokens=16, messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}])
    assert r.choices[0].message.content == TEXT
    found = list(_dicts(_sent(upstream.last())))
    if provider == "anthropic":
        assert {"type": "base64", "media_type": "image/png", "data": PNG} in found
    elif provider == "gemini":
        assert any(d.get("inlineData") == {"mimeType": "image/png", "data": PNG} for d in found), found
    else:
        assert {"format": "png", "source": {"bytes": PNG}} in found


# --- Errors as the SDK's typed exceptions -------------------------------------------------------------


@pytest.mark.parametrize(("key", "code"), [("wdn_sdk_router_unknown_0123456789", "invalid_api_key"),
                                           ("sk-a-provider-key-not-a-virtual-one", "missing_api_key")],
                         ids=["unknown-virtual-key", "provider-key"])
def test_a_key_the_router_does_not_know_is_an_authentication_error(router_stack, upstream, key, code):
    with pytest.raises(openai.AuthenticationError) as err:
        _client(router_stack, key).chat.completions.create(model="anthropic:claude-sonnet-4-5", messages=MESSAGES)
    assert (err.value.status_code, err.value.code) == (401, code)
    assert key not in str(err.value.body), "the error repeats the key"
    assert upstream.requests() == []


def test_a_request_without_any_key_is_an_authentication_error(client, upstream):
    with pytest.raises(openai.AuthenticationError) as err:
        client.chat.completions.create(model="anthropic:claude-sonnet-4-5", messages=MESSAGES,
                                       extra_headers={"Authorization": openai.omit})
    assert (err.value.status_code, err.value.code) == (401, "missing_api_key")
    assert upstream.requests() == []


def test_n_greater_than_one_to_a_translated_target_is_a_bad_request_naming_n(client, upstream):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="anthropic:claude-sonnet-4-5", messages=MESSAGES, n=2)
    assert err.value.param == "n", err.value.body
    assert err.value.code == "unsupported_parameter"
    assert upstream.requests() == []


def test_a_provider_the_key_does_not_map_is_a_bad_request(router_stack, upstream):
    with pytest.raises(openai.BadRequestError) as err:
        _client(router_stack, KEY_OPENAI).chat.completions.create(model="anthropic:claude-sonnet-4-5",
                                                                  messages=MESSAGES)
    assert err.value.code == "key_not_mapped"
    # It names the key (by id, never the secret) and what it does map.
    assert "'sdk-router-openai'" in err.value.message and "openai" in err.value.message
    assert KEY_OPENAI not in err.value.message
    assert upstream.requests() == []


def test_a_model_without_a_provider_prefix_is_a_bad_request(client, upstream):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="claude-sonnet-4-5", messages=MESSAGES)
    assert "provider:model" in err.value.message
    assert upstream.requests() == []


@every_target
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_rate_limited_target_raises_the_sdk_s_rate_limit_error(client, target, stream):
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model=target.model, messages=MESSAGES, stream=stream,
                                       extra_headers=scenario("error_429"))
    assert err.value.status_code == 429
    if target.provider in OPENAI_WIRE:
        assert err.value.code == "rate_limit_exceeded"
    else:
        assert err.value.type == "rate_limit_error", err.value.body
        assert err.value.body["message"].startswith(f"{target.provider} answered HTTP 429: "), err.value.body
