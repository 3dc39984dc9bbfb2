"""Widgets for the chat screens. They display what they are given; they decide nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static, TextArea

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

    def on_resize(self, event: events.Resize) -> None:
        # (a narrower pane wraps every message onto more lines: keep the newest in view)
        self.scroll_end(animate=False)

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


NEW_LINE_KEYS = ("ctrl+j", "alt+enter", "shift+enter")


class Composer(TextArea):
    """Where a person writes a message. Enter sends; Ctrl+J (or Alt+Enter / Shift+Enter,
    where the terminal reports them) starts a new line, and a paste keeps its lines, so that
    code and worked steps can be written or pasted whole."""

    # Both are also handled in `_on_key` (the bindings only show them in the footer): a
    # TextArea takes Enter for itself before any binding would see it, and a key it leaves
    # reaches the bindings only after bubbling, by which time the keys typed after it (a fast
    # typist's, a paste without bracketed paste) are already in: the new line landed last.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Send"),
        Binding(",".join(NEW_LINE_KEYS), "new_line", "New line", key_display="^j"),
    ]

    class Submitted(Message):
        def __init__(self, composer: Composer, value: str) -> None:
            super().__init__()
            self.composer = composer
            self.value = value

        @property
        def control(self) -> Composer:
            return self.composer

    def __init__(self, *, placeholder: str, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, tab_behavior="focus", placeholder=placeholder,
                         show_line_numbers=False, highlight_cursor_line=False)

    @property
    def value(self) -> str:
        return self.text

    @value.setter
    def value(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)

    async def action_submit(self) -> None:
        self.post_message(self.Submitted(self, self.text))

    def action_new_line(self) -> None:
        self.replace("\n", *self.selection, maintain_selection_offset=False)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter" or event.key in NEW_LINE_KEYS:
            event.stop()
            event.prevent_default()
            if event.key == "enter":
                await self.action_submit()
            else:
                self.action_new_line()
            return
        await super()._on_key(event)
