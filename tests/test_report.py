"""`sml report RUN_ID [--html FILE]` (issue: terminal tables + success-by-turn chart; a
self-contained HTML file with the same charts, per-problem outcomes, deltas with intervals and
links from each session to its transcript), including a render in headless Chromium.

One eval run is made per module, in-process: the real `EvalRun` (planning, background writer,
scoring) with scripted participants in place of models, so no litellm import and no network.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import cli_output, sqlite_rows
from typer.testing import CliRunner

from sml_cli import evaluate
from sml_cli.cli import app
from sml_cli.evaluate import EvalOptions, EvalRun
from sml_cli.participants import Message, ParticipantError
from sml_cli.report import PALETTE
from sml_cli.store import Store
from sml_cli.testing import ScriptedParticipant, hint_following_student, hinting_teacher

RUN_ID = "report-run"
XSS = "<script>alert(1)</script>"
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"
MAX_TURNS = 3
CONDITIONS = ["answer", "symmetric", "none"]
PROBLEMS = [
    # p1: solved at turn 2 under `answer` (the teacher hints from the private answer).
    {"id": "p1", "question": f"A baker fills crates of rolls {XSS}. How many rolls?",
     "answer": "40123"},
    # p2: the `answer` teacher states the answer (redacted: a leak, marked in the report);
    # the `symmetric` teacher hints on its second reply, so symmetric solves at turn 3.
    {"id": "p2", "question": "A train carries sacks of grain. How many sacks?",
     "answer": "51234"},
    # p3: the student's model fails: an error session in every condition.
    {"id": "p3", "question": "A library orders boxes of books. How many books?",
     "answer": "62345"},
]
BLUE, RED = PALETTE[0], PALETTE[1]  # the first two series: answer, symmetric
assert (BLUE, RED) == ("#2563eb", "#dc2626")


def student(messages: list[Message]) -> str:
    blob = "\n".join(m["content"] for m in messages)
    if "library" in blob:
        raise ParticipantError("openai/student: InternalServerError: upstream exploded")
    return f"{hint_following_student(messages)} {XSS}"


def teacher(messages: list[Message]) -> str:
    system = messages[0]["content"]
    if "51234" in system:
        return "The answer is 51234."  # a leak: the guard redacts it
    if "sacks" in "\n".join(m["content"] for m in messages):
        student_messages = [m for m in messages if m["role"] == "user"]
        if len(student_messages) >= 2:  # symmetric: no answer to hint from; cheat on reply 2
            return "Think again: the result is one more than 51233."
    return hinting_teacher(messages)


@dataclass
class Run:
    db: Path
    result: dict[str, Any]
    sessions: list[dict[str, Any]]
    html_path: Path
    html: str = ""
    dom: Element | None = None


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("report")
    problems = tmp / "problems.jsonl"
    problems.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS), encoding="utf-8")
    db = tmp / "report.db"
    scripts = {"openai/student": student, "openai/teacher": teacher}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(evaluate, "make_model",
                   lambda name, settings: ScriptedParticipant(scripts[name], name))
        options = EvalOptions(student="openai/student", teacher="openai/teacher",
                              problems=str(problems), conditions=CONDITIONS,
                              max_turns=MAX_TURNS, run_id=RUN_ID, db=str(db), concurrency=3)
        eval_run = EvalRun(options)
        _, interrupted = asyncio.run(eval_run.execute())
        assert not interrupted
        result = eval_run.result().to_json()
        eval_run.store.close()
    with Store(db) as store:
        sessions = [
            {"id": s.id, "problem_id": s.problem_id, "condition": s.condition,
             "status": s.status, "solved_at_turn": s.solved_at_turn,
             "private": sum(1 for t in store.turns(s.id) if not t.is_public),
             "leak_turns": [t for t in store.turns(s.id) if t.leak]}
            for s in store.sessions("run_id = ?", [RUN_ID])
        ]
    yield Run(db, result, sessions, tmp / "out" / "report.html")


@pytest.fixture(scope="module")
def html_report(run: Run) -> Run:
    """`sml report RUN --html FILE`, written once for the HTML tests."""
    result = CliRunner().invoke(app, ["report", RUN_ID, "--db", str(run.db),
                                      "--html", str(run.html_path)])
    assert result.exit_code == 0, cli_output(result)
    assert "wrote" in cli_output(result)
    run.html = run.html_path.read_text(encoding="utf-8")
    run.dom = parse(run.html)
    return run


def test_the_run_has_the_outcomes_the_report_must_show(run: Run) -> None:
    by = {(s["problem_id"], s["condition"]): s for s in run.sessions}
    assert len(by) == len(PROBLEMS) * len(CONDITIONS)
    assert by["p1", "answer"]["solved_at_turn"] == 2
    assert by["p2", "symmetric"]["solved_at_turn"] == 3
    assert by["p2", "answer"]["leak_turns"], "the telling teacher was not flagged"
    assert {by["p3", c]["status"] for c in CONDITIONS} == {"error"}
    conditions = run.result["conditions"]
    assert conditions["answer"]["success_at_turn"] == [0.0, 0.5, 0.5]
    assert conditions["symmetric"]["success_at_turn"] == [0.0, 0.0, 0.5]
    assert conditions["none"]["success_at_turn"] == [0.0, 0.0, 0.0]


# ----------------------------------------------------------------------------- terminal


def test_terminal_report_prints_the_table_and_the_chart(run: Run) -> None:
    result = CliRunner().invoke(app, ["report", RUN_ID, "--db", str(run.db)])
    output = cli_output(result)
    assert result.exit_code == 0, output
    assert f"Run {RUN_ID}" in output
    # What the run was, under its id: models and problems.
    assert "openai/student → openai/teacher · " in output
    assert "problems.jsonl" in " ".join(output.split()).replace(" ", "")[:400]
    assert "Paired differences in success rate" in output and "answer-symmetric" in output
    assert "Success by student turn" in output
    chart = output[output.index("Success by student turn"):]
    header = chart.splitlines()[1]
    for name in CONDITIONS:
        assert name in header
    rows = {line.split()[0]: line for line in chart.splitlines()[2:] if line.strip()
            and line.split()[0].isdigit()}
    assert sorted(rows) == ["1", "2", "3"]  # one row per student turn
    assert rows["1"].count("0%") == 3 and "█" not in rows["1"]
    assert "█" in rows["2"] and "50%" in rows["2"]
    assert rows["3"].count("50%") == 2  # answer and symmetric
    assert not list(Path(run.db).parent.glob("*.html"))  # no --html: nothing written


def test_unknown_run_id_exits_2_naming_it(run: Run) -> None:
    result = CliRunner().invoke(app, ["report", "no-such-run", "--db", str(run.db)])
    output = cli_output(result)
    assert result.exit_code == 2, output
    assert "no-such-run" in output and str(run.db) in output.replace("\n", "")
    assert RUN_ID in output  # the runs that do exist are suggested
    assert "Traceback" not in output


def test_unwritable_html_target_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = CliRunner().invoke(app, ["report", RUN_ID, "--db", str(run.db),
                                      "--html", str(blocker / "r.html")])
    output = cli_output(result)
    assert result.exit_code == 1, output
    assert "--html" in output and "Traceback" not in output


# ----------------------------------------------------------------------------- HTML


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    parts: list[str | Element] = field(default_factory=list)  # text and children, in order
    parent: Element | None = None

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [e for e in self.iter()
                if (tag is None or e.tag == tag)
                and all(e.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def all_text(self) -> str:
        return "".join(p if isinstance(p, str) else p.all_text() for p in self.parts)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(element)
        self.stack[-1].parts.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(element)
        self.stack[-1].parts.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].parts.append(data)


def parse(page: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def test_html_is_self_contained(html_report: Run) -> None:
    dom, page = html_report.dom, html_report.html
    assert dom is not None
    assert page.lstrip().lower().startswith("<!doctype html>")
    tags = Counter(e.tag for e in dom.iter())
    for tag in ("script", "link", "iframe", "img", "object", "embed", "frame", "base"):
        assert tags[tag] == 0, f"<{tag}> in a self-contained report"
    ids = {e.attrs["id"] for e in dom.iter() if "id" in e.attrs}
    anchors = 0
    for e in dom.iter():
        for name, value in e.attrs.items():
            if name in ("src", "srcset", "xlink:href", "action", "formaction", "poster",
                        "data", "background"):
                raise AssertionError(f"<{e.tag} {name}={value!r}> loads something")
            if name == "href":
                assert e.tag == "a", f"<{e.tag} href>"
                assert value.startswith("#"), f"link out of the page: {value!r}"
                assert value[1:] in ids, f"link to a missing anchor {value!r}"
                anchors += 1
            assert not re.search(r"(?i)\b(https?:|ftp:|//)", value) or name == "content", \
                f"<{e.tag} {name}={value!r}>"
    assert anchors >= len(html_report.sessions)
    styles = "".join(s.all_text() for s in dom.find_all("style"))
    assert "@import" not in styles and "url(" not in styles
    assert not re.search(r"(?i)(src|href)\s*=\s*[\"']?\s*(https?:)?//", page)


def test_html_has_both_charts_with_one_series_per_condition(html_report: Run) -> None:
    dom = html_report.dom
    assert dom is not None
    success = dom.find("svg", id="chart-success")
    series = success.find_all("polyline")
    assert [p.attrs["data-condition"] for p in series] == CONDITIONS
    assert [p.attrs["stroke"] for p in series] == PALETTE[:3]
    points = {p.attrs["data-condition"]: [tuple(map(float, xy.split(",")))
                                          for xy in p.attrs["points"].split()]
              for p in series}
    assert all(len(v) == MAX_TURNS for v in points.values())
    # Same x per turn; SVG y grows downwards: 50% sits above 0%.
    assert [x for x, _ in points["answer"]] == [x for x, _ in points["none"]]
    answer_y, symmetric_y, none_y = (
        [y for _, y in points[c]] for c in ("answer", "symmetric", "none"))
    assert answer_y[0] == symmetric_y[0] == none_y[0]
    assert answer_y[1] < symmetric_y[1] == none_y[1]
    assert answer_y[2] == symmetric_y[2] < none_y[2]
    legend = [t.all_text() for t in success.find_all("text", class_="legend")]
    assert legend == CONDITIONS

    deltas = dom.find("svg", id="chart-deltas")
    names = list(html_report.result["deltas"])
    assert names == ["answer-symmetric", "answer-none", "symmetric-none"]
    assert [t.all_text() for t in deltas.find_all("text", class_="legend")] == names
    assert len(deltas.find_all("line", class_="ci")) == len(names)
    # The deltas table shows the same values with their intervals.
    table = dom.find("table", id="deltas").all_text()
    for name, d in html_report.result["deltas"].items():
        assert name in table
        assert f"{d['delta'] * 100:+.1f} pts" in table
        assert f"[{d['ci95'][0] * 100:+.1f}, {d['ci95'][1] * 100:+.1f}]" in table


def transcript(dom: Element, session_id: str) -> Element:
    """A session's transcript: the <details> that holds its link target."""
    block = dom.find(id=f"s-{session_id}").parent
    assert block is not None and block.tag == "details", block
    return block


