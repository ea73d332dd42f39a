"""Numbers: ratios outside 0-100% (or 90 written for 90%), a cap at or below its deductible,
an incentive or increase with no upper bound."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from yibaolang import ir
from yibaolang.analysis.lint.context import LintContext, money_text, walk_at
from yibaolang.checks.resolve import SymbolKind
from yibaolang.diagnostics import Diagnostic, warning
from yibaolang.ir.types import Kind
from yibaolang.ir.walk import walk
from yibaolang.semantics.levels import qualified

_INCREASE = re.compile(r"激励|提高|增加|奖励|上浮|增长")
_DEDUCTIBLE_PARAM = re.compile(r"起付")
_CAP_PARAM = re.compile(r"封顶|最高|限额")
_LIMIT_NAME = re.compile(r"上限|限额|封顶|最高")


def check(ctx: LintContext) -> Iterator[Diagnostic]:
    for expr, clause, _, within in ctx.leveled_declarations():
        for node, level in walk_at(expr, within):
            if isinstance(node, ir.Literal) and node.kind is ir.LiteralKind.RATIO:
                value = node.value
                assert isinstance(value, Decimal)
                if value > 1 or value < 0:
                    yield warning("YB510", node.span, f"比例 {node.text} 超出 0%至100%",
                                  "比例写作百分数，例如 90%；确实超过 100% 时可用 # 忽略 YB510 说明理由", clause=clause)
            elif isinstance(node, ir.Arith) and node.op is ir.ArithOp.MUL:
                yield from _number_for_ratio(ctx, node, clause, level)
            elif isinstance(node, ir.Call):
                yield from _cap_below_deductible(ctx, node, clause, level)
    yield from _unbounded_increase(ctx)


def _number_for_ratio(ctx: LintContext, node: ir.Arith, clause: str | None,
                      within: str | None) -> Iterator[Diagnostic]:
    for side, other in ((node.left, node.right), (node.right, node.left)):
        if (isinstance(side, ir.Literal) and side.kind is ir.LiteralKind.NUMBER and isinstance(side.value, Decimal)
                and not side.text.endswith("倍") and 1 < side.value <= 100 and _is_money(ctx, other, within)):
            yield warning("YB511", side.span, f"金额乘以 {side.text}：是否想写 {side.text}%？",
                          f"比例要写百分号：{side.text}%；若确是倍数，写作 {side.text}倍", clause=clause)


def _is_money(ctx: LintContext, expr: ir.Expr, within: str | None = None) -> bool:
    if isinstance(expr, ir.Literal):
        return expr.kind is ir.LiteralKind.MONEY
    if isinstance(expr, ir.Name):
        symbol = ctx.symbol(expr, within)
        if symbol is not None:
            t = ctx.program.types.get(symbol.key)
            return t is not None and t.kind is Kind.MONEY
    return False


def _cap_below_deductible(ctx: LintContext, call: ir.Call, clause: str | None,
                          within: str | None = None) -> Iterator[Diagnostic]:
    """A function like 起付比例封顶(费用, 起付线, 比例, 封顶) called with 封顶 ≤ 起付线."""
    found = ctx.symbol(call.callee)
    if found is None or found.kind is not SymbolKind.FUNCTION:
        return
    decl = found.decl
    assert isinstance(decl, ir.FunctionDecl)
    deductible = cap = None
    for param, arg in zip(decl.params, call.args, strict=False):
        if _DEDUCTIBLE_PARAM.search(param.name):
            deductible = (arg, ctx.const(arg, within=within))
        elif _CAP_PARAM.search(param.name):
            cap = (arg, ctx.const(arg, within=within))
    if deductible is None or cap is None:
        return
    (_, d), (cap_arg, c) = deductible, cap
    if isinstance(d, Decimal) and isinstance(c, Decimal) and c <= d:
        yield warning("YB512", cap_arg.span, f"封顶 {money_text(c)} 不高于起付线 {money_text(d)}",
                      "封顶线通常远高于起付线；请核对两个数额是否写反或漏了“万”", clause=clause)


def _unbounded_increase(ctx: LintContext) -> Iterator[Diagnostic]:
    capped = _capped_elsewhere(ctx)
    for definition in ctx.module.definitions:
        if (not _INCREASE.search(definition.name) or _LIMIT_NAME.search(definition.name)
                or qualified(definition.scope, definition.name) in capped):
            continue
        symbol = ctx.scope.own.get(qualified(definition.scope, definition.name))
        kind = ctx.program.types.get(symbol.key) if symbol else None
        if kind is None or kind.kind not in (Kind.MONEY, Kind.RATIO):
            continue
        if _bounded(ctx, definition.expr, set()):
            continue
        if not _grows_with_input(ctx, definition.expr, set(), definition.scope):
            continue
        yield warning("YB514", definition.span, f"“{definition.display}”随输入增长，却没有上限",
                      "激励或提高额通常有上限（如“累计不超过原封顶线的20%”）：用 封顶 或 取较小 写明",
                      clause=definition.clause)


def _capped_elsewhere(ctx: LintContext) -> set[str]:
    """Figures (symbol names) some other rule caps (取较小(甲 + 乙, 上限), 甲 封顶 …): the cap is applied downstream."""
    out: set[str] = set()
    for definition in ctx.module.definitions:
        for node, level in walk_at(definition.expr, definition.scope):
            capped: list[ir.Expr] = []
            if isinstance(node, ir.Bounded) and node.kind is ir.BoundKind.CAP:
                capped = [node.value]
            elif isinstance(node, ir.Call) and node.function == "取较小":
                capped = list(node.args)
            for expr in capped:
                out.update(symbol.name for _, symbol in ctx.reads(expr, level) if symbol is not None)
    return out


def _bounded(ctx: LintContext, expr: ir.Expr, seen: set[str]) -> bool:
    for node in walk(expr):
        if isinstance(node, ir.Bounded) and node.kind is ir.BoundKind.CAP:
            return True
        if isinstance(node, ir.Call) and node.function == "取较小":
            return True
        if isinstance(node, (ir.Banded, ir.Stepped, ir.Cases, ir.Table)):
            return True  # a finite table or band list has its own top value
    return False


def _grows_with_input(ctx: LintContext, expr: ir.Expr, seen: set[str], within: str | None = None) -> bool:
    for _, symbol in ctx.reads(expr, within):
        if symbol is None or symbol.name in seen:
            continue
        seen.add(symbol.name)
        if symbol.kind is SymbolKind.INPUT:
            t = ctx.program.types.get(symbol.key)
            if t is not None and t.is_numeric:
                return True
        elif symbol.kind is SymbolKind.DEFINITION:
            decl = symbol.decl
            assert isinstance(decl, ir.Definition)
            if not _bounded(ctx, decl.expr, seen) and _grows_with_input(ctx, decl.expr, seen, decl.scope):
                return True
    return False
