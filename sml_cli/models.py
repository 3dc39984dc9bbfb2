"""Model participants (SPEC §6): any litellm model string, plus `local` and `gguf:PATH`.

litellm costs seconds to import, so it is imported on first use, never at CLI start-up.
`local` / `gguf:PATH` start an in-process llama.cpp server (see `embedded`) and are then
called through litellm's OpenAI client like any hosted model: no special case downstream.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass, replace
from typing import Any

from sml_cli.errors import UsageError
from sml_cli.participants import Message, ParticipantError, Reply, TokenCallback

LOCAL = "local"
HUMAN = "human"
GGUF_PREFIX = "gguf:"


@dataclass(frozen=True)
class ModelSettings:
    api_base: str | None = None
    temperature: float | None = None
    max_tokens: int | None = 512
    timeout: float = 120.0
    retries: int = 4
    retry_base_s: float = 1.0  # first back-off; doubles each retry, with jitter
    seed: int | None = None
    # embedded (local / gguf:) models
    n_ctx: int = 4096  # per parallel slot
    n_parallel: int = 4
    threads: int | None = None


def is_embedded(model: str) -> bool:
    return model == LOCAL or model.startswith(GGUF_PREFIX)


def validate_model_name(model: str, flag: str, *, allow_human: bool = False) -> None:
    """Fail early (exit 2) on a model string that can never work, before any session starts."""
    if not model or model.strip() != model:
        raise UsageError(f"{flag} {model!r}: empty or padded model name")
    if model == HUMAN and not allow_human:
        raise UsageError(f"{flag} human: a person can only take part in `sml chat`")
    if model.startswith(GGUF_PREFIX):
        from pathlib import Path

        path = Path(model[len(GGUF_PREFIX) :]).expanduser()
        if not path.is_file():
            raise UsageError(f"{flag} {model}: no such GGUF file {str(path)!r}")


_NOT_RETRYABLE = (
    "AuthenticationError", "PermissionDeniedError", "NotFoundError", "BadRequestError",
    "ContextWindowExceededError", "ContentPolicyViolationError", "UnprocessableEntityError",
    "UnsupportedParamsError", "BudgetExceededError", "PaymentRequiredError", "InvalidRequestError",
)


def is_retryable(exc: BaseException) -> bool:
    """Rate limits, timeouts, connection faults, 5xx and malformed responses are retried;
    requests the provider will refuse every time (auth, bad request, unknown model) are not."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"RateLimitError", "Timeout", "APITimeoutError", "APIConnectionError",
                "InternalServerError", "ServiceUnavailableError", "BadGatewayError"}:
        return True
    if names & set(_NOT_RETRYABLE):
        return False
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status in (408, 409, 425, 429) or status >= 500
    return True  # unknown faults (garbage JSON, dropped streams) are worth another try


_litellm: Any = None


def _import_litellm() -> Any:
    global _litellm
    if _litellm is None:
        import litellm

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        litellm.drop_params = True  # e.g. `seed` for providers that do not take it
        _litellm = litellm
    return _litellm


class LiteLLMModel:
    """A participant backed by any litellm model string."""

    def __init__(self, model: str, settings: ModelSettings, *, label: str | None = None,
                 api_key: str | None = None, free: bool = False) -> None:
        self.model = model
        self.name = label or model
        self.settings = settings
        self._api_key = api_key
        self._free = free
        self._cost_known: bool | None = None

    def _request(self, messages: list[Message], stream: bool) -> dict[str, Any]:
        s = self.settings
        # max_retries=0: the OpenAI client inside litellm would otherwise retry on its own,
        # multiplying `--retries`; this class's loop is the one place retries happen.
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages,
                                  "timeout": s.timeout, "stream": stream, "max_retries": 0}
        if s.api_base:
            kwargs["api_base"] = s.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
        if s.temperature is not None:
            kwargs["temperature"] = s.temperature
        if s.max_tokens is not None:
            kwargs["max_tokens"] = s.max_tokens
        if s.seed is not None:
            kwargs["seed"] = s.seed
        if stream:
            kwargs["stream_options"] = {"include_usage": True}
        return kwargs

    async def respond(
        self, messages: list[Message], on_token: TokenCallback | None = None
    ) -> Reply:
        # The first import takes seconds: do it off the event loop so a UI stays responsive.
        litellm = _litellm or await asyncio.to_thread(_import_litellm)
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                if on_token is None:
                    response = await litellm.acompletion(**self._request(messages, False))
                    content = response.choices[0].message.content or ""
                    usage = getattr(response, "usage", None)
                else:
                    content, usage, response = await self._stream(litellm, messages, on_token)
                latency = (time.perf_counter() - started) * 1000
                return Reply(
                    content=content,
                    model=self.name,
                    prompt_tokens=getattr(usage, "prompt_tokens", None),
                    completion_tokens=getattr(usage, "completion_tokens", None),
                    cost_usd=self._cost(litellm, response),
                    latency_ms=latency,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                if not is_retryable(exc) or attempt > self.settings.retries:
                    raise ParticipantError(f"{self.name}: {_describe(exc)}") from exc
                delay = self.settings.retry_base_s * (2 ** (attempt - 1))
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))

    async def _stream(
        self, litellm: Any, messages: list[Message], on_token: TokenCallback
    ) -> tuple[str, Any, Any]:
        response = await litellm.acompletion(**self._request(messages, True))
        parts: list[str] = []
        usage = None
        chunks = []
        async for chunk in response:
            chunks.append(chunk)
            if getattr(chunk, "usage", None):
                usage = chunk.usage
            if chunk.choices:
                delta = chunk.choices[0].delta.content
                if delta:
                    parts.append(delta)
                    on_token(delta)
        built = None
        if usage is None and chunks:
            built = litellm.stream_chunk_builder(chunks, messages=messages)
            usage = getattr(built, "usage", None)
        return "".join(parts), usage, built

    def _cost(self, litellm: Any, response: Any) -> float | None:
        if self._free:
            return 0.0
        if response is None or self._cost_known is False:
            return None
        try:
            cost = float(litellm.completion_cost(completion_response=response))
            self._cost_known = True
            return cost
        except Exception:
            # Unknown to litellm's price map (self-hosted, new models): remember, don't retry.
            self._cost_known = False
            return None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text[:300]}" if text else name


def make_model(model: str, settings: ModelSettings) -> LiteLLMModel:
    """A participant for a model string (`local`, `gguf:PATH` or any litellm model)."""
    if is_embedded(model):
        from sml_cli import embedded

        path = embedded.resolve_gguf(model)
        server = embedded.get_server(path, settings)
        local_settings = replace(settings, api_base=server.base_url,
                                 retries=max(settings.retries, 1))
        # The loopback server's OpenAI-compatible API, called through litellm's OpenAI client.
        return LiteLLMModel("openai/" + embedded.served_name(path), local_settings,
                            label=model, api_key="local", free=True)
    return LiteLLMModel(model, settings)


def api_key_present() -> bool:
    return any(k.endswith("_API_KEY") and v for k, v in os.environ.items())
