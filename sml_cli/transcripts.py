"""`sml sessions import`: dialogues logged elsewhere → sessions scored like evals (SPEC §4).

The SPEC's row is `{"problem": {question, answer, …}, "turns": [{"role": "student"|"teacher",
"content": …}, …], "condition"?: label, "meta"?: {…}}`. Public tutoring datasets use other
layouts, and they import without conversion:
* the problem may be the row's own fields (`question`, `answer`, or any columns mapped with
  the problem flags: `--question-field`, `--answer-field`, `--answer-pattern`, `--field`);
* the turns may sit under `messages`, `conversation`, `conversations`, `dialogue`… (or
  `--turns-field`), as {role|from|speaker…, content|value|text…} objects (ShareGPT, OpenAI
  chat), "Speaker: text" strings, or one string of `|EOM|`-separated or speaker-prefixed
  turns (MathDial);
* speakers are recognised by the usual labels (user/human → student, assistant/gpt/tutor →
  teacher, system skipped), by `--student-role`/`--teacher-role`, or, when a dialogue has one
  known side and one unknown name (MathDial calls the student by first name), by elimination.
Other row fields become the session's metadata. The whole file is validated first (a bad row
is exit 2 naming file:line); then one transaction writes a run (kind `import`), the problems,
the sessions (origin `import`) and their turns, so a failure leaves nothing.

What the rows become:
* turn 0: the question as a public `question` row. No student system prompt is stored: the
  people in an imported dialogue were given none, and the log holds only what happened.
* student turns, numbered 1..n. `--match strict`: an answer marker (`Final answer:`,
  `\\boxed{}`, `ANSWER:`) is an attempt, verified like in an eval (a private `verdict` row).
  `--match mention`: a student turn stating a number equal to the answer (or, for a text
  answer, the answer text) is a correct attempt; other turns with a marker are verified as
  in strict mode.
* teacher turns belong to the student turn they follow (0 before the first). A teacher turn
  that states the answer (guard.find_leaks) before the student first stated it — a correct
  attempt, or the answer mentioned — is *telling* (MathDial's telling@k): flagged as a leak,
  in both modes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import re
import shlex
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sml_cli import guard
from sml_cli.cells import cell_text, clipped, list_cell
from sml_cli.datafiles import SPLIT_COLUMN, data_files, read_rows, source_exists
from sml_cli.errors import Line, ProblemFileError, SmlError, UsageError
from sml_cli.mapping import (
    _MISSING,
    FieldMap,
    Remedy,
    RowSelector,
    _get,
    _keys_by_case,
    field_flags,
    has_column,
    lookup,
    missing_column,
    suggesting_options,
    with_options,
)
from sml_cli.metrics import session_scores, summarize
from sml_cli.numbers import NumberMatch, find_numbers, numbers_equal, parse_number
from sml_cli.outputs import check_writable, write_json
from sml_cli.participants import split_reasoning
from sml_cli.problems import (
    BUILTIN_SETS,
    LETTERS,
    UNVERIFIED,
    MissingAnswerError,
    Problem,
    _build_problem,
    _compile_answer_pattern,
    _jsonable,
    choice_index,
    load_problems,
)
from sml_cli.records import (
    ASKED,
    ATTEMPT,
    MESSAGE,
    QUESTION,
    VERDICT,
    SessionInfo,
    Turn,
    new_run_id,
    new_session_id,
    now,
)
from sml_cli.verification import check, extract_attempt, is_question, reference_choice

MATCH_MODES = ("strict", "mention")
DEFAULT_CONDITION = "imported"
ROLES = ("student", "teacher")


# (student|teacher, what was said, what a logged reasoning model thought before it)
Said = tuple[str, str, str | None]


@dataclass
class Transcript:
    line: int
    problem: Problem
    turns: list[Said]
    condition: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def student_turns(self) -> int:
        return sum(1 for role, *_ in self.turns if role == "student")


# Where public dialogue datasets keep their turns, and what they call the two sides. The
# generic chat labels read as a tutoring app logs them: the person is the student (`user`,
# `human`), the model is the tutor (`assistant`, `gpt`).
TURN_FIELDS = ("turns", "messages", "conversation", "conversations", "dialogue", "dialog",
               "conversation_history", "dialogue_history", "transcript", "utterances",
               "chat_messages", "mapping", "dialogues", "history")
ROLE_KEYS = ("role", "from", "speaker", "author", "sender", "user", "participant", "who",
             "name")
CONTENT_KEYS = ("content", "value", "text", "message", "utterance", "body", "msg", "sentence")
STUDENT_LABELS = ("student", "user", "human", "learner", "pupil", "s", "ss", "class", "tutee",
                  "mentee", "trainee", "novice", "apprentice")
TEACHER_LABELS = ("teacher", "tutor", "assistant", "gpt", "bot", "ai", "model", "instructor",
                  "t", "coach", "mentor", "professor", "prof", "lecturer", "ta", "educator",
                  "facilitator", "trainer", "expert")
# Turns no side of the tutoring speaks: prompts, and tool calls and their results under the
# names chat formats give them (OpenAI's `tool`/`function`, Llama's `ipython`, the ShareGPT
# tool layout's `function_call`/`observation`).
SKIPPED_LABELS = ("system", "developer", "tool", "function", "ipython", "function_call",
                  "function_response", "observation", "tool_call", "tool_calls",
                  "tool_response", "tool_result", "tool_use")
# Where a logged reasoning model's thoughts are kept beside a turn's text (DeepSeek's and
# vLLM's `reasoning_content`), and the content parts that hold them (Anthropic's
# `thinking` blocks): thoughts, not what was said.
REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")
_THOUGHT_PARTS = ("thinking", "redacted_thinking", "reasoning")
class Fail(Protocol):
    """Makes the error of the row being read: its file and line named, and the options that
    would get past it (see `suggesting_options`)."""

    def __call__(self, message: str, remedy: Remedy = ()) -> ProblemFileError: ...


# The names chat formats give the two sides (OpenAI's user/assistant, ShareGPT's human/gpt,
# Gemini's user/model). They are one role each, whatever a file calls it: claiming one for a
# side (`--student-role assistant`) claims them all, and gives the other side's names to the
# other side, unless a flag names one of those too.
CHAT_LABELS = {"student": ("user", "human"),
               "teacher": ("assistant", "gpt", "bot", "ai", "model")}
ROW_FIELDS = ("condition", "meta")


@dataclass(frozen=True)
class TranscriptFormat:
    """How a dialogue file's rows map onto transcripts (the `sessions import` flags)."""

    fields: FieldMap = field(default_factory=FieldMap)
    turns_field: str | None = None
    student_roles: tuple[str, ...] = ()
    teacher_roles: tuple[str, ...] = ()
    condition: str | None = None
    group_by: str | None = None  # rows are single turns of the dialogue named in this column
    # Each data file is one dialogue, a turn per row (TSCC ships one TSV per chat).
    dialogue_per_file: bool = False
    # The column whose numbers or date-times order a grouped dialogue's turns; by default
    # a turn-order column when the rows have one (`_order_column`); FILE_ORDER: none.
    order_by: str | None = None
    speaker_field: str | None = None  # key of a turn's speaker, when none of ROLE_KEYS
    text_field: str | None = None  # key of a turn's text, when none of CONTENT_KEYS
    # Problems kept in a file of their own (`--problems`), by id; each dialogue names its
    # problem in `problem_id_field`. The field flags then describe that file.
    problems: dict[str, Problem] | None = field(default=None, hash=False)
    problem_id_field: str = "problem_id"
    # Datasets that log the problem only as the dialogue's opening (CoMTA's first user
    # message, MRBench's "The question is: …" tutor turn): that turn becomes the question.
    question_from_first_turn: bool = False
    # Unlabelled turns (a list of plain strings) that alternate, this side first.
    alternate: str | None = None
    # `--responses-field`: candidate next tutor turns kept beside the dialogue (MRBench's
    # `anno_llm_responses`, one per tutor model): each ends a session of its own, under a
    # condition named after it, so that telling is scored per tutor.
    responses_field: str | None = None

    def speaker_keys(self, item: dict[str, Any]) -> tuple[str | None, str | None]:
        """The keys under which a turn object (or a one-turn row) names its speaker and
        holds its text: the flags' names, else the usual ones; either matched whatever its
        case."""
        speaker = _key(item, (self.speaker_field,) if self.speaker_field else ROLE_KEYS)
        if speaker is None and not self.speaker_field:
            speaker = next((k for k in item if _flag_side(k)), None)
        return speaker, _key(item, (self.text_field,) if self.text_field else CONTENT_KEYS)

    def keys_wanted(self) -> str:
        speaker = (repr(self.speaker_field) if self.speaker_field else
                   f"one of {', '.join(ROLE_KEYS)}; or name it with --speaker-field")
        text = (repr(self.text_field) if self.text_field else
                f"one of {', '.join(CONTENT_KEYS)}; or name it with --text-field")
        return f"a speaker column ({speaker}) and a text column ({text})"

    def labels(self) -> dict[str, str]:
        """Speaker label (casefolded) → student/teacher/skip."""
        labels = {x: "student" for x in STUDENT_LABELS}
        labels.update({x: "teacher" for x in TEACHER_LABELS})
        labels.update({x: "skip" for x in SKIPPED_LABELS})
        claimed = {r.casefold(): "student" for r in self.student_roles}
        claimed.update({r.casefold(): "teacher" for r in self.teacher_roles})
        for group, others in ((CHAT_LABELS["student"], CHAT_LABELS["teacher"]),
                              (CHAT_LABELS["teacher"], CHAT_LABELS["student"])):
            sides = {claimed[x] for x in group if x in claimed}
            if len(sides) != 1:
                continue  # (none claimed, or claimed for both sides: the flags say it all)
            side = sides.pop()
            labels.update({x: side for x in group})
            if not any(x in claimed for x in others):
                labels.update({x: _other(side) for x in others})
        labels.update(claimed)
        return labels