def test_a_link_to_a_transcript_opens_it(html_report: Run) -> None:
    """Transcripts are closed <details> (a run has hundreds). A browser opens a closed
    <details> when a link goes to something inside it, not to the element itself: with the
    id on the <details>, a click on an outcome jumped to a one-line summary that had to be
    clicked again. So each link's target is the first thing inside its transcript."""
    dom = html_report.dom
    assert dom is not None
    links = dom.find("table", id="problems").find_all("a")
    assert len(links) == len(html_report.sessions)
    for a in links:
        target = dom.find(id=a.attrs["href"][1:])
        assert target.tag != "details" and target.parent is not None
        assert target.parent.tag == "details" and "session" in target.parent.classes()
        assert target.parent.children[1] is target  # right after the summary
    styles = "".join(s.all_text() for s in dom.find_all("style"))
    assert "details.session:has(> .anchor:target)" in styles  # the outline still shows


def test_per_problem_table_links_every_session(html_report: Run) -> None:
    dom = html_report.dom
    assert dom is not None
    table = dom.find("table", id="problems")
    rows = table.find_all("tr")[1:]
    assert [r.find_all("td")[0].all_text() for r in rows] == ["p1", "p2", "p3"]
    links = table.find_all("a")
    assert sorted(a.attrs["href"] for a in links) == sorted(
        f"#s-{s['id']}" for s in html_report.sessions)
    by_href = {a.attrs["href"]: a.all_text() for a in links}
    for s in html_report.sessions:
        text = by_href[f"#s-{s['id']}"]
        if s["status"] == "error":
            assert text == "error"
        elif s["solved_at_turn"]:
            assert text == f"✓ t{s['solved_at_turn']}"
        else:
            assert text == "✗"
    # Columns are conditions, in order; each cell holds its condition's session.
    header = [th.all_text() for th in table.find_all("th")]
    assert header[1:4] == CONDITIONS
    ids = {(s["problem_id"], s["condition"]): s["id"] for s in html_report.sessions}
    for row in rows:
        cells = row.find_all("td")
        for condition, cell in zip(CONDITIONS, cells[1:4], strict=True):
            (a,) = cell.find_all("a")
            assert a.attrs["href"] == f"#s-{ids[cells[0].all_text(), condition]}"


