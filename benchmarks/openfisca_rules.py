"""The benchmark policy (benchmarks/bench_policy.ybl) written for OpenFisca, for benchmarks/batch.py.

OpenFisca (`openfisca-core`, an optional, benchmark-only dependency) computes
with numpy arrays too; money is float64 as is usual there, rounded to the 分
with `numpy.round` where the policy rounds.  The same three rules:

- 住院报销比例: the 黄石 table by 人员状态 × 医院等级;
- 统筹基金支付 = min(round(max(费用 - 起付标准, 0) × 比例, 2), max(12万元 - 年度已支付, 0));
- 大病保险报销: the 天津 bands on 个人负担 = 费用 - 统筹基金支付, each band rounded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from openfisca_core.entities import build_entity
from openfisca_core.indexed_enums import Enum
from openfisca_core.periods import DateUnit
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

Person = build_entity(key="person", plural="persons", label="参保人", is_person=True)

RATES = np.array([0.90, 0.92, 0.94, 0.92, 0.94, 0.96])  # 在职/退休 × 三级/二级/其他
CAP = 120_000.0
BANDS = ((20_000.0, 100_000.0, 0.5), (100_000.0, 200_000.0, 0.6), (200_000.0, 300_000.0, 0.7))


class Status(Enum):
    在职 = "在职"
    退休 = "退休"


class Level(Enum):
    三级 = "三级"
    二级 = "二级"
    其他 = "其他"


class status(Variable):
    value_type = Enum
    possible_values = Status
    default_value = Status.在职
    entity = Person
    definition_period = DateUnit.YEAR
    label = "人员状态"


class level(Variable):
    value_type = Enum
    possible_values = Level
    default_value = Level.三级
    entity = Person
    definition_period = DateUnit.YEAR
    label = "医院等级"


class cost(Variable):
    value_type = float
    entity = Person
    definition_period = DateUnit.YEAR
    label = "住院政策范围内费用"


class deductible(Variable):
    value_type = float
    entity = Person
    definition_period = DateUnit.YEAR
    label = "起付标准"


class paid(Variable):
    value_type = float
    entity = Person
    definition_period = DateUnit.YEAR
    label = "年度已支付"


class rate(Variable):
    value_type = float
    entity = Person
    definition_period = DateUnit.YEAR
    label = "住院报销比例"

    def formula(person: Any, period: Any) -> Any:
        codes = person("status", period).view(np.ndarray).astype(np.int64) * 3
        return RATES[codes + person("level", period).view(np.ndarray)]


class fund(Variable):
    value_type = float
    entity = Person
    definition_period = DateUnit.YEAR
    label = "统筹基金支付"

    def formula(person: Any, period: Any) -> Any:
        remaining = np.maximum(CAP - person("paid", period), 0)
        base = np.maximum(person("cost", period) - person("deductible", period), 0)
        return np.minimum(np.round(base * person("rate", period), 2), remaining)


class own(Variable):
    value_type = float
    entity = Person
    definition_period = DateUnit.YEAR
    label = "个人负担"

    def formula(person: Any, period: Any) -> Any:
        return person("cost", period) - person("fund", period)


class critical(Variable):
    value_type = float
    entity = Person
    definition_period = DateUnit.YEAR
    label = "大病保险报销"

    def formula(person: Any, period: Any) -> Any:
        x = person("own", period)
        total = np.zeros_like(x)
        for low, high, r in BANDS:
            total += np.round((np.clip(x, low, high) - low) * r, 2)
        return total


def system() -> TaxBenefitSystem:
    tbs = TaxBenefitSystem([Person])
    for variable in (status, level, cost, deductible, paid, rate, fund, own, critical):
        tbs.add_variable(variable)
    return tbs


def prepare(tbs: TaxBenefitSystem, status_codes: Any, level_codes: Any, cost_cents: Any, deductible_cents: Any,
            paid_cents: Any) -> Any:
    """A simulation of len(cost_cents) persons with the inputs set (not yet computed)."""
    period = "2024"
    simulation = SimulationBuilder().build_default_simulation(tbs, count=len(cost_cents))
    simulation.set_input("status", period, np.array(["在职", "退休"])[status_codes])
    simulation.set_input("level", period, np.array(["三级", "二级", "其他"])[level_codes])
    simulation.set_input("cost", period, cost_cents / 100)
    simulation.set_input("deductible", period, deductible_cents / 100)
    simulation.set_input("paid", period, paid_cents / 100)
    return simulation


def calculate(simulation: Any) -> tuple[Any, Any, Any]:
    """The three outputs (OpenFisca floats, 元)."""
    period = "2024"
    return (simulation.calculate("fund", period), simulation.calculate("own", period),
            simulation.calculate("critical", period))
