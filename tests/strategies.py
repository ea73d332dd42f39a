"""Hypothesis strategies that build IR and print it as source.

`hypothesis.extra.lark` cannot keep indentation consistent, so programs are
generated as IR and printed with `yibaolang.ir.printer`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from yibaolang import ir

S = ir.NO_SPAN
NAMES = ["费用", "起付线", "报销比例", "年度已支付", "断保年数", "甲", "乙", "丙", "大病个人负担", "连续参保年数"]
ENUM_VALUES = ["三级", "二级", "其他", "在职", "退休"]
TYPES = ["金额", "比例", "数", "年数", "月数", "日数", "日期", "是否"]
# Itemized bills and catalogs (docs/itemized.md): one list input, one catalog, their fields and columns.
LIST = "明细"
FIELDS = ["编码", "数量", "单价"]
CATALOG = "医保目录"
COLUMNS = ["名称", "类别", "支付标准"]
CODES = ["XB01", "ZL03", "甲-1", "A 2"]


def names() -> st.SearchStrategy[ir.Name]:
    return st.builds(ir.Name, st.sampled_from(NAMES), st.none(), st.just(S))


def literals() -> st.SearchStrategy[ir.Literal]:
    money = st.decimals(min_value=0, max_value=10**7, places=2).map(
        lambda v: ir.Literal(ir.LiteralKind.MONEY, v, f"{v}元", S))
    ratio = st.integers(0, 100).map(lambda v: ir.Literal(ir.LiteralKind.RATIO, Decimal(v) / 100, f"{v}%", S))
    number = st.integers(0, 1000).map(lambda v: ir.Literal(ir.LiteralKind.NUMBER, Decimal(v), str(v), S))
    years = st.integers(0, 30).map(lambda v: ir.Literal(ir.LiteralKind.YEARS, v, f"{v}年", S))
    months = st.integers(0, 24).map(lambda v: ir.Literal(ir.LiteralKind.MONTHS, v, f"{v}个月", S))
    days = st.integers(0, 400).map(lambda v: ir.Literal(ir.LiteralKind.DAYS, v, f"{v}日", S))
    dates = st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)).map(
        lambda v: ir.Literal(ir.LiteralKind.DATE, v, v.isoformat(), S))
    bools = st.booleans().map(lambda v: ir.Literal(ir.LiteralKind.BOOL, v, "是" if v else "否", S))
    texts = st.sampled_from(CODES).map(lambda v: ir.Literal(ir.LiteralKind.TEXT, v, f'"{v}"', S))
    return st.one_of(money, ratio, number, years, months, days, dates, bools, texts)


def expressions(max_leaves: int = 12) -> st.SearchStrategy[ir.Expr]:
    leaves = st.one_of(literals(), names())

    def extend(inner: st.SearchStrategy[ir.Expr]) -> st.SearchStrategy[ir.Expr]:
        return st.one_of(
            st.builds(ir.Arith, st.sampled_from(list(ir.ArithOp)), inner, inner, st.just(S)),
            st.builds(ir.Negate, names(), st.just(S)),
            st.builds(lambda op, a, b: ir.Compare(op, op.value, a, b, False, S),
                      st.sampled_from(list(ir.CompareOp)), inner, inner),
            st.builds(ir.Member, names(), st.lists(st.sampled_from(ENUM_VALUES), min_size=1, max_size=3,
                                                   unique=True).map(tuple), st.booleans(), st.just(S)),
            st.builds(ir.Between, inner, inner, inner, st.just(S)),
            st.builds(ir.Logic, st.sampled_from(list(ir.LogicOp)), inner, inner, st.just(S)),
            st.builds(ir.Not, inner, st.just(S)),
            st.builds(lambda bs, o: ir.If(tuple(bs), o, S),
                      st.lists(st.builds(ir.Branch, inner, inner, st.just(S)), min_size=1, max_size=3), inner),
            st.builds(ir.Bounded, st.sampled_from(list(ir.BoundKind)), inner, inner, st.just(S)),
            st.builds(lambda f, a: ir.Call(f, tuple(a), S), st.sampled_from(["取较小", "取较大", "数值", "年份"]),
                      st.lists(inner, min_size=1, max_size=3)),
            st.builds(_aggregate, st.sampled_from(list(ir.AggregateKind)), st.sampled_from([LIST, ir.FUND]),
                      st.sampled_from(FIELDS), st.none() | inner),
            st.builds(lambda col, key, date, missing: ir.Lookup(CATALOG, col, key, date, missing, S, S),
                      st.sampled_from(COLUMNS), inner, st.none() | inner, inner),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def _aggregate(kind: ir.AggregateKind, over: str, item: str, where: ir.Expr | None) -> ir.Aggregate:
    """求和(明细.x 其中 …), 计数(明细): 计数 names the list itself."""
    return ir.Aggregate(kind, over, None if kind is ir.AggregateKind.COUNT else item, where, S, S)


def _fields(draw: st.DrawFn, names: list[str], nullable: bool) -> tuple[ir.FieldDecl, ...]:
    return tuple(
        ir.FieldDecl(n, draw(type_refs()), None, None, draw(st.none() | literals()) if not nullable else None,
                     draw(st.booleans()) if nullable else False, draw(st.none() | st.just("说明")), S)
        for n in names
    )


def _bound(inclusive: bool = False) -> st.SearchStrategy[ir.Bound]:
    return st.builds(lambda lit, marked: ir.Bound(lit, inclusive or marked, marked, S), literals(), st.booleans())


def blocks() -> st.SearchStrategy[ir.Expr]:
    band = st.builds(lambda lo, hi, rate: ir.Band(lo, ir.Bound(hi.value, True, hi.marked, S), rate, S),
                     _bound(), _bound(), literals())
    banded = st.builds(lambda subject, bands: ir.Banded(subject, tuple(bands), S), names(),
                       st.lists(band, min_size=1, max_size=4))
    step = st.builds(lambda b, result: ir.Step(ir.StepKind.EXACT, b, b, result, S), _bound(), literals())
    stepped = st.builds(lambda subject, steps, other: ir.Stepped(subject, tuple(steps), other, S), names(),
                        st.lists(step, min_size=1, max_size=4), st.none() | literals())
    row = st.builds(lambda vals, result: ir.CaseRow(tuple(vals), result, S),
                    st.lists(st.sampled_from(ENUM_VALUES), min_size=1, max_size=2, unique=True), literals())
    cases = st.builds(lambda subject, rows, other: ir.Cases(subject, tuple(rows), other, S), names(),
                      st.lists(row, min_size=1, max_size=3), st.none() | literals())
    table = st.builds(
        lambda k1, k2, cols, keys, cells: ir.Table(
            (k1, k2), tuple(cols), tuple(S for _ in cols),
            tuple(ir.TableRow(k, tuple(cells[: len(cols)]), S) for k in keys), S),
        names(), names(), st.lists(st.sampled_from(ENUM_VALUES), min_size=1, max_size=3, unique=True),
        st.lists(st.sampled_from(ENUM_VALUES), min_size=1, max_size=3, unique=True),
        st.lists(literals(), min_size=3, max_size=3))
    return st.one_of(banded, stepped, cases, table)


def type_refs() -> st.SearchStrategy[ir.TypeRef]:
    plain = st.sampled_from(TYPES).map(lambda t: ir.TypeRef(t, None, S))
    enum = st.lists(st.sampled_from(ENUM_VALUES), min_size=1, max_size=4, unique=True).map(
        lambda vs: ir.TypeRef(None, tuple(vs), S))
    return st.one_of(plain, enum)


@st.composite
def modules(draw: st.DrawFn) -> ir.Module:
    input_names = draw(st.lists(st.sampled_from(NAMES), max_size=5, unique=True))
    inputs = tuple(
        ir.InputDecl(n, draw(type_refs()), None, None, draw(st.none() | literals()), None,
                     draw(st.none() | st.just("说明")), S)
        for n in input_names
    )
    free = [n for n in NAMES if n not in input_names]
    def_names = draw(st.lists(st.sampled_from(free), max_size=4, unique=True)) if free else []
    clause_id = draw(st.sampled_from(["一", "二、(五)", "三、(一)2."]))
    definitions = tuple(sorted(
        (ir.Definition(n, draw(st.none() | type_refs()), draw(st.one_of(expressions(), blocks())),
                       draw(st.sampled_from([None, clause_id])), S)
         for n in def_names),
        key=lambda d: d.clause is not None,  # the printer puts declarations outside clauses first
    ))
    clauses = (ir.Clause(clause_id, clause_id, "标题", "原文", S),) if any(d.clause for d in definitions) else ()
    exceptions = ()
    if definitions and clauses:
        exceptions = tuple(
            ir.ExceptionRule(ir.Name(definitions[0].name, None, S), draw(expressions(4)), draw(literals()), (),
                             clause_id, S)
            for _ in range(draw(st.integers(0, 2)))
        )
    outputs = tuple(ir.Name(d.name, None, S) for d in definitions[:2])
    catalogs: tuple[ir.CatalogDecl, ...] = ()
    if draw(st.booleans()):  # a list input with its fields, and a per-line definition
        fields = _fields(draw, draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True)), False)
        inputs += (ir.InputDecl(LIST, ir.TypeRef("列表", None, S), None, None, None, None,
                                draw(st.none() | st.just("结算明细")), S, fields=fields),)
        # first: the printer writes the definitions outside any 条款 before the 条款
        definitions = (ir.Definition("明细金额", draw(st.none() | type_refs()), draw(expressions(6)), None, S,
                                     scope=LIST), *definitions)
    if draw(st.booleans()):
        columns = _fields(draw, draw(st.lists(st.sampled_from(COLUMNS), max_size=3, unique=True)), True)
        dated = draw(st.booleans())
        catalogs = (ir.CatalogDecl(CATALOG, "医保目录.csv", draw(st.none() | st.just("目录")),
                                   ir.FieldDecl("编码", ir.TypeRef("文本", None, S), None, None, None, False, None, S),
                                   columns, "生效日期" if dated else None, "失效日期" if dated else None, S, S),)
    return ir.Module("generated.ybl", None, (), (), (), inputs, (), definitions, (), exceptions, (), (), (),
                     clauses, outputs, (), catalogs=catalogs)
