"""The fund level: figures of the whole run, computed and checked once (docs/itemized.md §4, docs/batch.md 基金层).

A policy speaks of the fund with `全体.` figures: fund inputs (`输入 全体.参保人数`,
given once per run), fund definitions (`定义 全体.赔付支出 = 求和(全体.浙丽保报销)`)
and the 断言/约束 that mention them.  The claim evaluator never compiles them
(engines/evaluate.py leaves level-全体 symbols and fund 断言 out), so a claim's
result never carries a fund error.  Here:

- `fund_level(program)` finds the fund level of every instance (an imported
  policy's 全体 is the same run's claims, each seen through that instance) and
  the claim figures the batch must compute per claim to feed the aggregations
  (`FundLevel.feeds`);
- `Totals` accumulates the aggregations exactly (Decimal sums, counts, max/min);
- `evaluate_fund(program, fund_inputs, aggregates)` computes every fund figure
  and checks every fund 断言/约束 once, with the interpreter: `FundEvaluator`
  is the interpreter with two changes only — an aggregation over 全体 reads the
  run's value from the frame, and a bare name in a fund figure is first a
  全体. figure (semantics/levels.py) — so there is no second evaluator.
"""

from __future__ import annotations

import datetime as dt
import decimal
import weakref
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Program, Symbol, SymbolKind, lookup
from yibaolang.diagnostics import Diagnostic, error, warning
from yibaolang.engines.evaluate import (
    UNSET,
    Compiled,
    Env,
    EvalError,
    Evaluator,
    Figure,
    Frame,
    Instance,
    MissingInput,
    _guarded,
)
from yibaolang.engines.trace import unparse
from yibaolang.ir.printer import expr_text
from yibaolang.ir.types import NUMBER, Kind, Type
from yibaolang.ir.walk import walk
from yibaolang.semantics.instances import InstanceKey
from yibaolang.semantics.levels import FUND, is_fund_level, level_of, local_name, scoped_names
from yibaolang.semantics.values import CONTEXT, display, to_json

Fn = Callable[[Frame], Any]
# Where an aggregation's value sits in the fund frame's inputs: never a name a policy can write.
_AGG = "\x00全体:"


@attrs.define(eq=False)
class Site:
    """One aggregation over 全体 in one instance: what the batch accumulates per claim."""

    key: str                 # how it reads, unique per run: 求和(全体.浙丽保报销), prefixed by the instance's alias
    node: ir.Aggregate
    inst: Instance
    type: Type               # the aggregation's type (计数: 数)
    item: str | None         # the claim figure summed, as an output name from the root policy (None for 计数)
    item_type: Type | None
    # The 其中 filter: compiled on this evaluator, and the claim figures it reads (output name, figure);
    # per claim their memo slots are filled with the claim's values and the filter is called.
    filter: Fn | None = None
    reads: list[tuple[str, Figure]] = attrs.Factory(list)
    # YB494 when a figure it reads cannot be computed from the root policy: the aggregation has no value.
    unreachable: Diagnostic | None = None


@attrs.frozen
class FundInput:
    name: str                # 全体.参保人数
    type: Type
    decl: ir.InputDecl
    scope: ModuleScope


@attrs.frozen
class Check:
    """A fund 断言 or 约束, compiled."""

    word: str                # 断言 / 约束
    node: ir.Assertion | ir.Constraint
    inst: Instance
    fn: Fn | None


