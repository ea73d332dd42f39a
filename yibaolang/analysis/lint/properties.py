"""Assertions and universal properties, checked on the searched cases (search.py).

- YB580 (error): a case breaks a 断言 that reads a computed figure (a 定义).  An
  assertion that reads inputs and parameters only (`断言 基本医保参保率 达到 95%`)
  guards the data, not the rules: it is not searched, and a searched case that breaks it
  is not a valid case for the other properties either.
- YB581 (warning): a payment exceeds the expenses it is computed from.  A
  payment is a 金额 output whose name holds one of `payment-words` (支付, 报销…)
  and none of the words of a limit (最高支付标准 is a cap, not a payment); its
  expenses are the 金额 inputs it depends on whose names hold one of
  `expense-words` (费用, 负担…).
- YB582 (warning): a payment falls as one of its expenses rises (consecutive
  cases of a searched line differ in that expense only).

Each finding carries the counterexample as a ready-to-run case file.

Outside the search (docs/itemized.md): a fund-level 断言 (one that reads a 全体.
figure) is checked once per batch run, not on a single case, and is not searched;
an assertion or payment whose inputs the search cannot build (a 列表 input's
lines, a 文本 code, a 全体. input: `Space.outside`) is not searched either.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.analysis import search
from yibaolang.analysis.lint.context import LintContext
from yibaolang.analysis.search import SearchCase, Space
from yibaolang.checks.resolve import SymbolKind, lookup
from yibaolang.diagnostics import Diagnostic, error, warning
from yibaolang.ir.printer import expr_text
from yibaolang.ir.types import Kind
from yibaolang.semantics.levels import FUND, is_fund_level
from yibaolang.semantics.values import display

LIMIT_WORDS = ("最高", "最低", "限额", "标准", "上限", "下限", "封顶", "起付", "线", "额度", "比例", "基数")
_QUANTUM = {"分": Decimal("0.01"), "角": Decimal("0.1"), "元": Decimal(1)}


def check(ctx: LintContext) -> Iterator[Diagnostic]:
    space = search.space(ctx.program, ctx.config)
    guards = [a for a in ctx.module.assertions if input_only(ctx, a.condition)]
    yield from _assertions(ctx, space, guards)
    yield from _payments(ctx, space, guards)


def input_only(ctx: LintContext, condition: ir.Expr) -> bool:
    """True when an assertion reads inputs and parameters only: a guard on the case's data
    (`断言 年度赔付支出 不低于 年度筹集保费 × 最低赔付率`), not a property of the rules."""
    for _, symbol in ctx.reads(condition, FUND if is_fund_level(condition) else None):
        if symbol is not None and symbol.kind not in (SymbolKind.INPUT, SymbolKind.PARAM):
            return False
    return True


def broken_guard(outcome: Any, guards: list[ir.Assertion]) -> bool:
    spans = {g.span for g in guards}
    return any(d.code == "YB415" and d.span in spans for d in outcome.diagnostics)


def cite(clause: str | None) -> str:
    return f"条款 {clause}" if clause else "本政策"


# ------------------------------------------------------------------ YB580


def _assertions(ctx: LintContext, space: Space, guards: list[ir.Assertion]) -> Iterator[Diagnostic]:
    where = search.at_root(ctx.program)
    for assertion in ctx.module.assertions:
        if assertion in guards or searched_out(ctx, space, assertion) is not None:
            continue
        outputs = _figures_read(ctx, assertion.condition)
        if not outputs:
            continue
        relevant = search.depends_on(ctx.program, [(assertion.condition, where)])
        for case in space.all_cases(relevant):
            outcome = space.run(case, outputs)
            if broken_guard(outcome, guards):
                continue
            failure = next((d for d in outcome.diagnostics if d.code == "YB415" and d.span == assertion.span), None)
            if failure is None:
                continue
            what = assertion.message or search.source_text(ctx.program, assertion.condition.span) or expr_text(
                assertion.condition)
            shown = ", ".join(f"{n} = {_show(space, n, case.values[n])}" for n in sorted(relevant) if n in case.values)
            yield error(
                "YB580", assertion.span, f"断言在搜索到的案例中不成立（{cite(assertion.clause)}）：{what}",
                search.counterexample_hint(
                    f"找到反例：{shown}；{failure.hint}" if shown else f"找到反例：{failure.hint}",
                    space.case_yaml(case, _written(space, outputs))),
                clause=assertion.clause)
            break


def searched_out(ctx: LintContext, space: Space, assertion: ir.Assertion) -> str | None:
    """Why an assertion is not searched (docs/itemized.md), or None."""
    if is_fund_level(assertion.condition):
        return "基金层的断言在批量运行中检查一次，不在单个案例上搜索"
    relevant = search.depends_on(ctx.program, [(assertion.condition, search.at_root(ctx.program))])
    return space.outside(relevant)


def _figures_read(ctx: LintContext, condition: ir.Expr) -> list[str]:
    out = []
    for name, symbol in ctx.reads(condition):
        if symbol is not None and symbol.kind in (SymbolKind.DEFINITION, SymbolKind.PARAM):
            if name.display not in out:
                out.append(name.display)
    return out


def _written(space: Space, outputs: list[str]) -> set[str]:
    return space.needed_inputs(outputs)


def _show(space: Space, name: str, value: Any) -> str:
    info = space.inputs.get(name)
    return search.case_value_text(info.info.type, value) if info is not None else str(value)


# ------------------------------------------------------------------ YB581, YB582


@attrs.frozen
class Payment:
    name: str
    span: ir.Span
    clause: str | None
    expenses: tuple[str, ...]
    relevant: frozenset[str]


def payments(ctx: LintContext, space: Space) -> list[Payment]:
    """The policy's payment outputs and the expense inputs each is computed from."""
    out: list[Payment] = []
    for name in ctx.module.outputs:
        if name.qualifier == FUND:
            continue  # a figure of the whole run, not of a claim (engines/fund.py)
        found = lookup(ctx.scope, name)
        if found is None or found.symbol.kind not in (SymbolKind.DEFINITION, SymbolKind.PARAM):
            continue
        type_ = ctx.program.types.get(found.symbol.key)
        if type_ is None or type_.kind is not Kind.MONEY:
            continue
        if not any(w in name.name for w in ctx.config.payment_words) or any(w in name.name for w in LIMIT_WORDS):
            continue
        relevant = search.depends_on(ctx.program, [(name, search.at_root(ctx.program))])
        expenses = tuple(sorted(
            n for n in relevant
            if n in space.inputs and space.inputs[n].info.type.kind is Kind.MONEY
            and any(w in n for w in ctx.config.expense_words)))
        if not expenses:
            continue
        decl = found.symbol.decl
        own = found.via is None
        span = decl.span if own else name.span
        out.append(Payment(name.display, span, found.symbol.clause if own else None, expenses, frozenset(relevant)))
    return out