def test_transcripts_mark_private_rows_and_leaks(html_report: Run) -> None:
    dom = html_report.dom
    assert dom is not None
    for s in html_report.sessions:
        block = transcript(dom, s["id"])
        assert "session" in block.classes()
        summary = block.find_all("summary")[0].all_text()
        assert s["problem_id"] in summary and s["condition"] in summary
        turns = [e for e in block.iter() if "turn" in e.classes()]
        private = [e for e in turns if "private" in e.classes()]
        # Every private row of the database, plus the reference answer, is marked as such.
        assert len(private) == s["private"] + 1, s
        for e in private:
            label = (e.find_all("summary") or [e.children[0]])[0].all_text()
            assert "teacher only" in label.lower(), label
        for e in turns:
            if "private" not in e.classes():
                label = (e.find_all("summary") or [e.children[0]])[0].all_text()
                assert "teacher only" not in label.lower(), label
        if s["status"] == "error":
            assert "upstream exploded" in block.all_text()

    leaked = next(s for s in html_report.sessions if s["leak_turns"])
    block = transcript(dom, leaked["id"])
    marks = block.find_all("mark")
    assert marks and all(m.all_text() == "51234" for m in marks)
    assert len(marks) == sum(len(t.leak_spans or []) for t in leaked["leak_turns"])
    for mark in marks:  # highlighted inside the private draft, never in what the student got
        row = mark.parent
        while row is not None and "turn" not in row.classes():
            row = row.parent
        assert row is not None and {"draft", "private"} <= row.classes()
    redacted = [e for e in block.iter() if {"turn", "teacher"} <= e.classes()
                and "private" not in e.classes()]
    assert redacted and all("[redacted]" in e.all_text() and "51234" not in e.all_text()
                            for e in redacted)


