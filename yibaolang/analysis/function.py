"""A figure as a function of one input: its values over a range and its kinks, each with its clause.

Used by `yibaolang plot` (docs/plot.md) and by the charts of the HTML
explanation; both only draw what this module returns.

Everything is computed by the interpreter on the case (the other inputs held
at their case values):

- the **series**: each requested figure at evenly spaced points of the input,
  and exactly at every kink and one step (1 分 for money) either side of it;
- the **kinks**: every construct on the figure's dependency chain that can
  switch — a 分段累进 edge (subject against bound, docs/language.md 分段累进),
  a 分档 row edge, 封顶/保底, the builtins that pass one of their arguments
  through (取较小, 取较大, 绝对值: where two arguments meet), a 如果 branch and an
  例外 condition — is read as a "switch" expression in the instance it is
  evaluated in (so a band of an imported policy reached through 代入 switches
  where *its* subject meets its bound, not where the input equals the bound).
  The switches are evaluated along the input, each sign change is narrowed
  down to one step by bisection, and a point is kept when some figure's
  slope really changes or its value jumps there.  Each kink carries the clause
  of the construct that switched (a bound that is a parameter cites the
  parameter's clause; an 例外 cites its own).

>>> short(MONEY, Decimal(150000)), short(MONEY, Decimal("1500.5")), short(RATIO, Decimal("0.5"))
('15万元', '1,500.50元', '50%')
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeGuard

import attrs

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Program, Symbol, SymbolKind, lookup
from yibaolang.engines.outcome import CaseInput
from yibaolang.ir.types import DURATIONS, MONEY, RATIO, Kind, Type
from yibaolang.ir.walk import children
from yibaolang.semantics import bands
from yibaolang.semantics.builtins import BUILTINS
from yibaolang.semantics.calls import with_args
from yibaolang.semantics.instances import Instance, InstanceKey
from yibaolang.semantics.levels import FUND, level_of, scoped_names
from yibaolang.semantics.values import CONTEXT, ZERO, display, plain

DEFAULT_POINTS = 200
MAX_POINTS = 5000
UNIT_SUFFIX = {Kind.YEARS: "年", Kind.MONTHS: "个月", Kind.DAYS: "日"}


class FunctionError(Exception):
    """A problem with the request, phrased for the drafter."""


PlotError = FunctionError  # the name `yibaolang plot` reports it under


@attrs.frozen(slots=True)
class Breakpoint:
    """A value of the varied input where a figure kinks or jumps, and the clause that causes it."""

    x: Decimal
    clause: str | None  # the clause id as written, e.g. 二、(五)
    owner: str  # the figure (or parameter, or function) the switching construct belongs to

    def label(self, type_: Type) -> str:
        text = short(type_, self.x)
        return f"{self.clause} {text}" if self.clause else f"{self.owner} {text}"


@attrs.define
class Series:
    name: str
    type: Type
    points: list[tuple[Decimal, Any]]


@attrs.define
class Chart:
    """What a chart shows: the series over [low, high], the kinks, and the case (x, y, label) if marked."""

    title: str
    x_name: str
    x_type: Type
    low: Decimal
    high: Decimal
    series: list[Series]
    breakpoints: list[Breakpoint]
    marker: tuple[Decimal, Any, str] | None = None
    notes: list[str] = attrs.Factory(list)

    def value_at(self, name: str, x: Decimal) -> Any:
        for s in self.series:
            if s.name == name:
                for px, py in s.points:
                    if px == x:
                        return py
        raise KeyError((name, x))


def short(type_: Type, value: Any) -> str:
    """A compact label: 10万元, 1,500元, 50%, 3年."""
    if value is None:
        return "—"
    kind = type_.kind
    if kind is Kind.MONEY:
        v = Decimal(value)
        if v != 0 and v % 100 == 0 and abs(v) >= 10000:
            return f"{plain(v / 10000)}万元"
        return f"{plain(v)}元" if v == v.to_integral_value() else f"{v:,.2f}元"
    if kind is Kind.RATIO:
        return f"{plain(Decimal(value) * 100)}%"
    if kind is Kind.NUMBER:
        return plain(Decimal(value))
    if kind in UNIT_SUFFIX:
        return f"{value}{UNIT_SUFFIX[kind]}"
    return display(type_, value)


def step_of(type_: Type) -> Decimal:
    """The smallest step of the type: one 分 for money, one unit for durations."""
    if type_.kind in DURATIONS:
        return Decimal(1)
    if type_.kind is Kind.RATIO:
        return Decimal("0.0001")
    return Decimal("0.01")


def on_lattice(type_: Type, value: Decimal) -> Any:
    if type_.kind in DURATIONS:
        return int(value.to_integral_value(ROUND_HALF_UP))
    return value.quantize(step_of(type_), ROUND_HALF_UP)


# ------------------------------------------------------------------ the dependency cone


@attrs.frozen(slots=True, eq=False)
class Where:
    """Where an expression is read: its instance, and inside a function body the call's arguments."""

    inst: Instance[ModuleScope]
    function: ir.FunctionDecl | None = None
    args: tuple[tuple[ir.Expr, Where], ...] = ()

    @property
    def key(self) -> tuple[InstanceKey, int]:
        return (self.inst.key, id(self.function) if self.function is not None else 0)


