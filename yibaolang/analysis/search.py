"""The counterexample search shared by the semantic lints (YB54x, YB57x, YB58x).

A program's case inputs get candidate values from what the policy itself
makes interesting, and cases are built from those candidates with a covering
design rather than the full cartesian product, deterministically:

- critical points: every band or step bound, every amount compared against an
  input, every kink of 取较小/取较大/封顶/保底, carried back to the input through
  the piecewise-linear arithmetic between them (so `(费用 - 起付线) × 90% 封顶 2万元`
  yields 起付线 and 起付线 + 2万元 ÷ 90% for 费用), each ± one 分 (± 1 for
  durations);
- every enumeration value, both truth values, the declared 范围 ends, the 默认,
  zero, and seeded random points (`search-points`, `seed` in [tool.yibaolang]).

`Space.lines` sweeps one numeric input over all its candidates, in ascending
order, against several backgrounds (every combination of the discrete inputs,
or a pairwise covering set when there are too many; other numeric inputs take
rotating candidates), so consecutive cases of a line differ in that input only
(monotonicity).  `Space.points` adds the random cases.  A case assigns every
declared input, so it can be written out as a ready-to-run case file.

>>> from yibaolang.ir.types import MONEY
>>> case_value_text(MONEY, Decimal("150000"))
'15万元'
>>> case_value_text(MONEY, Decimal("12345.6"))
'12345.6元'
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import random
import weakref
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.analysis.lint.context import LintConfig, money_text
from yibaolang.checks.resolve import ModuleScope, Program, SymbolKind, lookup
from yibaolang.diagnostics import Diagnostic
from yibaolang.engines.cases import InputInfo, declared_inputs
from yibaolang.ir.types import DURATIONS, Kind, Type
from yibaolang.ir.walk import children, walk
from yibaolang.semantics import bands as band_rules
from yibaolang.semantics.builtins import BUILTINS, is_builtin
from yibaolang.semantics.instances import Instance, InstanceKey, Instances
from yibaolang.semantics.levels import FUND, level_of, scoped_names
from yibaolang.semantics.limits import MAX_MAGNITUDE, SEARCH_FORMS, SEARCH_STEPS
from yibaolang.semantics.ops import PythonLogic

CENT = Decimal("0.01")
MAX_DISCRETE_COMBINATIONS = 48
MAX_FORMS = 24
MAX_POINTS = 24  # critical points kept per input
CASE_BUDGET = 4000  # evaluations of the swept lines for one program
COUNTEREXAMPLE_MARK = "反例案例文件（YAML）："

# ------------------------------------------------------------------ case inputs


def case_inputs(program: Program) -> dict[str, InputInfo]:
    """Every input a case may give (as `run` reads them), leaving out any whose type is unknown."""
    return {name: info for name, info in declared_inputs(program).items() if info.type.kind is not Kind.ERROR}


# ------------------------------------------------------------------ dependencies


_TREES: weakref.WeakKeyDictionary[Program, Instances[ModuleScope]] = weakref.WeakKeyDictionary()


def instances(program: Program) -> Instances[ModuleScope]:
    """The import instances of a program (one tree per program, shared by the search and the prover)."""
    found = _TREES.get(program)
    if found is None:
        found = _TREES[program] = Instances(program)
    return found


@attrs.frozen(slots=True, eq=False)
class Where:
    """Where an expression is read: the instance of its module (which 引用 and 代入 reached it), and
    the parameters of the function body it belongs to."""

    inst: Instance[ModuleScope]
    params: dict[str, tuple[ir.Expr, Where]] = attrs.field(factory=dict)

    @property
    def scope(self) -> ModuleScope:
        return self.inst.scope

    @property
    def key(self) -> InstanceKey:
        """Stable across runs and processes: what memos are keyed on (never an `id()`)."""
        return self.inst.key


def at_root(program: Program) -> Where:
    return Where(instances(program).root)


def enter(program: Program, where: Where, found: Any) -> Where:
    """The Where of a symbol reached from `where` (through an import when `found.via` is set)."""
    tree = instances(program)
    if found.via is not None:
        return Where(tree.child(where.inst, found.via))
    scope = program.modules.get(found.symbol.module)
    if scope is None or scope is where.scope:
        return Where(where.inst)
    return Where(tree.of_scope(scope))


def bound_input(where: Where, name: str) -> tuple[ir.Expr, Where] | None:
    """The 代入 expression giving input `name` in this instance, and where it is read."""
    found = where.inst.binding(name)
    if found is None:
        return None
    binding, parent = found
    return binding.value, Where(parent)


def rule_where(program: Program, where: Where, rule_scope: ModuleScope) -> Where:
    """Where an 例外 declared in `rule_scope` is read for a figure of `where`'s instance."""
    inst = where.inst.enclosing(rule_scope)
    return Where(inst if inst is not None else instances(program).of_scope(rule_scope))


