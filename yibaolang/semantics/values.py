"""Runtime values: exact arithmetic helpers, display, JSON encoding and typed strings.

A value at run time is a bare Python object whose meaning comes from the
static type the checker gave it: `Decimal` for 金额/比例/数, `int` for
年数/月数/日数, `datetime.date` for 日期, `bool` for 是否 and `str` (the value's
name) for 选项.  Money is never a binary float.

>>> display(MONEY, Decimal("70000"))
'70,000.00元'
>>> display(RATIO, Decimal("0.5")), display(RATIO, Decimal("0.003"))
('50%', '0.3%')
>>> round_money(Decimal("0.125")), round_money(Decimal("-0.125"))
(Decimal('0.13'), Decimal('-0.13'))
>>> divide(Decimal(1), Decimal(3))
Decimal('0.3333333333')
>>> parse_value("15万元", MONEY)
Decimal('150000')
>>> parse_value("3个月", MONTHS)
3
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import attrs

from yibaolang.ir.types import BOOL, DATE, DAYS, MONEY, MONTHS, NUMBER, RATIO, YEARS, Kind, Type
from yibaolang.semantics import limits
from yibaolang.semantics.numbers import CENT, DIVISION_PLACES, QUANTUM

ZERO = Decimal(0)
_TEN_PLACES = Decimal(1).scaleb(-DIVISION_PLACES)

# The context every evaluation runs in: wide enough that + - × are exact for
# any money a policy can write, half-up wherever a rounding is asked for.
CONTEXT = decimal.Context(
    prec=60,
    rounding=ROUND_HALF_UP,
    Emax=999_999,
    Emin=-999_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

_DIVISION = CONTEXT.copy()
MAX_MAGNITUDE = limits.MAX_MAGNITUDE
_WIDE = limits.DISPLAY  # formatting never rounds: every digit of a value is printed

DURATION_UNITS: dict[Kind, str] = {Kind.YEARS: "年", Kind.MONTHS: "个月", Kind.DAYS: "日"}


def round_money(value: Decimal, quantum: Decimal = CENT) -> Decimal:
    """四舍五入 (ties away from zero) to the 分, 角 or 元; never a negative zero (-0.01 × 0 is 0.00元).

    >>> round_money(Decimal("-0.01") * 0)
    Decimal('0.00')
    """
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP, context=_WIDE)
    return rounded if rounded else abs(rounded)


def divide(a: Decimal, b: Decimal) -> Decimal:
    """a ÷ b exactly when the quotient terminates, else to 10 decimal places (half-up)."""
    ctx = _DIVISION
    ctx.clear_flags()
    quotient = ctx.divide(a, b)
    if ctx.flags[decimal.Inexact]:
        return quotient.quantize(_TEN_PLACES, rounding=ROUND_HALF_UP, context=ctx)
    return quotient


def plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 20, 0.5, 2.25."""
    if value == 0:
        return "0"
    text = format(value.normalize(_WIDE), "f")
    return text


def display(type_: Type, value: Any) -> str:
    """How a value reads in an explanation: 70,000.00元, 50%, 3个月, 2025-03-01, 是."""
    kind = type_.kind
    if value is None:
        return "—"
    if kind is Kind.MONEY:
        return f"{value if value else abs(value):,.2f}元"
    if kind is Kind.RATIO:
        return f"{plain(value.scaleb(2, _WIDE))}%"
    if kind is Kind.NUMBER:
        return plain(value)
    if kind in DURATION_UNITS:
        return f"{value}{DURATION_UNITS[kind]}"
    if kind is Kind.DATE:
        return str(value.isoformat())
    if kind is Kind.BOOL:
        return "是" if value else "否"
    if kind is Kind.LIST:
        return f"{len(value)} 行"  # the lines themselves: the explanation lists them (docs/itemized.md §7)
    return str(value)


