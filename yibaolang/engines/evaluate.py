"""Evaluation: the interpreter over the IR (docs/language.md §4–§6, §29; docs/cli.md 案例文件).

The IR of a checked Program is compiled once into Python closures, one per
expression node, each taking the per-case `Frame`.  A figure (input,
parameter, definition) becomes a getter that computes on first use and
memoises in the frame, so evaluation is demand-driven: only what the
requested outputs need is computed, and only the inputs they need are
required.

Tracing is a compile-time flag.  The untraced closures do no string work at
all; the traced ones are built by the same functions, from the same nodes,
with a few extra lines that tell the `Tracer` what they computed — so the
explanation cannot drift from the arithmetic.

Imported policies are evaluated on the same case: each `引用` with 代入
bindings gets its own instance (its bound inputs computed in the importing
policy), unbound imports share one.  An imported policy keeps its own 舍入.

Problems are Diagnostics (YB4xx) with spans; no exception escapes `evaluate`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, assert_never, cast

import attrs

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Program, Symbol, SymbolKind, lookup
from yibaolang.checks.typecheck import EVALUATION_DATE
from yibaolang.diagnostics import Diagnostic, closest, error, warning
from yibaolang.engines.outcome import CaseInput, Outcome, OutputValue, assertion_cite, assertion_failure
from yibaolang.engines.trace import (
    Building,
    CatalogUse,
    ClauseRef,
    LineTrace,
    ListTrace,
    SourceRef,
    TraceNode,
    Tracer,
    excerpt,
    unparse,
)
from yibaolang.ir.types import (
    BOOL,
    DATE,
    DAYS,
    ERROR,
    LITERAL_TYPES,
    MONEY,
    MONTHS,
    NUMBER,
    TEXT,
    YEARS,
    Kind,
    Type,
    arith_result,
)
from yibaolang.semantics import bands as band_rules
from yibaolang.semantics import builtins, dates, instances, limits
from yibaolang.semantics import exceptions as exception_rules
from yibaolang.semantics.choices import DatedVersions, case_rows, table_cells
from yibaolang.semantics.instances import InstanceKey, Instances
from yibaolang.semantics.levels import FUND, is_fund_level, item_name, level_of, scoped_names
from yibaolang.semantics.numbers import PLACES, rounding_target
from yibaolang.semantics.ops import COMPARE, DECIMAL
from yibaolang.semantics.values import CONTEXT, ZERO, display, divide, plain

if TYPE_CHECKING:
    from yibaolang.engines.catalogs import Catalog

Fn = Callable[["Frame"], Any]
Instance = instances.Instance[ModuleScope]


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class EvalError(Exception):
    """An evaluation problem, already phrased as a diagnostic (`more`: others of the same cause, e.g. a catalog's)."""

    def __init__(self, diagnostic: Diagnostic, more: Sequence[Diagnostic] = ()) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.more = list(more)


class MissingInput(Exception):
    """An input the case does not give and that has no 默认, needed by `figure`."""

    def __init__(self, name: str, type_: Type, decl_span: ir.Span) -> None:
        super().__init__(name)
        self.name = name
        self.type = type_
        self.decl_span = decl_span
        self.figure: str | None = None
        self.figure_span: ir.Span | None = None
        self.figure_clause: str | None = None


class Frame:
    """The state of one case: its inputs, the memo of computed figures, the 计算日期."""

    __slots__ = ("args", "calls", "date", "date_source", "depth", "inputs", "memo", "steps", "tracer")

    def __init__(self, inputs: Mapping[str, Any], size: int, date: dt.date | None,
                 tracer: Tracer | None = None, date_source: str = "") -> None:
        self.inputs = inputs
        self.memo: list[Any] = [UNSET] * size
        self.date = date
        self.tracer = tracer
        self.date_source = date_source
        self.args: tuple[Any, ...] = ()
        # The evaluation budget (semantics/limits.py): figures and calls computed, and how deeply nested.
        self.steps = 0
        self.depth = 0
        # Function calls already made in this case: a function is pure, so its value depends on its arguments only.
        self.calls: dict[tuple[int, tuple[Any, ...]], Any] = {}


class LineFrame(Frame):
    """One line of a 列表 input (docs/itemized.md §2): its field values (`inputs`), the memo of the
    list's per-line figures, the line's number in the case (1-based) and the claim it belongs to.

    A claim's line frames are made once (the first aggregation over the list) and kept in the
    claim's memo, so a per-line figure read by several aggregations is computed once per line.
    """

    __slots__ = ("claim", "number")

    def __init__(self, fields: Mapping[str, Any], size: int, claim: Frame, number: int,
                 tracer: Tracer | None = None) -> None:
        super().__init__(fields, size, claim.date, tracer, claim.date_source)
        self.claim = claim
        self.number = number
        self.calls = claim.calls  # functions are pure: a call made on one line serves every line


@attrs.frozen(slots=True)
class Compiled:
    """A compiled expression: its closure, its static type and, if constant, its value."""

    fn: Fn
    type: Type
    const: Any = UNSET


@attrs.frozen(slots=True)
class Env:
    inst: Instance
    locals: Mapping[str, tuple[int, Type]] = attrs.field(factory=dict)
    # False directly under 四舍五入: the × or ÷ there is neither rounded to the 分 nor
    # required to be a whole duration, because the explicit rounding decides.
    whole: bool = True
    # The figure being compiled and its clause, for evaluation errors that name them (YB422).
    owner: str | None = None
    clause: str | None = None
    # The level names are read at (semantics/levels.py): a list name inside its per-line
    # definitions (the closures then take a LineFrame), None for the claim.
    level: str | None = None


@attrs.define(eq=False)
class Figure:
    """A compiled input, parameter or definition of one instance."""

    symbol: Symbol
    instance: Instance
    slot: int
    type: Type
    name: str
    get: Fn
    # A list name for a field or per-line figure: `slot` then indexes a LineFrame's memo (-1 for a field).
    level: str | None = None


@attrs.define(eq=False)
class Tables:
    """What the interpreter compiled for one instance (`yibaolang.semantics.instances.Instance`)."""

    figures: dict[str, Figure] = attrs.Factory(dict)
    functions: dict[str, Compiled] = attrs.Factory(dict)
    assertions: list[tuple[ir.Assertion, Fn]] = attrs.Factory(list)


_COMPARE = COMPARE

_UNIT_WORD = {Kind.YEARS: "年", Kind.MONTHS: "个月", Kind.DAYS: "日"}
_PLACEHOLDER: dict[Kind, Any] = {
    Kind.MONEY: ZERO, Kind.RATIO: ZERO, Kind.NUMBER: ZERO, Kind.YEARS: 0, Kind.MONTHS: 0, Kind.DAYS: 0,
    Kind.DATE: dt.date(2000, 1, 1), Kind.BOOL: False, Kind.TEXT: "", Kind.LIST: (),
}


def _const(value: Any, type_: Type) -> Compiled:
    return Compiled(lambda fr: value, type_, value)


def _internal(span: ir.Span, message: str) -> EvalError:
    return EvalError(error("YB499", span, f"内部错误：{message}", "这是 yibaolang 的缺陷，请报告给维护者"))


_MAX_RESULT = limits.MAX_RESULT
_EXACT = limits.EXACT
_DECIMAL_KINDS = frozenset({Kind.MONEY, Kind.RATIO, Kind.NUMBER})
_MAX_STEPS = limits.MAX_STEPS
_MAX_DEPTH = limits.MAX_EVAL_DEPTH


def _enter(fr: Frame, name: str, span: ir.Span) -> None:
    """Count one figure or call against the case's budget, one level deeper (the caller steps back out)."""
    fr.steps += 1
    fr.depth += 1
    if fr.steps > _MAX_STEPS:
        fr.depth -= 1
        raise EvalError(error(
            "YB423", span, f"计算步数超过上限：计算 {name} 时已算了 {limits.grouped(_MAX_STEPS)} 个数额与函数调用",
            "计算量随函数的层层调用成倍增长；把重复用到的结果写成一个 定义，或减少调用的层数"))
    if fr.depth > _MAX_DEPTH:
        fr.depth -= 1
        raise EvalError(error(
            "YB424", span, f"计算嵌套过深：计算 {name} 时数额与函数调用嵌套超过 {_MAX_DEPTH} 层",
            "把一长串互相依赖的 定义 或函数合并、缩短"))


def _on_claim(get: Fn) -> Fn:
    """`get` (a closure over a claim Frame) read from a LineFrame: through the line's claim."""
    def up(fr: Frame) -> Any:
        return get(fr.claim)  # type: ignore[attr-defined]  # a LineFrame (the hot path calls no cast())

    return up


def _row_label(catalog: Catalog, row: Any) -> str:
    """How a catalog row is named in an explanation: its key and, if there is one, its 名称 column."""
    if row is None:
        return ""
    key = row.values.get(catalog.decl.key.name)
    names = [v for k, v in row.values.items() if k != catalog.decl.key.name and isinstance(v, str)
             and k in ("名称", "项目名称", "药品名称")]
    return f"{key} {names[0]}" if names else str(key)


def _too_large(name: str, span: ir.Span, value: Decimal) -> EvalError:
    problem = limits.result_problem(value)
    return EvalError(error("YB419", span, f"{name} 的{problem}", "请检查输入的数额和公式：结果远超任何真实的金额"))


class Evaluator:
    """A Program compiled to closures, traced or not."""

    def __init__(self, program: Program, traced: bool) -> None:
        limits.ensure_recursion_limit()  # compiling and evaluating nest as deep as the budget allows
        self.program = program
        self.traced = traced
        self.nslots = 0
        self.compiling: set[tuple[InstanceKey, str]] = set()
        self.tree: Instances[ModuleScope] = Instances(program)
        self.tables: dict[InstanceKey, Tables] = {}
        self.outputs_cache: dict[str, Figure | Diagnostic] = {}
        # Per-line figures (docs/itemized.md §2): the slots of each list's LineFrame memo, the getter of
        # each list's line frames, and the claim slot that holds each catalog for the case.
        self.line_sizes: dict[str, int] = {}
        self.line_getters: dict[tuple[InstanceKey, str], Fn] = {}
        self.catalog_getters: dict[tuple[InstanceKey, str], Fn] = {}
        self.root = self.tree.root
        self.compile_instance(self.root, set())

    # -------------------------------------------------------------- instances

    @property
    def instances(self) -> list[Instance]:
        """Every instance created so far, the root first."""
        return self.tree.order

    def child(self, inst: Instance, imp: ir.Import) -> Instance:
        return self.tree.child(inst, imp)

    def compiled(self, inst: Instance) -> Tables:
        found = self.tables.get(inst.key)
        if found is None:
            found = self.tables[inst.key] = Tables()
        return found

    def figures_of(self, inst: Instance) -> dict[str, Figure]:
        """The figures compiled for `inst`, by name."""
        return self.compiled(inst).figures

    def compile_instance(self, inst: Instance, done: set[InstanceKey]) -> None:
        if inst.key in done:
            return
        done.add(inst.key)
        for symbol in list(inst.scope.own.values()):
            # Fund figures and fund 断言 belong to the whole run: engines/fund.py computes and checks them once.
            if symbol.kind is not SymbolKind.FUNCTION and level_of(symbol.name) != FUND:
                self.figure(inst, symbol)
        tables = self.compiled(inst)
        for assertion in inst.scope.module.assertions:
            if not is_fund_level(assertion.condition):
                tables.assertions.append((assertion, self.expr(assertion.condition, Env(inst)).fn))
        for imp, _child in inst.scope.imports:
            self.compile_instance(self.child(inst, imp), done)

    def instance_of(self, scope: ModuleScope) -> Instance:
        return self.tree.of_scope(scope)

    # -------------------------------------------------------------- figures

    def figure(self, inst: Instance, symbol: Symbol) -> Figure:
        figures = self.compiled(inst).figures
        found = figures.get(symbol.name)
        if found is not None:
            return found
        key = (inst.key, symbol.name)
        if key in self.compiling:
            raise _internal(symbol.decl.span, f"“{symbol.name}”循环依赖")
        self.compiling.add(key)
        try:
            fig = self.compile_figure(inst, symbol)
        finally:
            self.compiling.discard(key)
        figures[symbol.name] = fig
        return fig

    def compile_figure(self, inst: Instance, symbol: Symbol) -> Figure:
        type_ = self.program.types.get(symbol.key, ERROR)
        decl = symbol.decl
        name = inst.qualified(symbol.name)
        level = symbol.level if symbol.level != FUND else None
        if isinstance(decl, ir.FieldDecl):
            assert level is not None
            return Figure(symbol, inst, -1, type_, name, self.field_compute(inst, level, decl, type_), level)
        if level is not None:  # a per-line figure: a slot of the list's LineFrame memo
            slot = self.line_sizes.get(level, 0)
            self.line_sizes[level] = slot + 1
        else:
            slot = self.nslots
            self.nslots += 1
        expr: ir.Expr | None = None
        kind = "figure"
        sets_figure = True
        match decl:
            case ir.InputDecl():
                compute, expr = self.input_compute(inst, decl, type_)
                kind, sets_figure = "input", False
            case ir.ParamDecl():
                compute = self.param_compute(inst, decl, type_)
                kind = "parameter"
            case ir.Definition():
                compute = self.expr(decl.expr, Env(inst, owner=name, clause=decl.clause, level=level)).fn
                expr = decl.expr
            case ir.Requirement():
                compute = self.requirement_compute(decl)
            case ir.FunctionDecl():
                raise _internal(decl.span, f"函数 {decl.name} 不是数额")
            case _:
                assert_never(decl)
        rules = self.exception_rules(inst, symbol)
        if rules:
            compute = self.with_exceptions(inst, symbol, type_, compute, rules)
        get = self.getter(slot, compute, name, decl.span, sets_figure,
                          self.node_factory(inst, symbol, name, kind, type_, expr), expr, symbol.clause)
        return Figure(symbol, inst, slot, type_, name, get, level)

    def field_compute(self, inst: Instance, level: str, decl: ir.FieldDecl, type_: Type) -> Fn:
        """A field of a line: read from the line's values; its 默认 when the line does not give it."""
        field = decl.name
        default = self.expr(decl.default, Env(inst)).fn if decl.default is not None else None
        span = decl.span

        def read(fr: Frame) -> Any:
            try:
                return fr.inputs[field]
            except KeyError:
                line = cast(LineFrame, fr)
                if default is None:
                    raise EvalError(error(
                        "YB461", span, f"{level} 第 {line.number} 行没有给出字段 {field}",
                        f"在这一行写上 {field}，或在字段声明中写 默认")) from None
                return default(line.claim)

        return read

    def node_factory(self, inst: Instance, symbol: Symbol, name: str, kind: str, type_: Type,
                     expr: ir.Expr | None) -> Callable[[], TraceNode]:
        if not self.traced:
            return lambda: TraceNode(name, kind, type_)
        decl = symbol.decl
        assert not isinstance(decl, ir.FieldDecl)
        clause = inst.scope.clause(symbol.clause)
        focus = expr
        if isinstance(decl, ir.ParamDecl) and decl.versions:
            focus = decl.versions[-1].value
        ref = (ClauseRef(clause.raw_id, clause.title, excerpt(clause.text, focus, (symbol.name,)))
               if clause is not None else None)
        source = SourceRef(inst.scope.path, decl.span.line)
        expression = unparse(expr) if expr is not None and kind != "input" else None
        description = decl.description if isinstance(decl, ir.InputDecl) else None

        def make() -> TraceNode:
            node = TraceNode(name, kind, type_, expression=expression, clause=ref, source=source)
            if description:
                node.notes.append(f"说明：{description}")
            return node

        return make

    def getter(self, slot: int, compute: Fn, name: str, span: ir.Span, sets_figure: bool,
               make_node: Callable[[], TraceNode], expr: ir.Expr | None, clause: str | None = None) -> Fn:
        unset = UNSET
        dec, low, high = Decimal, -_MAX_RESULT, _MAX_RESULT  # closure locals: the hot path looks up no global
        if not self.traced:
            # A figure is computed at most once per case (the memo), and check_nesting
            # bounds how deeply figures nest, so the hot path counts nothing: the step
            # and depth budget is spent by function calls (see call()), and a Python
            # RecursionError is still reported as YB424 at the figure (_guarded).
            def get(fr: Frame) -> Any:
                value = fr.memo[slot]
                if value is unset:
                    try:
                        value = compute(fr)
                    except MissingInput as exc:
                        if sets_figure and exc.figure is None:
                            exc.figure, exc.figure_span, exc.figure_clause = name, span, clause
                        raise
                    if value.__class__ is dec and not low < value < high:
                        raise _too_large(name, span, value)
                    fr.memo[slot] = value
                return value

            return get

        def get_traced(fr: Frame) -> Any:
            tracer = fr.tracer
            assert tracer is not None
            value = fr.memo[slot]
            if value is not unset:
                tracer.reuse(slot)
                return value
            node = make_node()
            building = tracer.begin(node, expr)
            try:
                _enter(fr, name, span)
                try:
                    value = compute(fr)
                finally:
                    fr.depth -= 1
                if value.__class__ is Decimal and not -_MAX_RESULT < value < _MAX_RESULT:
                    raise _too_large(name, span, value)
            except MissingInput as exc:
                tracer.abandon(building)
                if sets_figure and exc.figure is None:
                    exc.figure, exc.figure_span, exc.figure_clause = name, span, clause
                raise
            except BaseException:
                tracer.abandon(building)
                raise
            fr.memo[slot] = value
            tracer.end(building, value, slot)
            return value

        return get_traced

    def input_compute(self, inst: Instance, decl: ir.InputDecl, type_: Type) -> tuple[Fn, ir.Expr | None]:
        name = decl.name
        bound_here = inst.binding(name)
        if bound_here is not None:
            binding, reader = bound_here
            bound = self.expr(binding.value, Env(reader)).fn
            if not self.traced:
                return bound, None
            where = inst.imp.path if inst.imp is not None else ""

            def bound_traced(fr: Frame) -> Any:
                assert fr.tracer is not None
                fr.tracer.bound_input(where)
                return bound(fr)

            return bound_traced, binding.value
        default = self.expr(decl.default, Env(inst)) if decl.default is not None else None
        decl_span = decl.span
        unset = UNSET
        if default is None:
            def required(fr: Frame) -> Any:
                value = fr.inputs.get(name, unset)
                if value is unset:
                    raise MissingInput(name, type_, decl_span)
                return value

            return required, None
        default_fn = default.fn
        traced = self.traced

        def with_default(fr: Frame) -> Any:
            value = fr.inputs.get(name, unset)
            if value is unset:
                value = default_fn(fr)
                if traced:
                    assert fr.tracer is not None
                    fr.tracer.default_used(type_, value)
            return value

        return with_default, None

    def param_compute(self, inst: Instance, decl: ir.ParamDecl, type_: Type) -> Fn:
        fn = self._param_compute(inst, decl, type_)
        if not self.traced or decl.range_low is None or decl.range_high is None:
            return fn
        # A local choice within the range the 原文 allows (docs/language.md §13.2): the explanation says so.
        low, high = unparse(decl.range_low), unparse(decl.range_high)

        def chosen(fr: Frame) -> Any:
            value = fn(fr)
            assert fr.tracer is not None
            fr.tracer.note(f"原文给出 {low}–{high}，本地取 {display(type_, value)}")
            return value

        return chosen

    def _param_compute(self, inst: Instance, decl: ir.ParamDecl, type_: Type) -> Fn:
        versions = [(v.start, self.expr(v.value, Env(inst)).fn, v) for v in decl.versions]
        traced = self.traced
        if len(versions) == 1 and versions[0][0] is None:
            fn, version = versions[0][1], versions[0][2]
            if not traced:
                return fn
            text = unparse(version.value)

            def undated(fr: Frame) -> Any:
                assert fr.tracer is not None
                fr.tracer.current.formula = text
                return fn(fr)

            return undated
        chosen = DatedVersions.of(decl)
        first = chosen.first
        assert first is not None
        compiled = {id(v): f for _, f, v in versions}
        dated = [(v.start, compiled[id(v)], v) for v in chosen.dated]
        no_date = error(
            "YB414", decl.span, f"参数 {decl.name} 按日期分版本，需要计算日期",
            "用 --date YYYY-MM-DD 指定，或在案例中写 计算日期，或在政策头部写 施行 日期", clause=decl.clause)
        name = decl.name
        # 此前 value: the parameter's value before its first dated version.
        before = (compiled[id(chosen.before)], chosen.before) if chosen.before is not None else None
        pick = chosen.index

        def choose(fr: Frame) -> Any:
            date = fr.date
            if date is None:
                raise EvalError(no_date)
            index = pick(date)
            if index < 0 and before is not None:
                fn, version = before
                if traced:
                    assert fr.tracer is not None
                    fr.tracer.version(version.value, None, date, fr.date_source, first)
                return fn(fr)
            if index < 0:
                raise EvalError(error(
                    "YB413", decl.span,
                    f"计算日期 {date.isoformat()} 早于参数 {name} 的第一个版本（自 {first.isoformat()} 起）",
                    f"参数 {name} 自 {first.isoformat()} 起才有规定；请检查计算日期", clause=decl.clause))
            start, fn, version = dated[index]
            if traced:
                assert fr.tracer is not None and start is not None
                fr.tracer.version(version.value, start, date, fr.date_source)
            return fn(fr)

        return choose

    def requirement_compute(self, decl: ir.Requirement) -> Fn:
        problem = error("YB420", decl.span, f"要求的数额 {decl.name} 在本政策中没有定义",
                        f"用 定义 {decl.name} = … 给出它", clause=decl.clause)

        def missing(fr: Frame) -> Any:
            raise EvalError(problem)

        return missing

    # -------------------------------------------------------------- exceptions (docs/language.md §29)

    def exception_rules(self, inst: Instance, symbol: Symbol) -> list[tuple[ir.ExceptionRule, Instance, Fn, Fn]]:
        out = []
        for scope, rule in self.program.exceptions.get(symbol.key, []):
            where = inst.enclosing(scope)
            if where is None:
                continue
            level = symbol.level if symbol.level != FUND else None
            env = Env(where, level=level)
            out.append((rule, where, self.expr(rule.condition, env).fn, self.expr(rule.value, env).fn))
        return out

    def with_exceptions(self, inst: Instance, symbol: Symbol, type_: Type, base: Fn,
                        rules: list[tuple[ir.ExceptionRule, Instance, Fn, Fn]]) -> Fn:
        traced = self.traced
        base_decl = symbol.decl
        base_clause = getattr(base_decl, "clause", None)
        if isinstance(base_decl, ir.Definition):
            base_text = f"{symbol.name} = {unparse(base_decl.expr)}"
        else:
            base_text = f"参数 {symbol.name} 的规定值"
        beaten = exception_rules.beaten_by([rule for rule, _, _, _ in rules])
        conditions = [cond for _, _, cond, _ in rules]
        values = [value for _, _, _, value in rules]

        def conflict(a: ir.ExceptionRule, b: ir.ExceptionRule, va: Any, vb: Any) -> EvalError:
            return EvalError(exception_rules.conflict(symbol.name, type_, a, b, va, vb))

        def compute(fr: Frame) -> Any:
            holds = [cond(fr) for cond in conditions]
            fired = [(rules[i][0], values[i]) for i, h in enumerate(holds) if h]
            if traced:
                tracer = fr.tracer
                assert tracer is not None
                for (rule, _, _, _), held in zip(rules, holds, strict=True):
                    if not held:
                        tracer.exception_not_applied(rule)
            if not fired:
                return base(fr)
            if len(fired) == 1:
                winners = fired
            else:
                winners = [(rules[i][0], values[i]) for i in exception_rules.winners(holds, beaten)]
                if not winners:  # every one that holds is beaten: a cycle of 优先于
                    a, b = fired[0][0], fired[1][0]
                    raise conflict(a, b, fired[0][1](fr), fired[1][1](fr))
            results = [(rule, value(fr)) for rule, value in winners]
            first_rule, first_value = results[0]
            for rule, value in results[1:]:
                if value != first_value:
                    raise conflict(first_rule, rule, first_value, value)
            if traced:
                tracer = fr.tracer
                assert tracer is not None
                tracer.exception_applied(first_rule, self.exception_clause(inst, first_rule), first_value, type_,
                                         base_text, base_clause, [r for r, _ in fired if r is not first_rule])
            return first_value

        return compute

    def exception_clause(self, inst: Instance, rule: ir.ExceptionRule) -> ClauseRef | None:
        scope = self.program.modules.get(rule.span.file, inst.scope)
        clause = scope.clause(rule.clause)
        return ClauseRef(clause.raw_id, clause.title, excerpt(clause.text, rule.value)) if clause else None

    # -------------------------------------------------------------- expressions

    def expr(self, e: ir.Expr, env: Env) -> Compiled:
        match e:
            case ir.Literal(kind=kind, value=value):
                return _const(value, LITERAL_TYPES[kind])
            case ir.Name():
                return self.name(e, env)
            case ir.Arith():
                return self.arith(e, env)
            case ir.Negate(operand=operand):
                inner = self.expr(operand, env)
                f = inner.fn
                return Compiled(lambda fr: -f(fr), inner.type)
            case ir.Compare():
                return self.compare(e, env)
            case ir.Member(subject=subject, values=values, negated=negated):
                sf = self.expr(subject, env).fn
                members = frozenset(values)
                if negated:
                    return Compiled(lambda fr: sf(fr) not in members, BOOL)
                return Compiled(lambda fr: sf(fr) in members, BOOL)
            case ir.Between(subject=subject, low=low, high=high):
                sf, lf, hf = self.expr(subject, env).fn, self.expr(low, env).fn, self.expr(high, env).fn

                def between(fr: Frame) -> bool:
                    x = sf(fr)
                    return bool(lf(fr) <= x <= hf(fr))

                return Compiled(between, BOOL)
            case ir.Logic(op=op, left=left, right=right):
                lf, rf = self.expr(left, env).fn, self.expr(right, env).fn
                if op is ir.LogicOp.AND:
                    return Compiled(lambda fr: bool(lf(fr) and rf(fr)), BOOL)
                return Compiled(lambda fr: bool(lf(fr) or rf(fr)), BOOL)
            case ir.Not(operand=operand):
                of = self.expr(operand, env).fn
                return Compiled(lambda fr: not of(fr), BOOL)
            case ir.If():
                return self.conditional(e, env)
            case ir.Bounded():
                return self.bounded(e, env)
            case ir.Call():
                return self.call(e, env)
            case ir.Banded():
                return self.banded(e, env)
            case ir.Stepped():
                return self.stepped(e, env)
            case ir.Cases():
                return self.cases(e, env)
            case ir.Table():
                return self.table(e, env)
            case ir.Aggregate():
                return self.aggregate(e, env)
            case ir.Lookup():
                return self.catalog_lookup(e, env)
            case _:
                assert_never(e)

    def evaluation_date(self, e: ir.Name) -> Fn:
        missing = error("YB414", e.span, "这里用到了 计算日期，但没有给出",
                        "用 --date YYYY-MM-DD 指定，或在案例中写 计算日期，或在政策头部写 施行 日期")
        traced = self.traced

        def today(fr: Frame) -> Any:
            if fr.date is None:
                raise EvalError(missing)
            if traced:
                assert fr.tracer is not None
                fr.tracer.record(e, fr.date, DATE)
            return fr.date

        return today

    def name(self, e: ir.Name, env: Env) -> Compiled:
        if e.qualifier is None and e.name in env.locals:
            index, type_ = env.locals[e.name]
            if not self.traced:
                return Compiled(lambda fr: fr.args[index], type_)

            def local_traced(fr: Frame) -> Any:
                value = fr.args[index]
                assert fr.tracer is not None
                fr.tracer.record(e, value, type_)
                return value

            return Compiled(local_traced, type_)
        found = lookup(env.inst.scope, e, env.level)
        if found is None and e.qualifier is None and e.name == EVALUATION_DATE:
            return Compiled(self.evaluation_date(e), DATE)
        if found is None:
            # Type checking accepted it, so it is an enumeration value.
            return _const(e.name, Type(Kind.ENUM))
        if found.symbol.kind is SymbolKind.FUNCTION:
            raise _internal(e.span, f"函数 {e.display} 未加括号")
        target = env.inst if found.via is None else self.child(env.inst, found.via)
        fig = self.figure(target, found.symbol)
        get, type_ = fig.get, fig.type
        if env.level is not None and fig.level is None:
            get = _on_claim(get)  # a claim figure read on a line: computed once, in the claim's frame
        if not self.traced:
            return Compiled(get, type_)

        def name_traced(fr: Frame) -> Any:
            value = get(fr)
            assert fr.tracer is not None
            fr.tracer.record(e, value, type_)
            return value

        return Compiled(name_traced, type_)

    # -------------------------------------------------------------- lines and catalogs (docs/itemized.md)

    def line_frames(self, inst: Instance, list_name: str) -> Fn:
        """The claim's LineFrames of the list input `list_name`: made on first use, kept in a claim slot."""
        key = (inst.key, list_name)
        found = self.line_getters.get(key)
        if found is not None:
            return found
        symbol = inst.scope.own.get(list_name)
        if symbol is None:
            raise _internal(ir.Span(inst.scope.path, 1, 1, 1, 1), f"列表 {list_name} 未声明")
        rows_of = self.figure(inst, symbol).get
        slot = self.nslots
        self.nslots += 1
        sizes = self.line_sizes  # read when the frames are made: every per-line figure is compiled by then
        traced, unset = self.traced, UNSET
        title = f"{list_name} 第 {{}} 行"

        def frames(fr: Frame) -> list[LineFrame]:
            made: list[LineFrame] = fr.memo[slot]
            if made is unset:
                size = sizes.get(list_name, 0)
                made = []
                for number, row in enumerate(rows_of(fr), 1):
                    tracer = None
                    if traced:
                        tracer = Tracer()
                        tracer.top.node.name, tracer.top.node.kind = title.format(number), "line"
                    made.append(LineFrame(row, size, fr, number, tracer))
                fr.memo[slot] = made
            return made

        self.line_getters[key] = frames
        return frames

    def aggregate(self, e: ir.Aggregate, env: Env) -> Compiled:
        """求和/计数/最大值/最小值 over a list's lines, each with its 其中 filter (docs/itemized.md §2)."""
        if e.over == FUND or env.level is not None:
            raise _internal(e.span, f"{e.kind.value}({e.over}…) 不在一次结算的定义里")
        frames = self.line_frames(env.inst, e.over)
        inner = Env(env.inst, owner=env.owner, clause=env.clause, level=e.over)
        where = self.expr(e.where, inner).fn if e.where is not None else None
        kind = e.kind
        word = kind.value
        shown = unparse(e)
        if kind is ir.AggregateKind.COUNT:
            type_ = NUMBER
            item: Fn | None = None
        else:
            name = item_name(e)
            assert name is not None
            found = lookup(env.inst.scope, name, e.over)
            if found is None:
                raise _internal(e.item_span, f"{e.over} 没有 {e.item}")
            fig = self.figure(env.inst, found.symbol)
            item, type_ = fig.get, fig.type
        traced = self.traced
        empty = error(
            "YB460", e.span,
            f"{shown} 没有可取的行：{e.over} 没有行" + ("，或没有满足 其中 条件的行" if where is not None else ""),
            f"{word} 至少要有一行；没有行时的取值请写在政策里，例如 如果 计数({e.over}) = 0 则 … 否则 {shown}",
            clause=env.clause)

        def chosen(fr: Frame) -> list[LineFrame]:
            lines: list[LineFrame] = frames(fr)
            if where is None:
                return lines
            return [lf for lf in lines if where(lf)]

        if kind is ir.AggregateKind.COUNT:
            if not traced:
                if where is None:
                    return Compiled(lambda fr: Decimal(len(frames(fr))), NUMBER)
                return Compiled(lambda fr: Decimal(len(chosen(fr))), NUMBER)

            def count_traced(fr: Frame) -> Any:
                lines = chosen(fr)
                assert fr.tracer is not None
                fr.tracer.aggregated(shown, e.over, [lf.number for lf in lines], None, NUMBER,
                                     len(frames(fr)))
                return Decimal(len(lines))

            return Compiled(count_traced, NUMBER)
        assert item is not None
        get = item
        if kind is ir.AggregateKind.SUM:
            duration = type_.is_duration
            add = _EXACT.add

            def total(fr: Frame) -> Any:
                lines = chosen(fr)
                values = [get(lf) for lf in lines]
                if duration:
                    acc: Any = sum(values)
                else:
                    acc = ZERO  # 求和 of no lines is 0 of the item's unit
                    for value in values:
                        acc = add(acc, value)
                if traced:
                    assert fr.tracer is not None
                    fr.tracer.aggregated(shown, e.over, [lf.number for lf in lines], values, type_,
                                         len(frames(fr)))
                return acc

            return Compiled(total, type_)
        pick = max if kind is ir.AggregateKind.MAX else min

        def extreme(fr: Frame) -> Any:
            lines = chosen(fr)
            if not lines:
                raise EvalError(empty)
            values = [get(lf) for lf in lines]
            result = pick(values)
            if traced:
                assert fr.tracer is not None
                fr.tracer.aggregated(shown, e.over, [lf.number for lf in lines], values, type_, len(frames(fr)),
                                     values.index(result))
            return result

        return Compiled(extreme, type_)

    def catalog(self, inst: Instance, name: str) -> Fn:
        """The catalog `name` for the case: loaded (or found in the process cache) once per case."""
        key = (inst.key, name)
        found = self.catalog_getters.get(key)
        if found is not None:
            return found
        # Imported here: a policy without 目录 never loads the data readers (cold start, docs/performance.md).
        from yibaolang.engines.catalogs import CatalogError, catalog_for

        slot = self.nslots
        self.nslots += 1
        program, scope, unset = self.program, inst.scope, UNSET

        def load(fr: Frame) -> Catalog:
            got: Catalog = fr.memo[slot]
            if got is unset:
                try:
                    got = catalog_for(program, scope, name)
                except CatalogError as exc:
                    raise EvalError(exc.diagnostics[0], exc.diagnostics[1:]) from None
                fr.memo[slot] = got
            return got

        self.catalog_getters[key] = load
        return load

    def catalog_lookup(self, e: ir.Lookup, env: Env) -> Compiled:
        """查目录 目录.列 按 键 于 日期 查无 值: the row of the key valid on the date (docs/itemized.md §3)."""
        decl = env.inst.scope.catalogs.get(e.catalog)
        if decl is None:
            raise _internal(e.target_span, f"未知的目录 {e.catalog}")
        load = self.catalog(env.inst, e.catalog)
        if env.level is not None:
            load = _on_claim(load)
        key_fn = self.expr(e.key, env).fn
        date_fn = self.expr(e.date, env).fn if e.date is not None else None
        missing = self.expr(e.missing, env)
        missing_fn = missing.fn
        from yibaolang.engines.catalogs import column_types

        type_ = column_types(env.inst.scope, decl).get(e.column, missing.type)
        column = e.column
        if not self.traced:
            def look(fr: Frame) -> Any:
                row = load(fr).find(key_fn(fr), date_fn(fr) if date_fn is not None else None)
                if row is None:
                    return missing_fn(fr)
                value = row.values.get(column)
                return missing_fn(fr) if value is None else value

            return Compiled(look, type_)
        key_text = unparse(e.key)

        def look_traced(fr: Frame) -> Any:
            catalog = load(fr)
            key = key_fn(fr)
            when = date_fn(fr) if date_fn is not None else None
            row = catalog.find(key, when)
            value = None if row is None else row.values.get(column)
            result = missing_fn(fr) if value is None else value
            assert fr.tracer is not None
            fr.tracer.catalog_row(CatalogUse(
                catalog.name, catalog.shown_path, column, str(key), when,
                row.number if row is not None else None, row.valid_from if row is not None else None,
                row.valid_to if row is not None else None, _row_label(catalog, row), value is None),
                key_text, type_, result)
            return result

        return Compiled(look_traced, type_)

    def arith(self, e: ir.Arith, env: Env) -> Compiled:
        inner = env if env.whole else attrs.evolve(env, whole=True)
        left, right = self.expr(e.left, inner), self.expr(e.right, inner)
        lt, rt = left.type, right.type
        result = arith_result(e.op, lt, rt) or ERROR
        lf, rf = left.fn, right.fn
        op = e.op
        if op in (ir.ArithOp.ADD, ir.ArithOp.SUB):
            if lt.kind is Kind.DATE or rt.kind is Kind.DATE:
                return Compiled(self.date_arith(e, lf, rf, lt, rt), result)
            if result.kind in _DECIMAL_KINDS:
                # Exact or decimal.Inexact (YB419): never rounded by the context.
                combine = _EXACT.add if op is ir.ArithOp.ADD else _EXACT.subtract
                if right.const is not UNSET:
                    k = right.const
                    return Compiled(lambda fr: combine(lf(fr), k), result)
                return Compiled(lambda fr: combine(lf(fr), rf(fr)), result)
            if op is ir.ArithOp.ADD:
                if right.const is not UNSET:
                    c = right.const
                    return Compiled(lambda fr: lf(fr) + c, result)
                return Compiled(lambda fr: lf(fr) + rf(fr), result)
            if right.const is not UNSET:
                c = right.const
                return Compiled(lambda fr: lf(fr) - c, result)
            return Compiled(lambda fr: lf(fr) - rf(fr), result)
        if op is ir.ArithOp.MUL:
            if result.kind is Kind.MONEY:
                return Compiled(self.rounded(e, env, lambda a, b: a * b, lf, rf, right.const), result)
            if result.is_duration:
                return Compiled(self.whole(e, env, result, lambda fr: lf(fr) * rf(fr)), result)
            multiply = _EXACT.multiply
            if right.const is not UNSET:
                c = right.const
                return Compiled(lambda fr: multiply(lf(fr), c), result)
            return Compiled(lambda fr: multiply(lf(fr), rf(fr)), result)
        # division
        zero = error("YB411", e.span, f"除数为零：{unparse(e.right)} 等于 0",
                     "请检查除数的来源；需要时先用 如果 排除为零的情形")

        def checked(fr: Frame) -> tuple[Any, Any]:
            a, b = lf(fr), rf(fr)
            if not b:
                raise EvalError(zero)
            return a, b

        if result.kind is Kind.MONEY:
            def money_div(fr: Frame) -> Any:
                a, b = checked(fr)
                return a / b

            return Compiled(self.rounded(e, env, None, money_div, None, UNSET), result)
        if result.is_duration:
            def duration_div(fr: Frame) -> Any:
                a, b = checked(fr)
                return divide(Decimal(a), b)

            return Compiled(self.whole(e, env, result, duration_div), result)

        def plain_div(fr: Frame) -> Any:
            a, b = checked(fr)
            return divide(Decimal(a), Decimal(b))

        return Compiled(plain_div, result)

    def rounded(self, e: ir.Arith, env: Env, combine: Callable[[Any, Any], Any] | None, lf: Fn,
                rf: Fn | None, right_const: Any) -> Fn:
        """Money produced by × or ÷, rounded half-up to the policy's unit where it is produced."""
        quantum, unit = env.inst.quantum, env.inst.unit
        if combine is None:
            raw_fn = lf
        elif right_const is not UNSET:
            c = right_const
            multiply = _EXACT.multiply
            raw_fn = lambda fr: multiply(lf(fr), c)  # noqa: E731
        else:
            assert rf is not None
            multiply = _EXACT.multiply
            raw_fn = lambda fr: multiply(lf(fr), rf(fr))  # noqa: E731
        if not env.whole:
            return raw_fn  # the enclosing 四舍五入 rounds it
        if not self.traced:
            return lambda fr: raw_fn(fr).quantize(quantum, ROUND_HALF_UP)

        def rounded_traced(fr: Frame) -> Any:
            raw = raw_fn(fr)
            value = raw.quantize(quantum, ROUND_HALF_UP)
            if value != raw:
                assert fr.tracer is not None
                fr.tracer.rounded(unit, raw, value, e)
            return value

        return rounded_traced

    def whole(self, e: ir.Arith, env: Env, result: Type, raw_fn: Fn) -> Fn:
        """A duration produced by × or ÷ must be whole, unless it is being rounded."""
        if not env.whole:
            return lambda fr: Decimal(raw_fn(fr))
        unit = _UNIT_WORD[result.kind]

        def checked(fr: Frame) -> int:
            value = Decimal(raw_fn(fr))
            if value != value.to_integral_value():
                raise EvalError(error(
                    "YB416", e.span, f"{result.name}不是整数：{unparse(e)} 得 {plain(value)}{unit}",
                    f"期限只能是整数；需要时用 四舍五入({unparse(e)}) 取整"))
            return int(value)

        return checked

    def date_arith(self, e: ir.Arith, lf: Fn, rf: Fn, lt: Type, rt: Type) -> Fn:
        traced = self.traced
        if lt.kind is Kind.DATE and rt.kind is Kind.DATE:
            return lambda fr: (lf(fr) - rf(fr)).days
        sign = -1 if e.op is ir.ArithOp.SUB else 1
        if lt.kind is Kind.DATE:
            date_fn, count_fn, unit_kind = lf, rf, rt.kind
        else:
            date_fn, count_fn, unit_kind = rf, lf, lt.kind
        span = e.span

        def shift(fr: Frame) -> dt.date:
            start, count = date_fn(fr), count_fn(fr)
            try:
                if unit_kind is Kind.DAYS:
                    return dates.add_days(start, sign * count)
                months = sign * count * (12 if unit_kind is Kind.YEARS else 1)
                result, clamped = dates.add_months(start, months)
            except dates.DateRangeError as exc:
                raise EvalError(error("YB417", span, f"日期超出范围：{exc}", "请检查日期和期限")) from None
            if clamped and traced:
                assert fr.tracer is not None
                unit = _UNIT_WORD[unit_kind]
                fr.tracer.note(dates.month_end_note(start, sign * count, unit, result))
            return result

        return shift

    def compare(self, e: ir.Compare, env: Env) -> Compiled:
        left, right = self.expr(e.left, env), self.expr(e.right, env)
        lf, rf = left.fn, right.fn
        op = _COMPARE[e.op]
        if right.const is not UNSET:
            c = right.const
            return Compiled(lambda fr: op(lf(fr), c), BOOL)
        return Compiled(lambda fr: op(lf(fr), rf(fr)), BOOL)

    def conditional(self, e: ir.If, env: Env) -> Compiled:
        branches = [(self.expr(b.condition, env).fn, self.expr(b.value, env)) for b in e.branches]
        other = self.expr(e.otherwise, env)
        type_ = next((v.type for _, v in branches if v.type.kind is not Kind.ERROR), other.type)
        pairs = [(c, v.fn) for c, v in branches]
        of = other.fn
        if not self.traced:
            if len(pairs) == 1:
                (cf, vf), = pairs
                return Compiled(lambda fr: vf(fr) if cf(fr) else of(fr), type_)

            def choose(fr: Frame) -> Any:
                for cf, vf in pairs:
                    if cf(fr):
                        return vf(fr)
                return of(fr)

            return Compiled(choose, type_)

        texts = [unparse(b.condition) for b in e.branches]

        def choose_traced(fr: Frame) -> Any:
            tracer = fr.tracer
            assert tracer is not None
            failed: list[str] = []
            for i, (cf, vf) in enumerate(pairs):
                holds = bool(cf(fr))
                tracer.branch(e, i, holds, failed, texts[i])
                if holds:
                    return vf(fr)
            tracer.otherwise(e, failed)
            return of(fr)

        return Compiled(choose_traced, type_)

    def bounded(self, e: ir.Bounded, env: Env) -> Compiled:
        value, limit = self.expr(e.value, env), self.expr(e.limit, env)
        vf, lf = value.fn, limit.fn
        cap = e.kind is ir.BoundKind.CAP
        type_ = value.type
        if not self.traced:
            if cap:
                def capped(fr: Frame) -> Any:
                    a, b = vf(fr), lf(fr)
                    return b if b < a else a

                return Compiled(capped, type_)

            def floored(fr: Frame) -> Any:
                a, b = vf(fr), lf(fr)
                return b if b > a else a

            return Compiled(floored, type_)

        def bounded_traced(fr: Frame) -> Any:
            a, b = vf(fr), lf(fr)
            tracer = fr.tracer
            assert tracer is not None
            applies = b < a if cap else b > a
            if not applies:
                return a
            tracer.bound_applied(e, type_, a, b)
            return b

        return Compiled(bounded_traced, type_)

    # -------------------------------------------------------------- calls

    def call(self, e: ir.Call, env: Env) -> Compiled:
        if not env.whole and not builtins.passes_unrounded(e):
            env = attrs.evolve(env, whole=True)  # only a value passed straight through stays unrounded
        if builtins.is_builtin(e):
            return self.builtin(e, env)
        found = lookup(env.inst.scope, e.callee)
        if found is None or not isinstance(found.symbol.decl, ir.FunctionDecl):
            raise _internal(e.span, f"未知的函数 {e.function}")
        decl = found.symbol.decl
        target = env.inst if found.via is None else self.child(env.inst, found.via)
        body = self.function_body(target, decl)
        args = [self.expr(a, env) for a in e.args]
        arg_fns = [a.fn for a in args]
        body_fn, type_ = body.fn, body.type
        # Calls are memoised per case: a function reads only its parameters (YB322), so
        # the same arguments give the same value, and f(x) + f(x) nested 30 deep stays linear.
        fid = id(body)
        fname, fspan = decl.name, decl.span
        unset = UNSET
        if not self.traced:
            def invoke(fr: Frame) -> Any:
                values = tuple([f(fr) for f in arg_fns])
                key = (fid, values)
                result = fr.calls.get(key, unset)
                if result is not unset:
                    return result
                _enter(fr, fname, fspan)
                saved = fr.args
                fr.args = values
                try:
                    result = body_fn(fr)
                finally:
                    fr.args = saved
                    fr.depth -= 1
                fr.calls[key] = result
                return result

            return Compiled(invoke, type_)
        scope = target.scope
        clause = scope.clause(decl.clause)
        ref = ClauseRef(clause.raw_id, clause.title, excerpt(clause.text, decl.body)) if clause else None
        source = SourceRef(scope.path, decl.span.line)
        params = decl.params
        arg_types = [a.type for a in args]

        def invoke_traced(fr: Frame) -> Any:
            tracer = fr.tracer
            assert tracer is not None
            values = tuple([f(fr) for f in arg_fns])
            key = (fid, values)
            done = fr.calls.get(key, unset)
            if done is not unset:
                result, finished = done
                tracer.attach(finished)
                tracer.record(e, result, type_)
                return result
            shown = ", ".join(f"{p.name} = {display(t, v)}" for p, t, v in zip(params, arg_types, values, strict=True))
            node = TraceNode(f"{decl.name}({shown})", "function", type_,
                             expression=unparse(decl.body), clause=ref, source=source)
            building = tracer.begin(node, decl.body)
            saved = fr.args
            fr.args = values
            try:
                _enter(fr, fname, fspan)
                try:
                    result = body_fn(fr)
                finally:
                    fr.depth -= 1
            except BaseException:
                tracer.abandon(building)
                raise
            finally:
                fr.args = saved
            finished = tracer.end(building, result)
            fr.calls[key] = (result, finished)
            tracer.record(e, result, type_)
            return result

        return Compiled(invoke_traced, type_)

    def function_body(self, inst: Instance, decl: ir.FunctionDecl) -> Compiled:
        functions = self.compiled(inst).functions
        found = functions.get(decl.name)
        if found is not None:
            return found
        from yibaolang.checks.typecheck import function_types

        locals_, result_type = function_types(self.program, inst.scope, decl)
        body = self.expr(decl.body, Env(inst, locals_))
        compiled = Compiled(body.fn, result_type if result_type.kind is not Kind.ERROR else body.type)
        functions[decl.name] = compiled
        return compiled

    def builtin(self, e: ir.Call, env: Env) -> Compiled:
        implement = builtins.implementation("interpreter", e.function)
        if implement is None:
            raise _internal(e.span, f"内置函数 {e.function} 没有实现")
        result: Compiled = implement(self, e, env)
        return result

    # -------------------------------------------------------------- block expressions

    def banded(self, e: ir.Banded, env: Env) -> Compiled:
        subject = self.expr(e.subject, env)
        sf = subject.fn
        type_ = subject.type if subject.type.kind is not Kind.ERROR else MONEY
        money = type_.kind is Kind.MONEY
        places = PLACES[env.inst.unit] if money else None
        bands = []
        for band in e.bands:
            low = self.expr(band.lower.value, env) if band.lower is not None else _const(ZERO, type_)
            high = self.expr(band.upper.value, env) if band.upper is not None else None
            rate = self.expr(band.rate, env)
            bands.append((low, high, rate))
        constant = all(lo.const is not UNSET and (hi is None or hi.const is not UNSET) and r.const is not UNSET
                       for lo, hi, r in bands)
        table = [(lo.const, None if hi is None else hi.const, r.const) for lo, hi, r in bands] if constant else []
        if not self.traced and constant and money and not any(band_rules.inverted(DECIMAL, lo, hi)
                                                               for lo, hi, _ in table):
            total_of = band_rules.decimal_total
            unit_quantum = env.inst.quantum

            def banded_const(fr: Frame) -> Any:
                return total_of(sf(fr), table, unit_quantum)

            return Compiled(banded_const, type_)
        fns = [(lo.fn, None if hi is None else hi.fn, r.fn) for lo, hi, r in bands]
        traced = self.traced
        labels = [band_rules.band_label(b) for b in e.bands]
        unit = env.inst.unit
        subject_text = unparse(e.subject)
        whole = type_.is_duration
        owner, clause = env.owner, env.clause

        def banded_general(fr: Frame) -> Any:
            x = sf(fr)
            total: Any = ZERO
            tracer = fr.tracer
            for i, (lo_f, hi_f, rate_f) in enumerate(fns):
                low = lo_f(fr)
                high = hi_f(fr) if hi_f is not None else None
                if band_rules.inverted(DECIMAL, low, high):
                    raise EvalError(band_rules.inverted_band(e, i, owner, clause, type_, low, high))
                rate = rate_f(fr)
                part = band_rules.piece(DECIMAL, x, low, high)
                top, raw = low + part, part * rate
                amount = DECIMAL.round(raw, places)
                total += amount
                if traced:
                    assert tracer is not None
                    tracer.band(i, e.bands[i], labels[i], type_, subject_text, x, low, top, rate, raw, amount, unit)
            if traced and total == 0 and fns:
                assert tracer is not None
                tracer.below_bands(subject_text, type_, x, fns[0][0](fr))
            if whole:
                if total != Decimal(total).to_integral_value():
                    raise EvalError(error("YB416", e.span, f"{type_.name}不是整数：分段累进 得 {plain(Decimal(total))}",
                                          "期限只能是整数"))
                return int(total)
            return total

        return Compiled(banded_general, type_)

    def stepped(self, e: ir.Stepped, env: Env) -> Compiled:
        subject = self.expr(e.subject, env)
        sf = subject.fn
        rows = []
        for step in e.steps:
            edges = {"low": self.expr(step.low.value, env).fn if step.low is not None else None,
                     "high": self.expr(step.high.value, env).fn if step.high is not None else None}
            # The row's guards, in order (a later edge is read only when the earlier one holds).
            guards = tuple((_COMPARE[op], edges[side]) for op, side in band_rules.step_guards(step))
            rows.append((guards, self.expr(step.result, env)))
        other = self.expr(e.otherwise, env) if e.otherwise is not None else None
        type_ = next((r[1].type for r in rows if r[1].type.kind is not Kind.ERROR),
                     other.type if other is not None else ERROR)
        table = [(guards, r.fn) for guards, r in rows]
        of = other.fn if other is not None else None
        no_row = error("YB418", e.span, f"分档 没有与 {unparse(e.subject)} 相符的档，也没有 其余 行",
                       "补上缺少的档，或加一行 其余 : 值")
        traced = self.traced
        subject_text = unparse(e.subject)
        labels = [band_rules.step_label(s) for s in e.steps]

        def pick_step(fr: Frame) -> Any:
            x = sf(fr)
            for i, (guards, rf) in enumerate(table):
                for holds, edge in guards:
                    if not holds(x, edge(fr)):  # type: ignore[misc]
                        break
                else:
                    if not traced:
                        return rf(fr)
                    value = rf(fr)
                    assert fr.tracer is not None
                    fr.tracer.step_row(e.steps[i], labels[i], type_, value, subject_text, subject.type, x)
                    return value
            if of is None:
                raise EvalError(no_row)
            if traced:
                assert fr.tracer is not None
                fr.tracer.no_step(subject_text, subject.type, x)
            return of(fr)

        return Compiled(pick_step, type_)

    def cases(self, e: ir.Cases, env: Env) -> Compiled:
        sf = self.expr(e.subject, env).fn
        results = [self.expr(row.result, env) for row in e.rows]
        types = [r.type for r in results]
        rows: dict[str, tuple[int, Fn]] = {value: (i, results[i].fn) for value, i in case_rows(e).items()}
        other = self.expr(e.otherwise, env) if e.otherwise is not None else None
        if other is not None:
            types.append(other.type)
        type_ = next((t for t in types if t.kind is not Kind.ERROR), ERROR)
        of = other.fn if other is not None else None
        traced = self.traced
        subject_text = unparse(e.subject)
        span = e.span

        def pick(fr: Frame) -> Any:
            x = sf(fr)
            found = rows.get(x)
            if found is not None:
                if traced:
                    value = found[1](fr)
                    assert fr.tracer is not None
                    fr.tracer.case_row(e.rows[found[0]], type_, value, subject_text, x)
                    return value
                return found[1](fr)
            if of is None:
                raise EvalError(error("YB418", span, f"分情况 没有“{x}”这一行，也没有 其余 行",
                                      "补上这一行，或加一行 其余 : 值"))
            if traced:
                assert fr.tracer is not None
                fr.tracer.no_case_row(subject_text, x)
            return of(fr)

        return Compiled(pick, type_)

    def table(self, e: ir.Table, env: Env) -> Compiled:
        keys = [self.expr(k, env).fn for k in e.keys]
        cells: dict[Any, tuple[ir.TableRow, str | None, Fn]] = {}
        types = []
        for (row_key, column), (row, cell) in table_cells(e).items():
            compiled = self.expr(cell, env)
            types.append(compiled.type)
            cells[row_key if column is None else (row_key, column)] = (row, column, compiled.fn)
        type_ = next((t for t in types if t.kind is not Kind.ERROR), ERROR)
        key_texts = [unparse(k) for k in e.keys]
        traced = self.traced
        span = e.span
        fast = {k: v[2] for k, v in cells.items()}

        def missing(key: Any) -> EvalError:
            shown = "、".join(key) if isinstance(key, tuple) else str(key)
            return EvalError(error("YB418", span, f"查表 没有“{shown}”对应的格", "补全表格的行与列"))

        if len(keys) == 1:
            k1 = keys[0]
            if not traced:
                def lookup1(fr: Frame) -> Any:
                    key = k1(fr)
                    f = fast.get(key)
                    if f is None:
                        raise missing(key)
                    return f(fr)

                return Compiled(lookup1, type_)
        else:
            k1, k2 = keys
            if not traced:
                def lookup2(fr: Frame) -> Any:
                    key = (k1(fr), k2(fr))
                    f = fast.get(key)
                    if f is None:
                        raise missing(key)
                    return f(fr)

                return Compiled(lookup2, type_)

        def lookup_traced(fr: Frame) -> Any:
            key_values = tuple(k(fr) for k in keys)
            key = key_values[0] if len(keys) == 1 else key_values
            found = cells.get(key)
            if found is None:
                raise missing(key)
            row, column, f = found
            value = f(fr)
            assert fr.tracer is not None
            fr.tracer.cell(key_texts, row, column, key_values, type_, value)
            return value

        return Compiled(lookup_traced, type_)

    # -------------------------------------------------------------- running cases

    def resolve_output(self, name: str) -> Figure | Diagnostic:
        qualifier, _, bare = name.rpartition(".")
        ref = ir.Name(bare, qualifier or None, ir.Span(self.root.scope.path, 1, 1, 1, 1))
        found = lookup(self.root.scope, ref)
        if found is None or found.symbol.kind is SymbolKind.FUNCTION:
            candidates = [n for n, (_, s) in self.root.scope.names.items() if s.kind is not SymbolKind.FUNCTION]
            for alias, (_, child) in self.root.scope.aliases.items():
                candidates.extend(f"{alias}.{n}" for n, s in child.own.items() if s.kind is not SymbolKind.FUNCTION)
            guess = closest(name, candidates)
            what = "是函数，不能作为输出" if found is not None else "不是本政策的数额"
            # Not a place in the policy: the name came from --output (line 0: no caret).
            return error("YB409", ir.Span(self.root.scope.path, 0, 0, 0, 0), f"--output “{name}”{what}",
                         f"是否想写 {guess}？" if guess else "输出 可以是任何定义、参数或输入的名称")
        target = self.root if found.via is None else self.child(self.root, found.via)
        return self.figure(target, found.symbol)

    def output(self, name: str) -> Figure | Diagnostic:
        """`resolve_output`, cached."""
        found = self.outputs_cache.get(name)
        if found is None:
            found = self.outputs_cache[name] = self.resolve_output(name)
        return found

    def default_outputs(self) -> list[str]:
        module = self.root.scope.module
        # Fund outputs (输出 全体.x) are the run's, not a claim's: engines/fund.py computes them once.
        if module.outputs:
            return [n.display for n in module.outputs if n.qualifier != FUND]
        return [d.name for d in module.definitions if d.scope is None]  # per-line ones: the explanation's

    def runner(self, names: Sequence[str]) -> Callable[[Mapping[str, Any], dt.date | None], list[Any]]:
        """A fast function from typed inputs to the values of `names` (benchmarks, batch)."""
        figures = [self.resolve_output(n) for n in names]
        getters = [f.get for f in figures if isinstance(f, Figure)]
        if len(getters) != len(figures):
            raise ValueError("unknown output")
        size = self.nslots

        def run(inputs: Mapping[str, Any], date: dt.date | None = None) -> list[Any]:
            fr = Frame(inputs, size, date)
            with decimal.localcontext(CONTEXT):
                return [g(fr) for g in getters]

        return run

    def constant(self, scope: ModuleScope, expr: ir.Expr) -> Any:
        """The value of an expression that reads no input (a 范围 bound, a 样例 value)."""
        compiled = self.expr(expr, Env(self.instance_of(scope)))
        fr = Frame({}, self.nslots, None, Tracer() if self.traced else None)
        with decimal.localcontext(CONTEXT):
            return compiled.fn(fr)


# ------------------------------------------------------------------ builtins (semantics/builtins.py declares them)


@builtins.implements("interpreter", "取较小", "取较大")
def _extreme(ev: Evaluator, e: ir.Call, env: Env) -> Compiled:
    name, args = e.function, e.args
    compiled = [ev.expr(a, env) for a in args]
    fns = [c.fn for c in compiled]
    type_ = next((c.type for c in compiled if c.type.kind is not Kind.ERROR), ERROR)
    pick = min if name == "取较小" else max
    traced = ev.traced
    if len(fns) == 2:
        f1, f2 = fns
        if name == "取较小":
            def smaller(fr: Frame) -> Any:
                a, b = f1(fr), f2(fr)
                return b if b < a else a

            return Compiled(smaller, type_)

        def larger(fr: Frame) -> Any:
            a, b = f1(fr), f2(fr)
            if b > a:
                if traced:
                    assert fr.tracer is not None
                    fr.tracer.larger_taken(args[0], type_, a, b)
                return b
            return a

        return Compiled(larger, type_)
    return Compiled(lambda fr: pick(f(fr) for f in fns), type_)


@builtins.implements("interpreter", "四舍五入")
def _round(ev: Evaluator, e: ir.Call, env: Env) -> Compiled:
    args = e.args
    inner = ev.expr(args[0], attrs.evolve(env, whole=False))
    f = inner.fn
    unit_name = (args[1].name if isinstance(args[1], ir.Name) else "分") if len(args) == 2 else None
    target = rounding_target(inner.type.kind, unit_name, env.inst.unit)
    quantum, unit = target.quantum, target.unit
    type_ = inner.type if target.kind is inner.type.kind else MONEY
    as_int = type_.is_duration
    traced = ev.traced

    def round_(fr: Frame) -> Any:
        raw = Decimal(f(fr))
        value = raw.quantize(quantum, ROUND_HALF_UP)
        if traced and value != raw:
            assert fr.tracer is not None
            fr.tracer.rounded(unit, raw, value)
        return int(value) if as_int else value

    return Compiled(round_, type_)


@builtins.implements("interpreter", "数值")
def _number(ev: Evaluator, e: ir.Call, env: Env) -> Compiled:
    inner = ev.expr(e.args[0], env)
    f = inner.fn
    if inner.type.is_duration:
        return Compiled(lambda fr: Decimal(f(fr)), NUMBER)
    return Compiled(f, NUMBER)


@builtins.implements("interpreter", "年月日")
def _make_date(ev: Evaluator, e: ir.Call, env: Env) -> Compiled:
    y, m, d = (ev.expr(a, env).fn for a in e.args)
    span = e.span

    def make_date(fr: Frame) -> dt.date:
        parts = (y(fr), m(fr), d(fr))
        try:
            if any(Decimal(p) != Decimal(p).to_integral_value() for p in parts):
                raise ValueError
            return dt.date(*(int(p) for p in parts))
        except (ValueError, OverflowError):
            shown = "-".join(plain(Decimal(p)) for p in parts)
            raise EvalError(error("YB417", span, f"日期不存在：年月日({shown})",
                                  "年、月、日要组成真实存在的日期")) from None

    return Compiled(make_date, DATE)


@builtins.implements("interpreter", "年份", "月份")
def _date_part(ev: Evaluator, e: ir.Call, env: Env) -> Compiled:
    f = ev.expr(e.args[0], env).fn
    if e.function == "年份":
        return Compiled(lambda fr: Decimal(f(fr).year), NUMBER)
    return Compiled(lambda fr: Decimal(f(fr).month), NUMBER)


@builtins.implements("interpreter", "相差天数", "相差月数", "相差年数")
def _between_dates(ev: Evaluator, e: ir.Call, env: Env) -> Compiled:
    a, b = ev.expr(e.args[0], env).fn, ev.expr(e.args[1], env).fn
    if e.function == "相差天数":
        return Compiled(lambda fr: dates.days_between(a(fr), b(fr)), DAYS)
    if e.function == "相差月数":
        return Compiled(lambda fr: dates.months_between(a(fr), b(fr)), MONTHS)
    return Compiled(lambda fr: dates.years_between(a(fr), b(fr)), YEARS)


@builtins.implements("interpreter", "绝对值")
def _absolute(ev: Evaluator, e: ir.Call, env: Env) -> Compiled:
    inner = ev.expr(e.args[0], env)
    f = inner.fn
    return Compiled(lambda fr: abs(f(fr)), inner.type)


# ------------------------------------------------------------------ the entry point

_EVALUATORS: weakref.WeakKeyDictionary[Program, dict[bool, Evaluator]] = weakref.WeakKeyDictionary()


def evaluator_for(program: Program, traced: bool = False) -> Evaluator:
    """The compiled form of a checked program (cached per program)."""
    cache = _EVALUATORS.setdefault(program, {})
    found = cache.get(traced)
    if found is None:
        found = cache[traced] = Evaluator(program, traced)
    return found


def choose_date(program: Program, case: CaseInput, override: dt.date | None = None) -> tuple[dt.date | None, str]:
    """计算日期: --date, else the case's 计算日期, else the policy's 施行 (docs/cli.md, yibaolang run)."""
    if override is not None:
        return override, "--date"
    if case.date is not None:
        return case.date, case.date_source or "案例的 计算日期"
    header = program.root.module.header
    if header is not None and header.effective is not None:
        return header.effective, "政策的 施行 日期"
    return None, ""


def outside_validity(program: Program, when: dt.date | None) -> Diagnostic | None:
    """YB426 (warning): the 计算日期 is before the policy's 施行 or on/after its 失效 (docs/diagnostics.md)."""
    header = program.root.module.header
    if when is None or header is None:
        return None
    if header.effective is not None and when < header.effective:
        return warning("YB426", header.span, f"计算日期 {when.isoformat()} 早于政策的 施行 日期 "
                       f"{header.effective.isoformat()}：那时这份政策还没有施行",
                       "请核对 --date 或案例的 计算日期；施行之前的案例应按当时有效的政策计算")
    if header.expires is not None and when >= header.expires:
        return warning("YB426", header.span, f"计算日期 {when.isoformat()} 不早于政策的 失效 日期 "
                       f"{header.expires.isoformat()}：那时这份政策已经失效",
                       "请核对 --date 或案例的 计算日期；失效之后的案例应按接替它的政策计算")
    return None


def evaluate(program: Program, case: CaseInput, outputs: Iterable[str] | None = None, *, trace: bool = False,
             date: dt.date | None = None, details: bool | None = None) -> Outcome:
    """Evaluate one case: the requested outputs (default: the policy's 输出), then every 断言.

    With `details` (the default when tracing) the Outcome also lists the inputs
    used and every figure computed, for explanations and what-if comparisons.
    """
    evaluator = evaluator_for(program, trace)
    when, source = choose_date(program, case, date)
    names = list(outputs) if outputs else evaluator.default_outputs()
    diagnostics: list[Diagnostic] = []
    figures: list[tuple[str, Figure | None]] = []
    for name in names:
        resolved = _fund_refusal(evaluator, name) or evaluator.output(name)
        if isinstance(resolved, Diagnostic):
            diagnostics.append(resolved)
            figures.append((name, None))
        else:
            figures.append((name, resolved))
    tracer = Tracer() if trace else None
    fr = Frame(case.values, evaluator.nslots, when, tracer, source)
    outcome = Outcome([], diagnostics, when, source, {})
    outside = outside_validity(program, when)
    if outside is not None:
        diagnostics.append(outside)
    missing: list[MissingInput] = []
    with decimal.localcontext(CONTEXT):
        for name, fig in figures:
            if fig is None:
                outcome.outputs.append(OutputValue(name, ERROR))
                continue
            out = OutputValue(name, fig.type)
            outcome.outputs.append(out)
            top = tracer.reset_top() if tracer is not None else None
            more: list[Diagnostic] = []
            problem = _guarded(lambda fig=fig: fig.get(fr), fig, more)  # type: ignore[misc]
            if isinstance(problem, MissingInput):
                missing.append(problem)
            elif problem is not None:
                diagnostics.append(problem)
                diagnostics.extend(more)
            else:
                out.value, out.ok = fr.memo[fig.slot], True
                if top is not None and top.node.children:
                    outcome.trace.append(top.node.children[0])
        if missing:
            diagnostics.extend(_missing_diagnostics(program, case, when, [f for _, f in figures if f], missing[0]))
        _check_assertions(evaluator, fr, tracer, outcome)
        if tracer is not None and evaluator.line_getters:
            outcome.lines = _line_traces(evaluator, fr)
            _reconciled(evaluator, outcome)
    if details if details is not None else trace:
        outcome.inputs = _inputs_used(evaluator, fr, case)
        for inst in evaluator.instances:
            for fig in evaluator.figures_of(inst).values():
                if fig.level is not None:
                    continue  # a per-line figure: its slot is a line's (the explanation lists the lines)
                value = fr.memo[fig.slot]
                if value is not UNSET and fig.name not in outcome.figures:
                    outcome.figures[fig.name] = (fig.type, value)
    outcome.diagnostics = _unique(diagnostics) if len(diagnostics) > 1 else diagnostics
    outcome.steps = fr.steps
    return outcome


def _guarded(run: Callable[[], Any], fig: Figure | None,
             more: list[Diagnostic] | None = None) -> Diagnostic | MissingInput | None:
    """Run `run`; its problem as a diagnostic (others of the same cause, e.g. a catalog's, go to `more`)."""
    span = fig.symbol.decl.span if fig is not None else ir.Span("<案例>", 1, 1, 1, 1)
    try:
        run()
    except MissingInput as exc:
        return exc
    except EvalError as exc:
        if more is not None:
            more.extend(exc.more)
        return exc.diagnostic
    except decimal.Inexact:
        return error("YB419", span, f"计算结果无法精确表示：需要超过 {limits.EXACT_DIGITS} 位有效数字",
                     "请检查输入的数额和公式：连乘使结果的位数过多")
    except decimal.DecimalException:
        return error("YB419", span, "计算结果超出可表示的范围", "请检查输入的数额是否过大")
    except RecursionError:
        return error("YB424", span, "计算嵌套过深，无法完成", "把一长串互相依赖的 定义 或函数合并、缩短")
    except (OverflowError, dates.DateRangeError) as exc:
        return error("YB417", span, f"日期或数值超出范围：{exc}", "请检查输入")
    return None


def _missing_diagnostics(program: Program, case: CaseInput, when: dt.date | None, figures: list[Figure],
                         first: MissingInput) -> list[Diagnostic]:
    """Every missing input on the path evaluation takes, each with the figure that needed it.

    After the first missing input is found, it is given a placeholder value and
    the outputs are evaluated again (untraced), until no new input is missing.
    """
    fast = evaluator_for(program, False)
    found = [first]
    names = {first.name}
    inputs = dict(case.values)
    getters = []
    for fig in figures:
        resolved = fast.resolve_output(fig.name)
        getters.append(resolved.get if isinstance(resolved, Figure) else fig.get)
    last = first
    for _ in range(256):
        inputs[last.name] = _placeholder(last.type)
        fr = Frame(inputs, fast.nslots, when)
        new: MissingInput | None = None
        with decimal.localcontext(CONTEXT):
            for get in getters:
                problem = _guarded(lambda get=get, fr=fr: get(fr), None)  # type: ignore[misc]
                if isinstance(problem, MissingInput) and problem.name not in names:
                    new = problem
                    break
        if new is None:
            break
        found.append(new)
        names.add(new.name)
        last = new
    out = []
    for miss in found:
        needed = f"计算 {miss.figure} 需要它" if miss.figure else "它被直接要求输出"
        span = miss.figure_span or miss.decl_span
        example = {Kind.MONEY: "\"1万元\"", Kind.RATIO: "\"50%\"", Kind.DATE: "\"2025-01-01\"", Kind.BOOL: "是",
                   Kind.YEARS: "\"1年\"", Kind.MONTHS: "\"3个月\"", Kind.DAYS: "\"30日\"", Kind.NUMBER: "1",
                   Kind.TEXT: "\"XB01\"", Kind.LIST: "[{字段: 值, …}, …]（每行一个映射）"}
        sample = example.get(miss.type.kind, "…")
        if miss.type.kind is Kind.ENUM and miss.type.enum is not None:
            sample = miss.type.enum.values[0]
        out.append(error("YB410", span, f"缺少输入“{miss.name}”：{needed}",
                         f"在案例中给出 {miss.name}（{miss.type.name}），例如 {miss.name}: {sample}",
                         clause=miss.figure_clause))
    return out


def _placeholder(type_: Type) -> Any:
    if type_.kind is Kind.ENUM and type_.enum is not None and type_.enum.values:
        return type_.enum.values[0]
    return _PLACEHOLDER.get(type_.kind, ZERO)


def _check_assertions(evaluator: Evaluator, fr: Frame, tracer: Tracer | None, outcome: Outcome) -> None:
    for inst in evaluator.instances:
        for assertion, fn in evaluator.compiled(inst).assertions:
            clause = assertion.clause
            cite = assertion_cite(assertion)
            building: Building | None = None
            if tracer is not None:
                tracer.reset_top()
                node = TraceNode(f"断言（{cite}）", "assertion", BOOL, expression=unparse(assertion.condition),
                                 source=SourceRef(inst.scope.path, assertion.span.line))
                clause_decl = inst.scope.clause(clause)
                if clause_decl is not None:
                    node.clause = ClauseRef(clause_decl.raw_id, clause_decl.title,
                                            excerpt(clause_decl.text, assertion.condition))
                building = tracer.begin(node, assertion.condition)
            result: list[Any] = []
            problem = _guarded(lambda fn=fn, result=result: result.append(fn(fr)), None)  # type: ignore[misc]
            if isinstance(problem, MissingInput):
                what = assertion.message or unparse(assertion.condition)
                note = f"跳过：缺少输入“{problem.name}”，无法检查（{cite}：{what}）"
                outcome.skipped.append(note)
                if tracer is not None and building is not None:
                    tracer.abandon(building)
                    building.node.display = "跳过"
                    building.node.notes.append(note)
                    outcome.assertions.append(building.node)
                continue
            if problem is not None:
                outcome.diagnostics.append(problem)
                if tracer is not None and building is not None:
                    tracer.abandon(building)
                continue
            holds = bool(result[0])
            if tracer is not None and building is not None:
                node = tracer.end(building, holds)
                node.notes[:] = [n for n in node.notes if not n.startswith("不适用")]
                node.notes.append("成立" if holds else "不成立")
                outcome.assertions.append(node)
            if not holds:
                shown = _substituted(evaluator, inst, fr, assertion.condition)
                outcome.diagnostics.append(assertion_failure(assertion, shown))  # the one wording (outcome.py)


def _substituted(evaluator: Evaluator, inst: Instance, fr: Frame, expr: ir.Expr) -> str:
    values: dict[int, tuple[Any, Type]] = {}
    for node, level in scoped_names(expr):
        if level is not None:
            continue  # read on each line (inside 求和(明细.x 其中 …)): no one value to show
        found = lookup(inst.scope, node)
        if found is not None and found.symbol.kind is not SymbolKind.FUNCTION:
            target = inst if found.via is None else evaluator.child(inst, found.via)
            fig = evaluator.figures_of(target).get(found.symbol.name)
            if fig is not None and fr.memo[fig.slot] is not UNSET:
                values[id(node)] = (fr.memo[fig.slot], fig.type)
    return unparse(expr, values)


def _inputs_used(evaluator: Evaluator, fr: Frame, case: CaseInput) -> dict[str, tuple[Type, Any]]:
    out: dict[str, tuple[Type, Any]] = {}
    declared: dict[str, Type] = {}
    for inst in evaluator.instances:
        for fig in evaluator.figures_of(inst).values():
            if fig.symbol.kind is SymbolKind.INPUT:
                declared.setdefault(fig.symbol.name, fig.type)
                if inst.label == "" and fig.symbol.name not in inst.bindings and fr.memo[fig.slot] is not UNSET:
                    out.setdefault(fig.symbol.name, (fig.type, fr.memo[fig.slot]))
    for name, value in case.values.items():
        if name in declared:
            out.setdefault(name, (declared[name], value))
    return dict(sorted(out.items(), key=lambda kv: list(case.values).index(kv[0]) if kv[0] in case.values else 10**6))


def _fund_refusal(evaluator: Evaluator, name: str) -> Diagnostic | None:
    """YB462: a fund-level figure asked of one case (docs/itemized.md §4: the batch computes them once)."""
    if level_of(name) != FUND:
        return None
    return error("YB462", ir.Span(evaluator.root.scope.path, 0, 0, 0, 0),
                 f"“{name}”是基金层的数，单个案例的计算不给出它",
                 "基金层的数汇总一次运行的全部案例：用 run --cases 批量计算（结果在汇总里），"
                 "或用 --fund 给出基金层的输入（此时“全体”就是这一个案例）")


def _line_traces(evaluator: Evaluator, fr: Frame) -> list[ListTrace]:
    """The lines of every list input the case used, for the explanation (docs/itemized.md §7)."""
    out: list[ListTrace] = []
    for (key, list_name), frames in evaluator.line_getters.items():
        if key != evaluator.root.key:
            continue  # lists live in the policy run (YB338)
        inst = evaluator.root
        lines: list[LineFrame] = []
        if _guarded(lambda frames=frames, lines=lines: lines.extend(frames(fr)), None, []) is not None:  # type: ignore[misc]
            continue
        scope = inst.scope
        decl = scope.lists[list_name]
        types = evaluator.program.types
        fields = [(f.name, types.get((scope.path, f"{list_name}.{f.name}"), TEXT)) for f in decl.fields]
        figures = [fig for fig in evaluator.figures_of(inst).values() if fig.level == list_name and fig.slot >= 0]
        order = {fig.name: i for i, fig in enumerate(figures)}
        group = next((fig for d in scope.module.definitions if d.scope == list_name
                      for fig in figures if fig.symbol.decl is d and fig.type.kind is Kind.ENUM), None)
        traced: list[LineTrace] = []
        for lf in lines:
            if group is not None and lf.memo[group.slot] is UNSET:  # the line's group, even if no output read it
                _guarded(lambda lf=lf, g=group: g.get(lf), None)  # type: ignore[misc]
            assert lf.tracer is not None
            seen = {id(n): n for n in lf.tracer.top.node.walk() if n.kind == "figure"}
            nodes = sorted(seen.values(), key=lambda n: order.get(n.name, len(order)))
            value = lf.memo[group.slot] if group is not None else UNSET
            traced.append(LineTrace(
                lf.number, [(name, t, lf.inputs.get(name)) for name, t in fields], nodes, list(lf.tracer.rows),
                None if value is UNSET else str(value)))
        out.append(ListTrace(list_name, group.name if group is not None else None, traced))
    return out


def _reconciled(evaluator: Evaluator, outcome: Outcome) -> None:
    """The 断言 of the form 总计 = 甲 + 乙 + … over figures summed from a list: the explanation says they hold."""
    scope = evaluator.root.scope
    summed: dict[str, str] = {}  # claim figure → the list it sums
    for d in scope.module.definitions:
        if d.scope is None and isinstance(d.expr, ir.Aggregate) and d.expr.over in scope.lists:
            summed[d.name] = d.expr.over
    for lt in outcome.lines:
        for assertion in scope.module.assertions:
            cond = assertion.condition
            if not (isinstance(cond, ir.Compare) and cond.op is ir.CompareOp.EQ):
                continue
            read = [n.name for n, level in scoped_names(cond) if level is None and n.qualifier is None]
            if sum(1 for n in read if summed.get(n) == lt.name) < 2:
                continue
            text = unparse(cond)
            node = next((a for a in outcome.assertions if a.expression == text), None)
            if node is not None and node.value is not None:
                shown = f"{text}（{node.formula}）" if node.formula and node.formula != text else text
                lt.reconciled.append((shown, bool(node.value)))


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, ir.Span, str]] = set()
    out = []
    for d in diagnostics:
        key = (d.code, d.span, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


__all__ = [
    "UNSET", "EvalError", "Evaluator", "Figure", "Frame", "MissingInput", "choose_date", "evaluate", "evaluator_for",
]