def in_function(program: Program, where: Where, found: Any, call: ir.Call) -> Where:
    """Where the body of the declared function `found` is read for `call` (its parameters bound)."""
    decl = found.symbol.decl
    assert isinstance(decl, ir.FunctionDecl)
    inner = enter(program, where, found)
    return Where(inner.inst, {p.name: (a, where) for p, a in zip(decl.params, call.args, strict=False)})


def depends_on(program: Program, roots: Iterable[tuple[ir.Expr, Where]]) -> set[str]:
    """The case inputs the expressions read, through definitions, parameters, exceptions,
    functions, defaults and imports' 代入.

    Names are resolved at the level they are read at (semantics/levels.scoped_names): a
    per-line definition reads its list's fields, and an aggregation over a list reads that
    list input (its name is among the result, as is a 全体. input's "全体.名称").
    """
    inputs: set[str] = set()
    seen: set[tuple[tuple[str, str], InstanceKey]] = set()
    stack: list[tuple[ir.Expr, Where, str | None]] = [(e, w, None) for e, w in roots]
    while stack:
        expr, where, within = stack.pop()
        for node, level in scoped_names(expr, within):
            if node.qualifier is None and node.name in where.params:
                stack.append((*where.params[node.name], None))
                continue
            found = lookup(where.scope, node, level)
            if found is None:
                continue
            inner = enter(program, where, found)
            symbol = found.symbol
            key = (symbol.key, inner.key)
            if key in seen:
                continue
            seen.add(key)
            decl = symbol.decl
            if symbol.level in where.scope.lists:
                inputs.add(symbol.level)  # a line figure is read from its list input
            if isinstance(decl, ir.FieldDecl):
                if decl.default is not None:
                    stack.append((decl.default, inner, symbol.level))
            elif isinstance(decl, ir.InputDecl):
                bound = bound_input(inner, symbol.name)
                if bound is not None:
                    stack.append((*bound, None))
                else:
                    inputs.add(symbol.name)
                    if decl.default is not None:
                        stack.append((decl.default, inner, None))
            elif isinstance(decl, ir.Definition):
                stack.append((decl.expr, inner, decl.scope))
            elif isinstance(decl, ir.ParamDecl):
                stack.extend((v.value, inner, None) for v in decl.versions)
            for rule_scope, rule in program.exceptions.get(symbol.key, []):
                read = rule_where(program, inner, rule_scope)
                stack.append((rule.condition, read, symbol.level))
                stack.append((rule.value, read, symbol.level))
        for sub in walk(expr):
            if isinstance(sub, ir.Aggregate) and sub.over in where.scope.lists:
                inputs.add(sub.over)  # 计数(明细) reads the list itself
            if not isinstance(sub, ir.Call):
                continue
            found = lookup(where.scope, sub.callee)
            if found is None or found.symbol.kind is not SymbolKind.FUNCTION:
                continue
            decl = found.symbol.decl
            assert isinstance(decl, ir.FunctionDecl)
            inside = in_function(program, where, found, sub)
            # The arguments were walked here already and a body reads only its parameters
            # (YB322), so one walk of each body is enough (else f(x) + f(x) nested 30 deep is 2³⁰).
            body_key = (found.symbol.key, inside.key)
            if body_key in seen:
                continue
            seen.add(body_key)
            stack.append((decl.body, inside, None))
    return inputs


# ------------------------------------------------------------------ critical points

# An affine form: coefficients by input name, and a constant.
Form = tuple[tuple[tuple[str, Decimal], ...], Decimal]


def _form(coeffs: dict[str, Decimal], const: Decimal) -> Form:
    return (tuple(sorted((k, v) for k, v in coeffs.items() if v != 0)), const)


def _add(a: Form, b: Form, sign: int = 1) -> Form:
    coeffs = dict(a[0])
    for k, v in b[0]:
        coeffs[k] = coeffs.get(k, Decimal(0)) + sign * v
    return _form(coeffs, a[1] + sign * b[1])


def _scale(a: Form, factor: Decimal) -> Form:
    return _form({k: v * factor for k, v in a[0]}, a[1] * factor)


def _constant(forms: list[Form] | None) -> list[Decimal] | None:
    if forms is None or any(f[0] for f in forms):
        return None
    return [f[1] for f in forms]


