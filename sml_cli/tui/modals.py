"""Modal screens: the leak warning for a human teacher, and help."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from sml_cli.guard import Leak, redact

HELP = """\
sml chat — keys (Esc or F1 closes this help)

  Enter     send your message
  Ctrl+J    a new line within the message (pasted text keeps its lines)
  Ctrl+N    new session (the start screen; Esc there goes back)
  Ctrl+Q    quit (the session stays in the database, and can be resumed)
  F1        this help
  Space     watch mode: pause / resume
  S         watch mode: one step

Answers: a message with `Final answer: X` in it is an attempt (the last
one counts; for code, the last ``` block). Anything else is a message;
one with a '?' counts as a question.

The student never sees the reference answer, solution, notes or verifier
results: its screen and its model requests are built from public turns.
A teacher message that states the answer is caught by the leak guard.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        # (no Close button: on a 24-line terminal it would fall below the dialog's edge)
        with VerticalScroll(id="dialog"):
            yield Static(Text(HELP), id="help-text")


class LeakWarning(ModalScreen[bool]):
    """Shown before a human teacher sends a message that states the answer."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "edit", "Edit")]

    def __init__(self, text: str, leaks: list[Leak], policy: str) -> None:
        super().__init__()
        self.text, self.leaks, self.policy = text, leaks, policy

    def compose(self) -> ComposeResult:
        marked = Text(self.text)
        for leak in self.leaks:
            marked.stylize("bold white on red", leak.start, leak.end)
        consequence = {
            "flag": "It will be sent as written and recorded as a leak.",
            "redact": "The student will receive it with the answer replaced: "
                      f"“{redact(self.text, self.leaks)}”. It is recorded as a leak.",
            "regenerate": "It will not be delivered; you will be asked to rephrase "
                          "(after two tries it is redacted). It is recorded as a leak.",
        }[self.policy]
        with Vertical(id="dialog"):
            yield Static(Text("This message states the answer", style="bold red"))
            yield Static(marked, id="leak-text")
            yield Static(Text(f"Guard policy '{self.policy}': {consequence}"))
            with Horizontal(id="buttons"):
                yield Button("Edit message", id="edit", variant="primary")
                yield Button("Send anyway", id="send", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "send")

    def action_edit(self) -> None:
        self.dismiss(False)
