"""Semantic types and the arithmetic rules of docs/language.md §4.

>>> arith_result(ArithOp.MUL, MONEY, RATIO)
Type(kind=<Kind.MONEY: '金额'>, enum=None)
>>> arith_result(ArithOp.ADD, MONEY, RATIO) is None
True
"""

from __future__ import annotations

import enum

import attrs

from yibaolang.ir import ArithOp, LiteralKind


class Kind(enum.Enum):
    MONEY = "金额"
    RATIO = "比例"
    NUMBER = "数"
    YEARS = "年数"
    MONTHS = "月数"
    DAYS = "日数"
    DATE = "日期"
    BOOL = "是否"
    ENUM = "选项"
    TEXT = "文本"
    LIST = "列表"  # a record-list input such as 结算明细 (docs/itemized.md §2)
    ERROR = "未知"  # already reported: silences follow-on errors


@attrs.frozen(slots=True)
class EnumType:
    """A named enumeration (类型 名 = 选项 {…}) or an input's inline 选项 {…}."""

    name: str
    values: tuple[str, ...]
    module: str


@attrs.frozen(slots=True)
class Type:
    kind: Kind
    enum: EnumType | None = None

    @property
    def name(self) -> str:
        if self.kind is Kind.ENUM and self.enum is not None:
            return self.enum.name
        return self.kind.value

    @property
    def is_duration(self) -> bool:
        return self.kind in DURATIONS

    @property
    def is_numeric(self) -> bool:
        return self.kind in (Kind.MONEY, Kind.RATIO, Kind.NUMBER) or self.is_duration


MONEY = Type(Kind.MONEY)
RATIO = Type(Kind.RATIO)
NUMBER = Type(Kind.NUMBER)
YEARS = Type(Kind.YEARS)
MONTHS = Type(Kind.MONTHS)
DAYS = Type(Kind.DAYS)
DATE = Type(Kind.DATE)
BOOL = Type(Kind.BOOL)
TEXT = Type(Kind.TEXT)
LIST = Type(Kind.LIST)
ERROR = Type(Kind.ERROR)

DURATIONS = (Kind.YEARS, Kind.MONTHS, Kind.DAYS)

PRIMITIVES: dict[str, Type] = {
    t.kind.value: t for t in (MONEY, RATIO, NUMBER, YEARS, MONTHS, DAYS, DATE, BOOL, TEXT, LIST)
}

LITERAL_TYPES: dict[LiteralKind, Type] = {
    LiteralKind.MONEY: MONEY,
    LiteralKind.RATIO: RATIO,
    LiteralKind.NUMBER: NUMBER,
    LiteralKind.YEARS: YEARS,
    LiteralKind.MONTHS: MONTHS,
    LiteralKind.DAYS: DAYS,
    LiteralKind.DATE: DATE,
    LiteralKind.BOOL: BOOL,
    LiteralKind.TEXT: TEXT,
}


def enum_type(enum_: EnumType) -> Type:
    return Type(Kind.ENUM, enum_)


def arith_result(op: ArithOp, left: Type, right: Type) -> Type | None:
    """The type of `left op right`, or None when the combination is not allowed."""
    a, b = left.kind, right.kind
    if Kind.ERROR in (a, b):
        return ERROR
    if op in (ArithOp.ADD, ArithOp.SUB):
        if a == b and a in (Kind.MONEY, Kind.RATIO, Kind.NUMBER, *DURATIONS):
            return left
        if a is Kind.DATE and b in DURATIONS:
            return DATE
        if op is ArithOp.ADD and b is Kind.DATE and a in DURATIONS:
            return DATE
        if op is ArithOp.SUB and a is Kind.DATE and b is Kind.DATE:
            return DAYS
        return None
    if op is ArithOp.MUL:
        pair = {a, b}
        if a == b == Kind.NUMBER:
            return NUMBER
        if pair == {Kind.MONEY, Kind.RATIO} or pair == {Kind.MONEY, Kind.NUMBER}:
            return MONEY
        if Kind.MONEY in pair and pair - {Kind.MONEY} <= set(DURATIONS) and len(pair) == 2:
            return MONEY
        if pair == {Kind.RATIO, Kind.NUMBER} or (a == b == Kind.RATIO):
            return RATIO
        if len(pair) == 2 and Kind.NUMBER in pair and (pair - {Kind.NUMBER}) <= set(DURATIONS):
            return left if left.is_duration else right
        return None
    if op is ArithOp.DIV:
        if a is Kind.MONEY and b is Kind.NUMBER:
            return MONEY
        if a is Kind.MONEY and b is Kind.MONEY:
            return NUMBER
        if a == b and a in DURATIONS:
            return NUMBER
        if a == b == Kind.NUMBER:
            return NUMBER
        if a is Kind.RATIO and b is Kind.NUMBER:
            return RATIO
        if a == b == Kind.RATIO:
            return NUMBER
        if a in DURATIONS and b is Kind.NUMBER:
            return left
        return None
    return None


def comparable(left: Type, right: Type) -> bool:
    if Kind.ERROR in (left.kind, right.kind):
        return True
    if left.kind is Kind.ENUM and right.kind is Kind.ENUM:
        return left.enum == right.enum
    return left.kind == right.kind