class CriticalPoints:
    """Walks every expression of a program, computing the affine forms (in the case inputs)
    each sub-expression can take, and records where two compared or combined forms meet."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.points: dict[str, set[Decimal]] = {}
        self.memo: dict[tuple[tuple[str, str], InstanceKey], list[Form] | None] = {}
        self.calls: dict[tuple[Any, ...], list[Form] | None] = {}
        self.active: set[tuple[tuple[str, str], InstanceKey]] = set()
        self.depth = 0
        self.work = 0  # sub-expressions visited, bounded by SEARCH_FORMS

    def run(self) -> dict[str, set[Decimal]]:
        # Every instance the root reaches (each 引用 with its 代入), then any module no instance evaluates.
        tree = instances(self.program)
        reached = list(tree.walk())
        evaluated = {id(inst.scope) for inst in reached}
        wheres = [Where(inst) for inst in reached]
        wheres += [Where(tree.of_scope(scope)) for scope in self.program.modules.values()
                   if id(scope) not in evaluated]
        for where in wheres:
            m = where.scope.module
            # A line or fund figure is not an affine form of one case's inputs (docs/itemized.md): its
            # bare names are a line's fields, and the search builds no lines.
            exprs: list[ir.Expr] = [d.expr for d in m.definitions if d.scope is None]
            exprs += [v.value for p in m.params for v in p.versions]
            exprs += [e for r in m.exceptions for e in (r.condition, r.value)]
            exprs += [a.condition for a in m.assertions]
            exprs += [b.value for imp in m.imports for b in imp.bindings]
            for expr in exprs:
                self.forms(expr, where)
        return self.points

    def meet(self, a: list[Form] | None, b: list[Form] | None) -> None:
        """Record the points where a form of `a` equals a form of `b`, when one input decides it."""
        if a is None or b is None:
            return
        for fa in a[:MAX_FORMS]:
            for fb in b[:MAX_FORMS]:
                diff = _add(fa, fb, -1)
                # With several inputs, each one's point is taken with the others at zero
                # (their usual default: nothing paid yet, no years of break).
                for name, coeff in diff[0][:3]:
                    try:
                        self.points.setdefault(name, set()).add(-diff[1] / coeff)
                    except decimal.DecimalException:
                        pass

    def forms(self, expr: ir.Expr, where: Where) -> list[Form] | None:
        self.depth += 1
        self.work += 1
        try:
            if self.depth > 60 or self.work > SEARCH_FORMS:
                return None
            with decimal.localcontext() as c:
                c.prec = 28
                c.traps[decimal.InvalidOperation] = False
                return self._forms(expr, where)
        finally:
            self.depth -= 1

    def _visit(self, exprs: Iterable[ir.Expr], where: Where) -> None:
        for e in exprs:
            self.forms(e, where)

    def _forms(self, expr: ir.Expr, where: Where) -> list[Form] | None:
        match expr:
            case ir.Literal(value=value):
                if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
                    return [_form({}, Decimal(value))]
                return None
            case ir.Name():
                return self.name(expr, where)
            case ir.Negate(operand=operand):
                inner = self.forms(operand, where)
                return None if inner is None else [_scale(f, Decimal(-1)) for f in inner]
            case ir.Arith(op=op, left=left, right=right):
                a, b = self.forms(left, where), self.forms(right, where)
                if a is None or b is None:
                    return None
                if op in (ir.ArithOp.ADD, ir.ArithOp.SUB):
                    sign = 1 if op is ir.ArithOp.ADD else -1
                    return [_add(x, y, sign) for x, y in itertools.islice(itertools.product(a, b), MAX_FORMS)]
                if op is ir.ArithOp.MUL:
                    ca, cb = _constant(a), _constant(b)
                    if cb is not None:
                        return [_scale(x, k) for x, k in itertools.islice(itertools.product(a, cb), MAX_FORMS)]
                    if ca is not None:
                        return [_scale(y, k) for k, y in itertools.islice(itertools.product(ca, b), MAX_FORMS)]
                    return None
                cb = _constant(b)
                if cb is None or any(k == 0 for k in cb):
                    return None
                return [_scale(x, 1 / k) for x, k in itertools.islice(itertools.product(a, cb), MAX_FORMS)]
            case ir.Compare(left=left, right=right):
                self.meet(self.forms(left, where), self.forms(right, where))
                return None
            case ir.Between(subject=subject, low=low, high=high):
                s = self.forms(subject, where)
                self.meet(s, self.forms(low, where))
                self.meet(s, self.forms(high, where))
                return None
            case ir.Member() | ir.Logic() | ir.Not():
                self._visit(children(expr), where)
                return None
            case ir.If(branches=branches, otherwise=otherwise):
                self._visit((b.condition for b in branches), where)
                return self.union([*(b.value for b in branches), otherwise], where)
            case ir.Bounded(value=value, limit=limit):
                a, b = self.forms(value, where), self.forms(limit, where)
                self.meet(a, b)
                return None if a is None or b is None else (a + b)[:MAX_FORMS]
            case ir.Call():
                return self.call(expr, where)
            case ir.Banded():
                return self.banded(expr, where)
            case ir.Stepped(subject=subject, steps=steps, otherwise=otherwise):
                s = self.forms(subject, where)
                for step in steps:
                    for bound in (step.low, step.high):
                        if bound is not None:
                            self.meet(s, self.forms(bound.value, where))
                return self.union([*(st.result for st in steps), *([otherwise] if otherwise else [])], where)
            case ir.Cases(subject=subject, rows=rows, otherwise=otherwise):
                self.forms(subject, where)
                return self.union([*(r.result for r in rows), *([otherwise] if otherwise else [])], where)
            case ir.Table(keys=keys, rows=rows):
                self._visit(keys, where)
                return self.union([c for r in rows for c in r.cells], where)
        return None

    def union(self, exprs: Sequence[ir.Expr], where: Where) -> list[Form] | None:
        out: list[Form] = []
        unknown = False
        for e in exprs:
            got = self.forms(e, where)
            if got is None:
                unknown = True
            elif len(out) < MAX_FORMS:
                out.extend(f for f in got if f not in out)
        return None if unknown else out[:MAX_FORMS]

    def name(self, expr: ir.Name, where: Where) -> list[Form] | None:
        if expr.qualifier is None and expr.name in where.params:
            arg, arg_where = where.params[expr.name]
            return self.forms(arg, arg_where)
        found = lookup(where.scope, expr)
        if found is None:
            return None
        inner = enter(self.program, where, found)
        symbol = found.symbol
        decl = symbol.decl
        if isinstance(decl, ir.InputDecl):
            bound = bound_input(inner, symbol.name)
            if bound is not None:
                return self.forms(*bound)
            type_ = self.program.types.get(symbol.key)
            if type_ is None or not type_.is_numeric:
                return None
            return [_form({symbol.name: Decimal(1)}, Decimal(0))]
        key = (symbol.key, inner.key)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            return None
        self.active.add(key)
        try:
            result: list[Form] | None = None
            if isinstance(decl, ir.Definition):
                result = self.forms(decl.expr, inner)
            elif isinstance(decl, ir.ParamDecl):
                result = self.union([v.value for v in decl.versions], inner)
            for rule_scope, rule in self.program.exceptions.get(symbol.key, []):
                read = rule_where(self.program, inner, rule_scope)
                self.forms(rule.condition, read)
                extra = self.forms(rule.value, read)
                result = None if result is None or extra is None else (result + extra)[:MAX_FORMS]
        finally:
            self.active.discard(key)
        self.memo[key] = result
        return result

    def call(self, expr: ir.Call, where: Where) -> list[Form] | None:
        args = [self.forms(a, where) for a in expr.args]
        builtin = BUILTINS.get(expr.function) if is_builtin(expr) else None
        if builtin is not None and builtin.passes_unrounded:  # 取较小, 取较大 (arguments meet), 绝对值 (a = −a)
            if len(args) == 1:
                negated = None if args[0] is None else [_scale(f, Decimal(-1)) for f in args[0]]
                args = [args[0], negated]
            for a, b in itertools.combinations(args, 2):
                self.meet(a, b)
            if any(a is None for a in args):
                return None
            return [f for a in args if a for f in a][:MAX_FORMS]
        if builtin is not None and builtin.unit_argument:  # 四舍五入: the value, rounded
            return args[0] if args else None
        found = lookup(where.scope, expr.callee)
        if found is None or found.symbol.kind is not SymbolKind.FUNCTION:
            return None
        decl = found.symbol.decl
        assert isinstance(decl, ir.FunctionDecl)
        inside = in_function(self.program, where, found, expr)
        # A body's forms depend only on its arguments' forms (YB322): memoised, f(x) + f(x)
        # nested 30 deep is walked 30 times, not 2³⁰.
        key = (found.symbol.key, inside.key, tuple(None if a is None else tuple(a) for a in args))
        if key in self.calls:
            return self.calls[key]
        result = self.calls[key] = self.forms(decl.body, inside)
        return result

    def banded(self, expr: ir.Banded, where: Where) -> list[Form] | None:
        subject = self.forms(expr.subject, where)
        table: list[tuple[Form, Form | None, Form]] = []
        known = True
        for edge in band_rules.edges(expr):
            ends: list[Form | None] = []
            if edge.may_invert and edge.lower is not None and edge.upper is not None:
                # where the band would invert (YB422): its two edges meet
                self.meet(self.forms(edge.lower, where), self.forms(edge.upper, where))
            for bound in (edge.lower, edge.upper):
                if bound is None:
                    ends.append(None)
                    continue
                got = self.forms(bound, where)
                self.meet(subject, got)
                values = _constant(got)
                known = known and values is not None and len(values) == 1
                ends.append(_form({}, values[0]) if values and len(values) == 1 else None)
            rates = _constant(self.forms(edge.band.rate, where))
            if rates is None or len(rates) != 1:
                known = False
                continue
            table.append((ends[0] or _form({}, Decimal(0)), ends[1], _form({}, rates[0])))
        if not known or subject is None:
            return None
        # One affine form per region of the subject: below every band, inside band k, above the last one.
        regions = list(range(len(table)))
        if table and expr.bands[0].lower is not None:
            regions.insert(0, -1)
        if table and table[-1][1] is not None:
            regions.append(len(table))
        out: list[Form] = []
        for s in subject[:4]:
            for region in regions:
                out.append(band_rules.total(_RegionOps(region), s, table, None))
        return out[:MAX_FORMS]


class _RegionOps(PythonLogic):
    """`Ops` over affine forms for the band rule (semantics.bands) with the subject inside one known region:
    bands below the region are full, the region's band is partial, bands above are empty."""

    def __init__(self, region: int) -> None:
        self.region = region
        self.band = 0

    def zero(self) -> Form:
        return _form({}, Decimal(0))

    def add(self, a: Form, b: Form) -> Form:
        return _add(a, b)

    def sub(self, a: Form, b: Form) -> Form:
        return _add(a, b, -1)

    def mul(self, a: Form, b: Form) -> Form:
        return _scale(a, b[1]) if not b[0] else _scale(b, a[1])

    def clamp(self, x: Form, low: Form, high: Form | None) -> Form:
        band, self.band = self.band, self.band + 1
        if band < self.region:
            return high if high is not None else x
        return x if band == self.region else low

    def round(self, a: Form, places: int | None) -> Form:
        return a

    def compare(self, op: ir.CompareOp, a: Form, b: Form) -> bool:
        raise NotImplementedError  # the band total compares nothing