def test_html_escapes_content(html_report: Run) -> None:
    page, dom = html_report.html, html_report.dom
    assert dom is not None
    assert XSS not in page
    assert "<script" not in page.lower()
    assert not dom.find_all("script")
    # The question in the outcomes table, and the student's turns in the transcripts.
    assert XSS in dom.find("table", id="problems").all_text()
    assert page.count(ESCAPED_XSS) >= 2
    p1 = next(s for s in html_report.sessions if (s["problem_id"], s["condition"]) ==
              ("p1", "answer"))
    assert XSS in transcript(dom, p1["id"]).all_text()


def test_report_of_a_run_with_one_condition_and_one_turn(tmp_path: Path) -> None:
    """No deltas (one condition) and a one-point x axis: still a valid report."""
    problems = tmp_path / "p.jsonl"
    problems.write_text(json.dumps(PROBLEMS[0]) + "\n", encoding="utf-8")
    db = tmp_path / "one.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(evaluate, "make_model",
                   lambda name, settings: ScriptedParticipant(["Final answer: 40123"], name))
        eval_run = EvalRun(EvalOptions(student="openai/student", problems=str(problems),
                                       conditions=["none"], max_turns=1, run_id="one",
                                       db=str(db)))
        asyncio.run(eval_run.execute())
        eval_run.store.close()
    out = tmp_path / "one.html"
    result = CliRunner().invoke(app, ["report", "one", "--db", str(db), "--html", str(out)])
    assert result.exit_code == 0, cli_output(result)
    dom = parse(out.read_text(encoding="utf-8"))
    (line,) = dom.find("svg", id="chart-success").find_all("polyline")
    assert line.attrs["data-condition"] == "none" and len(line.attrs["points"].split()) == 1
    assert not dom.find_all("svg", id="chart-deltas")
    assert sqlite_rows(db, "SELECT status, solved_at_turn FROM sessions") == [("done", 1)]


def test_report_of_a_run_whose_sessions_all_failed_or_that_has_none(tmp_path: Path) -> None:
    problems = tmp_path / "p.jsonl"
    problems.write_text(json.dumps(PROBLEMS[1]) + "\n", encoding="utf-8")
    db = tmp_path / "failed.db"

    def broken(messages: list[Message]) -> str:
        raise ParticipantError("openai/student: AuthenticationError: bad key")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(evaluate, "make_model",
                   lambda name, settings: ScriptedParticipant(broken, name))
        eval_run = EvalRun(EvalOptions(student="openai/student", problems=str(problems),
                                       conditions=["none"], max_turns=2, run_id="failed",
                                       db=str(db)))
        asyncio.run(eval_run.execute())
        eval_run.store.close()
    with Store(db) as store:
        store.create_run("empty", "eval", {"max_turns": 2})
    out = tmp_path / "failed.html"
    result = CliRunner().invoke(app, ["report", "failed", "--db", str(db), "--html", str(out)])
    assert result.exit_code == 0, cli_output(result)
    dom = parse(out.read_text(encoding="utf-8"))
    chart = dom.find("svg", id="chart-success")
    assert not chart.find_all("polyline")  # nothing finished: no line to draw ...
    assert "none" in [t.all_text() for t in chart.find_all("text", class_="legend")]
    assert "no finished sessions" in chart.all_text()  # ... but the legend says why
    assert [a.all_text() for a in dom.find("table", id="problems").find_all("a")] == ["error"]
    assert "AuthenticationError" in dom.find("details", class_="session").all_text()

    empty = CliRunner().invoke(app, ["report", "empty", "--db", str(db), "--html",
                                     str(tmp_path / "empty.html")])
    assert empty.exit_code == 0, cli_output(empty)
    assert "no sessions yet" in cli_output(empty)
    parse((tmp_path / "empty.html").read_text(encoding="utf-8"))