class FundEvaluator(Evaluator):
    """The interpreter, reading the run's aggregations from the frame (docs/itemized.md §4)."""

    def __init__(self, program: Program) -> None:
        self.fund_within: str | None = None
        self.fund_sites: dict[tuple[InstanceKey, ir.Span], Site] = {}
        self.fund_problems: list[Diagnostic] = []
        super().__init__(program, traced=False)

    def compile_figure(self, inst: Instance, symbol: Symbol) -> Figure:
        saved = self.fund_within
        self.fund_within = FUND if level_of(symbol.name) == FUND else None
        try:
            return super().compile_figure(inst, symbol)
        finally:
            self.fund_within = saved

    def name(self, e: ir.Name, env: Env) -> Compiled:
        # In a fund figure a bare name is first a 全体. figure, then a parameter (checks/resolve.py lookup).
        if self.fund_within == FUND and e.qualifier is None and e.name not in env.locals:
            found = lookup(env.inst.scope, e, within=FUND)
            if found is not None and found.via is None and level_of(found.symbol.name) == FUND:
                fig = self.figure(env.inst, found.symbol)
                return Compiled(fig.get, fig.type)
        return super().name(e, env)

    def expr(self, e: ir.Expr, env: Env) -> Compiled:
        if isinstance(e, ir.Aggregate) and e.over == FUND:
            return self.fund_aggregate(e, env.inst)
        return super().expr(e, env)

    def fund_aggregate(self, e: ir.Aggregate, inst: Instance) -> Compiled:
        site = self.fund_site(e, inst)
        slot = _AGG + site.key
        word = f"{e.kind.value}({FUND}.{e.item})" if e.item else f"{e.kind.value}({FUND})"
        empty = error("YB494", e.span, f"基金层的数无法计算：{word} 没有可以汇总的案例",
                      "本次运行没有算出这个数的案例（没有案例，或各行都出错）；最大值、最小值至少要一个案例")

        def read(fr: Frame) -> Any:
            if site.unreachable is not None:
                raise EvalError(site.unreachable)
            value = fr.inputs.get(slot)
            if value is None:
                raise EvalError(empty)
            return value

        return Compiled(read, site.type)

    def fund_site(self, e: ir.Aggregate, inst: Instance) -> Site:
        found = self.fund_sites.get((inst.key, e.span))
        if found is not None:
            return found
        saved = self.fund_within
        self.fund_within = None  # the item and the filter are read per claim
        problems = len(self.fund_problems)
        try:
            item: str | None = None
            item_type: Type | None = None
            if e.item is not None:
                fig = self.fund_claim_figure(inst, ir.Name(e.item, None, e.item_span))
                if fig is not None:
                    item_type = fig.type
                    item = self.fund_reach(fig, e.item_span)
            text = expr_text(e)
            key = f"{inst.label}：{text}" if inst.label else text
            site = Site(key, e, inst, NUMBER if e.kind is ir.AggregateKind.COUNT else (item_type or NUMBER),
                        item, item_type)
            if e.where is not None:
                site.filter = self.expr(e.where, Env(inst)).fn
                for node, level in scoped_names(e.where, None):
                    found_fig = self.fund_claim_figure(inst, node, level) if level is None else None
                    if found_fig is None or found_fig.symbol.kind is SymbolKind.PARAM:
                        continue
                    shown = self.fund_reach(found_fig, node.span)
                    if shown is not None and all(f is not found_fig for _, f in site.reads):
                        site.reads.append((shown, found_fig))
        finally:
            self.fund_within = saved
        if len(self.fund_problems) > problems:
            site.unreachable = self.fund_problems[-1]
        self.fund_sites[(inst.key, e.span)] = site
        return site

    def fund_claim_figure(self, inst: Instance, name: ir.Name, within: str | None = None) -> Figure | None:
        found = lookup(inst.scope, name, within)
        if found is None or found.symbol.kind is SymbolKind.FUNCTION:
            return None  # an option value, or type checking reported it
        target = inst if found.via is None else self.child(inst, found.via)
        return self.figure(target, found.symbol)

    def fund_reach(self, fig: Figure, span: ir.Span) -> str | None:
        """The output name by which the batch computes `fig` from the root policy, or None (YB494)."""
        name = fig.instance.qualified(fig.symbol.name)
        resolved = self.resolve_output(name)
        if isinstance(resolved, Figure) and resolved.instance.key == fig.instance.key \
                and resolved.symbol is fig.symbol:
            return name
        self.fund_problems.append(error(
            "YB494", span, f"基金层的数无法计算：汇总的“{fig.symbol.name}”在多层引用之内，从被运行的政策读不到",
            "在被运行的政策里（或它直接引用、带别名的政策里）写这个汇总"))
        return None


@attrs.define(eq=False)
class FundLevel:
    """The fund level of a program: its inputs, figures, checks and the aggregations that feed them."""

    program: Program
    evaluator: FundEvaluator
    inputs: dict[str, FundInput]
    figures: list[Figure]
    checks: list[Check]
    sites: list[Site]
    outputs: list[str]

    @property
    def empty(self) -> bool:
        return not (self.inputs or self.figures or self.checks or self.sites)

    @property
    def feeds(self) -> list[str]:
        """The claim figures (output names) the batch computes per claim, hidden unless they are outputs."""
        names: list[str] = []
        for site in self.sites:
            if site.item is not None:
                names.append(site.item)
            names.extend(name for name, _ in site.reads)
        return list(dict.fromkeys(names))

    @property
    def problems(self) -> list[Diagnostic]:
        return list(self.evaluator.fund_problems)

    def input_named(self, name: str) -> FundInput | None:
        """A fund input by its name, with or without the 全体. prefix."""
        return self.inputs.get(name) or self.inputs.get(f"{FUND}.{name}")


