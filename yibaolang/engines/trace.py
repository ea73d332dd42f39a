"""The explanation trace: a tree of figures, built where each figure is computed.

The evaluator (`evaluate.py`) calls a `Tracer` only when tracing was asked
for: each figure opens a `Building`, records the values of the names it reads
and the choices it makes (branches, bands, table cells, exceptions,
roundings), and on completion becomes a `TraceNode` with its formula written
out twice — as the drafter wrote it and with the numbers substituted.  The
renderers (`yibaolang.outputs.render`) only read these nodes.

>>> from yibaolang.ir import Arith, ArithOp, Literal, LiteralKind, Name, Span
>>> from decimal import Decimal
>>> s = Span("a.ybl", 1, 1, 1, 2)
>>> e = Arith(ArithOp.MUL, Name("费用", None, s), Literal(LiteralKind.RATIO, Decimal("0.5"), "50%", s), s)
>>> unparse(e)
'费用 × 50%'
>>> from yibaolang.ir.types import MONEY
>>> unparse(e, {id(e.left): (Decimal("1000"), MONEY)})
'1,000.00元 × 50%'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.ir.printer import expr_text
from yibaolang.ir.types import Type
from yibaolang.ir.walk import walk
from yibaolang.semantics.values import display, is_zero


@attrs.frozen(slots=True)
class ClauseRef:
    id: str
    title: str | None
    text: str | None


@attrs.frozen(slots=True)
class SourceRef:
    file: str
    line: int


@attrs.define(eq=False, slots=True)
class TraceNode:
    """One figure (or a detail of one: a band, a table cell, an exception, an assertion)."""

    name: str
    kind: str  # figure | input | parameter | function | band | cell | row | exception | assertion
    type: Type | None
    value: Any = None
    display: str = ""
    formula: str | None = None
    expression: str | None = None
    clause: ClauseRef | None = None
    source: SourceRef | None = None
    children: list[TraceNode] = attrs.Factory(list)
    notes: list[str] = attrs.Factory(list)

    @property
    def type_name(self) -> str | None:
        return self.type.name if self.type is not None else None

    def walk(self) -> Any:
        yield self
        for child in self.children:
            yield from child.walk()


Recorded = Mapping[int, tuple[Any, Type]]


@attrs.define(eq=False, slots=True)
class Building:
    """A node under construction and what its evaluation has seen so far."""

    node: TraceNode
    expr: ir.Expr | None = None
    values: dict[int, tuple[Any, Type]] = attrs.Factory(dict)
    choices: dict[int, int] = attrs.Factory(dict)
    reasons: list[str] = attrs.Factory(list)
    seen: set[int] = attrs.Factory(set)
    formula: str | None = None


class Tracer:
    """Collects TraceNodes while the evaluator runs with tracing on."""

    def __init__(self) -> None:
        self.top = Building(TraceNode("", "root", None))
        self.stack: list[Building] = [self.top]
        self.done: dict[int, TraceNode] = {}

    @property
    def current(self) -> Building:
        return self.stack[-1]

    def reset_top(self) -> Building:
        self.top = Building(TraceNode("", "root", None))
        self.stack = [self.top]
        return self.top

    # -------------------------------------------------------------- figures

    def begin(self, node: TraceNode, expr: ir.Expr | None = None) -> Building:
        building = Building(node, expr)
        self.stack.append(building)
        return building

    def abandon(self, building: Building) -> None:
        while self.stack and self.stack[-1] is not building:
            self.stack.pop()
        if self.stack:
            self.stack.pop()

    def end(self, building: Building, value: Any, slot: int | None = None) -> TraceNode:
        """Finish a figure: its value, display, formula and 不适用 reason; attach it to its parent."""
        self.abandon(building)
        node = building.node
        node.value = value
        node.display = display(node.type, value) if node.type is not None else str(value)
        if building.formula is not None:
            node.formula = building.formula
        elif building.expr is not None:
            node.formula = unparse(building.expr, building.values, building.choices)
        if is_zero(value) or value is False:
            reason = building.reasons[0] if building.reasons else _child_reason(node)
            if reason and not any(n.startswith("不适用") for n in node.notes):
                node.notes.append(f"不适用：{reason}")
        if slot is not None:
            self.done[slot] = node
        self.attach(node)
        return node

    def attach(self, node: TraceNode) -> None:
        parent = self.current
        if id(node) not in parent.seen:
            parent.seen.add(id(node))
            parent.node.children.append(node)

    def reuse(self, slot: int) -> None:
        node = self.done.get(slot)
        if node is not None:
            self.attach(node)

    # -------------------------------------------------------------- details

    def record(self, expr: ir.Expr, value: Any, type_: Type) -> None:
        self.current.values[id(expr)] = (value, type_)

    def choose(self, expr: ir.Expr, index: int) -> None:
        self.current.choices[id(expr)] = index

    def note(self, text: str) -> None:
        notes = self.current.node.notes
        if text not in notes:
            notes.append(text)

    def reason(self, text: str) -> None:
        self.current.reasons.append(text)

    def detail(self, node: TraceNode) -> None:
        self.current.node.children.append(node)


def _child_reason(node: TraceNode) -> str | None:
    for child in node.children:
        if child.kind in ("figure", "parameter", "function") and (is_zero(child.value) or child.value is False):
            for note in child.notes:
                if note.startswith("不适用："):
                    return f"{child.name} 为 {child.display}（{note.removeprefix('不适用：')}）"
    return None


# ------------------------------------------------------------------ formulas

def unparse(expr: ir.Expr, values: Recorded | None = None, choices: Mapping[int, int] | None = None) -> str:
    """The expression as the drafter wrote it; with `values`, every name read shows its value instead.

    With `choices`, a 如果 shows only the branch that was taken.
    """
    substitute = None
    choose = None
    if values is not None:
        recorded = values

        def substitute(node: ir.Expr) -> str | None:
            found = recorded.get(id(node))
            return display(found[1], found[0]) if found is not None else None

        if choices:
            taken = choices

            def choose(node: ir.If) -> ir.Expr | None:
                index = taken.get(id(node))
                if index is None:
                    return None
                return node.otherwise if index >= len(node.branches) else node.branches[index].value

    return expr_text(expr, as_written=True, substitute=substitute, choose=choose)


# ------------------------------------------------------------------ clause excerpts

EXCERPT_LIMIT = 160
_SENTENCE = re.compile(r"[^。；;！？]+[。；;！？]?")
_NUMBER_IN_LITERAL = re.compile(r"\d+(?:\.\d+)?(?:%|万|亿|年|个月|日|天)?")


def excerpt(text: str | None, expr: ir.Expr | None = None, names: tuple[str, ...] = (),
            limit: int = EXCERPT_LIMIT) -> str | None:
    """The part of a clause's 原文 that bears on a figure.

    Short texts are kept whole; long ones keep the sentences that mention the
    numbers or the names the formula uses, else the opening.

    >>> excerpt("短文。")
    '短文。'
    >>> excerpt("甲" * 200 + "。乙按50%报销。", names=("乙",))
    '乙按50%报销。'
    """
    if text is None:
        return None
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    needles = _needles(expr) if expr is not None else set()
    needles.update(n for n in names if len(n) >= 2 or n in flat)
    if needles:
        picked = []
        for sentence in _SENTENCE.findall(flat):
            squeezed = sentence.replace(" ", "")
            if any(n in squeezed for n in needles):
                picked.append(sentence.strip())
        joined = "…".join(picked)
        if picked and len(joined) <= limit * 2:
            return joined
    opening = ""
    for sentence in _SENTENCE.findall(flat):
        if len(opening) + len(sentence) > limit:
            break
        opening += sentence
    return (opening.strip() or flat[:limit].rstrip()) + "…"


def _needles(expr: ir.Expr) -> set[str]:
    """Numbers written in the formula (2万, 50%) and the names it reads."""
    found: set[str] = set()
    for node in walk(expr):
        if isinstance(node, ir.Literal):
            text = node.text.replace("元", "")
            if node.kind is not ir.LiteralKind.BOOL and text not in ("0", "0%"):
                found.add(text)
        elif isinstance(node, ir.Name) and len(node.name) >= 3:
            found.add(node.name)
    return found
