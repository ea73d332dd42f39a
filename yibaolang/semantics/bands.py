"""分段累进 and 分档: the pieces of a band, their (low, high] rule, the guards of a step row.

A band of 分段累进 pays `rate` on the part of x inside (low, high]; a band with
no lower edge starts at 0, one with no upper edge is open.  The part is
clamp(x, low, high) − low, which is 0 for x ≤ low and high − low for x ≥ high.
Money is rounded per band, to the policy's 舍入, before the bands are summed
(docs/language.md, 分段累进).  A band whose bounds come from inputs or
parameters can invert (low above high); that is an evaluation error (YB422)
in every engine, never a silent 0.

A step row of 分档 matches by the boundary words the front end read into each
`ir.Bound.inclusive`: 以上 / （含） / 以内 / 届满 include the edge, 超过 / 不满 /
以外 exclude it (docs/language.md, 分档).

>>> from decimal import Decimal as D
>>> from yibaolang.semantics.ops import DECIMAL
>>> bands = [(D(20000), D(100000), D("0.5")), (D(100000), None, D("0.6"))]
>>> total(DECIMAL, D(150000), bands, 2)
Decimal('70000.00')
>>> piece(DECIMAL, D(10000), D(20000), D(100000))
Decimal('0')
>>> inverted(DECIMAL, D(200000), D(100000)), inverted(DECIMAL, D(1), None)
(True, False)
>>> [op.name for op, _ in STEP_GUARDS[ir.StepKind.BETWEEN]]
['GE', 'LE']
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, assert_never

import attrs

from yibaolang import ir
from yibaolang.diagnostics import Diagnostic, error
from yibaolang.ir.types import Type
from yibaolang.semantics.ops import B, Ops, V

INVERTED_BAND = "YB422"
_ZERO = Decimal(0)

Side = Literal["low", "high"]


def piece(ops: Ops[V, B], x: V, low: V, high: V | None) -> V:
    """The part of x inside (low, high]: clamp(x, low, high) − low (requires low ≤ high)."""
    return ops.sub(ops.clamp(x, low, high), low)


def band_amount(ops: Ops[V, B], x: V, low: V, high: V | None, rate: V, places: int | None) -> V:
    """What one band pays: its piece × rate, rounded to `places` (money) or exact (None)."""
    return ops.round(ops.mul(piece(ops, x, low, high), rate), places)


def total(ops: Ops[V, B], x: V, bands: Sequence[tuple[V, V | None, V]], places: int | None) -> V:
    """分段累进 x: the sum of what each (low, high, rate) band pays."""
    result = ops.zero()
    for low, high, rate in bands:
        result = ops.add(result, band_amount(ops, x, low, high, rate, places))
    return result


def decimal_total(x: Decimal, bands: Sequence[tuple[Decimal, Decimal | None, Decimal]], unit: Decimal) -> Decimal:
    """`total` over Decimal with money rounded to the quantum `unit`, unrolled for the interpreter's hot path.

    The same rule as `total(DECIMAL, …)` — a test holds the two equal on every
    input — written without the indirection of `Ops`, which costs the
    interpreter a third of its speed on a banded figure.
    """
    result = _ZERO
    for low, high, rate in bands:
        if x > low:
            top = x if high is None or x < high else high
            result += ((top - low) * rate).quantize(unit, ROUND_HALF_UP)
    return result


def inverted(ops: Ops[V, B], low: V, high: V | None) -> B:
    """Whether a band's lower edge lies above its upper edge (an open band never inverts: low > low)."""
    return ops.compare(ir.CompareOp.GT, low, low if high is None else high)


@attrs.frozen(slots=True)
class BandEdges:
    """A band's edges as written: the lower edge expression (None: 0) and the upper (None: open)."""

    index: int
    band: ir.Band
    lower: ir.Expr | None
    upper: ir.Expr | None

    @property
    def may_invert(self) -> bool:
        """Both edges written and at least one not a literal: only then can they cross at run time."""
        return (self.lower is not None and self.upper is not None
                and not (isinstance(self.lower, ir.Literal) and isinstance(self.upper, ir.Literal)))


def edges(banded: ir.Banded) -> list[BandEdges]:
    """The edges of every band, for an engine or the search checking inversion."""
    return [BandEdges(i, band, band.lower.value if band.lower is not None else None,
                      band.upper.value if band.upper is not None else None)
            for i, band in enumerate(banded.bands)]