_LEVELS: weakref.WeakKeyDictionary[Program, FundLevel] = weakref.WeakKeyDictionary()


def fund_level(program: Program) -> FundLevel:
    """The fund level of a type-correct program (cached per program)."""
    found = _LEVELS.get(program)
    if found is None:
        found = _LEVELS[program] = _build(program)
    return found


def has_fund_level(program: Program) -> bool:
    """Whether any module of the program speaks of 全体 (cheap: no compiling)."""
    for scope in program.modules.values():
        if any(level_of(n) == FUND for n in scope.own):
            return True
        module = scope.module
        if any(is_fund_level(a.condition) for a in module.assertions) \
                or any(is_fund_level(c.condition) for c in module.constraints):
            return True
    return False


def _build(program: Program) -> FundLevel:
    ev = FundEvaluator(program)
    inputs: dict[str, FundInput] = {}
    figures: list[Figure] = []
    checks: list[Check] = []
    for inst in list(ev.instances):
        for symbol in list(inst.scope.own.values()):
            if level_of(symbol.name) != FUND:
                continue
            fig = ev.figure(inst, symbol)
            if symbol.kind is SymbolKind.INPUT:
                assert isinstance(symbol.decl, ir.InputDecl)
                inputs.setdefault(symbol.name, FundInput(symbol.name, fig.type, symbol.decl, inst.scope))
            elif symbol.kind is SymbolKind.DEFINITION:
                figures.append(fig)
        module = inst.scope.module
        found: list[tuple[str, ir.Assertion | ir.Constraint]] = [
            *(("断言", a) for a in module.assertions), *(("约束", c) for c in module.constraints)]
        for word, node in found:
            if is_fund_level(node.condition):
                checks.append(Check(word, node, inst, _compile_check(ev, inst, node.condition)))
    outputs = [n.display for n in program.root.module.outputs if n.qualifier == FUND]
    sites = list(dict((s.key, s) for s in ev.fund_sites.values()).values())
    return FundLevel(program, ev, inputs, figures, checks, sites, outputs)


def _compile_check(ev: FundEvaluator, inst: Instance, condition: ir.Expr) -> Fn | None:
    saved = ev.fund_within
    ev.fund_within = FUND
    try:
        return ev.expr(condition, Env(inst)).fn
    except EvalError:
        return None  # a 约束 over 要求 this policy does not define: reported as not checked
    finally:
        ev.fund_within = saved


# ------------------------------------------------------------------ accumulating


class Totals:
    """The aggregations over 全体 of one run, exact: Decimal sums, counts, max/min.

    The batch adds whole chunks (`add_sum`, `add_extreme`, `add_count`); a single
    case, and the claims of a filtered aggregation, are added one by one (`add_claim`).
    """

    def __init__(self, level: FundLevel) -> None:
        self.level = level
        self.values: dict[str, Any] = {}
        self.counts: dict[str, int] = {s.key: 0 for s in level.sites}
        for site in level.sites:
            # 计数 is a 数: a Decimal, like every 数 of the interpreter.
            self.values[site.key] = Decimal(0) if site.node.kind is ir.AggregateKind.COUNT else None
        self.rows = 0        # claims seen
        self.excluded = 0    # claims that failed: not in any aggregation

    def add_sum(self, key: str, total: Any, count: int) -> None:
        self.counts[key] += count
        with decimal.localcontext(CONTEXT):
            current = self.values[key]
            self.values[key] = total if current is None else current + total

    def add_count(self, key: str, count: int) -> None:
        self.counts[key] += count
        self.values[key] += Decimal(count)

    def add_extreme(self, key: str, value: Any, count: int, larger: bool) -> None:
        self.counts[key] += count
        if value is None:
            return
        current = self.values[key]
        if current is None or (value > current if larger else value < current):
            self.values[key] = value

    def add_claim(self, site: Site, values: Mapping[str, Any]) -> None:
        """One claim's figures (output name → value) into one aggregation."""
        if site.filter is not None and not self.selects(site, values):
            return
        kind = site.node.kind
        if kind is ir.AggregateKind.COUNT:
            self.add_count(site.key, 1)
            return
        value = values.get(site.item) if site.item is not None else None
        if value is None:
            return
        if kind is ir.AggregateKind.SUM:
            self.add_sum(site.key, value, 1)
        else:
            self.add_extreme(site.key, value, 1, kind is ir.AggregateKind.MAX)

    def selects(self, site: Site, values: Mapping[str, Any]) -> bool:
        """Whether the 其中 filter holds for a claim with these figures."""
        assert site.filter is not None
        ev = self.level.evaluator
        fr = Frame({}, ev.nslots, None)
        for name, fig in site.reads:
            value = values.get(name)
            if value is None:
                return False
            fr.memo[fig.slot] = value
        with decimal.localcontext(CONTEXT):
            return bool(site.filter(fr))

    def add_case(self, values: Mapping[str, Any]) -> None:
        """A whole claim (every feed's value) into every aggregation: a single case, or a row the batch interpreted."""
        self.rows += 1
        for site in self.level.sites:
            self.add_claim(site, values)

    def result(self) -> dict[str, Any]:
        """The aggregations' values; 求和 of no claims is 0, 最大值/最小值 of none is None."""
        out: dict[str, Any] = {}
        for site in self.level.sites:
            value = self.values[site.key]
            if site.unreachable is not None:
                out[site.key] = None
                continue
            if value is None and site.node.kind is ir.AggregateKind.SUM:
                value = 0 if site.type.kind in (Kind.YEARS, Kind.MONTHS, Kind.DAYS) else Decimal(0)
            out[site.key] = value
        return out