def _other(side: str) -> str:
    return "teacher" if side == "student" else "student"


def parse_role_option(flag: str, value: str | None) -> tuple[str, ...]:
    names = tuple(n.strip() for n in (value or "").split(",") if n.strip())
    if value is not None and not names:
        raise UsageError(f"{flag} {value!r}: give one or more speaker labels, comma-separated")
    return names


# ----------------------------------------------------------------------------- reading


@dataclass
class Reading:
    """What reading a dialogue file noticed besides the dialogues, said after them: `notes`
    on how it was read (turns skipped, reordered), `warnings` on flags that did nothing."""

    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    speakers: Counter[str] = field(default_factory=Counter)  # the labels met, as written
    # Dialogues grouped from rows whose turns a turn-order column found by its name put in
    # another order than the file's, by column; and all the dialogues grouped from rows.
    reordered: Counter[str] = field(default_factory=Counter)
    grouped: int = 0
    # Turns skipped for naming no speaker; those of them that said something (not empty,
    # not a stage direction), and where the first is.
    unspoken: int = 0
    unspoken_said: int = 0
    first_unspoken_said: str | None = None

    def skip_unspoken(self, where: str, turns: list[tuple[int, str]]) -> None:
        """Count the (place, text) of a dialogue's turns skipped for naming no speaker."""
        for place, text in turns:
            self.unspoken += 1
            if text.strip() and not _STAGE_DIRECTION.fullmatch(text):
                self.unspoken_said += 1
                self.first_unspoken_said = self.first_unspoken_said or (
                    f"{where}, turn {place}: {clipped(text.strip(), 40)!r}")

    def finish(self, fmt: TranscriptFormat, transcripts: list[Transcript]) -> None:
        """The notes and warnings that need the whole file read."""
        if self.unspoken:
            n, said = self.unspoken, self.unspoken_said
            turns = f"{n} turn{'s' if n != 1 else ''} naming no speaker"
            skipped = "were skipped" if n != 1 else "was skipped"
            self.notes.append(
                f"{turns} (empty, or stage directions such as '(bell rings)') {skipped}"
                if not said else
                f"{turns} {skipped}, {said if n > 1 else 'it'} with words, by whom unknown "
                f"(the first at {self.first_unspoken_said})")
        for column, n in self.reordered.items():
            self.notes.append(
                f"the turns of {n} of {self.grouped} dialogue{'s' if self.grouped != 1 else ''} "
                f"were not in {column!r} order "
                f"in the file, and were put in it ({column!r} is taken for the turns' order "
                f"by its name; --order-by COLUMN names another, --order-by {FILE_ORDER} keeps "
                "the file's)")
        splits = Counter(str(t.meta[SPLIT_COLUMN]) for t in transcripts
                         if t.meta.get(SPLIT_COLUMN) is not None)
        if len(splits) > 1:
            counted = ", ".join(f"{name} {n}" for name, n in splits.items())
            self.notes.append(f"the dialogues come from several splits ({counted}), each "
                              f"session's meta saying which ({SPLIT_COLUMN!r}); --where "
                              f"{SPLIT_COLUMN}=NAME imports one")
        for flag, roles in (("--student-role", fmt.student_roles),
                            ("--teacher-role", fmt.teacher_roles)):
            for role in roles:
                if not any(_names_role(label, role) for label in self.speakers):
                    seen = ", ".join(repr(label) for label, _ in self.speakers.most_common(12))
                    self.warnings.append(f"{flag} {role!r} matched no speaker in the file "
                                         f"(speakers seen: {seen or 'none'})")


# A transcript's line that is no one's words: "(bell rings)", "[inaudible]", "*laughter*".
_STAGE_DIRECTION = re.compile(r"\s*(?:\(.*\)|\[.*\]|\{.*\}|<.*>|\*[^*]*\*)\s*", re.DOTALL)


def _names_role(label: str, role: str) -> bool:
    """Does a `--student-role`/`--teacher-role` name apply to the speaker `label` — as it is,
    numbered (`Student 2`), as a word of it (`AI Tutor`), or as a chat name of the same role
    (`assistant` for `gpt`)?"""
    folded = label.strip().casefold()
    names = {folded, _NUMBERED.sub("", folded), *_WORD.findall(folded)}
    role = role.casefold()
    group = next((g for g in CHAT_LABELS.values() if role in g), (role,))
    return any(r in names for r in group)


def read_transcripts(path: str | Path, fmt: TranscriptFormat | None = None,
                     reading: Reading | None = None) -> list[Transcript]:
    """Parse and validate every row of a dialogue file (JSONL, JSON array, CSV/TSV, Excel, Parquet);
    raises ProblemFileError (exit 2) naming file and line at the first bad row. What the
    reading noticed on the way goes to `reading`."""
    fmt = fmt or TranscriptFormat()
    reading = reading if reading is not None else Reading()

    def load(remedy: Remedy, probe_rows: int | None) -> list[Transcript]:
        # (rows read to try suggested options are not the file's: they note nothing)
        return _read_transcripts(path, _with_options(fmt, remedy), probe_rows,
                                 reading if probe_rows is None else Reading())

    return suggesting_options(load)


def _with_options(fmt: TranscriptFormat, remedy: Remedy) -> TranscriptFormat:
    turns = [value for flag, value in remedy if flag == "--turns-field"]
    roles = {side: tuple(value for flag, value in remedy if flag == f"--{side}-role")
             for side in ROLES}
    return dataclasses.replace(
        fmt, turns_field=turns[-1] if turns else fmt.turns_field,
        student_roles=fmt.student_roles + roles["student"],
        teacher_roles=fmt.teacher_roles + roles["teacher"],
        fields=with_options(fmt.fields, tuple(o for o in remedy if o[0] not in (
            "--turns-field", "--student-role", "--teacher-role"))))


def _read_transcripts(path: str | Path, fmt: TranscriptFormat,
                      probe_rows: int | None, reading: Reading) -> list[Transcript]:
    clash = set(r.casefold() for r in fmt.student_roles) & set(
        r.casefold() for r in fmt.teacher_roles)
    if clash:
        raise UsageError(f"--student-role and --teacher-role both name {sorted(clash)[0]!r}")
    file = Path(path)
    if not source_exists(file):
        raise UsageError(f"{path}: no such transcript file")
    pattern = _compile_answer_pattern(fmt.fields.answer_pattern)
    labels = fmt.labels()
    out: list[Transcript] = []
    selector = RowSelector(fmt.fields.where) if fmt.fields.where else None
    if fmt.dialogue_per_file and fmt.group_by:
        raise UsageError("--dialogue-per-file and --group-by both say how turns make "
                         "dialogues: give one")
    if fmt.order_by is not None and not (fmt.dialogue_per_file or fmt.group_by):
        raise UsageError("--order-by orders the turns of dialogues grouped from rows: give it "
                         "with --group-by or --dialogue-per-file")
    for shard in data_files(file):
        rows: Iterable[tuple[int, dict[str, Any]]] = read_rows(shard, fmt.fields.header)
        if fmt.dialogue_per_file:
            rows = _tagged_with_file(rows, shard, file)
        if selector is not None:
            rows = [(line, row) for line, row in rows if selector.keeps(row)]
        shard_fmt = fmt
        if fmt.group_by or fmt.dialogue_per_file:
            rows = _grouped(rows, fmt, shard, reading)
            # The grouped turns are {role, content} objects now, whatever the columns were.
            shard_fmt = dataclasses.replace(fmt, turns_field=GROUPED_TURNS, speaker_field=None,
                                            text_field=None)
        for line, row in rows:
            # A dialogue grouped from rows is named by what grouped it (its id column's
            # value, its file), which a row number would not lead back to.
            name = (str(lookup(row, fmt.group_by or DIALOGUE_FILE)).strip()
                    if shard_fmt is not fmt else len(out) + 1)
            out.extend(_parse_row(row, line, shard, shard_fmt, pattern, labels, name,
                                  reading))
            if probe_rows is not None and len(out) >= probe_rows:
                return out
    if selector is not None:
        selector.check(file)
    if not out:
        raise ProblemFileError(str(path), "no transcripts in file")
    reading.finish(fmt, out)
    return out


GROUPED_TURNS = "\x00turns"  # where _grouped puts a dialogue's turns (no real column)
DIALOGUE_FILE = "dialogue_file"  # (kept in the session's metadata: where the dialogue came from)


def _columns_of(row: dict[str, Any]) -> str:
    """The row's columns as an error lists them: the file's, not the ones sml added."""
    return ", ".join(sorted(str(k) for k in row if k not in (GROUPED_TURNS, DIALOGUE_FILE))
                     ) or "(none)"