@attrs.frozen(slots=True, eq=False)
class Switch:
    """A construct that can change branch: `a − b` changes sign (b None: 0), or `a` (a condition) flips."""

    a: ir.Expr
    b: ir.Expr | None
    where: Where
    clause: str | None
    owner: str
    condition: bool = False


class Cone:
    """The inputs some figures read and the switches on the way, each in the instance it is read in."""

    def __init__(self, program: Program) -> None:
        from yibaolang.engines.evaluate import evaluator_for

        self.program = program
        self.evaluator = evaluator_for(program, False)
        self.tree = self.evaluator.tree
        self.inputs: set[str] = set()
        self.switches: list[Switch] = []
        self.seen: set[tuple[Any, ...]] = set()

    def root(self) -> Where:
        return Where(self.tree.root)

    def figure(self, name: str) -> None:
        qualifier, _, rest = name.rpartition(".")
        self.expr(ir.Name(rest, qualifier or None, ir.NO_SPAN), self.root(), None)

    def expr(self, expr: ir.Expr, where: Where, owner: Symbol | None, within: str | None = None) -> None:
        """Visit an expression: its names (through definitions, 代入, 例外, functions) and its switches.

        `within` is the level the expression is read at (semantics/levels.py).  Names are
        resolved at their level (`scoped_names`); the switches of a line figure or inside
        an aggregation are not kinks of the claim (the probe evaluates a switch on the
        case, and a line's value is one of many), so only claim-level switches are kept.
        """
        if ("expr", id(expr), where.key, within) in self.seen:
            return
        self.seen.add(("expr", id(expr), where.key, within))
        for name, level in scoped_names(expr, within):
            self.name(name, where, owner, level)
        if within is not None:
            return
        for node in _claim_nodes(expr):
            match node:
                case ir.Aggregate(over=over) if over in where.inst.scope.lists:
                    self.inputs.add(over)  # 计数(明细) reads the list itself
                case ir.Banded(subject=subject):
                    for edge in bands.edges(node):
                        for edge_expr in (edge.lower, edge.upper):
                            if edge_expr is not None:
                                self.switch(subject, edge_expr, where, owner, edge_expr)
                case ir.Stepped(subject=subject, steps=steps):
                    for step in steps:
                        for _, side in bands.step_guards(step):
                            row_edge = step.low if side == "low" else step.high
                            if row_edge is not None:
                                self.switch(subject, row_edge.value, where, owner, row_edge.value)
                case ir.Bounded(value=value, limit=limit):
                    self.switch(value, limit, where, owner, limit)
                case ir.Compare(left=left, right=right):  # a 是否 figure or a condition flips where they meet
                    self.switch(left, right, where, owner, right)
                case ir.Between(subject=subject, low=low, high=high):
                    self.switch(subject, low, where, owner, low)
                    self.switch(subject, high, where, owner, high)
                case ir.If(branches=branches):
                    for branch in branches:
                        self.switches.append(Switch(branch.condition, None, where, *self.cite(owner), condition=True))
                case ir.Call():
                    self.call(node, where, owner)
                case _:
                    pass

    def switch(self, a: ir.Expr, b: ir.Expr | None, where: Where, owner: Symbol | None, cited: ir.Expr | None) -> None:
        clause, name = self.cite(owner, cited, where)
        self.switches.append(Switch(a, b, where, clause, name))

    def cite(self, owner: Symbol | None, cited: ir.Expr | None = None, where: Where | None = None) -> tuple[str | None, str]:
        """The clause a construct states: a bound that is a parameter with a clause cites it, else the owner."""
        symbol = owner
        if isinstance(cited, ir.Name) and where is not None and where.function is None:
            found = lookup(where.inst.scope, cited)
            if found is not None and found.symbol.kind is SymbolKind.PARAM and found.symbol.clause:
                symbol = found.symbol
        if symbol is None:
            return None, ""
        clause = self.program.modules[symbol.module].clause(symbol.clause)
        return (clause.raw_id if clause is not None else None), symbol.name

    def call(self, call: ir.Call, where: Where, owner: Symbol | None) -> None:
        builtin = BUILTINS.get(call.function) if call.qualifier is None else None
        if builtin is not None:
            if builtin.passes_unrounded:  # the value of one argument: it switches where two of them meet
                args = list(call.args)
                if len(args) == 1:
                    self.switch(args[0], None, where, owner, None)
                for i, a in enumerate(args):
                    for b in args[i + 1:]:
                        self.switch(a, b, where, owner, b)
            return
        if where.function is not None:
            return  # a function body reads only its parameters (YB322)
        found = lookup(where.inst.scope, call.callee)
        if found is None or not isinstance(found.symbol.decl, ir.FunctionDecl):
            return
        inner = self.tree.via(where.inst, found.via)
        decl = found.symbol.decl
        body_where = Where(inner, decl, tuple((arg, where) for arg in call.args))
        # A function without a clause of its own states what the figure calling it cites.
        self.expr(decl.body, body_where, found.symbol if found.symbol.clause or owner is None else owner)

    def name(self, name: ir.Name, where: Where, owner: Symbol | None, within: str | None = None) -> None:
        if where.function is not None:
            for param, (arg, arg_where) in zip(where.function.params, where.args, strict=False):
                if name.qualifier is None and param.name == name.name:
                    self.expr(arg, arg_where, owner)
            return
        found = lookup(where.inst.scope, name, within)
        if found is None:
            return
        symbol = found.symbol
        if symbol.level in where.inst.scope.lists:
            self.inputs.add(symbol.level)  # a line figure is read from its list input
        inst = self.tree.via(where.inst, found.via)
        if ("symbol", symbol.key, inst.key) in self.seen:
            return
        self.seen.add(("symbol", symbol.key, inst.key))
        here = Where(inst)
        decl = symbol.decl
        if isinstance(decl, ir.InputDecl):
            bound = inst.binding(symbol.name)
            if bound is not None:
                binding, parent = bound
                self.expr(binding.value, Where(parent), owner)
            else:
                self.inputs.add(symbol.name)
                if decl.default is not None:
                    self.expr(decl.default, here, symbol)
            return
        if isinstance(decl, ir.FieldDecl):
            if decl.default is not None:
                self.expr(decl.default, here, symbol, symbol.level)
            return
        if isinstance(decl, ir.Definition):
            self.expr(decl.expr, here, symbol, decl.scope)
        elif isinstance(decl, ir.ParamDecl):
            for version in decl.versions:
                self.expr(version.value, here, symbol)
        for rule_scope, rule in self.program.exceptions.get(symbol.key, []):
            read = Where(inst.enclosing(rule_scope) or self.tree.of_scope(rule_scope))
            clause = rule_scope.module.clause(rule.clause)
            if symbol.level is None:  # an 例外 of a line figure switches per line, not on the claim
                self.switches.append(Switch(rule.condition, None, read, clause.raw_id if clause else None, symbol.name,
                                            condition=True))
            self.expr(rule.condition, read, symbol, symbol.level)
            self.expr(rule.value, read, symbol, symbol.level)


