"""`sml report RUN_ID`: a run's scores in the terminal, or as one self-contained HTML file.

The HTML needs no network to view: styles are inline, charts are inline SVG drawn here, and
every session's transcript is in the file, linked from the per-problem table. Transcripts
show the private channel, marked as such: a report is a teacher-side document.
"""

from __future__ import annotations

import html
import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sml_cli import __version__
from sml_cli.errors import SmlError, UsageError
from sml_cli.mapping import flags_text
from sml_cli.metrics import elapsed_seconds, ordered_conditions, run_deltas, summarize
from sml_cli.problems import Problem
from sml_cli.records import SessionInfo, Turn
from sml_cli.store import Store

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04"]


@dataclass
class RunData:
    run: dict[str, Any]
    sessions: list[SessionInfo]
    problems: dict[str, Problem]
    result: dict[str, Any]

    @property
    def max_turns(self) -> int:
        return int(self.run["config"].get("max_turns") or max(
            (s.student_turns or 0 for s in self.sessions), default=1))


def load_run(store: Store, run_id: str) -> RunData:
    run = store.run(run_id)
    if run is None:
        raise store.no_run(run_id)
    sessions = list(store.sessions("run_id = ?", [run_id]))
    keys = {s.problem_key for s in sessions}
    problems = {k: store.problem(k) for k in keys}
    max_turns = int(run["config"].get("max_turns") or max(
        (s.student_turns or 0 for s in sessions), default=1))
    summary = summarize(sessions, max_turns, seed=int(run["config"].get("seed") or 0))
    elapsed = elapsed_seconds(sessions)
    result = {"run_id": run_id, "elapsed_s": elapsed, "config": run["config"], **summary}
    return RunData(run, sessions, problems, result)


def compare_runs(store: Store, run_ids: list[str]) -> dict[str, Any]:
    """Several runs side by side (a base student and a trained one; two teachers): each
    run's per-condition scores, and per condition the paired difference between each pair
    of runs on the problems both ran."""
    seen: set[str] = set()
    for run_id in run_ids:
        if run_id in seen:
            raise UsageError(f"run {run_id!r} is named twice")
        seen.add(run_id)
    loaded = [load_run(store, run_id) for run_id in run_ids]
    seed = int(loaded[0].run["config"].get("seed") or 0)
    return {
        "runs": {
            data.run["id"]: {
                "student": data.run["config"].get("student"),
                "teacher": data.run["config"].get("teacher"),
                "problems": data.run["config"].get("problems"),
                "conditions": data.result["conditions"],
            }
            for data in loaded
        },
        "deltas": run_deltas({data.run["id"]: data.sessions for data in loaded}, seed=seed),
    }


# ----------------------------------------------------------------------------- terminal


