"""Citations: a figure with no clause, a clause without 原文, and 原文 whose numbers differ from the code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from yibaolang import ir
from yibaolang.analysis.lint.context import LintContext, show
from yibaolang.diagnostics import Diagnostic, Severity, warning
from yibaolang.ir.walk import walk

# Amounts in prose: "2 万元", "1.8万元", "50%", "5 个百分点", "3000元".  Spaces inside
# numbers are common in the seeds ("2 万元"), so they are allowed.
_PROSE_AMOUNT = re.compile(
    r"(?P<num>\d+(?:\.\d+)?)\s*(?:(?P<wan>[万亿])\s*(?P<yuan1>元)?|(?P<yuan>元)|(?P<pct>%|％|个百分点))"
)
_CN_SCALE = {"万": Decimal(10000), "亿": Decimal(100000000)}


def check(ctx: LintContext) -> Iterator[Diagnostic]:
    module = ctx.module
    if module.clauses:
        for definition in module.definitions:
            if definition.clause is None:
                yield warning("YB560", definition.span, f"定义“{definition.display}”不在任何条款之下，解释时无法引用原文",
                              "把它放进对应的 条款，或在行尾写 # 忽略 YB560 并说明理由")
        for param in module.params:
            if param.clause is None:
                yield warning("YB560", param.span, f"参数“{param.name}”不在任何条款之下，解释时无法引用原文",
                              "把它放进对应的 条款")
    # A parameter with a 范围 is a local choice inside what the 原文 allows: its range is cited, not its value.
    chosen = {id(v.value) for p in module.params if p.range_low is not None for v in p.versions}
    cited: dict[str | None, list[ir.Expr]] = {}
    for expr, clause_id, _ in ctx.declarations():
        if id(expr) not in chosen:
            cited.setdefault(clause_id, []).append(expr)
    for clause in module.clauses:
        if not clause.text:
            yield warning("YB561", clause.span, f"条款 {clause.raw_id} 没有 原文",
                          "照录文件原句：原文 \"…\"", clause=clause.id)
            continue
        yield from _numbers(clause, cited.get(clause.id, []))


def prose_amounts(text: str) -> tuple[set[Decimal], set[Decimal]]:
    """Money amounts (元) and ratios (fractions) written in a sentence.

    >>> money, ratios = prose_amounts("个人负担在2 万元以上，报销50%，提高5 个百分点，最高3000元")
    >>> sorted(map(int, money)), sorted(map(str, ratios))
    ([3000, 20000], ['0.05', '0.5'])
    """
    money: set[Decimal] = set()
    ratios: set[Decimal] = set()
    for match in _PROSE_AMOUNT.finditer(text):
        try:
            number = Decimal(match.group("num"))
        except InvalidOperation:
            continue
        if match.group("pct"):
            ratios.add(number / 100)
        elif match.group("wan"):
            money.add(number * _CN_SCALE[match.group("wan")])
        else:
            money.add(number)
    # Bare "万" amounts in band lists ("20万-50万(含)") count as money too.
    for match in re.finditer(r"(\d+(?:\.\d+)?)\s*万(?!元)", text):
        money.add(Decimal(match.group(1)) * 10000)
    return {m.normalize() for m in money}, {r.normalize() for r in ratios}


def _numbers(clause: ir.Clause, exprs: list[ir.Expr]) -> Iterator[Diagnostic]:
    assert clause.text is not None
    money, ratios = prose_amounts(clause.text)
    if not money and not ratios:
        return
    for expr in exprs:
        for node in walk(expr):
            if not isinstance(node, ir.Literal) or not isinstance(node.value, Decimal) or node.value in (0, 1):
                continue
            value = node.value.normalize()
            if node.kind is ir.LiteralKind.MONEY and money and value not in money:
                near = _nearest(value, money)
                hint = f"原文写的是 {show(near, ir.LiteralKind.MONEY)}？" if near is not None else ""
                yield warning("YB562", node.span, f"{node.text} 在条款 {clause.raw_id} 的原文中找不到",
                              hint or "核对原文与代码的数额", clause=clause.id)
            elif node.kind is ir.LiteralKind.RATIO and ratios and value not in ratios and value not in _derived(ratios):
                near = _nearest(value, ratios)
                hint = f"原文写的是 {show(near, ir.LiteralKind.RATIO)}？" if near is not None else ""
                yield Diagnostic("YB562", Severity.WARNING, node.span,
                                 f"{node.text} 在条款 {clause.raw_id} 的原文中找不到",
                                 hint or "核对原文与代码的比例", clause=clause.id)


def _derived(ratios: set[Decimal]) -> set[Decimal]:
    """Ratios a reading may legitimately derive: the complement (80% paid → 20% self-paid)."""
    return {(1 - r).normalize() for r in ratios if 0 < r < 1}


def _nearest(value: Decimal, candidates: set[Decimal]) -> Decimal | None:
    """A candidate that differs from value by a factor of 10 (a dropped or extra zero)."""
    for candidate in candidates:
        if candidate and (value * 10 == candidate or value == candidate * 10 or value * 100 == candidate
                          or value == candidate * 100):
            return candidate
    return None
