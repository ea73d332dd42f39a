"""What every lint needs: the program, the configuration, and helpers over the IR."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Program, Symbol, SymbolKind, lookup
from yibaolang.diagnostics import Diagnostic
from yibaolang.ir.walk import children
from yibaolang.semantics.levels import FUND, inner_level, is_fund_level, scoped_names

DEFAULT_EXPENSE_WORDS = ("费用", "负担", "自付", "自负", "花费", "支出")
DEFAULT_PAYMENT_WORDS = ("支付", "报销", "给付", "赔付", "补助", "救助")


@attrs.frozen
class LintConfig:
    disabled: frozenset[str] = frozenset()
    severity: dict[str, str] = attrs.Factory(dict)
    expense_words: tuple[str, ...] = DEFAULT_EXPENSE_WORDS
    payment_words: tuple[str, ...] = DEFAULT_PAYMENT_WORDS
    search_points: int = 200
    search_budget: int = 20_000  # figure evaluations the payment-property search may spend
    seed: int = 20260101
    exclude: tuple[str, ...] = ()  # folders and globs `yibaolang test` leaves out when it walks a folder
    problems: tuple[Diagnostic, ...] = ()  # YB008: settings that were ignored (lint/settings.py)


def load_config(root: Path) -> LintConfig:
    """`[tool.yibaolang]` of the project's pyproject.toml (or yibaolang.toml's top level)."""
    from yibaolang.analysis.lint.settings import read_settings

    data, found = read_settings(root)
    severity = {str(k): str(v) for k, v in dict(data.get("severity", {})).items()
                if str(v) in ("error", "warning", "info")}
    return LintConfig(
        disabled=frozenset(str(c) for c in data.get("disable", [])),
        severity=severity,
        expense_words=tuple(data.get("expense-words", DEFAULT_EXPENSE_WORDS)),
        payment_words=tuple(data.get("payment-words", DEFAULT_PAYMENT_WORDS)),
        search_points=int(data.get("search-points", 200)),
        search_budget=int(data.get("search-budget", 20_000)),
        seed=int(data.get("seed", 20260101)),
        exclude=tuple(data.get("exclude", ())),
        problems=tuple(found),
    )


@attrs.define
class LintContext:
    program: Program
    config: LintConfig

    @property
    def scope(self) -> ModuleScope:
        return self.program.root

    @property
    def module(self) -> ir.Module:
        return self.program.root.module

    def clause_of(self, clause_id: str | None) -> ir.Clause | None:
        return self.module.clause(clause_id)

    def declarations(self) -> Iterator[tuple[ir.Expr, str | None, ir.Span]]:
        """Every top-level expression of the root module with the clause it cites."""
        for expr, clause, span, _ in self.leveled_declarations():
            yield expr, clause, span

    def leveled_declarations(self) -> Iterator[tuple[ir.Expr, str | None, ir.Span, str | None]]:
        """`declarations()` with the level each expression is read at (semantics/levels.py):
        a per-line definition's list, 全体 for a fund definition or a fund-level 断言/约束."""
        m = self.module
        for d in m.definitions:
            yield d.expr, d.clause, d.span, d.scope
        for p in m.params:
            for v in p.versions:
                yield v.value, p.clause, v.span, None
        for r in m.exceptions:
            target = self.symbol(r.target)
            level = target.level if target is not None else None
            yield r.condition, r.clause, r.span, level
            yield r.value, r.clause, r.span, level
        for a in m.assertions:
            yield a.condition, a.clause, a.span, FUND if is_fund_level(a.condition) else None
        for c in m.constraints:
            yield c.condition, c.clause, c.span, FUND if is_fund_level(c.condition) else None
        for f in m.functions:
            yield f.body, f.clause, f.span, None

    def const(self, expr: ir.Expr, depth: int = 0, within: str | None = None) -> Any:
        """The value of an expression that needs no case (literals, undated parameters), else None.

        `within` is the level the expression is read at (semantics/levels.py); a line
        figure, an aggregation or a catalog lookup is never a constant.
        """
        if depth > 20:
            return None
        match expr:
            case ir.Literal(value=value):
                return value
            case ir.Negate(operand=operand):
                v = self.const(operand, depth + 1, within)
                return -v if isinstance(v, (Decimal, int)) and not isinstance(v, bool) else None
            case ir.Name():
                found = lookup(self.scope, expr, within)
                if found is None or found.symbol.level is not None:
                    return None
                decl = found.symbol.decl
                if isinstance(decl, ir.ParamDecl) and len(decl.versions) == 1:
                    return self.const(decl.versions[0].value, depth + 1)
                if isinstance(decl, ir.Definition) and not self.program.exceptions.get(found.symbol.key):
                    return self.const(decl.expr, depth + 1)
                return None
            case ir.Arith(op=op, left=left, right=right):
                a, b = self.const(left, depth + 1, within), self.const(right, depth + 1, within)
                if not (_num(a) and _num(b)):
                    return None
                if op is ir.ArithOp.ADD:
                    return Decimal(a) + Decimal(b)
                if op is ir.ArithOp.SUB:
                    return Decimal(a) - Decimal(b)
                if op is ir.ArithOp.MUL:
                    return Decimal(a) * Decimal(b)
                return Decimal(a) / Decimal(b) if b else None
        return None

    def symbol(self, name: ir.Name, within: str | None = None) -> Symbol | None:
        found = lookup(self.scope, name, within)
        return found.symbol if found else None

    def reads(self, expr: ir.Expr, within: str | None = None) -> Iterator[tuple[ir.Name, Symbol | None]]:
        """Every name `expr` reads with the symbol it means at its level (semantics/levels.py)."""
        for name, level in scoped_names(expr, within):
            yield name, self.symbol(name, level)

    def level_of(self, decl: ir.Definition) -> str | None:
        """The level a definition's expression is read at: its list, 全体, or the claim (None)."""
        return decl.scope

    def own_inputs(self) -> list[Symbol]:
        return [s for s in self.scope.own.values() if s.kind is SymbolKind.INPUT]


def walk_at(expr: ir.Expr, within: str | None = None) -> Iterator[tuple[ir.Expr, str | None]]:
    """Every node of `expr` with the level it is read at: like `ir.walk`, but the 其中
    filter of 求和(明细.x 其中 …) is read on each line (semantics/levels.inner_level)."""
    stack: list[tuple[ir.Expr, str | None]] = [(expr, within)]
    while stack:
        node, level = stack.pop()
        yield node, level
        if isinstance(node, ir.Aggregate):
            if node.where is not None:
                stack.append((node.where, inner_level(node)))
            continue
        stack.extend((child, level) for child in reversed(tuple(children(node))))


def _num(value: Any) -> bool:
    return isinstance(value, (Decimal, int)) and not isinstance(value, bool)


def money_text(value: Decimal) -> str:
    """An amount as a drafter writes it: 2万元, 1亿元, 1800元."""
    if value != 0 and value % 100000000 == 0:
        return f"{_plain(value / 100000000)}亿元"
    if value != 0 and value % 10000 == 0:
        return f"{_plain(value / 10000)}万元"
    return f"{_plain(value)}元"


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def show(value: Any, kind: ir.LiteralKind | None = None) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if kind is ir.LiteralKind.MONEY and isinstance(value, Decimal):
        return money_text(value)
    if kind is ir.LiteralKind.RATIO and isinstance(value, Decimal):
        return f"{_plain(value * 100)}%"
    return str(value)
