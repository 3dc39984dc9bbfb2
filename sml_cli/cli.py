"""Command-line interface: parse options, delegate to the modules that do the work.

Heavy libraries (litellm, textual, pyarrow, math-verify) are imported inside the commands
that need them, so `sml --help` starts as fast as a bare typer program.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from sml_cli import __version__
from sml_cli.errors import SmlError

if TYPE_CHECKING:
    from typer._click.core import Context  # the click typer vendors, which it calls us with

    from sml_cli.mapping import FieldMap
    from sml_cli.models import ModelSettings


def _print_error(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]Error:[/] {message}", markup=True
    )


class SmlGroup(TyperGroup):
    """Turns the package's errors into messages and exit codes (2 = bad input, 1 = failure),
    for the real CLI and for CliRunner tests alike; never a traceback for bad usage."""

    def invoke(self, ctx: Context) -> object:
        import sqlite3

        try:
            try:
                return super().invoke(ctx)
            except KeyboardInterrupt:
                # typer would exit 130 silently; say what happened (sessions are saved as
                # they go, so nothing is lost but the turn in flight).
                sys.stderr.write("Interrupted.\n")
                raise typer.Exit(130) from None
            except sqlite3.OperationalError as exc:
                # e.g. a read-only or full database discovered at the first write
                from sml_cli.store import _storage_error, resolve_db_path

                raise _storage_error(resolve_db_path(ctx.params.get("db")), exc) from exc
        except SmlError as exc:
            from rich.markup import escape

            _print_error(escape(str(exc)))
            # typer vendors its own click; only its Exit is recognised as a clean exit.
            raise typer.Exit(exc.exit_code) from None


def _flags_shown_without_a_type() -> None:
    """typer's help shows a flag's type (`--quiet <bool>`) as though it took a value; a flag
    takes none, so its type column stays empty, as in click's own help."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None:  # (a typer without a rich type column)
        return

    def display_type_rich(self: TyperOption, ctx: Context) -> str | None:
        return None if self.is_flag and self.metavar is None else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_shown_without_a_type()

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
    str, typer.Option("--problems", "-p", help="Built-in set name, or a JSONL, JSON, CSV, "
                      "TSV, Excel (.xlsx), Parquet or Arrow file (text ones may be "
                      ".gz/.bz2/.xz), or a folder of them, or a quoted glob "
                      "('data/test-*.parquet').")
]
QuestionField = Annotated[
    str, typer.Option("--question-field", help="Column holding the question.")
]
AnswerField = Annotated[str, typer.Option("--answer-field", help="Column holding the answer.")]
IndexBase = Annotated[int, typer.Option(
    "--index-base", min=0, max=1, help="A number answer to a multiple-choice problem counts "
    "the options from 0 (MMLU, PIQA) or from 1 (Winogrande, SocialIQA).")]
ShuffleChoices = Annotated[bool, typer.Option(
    "--shuffle-choices", help="Give each multiple-choice problem's options an order of their "
    "own (seeded by its content), for sets whose answer key always names the same option.")]
AnswerPattern = Annotated[
    str | None,
    typer.Option(
        "--answer-pattern",
        help="Regex whose first group extracts the final answer from the answer column "
        "(the full text becomes the private solution), or a preset: boxed (last \\boxed{…}), "
        "gsm8k (after ####), answer-is (after 'The answer is'), last-line, last-number.",
    ),
]
FieldOption = Annotated[
    list[str] | None,
    typer.Option(
        "--field",
        help="Map another problem field to a column, NAME=COLUMN (repeatable): id, solution, "
        "choices, tests, notes, verifier, entry_point, test_setup, aliases (other accepted "
        "answers). Dotted paths reach into nested objects; A,B,C names several columns "
        "(choices=A,B,C,D: one option per column).",
        show_default=False,
    ),
]

ColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="The column names of a CSV/TSV file (or Excel sheet) that has no header row, "
        "comma-separated (MGSM's TSVs: question,answer; MMLU's CSVs: question,A,B,C,D,answer).",
        show_default=False,
    ),
]
WhereOption = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        help="Use only the rows where COLUMN=VALUE (or drop them: COLUMN!=VALUE), repeatable: "
        "values given for one column are alternatives, other conditions all apply. Text "
        "compared whatever its case; an empty VALUE is an empty cell (--where image= keeps "
        "text-only rows). COLUMN>=N (>, <=, <; quote it) compares the number in the cell "
        "('level>=4' keeps Level 4 and 5).",
        show_default=False,
    ),
]

# Per-role model settings, shared by `chat` and `eval`.
StudentApiBase = Annotated[str | None, typer.Option(
    "--student-api-base", help="API base URL for the student model.", show_default=False)]