# ------------------------------------------------------------------ candidates


def _const_value(program: Program, scope: ModuleScope, expr: ir.Expr | None) -> Any:
    if expr is None:
        return None
    from yibaolang.engines.evaluate import evaluator_for

    try:
        return evaluator_for(program, False).constant(scope, expr)
    except Exception:  # a bound that reads the case: not a constant
        return None


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


_DURATION_WORD = {Kind.YEARS: "年", Kind.MONTHS: "个月", Kind.DAYS: "日"}


def case_value_text(type_: Type, value: Any) -> str:
    """A value as a typed string of a case file: "15万元", "50%", "3个月", "三级", "是"."""
    kind = type_.kind
    if kind is Kind.MONEY:
        return money_text(Decimal(value))
    if kind is Kind.RATIO:
        return f"{_plain(Decimal(value) * 100)}%"
    if kind in _DURATION_WORD:
        return f"{value}{_DURATION_WORD[kind]}"
    if kind is Kind.DATE:
        return str(value.isoformat())
    if kind is Kind.BOOL:
        return "是" if value else "否"
    if kind is Kind.NUMBER:
        return _plain(Decimal(value))
    return str(value)


@attrs.define
class InputSpace:
    info: InputInfo
    candidates: list[Any]  # ascending for numbers; every value for discrete inputs
    typical: Any
    low: Any = None
    high: Any = None

    @property
    def discrete(self) -> bool:
        return self.info.type.kind in (Kind.ENUM, Kind.BOOL)


