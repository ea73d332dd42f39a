"""Bands and steps: overlaps, gaps, order, boundaries counted twice or never, a missing open top band.

分段累进 bands are (lower, upper]; a 分档 row matches a set of values.  Only
bounds that are constant (literals, undated parameters) are reasoned about.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, assert_never

from yibaolang import ir
from yibaolang.analysis.lint.context import LintContext, show
from yibaolang.diagnostics import Diagnostic, error, warning
from yibaolang.ir.walk import walk
from yibaolang.semantics import bands as band_rules

_OPEN_TOP = re.compile(
    r"(?:超过|高于)\s*(?P<amount>[\d.]+)\s*(?P<unit>[万亿]?)\s*元?\s*(?:以上)?的?部分|不设封顶线?"
)


def check(ctx: LintContext) -> Iterator[Diagnostic]:
    for definition in ctx.module.definitions:
        for node in walk(definition.expr):
            if isinstance(node, ir.Banded):
                yield from _bands(ctx, node, definition)
                if any(edge.may_invert for edge in band_rules.edges(node)):
                    yield from _inverted_on_a_case(ctx, node, definition)
            elif isinstance(node, ir.Stepped):
                yield from _steps(ctx, node, definition)


def _inverted_on_a_case(ctx: LintContext, banded: ir.Banded, definition: ir.Definition) -> Iterator[Diagnostic]:
    """YB507: bounds read from the case invert on a case the search finds (the evaluation fails with YB422)."""
    from yibaolang.analysis import search

    if definition.scope is not None:
        # A line figure's bands invert per line and a fund figure's once per run: the search builds
        # one claim without lines (search.Space.outside), so neither is searched.
        return
    space = search.space(ctx.program, ctx.config)
    name = ir.Name(definition.name, None, definition.span)
    relevant = search.depends_on(ctx.program, [(name, search.at_root(ctx.program))])
    spans = {band.span for band in banded.bands}
    for case in space.all_cases(relevant):
        outcome = space.run(case, [definition.name])
        found = next((d for d in outcome.diagnostics if d.code == band_rules.INVERTED_BAND and d.span in spans), None)
        if found is None:
            continue
        what = found.message.removeprefix("分段颠倒：")
        yield warning("YB507", found.span, f"分段可能颠倒（反例搜索）：{what}",
                      search.counterexample_hint("界限取自输入或参数时要保证起点不高于终点（计算时为错误 YB422）；"
                                                 "可用 取较小 / 取较大 限定界限",
                                                 space.case_yaml(case, space.needed_inputs([definition.name]))),
                      clause=definition.clause)
        return


def _value(ctx: LintContext, bound: ir.Bound | None) -> Decimal | None:
    if bound is None:
        return None
    value = ctx.const(bound.value)
    return Decimal(value) if isinstance(value, (Decimal, int)) and not isinstance(value, bool) else None


def _text(bound: ir.Bound | None) -> str:
    if bound is None:
        return ""
    from yibaolang.ir.printer import expr_text

    return expr_text(bound.value, as_written=True)


def _unit_of(steps: tuple[ir.Step, ...]) -> ir.LiteralKind | None:
    """The unit the 分档 rows are written in (from their first literal bound)."""
    for step in steps:
        for bound in (step.low, step.high):
            if bound is not None and isinstance(bound.value, ir.Literal):
                return bound.value.kind
    return None


def _shown(value: Any, kind: ir.LiteralKind | None) -> str:
    units = {ir.LiteralKind.YEARS: "年", ir.LiteralKind.MONTHS: "个月", ir.LiteralKind.DAYS: "日"}
    if kind in units:
        return f"{value}{units[kind]}"
    return show(value, kind)


def _bands(ctx: LintContext, node: ir.Banded, definition: ir.Definition) -> Iterator[Diagnostic]:
    clause = definition.clause
    previous: tuple[ir.Band, Decimal | None, Decimal | None] | None = None
    for band in node.bands:
        low = Decimal(0) if band.lower is None else _value(ctx, band.lower)
        high = _value(ctx, band.upper)
        if (band.lower is not None and low is None) or (band.upper is not None and high is None):
            return  # bounds that depend on the case: nothing to say statically
        if low is not None and high is not None and low >= high:
            yield error("YB503", band.span, f"分段的起点 {_text(band.lower) or '0'} 不低于终点 {_text(band.upper)}",
                        "每一段写作 起点 至 终点，起点小于终点", clause=clause)
            return
        if previous is not None:
            prev_band, _prev_low, prev_high = previous
            if prev_high is None:
                yield error("YB501", band.span, "上一段没有上限（开口段），后面不应再有分段",
                            "开口段（超过 X / X 以上）应是最后一段", clause=clause,
                            related=((prev_band.span, "开口段"),))
                return
            assert low is not None
            if low < prev_high:
                slip = _unit_slip(low, prev_high)
                if slip:
                    yield warning("YB513", band.span, f"分段起点 {_text(band.lower)} 小于上一段终点 {_text(prev_band.upper)}，"
                                  "像是单位写错了", slip, clause=clause)
                else:
                    yield error("YB501", band.span,
                                f"分段重叠：{_text(band.lower)} 至 {_text(prev_band.upper)} 同时属于两段",
                                "相邻两段应首尾相接：下一段的起点等于上一段的终点", clause=clause,
                                related=((prev_band.span, "与这一段重叠"),))
            elif low > prev_high:
                yield warning("YB502", band.span,
                              f"分段有空档：{_text(prev_band.upper)} 至 {_text(band.lower)} 之间的部分不在任何一段",
                              "若这部分确实不支付，可写一段 按 0% 说明；否则让两段首尾相接", clause=clause)
            elif band.lower is not None and band.lower.marked and prev_band.upper is not None:
                yield warning("YB504", band.span,
                              f"边界 {_text(band.lower)} 被计入两段：上一段写到 {_text(prev_band.upper)}（含），这一段又从它（含）开始",
                              "“X 至 Y”已包含终点 Y、不含起点 X；去掉这一段起点的（含）", clause=clause)
        previous = (band, low, high)
    if previous is not None and previous[0].upper is not None:
        yield from _open_top(ctx, node, definition, previous[0], previous[2])


def _unit_slip(low: Decimal, prev_high: Decimal) -> str:
    for factor, word in ((Decimal(10000), "万"), (Decimal(100000000), "亿")):
        if low * factor >= prev_high and low * factor < prev_high * 1000:
            return f"是否漏写了“{word}”？{low}元 × {factor} = {low * factor}元"
    return ""


def _open_top(ctx: LintContext, node: ir.Banded, definition: ir.Definition, top: ir.Band,
              top_value: Decimal | None) -> Iterator[Diagnostic]:
    clause = ctx.clause_of(definition.clause)
    if clause is None or not clause.text or top_value is None:
        return
    for match in _OPEN_TOP.finditer(clause.text.replace(" ", "")):
        amount = match.group("amount")
        if amount is None:
            mentioned = top_value
        else:
            try:
                mentioned = Decimal(amount) * {"": 1, "万": 10000, "亿": 100000000}[match.group("unit")]
            except ArithmeticError:
                continue
        if mentioned >= top_value:
            yield warning("YB505", top.span,
                          f"原文说“{match.group(0)}”，但最高一段到 {_text(top.upper)} 为止，超过的部分没有分段",
                          f"加一段 超过 {_text(top.upper)} 按 …%", clause=definition.clause)
            return


# ------------------------------------------------------------------ 分档


def _steps(ctx: LintContext, node: ir.Stepped, definition: ir.Definition) -> Iterator[Diagnostic]:
    clause = definition.clause
    intervals: list[tuple[ir.Step, Any]] = []
    for step in node.steps:
        interval = _step_interval(ctx, step)
        if interval is None:
            return
        intervals.append((step, interval))
    integral = all(_is_integral(ctx, step) for step in node.steps)
    for i, (step, (lo, lo_in, hi, hi_in)) in enumerate(intervals):
        for other, (lo2, lo2_in, hi2, hi2_in) in intervals[:i]:
            point = _overlap(lo, lo_in, hi, hi_in, lo2, lo2_in, hi2, hi2_in, integral)
            if point is not None:
                yield error("YB501", step.span, f"分档重叠：{_shown(point, _unit_of(node.steps))} 同时符合两行",
                            "每个取值只能落在一行；用 以上/以下/不满/超过 分清边界", clause=clause,
                            related=((other.span, "与这一行重叠"),))
    # Coverage from zero upward: a value that no row matches.
    hole = _first_hole([iv for _, iv in intervals], integral)
    if hole is not None and node.otherwise is None:
        yield error("YB506", node.span, f"分档没有覆盖 {_shown(hole, _unit_of(node.steps))}，也没有 其余 行：取这个值时无法计算",
                    "补上这一档，或加一行 其余 : 值", clause=clause)
    never = _boundary_never(intervals)
    if never is not None and node.otherwise is not None:
        yield warning("YB504", node.span, f"边界 {_shown(never, _unit_of(node.steps))} 不属于任何一档，只能落到 其余",
                      "“不满 X”不含 X，“超过 X”也不含 X；其中一边应写 以上/以下", clause=clause)


def _is_integral(ctx: LintContext, step: ir.Step) -> bool:
    for bound in (step.low, step.high):
        if bound is not None:
            value = ctx.const(bound.value)
            if not isinstance(value, int) or isinstance(value, bool):
                return False
    return True


def _step_interval(ctx: LintContext, step: ir.Step) -> tuple[Any, bool, Any, bool] | None:
    low = _value(ctx, step.low)
    high = _value(ctx, step.high)
    if (step.low is not None and low is None) or (step.high is not None and high is None):
        return None
    # The row's comparisons come from the one rule of the boundary words (semantics.bands.step_guards).
    lo: Any = None
    hi: Any = None
    lo_in = hi_in = False
    for op, _side in band_rules.step_guards(step):
        match op:
            case ir.CompareOp.EQ:
                return (low, True, low, True)
            case ir.CompareOp.GE | ir.CompareOp.GT:
                lo, lo_in = low, op is ir.CompareOp.GE
            case ir.CompareOp.LE | ir.CompareOp.LT:
                hi, hi_in = high, op is ir.CompareOp.LE
            case ir.CompareOp.NE:
                return None
            case _:
                assert_never(op)
    return (lo, lo_in, hi, hi_in)


def _overlap(lo: Any, lo_in: bool, hi: Any, hi_in: bool, lo2: Any, lo2_in: bool, hi2: Any, hi2_in: bool,
             integral: bool) -> Any:
    """A value in both intervals, or None.  None bounds are unbounded."""
    # Lower edge of the intersection.
    cands = []
    if lo is None and lo2 is None:
        start, start_in = None, False
    elif lo2 is None or (lo is not None and (lo > lo2 or (lo == lo2 and not lo_in))):
        start, start_in = lo, lo_in
    else:
        start, start_in = lo2, lo2_in
    if hi is None and hi2 is None:
        end, end_in = None, False
    elif hi2 is None or (hi is not None and (hi < hi2 or (hi == hi2 and not hi_in))):
        end, end_in = hi, hi_in
    else:
        end, end_in = hi2, hi2_in
    if start is None:
        start = Decimal(0)
        start_in = True
    cands.append(start if start_in else (start + 1 if integral else start + Decimal("0.01")))
    point = cands[0]
    if end is not None and (point > end or (point == end and not end_in)):
        return None
    if lo is not None and (point < lo or (point == lo and not lo_in)):
        return None
    if lo2 is not None and (point < lo2 or (point == lo2 and not lo2_in)):
        return None
    return point


def _covered(value: Decimal, iv: tuple[Any, bool, Any, bool]) -> bool:
    lo, lo_in, hi, hi_in = iv
    if lo is not None and (value < lo or (value == lo and not lo_in)):
        return False
    if hi is not None and (value > hi or (value == hi and not hi_in)):
        return False
    return True


def _first_hole(intervals: list[tuple[Any, bool, Any, bool]], integral: bool) -> Decimal | None:
    """The smallest value ≥ 0 that no interval covers (checked at every edge and just past it)."""
    points = {Decimal(0)}
    step = Decimal(1) if integral else Decimal("0.01")
    for lo, _, hi, _ in intervals:
        for edge in (lo, hi):
            if edge is not None and edge >= 0:
                points.update({Decimal(edge), Decimal(edge) + step})
                if edge - step >= 0:
                    points.add(Decimal(edge) - step)
    for value in sorted(points):
        if not any(_covered(value, iv) for iv in intervals):
            return value
    return None


def _boundary_never(intervals: list[tuple[ir.Step, tuple[Any, bool, Any, bool]]]) -> Decimal | None:
    ivs = [iv for _, iv in intervals]
    for lo, lo_in, _, _ in ivs:
        if lo is not None and not lo_in and not any(_covered(Decimal(lo), iv) for iv in ivs):
            if any(hi == lo and not hi_in for _, _, hi, hi_in in ivs):
                return Decimal(lo)
    return None
