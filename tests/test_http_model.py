"""The two ways a remote model is called (SPEC §6): plain HTTP for `openai/…` on a custom
endpoint (and the embedded server), litellm for everything else — same replies, same token
counts, same error names, streaming included."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from sml_cli.models import (
    LiteLLMModel,
    ModelSettings,
    OpenAICompatibleModel,
    direct_endpoint,
    make_model,
)
from sml_cli.participants import ParticipantError
from sml_cli.testing import StubFault, StubReply, StubServer

REPLY = "Twelve is three times four. Final answer: 12"
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "3*4?"}]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubServer]:
    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with StubServer(lambda request: REPLY) as s:
        yield s


@pytest.fixture(params=["direct", "litellm"])
def via(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "litellm":
        monkeypatch.setenv("SML_VIA_LITELLM", "1")
    else:
        monkeypatch.delenv("SML_VIA_LITELLM", raising=False)
    return str(request.param)


def settings(server: StubServer, **kw: Any) -> ModelSettings:
    # (no waiting out 429s either: a test of a refusal must not wait for the limit to lift)
    return ModelSettings(**{"api_base": server.url, "retries": 0, "rate_limit_wait": 0.0,
                            **kw})


def test_each_path_is_chosen_where_it_should_be(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL", "SML_VIA_LITELLM",
                 "HOSTED_VLLM_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    custom = ModelSettings(api_base="http://10.0.0.5:8000/v1")
    assert direct_endpoint("openai/qwen", custom) == "http://10.0.0.5:8000/v1"
    assert direct_endpoint("openai/gpt-4o-mini", ModelSettings()) is None  # OpenAI: litellm
    assert direct_endpoint("anthropic/claude", custom) is None
    assert direct_endpoint("hosted_vllm/qwen", custom) == "http://10.0.0.5:8000/v1"
    assert direct_endpoint("hosted_vllm/qwen", ModelSettings()) is None
    assert isinstance(make_model("openai/gpt-4o-mini", ModelSettings()), LiteLLMModel)
    assert isinstance(make_model("openai/qwen", custom), OpenAICompatibleModel)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://10.0.0.6/v1")
    assert direct_endpoint("openai/qwen", ModelSettings()) == "http://10.0.0.6/v1"
    monkeypatch.setenv("HOSTED_VLLM_API_BASE", "http://10.0.0.7/v1")
    assert direct_endpoint("hosted_vllm/qwen", ModelSettings()) == "http://10.0.0.7/v1"
    monkeypatch.setenv("SML_VIA_LITELLM", "1")
    assert direct_endpoint("openai/qwen", custom) is None
    assert isinstance(make_model("openai/qwen", custom), LiteLLMModel)


def test_reply_and_tokens_are_the_same_on_both_paths(via: str, server: StubServer) -> None:
    model = make_model("openai/student", settings(server, temperature=0.0, max_tokens=64))
    assert isinstance(model, OpenAICompatibleModel if via == "direct" else LiteLLMModel)
    reply = asyncio.run(model.respond(MESSAGES))
    assert reply.content == REPLY
    assert reply.model == "openai/student"
    # The stub counts words: 2 + 1 prompt words, 8 reply words.
    assert (reply.prompt_tokens, reply.completion_tokens) == (3, 8)
    request = server.requests[-1]
    assert request["model"] == "student" and request["messages"] == MESSAGES
    assert (request["temperature"], request["max_tokens"]) == (0.0, 64)
    assert server.headers[-1]["authorization"] == "Bearer sk-test"


def test_streaming_delivers_every_token_and_the_usage(via: str, server: StubServer) -> None:
    model = make_model("openai/student", settings(server))
    tokens: list[str] = []
    reply = asyncio.run(model.respond(MESSAGES, on_token=tokens.append))
    assert len(tokens) > 3 and "".join(tokens) == reply.content == REPLY
    assert reply.completion_tokens == 8
    assert server.requests[-1]["stream"] is True


@pytest.mark.parametrize(("status", "name"), [
    (429, "RateLimitError"), (401, "AuthenticationError"), (404, "NotFoundError"),
    (500, "InternalServerError"), (503, "ServiceUnavailableError"),
])
def test_error_names_match_on_both_paths(
    via: str, server: StubServer, status: int, name: str
) -> None:
    server.handler = lambda request: StubFault(status, "the endpoint says no")
    model = make_model("openai/student", settings(server))
    with pytest.raises(ParticipantError) as err:
        asyncio.run(model.respond(MESSAGES))
    assert name in str(err.value) and "the endpoint says no" in str(err.value)
    assert str(err.value).startswith("openai/student: ")


def test_a_known_price_gives_a_cost(server: StubServer) -> None:
    model = OpenAICompatibleModel("openai/x", server.url, "x", settings(server),
                                  price=(1e-6, 2e-6))
    reply = asyncio.run(model.respond(MESSAGES))
    assert reply.cost_usd == pytest.approx(3 * 1e-6 + 8 * 2e-6)
    unpriced = OpenAICompatibleModel("openai/x", server.url, "x", settings(server))
    assert asyncio.run(unpriced.respond(MESSAGES)).cost_usd is None


def test_connection_pools_are_closed_with_their_event_loop(server: StubServer) -> None:
    model = make_model("openai/student", settings(server))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):  # a new loop each time: a pool must never cross loops
            assert asyncio.run(model.respond(MESSAGES)).content == REPLY
        gc.collect()
    unclosed = [w for w in caught if "nclosed" in str(w.message)]
    assert not unclosed, [str(w.message) for w in unclosed]


def test_a_rate_limited_call_waits_as_long_as_the_api_asks(
    via: str, server: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    hits = [0]

    def handler(request: dict[str, Any]) -> Any:
        hits[0] += 1
        return StubFault(429, "slow down", retry_after="7") if hits[0] == 1 else REPLY

    server.handler = handler
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float, *args: Any) -> Any:
        if delay >= 1:  # ours; the HTTP clients' own zero-length yields pass through
            waits.append(delay)
            delay = 0
        return await real_sleep(delay, *args)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    model = make_model("openai/student",
                       ModelSettings(api_base=server.url, retries=2, retry_base_s=0.01))
    assert asyncio.run(model.respond(MESSAGES)).content == REPLY
    assert hits[0] == 2
    # What was asked (not the 0.01 s back-off), and a little more: calls refused together
    # come back spread out.
    assert len(waits) == 1 and 7.0 < waits[0] <= 7 * 1.25 + 0.05
    # An API that names the wait only in its message (OpenAI's TPM limit, Groq) is heard too.
    hits[0], waits[:] = 0, []

    def worded(request: dict[str, Any]) -> Any:
        hits[0] += 1
        return (StubFault(429, "Rate limit reached. Please try again in 3.5s.") if hits[0] == 1
                else REPLY)

    server.handler = worded
    assert asyncio.run(model.respond(MESSAGES)).content == REPLY
    assert len(waits) == 1 and 3.5 < waits[0] <= 3.5 * 1.25 + 0.05


def test_retry_after_forms() -> None:
    from email.utils import formatdate

    from sml_cli.models import HTTPStatusError, retry_after_seconds

    def wait(headers: dict[str, str]) -> float | None:
        return retry_after_seconds(HTTPStatusError(429, "", headers))

    assert wait({"retry-after": "3"}) == 3.0
    assert wait({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    in_a_minute = wait({"retry-after": formatdate(time.time() + 60, usegmt=True)})
    assert in_a_minute is not None and 55 < in_a_minute <= 61
    assert wait({"retry-after": "soon"}) is None
    assert wait({}) is None
    assert retry_after_seconds(ValueError("no response at all")) is None
    # Without the header: the wait the message names (OpenAI, Groq, Gemini, Azure) ...

    def said(message: str, headers: dict[str, str] | None = None) -> float | None:
        return retry_after_seconds(HTTPStatusError(429, message, headers or {}))

    openai = ("Rate limit reached for gpt-4o-mini in organization org-x on tokens per min "
              "(TPM): Limit 200000, Used 199795, Requested 1180. Please try again in 292ms.")
    assert said(openai) == pytest.approx(0.292)
    assert said("... Please try again in 7.66s. Visit https://console.groq.com") == 7.66
    assert said("Rate limit reached on requests per day. Please try again in 6m0s.") == 360.0
    assert said("Quota exceeded. Please retry in 13.35s.") == 13.35
    assert said("Requests have exceeded the limit. Please retry after 20 seconds.") == 20.0
    assert said("Please try again later.") is None
    # ... the header first; then the reset of the limit that is used up.
    assert said("Please try again in 9s.", {"retry-after": "2"}) == 2.0
    assert said("slow down", {"x-ratelimit-remaining-requests": "0",
                              "x-ratelimit-reset-requests": "1m30s",
                              "x-ratelimit-remaining-tokens": "5000",
                              "x-ratelimit-reset-tokens": "6m0s"}) == 90.0
    assert said("slow down", {"x-ratelimit-remaining-requests": "3",
                              "x-ratelimit-reset-requests": "1s"}) is None


@pytest.mark.parametrize("fault", [StubFault(garbage=True),
                                   StubFault(200, raw='{"object": "chat.completion"}')],
                         ids=["garbage", "json-but-no-choices"])
def test_a_2xx_answer_that_is_no_completion_is_retried_then_named(
    server: StubServer, fault: StubFault
) -> None:
    server.handler = lambda request: fault
    model = OpenAICompatibleModel("openai/x", server.url, "x",
                                  ModelSettings(retries=1, retry_base_s=0.01))
    with pytest.raises(ParticipantError) as err:
        asyncio.run(model.respond(MESSAGES))
    assert len(server.requests) == 2  # retried once
    assert "MalformedResponse: not a chat completion" in str(err.value)


def test_proxy_variables_apply_to_remote_endpoints_only(
    server: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sml_cli import models

    # A proxy that does not exist: the loopback stub must still be reached directly.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    model = make_model("openai/student", settings(server))
    assert asyncio.run(model.respond(MESSAGES)).content == REPLY

    async def trust(url: str) -> bool:
        session = await models._http_session(url)
        try:
            return bool(session.trust_env)
        finally:
            await models.close_http_sessions()

    assert asyncio.run(trust("https://api.example.com/v1")) is True
    assert asyncio.run(trust(server.url)) is False


def test_hosted_vllm_models_are_served_under_their_own_name(server: StubServer) -> None:
    model = make_model("hosted_vllm/Qwen/Qwen2.5-7B", settings(server))
    assert isinstance(model, OpenAICompatibleModel)
    assert asyncio.run(model.respond(MESSAGES)).content == REPLY
    assert server.requests[-1]["model"] == "Qwen/Qwen2.5-7B"


def test_an_empty_reply_is_retried_then_named(server: StubServer) -> None:
    replies = iter(["", "  ", "Now I answer."])
    server.handler = lambda request: next(replies)
    model = make_model("openai/flaky", ModelSettings(api_base=server.url, retries=3,
                                                     retry_base_s=0.001))
    assert asyncio.run(model.respond(MESSAGES)).content == "Now I answer."
    assert len(server.requests) == 3
    server.handler = lambda request: ""
    with pytest.raises(ParticipantError, match="EmptyReply: the model returned an empty"):
        asyncio.run(model.respond(MESSAGES))
    assert len(server.requests) == 3 + 4  # the first try and three retries


def test_a_404_from_a_base_url_without_v1_suggests_adding_it(server: StubServer) -> None:
    """vLLM or llama.cpp at http://host:8000 (no /v1) answer a bare 404: the error says
    which URL was asked and the base to try; a 404 naming the model, or one under /v1,
    gets no such guess."""
    server.handler = lambda request: StubFault(404, "Not Found")
    root = server.url.removesuffix("/v1")
    model = OpenAICompatibleModel("openai/x", root, "x", ModelSettings(retries=0))
    with pytest.raises(ParticipantError) as err:
        asyncio.run(model.respond(MESSAGES))
    assert err.value.fatal
    assert f"no chat API at {root}/chat/completions: is the API base {root}/v1?" in str(
        err.value)
    for base, message in ((server.url, "Not Found"), (root, "The model `x` does not exist")):
        server.handler = lambda request, message=message: StubFault(404, message)
        model = OpenAICompatibleModel("openai/x", base, "x", ModelSettings(retries=0))
        with pytest.raises(ParticipantError) as err:
            asyncio.run(model.respond(MESSAGES))
        assert "/v1?" not in str(err.value)


@pytest.mark.parametrize("stream", [False, True])
def test_a_reply_cut_off_at_the_token_limit_is_marked_on_both_paths(
        via: str, server: StubServer, stream: bool) -> None:
    """finish_reason "length": the reply's end is missing, and the Reply says so."""
    server.handler = lambda request: StubReply("Let me work it out: first", finish_reason="length")
    model = make_model("openai/student", settings(server, max_tokens=8))
    chunks: list[str] = []
    reply = asyncio.run(model.respond(MESSAGES, chunks.append if stream else None))
    assert reply.truncated and reply.content == "Let me work it out: first"
    server.handler = lambda request: StubReply("Final answer: 12")
    assert not asyncio.run(model.respond(MESSAGES, chunks.append if stream else None)).truncated