def test_report_of_an_imported_run(run: Run, tmp_path: Path) -> None:
    rows = [{"problem": {"question": "How many <b>pens</b>?", "answer": "12"},
             "turns": [{"role": "teacher", "content": "It is 12, of course."},
                       {"role": "student", "content": "12!"}]}]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = tmp_path / "imported.db"
    imported = CliRunner().invoke(app, ["sessions", "import", str(path), "--match", "mention",
                                        "--run-id", "imp", "--db", str(db),
                                        "--teacher-role", "teacher", "--condition", "a b"])
    assert imported.exit_code == 0, cli_output(imported)
    out = tmp_path / "imp.html"
    result = CliRunner().invoke(app, ["report", "imp", "--db", str(db), "--html", str(out)])
    assert result.exit_code == 0, cli_output(result)
    page = out.read_text(encoding="utf-8")
    dom = parse(page)
    # Where the dialogues came from, and the flags they were read with (as typed).
    meta = " ".join(dom.find("div", class_="meta").all_text().split())
    assert meta.startswith(f"imported from {path} · read with --")
    assert "--teacher-role teacher" in meta and "--condition 'a b'" in meta
    assert "guard" not in meta and "student" not in meta  # (an import has neither)
    (line,) = dom.find("svg", id="chart-success").find_all("polyline")
    assert line.attrs["data-condition"] == "a b"
    assert "How many &lt;b&gt;pens&lt;/b&gt;?" in page
    assert [m.all_text() for m in dom.find("details", class_="session").find_all("mark")] == [
        "12"]  # the teacher told the answer before the student said it