TeacherApiBase = Annotated[str | None, typer.Option(
    "--teacher-api-base", help="API base URL for the teacher model.", show_default=False)]
StudentApiKey = Annotated[str | None, typer.Option(
    "--student-api-key", envvar="SML_STUDENT_API_KEY", show_envvar=True, help="API key for "
    "the student model only, when the two roles use different providers (default: the "
    "provider's usual variable). Prefer the environment variable: a flag shows in `ps`. "
    "Never stored.", show_default=False)]
TeacherApiKey = Annotated[str | None, typer.Option(
    "--teacher-api-key", envvar="SML_TEACHER_API_KEY", show_envvar=True, help="API key for "
    "the teacher model only (see --student-api-key). Never stored.", show_default=False)]
# 0..2 is OpenAI's range, and the other providers' upper bound too.
StudentTemperature = Annotated[float | None, typer.Option(
    "--student-temperature", min=0.0, max=2.0,
    help="Sampling temperature, 0 to 2 (default: the provider's).", show_default=False)]
TeacherTemperature = Annotated[float | None, typer.Option(
    "--teacher-temperature", min=0.0, max=2.0,
    help="Sampling temperature, 0 to 2 (default: the provider's).", show_default=False)]
StudentMaxTokens = Annotated[int, typer.Option(
    "--student-max-tokens", min=1,
    help="Token limit per student message (reasoning models need thousands).")]
TeacherMaxTokens = Annotated[int, typer.Option(
    "--teacher-max-tokens", min=1,
    help="Token limit per teacher message (reasoning models need thousands).")]


def _above_zero(value: float) -> float:
    # (typer's min= cannot exclude the bound itself, and a timeout of 0 s fails every call)
    if value <= 0:
        raise typer.BadParameter("Input should be greater than 0 (seconds)")
    return value


TimeoutOption = Annotated[float, typer.Option(
    "--timeout", callback=_above_zero, help="Seconds to wait for a model's reply; a streamed "
    "reply (the chat's) "
    "may run longer while its tokens keep coming, the limit is then on a silence between "
    "them.")]
RetriesOption = Annotated[int, typer.Option(
    "--retries", min=0, help="Retries per model call on network errors, timeouts, server "
    "errors and malformed replies (a rate limit is waited out instead: --rate-limit-wait).")]
RateLimitWaitOption = Annotated[float, typer.Option(
    "--rate-limit-wait", min=0, help="Seconds one model call may spend waiting out rate "
    "limits (429s: the wait the API names, and every call to that model slows down with it); "
    "0: a 429 fails the call.")]
PromptsOption = Annotated[str | None, typer.Option(
    "--prompts", help="Directory of prompt templates overriding the built-in ones.",
    show_default=False)]


def _examples(*lines: tuple[str, str]) -> str:
    """A command's --help epilog: example commands, each with what it does."""
    width = max(len(command) for command, what in lines if what) + 2
    return "Examples:\n" + "\n".join(
        f"{command:<{width}}{what}".rstrip() for command, what in lines)


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


def _field_map(
    question_field: str, answer_field: str, answer_pattern: str | None,
    field_options: list[str] | None, index_base: int = 0, shuffle_choices: bool = False,
    answers_optional: bool = False, where: list[str] | None = None,
    columns: str | None = None,
) -> FieldMap:
    from sml_cli.mapping import (
        FieldMap,
        parse_columns_option,
        parse_field_options,
        parse_where_options,
    )

    return FieldMap(question_field, answer_field, answer_pattern,
                    parse_field_options(field_options), index_base, shuffle_choices,
                    where=parse_where_options(where), answers_optional=answers_optional,
                    header=parse_columns_option(columns))


# ----------------------------------------------------------------------------- problems


@problems_app.command("list")
def problems_list() -> None:
    """Show the built-in problem sets with their sizes and verifiers."""
    from sml_cli import console_views

    console_views.print_problem_sets()


