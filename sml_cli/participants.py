"""Participants: whoever produces a student or teacher message — a model, a script, a person.

The engine only knows this interface, so evaluations, the TUI and tests run one loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

Message = dict[str, str]
TokenCallback = Callable[[str], None]


@dataclass(frozen=True)
class Reply:
    content: str
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None


class ParticipantError(Exception):
    """A participant could not produce a message (after retries): the session ends in `error`."""


@runtime_checkable
class Participant(Protocol):
    name: str

    async def respond(
        self, messages: list[Message], on_token: TokenCallback | None = None
    ) -> Reply:
        """The next message, given the conversation as this participant sees it.

        `on_token` receives text as it streams (for the TUI); the full text is returned.
        """
        ...
