"""The vectorized engine equals the interpreter, to the 分, on every seed policy (docs/batch.md).

Random case rows — values near every number the policy writes (band edges,
table cells, parameters), rounding ties, month ends, empty cells, wrong cells —
go through the batch path twice: with the vectorized engine (`--engine numpy`)
and with every row through the interpreter (`--engine interpreter`); both
must give the same outputs and the same 错误 text.  Rows whose cells are all
valid are also evaluated the single-case way (`cases.validate` + `evaluate`),
and must match.  A deterministic sweep checks that the engine itself finishes
almost every row the interpreter evaluates without error (it is not just
handing everything to the interpreter).

The engine's primitives (rounding, division, month arithmetic, overflow
guards) are checked against the interpreter's own helpers as properties.
"""

from __future__ import annotations

import datetime as dt
import glob
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibaolang import ir
from yibaolang.checks.compiler import compile_policy
from yibaolang.engines.cases import RawCase, RawEntry, declared_inputs, validate
from yibaolang.engines.evaluate import evaluate, evaluator_for
from yibaolang.engines.vector import (
    SAFE,
    Vec,
    add_months,
    date_const,
    divide,
    months_between,
    mul,
    num_array,
    num_const,
    round_to,
    to_decimal,
)
from yibaolang.ir.types import DURATIONS, Kind
from yibaolang.semantics import dates
from yibaolang.semantics.values import divide as exact_divide
from yibaolang.semantics.values import to_json
from yibaolang.tools.batch import ERROR_COLUMN, Runner, _case_inputs

