"""Rich renderings for the terminal (tables, transcripts). No logic that decides anything."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from sml_cli.problems import BUILTIN_SETS, Problem, load_problems

console = Console(highlight=False)


def _shorten(text: str | None, width: int) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


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
        "Use a file instead with [bold]--problems PATH[/] (JSONL, CSV or Parquet; "
        "fields: question, answer, id, solution, verifier, choices, tests, notes)."
    )


def print_problems(source: str, problems: list[Problem], *, limit: int, private: bool) -> None:
    table = Table(
        title=f"{source}: {len(problems)} problems"
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
        row = [p.id, _shorten(p.public_question(), 300)]
        if private:
            row.append(_shorten(answer, 60))
        row.append(p.verifier)
        table.add_row(*row)
    console.print(table)
