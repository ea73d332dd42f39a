"""The typed intermediate form: frozen attrs nodes, each with its source span.

Lowering (`lower.py`) builds these from the parse tree, one node per grammar
alternative and no semantics; resolution, type checking, evaluation and
rendering are functions over them.

>>> Span("a.ybl", 1, 1, 1, 3).start
(1, 1)
"""

from __future__ import annotations

import datetime as _dt
import enum
from decimal import Decimal
from typing import TypeAlias

import attrs


@attrs.frozen(slots=True)
class Span:
    """Where a node came from: 1-based lines and columns counted in characters.

    `end_column` points one past the last character, as Lark reports it.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def start(self) -> tuple[int, int]:
        return (self.line, self.column)


NO_SPAN = Span("<内置>", 0, 0, 0, 0)


# ------------------------------------------------------------------ types as written


@attrs.frozen(slots=True)
class TypeRef:
    """A type as written: a name (金额, 医院等级) or an inline 选项 {…}."""

    name: str | None
    values: tuple[str, ...] | None
    span: Span
    qualifier: str | None = None  # the import alias in 别名.类型

    @property
    def display(self) -> str:
        if self.values is not None:
            return f"选项 {{{', '.join(self.values)}}}"
        return f"{self.qualifier}.{self.name}" if self.qualifier else (self.name or "")


# ------------------------------------------------------------------ expressions


class LiteralKind(enum.Enum):
    MONEY = "金额"
    RATIO = "比例"
    NUMBER = "数"
    YEARS = "年数"
    MONTHS = "月数"
    DAYS = "日数"
    DATE = "日期"
    BOOL = "是否"
    TEXT = "文本"


LiteralValue: TypeAlias = Decimal | _dt.date | bool | int | str

# The qualifier of the fund level: 全体.赔付率 is a figure of the whole run
# (docs/itemized.md §4); 求和(全体.x) sums a claim figure over every claim of the run.
FUND = "全体"


@attrs.frozen(slots=True)
class Literal:
    """A literal with its unit already applied: 2万元 → Decimal('20000') 金额."""

    kind: LiteralKind
    value: LiteralValue
    text: str
    span: Span


@attrs.frozen(slots=True)
class Name:
    """A reference by name; `qualifier` is the import alias in 名.定义."""

    name: str
    qualifier: str | None
    span: Span

    @property
    def display(self) -> str:
        return f"{self.qualifier}.{self.name}" if self.qualifier else self.name


class ArithOp(enum.Enum):
    ADD = "+"
    SUB = "-"
    MUL = "×"
    DIV = "÷"


@attrs.frozen(slots=True)
class Arith:
    op: ArithOp
    left: Expr
    right: Expr
    span: Span


@attrs.frozen(slots=True)
class Negate:
    operand: Expr
    span: Span


class CompareOp(enum.Enum):
    GT = ">"
    GE = "≥"
    LT = "<"
    LE = "≤"
    EQ = "="
    NE = "≠"


# The legal boundary words of docs/language.md §7 (民法典 第一千二百五十九条).
COMPARE_WORDS: dict[str, CompareOp] = {
    ">": CompareOp.GT, "超过": CompareOp.GT, "高于": CompareOp.GT,
    ">=": CompareOp.GE, "≥": CompareOp.GE, "达到": CompareOp.GE, "满": CompareOp.GE, "届满": CompareOp.GE,
    "不低于": CompareOp.GE,
    "<": CompareOp.LT, "不满": CompareOp.LT, "未满": CompareOp.LT, "低于": CompareOp.LT,
    "<=": CompareOp.LE, "≤": CompareOp.LE, "不超过": CompareOp.LE, "未超过": CompareOp.LE,
    "=": CompareOp.EQ,
    "≠": CompareOp.NE, "!=": CompareOp.NE,
}


@attrs.frozen(slots=True)
class Compare:
    """a op b; `word` is what the drafter wrote, `op` already accounts for （含）."""

    op: CompareOp
    word: str
    left: Expr
    right: Expr
    inclusive_marker: bool
    span: Span


@attrs.frozen(slots=True)
class Member:
    """x 属于 {…} (or 不属于 when `negated`)."""

    subject: Expr
    values: tuple[str, ...]
    negated: bool
    span: Span


@attrs.frozen(slots=True)
class Between:
    """x 介于 a 与 b: a ≤ x ≤ b."""

    subject: Expr
    low: Expr
    high: Expr
    span: Span


class LogicOp(enum.Enum):
    AND = "且"
    OR = "或"


@attrs.frozen(slots=True)
class Logic:
    op: LogicOp
    left: Expr
    right: Expr
    span: Span


@attrs.frozen(slots=True)
class Not:
    operand: Expr
    span: Span


@attrs.frozen(slots=True)
class Branch:
    condition: Expr
    value: Expr
    span: Span


@attrs.frozen(slots=True)
class If:
    """如果 c1 则 v1 否则如果 c2 则 v2 … 否则 v."""

    branches: tuple[Branch, ...]
    otherwise: Expr
    span: Span


class BoundKind(enum.Enum):
    CAP = "封顶"
    FLOOR = "保底"


@attrs.frozen(slots=True)
class Bounded:
    """a 封顶 b (= 取较小) or a 保底 b (= 取较大)."""

    kind: BoundKind
    value: Expr
    limit: Expr
    span: Span


@attrs.frozen(slots=True)
class Call:
    """A built-in or declared function: 取较小(a, b), 年月日(y, m, d), …"""

    function: str
    args: tuple[Expr, ...]
    span: Span
    qualifier: str | None = None  # the import alias in 别名.函数(…)

    @property
    def callee(self) -> Name:
        return Name(self.function, self.qualifier, self.span)

    @property
    def display(self) -> str:
        return f"{self.qualifier}.{self.function}" if self.qualifier else self.function


@attrs.frozen(slots=True)
class Bound:
    """One edge of a band or step: the value and whether the edge is included."""

    value: Expr
    inclusive: bool
    marked: bool  # written with （含）
    span: Span


@attrs.frozen(slots=True)
class Band:
    """A band of 分段累进: the part of x in (lower, upper] pays `rate`.

    `lower is None` means the band starts at zero; `upper is None` means it is
    open-ended.
    """

    lower: Bound | None
    upper: Bound | None
    rate: Expr
    span: Span


@attrs.frozen(slots=True)
class Banded:
    """分段累进 x: each band pays its rate on the part of x inside it."""

    subject: Expr
    bands: tuple[Band, ...]
    span: Span


class StepKind(enum.Enum):
    EXACT = "等于"
    AT_LEAST = "以上"
    ABOVE = "超过"
    AT_MOST = "以下"
    BELOW = "不满"
    BETWEEN = "至"


@attrs.frozen(slots=True)
class Step:
    """A row of 分档: which values of x it matches, and its result."""

    kind: StepKind
    low: Bound | None
    high: Bound | None
    result: Expr
    span: Span


@attrs.frozen(slots=True)
class Stepped:
    """分档 x: the result of the one row x falls in, else `otherwise`."""

    subject: Expr
    steps: tuple[Step, ...]
    otherwise: Expr | None
    span: Span


@attrs.frozen(slots=True)
class CaseRow:
    values: tuple[str, ...]
    result: Expr
    span: Span


@attrs.frozen(slots=True)
class Cases:
    """分情况 x: the row naming x's enumeration value, else `otherwise`."""

    subject: Expr
    rows: tuple[CaseRow, ...]
    otherwise: Expr | None
    span: Span


