"""Widgets for the chat screens. They display what they are given; they decide nothing."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from sml_cli.cells import head


@dataclass(frozen=True)
class Bubble:
    label: str
    text: str
    css_class: str  # mine | theirs | problem | note
    # What the speaker thought before saying it (reasoning models; watch mode only): shown
    # above the message, dimmed, as sent to no one.
    thought: str | None = None


THOUGHT_SHOWN_CHARS = 1500  # thoughts run to pages; the message is what matters


class MessageBox(Static):
    """One message. Content is plain text (never Rich markup: models and people type '[')."""

    def __init__(self, bubble: Bubble) -> None:
        content = Text(bubble.text)
        if bubble.thought:
            thought = head(bubble.thought.strip(), THOUGHT_SHOWN_CHARS,
                           rest_in="`sml sessions show`")
            content = Text.assemble(("thinking (sent to no one): ", "dim bold"),
                                    (thought + "\n\n", "dim italic"), content)
        super().__init__(content, classes=f"message {bubble.css_class}")
        self.border_title = bubble.label
        self.bubble = bubble


class Transcript(VerticalScroll):
    """A conversation that only grows while a session runs, plus one live 'typing' line."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="transcript")
        self._shown: list[Bubble] = []
        self._live = Static("", classes="message live")
        self._live.display = False

    def compose(self) -> ComposeResult:
        yield self._live

    def show(self, bubbles: list[Bubble]) -> None:
        """Display exactly `bubbles`, mounting only what is new when the list just grew."""
        if bubbles[: len(self._shown)] != self._shown:
            for child in list(self.query(MessageBox)):
                child.remove()
            self._shown = []
        new = bubbles[len(self._shown) :]
        if new:
            self.mount_all([MessageBox(b) for b in new], before=self._live)
            self._shown = list(bubbles)
        self.scroll_end(animate=False)

    @property
    def texts(self) -> list[str]:
        """Everything this transcript holds (tests use it to check what a side could see)."""
        return ([b.text for b in self._shown] + [b.thought for b in self._shown if b.thought]
                + ([str(self._live.content)] if self._live.display else []))

    def live(self, label: str, text: str) -> None:
        self._live.border_title = label
        self._live.update(Text(text))
        self._live.display = True
        self.scroll_end(animate=False)

    def clear_live(self) -> None:
        self._live.update("")
        self._live.display = False


class StatusLine(Static):
    def set(self, text: str, style: str = "") -> None:
        self.update(Text(text, style=style))
