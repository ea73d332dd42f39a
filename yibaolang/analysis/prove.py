"""`yibaolang check --prove`: proofs with the z3 SMT solver (the optional extra `yibaolang[prove]`).

The piecewise-linear part of the language is translated to z3 terms: 金额,
比例, 数 and durations as reals (inputs as whole multiples of their unit — the
分 for 金额, 0.01% for 比例 — so a model is always a valid case), 是否 as
booleans, 选项 as integers; `+ -`, `×` and `÷` by a piecewise-constant factor
(a literal, a parameter, a 查表 of ratios…), 取较小/取较大/封顶/保底/绝对值,
如果/分情况/查表/分档, 分段累进, comparisons, 且/或/非, 属于, 介于, functions
(inlined), exceptions (with 优先于), imports and their 代入.  Rounding to the 分
is modelled as exact arithmetic, and every result says so.  Dates, dated
parameters and products of two case-dependent amounts are outside the
fragment and reported as such.

Three properties are proved for all cases (inputs within their declared 范围;
金额 and durations without one taken as non-negative; the assertions that
guard the data assumed to hold; evaluation assumed to succeed):

- every 断言 that reads a computed figure (YB580 when false);
- each payment ≤ the sum of the expenses it is computed from (YB581);
- each payment does not fall as one of its expenses rises, with two copies of
  the formulas that differ in that expense only (YB582).

A proof is reported as YB590 (提示, "已证明"); a failure carries z3's model
as a ready-to-run case file, after re-running it through the interpreter (if
the interpreter, which rounds, disagrees, the result is YB592 instead); a
property outside the fragment is YB592 "无法证明：…（不在分段线性片段内）".
`check` without `--prove` never imports this module.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, assert_never

from yibaolang import ir
from yibaolang.analysis.search import Where, at_root, bound_input, depends_on, enter, in_function, rule_where
from yibaolang.checks.resolve import Program, SymbolKind, lookup
from yibaolang.diagnostics import Diagnostic, Severity, error, warning
from yibaolang.ir.types import DURATIONS, Kind
from yibaolang.semantics import bands
from yibaolang.semantics import exceptions as exception_rules
from yibaolang.semantics.builtins import implementation, implements, is_builtin
from yibaolang.semantics.instances import InstanceKey
from yibaolang.semantics.levels import FUND, is_fund_level
from yibaolang.semantics.limits import PROVE_TERMS

TIMEOUT_MS = 5000
EXACT = "舍入按精确计算"
FUND_REASON = "基金层的断言汇总本次运行的全部案例"
_SCALE = {Kind.MONEY: 100, Kind.RATIO: 10000, Kind.NUMBER: 100}


def available() -> bool:
    return importlib.util.find_spec("z3") is not None


class Unsupported(Exception):
    """A construct outside the piecewise-linear fragment; the message says which."""


def info(code: str, span: ir.Span, message: str, hint: str = "", clause: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.INFO, span, message, hint, clause)


# ------------------------------------------------------------------ translation


class Z3Ops:
    """`Ops` over z3 terms (yibaolang.semantics.ops): the shared rules of meaning, written once, read by z3."""

    def __init__(self, z3: Any) -> None:
        self.z3 = z3

    def zero(self) -> Any:
        return self.z3.RealVal(0)

    def add(self, a: Any, b: Any) -> Any:
        return a + b

    def sub(self, a: Any, b: Any) -> Any:
        return a - b

    def mul(self, a: Any, b: Any) -> Any:
        return a * b

    def smaller(self, a: Any, b: Any) -> Any:
        return self.z3.If(a <= b, a, b)

    def larger(self, a: Any, b: Any) -> Any:
        return self.z3.If(a >= b, a, b)

    def clamp(self, x: Any, low: Any, high: Any | None) -> Any:
        floor = self.larger(x, low)
        return floor if high is None else self.smaller(floor, high)

    def round(self, a: Any, places: int | None) -> Any:
        return a  # rounding modelled as exact arithmetic (every result says so: EXACT)

    def compare(self, op: ir.CompareOp, a: Any, b: Any) -> Any:
        match op:
            case ir.CompareOp.GT:
                return a > b
            case ir.CompareOp.GE:
                return a >= b
            case ir.CompareOp.LT:
                return a < b
            case ir.CompareOp.LE:
                return a <= b
            case ir.CompareOp.EQ:
                return a == b
            case ir.CompareOp.NE:
                return a != b
            case _:
                assert_never(op)

    def all_of(self, conditions: Sequence[Any]) -> Any:
        return self.z3.And(*conditions) if conditions else self.z3.BoolVal(True)

    def any_of(self, conditions: Sequence[Any]) -> Any:
        return self.z3.Or(*conditions) if conditions else self.z3.BoolVal(False)

    def not_(self, condition: Any) -> Any:
        return self.z3.Not(condition)


# The builtins inside the fragment, registered by name (yibaolang.semantics.builtins); the others are Unsupported.


@implements("z3", "取较小", "取较大")
def _select(tr: Translator, e: ir.Call, where: Any) -> Any:
    pick = tr.ops.smaller if e.function == "取较小" else tr.ops.larger
    args = [tr.expr(a, where) for a in e.args]
    result = args[0]
    for a in args[1:]:
        result = pick(result, a)
    return result


@implements("z3", "四舍五入", "数值")
def _as_is(tr: Translator, e: ir.Call, where: Any) -> Any:
    return tr.ops.round(tr.expr(e.args[0], where), None)  # rounding modelled as exact


@implements("z3", "绝对值")
def _absolute(tr: Translator, e: ir.Call, where: Any) -> Any:
    a = tr.expr(e.args[0], where)
    return tr.ops.larger(a, -a)


class Translator:
    """IR → z3 for one copy of the case inputs (a second copy shares all but `own` inputs)."""

    def __init__(self, z3: Any, program: Program, variables: dict[str, Any], lines_as_unknowns: bool = False) -> None:
        self.z3 = z3
        self.program = program
        self.variables = variables  # input name → z3 term (already scaled to its unit)
        # For the properties (not the values of one case): an aggregation over a bill's lines is an unknown
        # real, so a property that holds whatever the sums are is proved; a model is then no case (docs/lints.md).
        self.lines_as_unknowns = lines_as_unknowns
        self.unknowns: list[str] = []  # the aggregations taken as unknowns, as written
        self.domain: list[Any] = []  # conditions for evaluation to succeed
        self.memo: dict[tuple[tuple[str, str], InstanceKey], Any] = {}  # (symbol, instance) → term
        self.calls: dict[tuple[Any, ...], Any] = {}  # (function, instance, argument terms) → term
        self.depth = 0
        self.work = 0  # sub-expressions translated, bounded by limits.PROVE_TERMS
        self.ops = Z3Ops(z3)

    def num(self, value: Decimal | int) -> Any:
        return self.z3.RealVal(str(Fraction(Decimal(value))))

    def piecewise_constant(self, term: Any) -> bool:
        """No numeric case input in the term (enumerations and truth values are fine)."""
        z3 = self.z3
        stack, seen = [term], set()
        while stack:
            t = stack.pop()
            if t.get_id() in seen:
                continue
            seen.add(t.get_id())
            if z3.is_const(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
                if t.decl().name().startswith("n:"):
                    return False
            stack.extend(t.children())
        return True

    def expr(self, e: ir.Expr, where: Any) -> Any:
        z3 = self.z3
        self.depth += 1
        self.work += 1
        if self.depth > 200:
            raise Unsupported("表达式嵌套过深")
        if self.work > PROVE_TERMS:
            raise Unsupported("要翻译的表达式过多")
        try:
            match e:
                case ir.Literal(kind=kind, value=value):
                    if kind is ir.LiteralKind.BOOL:
                        return z3.BoolVal(bool(value))
                    if kind is ir.LiteralKind.DATE:
                        raise Unsupported(f"用到了日期 {e.text}")
                    return self.num(value)  # type: ignore[arg-type]
                case ir.Name():
                    return self.name(e, where)
                case ir.Negate(operand=operand):
                    return -self.expr(operand, where)
                case ir.Arith(op=op, left=left, right=right):
                    a, b = self.expr(left, where), self.expr(right, where)
                    if op is ir.ArithOp.ADD:
                        return a + b
                    if op is ir.ArithOp.SUB:
                        return a - b
                    if op is ir.ArithOp.MUL:
                        if not (self.piecewise_constant(a) or self.piecewise_constant(b)):
                            raise Unsupported("两个随案例变化的数额相乘")
                        return a * b
                    if not self.piecewise_constant(b):
                        raise Unsupported("除以随案例变化的数额")
                    self.domain.append(b != 0)
                    return a / b
                case ir.Compare(op=op, left=left, right=right):
                    a, b = self.operands(left, right, where)
                    return self.ops.compare(op, a, b)
                case ir.Member(subject=subject, values=values, negated=negated):
                    s, enum_ = self.enum_term(subject, where)
                    held = z3.Or(*[s == enum_.index(v) for v in values if v in enum_]) if values else z3.BoolVal(False)
                    return z3.Not(held) if negated else held
                case ir.Between(subject=subject, low=low, high=high):
                    s = self.expr(subject, where)
                    return z3.And(self.expr(low, where) <= s, s <= self.expr(high, where))
                case ir.Logic(op=op, left=left, right=right):
                    a, b = self.expr(left, where), self.expr(right, where)
                    return z3.And(a, b) if op is ir.LogicOp.AND else z3.Or(a, b)
                case ir.Not(operand=operand):
                    return z3.Not(self.expr(operand, where))
                case ir.If(branches=branches, otherwise=otherwise):
                    result = self.expr(otherwise, where)
                    for branch in reversed(branches):
                        result = z3.If(self.expr(branch.condition, where), self.expr(branch.value, where), result)
                    return result
                case ir.Bounded(kind=kind, value=value, limit=limit):
                    a, b = self.expr(value, where), self.expr(limit, where)
                    return self.ops.smaller(a, b) if kind is ir.BoundKind.CAP else self.ops.larger(a, b)
                case ir.Call():
                    return self.call(e, where)
                case ir.Banded(subject=subject):
                    x = self.expr(subject, where)
                    table = []
                    for edge in bands.edges(e):
                        start = self.expr(edge.lower, where) if edge.lower is not None else self.ops.zero()
                        end = self.expr(edge.upper, where) if edge.upper is not None else None
                        rate = self.expr(edge.band.rate, where)
                        if not self.piecewise_constant(rate):
                            raise Unsupported("分段的比例随案例变化")
                        if edge.may_invert:  # an inverted band is an evaluation error (YB422): assumed not to occur
                            self.domain.append(z3.Not(bands.inverted(self.ops, start, end)))
                        table.append((start, end, rate))
                    return bands.total(self.ops, x, table, None)  # rounding modelled as exact
                case ir.Stepped(subject=subject, steps=steps, otherwise=otherwise):
                    x = self.expr(subject, where)
                    matches = [self.step_match(step, x, where) for step in steps]
                    results = [self.expr(step.result, where) for step in steps]
                    if otherwise is not None:
                        result = self.expr(otherwise, where)
                    else:
                        if not results:
                            raise Unsupported("分档没有任何一行")
                        self.domain.append(z3.Or(*matches))
                        result = results[-1]
                    for m, r in reversed(list(zip(matches, results, strict=True))):
                        result = z3.If(m, r, result)
                    return result
                case ir.Cases(subject=subject, rows=rows, otherwise=otherwise):
                    s, enum_ = self.enum_term(subject, where)
                    pairs = [(z3.Or(*[s == enum_.index(v) for v in row.values if v in enum_]), row.result)
                             for row in rows]
                    result = self.expr(otherwise, where) if otherwise is not None else self.expr(rows[-1].result, where)
                    for cond, value in reversed(pairs):
                        result = z3.If(cond, self.expr(value, where), result)
                    return result
                case ir.Table(keys=keys, columns=columns, rows=rows):
                    k1, e1 = self.enum_term(keys[0], where)
                    if len(keys) == 1:
                        result = self.expr(rows[-1].cells[0], where)
                        for row in reversed(rows):
                            if row.key in e1:
                                result = z3.If(k1 == e1.index(row.key), self.expr(row.cells[0], where), result)
                        return result
                    k2, e2 = self.enum_term(keys[1], where)
                    result = self.expr(rows[-1].cells[-1], where)
                    for row in reversed(rows):
                        for column, cell in reversed(list(zip(columns, row.cells, strict=False))):
                            if row.key in e1 and column in e2:
                                result = z3.If(z3.And(k1 == e1.index(row.key), k2 == e2.index(column)),
                                               self.expr(cell, where), result)
                    return result
                case ir.Aggregate(kind=kind, over=over, item=item):
                    # Lines of a bill and the claims of a run are not z3 variables (docs/itemized.md).
                    if over == FUND:
                        raise Unsupported(f"基金层的汇总 {kind.value}({FUND}…)")
                    if not self.lines_as_unknowns:
                        raise Unsupported(f"汇总明细行 {kind.value}({over}…)")
                    shown = f"{kind.value}({over}.{item})" if item else f"{kind.value}({over})"
                    # "#" keeps it out of a model's case (_case).  A second copy of the formulas (YB582) shares
                    # the unknown only when the claim inputs the lines read have the same terms in both copies.
                    read = sorted(n for n in depends_on(self.program, [(e, where)]) if n in self.variables)
                    terms = ",".join(f"{n}={self.variables[n]}" for n in read)
                    term = z3.Real(f"n:{shown}#{e.span.line}:{e.span.column}@{where.key}|{terms}")
                    if kind is ir.AggregateKind.COUNT:
                        self.domain.append(term >= 0)
                    else:
                        self.domain.extend(self.item_bounds(kind, term, over, item, where))
                    if shown not in self.unknowns:
                        self.unknowns.append(shown)
                    return term
                case ir.Lookup(catalog=catalog):
                    raise Unsupported(f"查目录 {catalog}（目录的数据不在证明之内）")
            raise Unsupported(f"不支持的写法 {type(e).__name__}")
        finally:
            self.depth -= 1

    def item_bounds(self, kind: ir.AggregateKind, term: Any, over: str, item: str | None, where: Any) -> list[Any]:
        """What a field's declared 范围 says of an aggregation of it: a sum of amounts ≥ 0 is ≥ 0, the largest
        and the smallest lie within the range (a per-line definition says nothing: it is any number)."""
        found = lookup(where.scope, ir.Name(item or "", over, ir.NO_SPAN)) if item else None
        decl = found.symbol.decl if found is not None else None
        if not isinstance(decl, ir.FieldDecl):
            return []
        low, high = (b.value if isinstance(b, ir.Literal) and isinstance(b.value, Decimal) else None
                     for b in (decl.range_low, decl.range_high))
        if kind is ir.AggregateKind.SUM:
            return [term >= 0] if low is not None and low >= 0 else []
        return [*([term >= self.num(low)] if low is not None else []),
                *([term <= self.num(high)] if high is not None else [])]

    def operands(self, left: ir.Expr, right: ir.Expr, where: Any) -> tuple[Any, Any]:
        """Both sides of a comparison; an enumeration value on one side is compared as its index."""
        for a, b in ((left, right), (right, left)):
            enum_ = self.enum_of(a, where)
            if enum_ is not None and isinstance(b, ir.Name) and b.name in enum_ and lookup(where.scope, b) is None:
                term, _ = self.enum_term(a, where)
                value = self.z3.IntVal(enum_.index(b.name))
                return (term, value) if a is left else (value, term)
        return self.expr(left, where), self.expr(right, where)

    def enum_of(self, e: ir.Expr, where: Any) -> list[str] | None:
        if isinstance(e, ir.Name):
            found = lookup(where.scope, e)
            if found is not None:
                type_ = self.program.types.get(found.symbol.key)
                if type_ is not None and type_.kind is Kind.ENUM and type_.enum is not None:
                    return list(type_.enum.values)
        return None

    def enum_term(self, e: ir.Expr, where: Any) -> tuple[Any, list[str]]:
        values = self.enum_of(e, where)
        if values is None:
            raise Unsupported("选项值来自计算而不是输入")
        return self.expr(e, where), values

    def step_match(self, step: ir.Step, x: Any, where: Any) -> Any:
        low = self.expr(step.low.value, where) if step.low is not None else None
        high = self.expr(step.high.value, where) if step.high is not None else None
        return bands.step_matches(self.ops, step, x, low, high)

    def call(self, e: ir.Call, where: Any) -> Any:
        name = e.function if e.qualifier is None else e.display
        if is_builtin(e):
            implement = implementation("z3", e.function)
            if implement is None:
                raise Unsupported(f"用到了函数 {name}")
            return implement(self, e, where)
        found = lookup(where.scope, e.callee)
        if found is None or found.symbol.kind is not SymbolKind.FUNCTION:
            raise Unsupported(f"用到了函数 {name}")
        decl = found.symbol.decl
        assert isinstance(decl, ir.FunctionDecl)
        inside = in_function(self.program, where, found, e)
        try:
            args = tuple(self.expr(a, where).get_id() for a in e.args)
        except Unsupported:
            return self.expr(decl.body, inside)
        # A body reads only its parameters (YB322): the same argument terms give the same term, so
        # f(x) + f(x) nested 30 deep is translated 30 times (z3 shares the subterm), not 2³⁰.
        key = (found.symbol.key, inside.key, args)
        term = self.calls.get(key)
        if term is None:
            term = self.calls[key] = self.expr(decl.body, inside)
        return term

    def name(self, e: ir.Name, where: Where) -> Any:
        if e.qualifier is None and e.name in where.params:
            arg, arg_where = where.params[e.name]
            return self.expr(arg, arg_where)
        found = lookup(where.scope, e)
        if found is None:
            raise Unsupported(f"无法解析“{e.display}”")
        inner = enter(self.program, where, found)
        symbol = found.symbol
        decl = symbol.decl
        if symbol.level == FUND:
            raise Unsupported(f"基金层的数“{symbol.name}”（每次运行算一次）")
        if symbol.level is not None:
            raise Unsupported(f"明细每行的数“{symbol.name}”")
        if isinstance(decl, ir.InputDecl):
            bound = bound_input(inner, symbol.name)
            if bound is not None:
                return self.expr(*bound)
            if symbol.name not in self.variables:
                type_ = self.program.types.get(symbol.key)
                raise Unsupported(f"输入“{symbol.name}”是 {type_.name if type_ else '未知类型'}")
            return self.variables[symbol.name]
        key = (symbol.key, inner.key)
        if key in self.memo:
            return self.memo[key]
        z3 = self.z3
        if isinstance(decl, ir.ParamDecl):
            if len(decl.versions) != 1 or decl.versions[0].start is not None:
                raise Unsupported(f"参数“{symbol.name}”按日期分版本")
            value = self.expr(decl.versions[0].value, inner)
        elif isinstance(decl, ir.Definition):
            value = self.expr(decl.expr, inner)
        else:
            raise Unsupported(f"“{symbol.name}”不是可以计算的数额")
        rules = self.program.exceptions.get(symbol.key, [])
        if rules:
            fired, results = [], []
            for rule_scope, rule in rules:
                read = rule_where(self.program, inner, rule_scope)
                fired.append(self.expr(rule.condition, read))
                results.append(self.expr(rule.value, read))
            guards = exception_rules.winner_guards(self.ops, fired, exception_rules.beaten_by([r for _, r in rules]))
            # A conflict (YB412) is an evaluation error: assumed not to occur, as every evaluation succeeds.
            self.domain.append(z3.Not(exception_rules.unresolved(self.ops, fired, guards)))
            for i in range(len(rules)):
                for j in range(i + 1, len(rules)):
                    self.domain.append(z3.Not(z3.And(guards[i], guards[j], results[i] != results[j])))
            for guard, result in reversed(list(zip(guards, results, strict=True))):
                value = z3.If(guard, result, value)
        self.memo[key] = value
        return value


# ------------------------------------------------------------------ the properties


def prove(program: Program) -> list[Diagnostic]:
    """Prove the assertions and payment properties of a checked program."""
    import z3  # type: ignore[import-untyped,import-not-found,unused-ignore]

    from yibaolang.analysis.lint import apply_config
    from yibaolang.analysis.lint.context import LintContext, load_config
    from yibaolang.analysis.lint.properties import input_only, payments
    from yibaolang.analysis.search import space

    config = load_config(program.project_root)
    ctx = LintContext(program, config)
    searched = space(program, config)
    found: list[Diagnostic] = []
    variables, assumptions = _variables(z3, searched)
    where = at_root(program)
    guards = [a for a in ctx.module.assertions if input_only(ctx, a.condition)]

    def base(tr: Translator) -> list[Any]:
        out = list(assumptions)
        for guard in guards:
            try:
                out.append(tr.expr(guard.condition, where))
            except Unsupported:
                pass
        return out

    for assertion in ctx.module.assertions:
        if assertion in guards:
            continue
        if is_fund_level(assertion.condition):
            # Checked once per batch run over every claim (docs/itemized.md §4): not a property of one case.
            what = f"断言“{assertion.message or _text(program, assertion.condition)}”"
            found.append(info("YB592", assertion.span, f"无法证明：{what}——{FUND_REASON}（不在分段线性片段内）",
                              "基金层的断言在批量运行中检查一次，结果写在汇总里", clause=assertion.clause))
            continue
        found.extend(_assertion(z3, program, searched, variables, base, where, assertion))
    for pay in payments(ctx, searched):
        ref = ir.Name(pay.name.split(".")[-1], pay.name.split(".")[0] if "." in pay.name else None, pay.span)
        basis = " + ".join(pay.expenses)
        tr = Translator(z3, program, variables, lines_as_unknowns=True)

        def bounded(tr: Translator = tr, ref: ir.Name = ref, pay: Any = pay) -> Any:
            total = tr.num(0)
            for e in pay.expenses:
                total = total + variables[e]
            return tr.expr(ref, where) <= total

        def confirm(case: Any, pay: Any = pay) -> bool:
            return _exceeds(searched, case, pay)

        def failure(case_text: str, pay: Any = pay, basis: str = basis) -> Diagnostic:
            return warning("YB581", pay.span, f"证明不成立（{EXACT}）：{pay.name} 可能超过 {basis}", case_text,
                           clause=pay.clause)

        found.extend(_decide(z3, program, searched, tr, base, bounded, f"{pay.name} 不超过 {basis}", pay.span,
                             pay.clause, confirm, failure))
        for expense in pay.expenses:
            found.extend(_monotone(z3, program, searched, variables, base, where, pay, ref, expense))
    return apply_config(found, program, config)


def _assertion(z3: Any, program: Program, searched: Any, variables: dict[str, Any],
               base: Callable[[Translator], list[Any]], where: Any, assertion: ir.Assertion) -> list[Diagnostic]:
    what = f"断言“{assertion.message or _text(program, assertion.condition)}”"
    tr = Translator(z3, program, variables, lines_as_unknowns=True)
    return _decide(
        z3, program, searched, tr, base, lambda: tr.expr(assertion.condition, where), what, assertion.span,
        assertion.clause, lambda case: _assertion_fails(searched, case, assertion),
        lambda case_text: error("YB580", assertion.span, f"证明不成立（{EXACT}）：{what}不是对所有案例成立",
                                case_text, clause=assertion.clause))


def _how(tr: Translator) -> str:
    """How a proof was made: rounding as exact arithmetic, and the bill's sums taken as any number."""
    return f"{EXACT}，{'、'.join(tr.unknowns)} 取任意值" if tr.unknowns else EXACT


