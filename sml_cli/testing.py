"""Test doubles, shipped as part of sml (like httpx's MockTransport or inspect_ai's mockllm).

* `ScriptedParticipant` — a student or teacher whose replies come from a list or a function
  of the messages it is sent; it records every request, so a test can assert what a
  participant did or did not see.
* `StubServer` — a loopback OpenAI-compatible `/v1/chat/completions` endpoint driven by a
  Python function, with fixed latency, streaming, and fault injection (HTTP errors,
  garbage bodies, hangs). Point any model at it with `openai/<name>` and its `url` as api base.
  `python -m sml_cli.testing --port 8000 --latency 0.2` runs one for benchmarks.
* `hinting_teacher` / `hint_following_student` — a pair of scripted behaviours in which the
  student can only solve from a hint the teacher derives from the private answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any

from sml_cli.participants import Message, Reply, TokenCallback

Script = Sequence[str] | Callable[[list[Message]], str | Awaitable[str]]


class ScriptedParticipant:
    """Replies from a list (in order; the last one repeats) or a function of the messages."""

    def __init__(self, script: Script, name: str = "scripted", *, delay: float = 0.0) -> None:
        if not callable(script) and not script:
            raise ValueError("ScriptedParticipant needs at least one reply (or a function)")
        self.name = name
        self._script = script
        self._delay = delay
        self.requests: list[list[Message]] = []

    async def respond(
        self, messages: list[Message], on_token: TokenCallback | None = None
    ) -> Reply:
        self.requests.append([dict(m) for m in messages])
        if self._delay:
            await asyncio.sleep(self._delay)
        if callable(self._script):
            result = self._script(messages)
            text = await result if inspect.isawaitable(result) else result
        else:
            index = min(len(self.requests) - 1, len(self._script) - 1)
            text = self._script[index]
        if on_token is not None:
            for piece in re.findall(r"\S+\s*|\s+", text):
                on_token(piece)
        words = sum(len(m["content"].split()) for m in messages)
        return Reply(text, model=self.name, prompt_tokens=words,
                     completion_tokens=len(text.split()), cost_usd=None, latency_ms=0.0)


# ----------------------------------------------------------------------------- behaviours

_REFERENCE = re.compile(r"Reference answer \(hidden from the student\):\s*(\S+)")
_HINT = re.compile(r"one more than (-?\d+(?:\.\d+)?)")


def _plain(value: Decimal) -> str:
    """A decimal as people write it: 12.5, 7 (never 7.0 or 1.25E+1)."""
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def hinting_teacher(messages: list[Message]) -> str:
    """Derives a hint from the private answer when it has one; otherwise can only encourage."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    match = _REFERENCE.search(system)
    if match:
        try:
            value = Decimal(match.group(1).replace(",", "").rstrip("."))
            return f"Think again: the result is one more than {_plain(value - 1)}."
        except InvalidOperation:
            pass
    return "Keep trying, check each step carefully."


def hint_following_student(messages: list[Message]) -> str:
    """Guesses 0 unless a user message carries the teacher's hint, then answers from it."""
    for m in reversed(messages):
        if m["role"] == "user":
            hint = _HINT.search(m["content"])
            if hint:
                return f"Thanks! Then Final answer: {_plain(Decimal(hint.group(1)) + 1)}"
    return "Is it a trick question? Final answer: 0"


