"""Every magnitude limit and the evaluation budget, in one place (docs/language.md, 资源限制).

A value that enters — a literal, a case value, a batch cell — is refused
unless it fits the limits below; every result is exact or refused.  Nothing
is ever rounded by a decimal context behind the policy's back: + − × run in
`EXACT`, a context that traps an inexact result, and the only roundings are
the ones the language defines (money × or ÷ to the 分, 四舍五入, a quotient that
does not terminate to ten places).

>>> entering(Decimal("999999999999999"), "金额") is None
True
>>> print(entering(Decimal("1e15"), "金额"))
数值过大：1000000000000000（整数部分最多 15 位）
>>> print(entering(Decimal("99999999999999999999999.99"), "比例"))
比例过大：9999999999999999999999999%（比例最多 100000000%）
>>> EXACT.multiply(Decimal(999999999999999), Decimal(999999999999999))
Decimal('999999999999998000000000000001')
>>> print(result_problem(Decimal("1e18")))
数值过大：1000000000000000000（计算结果的整数部分最多 18 位）
>>> exact_text(Decimal(999999999999999) * Decimal(999999999999999))
'999999999999998000000000000000'
>>> exact_text(EXACT.multiply(Decimal(999999999999999), Decimal(999999999999999)))
'999999999999998000000000000001'
"""

from __future__ import annotations

import decimal
import sys
from decimal import ROUND_HALF_UP, Decimal

# ------------------------------------------------------------------ values that enter

# Integer digits of any number a policy or a case writes (money in 元, a 数, a ratio
# as a fraction): below 10¹⁵, so a sum of many of them stays far inside EXACT.
MAX_INTEGER_DIGITS = 15
MAX_MAGNITUDE = Decimal(10) ** MAX_INTEGER_DIGITS
# Decimal places of a number that enters (money has its own limit: two places).
MAX_FRACTION_DIGITS = 10
MONEY_PLACES = 2
# A ratio is a fraction: 1 is 100%.  A million is far above any real 报销比例 or 倍数
# written as a percentage, and keeps ratio × money well inside the result limit.
MAX_RATIO = Decimal(10) ** 6
# Characters of one typed case value ("15万元", an option name): a value is short.
MAX_VALUE_CHARS = 200
# Digits of one number as written in a case file or batch cell, read before its magnitude is judged.
MAX_WRITTEN_DIGITS = 40
# Dates: the years Python's calendar can represent.
MIN_YEAR, MAX_YEAR = 1, 9999

# ------------------------------------------------------------------ results

# Every figure's value: integer part at most 18 digits (a hundred thousand times the
# largest amount that may enter).  Beyond that it is refused, never shown rounded.
MAX_RESULT_INTEGER_DIGITS = 18
MAX_RESULT = Decimal(10) ** MAX_RESULT_INTEGER_DIGITS
# Significant digits + − × keep exactly; a result that needs more is refused.
EXACT_DIGITS = 60