def _unknown_lines(what: str, span: ir.Span, clause: str | None, tr: Translator) -> Diagnostic:
    return info("YB592", span, f"无法证明：{what}——把 {'、'.join(tr.unknowns)} 当作任意数时不成立，"
                               "而 z3 不知道明细行能给出哪些值（不在分段线性片段内）",
                "这一项仍由解释器逐个案例检查", clause)


def _variables(z3: Any, searched: Any) -> tuple[dict[str, Any], list[Any]]:
    """A z3 term per case input, and what the declarations assume about it."""
    variables: dict[str, Any] = {}
    assumptions: list[Any] = []
    for name, space in searched.inputs.items():
        kind = space.info.type.kind
        if kind is Kind.BOOL:
            variables[name] = z3.Bool(f"b:{name}")
        elif kind is Kind.ENUM:
            v = z3.Int(f"e:{name}")
            variables[name] = v
            assumptions += [v >= 0, v < len(space.candidates)]
        elif kind in _SCALE or kind in DURATIONS:
            scale = _SCALE.get(kind, 1)
            raw = z3.Int(f"n:{name}")
            term = z3.ToReal(raw) / scale if scale != 1 else z3.ToReal(raw)
            variables[name] = term
            if space.low is not None:
                assumptions.append(term >= z3.RealVal(str(Fraction(Decimal(space.low)))))
            if space.high is not None:
                assumptions.append(term <= z3.RealVal(str(Fraction(Decimal(space.high)))))
    return variables, assumptions