def _claim_nodes(expr: ir.Expr) -> Iterator[ir.Expr]:
    """The nodes of `expr` read on the claim: like `walk`, without the 其中 filter of an
    aggregation (read on each line, semantics/levels.inner_level)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ir.Aggregate):
            continue
        stack.extend(reversed(tuple(children(node))))


def dependencies(program: Program, output: str) -> Cone:
    """The cone of one figure of the root policy (`.inputs`: the case inputs it reads)."""
    cone = Cone(program)
    cone.figure(output)
    return cone


# ------------------------------------------------------------------ evaluating along the input


class Probe:
    """Switch expressions compiled once, evaluated at any value of the input by the interpreter."""

    def __init__(self, cone: Cone, input_name: str, values: dict[str, Any], date: dt.date | None,
                 x_type: Type) -> None:
        self.cone = cone
        self.evaluator = cone.evaluator
        self.input_name = input_name
        self.values = values
        self.date = date
        self.x_type = x_type
        self.compiled: dict[tuple[int, Any], Callable[[Any], Any] | None] = {}

    def fn(self, expr: ir.Expr, where: Where) -> Callable[[Any], Any] | None:
        """A function of a Frame giving the expression's value where it is read (None if it cannot compile)."""
        key = (id(expr), where.key)
        if key in self.compiled:
            return self.compiled[key]
        from yibaolang.engines.evaluate import Env

        try:
            if where.function is None:
                body = self.evaluator.expr(expr, Env(where.inst)).fn
                compiled: Callable[[Any], Any] | None = body
            else:
                from yibaolang.checks.typecheck import function_types

                locals_, _ = function_types(self.cone.program, where.inst.scope, where.function)
                inner = self.evaluator.expr(expr, Env(where.inst, locals_)).fn
                args = [self.fn(arg, arg_where) for arg, arg_where in where.args]
                compiled = None if any(a is None for a in args) else with_args(inner, args)  # type: ignore[arg-type]
        except Exception:  # an expression the evaluator cannot compile on its own: no switch from it
            compiled = None
        self.compiled[key] = compiled
        return compiled

    def frame(self, x: Decimal) -> Any:
        from yibaolang.engines.evaluate import Frame

        return Frame({**self.values, self.input_name: on_lattice(self.x_type, x)}, self.evaluator.nslots, self.date)

    def value(self, fn: Callable[[Any], Any], frame: Any) -> Any:
        try:
            with decimal.localcontext(CONTEXT):
                return fn(frame)
        except Exception:  # the switch cannot be evaluated at this point (a missing input, an error)
            return None

    def sign(self, switch: Switch, x: Decimal, frame: Any = None) -> int | None:
        fa = self.fn(switch.a, switch.where)
        fb = self.fn(switch.b, switch.where) if switch.b is not None else None
        if fa is None or (switch.b is not None and fb is None):
            return None
        frame = frame if frame is not None else self.frame(x)
        a = self.value(fa, frame)
        if switch.condition:
            return None if a is None else int(bool(a))
        b = self.value(fb, frame) if fb is not None else ZERO
        if not _number(a) or not _number(b):
            return None
        d = Decimal(a) - Decimal(b)
        return (d > 0) - (d < 0)

    def magnitude(self, switch: Switch, x: Decimal) -> Decimal:
        """|a − b| at x (how close a numeric switch is to meeting), for choosing the nearer lattice point."""
        frame = self.frame(x)
        fa, fb = self.fn(switch.a, switch.where), self.fn(switch.b, switch.where) if switch.b is not None else None
        a = self.value(fa, frame) if fa is not None else None
        b = self.value(fb, frame) if fb is not None else ZERO
        return abs(Decimal(a) - Decimal(b)) if _number(a) and _number(b) else Decimal(0)


