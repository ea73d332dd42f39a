"""Lowering: the Lark parse (driven inline, bottom-up) to IR nodes.

The transformer is thin: one IR node per grammar alternative, literal units
applied, positions attached.  It decides nothing about names or types.
Problems it can see locally (a money literal with three decimals, a date that
does not exist, a number too large) become diagnostics, and a placeholder
node keeps the tree whole so later stages still report their own findings.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from decimal import Decimal
from typing import Any

import attrs
from lark import Token

from yibaolang import ir
from yibaolang.diagnostics import Diagnostic, error

MAX_INTEGER_DIGITS = 15
MAX_EXPR_DEPTH = 64
MAX_MONEY = Decimal(10) ** MAX_INTEGER_DIGITS  # later passes recurse over expressions; keep them well inside Python's stack
MAX_DECIMAL_DIGITS = 10

_NUM = re.compile(r"(\d+)(?:\.(\d+))?")
_DATE_CN = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_DATE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})日")

_MAGNITUDE = {"万": 10000, "亿": 100000000}

_DURATION_UNITS = {
    "个月": ir.LiteralKind.MONTHS,
    "年": ir.LiteralKind.YEARS,
    "日": ir.LiteralKind.DAYS,
    "天": ir.LiteralKind.DAYS,
}


def normalize_clause_id(raw: str) -> str:
    """Clause ids compare after the full-width mapping: "二、（五）" == "二、(五)"."""
    from yibaolang.frontend.source import normalize

    return normalize(raw.replace('"', "")).strip()


def unquote(token: str) -> str:
    if token.startswith('"""'):
        return token[3:-3]
    return token[1:-1]


# Named terminals whose tokens are values; every other token (keywords,
# punctuation, layout) only marks positions and is dropped before lowering.
VALUE_TERMINALS = frozenset(
    {"NAME", "STRING", "TITLE", "MONEY", "PERCENT", "POINTS", "TIMES", "DURATION", "NUMBER", "DATE",
     "MONTH_DAY", "INCL"}
)
LAYOUT_TERMINALS = frozenset({"_NL", "_INDENT", "_DEDENT", "_TABLE_HEADER"})
# Rules whose keyword token is their value (the `!` rules of the grammar).
KEEP_KEYWORDS = frozenset({"comp_op", "status_word", "agg_word"})

Meta = ir.Span  # the reduction's span, computed by `Reductions`
StepHead = tuple[ir.StepKind, ir.Bound | None, ir.Bound | None]
MetaItem = tuple[str, Any]


