"""The start screen: pick a role, a problem (or type one), an opponent and a condition."""

from __future__ import annotations

import shlex
from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
)

from sml_cli.chat import ChatOptions
from sml_cli.errors import SmlError
from sml_cli.mapping import shell_options
from sml_cli.problems import BUILTIN_SETS
from sml_cli.records import CONDITIONS, TEACHERLESS_CONDITIONS

CONDITION_HELP = {
    "answer": "The teacher knows the reference answer (and solution, notes).",
    "verifier": "The teacher sees only the verifier's verdict on each attempt, never the "
                "answer.",
    "symmetric": "The teacher knows nothing more than the student: a peer.",
    "binary": "No teacher: each attempt is answered Correct. / Incorrect.",
    "none": "No teacher: the student hears only 'Please continue.'",
}

# The flags that validation errors name, as this form labels them.
FIELD_LABELS = {
    "--question and --answer": "Your own question and its answer",
    "--question/--answer": "Your own question and its answer",
    "--problems": "Problem set", "--problem": "Problem id", "--student": "Student model",
    "--teacher": "Teacher model", "--condition": "Condition", "--max-turns": "Max student turns",
    "--role": "Role",
}


def as_form_error(message: str) -> str:
    """A validation error that names a flag, naming the form's field instead."""
    for flag in sorted(FIELD_LABELS, key=len, reverse=True):
        if message.startswith(flag + " ") or message.startswith(flag + ":"):
            return FIELD_LABELS[flag] + message[len(flag):]
    return message


class Form(VerticalScroll, can_focus=False):
    """(Scrolls when the terminal is short, but is no Tab stop of its own.)"""


ROLE_HELP = {
    "student": "You solve the problem; a model teacher who knows the answer guides you.",
    "teacher": "You know the answer; guide a model student to it without telling it.",
    "watch": "Watch a model student and a model teacher, both views side by side.",
}


class StartScreen(Screen[ChatOptions]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "app.quit", "Quit"),
        Binding("f1", "app.help", "Help"),
        Binding("escape", "back", "Back to the session"),
    ]

    def __init__(self, defaults: ChatOptions) -> None:
        super().__init__()
        self.defaults = defaults

    def compose(self) -> ComposeResult:
        d = self.defaults
        role = d.role or "student"
        yield Header()
        with Form(id="start"):
            yield Static(Text.assemble(("New tutoring session", "bold"), " · your role:"),
                         id="start-title")
            with RadioSet(id="role"):
                for name in ("student", "teacher", "watch"):
                    yield RadioButton(name, value=name == role, id=f"role-{name}")
            yield Static(Text(ROLE_HELP[role], style="italic"), id="role-help")
            with Horizontal(classes="row"):
                with Vertical():
                    yield Label("Problem set (name or file)")
                    yield Input(d.problems, id="problems", compact=True)
                with Vertical():
                    yield Label("Problem id (blank: random)")
                    yield Input(d.problem_id or "", id="problem-id", compact=True)
            with Horizontal(classes="row"):
                with Vertical():
                    yield Label("…or your own question")
                    yield Input(d.question or "", id="question", placeholder="optional",
                                compact=True)
                with Vertical():
                    yield Label("and its answer")
                    yield Input(d.answer or "", id="answer",
                                placeholder="needed with your own question", compact=True)
            with Horizontal(classes="row"):
                with Vertical():
                    yield Label("Student model")
                    yield Input(d.student or "local", id="student", compact=True)
                with Vertical():
                    yield Label("Teacher model")
                    yield Input(d.teacher or "local", id="teacher", compact=True)
            with Horizontal(classes="row"):
                with Vertical():
                    yield Label("Condition")
                    yield Select([(c, c) for c in CONDITIONS], value=d.condition,
                                 allow_blank=False, id="condition", compact=True)
                with Vertical():
                    yield Label("Max student turns")
                    yield Input(str(d.max_turns), id="max-turns", type="integer", compact=True)
            yield Static(Text(CONDITION_HELP.get(d.condition, ""), style="italic"),
                         id="condition-help")
            yield Static(Text("Built-in sets: " + ", ".join(BUILTIN_SETS)
                              + " · models: local, gguf:PATH, openai/…, ollama/…\n"
                              "Tab moves between fields · Enter starts", style="dim"))
            yield Static("", id="start-error")
            yield Button("Start", id="start-button", variant="primary", compact=True)
        yield Footer()

    def _over_a_session(self) -> bool:
        """Opened with Ctrl+N from a session (the app's base screen, the session, this)."""
        return len(self.app.screen_stack) > 2

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self._over_a_session()
        return True

    def action_back(self) -> None:
        if self._over_a_session():
            self.dismiss(None)

    def on_mount(self) -> None:
        self._sync_role()
        self.query_one("#start-button", Button).focus()

    def _role(self) -> str:
        pressed = self.query_one("#role", RadioSet).pressed_button
        return str(pressed.label) if pressed else "student"

    def _sync_role(self) -> None:
        role = self._role()
        self.query_one("#role-help", Static).update(Text(ROLE_HELP[role], style="italic"))
        # The person's own seat has no model to choose, nor has a condition without teacher.
        condition = str(self.query_one("#condition", Select).value)
        self.query_one("#student", Input).disabled = role == "student"
        self.query_one("#teacher", Input).disabled = (role == "teacher"
                                                      or condition in TEACHERLESS_CONDITIONS)
        self.query_one("#condition-help", Static).update(
            Text(CONDITION_HELP.get(condition, ""), style="italic"))

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self._sync_role()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._sync_role()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start-button":
            self.start()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.start()

    def options(self) -> ChatOptions:
        def value(widget_id: str) -> str | None:
            text = self.query_one(f"#{widget_id}", Input).value.strip()
            return text or None

        role = self._role()
        turns_text = value("max-turns") or "6"
        condition = self.query_one("#condition", Select).value
        return replace(
            self.defaults,
            role=role,
            problems=value("problems") or "arithmetic",
            problem_id=value("problem-id"),
            question=value("question"),
            answer=value("answer"),
            student=None if role == "student" else value("student"),
            teacher=None if role == "teacher" else value("teacher"),
            condition=str(condition),
            max_turns=int(turns_text) if turns_text.lstrip("-").isdigit() else 0,
        )

    def start(self) -> None:
        from sml_cli.chat import choose_problem, validate

        options = self.options()
        try:
            validate(options)
            choose_problem(options)  # surfaces a bad file or id here, not in the session
        except SmlError as exc:
            message = as_form_error(str(exc))
            remedy = getattr(exc, "remedy", ())
            if remedy:  # field mappings have no place on this screen: say where they go
                message += ("\n(these are options of sml chat: quit with Ctrl+Q and run "
                            f"sml chat --problems {shlex.quote(options.problems)} "
                            f"{shell_options(remedy)})")
            self.query_one("#start-error", Static).update(Text(message, style="bold red"))
            return
        self.dismiss(options)