@attrs.frozen(slots=True)
class TableRow:
    key: str
    cells: tuple[Expr, ...]
    span: Span


@attrs.frozen(slots=True)
class Table:
    """查表 (k1[, k2]): rows keyed by k1's value, columns by k2's."""

    keys: tuple[Expr, ...]
    columns: tuple[str, ...]
    column_spans: tuple[Span, ...]
    rows: tuple[TableRow, ...]
    span: Span


class AggregateKind(enum.Enum):
    SUM = "求和"
    COUNT = "计数"
    MAX = "最大值"
    MIN = "最小值"


AGGREGATE_WORDS: dict[str, AggregateKind] = {kind.value: kind for kind in AggregateKind}


@attrs.frozen(slots=True)
class Aggregate:
    """求和(明细.x 其中 条件), 计数(明细), 最大值/最小值(…) over a list's lines,
    or over every claim of the run when `over` is 全体 (docs/itemized.md §2, §4).

    `item` is the line figure aggregated (None for 计数); `where` is evaluated
    on each line, in the line's scope.
    """

    kind: AggregateKind
    over: str
    item: str | None
    where: Expr | None
    span: Span
    item_span: Span


@attrs.frozen(slots=True)
class Lookup:
    """查目录 目录.列 按 键 [于 日期] 查无 值 (docs/itemized.md §3)."""

    catalog: str
    column: str
    key: Expr
    date: Expr | None
    missing: Expr
    span: Span
    target_span: Span


