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

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.ir.printer import expr_text
from yibaolang.ir.types import MONEY, RATIO, Type
from yibaolang.ir.walk import walk
from yibaolang.semantics.values import display, is_zero, plain

_ZERO = Decimal(0)


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


@attrs.frozen(slots=True)
class CatalogUse:
    """One 查目录: which row of which file decided a value (docs/itemized.md §3, §7).

    `row` is the row number as a spreadsheet shows it (CSV: the header is row 1); None when no row
    of the key is valid on the date.  `missing` says the 查无 value was used (no row, or an empty cell).
    """

    catalog: str
    file: str
    column: str
    key: str
    date: dt.date | None
    row: int | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    label: str
    missing: bool

    @property
    def where(self) -> str:
        """目录 医保目录（医保目录.csv 第 5 行，自 2024-07-01 起）, or what was not found."""
        if self.row is None:
            on = f"于 {self.date.isoformat()} " if self.date is not None else ""
            return f"{self.catalog}（{self.file}）没有 {on}有效的 {self.key}"
        period = ""
        if self.valid_from is not None and self.valid_to is not None:
            period = f"，{self.valid_from.isoformat()} 至 {self.valid_to.isoformat()}（不含）"
        elif self.valid_from is not None:
            period = f"，自 {self.valid_from.isoformat()} 起"
        elif self.valid_to is not None:
            period = f"，{self.valid_to.isoformat()} 之前"
        return f"{self.catalog} 第 {self.row} 行（{self.file}{period}）：{self.label}"


@attrs.define(eq=False, slots=True)
class LineTrace:
    """One line of a list input in an explanation: its fields, its per-line figures, the catalog rows read."""

    number: int
    fields: list[tuple[str, Type, Any]]
    figures: list[TraceNode]
    rows: list[CatalogUse]
    group: str | None = None


