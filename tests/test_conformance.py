"""The conformance suite (docs/conformance.md): every construct, through every engine.

`tests/conformance/<feature>/good/<name>.ybl` are small programs, each with
`<name>.cases.yaml` beside it (the `yibaolang test` form: 名称, 输入, 期望,
计算日期) whose expected values were worked out by hand.  Every case goes
through

- `check` (the lints and the search): no error in a good program; `fmt`: the
  program laid out again computes the same values;
- the interpreter (`engines.evaluate`), one case at a time, untraced and traced ("explain");
- the vector engine, all cases of a program as rows of one batch
  (`tools.batch.Runner`); the engine itself must finish every row (no row
  handed back to the interpreter) and give the same values;
- z3 (`analysis.prove`): the translated figure, with the inputs pinned to the
  case, must take the expected value in the solver's model; every 断言 of the
  program must be proved;
- the counterexample search's evaluation (`analysis.search`), and its candidate values, which must
  include every kink the chart finds along the lines the search sweeps ("search-points");
- the charts (`outputs.plot`): the plotted function at the case's value of an
  input equals the expected value, every annotated breakpoint is a point
  where the interpreter's slope changes or its value jumps, and every such
  change between plotted points has a breakpoint ("plot-kinks"); the
  explanation's band charts mark the figure's real value ("chart").

`<feature>/bad/<name>.ybl` carries `# 期望诊断 YBnnn` lines (`check` must
report each code), or has `<name>.errors.yaml` beside it: cases (名称, 输入,
计算日期, 错误, 提及, 条款) on which every engine must fail with that
evaluation error instead of producing a value; such a program may also carry
`# 期望诊断` lines for what the search finds (YB580, YB507).

Around the cases, a hypothesis property holds the vector engine to the
interpreter on random rows.

The engines are reached through one small function each (section "the
engines"), so a change of their API is adapted in one place.

A construct outside an engine's fragment is listed in `OUTSIDE`, the one
table of exclusions; the test of such a program × engine asserts that the
engine really reports it (z3 raises Unsupported with that text, rounding
makes z3's exact value differ, …), so the table cannot go stale.  Known
defects (issue 10) are in `DEFECTS` and run as strict xfails: once fixed,
they turn red until their entry is removed.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import pytest
import yaml

from yibaolang import ir
from yibaolang.checks.compiler import compile_policy
from yibaolang.checks.resolve import Program
from yibaolang.diagnostics import Diagnostic
from yibaolang.engines.cases import RawCase, RawEntry, declared_inputs, load_suite, validate
from yibaolang.engines.evaluate import evaluate, evaluator_for
from yibaolang.engines.outcome import CaseInput, Outcome
from yibaolang.ir.types import DURATIONS, Kind, Type
from yibaolang.semantics.values import to_json
from yibaolang.tools.batch import cell_text

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "conformance"
EXPECT_MARK = "# 期望诊断 "
ENGINES = ("check", "fmt", "interpreter", "explain", "api", "vector", "z3", "search", "search-points", "plot", "plot-kinks")
ERROR_ENGINES = ("interpreter", "explain", "api", "vector", "z3", "search", "plot")
PLOT_POINTS = 40

# One table of what lies outside an engine's fragment: (program, engine) → what the engine reports, checked
# by `assert_outside`:
# - z3: a text of prove.Unsupported; EXACT (rounding is modelled as exact arithmetic, so some case's value
#   differs); NOT_MODELLED (an error z3 has no notion of — a missing input is just free, a result has no
#   magnitude limit —, so it finds a value where the interpreter fails);
# - vector: FALLBACK (rows handed to the interpreter, whose values are then final), or a text of what the
#   engine lists as unsupported;
# - plot, search-points: NOTHING_TO_PLOT (no numeric input that a numeric figure of the cases reads);
# - chart: NO_CHART (the band's subject reads more than one input);
# - z3, search, plot: VALIDATED (the case is refused when it is read; these engines never read a case file).
EXACT = "舍入按精确计算"
VALIDATED = "案例在求值之前就被拒绝"
NOTHING_TO_PLOT = "没有可以画的数值输入与数额"
NOT_MODELLED = "z3 不模拟这种错误：每个输入都有值，数值没有上限"
NO_CHART = "分段累进的对象不只读一个输入，解释里不画图"
FALLBACK = "有的行交给解释器"
# search, search-points: the search builds one claim with a value per input — no lines of a 列表 input
# (analysis.search.Space.outside says so; docs/itemized.md).
NO_LINES = "搜索不构造明细行"
# z3 on a fund-level 断言: prove reports it outside the fragment (checked once per batch run over every claim).
FUND_LEVEL = "基金层的断言汇总本次运行的全部案例"
_NO_NUMBERS = {(program, engine): NOTHING_TO_PLOT
               for program in ("cases/good/cases_rows", "table/good/lookup", "dates/good/month_end",
                               "dates/good/date_builtins", "dates/good/evaluation_date",
                               "exceptions/good/dated_exception")
               for engine in ("plot", "plot-kinks", "search-points")}
OUTSIDE: dict[tuple[str, str], str] = {
    **_NO_NUMBERS,
    ("params/good/dated_versions", "z3"): "按日期分版本",
    ("arithmetic/good/division_places", "z3"): "除以随案例变化的数额",
    ("arithmetic/good/products", "z3"): "两个随案例变化的数额相乘",
    ("rounding/good/per_production", "z3"): EXACT,
    ("rounding/good/policy_yuan", "z3"): EXACT,
    ("rounding/good/policy_jiao", "z3"): EXACT,
    ("rounding/good/round_builtin", "z3"): EXACT,
    ("rounding/good/round_builtin", "vector"): FALLBACK,
    ("banded/good/per_band_rounding", "z3"): EXACT,
    ("exceptions/good/dated_exception", "z3"): "日期",
    ("dates/good/month_end", "z3"): "日期",
    ("dates/good/date_builtins", "z3"): "用到了函数 年月日",
    ("dates/good/evaluation_date", "z3"): "计算日期",
    ("imports/good/layered", "z3"): EXACT,
    ("imports/good/layered", "chart"): NO_CHART,
    ("inputs/bad/out_of_range", "z3"): VALIDATED,
    ("inputs/bad/out_of_range", "search"): VALIDATED,
    ("inputs/bad/out_of_range", "plot"): VALIDATED,
    ("inputs/bad/missing_input", "z3"): NOT_MODELLED,
    ("arithmetic/bad/too_large", "z3"): NOT_MODELLED,
    ("params/bad/before_first_version", "z3"): "按日期分版本",
    ("arithmetic/bad/division_by_zero", "z3"): "除以随案例变化的数额",
    ("dates/bad/no_such_date", "z3"): "用到了函数 年月日",
    ("dates/bad/no_such_date", "plot"): NOTHING_TO_PLOT,
    ("constraints/bad/requirement_used", "z3"): "不是可以计算的数额",
    # Itemized bills, catalogs, text and the fund level (docs/itemized.md).
    ("itemized/good/lines", "z3"): "汇总明细行",
    ("itemized/good/lines", "search-points"): NO_LINES,
    ("itemized/good/no_lines", "z3"): "汇总明细行",
    ("itemized/bad/max_of_no_lines", "z3"): "汇总明细行",
    ("catalog/good/lookup", "z3"): "查目录",
    ("catalog/good/lines", "z3"): "汇总明细行",
    ("text/good/codes", "z3"): "是 文本",
    ("fund/good/fund", "z3"): FUND_LEVEL,
    **{(program, engine): NOTHING_TO_PLOT
       for program in ("itemized/good/no_lines", "catalog/good/lookup", "catalog/good/lines", "text/good/codes")
       for engine in ("plot", "plot-kinks", "search-points")},
    ("itemized/bad/max_of_no_lines", "plot"): NOTHING_TO_PLOT,
}

# Known defects, as strict xfails: (program, engine) → the defect (details in the findings of issue 10).
# When one is fixed its test passes, the strict xfail turns red, and its entry here must go.
DEFECTS: dict[tuple[str, str], str] = {
}


# ------------------------------------------------------------------ the programs


def _id(path: Path) -> str:
    return path.relative_to(SUITE).with_suffix("").as_posix()


GOOD = sorted(SUITE.glob("*/good/*.ybl"))
BAD = sorted(SUITE.glob("*/bad/*.ybl"))
BAD_CHECK = [p for p in BAD if not p.with_suffix(".errors.yaml").is_file()]
BAD_EVAL = [p for p in BAD if p.with_suffix(".errors.yaml").is_file()]


@functools.cache
def program_of(path: Path) -> Program:
    """The front end only (no lints): what every engine evaluates."""
    program = compile_policy(path)
    errors = [d for d in program.diagnostics if d.is_error]
    assert not errors, [f"{d.code} {d.message}" for d in errors]
    return program


def checked(path: Path) -> Program:
    """The front end and the lints: what `yibaolang check` reports."""
    try:
        from yibaolang.analysis.lint import check_policy  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return compile_policy(path, lint=True)  # type: ignore[call-arg,unused-ignore]
    return check_policy(path)  # type: ignore[no-any-return,unused-ignore]


@attrs.frozen
class Case:
    name: str
    cells: dict[str, Any]  # the case file's values as written (计算日期 included)
    case: CaseInput | None  # None when the case is refused before evaluation
    problems: tuple[Diagnostic, ...]
    expected: dict[str, Any]  # figure → value (good cases)
    types: dict[str, Type]
    error: str = ""  # bad cases: the code (or code prefix) every engine must fail with
    mentions: tuple[str, ...] = ()  # texts the interpreter's message must contain
    clause: str | None = None  # the clause the diagnostic must name


def _cell(value: Any) -> Any:
    # Numbers and texts go to the API as written in the suite (what a caller passes); the rest as batch cells.
    if isinstance(value, (int, str, list, dict)) and not isinstance(value, bool):
        return value
    return cell_text(value)


def _figure_type(program: Program, name: str) -> Type:
    fig = evaluator_for(program, False).resolve_output(name)
    assert not isinstance(fig, Diagnostic), f"{name}: {fig.message}"
    return fig.type


@functools.cache
def good_cases(path: Path) -> tuple[Case, ...]:
    from yibaolang.semantics.values import Problem, parse_value

    program = program_of(path)
    raws, problems = load_suite(str(path.with_suffix(".cases.yaml")))
    assert not problems, [d.message for d in problems]
    out = []
    for raw in raws:
        case, diags = validate(program, raw)
        assert not diags, (raw.name, [d.message for d in diags])
        expected, types = {}, {}
        for entry in raw.expect:
            types[entry.name] = _figure_type(program, entry.name)
            value = parse_value(entry.value, types[entry.name])
            assert not isinstance(value, Problem), (raw.name, entry.name, value.message)
            expected[entry.name] = value
        cells = {e.name: _cell(e.value) for e in raw.entries}
        out.append(Case(str(raw.name), cells, case, (), expected, types))
    assert out, f"{path}: no cases"
    return tuple(out)


@functools.cache
def error_cases(path: Path) -> tuple[Case, ...]:
    program = program_of(path)
    items = yaml.safe_load(path.with_suffix(".errors.yaml").read_text("utf-8"))
    span = ir.Span(str(path), 1, 1, 1, 1)
    out = []
    for item in items:
        assert set(item) <= {"名称", "输入", "计算日期", "错误", "提及", "条款"}, item
        cells = dict(item.get("输入", {}))
        if "计算日期" in item:
            cells["计算日期"] = item["计算日期"]
        assert not any(isinstance(v, float) for v in cells.values()), "write numbers with their unit"
        raw = RawCase(str(path), [RawEntry(k, v, span, span) for k, v in cells.items()], name=item["名称"])
        case, diags = validate(program, raw)
        out.append(Case(item["名称"], {k: _cell(v) for k, v in cells.items()}, None if diags else case,
                        tuple(diags), {}, {}, str(item["错误"]), tuple(item.get("提及", ())), item.get("条款")))
    return tuple(out)


def expected_codes(path: Path) -> list[str]:
    return [code for line in path.read_text("utf-8").splitlines() if line.startswith(EXPECT_MARK)
            for code in line[len(EXPECT_MARK):].split()]


def same(a: Any, b: Any) -> bool:
    """Exactly equal values (0.50 and 0.5 alike, 0.005 and 0.01 not), never through a binary float."""
    numbers = (Decimal, int)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return Decimal(a) == Decimal(b)
    return bool(a == b) and type(a) is type(b)


def mismatches(case: Case, got: dict[str, Any]) -> list[str]:
    out = []
    for name, want in case.expected.items():
        value = got.get(name, "（没有值）")
        if value == "（没有值）" or not same(value, want):
            out.append(f"{case.name}: {name} 期望 {to_json(case.types[name], want)}，实际 {value!r}")
    return out


def fails_with(case: Case, diagnostics: list[Diagnostic]) -> bool:
    return any(d.is_error and d.code.startswith(case.error) and all(m in d.message for m in case.mentions)
               and (case.clause is None or d.clause == case.clause) for d in diagnostics)


def all_values(program: Program, case: CaseInput) -> dict[str, Any]:
    """The case's values and every declared default the interpreter would take (those that are constants)."""
    values = dict(case.values)
    evaluator = evaluator_for(program, False)
    for name, info in declared_inputs(program).items():
        if name not in values and info.decl.default is not None:
            try:
                values[name] = evaluator.constant(info.scope, info.decl.default)
            except Exception:  # a default that reads other inputs: the engine under test computes it
                continue
    return values


# ------------------------------------------------------------------ the engines, each behind one function
# Only this section knows the engines' entry points: when one changes, it is adapted here.


def run_interpreter(program: Program, case: CaseInput, names: list[str]) -> Outcome:
    return evaluate(program, case, names)


def interpreter_values(program: Program, case: Case) -> dict[str, Any]:
    assert case.case is not None
    outcome = run_interpreter(program, case.case, list(case.expected))
    assert outcome.ok, [f"{d.code} {d.message}" for d in outcome.diagnostics]
    return {o.name: o.value for o in outcome.outputs if o.ok}


@attrs.frozen
class Batch:
    values: list[dict[str, Any]]  # per row: figure → value (None where the row failed)
    errors: list[str]  # per row: the 错误 column
    fallback: list[bool]  # per row: handed to the interpreter
    unsupported: list[str]  # what the vector engine said it does not reproduce


def run_batch(program: Program, cases: tuple[Case, ...], names: list[str], engine: str = "numpy") -> Batch:
    from yibaolang.tools.batch import Runner

    columns: list[str] = []
    for c in cases:
        columns.extend(k for k in c.cells if k not in columns)
    table = pa.table({k: _column([c.cells.get(k) for c in cases]) for k in columns}) if columns else \
        pa.table({"_": pa.nulls(len(cases))})
    runner = Runner(program, names, engine=engine, strict=True)
    out = runner.evaluate(table)
    types = {n: _figure_type(program, n) for n in runner.outputs}
    listed = {n: out.columns[n].to_pylist() for n in runner.outputs}
    values = [{n: _from_arrow(types[n], listed[n][i]) for n in runner.outputs} for i in range(out.n)]
    unsupported = list(runner.engine.unsupported) if runner.engine is not None else []
    return Batch(values, out.errors.to_pylist(), [bool(x) for x in out.fallback], unsupported)