Expr: TypeAlias = (
    Literal | Name | Arith | Negate | Compare | Member | Between | Logic | Not | If
    | Bounded | Call | Banded | Stepped | Cases | Table | Aggregate | Lookup
)


# ------------------------------------------------------------------ declarations


@attrs.frozen(slots=True)
class Header:
    """政策 名称 with its metadata."""

    name: str
    doc_number: str | None = None
    issuer: str | None = None
    published: _dt.date | None = None
    effective: _dt.date | None = None
    expires: _dt.date | None = None
    status: str | None = None
    rounding: str | None = None  # 分 | 角 | 元
    fiscal_year_start: tuple[int, int] | None = None  # (month, day)
    note: str | None = None
    span: Span = NO_SPAN


@attrs.frozen(slots=True)
class EnumDecl:
    name: str
    values: tuple[str, ...]
    value_spans: tuple[Span, ...]
    span: Span


@attrs.frozen(slots=True)
class Binding:
    """代入 输入名 = 表达式 under an 引用."""

    input: str
    value: Expr
    span: Span


@attrs.frozen(slots=True)
class Import:
    path: str
    alias: str | None
    bindings: tuple[Binding, ...]
    span: Span


@attrs.frozen(slots=True)
class Basis:
    """依据 "路径": the higher-level policy whose 约束 this one must meet."""

    path: str
    span: Span


@attrs.frozen(slots=True)
class FieldDecl:
    """One field of a 列表 input's lines, or one column of a 目录: written like an input."""

    name: str
    type: TypeRef
    range_low: Expr | None
    range_high: Expr | None
    default: Expr | None
    nullable: bool
    description: str | None
    span: Span


@attrs.frozen(slots=True)
class InputDecl:
    name: str
    type: TypeRef
    range_low: Expr | None
    range_high: Expr | None
    default: Expr | None
    accumulates: Name | None
    description: str | None
    span: Span
    # 全体 for a fund-level input given once per run (docs/itemized.md §4).
    scope: str | None = None
    # The line fields of a 列表 input (docs/itemized.md §2).
    fields: tuple[FieldDecl, ...] = ()
    # 家庭累计: the running total is shared by the family, not kept per person (docs/batch.md §2.1).
    family: bool = False


@attrs.frozen(slots=True)
class CatalogDecl:
    """目录 名 "文件": a table given as data beside the policy (docs/itemized.md §3).

    `valid_from`/`valid_to` name the 有效期 columns (inclusive / exclusive, empty = open).
    """

    name: str
    path: str
    description: str | None
    key: FieldDecl
    columns: tuple[FieldDecl, ...]
    valid_from: str | None
    valid_to: str | None
    span: Span
    path_span: Span

    def column(self, name: str) -> FieldDecl | None:
        for col in (self.key, *self.columns):
            if col.name == name:
                return col
        return None


