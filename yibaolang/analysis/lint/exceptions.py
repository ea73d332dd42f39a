"""Exceptions (例外, docs/language.md §29): conflicts, conditions that cannot hold, masked exceptions.

- YB540 (warning): two exceptions of one figure hold in the same searched case
  with different values and no 优先于 between them — evaluation of that case
  fails (YB412); the case is printed as the witness.
- YB542 (warning): an exception's condition cannot hold for any case: it
  contradicts itself over enumeration values or truth values, or asks for a
  value outside the input's declared 范围.  (Contradictory amounts alone are
  YB541, definitions.py.)  Decided statically, so it never depends on the search.
- YB543 (warning): an exception is masked: whenever its condition holds, the
  condition of an exception declared 优先于 it holds too, so it never takes effect.
  Decided statically by implication between the conditions.

>>> lo = Interval(Decimal(1), True, None, False)
>>> lo.within(Interval(Decimal(0), True, None, False)), lo.empty
(True, False)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.analysis import search
from yibaolang.analysis.lint.context import LintContext
from yibaolang.checks.resolve import SymbolKind, lookup
from yibaolang.diagnostics import Diagnostic, warning
from yibaolang.ir.printer import expr_text
from yibaolang.ir.types import DURATIONS, Kind, Type
from yibaolang.semantics import exceptions as exception_rules

MAX_TERMS = 32


def check(ctx: LintContext) -> Iterator[Diagnostic]:
    rules = list(ctx.module.exceptions)
    if not rules:
        return
    logic = Conditions(ctx)
    yield from _never(ctx, logic, rules)
    yield from _masked(ctx, logic, rules)
    yield from _conflicts(ctx, rules)


def _text(ctx: LintContext, expr: ir.Expr) -> str:
    """An expression as the drafter wrote it (the canonical form when it spans lines)."""
    return search.source_text(ctx.program, expr.span) or expr_text(expr)


def _cite(rule: ir.ExceptionRule) -> str:
    return f"条款 {rule.clause} 的例外" if rule.clause else "例外"


# ------------------------------------------------------------------ conditions as sets of cases


@attrs.frozen
class Interval:
    low: Decimal | None
    low_in: bool
    high: Decimal | None
    high_in: bool

    @property
    def empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        return self.low > self.high or (self.low == self.high and not (self.low_in and self.high_in))

    def meet(self, other: Interval) -> Interval:
        low, low_in = self.low, self.low_in
        if other.low is not None and (low is None or other.low > low or (other.low == low and not other.low_in)):
            low, low_in = other.low, other.low_in
        high, high_in = self.high, self.high_in
        if other.high is not None and (high is None or other.high < high or (other.high == high and not other.high_in)):
            high, high_in = other.high, other.high_in
        return Interval(low, low_in, high, high_in)

    def within(self, other: Interval) -> bool:
        if other.low is not None:
            if self.low is None or self.low < other.low or (self.low == other.low and self.low_in and not other.low_in):
                return False
        if other.high is not None:
            if self.high is None or self.high > other.high or (
                    self.high == other.high and self.high_in and not other.high_in):
                return False
        return True

    def whole(self) -> Interval:
        """For whole-number inputs: open ends made closed (超过 2年 is 3年 以上)."""
        low, high = self.low, self.high
        if low is not None and not self.low_in:
            low = low + 1 if low == low.to_integral_value() else low.to_integral_value(rounding="ROUND_CEILING")
        elif low is not None:
            low = low.to_integral_value(rounding="ROUND_CEILING")
        if high is not None and not self.high_in:
            high = high - 1 if high == high.to_integral_value() else high.to_integral_value(rounding="ROUND_FLOOR")
        elif high is not None:
            high = high.to_integral_value(rounding="ROUND_FLOOR")
        return Interval(low, low is not None, high, high is not None)


ANY = Interval(None, False, None, False)

# A conjunction: per subject, the set of enum values, a truth value, or an interval;
# opaque atoms (anything else) by their printed text, with a polarity.
Conj = dict[str, Any]


class Conditions:
    """Conditions in disjunctive normal form over simple atoms, for satisfiability and implication."""

    def __init__(self, ctx: LintContext) -> None:
        self.ctx = ctx

    def subject(self, expr: ir.Expr) -> tuple[str, Type] | None:
        if not isinstance(expr, ir.Name):
            return None
        found = lookup(self.ctx.scope, expr)
        if found is None or found.symbol.kind is SymbolKind.FUNCTION:
            return None
        type_ = self.ctx.program.types.get(found.symbol.key)
        return (expr.display, type_) if type_ is not None else None

    def enum_value(self, expr: ir.Expr, type_: Type) -> str | None:
        if isinstance(expr, ir.Name) and expr.qualifier is None and type_.enum is not None:
            if expr.name in type_.enum.values and lookup(self.ctx.scope, expr) is None:
                return expr.name
        return None

    def dnf(self, expr: ir.Expr, positive: bool = True) -> list[Conj] | None:
        """The condition as a list of conjunctions (None when too large)."""
        match expr:
            case ir.Not(operand=operand):
                return self.dnf(operand, not positive)
            case ir.Logic(op=op, left=left, right=right):
                a, b = self.dnf(left, positive), self.dnf(right, positive)
                if a is None or b is None:
                    return None
                conjunctive = (op is ir.LogicOp.AND) == positive
                if not conjunctive:
                    return (a + b) if len(a) + len(b) <= MAX_TERMS else None
                out = []
                for x, y in itertools.product(a, b):
                    merged = self.merge(x, y)
                    if merged is not None:
                        out.append(merged)
                    if len(out) > MAX_TERMS:
                        return None
                return out
        atom = self.atom(expr, positive)
        return [atom]

    def atom(self, expr: ir.Expr, positive: bool) -> Conj:
        match expr:
            case ir.Member(subject=subject, values=values, negated=negated):
                found = self.subject(subject)
                if found is not None and found[1].kind is Kind.ENUM and found[1].enum is not None:
                    allowed = set(values) if positive != negated else set(found[1].enum.values) - set(values)
                    return {found[0]: frozenset(allowed)}
            case ir.Name():
                found = self.subject(expr)
                if found is not None and found[1].kind is Kind.BOOL:
                    return {found[0]: positive}
            case ir.Compare(op=op, left=left, right=right):
                got = self.compare(op, left, right, positive)
                if got is not None:
                    return got
        return {f"?{expr_text(expr)}": positive}

    def compare(self, op: ir.CompareOp, left: ir.Expr, right: ir.Expr, positive: bool) -> Conj | None:
        flip = {ir.CompareOp.GT: ir.CompareOp.LT, ir.CompareOp.GE: ir.CompareOp.LE, ir.CompareOp.LT: ir.CompareOp.GT,
                ir.CompareOp.LE: ir.CompareOp.GE, ir.CompareOp.EQ: ir.CompareOp.EQ, ir.CompareOp.NE: ir.CompareOp.NE}
        found = self.subject(left)
        if found is None:
            found = self.subject(right)
            if found is None:
                return None
            left, right, op = right, left, flip[op]
        name, type_ = found
        if type_.kind is Kind.ENUM:
            value = self.enum_value(right, type_)
            if value is None or op not in (ir.CompareOp.EQ, ir.CompareOp.NE) or type_.enum is None:
                return None
            same = (op is ir.CompareOp.EQ) == positive
            return {name: frozenset({value} if same else set(type_.enum.values) - {value})}
        if type_.kind is Kind.BOOL:
            value = self.ctx.const(right)
            if isinstance(value, bool) and op in (ir.CompareOp.EQ, ir.CompareOp.NE):
                return {name: (value == (op is ir.CompareOp.EQ)) == positive}
            return None
        if not type_.is_numeric:
            return None
        value = self.ctx.const(right)
        if not isinstance(value, (Decimal, int)) or isinstance(value, bool):
            return None
        v = Decimal(value)
        negate = {ir.CompareOp.GT: ir.CompareOp.LE, ir.CompareOp.GE: ir.CompareOp.LT, ir.CompareOp.LT: ir.CompareOp.GE,
                  ir.CompareOp.LE: ir.CompareOp.GT, ir.CompareOp.EQ: ir.CompareOp.NE, ir.CompareOp.NE: ir.CompareOp.EQ}
        if not positive:
            op = negate[op]
        match op:
            case ir.CompareOp.GT:
                interval = Interval(v, False, None, False)
            case ir.CompareOp.GE:
                interval = Interval(v, True, None, False)
            case ir.CompareOp.LT:
                interval = Interval(None, False, v, False)
            case ir.CompareOp.LE:
                interval = Interval(None, False, v, True)
            case ir.CompareOp.EQ:
                interval = Interval(v, True, v, True)
            case _:
                return None
        if type_.kind in DURATIONS:
            interval = interval.whole()
        return {name: interval}

    @staticmethod
    def merge(a: Conj, b: Conj) -> Conj | None:
        """The conjunction of two conjunctions; None when they contradict."""
        out = dict(a)
        for key, value in b.items():
            if key not in out:
                out[key] = value
                continue
            mine = out[key]
            if isinstance(mine, frozenset) and isinstance(value, frozenset):
                out[key] = mine & value
                if not out[key]:
                    return None
            elif isinstance(mine, bool) and isinstance(value, bool):
                if mine != value:
                    return None
            elif isinstance(mine, Interval) and isinstance(value, Interval):
                out[key] = mine.meet(value)
                if out[key].empty:
                    return None
            else:
                return None if mine != value else out
        return out

    def declared(self, conj: Conj) -> Conj | None:
        """The conjunction within the inputs' declared 范围; None when nothing is left."""
        out = dict(conj)
        for key, value in conj.items():
            if not isinstance(value, Interval):
                continue
            found = lookup(self.ctx.scope, ir.Name(key, None, ir.NO_SPAN)) if "." not in key else None
            if found is None or not isinstance(found.symbol.decl, ir.InputDecl):
                continue
            decl = found.symbol.decl
            low, high = self.ctx.const(decl.range_low) if decl.range_low else None, (
                self.ctx.const(decl.range_high) if decl.range_high else None)
            bound = Interval(Decimal(low) if isinstance(low, (Decimal, int)) else None, True,
                             Decimal(high) if isinstance(high, (Decimal, int)) else None, True)
            met = value.meet(bound)
            if met.empty:
                return None
            out[key] = met
        return out

    def satisfiable(self, expr: ir.Expr) -> bool | None:
        terms = self.dnf(expr)
        if terms is None:
            return None
        return any(self.declared(t) is not None for t in terms)

    def implies(self, a: ir.Expr, b: ir.Expr) -> bool:
        """Every case where `a` holds makes `b` hold (decided on the atoms; False when unsure)."""
        ta, tb = self.dnf(a), self.dnf(b)
        if ta is None or tb is None:
            return False
        for conj in ta:
            conj_in = self.declared(conj)
            if conj_in is None:
                continue
            if not any(self._conj_implies(conj_in, other) for other in tb):
                return False
        return True

    @staticmethod
    def _conj_implies(a: Conj, b: Conj) -> bool:
        for key, want in b.items():
            have = a.get(key)
            if have is None:
                return False
            if isinstance(want, frozenset):
                if not (isinstance(have, frozenset) and have <= want):
                    return False
            elif isinstance(want, Interval):
                if not (isinstance(have, Interval) and have.within(want)):
                    return False
            elif have != want:
                return False
        return True


