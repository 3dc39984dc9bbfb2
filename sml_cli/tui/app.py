"""`sml chat`: the Textual application. Screens per mode; logic lives in `sml_cli.chat`."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from sml_cli.chat import ChatOptions, ChatSession, GuestSession, HostSession
from sml_cli.errors import SmlError, UsageError
from sml_cli.tui.modals import HelpScreen
from sml_cli.tui.screens import SessionScreen, StudentScreen, TeacherScreen, WatchScreen
from sml_cli.tui.start import StartScreen


def screen_for(session: ChatSession) -> SessionScreen:
    role = session.local_role
    if role == "student":
        return StudentScreen(session)
    if role == "teacher":
        return TeacherScreen(session)
    return WatchScreen(session)


class ChatApp(App[None]):
    CSS_PATH = "sml.tcss"
    TITLE = "sml"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help"),
        Binding("ctrl+n", "new_session", "New session"),
    ]

    def __init__(self, options: ChatOptions, *, session: ChatSession | None = None) -> None:
        super().__init__()
        self.options = options
        self.initial = session

    def on_mount(self) -> None:
        if self.initial is not None:
            self.push_screen(screen_for(self.initial))
        else:
            self.action_new_session()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_new_session(self) -> None:
        if isinstance(self.screen, StartScreen):
            return
        self.push_screen(StartScreen(self.options), self._start)

    def _start(self, options: ChatOptions | None) -> None:
        if options is None:
            return
        self.options = replace(options)
        try:
            session = HostSession(options)
        except SmlError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            self.push_screen(StartScreen(options), self._start)
            return
        # Replace whatever session screen was showing: one session at a time.
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(screen_for(session))


def run_chat(options: ChatOptions, *, join: str | None = None, resume: str | None = None) -> None:
    """Entry point for the CLI. Sessions are created before the UI so their id can be printed."""
    import sys

    from sml_cli.store import Store

    session: ChatSession | None = None
    if join is not None:
        session = GuestSession(join, options.role or "", None, options.db, options.prompts_dir)
    elif resume is not None:
        store = Store(options.db)
        info = store.session(resume)
        if info.origin != "chat":
            store.close()
            how = ("`sml eval --run-id " + (info.run_id or "RUN") + "` resumes an eval"
                   if info.origin == "eval" else "an imported dialogue is a record of what was "
                   "said, not a chat to go on with")
            raise UsageError(f"--resume {resume}: that session is not a chat ({how})")
        host_role = info.meta.get("host_role") or "watch"
        options = replace(options, role=host_role, condition=info.condition,
                          max_turns=info.max_turns, guard=info.guard)
        session = HostSession(options, resume=info, store=store)
    elif options.role is not None:
        from sml_cli.chat import validate

        validate(options)
        host = HostSession(options)
        session = host
        if host.remote_role:
            print(f"Session {host.info.id}: waiting for the {host.remote_role}. In another "
                  f"terminal run:\n  sml chat --join {host.info.id} --role {host.remote_role}"
                  + (f" --db {options.db}" if options.db else ""), file=sys.stderr)
    app = ChatApp(options, session=session)
    try:
        app.run()
    finally:
        if session is not None:
            info = session.info
            print(f"Session {info.id} ({info.status}) is saved in the database: "
                  f"sml sessions show {info.id}", file=sys.stderr)