@problems_app.command("show")
def problems_show(
    source: Annotated[str, typer.Argument(help="Built-in set name or problem file.")],
    limit: Annotated[int | None, typer.Option(
        "--limit", "-n", min=1, help="Rows to show (default: 10 in the table, all with --json).",
        show_default=False)] = None,
    question_field: QuestionField = "question",
    answer_field: AnswerField = "answer",
    answer_pattern: AnswerPattern = None,
    field_options: FieldOption = None,
    where: WhereOption = None,
    columns: ColumnsOption = None,
    index_base: IndexBase = 0,
    shuffle_choices: ShuffleChoices = False,
    private: Annotated[
        bool, typer.Option("--private/--public", help="Show answers (teacher view) or hide them.")
    ] = True,
    as_json: Annotated[bool, typer.Option(
        "--json", help="The problems as loaded, one problem row per line (JSON Lines): a "
        "converted copy of the set that loads with no flags (--public: the student's fields "
        "only).")] = False,
) -> None:
    """Show the problems of a set (validating the whole file)."""
    import json

    from sml_cli import console_views
    from sml_cli.problems import load_problems, loading_notes

    fields = _field_map(question_field, answer_field, answer_pattern, field_options,
                        index_base, shuffle_choices, where=where, columns=columns)
    problems = load_problems(source, fields)
    if as_json:
        for problem in problems[:limit]:
            typer.echo(json.dumps(problem.to_row(private=private), ensure_ascii=False))
    else:
        console_views.print_problems(source, problems, limit=limit or 10, private=private)
    console_views.print_notes(loading_notes(problems, fields))


# ----------------------------------------------------------------------------- chat


@app.command("chat")
def chat_command(
    role: Annotated[str | None, typer.Option(
        "--role", "-r", help="student, teacher or watch (without it: the start screen).",
        show_default=False)] = None,
    student: Annotated[str | None, typer.Option(
        "--student", "-s", help="Student model (default local); `human` = a second person "
        "who joins from another terminal.", show_default=False)] = None,
    teacher: Annotated[str | None, typer.Option(
        "--teacher", "-t", help="Teacher model (default local); `human` = a second person.",
        show_default=False)] = None,
    problems: ProblemsOption = "arithmetic",
    problem: Annotated[str | None, typer.Option(
        "--problem", help="Problem id (default: a random one).", show_default=False)] = None,
    question: Annotated[str | None, typer.Option(
        "--question", help="Your own question (with --answer).", show_default=False)] = None,
    answer: Annotated[str | None, typer.Option(
        "--answer", help="Reference answer for --question.", show_default=False)] = None,
    condition: Annotated[str, typer.Option(
        "--condition", "-c", help="What the teacher knows: answer, verifier, symmetric (nothing "
        "more than the student), binary or none (no teacher).")] = "answer",
    max_turns: Annotated[int, typer.Option(
        "--max-turns", "-T", min=1, help="Student turns before the session ends unsolved.")] = 6,
    guard: Annotated[str, typer.Option("--guard", help="flag, redact or regenerate.")
                     ] = "redact",
    db: DbOption = None,
    join: Annotated[str | None, typer.Option(
        "--join", help="Join a session started in another terminal, taking its free seat.",
        show_default=False)] = None,
    resume: Annotated[str | None, typer.Option(
        "--resume", help="Continue a chat session that was left mid-way.", show_default=False)
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for the random problem.",
                                             show_default=False)] = None,
    question_field: QuestionField = "question",
    answer_field: AnswerField = "answer",
    answer_pattern: AnswerPattern = None,
    field_options: FieldOption = None,
    where: WhereOption = None,
    columns: ColumnsOption = None,
    index_base: IndexBase = 0,
    shuffle_choices: ShuffleChoices = False,
    student_api_base: StudentApiBase = None,
    teacher_api_base: TeacherApiBase = None,
    student_api_key: StudentApiKey = None,
    teacher_api_key: TeacherApiKey = None,
    student_temperature: StudentTemperature = None,
    teacher_temperature: TeacherTemperature = None,
    student_max_tokens: StudentMaxTokens = 512,
    teacher_max_tokens: TeacherMaxTokens = 512,
    timeout: TimeoutOption = 120.0,
    retries: RetriesOption = 4,
    rate_limit_wait: RateLimitWaitOption = 300.0,
    prompts: PromptsOption = None,
) -> None:
    """Tutoring in the terminal: play student or teacher against a model, or watch two."""
    from sml_cli.chat import ChatOptions
    from sml_cli.tui.app import run_chat

    options = ChatOptions(
        role=role, student=student, teacher=teacher, problems=problems,
        fields=_field_map(question_field, answer_field, answer_pattern, field_options,
                          index_base, shuffle_choices, where=where, columns=columns),
        problem_id=problem,
        question=question, answer=answer, condition=condition, max_turns=max_turns,
        guard=guard, db=db, prompts_dir=prompts, seed=seed,
        student_settings=_settings("student", student_api_base, student_api_key,
                                   student_temperature, student_max_tokens, timeout, retries,
                                   rate_limit_wait),
        teacher_settings=_settings("teacher", teacher_api_base, teacher_api_key,
                                   teacher_temperature, teacher_max_tokens, timeout, retries,
                                   rate_limit_wait),
    )
    run_chat(options, join=join, resume=resume)