# ------------------------------------------------------------------ YB542


def _never(ctx: LintContext, logic: Conditions, rules: list[ir.ExceptionRule]) -> Iterator[Diagnostic]:
    from yibaolang.analysis.lint.definitions import _always

    for rule in rules:
        if _always(ctx, rule.condition) is False:
            continue  # YB541 already says so
        if logic.satisfiable(rule.condition) is False:
            yield warning(
                "YB542", rule.condition.span,
                f"{_cite(rule)}永远不会成立：条件“{_text(ctx, rule.condition)}”自相矛盾，或超出输入声明的范围",
                "核对选项值、“且/或”与输入的 范围；这条例外目前永远不会生效", clause=rule.clause)


# ------------------------------------------------------------------ YB543


def _masked(ctx: LintContext, logic: Conditions, rules: list[ir.ExceptionRule]) -> Iterator[Diagnostic]:
    by_target: dict[str, list[ir.ExceptionRule]] = {}
    for rule in rules:
        by_target.setdefault(rule.target.display, []).append(rule)
    beaters: dict[int, list[ir.ExceptionRule]] = {}  # id(rule) → the rules that win over it (semantics)
    for group in by_target.values():
        for rule, beaten in zip(group, exception_rules.beaten_by(group), strict=True):
            beaters[id(rule)] = [group[j] for j in beaten]
    for rule in rules:
        for other in beaters[id(rule)]:
            if logic.satisfiable(rule.condition) is False:
                continue
            if logic.implies(rule.condition, other.condition):
                yield warning(
                    "YB543", rule.span,
                    f"{_cite(rule)}被{_cite(other)}遮蔽：只要“{_text(ctx, rule.condition)}”成立，"
                    f"“{_text(ctx, other.condition)}”也成立，而后者 优先于 它，所以它永远不会生效",
                    f"若这条例外应当生效，缩小条款 {other.clause} 例外的条件，或改变 优先于 的方向",
                    clause=rule.clause, related=((other.span, f"优先的{_cite(other)}"),))
                break


