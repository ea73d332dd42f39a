"""Charts: how outputs change as one input varies, drawn as hand-written inline SVG.

`plot(...)` evaluates the requested outputs with the interpreter at evenly
spaced points and, exactly, at every breakpoint the policy states (band
bounds, 分档 rows, 封顶/保底, 取较小/取较大 constants in the outputs'
dependency chain) and one 分 either side of it.  `band_charts(...)` draws,
for the explanation's HTML, each 分段累进 figure of the case as its band
subject varies.  The SVG uses no script and no network resource.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Program, Symbol, SymbolKind, lookup
from yibaolang.ir.types import DURATIONS, Kind, Type
from yibaolang.semantics.values import CONTEXT, ZERO, display, plain

FONT_STACK = '"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif'
COLORS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#16a085", "#7f8c8d")
DEFAULT_POINTS = 200
MAX_POINTS = 5000

UNIT_SUFFIX = {Kind.YEARS: "年", Kind.MONTHS: "个月", Kind.DAYS: "日"}


class PlotError(Exception):
    """A problem with the request, phrased for the drafter."""


@attrs.frozen(slots=True)
class Breakpoint:
    """A value of the varied input where an output may kink or jump, and the clause that states it."""

    x: Decimal
    clause: str | None  # the clause id as written, e.g. 二、(五)
    owner: str  # the figure (or parameter) the bound belongs to
    direct: bool  # the construct's subject is the varied input itself

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
    title: str
    x_name: str
    x_type: Type
    low: Decimal
    high: Decimal
    series: list[Series]
    breakpoints: list[Breakpoint]
    marker: tuple[Decimal, Any, str] | None = None  # the current case: x, y, label
    notes: list[str] = attrs.Factory(list)

    def value_at(self, name: str, x: Decimal) -> Any:
        for s in self.series:
            if s.name == name:
                for px, py in s.points:
                    if px == x:
                        return py
        raise KeyError((name, x))


# ------------------------------------------------------------------ numbers and units


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


def _scale(type_: Type, top: float) -> tuple[float, str]:
    """The divisor and unit for axis labels: money in 万元 when large, ratios in %."""
    kind = type_.kind
    if kind is Kind.MONEY:
        return (10000.0, "万元") if top >= 10000 else (1.0, "元")
    if kind is Kind.RATIO:
        return (0.01, "%")
    if kind in UNIT_SUFFIX:
        return (1.0, UNIT_SUFFIX[kind])
    return (1.0, "")


def _nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** int(f"{raw:e}".split("e")[1])
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = int(low // step) * step
    ticks = []
    t = first
    while t <= high + step * 1e-9:
        if t >= low - step * 1e-9:
            ticks.append(round(t, 10))
        t += step
    return ticks


def _fmt_tick(value: float) -> str:
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def _step_of(type_: Type) -> Decimal:
    """The smallest step of the type: one 分 for money, one unit for durations."""
    if type_.kind is Kind.MONEY:
        return Decimal("0.01")
    if type_.kind in DURATIONS:
        return Decimal(1)
    if type_.kind is Kind.RATIO:
        return Decimal("0.0001")
    return Decimal("0.01")


def _on_lattice(type_: Type, value: Decimal) -> Any:
    if type_.kind in DURATIONS:
        return int(value.to_integral_value(ROUND_HALF_UP))
    return value.quantize(_step_of(type_), ROUND_HALF_UP)


# ------------------------------------------------------------------ the dependency chain


def _subnodes(node: Any) -> Iterator[Any]:
    for field in attrs.fields(type(node)):
        value = getattr(node, field.name)
        if isinstance(value, ir.Span):
            continue
        if isinstance(value, tuple):
            for item in value:
                if attrs.has(type(item)):
                    yield item
        elif value is not None and attrs.has(type(value)):
            yield value


Locals = dict[str, tuple[ir.Expr, ModuleScope, Any]]


@attrs.define
class _Candidate:
    expr: ir.Expr
    scope: ModuleScope
    locals: Locals
    owner: Symbol
    direct: bool


class _Walker:
    """Collects the inputs reached from some figures and the bound constants on the way."""

    def __init__(self, program: Program, input_name: str | None) -> None:
        self.program = program
        self.input_name = input_name
        self.inputs: set[str] = set()
        self.candidates: list[_Candidate] = []
        self.visited: set[tuple[str, str]] = set()

    def symbol(self, symbol: Symbol) -> None:
        if symbol.key in self.visited:
            return
        self.visited.add(symbol.key)
        scope = self.program.modules[symbol.module]
        decl = symbol.decl
        if isinstance(decl, ir.InputDecl):
            self.inputs.add(symbol.name)
            for other in self.program.modules.values():
                for imp, child in other.imports:
                    if child is scope:
                        for binding in imp.bindings:
                            if binding.input == symbol.name:
                                self.expr(binding.value, other, {}, symbol)
            return
        if isinstance(decl, ir.Definition):
            self.expr(decl.expr, scope, {}, symbol)
        for rule_scope, rule in self.program.exceptions.get(symbol.key, []):
            self.expr(rule.condition, rule_scope, {}, symbol)
            self.expr(rule.value, rule_scope, {}, symbol)

    def is_input(self, expr: ir.Expr, scope: ModuleScope, local: Locals) -> bool:
        if not isinstance(expr, ir.Name) or self.input_name is None:
            return False
        if expr.qualifier is None and expr.name in local:
            arg, arg_scope, arg_locals = local[expr.name]
            return self.is_input(arg, arg_scope, arg_locals)
        found = lookup(scope, expr)
        return found is not None and found.symbol.kind is SymbolKind.INPUT and found.symbol.name == self.input_name

    def add(self, expr: ir.Expr, scope: ModuleScope, local: Locals, owner: Symbol, direct: bool) -> None:
        self.candidates.append(_Candidate(expr, scope, local, owner, direct))

    def expr(self, e: Any, scope: ModuleScope, local: Locals, owner: Symbol) -> None:
        if isinstance(e, ir.Name):
            if e.qualifier is None and e.name in local:
                arg, arg_scope, arg_locals = local[e.name]
                self.expr(arg, arg_scope, arg_locals, owner)
                return
            found = lookup(scope, e)
            if found is not None:
                self.symbol(found.symbol)
            return
        if isinstance(e, ir.Banded):
            direct = self.is_input(e.subject, scope, local)
            for band in e.bands:
                for bound in (band.lower, band.upper):
                    if bound is not None:
                        self.add(bound.value, scope, local, owner, direct)
        elif isinstance(e, ir.Stepped):
            direct = self.is_input(e.subject, scope, local)
            for step in e.steps:
                for bound in (step.low, step.high):
                    if bound is not None:
                        self.add(bound.value, scope, local, owner, direct)
        elif isinstance(e, ir.Bounded):
            self.add(e.limit, scope, local, owner, self.is_input(e.value, scope, local))
        elif isinstance(e, ir.Call):
            if e.function in ("取较小", "取较大"):
                direct = any(self.is_input(a, scope, local) for a in e.args)
                for a in e.args:
                    if not self.is_input(a, scope, local):
                        self.add(a, scope, local, owner, direct)
            else:
                found = lookup(scope, e.callee)
                if found is not None and isinstance(found.symbol.decl, ir.FunctionDecl):
                    fn = found.symbol.decl
                    fn_scope = self.program.modules[found.symbol.module]
                    inner = {p.name: (a, scope, local) for p, a in zip(fn.params, e.args, strict=False)}
                    self.expr(fn.body, fn_scope, inner, owner)
        for child in _subnodes(e):
            self.expr(child, scope, local, owner)


def _root_symbol(program: Program, name: str) -> Symbol | None:
    qualifier, _, rest = name.rpartition(".")
    found = lookup(program.root, ir.Name(rest, qualifier or None, ir.NO_SPAN))
    return found.symbol if found is not None else None


def dependencies(program: Program, output: str, input_name: str | None = None) -> _Walker:
    walker = _Walker(program, input_name)
    symbol = _root_symbol(program, output)
    if symbol is not None:
        walker.symbol(symbol)
    return walker


# ------------------------------------------------------------------ evaluating pieces of the policy


def _evaluate_expr(program: Program, expr: ir.Expr, scope: ModuleScope, local: Locals,
                   values: dict[str, Any], date: dt.date | None) -> Any:
    """The value of `expr` on the case (function parameters replaced by the call's arguments)."""
    from yibaolang.engines.evaluate import Env, Frame, evaluator_for

    while isinstance(expr, ir.Name) and expr.qualifier is None and expr.name in local:
        expr, scope, local = local[expr.name]
    evaluator = evaluator_for(program, False)
    compiled = evaluator.expr(expr, Env(evaluator.instance_of(scope)))
    fr = Frame(values, evaluator.nslots, date)
    with decimal.localcontext(CONTEXT):
        return compiled.fn(fr)


def _clause_of(program: Program, candidate: _Candidate) -> tuple[str | None, str]:
    """The clause that states a bound: the parameter's own if it is one, else the owning figure's."""
    expr = candidate.expr
    scope, local = candidate.scope, candidate.locals
    while isinstance(expr, ir.Name) and expr.qualifier is None and expr.name in local:
        expr, scope, local = local[expr.name]
    symbol = candidate.owner
    if isinstance(expr, ir.Name):
        found = lookup(scope, expr)
        if found is not None and found.symbol.kind is SymbolKind.PARAM and found.symbol.clause:
            symbol = found.symbol
    clause = program.modules[symbol.module].clause(symbol.clause)
    return (clause.raw_id if clause is not None else None), symbol.name


# ------------------------------------------------------------------ the plot command


def _numeric_value(type_: Type, value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value)


def plot(program: Program, input_name: str, low: Any, high: Any, values: dict[str, Any],
         date: dt.date | None, outputs: Sequence[str] = (), points: int = DEFAULT_POINTS) -> Chart:
    """Evaluate `outputs` over [low, high] of `input_name`; PlotError on any problem."""
    from yibaolang.engines.cases import declared_inputs
    from yibaolang.engines.evaluate import CaseInput, evaluate, evaluator_for

    inputs = declared_inputs(program)
    info = inputs[input_name]
    x_type = info.type
    evaluator = evaluator_for(program, False)
    notes: list[str] = []
    if outputs:
        names = list(outputs)
        for name in names:
            resolved = evaluator.output(name)
            if not hasattr(resolved, "get"):
                raise PlotError(getattr(resolved, "message", f"未知的数额“{name}”"))
            if input_name not in dependencies(program, name).inputs:
                notes.append(f"{name} 不依赖 {input_name}")
    else:
        names = []
        for name in evaluator.default_outputs():
            resolved = evaluator.output(name)
            if getattr(resolved, "type", None) is not None and resolved.type.kind is Kind.MONEY:  # type: ignore[union-attr]
                if input_name in dependencies(program, name).inputs:
                    names.append(name)
        if not names:
            raise PlotError(f"政策的 输出 中没有依赖 {input_name} 的金额；请用 --output 指定要画的数额")
    types = {name: evaluator.output(name).type for name in names}  # type: ignore[union-attr]
    kinds = {t.kind for t in types.values()}
    if len(kinds) > 1:
        raise PlotError("所画数额的类型不同（" + "、".join(f"{n}：{t.name}" for n, t in types.items())
                        + "），不能共用一条纵轴；请分开画")
    for name, t in types.items():
        if not (t.is_numeric or t.kind is Kind.BOOL):
            raise PlotError(f"{name} 是{t.name}，不是数值，无法画成折线")

    # breakpoints: bound constants in the dependency chain, evaluated on the case
    found: dict[Decimal, Breakpoint] = {}
    for name in names:
        walker = dependencies(program, name, input_name)
        for cand in walker.candidates:
            try:
                value = _evaluate_expr(program, cand.expr, cand.scope, cand.locals, values, date)
            except Exception:
                continue
            if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
                continue
            x = Decimal(value)
            if not low <= x <= high:
                continue
            clause, owner = _clause_of(program, cand)
            known = found.get(x)
            if known is None or (cand.direct and not known.direct):
                found[x] = Breakpoint(x, clause, owner, cand.direct)
    step = _step_of(x_type)
    xs: set[Decimal] = set()
    span = Decimal(high) - Decimal(low)
    for i in range(points + 1):
        xs.add(Decimal(_on_lattice(x_type, Decimal(low) + span * i / points)))
    for x in found:
        for dx in (-step, ZERO, step):
            if low <= x + dx <= high:
                xs.add(x + dx)
    ordered = sorted(xs)

    def run(x: Decimal) -> list[Any]:
        case = CaseInput(values={**values, input_name: _on_lattice(x_type, x)}, date=date)
        outcome = evaluate(program, case, names)
        errors = [d for d in outcome.diagnostics if d.is_error]
        if errors:
            d = errors[0]
            raise PlotError(f"{input_name} = {short(x_type, x)} 时计算出错：{d.location} [{d.code}] {d.message}"
                            + (f"（{d.hint}）" if d.hint else ""))
        return [outcome.value(n) for n in names]

    results = {x: run(x) for x in ordered}
    series = [Series(n, types[n], [(x, results[x][i]) for x in ordered]) for i, n in enumerate(names)]

    # keep the bounds that are the input's own, and the others where some output really kinks or jumps
    h = max(step, _on_lattice(x_type, span / 500) if span > 0 else step)
    kept = []
    for x, bp in sorted(found.items()):
        if bp.direct or _kinks(run, x, h, low, high):
            kept.append(bp)
    title = "、".join(names) + f" 随 {input_name} 变化"
    return Chart(title, input_name, x_type, Decimal(low), Decimal(high), series, kept, notes=notes)


def _kinks(run: Any, x: Decimal, h: Decimal, low: Any, high: Any) -> bool:
    if x - h < low or x + h > high:
        return False
    left, mid, right = run(x - h), run(x), run(x + h)
    for a, b, c in zip(left, mid, right, strict=True):
        slope_left = (Decimal(b) - Decimal(a)) / h
        slope_right = (Decimal(c) - Decimal(b)) / h
        if abs(slope_left - slope_right) > Decimal("0.05") / h + Decimal("0.001"):
            return True
    return False


# ------------------------------------------------------------------ the band figures of an explanation


def band_charts(program: Program | None, values: dict[str, Any], date: dt.date | None) -> dict[str, Chart]:
    """For each 分段累进 definition of the root policy: its value as the band subject varies."""
    if program is None:
        return {}
    from yibaolang.engines.evaluate import evaluator_for
    from yibaolang.engines.trace import unparse

    out: dict[str, Chart] = {}
    scope = program.root
    evaluator = evaluator_for(program, False)
    quantum = evaluator.root.quantum
    for symbol in scope.own.values():
        decl = symbol.decl
        if not isinstance(decl, ir.Definition) or not isinstance(decl.expr, ir.Banded):
            continue
        e = decl.expr
        type_ = program.types.get(symbol.key)
        if type_ is None or type_.kind is not Kind.MONEY:
            continue
        try:
            table = []
            for band in e.bands:
                lo = (_evaluate_expr(program, band.lower.value, scope, {}, values, date)
                      if band.lower is not None else ZERO)
                hi = (_evaluate_expr(program, band.upper.value, scope, {}, values, date)
                      if band.upper is not None else None)
                rate = _evaluate_expr(program, band.rate, scope, {}, values, date)
                table.append((Decimal(lo), None if hi is None else Decimal(hi), Decimal(rate)))
            subject_type = program.types.get(symbol.key)
            try:
                current = _evaluate_expr(program, e.subject, scope, {}, values, date)
            except Exception:
                current = None
        except Exception:
            continue
        finite = [b for lo, hi, _ in table for b in (lo, hi) if b is not None]
        top = max(finite, default=ZERO)
        if top <= 0:
            continue
        high = _on_lattice(type_, top * Decimal("1.5"))

        def f(x: Decimal, table: list[tuple[Decimal, Decimal | None, Decimal]] = table) -> Decimal:
            total = ZERO
            with decimal.localcontext(CONTEXT):
                for lo, hi, rate in table:
                    if x > lo:
                        upper = x if hi is None or x < hi else hi
                        total += ((upper - lo) * rate).quantize(quantum, ROUND_HALF_UP)
            return total

        clause = scope.clause(symbol.clause)
        clause_id = clause.raw_id if clause is not None else None
        bounds = sorted({b for b in finite if 0 < b <= high})
        xs = {Decimal(_on_lattice(type_, high * i / 100)) for i in range(101)}
        for b in bounds:
            xs.update({b - Decimal("0.01"), b, b + Decimal("0.01")})
        ordered = sorted(x for x in xs if 0 <= x <= high)
        subject_text = unparse(e.subject)
        chart = Chart(f"{symbol.name} 随 {subject_text} 变化", subject_text, subject_type or type_, ZERO, high,
                      [Series(symbol.name, type_, [(x, f(x)) for x in ordered])],
                      [Breakpoint(b, clause_id, symbol.name, True) for b in bounds])
        if isinstance(current, Decimal) and not isinstance(current, bool):
            y = f(current)
            chart.marker = (current, y, f"本案：{short(type_, current)} → {display(type_, y)}")
            if current > high:
                chart.notes.append(f"本案的 {subject_text} {short(type_, current)} 在图的范围之外")
        out[symbol.name] = chart
    return out


# ------------------------------------------------------------------ drawing


def svg(chart: Chart, *, standalone: bool = False, width: int = 900, height: int = 480) -> str:
    """The chart as SVG; `standalone` adds the XML namespace a .svg file needs."""
    left, right, top, bottom = 86, 24, 40 + 18 * ((len(chart.series) + 2) // 3), 64
    pw, ph = width - left - right, height - top - bottom
    x_lo, x_hi = float(chart.low), float(chart.high)
    if x_hi <= x_lo:
        x_hi = x_lo + 1
    ys = [_numeric_value(s.type, y) for s in chart.series for _, y in s.points]
    if chart.marker is not None:
        ys.append(float(chart.marker[1]))
    y_lo, y_hi = min([0.0, *ys]), max([0.0, *ys])
    if y_hi <= y_lo:
        y_hi = y_lo + 1
    y_hi += (y_hi - y_lo) * 0.06
    y_type = chart.series[0].type if chart.series else chart.x_type
    x_div, x_unit = _scale(chart.x_type, max(abs(x_lo), abs(x_hi)))
    y_div, y_unit = _scale(y_type, max(abs(y_lo), abs(y_hi)))

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * pw

    def py(y: float) -> float:
        return top + ph - (y - y_lo) / (y_hi - y_lo) * ph

    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    out = [
        f'<svg{ns} class="yb-chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(chart.title)}" font-family=\'{FONT_STACK}\' font-size="12">',
        f"<title>{escape(chart.title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fbfbfd" stroke="#999"/>',
    ]
    # grid and ticks
    for t in _nice_ticks(x_lo / x_div, x_hi / x_div):
        x = px(t * x_div)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#e3e3e8"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle" fill="#333">{_fmt_tick(t)}</text>')
    for t in _nice_ticks(y_lo / y_div, y_hi / y_div):
        y = py(t * y_div)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#e3e3e8"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#333">{_fmt_tick(t)}</text>')
    x_label = f"{chart.x_name}（{x_unit}）" if x_unit else chart.x_name
    y_names = "、".join(s.name for s in chart.series)
    y_label = f"{y_names}（{y_unit}）" if y_unit else y_names
    out.append(f'<text class="x-label" x="{left + pw / 2:.1f}" y="{height - 18}" text-anchor="middle" '
               f'font-size="13" fill="#111">{escape(x_label)}</text>')
    out.append(f'<text class="y-label" x="22" y="{top + ph / 2:.1f}" text-anchor="middle" '
               f'style="writing-mode: vertical-rl" font-size="13" fill="#111">{escape(y_label)}</text>')
    # breakpoints
    for i, bp in enumerate(chart.breakpoints):
        x = px(float(bp.x))
        label = bp.label(chart.x_type)
        anchor, dx = ("end", -4) if x > left + pw * 0.85 else ("start", 4)
        out.append(f'<g class="breakpoint" data-x="{bp.x}" data-clause="{escape(bp.clause or "")}">')
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#888" '
                   'stroke-dasharray="5,4"/>')
        out.append(f'<text x="{x + dx:.1f}" y="{top + 14 + (i % 3) * 15}" text-anchor="{anchor}" fill="#444" '
                   f'font-size="11" stroke="#fbfbfd" stroke-width="3" paint-order="stroke">{escape(label)}</text>')
        out.append("</g>")
    # series
    for i, s in enumerate(chart.series):
        color = COLORS[i % len(COLORS)]
        coords = " ".join(f"{px(float(x)):.2f},{py(_numeric_value(s.type, y)):.2f}" for x, y in s.points)
        out.append(f'<polyline class="series" data-output="{escape(s.name)}" fill="none" stroke="{color}" '
                   f'stroke-width="2" stroke-linejoin="round" points="{coords}"/>')
        values = dict(s.points)
        for bp in chart.breakpoints:
            if bp.x in values:
                y = values[bp.x]
                out.append(f'<circle class="point" data-output="{escape(s.name)}" data-x="{bp.x}" '
                           f'data-y="{y}" cx="{px(float(bp.x)):.2f}" cy="{py(_numeric_value(s.type, y)):.2f}" '
                           f'r="3" fill="{color}"><title>{escape(s.name)}：{escape(short(chart.x_type, bp.x))} → '
                           f'{escape(display(s.type, y))}</title></circle>')
    # the current case
    if chart.marker is not None:
        mx, my, label = chart.marker
        if chart.low <= mx <= chart.high:
            cx, cy = px(float(mx)), py(float(my))
            anchor = "end" if cx > left + pw * 0.7 else "start"
            dx = -8 if anchor == "end" else 8
            out.append(f'<g class="case-marker" data-x="{mx}" data-y="{my}">'
                       f'<circle cx="{cx:.2f}" cy="{cy:.2f}" r="5" fill="#e67e22" stroke="#fff" stroke-width="1.5"/>'
                       f'<text x="{cx + dx:.1f}" y="{cy - 8:.1f}" text-anchor="{anchor}" fill="#a04000" stroke="#fff" '
                       f'stroke-width="3" paint-order="stroke" '
                       f'font-size="12">{escape(label)}</text></g>')
    # legend
    for i, s in enumerate(chart.series):
        color = COLORS[i % len(COLORS)]
        lx, ly = left + (i % 3) * (pw / 3), 22 + 18 * (i // 3)
        out.append(f'<line x1="{lx:.1f}" y1="{ly - 4}" x2="{lx + 22:.1f}" y2="{ly - 4}" stroke="{color}" '
                   'stroke-width="3"/>')
        out.append(f'<text x="{lx + 28:.1f}" y="{ly}" fill="#111" font-size="13">{escape(s.name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def breakpoint_table(chart: Chart) -> str:
    """An HTML table of the outputs at each breakpoint."""
    if not chart.breakpoints:
        return ""
    head = "".join(f"<th>{escape(s.name)}</th>" for s in chart.series)
    rows = [f'<table class="yb-breakpoints"><tr><th>{escape(chart.x_name)}</th><th>条款</th>{head}</tr>']
    for bp in chart.breakpoints:
        cells = []
        for s in chart.series:
            values = dict(s.points)
            cells.append(f'<td class="num">{escape(display(s.type, values.get(bp.x)))}</td>')
        rows.append(f'<tr><td class="num">{escape(display(chart.x_type, _on_lattice(chart.x_type, bp.x)))}</td>'
                    f"<td>{escape(bp.clause or bp.owner)}</td>{''.join(cells)}</tr>")
    rows.append("</table>")
    return "\n".join(rows)


PAGE_CSS = f"""
body {{ font-family: {FONT_STACK}; color: #111; max-width: 960px; margin: 1.5rem auto; padding: 0 1rem; }}
h1 {{ font-size: 1.3rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #999; padding: .2rem .6rem; }}
th {{ background: #eee; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.note {{ color: #555; font-size: .9em; }}
"""


def html_page(chart: Chart, policy: str) -> str:
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in chart.notes)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(chart.title)}</title>",
        f"<style>{PAGE_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(chart.title)}</h1>",
        f'<p class="note">政策文件：{escape(policy)}；{escape(chart.x_name)} 从 {escape(short(chart.x_type, chart.low))} '
        f"到 {escape(short(chart.x_type, chart.high))}；虚线为政策规定的分界点及其条款。</p>",
        svg(chart),
        notes,
        breakpoint_table(chart),
        "<footer class=\"note\">由 易保语 yibaolang 生成。</footer>",
        "</body>",
        "</html>",
    ]) + "\n"


def svg_file(chart: Chart) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg(chart, standalone=True) + "\n"