# ----------------------------------------------------------------------------- models


@app.command("models")
def models_command() -> None:
    """How to name models: the embedded default, local GGUF files, hosted and self-hosted."""
    from sml_cli import console_views

    console_views.print_models()


# ----------------------------------------------------------------------------- eval


def _settings(role: str, api_base: str | None, api_key: str | None,
              temperature: float | None, max_tokens: int | None, timeout: float,
              retries: int, rate_limit_wait: float) -> ModelSettings:
    """One role's model settings; an API base that can never work is refused here, before
    anything runs (exit 2), and a full endpoint URL is cut to its base, with a note."""
    from sml_cli.models import ModelSettings, checked_api_base

    if api_base is not None:
        api_base, note = checked_api_base(api_base, f"--{role}-api-base")
        if note:
            from sml_cli.console_views import print_notes

            print_notes([note])
    return ModelSettings(api_base=api_base, api_key=api_key or None, temperature=temperature,
                         max_tokens=max_tokens, timeout=timeout, retries=retries,
                         rate_limit_wait=rate_limit_wait)


@app.command("eval", epilog=_examples(
    ("OPENAI_API_BASE=URL sml eval -s openai/M -n 10", "M in both roles"),
    ("sml eval -s local -t openai/gpt-4o-mini -c all -k 3", "5 conditions × 3"),
    ("sml eval ... --dry-run", "the plan; calls nothing"),
    ("sml eval ... --run-id RUN", "again: resumes RUN"),
    ("sml report latest", "the scores afterwards")))
def eval_command(
    student: Annotated[str, typer.Option("--student", "-s", help="Student model: `local`, "
                       "`gguf:PATH` or a litellm model string (openai/…, anthropic/…, …).")
                       ] = "local",
    teacher: Annotated[str | None, typer.Option(
        "--teacher", "-t", help="Teacher model (default: the --student model, at "
        "its API base).",
        show_default=False)] = None,
    problems: ProblemsOption = "arithmetic",
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1,
                                              help="Use the first N problems.",
                                              show_default=False)] = None,
    shuffle: Annotated[bool, typer.Option(
        "--shuffle", help="Put the problems in a random order seeded by --seed first (with "
        "--limit: a random subset, the same on every run).")] = False,
    conditions: Annotated[str, typer.Option(
        "--conditions", "-c", help="Comma-separated: answer, verifier, symmetric, binary, "
        "none; or all.")
    ] = "answer",
    max_turns: Annotated[int, typer.Option("--max-turns", "-T", min=1,
                                           help="Student turns per session.")] = 6,
    samples: Annotated[int, typer.Option("--samples", "-k", min=1, help="Sessions per problem "
                                         "and condition.")] = 1,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1,
                                             help="Sessions in flight at once.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seeds model sampling and the bootstrap.")
                    ] = 0,
    guard: Annotated[str, typer.Option("--guard", help="Leak policy: flag, redact, regenerate.")
                     ] = "redact",
    run_id: Annotated[str | None, typer.Option(
        "--run-id", help="Name of the run; re-use it to resume.", show_default=False)] = None,
    db: DbOption = None,
    json_path: Annotated[str | None, typer.Option(
        "--json", help="Write the results here as JSON: run_id, elapsed_s, config, the scores "
        "per condition and the paired differences (`-`: on stdout, instead of the tables).",
        show_default=False)] = None,
    question_field: QuestionField = "question",
    answer_field: AnswerField = "answer",
    answer_pattern: AnswerPattern = None,
    field_options: FieldOption = None,
    where: WhereOption = None,
    columns: ColumnsOption = None,
    index_base: IndexBase = 0,
    shuffle_choices: ShuffleChoices = False,
    student_api_base: StudentApiBase = None,
    teacher_api_base: TeacherApiBase = None,
    student_api_key: StudentApiKey = None,
    teacher_api_key: TeacherApiKey = None,
    student_temperature: StudentTemperature = None,
    teacher_temperature: TeacherTemperature = None,
    student_max_tokens: StudentMaxTokens = 512,
    teacher_max_tokens: TeacherMaxTokens = 512,
    timeout: TimeoutOption = 120.0,
    retries: RetriesOption = 4,
    rate_limit_wait: RateLimitWaitOption = 300.0,
    prompts: PromptsOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or tables.")
                     ] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Check the options and the problems, show the plan and how the "
        "first problem's sessions open (the student's first request exactly as sent, each "
        "teacher's prompt), and call no model and write nothing.")] = False,
) -> None:
    """Run a student model against a teacher over a problem set under several conditions."""
    import asyncio

    from sml_cli import console_views
    from sml_cli.evaluate import EvalOptions, EvalRun, parse_conditions
    from sml_cli.outputs import to_stdout, write_json
    from sml_cli.problems import loading_notes

    options = EvalOptions(
        student=student, teacher=teacher, problems=problems,
        fields=_field_map(question_field, answer_field, answer_pattern, field_options,
                          index_base, shuffle_choices, where=where, columns=columns),
        limit=limit, shuffle=shuffle,
        conditions=parse_conditions(conditions), max_turns=max_turns, samples=samples,
        concurrency=concurrency, seed=seed, guard=guard, run_id=run_id, db=db,
        json_path=json_path, prompts_dir=prompts,
        student_settings=_settings("student", student_api_base, student_api_key,
                                   student_temperature, student_max_tokens, timeout, retries,
                                   rate_limit_wait),
        teacher_settings=_settings("teacher", teacher_api_base, teacher_api_key,
                                   teacher_temperature, teacher_max_tokens, timeout, retries,
                                   rate_limit_wait),
    )
    if dry_run:
        from sml_cli.evaluate import preview

        planned = preview(options)
        console_views.print_warnings(planned.warnings)
        console_views.print_notes(loading_notes(planned.problems, options.fields))
        console_views.print_eval_preview(planned)
        return
    run = EvalRun(options)
    console_views.print_warnings(run.warnings)
    console_views.print_notes(loading_notes(run.problems, options.fields))
    console_views.print_notes(console_views.duplicates_notes(run.duplicates))
    if run.resuming:
        console_views.print_resuming(run.run_id, run.skipped, run.total)
    try:
        with console_views.preparing(quiet):
            warnings = run.prepare_models()
        console_views.print_warnings(warnings)
        if quiet:
            _, interrupted = asyncio.run(run.execute())
        else:
            with console_views.EvalProgress(run.total, run.skipped) as progress:
                _, interrupted = asyncio.run(run.execute(progress.session_done))
        result = run.result(interrupted)
        if json_path:
            write_json(result.to_json(), json_path)
        if not quiet and not to_stdout(json_path):
            console_views.print_eval_summary(result.to_json())
        console_views.print_notes(console_views.run_notes(run.store, run.run_id, run.config))
        console_views.print_notes(run.rate_limit_notes)
        errors = [] if run.stopped_by else run.error_digest()
        if errors:
            console_views.print_session_errors(errors, run.run_id)
            failed = run.all_failed()
            if failed and not interrupted:
                console_views.print_all_failed(failed, run.run_id, options.db)
                raise typer.Exit(1)
        if run.stopped_by:
            console_views.print_stopped(run.stopped_by, run.run_id)
            raise typer.Exit(1)
        if interrupted:
            console_views.print_interrupted(run.run_id)
            raise typer.Exit(130)
        console_views.print_run_footer(run.run_id, run.store.path)
    finally:
        run.store.close()