def _number(value: Any) -> TypeGuard[Decimal | int]:
    return isinstance(value, (Decimal, int)) and not isinstance(value, bool)


def _grid(x_type: Type, low: Decimal, high: Decimal, points: int) -> list[Decimal]:
    span = high - low
    return sorted({Decimal(on_lattice(x_type, low + span * i / points)) for i in range(points + 1)})


def tidy(x: Decimal) -> Decimal:
    """A lattice point without trailing zeros: 20000.00 → 20000, 64333.30 → 64333.3 (never an exponent)."""
    if x == x.to_integral_value():
        return x.quantize(Decimal(1))
    text = format(x, "f").rstrip("0")
    return Decimal(text)


def _roundness(x: Decimal) -> tuple[int, Decimal]:
    """Fewer significant digits first: of two neighbouring lattice points, the edge is the rounder one."""
    text = format(x.normalize(), "f").rstrip("0").rstrip(".").lstrip("-").replace(".", "")
    return (len(text.rstrip("0")), -x)


def switch_points(probe: Probe, switch: Switch, grid: Sequence[Decimal],
                  frames: Sequence[Any] | None = None) -> Iterator[Decimal]:
    """Where the switch changes sign along the grid, each narrowed to one lattice step by bisection.

    `frames` (one per grid point) lets the switches of one cone share the figures computed at each point."""
    step = step_of(probe.x_type)
    if frames is None:
        frames = [probe.frame(x) for x in grid]
    signs = [probe.sign(switch, x, frame) for x, frame in zip(grid, frames, strict=True)]
    for (x0, s0), (x1, s1) in zip(zip(grid, signs, strict=True), zip(grid[1:], signs[1:], strict=True),
                                  strict=False):
        if s0 is None or s1 is None or s0 == s1:
            continue
        lo, hi = x0, x1
        for _ in range(200):
            if hi - lo <= step:
                break
            mid = on_lattice(probe.x_type, (lo + hi) / 2)
            if mid in (lo, hi):
                break
            s = probe.sign(switch, Decimal(mid))
            if s == s0:
                lo = Decimal(mid)
            elif s is None:
                break
            else:
                hi = Decimal(mid)
        if switch.condition:
            yield tidy(min((lo, hi), key=_roundness))
        else:
            m_lo, m_hi = probe.magnitude(switch, lo), probe.magnitude(switch, hi)
            yield tidy(lo if (m_lo, _roundness(lo)) <= (m_hi, _roundness(hi)) else hi)