def _payments(ctx: LintContext, space: Space, guards: list[ir.Assertion]) -> Iterator[Diagnostic]:
    # A payment computed from a bill's lines or a catalog is not searched (`Space.outside`).
    found = [p for p in payments(ctx, space) if space.outside(p.relevant) is None]
    if not found:
        return
    header = ctx.program.root.module.header
    quantum = _QUANTUM.get(header.rounding if header is not None and header.rounding else "分", Decimal("0.01"))
    slack = quantum / 2
    names = [p.name for p in found]
    relevant = frozenset().union(*(p.relevant for p in found))
    exceeded: dict[str, Diagnostic] = {}
    falling: dict[str, Diagnostic] = {}

    # The search evaluates every payment on each case; bound the total work so a
    # policy with hundreds of payments stays fast (the order of cases is fixed,
    # so the result is deterministic).
    budget = [max(40, ctx.config.search_budget // max(len(names), 1))]

    def values_of(case: SearchCase) -> dict[str, Decimal] | None:
        if budget[0] <= 0:
            return None
        budget[0] -= 1
        outcome = space.run(case, names)
        if broken_guard(outcome, guards):
            return None
        return {o.name: o.value for o in outcome.outputs if o.ok and isinstance(o.value, Decimal)}

    def note_exceeded(p: Payment, case: SearchCase, values: dict[str, Decimal]) -> None:
        if p.name in values and p.name not in exceeded:
            d = _exceeds(space, p, case, values[p.name], slack)
            if d is not None:
                exceeded[p.name] = d

    for line in space.lines(relevant):
        previous: tuple[SearchCase, dict[str, Decimal]] | None = None
        for case in line.cases:
            values = values_of(case)
            if values is None:
                previous = None
                continue
            for p in found:
                note_exceeded(p, case, values)
                if (previous is not None and line.varied in p.expenses and p.name not in falling
                        and p.name in values and p.name in previous[1]):
                    before, after = previous[1][p.name], values[p.name]
                    if after < before - slack:
                        falling[p.name] = _falls(space, p, line.varied, previous[0], case, before, after)
            previous = (case, values)
    for case in space.points(relevant):
        if len(exceeded) == len(found):
            break
        values = values_of(case)
        if values is None:
            continue
        for p in found:
            note_exceeded(p, case, values)
    for p in found:
        if p.name in exceeded:
            yield exceeded[p.name]
        if p.name in falling:
            yield falling[p.name]


def _exceeds(space: Space, p: Payment, case: SearchCase, value: Decimal, slack: Decimal) -> Diagnostic | None:
    total = sum((Decimal(case.values[e]) for e in p.expenses if e in case.values), Decimal(0))
    if value <= total + slack:
        return None
    money = space.inputs[p.expenses[0]].info.type
    basis = " + ".join(p.expenses)
    shown = "，".join(f"{e} = {display(money, case.values[e])}" for e in p.expenses)
    return warning(
        "YB581", p.span,
        f"{p.name} 可能超过计算它的费用（{cite(p.clause)}）：{shown} 时 {p.name} = {display(money, value)}",
        search.counterexample_hint(
            f"支付额通常不超过 {basis}：核对比例（是否超过 100%）、封顶与起付线；"
            f"若确应如此（如定额补助），在这一行写 # 忽略 YB581 并说明理由",
            space.case_yaml(case, _written(space, [p.name]),
                            f"{p.name} = {display(money, value)}，超过 {basis} = {display(money, sum((Decimal(case.values[e]) for e in p.expenses), Decimal(0)))}")),
        clause=p.clause)


def _falls(space: Space, p: Payment, expense: str, low: SearchCase, high: SearchCase, before: Decimal,
           after: Decimal) -> Diagnostic:
    money = space.inputs[expense].info.type
    a, b = display(money, low.values[expense]), display(money, high.values[expense])
    return warning(
        "YB582", p.span,
        f"{expense} 增加时 {p.name} 反而减少（{cite(p.clause)}）：{expense} 从 {a} 增至 {b}，"
        f"{p.name} 从 {display(money, before)} 降为 {display(money, after)}",
        search.counterexample_hint(
            "费用越高，支付通常不应越少：检查分档、分段的边界与比例（“超过”与“以上”是否用反、后一档的比例是否更低）",
            space.case_yaml(high, _written(space, [p.name]),
                            f"{expense} = {search.case_value_text(money, high.values[expense])} 时 {p.name} = "
                            f"{display(money, after)}；改为 {search.case_value_text(money, low.values[expense])} "
                            f"时为 {display(money, before)}")),
        clause=p.clause)
