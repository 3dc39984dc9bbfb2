"""Prompt templates (Jinja2) in `prompts/`, overridable per file by a user directory.

Lookup order: `--prompts DIR`, then `$SML_PROMPTS`, then the templates shipped with sml. A
user directory need only hold the files it changes.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sml_cli.errors import UsageError

if TYPE_CHECKING:
    import jinja2

TEMPLATES = (
    "student.j2", "teacher_answer.j2", "teacher_verifier.j2", "teacher_symmetric.j2",
    "teacher_reminder.j2", "verdict.j2",
)

# Files in a --prompts directory that look like templates (to warn about one sml ignores).
TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")


def builtin_prompt_dir() -> Path:
    here = Path(__file__).resolve().parent
    # In a wheel the templates are packaged as sml_cli/prompts; in a source checkout they are
    # the top-level prompts/ folder, which is what users edit.
    for candidate in (here / "prompts", here.parent / "prompts"):
        if (candidate / "student.j2").exists():
            return candidate
    raise RuntimeError("sml's prompt templates are missing from the installation")


class Prompts:
    def __init__(self, user_dir: str | os.PathLike[str] | None = None) -> None:
        user = user_dir or os.environ.get("SML_PROMPTS")
        self.dirs: list[Path] = []
        # How the user's directory was given, to name it in messages.
        self.user_flag = f"--prompts {user}" if user_dir else f"$SML_PROMPTS {user}"
        self.user_dir: Path | None = None
        if user:
            path = Path(user).expanduser()
            if not path.is_dir():
                raise UsageError(f"{self.user_flag}: not a directory")
            self.dirs.append(path)
            self.user_dir = path
        self.dirs.append(builtin_prompt_dir())
        self._env = _environment(tuple(str(d) for d in self.dirs))

    def render(self, name: str, **variables: Any) -> str:
        import jinja2

        try:
            template = self._env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise _template_error(exc.filename or name, exc.lineno, exc.message or str(exc)
                                  ) from None
        except UnicodeDecodeError as exc:
            raise _not_utf8(self._path(name), exc) from None
        except jinja2.TemplateError as exc:
            raise _template_error(name, None, str(exc)) from None
        try:
            return template.render(**variables).strip()
        except Exception as exc:
            # Whatever a user's template does wrong (an unknown variable, `{{ 1/0 }}`), it is
            # a bad input file: name it and the line, as for a syntax error. Jinja2 rewrites
            # the traceback so that the template's own frames carry its file and line.
            line = None
            tb = exc.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == template.filename:
                    line = tb.tb_lineno
                tb = tb.tb_next
            message = exc.message if isinstance(exc, jinja2.TemplateError) else None
            raise _template_error(template.filename or name, line,
                                  message or f"{type(exc).__name__}: {exc}") from None

    def warnings(self) -> list[str]:
        """A template file in the user's directory that sml never reads (`studnet.j2`) is
        most likely a misspelt override, silently ignored while the built-in one is used:
        say so. Files the used templates include or extend are read, so they are not named."""
        if self.user_dir is None:
            return []
        import difflib

        read = set(TEMPLATES) | self._referenced()
        unread = sorted(f.name for f in self.user_dir.iterdir()
                        if f.suffix in TEMPLATE_SUFFIXES and f.is_file() and f.name not in read)
        out = []
        for name in unread:
            close = difflib.get_close_matches(name, TEMPLATES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            out.append(f"{self.user_flag}: {name} is not a template sml reads{hint}, so it is "
                       f"ignored; the templates are {', '.join(TEMPLATES)}")
        return out

    def _referenced(self) -> set[str]:
        """Templates that the used ones pull in ({% include %}, {% extends %}, {% import %}),
        and the ones those pull in."""
        import jinja2
        from jinja2 import meta

        found: set[str] = set()
        pending = list(TEMPLATES)
        while pending:
            name = pending.pop()
            try:
                tree = self._env.parse(self.source(name))
            except (jinja2.TemplateSyntaxError, UsageError):
                continue  # (reported when it is rendered)
            for ref in meta.find_referenced_templates(tree):
                if ref is not None and ref not in found:
                    found.add(ref)
                    pending.append(ref)
        return found

    def source(self, name: str) -> str:
        path = self._path(name)
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, exc) from None

    def _path(self, name: str) -> Path:
        """The file a template is read from: the user's directory first."""
        for d in self.dirs:
            if (d / name).exists():
                return d / name
        raise UsageError(f"prompt template {name} not found in {', '.join(map(str, self.dirs))}")


def _template_error(where: str, line: int | None, message: str) -> UsageError:
    return UsageError(f"prompt template {where}{':' + str(line) if line else ''}: {message}")


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> UsageError:
    return _template_error(str(path), None, f"not UTF-8 text (byte {exc.start}: {exc.reason}); "
                           "save it as UTF-8")


@cache
def _environment(dirs: tuple[str, ...]) -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(dirs)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )
