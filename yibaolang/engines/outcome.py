"""The data several layers read: a validated case going in, the outcome coming out.

The case loaders (`yibaolang.engines.cases`), the interpreter, the batch layer
and the renderers all use these; none of them needs the interpreter to read them.

>>> from decimal import Decimal
>>> from yibaolang.ir.types import MONEY
>>> out = Outcome([OutputValue("报销", MONEY, Decimal("70000"), True)], [], None, "", {})
>>> out.ok, out.value("报销")
(True, Decimal('70000'))
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.diagnostics import Diagnostic, error
from yibaolang.engines.trace import ListTrace, TraceNode, unparse
from yibaolang.ir.types import Type


@attrs.define
class CaseInput:
    """A validated case: typed input values by name and the 计算日期 with where it came from."""

    values: dict[str, Any]
    date: dt.date | None = None
    date_source: str = ""
    file: str | None = None


@attrs.define
class OutputValue:
    name: str
    type: Type
    value: Any = None
    ok: bool = False


@attrs.define
class Outcome:
    """The result of evaluating one case."""

    outputs: list[OutputValue]
    diagnostics: list[Diagnostic]
    date: dt.date | None
    date_source: str
    inputs: dict[str, tuple[Type, Any]]
    trace: list[TraceNode] = attrs.Factory(list)
    assertions: list[TraceNode] = attrs.Factory(list)
    skipped: list[str] = attrs.Factory(list)
    figures: dict[str, tuple[Type, Any]] = attrs.Factory(dict)
    # Figures and function calls computed (the evaluation budget, semantics/limits.py).
    steps: int = 0
    # The lines of each list input, when traced (docs/itemized.md §7).
    lines: list[ListTrace] = attrs.Factory(list)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def value(self, name: str) -> Any:
        for out in self.outputs:
            if out.name == name:
                return out.value
        raise KeyError(name)


# ------------------------------------------------------------------ messages both engines give


def assertion_cite(assertion: ir.Assertion) -> str:
    """How a 断言 is named in messages: its 条款, else “断言”."""
    return f"条款 {assertion.clause}" if assertion.clause else "断言"


def assertion_failure(assertion: ir.Assertion, shown: str) -> Diagnostic:
    """YB415: a 断言 that does not hold on a case (docs/diagnostics.md#yb415).

    The one place its wording lives: the interpreter (`evaluate._check_assertions`) and the vectorized
    engine (`engines/vector_errors.py`) both build it here, so a batch row's 错误 text is the same
    whichever engine computed the row.  `shown` is the condition with the case's values (the hint).
    """
    what = assertion.message or unparse(assertion.condition)
    return error("YB415", assertion.span, f"断言不成立（{assertion_cite(assertion)}）：{what}",
                 f"本案例中：{shown}", clause=assertion.clause)


__all__ = ["CaseInput", "Outcome", "OutputValue", "assertion_cite", "assertion_failure"]