VLLM_CONTEXT = ("This model's maximum context length is 4096 tokens. However, you requested "
                "5000 tokens (30 in the messages, 4970 in the completion). Please reduce the "
                "length of the messages or completion.")
NGINX_503 = ("<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
             "<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
             "<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n")


@pytest.mark.parametrize(("status", "raw", "content_type", "said"), [
    pytest.param(400, json.dumps({"object": "error", "message": VLLM_CONTEXT,
                                  "type": "BadRequestError", "param": None, "code": 400}),
                 "application/json", VLLM_CONTEXT, id="vllm"),
    pytest.param(422, json.dumps({"error": "Input validation error: `inputs` too long",
                                  "error_type": "validation"}),
                 "application/json", "Input validation error: `inputs` too long", id="tgi"),
    pytest.param(404, json.dumps({"detail": "Not Found"}), "application/json", "Not Found",
                 id="fastapi-detail"),
    pytest.param(422, json.dumps({"detail": [{"loc": ["body", "messages"], "type": "missing",
                                              "msg": "Field required"}]}),
                 "application/json", "Field required", id="fastapi-validation"),
    pytest.param(503, NGINX_503, "text/html", "Service Temporarily Unavailable",
                 id="html-title"),
    pytest.param(502, "<html><body><h1>Bad gateway</h1>\n<p>Origin down</p></body></html>",
                 "text/html", "Bad gateway Origin down", id="html-text"),
    pytest.param(404, "404: Not Found", "text/plain", "Not Found", id="status-echo"),
])
def test_an_error_body_of_any_shape_is_reported_by_what_it_says(
    server: StubServer, status: int, raw: str, content_type: str, said: str
) -> None:
    """vLLM, TGI, FastAPI apps, proxies' HTML pages and plain-text servers each word an error
    their own way: the message is what the server said, not its JSON, markup, or an echo of
    the status ("HTTP 404: 404: Not Found")."""
    server.handler = lambda request: StubFault(status, raw=raw, content_type=content_type)
    model = OpenAICompatibleModel("openai/x", server.url, "x", ModelSettings(retries=0))
    with pytest.raises(ParticipantError) as err:
        asyncio.run(model.respond(MESSAGES))
    assert f"HTTP {status}: {said}" in str(err.value)
    for noise in ('{"', "<", f"{status}: {status}"):
        assert noise not in str(err.value)


