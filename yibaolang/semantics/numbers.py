"""Rounding and numbers: the quanta of 舍入, the places of a division, half-up rounding.

Every engine reads these: the interpreter as `Decimal` quanta, the vector
engine as decimal places of its scaled integers, the search and the charts
as the step between two payable amounts (docs/language.md, 舍入 and 四舍五入).

>>> QUANTUM["角"], PLACES["角"]
(Decimal('0.1'), 1)
>>> unit_of(None), unit_of("元")
('分', '元')
>>> round_half_up(Decimal("2.345"), 2), round_half_up(Decimal("-2.345"), 2)
(Decimal('2.35'), Decimal('-2.35'))
>>> target = rounding_target(Kind.RATIO, None, "元")
>>> target.places, target.unit, target.kind
(2, '百分点', <Kind.RATIO: '比例'>)
>>> rounding_target(Kind.MONEY, "角", "分").places
1
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import attrs

from yibaolang.ir.types import Kind

# The rounding units a policy's 舍入 (or 四舍五入's second argument) may name.
ROUNDING_UNITS = ("分", "角", "元")
DEFAULT_UNIT = "分"
PLACES: dict[str, int] = {"分": 2, "角": 1, "元": 0}
QUANTUM: dict[str, Decimal] = {unit: Decimal(1).scaleb(-places) for unit, places in PLACES.items()}
CENT = QUANTUM["分"]

# A quotient that does not terminate is kept to this many places (half-up).
DIVISION_PLACES = 10

# 四舍五入 of a 比例 rounds to whole percentage points: two places of the fraction.
RATIO_PLACES = 2


def unit_of(rounding: str | None) -> str:
    """The unit money is rounded to under a policy's 舍入 (分 when it names none or an unknown one)."""
    return rounding if rounding is not None and rounding in PLACES else DEFAULT_UNIT


_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(DIVISION_PLACES + 1)}


def quantum(places: int) -> Decimal:
    """10**-places as a Decimal: the quantum of `places` decimal places."""
    found = _QUANTA.get(places)
    return found if found is not None else Decimal(1).scaleb(-places)


def round_half_up(value: Decimal, places: int) -> Decimal:
    """四舍五入 (ties away from zero) to `places` decimal places."""
    return value.quantize(quantum(places), rounding=ROUND_HALF_UP)


@attrs.frozen(slots=True)
class Rounding:
    """What 四舍五入(x) or 四舍五入(x, 单位) rounds to: places, the unit word the trace names, the result kind."""

    places: int
    unit: str
    kind: Kind

    @property
    def quantum(self) -> Decimal:
        return quantum(self.places)


def rounding_target(argument: Kind, unit_argument: str | None, policy_unit: str) -> Rounding:
    """The rule of 四舍五入: to the named unit; money to the policy's 舍入; a ratio to points; else whole.

    `argument` is the kind of the value rounded, `unit_argument` the 分/角/元 of
    the two-argument form (None for one argument).
    """
    if unit_argument is not None:
        unit = unit_argument if unit_argument in PLACES else DEFAULT_UNIT
        return Rounding(PLACES[unit], unit, Kind.MONEY)
    if argument is Kind.MONEY:
        unit = unit_of(policy_unit)
        return Rounding(PLACES[unit], unit, Kind.MONEY)
    if argument is Kind.RATIO:
        return Rounding(RATIO_PLACES, "百分点", Kind.RATIO)
    return Rounding(0, "整数", argument)


__all__ = [
    "CENT", "DEFAULT_UNIT", "DIVISION_PLACES", "PLACES", "QUANTUM", "RATIO_PLACES", "ROUNDING_UNITS", "Rounding",
    "quantum", "round_half_up", "rounding_target", "unit_of",
]