def _column(cells: list[Any]) -> pa.Array:
    """One input column of the batch: text cells, or for a 列表 input a list<struct> of text fields
    (the nested column docs/itemized.md §6 reads)."""
    if any(isinstance(c, list) for c in cells):
        fields = list(dict.fromkeys(k for c in cells if isinstance(c, list) for line in c for k in line))
        kind = pa.list_(pa.struct([(f, pa.string()) for f in fields]))
        return pa.array([None if c is None else [{f: None if line.get(f) is None else str(line[f]) for f in fields}
                                                 for line in c] for c in cells], kind)
    return pa.array([None if c is None else str(c) for c in cells], pa.string())


def _from_arrow(type_: Type, value: Any) -> Any:
    assert not isinstance(value, float), f"a binary float in an output column: {value!r}"
    if value is None or type_.kind in (Kind.BOOL, Kind.DATE, Kind.ENUM) or type_.kind in DURATIONS:
        return value
    return Decimal(str(value))


class Z3Unsupported(Exception):
    """prove's translation refused a construct (the message is prove's)."""


def run_z3(program: Program, values: dict[str, Any], names: list[str],
           conditions: tuple[ir.Expr, ...] = ()) -> tuple[str, dict[Any, Any]]:
    """z3's model of each figure (and each condition, by its index) with the case inputs pinned:
    ("sat", values) or ("unsat", {})."""
    import z3  # type: ignore[import-untyped,import-not-found,unused-ignore]

    from yibaolang.analysis import prove
    from yibaolang.analysis.lint.context import load_config
    from yibaolang.analysis.search import space

    searched = space(program, load_config(program.project_root))
    variables, assumptions = prove._variables(z3, searched)
    tr = prove.Translator(z3, program, variables)
    try:
        terms: dict[Any, Any] = {n: tr.expr(_name(n), _root_where(program)) for n in names}
        terms.update({i: tr.expr(c, _root_where(program)) for i, c in enumerate(conditions)})
    except prove.Unsupported as exc:
        raise Z3Unsupported(str(exc)) from exc
    pins = []
    for name, term in variables.items():
        if name not in values:
            continue
        value = values[name]
        kind = searched.inputs[name].info.type.kind
        if kind is Kind.BOOL:
            pins.append(term == z3.BoolVal(bool(value)))
        elif kind is Kind.ENUM:
            pins.append(term == searched.inputs[name].candidates.index(value))
        else:
            pins.append(term == z3.RealVal(str(Fraction(Decimal(value)))))
    solver = z3.Solver()
    solver.set("timeout", 5000)
    solver.add(*assumptions, *tr.domain, *pins)
    verdict = solver.check()
    if verdict == z3.unsat:
        return "unsat", {}
    assert verdict == z3.sat, verdict
    model = solver.model()
    out: dict[Any, Any] = {}
    for n, term in terms.items():
        found = model.eval(term, model_completion=True)
        if isinstance(n, int):
            out[n] = z3.is_true(found)
            continue
        type_ = _figure_type(program, n)
        if type_.kind is Kind.BOOL:
            out[n] = z3.is_true(found)
        elif type_.kind is Kind.ENUM:
            assert type_.enum is not None
            out[n] = list(type_.enum.values)[found.as_long()]
        else:
            exact = Fraction(found.numerator_as_long(), found.denominator_as_long()) if z3.is_rational_value(found) \
                else Fraction(found.as_long())
            out[n] = exact
    return "sat", out


def _root_where(program: Program) -> Any:
    """Where the root policy's expressions are read, as the search and prove model it."""
    from yibaolang.analysis import search

    if hasattr(search, "at_root"):
        return search.at_root(program)
    where: Any = search.Where
    return where(program.root)  # before import instances had stable keys


def z3_same(got: Any, want: Any) -> bool:
    """z3's exact rational against the expected Decimal; truth values and options as they are."""
    if isinstance(got, Fraction):
        return not isinstance(want, bool) and got == Fraction(Decimal(want))
    return bool(got == want)


def prove_assertions(program: Program) -> list[Diagnostic]:
    """What `check --prove` says about each 断言 of the program (YB590 proved, YB580 false, YB592 unknown)."""
    from yibaolang.analysis.prove import prove

    spans = {a.span for a in program.root.module.assertions}
    return [d for d in prove(program) if d.span in spans]


def run_search(program: Program, case: CaseInput, names: list[str]) -> Outcome:
    from yibaolang.analysis.lint.context import load_config
    from yibaolang.analysis.search import SearchCase, space

    searched = space(program, load_config(program.project_root))
    return searched.run(SearchCase(dict(case.values), case.date), names)  # type: ignore[no-any-return]


def run_plot(program: Program, input_name: str, low: Decimal, high: Decimal, case: CaseInput | None,
             names: list[str]) -> Any:
    from yibaolang.analysis.function import figure_function as plot

    assert case is not None
    values = {k: v for k, v in case.values.items() if k != input_name}
    return plot(program, input_name, low, high, values, case.date, names, points=PLOT_POINTS)


def band_markers(program: Program, case: CaseInput) -> dict[str, Any]:
    """The explanation's band charts of the case: figure → the value its marker shows."""
    from yibaolang.analysis.function import band_charts

    charts = band_charts(program, dict(case.values), case.date)
    return {name: chart.marker[1] for name, chart in charts.items() if chart.marker is not None}


def _name(text: str) -> ir.Name:
    qualifier, _, name = text.rpartition(".")
    return ir.Name(name, qualifier or None, ir.NO_SPAN)


# ------------------------------------------------------------------ which charts a case has


NUMERIC_KINDS = (Kind.MONEY, Kind.RATIO, Kind.NUMBER, *DURATIONS)


@attrs.frozen
class Plan:
    """One chart: vary `input_name` over [low, high] (the case's value `x` is a plotted point)."""

    case: Case
    input_name: str
    x: Any
    low: Decimal
    high: Decimal
    names: tuple[str, ...]


def plot_plans(program: Program, cases: tuple[Case, ...], every_input: bool = False) -> list[Plan]:
    from yibaolang.analysis.function import dependencies

    inputs = declared_inputs(program)
    evaluator = evaluator_for(program, False)
    plans = []
    for case in cases:
        assert case.case is not None
        for input_name, x in all_values(program, case.case).items():
            info = inputs[input_name]
            if info.type.kind not in NUMERIC_KINDS:
                continue
            groups: dict[Kind, list[str]] = {}
            for name, type_ in case.types.items():
                if name == input_name or not (type_.kind in NUMERIC_KINDS or type_.kind is Kind.BOOL):
                    continue
                if input_name in dependencies(program, name).inputs:
                    groups.setdefault(type_.kind, []).append(name)
            if not groups:
                continue
            low_limit = _bound(evaluator, info, info.decl.range_low)
            if low_limit is None and info.type.kind in (Kind.MONEY, *DURATIONS) and x >= 0:
                low_limit = Decimal(0)
            high_limit = _bound(evaluator, info, info.decl.range_high)
            low, high = _window(Decimal(x), low_limit, high_limit, info.type.kind)
            for names in groups.values():
                plans.append(Plan(case, input_name, x, low, high, tuple(names)))
            if not every_input:
                break  # one varied input per case keeps the suite fast; the cases vary different inputs
    return plans


