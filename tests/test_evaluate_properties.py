"""Property tests of the interpreter: band sums, half-up rounding, exceptions and their conflicts."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibaolang.checks.compiler import compile_policy
from yibaolang.checks.resolve import Program
from yibaolang.engines.evaluate import evaluate, evaluator_for
from yibaolang.engines.outcome import CaseInput

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def compile_text(folder: Path, name: str, body: str) -> Program:
    path = folder / name
    path.write_text("政策 性质\n\n" + textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    program = compile_policy(path)
    assert not [d for d in program.diagnostics if d.is_error], [d.message for d in program.diagnostics]
    return program


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("props")


money = st.integers(min_value=0, max_value=10**11).map(lambda cents: Decimal(cents) / 100)
signed_money = st.integers(min_value=-10**11, max_value=10**11).map(lambda cents: Decimal(cents) / 100)
percent = st.integers(min_value=0, max_value=10000).map(lambda bp: Decimal(bp) / 10000)  # 0.00% … 100.00%


# ---------------------------------------------------------------- 分段累进 equals the closed form


@pytest.fixture(scope="module")
def banded(folder: Path) -> Program:
    return compile_text(folder, "banded.ybl", """
        输入 x : 金额
        输入 b1 : 金额
        输入 b2 : 金额
        输入 b3 : 金额
        输入 r1 : 比例
        输入 r2 : 比例
        输入 r3 : 比例
        定义 报销 : 金额 =
            分段累进 x
                b1 至 b2 按 r1
                b2 至 b3 按 r2
                超过 b3 按 r3
    """)


def half_up_cents(value: Fraction) -> Decimal:
    """Round a rational amount of 元 to the 分, ties away from zero, with integers only."""
    cents = value * 100
    sign = -1 if cents < 0 else 1
    magnitude = abs(cents)
    whole = (2 * magnitude.numerator + magnitude.denominator) // (2 * magnitude.denominator)
    return Decimal(sign * whole) / 100


@SETTINGS
@given(x=money, cuts=st.lists(money, min_size=3, max_size=3, unique=True),
       rates=st.lists(percent, min_size=3, max_size=3))
def test_band_sum_equals_closed_form(banded: Program, x: Decimal, cuts: list[Decimal], rates: list[Decimal]) -> None:
    b1, b2, b3 = sorted(cuts)
    r1, r2, r3 = rates
    inputs = {"x": x, "b1": b1, "b2": b2, "b3": b3, "r1": r1, "r2": r2, "r3": r3}
    got = evaluator_for(banded).runner(["报销"])(inputs, None)[0]
    # Closed form: every band below the one x falls in is paid in full, the band x falls in partly.
    full = [(b1, b2, r1), (b2, b3, r2)]
    expected = Decimal(0)
    if x > b3:
        expected = sum((half_up_cents(Fraction(hi - lo) * Fraction(r)) for lo, hi, r in full), Decimal(0))
        expected += half_up_cents(Fraction(x - b3) * Fraction(r3))
    elif x > b2:
        expected = half_up_cents(Fraction(b2 - b1) * Fraction(r1)) + half_up_cents(Fraction(x - b2) * Fraction(r2))
    elif x > b1:
        expected = half_up_cents(Fraction(x - b1) * Fraction(r1))
    assert got == expected
    # and the traced evaluation lists the same parts
    node = evaluate(banded, CaseInput(inputs), ["报销"], trace=True).trace[0]
    assert node.value == got
    assert sum(c.value for c in node.children if c.kind == "band") == got


@SETTINGS
@given(x=money, step=st.integers(min_value=1, max_value=10**6).map(lambda c: Decimal(c) / 100))
def test_bands_never_decrease_with_the_amount(banded: Program, x: Decimal, step: Decimal) -> None:
    run = evaluator_for(banded).runner(["报销"])
    inputs = {"b1": Decimal(20000), "b2": Decimal(100000), "b3": Decimal(200000),
              "r1": Decimal("0.5"), "r2": Decimal("0.6"), "r3": Decimal("0.7")}
    low = run({**inputs, "x": x}, None)[0]
    high = run({**inputs, "x": x + step}, None)[0]
    assert high >= low


# ---------------------------------------------------------------- rounding is half-up to the 分, exactly


@pytest.fixture(scope="module")
def product(folder: Path) -> Program:
    return compile_text(folder, "product.ybl", """
        输入 费用 : 金额
        输入 比例 : 比例
        输入 倍数 : 数
        定义 乘比例 : 金额 = 费用 × 比例
        定义 除以 : 金额 = 费用 ÷ 倍数
    """)


@SETTINGS
@given(cost=signed_money, ratio=st.integers(min_value=-10**6, max_value=10**6).map(lambda v: Decimal(v) / 10**5))
def test_money_times_ratio_rounds_half_up_exactly(product: Program, cost: Decimal, ratio: Decimal) -> None:
    got = evaluator_for(product).runner(["乘比例"])({"费用": cost, "比例": ratio}, None)[0]
    assert got == half_up_cents(Fraction(cost) * Fraction(ratio))
    assert got.as_tuple().exponent == -2


@SETTINGS
@given(cost=signed_money, divisor=st.integers(min_value=1, max_value=10**4))
def test_money_divided_rounds_half_up_exactly(product: Program, cost: Decimal, divisor: int) -> None:
    got = evaluator_for(product).runner(["除以"])({"费用": cost, "倍数": Decimal(divisor)}, None)[0]
    assert got == half_up_cents(Fraction(cost) / divisor)


# ---------------------------------------------------------------- exceptions fire exactly when they hold


@pytest.fixture(scope="module")
def excepted(folder: Path) -> Program:
    return compile_text(folder, "excepted.ybl", """
        输入 x : 金额
        输入 甲阈值 : 金额
        输入 乙阈值 : 金额
        输入 甲值 : 金额
        输入 乙值 : 金额
        条款 "一" 基本规则
            定义 f : 金额 = 1元
        条款 "二" 甲例外
            例外 f 当 x > 甲阈值 时 = 甲值
        条款 "三" 乙例外
            例外 f 当 x ≤ 乙阈值 时 = 乙值
        条款 "四" 丙例外
            例外 f 当 x = 0元 时 = 9元 优先于 "二", "三"
    """)


small = st.integers(min_value=0, max_value=20).map(Decimal)


@SETTINGS
@given(x=small, a=small, b=small, va=small, vb=small)
def test_exception_fires_exactly_when_its_condition_holds(excepted: Program, x: Decimal, a: Decimal, b: Decimal,
                                                          va: Decimal, vb: Decimal) -> None:
    inputs = {"x": x, "甲阈值": a, "乙阈值": b, "甲值": va, "乙值": vb}
    outcome = evaluate(excepted, CaseInput(inputs), ["f"], trace=True)
    first, second, third = x > a, x <= b, x == 0
    fired_clauses = []
    if outcome.trace:
        fired_clauses = [c.clause.id for c in outcome.trace[0].children if c.kind == "exception" and c.clause]
    if third:
        # 优先于 both others: no conflict, its value wins
        assert outcome.ok and outcome.value("f") == Decimal(9) and fired_clauses == ["四"]
    elif first and second and va != vb:
        assert [d.code for d in outcome.diagnostics] == ["YB412"]
        message = outcome.diagnostics[0].message
        assert "二" in message and "三" in message
    elif first:
        assert outcome.ok and outcome.value("f") == va and fired_clauses == ["二"]
    elif second:
        assert outcome.ok and outcome.value("f") == vb and fired_clauses == ["三"]
    else:
        assert outcome.ok and outcome.value("f") == Decimal(1) and fired_clauses == []


@SETTINGS
@given(x=small, a=small, b=small, v=small)
def test_exceptions_agreeing_on_the_value_are_no_conflict(excepted: Program, x: Decimal, a: Decimal, b: Decimal,
                                                          v: Decimal) -> None:
    outcome = evaluate(excepted, CaseInput({"x": x, "甲阈值": a, "乙阈值": b, "甲值": v, "乙值": v}), ["f"])
    assert outcome.ok
    expected = Decimal(9) if x == 0 else v if (x > a or x <= b) else Decimal(1)
    assert outcome.value("f") == expected
