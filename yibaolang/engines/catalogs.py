"""目录 as data: the CSV or Parquet file of a 目录 declaration, read, checked and cached (docs/itemized.md §3).

`catalog_for(program, scope, name)` returns the `Catalog` of the declaration
``目录 名 "文件"`` in `scope`, or raises `CatalogError(diagnostics)`:

- the file is the declaration's path, relative to the policy file that
  declares it, unless ``--table 名=路径`` (`Program.tables`) names another,
  relative to the current folder; either way it goes through
  `yibaolang.paths` — a regular file inside the policy's project root (or the
  stdlib), at most `MAX_CATALOG_BYTES` bytes (YB463 otherwise, at the
  declaration's path or naming the option);
- CSV: UTF-8 with or without BOM, the first row names the columns; Parquet:
  read with pyarrow.  The file must hold the key, every declared column and
  the 有效期 columns (YB464); other columns are ignored;
- every cell is read exactly as its declared type (YB465): 文本 stripped;
  金额 ``35.50`` / ``35.50元`` / ``1.2万元`` with at most two decimals; 比例
  ``30%`` or ``0.3``; 数; 日期 ``2024-01-01``, ``2024/1/1`` or ``2024年1月1日``;
  是否 是/否; an option type one of its values.  Parquet decimals, integers,
  strings, booleans and dates are read as they are, never through a float; a
  float cell is accepted only when its shortest decimal form has at most two
  places (金额) or six (比例, 数) — then it is that decimal, which is what the
  writer meant — and refused otherwise (write decimal128 or text instead);
- an empty cell is None; in a column that is not 可空 (and in the key) it is
  YB466; 有效期 cells may always be empty (= open).  A row whose every cell
  read is empty (a spreadsheet's trailing empty rows) is skipped; the rows
  after it keep their numbers;
- a value outside the column's 范围 is YB467; a key given twice (no 有效期),
  two versions of a key whose 有效期 overlap, or a 生效 not before its 失效
  is YB468.

Each problem is a `Diagnostic` whose span is the cell: ``Span(文件, 行, 列)``
with the row as a spreadsheet shows it (CSV: the header is row 1, the first
data row row 2; Parquet: the first row is row 1) and the 1-based column of the
file; the message names the column (and its spreadsheet letter).  At most
`MAX_REPORTS` problems are reported per file; the last one says how many more
there are.  A file with any problem is refused as a whole: a run never
computes with part of a catalog.

A `Catalog` holds its cells by column (`cells[列名]`, None for an empty
cell, with `starts`/`ends` the 有效期 of each row); `CatalogRow(number,
values, valid_from, valid_to)` objects are made when asked for (`row(i)`,
`rows`, `find`) and kept.  `Catalog.find(key, when)` is the version of `key`
valid on `when` (生效 inclusive, 失效 exclusive, empty = open);
`Catalog.find_key(key)` every version of a key (the language server's
hover); `shown_path`, `decl`, `digest` (SHA-256 of the file) describe it.

The array form (`Catalog.arrays()`, for the vector engine's sorted join):

- rows sorted by (key, start); `keys`: numpy ``str`` array for a 文本 or 选项
  key, int64 scaled by `key_scale` for a 数 key (value = data / 10**key_scale);
- `start`, `end`: int64 day numbers (days since 1970-01-01, like
  engines/vector.py's dates); an open 生效 is `OPEN_START` (int64 min), an
  open 失效 `OPEN_END` (int64 max); `end` is exclusive;
- `numbers`: each row's `CatalogRow.number` (for explanations);
- `columns[name]`: a `ColumnArray` with `null` (bool mask) and `data`:
  金额, 比例, 数 as int64 scaled integers (value = data / 10**scale; 金额
  always scale 2, i.e. 分; 比例 and 数 the smallest scale that holds every
  value exactly — engines/vector.py's `Vec` carries any scale), durations as
  int64, 日期 as day numbers, 是否 as numpy bool, 选项 as int64 codes in the
  declared order of the option's values (`labels`; -1 when empty), 文本 as a
  numpy object array of str (None when empty).  Null cells hold 0 in int
  columns.  A 数 column whose values cannot all be held in int64 at one scale
  has ``data is None`` (the vector engine then hands those rows back).

Cache: one load per process for each (real path, mtime_ns, size, declaration
fingerprint); a refusal is cached the same way.  A changed file (its mtime or
size) is read again; a cache hit costs one stat (where a program's catalog
comes from is worked out once per program).  A 10⁵-row CSV is read in about
half a second of processor time (benchmarks/catalog_bench.py,
docs/performance.md): pyarrow.csv reads every cell as a string, the common
spellings are recognised in bulk by Arrow's RE2 and converted with
``map(Decimal, …)``; other spellings go cell by cell through
`semantics.values.parse_value`, the reader of case files.  Without pyarrow
the csv module reads the file (same results, slower); a file pyarrow will not
take (a line break inside a quoted cell, a short row) is read by the csv
module too, which says which row is irregular.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import hashlib
import heapq
import io
import itertools
import os
import re
import weakref
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Program
from yibaolang.diagnostics import Diagnostic, closest, error
from yibaolang.frontend.source import utf8_text
from yibaolang.ir.types import DATE, PRIMITIVES, TEXT, EnumType, Kind, Type, enum_type
from yibaolang.paths import ReadRefused, Refusal, read_limited, resolve, resolve_data_file
from yibaolang.semantics import limits
from yibaolang.semantics.levels import qualified
from yibaolang.semantics.values import Problem, display, parse_value

Span = ir.Span

MAX_CATALOG_BYTES = 256 * 1024 * 1024
MAX_REPORTS = 20
READ_CSV_WITH_ARROW = True  # False: the csv module reads every CSV file (as when pyarrow is not installed)
CACHE_ENTRIES = 64
TABLE_OPTION = "--table"

EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
OPEN_START = -(2**63)
OPEN_END = 2**63 - 1

# Float cells (Parquet): accepted when their shortest decimal form has at most this many places.
FLOAT_PLACES = {Kind.MONEY: 2, Kind.RATIO: 6, Kind.NUMBER: 6}


class CatalogError(Exception):
    """The catalog could not be used; `diagnostics` say why (never empty)."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__(diagnostics[0].message if diagnostics else "目录读不出来")
        self.diagnostics = list(diagnostics)


@attrs.frozen(slots=True)
class CatalogRow:
    """One row of a catalog: its row `number` as a spreadsheet shows it, and its cells by column name."""

    number: int
    values: Mapping[str, Any]  # key, declared columns (and declared 有效期 columns); None for an empty cell
    valid_from: dt.date | None  # inclusive; None = open
    valid_to: dt.date | None  # exclusive; None = open

    def valid_on(self, when: dt.date | None) -> bool:
        if when is None:
            return self.valid_from is None and self.valid_to is None
        return (self.valid_from is None or self.valid_from <= when) and (self.valid_to is None or when < self.valid_to)


@attrs.frozen(slots=True, eq=False)
class ColumnArray:
    """One column in array form (see the module docstring)."""

    kind: Kind
    data: Any  # numpy array, or None when a 数 column cannot be held in int64
    null: Any  # numpy bool array
    scale: int = 0
    labels: tuple[str, ...] = ()


@attrs.frozen(slots=True, eq=False)
class CatalogArrays:
    keys: Any
    key_scale: int
    start: Any
    end: Any
    numbers: Any
    columns: Mapping[str, ColumnArray]


@attrs.define(eq=False)
class Catalog:
    """The rows of one 目录 file, checked against its declaration; stored by column, rows made on demand."""

    decl: ir.CatalogDecl
    shown_path: str
    real_path: Path
    types: Mapping[str, Type]  # every column read (key, declared columns, 有效期 columns) → its type
    cells: Mapping[str, list[Any]]  # declared column (and key) → its values in file order; None = empty
    starts: list[dt.date | None]  # 生效 of each row (all None without 有效期)
    ends: list[dt.date | None]  # 失效 of each row
    first: int  # the row number of the first data row (CSV 2: the header is row 1; Parquet 1)
    digest: str  # SHA-256 of the file's bytes (a served policy's version covers its data: docs/serve.md)
    # key → the position of its only row; `versions`: key → its rows when it has several, earliest 生效 first
    single: dict[Any, int] = attrs.field(repr=False)
    versions: dict[Any, list[int]] = attrs.field(repr=False)
    _built: dict[int, CatalogRow] = attrs.field(factory=dict, repr=False)
    _arrays: CatalogArrays | None = attrs.field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.decl.name

    @property
    def dated(self) -> bool:
        return self.decl.valid_from is not None or self.decl.valid_to is not None

    def __len__(self) -> int:
        return len(self.starts)

    def row(self, position: int) -> CatalogRow:
        """The row at `position` (0-based, file order)."""
        found = self._built.get(position)
        if found is None:
            values = {name: column[position] for name, column in self.cells.items()}
            found = self._built[position] = CatalogRow(self.first + position, values, self.starts[position],
                                                       self.ends[position])
        return found

    @property
    def rows(self) -> tuple[CatalogRow, ...]:
        """Every row in file order (a blank row — every cell empty — is not a row)."""
        keys = self.cells[self.decl.key.name]
        return tuple(self.row(i) for i in range(len(self)) if keys[i] is not None)

    def positions(self, key: Any) -> list[int]:
        """The rows (0-based positions) of `key`, earliest 生效 first."""
        found = self.versions.get(key)
        if found is not None:
            return found
        one = self.single.get(key)
        return [] if one is None else [one]

    def keys(self) -> list[Any]:
        """Every key, sorted."""
        return sorted([*self.single, *self.versions])

    def _key(self, key: Any) -> Any:
        if self.types[self.decl.key.name].kind is Kind.NUMBER and isinstance(key, int) and not isinstance(key, bool):
            return Decimal(key)
        return key.strip() if isinstance(key, str) else key

    def find(self, key: Any, when: dt.date | None = None) -> CatalogRow | None:
        """The row of `key` valid on `when` (生效 inclusive, 失效 exclusive, empty = open), or None.

        A catalog without 有效期 ignores `when`; with 有效期, `when=None` matches only a row open at both ends.
        """
        positions = self.positions(self._key(key))
        if not positions:
            return None
        if not self.dated:
            return self.row(positions[0])
        starts, ends = self.starts, self.ends
        for i in positions:
            start, end = starts[i], ends[i]
            if when is None:
                if start is None and end is None:
                    return self.row(i)
            elif (start is None or start <= when) and (end is None or when < end):
                return self.row(i)
        return None

    def find_key(self, key: Any) -> list[CatalogRow]:
        """Every version of `key`, earliest 生效 first (the language server's hover)."""
        return [self.row(i) for i in self.positions(self._key(key))]

    def arrays(self) -> CatalogArrays:
        """The array form for the vector engine (computed once; see the module docstring)."""
        if self._arrays is None:
            self._arrays = _arrays(self)
        return self._arrays


def _start_ordinal(start: dt.date | None) -> int:
    return start.toordinal() if start is not None else 0


# ------------------------------------------------------------------ finding the file


def table_span(name: str, path: str) -> Span:
    """A diagnostic about a `--table` value points at the option itself (no line)."""
    return ir.Span(f"{TABLE_OPTION} {name}={path}", 0, 0, 0, 0)



def declaring_scope(program: Program, name: str) -> ModuleScope | None:
    for scope in [program.root, *program.modules.values()]:
        if name in scope.catalogs:
            return scope
    return None


def _locate(program: Program, scope: ModuleScope, decl: ir.CatalogDecl) -> tuple[Path | Refusal, str, Span]:
    """(resolved file or refusal, the path as shown, where a problem with the file is reported)."""
    override = program.tables.get(decl.name)
    if override is not None:
        found = resolve_data_file(Path(override), program.project_root)
        return found, override, table_span(decl.name, override)
    base = scope.real.parent if scope.real is not None else Path(scope.path).parent
    shown = (Path(scope.path).parent / decl.path).as_posix()
    if shown.startswith("./"):
        shown = shown[2:]
    found = resolve([base / decl.path], program.roots)
    return found, shown, decl.path_span


def _refusal_diagnostic(decl: ir.CatalogDecl, shown: str, span: Span, refusal: Refusal, override: bool) -> Diagnostic:
    if refusal.kind == "missing":
        hint = ("--table 的路径相对于当前文件夹" if override else "目录文件的路径相对于声明它的政策文件") + \
               "；文件必须在项目文件夹（含 pyproject.toml 或 yibaolang.toml 的文件夹）之内"
    elif refusal.kind == "too-large":
        hint = f"目录文件最大 {MAX_CATALOG_BYTES // (1024 * 1024)}MB；更大的目录请改存为 Parquet 或拆分"
    else:
        hint = "请检查路径"
    return error("YB463", span, f"目录 {decl.name} 的数据文件 {shown} {refusal.reason}", hint)