def test_several_runs_are_compared_with_paired_differences(tmp_path: Path) -> None:
    """`sml report A B`: a student that follows hints against one that always guesses 1,
    on the same two problems. Under `answer` the first solves both (at turn 2), the second
    neither: +100 points, an interval of [+100, +100] since every problem differs alike;
    `none` ran only in A, so it has no pair. `--json` holds the same numbers."""
    problems = tmp_path / "p.jsonl"
    problems.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS[:2]), encoding="utf-8")
    db = tmp_path / "cmp.db"
    students = {"strong": hint_following_student, "weak": ["Final answer: 1"] * MAX_TURNS}
    for run_id, conditions in (("strong", ["answer", "none"]), ("weak", ["answer"])):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(evaluate, "make_model", lambda name, settings, r=run_id: (
                ScriptedParticipant(students[r], name) if name == f"openai/{r}"
                else ScriptedParticipant(hinting_teacher, name)))
            eval_run = EvalRun(EvalOptions(student=f"openai/{run_id}", teacher="openai/t",
                                           problems=str(problems), conditions=conditions,
                                           max_turns=MAX_TURNS, run_id=run_id, db=str(db)))
            asyncio.run(eval_run.execute())
            eval_run.store.close()
    out = tmp_path / "cmp.json"
    result = CliRunner().invoke(app, ["report", "strong", "weak", "--db", str(db), "--json",
                                      str(out)], terminal_width=160)
    text = cli_output(result)
    assert result.exit_code == 0, text
    assert "Runs compared" in text and "openai/weak" in text
    assert re.search(r"answer\s+strong vs weak\s+2\s+\+100\.0 pts\s+\[\+100\.0, \+100\.0\]"
                     r"\s+2\s+0\s*$", text, re.MULTILINE), text
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["runs"]) == {"strong", "weak"}
    assert data["runs"]["strong"]["conditions"]["answer"]["success_at_turn"] == [0.0, 1.0, 1.0]
    assert data["runs"]["weak"]["conditions"]["answer"]["success_rate"] == 0.0
    assert data["deltas"] == {"answer": {"strong vs weak": {
        "delta": 1.0, "ci95": [1.0, 1.0], "n_problems": 2, "better_in_a": ["p1", "p2"],
        "better_in_b": []}}}
    # Reversed, the sign flips; a run named twice, an unknown run, or --html for two: exit 2.
    flipped = CliRunner().invoke(app, ["report", "weak", "strong", "--db", str(db), "--json",
                                       str(out)])
    assert flipped.exit_code == 0
    reversed_pair = json.loads(out.read_text())["deltas"]["answer"]["weak vs strong"]
    assert reversed_pair["delta"] == -1.0
    assert (reversed_pair["better_in_a"], reversed_pair["better_in_b"]) == ([], ["p1", "p2"])
    for args, words in ((["strong", "strong"], "named twice"), (["strong", "nope"], "'nope'")):
        refused = CliRunner().invoke(app, ["report", *args, "--db", str(db), "--html",
                                           str(tmp_path / "x.html")])
        assert refused.exit_code == 2 and words in cli_output(refused), cli_output(refused)
    assert not (tmp_path / "x.html").exists()

    # --html: one self-contained page, a line per condition and run, a row per pair.
    page_path = tmp_path / "cmp.html"
    result = CliRunner().invoke(app, ["report", "strong", "weak", "--db", str(db), "--html",
                                      str(page_path)])
    assert result.exit_code == 0, cli_output(result)
    page = page_path.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page and "<script" not in page
    dom = parse(page)
    lines = dom.find("svg", id="chart-success").find_all("polyline")
    assert sorted(line.attrs["data-condition"] for line in lines) == [
        "answer · strong", "answer · weak", "none · strong"]
    rows = dom.find("table", id="deltas").find_all("tr")[1:]
    assert [[" ".join(c.all_text().split()) for c in r.find_all("td")] for r in rows] == [
        ["answer", "strong vs weak", "2", "+100.0 pts", "[+100.0, +100.0]", "2", "0"]]
    # Each problem the runs differ on, with both runs' transcripts side by side: the strong
    # student's attempt verified correct, the weak one's "1" wrong at every turn.
    flips = dom.find_all("details", class_="session flip")
    assert [f.find_all("summary")[0].find("b").all_text() for f in flips] == ["p1", "p2"]
    for flip in flips:
        assert "better in the 1st run" in flip.find_all("summary")[0].all_text()
        strong, weak = flip.find("div", class_="side-by-side").find_all("div", class_="column")
        assert strong.find("h4").all_text() == "strong" and weak.find("h4").all_text() == "weak"
        verdicts = [v.all_text() for column in (strong, weak)
                    for v in column.find_all("div", class_="turn verdict ok private")]
        assert len(verdicts) == 1 and "correct" in verdicts[0]
        wrong = weak.find_all("div", class_="turn verdict no private")
        assert len(wrong) == MAX_TURNS and all("'1'" in w.all_text() for w in wrong)
        reference = flip.find("div", class_="turn private")
        assert reference.all_text().count("answer: ") == 1
    assert "40123" in flips[0].all_text() and ESCAPED_XSS in page
    # The problem ids listed above them link into them (inside: a link there opens them).
    links = dom.find_all("a", class_="pid")
    assert [a.all_text() for a in links] == ["p1", "p2"]
    for a, flip in zip(links, flips, strict=True):
        target = dom.find(id=a.attrs["href"][1:])
        assert target.parent is flip and target.tag != "details"
    assert len(dom.find("svg", id="chart-deltas").find_all("circle")) == 1


def test_report_without_a_run_id_lists_the_runs(run: Run, tmp_path: Path) -> None:
    listing = CliRunner().invoke(app, ["report", "--db", str(run.db)], terminal_width=200)
    text = cli_output(listing)
    assert listing.exit_code == 0, text
    row = next(line for line in text.splitlines() if line.strip().startswith(RUN_ID))
    # 9 sessions (3 problems × 3 conditions), 3 errors (p3 everywhere); solved over the 6
    # finished ones, as the run's own table counts them.
    done = [s for s in run.sessions if s["status"] == "done"]
    solved = sum(1 for s in done if s["solved_at_turn"] is not None)
    assert row.split()[-3:] == ["9", "3", f"{solved / len(done) * 100:.0f}%"], row
    assert " done " in row
    empty = CliRunner().invoke(app, ["report", "--db", str(tmp_path / "empty.db")])
    assert empty.exit_code == 0 and "No runs" in cli_output(empty)
    refused = CliRunner().invoke(app, ["report", "--db", str(run.db), "--html", "x.html"])
    assert refused.exit_code == 2 and "need a RUN_ID" in cli_output(refused)


