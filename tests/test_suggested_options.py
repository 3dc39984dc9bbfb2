"""A file that needs several mappings says all of them in its first error: the loader tries
each error's suggested option on the first rows until they load (or an error suggests
nothing), so a new dataset takes one run to map, not one run per column."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from sml_cli.errors import ProblemFileError
from sml_cli.mapping import PROBE_ROWS, FieldMap
from sml_cli.problems import MissingAnswerError, load_problems
from tests.test_import_formats import import_fails, import_ok, jsonl, texts
from tests.test_problem_formats import invoke, said

# LogiQA's layout: the question under `query`, the passage under `context`, options in a
# list and the right one's index in `correct_option`.
LOGIQA = {"context": "Last year the sales of brand X rose while those of brand Y fell.",
          "query": "Which of the following, if true, best explains the change?",
          "options": ["Brand X cut its prices", "Brand Y advertised more",
                      "Both brands raised their prices", "The market shrank"],
          "correct_option": 0}
LOGIQA_OPTIONS = ("--question-field context,query --answer-field correct_option "
                  "--field choices=options")


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text(jsonl(rows), encoding="utf-8")
    return path


def error_of(path: Path, fields: FieldMap | None = None) -> ProblemFileError:
    with pytest.raises(ProblemFileError) as info:
        load_problems(str(path), fields)
    return info.value


def test_every_mapping_a_file_needs_is_named_in_its_first_error(tmp_path: Path) -> None:
    path = write(tmp_path / "logiqa.jsonl", [LOGIQA, {**LOGIQA, "correct_option": 2}])
    error = error_of(path)
    message = str(error)
    assert message.startswith(f"{path}:1: no 'question' field")
    # (the question is about the passage: it is suggested with it, before the question)
    assert ("(is it 'query'? map it, with its passage 'context' before it, with "
            "--question-field context,query)") in message
    assert message.endswith(f"; all together, its first rows load with: {LOGIQA_OPTIONS}")
    assert error.remedy == (("--question-field", "context,query"),
                            ("--answer-field", "correct_option"),
                            ("--field", "choices=options"))

    # …and the suggestion is right: pasted as it is, the file loads, answers and all.
    shown = invoke("problems", "show", str(path), *shlex.split(LOGIQA_OPTIONS))
    assert shown.exit_code == 0, shown.output
    assert said(shown.output, "Last year the sales")  # the passage, before the question
    assert said(shown.output, "A) Brand X cut its prices")
    problems = load_problems(str(path), FieldMap(question="query", answer="correct_option",
                                                 columns={"choices": "options"}))
    assert [p.answer for p in problems] == ["A", "C"]
    assert {p.verifier for p in problems} == {"choice"}


def test_the_cli_error_carries_the_whole_suggestion_with_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path / "logiqa.jsonl", [LOGIQA])
    result = invoke("problems", "show", str(path))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert said(result.output, f"all together, its first rows load with: {LOGIQA_OPTIONS}")


def test_an_answer_pattern_is_part_of_the_suggestion(tmp_path: Path) -> None:
    # GSM-Hard-like: `input` and a worked `target` ending in "#### 72".
    row = {"input": "Natalia sold 48 clips in April and half as many in May. How many in all?",
           "target": "She sold 48 / 2 = 24 in May, so 48 + 24 = 72.\n#### 72"}
    path = write(tmp_path / "gsm.jsonl", [row])
    error = error_of(path)
    assert str(error).endswith("load with: --question-field input --answer-field target "
                               "--answer-pattern gsm8k")
    [problem] = load_problems(str(path), FieldMap(question="input", answer="target",
                                                  answer_pattern="gsm8k"))
    assert problem.answer == "72"
    assert "48 + 24" in (problem.solution or "")


def test_one_needed_option_is_said_once_not_twice(tmp_path: Path) -> None:
    # Only the options are unmapped; the error's own hint is the whole story.
    row = {"question": "How many apples are three apples and two more?",
           "options": ["Two", "Three", "Five"], "answer": "C"}
    message = str(error_of(write(tmp_path / "mc.jsonl", [row])))
    assert "--field choices=options" in message
    assert "all together" not in message


@pytest.mark.parametrize("passage", [
    "Tom went to the market and bought five apples for his sister.",  # RACE's article
    ["Tom went to the market.", "He bought five apples for his sister."],  # a list of them
])
def test_a_passage_the_loaded_rows_leave_out_is_part_of_the_suggestion(
        tmp_path: Path, passage: str | list[str]) -> None:
    # RACE, PubMedQA: the rows load once their options are mapped, but the student would
    # see the question without the text it is about: a note says so after a load, and the
    # first error's suggestion says it too, in its place.
    for column in ("article", "CONTEXTS", "hint", "table", "text"):
        row = {column: passage, "question": "How many apples did Tom buy?",
               "options": ["Two", "Three", "Five"], "answer": "C"}
        error = error_of(write(tmp_path / "race.jsonl", [row]))
        options = f"--field choices=options --question-field {column},question"
        assert str(error).endswith(f"all together, its first rows load with: {options}")
        [problem] = load_problems(str(tmp_path / "race.jsonl"), FieldMap(
            question=f"{column},question", columns={"choices": "options"}))
        assert "five apples" in problem.question and problem.answer == "C"


def test_a_passage_some_rows_lack_is_left_out_of_the_suggestion(tmp_path: Path) -> None:
    # Joined to the question, a column missing from a row would make that row an error: the
    # options that do load the rows are suggested (and the note still names the passage).
    row = {"article": "Tom went to the market and bought five apples for his sister.",
           "question": "How many apples did Tom buy?", "options": ["Two", "Three", "Five"],
           "answer": "C"}
    bare = {k: v for k, v in row.items() if k != "article"}
    path = write(tmp_path / "race.jsonl", [row, bare, {**row, "answer": "B"}])
    error = error_of(path)
    assert error.remedy == (("--field", "choices=options"),)
    assert "all together" not in str(error)


def test_a_question_suggested_with_its_passage_is_not_suggested_twice(tmp_path: Path) -> None:
    # The passage already joins the suggested question: --question-field once, as it was.
    error = error_of(write(tmp_path / "logiqa.jsonl", [LOGIQA]))
    assert [flag for flag, _ in error.remedy].count("--question-field") == 1


def test_nothing_is_suggested_when_a_later_error_has_no_fix(tmp_path: Path) -> None:
    # The question is under `query`, but no column looks like the answer: a partial list
    # of options would not load the file, so only the first hint is given.
    path = write(tmp_path / "noanswer.jsonl", [{"query": "What is 2 + 2?", "notes": "easy"}])
    error = error_of(path)
    assert "--question-field query" in str(error)
    assert "all together" not in str(error)
    assert error.remedy == (("--question-field", "query"),)


def test_a_suggestion_that_fails_further_down_the_probe_is_not_made(tmp_path: Path) -> None:
    # Row 2 has no `correct_option`: the suggested options do not load the first rows.
    path = write(tmp_path / "logiqa.jsonl", [LOGIQA, {k: v for k, v in LOGIQA.items()
                                                      if k != "correct_option"}])
    message = str(error_of(path))
    assert "--question-field context,query" in message
    assert "all together" not in message


def test_only_the_first_rows_are_tried(tmp_path: Path) -> None:
    # A bad row past the probe does not stop the suggestion (it gets its own error later,
    # once the options are given).
    rows = [dict(LOGIQA, id=i) for i in range(PROBE_ROWS + 5)]
    rows[-1] = {k: v for k, v in rows[-1].items() if k != "correct_option"}
    path = write(tmp_path / "logiqa.jsonl", rows)
    assert str(error_of(path)).endswith(LOGIQA_OPTIONS)
    fields = FieldMap(question="query", answer="correct_option", columns={"choices": "options"})
    later = error_of(path, fields)
    assert later.line == PROBE_ROWS + 5
    assert "no 'correct_option' field" in str(later)


def test_the_kind_of_error_is_kept(tmp_path: Path) -> None:
    # A missing answer stays a MissingAnswerError (a dialogue import adds its own advice).
    row = {"question": "Which is right?", "options": ["x", "y"], "correct_option": 1}
    error = error_of(write(tmp_path / "p.jsonl", [row]))
    assert isinstance(error, MissingAnswerError)
    assert str(error).endswith("load with: --answer-field correct_option "
                               "--field choices=options")


def test_code_problems_get_their_tests_mapping_suggested_with_the_question(
        tmp_path: Path) -> None:
    row = {"text": "Write a function add(a, b) that returns a + b.",
           "test_list": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"]}
    path = write(tmp_path / "mbpp.jsonl", [row])
    assert str(error_of(path)).endswith(
        "load with: --question-field text --field tests=test_list")


# Public sets that keep the question or the answer under names of their own: the first
# error names the column (and, when more is needed, every option), and the options it
# names load the rows.
OTHER_NAMES = {
    # MGSM on the Hub: `answer` is null, the number is in answer_number
    "mgsm": ([{"question": "Janets Enten legen 16 Eier pro Tag. Wie viele Eier in 2 Tagen?",
               "answer": None, "answer_number": 32, "equation_solution": None}],
             "--answer-field answer_number", None),
    # CMATH: golden
    "cmath": ([{"id": "0", "grade": "1", "question": "小明有5个苹果，吃了2个，还剩几个？",
                "golden": "3"}], "--answer-field golden", None),
    # MultiArith: final_ans
    "multiarith": ([{"question": "Paige had 11 pencils. She gave 2 away. How many are left?",
                     "final_ans": "9"}], "--answer-field final_ans", None),
    # Calc-X's MAWPS: result (a text; result_float beside it), the working in `chain`
    "calc-mawps": ([{"id": "mawps__2", "question": "Sara has 31 red and 15 green balloons. "
                     "How many balloons does she have?", "chain": "<gadget>31 + 15</gadget>",
                     "result": "46", "result_float": 46.0, "equation": "x=31+15"}],
                   "--answer-field result", None),
    # MAWPS: Hungarian-notation names, the answer a list of one number
    "mawps": ([{"iIndex": 3, "sQuestion": "Sara has 31 red and 15 green balloons. How many "
                "balloons does she have?", "lEquations": ["X=(31.0+15.0)"],
                "lSolutions": [46.0]}],
              "--question-field sQuestion",
              "--question-field sQuestion --answer-field lSolutions"),
    # GSM-IC: the problem with an irrelevant sentence, beside the original
    "gsm-ic": ([{"original_question": "Claire will be 20 in two years. Jessica is six years "
                 "older. How old is Jessica now?", "answer": "24", "new_question": "Claire "
                 "will be 20 in two years. Mary's father is 60. Jessica is six years older. "
                 "How old is Jessica now?", "n_steps": 2, "role_label": "out_topic"}],
               "--question-field new_question", None),
    # verl's RL sets: chat-message prompts, the answer one level down
    "verl": ([{"data_source": "numina", "prompt": [{"role": "user", "content": "What is 1+1?"}],
               "ability": "math", "reward_model": {"style": "rule", "ground_truth": "2"},
               "extra_info": {"split": "test", "index": 0}}],
             "--question-field prompt",
             "--question-field prompt --answer-field reward_model.ground_truth"),
    # MedMCQA as first published: `cop` counts the options from 1
    "medmcqa": ([{"question": "Which vitamin is supplied from only animal source?",
                  "cop": 3, "opa": "Vitamin C", "opb": "Vitamin B7", "opc": "Vitamin B12",
                  "opd": "Vitamin D", "choice_type": "single"},
                 {"question": "Which of these is not a surgery for morbid obesity?", "cop": 4,
                  "opa": "Gastric banding", "opb": "Biliopancreatic diversion",
                  "opc": "Duodenal switch", "opd": "Appendectomy", "choice_type": "multi"}],
                "--answer-field cop",
                "--answer-field cop --field choices=opa,opb,opc,opd --index-base 1"),
    # PubMedQA: final_decision, and the abstract (a list of paragraphs) to read first
    "pubmedqa": ([{"QUESTION": "Do mitochondria play a role in remodelling lace plant leaves?",
                   "CONTEXTS": ["Programmed cell death is the regulated death of cells.",
                                "Lace plant leaves form holes by programmed cell death."],
                   "LONG_ANSWER": "Mitochondria play a role in the remodelling.",
                   "reasoning_required_pred": "yes", "final_decision": "yes"}],
                 "--answer-field final_decision",
                 "--answer-field final_decision --question-field CONTEXTS,question"),
    # TAL-SCQ5K: neither the analysis nor the options are the answer; answer_value is
    "tal-scq5k": ([{"qid": "10", "problem": "What is $$3+4$$?", "answer_option_list": [
        [{"aoVal": "A", "content": "$$6$$"}], [{"aoVal": "B", "content": "$$7$$"}]],
        "answer_analysis": ["$$3+4=7$$"], "answer_value": "B"}],
        "--question-field problem",
        "--question-field problem --answer-field answer_value "
        "--field choices=answer_option_list"),
}


@pytest.mark.parametrize("name", OTHER_NAMES)
def test_columns_under_other_names_are_suggested(tmp_path: Path, name: str) -> None:
    rows, hint, together = OTHER_NAMES[name]
    path = write(tmp_path / f"{name}.jsonl", rows)
    message = str(error_of(path))
    column = hint.split()[-1]
    assert f"(is it {column!r}? map it with {hint})" in message
    if together:
        assert message.endswith(f"; all together, its first rows load with: {together}")
    else:
        assert "all together" not in message
    shown = invoke("problems", "show", str(path), "--json", *shlex.split(together or hint))
    assert shown.exit_code == 0, shown.output
    loaded = [json.loads(line) for line in shown.stdout.splitlines()]
    assert len(loaded) == len(rows) and all(problem["answer"] for problem in loaded)
    if name == "medmcqa":  # (counted from 1: the third option, then the fourth)
        assert [problem["answer"] for problem in loaded] == ["C", "D"]


def test_columns_about_the_field_or_empty_ones_are_not_suggested(tmp_path: Path) -> None:
    # SciBench: `solution` (a usual name for the answer) is empty; question_type and
    # answer_type say what kind of field, not what it holds.
    row = {"problemid": "1.5", "question_type": "numeric", "answer_type": "number",
           "problem_text": "Calculate the energy of a photon of wavelength 500 nm.",
           "answer_latex": "3.97 \\times 10^{-19}", "unit": "J", "solution": ""}
    error = error_of(write(tmp_path / "scibench.jsonl", [row]))
    assert error.remedy == (("--question-field", "problem_text"),
                            ("--answer-field", "answer_latex"))


def test_an_index_one_past_the_options_suggests_counting_from_one(tmp_path: Path) -> None:
    row = OTHER_NAMES["medmcqa"][0][1]
    path = write(tmp_path / "medmcqa.jsonl", [row])
    error = error_of(path, FieldMap(answer="cop", columns={"choices": "opa,opb,opc,opd"}))
    assert "the answers look counted from 1 (4 of 4 options): load with --index-base 1" in \
        str(error)
    assert error.remedy == (("--index-base", "1"),)


# ----------------------------------------------------------------------------- imports

DIALOGUE = {"id": "d1", "query": "What is 3 + 4?", "options": ["6", "7", "8"],
            "correct_option": 1,
            "chat": [{"role": "student", "content": "Is it 6? Final answer: A"},
                     {"role": "teacher", "content": "Count on from 3 four times."},
                     {"role": "student", "content": "Oh, 7. Final answer: B"}]}


def test_a_dialogue_file_gets_every_flag_it_needs_at_once(tmp_path: Path) -> None:
    path = write(tmp_path / "dialogues.jsonl", [DIALOGUE])
    db = tmp_path / "sml.db"
    out = import_fails(path, db)
    # (no passage in these rows: the question alone)
    options = ("--turns-field chat --question-field query --answer-field correct_option "
               "--field choices=options")
    assert f"{path}:1: no turns" in out
    assert out.endswith(f"all together, its first rows load with: {options}")
    assert not db.exists() or not texts(db, "student")

    result = import_ok(path, db, *shlex.split(options))
    scores = result["conditions"]["imported"]
    assert scores["success_rate"] == 1.0 and scores["recovery_rate"] == 1.0
    assert texts(db, "student")[-1] == "Oh, 7. Final answer: B"


def test_a_dialogue_file_whose_answers_are_missing_gets_no_partial_suggestion(
        tmp_path: Path) -> None:
    row = {k: v for k, v in DIALOGUE.items() if k not in ("correct_option", "options")}
    path = write(tmp_path / "dialogues.jsonl", [row])
    out = import_fails(path, tmp_path / "sml.db")
    assert "--turns-field chat" in out
    assert "all together" not in out


def test_the_suggestion_for_a_separate_problems_file_keeps_the_import_advice(
        tmp_path: Path) -> None:
    problems = write(tmp_path / "problems.jsonl", [
        {"id": "p1", "question": "What is 3 + 4?", "options": ["6", "7", "8"],
         "correct_option": 1}])
    dialogues = tmp_path / "dialogues.jsonl"
    dialogues.write_text(json.dumps({"problem_id": "p1", "turns": DIALOGUE["chat"]}) + "\n",
                         encoding="utf-8")
    out = import_fails(dialogues, tmp_path / "sml.db", "--problems", problems)
    assert "load with: --answer-field correct_option --field choices=options" in out
    assert "--allow-missing-answers" in out
