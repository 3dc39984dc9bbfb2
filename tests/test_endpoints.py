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
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)  # (handlers may hang)
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


@pytest.fixture
def via(transport: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each model-call path (`transport`), with a key and no endpoint variable set."""
    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return transport


def without_model_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key, endpoint, database or path choice inherited from the environment."""
    for name in ("OPENAI_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL", "SML_DB",
                 "SML_VIA_LITELLM"):
        monkeypatch.delenv(name, raising=False)


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


# ----------------------------------------------------------------------------- hints

VLLM_CONTEXT = json.dumps({
    "object": "error", "type": "BadRequestError", "param": None, "code": 400,
    "message": "This model's maximum context length is 4096 tokens. However, you requested "
               "5000 tokens (30 in the messages, 4970 in the completion). Please reduce the "
               "length of the messages or completion."})
TGI_CONTEXT = json.dumps({
    "error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 2048. "
             "Given: 40 `inputs` tokens and 5000 `max_new_tokens`", "error_type": "validation"})


@pytest.mark.parametrize(("status", "body"), [(400, VLLM_CONTEXT), (422, TGI_CONTEXT)],
                         ids=["vllm", "tgi"])
def test_a_request_longer_than_the_context_says_which_limit_to_lower(
    via: str, stub: StubServer, status: int, body: str
) -> None:
    if via == "litellm" and status == 422:
        pytest.skip("litellm cannot read TGI's 422 body (its error is an AttributeError)")
    stub.handler = lambda request: StubFault(status, raw=body)
    message = failure(stub.url, stream=False, max_tokens=5000, role="teacher")
    assert "maximum context length is 4096" in message or "must be <= 2048" in message
    assert ("must fit in the model's context: lower --teacher-max-tokens, 5000 now, or use a "
            "model with a longer context") in message
    assert len(stub.requests) == 1  # not retried
    unnamed = failure(stub.url, stream=False)
    assert "lower --student/--teacher-max-tokens, 512 now" in unnamed


@pytest.mark.parametrize(("keys", "says"), [
    ({}, "no key was given for the student's model, so sml sent a placeholder: give this "
         "server's key with --student-api-key or SML_STUDENT_API_KEY, or in OPENAI_API_KEY "
         "for every role"),
    ({"OPENAI_API_KEY": "sk-wrong"}, "the student's key, from OPENAI_API_KEY, was refused: "
     "check it, or give the student's model its own with --student-api-key or "
     "SML_STUDENT_API_KEY"),
    ({"api_key": "sk-wrong"}, "the student's key was refused: check --student-api-key or "
                              "SML_STUDENT_API_KEY"),
    # (litellm's words when a provider's variable is unset: no key was refused, none was sent)
    ({"OPENAI_API_KEY": "sk-x", "reply": "Missing Anthropic API Key - no key is set"},
     "no key was found for the student's model: set the variable named above, or give the "
     "student's model its own with --student-api-key or SML_STUDENT_API_KEY"),
], ids=["none", "shared", "role", "missing"])
def test_a_refused_key_names_the_role_and_where_to_give_one(
    via: str, stub: StubServer, monkeypatch: pytest.MonkeyPatch, keys: dict[str, str],
    says: str
) -> None:
    """A keyless call to a server that wants a key: the server echoes sml's placeholder
    ("Incorrect API key provided: sk-no-k***ded"), which tells the user nothing by itself."""
    monkeypatch.delenv("OPENAI_API_KEY")
    for name, value in keys.items():
        if name.isupper():
            monkeypatch.setenv(name, value)
    stub.handler = lambda request: StubFault(
        401, keys.get("reply", "Incorrect API key provided: sk-no-k***ded."))
    message = failure(stub.url, stream=False, role="student", api_key=keys.get("api_key"))
    assert "AuthenticationError" in message and says in message, message


def test_an_eval_names_the_role_whose_key_was_refused(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine_fixtures import EVAL_PROBLEMS, cli_output, write_problems
    from typer.testing import CliRunner

    from sml_cli.cli import app
    from sml_cli.testing import by_model, hint_following_student

    without_model_variables(monkeypatch)
    handler = by_model(student=hint_following_student)
    with StubServer(lambda r: StubFault(401, "Invalid API key") if r["model"] == "teacher"
                    else handler(r)) as server:
        result = CliRunner().invoke(app, [
            "eval", "--student", "openai/student", "--teacher", "openai/teacher",
            "--student-api-base", server.url, "--teacher-api-base", server.url,
            "--problems", str(write_problems(tmp_path / "p.jsonl", EVAL_PROBLEMS[:1])),
            "--max-turns", "2", "--db", str(tmp_path / "e.db"), "--quiet"])
    output = " ".join(cli_output(result).split())
    assert result.exit_code == 1, output
    assert "no key was given for the teacher's model" in output
    assert "--teacher-api-key or SML_TEACHER_API_KEY" in output


def test_a_chat_tells_each_model_its_role(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine_fixtures import EVAL_PROBLEMS, write_problems

    from sml_cli import chat, models
    from sml_cli.testing import ScriptedParticipant

    made: dict[str, str | None] = {}

    def make(model: str, settings: ModelSettings) -> ScriptedParticipant:
        made[model] = settings.role
        return ScriptedParticipant(["ok"], model)

    monkeypatch.setattr(chat, "make_model", make)
    monkeypatch.setattr(models, "_import_litellm", lambda: None)
    options = chat.ChatOptions(role="watch", student="openai/a", teacher="openai/b",
                               problems=str(write_problems(tmp_path / "p.jsonl", EVAL_PROBLEMS)),
                               problem_id="q1", db=str(tmp_path / "c.db"))
    chat.HostSession(options).close()
    assert made == {"openai/a": "student", "openai/b": "teacher"}


# ----------------------------------------------------------------------------- connections

def test_a_connection_closed_mid_response_is_said_so_and_retried() -> None:
    """aiohttp words it "ContentLengthError: 400, message='Not enough data…'", which reads
    like an HTTP 400."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        if body.get("stream"):
            response = await sse(request, chunk({"role": "assistant", "content": "Is "}))
        else:
            response = web.StreamResponse(headers={"Content-Type": "application/json",
                                                   "Content-Length": "5000"})
            await response.prepare(request)
            await response.write(json.dumps(completion()).encode()[:40])
        assert request.transport is not None
        request.transport.close()
        return response

    with Loopback(handler) as server:
        for stream in (False, True):
            message = failure(server.url, stream=stream, retries=1)
            assert "ResponseCutShort: the server closed the connection mid-response" in message
            assert "400" not in message
        assert len(server.requests) == 4  # each retried once


def test_https_to_a_plain_http_server_says_to_try_http(via: str) -> None:
    """A plain-HTTP server (aiohttp, uvicorn, llama.cpp) answers a TLS hello with an HTTP
    400, which OpenSSL reports as "wrong version number"."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(completion())

    with Loopback(handler) as server:
        base = server.url.replace("http://", "https://")
        message = failure(base, stream=False, timeout=10)
        assert not server.requests
    assert f"the TLS handshake with {base} failed" in message, message
    assert f"try {server.url})" in message
    assert "is the server running" not in message


# ----------------------------------------------------------------------------- timeouts

def words_then(pause: float, *, stall_after: int | None = None) -> Handler:
    """A stream of six words, `pause` s apart; with `stall_after`, silence after that many."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i, word in enumerate(["One", "two", "three", "four", "five", "six"]):
            if i == stall_after:
                await asyncio.sleep(3600)
            event = chunk({"content": word + " "})
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
            await asyncio.sleep(pause)
        end = {**chunk(), "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        await response.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
        return response

    return handler


def test_a_stream_may_outlast_the_timeout_while_its_tokens_keep_coming(via: str) -> None:
    with Loopback(words_then(0.3)) as server:
        reply, streamed = call(server.url, stream=True, timeout=1.0)
    assert reply.content.strip() == streamed.strip() == "One two three four five six"


def test_a_stream_that_goes_silent_is_cut_off_and_said_so() -> None:
    with Loopback(words_then(0.01, stall_after=2)) as server:
        message = failure(server.url, stream=True, retries=1, timeout=0.5)
        assert len(server.requests) == 2
    assert "TimeoutError: the stream stopped: nothing more for 0.5 s after 2 chunks" in message


def test_chat_takes_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from sml_cli.cli import app
    from sml_cli.tui import app as tui

    seen: list[Any] = []
    monkeypatch.setattr(tui, "run_chat", lambda options, **kw: seen.append(options))
    result = CliRunner().invoke(app, ["chat", "--role", "student", "--teacher", "openai/t",
                                      "--timeout", "7.5"])
    assert result.exit_code == 0, result.output
    assert seen[0].student_settings.timeout == seen[0].teacher_settings.timeout == 7.5


# ----------------------------------------------------------------------------- tool calls

async def tool_call(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    call = {"id": "call_1", "type": "function",
            "function": {"name": "calculator", "arguments": '{"expr": "3*4"}'}}
    if not body.get("stream"):
        reply = completion()
        reply["choices"][0].update(finish_reason="tool_calls", message={
            "role": "assistant", "content": None, "tool_calls": [call]})
        return web.json_response(reply)
    end = {**chunk(), "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    return await sse(request, chunk({"role": "assistant", "content": None,
                                     "tool_calls": [{"index": 0, **call}]}), end, "[DONE]")


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_call_instead_of_an_answer_is_said_so_and_not_retried(
    via: str, stream: bool
) -> None:
    with Loopback(tool_call) as server:
        message = failure(server.url, stream=stream, retries=2)
        assert len(server.requests) == 1
    assert "the model made a tool call (calculator) instead of answering" in message
    assert "EmptyReply" not in message


# ----------------------------------------------------------------------------- API bases

@pytest.mark.parametrize(("given", "meant"), [
    ("localhost:9140/v1", "http://localhost:9140/v1"),
    ("127.0.0.1:9140/v1", "http://127.0.0.1:9140/v1"),
    ("localhost:9140", "http://localhost:9140"),
    ("htp://127.0.0.1:9140/v1", "http://127.0.0.1:9140/v1"),
    ("htps://api.example.com/v1", "https://api.example.com/v1"),
])
@pytest.mark.parametrize("command", ["eval", "chat"])
@pytest.mark.parametrize("role", ["student", "teacher"])
def test_an_api_base_that_is_no_http_url_is_refused_before_anything_runs(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, given: str, meant: str, command: str,
    role: str
) -> None:
    """Without a scheme every call failed after its retries, and the run exited 0."""
    from engine_fixtures import cli_output
    from typer.testing import CliRunner

    from sml_cli.cli import app
    from sml_cli.tui import app as tui

    monkeypatch.setattr(tui, "run_chat", lambda *a, **k: pytest.fail("the chat started"))
    args = [command, "--student", "openai/s", "--teacher", "openai/t",
            f"--{role}-api-base", given, "--db", str(tmp_path / "x.db")]
    if command == "chat":
        args += ["--role", "watch"]
    result = CliRunner().invoke(app, args)
    output = " ".join(cli_output(result).split())
    assert result.exit_code == 2, output
    assert (f"--{role}-api-base '{given}': not an http(s) URL; did you mean {meant}?"
            in output)
    assert not (tmp_path / "x.db").exists()


def test_a_full_endpoint_url_is_cut_to_its_base_and_recorded_so(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, stub: StubServer
) -> None:
    from engine_fixtures import EVAL_PROBLEMS, cli_output, sqlite_rows, write_problems
    from typer.testing import CliRunner

    from sml_cli.cli import app

    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL", "SML_DB", "SML_VIA_LITELLM"):
        monkeypatch.delenv(name, raising=False)
    pasted = stub.url + "/chat/completions"
    result = CliRunner().invoke(app, [
        "eval", "--student", "openai/s", "--teacher", "openai/t", "--student-api-base",
        pasted, "--teacher-api-base", pasted + "/", "--max-turns", "1", "--run-id", "r",
        "--problems", str(write_problems(tmp_path / "p.jsonl", EVAL_PROBLEMS[:1])),
        "--db", str(tmp_path / "e.db"), "--quiet"])
    output = " ".join(cli_output(result).split())
    assert result.exit_code == 0, output
    assert (f"--student-api-base {pasted}: sml adds /chat/completions to the API base "
            f"itself; using {stub.url}") in output
    assert sqlite_rows(tmp_path / "e.db", "SELECT DISTINCT status FROM sessions") == [("done",)]
    config = json.loads(sqlite_rows(tmp_path / "e.db", "SELECT config FROM runs")[0][0])
    assert config["student_api_base"] == config["teacher_api_base"] == stub.url


def test_a_run_records_the_endpoint_a_variable_sent_it_to(
    monkeypatch: pytest.MonkeyPatch, stub: StubServer, tmp_path: Any
) -> None:
    """Where the requests went is part of a run's provenance whether a flag or
    OPENAI_API_BASE named it (it was recorded for flags only; a variable's run said null).
    A hosted provider's model records none."""
    from engine_fixtures import EVAL_PROBLEMS, sqlite_rows, write_problems
    from typer.testing import CliRunner

    from sml_cli.cli import app

    for name in ("OPENAI_BASE_URL", "SML_DB", "SML_VIA_LITELLM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_BASE", stub.url)
    result = CliRunner().invoke(app, [
        "eval", "--student", "openai/s", "--teacher", "openai/t", "--max-turns", "1",
        "--problems", str(write_problems(tmp_path / "p.jsonl", EVAL_PROBLEMS[:1])),
        "--db", str(tmp_path / "e.db"), "--quiet"])
    assert result.exit_code == 0, result.output
    config = json.loads(sqlite_rows(tmp_path / "e.db", "SELECT config FROM runs")[0][0])
    assert config["student_api_base"] == config["teacher_api_base"] == stub.url
    from sml_cli.evaluate import EvalOptions, run_config
    from sml_cli.problems import load_problems
    from sml_cli.prompts import Prompts

    hosted = run_config(EvalOptions(student="anthropic/claude-x", teacher="local"),
                        load_problems("arithmetic")[:1], Prompts(None))
    assert hosted["student_api_base"] is None and hosted["teacher_api_base"] is None


def test_a_teacher_that_is_the_students_model_goes_where_the_student_does(
    monkeypatch: pytest.MonkeyPatch, stub: StubServer, tmp_path: Any
) -> None:
    """Without --teacher, the student's model teaches too, at the student's API base: its
    requests went to the provider's own address (OpenAI's, with no key: refused)."""
    from engine_fixtures import EVAL_PROBLEMS, sqlite_rows, write_problems
    from typer.testing import CliRunner

    from sml_cli.cli import app

    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL", "OPENAI_API_KEY", "SML_DB",
                 "SML_VIA_LITELLM"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, [
        "eval", "--student", "openai/s", "--student-api-base", stub.url, "--max-turns", "2",
        "--problems", str(write_problems(tmp_path / "p.jsonl", EVAL_PROBLEMS[:1])),
        "--db", str(tmp_path / "e.db"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert sqlite_rows(tmp_path / "e.db", "SELECT DISTINCT status FROM sessions") == [("done",)]
    config = json.loads(sqlite_rows(tmp_path / "e.db", "SELECT config FROM runs")[0][0])
    assert config["teacher"] == "openai/s" and config["teacher_api_base"] == stub.url
    roles = [m["content"] for r in stub.requests for m in r["messages"]
             if m["role"] == "system"]
    assert any("teacher" in text.lower() for text in roles), "the teacher was called there"


def test_a_base_url_variable_is_checked_for_the_models_it_serves(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from sml_cli.errors import UsageError
    from sml_cli.models import direct_endpoint, validate_endpoint_variables

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("SML_VIA_LITELLM", raising=False)
    monkeypatch.setenv("OPENAI_API_BASE", "localhost:8000/v1")
    for model in ("openai/qwen", "gpt-4o-mini", "Qwen/Qwen2.5-7B-Instruct"):
        with pytest.raises(UsageError, match="OPENAI_API_BASE 'localhost:8000/v1': not an "
                                             r"http\(s\) URL; did you mean http://localhost"):
            validate_endpoint_variables(model, ModelSettings())
    # Not the variable of these models', or not used by them.
    validate_endpoint_variables("anthropic/claude-sonnet-4", ModelSettings())
    validate_endpoint_variables("local", ModelSettings())
    validate_endpoint_variables("openai/qwen", ModelSettings(api_base="http://h/v1"))
    monkeypatch.setenv("OPENAI_API_BASE", "http://h:8000/v1/chat/completions")
    assert direct_endpoint("openai/qwen", ModelSettings()) == "http://h:8000/v1"


def test_a_404_under_a_base_with_v1_in_it_suggests_the_base_up_to_v1(
    stub: StubServer
) -> None:
    stub.handler = lambda request: StubFault(404, raw="404: Not Found", content_type="text/plain")
    model = OpenAICompatibleModel("openai/m", stub.url + "/chat", "m", ModelSettings(retries=0))
    with pytest.raises(ParticipantError) as err:
        asyncio.run(model.respond(MESSAGES))
    assert f"is the API base {stub.url}?" in str(err.value)


# ----------------------------------------------------------------------------- prices

@pytest.mark.parametrize("name", ["openai/gpt-4o-mini", "gpt-4o-mini"])
@pytest.mark.parametrize("litellm_loaded", [True, False])
def test_a_model_on_a_server_of_ones_own_has_no_price(
    via: str, stub: StubServer, monkeypatch: pytest.MonkeyPatch, name: str,
    litellm_loaded: bool
) -> None:
    """gpt-4o-mini served by a local server or a gateway costs what that server costs, not
    OpenAI's list price — and the answer does not depend on whether litellm happened to be
    loaded already (it did: `_known_price`)."""
    from sml_cli import models

    models._import_litellm()
    if not litellm_loaded and via == "direct":
        monkeypatch.setattr(models, "_litellm", None)
    model = make_model(name, ModelSettings(api_base=stub.url, retries=0))
    reply = asyncio.run(model.respond(MESSAGES))
    assert reply.content == ANSWER and reply.completion_tokens
    assert reply.cost_usd is None


def test_openai_itself_keeps_its_prices_and_needs_its_key(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from sml_cli import models
    from sml_cli.errors import UsageError
    from sml_cli.models import LiteLLMModel, check_credentials, direct_endpoint

    for name in ("OPENAI_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL", "SML_VIA_LITELLM"):
        monkeypatch.delenv(name, raising=False)
    litellm = models._import_litellm()
    response = litellm.ModelResponse(
        model="gpt-4o-mini", usage=litellm.Usage(prompt_tokens=1000, completion_tokens=1000,
                                                 total_tokens=2000))
    official = ModelSettings(api_base="https://api.openai.com/v1")
    assert direct_endpoint("openai/gpt-4o-mini", official) is None  # litellm's path
    priced = make_model("openai/gpt-4o-mini", official)
    assert isinstance(priced, LiteLLMModel)
    cost = priced._cost(litellm, response, 1000, 1000)
    assert cost is not None and cost > 0
    # A streamed reply (no whole response to price) is priced from its counts; unknown
    # counts, no price.
    assert priced._cost(litellm, None, 1000, 1000) == pytest.approx(cost)
    assert priced._cost(litellm, response, None, None) is None
    for custom in ("http://127.0.0.1:8000/v1", "https://gateway.example.com/v1"):
        assert LiteLLMModel("openai/gpt-4o-mini", ModelSettings(api_base=custom))._cost(
            litellm, response, 1000, 1000) is None
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:8000/v1")
    assert LiteLLMModel("openai/gpt-4o-mini", ModelSettings())._cost(
        litellm, response, 1000, 1000) is None
    monkeypatch.delenv("OPENAI_API_BASE")
    with pytest.raises(UsageError) as refused:
        check_credentials("gpt-4o-mini", official, "--student")
    assert "https://api.openai.com/v1 is OpenAI's own API, which needs one" in str(
        refused.value)


# ----------------------------------------------------------------------------- token counts

def test_token_counts_in_the_shapes_servers_report_them() -> None:
    from sml_cli.models import token_counts

    assert token_counts({"prompt_tokens": 5, "completion_tokens": 4}, "hi") == (5, 4)
    assert token_counts({}, "hi") == (None, None)
    assert token_counts({"prompt_tokens": None, "completion_tokens": None}, "hi") == (None, None)
    # Zeros for a reply with text: a server that does not count (or litellm's stand-in).
    assert token_counts({"prompt_tokens": 0, "completion_tokens": 0}, "hi") == (None, None)
    # llama.cpp: what it evaluated plus what it took from its cache, and what it wrote.
    timings = {"prompt_n": 10, "cache_n": 30, "predicted_n": 8, "predicted_ms": 40.2}
    assert token_counts({"timings": timings}, "hi") == (40, 8)
    assert token_counts({"prompt_tokens": 41, "completion_tokens": 8, "timings": timings},
                        "hi") == (41, 8)


def no_usage(*, timings: dict[str, int] | None = None) -> Handler:
    """A server that reports no usage (`usage: null`), or only llama.cpp's `timings`."""

    async def handler(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        extra = {"timings": timings} if timings else {}
        if not body.get("stream"):
            return web.json_response({**completion(), "usage": None, **extra})
        end = {**chunk(), "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
               **extra}
        return await sse(request, chunk({"role": "assistant", "content": ANSWER}), end,
                         "[DONE]")

    return handler


@pytest.mark.parametrize("stream", [False, True])
def test_a_reply_without_usage_has_unknown_token_counts_on_both_paths(
    via: str, stream: bool
) -> None:
    """Not 0 (what was recorded), and not litellm's own estimate for a stream (which the
    plain HTTP path never made): unknown, the same on both."""
    with Loopback(no_usage()) as server:
        reply, _ = call(server.url, stream=stream)
    assert reply.content == ANSWER
    assert (reply.prompt_tokens, reply.completion_tokens, reply.cost_usd) == (None, None, None)


@pytest.mark.parametrize("stream", [False, True])
def test_llama_cpp_timings_count_the_tokens_when_usage_does_not(via: str, stream: bool) -> None:
    with Loopback(no_usage(timings={"prompt_n": 10, "predicted_n": 8})) as server:
        reply, _ = call(server.url, stream=stream)
    assert (reply.prompt_tokens, reply.completion_tokens) == (10, 8)


def test_an_eval_on_a_server_without_usage_says_its_token_totals_are_partial(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine_fixtures import EVAL_PROBLEMS, cli_output, sqlite_rows, write_problems
    from typer.testing import CliRunner

    from sml_cli.cli import app
    from sml_cli.testing import hint_following_student, hinting_teacher

    without_model_variables(monkeypatch)
    behaviours = {"student": hint_following_student, "teacher": hinting_teacher}

    async def handler(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        text = behaviours[body["model"]](body["messages"])
        reply = completion(text)
        if body["model"] == "teacher":
            reply["usage"] = None
        return web.json_response(reply)

    db = tmp_path / "e.db"
    with Loopback(handler) as server:
        args = ["eval", "--student", "openai/student", "--teacher", "openai/teacher",
                "--student-api-base", server.url, "--teacher-api-base", server.url,
                "--problems", str(write_problems(tmp_path / "p.jsonl", EVAL_PROBLEMS[:2])),
                "--conditions", "answer", "--max-turns", "2", "--run-id", "u", "--db",
                str(db), "--json", str(tmp_path / "r.json")]
        result = CliRunner().invoke(app, args)
    output = " ".join(cli_output(result).split())
    assert result.exit_code == 0, output
    assert ("usage not reported for 2 teacher replies (the server sent no token counts): "
            "the token totals count only the other replies") in output
    rows = sqlite_rows(db, "SELECT student_tokens, teacher_tokens FROM sessions")
    assert rows == [(18, None), (18, None)]  # 2 student replies × 9 each; teacher unknown
    assert sqlite_rows(db, "SELECT count(*) FROM turns WHERE role = 'teacher' AND "
                           "prompt_tokens IS NULL") == [(2,)]
    scores = json.loads((tmp_path / "r.json").read_text())["conditions"]["answer"]
    assert (scores["student_tokens"], scores["teacher_tokens"]) == (36, 0)  # SPEC §4: ints
    report = CliRunner().invoke(app, ["report", "u", "--db", str(db), "--html",
                                      str(tmp_path / "r.html")])
    assert "usage not reported for 2 teacher replies" in " ".join(cli_output(report).split())
    # The HTML report carries the same notes under its header.
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "usage not reported for 2 teacher replies" in " ".join(page.split())