# ----------------------------------------------------------------------------- report


@app.command("report", epilog=_examples(
    ("sml report -n 5", "the 5 newest runs"),
    ("sml report latest", "the newest run's scores"),
    ("sml report latest~1 latest", "the last two runs compared"),
    ("sml report RUN --html run.html", "one self-contained page"),
    ("sml report latest --json - | jq .conditions", "")))
def report_command(
    run_ids: Annotated[list[str] | None, typer.Argument(
        help="The run to report on (`latest`: the newest; `latest~1`: the one before); "
        "several runs are compared side by side, with paired differences between them per "
        "condition; none lists the newest runs.",
        metavar="RUN_ID", show_default=False)] = None,
    db: DbOption = None,
    html: Annotated[str | None, typer.Option(
        "--html", help="Write a self-contained HTML report: charts, outcomes and transcripts "
        "of one run, or several runs compared.", show_default=False)] = None,
    json_path: Annotated[str | None, typer.Option(
        "--json", help="Write the scores as JSON: a run's, as `sml eval --json` writes "
        "them, or for several runs each one's scores and the paired differences. `-`: on "
        "stdout, instead of the tables (with no RUN_ID: the runs, one JSON line each).",
        show_default=False)] = None,
    limit: Annotated[int, typer.Option(
        "--limit", "-n", min=1, help="With no RUN_ID: how many of the newest runs to list.")
    ] = 20,
) -> None:
    """A run's scores and success-by-turn chart, several runs compared, or the newest runs.

    With --html, one self-contained HTML file: charts, outcomes and transcripts."""
    from sml_cli import report
    from sml_cli.outputs import to_stdout
    from sml_cli.store import Store

    tables = not to_stdout(json_path)
    with Store(db) as store:
        run_ids = [store.resolve_run_id(run_id) for run_id in run_ids or []]
        if not run_ids:
            if html or (json_path and tables):
                from sml_cli.errors import UsageError

                raise UsageError("--html and --json need a RUN_ID (sml report lists them; "
                                 "`--json -` lists them as JSON lines)")
            if tables:
                report.print_runs(store.run_summaries(limit=limit), store.path)
            else:
                import json

                for row in report.runs_json(store.run_summaries(limit=limit)):
                    typer.echo(json.dumps(row, ensure_ascii=False))
            return
        if len(run_ids) > 1:
            comparison = report.compare_runs(store, run_ids)
            if tables:
                report.print_comparison(comparison)
            document: dict = comparison
            if html:
                path = report.write_page(report.render_comparison_html(comparison, store), html)
                typer.echo(f"wrote {path}", err=True)
        else:
            from sml_cli import console_views

            data = report.load_run(store, run_ids[0])
            if tables:
                report.print_report(data)
            notes = console_views.run_notes(store, run_ids[0], data.run["config"])
            console_views.print_notes(notes)
            document = data.result
            if html:
                path = report.write_html(data, store, html, notes=notes)
                typer.echo(f"wrote {path}", err=True)
        if json_path:
            from sml_cli.outputs import write_json

            write_json(document, json_path)
            if tables:
                typer.echo(f"wrote {json_path}", err=True)