# ------------------------------------------------------------------ evaluating


@attrs.define
class FundValue:
    name: str
    type: Type
    value: Any = None
    ok: bool = False
    kind: str = "定义"       # 输入 / 定义 / 汇总
    clause: str | None = None
    problem: str | None = None  # why it was not computed


@attrs.define
class FundCheck:
    word: str                # 断言 / 约束
    clause: str | None
    message: str             # the 断言's 说明, else its condition
    condition: str           # as written
    holds: bool | None       # None: not checked
    shown: str = ""          # the condition with this run's values
    figures: list[tuple[str, str]] = attrs.Factory(list)  # the figures it reads, displayed
    note: str | None = None  # why it was not checked
    span: ir.Span | None = None
    where: str = ""          # the 引用 alias of the policy it belongs to ("" for the policy run)


@attrs.define
class FundOutcome:
    """The fund level of one run: every fund figure, every fund check, and what they rest on."""

    computed: bool                       # every fund input given and every figure computed
    values: list[FundValue]
    outputs: list[str]                   # the policy's 输出 全体.x, in order
    checks: list[FundCheck]
    diagnostics: list[Diagnostic]
    rows: int = 0                        # claims in the run
    excluded: int = 0                    # claims that failed, left out of the aggregations
    date: dt.date | None = None

    @property
    def failed(self) -> list[FundCheck]:
        return [c for c in self.checks if c.holds is False]

    def value(self, name: str) -> FundValue | None:
        return next((v for v in self.values if v.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The `fund` part of the JSON summary (docs/batch.md 基金层)."""
        def one(v: FundValue) -> dict[str, Any]:
            entry: dict[str, Any] = {"name": v.name, "kind": v.kind, "type": v.type.name,
                                     "value": to_json(v.type, v.value) if v.ok else None,
                                     "display": display(v.type, v.value) if v.ok else None}
            if v.clause:
                entry["clause"] = v.clause
            if v.problem:
                entry["problem"] = v.problem
            return entry

        return {
            "computed": self.computed,
            "rows": self.rows,
            "excluded_rows": self.excluded,
            "outputs": {name: one(v) for name in self.outputs if (v := self.value(name)) is not None},
            "figures": [one(v) for v in self.values],
            "checks": [{"kind": c.word, "policy": c.where or None, "clause": c.clause, "message": c.message,
                        "condition": c.condition,
                        "holds": c.holds, "shown": c.shown or None,
                        "figures": [{"name": n, "display": d} for n, d in c.figures], "note": c.note}
                       for c in self.checks],
            "diagnostics": [{"code": d.code, "severity": d.severity.value, "message": d.message, "hint": d.hint,
                             "location": d.location if d.span.line else None} for d in self.diagnostics],
        }

    def text(self, failed: bool = True) -> list[str]:
        """The fund part of the run's summary, as lines (docs/batch.md 基金层); without `failed`, a failed
        check is left to its YB493 diagnostic."""
        lines = []
        head = f"基金层（全部 {self.rows:,} 个案例"
        if self.excluded:
            head += f"，其中出错的 {self.excluded:,} 个不计入汇总"
        lines.append(head + "）：" + ("" if self.computed else "未完整计算"))
        for v in self.values:
            if v.kind == "输入" and not v.ok:
                continue
            shown = display(v.type, v.value) if v.ok else f"未算出（{v.problem}）"
            mark = "（输出）" if v.name in self.outputs else ""
            lines.append(f"  {v.name} = {shown}{mark}")
        for c in self.checks:
            cite = (f"{c.where} " if c.where else "") + (f"条款 {c.clause}" if c.clause else c.word)
            if c.holds is None:
                lines.append(f"  {c.word}（{cite}）未检查：{c.note}")
            elif c.holds:
                lines.append(f"  {c.word}（{cite}）成立：{c.message}")
            elif failed:
                lines.append(f"  {c.word}（{cite}）不成立：{c.message}；本次运行中：{c.shown}")
        return lines


def evaluate_fund(program: Program, fund_inputs: Mapping[str, Any], aggregates: Mapping[str, Any], *,
                  rows: int = 0, excluded: int = 0, date: dt.date | None = None) -> FundOutcome:
    """Every fund figure and every fund 断言/约束 of one run, computed once, exactly.

    `fund_inputs` are the run's fund inputs (`全体.参保人数` or `参保人数` → typed
    value); `aggregates` the values of the aggregations over 全体 (`Site.key` →
    value, e.g. `Totals.result()`); `rows`/`excluded` say how many claims they cover.
    """
    level = fund_level(program)
    ev = level.evaluator
    diagnostics: list[Diagnostic] = list(level.problems)
    given: dict[str, Any] = {}
    for name, value in fund_inputs.items():
        info = level.input_named(name)
        if info is not None:
            given[info.name] = value
    missing = [i for i in level.inputs.values() if i.name not in given and i.decl.default is None]
    if missing:
        diagnostics.append(missing_inputs(program, missing))
    inputs: dict[str, Any] = {}
    for name, value in given.items():
        inputs[name] = value
        inputs[local_name(name)] = value  # the interpreter reads an input by its declared name
    for key, value in aggregates.items():
        inputs[_AGG + key] = value
    header = program.root.module.header
    when = date or (header.effective if header is not None else None)
    fr = Frame(inputs, ev.nslots, when)
    values: list[FundValue] = []
    computed = not missing
    with decimal.localcontext(CONTEXT):
        for site in level.sites:
            value = aggregates.get(site.key)
            why = site.unreachable.message if site.unreachable is not None else "没有可以汇总的案例"
            values.append(FundValue(site.key, site.type, value, value is not None, "汇总",
                                    problem=None if value is not None else why))
        for info in level.inputs.values():
            fig = ev.figure(ev.instance_of(info.scope), _symbol(info))
            problem = _guarded(lambda fig=fig: fig.get(fr), fig)  # type: ignore[misc]
            ok = problem is None
            values.append(FundValue(info.name, info.type, fr.memo[fig.slot] if ok else None, ok, "输入",
                                    problem=None if ok else "缺少这个基金层输入"))
        for fig in level.figures:
            problem = _guarded(lambda fig=fig: fig.get(fr), fig)  # type: ignore[misc]
            entry = FundValue(_shown_name(fig), fig.type, kind="定义", clause=fig.symbol.clause)
            if problem is None:
                entry.value, entry.ok = fr.memo[fig.slot], True
            else:
                computed = False
                if isinstance(problem, MissingInput):
                    entry.problem = f"缺少基金层输入 {FUND}.{problem.name}"
                else:
                    entry.problem = problem.message
                    if problem not in diagnostics:
                        diagnostics.append(problem)
            values.append(entry)
        checks = [_check(level, c, fr) for c in level.checks]
    for check, spec in zip(checks, level.checks, strict=True):
        if check.holds is False:
            cite = (f"{check.where} " if check.where else "") + (f"条款 {check.clause}" if check.clause else check.word)
            diagnostics.append(error(
                "YB493", spec.node.span, f"基金层{check.word}不成立（{cite}）：{check.message}",
                f"本次运行中：{check.shown}（只检查一次，各行结果不带这个错误）", clause=check.clause))
    if excluded:
        diagnostics.append(warning(
            "YB458", ir.Span(program.root.path, 0, 0, 0, 0),
            f"基金层的汇总只含算出的 {rows - excluded:,} 个案例：{excluded:,} 个案例出错，不计入",
            "先改正出错的行（见结果文件的 错误 列），基金层的数才覆盖全部案例"))
    computed = computed and not any(d.is_error for d in diagnostics if d.code != "YB493")
    return FundOutcome(computed and not excluded, values, level.outputs, checks, diagnostics, rows, excluded, when)


def _symbol(info: FundInput) -> Symbol:
    return info.scope.own[info.name]


def _shown_name(fig: Figure) -> str:
    return fig.instance.qualified(fig.symbol.name)


def missing_inputs(program: Program, missing: Iterable[FundInput]) -> Diagnostic:
    """YB490 (warning): the run lacks fund inputs, so the fund level is not computed; the claims still are."""
    missing = list(missing)
    names = "、".join(i.name for i in missing)
    first = missing[0]
    sample = {Kind.MONEY: "100元", Kind.RATIO: "95%", Kind.NUMBER: "10000"}.get(first.type.kind, "…")
    return warning(
        "YB490", first.decl.span, f"基金层没有计算：缺少基金层输入 {names}（各案例照常计算）",
        f"每次运行给一次：--fund {first.name}={sample}，或 --fund 基金.yaml（每行 名称: 值）")


def _check(level: FundLevel, spec: Check, fr: Frame) -> FundCheck:
    node = spec.node
    condition = unparse(node.condition)
    message = node.message or condition
    out = FundCheck(spec.word, node.clause, message, condition, None, span=node.span, where=spec.inst.label)
    if spec.fn is None:
        out.note = "它读到的数本政策没有定义"
        return out
    fn = spec.fn
    result: list[Any] = []
    problem = _guarded(lambda: result.append(fn(fr)), None)
    recorded = _recorded(level, spec, fr)
    out.figures = [(name, display(t, v)) for name, (v, t) in _named(level, spec, fr).items()]
    if isinstance(problem, MissingInput):
        out.note = f"缺少基金层输入 {FUND}.{problem.name}"
        return out
    if problem is not None:
        out.note = problem.message
        return out
    out.holds = bool(result[0])
    out.shown = unparse(node.condition, recorded)
    return out


def _recorded(level: FundLevel, spec: Check, fr: Frame) -> dict[int, tuple[Any, Type]]:
    """The value of every name and aggregation the condition reads, by node (for `unparse`)."""
    ev = level.evaluator
    out: dict[int, tuple[Any, Type]] = {}
    for node in walk(spec.node.condition):
        if isinstance(node, ir.Aggregate) and node.over == FUND:
            site = ev.fund_site(node, spec.inst)
            value = fr.inputs.get(_AGG + site.key)
            if value is not None:
                out[id(node)] = (value, site.type)
    for name, level_ in scoped_names(spec.node.condition, FUND):
        if level_ != FUND:
            continue
        fig = _figure_of(ev, spec.inst, name)
        if fig is not None and fr.memo[fig.slot] is not UNSET:
            out[id(name)] = (fr.memo[fig.slot], fig.type)
    return out


def _named(level: FundLevel, spec: Check, fr: Frame) -> dict[str, tuple[Any, Type]]:
    """The fund figures a check reads, and the figures they read in turn, with this run's values."""
    ev = level.evaluator
    out: dict[str, tuple[Any, Type]] = {}
    todo: list[tuple[ir.Expr, Instance]] = [(spec.node.condition, spec.inst)]
    while todo:
        expr, inst = todo.pop()
        for name, level_ in scoped_names(expr, FUND):
            if level_ != FUND:
                continue
            fig = _figure_of(ev, inst, name)
            if fig is None or _shown_name(fig) in out or fr.memo[fig.slot] is UNSET:
                continue
            out[_shown_name(fig)] = (fr.memo[fig.slot], fig.type)
            if isinstance(fig.symbol.decl, ir.Definition):
                todo.append((fig.symbol.decl.expr, fig.instance))
    return out


def _figure_of(ev: FundEvaluator, inst: Instance, name: ir.Name) -> Figure | None:
    found = lookup(inst.scope, name, within=FUND)
    if found is None or found.symbol.kind is SymbolKind.FUNCTION:
        return None
    target = inst if found.via is None else ev.child(inst, found.via)
    return ev.figures_of(target).get(found.symbol.name)


__all__ = [
    "FundCheck", "FundEvaluator", "FundLevel", "FundOutcome", "FundValue", "Site", "Totals", "evaluate_fund",
    "fund_level", "has_fund_level", "missing_inputs",
]
