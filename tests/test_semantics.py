"""The semantics layer: each shared rule, and every engine's arithmetic giving it the same meaning."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from yibaolang import ir
from yibaolang.checks import typecheck
from yibaolang.checks.compiler import compile_policy
from yibaolang.engines import evaluate, vector
from yibaolang.engines.vector import VECTOR_OPS, Vec, num_array, to_decimal
from yibaolang.ir.types import Kind
from yibaolang.semantics import bands, builtins, exceptions, numbers
from yibaolang.semantics.instances import InstanceKey, Instances
from yibaolang.semantics.ops import DECIMAL

SPAN = ir.Span("<测>", 1, 1, 1, 1)
cents = st.integers(min_value=-10**9, max_value=10**9)
rates = st.integers(min_value=0, max_value=100)


# ---------------------------------------------------------------- bands


@st.composite
def band_tables(draw: st.DrawFn) -> list[tuple[Decimal, Decimal | None, Decimal]]:
    edges = sorted(draw(st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=4, unique=True)))
    table: list[tuple[Decimal, Decimal | None, Decimal]] = []
    for i, low in enumerate(edges):
        high = Decimal(edges[i + 1]) / 100 if i + 1 < len(edges) else None
        table.append((Decimal(low) / 100, high, Decimal(draw(rates)) / 100))
    return table


@given(band_tables(), cents)
def test_the_interpreters_unrolled_band_rule_is_the_shared_rule(table: list[tuple[Decimal, Decimal | None, Decimal]],
                                                                 x: int) -> None:
    money = Decimal(x) / 100
    assert bands.decimal_total(money, table, numbers.CENT) == bands.total(DECIMAL, money, table, 2)


@given(cents, cents, st.one_of(st.none(), cents), rates)
def test_vector_and_decimal_arithmetic_agree_on_a_band(x: int, low: int, high: int | None, rate: int) -> None:
    if high is not None and high < low:
        low, high = high, low
    want = bands.band_amount(DECIMAL, Decimal(x) / 100, Decimal(low) / 100,
                             None if high is None else Decimal(high) / 100, Decimal(rate) / 100, 2)
    xs = num_array(np.array([x, x], dtype=np.int64), 2)  # an array and a scalar take different paths
    for xv in (xs, Vec(vector.NUM, x, scale=2, lo=x, hi=x)):
        got = bands.band_amount(VECTOR_OPS, xv, Vec(vector.NUM, low, scale=2, lo=low, hi=low),
                                None if high is None else Vec(vector.NUM, high, scale=2, lo=high, hi=high),
                                Vec(vector.NUM, rate, scale=2, lo=rate, hi=rate), 2)
        data = np.atleast_1d(got.data)
        assert got.bad is None
        assert all(to_decimal(int(d), got.scale) == want for d in data)


def test_an_inverted_band_is_reported_with_both_values() -> None:
    assert bands.inverted(DECIMAL, Decimal(200000), Decimal(100000))
    assert not bands.inverted(DECIMAL, Decimal(100000), Decimal(100000))
    assert not bands.inverted(DECIMAL, Decimal(1), None)
    masks = bands.inverted(VECTOR_OPS, num_array(np.array([1, 5]), 0), Vec(vector.NUM, 3, lo=3, hi=3))
    assert masks.tolist() == [False, True]


def test_step_guards_follow_the_inclusiveness_of_each_edge() -> None:
    def bound(inclusive: bool) -> ir.Bound:
        return ir.Bound(ir.Literal(ir.LiteralKind.NUMBER, Decimal(1), "1", SPAN), inclusive, False, SPAN)

    def step(kind: ir.StepKind, low: bool | None, high: bool | None) -> ir.Step:
        return ir.Step(kind, None if low is None else bound(low), None if high is None else bound(high),
                       ir.Literal(ir.LiteralKind.NUMBER, Decimal(0), "0", SPAN), SPAN)

    g = ir.CompareOp
    assert bands.step_guards(step(ir.StepKind.EXACT, True, True)) == [(g.EQ, "low")]
    assert bands.step_guards(step(ir.StepKind.AT_LEAST, True, None)) == [(g.GE, "low")]
    assert bands.step_guards(step(ir.StepKind.ABOVE, False, None)) == [(g.GT, "low")]
    assert bands.step_guards(step(ir.StepKind.AT_MOST, None, True)) == [(g.LE, "high")]
    assert bands.step_guards(step(ir.StepKind.BELOW, None, False)) == [(g.LT, "high")]
    assert bands.step_guards(step(ir.StepKind.BETWEEN, False, True)) == [(g.GT, "low"), (g.LE, "high")]
    assert bands.step_matches(DECIMAL, step(ir.StepKind.BETWEEN, False, True), Decimal(1), Decimal(1), Decimal(2)) \
        is False


# ---------------------------------------------------------------- exceptions


def _rule(clause: str, overrides: tuple[str, ...] = ()) -> ir.ExceptionRule:
    yes = ir.Literal(ir.LiteralKind.BOOL, True, "是", SPAN)
    return ir.ExceptionRule(ir.Name("甲", None, SPAN), yes, yes, overrides, clause, SPAN)


@given(st.lists(st.tuples(st.booleans(), st.sets(st.integers(0, 4), max_size=3)), min_size=1, max_size=5))
def test_winners_are_the_fired_rules_no_fired_rule_beats(spec: list[tuple[bool, set[int]]]) -> None:
    rules = [_rule(str(i), tuple(str(j) for j in over if j != i)) for i, (_, over) in enumerate(spec)]
    fired = [f for f, _ in spec]
    beaten = exceptions.beaten_by(rules)
    want = [i for i in range(len(rules))
            if fired[i] and not any(fired[j] and str(i) in rules[j].overrides for j in range(len(rules)))]
    assert exceptions.winners(fired, beaten) == want
    masks = exceptions.winner_guards(vector.MASKS, [np.array([f, False]) for f in fired], beaten)
    assert [i for i, m in enumerate(masks) if bool(np.asarray(m)[0])] == want
    assert exceptions.unresolved(DECIMAL, fired, [i in want for i in range(len(rules))]) is (any(fired) and not want)


# ---------------------------------------------------------------- numbers


def test_rounding_targets() -> None:
    assert numbers.rounding_target(Kind.MONEY, None, "角") == numbers.Rounding(1, "角", Kind.MONEY)
    assert numbers.rounding_target(Kind.NUMBER, "元", "分") == numbers.Rounding(0, "元", Kind.MONEY)
    assert numbers.rounding_target(Kind.RATIO, None, "元").places == 2
    assert numbers.rounding_target(Kind.MONTHS, None, "分") == numbers.Rounding(0, "整数", Kind.MONTHS)
    assert numbers.QUANTUM == {"分": Decimal("0.01"), "角": Decimal("0.1"), "元": Decimal(1)}


# ---------------------------------------------------------------- builtins


def test_every_builtin_is_declared_once_and_implemented_by_both_engines() -> None:
    assert evaluate.__name__ and vector.__name__  # importing the engines registers their builtins
    assert builtins.missing("interpreter") == []
    assert builtins.missing("vector") == []
    assert typecheck.BUILTINS is builtins.BUILTINS
    for builtin in builtins.BUILTINS.values():
        assert builtin.hover and builtin.signature.startswith(builtin.name)


# ---------------------------------------------------------------- instances


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_instance_keys_are_stable_and_one_per_binding(tmp_path: Path) -> None:
    _write(tmp_path, "b.ybl", """
        政策 乙
        输入 费用 : 金额
        定义 半 : 金额 = 费用 × 50%
    """)
    root = _write(tmp_path, "a.ybl", """
        政策 甲
        引用 "b.ybl" 作为 份0
            代入 费用 = 100元
        引用 "b.ybl" 作为 份1
            代入 费用 = 200元
        引用 "b.ybl" 作为 份2
        输入 费用 : 金额
        定义 和 : 金额 = 份0.半 + 份1.半 + 份2.半
    """)
    keys = []
    for _ in range(2):  # two loads: the keys do not depend on the objects of one run
        program = compile_policy(root)
        assert not [d.message for d in program.diagnostics if d.is_error]
        tree = Instances(program)
        keys.append([inst.key for inst in tree.walk()])
    assert keys[0] == keys[1]
    assert len(set(keys[0])) == 4  # the root, two bound instances, one shared unbound
    assert keys[0][0] == InstanceKey(program.root.path)
    shared = [k for k in keys[0][1:] if not k.sites]
    assert len(shared) == 1 and shared[0].module.endswith("b.ybl")
    outcome = evaluate.evaluate(program, evaluate.CaseInput({"费用": Decimal(600)}), ["和"])
    assert outcome.value("和") == Decimal(50 + 100 + 300)