def _decide(z3: Any, program: Program, searched: Any, tr: Translator, base: Callable[[Translator], list[Any]],
            goal: Callable[[], Any], what: str, span: ir.Span, clause: str | None,
            confirm: Callable[[Any], bool], failure: Callable[[str], Diagnostic]) -> list[Diagnostic]:
    try:
        claim = goal()
    except Unsupported as exc:
        return [info("YB592", span, f"无法证明：{what}——{exc}（不在分段线性片段内）",
                     "这一项仍由反例搜索检查（YB58x）", clause)]
    solver = z3.Solver()
    solver.set("timeout", TIMEOUT_MS)
    solver.add(*base(tr), *tr.domain, z3.Not(claim))
    verdict = solver.check()
    if verdict == z3.unsat:
        return [info("YB590", span, f"已证明（{_how(tr)}）：{what}，对所有案例成立", "", clause)]
    if verdict != z3.sat:
        return [info("YB592", span, f"无法证明：{what}——z3 在时限内没有结论", "这一项仍由反例搜索检查（YB58x）", clause)]
    if tr.unknowns:
        return [_unknown_lines(what, span, clause, tr)]
    case = _case(searched, solver.model())
    from yibaolang.analysis.search import counterexample_hint

    if confirm(case):
        return [failure(counterexample_hint("z3 找到的反例（已用解释器按分舍入重算确认）：",
                                            searched.case_yaml(case, searched.needed_inputs([]) | set(case.values))))]
    return [info("YB592", span, f"无法证明：{what}——z3 的反例只在不舍入时成立，按分舍入后不成立", "", clause)]


