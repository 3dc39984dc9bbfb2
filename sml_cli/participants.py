"""Participants: whoever produces a student or teacher message — a model, a script, a person.

The engine only knows this interface, so evaluations, the TUI and tests run one loop.
"""

from __future__ import annotations

import re
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
    # What a reasoning model thought before it spoke (a `reasoning_content` field, or a
    # leading <think> block). Stored with the turn, sent to no one: a teacher's thoughts
    # routinely spell out the answer.
    reasoning: str | None = None
    # The reply stopped at the token limit (finish_reason "length"): its end is missing.
    truncated: bool = False


class ParticipantError(Exception):
    """A participant could not produce a message (after retries): the session ends in `error`.
    `fatal`: every other call would fail the same way (a rejected key, an unknown model), so
    a run should stop rather than fail each of its sessions in turn. `unreachable`: no
    connection could be made at all (a server that is not running, a mistyped host)."""

    def __init__(self, message: str, *, fatal: bool = False, unreachable: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal
        self.unreachable = unreachable


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


# Open-weight reasoning models served without a reasoning parser put their thoughts inline.
# Some chat templates emit the opening tag themselves, so the reply starts inside the block
# and only the closing tag is seen.
_TAGS = ("think", "thinking", "reasoning")
_OPEN = re.compile(r"\s*<(" + "|".join(_TAGS) + r")>", re.IGNORECASE)
_CLOSE = re.compile(r"</(" + "|".join(_TAGS) + r")>\s*", re.IGNORECASE)


def split_reasoning(text: str, reasoning: str | None = None) -> tuple[str, str | None]:
    """(what was said, what was thought) for a model's reply. `reasoning` is what the API
    returned separately, if anything; a leading <think>…</think> block (or everything before
    a lone closing tag) is moved to it. An unclosed block is all thought: the model ran out
    of tokens before it spoke."""
    thoughts = [reasoning.strip()] if reasoning and reasoning.strip() else []
    opened = _OPEN.match(text)
    start = opened.end() if opened else 0
    close = _CLOSE.search(text, start)
    if opened and close is None:
        thoughts.append(text[start:].strip())
        text = ""
    elif close is not None:
        thoughts.append(text[start : close.start()].strip())
        text = text[close.end():]
    said = text.strip() if thoughts else text
    thought = "\n\n".join(t for t in thoughts if t)
    return said, thought or None


class VisibleTokens:
    """Forwards streamed text to `sink` minus a leading <think> block, so a screen shows
    what a model says, not what it thinks. Text is held back only while it could still be
    the start of a block. (A reply whose template opened the block itself shows its thoughts
    while streaming; the recorded turn, which replaces the live text, is split correctly.)"""

    def __init__(self, sink: TokenCallback) -> None:
        self._sink = sink
        self._held = ""
        self._state = "start"  # start → (thinking → after) → speaking

    def __call__(self, text: str) -> None:
        if self._state == "speaking":
            self._sink(text)
        elif self._state == "after":  # the block closed: drop the whitespace that follows it
            self._speak(text.lstrip())
        else:
            self._held += text
            if self._state == "start":
                self._look_for_block()
            if self._state == "thinking":
                self._look_for_end()

    def _look_for_block(self) -> None:
        opened = _OPEN.match(self._held)
        if opened is not None:
            self._state, self._held = "thinking", self._held[opened.end():]
            return
        stripped = self._held.lstrip().lower()
        if not stripped or any(f"<{tag}>".startswith(stripped) for tag in _TAGS):
            return  # blank so far, or perhaps the start of a tag: wait for more
        self._speak(self._held)

    def _look_for_end(self) -> None:
        close = _CLOSE.search(self._held)
        if close is not None:
            rest, self._held, self._state = self._held[close.end():], "", "after"
            self._speak(rest)

    def _speak(self, text: str) -> None:
        if text:
            self._state, self._held = "speaking", ""
            self._sink(text)