# ------------------------------------------------------------------ types of the columns


def column_types(scope: ModuleScope, decl: ir.CatalogDecl) -> dict[str, Type]:
    """Each column the file must hold → its declared type (有效期 columns not declared are 日期)."""
    types: dict[str, Type] = {}
    for col in (decl.key, *decl.columns):
        types[col.name] = _resolve_type(scope, col.type, qualified(decl.name, col.name))
    for name in (decl.valid_from, decl.valid_to):
        if name is not None:
            types.setdefault(name, DATE)
    return types


def _resolve_type(scope: ModuleScope, ref: ir.TypeRef, owner: str) -> Type:
    """As checks/typecheck.py resolves it (already checked there: an unknown type is read as 文本)."""
    if ref.values is not None:
        found = scope.input_enums.get(owner)
        return enum_type(found if found is not None else EnumType(owner, ref.values, scope.path))
    if ref.qualifier is not None:
        entry = scope.aliases.get(ref.qualifier)
        if entry is not None and ref.name in entry[1].enums:
            return enum_type(entry[1].enums[ref.name])
        return TEXT
    if ref.name in PRIMITIVES:
        return PRIMITIVES[ref.name]
    if ref.name in scope.enums:
        return enum_type(scope.enums[ref.name])
    return TEXT


def _labels(type_: Type) -> tuple[str, ...]:
    return type_.enum.values if type_.enum is not None else ()


def _bound(scope: ModuleScope, expr: ir.Expr | None) -> Any:
    """A 范围 bound: a literal, or a parameter whose only version is a literal; None if neither."""
    if expr is None:
        return None
    if isinstance(expr, ir.Literal):
        return expr.value
    if isinstance(expr, ir.Name) and expr.qualifier is None:
        symbol = scope.own.get(expr.name)
        decl = symbol.decl if symbol is not None else None
        if isinstance(decl, ir.ParamDecl) and len(decl.versions) == 1 and isinstance(decl.versions[0].value, ir.Literal):
            return decl.versions[0].value.value
    return None


def fingerprint(scope: ModuleScope, decl: ir.CatalogDecl) -> tuple[Any, ...]:
    """What the reading of a file depends on in the declaration (spans left out)."""
    types = column_types(scope, decl)
    cols = tuple((c.name, types[c.name].name, _labels(types[c.name]),
                  c.nullable, _bound(scope, c.range_low), _bound(scope, c.range_high))
                 for c in (decl.key, *decl.columns))
    return (decl.name, cols, decl.valid_from, decl.valid_to)


# ------------------------------------------------------------------ the cache and the entry point

# (real path, mtime_ns, size, declaration fingerprint, path as shown) → the catalog, or (its refusal, the span
# the refusal was reported at).  The declaration's position is not in the key: editing the policy above a
# 目录 (the language server) does not read the data again.
_CACHE: collections.OrderedDict[tuple[Any, ...], Catalog | tuple[CatalogError, Span]] = collections.OrderedDict()


def clear_cache() -> None:
    """Forget every catalog read (tests and benchmarks; a changed file is noticed without it)."""
    _CACHE.clear()
    _LOCATED.clear()


# Where each (program, catalog, --table path) reads from, and the declaration's fingerprint: worked out once,
# so that a cache hit costs one stat (the interpreter may ask for a catalog at every lookup).
_LOCATED: weakref.WeakKeyDictionary[Program, dict[tuple[str, str | None], tuple[Any, ...]]] = \
    weakref.WeakKeyDictionary()


def catalog_for(program: Program, scope: ModuleScope, name: str) -> Catalog:
    """The catalog `name` declared in `scope` (or elsewhere in the program); CatalogError if it is unusable.

    Loaded once per process for each (real path, mtime_ns, size, declaration); a later call on an unchanged
    file returns the same object, a changed file is read again.
    """
    override = program.tables.get(name)
    memo = _LOCATED.setdefault(program, {})
    located = memo.get((name, override))
    if located is None:
        decl = scope.catalogs.get(name)
        if decl is None:
            found = declaring_scope(program, name)
            if found is None:
                raise KeyError(name)
            scope, decl = found, found.catalogs[name]
        path, shown, span = _locate(program, scope, decl)
        located = memo[(name, override)] = (scope, decl, path, shown, span, fingerprint(scope, decl))
    scope, decl, path, shown, span, print_ = located
    if isinstance(path, Refusal):
        raise CatalogError([_refusal_diagnostic(decl, shown, span, path, override is not None)])
    try:
        info = os.stat(path)
    except OSError:
        memo.pop((name, override), None)  # gone since: resolved again next time
        raise CatalogError([_refusal_diagnostic(decl, shown, span, Refusal("missing", "不存在"),
                                                override is not None)]) from None
    key = (str(path), info.st_mtime_ns, info.st_size, print_, shown)
    cached = _CACHE.get(key)
    # A refusal may point at the declaration (a Parquet file that is not one): moved declaration, read again.
    if cached is None or (isinstance(cached, tuple) and cached[1] != span):
        try:
            cached = _load(scope, decl, path, shown, span)
        except CatalogError as exc:
            cached = (exc, span)
        _CACHE[key] = cached
        while len(_CACHE) > CACHE_ENTRIES:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    if isinstance(cached, tuple):
        raise cached[0]
    if cached.decl is not decl:
        cached.decl = decl  # same data, same fingerprint: the newer declaration (its spans) is the one shown
    return cached


def load_catalogs(program: Program) -> tuple[dict[str, Catalog], list[Diagnostic]]:
    """Every catalog the program declares, and the diagnostics of those that cannot be used."""
    catalogs: dict[str, Catalog] = {}
    problems: list[Diagnostic] = []
    for scope in [program.root, *(s for s in program.modules.values() if s is not program.root)]:
        for name in scope.catalogs:
            if name in catalogs:
                continue
            try:
                catalogs[name] = catalog_for(program, scope, name)
            except CatalogError as exc:
                problems.extend(exc.diagnostics)
    return catalogs, problems