def _bound(evaluator: Any, info: Any, expr: ir.Expr | None) -> Decimal | None:
    return None if expr is None else Decimal(evaluator.constant(info.scope, expr))


def _window(x: Decimal, low: Decimal | None, high: Decimal | None, kind: Kind) -> tuple[Decimal, Decimal]:
    """An interval with x at its middle or at one end, so x is one of the evenly spaced points."""
    d = abs(x) if x != 0 else (Decimal(1) if kind is Kind.RATIO else Decimal(PLOT_POINTS))
    if kind in DURATIONS:
        d = d.to_integral_value() or Decimal(PLOT_POINTS)
        if d % 2:
            d += 1
    left = d if low is None else min(d, x - low)
    right = d if high is None else min(d, high - x)
    if left >= d and right >= d:
        return x - d, x + d
    if right >= d or right >= left:
        return x, x + (right if right > 0 else d)
    return x - left, x


def _kinked(ys: list[Any], xs: list[Decimal], tolerance: Decimal) -> bool:
    """The middle point is off the line through the outer two by more than rounding explains."""
    (x0, x1, x2), (y0, y1, y2) = xs, [Decimal(int(y)) if isinstance(y, bool) else Decimal(y) for y in ys]
    if x2 == x0:
        return False
    line = y0 + (y2 - y0) * (x1 - x0) / (x2 - x0)
    return abs(y1 - line) > tolerance


def _tolerance(type_: Type, values: list[Any] = ()) -> Decimal:  # type: ignore[assignment]
    """What rounding explains: a few 分, or two steps of a series rounded to the 角 or the 元."""
    if type_.kind is not Kind.MONEY:
        return Decimal("0.000001")
    for unit in (Decimal(1), Decimal("0.1")):
        if values and all(Decimal(v) % unit == 0 for v in values):
            return 2 * unit + Decimal("0.05")
    return Decimal("0.05")


# ------------------------------------------------------------------ parametrization


def _param(program: str, engine: str, *args: Any) -> Any:
    reason = DEFECTS.get((program, engine))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(*args, engine, id=f"{program}-{engine}", marks=marks)


def _good_params() -> Iterator[Any]:
    for path in GOOD:
        for engine in ENGINES:
            yield _param(_id(path), engine, path)


def _error_params() -> Iterator[Any]:
    for path in BAD_EVAL:
        for engine in ERROR_ENGINES:
            yield _param(_id(path), engine, path)


def _check_params() -> Iterator[Any]:
    for path in BAD:
        if path in BAD_CHECK or expected_codes(path):
            yield _param(_id(path), "check", path)


# ------------------------------------------------------------------ good programs: every engine agrees


def check_interpreter(program: Program, cases: tuple[Case, ...]) -> None:
    problems = [m for case in cases for m in mismatches(case, interpreter_values(program, case))]
    assert not problems, problems


def check_explain(program: Program, cases: tuple[Case, ...]) -> None:
    """The traced build of the interpreter (what `explain` prints) computes the same values."""
    problems = []
    for case in cases:
        assert case.case is not None
        outcome = evaluate(program, case.case, list(case.expected), trace=True)
        assert outcome.ok, [f"{d.code} {d.message}" for d in outcome.diagnostics]
        problems.extend(mismatches(case, {o.name: o.value for o in outcome.outputs if o.ok}))
        traced = {node.name: node for node in outcome.trace}
        problems.extend(f"{case.name}: 解释里没有 {n}" for n in case.expected if n not in traced)
    assert not problems, problems


@functools.cache
def _api_policy(path: Path) -> Any:
    from yibaolang.api import load

    return load(path)


def run_api(path: Path, case: Case, names: list[str]) -> dict[str, Any]:
    """The Python API (docs/api.md): the case as a mapping, read like a JSON case file; the run document."""
    values = {k: v for k, v in case.cells.items() if k != "计算日期"}
    return _api_policy(path).run(values, date=_date(case.cells.get("计算日期")),  # type: ignore[no-any-return]
                                 outputs=names)


def _date(text: Any) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(str(text))


def check_api(program: Program, cases: tuple[Case, ...]) -> None:
    """`yibaolang.api` (what `run --format json` and `serve` answer): each value in the JSON encoding."""
    problems = []
    for case in cases:
        doc = run_api(Path(program.root.path), case, list(case.expected))
        for name, want in case.expected.items():
            got = doc["outputs"].get(name, {}).get("value")
            if got != to_json(case.types[name], want):
                problems.append(f"{case.name}: {name} 期望 {to_json(case.types[name], want)}，API 给出 {got}")
    assert not problems, problems


def check_vector(program: Program, cases: tuple[Case, ...]) -> None:
    names = list(dict.fromkeys(n for case in cases for n in case.expected))
    batch = run_batch(program, cases, names)
    problems = [f"向量引擎报告不支持：{u}（不在 OUTSIDE 表中）" for u in batch.unsupported]
    for i, case in enumerate(cases):
        if batch.fallback[i] or batch.errors[i]:
            problems.append(f"{case.name}: 向量引擎没有算完这一行（{batch.errors[i] or '交给解释器'}；"
                            f"引擎不支持：{batch.unsupported}）")
        problems.extend(mismatches(case, batch.values[i]))
    assert not problems, problems


def check_z3(program: Program, cases: tuple[Case, ...]) -> None:
    problems = []
    for case in cases:
        assert case.case is not None
        try:
            verdict, got = run_z3(program, all_values(program, case.case), list(case.expected))
        except Z3Unsupported as exc:
            raise AssertionError(f"{case.name}: z3 不支持：{exc}（不在 OUTSIDE 表中）") from exc
        if verdict != "sat":
            problems.append(f"{case.name}: z3 认为这个案例算不出（unsat）")
            continue
        for name, want in case.expected.items():
            if not z3_same(got[name], want):
                problems.append(f"{case.name}: {name} 期望 {to_json(case.types[name], want)}，z3 为 {got[name]}")
    if program.root.module.assertions:
        verdicts = prove_assertions(program)
        problems.extend(f"断言（第 {d.span.line} 行）：{d.code} {d.message}" for d in verdicts if d.code != "YB590")
        if len(verdicts) != len(program.root.module.assertions):
            problems.append(f"prove 对 {len(program.root.module.assertions)} 条断言给出了 {len(verdicts)} 个结论")
    assert not problems, problems


def check_search(program: Program, cases: tuple[Case, ...]) -> None:
    problems = []
    for case in cases:
        assert case.case is not None
        outcome = run_search(program, case.case, list(case.expected))
        assert outcome.ok, [f"{d.code} {d.message}" for d in outcome.diagnostics]
        problems.extend(mismatches(case, {o.name: o.value for o in outcome.outputs if o.ok}))
    assert not problems, problems


# The smallest step over which a change of slope shows through the rounding to the 分.
VISIBLE = {Kind.MONEY: Decimal(1), Kind.RATIO: Decimal("0.01")}


def _lattice(kind: Kind, value: Decimal) -> Decimal:
    if kind is Kind.MONEY:
        return max(value.quantize(Decimal("0.01")), Decimal("0.01"))
    if kind in DURATIONS:
        return max(value.to_integral_value(), Decimal(1))
    return value