# ------------------------------------------------------------------ the service


def figure_function(program: Program, input_name: str, low: Any, high: Any, values: dict[str, Any],
                    date: dt.date | None, outputs: Sequence[str] = (), points: int = DEFAULT_POINTS) -> Chart:
    """The `outputs` (default: the policy's 输出 that are money and read the input) over [low, high] of
    `input_name`, with their kinks; FunctionError on any problem with the request."""
    from yibaolang.engines.cases import declared_inputs
    from yibaolang.engines.evaluate import evaluate

    info = declared_inputs(program)[input_name]
    x_type = info.type
    # A chart is one case as one input varies (docs/itemized.md): a fund input is given once per run,
    # and a fund figure sums every case of a run, so neither is a function of one case's input.
    if level_of(input_name) == FUND:
        raise FunctionError(f"{input_name} 是基金层的输入，每次运行给一次，不能按单个案例变化画图")
    for name in outputs:
        if level_of(name) == FUND:
            raise FunctionError(f"{name} 是基金层的数，汇总本次运行的全部案例，不能按单个案例的输入画图")
    evaluator = Cone(program).evaluator
    notes: list[str] = []
    cones: dict[str, Cone] = {}
    if outputs:
        names = list(outputs)
        for name in names:
            resolved = evaluator.output(name)
            if not hasattr(resolved, "get"):
                raise FunctionError(getattr(resolved, "message", f"未知的数额“{name}”"))
            cones[name] = dependencies(program, name)
            if input_name not in cones[name].inputs:
                notes.append(f"{name} 不依赖 {input_name}")
    else:
        names = []
        for name in evaluator.default_outputs():
            resolved = evaluator.output(name)
            type_ = getattr(resolved, "type", None)
            if type_ is not None and type_.kind is Kind.MONEY:
                cone = dependencies(program, name)
                if input_name in cone.inputs:
                    names.append(name)
                    cones[name] = cone
        if not names:
            raise FunctionError(f"政策的 输出 中没有依赖 {input_name} 的金额；请用 --output 指定要画的数额")
    types = {name: evaluator.output(name).type for name in names}  # type: ignore[union-attr]
    kinds = {t.kind for t in types.values()}
    if len(kinds) > 1:
        raise FunctionError("所画数额的类型不同（" + "、".join(f"{n}：{t.name}" for n, t in types.items())
                            + "），不能共用一条纵轴；请分开画")
    for name, t in types.items():
        if not (t.is_numeric or t.kind is Kind.BOOL):
            raise FunctionError(f"{name} 是{t.name}，不是数值，无法画成折线")

    low, high = Decimal(low), Decimal(high)
    grid = _grid(x_type, low, high, points)
    step = step_of(x_type)

    def run(x: Decimal) -> list[Any]:
        case = CaseInput(values={**values, input_name: on_lattice(x_type, x)}, date=date)
        outcome = evaluate(program, case, names)
        errors = [d for d in outcome.diagnostics if d.is_error]
        if errors:
            d = errors[0]
            raise FunctionError(f"{input_name} = {short(x_type, x)} 时计算出错：{d.location} [{d.code}] {d.message}"
                                + (f"（{d.hint}）" if d.hint else ""))
        return [outcome.value(n) for n in names]

    results = {x: run(x) for x in grid}
    candidates = _candidates(program, cones, input_name, values, date, x_type, grid)
    kept = _real_kinks(candidates, run, results, step, low, high)
    xs = set(grid)
    for bp in kept:
        xs.update(x for x in (bp.x - step, bp.x, bp.x + step) if low <= x <= high)
    for x in sorted(xs - set(results)):
        results[x] = run(x)
    ordered = sorted(results)
    series = [Series(n, types[n], [(x, results[x][i]) for x in ordered]) for i, n in enumerate(names)]
    title = "、".join(names) + f" 随 {input_name} 变化"
    return Chart(title, input_name, x_type, low, high, series, kept, notes=notes)