def catalog_files(program: Program) -> list[str]:
    """The data file each catalog reads (or would read, when it is missing): what a hot reload watches."""
    files: list[str] = []
    for scope in [program.root, *(s for s in program.modules.values() if s is not program.root)]:
        for decl in scope.catalogs.values():
            override = program.tables.get(decl.name)
            if override is not None:
                files.append(os.path.abspath(override))
                continue
            base = scope.real.parent if scope.real is not None else Path(scope.path).parent
            files.append(os.path.abspath(base / decl.path))
    return list(dict.fromkeys(files))


def check_catalogs(program: Program) -> list[Diagnostic]:
    """The diagnostics of every catalog's data (the `check` command, `serve` at start and reload)."""
    return load_catalogs(program)[1]


# ------------------------------------------------------------------ reading the file


@attrs.define
class _Column:
    """One needed column of the file: its name, 1-based position in the file, and its raw cells."""

    name: str
    position: int
    cells: list[Any]
    arrow_type: str | None = None  # Parquet: the column's type, for messages; STRIPPED for CSV read by pyarrow
    arrow: Any = None  # CSV read by pyarrow: the stripped cells as an Arrow string array (null = empty)


class _Reports:
    """The problems of one file: all counted, the first MAX_REPORTS by (row, column) kept."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        # A max-heap (negated positions) of the MAX_REPORTS earliest problems seen so far.
        self.heap: list[tuple[int, int, int, str, str, str, tuple[tuple[Span, str], ...]]] = []
        self.count = 0

    def add(self, row: int, column: int, code: str, message: str, hint: str = "",
            related: tuple[tuple[Span, str], ...] = ()) -> None:
        self.count += 1
        item = (-row, -column, -self.count, code, message, hint, related)
        if len(self.heap) < MAX_REPORTS:
            heapq.heappush(self.heap, item)
        elif item > self.heap[0]:
            heapq.heapreplace(self.heap, item)

    def diagnostics(self) -> list[Diagnostic]:
        kept = sorted(self.heap, reverse=True)
        out = [error(code, cell_span(self.shown, -row, -col), message, hint, related=related)
               for row, col, _, code, message, hint, related in kept]
        rest = self.count - len(kept)
        if rest > 0 and out:
            last = out[-1]
            more = f"这个文件还有 {rest:,} 处问题没有列出，改正以上各处后再检查"
            out[-1] = attrs.evolve(last, hint=f"{last.hint}（{more}）" if last.hint else more)
        return out


def cell_span(shown: str, row: int, column: int) -> Span:
    """The span of one cell: row as a spreadsheet shows it, column 1-based (0: the whole row)."""
    return Span(shown, row, max(column, 1), row, max(column, 1) + 1)


def column_letter(position: int) -> str:
    """1 → A, 27 → AA: the column as a spreadsheet labels it."""
    letters = ""
    while position > 0:
        position, rem = divmod(position - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _load(scope: ModuleScope, decl: ir.CatalogDecl, real: Path, shown: str, span: Span) -> Catalog:
    try:
        data = read_limited(real, MAX_CATALOG_BYTES)
    except ReadRefused as exc:
        raise CatalogError([_refusal_diagnostic(decl, shown, span, exc.refusal, span.line == 0)]) from None
    types = column_types(scope, decl)
    reports = _Reports(shown)
    parquet = data[:4] == b"PAR1" or real.suffix.lower() in (".parquet", ".pq")
    if parquet:
        columns, count, first = _read_parquet(decl, data, shown, span, types, reports)
    elif real.suffix.lower() in (".csv", ".txt") or not real.suffix:
        columns, count, first = _read_csv(decl, data, shown, span, types, reports)
    else:
        raise CatalogError([error("YB463", span, f"目录 {decl.name} 的数据文件 {shown} 不是 CSV 或 Parquet 文件",
                                  "目录文件的扩展名应为 .csv 或 .parquet")])
    if reports.count:
        raise CatalogError(reports.diagnostics())
    cells, starts, ends = _convert(scope, decl, types, columns, count, first, reports)
    if reports.count:
        raise CatalogError(reports.diagnostics())
    single, versions = _check_keys(decl, cells[decl.key.name], starts, ends, columns, first, shown, reports)
    if reports.count:
        raise CatalogError(reports.diagnostics())
    return Catalog(decl, shown, real, types, cells, starts, ends, first, hashlib.sha256(data).hexdigest(),
                   single, versions)


def _missing_columns(decl: ir.CatalogDecl, header: list[str], types: Mapping[str, Type],
                     reports: _Reports) -> dict[str, int]:
    """Each needed column → its 1-based position; YB464 for those absent or named twice."""
    positions: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in seen and name in types:
            reports.add(1, i, "YB464", f"表头中列名“{name}”出现了两次（{column_letter(seen[name])} 列与 "
                        f"{column_letter(i)} 列）", "每一列的名称只能出现一次")
        seen.setdefault(name, i)
    for name in types:
        if name in seen:
            positions[name] = seen[name]
            continue
        guess = closest(name, [h for h in header if h not in types])
        role = "键" if name == decl.key.name else "有效期的列" if name in (decl.valid_from, decl.valid_to) else "列"
        hint = (f"表头中有“{guess}”，是否应为“{name}”？" if guess
                else "第一行是列名；文件中的列有：" + "、".join(h for h in header if h)[:200])
        reports.add(1, len(header) + 1, "YB464", f"目录 {decl.name} 声明的{role}“{name}”在文件中没有", hint)
    return positions


def _read_csv(decl: ir.CatalogDecl, data: bytes, shown: str, span: Span, types: Mapping[str, Type],
              reports: _Reports) -> tuple[list[_Column], int, int]:
    text, row = utf8_text(data)
    if text is None:
        raise CatalogError([error("YB463", cell_span(shown, row, 0),
                                  f"目录文件 {shown} 第 {row} 行不是 UTF-8 文本",
                                  "请用 UTF-8 编码保存（Excel：另存为“CSV UTF-8（逗号分隔）”）")])
    if "\x00" in text:
        raise CatalogError([error("YB463", span, f"目录文件 {shown} 含有空字符，不是文本的 CSV 文件",
                                  "请确认这是 CSV 文件")])
    try:
        header = next(csv.reader(io.StringIO(text)), None)
    except csv.Error:
        header = None
    if not header or not any(h.strip() for h in header):
        raise CatalogError([error("YB463", cell_span(shown, 1, 0), f"目录文件 {shown} 没有表头（第一行应为列名）",
                                  "第一行写列名，例如：编码,名称,类别")])
    header = [h.strip() for h in header]
    positions = _missing_columns(decl, header, types, reports)
    if reports.count:
        return [], 0, 2
    fast = _read_csv_arrow(text, header, positions) if READ_CSV_WITH_ARROW else None
    if fast is not None:
        return fast
    return _read_csv_python(text, header, positions, shown)


def _read_csv_arrow(text: str, header: list[str], positions: Mapping[str, int]) -> tuple[list[_Column], int, int] | None:
    """pyarrow.csv, every needed column as strings; None when pyarrow is absent or the file is irregular."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    names = [f"c{i}" for i in range(len(header))]
    wanted = {name: f"c{pos - 1}" for name, pos in positions.items()}
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=True),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in names}, include_columns=list(dict.fromkeys(wanted.values())),
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None  # an empty line, a short row, a quoted line break…: the exact reader says where
    import pyarrow.compute as pc

    columns = []
    for name, col in wanted.items():
        trimmed = pc.utf8_trim_whitespace(table.column(col))
        nulled = pc.if_else(pc.equal(trimmed, ""), None, trimmed)
        columns.append(_Column(name, positions[name], nulled.to_pylist(), STRIPPED, nulled))
    return columns, table.num_rows, 2