def runs_json(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`sml report --json -` with no run id: the rows of the list of runs, for jq."""
    keys = ("id", "kind", "created", "status", "sessions", "done", "errors", "solved")
    out = []
    for run in runs:
        config = run["config"]
        row = {key: run[key] for key in keys}
        row.update(done=run["done"] or 0, errors=run["errors"] or 0, solved=run["solved"] or 0,
                   student=config.get("student"), teacher=config.get("teacher"),
                   conditions=(config.get("conditions") if run["kind"] != "import" else
                               sorted(c for c in (run["session_conditions"] or "").split(",")
                                      if c)),
                   config=config)
        out.append(row)
    return out


def print_runs(runs: list[dict[str, Any]], path: Path) -> None:
    """`sml report` with no run id: the newest runs, to pick one from."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from sml_cli.console_views import console

    if not runs:
        console.print(Text(f"No runs in {path} yet: start one with `sml eval`.", style="dim"))
        return
    table = Table(title=f"Runs in {escape(str(path))}, newest first", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, padding=(0, 1))
    # An 80-column terminal (or a file, or a pipe) leaves the models and conditions a dozen
    # columns beside a whole run id: one text there, wrapped between words, and no date.
    wide = console.width >= 120
    table.add_column("run", no_wrap=True)
    if wide:
        table.add_column("created", no_wrap=True)
    table.add_column("status", no_wrap=True)
    if wide:
        table.add_column("student → teacher", overflow="fold")
        table.add_column("conditions", overflow="fold")
    else:
        table.add_column("student → teacher · conditions", overflow="fold")
    for name in ("n", "err", "solved"):
        table.add_column(name, justify="right", no_wrap=True)
    for run in runs:
        config, done = run["config"], run["done"] or 0
        if run["kind"] == "import":  # (no models: the dialogues' labels are the conditions)
            models = f"from {config.get('source') or '–'}"
            labels = sorted((run["session_conditions"] or "").split(","))
        else:
            models = str(config.get("student") or "–")
            if config.get("teacher"):
                models += f" → {config['teacher']}"
            labels = config.get("conditions") or []
        conditions = ", ".join(c for c in labels if c) or "–"
        cells: list[str | Text] = [Text(run["id"])]
        if wide:
            cells.append((run["created"] or "")[5:16].replace("T", " "))
        cells.append(run["status"] if run["kind"] == "eval" else run["kind"])
        cells += [Text(models), Text(conditions)] if wide else [Text(f"{models} · {conditions}")]
        table.add_row(
            *cells, str(run["sessions"]), f"[red]{run['errors']}[/]" if run["errors"] else "0",
            f"{(run['solved'] or 0) / done * 100:.0f}%" if done else "–")
    console.print(table)
    console.print("[dim]sml report RUN_ID for one run; several ids compare them.[/]")


def print_comparison(comparison: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from sml_cli.console_views import console, delta_cells, score_cells, score_table

    runs = comparison["runs"]
    legend = Table(title="Runs compared", title_justify="left", box=box.SIMPLE_HEAD,
                   pad_edge=False)
    for name in ("run", "student", "teacher", "problems"):
        legend.add_column(name, overflow="fold")
    for run_id, run in runs.items():
        legend.add_row(Text(run_id), Text(str(run["student"])), Text(str(run["teacher"] or "–")),
                       Text(str(run["problems"])))
    console.print(legend)
    rows: list[list[str | Text]] = []
    section_ends: list[int] = []
    conditions = ordered_conditions({c for r in runs.values() for c in r["conditions"]})
    for condition in conditions:
        first = True
        for run_id, run in runs.items():
            scores = run["conditions"].get(condition)
            if scores is None:
                continue
            rows.append([Text(condition, style="bold") if first else "", Text(run_id),
                         *score_cells(scores, by_turn=False)])
            first = False
        if rows:
            section_ends.append(len(rows) - 1)
    table = score_table([("condition", "left"), ("run", "left"), ("n", "right"),
                         ("err", "right"), ("solved", "right"), ("95% CI", "right"),
                         ("1st", "right"), ("recov", "right"), ("asks", "right"),
                         ("leaks", "right")], rows)
    for index in section_ends:
        table.rows[index].end_section = True
    console.print(table)
    if not comparison["deltas"]:
        console.print("[dim]The runs share no problem under any condition: no paired "
                      "differences.[/]")
        return
    deltas = Table(title="Paired differences in success rate between runs (same condition, "
                   "same problems)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in [("condition", "left"), ("runs", "left"), ("n", "right"),
                          ("delta", "right"), ("95% CI", "right"), ("1st+", "right"),
                          ("2nd+", "right")]:
        deltas.add_column(name, justify=justify, no_wrap=name != "runs")  # type: ignore[arg-type]
    for condition, pairs in comparison["deltas"].items():
        for pair, d in pairs.items():
            deltas.add_row(Text(condition), Text(pair), str(d["n_problems"]), *delta_cells(d),
                           str(len(d["better_in_a"])), str(len(d["better_in_b"])))
    console.print(deltas)
    console.print("[dim]n: problems both runs have; 95% CI: paired bootstrap over them; "
                  "1st+/2nd+: problems the first/second run solved more often (listed in "
                  "--json and --html).[/]")


def print_report(data: RunData) -> None:
    from rich.table import Table
    from rich.text import Text

    from sml_cli.console_views import console, print_eval_summary

    print_eval_summary(data.result)
    conditions = data.result["conditions"]
    if not conditions:
        console.print(Text(f"Run {data.run['id']} has no sessions yet: no chart to draw.",
                           style="dim"))
        return
    chart = Table(title="Success by student turn", title_justify="left", box=None,
                  pad_edge=False)
    chart.add_column("turn", justify="right")
    for name in conditions:
        chart.add_column(Text(name), no_wrap=True)
    # Bars share the terminal's width: "turn" column, then per condition a bar and "100%".
    width = max(4, min(20, (console.width - 6) // max(1, len(conditions)) - 7))
    for k in range(data.max_turns):
        cells = []
        for index, (_, scores) in enumerate(conditions.items()):
            value = scores["success_at_turn"][k] if k < len(scores["success_at_turn"]) else None
            if value is None:
                cells.append("–")
                continue
            filled = value * width
            bar = "█" * int(filled) + ("▌" if filled - int(filled) >= 0.5 else "")
            color = PALETTE[index % len(PALETTE)]
            cells.append(f"[{color}]{bar:<{width}}[/] {value * 100:3.0f}%")
        chart.add_row(str(k + 1), *cells)
    console.print(chart)


# ----------------------------------------------------------------------------- HTML


def _svg_success_by_turn(conditions: dict[str, dict[str, Any]], max_turns: int) -> str:
    # The legend sits right of the plot: as wide as its longest name ("answer · base-run").
    right = max(130, 7 * max((len(n) for n in conditions), default=0) + 44)
    w, h, left, top, bottom = 430 + right, max(300, 40 + 18 * len(conditions)), 48, 16, 40
    pw, ph = w - left - right, h - top - bottom

    def x(k: int) -> float:
        return left + (pw * (k - 1) / (max_turns - 1) if max_turns > 1 else pw / 2)

    def y(v: float) -> float:
        return top + ph * (1 - v)

    parts = [f'<svg class="chart" id="chart-success" viewBox="0 0 {w} {h}" width="{w}" '
             f'height="{h}" role="img" aria-label="Success rate by student turn">']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + pw}" y2="{y(tick):.1f}" '
                     'stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'class="tick">{tick * 100:.0f}%</text>')
    for k in range(1, max_turns + 1):
        parts.append(f'<text x="{x(k):.1f}" y="{top + ph + 18}" text-anchor="middle" '
                     f'class="tick">{k}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{h - 4}" text-anchor="middle" class="axis">'
                 'student turn</text>')
    for index, (name, scores) in enumerate(conditions.items()):
        color = PALETTE[index % len(PALETTE)]
        points = [(x(k + 1), y(v)) for k, v in enumerate(scores["success_at_turn"])
                  if v is not None]
        if points:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            # Dashes differ per series so that conditions with equal rates stay distinguishable.
            dash = ["", "8 4", "3 3", "12 4 3 4"][index % 4]
            parts.append(f'<polyline class="series" data-condition="{html.escape(name)}" '
                         f'points="{path}" fill="none" stroke="{color}" stroke-width="2.5" '
                         f'stroke-dasharray="{dash}"/>')
            for px, py in points:
                parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{color}"/>')
        # Every condition gets its legend entry, also one whose sessions all failed (no line).
        ly = top + 14 + index * 18
        parts.append(f'<rect x="{left + pw + 14}" y="{ly - 9}" width="12" height="12" '
                     f'fill="{color}"/><text x="{left + pw + 32}" y="{ly + 1}" class="legend">'
                     f'{html.escape(name)}</text>')
        if not points:
            parts.append(f'<text x="{left + pw + 32}" y="{ly + 13}" class="tick">'
                         'no finished sessions</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_deltas(deltas: dict[str, dict[str, Any]]) -> str:
    if not deltas:
        return ""
    row_h = 28  # x axis: difference in percentage points
    label_w = max(150, 7 * max(len(n) for n in deltas) + 16)
    w = 410 + label_w
    h = row_h * len(deltas) + 40
    lo = min(-0.1, *(d["ci95"][0] for d in deltas.values())) - 0.05
    hi = max(0.1, *(d["ci95"][1] for d in deltas.values())) + 0.05

    def x(v: float) -> float:
        return label_w + (w - label_w - 20) * (v - lo) / (hi - lo)

    parts = [f'<svg class="chart" id="chart-deltas" viewBox="0 0 {w} {h}" width="{w}" '
             f'height="{h}" role="img" aria-label="Paired differences in success rate">',
             f'<line x1="{x(0):.1f}" y1="8" x2="{x(0):.1f}" y2="{h - 28}" stroke="#9ca3af" '
             'stroke-dasharray="4 3"/>']
    for i, (name, d) in enumerate(deltas.items()):
        cy = 20 + i * row_h
        a, b = d["ci95"]
        color = "#16a34a" if a > 0 else ("#dc2626" if b < 0 else "#6b7280")
        parts.append(f'<text x="{label_w - 8}" y="{cy + 4}" text-anchor="end" class="legend">'
                     f'{html.escape(name)}</text>')
        parts.append(f'<line class="ci" x1="{x(a):.1f}" y1="{cy}" x2="{x(b):.1f}" y2="{cy}" '
                     f'stroke="{color}" stroke-width="3"/>')
        parts.append(f'<circle cx="{x(d["delta"]):.1f}" cy="{cy}" r="5" fill="{color}"/>')
    span = hi - lo
    step = next(s for s in (0.05, 0.1, 0.25, 0.5, 1.0) if span / s <= 8)
    tick = step * -(-lo // step)  # first multiple of step at or above lo
    while tick <= hi + 1e-9:
        tick = 0.0 if abs(tick) < 1e-9 else tick
        parts.append(f'<line x1="{x(tick):.1f}" y1="{h - 28}" x2="{x(tick):.1f}" y2="{h - 24}" '
                     'stroke="#9ca3af"/>')
        parts.append(f'<text x="{x(tick):.1f}" y="{h - 10}" text-anchor="middle" class="tick">'
                     f'{tick * 100:+.0f}</text>')
        tick += step
    parts.append("</svg>")
    return "".join(parts)


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.1f}%"


def _outcome(s: SessionInfo) -> tuple[str, str]:
    if s.status == "error":
        return "error", "err"
    if s.status != "done":
        return s.status, "run"
    if s.solved:
        return f"✓ t{s.solved_at_turn}", "ok"
    return "✗", "no"


def _transcript_html(session: SessionInfo, problem: Problem | None, turns: list[Turn]) -> str:
    from sml_cli.records import VERDICT

    out = []
    for t in turns:
        label, category = t.describe()
        if category == "prompt":
            out.append(f'<details class="turn sys {"private" if not t.is_public else ""}">'
                       f"<summary>{label}{' · teacher only' if not t.is_public else ''}"
                       f"</summary><pre>{html.escape(t.content)}</pre></details>")
            continue
        cls = category.replace("-", " ")  # "verdict ok" / "verdict no": two CSS classes
        if not t.is_public:
            label = "teacher only · " + label
            cls += " private"
        body = _marked(t.content, t.leak_spans if t.leak else None)
        if t.kind == VERDICT:
            body = f"{html.escape(repr(t.attempt))} → {html.escape(t.content)}"
        if t.reasoning:
            body = (f'<details class="reasoning"><summary>reasoning (seen by no one)</summary>'
                    f"<pre>{html.escape(t.reasoning)}</pre></details>{body}")
        out.append(f'<div class="turn {cls}"><div class="label">{html.escape(label)}</div>'
                   f'<div class="body">{body}</div></div>')
    return "\n".join(out)


def _marked(text: str, spans: list[tuple[int, int]] | None) -> str:
    """`text`, escaped, with the flagged spans in <mark>; overlapping or out-of-range spans
    (hand-edited or imported rows) never repeat or lose text."""
    if not spans:
        return html.escape(text)
    out, pos = [], 0
    for start, end in sorted(spans):
        start, end = max(start, pos), min(end, len(text))
        if end <= start:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f'<mark class="leak">{html.escape(text[start:end])}</mark>')
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def render_html(data: RunData, store: Store, *, notes: Sequence[str] = ()) -> str:
    import jinja2

    result = data.result
    conditions = result["conditions"]
    names = ordered_conditions(conditions)
    by_problem: dict[str, dict[str, list[SessionInfo]]] = defaultdict(lambda: defaultdict(list))
    for s in data.sessions:
        by_problem[s.problem_key][s.condition].append(s)
    problem_rows = []
    for key, cells in sorted(by_problem.items(),
                             key=lambda kv: _natural(data.problems[kv[0]].id)):
        problem_rows.append({
            "id": data.problems[key].id,
            "question": data.problems[key].question,
            "cells": [[(s.id, *_outcome(s)) for s in sorted(cells.get(c, []),
                                                              key=lambda s: s.sample)]
                      for c in names],
        })
    transcripts = [
        {"session": s, "problem": data.problems.get(s.problem_key),
         "html": _transcript_html(s, data.problems.get(s.problem_key), store.turns(s.id)),
         "outcome": _outcome(s)}
        for s in sorted(data.sessions, key=lambda s: (_natural(s.problem_id),
                                                      names.index(s.condition), s.sample))
    ]
    template = _environment().get_template("report.html.j2")
    return template.render(
        result=result, names=names, conditions=conditions, pct=_pct,
        chart_success=jinja2.utils.markupsafe.Markup(
            _svg_success_by_turn(conditions, data.max_turns)),
        chart_deltas=jinja2.utils.markupsafe.Markup(_svg_deltas(result["deltas"])),
        problem_rows=problem_rows, transcripts=transcripts, version=__version__,
        run=data.run, max_turns=data.max_turns,
        read_with=flags_text(result["config"].get("mapping") or {}), notes=notes,
    )


def _flips(comparison: dict[str, Any], store: Store) -> dict[tuple[str, str], list[dict]]:
    """(condition, "A vs B") → the problems one run solved more often than the other, each
    with its question and reference and, per run, its sessions' transcripts: where a
    difference between runs comes from, to read side by side."""
    run_ids = list(comparison["runs"])
    by_cell: dict[tuple[str, str, str], list[SessionInfo]] = defaultdict(list)
    for run_id in run_ids:
        for s in store.sessions("run_id = ?", [run_id]):
            if s.status == "done" and s.solved is not None:
                by_cell[(run_id, s.condition, s.problem_id)].append(s)
    problems: dict[str, Problem] = {}

    def side_by_side(condition: str, problem_id: str, pair: tuple[str, str]) -> dict | None:
        """Both runs' sessions of one problem, paired by content (the problem both ran)."""
        cells = [(run_id, by_cell[(run_id, condition, problem_id)]) for run_id in pair]
        keys = set.intersection(*({x.problem_key for x in cell} for _, cell in cells))
        if not keys:
            return None
        key = min(keys)
        if key not in problems:
            problems[key] = store.problem(key)
        return {"id": problem_id, "problem": problems[key], "runs": [
            (run_id, [{"session": x, "outcome": _outcome(x),
                       "html": _transcript_html(x, problems[key], store.turns(x.id))}
                      for x in sorted(cell, key=lambda x: x.sample) if x.problem_key == key])
            for run_id, cell in cells]}

    flips: dict[tuple[str, str], list[dict]] = {}
    anchors = itertools.count()
    for condition, pairs in comparison["deltas"].items():
        for pair in itertools.combinations(run_ids, 2):
            d = pairs.get(f"{pair[0]} vs {pair[1]}")
            if d is None:
                continue
            rows = []
            for better, ids in (("1st", d["better_in_a"]), ("2nd", d["better_in_b"])):
                for problem_id in ids:
                    row = side_by_side(condition, problem_id, pair)
                    if row is not None:  # (an anchor for the links from the problem lists)
                        rows.append({**row, "better": better, "anchor": f"f-{next(anchors)}"})
            flips[(condition, f"{pair[0]} vs {pair[1]}")] = rows
    return flips


def render_comparison_html(comparison: dict[str, Any], store: Store) -> str:
    """`sml report A B --html`: the runs' scores side by side, success by turn with one line
    per condition and run, the paired differences between runs, and the transcripts of the
    problems where the runs differ, side by side."""
    import jinja2

    runs = comparison["runs"]
    conditions = ordered_conditions({c for r in runs.values() for c in r["conditions"]})
    series = {f"{condition} · {run_id}": run["conditions"][condition]
              for condition in conditions for run_id, run in runs.items()
              if condition in run["conditions"]}
    max_turns = max((len(s["success_at_turn"]) for s in series.values()), default=1)
    pairs = {f"{condition}: {pair}": d for condition, by_pair in comparison["deltas"].items()
             for pair, d in by_pair.items()}
    return _environment().get_template("compare.html.j2").render(
        runs=runs, conditions=conditions, deltas=comparison["deltas"], pct=_pct,
        chart_success=jinja2.utils.markupsafe.Markup(
            _svg_success_by_turn(series, max(1, max_turns))),
        chart_deltas=jinja2.utils.markupsafe.Markup(_svg_deltas(pairs)),
        flips=_flips(comparison, store), version=__version__,
    )


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )


def _natural(text: str) -> tuple:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def write_html(data: RunData, store: Store, path: str, *, notes: Sequence[str] = ()) -> Path:
    return write_page(render_html(data, store, notes=notes), path)


def write_page(page: str, path: str) -> Path:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise SmlError(f"--html {path}: cannot write ({exc.strerror})") from None
    return target
