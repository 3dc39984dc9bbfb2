"""Several accepted answers (QA sets: NQ-open's answer list, TriviaQA's aliases): each one
solves, each one is the answer for the guard and the export scan, and all of them are private
like the answer — shown to an `answer`-condition teacher, never to the student."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from engine_fixtures import MemoryRecorder, run_session
from typer.testing import CliRunner

from sml_cli import guard
from sml_cli.cli import app
from sml_cli.problems import Problem
from sml_cli.store import Store
from sml_cli.testing import ScriptedParticipant
from sml_cli.verification import check

CANARY = "Zanzibar Quillfeather"
ALIAS = "Quillfeather"


def qa(**kw: object) -> Problem:
    fields: dict = {"id": "q1", "question": "Who founded the lighthouse guild?",
                    "answer": CANARY, "verifier": "exact", "aliases": (ALIAS, "Z. Q."),
                    "source": "test"}
    fields.update(kw)
    return Problem(**fields)


def test_every_accepted_answer_solves_and_nothing_else_does() -> None:
    p = qa()
    for attempt in (CANARY, "quillfeather", "Z. Q."):
        assert check(p, attempt).correct, attempt
    assert not check(p, "Zanzibar").correct
    number = Problem(id="n", question="How many?", answer="1889", verifier="numeric",
                     aliases=("1,889.0",))
    assert check(number, "1889").correct and not check(number, "1890").correct


def test_the_guard_treats_each_alias_as_the_answer() -> None:
    p = qa()
    for text in (f"It was {ALIAS}, of course.", "The initials are Z. Q.",
                 f"Think of {CANARY}."):
        assert guard.find_leaks(text, p), text
    assert not guard.find_leaks("Think about who kept the lamps lit.", p)
    # Without the alias the same message is no leak: the alias is what is detected.
    assert not guard.find_leaks(f"It was {ALIAS}, of course.", qa(aliases=()))


def test_keys_of_problems_without_aliases_are_unchanged() -> None:
    """Databases written before aliases existed keep their problem keys."""
    plain = qa(aliases=())
    old = json.dumps([plain.question, plain.answer, plain.verifier, plain.solution,
                      plain.choices, plain.tests, plain.notes], ensure_ascii=False)
    assert plain.key == hashlib.sha256(old.encode()).hexdigest()[:16]
    assert qa().key != plain.key


def test_aliases_round_trip_through_the_store(tmp_path: Path) -> None:
    p = qa()
    with Store(tmp_path / "a.db") as store:
        store.save_problems([p])
        assert store.problem(p.key).aliases == p.aliases


@pytest.mark.parametrize("condition", ["answer", "symmetric"])
def test_the_teacher_is_told_the_aliases_only_when_it_is_told_the_answer(
    condition: str
) -> None:
    teacher = ScriptedParticipant(["Think about the guild's records."], "teacher")
    student = ScriptedParticipant(["Final answer: Zanzibar", f"Final answer: {ALIAS}"], "s")
    info, _ = run_session(qa(), condition, student, teacher, max_turns=2)
    assert info.solved and info.solved_at_turn == 2  # the alias solved
    system = teacher.requests[0][0]["content"]
    assert (ALIAS in system) == (condition == "answer")
    for request in student.requests:
        blob = json.dumps(request)
        assert CANARY not in blob and "Z. Q." not in blob


def test_a_teacher_stating_an_alias_is_redacted_and_counted() -> None:
    teacher = ScriptedParticipant([f"Psst: {ALIAS}."], "teacher")
    student = ScriptedParticipant(["Final answer: Zanzibar"], "student")
    info, turns = run_session(qa(), "answer", student, teacher, max_turns=2,
                              recorder=MemoryRecorder())
    assert info.leaks == 1
    assert all(ALIAS not in json.dumps(r) for r in student.requests)
    delivered = [t for t in turns if t.role == "teacher" and t.is_public]
    assert delivered and all("[redacted]" in t.content for t in delivered)


def test_loaded_aliases_reach_the_teacher_prompt_in_an_eval(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """From a file's answer list to the eval: the student gets no alias, the teacher all."""
    from sml_cli import evaluate

    path = tmp_path / "nq.jsonl"
    path.write_text(json.dumps({"question": "Who founded the lighthouse guild?",
                                "answer": [CANARY, ALIAS]}) + "\n", encoding="utf-8")
    students: list[ScriptedParticipant] = []
    teachers: list[ScriptedParticipant] = []

    def make(name: str, settings: object) -> ScriptedParticipant:
        if name == "openai/teacher":
            teachers.append(ScriptedParticipant(["Check the guild's founding charter."], name))
            return teachers[-1]
        students.append(ScriptedParticipant(["Final answer: nobody", f"ANSWER: {ALIAS}"], name))
        return students[-1]

    monkeypatch.setattr(evaluate, "make_model", make)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    out = tmp_path / "r.json"
    result = CliRunner().invoke(app, [
        "eval", "--student", "openai/student", "--teacher", "openai/teacher",
        "--problems", str(path), "--conditions", "answer", "--max-turns", "2",
        "--db", str(tmp_path / "e.db"), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["conditions"]["answer"]["success_rate"] == 1.0
    assert any(ALIAS in r[0]["content"] for t in teachers for r in t.requests)
    assert not any(CANARY in json.dumps(r) for s in students for r in s.requests)


def test_sessions_show_and_the_report_list_the_aliases(tmp_path: Path) -> None:
    from sml_cli.records import SessionInfo

    db = tmp_path / "s.db"
    p = qa()
    teacher = ScriptedParticipant(["Look it up."], "teacher")
    student = ScriptedParticipant(["Final answer: Zanzibar"], "student")
    with Store(db) as store:
        store.save_problems([p])
        store.create_run("r1", "eval", {})
        info = SessionInfo(id="s1", problem_key=p.key, problem_id=p.id, condition="answer",
                           student_model="student", teacher_model="teacher", max_turns=1,
                           run_id="r1")
        store.create_session(info)
        _, turns = run_session(p, "answer", student, teacher, max_turns=1, info=info)
        for t in turns:
            store.add_turn(t)
        store.update_session("s1", {"status": "done"})
        store.finish_run("r1")
    runner = CliRunner()
    shown = runner.invoke(app, ["sessions", "show", "s1", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert "also accepted: Quillfeather; Z. Q." in shown.output
    html = tmp_path / "r.html"
    reported = runner.invoke(app, ["report", "r1", "--db", str(db), "--html", str(html)])
    assert reported.exit_code == 0, reported.output
    assert "also accepted: Quillfeather; Z. Q." in html.read_text()
    # The raw archive keeps them, in JSON lines and in Parquet alike.
    for name in ("raw.jsonl", "raw.parquet"):
        out = tmp_path / name
        exported = runner.invoke(app, ["export", "--db", str(db), "--format", "raw",
                                       "--view", "teacher", "--include-leaked", "-o", str(out)])
        assert exported.exit_code == 0, exported.output
        if name.endswith(".jsonl"):
            [row] = [json.loads(line) for line in out.read_text().splitlines()]
        else:
            [row] = pytest.importorskip("pyarrow.parquet").read_table(out).to_pylist()
        assert row["problem"]["aliases"] == ["Quillfeather", "Z. Q."]