def test_a_long_error_message_is_cut_at_a_word(server: StubServer) -> None:
    words = " ".join(f"word{i}" for i in range(200))  # ~1,400 characters
    server.handler = lambda request: StubFault(400, words)
    model = OpenAICompatibleModel("openai/x", server.url, "x", ModelSettings(retries=0))
    with pytest.raises(ParticipantError) as err:
        asyncio.run(model.respond(MESSAGES))
    message = str(err.value)
    assert message.endswith("…") and 450 < len(message) < 600
    last = message.rstrip("…").split()[-1]
    assert last in words.split()  # a whole word, not a piece of one


@pytest.fixture
def slow_embedded_load(server: StubServer, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """`local` served by the stub, its weights taking 0.2 s to "load"; the list records each
    load (True: it ran on the main thread)."""
    import threading
    from pathlib import Path

    from sml_cli import embedded

    path = Path("/models/tiny.gguf")
    loads: list[bool] = []

    def get_server(p: Path, settings: ModelSettings) -> embedded.EmbeddedServer:
        loads.append(threading.current_thread() is threading.main_thread())
        time.sleep(0.2)
        loaded = embedded._servers[p] = embedded.EmbeddedServer(p, server.url, 1, 512, None)
        return loaded

    monkeypatch.setattr(embedded, "_servers", {})
    monkeypatch.setattr(embedded, "resolve_gguf", lambda model: path)
    monkeypatch.setattr(embedded, "get_server", get_server)
    return loads


def test_an_embedded_model_loads_off_the_event_loop_once(slow_embedded_load: list[bool]) -> None:
    """Loading weights takes seconds: `make_model` leaves it to the first call (or
    `prepare`), which loads in a worker thread while the event loop goes on (a TUI keeps
    drawing); calls made meanwhile share that one load."""
    from sml_cli.models import MadeOnFirstCall

    model = make_model("local", ModelSettings())
    assert isinstance(model, MadeOnFirstCall) and slow_embedded_load == []

    async def main() -> tuple[list[Any], int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        results = await asyncio.gather(model.prepare(), model.respond(MESSAGES),
                                       model.respond(MESSAGES))
        ticker.cancel()
        return list(results), ticks

    (prepared, *replies), ticks = asyncio.run(main())
    assert slow_embedded_load == [False]
    assert ticks >= 5, "the event loop stood still while the weights loaded"
    assert isinstance(prepared, OpenAICompatibleModel)
    assert [r.content for r in replies] == [REPLY, REPLY]
    # Once loaded, the process's server is used at once.
    assert isinstance(make_model("local", ModelSettings()), OpenAICompatibleModel)
    assert slow_embedded_load == [False]


def test_weights_that_fail_to_load_end_the_call_as_a_fatal_model_error(
        monkeypatch: pytest.MonkeyPatch, slow_embedded_load: list[bool]) -> None:
    from sml_cli import embedded
    from sml_cli.errors import SmlError

    def broken(path: Any, settings: ModelSettings) -> Any:
        raise SmlError(f"could not load {path} with llama.cpp: unknown model architecture")

    monkeypatch.setattr(embedded, "get_server", broken)
    model = make_model("local", ModelSettings())
    with pytest.raises(ParticipantError, match="unknown model architecture") as caught:
        asyncio.run(model.respond(MESSAGES))
    assert caught.value.fatal


def test_credentials_in_the_base_url_are_sent_as_basic_auth_and_never_shown(
    via: str, server: StubServer
) -> None:
    # A gateway behind basic auth: https://user:password@host/v1, as httpx (and so litellm)
    # takes it; the direct client refuses a URL with credentials beside a header.
    with_credentials = server.url.replace("://", "://tutor:pw%40secret@")
    model = make_model("openai/student", ModelSettings(api_base=with_credentials, retries=0))
    assert asyncio.run(model.respond(MESSAGES)).content == REPLY
    assert server.headers[-1]["authorization"] == "Basic dHV0b3I6cHdAc2VjcmV0"  # tutor:pw@secret
    unreachable = "http://tutor:pw-secret@127.0.0.1:9/v1"
    model = make_model("openai/student", ModelSettings(api_base=unreachable, retries=0))
    with pytest.raises(ParticipantError) as err:
        asyncio.run(model.respond(MESSAGES))
    assert "127.0.0.1:9" in str(err.value) and "pw-secret" not in str(err.value)


def test_a_spent_quota_is_told_from_a_rate_limit() -> None:
    from sml_cli.models import (
        HTTPStatusError,
        is_fatal,
        is_out_of_quota,
        is_rate_limited,
        is_retryable,
    )

    def refusal(message: str, status: int = 429) -> HTTPStatusError:
        return HTTPStatusError(status, message, {})

    billing = "You exceeded your current quota, please check your plan and billing details."
    spent = [refusal(billing), refusal('{"error": {"code": "insufficient_quota"}}'),
             refusal("Your credit balance is too low: insufficient credits")]
    for exc in spent:
        assert is_out_of_quota(exc) and is_fatal(exc), exc
        assert not is_rate_limited(exc) and not is_retryable(exc), exc
    # Gemini's free tier words its per-minute limit as OpenAI words a spent quota, but names
    # a wait; OpenAI's per-minute limits name one too.
    limited = [refusal(billing + " Please retry in 13.35s."),
               refusal("Rate limit reached for gpt-4o-mini on tokens per min (TPM). Please "
                       "try again in 292ms."), refusal("slow down")]
    for exc in limited:
        assert is_rate_limited(exc) and is_retryable(exc) and not is_fatal(exc), exc
    # Only a 429 is either.
    assert not is_out_of_quota(refusal(billing, 500)) and not is_rate_limited(refusal("", 500))