# ----------------------------------------------------------------------------- sessions


@sessions_app.command("list", epilog=_examples(
    ("sml sessions list -n 5", "the 5 newest sessions"),
    ("sml sessions list --run-id latest -c answer --unsolved", "the newest run's"),
    ("sml sessions list --status error --json | jq .error", ""),
    ("sml sessions show latest", "the newest session")))
def sessions_list(
    db: DbOption = None,
    run_id: Annotated[str | None, typer.Option(
        "--run-id", help="One run's sessions (an eval's or an import's; `latest`: the "
        "newest run, `latest~N` the one N before it).",
        show_default=False)] = None,
    condition: Annotated[str | None, typer.Option(
        "--condition", "-c", help="One condition (or an import's label).",
        show_default=False)] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="Student or teacher model.", show_default=False)] = None,
    solved: Annotated[bool | None, typer.Option(
        "--solved/--unsolved", help="Only solved / unsolved sessions.", show_default=False)
    ] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="running, done or error.", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", "-n", min=1, help="Newest N (default: 50 in the table, all with --json).",
        show_default=False)] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object per session per line (JSON Lines), scores included, "
        "for jq or pandas.")] = False,
) -> None:
    """List logged sessions, newest first."""
    import json

    from sml_cli import console_views
    from sml_cli.store import Store

    filters = {"run_id": run_id, "condition": condition, "status": status, "model": model,
               "solved": solved}
    with Store(db) as store:
        if run_id is not None:
            filters["run_id"] = store.resolve_run_id(run_id, "--run-id")
        if as_json:
            for session in store.matching_sessions(filters, limit=limit)[1]:
                typer.echo(json.dumps(session.to_json(), ensure_ascii=False))
            return
        total, sessions = store.matching_sessions(filters, limit=limit or 50)
        console_views.print_sessions(
            sessions, turns_so_far=store.student_turns_so_far(sessions),
            stopped=store.stopped_with_their_run(sessions),
            title=f"{total} session{'s' if total != 1 else ''} in {store.path}"
            + (f" (newest {len(sessions)})" if total > len(sessions) else ""))


@sessions_app.command("show")
def sessions_show(
    session_id: Annotated[str, typer.Argument(
        help="Session id (or a unique prefix; `latest`: the newest session).")],
    db: DbOption = None,
    view: Annotated[str, typer.Option(
        "--view", help="all (private channel marked), student, or teacher.")] = "all",
) -> None:
    """Show a session's transcript; private rows and flagged leak spans are marked."""
    from sml_cli import console_views
    from sml_cli.errors import UsageError
    from sml_cli.store import Store

    if view not in ("all", "student", "teacher"):
        raise UsageError(f"--view {view!r}: choose all, student or teacher")
    with Store(db) as store:
        info = store.session(session_id)
        problem = store.problem(info.problem_key)
        console_views.print_transcript(info, problem if view == "all" else None,
                                       store.turns(info.id), view=view)