def _read_csv_python(text: str, header: list[str], positions: Mapping[str, int],
                     shown: str) -> tuple[list[_Column], int, int]:
    """The csv module: slower, but it says which row is irregular (a row as a spreadsheet shows it)."""
    cells: dict[str, list[Any]] = {name: [] for name in positions}
    count = 0
    reader = csv.reader(io.StringIO(text))
    try:
        next(reader)
        for count, record in enumerate(reader, start=1):
            row = count + 1
            if record and len(record) != len(header):
                raise CatalogError([error(
                    "YB463", cell_span(shown, row, min(len(record), len(header)) + 1),
                    f"目录文件 {shown} 第 {row} 行有 {len(record)} 个格子，表头有 {len(header)} 列",
                    "每一行的格子数要与表头相同；格子里的逗号要用双引号括起来")])
            for name, pos in positions.items():
                cells[name].append(record[pos - 1] if record else "")
    except csv.Error as exc:
        row = count + 2
        raise CatalogError([error("YB463", cell_span(shown, row, 0),
                                  f"目录文件 {shown} 第 {row} 行不是有效的 CSV（{exc}）",
                                  "检查这一行的引号是否成对")]) from None
    return [_Column(name, pos, cells[name]) for name, pos in positions.items()], count, 2


STRIPPED = "stripped"  # _Column.arrow_type of CSV cells already stripped, None for an empty cell
_ARROW_KINDS = ("string", "large_string", "decimal", "int", "uint", "double", "float", "halffloat", "bool",
                "date32", "date64", "timestamp", "null", "dictionary")


def _read_parquet(decl: ir.CatalogDecl, data: bytes, shown: str, span: Span, types: Mapping[str, Type],
                  reports: _Reports) -> tuple[list[_Column], int, int]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise CatalogError([error("YB463", span, f"读取 Parquet 目录 {shown} 需要 pyarrow",
                                  "请安装：pip install 'yibaolang[batch]'，或把目录存为 CSV")]) from None
    try:
        handle = pq.ParquetFile(pa.BufferReader(data))
        header = list(handle.schema_arrow.names)
        positions = _missing_columns(decl, header, types, reports)
        if reports.count:
            return [], 0, 1
        table = handle.read(columns=list(positions))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CatalogError([error("YB463", span, f"目录文件 {shown} 不是有效的 Parquet 文件（{type(exc).__name__}）",
                                  "请确认文件完整，或改存为 CSV")]) from None
    columns: list[_Column] = []
    for name, pos in positions.items():
        chunked = table.column(name)
        type_text = str(chunked.type)
        if pa.types.is_dictionary(chunked.type):
            chunked = chunked.cast(chunked.type.value_type)
        if not any(type_text.startswith(k) for k in _ARROW_KINDS):
            reports.add(1, pos, "YB465", f"列“{name}”的 Parquet 类型 {type_text} 无法读作 {types[name].name}",
                        "用字符串、整数、decimal128、布尔或日期类型的列")
            continue
        if pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type):
            import pyarrow.compute as pc

            trimmed = pc.utf8_trim_whitespace(chunked)
            nulled = pc.if_else(pc.equal(trimmed, ""), None, trimmed)
            columns.append(_Column(name, pos, nulled.to_pylist(), STRIPPED, nulled))
            continue
        columns.append(_Column(name, pos, chunked.to_pylist(), type_text))
    return columns, table.num_rows, 1


# ------------------------------------------------------------------ cells → values

_FAST_MONEY = re.compile(r"-?\d{1,15}(?:\.\d{1,2})?")
_FAST_NUMBER = re.compile(r"-?\d{1,15}(?:\.\d{1,10})?")
_FAST_FRACTION = re.compile(r"-?\d{1,5}(?:\.\d{1,12})?")
_FAST_PERCENT = re.compile(r"(-?\d{1,7}(?:\.\d{1,10})?)\s*[%％]")
_FAST_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SLASH_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_EMPTY = object()
_FLOAT_FORM = re.compile(r"-?\d+(?:\.(\d+))?")


def _cell(raw: Any, type_: Type, enum_values: frozenset[str]) -> Any:
    """One cell read as `type_`: the value, `_EMPTY`, or a Problem."""
    if raw is None:
        return _EMPTY
    kind = type_.kind
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return _EMPTY
        if kind is Kind.TEXT:
            if len(text) > limits.MAX_VALUE_CHARS:
                return Problem("YB465", f"文本过长：{len(text):,} 个字符", f"一格最多 {limits.MAX_VALUE_CHARS} 个字符")
            return text
        if kind is Kind.MONEY and _FAST_MONEY.fullmatch(text):
            return Decimal(text)
        if kind in (Kind.NUMBER, Kind.RATIO) and _FAST_NUMBER.fullmatch(text):
            value = Decimal(text)
            if kind is Kind.RATIO and abs(value) > limits.MAX_RATIO:
                return parse_value(text, type_)
            return value
        if kind is Kind.DATE:
            match = _FAST_DATE.fullmatch(text) or _SLASH_DATE.fullmatch(text)
            if match is not None:
                try:
                    return dt.date(int(match[1]), int(match[2]), int(match[3]))
                except ValueError:
                    return Problem("YB465", f"日期不存在：{text}", "请检查月份和日子")
        if kind is Kind.ENUM:
            return text if text in enum_values else _not_an_option(text, type_)
        return parse_value(text, type_)
    if isinstance(raw, float):
        return _float_cell(raw, type_)
    if kind is Kind.TEXT:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return str(raw)
        return Problem("YB465", f"应为 文本，这里是 {raw!r}", "")
    if kind is Kind.DATE and isinstance(raw, dt.datetime):
        if raw.tzinfo is None and raw.time() == dt.time(0):
            return raw.date()
        return Problem("YB465", f"应为 日期，这里是带时刻的 {raw.isoformat(' ')}", "日期列只写日期，例如 2024-01-01")
    if kind is Kind.ENUM:
        return Problem("YB465", f"应为 {type_.name} 的选项，这里是 {raw!r}", "选项列的值应为文本")
    return parse_value(raw, type_)