def _interpreter_at(program: Program, plan: Plan, x: Decimal) -> list[Any]:
    assert plan.case.case is not None
    kind = declared_inputs(program)[plan.input_name].type.kind
    value: Any = int(x) if kind in DURATIONS else x
    case = CaseInput({**plan.case.case.values, plan.input_name: value}, date=plan.case.case.date)
    outcome = run_interpreter(program, case, list(plan.names))
    assert all(o.ok for o in outcome.outputs), [f"{d.code} {d.message}" for d in outcome.diagnostics]
    return [o.value for o in outcome.outputs]  # a 断言 broken at this point leaves the values as they are


def false_breakpoints(program: Program, plan: Plan, chart: Any) -> list[str]:
    """Annotated breakpoints where no plotted figure changes slope or jumps (by the interpreter)."""
    kind = declared_inputs(program)[plan.input_name].type.kind
    h = max(_lattice(kind, (plan.high - plan.low) / PLOT_POINTS / 4), VISIBLE.get(kind, Decimal(0)))
    problems = []
    for bp in chart.breakpoints:
        if not plan.low <= bp.x - h or not bp.x + h <= plan.high:
            continue  # at the edge of the chart a kink cannot be seen
        xs = [bp.x - h, bp.x, bp.x + h]
        ys = [_interpreter_at(program, plan, x) for x in xs]
        if not any(_kinked([y[k] for y in ys], xs, _tolerance(plan.case.types[n]))
                   for k, n in enumerate(plan.names)):
            problems.append(f"{plan.case.name}: 分界点 {bp.label(chart.x_type)}（{plan.input_name} = {bp.x}）"
                            f"处 {'、'.join(plan.names)} 的斜率没有变化")
    return problems


def unmarked_kinks(plan: Plan, chart: Any) -> list[str]:
    """Changes of slope (or jumps) between plotted points with no breakpoint there."""
    marked = sorted(bp.x for bp in chart.breakpoints)
    problems = []
    for series in chart.series:
        points = series.points
        tolerance = _tolerance(series.type, [y for _, y in points])
        for i in range(1, len(points) - 1):
            xs = [p[0] for p in points[i - 1:i + 2]]
            if _kinked([p[1] for p in points[i - 1:i + 2]], xs, tolerance) and \
                    not any(xs[0] <= x <= xs[2] for x in marked):
                problems.append(f"{plan.case.name}: {series.name} 在 {plan.input_name} = {xs[1]} 附近"
                                f"改变了斜率，图上没有分界点")
                break
    return problems


def check_plot(program: Program, cases: tuple[Case, ...]) -> None:
    """The chart's value at the case equals the expected one; each breakpoint is a real kink or jump."""
    plans = plot_plans(program, cases)
    assert plans, "没有可以画的输入（若确实如此，写进 OUTSIDE）"
    problems = []
    for plan in plans:
        chart = run_plot(program, plan.input_name, plan.low, plan.high, plan.case.case, list(plan.names))
        for name in plan.names:
            got = chart.value_at(name, Decimal(plan.x))
            if not same(got, plan.case.expected[name]):
                problems.append(f"{plan.case.name}: 图上 {plan.input_name} = {plan.x} 处 {name} 为 {got}，"
                                f"期望 {to_json(plan.case.types[name], plan.case.expected[name])}")
        problems.extend(false_breakpoints(program, plan, chart))
    assert not problems, problems


def check_plot_kinks(program: Program, cases: tuple[Case, ...]) -> None:
    """Every change of slope (or jump) between plotted points has a breakpoint there."""
    plans = plot_plans(program, cases)
    assert plans, "没有可以画的输入（若确实如此，写进 OUTSIDE）"
    problems = []
    for plan in plans:
        chart = run_plot(program, plan.input_name, plan.low, plan.high, plan.case.case, list(plan.names))
        problems.extend(unmarked_kinks(plan, chart))
    assert not problems, problems


def check_search_points(program: Program, cases: tuple[Case, ...]) -> None:
    """The search tries each input at every kink the chart finds along the lines it sweeps, to within two
    steps: its critical points and the chart's kinks agree.  Only kinks one input decides are the search's
    (docs/lints.md): a kink that moves when another input changes is left out."""
    from yibaolang.analysis.function import PlotError, dependencies
    from yibaolang.analysis.lint.context import load_config
    from yibaolang.analysis.search import space

    searched = space(program, load_config(program.project_root))
    types = {n: t for case in cases for n, t in case.types.items()}
    problems, charts = [], 0
    for input_name, inp in searched.inputs.items():
        kind = inp.info.type.kind
        if kind not in NUMERIC_KINDS:
            continue
        groups: dict[Kind, list[str]] = {}
        for name, type_ in types.items():
            if name != input_name and (type_.kind in NUMERIC_KINDS or type_.kind is Kind.BOOL) \
                    and input_name in dependencies(program, name).inputs:
                groups.setdefault(type_.kind, []).append(name)
        candidates = sorted(Decimal(c) for c in inp.candidates)
        seen = [Decimal(c.case.values[input_name]) for c in cases if c.case and input_name in c.case.values]
        low = candidates[0]
        high = _lattice(kind, max([*candidates, *seen, low + _STEP[kind] * 50]) * 2)
        if inp.high is not None:
            high = min(high, Decimal(inp.high))
        typical = {k: v for k, v in searched.typical_values().items() if k != input_name}
        moved = {k: _moved(v) for k, v in typical.items()}
        for names in groups.values():
            try:
                found = [{bp.x: bp for bp in run_plot(program, input_name, low, high,
                                                      CaseInput(bg, date=searched.dates[0]), names).breakpoints}
                         for bg in (typical, moved)]
            except PlotError:
                continue  # the line reaches a case that cannot be computed (a divisor of 0元, …): the search's own
            charts += 1
            for x in found[0].keys() & found[1].keys():
                if not any(abs(c - x) <= 2 * _STEP[kind] for c in candidates):
                    problems.append(f"{input_name} = {x}（{found[0][x].label(inp.info.type)}）不在搜索的候选值里")
    assert charts, "搜索没有可以沿着变化的数值输入（若确实如此，写进 OUTSIDE）"
    assert not problems, problems


