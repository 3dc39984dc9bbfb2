"""Reasoning models (SPEC §3, §6): what a model thinks before it speaks — a separate
`reasoning_content` / `reasoning` field, or a leading <think> block — is stored with its turn
and reaches no one. A teacher's thoughts routinely spell out the answer; a student's draft
"Final answer:" inside its thoughts is not an attempt. Also: the parameter dialects such
models' servers speak (`max_completion_tokens`, no `stream_options`)."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import EVAL_PROBLEMS, cli_output, contains_number, write_problems
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from sml_cli.cli import app
from sml_cli.models import ModelSettings, make_model
from sml_cli.participants import Message, ParticipantError, VisibleTokens, split_reasoning
from sml_cli.store import Store
from sml_cli.testing import (
    StubFault,
    StubReply,
    StubServer,
    hint_following_student,
    hinting_teacher,
)

MESSAGES = [{"role": "user", "content": "3*4?"}]
ANSWERS = [p["answer"] for p in EVAL_PROBLEMS]
STUDENT_THOUGHT = "private musing 7731"


# ----------------------------------------------------------------------------- splitting

@pytest.mark.parametrize(("text", "field", "said", "thought"), [
    ("Try halving it.", None, "Try halving it.", None),
    ("Try halving it.", "the answer is 42", "Try halving it.", "the answer is 42"),
    ("<think>the answer is 42</think>\n\nTry halving it.", None, "Try halving it.",
     "the answer is 42"),
    ("  <THINKING>\nhmm\n</THINKING> Hi", None, "Hi", "hmm"),
    ("<reasoning>r</reasoning>x", None, "x", "r"),
    # The chat template opened the block itself: only the closing tag is in the reply.
    ("the answer is 42\n</think>\nTry halving it.", None, "Try halving it.", "the answer is 42"),
    # Out of tokens while thinking: nothing was said.
    ("<think>the answer is 42, so", None, "", "the answer is 42, so"),
    ("<think>a</think>b", "c", "b", "c\n\na"),
    ("<think></think>Hello", None, "Hello", None),
    # A tag in the middle of a message is text, not a thought.
    ("Use <think> tags like this.", None, "Use <think> tags like this.", None),
    ("", None, "", None),
])
def test_split_reasoning(text: str, field: str | None, said: str, thought: str | None) -> None:
    assert split_reasoning(text, field) == (said, thought)


TEXT = st.text(alphabet="ab <>/thinkTHINK\n", max_size=30)
OPENS = re.compile(r"\s*<(think|thinking|reasoning)>", re.IGNORECASE)


@given(thought=TEXT.filter(lambda t: "</" not in t), said=TEXT,
       cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=8))
def test_streamed_text_is_what_is_said(thought: str, said: str, cuts: list[int]) -> None:
    """However a stream is cut into chunks, a screen gets the spoken part, never the
    thoughts of a leading block."""
    for text in (f"<think>{thought}</think>\n{said}", said):
        out: list[str] = []
        sink = VisibleTokens(out.append)
        bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
        for a, b in itertools.pairwise(bounds):
            sink(text[a:b])
        shown = "".join(out)
        spoken, thought_found = split_reasoning(text)
        stripped = text.lstrip().lower()
        if not stripped or any(f"<{t}>".startswith(stripped) for t in ("think", "thinking")):
            assert shown == ""  # blank, or could still have been the start of a block
        elif OPENS.match(text):
            assert shown.strip() == spoken
        elif thought_found is None:
            assert shown == text
        # else: a lone closing tag (the template opened the block); only the stored turn,
        # which replaces the live text, is split — covered by test_split_reasoning.


# ----------------------------------------------------------------------------- adapters

@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


@pytest.fixture(params=["direct", "litellm"])
def via(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, env: None) -> str:
    if request.param == "litellm":
        monkeypatch.setenv("SML_VIA_LITELLM", "1")
    else:
        monkeypatch.delenv("SML_VIA_LITELLM", raising=False)
    return str(request.param)


@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "inline"])
@pytest.mark.parametrize("stream", [False, True])
def test_both_paths_split_every_shape(via: str, shape: str, stream: bool) -> None:
    def reply(request: dict[str, Any]) -> StubReply:
        if shape == "inline":
            return StubReply("<think>The answer is 42.</think>\n\nTry halving 84.")
        return StubReply("Try halving 84.", reasoning="The answer is 42.", reasoning_field=shape)

    with StubServer(reply) as server:
        model = make_model("openai/teacher", ModelSettings(api_base=server.url, retries=0))
        tokens: list[str] = []
        got = asyncio.run(model.respond(MESSAGES, tokens.append if stream else None))
    assert got.content == "Try halving 84."
    assert got.reasoning == "The answer is 42."
    if stream:
        assert "".join(tokens).strip() == "Try halving 84."


@pytest.mark.parametrize("reply", [
    StubReply("", reasoning="Let me think about this for a very long", finish_reason="length"),
    StubReply("<think>Let me think about this for a very long", finish_reason="length"),
])
def test_a_reply_that_is_all_reasoning_is_an_error_naming_the_budget(
    via: str, reply: StubReply
) -> None:
    with StubServer(lambda request: reply) as server:
        model = make_model("openai/thinker",
                           ModelSettings(api_base=server.url, retries=3, max_tokens=64))
        with pytest.raises(ParticipantError,
                           match=r"all reasoning.*may write 64 tokens.*--student-max-tokens"):
            asyncio.run(model.respond(MESSAGES))
        assert len(server.requests) == 1  # not retried: it would think as long again


# (refused parameter, the endpoint's words, settings, streamed?, the parameter sent instead)
DIALECTS = [
    pytest.param("max_tokens", "Unsupported parameter: 'max_tokens' is not supported with this "
                 "model. Use 'max_completion_tokens' instead.", {"max_tokens": 300}, False,
                 "max_completion_tokens", id="max_completion_tokens"),
    pytest.param("temperature", "Unsupported value: 'temperature' does not support 0.0 with "
                 "this model. Only the default (1) value is supported.", {"temperature": 0.0},
                 False, None, id="temperature"),
    pytest.param("stream_options", "Unrecognized request argument supplied: stream_options",
                 {}, True, None, id="stream_options"),
]


@pytest.mark.parametrize(("refused", "words", "settings", "stream", "instead"), DIALECTS)
def test_a_refused_parameter_is_adapted_once_and_remembered(
    env: None, refused: str, words: str, settings: dict[str, Any], stream: bool,
    instead: str | None
) -> None:
    """OpenAI's reasoning models and some OpenAI-compatible servers refuse a parameter and
    say so: the model changes it after the first refusal, for every later call too — also
    the calls of other sessions (each has its own model object)."""

    def strict_server(request: dict[str, Any]) -> str | StubFault:
        if refused in request:
            return StubFault(400 if refused != "stream_options" else 422, words)
        return f"ok {request.get(instead) if instead else ''}".strip()

    with StubServer(strict_server) as server:
        for _ in range(2):
            model = make_model("openai/strict", ModelSettings(api_base=server.url, retries=0,
                                                              **settings))
            tokens: list[str] = []
            reply = asyncio.run(model.respond(MESSAGES, tokens.append if stream else None))
            assert reply.content == ("ok 300" if instead else "ok")
            if stream:
                assert "".join(tokens) == reply.content
        assert [refused in r for r in server.requests] == [True, False, False]


@pytest.mark.parametrize("via", ["direct", "litellm"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_template_without_a_system_role_gets_the_prompt_in_the_first_user_message(
    env: None, monkeypatch: pytest.MonkeyPatch, via: str, stream: bool
) -> None:
    """Gemma's chat template raises "System role not supported" (vLLM answers 400): the
    system prompt then opens the first user message, from that call on."""
    if via == "litellm":
        monkeypatch.setenv("SML_VIA_LITELLM", "1")
    conversation: list[Message] = [
        {"role": "system", "content": "You are the student."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "Is it 5?"},
        {"role": "user", "content": "No."},
    ]

    def gemma(request: dict[str, Any]) -> str | StubFault:
        if any(m["role"] == "system" for m in request["messages"]):
            return StubFault(400, '{"object": "error", "message": "System role not '
                             'supported", "type": "BadRequestError", "code": 400}')
        return "roles " + ",".join(m["role"] for m in request["messages"])

    with StubServer(gemma) as server:
        for _ in range(2):  # two sessions, two model objects: one refusal in all
            model = make_model("openai/gemma", ModelSettings(api_base=server.url, retries=0))
            tokens: list[str] = []
            reply = asyncio.run(model.respond(conversation, tokens.append if stream else None))
            assert reply.content == "roles user,assistant,user"
        first_user = server.requests[-1]["messages"][0]["content"]
        assert first_user == "You are the student.\n\nWhat is 2+2?"
        assert [any(m["role"] == "system" for m in r["messages"]) for r in server.requests] \
            == [True, False, False]
    assert conversation[1]["content"] == "What is 2+2?"  # the caller's messages untouched


def test_other_bad_requests_are_not_retried_with_another_parameter(env: None) -> None:
    with StubServer(lambda request: StubFault(400, "messages: field required")) as server:
        model = make_model("openai/x", ModelSettings(api_base=server.url, retries=2))
        with pytest.raises(ParticipantError, match="field required"):
            asyncio.run(model.respond(MESSAGES))
        assert len(server.requests) == 1


# ----------------------------------------------------------------------------- end to end

def _thinking(shape: str, thought: str, said: str) -> StubReply:
    if shape == "inline":
        return StubReply(f"<think>{thought}</think>\n{said}")
    return StubReply(said, reasoning=thought, reasoning_field=shape)


def _handler(shape: str) -> Any:
    def handle(request: dict[str, Any]) -> StubReply:
        messages = request["messages"]
        if request["model"] == "teacher":
            reference = re.search(r"Reference answer[^:]*:\s*(\d+)", messages[0]["content"])
            assert reference, messages[0]["content"]
            thought = f"The reference answer is {reference.group(1)}; I must only hint."
            return _thinking(shape, thought, hinting_teacher(messages))
        if len(messages) <= 2:  # its first turn: thinks of a guess, asks instead
            return _thinking(shape, f"{STUDENT_THOUGHT}. Final answer: 0?",
                             "Could you give me a hint?")
        return _thinking(shape, STUDENT_THOUGHT, hint_following_student(messages))

    return handle


@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "inline"])
def test_thoughts_are_kept_but_reach_no_one(
    shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SML_VIA_LITELLM", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    problems = write_problems(tmp_path / "p.jsonl", EVAL_PROBLEMS)
    db = tmp_path / "r.db"
    runner = CliRunner()
    with StubServer(_handler(shape)) as server:
        monkeypatch.setenv("OPENAI_API_BASE", server.url)
        result = runner.invoke(app, [
            "eval", "--student", "openai/student", "--teacher", "openai/teacher",
            "--problems", str(problems), "--conditions", "answer", "--max-turns", "3",
            "--run-id", "think", "--db", str(db), "--json", str(tmp_path / "r.json")])
        assert result.exit_code == 0, cli_output(result)
        student_requests = server.messages_seen("student")
        teacher_requests = server.messages_seen("teacher")
        assert not server.errors

    scores = json.loads((tmp_path / "r.json").read_text())["conditions"]["answer"]
    # The hint (not the teacher's thoughts) solved it; the thoughts were no leak.
    assert scores["success_rate"] == 1.0 and scores["leak_rate"] == 0.0
    assert scores["question_rate"] > 0  # the first turn asked: its thought's draft was no attempt
    for messages in student_requests:
        blob = json.dumps(messages)
        assert not any(contains_number(blob, a) for a in ANSWERS)
        assert "must only hint" not in blob and "think>" not in blob
    for messages in teacher_requests:
        assert STUDENT_THOUGHT not in json.dumps(messages)

    with Store(db) as store:
        for info in store.sessions("run_id = ?", ["think"]):
            answer = next(p["answer"] for p in EVAL_PROBLEMS if p["id"] == info.problem_id)
            turns = store.turns(info.id)
            teacher = [t for t in turns if t.role == "teacher"]
            assert teacher and all(answer in (t.reasoning or "") for t in teacher)
            assert all(answer not in t.content for t in teacher)
            first = next(t for t in turns if t.role == "student")
            assert first.kind == "question_asked" and first.attempt is None
            assert STUDENT_THOUGHT in (first.reasoning or "")

    sid = next(iter(Store(db).sessions("run_id = ?", ["think"]))).id
    shown = runner.invoke(app, ["sessions", "show", sid, "--db", str(db)])
    assert "reasoning (seen by no one)" in shown.output and "must only hint" in shown.output
    as_student = runner.invoke(app, ["sessions", "show", sid, "--db", str(db),
                                     "--view", "student"])
    assert "must only hint" not in as_student.output and STUDENT_THOUGHT not in as_student.output

    for fmt in ("openai", "sharegpt", "trl", "trl-prompt-completion"):
        out = tmp_path / f"{fmt}.jsonl"
        exported = runner.invoke(app, ["export", "--db", str(db), "--format", fmt,
                                       "--view", "student", "-o", str(out)])
        assert exported.exit_code == 0, cli_output(exported)
        text = out.read_text()
        # (The answer itself is there: the student's own solving attempt.)
        assert text and "must only hint" not in text and STUDENT_THOUGHT not in text
        assert "reasoning_content" not in text  # only on request

    # --include-reasoning: each side's own thoughts on its own messages, never the other's.
    for view, own, other in (("student", STUDENT_THOUGHT, "must only hint"),
                             ("teacher", "must only hint", STUDENT_THOUGHT)):
        for fmt in ("openai", "trl", "trl-prompt-completion"):
            out = tmp_path / f"{view}-{fmt}-r.jsonl"
            exported = runner.invoke(app, ["export", "--db", str(db), "--format", fmt,
                                           "--view", view, "--include-reasoning", "-o",
                                           str(out)])
            assert exported.exit_code == 0, cli_output(exported)
            text = out.read_text()
            assert other not in text, (view, fmt)
            rows = [json.loads(line) for line in text.splitlines()]
            messages = [m for r in rows for m in (r.get("messages") or
                                                  [*r["prompt"], *r["completion"]])]
            assert any(own in m.get("reasoning_content", "") for m in messages)
            assert all(m["role"] == "assistant" for m in messages if "reasoning_content" in m)
            # The same in Parquet: the field is part of the message schema.
            pq = pytest.importorskip("pyarrow.parquet")
            table_path = out.with_suffix(".parquet")
            exported = runner.invoke(app, ["export", "--db", str(db), "--format", fmt,
                                           "--view", view, "--include-reasoning", "-o",
                                           str(table_path)])
            assert exported.exit_code == 0, cli_output(exported)
            assert _without_nulls(pq.read_table(table_path).to_pylist()) == rows
    refused = runner.invoke(app, ["export", "--db", str(db), "--format", "sharegpt",
                                  "--include-reasoning"])
    assert refused.exit_code == 2 and "--include-reasoning" in cli_output(refused)
    raw = tmp_path / "raw.jsonl"
    assert runner.invoke(app, ["export", "--db", str(db), "--format", "raw",
                               "-o", str(raw)]).exit_code == 0
    assert "must only hint" in raw.read_text() and STUDENT_THOUGHT in raw.read_text()

    html = tmp_path / "r.html"
    reported = runner.invoke(app, ["report", "think", "--db", str(db), "--html", str(html)])
    assert reported.exit_code == 0, cli_output(reported)
    assert "reasoning (seen by no one)" in html.read_text()


@pytest.mark.parametrize(("message", "said", "thought"), [
    ({"content": "Hi"}, "Hi", None),
    ({"content": None, "reasoning_content": "hm"}, "", "hm"),
    # Mistral's reasoning models: typed chunks, the thinking nested as text parts.
    ({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "It is 42."}]},
                  {"type": "text", "text": "Try halving 84."}]}, "Try halving 84.", "It is 42."),
    ({"content": [{"type": "text", "text": "a"}, "b"]}, "ab", None),
    ({"content": [{"type": "reasoning", "text": "r"}, {"type": "text", "text": "x"}],
      "reasoning": "s"}, "x", "sr"),
])
def test_content_parts_and_reasoning_fields(message: dict, said: str,
                                            thought: str | None) -> None:
    from sml_cli.models import _parse_completion

    body = json.dumps({"choices": [{"message": message}], "usage": {}}).encode()
    assert _parse_completion(body)[:2] == (said, thought)


def test_a_content_that_is_neither_text_nor_parts_is_malformed() -> None:
    from sml_cli.models import MalformedResponse, _parse_completion

    body = json.dumps({"choices": [{"message": {"content": {"oops": 1}}}]}).encode()
    with pytest.raises(MalformedResponse):
        _parse_completion(body)


def _without_nulls(value: Any) -> Any:
    """A Parquet read-back as JSON lines hold it: a message without the optional field has
    it as null in a table's fixed schema."""
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def test_sessions_show_cuts_long_reasoning() -> None:
    from sml_cli import console_views
    from sml_cli.records import SessionInfo, Turn

    info = SessionInfo(id="s", problem_key="k", problem_id="p", condition="answer",
                       student_model="m", teacher_model="t", max_turns=2, status="done")
    thought = "step " * 1000 + "THE-TAIL"
    turn = Turn(session_id="s", seq=0, turn=1, role="student", visibility="public",
                kind="message", content="Could you give me a hint?", reasoning=thought)
    with console_views.console.capture() as captured:
        console_views.print_transcript(info, None, [turn])
    out = captured.get()
    assert "reasoning (seen by no one)" in out and "Could you give me a hint?" in out
    assert "THE-TAIL" not in out and "more characters" in out


def test_the_stub_can_answer_like_a_thinking_model() -> None:
    from sml_cli.testing import by_model, thinking

    handler = thinking(by_model(teacher=hinting_teacher, student=hint_following_student))
    system = "Reference answer (hidden from the student): 40123\n"
    reply = handler({"model": "teacher", "messages": [
        {"role": "system", "content": system}, {"role": "user", "content": "Final answer: 0"}]})
    assert isinstance(reply, str)
    said, thought = split_reasoning(reply)
    assert thought == "The reference answer is 40123; I must not say it."
    assert said == "Think again: the result is one more than 40122."