def _monotone(z3: Any, program: Program, searched: Any, variables: dict[str, Any], base: Callable[..., list[Any]],
              where: Any, pay: Any, ref: ir.Name, expense: str) -> list[Diagnostic]:
    """Two copies of the formulas that differ in `expense` only: more expense never pays less."""
    from yibaolang.analysis.search import SearchCase, counterexample_hint

    low_tr = Translator(z3, program, variables, lines_as_unknowns=True)
    raw = z3.Int(f"n:{expense}#2")
    high_tr = Translator(z3, program, {**variables, expense: z3.ToReal(raw) / _SCALE[Kind.MONEY]},
                         lines_as_unknowns=True)
    what = f"{expense} 增加时 {pay.name} 不减少"
    try:
        high_pay, low_pay = high_tr.expr(ref, where), low_tr.expr(ref, where)
    except Unsupported as exc:
        return [info("YB592", pay.span, f"无法证明：{what}——{exc}（不在分段线性片段内）",
                     "这一项仍由反例搜索检查（YB58x）", pay.clause)]
    solver = z3.Solver()
    solver.set("timeout", TIMEOUT_MS)
    solver.add(*base(low_tr), *base(high_tr), *low_tr.domain, *high_tr.domain,
               high_tr.variables[expense] > variables[expense], z3.Not(high_pay >= low_pay))
    verdict = solver.check()
    if verdict == z3.unsat:
        return [info("YB590", pay.span, f"已证明（{_how(low_tr)}）：{what}，对所有案例成立", "", pay.clause)]
    if verdict != z3.sat:
        return [info("YB592", pay.span, f"无法证明：{what}——z3 在时限内没有结论", "", pay.clause)]
    if low_tr.unknowns:
        return [_unknown_lines(what, pay.span, pay.clause, low_tr)]
    # Exact arithmetic may find a drop smaller than the rounding: ask again for a
    # drop of at least one 分, then one 元, which survives rounding to the 分.
    found = None
    for margin in (None, Decimal("0.01"), Decimal(1)):
        if margin is not None:
            solver.add(low_pay - high_pay >= low_tr.num(margin))
            if solver.check() != z3.sat:
                break
        model = solver.model()
        case = _case(searched, model)
        high_value = _model_value(model, raw, Kind.MONEY)
        if _falls(searched, case, pay, expense, high_value):
            found = case, high_value
            break
    if found is None:
        return [info("YB592", pay.span, f"无法证明：{what}——z3 的反例只在不舍入时成立，按分舍入后不成立", "",
                     pay.clause)]
    case, high_value = found
    high_case = SearchCase({**case.values, expense: high_value}, case.date)
    money = searched.inputs[expense].info.type
    from yibaolang.analysis.search import case_value_text

    low_text, high_text = case_value_text(money, case.values[expense]), case_value_text(money, high_value)
    return [warning("YB582", pay.span, f"证明不成立（{EXACT}）：{what}不是对所有案例成立",
                    counterexample_hint(f"z3 找到的反例（已用解释器确认）：{expense} 从 {low_text} 增至 {high_text} 时 "
                                        f"{pay.name} 减少",
                                        searched.case_yaml(high_case, searched.needed_inputs([]) | set(case.values),
                                                           f"{expense} = {high_text}；改为 {low_text} 时 {pay.name} 更多")),
                    clause=pay.clause)]