def display_delta(type_: Type, before: Any, after: Any) -> str | None:
    """The change from `before` to `after` (+1,000.00元, -3个月, +5个百分点), or None."""
    kind = type_.kind
    if before is None or after is None:
        return None
    if kind is Kind.MONEY:
        diff = after - before
        return f"{'+' if diff >= 0 else '-'}{abs(diff):,.2f}元"
    if kind is Kind.RATIO:
        diff = (after - before) * 100
        return f"{'+' if diff >= 0 else '-'}{plain(abs(diff))}个百分点"
    if kind is Kind.NUMBER:
        diff = after - before
        return f"{'+' if diff >= 0 else '-'}{plain(abs(diff))}"
    if kind in DURATION_UNITS:
        diff = after - before
        return f"{'+' if diff >= 0 else '-'}{abs(diff)}{DURATION_UNITS[kind]}"
    if kind is Kind.DATE:
        days = (after - before).days
        return f"{'+' if days >= 0 else '-'}{abs(days)}日"
    return None


def to_json(type_: Type, value: Any) -> Any:
    """The encoding of docs/cli.md (yibaolang run): money "70000.00", ratio "0.5", durations int, dates ISO."""
    kind = type_.kind
    if value is None:
        return None
    if kind is Kind.MONEY:
        return format(round_money(value), "f")
    if kind in (Kind.RATIO, Kind.NUMBER):
        return plain(value)
    if kind in DURATION_UNITS:
        return int(value)
    if kind is Kind.DATE:
        return value.isoformat()
    if kind is Kind.BOOL:
        return bool(value)
    if kind is Kind.LIST:  # a list input's lines: each a mapping of its typed fields
        return [{name: _json_plain(v) for name, v in row.items()} for row in value]
    return str(value)


