"""Model participants (SPEC §6): any litellm model string, plus `local` and `gguf:PATH`.

litellm costs seconds to import, so it is imported on first use, never at CLI start-up.
`local` / `gguf:PATH` start an in-process llama.cpp server (see `embedded`); it, and
`openai/…` or `hosted_vllm/…` models on a custom endpoint, are called over their
OpenAI-compatible API by `OpenAICompatibleModel`, without litellm (whose import alone takes
seconds, and each call ≈ 10 ms of CPU); downstream, every model is the same `Participant`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from html import unescape
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from sml_cli.cells import clipped_at_word
from sml_cli.errors import SmlError, UsageError
from sml_cli.participants import (
    Message,
    Participant,
    ParticipantError,
    Reply,
    TokenCallback,
    VisibleTokens,
    split_reasoning,
)
from sml_cli.ratelimit import rate_limiter
from sml_cli.records import HUMAN

LOCAL = "local"
GGUF_PREFIX = "gguf:"


@dataclass(frozen=True)
class ModelSettings:
    api_base: str | None = None
    # A key for this role only (two providers in one run); held in memory, never stored,
    # never shown in a repr or a traceback.
    api_key: str | None = field(default=None, repr=False)
    temperature: float | None = None
    max_tokens: int | None = 512
    timeout: float = 120.0
    retries: int = 4
    retry_base_s: float = 1.0  # first back-off; doubles each retry, with jitter
    # Seconds one call may spend waiting out rate limits (429s), which --retries does not
    # count; a call still refused after them ends its session in error.
    rate_limit_wait: float = 300.0
    seed: int | None = None
    # Whose model this is ("student" / "teacher"), for errors that name the role's flags.
    role: str | None = None
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


def checked_api_base(value: str, source: str) -> tuple[str, str | None]:
    """(the API base to use, a note on how it was changed, if it was) for the value of a
    flag or variable (`source`, for messages); UsageError for one that can never work. A
    full endpoint URL (…/v1/chat/completions, pasted from a server's docs) is cut to its
    base, since /chat/completions is added to every request."""
    url = value.strip()
    if not url:
        raise UsageError(f"{source} {value!r}: empty; leave it out for the provider's own "
                         "address")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(
            c.isspace() for c in url):
        rest = url.split("://", 1)[1] if "://" in url else url
        scheme = "https" if "://" in url and url.split("://")[0].lower().endswith("s") \
            else "http"
        raise UsageError(f"{source} {value!r}: not an http(s) URL; did you mean "
                         f"{scheme}://{''.join(rest.split())}?")
    base = re.sub(r"/chat/completions/*$", "", url, flags=re.I)
    if base != url:
        return base, (f"{source} {value}: sml adds /chat/completions to the API base itself; "
                      f"using {base}")
    return url, None


# A client that found no key at all, in litellm's words and others'.
_MISSING_KEY = re.compile(r"\bmissing\b[^.\n]{0,40}\b(?:api[ _]?key|token)|"
                          r"\b(?:api[ _]?key|token)\b[^.\n]{0,20}\bnot (?:set|found|provided)",
                          re.IGNORECASE)


def without_credentials(url: str | None) -> str | None:
    """`url` minus a user:password@ part and a query (?api_key=…): what may be shown, logged
    or stored of an API base. (A query could not reach the API anyway: /chat/completions is
    appended to the base.)"""
    if not url:
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _basic_auth(url: str) -> str | None:
    """The Authorization header for credentials written into a base URL
    (https://user:password@gateway/v1), as httpx, and so litellm, sends them; None if none."""
    import base64

    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return None
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


# A `provider/` prefix as litellm's are written (`anthropic/`, `ollama/`), unlike the
# organisation in a served name (`Qwen/…`, `meta-llama/…`).
_PROVIDER_PREFIX = re.compile(r"[a-z0-9_]+/")


def validate_endpoint_variables(model: str | None, settings: ModelSettings) -> None:
    """Before a run: exit 2 for a base URL variable (OPENAI_API_BASE, …) this role's model
    would be sent to that can never work. Names that only litellm can place are checked
    again when they are routed (`_custom_endpoint`)."""
    endpoint_from_variables(model, settings)


def endpoint_from_variables(model: str | None, settings: ModelSettings) -> str | None:
    """The base URL a provider variable (OPENAI_API_BASE, …) sends this role's model to, when
    no flag names one (checked: UsageError naming the variable); None if none does. Found
    without litellm, so a dry run stays quick."""
    if model is None or settings.api_base or is_embedded(model) or model == HUMAN:
        return None
    provider = _direct_provider(model)
    if provider is None and _PROVIDER_PREFIX.match(model):
        return None  # another provider's model: these variables are not its
    return _endpoint_variable(provider or "openai/")


def _endpoint_variable(provider: str) -> str | None:
    """The base URL a provider's variables give (checked: UsageError naming the variable),
    if one is set."""
    for name in _DIRECT_PROVIDERS[provider][0]:
        if os.environ.get(name):
            return checked_api_base(os.environ[name], name)[0]
    return None


_NOT_RETRYABLE = (
    "AuthenticationError", "PermissionDeniedError", "NotFoundError", "BadRequestError",
    "ContextWindowExceededError", "ContentPolicyViolationError", "UnprocessableEntityError",
    "UnsupportedParamsError", "BudgetExceededError", "PaymentRequiredError", "InvalidRequestError",
    "ToolCallInstead",
)


def is_retryable(exc: BaseException) -> bool:
    """Rate limits, timeouts, connection faults, 5xx and malformed responses are retried;
    requests the provider will refuse every time (auth, bad request, unknown model, a spent
    quota) are not."""
    if is_out_of_quota(exc):
        return False
    names = _class_names(exc)
    if names & {"RateLimitError", "Timeout", "APITimeoutError", "APIConnectionError",
                "InternalServerError", "ServiceUnavailableError", "BadGatewayError",
                "TimeoutException", "TransportError"}:  # the last two: httpx
        return True
    if names & set(_NOT_RETRYABLE):
        return False
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status in (408, 409, 425, 429) or status >= 500
    return True  # unknown faults (garbage JSON, dropped streams) are worth another try


def _class_names(exc: BaseException) -> set[str]:
    # litellm's errors and the OpenAI client's share these names; ours mimic them (`kind`).
    return {cls.__name__ for cls in type(exc).__mro__}


def _is_kind(exc: BaseException, names: set[str], statuses: tuple[int, ...]) -> bool:
    """An error of one of these classes, or an HTTP error with one of these statuses."""
    return bool(_class_names(exc) & names) or getattr(exc, "status_code", None) in statuses


def _is_bad_request(exc: BaseException) -> bool:
    return _is_kind(exc, {"BadRequestError", "UnprocessableEntityError"}, (400, 422))


def is_fatal(exc: BaseException) -> bool:
    """A refusal that no other request of the run would escape: the key is rejected, the
    account may not use the model, or the endpoint has no such model (401, 403, 404), or the
    account's quota is spent."""
    return _is_kind(exc, {"AuthenticationError", "PermissionDeniedError", "NotFoundError"},
                    (401, 403, 404)) or is_out_of_quota(exc)


def _is_429(exc: BaseException) -> bool:
    return _is_kind(exc, {"RateLimitError"}, (429,))


def is_rate_limited(exc: BaseException) -> bool:
    """Refused for its rate: the same request succeeds later (429, unless the quota is
    spent)."""
    return _is_429(exc) and not is_out_of_quota(exc)


# OpenAI's 429 for an account without credit; Gemini's per-minute limits use its wording
# too, but name a wait ("Please retry in 13s"), as a spent quota does not.
_QUOTA_SPENT = re.compile(r"exceeded your current quota|quota (?:has been )?exhausted|"
                          r"insufficient (?:credits?|balance|funds)|out of credits?", re.I)


def is_out_of_quota(exc: BaseException) -> bool:
    """A 429 that no wait will lift: the account's quota or credit is spent."""
    if not _is_429(exc):
        return False
    text = str(exc)
    return "insufficient_quota" in text or (
        _QUOTA_SPENT.search(text) is not None and retry_after_seconds(exc) is None)


# A connection that could not be opened at all, by class (aiohttp, httpx, the OS) or, for
# errors litellm rewraps as APIConnectionError, by what it says.
_UNREACHABLE_CLASSES = {"ClientConnectorError", "ClientConnectorDNSError",
                        "ConnectionRefusedError", "ConnectError", "gaierror"}
_UNREACHABLE_TEXT = re.compile(r"connection refused|cannot connect to host|name or service "
                               r"not known|nodename nor servname|failed to resolve", re.I)


def is_unreachable(exc: BaseException) -> bool:
    """No server answered: nothing listens on the port, or the host name does not resolve."""
    seen: BaseException | None = exc
    for _ in range(6):  # the error and the errors it was raised from
        if seen is None:
            return False
        if _class_names(seen) & _UNREACHABLE_CLASSES or _UNREACHABLE_TEXT.search(str(seen)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


MAX_RETRY_AFTER_S = 120.0  # a busy server's wait that sml honours, at most
RATE_LIMIT_BACKOFF_MAX_S = 60.0  # between 429s that name no wait

# How servers say a request does not fit the model's context (vLLM, llama.cpp, TGI, OpenAI).
_CONTEXT_TEXT = re.compile(
    r"context length|context window|context_length_exceeded|exceeds? the context|"
    r"maximum context|tokens \+ `?max_new_tokens`? must be", re.I)


def retry_after_seconds(exc: BaseException) -> float | None:
    """The wait an error response asked for, from our HTTP errors or litellm's, if any: its
    `retry-after-ms` or `Retry-After` header (seconds or an HTTP date); else the wait its
    message names ("Please try again in 1.5s": OpenAI, Groq, Gemini's "retry in 13s"), which
    rate-limited OpenAI-style APIs write instead; else the reset time of the limit its
    `x-ratelimit-remaining-*` headers say is used up."""
    headers = getattr(exc, "headers", None) or getattr(exc, "litellm_response_headers", None)
    if headers is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    asked = _retry_after_header(headers) if headers else None
    if asked is None:
        asked = _wait_named_in(str(exc))
    if asked is None and headers:
        asked = _exhausted_limit_reset(headers)
    return asked


# "try again in 1.5s", "try again in 6m0s", "retry in 13.35s", "try again in 20ms"
_WAIT_AS_DURATION = re.compile(r"(?:try again|retry)\s+in\s+((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)\b",
                               re.IGNORECASE)
# "Please retry after 20 seconds" (Azure), "try again in 2 minutes"
_WAIT_IN_WORDS = re.compile(r"(?:try again|retry)\s+(?:in|after)\s+(\d+(?:\.\d+)?)\s*"
                            r"(millisecond|second|sec|minute)s?\b", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "millisecond": 0.001,
           "second": 1.0, "sec": 1.0, "minute": 60.0}


def _duration_s(text: str) -> float | None:
    """A Go-style duration ("6m0s", "1.5s", "20ms") in seconds; None if it is not one."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


def _wait_named_in(message: str) -> float | None:
    m = _WAIT_AS_DURATION.search(message)
    if m is not None:
        return _duration_s(m.group(1))
    m = _WAIT_IN_WORDS.search(message)
    return None if m is None else float(m.group(1)) * _UNIT_S[m.group(2).lower()]


def _exhausted_limit_reset(headers: Any) -> float | None:
    waits = []
    for limit in ("requests", "tokens"):
        try:
            used_up = headers.get(f"x-ratelimit-remaining-{limit}") == "0"
            reset = headers.get(f"x-ratelimit-reset-{limit}") if used_up else None
        except AttributeError:
            return None
        wait = _duration_s(str(reset).strip()) if reset else None
        if wait is not None:
            waits.append(wait)
    return max(waits) if waits else None


def _retry_after_header(headers: Any) -> float | None:
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime

            when = parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None


_litellm: Any = None


async def _litellm_off_the_loop() -> Any:
    # The first import takes seconds: in a thread, so that a UI stays responsive.
    return _litellm or await asyncio.to_thread(_import_litellm)


def _import_litellm() -> Any:
    global _litellm
    if _litellm is None:
        import litellm

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        litellm.drop_params = True  # e.g. `seed` for providers that do not take it
        _litellm = litellm
    return _litellm


# Local OpenAI-compatible servers (vLLM, llama.cpp, LM Studio) take no key, but the OpenAI
# client refuses to send a request without one.
PLACEHOLDER_KEY = "sk-no-key-needed"

# Providers whose models are plain OpenAI-compatible servers: (base URL variables, key
# variable), as litellm reads them.
_DIRECT_PROVIDERS = {
    "openai/": (("OPENAI_API_BASE", "OPENAI_BASE_URL"), "OPENAI_API_KEY"),
    "hosted_vllm/": (("HOSTED_VLLM_API_BASE",), "HOSTED_VLLM_API_KEY"),
}


def _direct_provider(model: str) -> str | None:
    """The prefix (`openai/`, `hosted_vllm/`) of a model sml can call over plain HTTP."""
    return next((p for p in _DIRECT_PROVIDERS if model.startswith(p)), None)


def names_no_provider(model: str) -> bool:
    """Does litellm say that no provider serves `model` (imports litellm)? Only its own
    "LLM Provider NOT provided" counts: anything else is left to the first call."""
    return _provider_of(model) is None


def _provider_of(model: str) -> str | None:
    """The provider litellm takes `model` for (imports litellm); None when it says that none
    serves it, "" when it fails otherwise (left to the first call)."""
    if _direct_provider(model):
        return model.split("/", 1)[0]
    try:
        found = _import_litellm().get_llm_provider(model=model)
    except Exception as exc:
        return None if "LLM Provider NOT provided" in str(exc) else ""
    return str(found[1]) if isinstance(found, tuple) and len(found) > 1 else ""


def routed(model: str, settings: ModelSettings) -> str:
    """The model string as called. Given a custom endpoint, a name no provider claims
    (vLLM's `Qwen/Qwen2.5-7B-Instruct`, Ollama's `qwen2.5:7b`) is a model of that
    OpenAI-compatible server: `openai/` goes in front, as a vLLM user would write it by hand
    after the first error. So is a bare OpenAI name (`gpt-4o-mini`): with an endpoint given
    for it, it is that endpoint's model (a gateway's, a server that serves it under that
    name), not a call to OpenAI's own API."""
    if not _routing_asks_litellm(model, settings):
        return model
    return "openai/" + model if _provider_of(model) in (None, "openai") else model


def _routing_asks_litellm(model: str, settings: ModelSettings) -> bool:
    """Whether `routed` must ask litellm about this name (importing it: seconds)."""
    if is_embedded(model) or model == HUMAN or _direct_provider(model):
        return False
    base_vars, _ = _DIRECT_PROVIDERS["openai/"]
    return bool(settings.api_base or any(os.environ.get(v) for v in base_vars))


def _custom_endpoint(model: str, settings: ModelSettings) -> tuple[str, str] | None:
    """(provider prefix, base URL) when an `openai/…` or `hosted_vllm/…` model (`model` as
    `routed`) is sent to a custom endpoint (a flag or the provider's base URL variable),
    else None."""
    provider = _direct_provider(model)
    if provider is None:
        return None
    base = _endpoint_base(model, settings)
    return (provider, base) if base and not is_openai_api(base) else None


def is_openai_api(base: str | None) -> bool:
    """Is this API base OpenAI's own API (no custom endpoint: litellm's path, with prices)?"""
    return (urlsplit(base or "").hostname or "").lower() == "api.openai.com"


def _endpoint_base(model: str, settings: ModelSettings) -> str | None:
    """The API base a model is sent to, if one is given (its role's flag, or the variable
    of an `openai/…` or `hosted_vllm/…` model)."""
    if settings.api_base:
        return settings.api_base
    provider = _direct_provider(model)
    return _endpoint_variable(provider) if provider else None


def needs_placeholder_key(model: str, settings: ModelSettings) -> bool:
    """An `openai/…` model (as `routed`) sent to a custom endpoint with no OPENAI_API_KEY
    set."""
    endpoint = _custom_endpoint(model, settings)
    return bool(endpoint and endpoint[0] == "openai/" and not settings.api_key
                and not os.environ.get("OPENAI_API_KEY"))


def check_credentials(model: str, settings: ModelSettings, flag: str) -> list[str]:
    """Before a run: exit 2 when an OpenAI model can only fail for want of a key; warnings
    (returned) for other providers whose usual key variables are unset, since some of them
    authenticate in other ways (cloud roles, local servers)."""
    if is_embedded(model) or model == HUMAN:
        return []
    model = routed(model, settings)
    if settings.api_key or needs_placeholder_key(model, settings):
        return []
    litellm = _import_litellm()
    if names_no_provider(model):
        # Every call would fail the same way: say so before the run, not once per session.
        role = flag.removeprefix("--")
        raise UsageError(
            f"{flag} {model}: litellm knows no provider for this name; put one in front: "
            f"openai/{model} for an OpenAI-compatible server (vLLM, llama.cpp, LM Studio, "
            f"Ollama's /v1; its URL in --{role}-api-base or OPENAI_API_BASE, and then the bare "
            f"name works too), or hosted_vllm/…, ollama/…, anthropic/…, openrouter/…")
    try:
        found = litellm.validate_environment(model=model, api_base=settings.api_base)
    except Exception:  # an unknown provider: litellm reports that on the first call
        return []
    missing = [k for k in found.get("missing_keys", []) if not k.endswith("_API_BASE")]
    if not missing:
        return []
    if missing == ["OPENAI_API_KEY"]:
        raise _no_openai_key(model, settings, flag)
    return [f"{flag} {model}: {', '.join(missing)} not set; its calls may fail"]


def _no_openai_key(model: str, settings: ModelSettings, flag: str) -> UsageError:
    role_var = f"SML_{flag.removeprefix('--').upper()}_API_KEY"
    base = _endpoint_base(model, settings)
    if base:  # (OpenAI's own: any other endpoint is called without a key)
        return UsageError(f"{flag} {model}: OPENAI_API_KEY is not set, and {base} is "
                          f"OpenAI's own API, which needs one. Set it (or {role_var} "
                          "for this role only).")
    return UsageError(
        f"{flag} {model}: OPENAI_API_KEY is not set. Set it (or {role_var} for this role "
        f"only), or point {flag}-api-base (or OPENAI_API_BASE) at an OpenAI-compatible "
        "server, which is then called without a key."
    )


def check_openai_key(model: str, settings: ModelSettings, flag: str) -> None:
    """The part of `check_credentials` that needs no litellm (whose import takes seconds):
    an `openai/…` model bound for OpenAI's own API with no key can only fail. `sml chat`
    checks it before a session opens; otherwise every call is retried before the session
    ends in an error the student's screen does not show."""
    if (not model.startswith("openai/") or settings.api_key
            or os.environ.get("OPENAI_API_KEY") or _custom_endpoint(model, settings)):
        return
    raise _no_openai_key(model, settings, flag)


@dataclass
class Dialect:
    """What one model on one endpoint turned out to refuse, learnt from its 400s and kept for
    every later request to it — from every session of the run, not only the one that met the
    refusal. OpenAI's reasoning models want `max_completion_tokens` and no `temperature`;
    some servers reject `stream_options`; some chat templates have no system role (Gemma's
    raises "System role not supported"), so the system prompt opens the first user message."""

    max_tokens_key: str = "max_tokens"
    usage_in_stream: bool = True
    sends_temperature: bool = True
    system_role: bool = True


_DIALECTS: dict[tuple[str, str], Dialect] = {}


def dialect_of(endpoint: str, model: str) -> Dialect:
    return _DIALECTS.setdefault((endpoint, model), Dialect())


def refuses_system_role(error_text: str) -> bool:
    """Does a refused request say the model's chat template has no system role?"""
    text = error_text.lower()
    return "system" in text and any(
        words in text for words in ("not supported", "unsupported", "not allowed",
                                    "does not support"))


def fold_system_prompt(messages: list[Message]) -> list[Message]:
    """The conversation without system messages: their text opens the first user message
    (or becomes one), which is what a template without a system role expects."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return messages
    if rest and rest[0]["role"] == "user":
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    else:
        rest.insert(0, {"role": "user", "content": system})
    return rest  # type: ignore[return-value]


class _RetryingModel:
    """Retries with exponential back-off and jitter around one call (`_once`)."""

    name: str
    settings: ModelSettings

    async def respond(
        self, messages: list[Message], on_token: TokenCallback | None = None
    ) -> Reply:
        pacer = rate_limiter(*self._endpoint)
        faults = refusals = 0
        waited_on_rate = 0.0
        while True:
            try:
                async with pacer.slot() as sent_at:
                    # A fresh filter per attempt: a retried stream starts from its beginning.
                    reply = await self._once(messages, on_token and VisibleTokens(on_token))
                    if not reply.content.strip() and not reply.reasoning:
                        raise EmptyReply("the model returned an empty message")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_rate_limited(exc):
                    # Waited out, not counted against --retries: a busy account is no fault,
                    # and every call of a large run may meet it several times.
                    refusals += 1
                    delay = self._rate_limit_wait(exc, refusals, waited_on_rate)
                    waited_on_rate += delay
                    pacer.refused(delay, sent_at)
                else:
                    faults += 1
                    if not is_retryable(exc) or faults > self.settings.retries:
                        raise self._failure(exc) from exc
                    delay = self.settings.retry_base_s * (2 ** (faults - 1))
                    delay *= random.uniform(0.5, 1.5)
                    # A busy server may say when to come back; sooner would only fail again.
                    asked = retry_after_seconds(exc)
                    if asked is not None:
                        delay = max(delay, min(asked, MAX_RETRY_AFTER_S))
                await asyncio.sleep(delay)
                continue
            pacer.succeeded()
            # Not retried: a model that thought past its budget would think as long again.
            return self._spoken(reply)

    def _failure(self, exc: BaseException, why: str = "") -> ParticipantError:
        hint = why or self._hint(exc) or self._usual_hint(exc)
        return ParticipantError(f"{self.name}: {_describe(exc)}{hint}", fatal=is_fatal(exc),
                                unreachable=is_unreachable(exc))

    def _rate_limit_wait(self, exc: BaseException, refusals: int, waited: float) -> float:
        """How long to wait after a call's `refusals`-th 429: what the API asks (a little
        more, so that calls refused together do not all come back in the same instant), else a
        doubling back-off; a ParticipantError once the waits would pass --rate-limit-wait."""
        budget = self.settings.rate_limit_wait
        asked = retry_after_seconds(exc)
        if asked is not None:
            delay = asked * random.uniform(1.0, 1.25) + 0.05
        else:
            delay = min(RATE_LIMIT_BACKOFF_MAX_S,
                        self.settings.retry_base_s * (2 ** (refusals - 1)))
            delay *= random.uniform(0.5, 1.5)
        if waited + delay <= budget:
            return delay
        if asked is not None and asked > budget - waited:
            why = (f" (the API asks to wait {asked:.0f} s, more than the "
                   f"{max(0.0, budget - waited):.0f} s left of --rate-limit-wait {budget:g}: "
                   "a limit per day or per month?)")
        else:
            why = (f" (refused for the rate {refusals} time{'s' if refusals != 1 else ''}, "
                   f"{waited:.0f} s of waits in all: lower --concurrency, or raise "
                   f"--rate-limit-wait, {budget:g} s now)")
        raise self._failure(exc, why)

    async def _once(self, messages: list[Message], on_token: TokenCallback | None) -> Reply:
        raise NotImplementedError

    def _spoken(self, reply: Reply) -> Reply:
        """The reply with its reasoning moved out of what the other side will read."""
        said, thought = split_reasoning(reply.content, reply.reasoning)
        if thought and not said:
            budget = self.settings.max_tokens
            raise ParticipantError(
                f"{self.name}: the reply was all reasoning and no message"
                + (f" (it may write {budget} tokens; reasoning models need more: raise "
                   "--student-max-tokens / --teacher-max-tokens)" if budget else "")
            )
        return replace(reply, content=said, reasoning=thought)

    dialect: Dialect
    _endpoint: tuple[str, str]  # (URL, model): whose rate limit the calls share

    def _without_system_role_if_refused(self, exc: BaseException) -> bool:
        """A bad request saying the chat template has no system role: from now on the system
        prompt goes into the first user message (True: try again)."""
        if self.dialect.system_role and _is_bad_request(exc) and refuses_system_role(str(exc)):
            self.dialect.system_role = False
            return True
        return False

    def _payload(self, messages: list[Message], stream: bool) -> dict[str, Any]:
        s, dialect = self.settings, self.dialect
        if not dialect.system_role:
            messages = fold_system_prompt(messages)
        payload: dict[str, Any] = {"messages": messages, "stream": stream}
        if s.temperature is not None and dialect.sends_temperature:
            payload["temperature"] = s.temperature
        if s.max_tokens is not None:
            payload[dialect.max_tokens_key] = s.max_tokens
        if s.seed is not None:
            payload["seed"] = s.seed
        if stream and dialect.usage_in_stream:
            payload["stream_options"] = {"include_usage": True}
        return payload

    def _hint(self, exc: BaseException) -> str:
        """What to check, for errors whose usual cause the message does not say."""
        return _unreachable_hint(exc, self.settings.api_base)

    def _usual_hint(self, exc: BaseException) -> str:
        """What to change for refusals every server words its own way: a rejected key, a
        request longer than the model's context."""
        role = self.settings.role
        flags = f"--{role}" if role else "--student/--teacher"
        if is_out_of_quota(exc):
            return (" (the account's quota or credit is spent, which no wait lifts: see the "
                    "provider's billing page, or use another key)")
        if _is_kind(exc, {"ContextWindowExceededError"}, ()) or (
                _is_bad_request(exc) and _CONTEXT_TEXT.search(str(exc))):
            limit = self.settings.max_tokens
            return (f" (the conversation and the reply must fit in the model's context: "
                    f"lower {flags}-max-tokens" + (f", {limit} now" if limit else "")
                    + ", or use a model with a longer context)")
        if _is_kind(exc, {"AuthenticationError"}, (401,)):
            whose = f"the {role}'s" if role else "this role's"
            key_flags = (f"{flags}-api-key or SML_{role.upper()}_API_KEY" if role else
                         "--student-api-key/--teacher-api-key or SML_STUDENT_API_KEY/"
                         "SML_TEACHER_API_KEY")
            source = self._key_source()
            if source == PLACEHOLDER_KEY:
                return (f" (no key was given for {whose} model, so sml sent a placeholder: give "
                        f"this server's key with {key_flags}, or in OPENAI_API_KEY for every "
                        "role)")
            if source is None:
                return f" ({whose} key was refused: check {key_flags})"
            if _MISSING_KEY.search(str(exc)):  # (litellm: "Missing Anthropic API Key - …")
                return (f" (no key was found for {whose} model: set the variable named above, "
                        f"or give {whose} model its own with {key_flags})")
            return (f" ({whose} key, from {source}, was refused: check it, or give {whose} "
                    f"model its own with {key_flags})")
        return ""

    def _key_source(self) -> str | None:
        """Where the key a call sent came from: None for this role's own key (flag or
        SML_*_API_KEY), PLACEHOLDER_KEY for none at all, else the variable it was read from
        (or a description, when the provider's client read it)."""
        return None


# Models litellm has no price for (self-hosted, new): looked up once per process, not per call.
_UNPRICED: set[str] = set()


class LiteLLMModel(_RetryingModel):
    """A participant backed by any litellm model string."""

    def __init__(self, model: str, settings: ModelSettings, *, label: str | None = None,
                 api_key: str | None = None) -> None:
        self.model = model
        self.name = label or model
        self.settings = settings
        self._api_key = api_key
        self._endpoint = (settings.api_base or "litellm", self.name)
        self.dialect = dialect_of(self._endpoint[0], model)

    async def prepare(self) -> LiteLLMModel:
        """Import litellm ahead of the first call, off the event loop (`sml chat` does so
        while the person reads the problem)."""
        await _litellm_off_the_loop()
        return self

    def _hint(self, exc: BaseException) -> str:
        if "LLM Provider NOT provided" in str(exc):  # (a chat meets it on its first turn)
            return (f" (put a provider in front of {self.model!r}: openai/… for an "
                    "OpenAI-compatible server, with its URL in --student-api-base or "
                    "--teacher-api-base; ollama/…, anthropic/…; `sml models` lists the forms)")
        return _unreachable_hint(exc, self._base())

    def _base(self) -> str | None:
        """The base URL litellm sends this model's requests to, if sml can tell."""
        base = self.settings.api_base
        if base is None and self.model.startswith("openai/"):  # (litellm reads these itself)
            base = os.environ.get("OPENAI_API_BASE") or os.environ.get("OPENAI_BASE_URL")
        return base

    def _key_source(self) -> str | None:
        if self._api_key:
            return None
        if needs_placeholder_key(self.model, self.settings):
            return PLACEHOLDER_KEY
        provider = _direct_provider(self.model)
        return _DIRECT_PROVIDERS[provider][1] if provider else "the provider's usual variable"

    def _request(self, messages: list[Message], stream: bool) -> dict[str, Any]:
        s = self.settings
        # max_retries=0: the OpenAI client inside litellm would otherwise retry on its own,
        # multiplying `--retries`; `_RetryingModel` is the one place retries happen.
        kwargs = {"model": self.model, "timeout": s.timeout, "max_retries": 0,
                  **self._payload(messages, stream)}
        if s.api_base:
            kwargs["api_base"] = s.api_base
        basic = _basic_auth(self._base() or "")
        if basic:  # (litellm's HTTP client refuses credentials in the URL beside a key)
            kwargs["api_base"] = without_credentials(self._base())
            kwargs["extra_headers"] = {"Authorization": basic}
        if self._api_key:
            kwargs["api_key"] = self._api_key
        elif needs_placeholder_key(self.model, s):
            kwargs["api_key"] = PLACEHOLDER_KEY
        return kwargs

    async def _once(self, messages: list[Message], on_token: TokenCallback | None) -> Reply:
        litellm = await _litellm_off_the_loop()
        try:
            return await self._call(litellm, messages, on_token)
        except Exception as exc:
            if not self._without_system_role_if_refused(exc):
                raise
            return await self._call(litellm, messages, on_token)

    async def _call(self, litellm: Any, messages: list[Message],
                    on_token: TokenCallback | None) -> Reply:
        started = time.perf_counter()
        if on_token is None:
            response = await litellm.acompletion(**self._request(messages, False))
            message = response.choices[0].message
            content = message.content or ""
            if getattr(message, "tool_calls", None) and not content.strip():
                raise ToolCallInstead(_tool_names(message.tool_calls))
            reasoning = getattr(message, "reasoning_content", None)
            usage = getattr(response, "usage", None)
            counted = {"prompt_tokens": getattr(usage, "prompt_tokens", None),
                       "completion_tokens": getattr(usage, "completion_tokens", None),
                       "timings": getattr(response, "timings", None)}
            finish = getattr(response.choices[0], "finish_reason", None)
        else:
            content, reasoning, counted, finish = await self._stream(litellm, messages,
                                                                     on_token)
            response = None
            if not content and not reasoning:
                # A server that ignores `stream: true`, or answers 200 with an error body,
                # streams nothing litellm can read (it makes up an empty "stop" chunk); asked
                # without streaming, it answers, or says what failed.
                reply = await self._call(litellm, messages, None)
                if reply.content:
                    on_token(reply.content)
                return reply
        reasoning = reasoning if isinstance(reasoning, str) else None
        prompt, completion = token_counts(counted, content + (reasoning or ""))
        return Reply(
            content=content,
            model=self.name,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=self._cost(litellm, response, prompt, completion),
            latency_ms=(time.perf_counter() - started) * 1000,
            reasoning=reasoning,
            truncated=finish == "length",
        )

    async def _stream(
        self, litellm: Any, messages: list[Message], on_token: TokenCallback
    ) -> tuple[str, str | None, dict[str, Any], str | None]:
        response = await litellm.acompletion(**self._request(messages, True))
        parts: list[str] = []
        thoughts: list[str] = []
        usage = None
        timings = None
        finish = None
        tools: list[str] = []
        async for chunk in response:
            if getattr(chunk, "usage", None):
                usage = chunk.usage
            timings = getattr(chunk, "timings", None) or timings  # llama.cpp's counts
            if chunk.choices:
                finish = getattr(chunk.choices[0], "finish_reason", None) or finish
                delta = chunk.choices[0].delta
                tools += _tool_names(getattr(delta, "tool_calls", None))
                thought = getattr(delta, "reasoning_content", None)
                if isinstance(thought, str):
                    thoughts.append(thought)
                if delta.content:
                    parts.append(delta.content)
                    on_token(delta.content)
        if tools and not "".join(parts).strip():
            raise ToolCallInstead(tools)
        received = getattr(response, "chunks", None)
        if received is not None and not any(getattr(c, "usage", None) for c in received):
            # When the server reported no usage, litellm makes up a last chunk with its own
            # estimate (its tokenizer's, not the model's): unknown, as on the plain HTTP
            # path. (The chunks it received are the ones with the server's usage, if any.)
            usage = None
        counted = {"prompt_tokens": getattr(usage, "prompt_tokens", None),
                   "completion_tokens": getattr(usage, "completion_tokens", None),
                   "timings": timings}
        return "".join(parts), "".join(thoughts) or None, counted, finish

    def _cost(self, litellm: Any, response: Any, prompt: int | None,
              completion: int | None) -> float | None:
        """litellm's price for this reply: from the whole `response`, or for a stream (None)
        from its token counts; None when they are unknown."""
        base = _endpoint_base(self.model, self.settings)
        if base and not is_openai_api(base):
            # A model on a server of one's own (or a gateway) costs what that server costs,
            # not its namesake's list price (litellm prices by the name the server returns:
            # llama.cpp answers as "gpt-3.5-turbo").
            return None
        if prompt is None or completion is None or self.model in _UNPRICED:
            return None
        try:
            if response is not None:
                return float(litellm.completion_cost(completion_response=response))
            costs = litellm.cost_per_token(model=self.model, prompt_tokens=prompt,
                                           completion_tokens=completion)
            return float(sum(costs))
        except Exception:
            _UNPRICED.add(self.model)
            return None


# The OpenAI client's names for HTTP statuses, so that errors read the same on both paths.
_STATUS_NAMES = {400: "BadRequestError", 401: "AuthenticationError",
                 403: "PermissionDeniedError", 404: "NotFoundError", 408: "Timeout",
                 409: "ConflictError", 422: "UnprocessableEntityError", 429: "RateLimitError",
                 503: "ServiceUnavailableError"}


class HTTPStatusError(Exception):
    """A non-2xx answer from an OpenAI-compatible endpoint (`status_code` drives retries)."""

    def __init__(self, status_code: int, body: str, headers: Any = None) -> None:
        said = clipped_at_word(_error_message(body, status_code), MESSAGE_LIMIT)
        super().__init__(f"HTTP {status_code}: {said}" if said else f"HTTP {status_code}")
        self.status_code = status_code
        self.body = body
        self.headers = headers  # case-insensitive (aiohttp's), for Retry-After
        self.kind = _status_kind(status_code)


def _status_kind(status: int) -> str:
    return _STATUS_NAMES.get(status, "InternalServerError" if status >= 500 else
                             "APIStatusError")


# How much of a server's error message is kept: vLLM's context-length refusals run to ~250
# characters, with what to change at their end.
MESSAGE_LIMIT = 500


def _error_message(body: str, status: int | None = None) -> str:
    """What an error body says: the message of a JSON error in any of the shapes servers use
    (see `_json_error`), the title or text of an HTML page (a proxy's), else the body, minus
    a leading echo of the status ("404: Not Found", as aiohttp and others write it)."""
    text = body.strip()
    try:
        found = _json_error(json.loads(text))
    except ValueError:
        found = None
    if found is not None:
        return found[0]
    if re.match(r"(?is)<!doctype html|<html|<head|<body", text):
        title = re.search(r"(?is)<title[^>]*>(.*?)</title>", text)
        if title and title.group(1).strip():
            text = title.group(1)
        else:
            text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", text)
            text = re.sub(r"<[^>]*>", " ", text)
        text = " ".join(unescape(text).split())
    if status is not None:
        text = re.sub(rf"^{status}\b:?\s*", "", text) or text
    return text


def _json_error(data: Any) -> tuple[str, int | None] | None:
    """(message, the HTTP status its code names, if any) of a JSON error body, or None for a
    body that is no error. OpenAI and most servers send {"error": {"message", "code"}}; TGI
    {"error": "…"}; vLLM {"object": "error", "message", "code"}; FastAPI apps {"detail": …}
    (a string, or a list of {"msg"} for validation errors)."""
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    code: Any = data.get("code")
    message: str | None = None
    if isinstance(error, dict):
        code = error.get("code", code)
        found = error.get("message")
        message = found if isinstance(found, str) and found.strip() else json.dumps(error)
    elif isinstance(error, str) and error.strip():
        message = error
    elif data.get("object") == "error" and isinstance(data.get("message"), str):
        message = data["message"]
    elif "choices" not in data and isinstance(data.get("detail"), str | list):
        detail = data["detail"]
        message = detail if isinstance(detail, str) else "; ".join(
            str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    if message is None:
        return None
    try:
        status = int(code)
    except (TypeError, ValueError):
        status = None
    return message, status if status is not None and 400 <= status <= 599 else None


# One connection pool per (event loop, endpoint): a client session cannot cross event loops.
# aiohttp rather than httpx: httpcore's pool scans every connection for every request, which
# at 50 concurrent sessions costs more CPU than the calls themselves (bench/eval_overhead.py).
_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


async def _closing(session: Any) -> AsyncIterator[None]:
    """Closes `session` when its event loop shuts down: `asyncio.run` finalises every live
    async generator of the loop, so no "Unclosed client session" is left behind."""
    try:
        yield
    finally:
        await session.close()


async def _http_session(url: str) -> Any:
    import aiohttp

    per_loop = _sessions.setdefault(asyncio.get_running_loop(), {})
    entry = per_loop.get(url)
    if entry is None or entry[0].closed:
        # Proxy variables apply to remote endpoints, as they do in litellm's client; the
        # embedded server is on loopback and never goes through a proxy.
        host = (urlsplit(url).hostname or "").lower()
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                        trust_env=host not in _LOOPBACK_HOSTS)
        keeper = _closing(session)
        await anext(keeper)
        entry = per_loop[url] = (session, keeper)
    return entry[0]


async def close_http_sessions() -> None:
    """Close this loop's connection pools now (a run's end)."""
    for _session, keeper in _sessions.pop(asyncio.get_running_loop(), {}).values():
        await keeper.aclose()  # its `finally` closes the session


class OpenAICompatibleModel(_RetryingModel):
    """Any OpenAI-compatible chat-completions endpoint, spoken to with a plain HTTP client:
    the embedded llama.cpp server, and `openai/…` models on a custom endpoint (vLLM,
    llama.cpp, a gateway). The API is fixed, so litellm's translation layer buys nothing
    there and costs ≈ 10 ms of CPU per call."""

    def __init__(self, label: str, base_url: str, served: str, settings: ModelSettings, *,
                 api_key: str | None = None, price: tuple[float, float] | None = None,
                 key_source: str | None = None) -> None:
        self.name = label
        self.settings = settings
        # Credentials in the URL go in a header (the client refuses both at once) and win
        # over a key, as they do through litellm; kept out of the URL, they stay out of
        # every message that names it.
        basic = _basic_auth(base_url)
        self._url = str(without_credentials(base_url)).rstrip("/") + "/chat/completions"
        self._served = served
        self._endpoint = (self._url, label)
        self.dialect = dialect_of(self._url, served)
        bearer = f"Bearer {api_key}" if api_key else None
        self._headers = {"Authorization": auth} if (auth := basic or bearer) else {}
        self._price = price  # USD per prompt token, per completion token
        self._from = PLACEHOLDER_KEY if api_key == PLACEHOLDER_KEY else key_source

    def _key_source(self) -> str | None:
        return self._from

    def _hint(self, exc: BaseException) -> str:
        # vLLM, llama.cpp and most gateways serve the API under /v1; a base URL without it
        # gets a bare 404 that names neither the path nor the model.
        if (isinstance(exc, HTTPStatusError) and exc.status_code == 404
                and "model" not in exc.body.casefold()
                and not self._url.endswith("/v1/chat/completions")):
            base = self._url.removesuffix("/chat/completions")
            # (…/v1/chat, say: the base is the part up to /v1, not that plus another /v1)
            head, v1, _ = base.partition("/v1/")
            guess = head + "/v1" if v1 else base + "/v1"
            return f" (no chat API at {self._url}: is the API base {guess}?)"
        return _unreachable_hint(exc, self._url.removesuffix("/chat/completions"))

    async def _once(self, messages: list[Message], on_token: TokenCallback | None) -> Reply:
        import aiohttp

        started = time.perf_counter()
        payload = {"model": self._served, **self._payload(messages, on_token is not None)}
        session = await _http_session(self._url)
        limit = self.settings.timeout
        # A streamed reply may take as long as it likes while its tokens keep coming: the
        # limit is on the silence between them (as httpx's read timeout is, for litellm).
        timeout = (aiohttp.ClientTimeout(total=limit) if on_token is None else
                   aiohttp.ClientTimeout(total=None, sock_connect=limit, sock_read=limit))
        error: HTTPStatusError | None = None
        try:
            async with session.post(self._url, json=payload, headers=self._headers,
                                    timeout=timeout) as response:
                if response.status >= 400:
                    raise HTTPStatusError(response.status, await response.text(),
                                          response.headers)
                if on_token is None:
                    content, reasoning, usage, finish = _parse_completion(
                        await response.read())
                else:
                    content, reasoning, usage, finish = await self._stream(response, on_token,
                                                                           limit)
        except HTTPStatusError as exc:  # (an error in a 2xx reply too: see ErrorInReply)
            error = exc
        except aiohttp.ClientPayloadError as exc:
            # aiohttp's words ("ContentLengthError: 400, message='Not enough data…'") read
            # like an HTTP 400; the server only hung up.
            raise ResponseCutShort("the server closed the connection mid-response") from exc
        except TimeoutError as exc:
            raise TimeoutError(str(exc) if isinstance(exc, StreamStalled)
                               else f"no answer within {limit:g} s") from None
        if error is not None:
            if not self._adapt_to(error, streaming=on_token is not None):
                raise error
            return await self._once(messages, on_token)
        prompt, completion = token_counts(usage, content + (reasoning or ""))
        cost = None
        if self._price is not None and prompt is not None and completion is not None:
            cost = prompt * self._price[0] + completion * self._price[1]
        return Reply(content=content, model=self.name, prompt_tokens=prompt,
                     completion_tokens=completion, cost_usd=cost,
                     latency_ms=(time.perf_counter() - started) * 1000, reasoning=reasoning,
                     truncated=finish == "length")

    def _adapt_to(self, error: HTTPStatusError, *, streaming: bool) -> bool:
        """Whether a refused request names a parameter this model can do without or spell
        differently; if so, change it (once, for every later call too) so that one
        server's dialect does not fail every session. OpenAI's reasoning models answer 400
        to `max_tokens`, naming `max_completion_tokens`; some OpenAI-compatible servers
        reject `stream_options` (usage is then counted from the final chunk, if any); reasoning
        models take no `temperature` but their default (as litellm's drop_params does it)."""
        if not _is_bad_request(error):
            return False
        body = error.body.lower()
        dialect = self.dialect
        if (dialect.sends_temperature and self.settings.temperature is not None
                and "temperature" in body and "unsupported" in body):
            dialect.sends_temperature = False
            return True
        if (dialect.max_tokens_key == "max_tokens" and self.settings.max_tokens is not None
                and "max_completion_tokens" in error.body):
            dialect.max_tokens_key = "max_completion_tokens"
            return True
        if streaming and dialect.usage_in_stream and "stream_options" in error.body:
            dialect.usage_in_stream = False
            return True
        return self._without_system_role_if_refused(error)

    @classmethod
    async def _stream(cls, response: Any, on_token: TokenCallback, limit: float
                      ) -> tuple[str, str | None, dict[str, Any], str | None]:
        events = [0]
        try:
            return await cls._read_stream(response, on_token, events)
        except TimeoutError:
            if not events[0]:
                raise
            raise StreamStalled(f"the stream stopped: nothing more for {limit:g} s after "
                                f"{events[0]} chunks") from None

    @staticmethod
    async def _read_stream(response: Any, on_token: TokenCallback, events: list[int]
                           ) -> tuple[str, str | None, dict[str, Any], str | None]:
        """Reads the stream; `events` counts its data events as they come."""
        parts: list[str] = []
        thoughts: list[str] = []
        usage: dict[str, Any] = {}
        timings = None
        finish: str | None = None
        tools: list[str] = []
        other = bytearray()  # what is no SSE field: a body that is no stream (bounded)
        async for raw in response.content:
            line = raw.decode("utf-8").strip()
            if not line.startswith("data:"):
                if line and not line.startswith((":", "event:", "id:", "retry:")) \
                        and len(other) < 1 << 20:
                    other += raw
                continue
            events[0] += 1
            data = line[5:].strip()
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            if not isinstance(chunk, dict):
                raise MalformedResponse(f"not a stream chunk: {data[:200]!r}")
            failure = _json_error(chunk)
            if failure is not None and not chunk.get("choices"):
                # Servers report a failure mid-stream this way (vLLM, TGI, gateways).
                raise ErrorInReply(data, *failure, where="error in the stream")
            usage = chunk.get("usage") or usage
            timings = chunk.get("timings") or timings  # llama.cpp's counts
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                try:
                    text, thought = _spoken_and_thought(delta)
                    tools += _tool_names(delta.get("tool_calls"))
                except (TypeError, AttributeError):
                    raise MalformedResponse(f"not a stream chunk: {data[:200]!r}") from None
                if isinstance(choice.get("finish_reason"), str):
                    finish = choice["finish_reason"]
                if thought:
                    thoughts.append(thought)
                if text:
                    parts.append(text)
                    on_token(text)
        if not events[0] and other:
            # No event at all: a JSON body (an error, or a whole completion from a server
            # that ignores `stream: true`), whatever its content type says.
            content, reasoning, found, finish = _parse_completion(bytes(other))
            if content:
                on_token(content)
            return content, reasoning, found, finish
        if tools and not "".join(parts).strip():
            raise ToolCallInstead(tools)
        return "".join(parts), "".join(thoughts) or None, {**usage, "timings": timings}, finish


class EmptyReply(Exception):
    """A reply with no text at all (retried: usually a hiccup of the provider; sent on, an
    empty message is refused by some APIs and teaches the other side nothing)."""


class MalformedResponse(Exception):
    """A 2xx answer that is not a chat completion (retried: proxies garble answers now and
    then)."""


class ToolCallInstead(Exception):
    """A reply that is a tool call and no message (not retried: the model would call it
    again; sml offers no tools, so a server or template that makes them up is set so)."""

    def __init__(self, names: list[str]) -> None:
        called = ", ".join(dict.fromkeys(n for n in names if n)) or "a tool"
        super().__init__(f"the model made a tool call ({called}) instead of answering (sml "
                         "offers no tools; is tool calling forced on the server?)")


def _tool_names(calls: Any) -> list[str]:
    """The function names of a message's or a delta's `tool_calls` (dicts or objects)."""
    names = []
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else getattr(
            call, "function", None)
        name = function.get("name") if isinstance(function, dict) else getattr(
            function, "name", None)
        names.append(name if isinstance(name, str) else "")
    return names


class StreamStalled(TimeoutError):
    """A stream that began and then went silent for longer than the timeout (retried)."""


class ResponseCutShort(Exception):
    """The connection closed before the whole answer arrived (retried)."""


class ErrorInReply(HTTPStatusError):
    """A 2xx answer that carries an error instead of a completion: a gateway relaying an
    upstream failure with status 200, or an error event in a stream. It is told by its
    message and treated as the HTTP status its code names (retried or not, by the same
    rules), or as a server error (500) when it names none."""

    def __init__(self, body: str, message: str, status: int | None, *, where: str) -> None:
        Exception.__init__(self, f"{where}: {clipped_at_word(message, MESSAGE_LIMIT)}")
        self.status_code = status or 500
        self.body = body
        self.headers = None
        self.kind = _status_kind(self.status_code)


def _spoken_and_thought(message: dict[str, Any]) -> tuple[str, str | None]:
    """(content, reasoning) of a message or stream delta. Reasoning comes separately as
    `reasoning_content` (DeepSeek, vLLM's reasoning parsers, llama.cpp) or `reasoning`
    (OpenRouter, Ollama, newer vLLM), or as typed parts of a list content (Mistral's
    `thinking` chunks beside `text` ones). Anything else that is not text is a malformed
    reply (TypeError)."""
    content = message.get("content") or ""
    thoughts: list[str] = []
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            thoughts.append(value)
            break
    if isinstance(content, list):
        said: list[str] = []
        for part in content:
            if isinstance(part, str):
                said.append(part)
            elif isinstance(part, dict) and part.get("type") in ("thinking", "reasoning"):
                thoughts.append(_part_text(part.get("thinking", part.get("text"))))
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                said.append(part["text"])
        content = "".join(said)
    if not isinstance(content, str):
        raise TypeError
    return content, "".join(thoughts) or None


def _part_text(value: Any) -> str:
    """The text of a content part's payload: a string, or a list of parts (Mistral nests
    `thinking` as [{"type": "text", "text": …}])."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(_part_text(v.get("text") if isinstance(v, dict) else v) for v in value)
    return ""


def _parse_completion(body: bytes) -> tuple[str, str | None, dict[str, Any], str | None]:
    try:
        data = json.loads(body)
        failure = _json_error(data)
        if failure is not None and not data.get("choices"):
            raise ErrorInReply(body.decode("utf-8", "replace"), *failure,
                               where="an error instead of a completion")
        choice = data["choices"][0]
        message = choice["message"]
        finish = choice.get("finish_reason")
        usage = data.get("usage") or {}
        if not isinstance(usage, dict):
            raise TypeError
        usage = {**usage, "timings": data.get("timings")}
        content, reasoning = _spoken_and_thought(message)
        calls = message.get("tool_calls")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        shown = body[:200].decode("utf-8", "replace")
        raise MalformedResponse(f"not a chat completion: {shown!r}") from None
    if calls and not content.strip():
        raise ToolCallInstead(_tool_names(calls))
    return content, reasoning, usage, finish if isinstance(finish, str) else None


def token_counts(usage: dict[str, Any], said: str) -> tuple[int | None, int | None]:
    """(prompt, completion) tokens of a reply, as its server reported them in `usage`, or
    else in llama.cpp's `timings` (under `usage["timings"]`); None where it reported none.
    Zero for both, for a reply that says something, is no count either (servers that do
    not count send zeros; litellm fills in zeros for a missing usage)."""
    prompt, completion = _count(usage.get("prompt_tokens")), _count(
        usage.get("completion_tokens"))
    timings = usage.get("timings")
    if isinstance(timings, dict) and not prompt and not completion:
        # prompt_n counts only the prompt tokens evaluated; cache_n those reused from cache.
        evaluated, cached = _count(timings.get("prompt_n")), _count(timings.get("cache_n"))
        prompt = None if evaluated is None else evaluated + (cached or 0)
        completion = _count(timings.get("predicted_n"))
    if not prompt and not completion and said.strip():
        return None, None
    return prompt, completion


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def _via_litellm() -> bool:
    return os.environ.get("SML_VIA_LITELLM", "") not in ("", "0")


def direct_endpoint(model: str, settings: ModelSettings) -> str | None:
    """The custom endpoint an `openai/…` or `hosted_vllm/…` model is sent to, if any (then
    it is called directly, not through litellm). SML_VIA_LITELLM=1 sends everything through
    litellm."""
    endpoint = _route(model, settings)[1]
    return endpoint[1] if endpoint else None


def _route(model: str, settings: ModelSettings) -> tuple[str, tuple[str, str] | None]:
    """(the model string as called, the (provider, base URL) it is sent to over plain HTTP,
    or None when litellm calls it)."""
    called = routed(model, settings)
    return called, None if _via_litellm() else _custom_endpoint(called, settings)


def _unreachable_hint(exc: BaseException, base: str | None) -> str:
    # The client's own words ("Cannot connect to host 127.0.0.1:1 ssl:default [Connect call
    # failed …]") name a socket, not the setting to check.
    base = without_credentials(base)
    if not base:
        return ""
    tls = _tls_failure(exc)
    if tls is not None:
        if base.startswith("https://") and _PLAIN_HTTP_TEXT.search(tls):
            return (f" (the TLS handshake with {base} failed: the server seems to speak plain "
                    f"HTTP; try http://{base.removeprefix('https://')})")
        return f" (the TLS handshake with {base} failed: {tls})"
    if is_unreachable(exc):
        return f" (nothing answers at {base}: is the server running, and is that its address?)"
    return ""


# What OpenSSL says when the other side answers a TLS hello in plain HTTP.
_PLAIN_HTTP_TEXT = re.compile(r"wrong[ _]version[ _]number|packet[ _]length[ _]too[ _]long|"
                              r"record[ _]layer[ _]failure|http[ _]request", re.I)


def _tls_failure(exc: BaseException) -> str | None:
    """What a failed TLS handshake said, if `exc` (or an error it was raised from) is one."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return None
        if _class_names(seen) & {"SSLError", "ClientSSLError", "SSLCertVerificationError"}:
            return str(getattr(seen, "reason", None) or seen)
        seen = seen.__cause__ or seen.__context__
    return None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = getattr(exc, "kind", None) or type(exc).__name__
    return f"{name}: {clipped_at_word(text, MESSAGE_LIMIT)}" if text else name


class MadeOnFirstCall:
    """A model that takes seconds to make: its routing needs litellm, which is not imported
    yet, or it is an embedded model whose weights are not loaded yet. It is made off the
    event loop, on its first call or when `prepare` is awaited before that (`sml chat` opens
    its window at once, and loads the model while the person reads the problem, instead of
    freezing for those seconds)."""

    def __init__(self, model: str, settings: ModelSettings) -> None:
        self.name = model
        self._settings = settings
        self._inner: Participant | None = None
        self._making: asyncio.Future[Participant] | None = None

    async def prepare(self) -> Participant:
        if self._inner is None:
            if self._making is None:
                self._making = asyncio.ensure_future(asyncio.to_thread(self._make))
            # (shielded: a call cancelled while it waits leaves the loading to the others)
            self._inner = await asyncio.shield(self._making)
        return self._inner

    def _make(self) -> Participant:
        try:
            return make_model(self.name, self._settings, load_now=True)
        except SmlError as exc:  # (a base URL variable that cannot work; weights that fail)
            raise ParticipantError(f"{self.name}: {exc}", fatal=True) from exc

    async def respond(self, messages: list[Message],
                      on_token: TokenCallback | None = None) -> Reply:
        inner = await self.prepare()
        return await inner.respond(messages, on_token)


def make_model(model: str, settings: ModelSettings, *, load_now: bool = False
               ) -> LiteLLMModel | OpenAICompatibleModel | MadeOnFirstCall:
    """A participant for a model string (`local`, `gguf:PATH` or any litellm model). One
    that takes seconds to make (importing litellm, loading weights) is made on its first
    call unless `load_now`; a file that can never load is refused here all the same."""
    if is_embedded(model):
        from sml_cli import embedded

        path = embedded.resolve_gguf(model)
        server = embedded.loaded_server(path)
        if server is None:
            if not load_now:
                return MadeOnFirstCall(model, settings)
            server = embedded.get_server(path, settings)
        local_settings = replace(settings, api_base=server.base_url,
                                 retries=max(settings.retries, 1))
        return OpenAICompatibleModel(model, server.base_url, embedded.served_name(path),
                                     local_settings, price=(0.0, 0.0))
    if _litellm is None and _routing_asks_litellm(model, settings):
        if not load_now:
            return MadeOnFirstCall(model, settings)
        _import_litellm()
    called, endpoint = _route(model, settings)
    if endpoint is not None:
        provider, base = endpoint
        served = called.removeprefix(provider)
        key_var = _DIRECT_PROVIDERS[provider][1]
        return OpenAICompatibleModel(
            model, base, served, settings,
            api_key=settings.api_key or os.environ.get(key_var) or PLACEHOLDER_KEY,
            key_source=None if settings.api_key else key_var,
        )
    return LiteLLMModel(called, settings, label=model, api_key=settings.api_key)


def api_key_present() -> bool:
    return any(k.endswith("_API_KEY") and v for k, v in os.environ.items())
