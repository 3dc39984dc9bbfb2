"""Command-line interface: parse options, delegate to the modules that do the work.

Heavy libraries (litellm, textual, pyarrow, math-verify) are imported inside the commands
that need them, so `sml --help` starts as fast as a bare typer program.
"""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from sml_cli import __version__
from sml_cli.errors import SmlError


def _print_error(error: BaseException) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]Error:[/] {error}", markup=True
    )


class SmlGroup(TyperGroup):
    """Turns the package's errors into messages and exit codes (2 = bad input, 1 = failure),
    for the real CLI and for CliRunner tests alike; never a traceback for bad usage."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except SmlError as exc:
            from rich.markup import escape

            _print_error(escape(str(exc)))
            raise click.exceptions.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=SmlGroup,
    name="sml",
    help="Social meta-learning workbench: tutoring sessions where a teacher holds the answer "
    "and the student must extract it, with enforced visibility, evals and training-data export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
problems_app = typer.Typer(
    cls=SmlGroup, help="Built-in and file problem sets.", no_args_is_help=True
)
sessions_app = typer.Typer(
    cls=SmlGroup, help="Logged sessions: list, show, import.", no_args_is_help=True
)
app.add_typer(problems_app, name="problems")
app.add_typer(sessions_app, name="sessions")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLite database (default: $SML_DB or ./sessions/sml.db).",
                 show_default=False),
]
ProblemsOption = Annotated[
    str, typer.Option("--problems", "-p", help="Built-in set name or a JSONL/CSV/Parquet file.")
]
QuestionField = Annotated[
    str, typer.Option("--question-field", help="Column holding the question.")
]
AnswerField = Annotated[str, typer.Option("--answer-field", help="Column holding the answer.")]
AnswerPattern = Annotated[
    str | None,
    typer.Option(
        "--answer-pattern",
        help="Regex whose first group extracts the final answer from the answer column "
        "(the full text becomes the private solution); 'boxed' takes the last \\boxed{…}.",
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sml {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """sml: social meta-learning workbench."""


def _field_map(question_field: str, answer_field: str, answer_pattern: str | None):  # noqa: ANN202
    from sml_cli.problems import FieldMap

    return FieldMap(question_field, answer_field, answer_pattern)


# ----------------------------------------------------------------------------- problems


@problems_app.command("list")
def problems_list() -> None:
    """Show the built-in problem sets with their sizes and verifiers."""
    from sml_cli import console_views

    console_views.print_problem_sets()


@problems_app.command("show")
def problems_show(
    source: Annotated[str, typer.Argument(help="Built-in set name or problem file.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Rows to show.")] = 10,
    question_field: QuestionField = "question",
    answer_field: AnswerField = "answer",
    answer_pattern: AnswerPattern = None,
    private: Annotated[
        bool, typer.Option("--private/--public", help="Show answers (teacher view) or hide them.")
    ] = True,
) -> None:
    """Show the problems of a set (validating the whole file)."""
    from sml_cli import console_views
    from sml_cli.problems import load_problems

    problems = load_problems(source, _field_map(question_field, answer_field, answer_pattern))
    console_views.print_problems(source, problems, limit=limit, private=private)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