def _model_value(model: Any, raw: Any, kind: Kind) -> Any:
    value = model.eval(raw, model_completion=True).as_long()
    scale = _SCALE.get(kind, 1)
    return Decimal(value) / scale if scale != 1 else (int(value) if kind in DURATIONS else Decimal(value))


def _case(searched: Any, model: Any) -> Any:
    """The model as a case: every input (those z3 left free take their typical value)."""
    import z3

    from yibaolang.analysis.search import SearchCase

    values = searched.typical_values()
    for decl in model.decls():
        name = decl.name()
        tag, _, input_name = name.partition(":")
        if "#" in input_name or input_name not in searched.inputs:
            continue
        space = searched.inputs[input_name]
        term = model[decl]
        if tag == "b":
            values[input_name] = z3.is_true(term)
        elif tag == "e":
            values[input_name] = space.candidates[term.as_long()]
        elif tag == "n":
            kind = space.info.type.kind
            scale = _SCALE.get(kind, 1)
            values[input_name] = int(term.as_long()) if kind in DURATIONS else Decimal(term.as_long()) / scale
    return SearchCase(values, searched.dates[-1])


def _assertion_fails(searched: Any, case: Any, assertion: ir.Assertion) -> bool:
    outcome = searched.run(case, [])
    return any(d.code == "YB415" and d.span == assertion.span for d in outcome.diagnostics)


def _exceeds(searched: Any, case: Any, pay: Any) -> bool:
    outcome = searched.run(case, [pay.name])
    out = next((o for o in outcome.outputs if o.name == pay.name and o.ok), None)
    if out is None:
        return False
    return bool(out.value > sum((Decimal(case.values[e]) for e in pay.expenses), Decimal(0)))


def _falls(searched: Any, case: Any, pay: Any, expense: str, high_value: Any) -> bool:
    from yibaolang.analysis.search import SearchCase

    low = searched.run(case, [pay.name])
    high = searched.run(SearchCase({**case.values, expense: high_value}, case.date), [pay.name])
    a = next((o.value for o in low.outputs if o.ok), None)
    b = next((o.value for o in high.outputs if o.ok), None)
    return a is not None and b is not None and b < a


def _text(program: Program, expr: ir.Expr) -> str:
    from yibaolang.analysis.search import source_text
    from yibaolang.ir.printer import expr_text

    return source_text(program, expr.span) or expr_text(expr)
