"""Snapshot tests (pytest-textual-snapshot) of the main `sml chat` screens.

Deterministic by construction: a fixed problem file, scripted participants, a fixed session
id and terminal size, the input cursor's blink switched off, and every wait is on a condition
(never on time). Update with `uv run pytest tests/test_tui_snapshots.py --snapshot-update`
and look at the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from test_tui import enter, until  # helpers shared with the pilot tests
from textual.pilot import Pilot

from sml_cli import chat, models
from sml_cli.chat import ChatOptions, HostSession
from sml_cli.testing import ScriptedParticipant, hint_following_student, hinting_teacher
from sml_cli.tui.app import ChatApp
from sml_cli.tui.modals import LeakWarning
from sml_cli.tui.widgets import Composer

# pytest-textual-snapshot 1.0 names its extension with syrupy<5's `_file_extension`; syrupy
# 5+ reads `file_extension`, so without this the snapshots are written as `.raw` files.
if pytest_textual_snapshot.SVGImageExtension.file_extension != "svg":
    pytest_textual_snapshot.SVGImageExtension.file_extension = "svg"

SIZE = (100, 32)
PROBLEM = {
    "id": "p1",
    "question": "A baker fills 7 trays with 12 rolls each, then sells 9 rolls. "
                "How many rolls are left?",
    "answer": "75",
    "solution": "Rolls baked: 7 * 12 = 84\nRolls left: 84 - 9 = 75",
    "notes": "Multiply first, then subtract the rolls sold.",
}


@pytest.fixture
def options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChatOptions:
    path = tmp_path / "bakery.jsonl"
    path.write_text(json.dumps(PROBLEM) + "\n", encoding="utf-8")
    monkeypatch.setattr(chat, "new_session_id", lambda: "5e55100f0001")
    monkeypatch.setattr(models, "_import_litellm", lambda: None)
    return ChatOptions(problems=str(path), problem_id="p1", db=str(tmp_path / "sml.db"))


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    registry: dict[str, Any] = {}
    monkeypatch.setattr(chat, "make_model", lambda model, settings: registry[model])
    return registry


async def settle_input(pilot: Pilot) -> None:
    """Wait for the person's turn, then stop the cursor blinking (it is on a timer)."""
    box = pilot.app.screen.query_one("#message", Composer)
    await until(pilot, lambda: pilot.app.focused is box, "the person's turn")
    box.cursor_blink = False


def test_start_screen(snap_compare, options):
    app = ChatApp(ChatOptions(db=options.db))
    assert snap_compare(app, terminal_size=SIZE)


def test_student_screen_mid_session(snap_compare, options, fake_models):
    fake_models["scripted-teacher"] = ScriptedParticipant(hinting_teacher, "scripted-teacher")
    options.role, options.teacher, options.max_turns = "student", "scripted-teacher", 4
    app = ChatApp(options, session=HostSession(options))

    async def run_before(pilot: Pilot) -> None:
        await settle_input(pilot)
        await enter(pilot, "Is it 84? Final answer: 84")
        await until(pilot, lambda: len(app.screen.session.turns) == 6, "the teacher's hint")
        await settle_input(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_teacher_screen_with_private_panel(snap_compare, options, fake_models):
    fake_models["scripted-student"] = ScriptedParticipant(hint_following_student,
                                                          "scripted-student")
    options.role, options.student = "teacher", "scripted-student"
    app = ChatApp(options, session=HostSession(options))

    async def run_before(pilot: Pilot) -> None:
        await settle_input(pilot)  # the student's first (wrong) attempt is in, with its verdict

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_leak_warning_modal(snap_compare, options, fake_models):
    fake_models["scripted-student"] = ScriptedParticipant(hint_following_student,
                                                          "scripted-student")
    options.role, options.student = "teacher", "scripted-student"
    app = ChatApp(options, session=HostSession(options))

    async def run_before(pilot: Pilot) -> None:
        await settle_input(pilot)
        await enter(pilot, "Almost! It is 75 rolls, since 84 - 9 = 75.")
        await until(pilot, lambda: isinstance(app.screen, LeakWarning), "the leak warning")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_watch_screen_paused_mid_session(snap_compare, options, fake_models):
    student = ScriptedParticipant(["Is it about the trays?", "Final answer: 84",
                                   "Final answer: 75"], "scripted-student")
    teacher = ScriptedParticipant(hinting_teacher, "scripted-teacher")
    fake_models.update({"scripted-student": student, "scripted-teacher": teacher})
    options.role, options.student, options.teacher = "watch", "scripted-student", \
        "scripted-teacher"
    host = HostSession(options)
    host.gate.pause()  # paused from the start: S steps one participant call at a time
    app = ChatApp(options, session=host)

    async def run_before(pilot: Pilot) -> None:
        for calls in (1, 2, 3):
            await pilot.press("s")
            await until(pilot, lambda n=calls: len(student.requests) + len(teacher.requests) == n
                        and len(host.turns) >= 3 + n,
                        f"step {calls}")
        await until(pilot, lambda: any(t.kind == "verdict" for t in host.turns), "the verdict")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
