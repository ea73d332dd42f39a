"""Which row, cell or version gives the value: 分情况, 查表 and dated 参数 (docs/language.md).

- 分情况: a value listed on several rows is read from the first of them.
- 查表: the first row with a key gives its cells; a one-key table has one
  column (None).  A key pair with no cell and no 其余 is YB418.
- 参数 with dates: the latest version whose 自 date is on or before the
  计算日期; before the first date, the 此前 value if there is one (else YB413).

>>> versions = DatedVersions.of(ir.ParamDecl("甲", ir.TypeRef("金额", None, SPAN), (
...     ir.ParamVersion(None, NUMBER_1, SPAN),
...     ir.ParamVersion(dt.date(2020, 1, 1), NUMBER_1, SPAN),
...     ir.ParamVersion(dt.date(2024, 1, 1), NUMBER_1, SPAN)), None, SPAN))
>>> versions.index(dt.date(2023, 12, 31)), versions.index(dt.date(2024, 1, 1)), versions.index(dt.date(2019, 1, 1))
(0, 1, -1)
>>> versions.before is not None, versions.first
(True, datetime.date(2020, 1, 1))
"""

from __future__ import annotations

import bisect
import datetime as dt
from decimal import Decimal

import attrs

from yibaolang import ir

SPAN = ir.Span("<例>", 1, 1, 1, 1)
NUMBER_1 = ir.Literal(ir.LiteralKind.NUMBER, Decimal(1), "1", SPAN)

CellKey = tuple[str, str | None]


def case_rows(cases: ir.Cases) -> dict[str, int]:
    """Each value of 分情况 → the index of the first row that lists it."""
    first: dict[str, int] = {}
    for i, row in enumerate(cases.rows):
        for value in row.values:
            first.setdefault(value, i)
    return first


def table_cells(table: ir.Table) -> dict[CellKey, tuple[ir.TableRow, ir.Expr]]:
    """(row key, column or None for a one-key table) → the row and cell that give it (first row wins)."""
    cells: dict[CellKey, tuple[ir.TableRow, ir.Expr]] = {}
    for row in table.rows:
        if len(table.keys) == 1:
            cells.setdefault((row.key, None), (row, row.cells[0]))
            continue
        for column, cell in zip(table.columns, row.cells, strict=False):
            cells.setdefault((row.key, column), (row, cell))
    return cells


@attrs.frozen(slots=True)
class DatedVersions:
    """A parameter's dated versions in order of their 自 date, and its 此前 version."""

    dated: tuple[ir.ParamVersion, ...]
    before: ir.ParamVersion | None

    @classmethod
    def of(cls, decl: ir.ParamDecl) -> DatedVersions:
        dated = sorted((v for v in decl.versions if v.start is not None), key=lambda v: v.start or dt.date.min)
        before = next((v for v in decl.versions if v.start is None), None)
        return cls(tuple(dated), before)

    @property
    def starts(self) -> list[dt.date]:
        return [v.start for v in self.dated if v.start is not None]

    @property
    def first(self) -> dt.date | None:
        return self.dated[0].start if self.dated else None

    def index(self, date: dt.date) -> int:
        """The version in force on `date` (an index into `dated`), or -1 before the first one.

        The vector engine computes the same with numpy.searchsorted(starts, dates, side="right") - 1.
        """
        return bisect.bisect_right(self.starts, date) - 1


__all__ = ["CellKey", "DatedVersions", "case_rows", "table_cells"]
