"""The operations interface: a rule of meaning is written once over `Ops`, each engine supplies its arithmetic.

The interpreter's values are `Decimal` and `bool` (`DECIMAL` below); the
vector engine's are int64 arrays (`yibaolang.engines.vector.VECTOR_OPS`); the
prover's are z3 terms (`yibaolang.analysis.prove`).  A rule such as the piece
of a band (`yibaolang.semantics.bands.piece`) or the winner of several 例外
(`yibaolang.semantics.exceptions.winner_guards`) calls only these methods, so
every engine computes the same meaning (docs/architecture.md).

`V` is an engine's number, `B` its truth value.

>>> DECIMAL.clamp(Decimal(15), Decimal(2), Decimal(10))
Decimal('10')
>>> DECIMAL.clamp(Decimal(1), Decimal(2), None)
Decimal('2')
>>> DECIMAL.round(Decimal("1.005"), 2), DECIMAL.round(Decimal("1.005"), None)
(Decimal('1.01'), Decimal('1.005'))
>>> DECIMAL.all_of([True, DECIMAL.not_(False)]), DECIMAL.any_of([])
(True, False)
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol, TypeVar

from yibaolang import ir
from yibaolang.semantics.numbers import quantum

V = TypeVar("V")
B = TypeVar("B")

COMPARE: dict[ir.CompareOp, Callable[[Any, Any], bool]] = {
    ir.CompareOp.GT: operator.gt,
    ir.CompareOp.GE: operator.ge,
    ir.CompareOp.LT: operator.lt,
    ir.CompareOp.LE: operator.le,
    ir.CompareOp.EQ: operator.eq,
    ir.CompareOp.NE: operator.ne,
}


class Logic(Protocol[B]):
    """The truth values a shared rule needs from an engine."""

    def all_of(self, conditions: Sequence[B]) -> B:
        ...

    def any_of(self, conditions: Sequence[B]) -> B:
        ...

    def not_(self, condition: B) -> B:
        ...


class Ops(Logic[B], Protocol[V, B]):
    """The arithmetic a shared rule needs from an engine."""

    def zero(self) -> V:
        """The number 0."""
        ...

    def add(self, a: V, b: V) -> V:
        ...

    def sub(self, a: V, b: V) -> V:
        ...

    def mul(self, a: V, b: V) -> V:
        ...

    def clamp(self, x: V, low: V, high: V | None) -> V:
        """min(max(x, low), high); with no `high`, max(x, low).  Only called with low ≤ high."""
        ...

    def round(self, a: V, places: int | None) -> V:
        """Half-up (ties away from zero) to `places`; None leaves `a` as it is."""
        ...

    def compare(self, op: ir.CompareOp, a: V, b: V) -> B:
        ...


class PythonLogic:
    """`Logic` over Python truth values, for every engine whose conditions are plain bools."""

    __slots__ = ()

    def all_of(self, conditions: Sequence[bool]) -> bool:
        return all(conditions)

    def any_of(self, conditions: Sequence[bool]) -> bool:
        return any(conditions)

    def not_(self, condition: bool) -> bool:
        return not condition


class DecimalOps(PythonLogic):
    """`Ops` over exact decimals and Python truth values: the interpreter's and the charts' arithmetic."""

    __slots__ = ()

    def zero(self) -> Decimal:
        return Decimal(0)

    def add(self, a: Decimal, b: Decimal) -> Decimal:
        return a + b

    def sub(self, a: Decimal, b: Decimal) -> Decimal:
        return a - b

    def mul(self, a: Decimal, b: Decimal) -> Decimal:
        return a * b

    def clamp(self, x: Decimal, low: Decimal, high: Decimal | None) -> Decimal:
        if x < low:
            return low
        if high is not None and x > high:
            return high
        return x

    def round(self, a: Decimal, places: int | None) -> Decimal:
        return a if places is None else a.quantize(quantum(places), ROUND_HALF_UP)

    def compare(self, op: ir.CompareOp, a: Any, b: Any) -> bool:
        return COMPARE[op](a, b)


DECIMAL = DecimalOps()

__all__ = ["COMPARE", "DECIMAL", "DecimalOps", "Logic", "Ops"]