def _candidates(program: Program, cones: dict[str, Cone], input_name: str, values: dict[str, Any],
                date: dt.date | None, x_type: Type, grid: Sequence[Decimal]) -> dict[Decimal, Breakpoint]:
    """Every point where some switch of some figure's cone changes sign, with the first switch's clause.

    Points within two steps of each other are one (a rounded product can meet its limit one 分 early);
    the roundest of them stands for the group."""
    found: dict[Decimal, Breakpoint] = {}
    step = step_of(x_type)
    for cone in cones.values():
        probe = Probe(cone, input_name, values, date, x_type)
        frames = [probe.frame(x) for x in grid]
        for switch in cone.switches:
            for x in switch_points(probe, switch, grid, frames):
                near = next((k for k in found if abs(k - x) <= 2 * step), None)
                if near is None:
                    found[x] = Breakpoint(x, switch.clause, switch.owner)
                    continue
                known = found[near]
                keep = min((near, x), key=_roundness)
                clause, owner = (known.clause, known.owner) if known.clause is not None or switch.clause is None \
                    else (switch.clause, switch.owner)
                del found[near]
                found[keep] = Breakpoint(keep, clause, owner)
    return found


def _real_kinks(candidates: dict[Decimal, Breakpoint], run: Callable[[Decimal], list[Any]],
                results: dict[Decimal, list[Any]], step: Decimal, low: Decimal, high: Decimal) -> list[Breakpoint]:
    """The candidates where some figure's slope changes or its value jumps."""
    xs = sorted(candidates)
    span = high - low
    kept = []
    for i, x in enumerate(xs):
        gaps = [abs(x - other) for other in (xs[i - 1] if i else None, xs[i + 1] if i + 1 < len(xs) else None)
                if other is not None]
        h = max(step, min([span / 500, *(g / 2 for g in gaps)]))
        h = Decimal(h).quantize(step, ROUND_HALF_UP) if step < 1 else Decimal(int(h))
        h = max(h, step)
        if x - h < low or x + h > high:
            if low <= x <= high:
                kept.append(candidates[x])  # at the edge of the range: cannot tell, keep what the policy states
            continue
        values = [results.get(p) or run(p) for p in (x - h, x, x + h)]
        for a, b, c in zip(*values, strict=True):
            slope_left = (Decimal(b) - Decimal(a)) / h
            slope_right = (Decimal(c) - Decimal(b)) / h
            if abs(slope_left - slope_right) > Decimal("0.05") / h + Decimal("0.001"):
                kept.append(candidates[x])
                break
    return kept