def test_the_list_of_runs_as_json_lines_and_limited(run: Run, tmp_path: Path) -> None:
    """`sml report --json -` with no run id: the runs for jq, one line each (it was refused:
    --json needed a RUN_ID); `-n` lists fewer than the default 20."""
    db = tmp_path / "runs.db"
    shutil.copy(run.db, db)
    with Store(db) as store:
        store.create_run("later", "eval", {"student": "openai/x", "conditions": ["none"]})
    listed = CliRunner().invoke(app, ["report", "--db", str(db), "--json", "-"])
    assert listed.exit_code == 0, cli_output(listed)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["later", RUN_ID]
    assert rows[0]["sessions"] == 0 and rows[0]["conditions"] == ["none"]
    done = [s for s in run.sessions if s["status"] == "done"]
    assert rows[1]["student"] == "openai/student" and rows[1]["conditions"] == CONDITIONS
    assert (rows[1]["sessions"], rows[1]["errors"], rows[1]["done"]) == (9, 3, len(done))
    one = CliRunner().invoke(app, ["report", "--db", str(db), "-n", "1"], terminal_width=200)
    assert one.exit_code == 0 and "later" in one.output and RUN_ID not in one.output
    assert len(CliRunner().invoke(app, ["report", "--db", str(db), "--json", "-", "-n", "1"]
                                  ).stdout.splitlines()) == 1
    refused = CliRunner().invoke(app, ["report", "--db", str(db), "--json", "x.json"])
    assert refused.exit_code == 2 and "need a RUN_ID" in cli_output(refused)


def test_the_list_of_runs_is_readable_at_80_columns(
        run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file, a pipe or a default terminal is 80 columns wide: the models and conditions
    were squeezed beside the run ids into columns of 5 characters ("opena/i/stu/dent"), and an
    import's were "–"."""
    db = tmp_path / "runs.db"
    shutil.copy(run.db, db)
    monkeypatch.chdir(Path(__file__).parent / "data" / "dialogues")
    imported = CliRunner().invoke(app, [
        "sessions", "import", "mathdial.jsonl", "--answer-field", "ground_truth",
        "--answer-pattern", "last-line", "--field", "id=qid", "--match", "mention",
        "--condition", "mathdial", "--db", str(db)])
    assert imported.exit_code == 0, cli_output(imported)
    listing = CliRunner().invoke(app, ["report", "--db", str(db)], terminal_width=80,
                                 env={"COLUMNS": "80"})
    text = cli_output(listing)
    assert listing.exit_code == 0, text
    assert max(len(line) for line in text.splitlines()) <= 80
    words = text.split()
    for word in (RUN_ID, "openai/student", "→", "openai/teacher", "answer,", "symmetric,",
                 "none", "mathdial", "from", "mathdial.jsonl"):
        assert word in words, (word, text)


def test_leak_marks_never_repeat_or_drop_text() -> None:
    from sml_cli.report import _marked

    text = "It is 4 < 5, so 45."
    plain = parse(f"<p>{_marked(text, [(6, 7), (6, 7), (5, 9), (16, 18), (17, 18), (30, 40)])}</p>")
    assert plain.all_text() == text
    assert [m.all_text() for m in plain.find_all("mark")] == [" 4 <", "45"]
    assert _marked(text, None) == "It is 4 &lt; 5, so 45."


# ----------------------------------------------------------------------------- Chromium


def chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def headless(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args],
        capture_output=True, timeout=90, check=False,
    )


def decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """(width, height, rows of pixels, bytes per pixel) of an 8-bit RGB(A) PNG, by hand."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    header = None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    rows: list[bytes] = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:  # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def colour_counts(rows: list[bytes], bpp: int) -> Counter[tuple[int, int, int]]:
    counts: Counter[tuple[int, int, int]] = Counter()
    for row in rows:
        counts.update(zip(row[0::bpp], row[1::bpp], row[2::bpp], strict=True))
    return counts


def near(counts: Counter[tuple[int, int, int]], hex_colour: str, tolerance: int = 6) -> int:
    target = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(n for rgb, n in counts.items()
               if all(abs(a - b) <= tolerance for a, b in zip(rgb, target, strict=True)))


def test_html_renders_in_headless_chromium(html_report: Run, tmp_path: Path) -> None:
    browser = chromium()
    if browser is None:
        pytest.skip("headless Chromium not installed (/usr/bin/chromium or `chromium` on "
                    "PATH; Debian package `chromium`): cannot check the HTML renders")
    url = html_report.html_path.resolve().as_uri()

    dumped = headless(browser, tmp_path / "profile-dom", "--dump-dom", url)
    assert dumped.returncode == 0, dumped.stderr.decode(errors="replace")[-2000:]
    dom = parse(re.sub(r"(?is)^<!doctype[^>]*>", "", dumped.stdout.decode()))
    success = dom.find("svg", id="chart-success")
    assert [p.attrs["data-condition"] for p in success.find_all("polyline")] == CONDITIONS
    assert dom.find_all("svg", id="chart-deltas")
    assert len(dom.find("table", id="problems").find_all("a")) == len(html_report.sessions)
    assert not dom.find_all("script")  # the escaped <script> stayed text after parsing

    shot = tmp_path / "r.png"
    taken = headless(browser, tmp_path / "profile-png", "--window-size=1200,1600",
                     f"--screenshot={shot}", url)
    assert taken.returncode == 0, taken.stderr.decode(errors="replace")[-2000:]
    assert shot.is_file() and shot.stat().st_size > 10_000
    width, height, rows, bpp = decode_png(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    counts = colour_counts(rows, bpp)
    white = counts[255, 255, 255]
    assert 0.3 < white / (width * height) < 0.999, "a blank (or black) page"
    assert len(counts) > 50, "no text or lines drawn"
    # The series strokes, not just the 12×12 legend swatches (144 pixels each): the answer
    # line rises to 50% at turn 2, the symmetric line rises at turn 3.
    assert near(counts, BLUE) > 400, near(counts, BLUE)
    assert near(counts, RED) > 300, near(counts, RED)


def _scores(n: int, errors: int, by_turn: list[float]) -> dict[str, Any]:
    return {"n_sessions": n, "n_errors": errors, "success_rate": by_turn[-1],
            "success_rate_ci95": [0.95, 1.0], "success_at_turn": by_turn,
            "first_attempt_success_rate": 0.0, "recovery_rate": 1.0,
            "mean_turns_to_solve": 2.0, "question_rate": 0.0, "leak_rate": 0.0,
            "student_tokens": 1, "teacher_tokens": 1, "cost_usd": None}


def test_score_tables_never_cut_a_number_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Output to a file or a pipe is 80 columns wide. A big run (576 sessions a condition, 10
    turns) is wider than that; rich used to shorten the widest cells, printing n = 576 as
    "5…" (a number that reads as another) and the header "solved" as "solv…". Every number
    stays whole now; the success-by-turn list wraps onto a second line instead."""
    from rich.console import Console

    from sml_cli import console_views, report

    by_turn = [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    result = {"run_id": "big", "elapsed_s": 1.0, "config": {},
              "conditions": {"answer": _scores(576, 12, by_turn),
                             "symmetric": _scores(576, 0, [0.0] * 10)}, "deltas": {}}
    out = Console(width=80, record=True, highlight=False)
    console_views.print_eval_summary(result, target=out)
    text = out.export_text().split("tokens student/teacher")[0]  # (the legend ends in "…")
    assert "…" not in text, text
    assert re.search(r"answer\s+576\s+12\s+100%\s+95–100\s+0 100 100", text), text
    assert re.search(r"symmetric\s+576\s+0\s+0%", text), text
    # Every turn's figure is there, across the lines the list wraps onto.
    answer_rows = text.split("answer", 1)[1].split("symmetric")[0]
    assert len(re.findall(r"(?<=\s)100(?=\s)", answer_rows)) == 9, text  # turns 2–10

    # The comparison of runs (`sml report A B`) lays out its table the same way.
    comparison = {"runs": {r: {"student": "s", "teacher": "t", "problems": "p",
                               "conditions": {"answer": _scores(n, 0, by_turn)}}
                           for r, n in (("run-20261128-154848-bf5b", 10_000), ("b", 288))},
                  "deltas": {}}
    out = Console(width=80, record=True, highlight=False)
    monkeypatch.setattr(console_views, "console", out)
    report.print_comparison(comparison)
    text = out.export_text()
    assert re.search(r"10000\s+0\s+100%", text) and re.search(r"\b288\s+0\s+100%", text), text
    assert "recov" in text and "leaks" in text and "…" not in text, text


def test_samples_are_labelled_from_one_in_a_run_of_several(tmp_path: Path) -> None:
    """With --samples 2 each transcript says which sample it is, counted from 1 (the first
    had no label and the second said "sample 1"); a run of one sample labels none."""
    problems = tmp_path / "p.jsonl"
    problems.write_text(json.dumps(PROBLEMS[0]) + "\n", encoding="utf-8")
    db = tmp_path / "samples.db"
    for run_id, samples in (("two", 2), ("one", 1)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(evaluate, "make_model", lambda name, settings: ScriptedParticipant(
                hint_following_student if name == "openai/s" else hinting_teacher, name))
            eval_run = EvalRun(EvalOptions(student="openai/s", teacher="openai/t",
                                           problems=str(problems), conditions=["answer"],
                                           samples=samples, max_turns=MAX_TURNS,
                                           run_id=run_id, db=str(db)))
            asyncio.run(eval_run.execute())
            eval_run.store.close()
    labels = {}
    for run_id in ("two", "one"):
        page = tmp_path / f"{run_id}.html"
        result = CliRunner().invoke(app, ["report", run_id, "--db", str(db), "--html",
                                          str(page)])
        assert result.exit_code == 0, cli_output(result)
        labels[run_id] = re.findall(r"· sample (\d+)", page.read_text(encoding="utf-8"))
    assert labels == {"two": ["1", "2"], "one": []}