def _not_an_option(text: str, type_: Type) -> Problem:
    values = type_.enum.values if type_.enum is not None else ()
    guess = closest(text, values)
    hint = f"是否想写 {guess}？" if guess else f"{type_.name} 的选项有：{'、'.join(values)}"
    return Problem("YB465", f"“{text}”不是 {type_.name} 的选项", hint)


def _float_cell(raw: float, type_: Type) -> Any:
    """A float cell: its shortest decimal form when that has few enough places (FLOAT_PLACES), else refused."""
    places = FLOAT_PLACES.get(type_.kind)
    shown = repr(raw)
    if places is None:
        if type_.is_duration and raw.is_integer():
            return parse_value(int(raw), type_)
        return Problem("YB465", f"应为 {type_.name}，这里是浮点数 {shown}", "")
    match = _FLOAT_FORM.fullmatch(shown)
    if match is None or len(match[1] or "") > places or abs(raw) >= 2.0**53 / 10**places:
        return Problem("YB465", f"{type_.name}以二进制浮点数 {shown} 存放，无法保证精确",
                       "Parquet 中请用 decimal128(18, 2) 或整数存放金额，或写成文本")
    return parse_value(Decimal(shown), type_)


_MISSING = object()


def _fast(kind: Kind) -> Any:
    """The common spelling of a cell of `kind`, read without the general parser (None: use it)."""
    if kind is Kind.MONEY:
        match = _FAST_MONEY.fullmatch
        return lambda s: Decimal(s) if match(s) else None
    if kind is Kind.NUMBER:
        number = _FAST_NUMBER.fullmatch
        return lambda s: Decimal(s) if number(s) else None
    if kind is Kind.RATIO:
        fraction, percent = _FAST_FRACTION.fullmatch, _FAST_PERCENT.fullmatch

        def ratio(s: str) -> Decimal | None:
            if fraction(s):
                return Decimal(s)
            m = percent(s)
            return Decimal(m[1]) / 100 if m else None  # exact: at most 7 + 10 digits

        return ratio
    if kind is Kind.DATE:
        def date(s: str) -> dt.date | None:
            if len(s) == 10 and s[4] == "-" and s[7] == "-" and s[:4].isdigit():
                try:
                    return dt.date.fromisoformat(s)
                except ValueError:
                    return None
            return None

        return date
    return lambda s: None


_VECTOR_PATTERNS: dict[Kind, tuple[str, ...]] = {
    Kind.MONEY: (r"^-?\d{1,15}(?:\.\d{1,2})?$",),
    Kind.NUMBER: (r"^-?\d{1,15}(?:\.\d{1,10})?$",),
    Kind.RATIO: (r"^-?\d{1,5}(?:\.\d{1,12})?$", r"^-?\d{1,7}(?:\.\d{1,10})?\s*[%％]$"),
    Kind.DATE: (r"^\d{4}-\d{2}-\d{2}$",),
}


def _vector_fast(column: _Column, kind: Kind, out: list[Any]) -> list[int] | None:
    """The common spellings of a pyarrow-read CSV column, converted in bulk into `out`; the cells left to do.

    The patterns are matched by Arrow (RE2) and the matching cells converted with `map` — the same exact
    readings as `_fast`, without a Python call per cell.  None when nothing could be done in bulk.
    """
    patterns = _VECTOR_PATTERNS.get(kind)
    if patterns is None:
        return None
    import pyarrow.compute as pc

    arr = column.arrow
    pending = pc.is_valid(arr)  # the cells not yet converted: not empty, no pattern matched so far
    for number, pattern in enumerate(patterns):
        mask = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
        where = pc.indices_nonzero(mask).to_pylist()
        if not where:
            continue
        texts = pc.filter(arr, mask)
        values: list[Any]
        if kind is Kind.DATE:
            try:
                values = list(map(dt.date.fromisoformat, texts.to_pylist()))
            except ValueError:  # a day that does not exist: the cell by cell reader names it
                return None
        elif number == 1:  # 30%: the percentage as a fraction (exact: at most 17 digits)
            points = map(Decimal, pc.replace_substring_regex(texts, r"\s*[%％]$", "").to_pylist())
            values = list(map(Decimal.__truediv__, points, itertools.repeat(Decimal(100))))
        else:
            values = list(map(Decimal, texts.to_pylist()))
        for i, value in zip(where, values, strict=True):
            out[i] = value
        pending = pc.and_(pending, pc.invert(mask))
    rest: list[int] = pc.indices_nonzero(pending).to_pylist()
    return rest


_DECIMAL_TYPE = re.compile(r"decimal(?:32|64|128|256)\((\d+), (-?\d+)\)")


def _typed_fast(column: _Column, type_: Type) -> list[Any] | None:
    """A Parquet column whose Arrow type already is the declared one: its values as they are (or None).

    decimal with at most 2 places for 金额 (10 for 数, 12 for 比例), integers for numbers and durations,
    date32/date64 for 日期, bool for 是否 — each within the limits a case value has (semantics/limits.py).
    """
    kind, arrow_type, cells = type_.kind, column.arrow_type or "", column.cells
    given = [c for c in cells if c is not None]
    match = _DECIMAL_TYPE.fullmatch(arrow_type)
    if match is not None and kind in (Kind.MONEY, Kind.NUMBER, Kind.RATIO):
        places = {Kind.MONEY: limits.MONEY_PLACES, Kind.NUMBER: limits.MAX_FRACTION_DIGITS,
                  Kind.RATIO: limits.MAX_FRACTION_DIGITS + 2}[kind]
        biggest = limits.MAX_RATIO if kind is Kind.RATIO else limits.MAX_MAGNITUDE
        if int(match[2]) <= places and all(abs(v) < biggest for v in given):
            return list(cells)
        return None
    if arrow_type.startswith(("int", "uint")) and (kind in (Kind.MONEY, Kind.NUMBER, Kind.RATIO) or type_.is_duration):
        biggest = limits.MAX_RATIO if kind is Kind.RATIO else limits.MAX_MAGNITUDE
        if all(abs(v) < biggest for v in given):
            return list(cells) if type_.is_duration else [Decimal(v) if v is not None else None for v in cells]
        return None
    if arrow_type.startswith("date") and kind is Kind.DATE:
        return list(cells)
    if arrow_type == "bool" and kind is Kind.BOOL:
        return list(cells)
    return None