# + − × of the interpreter: exact or an exception (decimal.Inexact), never a silent rounding.
EXACT = decimal.Context(
    prec=EXACT_DIGITS,
    rounding=ROUND_HALF_UP,
    Emax=999_999,
    Emin=-999_999,
    traps=[decimal.Inexact, decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
# Display and encoding: wide enough to print any value EXACT produced, digit for digit.
DISPLAY = decimal.Context(prec=EXACT_DIGITS + MAX_RESULT_INTEGER_DIGITS + 10, rounding=ROUND_HALF_UP,
                           Emax=999_999, Emin=-999_999)

# ------------------------------------------------------------------ the evaluation budget

# Figures computed and function calls made for one case.  A real policy needs a few
# hundred; the budget stops a program whose work grows exponentially.
MAX_STEPS = 100_000
# Nesting of figures and function calls while one case is computed: a definition that
# reads a definition that reads … counts one level each.  `check` refuses a program
# nested deeper than MAX_NESTING (YB323), so whatever it accepts, `run` can evaluate;
# the run-time limit is higher for what only evaluation sees (代入 of an imported policy).
MAX_NESTING = 150
MAX_EVAL_DEPTH = 2 * MAX_NESTING
# The Python frames one level may take: a figure's expression nests at most 64 deep
# (frontend.lower.MAX_EXPR_DEPTH), about two frames per level of an expression.
_FRAMES_PER_LEVEL = 2 * 64 + 16
RECURSION_LIMIT = MAX_EVAL_DEPTH * _FRAMES_PER_LEVEL + 2_000

# The counterexample search of `check`: evaluation steps over all of its cases, and
# sub-expressions visited while it gathers critical points.
SEARCH_STEPS = 1_000_000
SEARCH_FORMS = 200_000
# `check --prove`: sub-expressions translated for z3 per property (then the property is left unproven).
PROVE_TERMS = 200_000


def grouped(value: int | Decimal) -> str:
    """A figure with thousands separators, for messages: 100,000."""
    return f"{value:,}"


def exact_text(value: Decimal) -> str:
    """`value` in plain notation, every digit kept (no exponent, no trailing zeros)."""
    if value == 0:
        return "0"
    return format(value.normalize(DISPLAY), "f")


def entering(value: Decimal, kind: str) -> str | None:
    """Why a number written in a policy, a case or a batch cell is refused, or None.

    `kind` is the type name (金额, 比例, 数, …).  A ratio is checked as the
    fraction it denotes (50% is 0.5).
    """
    if not value.is_finite():
        return f"无法读作数：{value}"
    places = max(0, -int(value.normalize(DISPLAY).as_tuple().exponent))
    if kind == "比例":
        if abs(value) > MAX_RATIO:
            shown = exact_text(value.scaleb(2, DISPLAY))
            return f"比例过大：{shown}%（比例最多 {exact_text(MAX_RATIO * 100)}%）"
        if places > MAX_FRACTION_DIGITS + 2:
            return f"比例过于精细：{exact_text(value.scaleb(2, DISPLAY))}%（百分数最多 {MAX_FRACTION_DIGITS} 位小数）"
        return None
    if abs(value) >= MAX_MAGNITUDE:
        return f"数值过大：{exact_text(value)}（整数部分最多 {MAX_INTEGER_DIGITS} 位）"
    if kind == "数" and places > MAX_FRACTION_DIGITS:
        return f"数过于精细：{exact_text(value)}（最多 {MAX_FRACTION_DIGITS} 位小数）"
    return None


def result_problem(value: Decimal | int) -> str | None:
    """Why a computed figure is refused (too large to be a real amount), or None."""
    if -MAX_RESULT < value < MAX_RESULT:
        return None
    shown = exact_text(Decimal(value))
    return f"数值过大：{shown}（计算结果的整数部分最多 {MAX_RESULT_INTEGER_DIGITS} 位）"


def ensure_recursion_limit() -> None:
    """Let Python nest as deep as the evaluation budget allows (raises the limit, never lowers it)."""
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)


__all__ = [
    "DISPLAY", "EXACT", "EXACT_DIGITS", "MAX_EVAL_DEPTH", "MAX_FRACTION_DIGITS", "MAX_INTEGER_DIGITS",
    "MAX_MAGNITUDE", "MAX_NESTING", "MAX_RATIO", "MAX_RESULT", "MAX_RESULT_INTEGER_DIGITS", "MAX_STEPS",
    "MAX_VALUE_CHARS", "MAX_WRITTEN_DIGITS", "MAX_YEAR", "MIN_YEAR", "MONEY_PLACES", "PROVE_TERMS",
    "RECURSION_LIMIT", "SEARCH_FORMS", "SEARCH_STEPS", "ensure_recursion_limit", "entering", "exact_text", "grouped",
    "result_problem",
]