def _moved(value: Any) -> Any:
    """Another value of a background input, so a kink that depends on it moves."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return value
    return type(value)(value * 3 + 7) if isinstance(value, int) else (value * 3 + Decimal("7.13"))


_STEP = {Kind.MONEY: Decimal("0.01"), Kind.RATIO: Decimal("0.0001"), Kind.NUMBER: Decimal("0.01"),
         **{k: Decimal(1) for k in DURATIONS}}


@functools.cache
def _formatted_tree() -> Path:
    """A copy of the suite (its own project root) in which every good program is laid out by `fmt`."""
    import atexit
    import shutil
    import tempfile

    from yibaolang.tools.fmt import format_text

    root = Path(tempfile.mkdtemp(prefix="conformance-fmt-"))
    atexit.register(shutil.rmtree, root, True)
    (root / "yibaolang.toml").write_text("", encoding="utf-8")
    shutil.copytree(SUITE, root / "conformance")
    for path in GOOD:
        target = root / "conformance" / path.relative_to(SUITE)
        target.write_text(format_text(path.read_text("utf-8"), str(path)), encoding="utf-8")
    return root


def check_fmt(program: Program, cases: tuple[Case, ...]) -> None:
    """`fmt` changes the layout only: formatting again changes nothing, and every case computes the same."""
    from yibaolang.tools.fmt import format_text

    path = Path(program.root.path)
    formatted = _formatted_tree() / "conformance" / path.relative_to(SUITE)
    text = formatted.read_text("utf-8")
    assert format_text(text, str(formatted)) == text, "排第二次又有变化"
    relaid = compile_policy(formatted)
    assert not [d for d in relaid.diagnostics if d.is_error], [d.message for d in relaid.diagnostics]
    problems = []
    for case in cases:
        assert case.case is not None
        outcome = run_interpreter(relaid, case.case, list(case.expected))
        problems.extend(mismatches(case, {o.name: o.value for o in outcome.outputs if o.ok}))
    assert not problems, problems


def check_lints(program: Program, cases: tuple[Case, ...]) -> None:
    """`check` (the lints and the search included) finds no error in a good program."""
    path = Path(program.root.path)
    errors = [f"{d.code} 第 {d.span.line} 行 {d.message}" for d in checked(path).diagnostics if d.is_error]
    assert not errors, errors


GOOD_CHECKS: dict[str, Callable[[Program, tuple[Case, ...]], None]] = {
    "check": check_lints, "fmt": check_fmt, "explain": check_explain, "api": check_api, "interpreter": check_interpreter, "vector": check_vector, "z3": check_z3, "search": check_search,
    "search-points": check_search_points,
    "plot": check_plot, "plot-kinks": check_plot_kinks,
}


def assert_outside(program: Program, cases: tuple[Case, ...], engine: str, reason: str) -> None:
    """The exclusion in OUTSIDE is what the engine itself reports."""
    if reason == VALIDATED:
        assert all(case.case is None for case in cases), "有的案例通过了核对：不应列为 VALIDATED"
    elif engine == "z3" and reason == NOT_MODELLED:
        for case in cases:
            assert case.case is not None and case.error in ("YB410", "YB419"), "只用于缺少输入、结果过大"
            verdict, _ = run_z3(program, all_values(program, case.case), _outputs(program))
            assert verdict == "sat", f"{case.name}: z3 也算不出（{verdict}）：不应列为 NOT_MODELLED"
    elif engine == "chart" and reason == NO_CHART:
        assert not any(band_markers(program, c.case) for c in cases if c.case is not None), "其实画出了图"
    elif engine == "vector" and reason == FALLBACK:
        names = list(dict.fromkeys(n for c in cases for n in c.expected))
        batch = run_batch(program, cases, names)
        assert any(batch.fallback), "向量引擎算完了每一行：应从 OUTSIDE 中删去"
        problems = [m for i, case in enumerate(cases) for m in mismatches(case, batch.values[i])]
        assert not problems, problems
    elif engine == "z3" and reason == EXACT:
        differs: list[str] = []
        for case in cases:
            assert case.case is not None
            verdict, got = run_z3(program, all_values(program, case.case), list(case.expected))
            differs.extend(n for n, want in case.expected.items()
                           if verdict == "sat" and not z3_same(got[n], want))
        assert differs, "z3 的精确值与每个期望值都相同：舍入并不影响这个程序，应从 OUTSIDE 中删去"
    elif engine == "z3":
        said = []
        for case in cases:
            if case.case is None:
                continue
            try:
                run_z3(program, all_values(program, case.case), list(case.expected) or _outputs(program))
            except Z3Unsupported as exc:
                said.append(str(exc))
        if program.root.module.assertions:  # what `check --prove` says of each 断言 outside the fragment
            said.extend(d.message for d in prove_assertions(program) if d.code == "YB592")
        assert any(reason in s for s in said), f"z3 没有报告“{reason}”（报告的是 {said}）"
    elif engine in ("search", "search-points") and reason == NO_LINES:
        from yibaolang.analysis import search
        from yibaolang.analysis.lint.context import load_config

        where = search.at_root(program)
        relevant = search.depends_on(program, [(_name(n), where) for n in _outputs(program)])
        said = search.space(program, load_config(program.project_root)).outside(relevant)
        assert said is not None and reason in said, f"搜索没有说“{reason}”（说的是 {said}）"
    elif engine in ("plot", "plot-kinks", "search-points") and reason == NOTHING_TO_PLOT:
        assert not plot_plans(program, tuple(c for c in cases if c.case is not None)), "其实有可以画的输入"
    elif engine == "vector":
        batch = run_batch(program, cases, list(dict.fromkeys(n for c in cases for n in c.expected)))
        assert any(reason in u for u in batch.unsupported), batch.unsupported
    else:
        raise AssertionError(f"OUTSIDE 中 {engine} 的理由“{reason}”没有对应的核对方法")


def _outputs(program: Program) -> list[str]:
    return list(evaluator_for(program, False).default_outputs())


@pytest.mark.parametrize(("path", "engine"), list(_good_params()))
def test_good(path: Path, engine: str) -> None:
    program, cases = program_of(path), good_cases(path)
    reason = OUTSIDE.get((_id(path), engine))
    if reason is not None:
        assert_outside(program, cases, engine, reason)
    else:
        GOOD_CHECKS[engine](program, cases)


# ------------------------------------------------------------------ bad programs


@pytest.mark.parametrize(("path", "engine"), list(_check_params()))
def test_bad_check(path: Path, engine: str) -> None:
    codes = expected_codes(path)
    assert codes, f"{path.name}: 写出 {EXPECT_MARK}YBnnn，或在旁边写 .errors.yaml"
    found = {d.code for d in checked(path).diagnostics}
    assert set(codes) <= found, f"期望 {codes}，check 报告了 {sorted(found)}"


def _failing(program: Program, cases: tuple[Case, ...]) -> Iterator[tuple[Case, CaseInput]]:
    for case in cases:
        assert case.case is not None, f"{case.name}: 案例没有通过核对（{[d.message for d in case.problems]}）"
        yield case, case.case


def errors_interpreter(program: Program, cases: tuple[Case, ...], trace: bool = False) -> None:
    problems = []
    for case in cases:
        if case.case is None:
            diagnostics = list(case.problems)
        else:
            diagnostics = evaluate(program, case.case, _outputs(program), trace=trace).diagnostics
        if not fails_with(case, diagnostics):
            problems.append(f"{case.name}: 期望 {case.error} {list(case.mentions)}，"
                            f"解释器报告 {[f'{d.code} {d.message}' for d in diagnostics]}")
    assert not problems, problems


def errors_vector(program: Program, cases: tuple[Case, ...]) -> None:
    names = _outputs(program)
    batch = run_batch(program, cases, names)
    interpreted = run_batch(program, cases, names, engine="interpreter")
    problems = []
    for i, case in enumerate(cases):
        # A failing row the engine finishes itself (a broken 断言, an unusable cell: engines/vector_errors.py)
        # or hands to the interpreter: either way the same 错误 text and the same computed outputs.
        if not batch.errors[i]:
            problems.append(f"{case.name}: 批量计算没有报错（{batch.values[i]}）")
        elif batch.errors[i] != interpreted.errors[i]:
            problems.append(f"{case.name}: 向量引擎报告“{batch.errors[i]}”，解释器报告“{interpreted.errors[i]}”")
        elif batch.values[i] != interpreted.values[i]:
            problems.append(f"{case.name}: 向量引擎算得 {batch.values[i]}，解释器算得 {interpreted.values[i]}")
        elif case.error == "YB415" and batch.fallback[i]:
            problems.append(f"{case.name}: 断言不成立的行交回了解释器（应由向量引擎算完）")
        elif case.case is not None:
            diagnostics = run_interpreter(program, case.case, names).diagnostics
            if not any(d.message in batch.errors[i] for d in diagnostics if d.is_error):
                problems.append(f"{case.name}: 错误列“{batch.errors[i]}”不是解释器的诊断")
    assert not problems, problems


def errors_z3(program: Program, cases: tuple[Case, ...]) -> None:
    """prove assumes evaluation succeeds: a case that fails must lie outside the solver's domain."""
    problems = []
    assertions = tuple(a.condition for a in program.root.module.assertions)
    for case, given in _failing(program, cases):
        try:
            verdict, got = run_z3(program, all_values(program, given), _outputs(program), assertions)
        except Z3Unsupported as exc:
            raise AssertionError(f"{case.name}: z3 不支持：{exc}（不在 OUTSIDE 表中）") from exc
        if case.error == "YB415":  # a broken 断言 is a value z3 computes: it must be false there too
            if verdict != "sat" or all(got[i] for i in range(len(assertions))):
                problems.append(f"{case.name}: 解释器说断言不成立，z3 认为成立（{verdict}）")
        elif verdict != "unsat":
            problems.append(f"{case.name}: 解释器报 {case.error}，z3 却算出了 {got}")
    assert not problems, problems