@attrs.frozen(slots=True)
class ParamVersion:
    """自 date 起 value; `start is None` for an undated parameter, or for the
    此前 line that holds the value before the first dated version."""

    start: _dt.date | None
    value: Expr
    span: Span


@attrs.frozen(slots=True)
class ParamDecl:
    name: str
    type: TypeRef
    versions: tuple[ParamVersion, ...]
    clause: str | None
    span: Span
    # 范围 甲 至 乙: the range the 原文 leaves to local choice; every version must lie in it
    # (docs/language.md §13.2).
    range_low: Expr | None = None
    range_high: Expr | None = None


@attrs.frozen(slots=True)
class Definition:
    name: str
    type: TypeRef | None
    expr: Expr
    clause: str | None
    span: Span
    # A list name for a per-line definition (明细.明细金额), 全体 for a fund-level one.
    scope: str | None = None

    @property
    def display(self) -> str:
        return f"{self.scope}.{self.name}" if self.scope else self.name


@attrs.frozen(slots=True)
class FunctionParam:
    name: str
    type: TypeRef
    span: Span


@attrs.frozen(slots=True)
class FunctionDecl:
    name: str
    params: tuple[FunctionParam, ...]
    result: TypeRef
    body: Expr
    clause: str | None
    span: Span


@attrs.frozen(slots=True)
class ExceptionRule:
    """例外 名 当 条件 时 = 值 [优先于 "clause"]."""

    target: Name
    condition: Expr
    value: Expr
    overrides: tuple[str, ...]
    clause: str | None
    span: Span


@attrs.frozen(slots=True)
class Assertion:
    condition: Expr
    message: str | None
    clause: str | None
    span: Span


@attrs.frozen(slots=True)
class Requirement:
    """要求 名 : 类型 — a figure an implementing policy must define."""

    name: str
    type: TypeRef
    clause: str | None
    span: Span


@attrs.frozen(slots=True)
class Constraint:
    condition: Expr
    message: str | None
    clause: str | None
    span: Span


@attrs.frozen(slots=True)
class Clause:
    """条款 "id" 标题 with its 原文; the declarations inside cite `id`."""

    id: str  # normalised: full-width forms mapped
    raw_id: str
    title: str | None
    text: str | None
    span: Span


@attrs.frozen(slots=True)
class ExampleLine:
    name: Name
    value: Expr
    span: Span


@attrs.frozen(slots=True)
class Example:
    """样例 "名称": inputs and the expected figures."""

    name: str
    inputs: tuple[ExampleLine, ...]
    expectations: tuple[ExampleLine, ...]
    span: Span


@attrs.frozen(slots=True)
class Module:
    """One .ybl file, its declarations grouped by kind in source order."""

    file: str
    header: Header | None
    enums: tuple[EnumDecl, ...]
    imports: tuple[Import, ...]
    bases: tuple[Basis, ...]
    inputs: tuple[InputDecl, ...]
    params: tuple[ParamDecl, ...]
    definitions: tuple[Definition, ...]
    functions: tuple[FunctionDecl, ...]
    exceptions: tuple[ExceptionRule, ...]
    assertions: tuple[Assertion, ...]
    requirements: tuple[Requirement, ...]
    constraints: tuple[Constraint, ...]
    clauses: tuple[Clause, ...]
    outputs: tuple[Name, ...]
    examples: tuple[Example, ...]
    # Names declared in statements that did not parse: references to them are
    # not reported again as unknown.
    unparsed: tuple[str, ...] = ()
    catalogs: tuple[CatalogDecl, ...] = ()

    def clause(self, clause_id: str | None) -> Clause | None:
        for clause in self.clauses:
            if clause.id == clause_id:
                return clause
        return None


Declaration: TypeAlias = (
    Header | EnumDecl | Import | Basis | InputDecl | ParamDecl | Definition | FunctionDecl
    | ExceptionRule | Assertion | Requirement | Constraint | Clause | Example | CatalogDecl
)