# ------------------------------------------------------------------ the charts of an explanation


def band_charts(program: Program, values: dict[str, Any], date: dt.date | None) -> dict[str, Chart]:
    """For each 分段累进 figure of the root policy whose band subject reads one numeric input: the figure's
    real value (例外, 封顶 … included) as that input varies, with the case marked."""
    from yibaolang.engines.cases import declared_inputs

    out: dict[str, Chart] = {}
    inputs = declared_inputs(program)
    for symbol in program.root.own.values():
        decl = symbol.decl
        if not isinstance(decl, ir.Definition) or symbol.level is not None:
            continue  # a line or fund figure is not one function of the case's input (docs/itemized.md)
        banded = decl.expr
        while isinstance(banded, ir.Bounded):  # 分段累进 … then 封顶 on the next line (docs/language.md)
            banded = banded.value
        if not isinstance(banded, ir.Banded):
            continue
        type_ = program.types.get(symbol.key)
        if type_ is None or type_.kind is not Kind.MONEY:
            continue
        cone = Cone(program)
        cone.expr(banded.subject, cone.root(), symbol)
        numeric = sorted(n for n in cone.inputs if n in inputs and inputs[n].type.is_numeric)
        if len(numeric) != 1:
            continue  # the subject is not a function of one input
        input_name = numeric[0]
        x_type = inputs[input_name].type
        probe = Probe(cone, input_name, values, date, x_type)
        frame = probe.frame(Decimal(values.get(input_name, 0) or 0))
        finite = []
        for edge in bands.edges(banded):
            for bound in (edge.lower, edge.upper):
                fn = probe.fn(bound, cone.root()) if bound is not None else None
                value = probe.value(fn, frame) if fn is not None else None
                if _number(value):
                    finite.append(Decimal(value))
        top = max(finite, default=ZERO)
        current = values.get(input_name)
        is_subject = isinstance(banded.subject, ir.Name) and banded.subject.name == input_name
        reach = top if is_subject or not _number(current) else max(top, Decimal(current))
        if reach <= 0:
            continue
        high = Decimal(on_lattice(x_type, reach * Decimal("1.5")))
        try:
            chart = figure_function(program, input_name, ZERO, high, {k: v for k, v in values.items()
                                                                       if k != input_name}, date, [symbol.name],
                                    points=100)
        except FunctionError:
            continue
        chart.title = f"{symbol.name} 随 {input_name} 变化"
        if _number(current):
            x = Decimal(current)
            y = _value_at(chart, symbol.name, x, program, values, date)
            if y is not None:
                chart.marker = (x, y, f"本案：{short(x_type, x)} → {display(type_, y)}")
            if x > high:
                chart.notes.append(f"本案的 {input_name} {short(x_type, x)} 在图的范围之外")
        out[symbol.name] = chart
    return out


def _value_at(chart: Chart, name: str, x: Decimal, program: Program, values: dict[str, Any],
              date: dt.date | None) -> Any:
    try:
        return chart.value_at(name, x)
    except KeyError:
        from yibaolang.engines.evaluate import evaluate

        outcome = evaluate(program, CaseInput(values=dict(values), date=date), [name])
        return outcome.value(name) if outcome.ok else None


__all__ = [
    "Breakpoint", "Chart", "Cone", "FunctionError", "PlotError", "Series", "band_charts", "dependencies",
    "figure_function", "short",
]
_ = MONEY, RATIO  # used by the doctest
