"""How real OpenAI-compatible servers misbehave, and what sml makes of it: errors inside 200
replies and streams, servers that ignore `stream: true`, … Each quirk is served by the stub
(`StubFault(raw=…)`) or, where the stub cannot speak it (a stream cut short, an error event
after some tokens), by a small aiohttp server on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from sml_cli.models import ModelSettings, OpenAICompatibleModel, make_model
from sml_cli.participants import ParticipantError
from sml_cli.testing import StubFault, StubServer

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "3*4?"}]
ANSWER = "Twelve. Final answer: 12"

Handler = Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]]


class Loopback:
    """An aiohttp server on loopback, on its own thread and event loop, whose
    `POST /v1/chat/completions` is `handler(request, its JSON body)`."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[dict[str, Any]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        return await self.handler(request, body)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def __enter__(self) -> Loopback:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def completion(text: str = ANSWER, **extra: Any) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}, **extra}


def chunk(delta: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": None}]
    return {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": choices,
            **extra}


async def sse(request: web.Request, *events: dict[str, Any] | str,
              pause: float = 0.0) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event)
        await response.write(f"data: {data}\n\n".encode())
        if pause:
            await asyncio.sleep(pause)
    return response


@pytest.fixture(params=["direct", "litellm"])
def via(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    if request.param == "litellm":
        monkeypatch.setenv("SML_VIA_LITELLM", "1")
    else:
        monkeypatch.delenv("SML_VIA_LITELLM", raising=False)
    return str(request.param)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer(lambda request: ANSWER) as server:
        yield server


def call(url: str, *, stream: bool, retries: int = 0, **settings: Any) -> Any:
    model = make_model("openai/m", ModelSettings(api_base=url, retries=retries,
                                                 retry_base_s=0.001, **settings))
    tokens: list[str] = []
    reply = asyncio.run(model.respond(MESSAGES, tokens.append if stream else None))
    return reply, "".join(tokens)


def failure(url: str, *, stream: bool, retries: int = 0, **settings: Any) -> str:
    with pytest.raises(ParticipantError) as err:
        call(url, stream=stream, retries=retries, **settings)
    return str(err.value)


# ----------------------------------------------------------------------------- errors in 200s

OVERLOADED = json.dumps({"error": {"message": "Upstream provider overloaded",
                                   "type": "server_error", "code": 502}})


@pytest.mark.parametrize("stream", [False, True])
def test_an_error_in_a_200_reply_is_reported_by_its_message_and_retried(
    via: str, stub: StubServer, stream: bool
) -> None:
    """A gateway relays an upstream failure with status 200: what it says is the error (not
    "EmptyReply", not "not a chat completion"), retried like the 5xx its code names."""
    stub.handler = lambda request: StubFault(200, raw=OVERLOADED)
    message = failure(stub.url, stream=stream, retries=1)
    assert "Upstream provider overloaded" in message
    assert "EmptyReply" not in message and "not a chat completion" not in message
    if via == "direct":
        assert "InternalServerError: an error instead of a completion" in message
        assert len(stub.requests) == 2  # retried once


@pytest.mark.parametrize("body", [
    {"object": "error", "message": "This model does not support tools", "code": 400},
    {"error": {"message": "invalid temperature", "code": "400"}},
    {"detail": "Bad value for max_tokens"},
], ids=["vllm", "code-as-text", "fastapi"])
def test_an_error_in_a_200_reply_keeps_the_status_it_names(
    stub: StubServer, body: dict[str, Any]
) -> None:
    stub.handler = lambda request: StubFault(200, raw=json.dumps(body))
    model = OpenAICompatibleModel("openai/m", stub.url, "m",
                                  ModelSettings(retries=2, retry_base_s=0.001))
    with pytest.raises(ParticipantError) as err:
        asyncio.run(model.respond(MESSAGES))
    said = body.get("message") or body.get("detail") or body["error"]["message"]
    assert said in str(err.value)
    if "detail" in body:  # no code: a server error, retried
        assert "InternalServerError" in str(err.value) and len(stub.requests) == 3
    else:  # a bad request is refused the same way every time: not retried
        assert "BadRequestError" in str(err.value) and len(stub.requests) == 1


def test_an_error_event_in_a_stream_is_reported_by_its_message() -> None:
    async def handler(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return await sse(request, chunk({"role": "assistant", "content": "Is "}),
                         {"error": {"message": "CUDA out of memory", "code": 500}})

    with Loopback(handler) as server:
        message = failure(server.url, stream=True, retries=1)
        assert len(server.requests) == 2
    assert "InternalServerError: error in the stream: CUDA out of memory" in message


# ----------------------------------------------------------------------------- ignored stream

@pytest.mark.parametrize("content_type", ["application/json", "text/event-stream"])
def test_a_server_that_ignores_stream_true_is_heard(
    via: str, stub: StubServer, content_type: str
) -> None:
    """Asked to stream, some servers answer with a whole completion: its text is the reply
    (all at once to the token callback), with its usage."""
    stub.handler = lambda request: StubFault(200, raw=json.dumps(completion()),
                                             content_type=content_type)
    reply, streamed = call(stub.url, stream=True)
    assert reply.content == streamed == ANSWER
    assert (reply.prompt_tokens, reply.completion_tokens) == (5, 4)