@attrs.frozen(slots=True)
class SearchCase:
    values: dict[str, Any]
    date: dt.date | None
    varied: str | None = None  # the input a line sweeps


@attrs.frozen(slots=True)
class Line:
    varied: str
    cases: tuple[SearchCase, ...]


class Space:
    """The candidate values of a program's case inputs, and the cases built from them."""

    def __init__(self, program: Program, config: LintConfig) -> None:
        self.program = program
        self.config = config
        self.steps = 0  # evaluation steps spent on the search's cases
        self.infos = case_inputs(program)
        self.critical = CriticalPoints(program).run()
        self.inputs: dict[str, InputSpace] = {}
        for name, info in self.infos.items():
            space = self._space(info) if level_of(name) != FUND else None
            if space is not None:
                self.inputs[name] = space
        self.dates = self._dates()
        self._lines: dict[frozenset[str], list[Line]] = {}
        self._points: dict[frozenset[str], list[SearchCase]] = {}

    # -------------------------------------------------------------- per input

    def _space(self, info: InputInfo) -> InputSpace | None:
        kind = info.type.kind
        if kind is Kind.ENUM:
            names = list(info.type.enum.values) if info.type.enum is not None else []
            default = _const_value(self.program, info.scope, info.decl.default)
            typical = default if default in names else (names[0] if names else None)
            return InputSpace(info, list(names), typical) if names else None
        if kind is Kind.BOOL:
            default = _const_value(self.program, info.scope, info.decl.default)
            return InputSpace(info, [False, True], default if isinstance(default, bool) else False)
        if kind is Kind.DATE:
            return self._date_space(info)
        if not info.type.is_numeric:
            return None
        integral = kind in DURATIONS
        step = Decimal(1) if integral else (CENT if kind is Kind.MONEY else
                                            Decimal("0.0001") if kind is Kind.RATIO else CENT)
        low = _const_value(self.program, info.scope, info.decl.range_low)
        high = _const_value(self.program, info.scope, info.decl.range_high)
        default = _const_value(self.program, info.scope, info.decl.default)
        if low is None and kind in (Kind.MONEY, *DURATIONS):
            low = 0
        raw: set[Decimal] = {Decimal(0)}
        points = sorted(self.critical.get(info.name, ()))
        if len(points) > MAX_POINTS:  # keep an even spread, the lowest and the highest
            points = [points[round(i * (len(points) - 1) / (MAX_POINTS - 1))] for i in range(MAX_POINTS)]
        for point in points:
            raw.update({point - step, point, point + step})
        for value in (low, high, default):
            if value is not None:
                raw.add(Decimal(value))
        if kind is Kind.RATIO:
            raw.update({Decimal("0.5"), Decimal(1)})
        values: set[Any] = set()
        for value in raw:
            for v in _snap(value, kind):
                if (low is None or v >= low) and (high is None or v <= high):
                    values.add(v)
        ordered = sorted(values)
        if not ordered:
            return None
        if default is not None and default in values:
            typical = default
        else:
            positive = [v for v in ordered if v > 0] or ordered
            typical = positive[len(positive) // 2]
        return InputSpace(info, ordered, typical, low, high)

    def _date_space(self, info: InputInfo) -> InputSpace:
        dates: set[dt.date] = set()
        for scope in self.program.modules.values():
            header = scope.module.header
            if header is not None:
                dates.update(d for d in (header.effective, header.published, header.expires) if d is not None)
            for param in scope.module.params:
                dates.update(v.start for v in param.versions if v.start is not None)
        default = _const_value(self.program, info.scope, info.decl.default)
        if isinstance(default, dt.date):
            dates.add(default)
        if not dates:
            dates.add(dt.date(2025, 1, 1))
        ordered = sorted(dates | {d + dt.timedelta(days=1) for d in dates} | {d - dt.timedelta(days=1) for d in dates})
        typical = default if isinstance(default, dt.date) else ordered[len(ordered) // 2]
        return InputSpace(info, ordered, typical)

    def _dates(self) -> list[dt.date | None]:
        """计算日期s to search: each dated parameter version (within the policy's dates), else the default."""
        header = self.program.root.module.header
        effective = header.effective if header is not None else None
        expires = header.expires if header is not None else None
        starts: set[dt.date] = set()
        for scope in self.program.modules.values():
            for param in scope.module.params:
                starts.update(v.start for v in param.versions if v.start is not None)
        if not starts:
            return [None]
        chosen = {d for d in starts if (effective is None or d >= effective) and (expires is None or d < expires)}
        if effective is not None:
            chosen.add(effective)
        out: list[dt.date | None] = [*sorted(chosen)]
        return out or [None]

    # -------------------------------------------------------------- cases

    def typical_values(self) -> dict[str, Any]:
        return {name: space.typical for name, space in self.inputs.items()}

    def backgrounds(self, relevant: frozenset[str]) -> list[tuple[dict[str, Any], dt.date | None]]:
        """Assignments of the relevant discrete inputs (and 计算日期): all combinations, or pairwise cover."""
        discrete = [n for n in self.inputs if n in relevant and self.inputs[n].discrete]
        axes: list[list[Any]] = [self.inputs[n].candidates for n in discrete]
        axes.append(list(self.dates))
        total = 1
        for axis in axes:
            total *= len(axis)
        if total <= MAX_DISCRETE_COMBINATIONS:
            rows = [list(r) for r in itertools.product(*axes)]
        else:
            rows = _pairwise(axes)
        return [({n: row[i] for i, n in enumerate(discrete)}, row[-1]) for row in rows]

    def outside(self, relevant: Iterable[str]) -> str | None:
        """Why the search builds no case for these inputs, or None (docs/itemized.md).

        A searched case is one claim with a value for each input: the search builds no
        lines of a 列表 input, no 文本 codes (catalog keys), and no 全体. input (given
        once per run).  `lines` and `points` are empty then: no finding, never a guess.
        """
        for name in sorted(relevant):
            info = self.infos.get(name)
            if info is None:
                continue
            if level_of(name) == FUND:
                return f"读到基金层的输入 {name}：基金层的数每次运行算一次，搜索只构造单个案例"
            if info.type.kind is Kind.LIST:
                return f"读到列表输入 {name}：搜索不构造明细行"
            if name not in self.inputs:
                return f"读到输入 {name}（{info.type.name}）：搜索没有它的候选值"
        return None

    def lines(self, relevant: Iterable[str]) -> list[Line]:
        """For each relevant numeric input, its candidates swept against every background."""
        relevant = set(relevant)
        if self.outside(relevant) is not None:
            return []
        key = frozenset(n for n in relevant if n in self.inputs)
        if key in self._lines:
            return self._lines[key]
        backgrounds = self.backgrounds(key)
        numeric = [n for n in self.inputs if n in key and not self.inputs[n].discrete]
        sweep = sum(len(self.inputs[n].candidates) for n in numeric) or 1
        per_input = len(backgrounds)
        if sweep * len(backgrounds) > CASE_BUDGET:
            per_input = max(1, CASE_BUDGET // sweep)
        base = self.typical_values()
        out: list[Line] = []
        for i, name in enumerate(numeric):
            chosen = [backgrounds[(i + k * max(1, len(backgrounds) // per_input)) % len(backgrounds)]
                      for k in range(min(per_input, len(backgrounds)))]
            for k, (discrete, date) in enumerate(chosen):
                values = dict(base)
                values.update(discrete)
                for j, other in enumerate(numeric):
                    if other != name:
                        cands = self.inputs[other].candidates
                        values[other] = cands[(k * 7 + j * 3 + i) % len(cands)] if k else self.inputs[other].typical
                cases = []
                for candidate in self.inputs[name].candidates:
                    row = dict(values)
                    row[name] = candidate
                    cases.append(SearchCase(row, date, name))
                out.append(Line(name, tuple(cases)))
        if not numeric:
            out.extend(Line("", (SearchCase({**base, **d}, date),)) for d, date in backgrounds)
        self._lines[key] = out
        return out

    def points(self, relevant: Iterable[str]) -> list[SearchCase]:
        """Seeded random cases over the relevant inputs (`search-points` of them)."""
        relevant = set(relevant)
        if self.outside(relevant) is not None:
            return []
        key = frozenset(n for n in relevant if n in self.inputs)
        if key in self._points:
            return self._points[key]
        rng = random.Random(self.config.seed)
        base = self.typical_values()
        out = []
        for _ in range(max(0, self.config.search_points)):
            values = dict(base)
            for name in sorted(key):
                values[name] = self._random(rng, self.inputs[name])
            out.append(SearchCase(values, rng.choice(self.dates)))
        self._points[key] = out
        return out

    def _random(self, rng: random.Random, space: InputSpace) -> Any:
        if space.discrete or space.info.type.kind is Kind.DATE or rng.random() < 0.5:
            return rng.choice(space.candidates)
        kind = space.info.type.kind
        low = Decimal(space.low) if space.low is not None else Decimal(0)
        top = max(space.candidates) if space.candidates else Decimal(0)
        high = Decimal(space.high) if space.high is not None else max(Decimal(top) * 2, Decimal(100000))
        if kind is Kind.RATIO and space.high is None:
            high = Decimal(1)
        if rng.random() < 0.5:  # near the interesting region
            high = min(high, max(Decimal(top) * Decimal("1.2"), low + 1))
        if high <= low:
            return space.candidates[0]
        if kind in DURATIONS:
            return rng.randint(int(low), int(high))
        scale = 10000 if kind is Kind.RATIO else 100
        return Decimal(rng.randint(int(low * scale), int(high * scale))) / scale

    def all_cases(self, relevant: Iterable[str]) -> Iterator[SearchCase]:
        relevant = list(relevant)
        for line in self.lines(relevant):
            yield from line.cases
        yield from self.points(relevant)

    # -------------------------------------------------------------- evaluation

    def run(self, case: SearchCase, outputs: Sequence[str]) -> Any:
        from yibaolang.engines.evaluate import evaluate
        from yibaolang.engines.outcome import CaseInput, Outcome

        if self.steps > SEARCH_STEPS:
            # The search's work is bounded (semantics/limits.py): past it, every case is skipped.
            return Outcome([], [], case.date, "", {})
        outcome = evaluate(self.program, CaseInput(dict(case.values), date=case.date,
                                                   date_source="计算日期" if case.date else ""), list(outputs))
        self.steps += outcome.steps
        return outcome

    def case_yaml(self, case: SearchCase, only: Iterable[str] | None = None, comment: str = "") -> str:
        """The case as a ready-to-run case file (typed strings)."""
        lines = [f"# {line}" for line in comment.splitlines()] if comment else []
        wanted = set(only) if only is not None else None
        for name, value in case.values.items():
            if wanted is not None and name not in wanted:
                continue
            space = self.inputs.get(name)
            if space is None:
                continue
            text = case_value_text(space.info.type, value)
            lines.append(f"{_yaml_key(name)}: {_yaml_scalar(text)}")
        if case.date is not None:
            lines.append(f"计算日期: {case.date.isoformat()}")
        return "\n".join(lines) + "\n"

    def needed_inputs(self, outputs: Sequence[str]) -> set[str]:
        """Inputs of a written case: those the policy's 输出 and the named outputs read."""
        roots: list[tuple[ir.Expr, Where]] = []
        where = at_root(self.program)
        for out in self.program.root.module.outputs:
            roots.append((out, where))
        for name in outputs:
            roots.append((ir.Name(name, None, ir.NO_SPAN), where))
        for a in self.program.root.module.assertions:
            roots.append((a.condition, where))
        return depends_on(self.program, roots)


def _snap(value: Decimal, kind: Kind) -> list[Any]:
    """The nearest values an input of this kind can take (money to the 分, durations whole).

    None past the magnitude any input may have (semantics/limits.py): no case could give it.
    """
    if not value.is_finite() or abs(value) >= MAX_MAGNITUDE:
        return []
    if kind is Kind.MONEY:
        down = value.quantize(CENT, rounding=decimal.ROUND_FLOOR)
        up = value.quantize(CENT, rounding=decimal.ROUND_CEILING)
        return [down] if down == up else [down, up]
    if kind in DURATIONS:
        floor = int(value.to_integral_value(rounding=decimal.ROUND_FLOOR))
        ceiling = int(value.to_integral_value(rounding=decimal.ROUND_CEILING))
        return [floor] if floor == ceiling else [floor, ceiling]
    return [value.quantize(Decimal("0.0001"))]


def _pairwise(axes: list[list[Any]]) -> list[list[Any]]:
    """A deterministic greedy covering array: every pair of values of every two axes appears."""
    pairs = list(itertools.combinations(range(len(axes)), 2))
    uncovered = {(i, a, j, b) for i, j in pairs for a in range(len(axes[i])) for b in range(len(axes[j]))}
    rows: list[list[int]] = []
    while uncovered and len(rows) < 400:
        i, a, j, b = min(uncovered)
        row = [-1] * len(axes)
        row[i], row[j] = a, b
        for k in range(len(axes)):
            if row[k] >= 0:
                continue
            gains = []
            for v in range(len(axes[k])):
                gains.append(sum(1 for x in range(len(axes)) if row[x] >= 0 and
                                 ((x, row[x], k, v) if x < k else (k, v, x, row[x])) in uncovered))
            row[k] = gains.index(max(gains))
        for x, y in pairs:
            uncovered.discard((x, row[x], y, row[y]))
        rows.append(row)
    return [[axes[k][v] for k, v in enumerate(row)] for row in rows]


def _yaml_key(name: str) -> str:
    return name


def _yaml_scalar(text: str) -> str:
    if text in ("是", "否"):
        return text
    return f'"{text}"'


_SPACES: weakref.WeakKeyDictionary[Program, Space] = weakref.WeakKeyDictionary()


def space(program: Program, config: LintConfig) -> Space:
    """The search space of a program (built once, shared by every lint that searches)."""
    found = _SPACES.get(program)
    if found is None:
        found = _SPACES[program] = Space(program, config)
    return found


def source_text(program: Program, span: ir.Span) -> str | None:
    """The text a span covers in its file, as the drafter wrote it (one line only)."""
    scope = program.modules.get(span.file)
    if scope is None or span.line != span.end_line:
        return None
    lines = scope.source.original.splitlines()
    if not 1 <= span.line <= len(lines):
        return None
    return lines[span.line - 1][span.column - 1:span.end_column - 1] or None


def counterexample_hint(text: str, case_file: str) -> str:
    """A hint followed by the case file, indented, that `--counterexamples` writes out."""
    body = "\n".join(f"    {line}" if line else "" for line in case_file.rstrip("\n").split("\n"))
    return f"{text}\n  {COUNTEREXAMPLE_MARK}\n{body}" if text else f"{COUNTEREXAMPLE_MARK}\n{body}"


def counterexample_of(diagnostic: Diagnostic) -> str | None:
    """The case file carried in a diagnostic's hint, if any."""
    hint = diagnostic.hint
    if COUNTEREXAMPLE_MARK not in hint:
        return None
    body = hint.split(COUNTEREXAMPLE_MARK, 1)[1].strip("\n")
    lines = [line[4:] if line.startswith("    ") else line for line in body.split("\n")]
    return "\n".join(lines) + "\n"