def errors_search(program: Program, cases: tuple[Case, ...]) -> None:
    problems = []
    for case, given in _failing(program, cases):
        outcome = run_search(program, given, _outputs(program))
        if not fails_with(case, outcome.diagnostics):
            problems.append(f"{case.name}: 搜索的求值报告 {[f'{d.code} {d.message}' for d in outcome.diagnostics]}")
    assert not problems, problems


def errors_plot(program: Program, cases: tuple[Case, ...]) -> None:
    from yibaolang.analysis.function import PlotError

    problems = []
    names = [n for n in _outputs(program)]
    for case, given in _failing(program, cases):
        shaped = attrs.evolve(case, types={n: _figure_type(program, n) for n in names},
                              expected={n: None for n in names})
        plans = plot_plans(program, (shaped,), every_input=True)
        assert plans, f"{case.name}: 没有可以画的输入（若确实如此，写进 OUTSIDE）"
        said = []
        for plan in plans:
            try:
                run_plot(program, plan.input_name, plan.low, plan.high, given, list(plan.names))
            except PlotError as exc:
                said.append(str(exc))
        if not any(f"[{case.error}" in text for text in said):
            problems.append(f"{case.name}: 图没有报 {case.error}（变化 {[p.input_name for p in plans]}：{said}）")
    assert not problems, problems


def errors_api(program: Program, cases: tuple[Case, ...]) -> None:
    from yibaolang.api import CaseError

    problems = []
    for case in cases:
        try:
            doc = run_api(Path(program.root.path), case, _outputs(program))
        except CaseError as exc:
            if not fails_with(case, exc.diagnostics):
                problems.append(f"{case.name}: API 报告 {[f'{d.code} {d.message}' for d in exc.diagnostics]}")
        else:
            problems.append(f"{case.name}: API 照常给出 {doc['outputs']}")
    assert not problems, problems


ERROR_CHECKS: dict[str, Callable[[Program, tuple[Case, ...]], None]] = {
    "api": errors_api,
    "interpreter": errors_interpreter, "explain": functools.partial(errors_interpreter, trace=True),
    "vector": errors_vector, "z3": errors_z3, "search": errors_search,
    "plot": errors_plot,
}


@pytest.mark.parametrize(("path", "engine"), list(_error_params()))
def test_bad_evaluation(path: Path, engine: str) -> None:
    program, cases = program_of(path), error_cases(path)
    reason = OUTSIDE.get((_id(path), engine))
    if reason is not None:
        assert_outside(program, cases, engine, reason)
    else:
        ERROR_CHECKS[engine](program, cases)


# ------------------------------------------------------------------ the explanation's band charts


CHARTED = [p for p in GOOD if "分段累进" in p.read_text("utf-8")]


@pytest.mark.parametrize(("path", "engine"), [_param(_id(p), "chart", p) for p in CHARTED])
def test_band_chart_marks_the_figure(path: Path, engine: str) -> None:
    """The explanation's chart of a 分段累进 figure marks the value the explanation states for the case."""
    program = program_of(path)
    reason = OUTSIDE.get((_id(path), engine))
    if reason is not None:
        assert_outside(program, good_cases(path), engine, reason)
        return
    marked = 0
    problems = []
    for case in good_cases(path):
        assert case.case is not None
        markers = band_markers(program, case.case)
        for name, y in markers.items():
            marked += 1
            outcome = run_interpreter(program, case.case, [name])
            assert outcome.ok, [d.message for d in outcome.diagnostics]
            if outcome.outputs[0].value != y:
                problems.append(f"{case.name}: 图上标出 {name} = {y}，解释为 {outcome.outputs[0].value}")
    assert marked, "没有一个案例的图标出了本案的位置"
    assert not problems, problems


@pytest.mark.parametrize("path", CHARTED, ids=[_id(p) for p in CHARTED])
def test_explanation_html_agrees_with_its_chart(path: Path, tmp_path: Path) -> None:
    """`explain --format html`: each band chart's 本案 label shows the value the explanation states (issue 10:
    "大病保险报销 = 150,000.00元" beside "本案：15万元 → 70,000.00元")."""
    import re

    from click.testing import CliRunner

    from yibaolang.semantics.values import display
    from yibaolang.tools.cli import main

    program = program_of(path)
    labels = 0
    for i, case in enumerate(good_cases(path)):
        assert case.case is not None
        file = tmp_path / f"{i}.yaml"
        file.write_text(yaml.safe_dump({k: str(v) for k, v in case.cells.items()}, allow_unicode=True), "utf-8")
        result = CliRunner().invoke(main, ["explain", str(path), "--case", str(file), "--format", "html"])
        assert result.exit_code == 0, result.output
        shown = re.findall(r"本案：[^<→]*→ ([^<]*)<", result.output)
        labels += len(shown)
        values = {display(o.type, o.value) for o in run_interpreter(program, case.case, _outputs(program)).outputs}
        assert set(shown) <= values, (case.name, shown, values)
    if (_id(path), "chart") not in OUTSIDE:
        assert labels, "计算说明里没有一张图标出本案"


# ------------------------------------------------------------------ beyond one program


def test_layout() -> None:
    """Every program has what its kind needs, and both tables name programs and engines that exist."""
    for path in GOOD:
        assert path.with_suffix(".cases.yaml").is_file(), f"{_id(path)}: 没有 .cases.yaml"
    for path in BAD_CHECK:
        assert expected_codes(path), f"{_id(path)}: 没有 {EXPECT_MARK}… 也没有 .errors.yaml"
    programs = {_id(p) for p in [*GOOD, *BAD]}
    for program, engine in [*OUTSIDE, *DEFECTS]:
        assert program in programs, program
        assert engine in (*ENGINES, "check", "chart"), engine
    features = {p.parent.parent.name for p in GOOD}
    assert len(features) >= 18, sorted(features)