def inverted_band(banded: ir.Banded, index: int, figure: str | None, clause: str | None, type_: Type,
                  low: Any, high: Any) -> Diagnostic:
    """YB422: band `index` of `banded` has its lower edge `low` above its upper edge `high`."""
    from yibaolang.semantics.values import display

    band = banded.bands[index]
    where = f"{figure} 的 " if figure else ""
    return error(
        INVERTED_BAND, band.span,
        f"分段颠倒：{where}分段累进 第{index + 1}段「{band_label(band)}」的起点 {display(type_, low)} "
        f"高于终点 {display(type_, high)}",
        "分段的界限来自输入或参数时，要保证起点不高于终点；请检查这些输入，或用 取较小 / 取较大 限定界限",
        clause=clause)


# ------------------------------------------------------------------ 分档

# Which comparisons a row of each kind makes, against which edge.  The
# inclusive flag of the edge decides ≥ or > (≤ or <); EXACT compares with =.
_Guard = tuple[ir.CompareOp, Side]
STEP_GUARDS: dict[ir.StepKind, tuple[_Guard, ...]] = {
    ir.StepKind.EXACT: ((ir.CompareOp.EQ, "low"),),
    ir.StepKind.AT_LEAST: ((ir.CompareOp.GE, "low"),),
    ir.StepKind.ABOVE: ((ir.CompareOp.GT, "low"),),
    ir.StepKind.AT_MOST: ((ir.CompareOp.LE, "high"),),
    ir.StepKind.BELOW: ((ir.CompareOp.LT, "high"),),
    ir.StepKind.BETWEEN: ((ir.CompareOp.GE, "low"), (ir.CompareOp.LE, "high")),
}


def step_guards(step: ir.Step) -> list[tuple[ir.CompareOp, Side]]:
    """The comparisons `x op edge` that must all hold for `step` to match, from its edges' inclusiveness."""
    if step.kind is ir.StepKind.EXACT:
        return [(ir.CompareOp.EQ, "low")]
    out: list[tuple[ir.CompareOp, Side]] = []
    for _written, side in STEP_GUARDS[step.kind]:
        bound = step.low if side == "low" else step.high
        assert bound is not None
        if side == "low":
            out.append((ir.CompareOp.GE if bound.inclusive else ir.CompareOp.GT, side))
        else:
            out.append((ir.CompareOp.LE if bound.inclusive else ir.CompareOp.LT, side))
    return out


def step_matches(ops: Ops[V, B], step: ir.Step, x: V, low: V | None, high: V | None) -> B:
    """Whether x falls in `step`, given the values of its edges."""
    conditions = []
    for op, side in step_guards(step):
        edge = low if side == "low" else high
        assert edge is not None
        conditions.append(ops.compare(op, x, edge))
    return conditions[0] if len(conditions) == 1 else ops.all_of(conditions)


# ------------------------------------------------------------------ labels


def bound_text(bound: ir.Bound) -> str:
    from yibaolang.ir.printer import expr_text

    return expr_text(bound.value, as_written=True) + ("（含）" if bound.marked else "")


def band_label(band: ir.Band) -> str:
    """How a band reads: 2万元 至 10万元（含）, 超过 20万元, 5万元 以下."""
    if band.lower is None and band.upper is not None:
        return f"{bound_text(band.upper)} 以下"
    if band.upper is None and band.lower is not None:
        return f"{bound_text(band.lower)} 以上" if band.lower.inclusive else f"超过 {bound_text(band.lower)}"
    assert band.lower is not None and band.upper is not None
    return f"{bound_text(band.lower)} 至 {bound_text(band.upper)}"


def step_label(step: ir.Step) -> str:
    """How a step row reads: 1万元 以上, 不满 3年, 2 至 5."""
    low = bound_text(step.low) if step.low is not None else ""
    high = bound_text(step.high) if step.high is not None else ""
    match step.kind:
        case ir.StepKind.EXACT:
            return low
        case ir.StepKind.AT_LEAST:
            return f"{low} 以上"
        case ir.StepKind.ABOVE:
            return f"超过 {low}"
        case ir.StepKind.AT_MOST:
            return f"{high} 以下"
        case ir.StepKind.BELOW:
            return f"不满 {high}"
        case ir.StepKind.BETWEEN:
            return f"{low} 至 {high}"
        case _:
            assert_never(step.kind)


__all__ = [
    "INVERTED_BAND", "STEP_GUARDS", "BandEdges", "band_amount", "band_label", "bound_text", "edges", "inverted",
    "inverted_band", "piece", "step_guards", "step_label", "step_matches", "total",
]