@attrs.define(eq=False, slots=True)
class ListTrace:
    """The lines of one list input, grouped by its first per-line figure of an option type (docs/itemized.md §7)."""

    name: str
    group_by: str | None
    lines: list[LineTrace]
    # The 断言 that reconcile the list's totals (总费用 = 全自费金额 + …), each with its values and whether it holds.
    reconciled: list[tuple[str, bool]] = attrs.Factory(list)

    def groups(self) -> list[tuple[str | None, list[LineTrace]]]:
        """The lines by group, groups in the order of the option's values as they first appear."""
        out: dict[str | None, list[LineTrace]] = {}
        for line in self.lines:
            out.setdefault(line.group, []).append(line)
        return list(out.items())


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
        self.rows: list[CatalogUse] = []  # every 查目录 made (a line's tracer: that line's)

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

    # -------------------------------------------------------------- what the engine records, said in words
    # The interpreter reports facts (values, the branch taken, band pieces, the exception that
    # fired, the parameter version); the sentences of the explanation are written here.

    def bound_input(self, where: str) -> None:
        self.note(f"由 引用 \"{where}\" 的 代入 给出")

    def default_used(self, type_: Type, value: Any) -> None:
        self.note(f"案例未给出，取默认值 {display(type_, value)}")

    def version(self, value: ir.Expr, start: dt.date | None, date: dt.date | None = None, source: str = "",
                first: dt.date | None = None) -> None:
        """A parameter's value came from `value`: undated, 此前 (before `first`), or the version from `start`."""
        text = unparse(value)
        if date is None:
            self.current.formula = text
            return
        shown = f"（{source}）" if source else ""
        if start is None:
            assert first is not None
            self.current.formula = f"此前 {text}"
            self.note(f"计算日期 {date.isoformat()}{shown} 早于 {first.isoformat()}，选用 此前 的取值")
            return
        self.current.formula = f"自 {start.isoformat()} 起 {text}"
        self.note(f"按计算日期 {date.isoformat()}{shown} 选用 自 {start.isoformat()} 起 的版本")

    def exception_not_applied(self, rule: ir.ExceptionRule) -> None:
        cite = f"（条款 {rule.clause}）" if rule.clause else ""
        shown = unparse(rule.condition, self.current.values)
        self.note(f"例外{cite}不适用：{unparse(rule.condition)} 不成立（{shown}）")

    def exception_applied(self, rule: ir.ExceptionRule, clause: ClauseRef | None, value: Any, type_: Type,
                          base: str, base_clause: str | None, others: list[ir.ExceptionRule]) -> None:
        """`rule` gave the figure `value` in place of its base rule `base`; `others` held too but lost."""
        building = self.current
        cite = f"条款 {clause.id}" if clause is not None else "例外"
        base_cite = f"（条款 {base_clause}）" if base_clause else ""
        node = TraceNode(
            f"例外（{cite}）", "exception", type_, value, display(type_, value),
            formula=f"当 {unparse(rule.condition, building.values)} 时 = {unparse(rule.value, building.values)}",
            expression=f"当 {unparse(rule.condition)} 时 = {unparse(rule.value)}",
            clause=clause, source=SourceRef(rule.span.file, rule.span.line),
        )
        node.notes.append(f"替代了基本规则：{base}{base_cite}")
        for other in others:
            node.notes.append(f"优先于 条款 {other.clause} 的例外（该例外同样成立）")
        building.formula = f"{unparse(rule.value, building.values)}（{cite} 的例外）"
        self.note(f"适用例外（{cite}）：{unparse(rule.condition)}，替代了基本规则{base_cite}")
        self.detail(node)

    def catalog_row(self, use: CatalogUse, key_text: str, type_: Type, value: Any) -> None:
        """A 查目录 gave `value` from the row `use` names (or its 查无 value)."""
        if use not in self.rows:
            self.rows.append(use)
        if use.row is None:
            self.note(f"{use.where}（{key_text} 为 {use.key}），取 查无 的值 {display(type_, value)}")
        elif use.missing:
            self.note(f"{use.where}：{use.column} 为空，取 查无 的值 {display(type_, value)}")
        else:
            self.note(f"{use.where}：{use.column} = {display(type_, value)}")

    def aggregated(self, text: str, over: str, numbers: list[int], values: list[Any] | None, type_: Type,
                   total: int, picked: int | None = None) -> None:
        """An aggregation `text` over `over` took the lines `numbers` (of `total`), with these `values`."""
        if not numbers:
            self.note(f"{text}：{over} 共 {total} 行，没有计入的行")
            return
        which = _line_numbers(numbers)
        share = f"{over} 共 {total} 行，" if len(numbers) != total else ""
        if values is None:
            self.note(f"{text}：{share}计入第 {which} 行")
            return
        if picked is not None:
            self.note(f"{text}：{share}比较第 {which} 行，取第 {numbers[picked]} 行的 {display(type_, values[picked])}")
            return
        fed = [(n, v) for n, v in zip(numbers, values, strict=True) if not is_zero(v)]
        if not fed:
            self.note(f"{text}：{share}计入第 {which} 行，各行都是 {display(type_, values[0] * 0)}")
            return
        shown = [f"第 {n} 行 {display(type_, v)}" for n, v in fed[:_SHOWN_LINES]]
        if len(fed) > _SHOWN_LINES:
            shown.append(f"…（共 {len(fed)} 行不为零）")
        zeros = len(numbers) - len(fed)
        rest = f"；其余 {zeros} 行为 {display(type_, values[0] * 0)}" if zeros else ""
        self.note(f"{text}：{share}计入第 {which} 行：{' + '.join(shown)}{rest}")

    def rounded(self, unit: str, raw: Any, value: Any, expr: ir.Expr | None = None) -> None:
        """Money produced by × or ÷ (`expr`) rounded to the policy's unit, or a 四舍五入(…) (no `expr`)."""
        if expr is not None:
            self.note(f"四舍五入到{unit}：{plain(raw)}元 → {display(MONEY, value)}（{unparse(expr)}）")
        else:
            self.note(f"四舍五入到{unit}：{plain(raw)} → {plain(value)}")

    def branch(self, e: ir.If, index: int, holds: bool, failed: list[str], text: str) -> None:
        """Branch `index` of 如果 (its condition reads `text`) was tried; `failed` gathers why earlier ones were not."""
        shown = unparse(e.branches[index].condition, self.current.values)
        word = "如果" if index == 0 else "否则如果"
        if holds:
            self.choose(e, index)
            self.note(f"{word} {text}：成立（{shown}）")
            self.reason(f"{text} 成立（{shown}）" if index == 0 else "；".join(failed))
            return
        failed.append(f"{text} 不成立（{shown}）")
        self.note(f"{word} {text}：不成立（{shown}），不取这一支")

    def otherwise(self, e: ir.If, failed: list[str]) -> None:
        self.choose(e, len(e.branches))
        self.reason("；".join(failed))

    def bound_applied(self, e: ir.Bounded, type_: Type, value: Any, limit: Any) -> None:
        """封顶 or 保底 `limit` replaced `value`."""
        shown, word = display(type_, value), e.kind.value
        if e.kind is ir.BoundKind.CAP:
            self.note(f"{word} {display(type_, limit)} 起作用：{unparse(e.value)} 为 {shown}，超过上限")
        else:
            self.note(f"{word} {display(type_, limit)} 起作用：{unparse(e.value)} 为 {shown}，低于下限")
            self.reason(f"{unparse(e.value)} 为 {shown}，不足 {display(type_, limit)}")

    def larger_taken(self, first: ir.Expr, type_: Type, value: Any, larger: Any) -> None:
        self.reason(f"{unparse(first)} 为 {display(type_, value)}，取较大值 {display(type_, larger)}")

    def band(self, index: int, band: ir.Band, label: str, type_: Type, subject: str, x: Any, low: Any,
             top: Any, rate: Any, raw: Any, amount: Any, unit: str) -> None:
        """Band `index` of 分段累进 counted top − low of x (x ≤ low: nothing) at `rate`: raw, rounded to amount."""
        node = TraceNode(f"第{index + 1}段 {label}", "band", type_, amount, display(type_, amount),
                         source=SourceRef(band.span.file, band.span.line))
        rate_text = display(RATIO, rate)
        if x > low:
            if low == 0:
                node.formula = f"{display(type_, top)} × {rate_text}"
            else:
                node.formula = f"({display(type_, top)} - {display(type_, low)}) × {rate_text}"
            node.notes.append(f"本段计入 {display(type_, top - low)}，按 {rate_text}")
            if raw != amount:
                node.notes.append(f"四舍五入到{unit}：{plain(raw)}元 → {display(type_, amount)}")
        else:
            node.formula = f"{display(type_, _ZERO)} × {rate_text}"
            node.notes.append(f"不适用：{subject} 为 {display(type_, x)}，未超过本段起点 {display(type_, low)}")
        self.detail(node)

    def below_bands(self, subject: str, type_: Type, x: Any, first_low: Any) -> None:
        self.reason(f"{subject} 为 {display(type_, x)}，未超过第一段的起点 {display(type_, first_low)}")

    def row(self, what: str, label: str, span: ir.Span, type_: Type, value: Any, note: str) -> None:
        """The row (分档 / 分情况) or cell (查表) `label` gave `value`."""
        kind = "cell" if what == "查表" else "row"
        self.detail(TraceNode(f"{what}「{label}」", kind, type_, value, display(type_, value),
                              source=SourceRef(span.file, span.line), notes=[note]))

    def step_row(self, step: ir.Step, label: str, type_: Type, value: Any, subject: str, subject_type: Type,
                 x: Any) -> None:
        self.row("分档", label, step.span, type_, value,
                 f"{subject} 为 {display(subject_type, x)}，落在「{label}」这一档")

    def no_step(self, subject: str, subject_type: Type, x: Any) -> None:
        shown = f"{subject} 为 {display(subject_type, x)}"
        self.note(f"{shown}，不在任何一档，取 其余")
        self.reason(f"{shown}，不在任何一档")

    def case_row(self, row: ir.CaseRow, type_: Type, value: Any, subject: str, x: Any) -> None:
        self.row("分情况", "、".join(row.values), row.span, type_, value, f"{subject} 为 {x}")

    def no_case_row(self, subject: str, x: Any) -> None:
        self.note(f"{subject} 为 {x}，没有单列的一行，取 其余")
        self.reason(f"{subject} 为 {x}，取 其余")

    def cell(self, key_texts: list[str], row: ir.TableRow, column: str | None, keys: tuple[Any, ...], type_: Type,
             value: Any) -> None:
        """查表 gave `value` from `row` (and `column`) for the keys (written `key_texts`) valued `keys`."""
        where = "，".join(f"{t} 为 {v}" for t, v in zip(key_texts, keys, strict=True))
        label = f"{row.key} × {column}" if column is not None else row.key
        self.row("查表", label, row.span, type_, value, f"{where}：第 {row.span.line} 行的这一格")