def test_check_prove_over_every_file_at_once() -> None:
    """`check --prove` over all the programs with 断言 in one process proves every 断言 in z3's fragment
    (issue 10: memos keyed on short-lived objects made the verdict depend on the other files)."""
    from click.testing import CliRunner

    from yibaolang.tools.cli import main

    files = [p for p in GOOD if program_of(p).root.module.assertions and (_id(p), "z3") not in OUTSIDE]
    assert len(files) >= 3, files
    result = CliRunner().invoke(main, ["check", "--prove", *map(str, files[::-1]), *map(str, files)])
    verdicts = {(Path(m[0]).resolve(), int(m[1])): m[2]
                for m in re.findall(r"^(.+?\.ybl):(\d+):\d+: [^\[]*\[(YB59\d)\]", result.output, re.M)}
    for path in files:
        for assertion in program_of(path).root.module.assertions:
            assert verdicts.get((path, assertion.span.line)) == "YB590", (path.name, assertion.span.line,
                                                                         result.output)


def test_yibaolang_test_reads_the_cases() -> None:
    """`yibaolang test` over the suite's folder runs every good case and 样例 and passes (the bad ones have
    neither)."""
    from click.testing import CliRunner

    from yibaolang.tools.cli import main

    result = CliRunner().invoke(main, ["test", "-q", str(SUITE)])
    total = sum(len(good_cases(p)) + len(program_of(p).root.module.examples) for p in GOOD)
    assert result.output.strip().splitlines()[-1] == f"{total} passed, 0 failed", result.output
    assert result.exit_code == 0


def test_default_outputs_in_order() -> None:
    """`输出` lines, in order, are what `run` computes by default; an imported figure among them."""
    program = program_of(SUITE / "outputs" / "good" / "outputs.ybl")
    assert _outputs(program) == ["报销", "自付", "比例", "费用", "基本.基本医保支付"]


def test_accumulated_claims() -> None:
    """累计: the batch settles each person's claims in date order within the 统筹年度 (from 7月1日)."""
    from pyarrow import csv

    from yibaolang.tools.batch import Runner, accumulators, settle_claims

    path = SUITE / "accumulate" / "good" / "annual_cap.ybl"
    program = program_of(path)
    text = csv.ConvertOptions(column_types={"参保人": pa.string(), "结算日期": pa.string(), "住院费用": pa.string()})
    table = csv.read_csv(path.with_suffix(".claims.csv"), convert_options=text)
    runner = Runner(program, ["统筹支付", "年度已支付"], claim_date="结算日期",
                    extras=[a.figure for a in accumulators(program)], strict=True)
    out = settle_claims(runner, table.select(["参保人", "结算日期", "住院费用"]), "参保人", "结算日期")
    assert out.errors.to_pylist() == [""] * table.num_rows
    for name in ("统筹支付", "年度已支付"):
        got = [Decimal(str(v)) for v in out.columns[name].to_pylist()]
        want = [Decimal(str(v)) for v in table[f"期望.{name}"].to_pylist()]
        assert got == want, name


def test_family_claims() -> None:
    """家庭累计: the batch settles each family's claims in date order; members share the family total
    and keep their own 累计 (docs/batch.md §2.1)."""
    from pyarrow import csv

    from yibaolang.tools.batch import Runner, accumulators, settle_claims

    path = SUITE / "accumulate" / "good" / "family_cap.ybl"
    program = program_of(path)
    text = csv.ConvertOptions(column_types={c: pa.string() for c in ("参保人", "户号", "结算日期", "费用")})
    table = csv.read_csv(path.with_suffix(".claims.csv"), convert_options=text)
    accs = accumulators(program)
    assert {a.input: a.family for a in accs} == {"家庭已支付": True, "本人已支付": False}
    runner = Runner(program, ["支付", "家庭已支付", "本人已支付"], claim_date="结算日期",
                    extras=[a.figure for a in accs], strict=True)
    out = settle_claims(runner, table.select(["参保人", "户号", "结算日期", "费用"]), "参保人", "结算日期",
                        family="户号")
    assert out.errors.to_pylist() == [""] * table.num_rows
    for name in ("支付", "家庭已支付", "本人已支付"):
        got = [Decimal(str(v)) for v in out.columns[name].to_pylist()]
        want = [Decimal(str(v)) for v in table[f"期望.{name}"].to_pylist()]
        assert got == want, name


LAYERED = ROOT / "examples" / "layered_claim.ybl"


def test_layered_claim_plot_breakpoints() -> None:
    """The chart of examples/layered_claim.ybl over 政策范围内费用: the kinks are where the layers cap,
    not the 大病 band edges read as if they were values of this input (issue 10)."""
    from yibaolang.engines.cases import load_case_file

    program = program_of(LAYERED)
    raw, read = load_case_file(str(LAYERED.with_suffix(".case.yaml")))
    assert raw is not None and not read
    given, refused = validate(program, raw)
    assert not refused
    names = ["基本医保支付", "大病保险支付", "补充保险支付"]
    x = given.values["政策范围内费用"]
    values = {out.name: out.value for out in run_interpreter(program, given, names).outputs}
    case = Case("layered_claim.case.yaml", {}, given, (), values, {n: _figure_type(program, n) for n in names})
    plan = Plan(case, "政策范围内费用", x, Decimal(0), 2 * Decimal(x), tuple(names))
    chart = run_plot(program, plan.input_name, plan.low, plan.high, given, names)
    assert {n: chart.value_at(n, Decimal(x)) for n in names} == values
    problems = false_breakpoints(program, plan, chart) + unmarked_kinks(plan, chart)
    assert not problems, problems



# ------------------------------------------------------------------ beyond the hand-written cases


def _random_rows(program: Program, cases: tuple[Case, ...]) -> Any:
    """Rows like the program's cases with each numeric value moved one step either way (the edges the
    cases name) or replaced by any value between 0 and twice it, on the input's lattice."""
    from hypothesis import strategies as st

    inputs = declared_inputs(program)

    def vary(case: Case, draw: Any) -> dict[str, Any]:
        assert case.case is not None
        out = dict(case.cells)
        for name in case.cells:
            info = inputs.get(name)
            if info is None or info.type.kind not in NUMERIC_KINDS:
                continue
            value, step = Decimal(case.case.values[name]), _STEP[info.type.kind]
            units = int(abs(value) / step) or 100
            if draw(st.booleans()):
                new = value + draw(st.integers(-1, 1)) * step
            else:
                new = draw(st.integers(0, 2 * units)) * step * (1 if value >= 0 else -1)
            out[name] = str(int(new)) if info.type.kind in DURATIONS else format(new, "f")
        return out

    @st.composite
    def rows(draw: Any) -> list[dict[str, Any]]:
        return [vary(c, draw) for c in draw(st.lists(st.sampled_from(cases), min_size=1, max_size=8))]

    return rows()


VECTOR_EXACT = [p for p in GOOD if (_id(p), "vector") not in OUTSIDE and (_id(p), "vector") not in DEFECTS]


@pytest.mark.parametrize("path", VECTOR_EXACT, ids=[_id(p) for p in VECTOR_EXACT])
def test_vector_equals_interpreter_near_the_cases(path: Path) -> None:
    """Around the hand-written cases, the vector engine and the interpreter give the same values and errors."""
    from hypothesis import HealthCheck, given, settings

    program, cases = program_of(path), good_cases(path)
    names = list(dict.fromkeys(n for case in cases for n in case.expected))

    @settings(max_examples=8, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(_random_rows(program, cases))
    def agree(rows: list[dict[str, Any]]) -> None:
        shaped = tuple(attrs.evolve(cases[0], cells=row) for row in rows)
        vector = run_batch(program, shaped, names)
        interpreted = run_batch(program, shaped, names, engine="interpreter")
        assert vector.values == interpreted.values
        assert vector.errors == interpreted.errors

    agree()
