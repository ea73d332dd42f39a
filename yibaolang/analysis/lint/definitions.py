"""Definitions: inputs and figures nothing uses, a policy without 输出, duplicate rules,
conditions that are always true or always false."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from yibaolang import ir
from yibaolang.analysis.lint.context import LintContext, walk_at
from yibaolang.checks.resolve import Symbol, SymbolKind
from yibaolang.diagnostics import Diagnostic, Severity, warning
from yibaolang.ir.printer import expr_text
from yibaolang.ir.walk import walk
from yibaolang.semantics.levels import FUND, is_fund_level, scoped_names


def check(ctx: LintContext) -> Iterator[Diagnostic]:
    yield from _unused(ctx)
    yield from _duplicates(ctx)
    yield from _constant_conditions(ctx)


def used_names(ctx: LintContext) -> set[str]:
    """Own symbols reachable from what the policy reports or checks (symbol names: a line
    figure is "明细.明细金额", a fund figure "全体.参保人数"; semantics/levels.py).

    Names are resolved at the level they are read at (`scoped_names`): in 求和(明细.x 其中 …)
    the item and the filter are read on each line, and reading a line figure uses its list.
    """
    module = ctx.module
    roots: list[tuple[ir.Expr, str | None]] = [(name, None) for name in module.outputs]
    roots += [(a.condition, FUND if is_fund_level(a.condition) else None) for a in module.assertions]
    roots += [(c.condition, FUND if is_fund_level(c.condition) else None) for c in module.constraints]
    roots += [(b.value, None) for imp in module.imports for b in imp.bindings]
    for example in module.examples:
        roots += [(line.name, None) for line in example.expectations]
    used: set[str] = {r.name for r in module.requirements}
    stack = list(roots)
    exceptions_by_target: dict[str, list[ir.ExceptionRule]] = {}
    for rule in module.exceptions:
        target = ctx.symbol(rule.target)
        exceptions_by_target.setdefault(target.name if target else rule.target.name, []).append(rule)

    def use(symbol: Symbol) -> None:
        if symbol.name in used or ctx.scope.own.get(symbol.name) is not symbol:
            return
        used.add(symbol.name)
        level = symbol.level
        if level in ctx.scope.lists:
            use_list(level)
        decl = symbol.decl
        if isinstance(decl, ir.Definition):
            stack.append((decl.expr, decl.scope))
        elif isinstance(decl, ir.ParamDecl):
            stack.extend((v.value, None) for v in decl.versions)
        elif isinstance(decl, ir.FunctionDecl):
            stack.append((decl.body, None))
        elif isinstance(decl, (ir.InputDecl, ir.FieldDecl)):
            stack.extend((e, level) for e in (decl.range_low, decl.range_high, decl.default) if e is not None)
            if isinstance(decl, ir.InputDecl) and decl.accumulates is not None:
                stack.append((decl.accumulates, None))
        for rule in exceptions_by_target.get(symbol.name, []):
            stack.extend(((rule.condition, level), (rule.value, level)))

    def use_list(list_name: str) -> None:
        symbol = ctx.scope.own.get(list_name)
        if symbol is not None:
            use(symbol)

    while stack:
        expr, within = stack.pop()
        for name, symbol in ctx.reads(expr, within):
            if symbol is not None and name.qualifier not in ctx.scope.aliases:
                use(symbol)
        for node in walk(expr):
            if isinstance(node, ir.Call) and node.qualifier is None:
                function = ctx.scope.own.get(node.function)
                if function is not None:
                    use(function)
            elif isinstance(node, ir.Aggregate) and node.over in ctx.scope.lists:
                use_list(node.over)  # 计数(明细) reads the list itself
    return used


def _unused(ctx: LintContext) -> Iterator[Diagnostic]:
    module = ctx.module
    has_figures = bool(module.definitions or module.params)
    if not module.outputs:
        if module.definitions and module.header is not None:
            yield Diagnostic("YB532", Severity.WARNING, module.header.span, "政策没有 输出",
                             "用 输出 名称, 名称 列出这份政策报告的数额；explain 从它们开始")
        return
    used = used_names(ctx)
    for symbol in ctx.scope.own.values():
        if symbol.name in used:
            continue
        decl = symbol.decl
        if symbol.kind is SymbolKind.INPUT and has_figures:
            yield warning("YB530", decl.span, f"输入“{symbol.name}”没有用到：任何输出都不依赖它",
                          "删去它，或检查是否漏写了用到它的规则")
        elif symbol.kind in (SymbolKind.DEFINITION, SymbolKind.PARAM):
            yield warning("YB531", decl.span, f"{symbol.kind.value}“{symbol.name}”没有用到：既不是输出，也没有输出依赖它",
                          "把它加入 输出，或删去", clause=symbol.clause)


def _duplicates(ctx: LintContext) -> Iterator[Diagnostic]:
    # The same text at two levels (明细.x and a claim figure) reads different names: keyed by level too.
    seen: dict[tuple[str | None, str], ir.Definition] = {}
    for definition in ctx.module.definitions:
        if isinstance(definition.expr, (ir.Literal, ir.Name)):
            continue  # short aliases and constants may coincide on purpose
        from yibaolang.ir.printer import block_lines, is_block

        # A block (分段累进, 查表…) is compared whole, not by its one-line header.
        text = "\n".join(block_lines(definition.expr, "")) if is_block(definition.expr) else expr_text(definition.expr)
        key = (definition.scope, text)
        if key in seen:
            first = seen[key]
            yield warning("YB533", definition.span, f"“{definition.display}”与“{first.display}”的规则完全相同",
                          f"若是同一个数额，直接写 定义 {definition.display} = {first.name}", clause=definition.clause,
                          related=((first.span, "相同的规则"),))
        seen.setdefault(key, definition)
    rules: dict[tuple[str, str], ir.ExceptionRule] = {}
    for rule in ctx.module.exceptions:
        key = (rule.target.display, expr_text(rule.condition))
        if key in rules:
            yield warning("YB533", rule.span, f"对 {rule.target.display} 的例外重复：条件完全相同",
                          "删去其中一条", clause=rule.clause, related=((rules[key].span, "相同的例外"),))
        rules.setdefault(key, rule)


def _constant_conditions(ctx: LintContext) -> Iterator[Diagnostic]:
    # An exception's own condition is judged by YB541 below, not twice.
    exception_conditions = {id(rule.condition) for rule in ctx.module.exceptions}
    for expr, clause, _, within in ctx.leveled_declarations():
        if id(expr) in exception_conditions:
            continue
        for node, level in walk_at(expr, within):
            conditions: list[ir.Expr] = []
            if isinstance(node, ir.If):
                conditions = [b.condition for b in node.branches]
            elif isinstance(node, ir.Logic):
                conditions = [node]
            for condition in conditions:
                verdict = _always(ctx, condition, level)
                if verdict is not None:
                    word = "总是成立" if verdict else "永远不成立"
                    yield warning("YB534", condition.span, f"条件“{expr_text(condition)}”{word}",
                                  "检查比较的数额与方向（超过/不满、以上/以下）", clause=clause)
    for rule in ctx.module.exceptions:
        target = ctx.symbol(rule.target)
        verdict = _always(ctx, rule.condition, target.level if target is not None else None)
        if verdict is False:
            yield warning("YB541", rule.condition.span, f"例外的条件“{expr_text(rule.condition)}”永远不成立",
                          "这条例外永远不会生效", clause=rule.clause)


def _always(ctx: LintContext, condition: ir.Expr, within: str | None = None) -> bool | None:
    """True/False when the condition cannot depend on the case, else None (`within`: its level)."""
    if not scoped_names(condition) and not any(isinstance(n, (ir.Aggregate, ir.Lookup)) for n in walk(condition)):
        return None if isinstance(condition, ir.Literal) else _fold(ctx, condition, within)
    if isinstance(condition, ir.Logic) and condition.op is ir.LogicOp.AND:
        bounds = _intervals(ctx, condition, within)
        if bounds is not None:
            for lo, lo_in, hi, hi_in in bounds.values():
                if lo is not None and hi is not None and (lo > hi or (lo == hi and not (lo_in and hi_in))):
                    return False
    return None


def _fold(ctx: LintContext, condition: ir.Expr, within: str | None = None) -> bool | None:
    if isinstance(condition, ir.Compare):
        a, b = ctx.const(condition.left, within=within), ctx.const(condition.right, within=within)
        if a is None or b is None or (type(a) is not type(b) and not all(isinstance(x, (Decimal, int)) for x in (a, b))):
            return None
        ops = {ir.CompareOp.GT: a > b, ir.CompareOp.GE: a >= b, ir.CompareOp.LT: a < b, ir.CompareOp.LE: a <= b,
               ir.CompareOp.EQ: a == b, ir.CompareOp.NE: a != b}
        return bool(ops[condition.op])
    return None


def _intervals(ctx: LintContext, condition: ir.Expr,
               within: str | None = None) -> dict[str, tuple[Any, bool, Any, bool]] | None:
    """For a conjunction of `name op constant` comparisons, the interval each name must lie in."""
    parts: list[ir.Expr] = []
    stack = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, ir.Logic) and node.op is ir.LogicOp.AND:
            stack.extend((node.left, node.right))
        else:
            parts.append(node)
    out: dict[str, tuple[Any, bool, Any, bool]] = {}
    for part in parts:
        if not isinstance(part, ir.Compare) or not isinstance(part.left, ir.Name):
            continue
        value = ctx.const(part.right, within=within)
        if value is None or isinstance(value, bool):
            continue
        lo, lo_in, hi, hi_in = out.get(part.left.display, (None, False, None, False))
        op = part.op
        if op in (ir.CompareOp.GT, ir.CompareOp.GE, ir.CompareOp.EQ):
            inclusive = op is not ir.CompareOp.GT
            if lo is None or value > lo or (value == lo and not inclusive):
                lo, lo_in = value, inclusive
        if op in (ir.CompareOp.LT, ir.CompareOp.LE, ir.CompareOp.EQ):
            inclusive = op is not ir.CompareOp.LT
            if hi is None or value < hi or (value == hi and not inclusive):
                hi, hi_in = value, inclusive
        out[part.left.display] = (lo, lo_in, hi, hi_in)
    return out