_SHOWN_LINES = 12  # the values an aggregation's note lists before it says how many there are


def _line_numbers(numbers: list[int]) -> str:
    """1、2、3、5 → "1–3、5": runs of consecutive line numbers joined.

    >>> _line_numbers([1, 2, 3, 5, 7, 8])
    '1–3、5、7、8'
    """
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        if prev - start >= 2:
            parts.append(f"{start}–{prev}")
        else:
            parts.extend(str(k) for k in range(start, prev + 1))
        if n is not None:
            start = prev = n
    return "、".join(parts)


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
    return (opening.strip() or _cut(flat, limit)) + "…"


def _cut(flat: str, limit: int) -> str:
    """`flat` shortened to about `limit` characters at a comma, never inside a number ("…分别报销5…").

    >>> _cut("分别报销50%、60%", 5)
    '分别报销'
    >>> _cut("分别报销2.5万元以上", 7)
    '分别报销'
    >>> _cut("之间分别报销50%，60%、70%。", 10)
    '之间分别报销50%，'
    """
    head = flat[:limit]
    comma = max(head.rfind(c) for c in "，,、；;")
    if comma >= limit // 2:
        return head[: comma + 1]
    cut = limit
    while cut > 0 and re.match(r"[\d.%％万亿元个倍年月日]", flat[cut:cut + 1]) and re.match(r"[\d.]", flat[cut - 1]):
        cut -= 1
    while cut > 0 and re.match(r"[\d.]", flat[cut - 1]) and cut < len(flat) and flat[cut].isdigit():
        cut -= 1
    return flat[:cut].rstrip()


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