# ------------------------------------------------------------------ YB540


def _conflicts(ctx: LintContext, rules: list[ir.ExceptionRule]) -> Iterator[Diagnostic]:
    by_target: dict[str, list[ir.ExceptionRule]] = {}
    for rule in rules:
        by_target.setdefault(rule.target.display, []).append(rule)
    program = ctx.program
    where = search.at_root(ctx.program)
    reported: set[tuple[int, int]] = set()
    own = {rule.span: rule for rule in rules}
    for target, group in by_target.items():
        found = lookup(ctx.scope, group[0].target)
        if found is None or found.symbol.level is not None:
            continue  # an 例外 of a line or fund figure: the search builds one claim without lines
        every = [r for _, r in program.exceptions.get(found.symbol.key, [])]
        if len(every) < 2:
            continue
        space = search.space(program, ctx.config)
        relevant = search.depends_on(program, [(e, where) for e in [*(g.target for g in group),
                                                                      *(g.condition for g in group)]])
        pairs = len(every) * (len(every) - 1) // 2
        found_here = 0
        for case in space.all_cases(relevant):
            if found_here >= pairs:
                break
            outcome = space.run(case, [target])
            for d in outcome.diagnostics:
                if d.code != "YB412" or not d.related:
                    continue
                a = own.get(d.span) or next((r for r in every if r.span == d.span), None)
                b = next((r for r in every if r.span == d.related[0][0]), None)
                if a is None or b is None:
                    continue
                key = (min(id(a), id(b)), max(id(a), id(b)))
                if key in reported:
                    continue
                reported.add(key)
                found_here += 1
                first, second = (a, b) if (a.span.file, a.span.line) <= (b.span.file, b.span.line) else (b, a)
                anchor, other = (first, second) if first in rules else (second, first)
                shown = search.counterexample_hint(
                    f"两条例外同时成立而取值不同，计算会失败（YB412）；{d.hint}",
                    space.case_yaml(case, space.needed_inputs([target]),
                                    f"{_cite(first)}与{_cite(second)}同时成立：{d.message}"))
                yield warning(
                    "YB540", anchor.span,
                    f"{_cite(first)}与{_cite(second)}可能同时成立，给 {target} 的值不同，且没有写 优先于",
                    shown, clause=anchor.clause, related=((other.span, _cite(other)),))
