"""`sml chat`: the Textual application. Screens per mode; logic lives in `sml_cli.chat`."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from sml_cli.chat import ChatOptions, ChatSession, GuestSession, HostSession, sml_command
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
    # Below 90 columns the side-by-side panes stack (see `.-narrow` in sml.tcss): a teacher
    # on an 80-column terminal would otherwise read the dialogue 40 columns wide.
    # (no ClassVar: Textual declares it an instance variable, which mypy holds us to)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help"),
        Binding("ctrl+n", "new_session", "New session"),
    ]

    def __init__(self, options: ChatOptions, *, session: ChatSession | None = None) -> None:
        super().__init__()
        self.options = options
        self.initial = session
        self.sessions: list[ChatSession] = []  # every session opened here, to list on exit

    def open_session(self, session: ChatSession) -> None:
        self.sessions.append(session)
        self.push_screen(screen_for(session))

    def on_mount(self) -> None:
        if self.initial is not None:
            self.open_session(self.initial)
        else:
            self.action_new_session()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # (the start screen is where a new session is made already: no key for it there)
        return not (action == "new_session" and isinstance(self.screen, StartScreen))

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
            self.notify(str(exc), severity="error", timeout=10, markup=False)
            self.push_screen(StartScreen(options), self._start)
            return
        # Replace whatever session screen was showing: one session at a time.
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.open_session(session)


def need_a_terminal() -> None:
    """A Textual app on a pipe never returns: refuse, before anything is written."""
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("sml chat is a terminal UI: run it in a terminal (its input or "
                         "output is not one here); `sml eval` runs sessions without one")


def run_chat(options: ChatOptions, *, join: str | None = None, resume: str | None = None) -> None:
    """Entry point for the CLI. Sessions are created before the UI so their id can be printed."""
    import sys

    from sml_cli.store import Store

    # The terminal is checked after what can be checked without writing, and before a
    # session is created: a refusal leaves nothing behind.
    session: ChatSession | None = None
    if join is not None:
        session = GuestSession(join, options.role or "", None, options.db, options.prompts_dir)
    elif resume is not None:
        store = Store(options.db)
        with store.closed_on_error():  # (the session keeps it from here on)
            info = store.session(resume)
            if info.origin != "chat":
                # `sml eval --run-id RUN` alone would be refused: a resume needs the run's
                # options.
                how = (f"an eval session goes on with its run: re-run the eval command that "
                       f"made it with --run-id {info.run_id or 'RUN'} (same options)"
                       if info.origin == "eval" else "an imported dialogue is a record of what "
                       "was said, not a chat to go on with")
                raise UsageError(f"--resume {resume}: that session is not a chat ({how})")
            host_role = info.meta.get("host_role") or "watch"
            options = replace(options, role=host_role, condition=info.condition,
                              max_turns=info.max_turns, guard=info.guard)
            need_a_terminal()
            session = HostSession(options, resume=info, store=store)
    elif options.role is not None:
        from sml_cli.chat import choose_problem, validate

        validate(options)
        problem = choose_problem(options)
        need_a_terminal()
        host = HostSession(options, problem=problem)
        session = host
        if host.remote_role:
            print(f"Session {host.info.id}: waiting for the {host.remote_role}. In another "
                  f"terminal run:\n  {host.join_command()}", file=sys.stderr)
    else:
        from sml_cli.chat import check_start_screen_prompts

        check_start_screen_prompts(options)
    from sml_cli.console_views import print_warnings
    from sml_cli.prompts import Prompts

    print_warnings(Prompts(options.prompts_dir).warnings())
    need_a_terminal()
    app = ChatApp(options, session=session)
    try:
        app.run()
    finally:
        for line in exit_report(app):
            print(line, file=sys.stderr)


def exit_report(app: ChatApp) -> list[str]:
    """What `sml chat` prints on the way out: each session opened, and how to find it."""
    db = app.options.db
    lines = []
    for opened in app.sessions:
        info = opened.info
        # (a person who played the student is pointed at the student's view: the default
        # one shows the answer, and a running session can still be continued)
        view = ("--view", "student") if opened.local_role == "student" else ()
        line = (f"Session {info.id} ({info.status}) is saved in the database: "
                f"{sml_command('sessions', 'show', info.id, *view, db=db)}")
        if info.status == "running" and isinstance(opened, HostSession):
            line += f"; to go on: {sml_command('chat', '--resume', info.id, db=db)}"
        elif info.status == "running" and isinstance(opened, GuestSession):
            # (the host's terminal waits for this seat: it is taken again by joining)
            rejoin = sml_command("chat", "--join", info.id, "--role", opened.local_role, db=db)
            line += f"; to rejoin: {rejoin}"
        lines.append(line)
    return lines
