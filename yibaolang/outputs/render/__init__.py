"""Renderers of one explanation: terminal tree, JSON, Markdown and a printable HTML page.

Each renderer reads the same `Explanation` (the evaluated case and its
trace); none computes anything.  `explanation(...)` assembles it from an
Outcome, `what_if(...)` compares two Outcomes of the same policy.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from yibaolang.checks.resolve import Program
from yibaolang.diagnostics import Diagnostic
from yibaolang.engines.outcome import Outcome
from yibaolang.engines.trace import CatalogUse, LineTrace, ListTrace, TraceNode
from yibaolang.ir.types import Kind, Type
from yibaolang.semantics.levels import local_name
from yibaolang.semantics.values import display, display_delta

FORMATS = ("text", "json", "markdown", "html")

KIND_LABELS = {
    "input": "输入",
    "parameter": "参数",
    "function": "函数",
    "band": "分段",
    "cell": "表格",
    "row": "档次",
    "exception": "例外",
    "assertion": "断言",
}


@attrs.frozen(slots=True)
class Change:
    """A figure whose value differs between the case and the what-if case."""

    name: str
    kind: str
    type: Type
    before: Any
    after: Any

    @property
    def before_display(self) -> str:
        return display(self.type, self.before) if self.before is not None else "—"

    @property
    def after_display(self) -> str:
        return display(self.type, self.after) if self.after is not None else "—"

    @property
    def delta_display(self) -> str | None:
        return display_delta(self.type, self.before, self.after)


@attrs.define
class WhatIf:
    assignments: list[tuple[str, Type, Any, Any]]  # input, type, value in the case, value assumed
    changes: list[Change]


@attrs.define
class Explanation:
    policy: str
    title: str | None
    doc_number: str | None
    date: dt.date | None
    date_source: str
    inputs: dict[str, tuple[Type, Any]]
    outputs: list[TraceNode]
    assertions: list[TraceNode]
    diagnostics: list[Diagnostic]
    skipped: list[str] = attrs.Factory(list)
    failed: list[str] = attrs.Factory(list)  # outputs asked for that could not be computed
    what_if: WhatIf | None = None
    # Charts to draw under figures (figure name → chart data), computed before rendering
    # (`yibaolang.analysis.function.band_charts`); the HTML page draws them, the other formats ignore them.
    charts: dict[str, Any] = attrs.Factory(dict)
    # The lines of each list input, grouped (docs/itemized.md §7).
    lines: list[ListTrace] = attrs.Factory(list)


@attrs.frozen(slots=True)
class LineColumn:
    """A per-line figure shown for every line of a list: its name without the list, its clause."""

    name: str
    figure: str
    clause: str | None


def line_columns(lt: ListTrace) -> list[LineColumn]:
    """The per-line figures every format shows for the lines of `lt`: the group and the amounts, in order."""
    out: dict[str, LineColumn] = {}
    for line in lt.lines:
        for node in line.figures:
            shown = node.name == lt.group_by or (node.type is not None and node.type.kind is Kind.MONEY)
            if shown and node.name not in out:
                clause = node.clause.id if node.clause is not None else None
                out[node.name] = LineColumn(local_name(node.name), node.name, clause)
    return list(out.values())


def line_figure(line: LineTrace, figure: str) -> TraceNode | None:
    return next((n for n in line.figures if n.name == figure), None)


def line_fields(line: LineTrace) -> str:
    """编码 = XB01，数量 = 2，单价 = 35.50元"""
    return "，".join(f"{name} = {display(t, v)}" for name, t, v in line.fields)


def row_text(use: CatalogUse) -> str:
    return use.where


def distinct_rows(line: LineTrace) -> list[CatalogUse]:
    """The catalog rows a line read, once each (several columns of one row are one row)."""
    seen: dict[tuple[str, int | None, str], CatalogUse] = {}
    for use in line.rows:
        seen.setdefault((use.catalog, use.row, use.key), use)
    return list(seen.values())


def group_title(lt: ListTrace, group: str | None, count: int) -> str:
    if lt.group_by is None:
        return f"共 {count} 行"
    return f"{group if group is not None else '未分类'}（{count} 行）"


def node_details(node: TraceNode, clauses: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """What every format shows under a figure, as (part, text): the formula as
    written ("expression"), with numbers ("formula"), the clause's 原文 once per
    explanation ("text", or "text-again" when already shown), and the notes
    ("na" for a 不适用 note, else "note")."""
    parts: list[tuple[str, str]] = []
    if node.expression and node.expression != node.formula:
        parts.append(("expression", node.expression))
    if node.formula:
        parts.append(("formula", node.formula))
    if node.clause is not None and node.clause.text:
        key = (node.clause.id, node.clause.text)
        if key in clauses:
            parts.append(("text-again", node.clause.id))
        else:
            clauses.add(key)
            parts.append(("text", node.clause.text))
    parts += [("na" if note.startswith("不适用") else "note", note) for note in node.notes]
    return parts


def explanation(program: Program, outcome: Outcome, what_if: WhatIf | None = None,
                charts: dict[str, Any] | None = None) -> Explanation:
    header = program.root.module.header
    return Explanation(
        policy=program.root.path,
        title=header.name if header is not None else None,
        doc_number=header.doc_number if header is not None else None,
        date=outcome.date,
        date_source=outcome.date_source,
        inputs=outcome.inputs,
        outputs=outcome.trace,
        assertions=outcome.assertions,
        diagnostics=outcome.diagnostics,
        skipped=outcome.skipped,
        failed=[out.name for out in outcome.outputs if not out.ok],
        what_if=what_if,
        charts=charts or {},
        lines=outcome.lines,
    )


def compare(base: Outcome, changed: Outcome, assignments: list[tuple[str, Type, Any, Any]]) -> WhatIf:
    """Which figures change, in the order the what-if explanation shows them."""
    order: list[tuple[str, str]] = []
    seen: set[str] = set()
    for root in [*changed.trace, *base.trace]:
        for node in root.walk():
            if node.kind in ("figure", "parameter", "input") and node.name not in seen:
                seen.add(node.name)
                order.append((node.name, node.kind))
    for name in [*changed.figures, *base.figures]:
        if name not in seen:
            seen.add(name)
            order.append((name, "figure"))
    changes = []
    for name, kind in order:
        before = base.figures.get(name)
        after = changed.figures.get(name)
        if before is None and after is None:
            continue
        pair = after if after is not None else before
        assert pair is not None
        type_ = pair[0]
        b = before[1] if before is not None else None
        a = after[1] if after is not None else None
        if b != a:
            changes.append(Change(name, kind, type_, b, a))
    return WhatIf(assignments, changes)


def render(exp: Explanation, fmt: str, color: bool = False, width: int = 100) -> str:
    if fmt == "json":
        from yibaolang.outputs.render.jsonfmt import render_json

        return render_json(exp)
    if fmt == "markdown":
        from yibaolang.outputs.render.markdown import render_markdown

        return render_markdown(exp)
    if fmt == "html":
        from yibaolang.outputs.render.html import render_html

        return render_html(exp)
    from yibaolang.outputs.render.text import render_text

    return render_text(exp, color=color, width=width)