def _tagged_with_file(rows: Iterable[tuple[int, dict[str, Any]]], shard: Path,
                      root: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each row with the name of its file (relative to the folder given), which
    `--dialogue-per-file` groups by."""
    name = str(shard.relative_to(root)) if root.is_dir() and shard != root else shard.name
    for line, row in rows:
        if DIALOGUE_FILE in row:
            raise ProblemFileError(str(shard), f"a column is named {DIALOGUE_FILE!r}, the name "
                                   "--dialogue-per-file gives each dialogue's file", line)
        yield line, {**row, DIALOGUE_FILE: name}


def _grouped(rows: Iterable[tuple[int, dict[str, Any]]], fmt: TranscriptFormat,
             path: Path, reading: Reading) -> list[tuple[int, dict[str, Any]]]:
    """One utterance per row (a CSV of chat logs) → one row per dialogue: the dialogue's
    first row gives the problem and metadata, every row one turn, in the order of the
    turn-order column (`--order-by`, or one found by its name), else in file order."""
    groups: dict[str, tuple[int, dict[str, Any]]] = {}
    column = fmt.group_by or DIALOGUE_FILE
    order_by = None if fmt.order_by == FILE_ORDER else fmt.order_by
    orders: dict[str, list[tuple[Any, int]]] = {}  # each group's order cells, with lines
    keys: tuple[str | None, str | None] = (None, None)  # the speaker and text columns
    for line, row in rows:
        key = lookup(row, column)
        if key is _MISSING or key is None or str(key).strip() == "":
            raise ProblemFileError(str(path), f"no {column!r} value to group by (--group-by)",
                                   line)
        found = fmt.speaker_keys(row)
        # (an Excel sheet's empty cell is no key of its row: the columns found before hold)
        role_key, content_key = found[0] or keys[0], found[1] or keys[1]
        if role_key is None or content_key is None:
            raise ProblemFileError(
                str(path), f"each row must hold one turn: {fmt.keys_wanted()}; "
                f"fields here: {_columns_of(row)}", line)
        keys = (role_key, content_key)
        turn = {"role": _speaker_value(role_key, row.get(role_key)),
                "content": row.get(content_key)}
        if not groups and fmt.order_by is None:
            order_by = _order_column(row, (column, role_key, content_key))
        if order_by is not None:
            orders.setdefault(str(key), []).append((lookup(row, order_by), line))
        group = groups.get(str(key))
        if group is None:
            first = {k: v for k, v in row.items() if k not in (role_key, content_key)}
            first[GROUPED_TURNS] = [turn]
            groups[str(key)] = (line, first)
        else:
            group[1][GROUPED_TURNS].append(turn)
    if order_by is not None:
        _put_in_order(groups, orders, order_by, fmt.order_by is not None, path, reading)
    reading.grouped += len(groups)
    return list(groups.values())


FILE_ORDER = "file"  # `--order-by file`: the turns as the file lists them

# Columns that give a turn's place in its dialogue, by their names with case and separators
# dropped: an index (message_index, turn_idx, Eedi's MessageSequence, TalkMoves' Turn) before
# a time (timestamp, created_at), which two turns may share.
_ORDER_INDEX = re.compile(r"(?:message|msg|turn|utterance|utt|line|sentence|post|step)"
                          r"(?:index|idx|seq|sequence|seqno|number|num|no|nr|order|position|"
                          r"pos|id)|index|idx|seq|sequence|order|position|turn")
_ORDER_TIME = re.compile(r"(?:message|msg|turn|utterance|post)?(?:timestamp|time|ts|datetime|"
                         r"createdat|sentat|created|sent)")


def _order_column(row: dict[str, Any], taken: tuple[str, ...]) -> str | None:
    """The row's turn-order column, found by its name (`_ORDER_INDEX`, then `_ORDER_TIME`)
    among those not already read for something else, or None."""
    names = [k for k in row if isinstance(k, str) and k not in taken]
    for pattern in (_ORDER_INDEX, _ORDER_TIME):
        found = next((k for k in names if pattern.fullmatch(_bare(k))), None)
        if found is not None:
            return found
    return None


_NUMBER = re.compile(r"\s*[+-]?\d+(?:\.\d+)?\s*")


def _order_key(value: Any) -> tuple[int, Any] | None:
    """A turn-order cell as something to sort by — (kind, value): a number, an ISO date-time
    (one without a zone taken as UTC) or a time of day — or None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return (0, value) if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return (1, _utc(value))
    if not isinstance(value, str):
        return None
    if _NUMBER.fullmatch(value):
        return (0, float(value))
    try:
        return (1, _utc(dt.datetime.fromisoformat(value.strip())))
    except ValueError:
        pass
    try:
        return (2, dt.time.fromisoformat(value.strip()))
    except ValueError:
        return None


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _put_in_order(groups: dict[str, tuple[int, dict[str, Any]]],
                  orders: dict[str, list[tuple[Any, int]]], column: str, asked: bool,
                  path: Path, reading: Reading) -> None:
    """Each group's turns sorted (stably) by their cells in `column`. Cells that are not all
    numbers, or all date-times, order nothing: an error naming the line when the column was
    `asked` for (--order-by), else the file order stands (the column only looked like one)."""
    keys: dict[str, list[tuple[int, Any]]] = {}
    kinds: set[int] = set()
    for name, cells in orders.items():
        keys[name] = []
        for cell, line in cells:
            key = _order_key(cell)
            if key is None or (kinds and key[0] not in kinds):
                if not asked:
                    return
                what = ("no value" if cell is None or cell is _MISSING else
                        f"{clipped(str(cell), 40)!r}, not a number or date-time like the others"
                        if key is not None else
                        f"{clipped(str(cell), 40)!r}, neither a number nor a date-time")
                raise ProblemFileError(str(path), f"--order-by {column!r}: {what}", line)
            kinds.add(key[0])
            keys[name].append(key)
    reordered = 0
    for name, (_, first) in groups.items():
        turns = first[GROUPED_TURNS]
        order = sorted(range(len(turns)), key=lambda i: keys[name][i][1])  # (stable)
        if order != list(range(len(turns))):
            first[GROUPED_TURNS] = [turns[i] for i in order]
            reordered += 1
    if reordered and not asked:
        reading.reordered[column] += reordered


def _parse_row(row: dict[str, Any], line: int, path: Path, fmt: TranscriptFormat,
               pattern: re.Pattern[str] | None, labels: dict[str, str],
               position: int | str, reading: Reading) -> list[Transcript]:
    """The row's dialogue — or dialogues, when its turns field holds several by id, as
    SocraTeach keeps every dialogue about one problem; `position`: its place among the
    file's dialogues (or, grouped from rows, the group's name), which names its problem when
    the row gives no id (as a problem set's rows are named)."""
    def fail(message: str, remedy: Remedy = ()) -> ProblemFileError:
        return ProblemFileError(str(path), message, line, remedy=remedy)

    if fmt.responses_field:
        candidates = _candidate_replies(row, fmt.responses_field, fail)
        # (the row's own keys, whatever their case)
        taken = {_key(row, (c,)) for c in _response_columns(row, fmt.responses_field)}
        row = {k: v for k, v in row.items() if k not in taken}
        whole = dataclasses.replace(fmt, responses_field=None)
        return [_ending_with(t, name, reply, about)
                for t in _parse_row(row, line, path, whole, pattern, labels, position,
                                    reading)
                for name, reply, about in candidates]
    available = _columns_of(row)
    turns_key = fmt.turns_field or next((k for k in TURN_FIELDS if k in row), None)
    if turns_key is None or not has_column(row, turns_key):
        named = f"no {fmt.turns_field!r} field" if fmt.turns_field else \
            "no turns (looked for " + ", ".join(TURN_FIELDS) + ")"
        speaker, text = fmt.speaker_keys(row)
        one_turn = speaker is not None and (text is not None or _flag_side(speaker) is not None)
        likely = None if fmt.turns_field else _turns_like(row, fmt)
        hint = ("rows that are single turns are grouped into dialogues with --group-by "
                "COLUMN, or with --dialogue-per-file when each file holds one dialogue"
                + ("" if text is not None else f" (the speaker is in {speaker!r}; name the "
                   "text column with --text-field)")
                if one_turn else
                f"is it {likely!r}? name it with --turns-field {shlex.quote(likely)}"
                + ("" if fmt.alternate or not _unlabelled(lookup(row, likely)) else
                   ", and, as its turns name no speaker, say who speaks first with "
                   "--alternate student|teacher")
                if likely else "name it with --turns-field")
        raise fail(f"{named}; fields here: {available} ({hint})",
                   (("--turns-field", likely),) if likely and not one_turn else ())
    value = lookup(row, turns_key)
    if _is_message_tree(value):
        value = _tree_branch(value, row.get("current_node"))
    value = list_cell(value)
    if (isinstance(value, dict) and value
            and all(isinstance(list_cell(v), list) for v in value.values())):
        return [_dialogue(row, list_cell(dialogue), line, path, fmt, pattern, labels, position,
                          turns_key, {"dialogue_id": key}, reading)
                for key, dialogue in value.items()]
    return [_dialogue(row, value, line, path, fmt, pattern, labels, position, turns_key, {},
                      reading)]


# Columns naming the dialogue itself, first found first, whatever their case and separators
# (MRBench's conversation_id, Bridge's c_id, a conversationId). A column of another thing's
# id (QuestionId, student_id) is not one: it names what several dialogues share.
DIALOGUE_ID_COLUMNS = ("conversation_id", "dialogue_id", "dialog_id", "conv_id", "convo_id",
                       "chat_id", "thread_id", "c_id")


def _bare(name: str) -> str:
    """A column's name with case and separators dropped: `MessageSequence` and
    `message_sequence` alike."""
    return re.sub(r"[\W_]", "", name.casefold())


def _dialogue_id(row: dict[str, Any]) -> str | None:
    """The row's dialogue id (`DIALOGUE_ID_COLUMNS`), or None."""
    rank = {_bare(c): i for i, c in enumerate(DIALOGUE_ID_COLUMNS)}
    named = sorted((rank[_bare(k)], k) for k in row if isinstance(k, str) and _bare(k) in rank)
    return next((found for _, k in named if (found := cell_text(row[k]))), None)


# Where a candidate reply object keeps its text (MRBench: {"response": …, "annotation": …}),
# and its name when candidates come as a list.
REPLY_KEYS = ("response", "reply", "completion", *CONTENT_KEYS)
# (Not an `id`: Bridge's candidates are turn objects, whose id is the turn's place.)
CANDIDATE_NAME_KEYS = ("model", "tutor", "name", "source", "system")


def _response_columns(row: dict[str, Any], column: str) -> list[str]:
    """The columns `--responses-field` names: several, comma-separated (a key spelled with
    the commas wins), or one."""
    if "," not in column or column in row:
        return [column]
    return [c.strip() for c in column.split(",") if c.strip()]


def _candidate_replies(row: dict[str, Any], column: str, fail: Fail
                       ) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, reply text, the rest of its object) for each candidate tutor reply in
    `column`: an object of replies by name, or a list of them (each named by its
    `model`/`tutor`/`name`… key, else by its place; one alone, by the column); or in each of
    several columns, comma-separated, each holding one reply (Bridge's `c_r` and
    `c_revision`, a list of one turn each), named by its column."""
    columns = _response_columns(row, column)
    values = [list_cell(lookup(row, c)) for c in columns]
    missing = next((c for c, v in zip(columns, values, strict=True) if v is _MISSING), None)
    if missing is not None:
        raise fail(f"no {missing!r} field (--responses-field); fields here: {_columns_of(row)}")
    value = values[0]
    if len(columns) > 1:
        items = []
        for name, one in zip(columns, values, strict=True):
            if isinstance(one, list) and len(one) != 1:
                raise fail(f"{name!r} (--responses-field) holds {len(one)} replies: a column "
                           "listed with others is one candidate (a reply, or a list of one)")
            items.append((name, one[0] if isinstance(one, list) else one))
    elif isinstance(value, dict):
        items = [(str(name), item) for name, item in value.items()]
    elif isinstance(value, list):
        items = [(_candidate_name(item) or (column if len(value) == 1 else str(i)), item)
                 for i, item in enumerate(value, 1)]
    else:
        raise fail(f"{column!r} (--responses-field) holds {type(value).__name__}: expected "
                   "candidate replies, an object of them by name or a list (columns of one "
                   "reply each are listed together, comma-separated: --responses-field A,B)")
    if not items:
        raise fail(f"{column!r} (--responses-field) holds no candidate reply")
    out = []
    for name, item in items:
        about: dict[str, Any] = {}
        text: Any = item
        if isinstance(item, dict):
            key = _key(item, REPLY_KEYS)
            text = item.get(key) if key else None
            about = {k: _jsonable(v) for k, v in item.items() if k != key}
        if not isinstance(text, str) or not text.strip():
            raise fail(f"{column!r} (--responses-field): candidate {name!r} has no reply text "
                       f"(looked for a string, or one under {', '.join(REPLY_KEYS[:4])}, …)")
        if not name.strip():
            raise fail(f"{column!r} (--responses-field): a candidate has an empty name")
        out.append((name.strip(), text.strip(), about))
    names = [n for n, _, _ in out]
    if len(set(names)) != len(names):
        raise fail(f"{column!r} (--responses-field): candidate names repeat "
                   f"({', '.join(sorted({n for n in names if names.count(n) > 1}))})")
    return out


def _candidate_name(item: Any) -> str | None:
    """A listed candidate's name: its tutor's or model's (`CANDIDATE_NAME_KEYS`), when that
    is a name, not a number."""
    key = _key(item, CANDIDATE_NAME_KEYS) if isinstance(item, dict) else None
    name = item[key] if key else None
    if not isinstance(name, str) or not name.strip() or _NUMBER.fullmatch(name):
        return None
    return name.strip()


def _ending_with(t: Transcript, name: str, reply: str, about: dict[str, Any]) -> Transcript:
    """The dialogue with a candidate's reply as the tutor's next turn, under a condition
    named after the candidate (its other fields — MRBench's annotation — in the meta)."""
    meta = {**t.meta, "candidate": name, **({"candidate_info": about} if about else {})}
    return dataclasses.replace(t, turns=[*t.turns, ("teacher", reply, None)], condition=name,
                               meta=meta)


def _last_exchange(row: dict[str, Any]) -> list[list[str]]:
    """The exchange a `history` of pairs leads up to, kept beside it as LLaMA-Factory's rows
    keep it: the user's `instruction` (with its `input`) or `prompt`/`query`, and the
    assistant's `output` or `response`; none if the row has no such pair."""
    asked = [row[k] for k in (_key(row, ("instruction", "prompt", "query")), _key(row, ("input",)))
             if k and isinstance(row[k], str) and row[k].strip()]
    reply_key = _key(row, ("output", "response"))
    reply = row.get(reply_key) if reply_key else None
    if not asked or not isinstance(reply, str) or not reply.strip():
        return []
    return [["\n\n".join(a.strip() for a in asked), reply]]


def _dialogue(row: dict[str, Any], value: Any, line: int, path: Path, fmt: TranscriptFormat,
              pattern: re.Pattern[str] | None, labels: dict[str, str], position: int | str,
              turns_key: str, extra_meta: dict[str, Any], reading: Reading) -> Transcript:
    def fail(message: str, remedy: Remedy = ()) -> ProblemFileError:
        return ProblemFileError(str(path), message, line, remedy=remedy)

    pairs = list_cell(value)
    if isinstance(pairs, list) and _exchange_pairs(pairs, labels):
        value = [*pairs, *_last_exchange(row)]
    where = f"{path}:{line}" + (f" ({line.label})" if isinstance(line, Line) and line.label
                                else "")
    turns, moves = _teacher_moves(_parse_turns(value, labels, fail, fmt, reading, where))
    if fmt.question_from_first_turn:
        if len(turns) < 2:
            raise fail("--question-from-first-turn: the dialogue needs its opening turn (the "
                       "question) and at least one more")
        row = _with_question(row, turns[0][1])
        turns = turns[1:]

    if fmt.problems is not None:
        problem, extra = _problem_by_id(row, fmt, {turns_key.split(".", 1)[0]}, fail)
    else:
        problem, extra = _problem_in_row(row, line, path, fmt, pattern, turns_key, fail,
                                         position)
    condition = row.get("condition")
    if condition is None:
        condition = fmt.condition or DEFAULT_CONDITION
    if not isinstance(condition, str) or not condition.strip():
        raise fail("'condition' must be a non-empty string")
    meta = row.get("meta") or {}
    if not isinstance(meta, dict):
        raise fail("'meta' must be an object")
    if moves:
        extra["teacher_moves"] = moves
    return Transcript(line, problem, turns, condition.strip(), {**extra, **extra_meta, **meta})


def _is_message_tree(value: Any) -> bool:
    """ChatGPT's data export keeps a conversation as a tree of message nodes (`mapping`: id →
    {message, parent, children}), since an edited or regenerated message starts a branch."""
    return (isinstance(value, dict) and bool(value)
            and all(isinstance(v, dict) and "children" in v and "message" in v
                    for v in value.values()))


def _tree_branch(tree: dict[str, Any], current: Any) -> list[dict[str, Any]]:
    """The messages of a message tree along the branch that was shown last — the one ending
    at the export's `current_node`, else the latest child at every step — as turn objects.
    Only text is something said: tool calls (a message to a `recipient` other than all),
    tool output, hidden context and thoughts are not."""
    if current in tree:
        branch: list[Any] = []
        node: Any = current
        while node in tree and node not in branch:
            branch.append(node)
            node = tree[node].get("parent")
        branch.reverse()
    else:
        node = next((k for k, v in tree.items() if v.get("parent") not in tree), None)
        branch = []
        while node in tree and node not in branch:
            branch.append(node)
            children = [c for c in tree[node].get("children") or [] if c in tree]
            node = children[-1] if children else None
    turns = []
    for key in branch:
        message = tree[key].get("message")
        if not isinstance(message, dict):
            continue
        author = message.get("author")
        role = author.get("role") if isinstance(author, dict) else author
        content = message.get("content")
        meta = message.get("metadata")
        hidden = isinstance(meta, dict) and meta.get("is_visually_hidden_from_conversation")
        if not isinstance(role, str) or message.get("recipient", "all") != "all" or hidden:
            continue
        if isinstance(content, dict):
            if content.get("content_type") not in ("text", "multimodal_text"):
                continue
            content = [p for p in content.get("parts") or [] if isinstance(p, str)]
        turns.append({"role": role, "content": content})
    return turns


def _turns_like(row: dict[str, Any], fmt: TranscriptFormat) -> str | None:
    """The column that looks like a dialogue under a name of its own (Bridge's `c_h`,
    MRBench's `conversation_history`): a list of turn objects with a speaker and a text, or
    of 'Speaker: text' lines, or one text of such lines (or of `|EOM|`-separated turns); failing
    those, a list of unlabelled texts under a name that says dialogue (CIMA's `past_convo`)."""
    unlabelled = None
    for key, value in row.items():
        if not isinstance(key, str):
            continue
        if isinstance(value, str) and _dialogue_text(value, fmt):
            return key
        value = list_cell(value)
        if not isinstance(value, list) or len(value) < 2:
            continue
        if all(isinstance(v, dict) and None not in fmt.speaker_keys(v) for v in value) or all(
                isinstance(v, str) and _SPEAKER.match(v) for v in value):
            return key
        if unlabelled is None and _DIALOGUE_NAME.search(key) and all(
                isinstance(v, str) for v in value):
            unlabelled = key
    return unlabelled


def _unlabelled(value: Any) -> bool:
    """Is `value` a list of texts none of which opens with a speaker label?"""
    value = list_cell(value)
    return isinstance(value, list) and all(
        isinstance(v, str) and not _SPEAKER.match(v) for v in value)


_DIALOGUE_NAME = re.compile(r"conv|dialog|turn|utter|chat|transcript|history", re.IGNORECASE)


def _dialogue_text(text: str, fmt: TranscriptFormat) -> bool:
    """Is `text` a whole dialogue: turns split by `|EOM|`, or at least two lines opened by a
    known speaker label, both sides speaking?"""
    if _EOM in text:
        return True
    labels = fmt.labels()
    sides = {side_of(m.group(1).strip(), labels)
             for m in map(_SPEAKER.match, text.splitlines()) if m}
    return {"student", "teacher"} <= sides


def _with_question(row: dict[str, Any], question: str) -> dict[str, Any]:
    """The row with `question` as its problem's question, in the SPEC's `problem` object when
    the row has one, replacing a column of that name whatever its case."""
    def replaced(fields: dict[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in fields.items()
                if not (isinstance(k, str) and k.casefold() == "question")}
        return {**kept, "question": question}

    if isinstance(row.get("problem"), dict):
        return {**row, "problem": replaced(row["problem"])}
    return replaced(row)


def _problem_by_id(row: dict[str, Any], fmt: TranscriptFormat, used: set[str],
                   fail: Fail) -> tuple[Problem, dict[str, Any]]:
    """The dialogue's problem from the `--problems` file, and the row's other fields."""
    assert fmt.problems is not None
    key = cell_text(_get(row, fmt.problem_id_field))  # (ids are read as problem ids are)
    if key is None:
        raise fail(f"no {fmt.problem_id_field!r} value naming the dialogue's problem "
                   f"(--problem-id-field); fields here: {_columns_of(row)}")
    problem = fmt.problems.get(key)
    if problem is None:
        sample = ", ".join(list(fmt.problems)[:5])
        # The id may be in another column of the problems than the one naming them.
        column = next((k for p in fmt.problems.values() for k, v in p.meta.items()
                       if cell_text(v) == key), None)
        hint = (f"; {key!r} is in its {column!r} column: name its problems by that with "
                f"--field id={shlex.quote(column)}" if column else "")
        raise fail(f"problem {key!r} is not in the --problems file (its ids look like: "
                   f"{sample}, …){hint}")
    skip = {*used, fmt.problem_id_field.split(".", 1)[0], *ROW_FIELDS}
    extra = {k: _jsonable(v) for k, v in row.items() if k not in skip and v is not None}
    return problem, extra


def _shared_id_column(spec: str, fields: FieldMap, id_field: str) -> str | None:
    """`id_field`, if the first row of the problem file `spec` has such a column and no
    `id` one, and no `--field id=` names the ids' column; else None."""
    if "id" in fields.columns or spec in BUILTIN_SETS:
        return None
    try:
        for shard in data_files(Path(spec)):
            for _, row in read_rows(shard, fields.header):
                return id_field if has_column(row, id_field) and not has_column(row, "id") \
                    else None
    except (ProblemFileError, UsageError):
        pass  # (the file's fault is said when its problems are loaded)
    return None


NO_ANSWER_HINT = ("; if some dialogues have no reference answer, --allow-missing-answers "
                  "imports those unscored (turns and questions counted, not success)")


def load_dialogue_problems(spec: str, fields: FieldMap, id_field: str = "problem_id",
                           reading: Reading | None = None) -> dict[str, Problem]:
    """The `--problems` file of a dialogue import, by id. A file with no `id` column (and no
    `--field id=`) whose rows have the column the dialogues name their problem in
    (`id_field`: Eedi's QuestionId on both sides) is keyed by that column, with a note."""
    column = _shared_id_column(spec, fields, id_field)
    if column is not None:
        fields = dataclasses.replace(fields, columns={**fields.columns, "id": column})
        if reading is not None:
            reading.notes.append(
                f"the --problems file has no 'id' column: its problems are named by their "
                f"{column!r} column, as the dialogues name them (--problem-id-field); "
                "--field id=COLUMN names another")
    try:
        return {p.id: p for p in load_problems(spec, fields)}
    except MissingAnswerError as exc:
        raise ProblemFileError(exc.path, exc.message + NO_ANSWER_HINT, exc.line,
                               remedy=exc.remedy) from None


# A column naming the problem a dialogue is about (Eedi's QuestionId, a problem_id): rows with
# one and no question probably keep their problems in a file of their own.
_PROBLEM_ID = re.compile(r"(?:question|problem|exercise|item|task|quiz|puzzle)[\s_-]?id|qid",
                         re.IGNORECASE)


def _problem_in_row(row: dict[str, Any], line: int, path: Path, fmt: TranscriptFormat,
                    pattern: re.Pattern[str] | None, turns_key: str,
                    fail: Fail,
                    position: int | str) -> tuple[Problem, dict[str, Any]]:
    """The dialogue's problem from the row itself, and the row's other fields."""
    available = _columns_of(row)
    # The SPEC's `problem` object, unless the question is mapped to a path outside it
    # (`--question-field problem.text`, a dotted path from the row).
    question = fmt.fields.question
    nested = isinstance(row.get("problem"), dict) and (
        has_column(row["problem"], question) or not has_column(row, question))
    top_level = turns_key.split(".", 1)[0]
    if nested:
        problem_row = row["problem"]
        leftovers = {k: v for k, v in row.items()
                     if k not in ("problem", top_level, *ROW_FIELDS)}
    else:
        if not has_column(row, question):
            hint, remedy = missing_column(row, "question", question)
            named = next((k for k in row if isinstance(k, str) and _PROBLEM_ID.fullmatch(k)),
                         None)
            kept_apart = ("" if named is None else
                          f"; or, if the problems are in a file of their own, join it by the "
                          f"{named!r} column with --problems FILE --problem-id-field "
                          f"{shlex.quote(named)}")
            raise fail(f"no 'problem' object and no {question!r} field; fields here: "
                       f"{available}{hint}{kept_apart}; or, if the dialogue's opening turn "
                       "states the problem, take it from there with --question-from-first-turn",
                       remedy)
        # (the file a dialogue came from is the session's, not a column of the problem's)
        problem_row = {k: v for k, v in row.items() if k not in (top_level, DIALOGUE_FILE)}
    # A row with no id of its problem is named by the dialogue's own id, if it has one
    # (MRBench's conversation_id), which leads back to the source as a count would not.
    dialogue_id = _dialogue_id(row)
    try:
        problem = _build_problem(problem_row, line, path, fmt.fields, pattern, str(path),
                                 default_id=dialogue_id or position)
    except ProblemFileError as exc:
        hint = NO_ANSWER_HINT if isinstance(exc, MissingAnswerError) else ""
        if not nested and not hint:
            raise
        # The builder names file:line already; say that the fault is in the problem object.
        raise fail(("problem: " if nested else "") + exc.message + hint, exc.remedy) from None
    if nested:
        extra = {k: _jsonable(v) for k, v in leftovers.items() if v is not None}
    else:
        # The row's other fields describe this dialogue (the student's profile, the
        # scenario), not the problem that other dialogues share: they go to the session.
        extra = {k: v for k, v in problem.meta.items() if k not in ROW_FIELDS}
        if DIALOGUE_FILE in row:
            extra[DIALOGUE_FILE] = row[DIALOGUE_FILE]
        problem = dataclasses.replace(problem, meta={})
    return problem, extra


# MathDial annotates each teacher turn with its move: "(probing)Steven, if you had…".
# The label is the annotator's, not something the teacher said: it goes to the session's
# metadata (in order), out of the text a tutor model would be trained on.
_MOVE = re.compile(r"^\s*\((probing|focus|telling|generic)\)\s*", re.IGNORECASE)


def _teacher_moves(turns: list[Said]) -> tuple[list[Said], list[str]]:
    out, moves = [], []
    for side, content, thought in turns:
        if side == "teacher":
            m = _MOVE.match(content)
            if m:
                moves.append(m.group(1).lower())
                content = content[m.end():]
        out.append((side, content, thought))
    return out, moves


# "Teacher: text", "**Student:** text": a speaker label of a few words, then a colon.
_SPEAKER = re.compile(r"^[\s*_]*([A-Za-z][\w .'()#-]{0,39}?)[\s*_]*:[\s*_]*(.*)$", re.DOTALL)
_EOM = "|EOM|"


def _parse_turns(value: Any, labels: dict[str, str], fail: Fail,
                 fmt: TranscriptFormat, reading: Reading, where: str) -> list[Said]:
    """Turns in any of the layouts public datasets use → [(student|teacher, content,
    reasoning)]. A logged reasoning model's <think> block is no part of what it said: split
    off here (kept with the turn, in no view, never scored — as for models in evals); a turn
    that is all thought said nothing and is dropped like an empty one. A turn naming no
    speaker (a transcript's "(bell rings)") is dropped too, and counted in `reading`;
    `where`: the dialogue's file and line, for the note."""
    value = list_cell(value)
    raw: list[tuple[str, str, str | None]] = []  # (speaker label, content, logged thoughts)
    rounds = False  # some turn objects held an exchange: several speakers' texts
    unspoken: list[tuple[int, str]] = []  # (place, text) of turns that name no speaker
    if isinstance(value, str):
        raw = [(label, content, None) for label, content in _split_dialogue(value, labels, fail)]
    elif isinstance(value, list) and fmt.alternate:
        if not all(isinstance(item, str) for item in value):
            raise fail("--alternate: the turns must be a list of plain strings")
        other = _other(fmt.alternate)
        raw = [((fmt.alternate, other)[i % 2], item, None) for i, item in enumerate(value)]
        labels = {**labels, "student": "student", "teacher": "teacher"}
    elif isinstance(value, list) and _exchange_pairs(value, labels):
        # LLaMA-Factory's and ChatGLM's `history`: [[the user's turn, the assistant's], …]
        raw = [(speaker, text, None) for pair in value
               for speaker, text in zip(("user", "assistant"), pair, strict=True)]
    elif isinstance(value, list):
        for i, item in enumerate(value, start=1):
            if isinstance(item, str) and not item.strip():
                continue  # a blank line between turns
            exchange = _exchange(item, labels, fmt)
            if exchange:
                raw.extend((label, text, None) for label, text in exchange)
                rounds = True
                continue
            turn = _turn_item(item, i, fail, fmt)
            if turn[0]:
                raw.append(turn)
            else:
                unspoken.append((i, turn[1]))
    else:
        raise fail("the turns must be a list of {role, content} objects or a dialogue string")
    if unspoken and not raw:
        raise fail(f"turn {unspoken[0][0]}: no speaker, and no turn of the dialogue names one "
                   "(is its speaker column empty? name another with --speaker-field)")
    if not raw:
        raise fail("the dialogue has no turns")
    reading.skip_unspoken(where, unspoken)
    reading.speakers.update(label for label, *_ in raw)
    mapped = {label: side_of(label, labels) for label, *_ in raw}
    unknown = sorted({label for label, side in mapped.items() if side is None})
    sides = {side for side in mapped.values() if side in ("student", "teacher")}
    if len(unknown) == 1 and len(sides) == 1:
        # A dialogue between "Teacher" and "Cody": the one unnamed speaker is the other side.
        mapped[unknown[0]] = "teacher" if "student" in sides else "student"
    elif unknown:
        flag_value = shlex.quote(unknown[0])
        raise fail(f"speaker {unknown[0]!r} is neither student nor teacher; say which with "
                   f"--student-role {flag_value} or --teacher-role {flag_value}")
    skipped = sorted({label for label, side in mapped.items() if side == "skip"})
    if rounds and skipped and len(sides) == 1:
        # SocraTeach's rounds are {"system": the tutor's words, "user": the student's}.
        missing = "teacher" if "student" in sides else "student"
        flag = f"--{missing}-role {shlex.quote(skipped[0])}"
        raise fail(f"the turns hold each exchange in one object, and only the {sides.pop()}'s "
                   f"side is labelled: {skipped[0]!r} turns are skipped as prompts; if "
                   f"{skipped[0]!r} is the {missing} here, say so with {flag}",
                   ((f"--{missing}-role", skipped[0]),))
    turns: list[Said] = []
    for label, content, logged in raw:
        side = mapped[label]
        if side is None or side == "skip":
            continue
        said, thought = split_reasoning(content, logged)
        if said.strip():
            turns.append((side, said, thought))
    if not turns:
        raise fail("the dialogue has no student or teacher turns")
    return turns


def _exchange_pairs(value: list[Any], labels: dict[str, str]) -> bool:
    """Is `value` a list of [user's text, assistant's text] pairs, rather than of [speaker,
    text] pairs (whose first items are speaker labels)?"""
    return bool(value) and all(
        isinstance(pair, (list, tuple)) and len(pair) == 2
        and all(isinstance(x, str) for x in pair) for pair in value
    ) and not any(side_of(pair[0], labels) for pair in value)


# "Student 2", "S1", "tutor_1": a known label numbered, as classroom transcripts tell several
# students apart (all of them are the student side).
_NUMBERED = re.compile(r"[\s_#.-]*\d+$")


def side_of(label: str, labels: dict[str, str]) -> str | None:
    """student/teacher/skip for a speaker label, numbered or not; None if unknown."""
    folded = label.strip().casefold()
    if folded in labels:
        return labels[folded]
    base = _NUMBERED.sub("", folded)
    if base and base != folded and base in labels:
        return labels[base]
    # A label of several words, or a plural, as classroom transcripts and apps write them
    # ("Multiple Students", "AI Tutor", "Tutor (AI)", "Human Tutor"): the side its known
    # words agree on, a role word (tutor) outweighing a chat one (human, AI). One-letter
    # words (S, T) count only alone: in "Ms. T" they are initials.
    words = [w.removesuffix("s") if len(w) > 3 and w[:-1] in labels else w
             for w in _WORD.findall(folded)]
    known = [w for w in words if len(w) > 1 and labels.get(w) in ("student", "teacher")]
    roles = [w for w in known if w in _ROLE_WORDS] or known
    sides = {labels[w] for w in roles}
    return sides.pop() if len(sides) == 1 else None


_WORD = re.compile(r"[a-z]+")
_ROLE_WORDS = frozenset({"student", "learner", "pupil", "class", "teacher", "tutor",
                         "instructor"})


_FLAG_KEY = re.compile(r"(?:is|from|by)(tutor|teacher|student|learner)")
_TRUE, _FALSE = ("true", "1", "yes", "y", "t"), ("false", "0", "no", "n", "f")


@functools.lru_cache(maxsize=256)  # asked for every row's keys; a file has a few
def _flag_side(key: Any) -> str | None:
    """The side a yes/no speaker column names (Eedi's `IsTutor`, `is_student`), or None."""
    if not isinstance(key, str):
        return None
    m = _FLAG_KEY.fullmatch(re.sub(r"[\s_-]", "", key.casefold()))
    if not m:
        return None
    return "teacher" if m.group(1) in ("tutor", "teacher") else "student"


def _speaker_value(key: str, value: Any) -> Any:
    """A turn's speaker label; for a yes/no column, the side it says (True under IsTutor is
    the teacher, False the student). Other values are left for the caller to refuse."""
    side = _flag_side(key)
    if side is None:
        return value
    folded = str(value).strip().casefold()
    if folded in _TRUE:
        return side
    if folded in _FALSE:
        return _other(side)
    return value


def _key(item: dict[str, Any], names: tuple[str, ...]) -> str | None:
    """The first of `names` that is a key of `item`; failing that, the first that is one but
    for case (`Speaker`), unless two keys differ only by case."""
    for name in names:
        if name in item:
            return name
    by_case = _keys_by_case(item)
    for name in names:
        same = by_case.get(name.casefold(), [])
        if len(same) == 1:
            return same[0]
    return None


def _exchange(item: Any, labels: dict[str, str],
              fmt: TranscriptFormat) -> list[tuple[str, str]] | None:
    """An object that holds an exchange rather than one turn — each speaker's text under its
    label, {"system": "What do we know?", "user": "Tom has 3."} (SocraTeach) — as (label,
    text) in the object's order; None for a turn object (one with a text column)."""
    if not isinstance(item, dict) or fmt.speaker_keys(item)[1] is not None:
        return None
    said = [(k, v) for k, v in item.items() if isinstance(k, str) and isinstance(v, str)
            and (k.strip().casefold() in labels
                 or _NUMBERED.sub("", k.strip().casefold()) in labels)]
    return said or None


def _turn_item(item: Any, i: int, fail: Fail,
               fmt: TranscriptFormat) -> tuple[str, str, str | None]:
    """(speaker label, text, logged thoughts) of one turn of a list; the label is empty when
    the turn names no speaker."""
    if isinstance(item, str):
        m = _SPEAKER.match(item)
        if not m:
            raise fail(f"turn {i}: {clipped(item, 50)!r} does not start with a speaker label "
                       "('Teacher: …'); if the turns carry none and alternate, say who "
                       "speaks first with --alternate student|teacher")
        return m.group(1).strip(), m.group(2).strip(), None
    if isinstance(item, (list, tuple)) and len(item) == 2 and all(
            isinstance(x, str) for x in item):
        return item[0].strip(), item[1], None
    if not isinstance(item, dict):
        raise fail(f"turn {i}: expected an object with a role and a content")
    role_key, content_key = fmt.speaker_keys(item)
    if role_key is None or content_key is None:
        raise fail(f"turn {i}: expected {fmt.keys_wanted()}; keys here: "
                   f"{', '.join(sorted(map(str, item))) or '(none)'}")
    speaker = _speaker_value(role_key, item[role_key])
    if isinstance(speaker, int) and not isinstance(speaker, bool):
        speaker = str(speaker)  # speakers numbered 0 and 1: --student-role 0 names one
    if speaker is None or (isinstance(speaker, float) and math.isnan(speaker)):
        speaker = ""  # (named by no one: the caller skips it)
    if not isinstance(speaker, str):
        raise fail(f"turn {i}: {role_key!r} must be a speaker's label, not "
                   f"{type(speaker).__name__}")
    # null content: a tool-calling message, or a turn that said nothing; dropped below.
    parts = ("", None) if item[content_key] is None else _content_text(item[content_key])
    if parts is None:
        raise fail(f"turn {i}: {content_key!r} must be a string (or a list of text parts)")
    content, thought = parts
    logged = next((item[k] for k in REASONING_KEYS if k != content_key
                   and isinstance(item.get(k), str) and item[k].strip()), None)
    thoughts = "\n\n".join(t for t in (logged, thought) if t)
    return speaker.strip(), content, thoughts or None


def _content_text(content: Any) -> tuple[str, str | None] | None:
    """(text, thoughts) of a turn's content: a string, or a list of content parts — text
    parts (OpenAI's {"type": "text"}, `input_text`/`output_text`, plain strings) are what was
    said, thinking parts (Anthropic's) what was thought; images, audio, tool calls and tool
    results are neither (a turn of nothing else said nothing, and is dropped)."""
    if isinstance(content, str):
        return content, None
    if not isinstance(content, list):
        return None
    texts: list[str] = []
    thoughts: list[str] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif not isinstance(part, dict):
            return None
        elif part.get("type") in _THOUGHT_PARTS:
            thought = next((part[k] for k in ("thinking", "text", "reasoning")
                            if isinstance(part.get(k), str)), None)
            if thought:
                thoughts.append(thought)
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif "type" not in part:
            return None  # (not a content part of any chat format)
    return "\n".join(texts), "\n\n".join(thoughts) or None


def _split_dialogue(text: str, labels: dict[str, str],
                    fail: Fail) -> list[tuple[str, str]]:
    """One string holding a whole dialogue: `|EOM|`-separated turns (MathDial), or lines that
    start with a speaker label, where unlabelled lines continue the turn before."""
    out: list[tuple[str, str]] = []
    if _EOM in text:
        for i, segment in enumerate(text.split(_EOM), start=1):
            if not segment.strip():
                continue
            m = _SPEAKER.match(segment.strip())
            if not m:
                raise fail(f"turn {i}: {clipped(segment, 50)!r} does not start with a speaker "
                           "label")
            out.append((m.group(1).strip(), m.group(2).strip()))
        return out
    lines = text.splitlines()
    found = [(_SPEAKER.match(ln), ln) for ln in lines]
    counts: dict[str, int] = {}
    for m, _ in found:
        if m:
            counts[m.group(1).strip()] = counts.get(m.group(1).strip(), 0) + 1
    opening = _SPEAKER.match(next((ln for ln in lines if ln.strip()), ""))
    first = opening.group(1).strip() if opening else None

    # A label starts a turn when it is a known speaker, opens the dialogue, or starts several
    # lines; "Note: …" once inside a turn stays text.
    def is_speaker(label: str) -> bool:
        return (side_of(label, labels) is not None or label == first
                or counts.get(label, 0) >= 2)

    for m, ln in found:
        if m and is_speaker(m.group(1).strip()):
            out.append((m.group(1).strip(), m.group(2)))
        elif out:
            out[-1] = (out[-1][0], out[-1][1] + "\n" + ln)
        elif ln.strip():
            raise fail(f"the dialogue starts with {clipped(ln, 50)!r}, not with a speaker label "
                       "('Teacher: …')")
    if len(out) == 1:
        return _turns_run_together(text, labels) or [(out[0][0], out[0][1].strip())]
    return [(label, content.strip()) for label, content in out]


# A speaker label inside a line: "… USER: …", "…</s>ASSISTANT: …"
_INLINE_SPEAKER = re.compile(r"(?:^|(?<=\s)|(?<=</s>))([A-Z][A-Za-z]{1,19})[ \t]?:[ \t]")


def _turns_run_together(text: str, labels: dict[str, str]) -> list[tuple[str, str]] | None:
    """Turns written on one line, each opened by its speaker's label ("USER: … ASSISTANT:
    …", as Vicuna-style logs are): read as such when the text opens with a label and known
    labels of both sides follow inside it, in capitals or back and forth (three or more);
    None otherwise ("Student: my Teacher: said …" is one turn quoting a label)."""
    body = text.strip()
    marks = [m for m in _INLINE_SPEAKER.finditer(body) if side_of(m.group(1), labels)]
    if not marks or marks[0].start() != 0 or len(marks) < 2:
        return None
    if len(marks) < 3 and not all(m.group(1).isupper() for m in marks):
        return None
    if {side_of(m.group(1), labels) for m in marks} != {"student", "teacher"}:
        return None
    ends = [m.start() for m in marks[1:]] + [len(body)]
    return [(m.group(1), body[m.end():end].replace("</s>", " ").strip())
            for m, end in zip(marks, ends, strict=True)]


# ----------------------------------------------------------------------------- scoring


class _AnswerFinder:
    """Where a student turn states the problem's answer, or another result (mention mode);
    the answer and the question's numbers are parsed once per dialogue."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        # With several accepted answers the guard's detectors (one per answer) find them.
        self.answer = (parse_number(problem.answer) if problem.answer and not problem.aliases
                       else None)
        # A choice problem's answer option, by index, and its text as a number if it is one.
        self._option: int | None = None
        self._number = self.answer
        if problem.verifier == "choice" and problem.choices and problem.answer:
            self._option = reference_choice(problem.answer.strip(), problem.choices)
            if self._option is not None:
                self._number = parse_number(problem.choices[self._option])

    def result(self, text: str) -> tuple[str, bool] | None:
        """A student turn's result, said without an answer marker (mention mode), and
        whether it is the answer; None if the turn states none. Where a turn names several
        numbers, what tells the result is, in this order: the option it names (choice
        problems: "B", "is it B?", "b) 7"); a number said as the answer ("my answer is 2",
        "I got 2"); the number it ends on, as results are said last ("… so 3 - 1 = 2"); then
        the answer anywhere in it; then another number the question does not give."""
        if not self.problem.answer:
            return None
        if self._option is not None and self.problem.choices:
            named = _named_option(text, self.problem.choices)
            if named is not None:
                return LETTERS[named], named == self._option
        if self._number is not None:
            said = _said_as_answer(text) or self._ended_on(text, self._number)
            if said is not None:
                return said.text, numbers_equal(said, self._number)
        mention = self.mentioned(text)
        if mention is not None:
            return mention, True
        guess = self.stated_result(text)
        return None if guess is None else (guess, False)

    @property
    def is_choice(self) -> bool:
        return self._option is not None

    def _ended_on(self, text: str, answer: NumberMatch) -> NumberMatch | None:
        """The number a statement ends on ("… is 2.", "… then 2 fish"), if it does — unless
        it restates one of the question's, written as the question writes it ("the first
        tank holds 48."), which is no result unless it is the answer. ("2" where the question
        says "two-inch fish" is a result.)"""
        if text.rstrip().endswith("?"):
            return None
        numbers = find_numbers(text)
        if not numbers or not _ENDS_AFTER_NUMBER.fullmatch(text, numbers[-1].end):
            return None
        last = numbers[-1]
        if numbers_equal(last, answer):
            return last
        restated = any(numbers_equal(last, g) and g.text.casefold() == last.text.casefold()
                       for g in self._question_numbers)
        return None if restated else last

    def mentioned(self, text: str) -> str | None:
        """The answer as stated in `text` (a number equal to a numeric answer, or the
        answer text), or None."""
        if not self.problem.answer:
            return None
        if self.answer is not None:
            numbers = find_numbers(text)
            if self._answer_in_question:
                # The answer is also a number the question gives ("5 apples … how many are
                # left?" → 5): restating the question is no result; only a turn that ends
                # on it, as a result is stated last, says it.
                numbers = numbers[-1:]
            return next((m.text for m in numbers if numbers_equal(m, self.answer)), None)
        leaks = guard.find_leaks(text, self.problem)
        return leaks[0].text if leaks else None

    def stated_result(self, text: str) -> str | None:
        """The last number `text` states that the question does not (numeric answers)."""
        if self.answer is None:
            return None
        given = self._question_numbers
        for m in reversed(find_numbers(text, words=False)):
            if not any(numbers_equal(m, g) for g in given):
                return m.text
        return None

    @functools.cached_property
    def _answer_in_question(self) -> bool:
        answer = self.answer
        return answer is not None and any(numbers_equal(g, answer)
                                          for g in self._question_numbers)

    @functools.cached_property
    def _question_numbers(self) -> list[NumberMatch]:
        return find_numbers(self.problem.question)


# After a statement's last number: closing punctuation, or one word (a unit: "2 fish.").
_ENDS_AFTER_NUMBER = re.compile(r"[\s.!,;:)\]}*_$`'\"\\]*(?:[^\W\d_]+[\s.!*_]*)?")
# "my answer is 2", "the final answer would be 2", "answer: 2", "I got 2", "we get 2"
_SAID_AS_ANSWER = re.compile(
    r"(?:\b(?:my|the|our|final)\s+(?:final\s+)?answer\s*(?:is|was|would\s+be|will\s+be|"
    r"should\s+be|[:=])|\banswer\s*[:=]|\b(?:i|we)\s+(?:got|get|make\s+it))\s*",
    re.IGNORECASE)
# Tentative words around an option named in a reply: "so B?", "is it B", "I think B".
_TENTATIVE = re.compile(
    r"^(?:(?:so|then|ok(?:ay)?|um+|uh+|hm+|well|maybe|perhaps|is\s+it|could\s+it\s+be|"
    r"would\s+it\s+be|it\s+must\s+be|i\s+(?:think|guess|believe|would\s+say))\b[\s,]*)+",
    re.IGNORECASE)


def _said_as_answer(text: str) -> NumberMatch | None:
    """The number the last "my answer is …" / "I got …" of `text` gives, if any."""
    for phrase in reversed(list(_SAID_AS_ANSWER.finditer(text))):
        numbers = find_numbers(text[phrase.end():phrase.end() + 40])
        if numbers and numbers[0].start <= 2:  # (right after it: "$2", "2")
            return numbers[0]
    return None


def _named_option(text: str, choices: tuple[str, ...]) -> int | None:
    """The option a reply names, also tentatively ("B?", "so B?", "is it (B) 7?"), or
    last, after what led to it ("no its 5, so A?")."""
    reply = text.strip().rstrip("?!. ").strip()
    for part in (reply, _LAST_CLAUSE.split(reply)[-1]):
        part = _TENTATIVE.sub("", part.strip()).strip()
        named = choice_index(part, choices) if part else None
        if named is not None:
            return named
    return None


_LAST_CLAUSE = re.compile(r"[,;]|\b(?:so|then|therefore|thus)\b", re.IGNORECASE)


def build_turns(session_id: str, t: Transcript, match: str) -> list[Turn]:
    """The rows of one imported session, in order, with verdicts and telling flags."""
    problem = t.problem
    code = problem.verifier == "python"
    rows: list[Turn] = []

    def add(role: str, visibility: str, kind: str, content: str, turn: int, **extra: Any) -> Turn:
        row = Turn(session_id=session_id, seq=len(rows), turn=turn, role=role,
                   visibility=visibility, kind=kind, content=content, **extra)
        rows.append(row)
        return row

    add("system", "public", QUESTION, problem.public_question(), 0)
    finder = _AnswerFinder(problem)
    k = 0
    stated_at: int | None = None  # first student turn that stated the answer
    teacher_rows: list[Turn] = []
    for role, content, thought in t.turns:
        if role == "teacher":
            teacher_rows.append(add("teacher", "public", MESSAGE, content, k, reasoning=thought))
            continue
        k += 1
        mention = finder.mentioned(content)
        attempt = extract_attempt(content, code=code)
        said = finder.result(content) if match == "mention" and attempt is None else None
        if said is not None:
            # Without markers, the result a student states is its current answer, right or
            # wrong, so that first-attempt and recovery rates mean the same as in evals.
            stated, correct = said
            wrong = ("incorrect (another option is named)" if stated in LETTERS
                     and finder.is_choice else "incorrect (a different number is stated)")
            add("student", "public", ATTEMPT, content, k, attempt=stated)
            add("verifier", "teacher", VERDICT,
                "correct (the answer is stated)" if correct else wrong, k,
                attempt=stated, correct=correct)
        elif attempt is not None and problem.verifier == UNVERIFIED:
            # No reference answer: the attempt is logged as one, and nothing judges it.
            add("student", "public", ATTEMPT, content, k, attempt=attempt.text)
            correct = False
        elif attempt is not None:
            add("student", "public", ATTEMPT, content, k, attempt=attempt.text)
            verdict = check(problem, attempt.text)
            add("verifier", "teacher", VERDICT, verdict.summary, k, attempt=verdict.attempt,
                correct=verdict.correct)
            correct = verdict.correct
        else:
            add("student", "public", ASKED if is_question(content) else MESSAGE, content, k)
            correct = False
        next(r for r in reversed(rows) if r.role == "student").reasoning = thought
        if stated_at is None and (correct or mention is not None):
            stated_at = k
    for row in teacher_rows:
        if stated_at is not None and row.turn >= stated_at:
            continue  # the student had said it already: confirming is not telling
        leaks = guard.find_leaks(row.content, problem)
        if leaks:
            row.leak = True
            row.leak_spans = [(x.start, x.end) for x in leaks]
            row.guard_action = "flag"
    return rows


# ----------------------------------------------------------------------------- import


def _scored_session(t: Transcript, run_id: str, sample: int, max_turns: int,
                    match: str) -> tuple[SessionInfo, list[Turn]]:
    info = _session(t, run_id, sample, max_turns)
    turns = build_turns(info.id, t, match)
    session_scores(turns, answered=t.problem.verifier != UNVERIFIED).apply_to(info)
    return info, turns


def preview(path: str, *, match: str = "strict", fmt: TranscriptFormat | None = None,
            limit: int = 3, reading: Reading | None = None
            ) -> tuple[int, list[tuple[SessionInfo, Problem, list[Turn]]]]:
    """Validate the whole file and score its first `limit` dialogues without writing
    anything: (number of dialogues, [(session, problem, rows)])."""
    if match not in MATCH_MODES:
        raise UsageError(f"--match {match!r}: choose strict or mention")
    transcripts = read_transcripts(path, fmt, reading)
    max_turns = max(t.student_turns for t in transcripts)
    shown = []
    for t in transcripts[:limit]:
        info, turns = _scored_session(t, "preview", 0, max_turns, match)
        shown.append((info, t.problem, turns))
    return len(transcripts), shown


def import_file(path: str, *, match: str = "strict", db: str | None = None,
                run_id: str | None = None, fmt: TranscriptFormat | None = None,
                json_path: str | None = None, reading: Reading | None = None) -> dict[str, Any]:
    """Import a transcript file as one run; returns the SPEC §4 results structure, which is
    also written to `json_path` if given (checked before anything is imported). What the
    reading noticed goes to `reading`, and to the run's config (`reading_notes`)."""
    from sml_cli.store import Store, insert_session, insert_turns

    if match not in MATCH_MODES:
        raise UsageError(f"--match {match!r}: choose strict or mention")
    if json_path:
        check_writable(json_path, "--json")
    reading = reading if reading is not None else Reading()
    # (everything is validated before the database is touched)
    transcripts = read_transcripts(path, fmt, reading)
    started = time.perf_counter()
    max_turns = max(t.student_turns for t in transcripts)
    run_id = run_id or new_run_id("import")
    config = {"kind": "import", "source": str(path), "match": match,
              "n_transcripts": len(transcripts), "max_turns": max_turns,
              "mapping": import_flags(fmt or TranscriptFormat())
              | ({"--match": match} if match != "strict" else {})}
    if reading.warnings or reading.notes:
        config["reading_notes"] = [*reading.warnings, *reading.notes]
    if fmt is not None and fmt.fields.answers_optional:
        config["n_without_answer"] = sum(t.problem.verifier == UNVERIFIED for t in transcripts)
    sessions: list[SessionInfo] = []
    with Store(db) as store:
        if store.run(run_id) is not None:
            raise UsageError(f"--run-id {run_id}: a run with that id exists already; "
                             "importing into it would mix sessions (use a new --run-id)")
        samples: dict[tuple[str, str], int] = {}
        try:
            with store.writing():  # one transaction (the calls inside nest): all or nothing
                store.create_run(run_id, "import", config)
                store.save_problems(list({t.problem.key: t.problem for t in transcripts}.values()))
                for t in transcripts:
                    sample = samples.get((t.problem.key, t.condition), 0)
                    samples[(t.problem.key, t.condition)] = sample + 1
                    info, turns = _scored_session(t, run_id, sample, max_turns, match)
                    insert_session(store.conn, info)
                    insert_turns(store.conn, turns)
                    sessions.append(info)
                store.finish_run(run_id)
        except Exception as exc:
            # (a storage error keeps its class: a read-only database is still exit 2)
            failed = type(exc) if type(exc) in (SmlError, UsageError) else SmlError
            raise failed(f"import of {path} failed, nothing was written ({exc})") from exc
    # (an import scored 0% because no student turn used an answer marker deserves a word)
    config["n_attempts"] = sum(info.attempts or 0 for info in sessions)
    elapsed = time.perf_counter() - started
    result = {"run_id": run_id, "elapsed_s": round(elapsed, 3), "config": config,
              **summarize(sessions, max_turns)}
    if json_path:
        write_json(result, json_path)
    return result


def import_flags(fmt: TranscriptFormat) -> dict[str, Any]:
    """The flags `fmt` stands for, defaults left out: how the file was read (provenance)."""
    flags = field_flags(fmt.fields)
    given: dict[str, Any] = {
        "--turns-field": fmt.turns_field, "--group-by": fmt.group_by,
        "--order-by": fmt.order_by,
        "--dialogue-per-file": fmt.dialogue_per_file or None,
        "--student-role": ",".join(fmt.student_roles) or None,
        "--teacher-role": ",".join(fmt.teacher_roles) or None,
        "--speaker-field": fmt.speaker_field, "--text-field": fmt.text_field,
        "--alternate": fmt.alternate,
        "--question-from-first-turn": fmt.question_from_first_turn or None,
        "--allow-missing-answers": fmt.fields.answers_optional or None,
        "--condition": fmt.condition, "--responses-field": fmt.responses_field,
    }
    flags.update({flag: value for flag, value in given.items() if value is not None})
    return flags


def _session(t: Transcript, run_id: str, sample: int, max_turns: int) -> SessionInfo:
    has_teacher = any(role == "teacher" for role, *_ in t.turns)
    meta = {**t.meta, "line": t.line}
    return SessionInfo(
        id=new_session_id(), problem_key=t.problem.key, problem_id=t.problem.id,
        condition=t.condition,
        student_model=str(t.meta.get("student_model") or "imported"),
        teacher_model=str(t.meta["teacher_model"]) if t.meta.get("teacher_model")
        else ("imported" if has_teacher else None),
        max_turns=max_turns, guard="flag", run_id=run_id, sample=sample, status="done",
        origin="import", finished=now(), meta=meta,
    )