ROOT = Path(__file__).resolve().parent.parent
POLICIES = [
    *sorted(glob.glob(str(ROOT / "policies" / "*.ybl"))),
    str(ROOT / "examples" / "layered_claim.ybl"),
    str(ROOT / "examples" / "tianjin_daibing.ybl"),
    str(ROOT / "benchmarks" / "bench_policy.ybl"),
]
SPAN = ir.Span("<行>", 1, 1, 1, 1)
DIFF_SETTINGS = settings(max_examples=15, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Setup:
    def __init__(self, path: str) -> None:
        self.program = compile_policy(path)
        assert not [d for d in self.program.diagnostics if d.is_error]
        self.engine = Runner(self.program, strict=True)
        self.interpreter = Runner(self.program, engine="interpreter")
        self.inputs = declared_inputs(self.program)
        self.names = _case_inputs(evaluator_for(self.program, False))
        self.literals = _literals(self.program)
        self.bounds = {name: b for name in self.names if (b := self.engine.bounds.get(name)) is not None}


_SETUPS: dict[str, Setup] = {}


def setup_for(path: str) -> Setup:
    if path not in _SETUPS:
        _SETUPS[path] = Setup(path)
    return _SETUPS[path]


def _literals(program: Any) -> dict[ir.LiteralKind, list[Any]]:
    """Every literal the policy writes, by kind: the values where its rules change."""
    found: dict[ir.LiteralKind, list[Any]] = {}

    def visit(node: Any) -> None:
        if isinstance(node, ir.Literal):
            bucket = found.setdefault(node.kind, [])
            if node.value not in bucket:
                bucket.append(node.value)
            return
        if isinstance(node, tuple):
            for item in node:
                visit(item)
            return
        if hasattr(type(node), "__attrs_attrs__"):
            for field in type(node).__attrs_attrs__:
                visit(getattr(node, field.name))

    for scope in program.modules.values():
        visit(scope.module)
    return found


# ------------------------------------------------------------------ cells


def money_text(cents: int, style: int) -> str:
    value = Decimal(cents) / 100
    if style == 1:
        return f"{value}元"
    if style == 2 and cents % 1_000_000 == 0:
        return f"{Decimal(cents) / 1_000_000}万元"
    return format(value, "f")


def cell(setup: Setup, name: str, valid: bool) -> st.SearchStrategy[Any]:
    """A cell for an input near the policy's own numbers; with `valid`, within its type and 范围."""
    info = setup.inputs[name]
    type_ = info.type
    kind = type_.kind
    lits = setup.literals
    low, high = setup.bounds.get(name) or (None, None)
    wrong = st.sampled_from(["abc", "1.2.3", "十元"])
    if kind is Kind.ENUM:
        values = st.sampled_from(list(type_.enum.values) if type_.enum is not None else [""])
        return values if valid else st.one_of(values, st.just("不存在的值"))
    if kind is Kind.BOOL:
        values = st.sampled_from(["是", "否", "true", "false"])
        return values if valid else st.one_of(values, st.just("也许"))
    if kind is Kind.DATE:
        near = [d + dt.timedelta(days=k) for d in lits.get(ir.LiteralKind.DATE, []) for k in (-1, 0, 1)]
        month_ends = [dt.date(y, m, 28 + k) for y in (2020, 2021, 2024) for m in (1, 2, 8) for k in range(4)
                      if (m != 2 or 28 + k <= (29 if y % 4 == 0 else 28))]
        dates_ = st.one_of(st.dates(dt.date(2000, 1, 1), dt.date(2035, 12, 31)),
                           st.sampled_from(near or [dt.date(2021, 1, 1)]), st.sampled_from(month_ends))
        text = st.one_of(dates_.map(dt.date.isoformat), dates_.map(lambda d: f"{d.year}年{d.month}月{d.day}日"))
        return text if valid else st.one_of(text, st.just("2023-02-30"))
    if kind is Kind.MONEY:
        lo_c = int(low * 100) if low is not None else 0
        hi_c = int(high * 100) if high is not None else 10**12
        edges = [c for v in lits.get(ir.LiteralKind.MONEY, []) for k in (-1, 0, 1)
                 if lo_c <= (c := int(v * 100) + k) <= hi_c]
        ties = st.integers(lo_c // 10, min(hi_c, 60_000_000) // 10).map(lambda c: 10 * c + 5)  # half a 分 after ×
        cents = st.one_of(st.integers(lo_c, min(hi_c, 60_000_000)), st.sampled_from(edges or [lo_c]), ties,
                          st.integers(lo_c, hi_c))
        text = st.builds(money_text, cents, st.integers(0, 2))
        if valid:
            return text
        return st.one_of(text, wrong, st.just("1.234"), st.integers(10**15, 10**17).map(lambda c: money_text(c, 0)),
                         st.integers(-100_000, 0).map(lambda c: money_text(c, 0)))
    if kind is Kind.RATIO:
        lo_p = int(low * 10000) if low is not None else 0
        hi_p = int(high * 10000) if high is not None else 10000
        ratios = [p for v in lits.get(ir.LiteralKind.RATIO, []) if lo_p <= (p := int(v * 10000)) <= hi_p]
        points = st.one_of(st.integers(lo_p, hi_p), st.sampled_from(ratios or [lo_p]))
        text = st.one_of(points.map(lambda p: f"{Decimal(p) / 100}%"), points.map(lambda p: str(Decimal(p) / 10000)))
        return text if valid else st.one_of(text, st.just("0.333333333333333"), wrong)
    if kind is Kind.NUMBER:
        lo_n = int(low) if low is not None else -3
        hi_n = int(high) if high is not None else 60
        numbers = [str(int(v)) for v in lits.get(ir.LiteralKind.NUMBER, []) if v == int(v) and lo_n <= v <= hi_n]
        text = st.one_of(st.integers(lo_n, min(hi_n, lo_n + 60)).map(str), st.sampled_from(numbers or [str(lo_n)]))
        if low is None:
            text = st.one_of(text, st.sampled_from(["2.5", "0.1", "1E+1", "3倍"]))
        return text if valid else st.one_of(text, wrong)
    if kind in DURATIONS:
        unit = {Kind.YEARS: "年", Kind.MONTHS: "个月", Kind.DAYS: "日"}[kind]
        lo_d = int(low) if low is not None else 0
        whole = st.integers(lo_d, lo_d + 40)
        text = st.one_of(whole.map(str), whole.map(lambda v: f"{v}{unit}"))
        return text if valid else st.one_of(text, st.just("1.5"), wrong)
    return st.just("")


@st.composite
def rows(draw: st.DrawFn, setup: Setup) -> list[dict[str, Any]]:
    """Rows of three sorts: valid and complete, valid with empty cells, and anything."""
    count = draw(st.integers(1, 8))
    out = []
    for _ in range(count):
        sort = draw(st.integers(0, 5))
        row: dict[str, Any] = {}
        for name in setup.names:
            if sort >= 3 and draw(st.integers(0, 4)) == 0:
                continue
            row[name] = draw(cell(setup, name, valid=sort < 5))
        if draw(st.booleans()):
            row["计算日期"] = draw(st.sampled_from(["2010-01-01", "2016-12-31", "2017-07-01", "2021-03-31",
                                                  "2024-06-30", "1999-01-01", ""]))
        out.append(row)
    return out


def table_of(rows_: list[dict[str, Any]]) -> Any:
    names: list[str] = []
    for row in rows_:
        for key in row:
            if key not in names:
                names.append(key)
    columns = {name: pa.array([row.get(name) for row in rows_], pa.string()) for name in names}
    return pa.table(columns) if columns else pa.table({"_": pa.nulls(len(rows_))})


def records(runner: Runner, out: Any) -> list[dict[str, Any]]:
    columns = {name: out.columns[name].to_pylist() for name in runner.outputs}
    errors = out.errors.to_pylist()
    return [{**{name: columns[name][i] for name in runner.outputs}, ERROR_COLUMN: errors[i]} for i in range(out.n)]


def interpreted(setup: Setup, row: dict[str, Any]) -> dict[str, Any] | None:
    """The single-case interpreter's result for a row, or None when a cell is invalid."""
    entries = [RawEntry(k, v, SPAN, SPAN) for k, v in row.items() if v not in (None, "")]
    case, problems = validate(setup.program, RawCase("<行>", entries))
    if problems:
        return None
    outcome = evaluate(setup.program, case, setup.engine.outputs)
    result: dict[str, Any] = {}
    for out in outcome.outputs:
        result[out.name] = to_json(out.type, out.value) if out.ok else None
    result[ERROR_COLUMN] = "；".join(d.message for d in outcome.diagnostics if d.is_error)
    return result


def as_json(runner: Runner, record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, type_ in zip(runner.outputs, runner.types, strict=False):
        value = record[name]
        if value is None:
            out[name] = None
        elif type_.kind is Kind.MONEY:
            out[name] = format(value, "f")
        elif type_.kind is Kind.DATE:
            out[name] = value.isoformat()
        else:
            out[name] = value
    out[ERROR_COLUMN] = record[ERROR_COLUMN]
    return out


def check_rows(setup: Setup, rows_: list[dict[str, Any]]) -> tuple[int, int]:
    """Compare engine and interpreter on these rows; (clean rows, clean rows the engine finished)."""
    table = table_of(rows_)
    fast = setup.engine.evaluate(table)
    slow = setup.interpreter.evaluate(table)
    got, want = records(setup.engine, fast), records(setup.interpreter, slow)
    assert len(got) == len(rows_)
    clean = finished = 0
    for i, row in enumerate(rows_):
        assert got[i] == want[i], f"row {row}"
        single = interpreted(setup, row)
        if single is not None:
            assert as_json(setup.engine, got[i]) == single, f"row {row}"
            if not single[ERROR_COLUMN]:
                clean += 1
                finished += int(not fast.fallback[i])
    return clean, finished


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: Path(p).stem)
def test_engine_equals_interpreter(path: str) -> None:
    setup = setup_for(path)

    @DIFF_SETTINGS
    @given(rows(setup))
    def run(rows_: list[dict[str, Any]]) -> None:
        check_rows(setup, rows_)

    run()


# ------------------------------------------------------------------ the engine finishes the rows itself


def plain_rows(setup: Setup, rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Valid, complete rows with everyday values (few errors expected)."""
    out = []
    lits = setup.literals
    for _ in range(n):
        row: dict[str, Any] = {}
        for name in setup.names:
            info = setup.inputs[name]
            kind = info.type.kind
            if kind is Kind.ENUM:
                assert info.type.enum is not None
                row[name] = rng.choice(info.type.enum.values)
            elif kind is Kind.BOOL:
                row[name] = rng.choice(["是", "否"])
            elif kind is Kind.DATE:
                row[name] = (dt.date(2021, 1, 1) + dt.timedelta(days=rng.randrange(0, 1500))).isoformat()
            elif kind is Kind.MONEY:
                edges = [v for v in lits.get(ir.LiteralKind.MONEY, [])] or [Decimal(1000)]
                value = rng.choice([Decimal(rng.randrange(0, 40_000_000)) / 100, rng.choice(edges)])
                row[name] = format(value, "f")
            elif kind is Kind.RATIO:
                row[name] = f"{rng.randrange(0, 101)}%"
            elif kind in DURATIONS:
                row[name] = str(rng.randrange(0, 8))
            else:
                row[name] = str(rng.randrange(1, 3) if "次序" not in name else rng.randrange(1, 5))
        out.append(row)
    return out


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: Path(p).stem)
def test_engine_finishes_the_rows_itself(path: str) -> None:
    setup = setup_for(path)
    rng = random.Random(20240101)
    rows_ = plain_rows(setup, rng, 150)
    if Path(path).stem in ("tianjin_2016", "tianjin_daibing", "zhoushan_2006"):
        for row in rows_:
            row["计算日期"] = "2017-08-01"
    clean, finished = check_rows(setup, rows_)
    assert setup.engine.engine is not None and not setup.engine.engine.unsupported
    if clean:
        assert finished / clean >= 0.95, f"engine finished only {finished} of {clean} rows"


# ------------------------------------------------------------------ the primitives


cents = st.integers(-(10**15), 10**15)


@settings(max_examples=300, deadline=None)
@given(x=cents, rate_points=st.integers(-10**6, 10**6), places=st.integers(0, 8))
def test_product_rounding_is_half_up_away_from_zero(x: int, rate_points: int, places: int) -> None:
    rate = Decimal(rate_points).scaleb(-places)
    got = round_to(mul(num_array(np.array([x]), 2), num_const(rate)), 2)
    exact = (Decimal(x).scaleb(-2) * rate).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    if got.bad is not None and bool(np.asarray(got.bad).any()):
        assert abs(Decimal(x) * Decimal(rate_points)) >= SAFE // 2  # only a product too large for int64 is refused
        return
    assert to_decimal(int(got.data[0]), got.scale) == exact


@settings(max_examples=300, deadline=None)
@given(a=st.integers(-(10**12), 10**12), b=st.integers(-(10**9), 10**9), sa=st.integers(0, 6), sb=st.integers(0, 6))
def test_division_matches_values_divide(a: int, b: int, sa: int, sb: int) -> None:
    got = divide(num_array(np.array([a]), sa), num_array(np.array([b]), sb))
    bad = got.bad is not None and bool(np.asarray(got.bad).any())
    if b == 0:
        assert bad
        return
    want = exact_divide(Decimal(a).scaleb(-sa), Decimal(b).scaleb(-sb))
    if bad:
        # Only a quotient that terminates beyond 10 places (kept exact by the interpreter) is refused.
        assert want != want.quantize(Decimal(1).scaleb(-10)) or abs(a) * 10**16 >= SAFE
        return
    assert to_decimal(int(got.data[0]), got.scale) == want


@settings(max_examples=300, deadline=None)
@given(d=st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), months=st.integers(-2400, 2400))
def test_month_arithmetic_follows_the_civil_code(d: dt.date, months: int) -> None:
    got = add_months(date_const(d), Vec("num", np.array([months]), lo=months, hi=months))
    want, _ = dates.add_months(d, months)
    assert dt.date.fromordinal(int(got.data[0]) + dt.date(1970, 1, 1).toordinal()) == want


@settings(max_examples=300, deadline=None)
@given(a=st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31)), b=st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31)))
def test_whole_months_and_years_between(a: dt.date, b: dt.date) -> None:
    epoch = dt.date(1970, 1, 1).toordinal()
    va = Vec("date", np.array([a.toordinal() - epoch]))
    vb = Vec("date", np.array([b.toordinal() - epoch]))
    assert int(months_between(va, vb, 1).data[0]) == dates.months_between(a, b)
    assert int(months_between(va, vb, 12).data[0]) == dates.years_between(a, b)


def test_products_too_large_for_int64_are_refused_not_wrapped() -> None:
    big = num_array(np.array([4 * 10**18 // 100, 7, -(4 * 10**18 // 100)]), 2)
    product = mul(big, num_array(np.array([1000, 1000, 1000]), 0))
    assert np.asarray(product.bad).tolist() == [True, False, True]
    assert int(product.data[1]) == 7000


_BANDS_FROM_INPUTS = """\
政策 分段的界限来自输入
输入 费用 : 金额 范围 0元 至 100万元
输入 起付 : 金额 范围 0元 至 100万元
输入 封顶线 : 金额 范围 0元 至 100万元
条款 "二" 大病保险
    原文 "起付至封顶线的部分报销50%，超过封顶线的部分报销60%。"
    定义 大病 : 金额 =
        分段累进 费用
            起付 至 封顶线（含） 按 50%
            超过 封顶线 按 60%
    定义 档次 : 比例 =
        分档 费用
            不满 起付 : 0%
            起付 至 封顶线 : 50%
            其余 : 60%
输出 大病, 档次
"""


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_=st.lists(st.tuples(*(st.integers(0, 10**8),) * 3), min_size=1, max_size=12))
def test_bands_whose_edges_come_from_inputs_agree_row_by_row(tmp_path_factory: Any,
                                                             rows_: list[tuple[int, int, int]]) -> None:
    """Inverted bands (起付 above 封顶线) are YB422 on exactly those rows, worded as the interpreter words them."""
    path = tmp_path_factory.mktemp("bands") / "p.ybl"
    path.write_text(_BANDS_FROM_INPUTS, encoding="utf-8")
    program = compile_policy(path)
    assert not [d for d in program.diagnostics if d.is_error]
    table = pa.table({name: pa.array([f"{Decimal(row[k]) / 100}元" for row in rows_])
                      for k, name in enumerate(("费用", "起付", "封顶线"))})
    fast = Runner(program, strict=True).evaluate(table)
    slow = Runner(program, engine="interpreter").evaluate(table)
    assert fast.errors.to_pylist() == slow.errors.to_pylist()
    for name in ("大病", "档次"):
        assert fast.columns[name].to_pylist() == slow.columns[name].to_pylist()
    for row, message in zip(rows_, fast.errors.to_pylist(), strict=True):
        assert bool(message) == (row[1] > row[2]), (row, message)
        if message:
            assert message.startswith("分段颠倒：大病 的 分段累进 第1段")


def test_no_negative_zero_money() -> None:
    # -0.01元 × 0 is a negative zero in Decimal; both engines print it as 0.00.
    setup = setup_for(str(ROOT / "policies" / "yunnan_2024.ybl"))
    row = {"原封顶线": "0", "连续参保年数": "0", "零报销激励年数": "0", "断保年数": "0", "修复缴费年数": "0",
           "人员类别": "普通", "集中征缴期内参保": "是", "个人缴费标准": "-0.01", "参保缴费日期": "2021-01-01",
           "就医日期": "2021-01-01"}
    check_rows(setup, [row])
    assert interpreted(setup, row)["修复缴费金额"] == "0.00"


# ------------------------------------------------------------------ failing rows stay in the engine

_FAILING = """\
政策 出错的行
输入 费用 : 金额 范围 0元 至 100万元
输入 比例 : 比例 范围 0% 至 100% 默认 50%
输入 起付 : 金额
输入 审核通过 : 是否 默认 是
条款 "一" 报销
    定义 报销 : 金额 = 取较大(费用 - 起付, 0元) × 比例
    断言 审核通过 "须经审核通过"
定义 自付 : 金额 = 费用 - 报销
定义 费用两倍 : 金额 = 费用 × 2
断言 报销 不超过 费用
断言 自付 不低于 1元
输出 报销, 自付, 费用两倍
"""


def test_failing_rows_are_finished_by_the_engine_with_the_interpreters_words(tmp_path: Path) -> None:
    """Broken 断言 and unusable cells (outside 范围, unreadable, even where a 默认 exists) are finished by the
    engine — same values, same 错误 text and codes as the interpreter; a row missing an input still is not."""
    path = tmp_path / "p.ybl"
    path.write_text(_FAILING, encoding="utf-8")
    program = compile_policy(path)
    assert not [d for d in program.diagnostics if d.is_error]
    rows_ = [
        {"费用": "1000", "比例": "50%", "起付": "100", "审核通过": "是"},    # clean
        {"费用": "1000", "比例": "50%", "起付": "100", "审核通过": "否"},    # 断言 of 条款 一
        {"费用": "0.5", "比例": "10%", "起付": "0", "审核通过": "否"},       # two 断言 broken
        {"费用": "1000", "比例": "150%", "起付": "100", "审核通过": "是"},   # outside 范围 (a 默认 exists)
        {"费用": "abc", "比例": "50%", "起付": "100", "审核通过": "否"},     # unreadable cell and a 断言
        {"费用": "1000", "比例": "50%", "起付": None, "审核通过": "是"},     # missing input: the interpreter
    ]
    table = table_of(rows_)
    engine, interpreter = Runner(program, strict=True), Runner(program, engine="interpreter")
    fast, slow = engine.evaluate(table), interpreter.evaluate(table)
    assert records(engine, fast) == records(interpreter, slow)
    assert {r: [(t.code, t.where) for t in texts] for r, texts in fast.failures.items()} == \
        {r: [(t.code, t.where) for t in texts] for r, texts in slow.failures.items()}
    assert fast.fallback.tolist() == [False, False, False, False, False, True]
    errors = fast.errors.to_pylist()
    assert errors[0] == ""
    assert errors[1] == "断言不成立（条款 一）：须经审核通过"
    assert errors[2] == "断言不成立（条款 一）：须经审核通过；断言不成立（断言）：自付 不低于 1元"
    assert errors[3].startswith("输入 比例：") and "超出范围" in errors[3]
    assert errors[4].startswith("输入 费用：") and errors[4].endswith("断言不成立（条款 一）：须经审核通过")
    assert errors[5].startswith("缺少输入“起付”")
    got = records(engine, fast)
    assert got[3]["报销"] is None and got[3]["费用两倍"] == Decimal("2000.00")  # what does not need 比例
    assert got[4]["报销"] is None and got[4]["费用两倍"] is None
    assert [t.code for t in fast.failures[4]][-1] == "YB415"


@pytest.mark.parametrize("path", [str(ROOT / "examples" / "layered_claim.ybl"),
                                  str(ROOT / "benchmarks" / "failing_policy.ybl")], ids=lambda p: Path(p).stem)
def test_half_failing_rows_stay_in_the_engine(path: str) -> None:
    """The benchmark's failing rows (docs/performance.md): out-of-range ratios, a broken 断言."""
    setup = setup_for(path)
    rng = random.Random(7)
    rows_ = plain_rows(setup, rng, 120)
    for i, row in enumerate(rows_):
        if i % 2:
            if "审核通过" in row:
                row["审核通过"] = "否"
            else:
                row["住院报销比例"] = "120%"
    check_rows(setup, rows_)
    fast = setup.engine.evaluate(table_of(rows_))
    assert int(fast.error_rows.sum()) >= 60
    assert not fast.fallback.any()