class Lowering:
    """Builds IR from the parser's reductions. One instance serves one parse.

    Each method receives the span of the reduction and its value children
    (keyword and layout tokens removed, `[optional]` parts as None).
    """

    def __init__(self, file: str, line_offset: int = 0, titles: dict[int, str] | None = None) -> None:
        self.file = file
        self.line_offset = line_offset
        self.titles = titles or {}
        self.diagnostics: list[Diagnostic] = []

    def title(self, token: Token | None) -> str | None:
        if token is None:
            return None
        return self.titles.get((token.line or 0) + self.line_offset, "").strip() or None

    # -------------------------------------------------------------- positions

    def span(self, meta: Meta) -> ir.Span:
        return meta

    def tspan(self, token: Token) -> ir.Span:
        return ir.Span(
            self.file,
            (token.line or 0) + self.line_offset,
            token.column or 0,
            (token.end_line or 0) + self.line_offset,
            token.end_column or 0,
        )

    def fail(self, code: str, span: ir.Span, message: str, hint: str = "") -> None:
        self.diagnostics.append(error(code, span, message, hint))

    # -------------------------------------------------------------- literals

    def _decimal(self, token: Token, digits: str) -> Decimal:
        match = _NUM.match(digits)
        assert match is not None
        whole, frac = match.group(1), match.group(2) or ""
        if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS or len(frac) > MAX_DECIMAL_DIGITS:
            self.fail(
                "YB004",
                self.tspan(token),
                f"数字过大或过于精细：{token}",
                f"整数部分最多 {MAX_INTEGER_DIGITS} 位，小数部分最多 {MAX_DECIMAL_DIGITS} 位",
            )
            return Decimal(0)
        return Decimal(match.group(0))

    def _lit(self, token: Token, kind: ir.LiteralKind, value: ir.LiteralValue) -> ir.Literal:
        return ir.Literal(kind, value, str(token), self.tspan(token))

    def money(self, meta: Meta, children: list[Token]) -> ir.Literal:
        (token,) = children
        text = str(token)
        amount = self._decimal(token, text)
        amount *= _MAGNITUDE.get(text[-2], 1)
        if abs(amount) >= MAX_MONEY:
            self.fail("YB004", self.tspan(token), f"金额过大：{text}", "金额须小于 1000万亿元（10¹⁵ 元）")
            amount = Decimal(0)
        if amount != amount.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"):
            self.fail("YB102", self.tspan(token), f"金额精确到分，{text} 的小数位数过多",
                      "金额最多两位小数（0.01元）")
        return self._lit(token, ir.LiteralKind.MONEY, amount)

    def percent(self, meta: Meta, children: list[Token]) -> ir.Literal:
        (token,) = children
        return self._lit(token, ir.LiteralKind.RATIO, self._decimal(token, str(token)) / 100)

    def points(self, meta: Meta, children: list[Token]) -> ir.Literal:
        (token,) = children
        return self._lit(token, ir.LiteralKind.RATIO, self._decimal(token, str(token)) / 100)

    def times(self, meta: Meta, children: list[Token]) -> ir.Literal:
        (token,) = children
        return self._lit(token, ir.LiteralKind.NUMBER, self._decimal(token, str(token)))

    def number(self, meta: Meta, children: list[Token]) -> ir.Literal:
        (token,) = children
        text = str(token)
        value = self._decimal(token, text) * _MAGNITUDE.get(text[-1], 1)
        if abs(value) >= MAX_MONEY:
            # The same bound as money: 万/亿 must not carry a number past what a case may hold.
            self.fail("YB004", self.tspan(token), f"数字过大：{text}", "数须小于 1000万亿（10¹⁵）")
            value = Decimal(0)
        return self._lit(token, ir.LiteralKind.NUMBER, value)

    def duration(self, meta: Meta, children: list[Token]) -> ir.Literal:
        (token,) = children
        text = str(token)
        unit = next(u for u in ("个月", "年", "日", "天") if text.endswith(u))
        count = self._decimal(token, text)
        if count != count.to_integral_value():
            self.fail("YB103", self.tspan(token), f"期限必须是整数：{text}",
                      "年数、月数、日数都是整数；半年请写作 6个月")
        return self._lit(token, _DURATION_UNITS[unit], int(count))

    def date(self, meta: Meta, children: list[Token]) -> ir.Literal:
        (token,) = children
        return self._lit(token, ir.LiteralKind.DATE, self.parse_date(token))

    def parse_date(self, token: Token) -> dt.date:
        text = str(token)
        match = _DATE_CN.fullmatch(text) or _DATE_ISO.fullmatch(text)
        assert match is not None
        try:
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            self.fail("YB104", self.tspan(token), f"日期不存在：{text}", "请检查月份和日子")
            return dt.date(2000, 1, 1)

    def text(self, meta: Meta, children: list[Token]) -> ir.Literal:
        return self._lit(children[0], ir.LiteralKind.TEXT, unquote(children[0]))

    def true(self, meta: Meta, children: list[Token]) -> ir.Literal:
        return ir.Literal(ir.LiteralKind.BOOL, True, "是", self.span(meta))

    def false(self, meta: Meta, children: list[Token]) -> ir.Literal:
        return ir.Literal(ir.LiteralKind.BOOL, False, "否", self.span(meta))

    # -------------------------------------------------------------- names and operators

    def paren(self, meta: Meta, c: list[Any]) -> ir.Expr:
        # The parenthesised expression's span takes in its parentheses.
        inner: ir.Expr = attrs.evolve(c[0], span=self.span(meta))
        return inner

    def qual_name(self, meta: Meta, children: list[Token]) -> ir.Name:
        if len(children) == 2 and children[1] is not None:
            return ir.Name(str(children[1]), str(children[0]), self.span(meta))
        return ir.Name(str(children[0]), None, self.span(meta))

    def _arith(self, op: ir.ArithOp, meta: Meta, children: list[Any]) -> ir.Arith:
        left, right = children[0], children[-1]
        return ir.Arith(op, left, right, self.span(meta))

    def add(self, meta: Meta, c: list[Any]) -> ir.Arith:
        return self._arith(ir.ArithOp.ADD, meta, c)

    def sub(self, meta: Meta, c: list[Any]) -> ir.Arith:
        return self._arith(ir.ArithOp.SUB, meta, c)

    def mul(self, meta: Meta, c: list[Any]) -> ir.Arith:
        return self._arith(ir.ArithOp.MUL, meta, c)

    def div(self, meta: Meta, c: list[Any]) -> ir.Arith:
        divisor = c[-1]
        if isinstance(divisor, ir.Literal) and isinstance(divisor.value, Decimal) and divisor.value == 0:
            # Every case would fail with the same YB411; say so when the policy is checked.
            self.fail("YB411", self.span(meta), f"除数为零：除以 {divisor.text}",
                      "除数写成了 0：请核对原文中的数")
        return self._arith(ir.ArithOp.DIV, meta, c)

    def neg(self, meta: Meta, c: list[Any]) -> ir.Expr:
        (operand,) = c
        if isinstance(operand, ir.Literal) and isinstance(operand.value, Decimal):
            return attrs.evolve(operand, value=-operand.value, text="-" + operand.text,
                                span=self.span(meta))
        return ir.Negate(operand, self.span(meta))

    def comp_op(self, meta: Meta, c: list[Token]) -> str:
        return str(c[0])

    def compare(self, meta: Meta, c: list[Any]) -> ir.Compare:
        left, word, right, incl = c
        op = ir.COMPARE_WORDS[word]
        if incl is not None:
            op = {ir.CompareOp.GT: ir.CompareOp.GE, ir.CompareOp.LT: ir.CompareOp.LE}.get(op, op)
        return ir.Compare(op, word, left, right, incl is not None, self.span(meta))

    def member(self, meta: Meta, c: list[Any]) -> ir.Member:
        return ir.Member(c[0], tuple(str(t) for t in c[1:]), False, self.span(meta))

    def not_member(self, meta: Meta, c: list[Any]) -> ir.Member:
        return ir.Member(c[0], tuple(str(t) for t in c[1:]), True, self.span(meta))

    def between(self, meta: Meta, c: list[Any]) -> ir.Between:
        return ir.Between(c[0], c[1], c[2], self.span(meta))

    def and_(self, meta: Meta, c: list[Any]) -> ir.Logic:
        return ir.Logic(ir.LogicOp.AND, c[0], c[1], self.span(meta))

    def or_(self, meta: Meta, c: list[Any]) -> ir.Logic:
        return ir.Logic(ir.LogicOp.OR, c[0], c[1], self.span(meta))

    def not_(self, meta: Meta, c: list[Any]) -> ir.Not:
        return ir.Not(c[0], self.span(meta))

    def cap(self, meta: Meta, c: list[Any]) -> ir.Bounded:
        return ir.Bounded(ir.BoundKind.CAP, c[0], c[1], self.span(meta))

    def floor(self, meta: Meta, c: list[Any]) -> ir.Bounded:
        return ir.Bounded(ir.BoundKind.FLOOR, c[0], c[1], self.span(meta))

    def agg_word(self, meta: Meta, c: list[Token]) -> str:
        return str(c[0])

    def aggregate(self, meta: Meta, c: list[Any]) -> ir.Aggregate:
        word, target, *where = c
        kind = ir.AGGREGATE_WORDS[word]
        # 求和(明细.x): over 明细, item x; 计数(明细): the list itself.
        over, item = (target.qualifier, target.name) if target.qualifier else (target.name, None)
        if item is None and kind is not ir.AggregateKind.COUNT:
            self.fail("YB112", target.span, f"{word} 要汇总的是每行的一个值：写 {word}({target.name}.名称)",
                      f"只有 计数 可以直接写列表名，如 计数({target.name})")
        return ir.Aggregate(kind, over, item, where[0] if where else None, meta, target.span)

    def lookup(self, meta: Meta, c: list[Any]) -> ir.Lookup:
        target, key, *rest = c
        missing = rest.pop()
        date = rest[0] if rest else None
        if target.qualifier is None:
            self.fail("YB112", target.span, f"查目录 要写 目录名.列名，这里只写了 {target.name}",
                      "例如：查目录 医保目录.类别 按 编码 于 就诊日期 查无 丙")
            return ir.Lookup(target.name, "", key, date, missing, meta, target.span)
        return ir.Lookup(target.qualifier, target.name, key, date, missing, meta, target.span)

    def call(self, meta: Meta, c: list[Any]) -> ir.Call:
        callee: ir.Name = c[0]
        args = tuple(a for a in c[1:] if a is not None)
        return ir.Call(callee.name, args, self.span(meta), qualifier=callee.qualifier)

    # -------------------------------------------------------------- conditionals

    def if_inline(self, meta: Meta, c: list[Any]) -> ir.If:
        branches = [ir.Branch(c[0], c[1], _join(c[0].span, c[1].span))]
        if len(c) == 4:
            branches.extend(c[2])
        return ir.If(tuple(branches), c[-1], self.span(meta))

    def else_if_inline(self, meta: Meta, c: list[Any]) -> list[ir.Branch]:
        return [ir.Branch(c[i], c[i + 1], _join(c[i].span, c[i + 1].span)) for i in range(0, len(c), 2)]

    def if_block(self, meta: Meta, c: list[Any]) -> ir.If:
        branches = [ir.Branch(c[0], c[1], _join(c[0].span, c[1].span))]
        branches.extend(b for b in c[2:-1])
        return ir.If(tuple(branches), c[-1], self.span(meta))

    def else_if_line(self, meta: Meta, c: list[Any]) -> ir.Branch:
        return ir.Branch(c[0], c[1], self.span(meta))

    # -------------------------------------------------------------- block expressions

    def bound(self, meta: Meta, c: list[Any]) -> ir.Bound:
        value, incl = c
        return ir.Bound(value, incl is not None, incl is not None, self.span(meta))

    def band_between(self, meta: Meta, c: list[ir.Bound]) -> tuple[ir.Bound | None, ir.Bound | None]:
        low, high = c
        # X 至 Y is (X, Y]: the upper bound is included whether or not it says （含）.
        return (low, attrs.evolve(high, inclusive=True))

    def band_below(self, meta: Meta, c: list[ir.Bound]) -> tuple[ir.Bound | None, ir.Bound | None]:
        return (None, attrs.evolve(c[0], inclusive=True))

    def band_above(self, meta: Meta, c: list[ir.Bound]) -> tuple[ir.Bound | None, ir.Bound | None]:
        return (c[0], None)

    def band_above_incl(self, meta: Meta, c: list[ir.Bound]) -> tuple[ir.Bound | None, ir.Bound | None]:
        return (attrs.evolve(c[0], inclusive=True), None)

    def band_row(self, meta: Meta, c: list[Any]) -> ir.Band:
        (low, high), rate = c
        return ir.Band(low, high, rate, self.span(meta))

    def banded(self, meta: Meta, c: list[Any]) -> ir.Banded:
        return ir.Banded(c[0], tuple(c[1:]), self.span(meta))

    def _step(self, kind: ir.StepKind, low: ir.Bound | None, high: ir.Bound | None) -> StepHead:
        return (kind, low, high)

    def step_exact(self, meta: Meta, c: list[ir.Bound]) -> StepHead:
        return self._step(ir.StepKind.EXACT, c[0], c[0])

    def step_at_least(self, meta: Meta, c: list[ir.Bound]) -> StepHead:
        return self._step(ir.StepKind.AT_LEAST, attrs.evolve(c[0], inclusive=True), None)

    def step_above(self, meta: Meta, c: list[ir.Bound]) -> StepHead:
        return self._step(ir.StepKind.ABOVE, c[0], None)

    def step_at_most(self, meta: Meta, c: list[ir.Bound]) -> StepHead:
        return self._step(ir.StepKind.AT_MOST, None, attrs.evolve(c[0], inclusive=True))

    def step_below(self, meta: Meta, c: list[ir.Bound]) -> StepHead:
        return self._step(ir.StepKind.BELOW, None, c[0])

    def step_between(self, meta: Meta, c: list[ir.Bound]) -> StepHead:
        low, high = c
        return self._step(ir.StepKind.BETWEEN, low, attrs.evolve(high, inclusive=True))

    def step_row(self, meta: Meta, c: list[Any]) -> ir.Step:
        (kind, low, high), result = c
        return ir.Step(kind, low, high, result, self.span(meta))

    def otherwise_row(self, meta: Meta, c: list[Any]) -> tuple[str, ir.Expr]:
        return ("其余", c[0])

    def stepped(self, meta: Meta, c: list[Any]) -> ir.Stepped:
        subject, *rows = c
        otherwise = None
        if rows and (rows[-1] is None or isinstance(rows[-1], tuple)):
            last = rows.pop()
            otherwise = last[1] if last is not None else None
        return ir.Stepped(subject, tuple(rows), otherwise, self.span(meta))

    def case_row(self, meta: Meta, c: list[Any]) -> ir.CaseRow:
        return ir.CaseRow(tuple(str(t) for t in c[:-1]), c[-1], self.span(meta))

    def cases(self, meta: Meta, c: list[Any]) -> ir.Cases:
        subject, *rows = c
        otherwise = None
        if rows and (rows[-1] is None or isinstance(rows[-1], tuple)):
            last = rows.pop()
            otherwise = last[1] if last is not None else None
        return ir.Cases(subject, tuple(rows), otherwise, self.span(meta))

    # A row listing several keys is one row per key, all with the same cells, so every
    # engine reads it as the separate rows it stands for (docs/language.md, 查表).
    def table_row1(self, meta: Meta, c: list[Any]) -> list[ir.TableRow]:
        *keys, value = c
        return [ir.TableRow(str(key), (value,), self.span(meta)) for key in keys]

    def table_row2(self, meta: Meta, c: list[Any]) -> list[ir.TableRow]:
        keys = [k for k in c if isinstance(k, Token)]
        cells = tuple(k for k in c if not isinstance(k, Token))
        return [ir.TableRow(str(key), cells, self.span(meta)) for key in keys]

    def table_header(self, meta: Meta, c: list[Token]) -> list[Token]:
        return list(c)

    def table1(self, meta: Meta, c: list[Any]) -> ir.Table:
        return ir.Table((c[0],), (), (), tuple(r for rows in c[1:] for r in rows), self.span(meta))

    def table2(self, meta: Meta, c: list[Any]) -> ir.Table:
        key1, key2, header, *rows = c
        return ir.Table(
            (key1, key2),
            tuple(str(t) for t in header),
            tuple(self.tspan(t) for t in header),
            tuple(r for group in rows for r in group),
            self.span(meta),
        )

    # -------------------------------------------------------------- 封顶 / 保底 after a block

    def block_cap(self, meta: Meta, c: list[Any]) -> tuple[ir.BoundKind, ir.Expr]:
        return (ir.BoundKind.CAP, c[0])

    def block_floor(self, meta: Meta, c: list[Any]) -> tuple[ir.BoundKind, ir.Expr]:
        return (ir.BoundKind.FLOOR, c[0])

    def limited_block(self, meta: Meta, c: list[Any]) -> ir.Expr:
        # The same node as `块 封顶 X` written inline, limits applied top to bottom.
        block, *limits = c
        expr: ir.Expr = block
        for kind, limit in limits:
            expr = ir.Bounded(kind, expr, limit, _join(block.span, limit.span))
        return expr

    # -------------------------------------------------------------- types

    def named_type(self, meta: Meta, c: list[Token]) -> ir.TypeRef:
        if len(c) == 2:
            return ir.TypeRef(str(c[1]), None, self.span(meta), qualifier=str(c[0]))
        return ir.TypeRef(str(c[0]), None, self.span(meta))

    def enum_type(self, meta: Meta, c: list[Any]) -> ir.TypeRef:
        names = [t for t in c if t is not None]
        return ir.TypeRef(None, tuple(str(t) for t in names), self.span(meta))

    def type_ref(self, meta: Meta, c: list[Any]) -> ir.TypeRef:
        ref: ir.TypeRef = c[0]
        return ref

    # -------------------------------------------------------------- header

    def header(self, meta: Meta, c: list[Any]) -> ir.Header:
        title, *metas = c
        fields: dict[str, Any] = {}
        for item in metas:
            if item is not None:
                key, value = item
                fields[key] = value
        return ir.Header(name=self.title(title) or "", span=self.span(meta), **fields)

    def meta_doc_number(self, meta: Meta, c: list[Token]) -> MetaItem:
        return ("doc_number", unquote(c[0]))

    def meta_issuer(self, meta: Meta, c: list[Token]) -> MetaItem:
        return ("issuer", unquote(c[0]))

    def meta_note(self, meta: Meta, c: list[Token]) -> MetaItem:
        return ("note", unquote(c[0]))

    def meta_published(self, meta: Meta, c: list[Token]) -> MetaItem:
        return ("published", self.parse_date(c[0]))

    def meta_effective(self, meta: Meta, c: list[Token]) -> MetaItem:
        return ("effective", self.parse_date(c[0]))

    def meta_expires(self, meta: Meta, c: list[Token]) -> MetaItem:
        return ("expires", self.parse_date(c[0]))

    def status_word(self, meta: Meta, c: list[Token]) -> str:
        return str(c[0])

    def meta_status(self, meta: Meta, c: list[Any]) -> MetaItem:
        return ("status", c[0])

    def meta_rounding(self, meta: Meta, c: list[Token]) -> MetaItem:
        unit = str(c[0])
        if unit not in ("分", "角", "元"):
            self.fail("YB105", self.tspan(c[0]), f"未知的舍入单位：{unit}", "舍入 到 分、角 或 元")
            unit = "分"
        return ("rounding", unit)

    def meta_fiscal_year(self, meta: Meta, c: list[Token]) -> MetaItem:
        match = _MONTH_DAY.fullmatch(str(c[0]))
        assert match is not None
        month, day = int(match.group(1)), int(match.group(2))
        try:
            dt.date(2000, month, day)
        except ValueError:
            self.fail("YB104", self.tspan(c[0]), f"日期不存在：{c[0]}", "请检查月份和日子")
            month, day = 1, 1
        return ("fiscal_year_start", (month, day))

    # -------------------------------------------------------------- declarations

    def enum_decl(self, meta: Meta, c: list[Any]) -> ir.EnumDecl:
        name, type_ref = c
        spans = tuple(self.span(meta) for _ in type_ref.values)
        return ir.EnumDecl(str(name), type_ref.values, spans, self.span(meta))

    def binding(self, meta: Meta, c: list[Any]) -> ir.Binding:
        return ir.Binding(str(c[0]), c[1], self.span(meta))

    def import_decl(self, meta: Meta, c: list[Any]) -> ir.Import:
        path, *rest = c
        alias = str(rest.pop(0)) if rest and isinstance(rest[0], Token) else None
        return ir.Import(unquote(path), alias, tuple(rest), self.span(meta))

    def basis_decl(self, meta: Meta, c: list[Any]) -> ir.Basis:
        return ir.Basis(unquote(c[0]), self.span(meta))

    def input_range(self, meta: Meta, c: list[Any]) -> MetaItem:
        return ("range", (c[0], c[1]))

    def input_default(self, meta: Meta, c: list[Any]) -> MetaItem:
        return ("default", c[0])

    def input_accumulates(self, meta: Meta, c: list[Any]) -> MetaItem:
        return ("accumulates", c[0])

    def input_family_accumulates(self, meta: Meta, c: list[Any]) -> MetaItem:
        return ("accumulates", ("家庭", c[0]))

    def field_nullable(self, meta: Meta, c: list[Any]) -> MetaItem:
        return ("nullable", True)

    def _options(self, what: str, rest: list[Any], span: ir.Span, allowed: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for key, value in rest:
            if key in options:
                self.fail("YB106", span, f"{what} 的选项重复", f"{allowed} 各写一次")
            options[key] = value
        return options

    def input_decl(self, meta: Meta, c: list[Any]) -> ir.InputDecl:
        name, type_ref, *rest = c
        fields = tuple(item for item in rest if isinstance(item, ir.FieldDecl))
        rest = [item for item in rest if not isinstance(item, ir.FieldDecl)]
        description = rest.pop() if rest else None
        options = self._options(f"输入 {name.display}", rest, self.span(meta), "范围、默认、累计（或 家庭累计）")
        low, high = options.get("range", (None, None))
        accumulates = options.get("accumulates")
        family = isinstance(accumulates, tuple)
        if isinstance(accumulates, tuple):  # 家庭累计 (docs/batch.md §2.1)
            accumulates = accumulates[1]
        return ir.InputDecl(
            name.name, type_ref, low, high, options.get("default"), accumulates,
            unquote(description) if description is not None else None, self.span(meta),
            scope=name.qualifier, fields=fields, family=family,
        )

    def field_decl(self, meta: Meta, c: list[Any]) -> ir.FieldDecl:
        name, type_ref, *rest = c
        description = rest.pop() if rest else None
        options = self._options(str(name), rest, self.span(meta), "范围、默认、可空")
        low, high = options.get("range", (None, None))
        return ir.FieldDecl(str(name), type_ref, low, high, options.get("default"), bool(options.get("nullable")),
                            unquote(description) if description is not None else None, self.span(meta))

    def catalog_key(self, meta: Meta, c: list[Any]) -> MetaItem:
        return ("key", c[0])

    def catalog_column(self, meta: Meta, c: list[Any]) -> MetaItem:
        return ("column", c[0])

    def catalog_validity(self, meta: Meta, c: list[Token]) -> MetaItem:
        return ("validity", (str(c[0]), str(c[1]), self.span(meta)))

    def catalog_decl(self, meta: Meta, c: list[Any]) -> ir.CatalogDecl:
        name, path, description, *items = c
        keys = [value for kind, value in items if kind == "key"]
        columns = tuple(value for kind, value in items if kind == "column")
        validity = [value for kind, value in items if kind == "validity"]
        span = self.span(meta)
        if len(keys) != 1:
            self.fail("YB112", span, f"目录 {name} 要有且只有一个 键（现在有 {len(keys)} 个）",
                      "例如：键 编码 : 文本")
        if len(validity) > 1:
            self.fail("YB106", validity[1][2], f"目录 {name} 的 有效期 写了多次", "有效期 只写一次")
        key = keys[0] if keys else ir.FieldDecl("", ir.TypeRef("文本", None, span), None, None, None, False,
                                                None, span)
        start, end = (validity[0][0], validity[0][1]) if validity else (None, None)
        return ir.CatalogDecl(str(name), unquote(path), unquote(description) if description else None, key,
                              columns, start, end, span, self.tspan(path))

    def param_range(self, meta: Meta, c: list[Any]) -> tuple[ir.Expr, ir.Expr]:
        return (c[0], c[1])

    def param_simple(self, meta: Meta, c: list[Any]) -> ir.ParamDecl:
        name, type_ref, value, choice = c
        version = ir.ParamVersion(None, value, value.span)
        low, high = choice if choice is not None else (None, None)
        return ir.ParamDecl(str(name), type_ref, (version,), None, self.span(meta), low, high)

    def param_version(self, meta: Meta, c: list[Any]) -> ir.ParamVersion:
        return ir.ParamVersion(self.parse_date(c[0]), c[1], self.span(meta))

    def param_before(self, meta: Meta, c: list[Any]) -> ir.ParamVersion:
        return ir.ParamVersion(None, c[0], self.span(meta))

    def param_dated(self, meta: Meta, c: list[Any]) -> ir.ParamDecl:
        name, type_ref, choice, *versions = c
        low, high = choice if choice is not None else (None, None)
        return ir.ParamDecl(str(name), type_ref, tuple(versions), None, self.span(meta), low, high)

    def source_text(self, meta: Meta, c: list[Token]) -> tuple[str, str]:
        return ("原文", unquote(c[0]))

    def clause(self, meta: Meta, c: list[Any]) -> list[Any]:
        raw_id, title, *items = c
        clause_id = normalize_clause_id(unquote(raw_id))
        text = None
        out: list[Any] = []
        for item in items:
            if isinstance(item, tuple) and item[0] == "原文":
                if text is not None:
                    self.fail("YB107", self.span(meta), f"条款 {clause_id} 有多段 原文",
                              "一个条款只写一段 原文；长文本可用 \"\"\"…\"\"\"")
                text = item[1] if text is None else text + item[1]
            else:
                out.append(attrs.evolve(item, clause=clause_id))
        for item in out:
            if isinstance(item, ir.ExceptionRule) and clause_id in item.overrides:
                self.fail("YB108", item.span, f"例外不能优先于它自己所在的条款 {clause_id}",
                          "同一条款里的两条例外无法排定先后：把要优先的一条移到单独的条款，"
                          f"再在它后面写 优先于 \"{clause_id}\"")
        clause = ir.Clause(clause_id, unquote(raw_id), self.title(title), text, self.span(meta))
        return [clause, *out]

    def definition(self, meta: Meta, c: list[Any]) -> ir.Definition:
        name, *type_ref, expr = c
        return ir.Definition(name.name, type_ref[0] if type_ref else None, expr, None, self.span(meta),
                             scope=name.qualifier)

    def fparam(self, meta: Meta, c: list[Any]) -> ir.FunctionParam:
        return ir.FunctionParam(str(c[0]), c[1], self.span(meta))

    def function_decl(self, meta: Meta, c: list[Any]) -> ir.FunctionDecl:
        name, *params, result, body = c
        return ir.FunctionDecl(str(name), tuple(p for p in params if p is not None), result, body,
                               None, self.span(meta))

    def exception_decl(self, meta: Meta, c: list[Any]) -> ir.ExceptionRule:
        target, condition, value, *overrides = c
        ids = tuple(normalize_clause_id(unquote(t)) for t in overrides if t is not None)
        return ir.ExceptionRule(target, condition, value, ids, None, self.span(meta))

    def assertion(self, meta: Meta, c: list[Any]) -> ir.Assertion:
        condition, message = c
        return ir.Assertion(condition, unquote(message) if message else None, None, self.span(meta))

    def requirement(self, meta: Meta, c: list[Any]) -> ir.Requirement:
        return ir.Requirement(str(c[0]), c[1], None, self.span(meta))

    def constraint(self, meta: Meta, c: list[Any]) -> ir.Constraint:
        condition, message = c
        return ir.Constraint(condition, unquote(message) if message else None, None, self.span(meta))

    def output_decl(self, meta: Meta, c: list[Any]) -> list[ir.Name]:
        return [("输出", n) for n in c]  # type: ignore[misc]

    def example_input(self, meta: Meta, c: list[Any]) -> ir.ExampleLine:
        return ir.ExampleLine(ir.Name(str(c[0]), None, self.tspan(c[0])), c[1], self.span(meta))

    def example_expect(self, meta: Meta, c: list[Any]) -> tuple[str, ir.ExampleLine]:
        return ("期望", ir.ExampleLine(c[0], c[1], self.span(meta)))

    def example(self, meta: Meta, c: list[Any]) -> ir.Example:
        name, *lines = c
        inputs = tuple(line for line in lines if isinstance(line, ir.ExampleLine))
        expects = tuple(line[1] for line in lines if isinstance(line, tuple))
        return ir.Example(unquote(name), inputs, expects, self.span(meta))

    def start(self, meta: Meta, c: list[Any]) -> list[Any]:
        items: list[Any] = []
        for item in c:
            if isinstance(item, list):
                items.extend(item)
            else:
                items.append(item)
        kept = []
        for item in items:
            deep = _too_deep(item)
            if deep is None:
                kept.append(item)
            else:
                self.fail("YB005", deep, f"表达式嵌套过深（超过 {MAX_EXPR_DEPTH} 层）",
                          "请把长表达式拆成几个 定义，每个写一步")
        return kept


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAVES = (str, int, Decimal, dt.date, ir.Span, type(None))


def _child_fields(cls: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = tuple(f.name for f in attrs.fields(cls) if f.name != "span")
        _CHILD_FIELDS[cls] = fields
    return fields


def _too_deep(root: Any) -> ir.Span | None:
    """The span of an expression nested deeper than MAX_EXPR_DEPTH, if any (iterative walk)."""
    stack: list[tuple[Any, int]] = [(root, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if isinstance(node, tuple):
            for child in node:
                if not isinstance(child, _LEAVES):
                    push((child, depth))
            continue
        if depth > MAX_EXPR_DEPTH:
            return getattr(node, "span", None) or ir.NO_SPAN
        fields = _CHILD_FIELDS.get(type(node)) or _child_fields(type(node))
        for name in fields:
            value = getattr(node, name)
            if not isinstance(value, _LEAVES) and not isinstance(value, (enum.Enum, list)):
                push((value, depth + 1))
    return None


def _join(a: ir.Span, b: ir.Span) -> ir.Span:
    return ir.Span(a.file, a.line, a.column, b.end_line, b.end_column)


def build_module(file: str, items: list[Any], unparsed: tuple[str, ...] = ()) -> ir.Module:
    """Group lowered top-level items by kind, keeping source order."""
    groups: dict[type, list[Any]] = {}
    outputs: list[ir.Name] = []
    header: ir.Header | None = None
    for item in items:
        if isinstance(item, tuple) and item and item[0] == "输出":
            outputs.append(item[1])
        elif isinstance(item, ir.Header):
            header = item if header is None else header
            groups.setdefault(ir.Header, []).append(item)
        else:
            groups.setdefault(type(item), []).append(item)

    def get(kind: type) -> tuple[Any, ...]:
        return tuple(groups.get(kind, ()))

    return ir.Module(
        file=file,
        header=header,
        enums=get(ir.EnumDecl),
        imports=get(ir.Import),
        bases=get(ir.Basis),
        inputs=get(ir.InputDecl),
        params=get(ir.ParamDecl),
        definitions=get(ir.Definition),
        functions=get(ir.FunctionDecl),
        exceptions=get(ir.ExceptionRule),
        assertions=get(ir.Assertion),
        requirements=get(ir.Requirement),
        constraints=get(ir.Constraint),
        clauses=get(ir.Clause),
        outputs=tuple(outputs),
        examples=get(ir.Example),
        unparsed=unparsed,
        catalogs=get(ir.CatalogDecl),
    )


class Reductions:
    """The parser's inline transformer: computes each reduction's span from its
    tokens and children, drops keyword tokens, and hands the rest to the
    Lowering of the parse in progress (`Reductions.current`).

    Building no parse tree (and no Lark Meta) keeps large files fast.
    """

    current: Lowering | None = None

    def __getattr__(self, name: str) -> Any:
        method = getattr(Lowering, name, None)
        if method is None or name.startswith("_"):
            raise AttributeError(name)
        keep_keywords = name in KEEP_KEYWORDS

        def reduce(children: list[Any]) -> Any:
            lowering = Reductions.current
            assert lowering is not None
            span = _reduction_span(lowering, children)
            if keep_keywords:
                kept = [c for c in children if not (isinstance(c, Token) and c.type in LAYOUT_TERMINALS)]
            else:
                kept = [c for c in children if not isinstance(c, Token) or c.type in VALUE_TERMINALS]
            return method(lowering, span, kept)

        return reduce


def _position(node: Any, last: bool) -> tuple[int, int] | None:
    if node is None:
        return None
    if isinstance(node, Token):
        if node.type in LAYOUT_TERMINALS or node.line is None or node.column is None:
            return None
        if last:
            return (node.end_line or node.line, node.end_column or node.column)
        return (node.line, node.column)
    span = getattr(node, "span", None)
    if isinstance(span, ir.Span):
        if span.line == 0:
            return None
        return (span.end_line, span.end_column) if last else (span.line, span.column)
    if isinstance(node, (list, tuple)):
        items = reversed(node) if last else node
        for item in items:
            found = _position(item, last)
            if found is not None:
                return found
    return None


def _reduction_span(lowering: Lowering, children: list[Any]) -> ir.Span:
    start = _position(children, last=False)
    end = _position(children, last=True)
    if start is None or end is None:
        return ir.Span(lowering.file, 0, 0, 0, 0)
    offset = lowering.line_offset
    # Spans of lowered children already carry the offset; token positions do not.
    first = _first_item(children, last=False)
    final = _first_item(children, last=True)
    start_line = start[0] + (offset if isinstance(first, Token) else 0)
    end_line = end[0] + (offset if isinstance(final, Token) else 0)
    return ir.Span(lowering.file, start_line, start[1], end_line, end[1])


def _first_item(node: Any, last: bool) -> Any:
    """The token or node that `_position` took its answer from."""
    if isinstance(node, Token):
        return node if node.type not in LAYOUT_TERMINALS and node.line is not None else None
    span = getattr(node, "span", None)
    if isinstance(span, ir.Span):
        return node if span.line else None
    if isinstance(node, (list, tuple)):
        for item in (reversed(node) if last else node):
            found = _first_item(item, last)
            if found is not None:
                return found
    return None