@sessions_app.command("import")
def sessions_import(
    path: Annotated[str, typer.Argument(
        help="Dialogues: JSONL, JSON, CSV/TSV, Excel, Parquet or Arrow (or a folder or quoted glob "
        "of them); sml's own {problem, turns} rows or "
        "public layouts (messages, conversations, MathDial's conversation string).")],
    match: Annotated[str, typer.Option(
        "--match", help="strict: attempts need answer markers; mention: stating the answer "
        "(a number equal to it, or its text) solves (student) or tells (teacher).")] = "strict",
    json_path: Annotated[str | None, typer.Option(
        "--json", help="Write the scores here as JSON, as `sml eval --json` writes them "
        "(`-`: on stdout, instead of the tables).", show_default=False)] = None,
    run_id: Annotated[str | None, typer.Option(
        "--run-id", help="Name of the import run (default: import-DATE-TIME-…); a new one.",
        show_default=False)] = None,
    question_field: QuestionField = "question",
    answer_field: AnswerField = "answer",
    answer_pattern: AnswerPattern = None,
    field_options: FieldOption = None,
    where: WhereOption = None,
    columns: ColumnsOption = None,
    index_base: IndexBase = 0,
    turns_field: Annotated[str | None, typer.Option(
        "--turns-field", help="Column holding the dialogue (default: the first of turns, "
        "messages, conversation(s), dialogue, dialog, conversation_history, …).",
        show_default=False)
    ] = None,
    student_role: Annotated[str | None, typer.Option(
        "--student-role", help="Speaker label(s) of the student, comma-separated "
        "(default: student, user, human, learner, pupil, tutee, S, …; numbered too).",
        show_default=False)] = None,
    teacher_role: Annotated[str | None, typer.Option(
        "--teacher-role", help="Speaker label(s) of the teacher, comma-separated "
        "(default: teacher, tutor, assistant, gpt, bot, ai, model, instructor, coach, T, …).",
        show_default=False)] = None,
    condition: Annotated[str | None, typer.Option(
        "--condition", help="Condition label for rows without one (default: imported).",
        show_default=False)] = None,
    group_by: Annotated[str | None, typer.Option(
        "--group-by", help="Rows are single turns (speaker and text columns): group them "
        "into dialogues by this column (turns in the order of --order-by).",
        show_default=False)] = None,
    dialogue_per_file: Annotated[bool, typer.Option(
        "--dialogue-per-file", help="Each data file (of a folder or quoted glob) is one "
        "dialogue, a turn per row (one TSV per chat, as TSCC ships them).")] = False,
    order_by: Annotated[str | None, typer.Option(
        "--order-by", help="With --group-by or --dialogue-per-file: the column whose numbers "
        "or date-times order each dialogue's turns (default: a turn-order column found by "
        "its name, message_index, turn, seq, timestamp, …; `file`: the file's order).",
        show_default=False)] = None,
    problems: Annotated[str | None, typer.Option(
        "--problems", help="Problems kept apart from the dialogues: a problem file (any "
        "--problems form of `sml eval`); each dialogue names its problem's id in "
        "--problem-id-field, and the field flags then describe this file.",
        show_default=False)] = None,
    problem_id_field: Annotated[str, typer.Option(
        "--problem-id-field", help="With --problems: the dialogue column holding the "
        "problem's id.")] = "problem_id",
    speaker_field: Annotated[str | None, typer.Option(
        "--speaker-field", help="Key of a turn's speaker (default: the first of role, from, "
        "speaker, author, sender, …).", show_default=False)] = None,
    text_field: Annotated[str | None, typer.Option(
        "--text-field", help="Key of a turn's text (default: the first of content, value, "
        "text, message, utterance, …).", show_default=False)] = None,
    alternate: Annotated[str | None, typer.Option(
        "--alternate", help="The turns are plain strings with no speaker: they alternate, "
        "this side (student or teacher) first.", show_default=False)] = None,
    question_from_first_turn: Annotated[bool, typer.Option(
        "--question-from-first-turn", help="The dialogue's opening turn states the problem "
        "(no question column): it becomes the question, and the dialogue starts after it.")
    ] = False,
    responses_field: Annotated[str | None, typer.Option(
        "--responses-field", help="Column of candidate next tutor replies beside each "
        "dialogue (MRBench's anno_llm_responses: replies by tutor name), or columns of one "
        "reply each, comma-separated (Bridge's c_r,c_revision): each ends a session of its "
        "own, its condition the candidate's name, so telling is scored per tutor.",
        show_default=False)] = None,
    allow_missing_answers: Annotated[bool, typer.Option(
        "--allow-missing-answers", help="Import dialogues whose problem has no reference "
        "answer (no answer column, an empty cell, 'Not Available': Bridge, CIMA) unscored: "
        "turns and questions are counted, success and telling are not.")] = False,
    preview: Annotated[int | None, typer.Option(
        "--preview", min=1, help="Check the whole file, show the first N dialogues as they "
        "would be scored, and write nothing.", show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """Import tutoring dialogues logged elsewhere and score them like evals."""
    from sml_cli import console_views, transcripts
    from sml_cli.errors import UsageError

    if condition is not None and not condition.strip():
        raise UsageError("--condition: give a non-empty label")
    if alternate is not None and alternate not in ("student", "teacher"):
        raise UsageError(f"--alternate {alternate!r}: say student or teacher (who speaks "
                         "first)")
    if question_from_first_turn and (problems is not None or question_field != "question"):
        clash = "--problems" if problems is not None else "--question-field"
        raise UsageError(f"--question-from-first-turn and {clash} both say where the question "
                         "is: give one")
    fields = _field_map(question_field, answer_field, answer_pattern, field_options,
                        index_base, answers_optional=allow_missing_answers, where=where,
                        columns=columns)
    reading = transcripts.Reading()
    by_id = None if problems is None else transcripts.load_dialogue_problems(
        problems, fields, problem_id_field, reading)
    fmt = transcripts.TranscriptFormat(
        fields=fields,
        turns_field=turns_field,
        student_roles=transcripts.parse_role_option("--student-role", student_role),
        teacher_roles=transcripts.parse_role_option("--teacher-role", teacher_role),
        condition=condition.strip() if condition else None,
        group_by=group_by,
        dialogue_per_file=dialogue_per_file,
        order_by=order_by,
        speaker_field=speaker_field,
        text_field=text_field,
        problems=by_id,
        problem_id_field=problem_id_field,
        question_from_first_turn=question_from_first_turn,
        alternate=alternate,
        responses_field=responses_field,
    )
    if preview is not None:
        total, shown = transcripts.preview(path, match=match, fmt=fmt, limit=preview,
                                           reading=reading)
        console_views.print_import_preview(total, shown, path)
        console_views.print_warnings(reading.warnings)
        console_views.print_notes(reading.notes)
        return
    result = transcripts.import_file(path, match=match, db=db, run_id=run_id, fmt=fmt,
                                     json_path=json_path, reading=reading)
    from sml_cli.outputs import to_stdout

    if not to_stdout(json_path):
        console_views.print_eval_summary(result)
    console_views.print_warnings(reading.warnings)
    console_views.print_notes(reading.notes + console_views.scoring_notes(result["config"]))


# ----------------------------------------------------------------------------- export


@app.command("export")
def export_command(
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="openai, sharegpt, trl, trl-prompt-completion, preference, raw.")
    ] = "openai",
    view: Annotated[str | None, typer.Option(
        "--view", help="student or teacher (default: student; teacher for raw).",
        show_default=False)] = None,
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="File to write (.jsonl, .json or .parquet); default stdout.",
        show_default=False)] = None,
    db: DbOption = None,
    only_solved: Annotated[bool, typer.Option("--only-solved", help="Solved sessions only.")
                           ] = False,
    condition: Annotated[list[str] | None, typer.Option(
        "--condition", "-c", help="Only these conditions (repeatable).",
        show_default=False)] = None,
    run_id: Annotated[list[str] | None, typer.Option(
        "--run-id", help="Only these runs (repeatable; `latest`: the newest run, "
        "`latest~N` the one N before it).", show_default=False)] = None,
    student_model: Annotated[list[str] | None, typer.Option(
        "--student-model", help="Only sessions with this student model (repeatable).",
        show_default=False)] = None,
    include_reasoning: Annotated[bool, typer.Option(
        "--include-reasoning", help="Give each assistant message the thoughts its speaker "
        "had before it, as reasoning_content (reasoning models; the trained side's own "
        "only). openai, trl, trl-prompt-completion.")] = False,
    include_leaked: Annotated[bool, typer.Option(
        "--include-leaked", help="Keep sessions whose teacher leaked (student view: exactly "
        "what the student received).")] = False,
    weights: Annotated[bool, typer.Option(
        "--weights", help="openai format: failed attempts get weight 0.")] = False,
    stats: Annotated[bool, typer.Option(
        "--stats", help="Print what would be exported, write nothing.")] = False,
) -> None:
    """Turn logged sessions into training data (SFT / preference), student or teacher view."""
    from sml_cli import export

    export.run(export.ExportOptions(
        fmt=fmt, view=view, output=output, db=db, only_solved=only_solved,
        conditions=condition or [], run_ids=run_id or [], student_models=student_model or [],
        include_leaked=include_leaked, weights=weights, stats=stats,
        include_reasoning=include_reasoning,
    ))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