def telling_teacher(messages: list[Message]) -> str:
    """States the private answer outright (exercises the leak guard)."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    match = _REFERENCE.search(system)
    return f"The answer is {match.group(1)}." if match else "I don't know the answer."


def answer_copying_student(messages: list[Message]) -> str:
    """Repeats the last number it was told, so it solves only if the answer reaches it."""
    for m in reversed(messages):
        if m["role"] == "user":
            numbers = re.findall(r"-?\d+(?:\.\d+)?", m["content"])
            if numbers:
                return f"Final answer: {numbers[-1]}"
    return "Final answer: 0"


BEHAVIOURS: dict[str, Callable[[list[Message]], str]] = {
    "hinting_teacher": hinting_teacher,
    "hint_following_student": hint_following_student,
    "telling_teacher": telling_teacher,
    "answer_copying_student": answer_copying_student,
}


# ----------------------------------------------------------------------------- stub server


@dataclass
class StubFault:
    """Make the stub fail a request: an HTTP status with an OpenAI-style error body (`body`
    is its message), a body of its own (`raw`, sent as is with `content_type`: an HTML page,
    vLLM's error shape, a completion where a stream was asked for), a non-JSON body, or a
    hang."""

    status: int = 500
    body: str | None = None
    garbage: bool = False
    hang: bool = False
    retry_after: str | None = None  # a Retry-After header, as a rate-limited API sends
    raw: str | None = None
    content_type: str = "application/json"


@dataclass
class StubReply:
    """A reply with more to it than text: the reasoning a reasoning model returns beside it
    (in `reasoning_field`, as vLLM, DeepSeek or OpenRouter do), or its finish reason."""

    content: str
    reasoning: str | None = None
    reasoning_field: str = "reasoning_content"
    finish_reason: str = "stop"


StubHandler = Callable[[dict[str, Any]], "str | StubReply | StubFault"]


def by_model(**handlers: Callable[[list[Message]], str | StubReply]) -> StubHandler:
    """Route requests to a behaviour by the request's `model` field (`openai/<name>` → name)."""

    def handle(request: dict[str, Any]) -> str | StubReply:
        name = request.get("model", "")
        if name not in handlers:
            return f"(no script for model {name!r})"
        return handlers[name](request["messages"])

    return handle


def thinking(handler: StubHandler) -> StubHandler:
    """`handler`'s replies as a reasoning model writes them: a <think> block first. What it
    "thinks" is the private part of the request it was sent — for a teacher, its reference
    answer — so a test or a demo can check that none of it travels on."""

    def handle(request: dict[str, Any]) -> str | StubReply | StubFault:
        result = handler(request)
        if not isinstance(result, str):
            return result
        messages = request.get("messages") or [{}]
        system = str(messages[0].get("content", "")) if messages[0].get("role") == "system" \
            else ""
        reference = _REFERENCE.search(system)
        note = (f"The reference answer is {reference.group(1)}; I must not say it."
                if reference else "I do not know the answer; let me reason it out.")
        return f"<think>\n{note}\n</think>\n\n{result}"

    return handle


class StubServer:
    """A loopback OpenAI-compatible chat-completions server on its own thread and event loop."""

    def __init__(self, handler: StubHandler, *, latency: float = 0.0, host: str = "127.0.0.1",
                 port: int = 0, max_in_flight: int | None = None,
                 rate_retry_ms: int = 200, max_per_second: float | None = None) -> None:
        self.handler = handler
        self.latency = latency
        # A rate limit as an API enforces one: a request arriving while `max_in_flight`
        # others are being answered is refused with a 429 that names a wait, in OpenAI's words.
        self.max_in_flight = max_in_flight
        self.rate_retry_ms = rate_retry_ms
        self.in_flight = self.peak_in_flight = self.refused_for_rate = 0
        # Or a rate limit proper: at most `max_per_second` requests a second, on average.
        self.max_per_second = max_per_second
        self._bucket, self._bucket_at = max_per_second or 0.0, time.monotonic()
        self.host, self.port = host, port
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # per request, lower-cased names
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._clients: set[asyncio.Task[None]] = set()
        self.errors: list[BaseException] = []  # exceptions raised by the handler
        self._start_error: OSError | None = None  # why the listener could not open

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> StubServer:
        """Start serving; an OSError if the address cannot be bound (a port in use)."""
        self._thread = threading.Thread(target=self._serve, name="sml-stub", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("stub server did not start")
        if self._start_error is not None:
            self._thread.join(5)
            raise self._start_error
        return self

    def stop(self) -> None:
        """Close the listener and every open connection, then end the server's thread."""
        loop = self._loop
        if loop is not None and self._server is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            with contextlib.suppress(Exception):  # best effort: the thread is a daemon anyway
                future.result(5)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread:
            self._thread.join(5)

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        clients = [t for t in self._clients if not t.done()]
        for task in clients:
            task.cancel()
        await asyncio.gather(*clients, return_exceptions=True)

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def messages_seen(self, model: str) -> list[list[Message]]:
        with self._lock:
            return [r["messages"] for r in self.requests if r.get("model") == model]

    # ------------------------------------------------------------------- internals

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._client, self.host, self.port,
                                                      backlog=1024)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        try:
            self._loop.run_until_complete(start())
        except OSError as exc:
            # Handed to `start`, in the caller's thread: not a traceback from this one.
            self._start_error = exc
            self._loop.close()
            self._ready.set()
            return
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
            task.add_done_callback(self._clients.discard)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip()
                           for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                await self._respond(method, path, body, writer, headers)
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # `stop()` cancels open connections; end normally, because asyncio's stream
            # callback calls task.exception(), which raises for a cancelled task (3.11).
            pass
        finally:
            writer.close()

    async def _respond(self, method: str, path: str, body: bytes,
                       writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        if method == "GET" and path.rstrip("/").endswith("/models"):
            self._send(writer, 200, {"object": "list", "data": []})
            return
        if not path.rstrip("/").endswith("/chat/completions"):
            self._send(writer, 404, {"error": {"message": f"no route {path}"}})
            return
        request = json.loads(body or b"{}")
        with self._lock:
            self.requests.append(request)
            self.headers.append(headers)
        refusal = self._over_limit()
        if refusal is not None:
            self.refused_for_rate += 1
            self._send(writer, 429, {"error": {"message": refusal, "type": "requests",
                                               "code": "rate_limit_exceeded"}})
            return
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await self._complete(request, writer)
        finally:
            self.in_flight -= 1

    def _over_limit(self) -> str | None:
        """Why this request is refused for the rate, in OpenAI's words, if it is."""
        if self.max_in_flight is not None and self.in_flight >= self.max_in_flight:
            return (f"Rate limit reached: {self.max_in_flight} requests at once. Please try "
                    f"again in {self.rate_retry_ms}ms.")
        if self.max_per_second is None:
            return None
        # A token bucket holding a second's worth of requests, refilled continuously.
        now = time.monotonic()
        rate = self.max_per_second
        self._bucket = min(rate, self._bucket + (now - self._bucket_at) * rate)
        self._bucket_at = now
        if self._bucket >= 1:
            self._bucket -= 1
            return None
        wait_ms = max(1, round((1 - self._bucket) / rate * 1000))
        return (f"Rate limit reached for requests: limit {rate:g} per second. Please try "
                f"again in {wait_ms}ms.")

    async def _complete(self, request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)
        try:
            result = self.handler(request)
        except Exception as exc:  # a broken test handler: answer 500 rather than drop the line
            with self._lock:
                self.errors.append(exc)
            result = StubFault(500, f"stub handler raised {type(exc).__name__}: {exc}")
        if isinstance(result, StubFault):
            if result.hang:
                await asyncio.sleep(3600)
            if result.garbage:
                self._send_raw(writer, 200, b"this is not json{", "application/json")
            elif result.raw is not None:
                self._send_raw(writer, result.status, result.raw.encode(), result.content_type)
            else:
                extra = {"Retry-After": result.retry_after} if result.retry_after else None
                self._send(writer, result.status,
                           {"error": {"message": result.body or "stub fault", "type": "stub"}},
                           extra)
            return
        reply = result if isinstance(result, StubReply) else StubReply(result)
        prompt_tokens = sum(len(str(m.get("content", "")).split())
                            for m in request.get("messages", []))
        completion_tokens = len(reply.content.split()) + len((reply.reasoning or "").split())
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        created = int(time.time())
        model = request.get("model", "stub")
        if request.get("stream"):
            await self._stream(writer, reply, model, created, usage)
            return
        message = {"role": "assistant", "content": reply.content}
        if reply.reasoning is not None:
            message[reply.reasoning_field] = reply.reasoning
        self._send(writer, 200, {
            "id": "chatcmpl-stub", "object": "chat.completion", "created": created,
            "model": model,
            "choices": [{"index": 0, "finish_reason": reply.finish_reason, "message": message}],
            "usage": usage,
        })

    async def _stream(self, writer: asyncio.StreamWriter, reply: StubReply, model: str,
                      created: int, usage: dict[str, int]) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n")
        deltas: list[dict[str, Any]] = [
            {reply.reasoning_field: piece}
            for piece in re.findall(r"\S+\s*|\s+", reply.reasoning or "")]
        deltas += [{"content": piece}
                   for piece in re.findall(r"\S+\s*|\s+", reply.content) or [""]]
        for i, delta in enumerate(deltas):
            if i == 0:
                delta["role"] = "assistant"
            self._chunk(writer, {"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                                 "created": created, "model": model,
                                 "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        self._chunk(writer, {"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                             "created": created, "model": model,
                             "choices": [{"index": 0, "delta": {},
                                          "finish_reason": reply.finish_reason}]})
        self._chunk(writer, {"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                             "created": created, "model": model, "choices": [], "usage": usage})
        data = b"data: [DONE]\n\n"
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n")
        await writer.drain()

    @staticmethod
    def _chunk(writer: asyncio.StreamWriter, payload: dict[str, Any]) -> None:
        data = f"data: {json.dumps(payload)}\n\n".encode()
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _send(self, writer: asyncio.StreamWriter, status: int, payload: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        self._send_raw(writer, status, json.dumps(payload).encode(), "application/json",
                       headers)

    @staticmethod
    def _send_raw(writer: asyncio.StreamWriter, status: int, data: bytes, ctype: str,
                  headers: dict[str, str] | None = None) -> None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:  # (a status no standard names)
            reason = "Error"
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n{extra}"
            f"Content-Length: {len(data)}\r\n\r\n".encode() + data
        )


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="A loopback OpenAI-compatible stub endpoint.")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--think", action="store_true",
                        help="Answer like a reasoning model served without a reasoning "
                        "parser: each reply opens with a <think> block of private notes.")
    parser.add_argument("--max-in-flight", type=int, default=None, metavar="N",
                        help="Refuse a request with a 429, as a rate-limited API does, while "
                        "N others are being answered.")
    parser.add_argument("--max-per-second", type=float, default=None, metavar="R",
                        help="Refuse requests with a 429 beyond R a second (a token bucket "
                        "of R).")
    args = parser.parse_args()
    handler = by_model(**BEHAVIOURS, student=hint_following_student, teacher=hinting_teacher)
    try:
        server = StubServer(thinking(handler) if args.think else handler, latency=args.latency,
                            port=args.port, max_in_flight=args.max_in_flight,
                            max_per_second=args.max_per_second).start()
    except OSError as exc:
        import errno
        import sys

        why = ("port in use (another server listens there: choose another --port)"
               if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc))
        print(f"error: --port {args.port}: {why}", file=sys.stderr)
        sys.exit(2)
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    _main()