def _empty_cells(column: _Column, cells: list[Any]) -> list[int]:
    """The positions of the empty cells (None) of a column."""
    if column.arrow is not None:
        import pyarrow.compute as pc

        found: list[int] = pc.indices_nonzero(pc.is_null(column.arrow)).to_pylist() if column.arrow.null_count else []
        return found
    return [i for i, c in enumerate(cells) if c is None]


def _longest(column: _Column, cells: list[Any]) -> int:
    """The length of the longest cell of a text column, in characters."""
    if column.arrow is not None:
        import pyarrow.compute as pc

        longest = pc.max(pc.utf8_length(column.arrow)).as_py()
        return int(longest) if longest is not None else 0
    return max((len(c) for c in cells if c is not None), default=0)


def _column_values(column: _Column, type_: Type) -> tuple[list[Any], list[int], list[tuple[int, Problem]]]:
    """The values of one column (None when empty), the positions of its empty cells, and its bad cells."""
    cells = column.cells
    kind = type_.kind
    enum_values = frozenset(type_.enum.values) if type_.enum is not None else frozenset()
    strings = column.arrow_type in (None, STRIPPED, "string", "large_string", "null") \
        or column.arrow_type.startswith("dictionary")
    problems: list[tuple[int, Problem]] = []
    if strings and column.arrow_type != STRIPPED:
        cells = [(c.strip() or None) if c is not None else None for c in cells]
    empty = _empty_cells(column, cells)
    if strings and (kind is Kind.TEXT or kind is Kind.ENUM):
        if kind is Kind.ENUM:
            wrong = set(cells) - enum_values - {None}
            if wrong:
                problems = [(i, _not_an_option(c, type_)) for i, c in enumerate(cells) if c in wrong]
        elif len(empty) < len(cells) and _longest(column, cells) > limits.MAX_VALUE_CHARS:
            problems = [(i, _cell(c, type_, enum_values)) for i, c in enumerate(cells)
                        if c is not None and len(c) > limits.MAX_VALUE_CHARS]
        return cells, empty, problems
    typed = None if strings else _typed_fast(column, type_)
    if typed is not None:
        return typed, empty, problems
    out: list[Any] = [None] * len(cells)
    rest = _vector_fast(column, kind, out) if column.arrow is not None else None
    fast = _fast(kind) if strings else (lambda s: None)
    memo: dict[Any, Any] = {}
    for i in range(len(cells)) if rest is None else rest:
        raw = cells[i]
        if raw is None:
            continue
        value = memo.get(raw, _MISSING)
        if value is _MISSING:
            value = fast(raw) if strings else None
            if value is None:
                value = _cell(raw, type_, enum_values)
            memo[raw] = value
        if isinstance(value, Problem):
            problems.append((i, value))
        elif value is not _EMPTY:
            out[i] = value
        else:
            empty.append(i)
    return out, empty, problems


def _blank_rows(columns: list[_Column], key: str) -> set[int]:
    """The rows whose every cell read is empty (a spreadsheet's trailing empty rows): skipped, still counted."""
    ordered = sorted(columns, key=lambda c: c.name != key)  # the key first: usually no row is blank at all
    blank: set[int] | None = None
    for column in ordered:
        if column.arrow is not None and blank is None:
            empties = set(_empty_cells(column, column.cells))
        elif blank is None:
            empties = {i for i, c in enumerate(column.cells) if c is None or (isinstance(c, str) and not c.strip())}
        else:
            empties = {i for i in blank if column.cells[i] is None
                       or (isinstance(column.cells[i], str) and not column.cells[i].strip())}
        blank = empties
        if not blank:
            return set()
    return blank or set()


def _convert(scope: ModuleScope, decl: ir.CatalogDecl, types: Mapping[str, Type], columns: list[_Column],
             count: int, first: int, reports: _Reports) -> tuple[dict[str, list[Any]], list[Any], list[Any]]:
    """Every cell read as its column's type, with the 范围 of each column checked (YB465–YB467)."""
    validity = {decl.valid_from, decl.valid_to} - {None}
    fields = {c.name: c for c in (decl.key, *decl.columns)}
    converted: dict[str, list[Any]] = {}
    blank = _blank_rows(columns, decl.key.name)
    for column in columns:
        type_ = types[column.name]
        field = fields.get(column.name)
        nullable = column.name in validity or (field is not None and field.nullable and field is not decl.key)
        where = f"{column_letter(column.position)} 列“{column.name}”"
        out, empty, problems = _column_values(column, type_)
        if not nullable:
            for i in empty:
                if i in blank:
                    continue
                hint = "每一行都要有键" if field is decl.key else "这一列没有声明 可空，每一格都要填写"
                reports.add(first + i, column.position, "YB466", f"第 {first + i} 行 {where}是空的", hint)
        for i, problem in problems:
            reports.add(first + i, column.position, "YB465", f"第 {first + i} 行 {where}：{problem.message}",
                        problem.hint)
        low = _bound(scope, field.range_low) if field is not None else None
        high = _bound(scope, field.range_high) if field is not None else None
        if low is not None or high is not None:
            for i, value in enumerate(out):
                if value is None or ((low is None or value >= low) and (high is None or value <= high)):
                    continue
                shown_low = display(type_, low) if low is not None else "不限"
                shown_high = display(type_, high) if high is not None else "不限"
                reports.add(first + i, column.position, "YB467",
                            f"第 {first + i} 行 {where}：{display(type_, value)} 超出声明的范围 {shown_low} 至 "
                            f"{shown_high}", "请核对这一格；范围由 目录 声明中这一列的 范围 规定")
        converted[column.name] = out
    none: list[Any] = [None] * count
    starts = converted.get(decl.valid_from, none) if decl.valid_from else none
    ends = converted.get(decl.valid_to, none) if decl.valid_to else none
    cells = {name: converted[name] for name in fields if name in converted}
    return cells, starts, ends