def _json_plain(value: Any) -> Any:
    """A field value of a line in JSON (the fields' types are the policy's): decimals as written, dates ISO."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def is_zero(value: Any) -> bool:
    return isinstance(value, (Decimal, int)) and not isinstance(value, bool) and value == 0


# ------------------------------------------------------------------ typed strings


@attrs.frozen(slots=True)
class Problem:
    """Why a value does not fit its declared type; `code` is a YB4xx code."""

    code: str
    message: str
    hint: str = ""


_NUMBER = r"[-+]?\d[\d,]*(?:\.\d+)?"
_MONEY_RE = re.compile(rf"({_NUMBER})\s*([万亿]?)\s*元")
_PERCENT_RE = re.compile(rf"({_NUMBER})\s*[%％]")
_POINTS_RE = re.compile(rf"({_NUMBER})\s*个百分点")
_TIMES_RE = re.compile(rf"({_NUMBER})\s*倍")
_SCALED_RE = re.compile(rf"({_NUMBER})\s*([万亿])")
_DURATION_RE = re.compile(rf"({_NUMBER})\s*(个月|月|年|日|天)")
_PLAIN_RE = re.compile(_NUMBER)
_DATE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DATE_CN = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_DURATION_KIND = {"个月": Kind.MONTHS, "月": Kind.MONTHS, "年": Kind.YEARS, "日": Kind.DAYS, "天": Kind.DAYS}
_TRUE = {"是", "true", "True", "TRUE"}
_FALSE = {"否", "false", "False", "FALSE"}


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _date(text: str) -> dt.date | Problem | None:
    match = _DATE_ISO.fullmatch(text) or _DATE_CN.fullmatch(text)
    if match is None:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return Problem("YB405", f"日期不存在：{text}", "请检查月份和日子")


def literal_kind(text: str) -> str | None:
    """What a typed string looks like, for messages: 金额, 比例, 月数 …"""
    text = text.strip()
    if _MONEY_RE.fullmatch(text):
        return "金额"
    if _PERCENT_RE.fullmatch(text) or _POINTS_RE.fullmatch(text):
        return "比例"
    match = _DURATION_RE.fullmatch(text)
    if match:
        return _DURATION_KIND[match.group(2)].value
    if _DATE_ISO.fullmatch(text) or _DATE_CN.fullmatch(text):
        return "日期"
    if text in _TRUE or text in _FALSE:
        return "是否"
    if _PLAIN_RE.fullmatch(text) or _TIMES_RE.fullmatch(text):
        return "数"
    return None


def _wrong(type_: Type, raw: Any) -> Problem:
    shown = raw if isinstance(raw, str) else _show_raw(raw)
    got = literal_kind(raw) if isinstance(raw, str) else _raw_kind(raw)
    examples = {
        Kind.MONEY: "例如 \"15万元\"、\"500元\" 或以元为单位的数 150000",
        Kind.RATIO: "例如 \"50%\" 或小数 0.5",
        Kind.NUMBER: "例如 2 或 2.5",
        Kind.YEARS: "例如 \"4年\" 或整数 4",
        Kind.MONTHS: "例如 \"3个月\" 或整数 3",
        Kind.DAYS: "例如 \"90日\" 或整数 90",
        Kind.DATE: "例如 \"2025-03-01\" 或 \"2025年3月1日\"",
        Kind.BOOL: "写 是 或 否（true / false）",
    }
    hint = examples.get(type_.kind, "")
    if got:
        return Problem("YB403", f"应为 {type_.name}，这里是 {got} {shown}", hint)
    return Problem("YB403", f"应为 {type_.name}，无法读作{type_.name}：{shown}", hint)


def _show_raw(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, Decimal):
        return plain(raw) if raw.is_finite() else str(raw)
    if isinstance(raw, (list, dict)):
        return "列表" if isinstance(raw, list) else "映射"
    return str(raw)


def _raw_kind(raw: Any) -> str | None:
    if isinstance(raw, bool):
        return "是否"
    if isinstance(raw, (int, Decimal)):
        return "数"
    if isinstance(raw, dt.date):
        return "日期"
    return None


def parse_value(raw: Any, type_: Type) -> Any:
    """Read a case value (typed string or plain value) as `type_`; a Problem when it does not fit.

    Plain values are in the declared unit: 元 for 金额, a fraction for 比例, a whole
    number for durations, true/false for 是否.  Enumeration values are checked
    by the caller, which knows the declared names.
    """
    kind = type_.kind
    if raw is None:
        return Problem("YB403", "没有给出值", "删去这一行，或写上值")
    if isinstance(raw, str) and len(raw) > limits.MAX_VALUE_CHARS:
        return Problem("YB403", f"值过长：{len(raw):,} 个字符", f"一个值最多 {limits.MAX_VALUE_CHARS} 个字符")
    if isinstance(raw, float):  # never produced by our loaders; refuse rather than guess
        return Problem("YB403", f"数值 {raw!r} 以二进制浮点数读入，无法保证精确", "请把数写成字符串，例如 \"1234.56\"")
    if kind is Kind.ENUM:
        if isinstance(raw, str):
            return raw.strip()
        return _wrong(type_, raw)
    if kind is Kind.TEXT:  # codes and names, read as written (docs/itemized.md §1)
        if isinstance(raw, str):
            return raw.strip()
        return Problem("YB403", f"应为 文本，这里是 {_raw_kind(raw) or '值'} {_show_raw(raw)}",
                       "文本请加引号，例如 \"XB01\"、\"001\"（不加引号的 001 会被读成数 1）")
    if kind is Kind.LIST:
        return Problem("YB403", f"应为 列表，这里是 {_raw_kind(raw) or '值'} {_show_raw(raw)}",
                       "列表输入写成映射的列表，每行一个映射：- {编码: \"XB01\", 数量: 2, 单价: \"35.50\"}")
    if kind is Kind.BOOL:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip() in _TRUE:
            return True
        if isinstance(raw, str) and raw.strip() in _FALSE:
            return False
        return _wrong(type_, raw)
    if kind is Kind.DATE:
        if isinstance(raw, dt.datetime):
            return _wrong(type_, raw)
        if isinstance(raw, dt.date):
            return raw
        if isinstance(raw, str):
            got = _date(raw.strip())
            if got is not None:
                return got
        return _wrong(type_, raw)
    if isinstance(raw, bool) or isinstance(raw, (dt.date, list, dict)):
        return _wrong(type_, raw)
    if isinstance(raw, int):
        raw = Decimal(raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            return _wrong(type_, raw)
        return _finish_number(raw, type_, plain_value=True)
    if not isinstance(raw, str):
        return _wrong(type_, raw)
    text = raw.strip()
    if kind is Kind.MONEY:
        match = _MONEY_RE.fullmatch(text)
        if match:
            amount = _decimal(match.group(1))
            if amount is None:
                return _wrong(type_, raw)
            if match.group(2) == "万":
                amount = _WIDE.multiply(amount, 10000)
            elif match.group(2) == "亿":
                amount = _WIDE.multiply(amount, 100000000)
            return _finish_number(amount, type_, plain_value=False, text=text)
    elif kind is Kind.RATIO:
        match = _PERCENT_RE.fullmatch(text) or _POINTS_RE.fullmatch(text)
        if match:
            value = _decimal(match.group(1))
            if value is not None:
                return _finish_number(_WIDE.divide(value, 100), type_, plain_value=False, text=text)
    elif kind is Kind.NUMBER:
        match = _TIMES_RE.fullmatch(text)
        if match:
            value = _decimal(match.group(1))
            if value is not None:
                return _finish_number(value, type_, plain_value=False, text=text)
        match = _SCALED_RE.fullmatch(text)  # 500万, 2亿: as a policy writes a 数
        if match:
            value = _decimal(match.group(1))
            if value is not None:
                value = _WIDE.multiply(value, 10000 if match.group(2) == "万" else 100000000)
                return _finish_number(value, type_, plain_value=False, text=text)
    elif kind in DURATION_UNITS:
        match = _DURATION_RE.fullmatch(text)
        if match:
            unit = _DURATION_KIND[match.group(2)]
            if unit is not kind:
                return Problem("YB403", f"应为 {type_.name}，这里是 {unit.value} {text}",
                               f"{type_.name}请写作 \"3{DURATION_UNITS[kind]}\" 这样的形式")
            value = _decimal(match.group(1))
            if value is not None:
                return _finish_number(value, type_, plain_value=False, text=text)
    if _PLAIN_RE.fullmatch(text):
        value = _decimal(text)
        if value is not None:
            return _finish_number(value, type_, plain_value=True, text=text)
    return _wrong(type_, raw)


def _finish_number(value: Decimal, type_: Type, plain_value: bool, text: str | None = None) -> Any:
    kind = type_.kind
    shown = text or plain(value)
    refused = limits.entering(value, kind.value)
    if refused is not None:
        return Problem("YB403", refused, "这样的数远超任何真实的金额或比例；请检查数据")
    if kind is Kind.MONEY:
        if value != value.quantize(CENT, rounding=ROUND_HALF_UP, context=CONTEXT):
            return Problem("YB407", f"金额精确到分，{shown} 的小数位数过多", "金额最多两位小数（0.01元）")
        return value
    if kind in DURATION_UNITS:
        if value != value.to_integral_value():
            return Problem("YB403", f"{type_.name}必须是整数，这里是 {shown}",
                           f"{type_.name}是整数，例如 3{DURATION_UNITS[kind]}")
        return int(value)
    if kind in (Kind.RATIO, Kind.NUMBER):
        return value
    return _wrong(type_, text or value)


def parse_date_text(text: str) -> dt.date | None:
    """2025-03-01 or 2025年3月1日; None when it is not a real date."""
    got = _date(text.strip())
    return got if isinstance(got, dt.date) else None


__all__ = [
    "BOOL", "CENT", "CONTEXT", "DATE", "DAYS", "MONEY", "MONTHS", "NUMBER", "QUANTUM", "RATIO", "YEARS", "ZERO",
    "Problem", "display", "display_delta", "divide", "is_zero", "literal_kind", "parse_date_text", "parse_value",
    "plain", "round_money", "to_json",
]
