"""The builtin functions, declared once: name, arity, type rule, hover text (docs/language.md, 内置函数).

The type checker, the completion and hover of the editor, and every engine
read this table.  An engine attaches its implementation by name with
`implements(engine, name)`, as OPA registers its builtins; `missing(engine)`
lists what an engine has not implemented (a test holds it empty for the
interpreter and the vector engine).

>>> BUILTINS["四舍五入"].arity_text
'1 到 2 个'
>>> BUILTINS["取较小"].arity_text, BUILTINS["取较小"].passes_unrounded
('至少 2 个', True)
>>> BUILTINS["相差月数"].result is MONTHS, BUILTINS["绝对值"].result is None
(True, True)
>>> is_builtin(ir.Call("年份", (), SPAN)), is_builtin(ir.Call("年份", (), SPAN, "别名"))
(True, False)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

import attrs

from yibaolang import ir
from yibaolang.ir.types import DATE, DAYS, DURATIONS, MONTHS, NUMBER, YEARS, Kind, Type

SPAN = ir.Span("<例>", 1, 1, 1, 1)

Engine = Literal["interpreter", "vector", "z3"]
ENGINES: tuple[Engine, ...] = ("interpreter", "vector", "z3")

F = TypeVar("F", bound=Callable[..., Any])


@attrs.frozen(slots=True)
class Builtin:
    """One builtin function.

    `params` is the type every argument must have, or None when the arguments
    take the type of the call (取较小, 绝对值 …).  `result` is the result type,
    or None for "the type of the arguments".  `refuses` are the argument kinds
    that are an error, with `refusal` the message ({name}, {type}) and
    `refusal_at_call` whether it points at the call or the first argument.
    `accepts` (when set) are the only kinds allowed, with `expects` the message.
    `unit_argument`: a second argument names a rounding unit (分/角/元) and the
    result is money.  `passes_unrounded`: the value passes straight through, so under 四舍五入 a
    money product inside it stays unrounded for the enclosing rounding.
    """

    name: str
    min_args: int
    max_args: int | None
    signature: str
    hover: str
    params: Type | None = None
    result: Type | None = None
    refuses: frozenset[Kind] = frozenset()
    refusal: str = ""
    refusal_at_call: bool = False
    accepts: frozenset[Kind] | None = None
    expects: str = ""
    passes_unrounded: bool = False
    unit_argument: bool = False  # the last argument may be a rounding unit 分/角/元 (四舍五入)

    @property
    def arity_text(self) -> str:
        low, high = self.min_args, self.max_args
        return f"{low} 个" if low == high else f"至少 {low} 个" if high is None else f"{low} 到 {high} 个"

    @property
    def doc(self) -> str:
        return f"{self.signature}：{self.hover}"


_NOT_ORDERED = frozenset({Kind.BOOL, Kind.ENUM})
_NOT_NUMERIC = frozenset({Kind.BOOL, Kind.ENUM, Kind.DATE})

_TABLE = (
    Builtin("取较小", 2, None, "取较小(a, b, …)", "各参数中最小的一个（同一类型）",
            refuses=_NOT_ORDERED, refusal="{name} 的参数不能是 {type}", refusal_at_call=True, passes_unrounded=True),
    Builtin("取较大", 2, None, "取较大(a, b, …)", "各参数中最大的一个（同一类型）",
            refuses=_NOT_ORDERED, refusal="{name} 的参数不能是 {type}", refusal_at_call=True, passes_unrounded=True),
    Builtin("四舍五入", 1, 2, "四舍五入(x) 或 四舍五入(金额, 分|角|元)", "按四舍五入取整或舍入到 分/角/元",
            refuses=_NOT_NUMERIC, refusal="{type} 不能四舍五入", unit_argument=True),
    Builtin("数值", 1, 1, "数值(x)", "年数、月数、日数或金额的数值（数）", result=NUMBER,
            accepts=frozenset({*DURATIONS, Kind.MONEY, Kind.RATIO, Kind.NUMBER, Kind.ERROR}),
            expects="数值 的参数应为年数、月数、日数或金额，这里是 {type}"),
    Builtin("年月日", 3, 3, "年月日(年, 月, 日)", "由三个数构成日期", params=NUMBER, result=DATE),
    Builtin("年份", 1, 1, "年份(日期)", "日期的年份（数）", params=DATE, result=NUMBER),
    Builtin("月份", 1, 1, "月份(日期)", "日期的月份（数）", params=DATE, result=NUMBER),
    Builtin("相差天数", 2, 2, "相差天数(甲, 乙)", "两个日期相差的日数", params=DATE, result=DAYS),
    Builtin("相差月数", 2, 2, "相差月数(甲, 乙)", "两个日期相差的整月数", params=DATE, result=MONTHS),
    Builtin("相差年数", 2, 2, "相差年数(甲, 乙)", "两个日期相差的整年数", params=DATE, result=YEARS),
    Builtin("绝对值", 1, 1, "绝对值(x)", "x 的绝对值",
            refuses=_NOT_NUMERIC, refusal="{type} 没有绝对值", passes_unrounded=True),
)

BUILTINS: dict[str, Builtin] = {b.name: b for b in _TABLE}

_IMPLEMENTATIONS: dict[Engine, dict[str, Callable[..., Any]]] = {engine: {} for engine in ENGINES}


def is_builtin(call: ir.Call) -> bool:
    """Whether a call names a builtin (an unqualified name in the table; 别名.x is a policy's function)."""
    return call.qualifier is None and call.function in BUILTINS


def passes_unrounded(call: ir.Call) -> bool:
    found = BUILTINS.get(call.function) if call.qualifier is None else None
    return found is not None and found.passes_unrounded


def implements(engine: Engine, *names: str) -> Callable[[F], F]:
    """Register the decorated function as `engine`'s implementation of the builtins `names`."""
    for name in names:
        if name not in BUILTINS:
            raise KeyError(f"no builtin {name}")

    def register(fn: F) -> F:
        for name in names:
            _IMPLEMENTATIONS[engine][name] = fn
        return fn

    return register


def implementation(engine: Engine, name: str) -> Callable[..., Any] | None:
    return _IMPLEMENTATIONS[engine].get(name)


def missing(engine: Engine) -> list[str]:
    """The builtins `engine` has registered no implementation for."""
    return [name for name in BUILTINS if name not in _IMPLEMENTATIONS[engine]]


__all__ = ["BUILTINS", "ENGINES", "Builtin", "Engine", "implementation", "implements", "is_builtin", "missing",
           "passes_unrounded"]