def _check_keys(decl: ir.CatalogDecl, keys: list[Any], starts: list[Any], ends: list[Any], columns: list[_Column],
                first: int, shown: str, reports: _Reports) -> tuple[dict[Any, int], dict[Any, list[int]]]:
    """(key → its only row, key → its rows when several, earliest 生效 first); YB468 for a key twice (no
    有效期), overlapping versions, or a 生效 not before its 失效."""
    positions = {c.name: c.position for c in columns}
    key = decl.key.name
    key_col = positions[key]
    from_col = positions.get(decl.valid_from or "", key_col)
    to_col = positions.get(decl.valid_to or "", key_col)
    n = len(keys)
    single = dict(zip(reversed(keys), range(n - 1, -1, -1), strict=True))  # each key → its first row
    single.pop(None, None)  # blank rows (every cell empty) have no key
    index: dict[Any, list[int]] = {}
    if len(single) < n - keys.count(None):
        repeated = {k for k, times in collections.Counter(keys).items() if times > 1 and k is not None}
        for i, k in enumerate(keys):
            if k in repeated:
                index.setdefault(k, []).append(i)
        for k in repeated:
            del single[k]
    dated = decl.valid_from is not None or decl.valid_to is not None
    if dated:
        never = [i for i, (start, end) in enumerate(zip(starts, ends, strict=True))
                 if start is not None and end is not None and start >= end]
        for i in never:
            reports.add(first + i, to_col, "YB468",
                        f"第 {first + i} 行：生效日期 {starts[i].isoformat()} 不早于失效日期 {ends[i].isoformat()}，"
                        "这一行从不有效", "失效日期是不含当日的，应晚于生效日期")
    for k, rows in index.items():
        if not dated:
            for i in rows[1:]:
                reports.add(first + i, key_col, "YB468",
                            f"第 {first + i} 行：键 {key}“{k}”重复（第 {first + rows[0]} 行已有）",
                            "没有 有效期 的目录，每个键只能有一行；同一键的多个版本要声明 有效期",
                            related=((cell_span(shown, first + rows[0], key_col), "第一次出现"),))
            continue
        rows.sort(key=lambda i: (_start_ordinal(starts[i]), i))
        latest = rows[0]
        for i in rows[1:]:
            if ends[latest] is None or starts[i] is None or starts[i] < ends[latest]:
                reports.add(first + i, from_col, "YB468",
                            f"第 {first + i} 行：键 {key}“{k}”的有效期（{_period(starts[i], ends[i])}）与第 "
                            f"{first + latest} 行的（{_period(starts[latest], ends[latest])}）重叠",
                            "同一个键的各个版本，前一版的失效日期应不晚于后一版的生效日期",
                            related=((cell_span(shown, first + latest, from_col), "与这一行重叠"),))
            if ends[latest] is not None and (ends[i] is None or ends[i] > ends[latest]):
                latest = i
    return single, index


def _period(start: dt.date | None, end: dt.date | None) -> str:
    return f"{start.isoformat() if start else '不限'} 至 {end.isoformat() if end else '不限'}"


# ------------------------------------------------------------------ the array form


def _day(value: dt.date) -> int:
    return value.toordinal() - EPOCH_ORDINAL


def _day_or(value: dt.date | None, open_end: int) -> int:
    return value.toordinal() - EPOCH_ORDINAL if value is not None else open_end


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


_SAFE = 1 << 62


def _scaled_column(values: Sequence[Any], scale: int | None) -> tuple[Any, int]:
    import numpy as np

    given = [v for v in values if v is not None]
    if scale is None:
        scale = max((_places(v.normalize()) for v in given), default=0)
    factor = Decimal(10) ** scale
    out: list[int] = []
    for v in values:
        if v is None:
            out.append(0)
            continue
        n = int(v * factor)
        if abs(n) >= _SAFE:
            return None, scale
        out.append(n)
    return np.array(out, dtype=np.int64), scale


def _arrays(catalog: Catalog) -> CatalogArrays:
    import numpy as np

    decl = catalog.decl
    key_type = catalog.types[decl.key.name]
    order = [i for k in catalog.keys() for i in catalog.positions(k)]  # each key's rows are by 生效 already
    start = np.array([_day_or(catalog.starts[i], OPEN_START) for i in order], dtype=np.int64)
    end = np.array([_day_or(catalog.ends[i], OPEN_END) for i in order], dtype=np.int64)
    numbers = np.array(order, dtype=np.int64) + catalog.first
    key_values = [catalog.cells[decl.key.name][i] for i in order]
    key_scale = 0
    if key_type.kind is Kind.NUMBER:
        keys, key_scale = _scaled_column(key_values, None)
    else:
        keys = np.array(key_values, dtype=str) if order else np.array([], dtype=str)
    columns: dict[str, ColumnArray] = {}
    for col in decl.columns:
        type_ = catalog.types[col.name]
        cells = catalog.cells[col.name]
        values = [cells[i] for i in order]
        null = np.array([v is None for v in values], dtype=bool)
        kind = type_.kind
        if kind in (Kind.MONEY, Kind.RATIO, Kind.NUMBER):
            data, scale = _scaled_column(values, 2 if kind is Kind.MONEY else None)
            columns[col.name] = ColumnArray(kind, data, null, scale)
        elif type_.is_duration:
            columns[col.name] = ColumnArray(kind, np.array([v or 0 for v in values], dtype=np.int64), null)
        elif kind is Kind.DATE:
            columns[col.name] = ColumnArray(kind, np.array([_day(v) if v else 0 for v in values], dtype=np.int64), null)
        elif kind is Kind.BOOL:
            columns[col.name] = ColumnArray(kind, np.array([bool(v) for v in values], dtype=bool), null)
        elif kind is Kind.ENUM and type_.enum is not None:
            labels = type_.enum.values
            code = {label: i for i, label in enumerate(labels)}
            data = np.array([code[v] if v is not None else -1 for v in values], dtype=np.int64)
            columns[col.name] = ColumnArray(kind, data, null, 0, labels)
        else:
            columns[col.name] = ColumnArray(kind, np.array(values, dtype=object), null)
    return CatalogArrays(keys, key_scale, start, end, numbers, columns)
