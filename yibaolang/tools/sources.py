"""Where claims live: database tables, Excel sheets, CSV files in other encodings (docs/batch.md 数据源).

`--cases` and `-o` take, besides the files `batch.py` reads and writes, these locations:

- `duckdb:///结算.duckdb?table=T` — DuckDB, embedded (no server); read and written through its Arrow
  interface.
- `sqlite:///结算.db?table=T` — SQLite through the standard library's `sqlite3` (exact per cell: an
  INTEGER, a REAL read through its shortest decimal form, or TEXT).
- `postgresql://用户@主机:端口/库?table=T` — PostgreSQL through the ADBC driver (libpq inside: the
  password comes from the URL, the PG* environment variables or ~/.pgpass as for psql; rows travel as
  binary COPY straight into Arrow; NUMERIC arrives as its exact decimal text).
- `结算.xlsx?sheet=Sheet1` — Excel: read with python-calamine (Rust, streaming rows), written with
  XlsxWriter (constant memory).

A path after `sqlite:///` or `duckdb:///` is relative to the current folder; `sqlite:////abs/x.db` is
absolute (SQLAlchemy's spelling).  Reading is in chunks of `--chunk-size` rows, so memory stays bounded.

A result table is written in one transaction: rows go into a new table with a temporary name; when every
row is there, the old table (with `--replace`) is dropped and the new one renamed, and the transaction
commits.  A run that fails or is killed leaves the database as it was (docs/reliability.md).

This module imports nothing from `batch.py` (which calls it); its errors are `files.OutputError`
(YB470–YB479, docs/diagnostics.md).
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import os
import re
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import attrs

from yibaolang.files import SAME_AS_INPUT, OutputError

BAD_LOCATION = "YB470"
NO_DRIVER = "YB471"
CANNOT_CONNECT = "YB472"
BAD_QUERY = "YB473"
TABLE_EXISTS = "YB474"
CANNOT_WRITE_TABLE = "YB475"
UNDECODABLE = "YB476"
BAD_SHEET = "YB477"
TOO_MANY_ROWS = "YB478"

DB_HINT = "请运行 pip install 'yibaolang[db]'"
EXCEL_HINT = "请运行 pip install 'yibaolang[excel]'"
ROW_NUMBER = "行号"
EXCEL_MAX_ROWS = 1_048_576  # including the header row
EXCEL_MAX_TEXT = 32_767
EXACT_DOUBLE = Decimal(10) ** 13  # below this, an amount in 元 with 2 decimals is its double's shortest form
SCHEMES = {"duckdb": "duckdb", "sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql"}
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


@attrs.frozen
class Location:
    """A parsed `--cases` / `-o` location that is not a plain CSV/JSON Lines/Parquet file."""

    kind: str  # duckdb | sqlite | postgresql | excel
    shown: str  # as the user wrote it, the password masked
    path: str | None = None  # the database or workbook file
    dsn: str | None = None  # PostgreSQL: the libpq URI without our parameters
    table: str | None = None
    sheet: str | None = None
    query: str | None = None


def is_location(text: str) -> bool:
    """Whether `text` names a database table or an Excel sheet rather than a CSV/JSON Lines/Parquet file."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):  # any URL: an unknown scheme is YB470, not "no such file"
        return True
    return _excel_path(text) is not None


def _excel_path(text: str) -> tuple[str, str | None] | None:
    base, _, params = text.partition("?")
    if base.lower().endswith(EXCEL_SUFFIXES):
        sheet = None
        for key, value in parse_qsl(params, keep_blank_values=True):
            if key == "sheet":
                sheet = value
        return base, sheet
    return None


def _bad(text: str, why: str, hint: str = "") -> OutputError:
    return OutputError(BAD_LOCATION, f"无法识别数据源 {text}：{why}", hint or
                       "写法见 docs/batch.md 数据源，如 duckdb:///结算.duckdb?table=理赔、"
                       "postgresql://用户@主机:5432/库?table=理赔、结算.xlsx?sheet=Sheet1")


def parse(text: str, *, query: str | None = None, role: str = "input") -> Location:
    """`text` as a Location; a bad one is YB470 naming what is wrong."""
    excel = _excel_path(text)
    if excel is not None and "://" not in text:
        if query is not None:
            raise _bad(text, "--query 只用于数据库", "Excel 工作表用 ?sheet=名称 选择")
        return Location("excel", text, path=excel[0], sheet=excel[1])
    parts = urlsplit(text)
    kind = SCHEMES.get(parts.scheme.lower())
    if kind is None:
        raise _bad(text, f"不认识的前缀 {parts.scheme}://")
    params = parse_qsl(parts.query, keep_blank_values=True)
    table = next((v for k, v in params if k == "table"), None)
    other = [(k, v) for k, v in params if k != "table"]
    if role == "output":
        if query is not None:
            raise _bad(text, "--query 只用于读取案例", "结果表用 ?table=表名 指定")
        if not table:
            raise _bad(text, "没有给出结果表的名字", "在地址后加 ?table=表名，如 ?table=结果")
    elif table and query is not None:
        raise _bad(text, "同时给出了 ?table= 与 --query", "二者选一：读整张表用 ?table=，读查询结果用 --query")
    elif not table and query is None:
        raise _bad(text, "没有给出要读的表", "在地址后加 ?table=表名，或用 --query \"SELECT …\"")
    if table is not None:
        _split_table(text, table)
    shown = _masked(text)
    if kind == "postgresql":
        if not parts.path.strip("/"):
            raise _bad(text, "没有给出数据库名", "写成 postgresql://用户@主机:端口/数据库?table=表名")
        dsn = urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(f"{k}={v}" for k, v in other), ""))
        return Location(kind, shown, dsn=dsn, table=table, query=query)
    if other:
        raise _bad(text, f"不认识的参数 {other[0][0]}=", "只认 ?table=表名")
    if parts.netloc:
        raise _bad(text, f"{parts.scheme}:// 之后应是文件路径，不是主机 {parts.netloc}",
                   f"写成 {parts.scheme}:///相对路径 或 {parts.scheme}:////绝对路径")
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if not path:
        raise _bad(text, "没有给出数据库文件", f"写成 {parts.scheme}:///结算.{'duckdb' if kind == 'duckdb' else 'db'}?table=表名")
    return Location(kind, shown, path=path, table=table, query=query)


def shown_location(text: str, query: str | None = None) -> str:
    """`text` as messages and reports show it: a password in a database URL as ***, a query after it."""
    if not is_location(text):
        return text
    shown = _masked(text)
    return f"{shown}（{query}）" if query is not None else shown


def _masked(text: str) -> str:
    return re.sub(r"(://[^:/@?]*):[^@/?]*@", r"\1:***@", text)


_IDENT = re.compile(r"^[^\x00\"]{1,63}$")


def _split_table(text: str, table: str) -> list[str]:
    parts = table.split(".")
    if len(parts) > 2 or not all(_IDENT.match(p) for p in parts):
        raise _bad(text, f"表名 {table} 不可用", "表名写成 表 或 模式.表，不含双引号，每段最多 63 个字符")
    return parts


def quoted(table: str) -> str:
    """`schema.table` as a quoted SQL identifier (the name kept exactly, Chinese included)."""
    return ".".join(f'"{p}"' for p in table.split("."))


def _driver(module: str, what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        hint = EXCEL_HINT if what == "Excel" else DB_HINT
        raise OutputError(NO_DRIVER, f"读写 {what} 需要 Python 包 {module.split('.')[0]}，它没有安装", hint) from None


def _db_file(loc: Location, must_exist: bool) -> str:
    """The database or workbook file: a regular file (or, for an output, a new one in an existing folder)."""
    from pathlib import Path

    from yibaolang.paths import check_file

    assert loc.path is not None
    found = check_file(Path(loc.path))
    if isinstance(found, Path):
        return str(found)
    if found.kind != "missing" or must_exist:
        raise OutputError(CANNOT_CONNECT, f"无法打开 {loc.shown}：{loc.path} {found.reason}",
                          "请检查文件路径（相对路径从当前文件夹算起）")
    folder = os.path.dirname(os.path.abspath(loc.path))
    if not os.path.isdir(folder):
        raise OutputError(CANNOT_CONNECT, f"无法创建 {loc.shown}：文件夹 {folder} 不存在", "请先创建这个文件夹")
    return os.path.abspath(loc.path)


# ------------------------------------------------------------------ DuckDB connections (one per file per process)

_DUCK_LOCK = threading.Lock()
_DUCK: dict[str, tuple[Any, int]] = {}


def _duck_open(path: str, read_only: bool) -> Any:
    """A cursor on the process's one DuckDB database for `path` (a reader and a writer may share a file)."""
    duckdb = _driver("duckdb", "DuckDB")
    key = os.path.realpath(path)
    with _DUCK_LOCK:
        if key in _DUCK:
            con, count = _DUCK[key]
            _DUCK[key] = (con, count + 1)
            return con.cursor()
        try:
            con = duckdb.connect(path, read_only=read_only)
        except duckdb.Error as exc:
            raise OutputError(CANNOT_CONNECT, f"无法打开 DuckDB 数据库 {path}：{_first_line(exc)}",
                              "另一个程序可能正在写这个文件；DuckDB 同一时刻只允许一个程序写") from None
        _DUCK[key] = (con, 1)
        return con.cursor()


def _duck_close(path: str, cursor: Any) -> None:
    key = os.path.realpath(path)
    with contextlib.suppress(Exception):
        cursor.close()
    with _DUCK_LOCK:
        if key not in _DUCK:
            return
        con, count = _DUCK[key]
        if count <= 1:
            del _DUCK[key]
            with contextlib.suppress(Exception):
                con.close()
        else:
            _DUCK[key] = (con, count - 1)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ------------------------------------------------------------------ reading


class _Reader:
    """Chunks of exactly `chunk_size` rows (the last one shorter) from a stream of Arrow batches."""

    total: int | None = None
    names: list[str]
    problems: dict[int, str]
    encoding: str | None = None

    def __init__(self, loc: Location, chunk_size: int) -> None:
        self.loc = loc
        self.chunk_size = chunk_size
        self.problems = {}
        self.names = []

    def batches(self) -> Iterator[Any]:
        raise NotImplementedError

    def chunks(self) -> Iterator[Any]:
        import pyarrow as pa

        pending: list[Any] = []
        rows = 0
        for batch in self.batches():
            batch = _plain_batch(batch)
            if batch.num_rows == 0:
                continue
            pending.append(batch)
            rows += batch.num_rows
            while rows >= self.chunk_size:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, self.chunk_size).combine_chunks()
                rest = table.slice(self.chunk_size)
                pending = rest.to_batches() if rest.num_rows else []
                rows = rest.num_rows
        if pending:
            yield pa.Table.from_batches(pending).combine_chunks()


def _plain_batch(batch: Any) -> Any:
    """Extension columns (PostgreSQL NUMERIC arrives as an opaque extension over its decimal text) as storage."""
    import pyarrow as pa

    if not any(isinstance(f.type, pa.BaseExtensionType) for f in batch.schema):
        return batch
    arrays = [c.storage if isinstance(c.type, pa.BaseExtensionType) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _select(loc: Location) -> str:
    if loc.query is not None:
        return loc.query
    assert loc.table is not None
    return f"SELECT * FROM {quoted(loc.table)}"


def _query_failed(loc: Location, exc: BaseException) -> OutputError:
    what = f"查询 {loc.query}" if loc.query is not None else f"表 {loc.table}"
    return OutputError(BAD_QUERY, f"无法从 {loc.shown} 读取{what}：{_first_line(exc)}",
                       "请检查表名或 SQL（表名区分大小写，中文表名照原样写）")


class DuckDBReader(_Reader):
    def __init__(self, loc: Location, chunk_size: int, shared: bool) -> None:
        super().__init__(loc, chunk_size)
        self.file = _db_file(loc, must_exist=True)
        self.read_only = not shared
        cursor = _duck_open(self.file, read_only=self.read_only)  # opened again to read: nothing held meanwhile
        duckdb = _driver("duckdb", "DuckDB")
        try:
            described = cursor.execute(f"DESCRIBE {_select(loc)}").fetchall()
            self.names = [row[0] for row in described]
            if loc.table is not None:
                self.total = int(cursor.execute(f"SELECT count(*) FROM {quoted(loc.table)}").fetchall()[0][0])
        except duckdb.Error as exc:
            raise _query_failed(loc, exc) from None
        finally:
            _duck_close(self.file, cursor)
        _refuse_duplicates(loc, self.names)

    def batches(self) -> Iterator[Any]:
        duckdb = _driver("duckdb", "DuckDB")
        self.cursor = _duck_open(self.file, read_only=self.read_only)
        try:
            relation = self.cursor.sql(_select(self.loc))
            reader = (relation.to_arrow_reader(self.chunk_size) if hasattr(relation, "to_arrow_reader")
                      else relation.fetch_arrow_reader(self.chunk_size))
            yield from reader
        except duckdb.Error as exc:
            raise _query_failed(self.loc, exc) from None
        finally:
            _duck_close(self.file, self.cursor)


class SqliteReader(_Reader):
    """SQLite through `sqlite3`: each cell keeps its stored class (INTEGER, REAL, TEXT); a column is text.

    A REAL becomes its shortest decimal form (`1000.1` → "1000.1"), as a float Parquet column is read
    (docs/batch.md): a money cell with more than 2 decimals is then pointed out per row."""

    def __init__(self, loc: Location, chunk_size: int, kinds: Mapping[str, str]) -> None:
        import sqlite3
        from urllib.parse import quote

        super().__init__(loc, chunk_size)
        self.kinds = kinds
        self.file = _db_file(loc, must_exist=True)
        self.uri = f"file:{quote(self.file)}?mode=ro"
        con = None
        try:
            con = sqlite3.connect(self.uri, uri=True, check_same_thread=False)
            cursor = con.execute(f"SELECT * FROM ({_select(loc)}) LIMIT 0")
            self.names = [d[0] for d in cursor.description]
            if loc.table is not None:
                self.total = int(con.execute(f"SELECT count(*) FROM {quoted(loc.table)}").fetchone()[0])
        except sqlite3.Error as exc:
            raise _query_failed(loc, exc) from None
        finally:
            if con is not None:
                con.close()
        _refuse_duplicates(loc, self.names)

    def batches(self) -> Iterator[Any]:
        import sqlite3

        import pyarrow as pa

        self.con = sqlite3.connect(self.uri, uri=True, check_same_thread=False)
        try:
            cursor = self.con.execute(_select(self.loc))
            while True:
                rows = cursor.fetchmany(self.chunk_size)
                if not rows:
                    break
                columns = list(zip(*rows, strict=True))
                flags = [self.kinds.get(name) == "bool" for name in self.names]
                yield pa.RecordBatch.from_arrays([pa.array([_sqlite_text(v, flag) for v in column], pa.string())
                                                  for column, flag in zip(columns, flags, strict=True)],
                                                 names=self.names)
        except sqlite3.Error as exc:
            raise _query_failed(self.loc, exc) from None
        finally:
            self.con.close()


def _sqlite_text(value: Any, flag: bool = False) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if flag and value in (0, 1):  # SQLite keeps a truth value as INTEGER 1 or 0
        return "是" if value else "否"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f") if value == value and abs(value) != float("inf") else repr(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class PostgresReader(_Reader):
    """PostgreSQL through ADBC: one query, rows in binary COPY format straight into Arrow batches.

    NUMERIC(p, s) with p ≤ 18 travels as the exact integer `(x * 10^s)::int8` and becomes decimal(18, s)
    here without any conversion (ADBC would otherwise turn each NUMERIC into text on the client, several
    times slower); an unconstrained NUMERIC travels as its exact text (docs/batch.md 数据源)."""

    def __init__(self, loc: Location, chunk_size: int) -> None:
        super().__init__(loc, chunk_size)
        con = pg_connect(loc)
        self.scales: dict[str, int] = {}
        try:
            with con.cursor() as cursor:
                cursor.execute(f"SELECT * FROM ({_select(loc)}) AS q LIMIT 0")
                schema = cursor.fetch_arrow_table().schema
                self.names = list(schema.names)
                self.columns = [self._expression(field) for field in schema]
                if loc.table is not None:
                    cursor.execute(f"SELECT count(*) FROM {quoted(loc.table)}")
                    self.total = int(cursor.fetchone()[0])
        except Exception as exc:
            raise _query_failed(loc, exc) from None
        finally:
            with contextlib.suppress(Exception):
                con.close()
        _refuse_duplicates(loc, self.names)

    def _expression(self, field: Any) -> str:
        name = '"' + str(field.name).replace('"', '""') + '"'
        meta = field.metadata or {}
        if meta.get(b"POSTGRESQL:type") != b"numeric":
            return name
        typmod = int(meta.get(b"POSTGRESQL:typmod", b"-1"))
        if typmod >= 4:
            precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
            if precision <= 18 and scale <= min(precision, 9):
                self.scales[field.name] = scale
                return f"({name} * 1{'0' * scale})::int8 AS {name}"
        return f"{name}::text AS {name}"

    def batches(self) -> Iterator[Any]:
        self.con = pg_connect(self.loc)
        try:
            with self.con.cursor() as cursor:
                cursor.execute(f"SELECT {', '.join(self.columns)} FROM ({_select(self.loc)}) AS q")
                for batch in cursor.fetch_record_batch():
                    yield self._decimals(batch) if self.scales else batch
        except OutputError:
            raise
        except Exception as exc:
            raise _query_failed(self.loc, exc) from None
        finally:
            with contextlib.suppress(Exception):
                self.con.close()


    def _decimals(self, batch: Any) -> Any:
        """The scaled int64 columns as decimal(18, s): the same integers, a decimal's 16-byte layout."""
        import numpy as np
        import pyarrow as pa

        arrays = []
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            scale = self.scales.get(name)
            if scale is not None and pa.types.is_int64(column.type):
                n = len(column)
                values = np.asarray(column.fill_null(0))
                words = np.empty(2 * n, dtype=np.int64)
                words[0::2] = values
                words[1::2] = values >> 63
                validity = column.buffers()[0] if column.null_count else None
                if validity is not None and column.offset:
                    validity = pa.array(np.asarray(column.is_valid())).buffers()[1]
                column = pa.Array.from_buffers(pa.decimal128(18, scale), n, [validity, pa.py_buffer(words)],
                                               null_count=column.null_count)
            arrays.append(column)
        return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def pg_connect(loc: Location) -> Any:
    dbapi = _driver("adbc_driver_postgresql.dbapi", "PostgreSQL")
    try:
        return dbapi.connect(loc.dsn)
    except Exception as exc:
        raise OutputError(CANNOT_CONNECT, f"无法连接 {loc.shown}：{_first_line(exc)}",
                          "请检查主机、端口、用户与数据库名；口令可写在地址中，或用 PGPASSWORD 环境变量、"
                          "~/.pgpass 文件（与 psql 相同）") from None


def _refuse_duplicates(loc: Location, names: Sequence[str]) -> None:
    seen: set[str] = set()
    twice = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if twice:
        shown = "、".join(f"“{n}”" for n in dict.fromkeys(twice))
        raise OutputError(BAD_QUERY, f"{loc.shown} 有重名的列：{shown}，无法确定每个输入用哪一列",
                          "请在查询中用 AS 给每列不同的名字")


class ExcelReader(_Reader):
    """One sheet of an .xlsx workbook, row by row (python-calamine), every cell as text.

    Numbers are floats in Excel: a money column's cell with more than 2 decimals in its shortest
    decimal form is a row error naming the cell (`Sheet1!C17`), not a rounded amount."""

    def __init__(self, loc: Location, chunk_size: int, kinds: Mapping[str, str]) -> None:
        super().__init__(loc, chunk_size)
        calamine = _driver("python_calamine", "Excel")
        self.file = _db_file(loc, must_exist=True)
        try:
            book = calamine.CalamineWorkbook.from_path(self.file)
        except Exception as exc:
            raise OutputError(BAD_SHEET, f"无法读取 Excel 文件 {loc.path}：{_first_line(exc)}",
                              "只读 .xlsx（Excel 2007 起的格式）；.xls 请在 Excel 中另存为 .xlsx") from None
        sheets = list(book.sheet_names)
        sheet = loc.sheet if loc.sheet is not None else (sheets[0] if sheets else None)
        if sheet not in sheets:
            raise OutputError(BAD_SHEET, f"Excel 文件 {loc.path} 中没有工作表 {sheet}",
                              f"有这些工作表：{'、'.join(sheets)}；用 ?sheet=名称 选择")
        self.sheet_name = sheet
        self.sheet = book.get_sheet_by_name(sheet)
        start = self.sheet.start or (0, 0)
        self.first_row, self.first_col = int(start[0]), int(start[1])
        self.rows = self.sheet.iter_rows()
        header = next(self.rows, None) or []
        names = [str(_header_text(v)).strip() for v in header]
        while names and not names[-1]:
            names.pop()
        self.names = [n or f"列{i + 1}" for i, n in enumerate(names)]
        _refuse_duplicates(loc, self.names)
        self.kinds = kinds
        self.total = max(int(self.sheet.height) - 1, 0)

    def batches(self) -> Iterator[Any]:
        import pyarrow as pa

        width = len(self.names)
        kinds = [self.kinds.get(name) for name in self.names]
        index = 0
        while True:
            block: list[list[Any]] = []
            for row in self.rows:
                block.append(row)
                if len(block) >= self.chunk_size:
                    break
            if not block:
                return
            columns: list[list[str | None]] = [[] for _ in range(width)]
            for r, row in enumerate(block):
                for c in range(width):
                    value = row[c] if c < len(row) else None
                    text, problem = _cell_text(value, kinds[c])
                    if problem is not None:
                        self.problems[index + r] = (f"单元格 {self.sheet_name}!{_column_letter(self.first_col + c)}"
                                                    f"{self.first_row + index + r + 2}（{self.names[c]}）：{problem}")
                    columns[c].append(text)
            index += len(block)
            yield pa.RecordBatch.from_arrays([pa.array(col, pa.string()) for col in columns], names=self.names)


def _header_text(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return "" if value is None else value


def _cell_text(value: Any, kind: str | None) -> tuple[str | None, str | None]:
    """A cell's text for the column readers; for a money cell holding an inexact float, the problem.

    A 是否 input's cell may hold 1 or 0 (as spreadsheets and SQLite keep truth values): 是, 否."""
    if value is None or value == "":
        return None, None
    if isinstance(value, bool):
        return ("是" if value else "否"), None
    if kind == "bool" and isinstance(value, int | float) and value in (0, 1):
        return ("是" if value else "否"), None
    money = kind == "money"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None, f"不是数：{value}"
        exact = Decimal(repr(value))
        text = format(exact.normalize() if exact == exact.to_integral_value() else exact, "f")
        if money and exact.as_tuple().exponent < -2 and exact != exact.quantize(Decimal("0.01")):  # type: ignore[operator]
            return None, (f"金额 {text} 多于两位小数（Excel 以浮点数保存数，公式的结果常带尾差）；"
                          "请用 ROUND(…, 2) 取到分，或把单元格格式改为两位小数后重新计算")
        return text, None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat(), None
        return value.isoformat(sep=" "), None
    if isinstance(value, dt.date):
        return value.isoformat(), None
    return str(value), None


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def open_source(text: str, chunk_size: int, *, query: str | None = None, kinds: Mapping[str, str] | None = None,
                out: str | None = None) -> Any:
    """A reader (the interface of `batch.Reader`) for a database table, a query or an Excel sheet."""
    if chunk_size < 1:
        chunk_size = 1
    loc = parse(text, query=query)
    if loc.kind == "excel":
        return ExcelReader(loc, chunk_size, kinds or {})
    if loc.kind == "duckdb":
        shared = False
        if out is not None and is_location(out):
            target = parse(out, role="output")
            shared = (target.kind == "duckdb" and target.path is not None and loc.path is not None
                      and os.path.realpath(target.path) == os.path.realpath(loc.path))
        return DuckDBReader(loc, chunk_size, shared)
    if loc.kind == "sqlite":
        return SqliteReader(loc, chunk_size, kinds or {})
    return PostgresReader(loc, chunk_size)


def input_files(inputs: Sequence[str]) -> list[str]:
    """The files behind `inputs` (a workbook or database file for a location), for `files.refuse_inputs`."""
    out: list[str] = []
    for item in inputs:
        if is_location(str(item)):
            with contextlib.suppress(OutputError):
                loc = parse(str(item), query="")
                if loc.path is not None:
                    out.append(loc.path)
            continue
        out.append(str(item))
    return out


# ------------------------------------------------------------------ writing


def _sql_type(field: Any, kind: str) -> str:
    import pyarrow as pa

    t = field.type
    if pa.types.is_decimal(t):
        precision = 18 if t.precision <= 18 else 38
        return f"NUMERIC({precision}, {t.scale})" if kind != "duckdb" else f"DECIMAL({precision}, {t.scale})"
    if pa.types.is_integer(t):
        return "BIGINT" if kind != "sqlite" else "INTEGER"
    if pa.types.is_floating(t):
        return "DOUBLE PRECISION" if kind == "postgresql" else "DOUBLE" if kind == "duckdb" else "REAL"
    if pa.types.is_boolean(t):
        return "BOOLEAN" if kind != "sqlite" else "INTEGER"
    if pa.types.is_date(t):
        return "DATE" if kind != "sqlite" else "TEXT"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if kind != "sqlite" else "TEXT"
    return "TEXT" if kind != "duckdb" else "VARCHAR"


def _storable(table: Any, kind: str) -> Any:
    """Columns in types every driver writes: dictionaries decoded, binary as text, others as text."""
    import pyarrow as pa

    columns, changed = [], False
    for column in table.columns:
        t = column.type
        if pa.types.is_dictionary(t):
            column, t, changed = column.cast(t.value_type), t.value_type, True
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            column, t, changed = column.cast(pa.string()), pa.string(), True
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            column = pa.array([None if v is None else v.decode("utf-8", "replace") for v in column.to_pylist()],
                              pa.string())
            changed = True
        elif not (pa.types.is_decimal128(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
                  or pa.types.is_boolean(t) or pa.types.is_date32(t) or pa.types.is_timestamp(t)
                  or pa.types.is_string(t) or pa.types.is_null(t)):
            column, changed = column.cast(pa.string()), True
        if pa.types.is_null(column.type):
            column, changed = column.cast(pa.string()), True
        if pa.types.is_integer(column.type) and column.type != pa.int64():
            column, changed = column.cast(pa.int64()), True
        if pa.types.is_date(column.type) and column.type != pa.date32():
            column, changed = column.cast(pa.date32()), True
        columns.append(column)
    return pa.table(columns, names=table.column_names) if changed else table


def _row_number_name(names: Sequence[str]) -> str:
    name = ROW_NUMBER
    while name in names:
        name = "结果" + name
    return name


class _TableWriter:
    """A result table written in one transaction (the interface of `batch.Writer`)."""

    def __init__(self, loc: Location, replace: bool, narrow: bool, wide: type[Exception] | None) -> None:
        self.loc = loc
        self.replace = replace
        self.narrow = narrow
        self.wide = wide
        self.rows = 0
        self.schema: Any = None
        assert loc.table is not None
        self.target = loc.table
        parts = loc.table.split(".")
        self.schema_prefix = f'"{parts[0]}".' if len(parts) == 2 else ""
        self.name = parts[-1]
        self.tmp_name = f"{self.name[:40]}__yb_{secrets.token_hex(4)}"
        self.tmp = self.schema_prefix + f'"{self.tmp_name}"'
        self.path = loc.shown
        self.row_numbers = True  # a result table's 行号 column (not for `sample`'s case data)

    @property
    def started(self) -> bool:
        return self.schema is not None

    def write(self, table: Any) -> None:
        import pyarrow as pa

        from yibaolang.tools.columns import narrow_decimals

        table = _storable(narrow_decimals(table) if self.narrow else table, self.loc.kind)
        if self.row_numbers:
            import numpy as np

            numbers = pa.array(np.arange(self.rows + 1, self.rows + table.num_rows + 1, dtype=np.int64))
            table = table.add_column(0, _row_number_name(table.column_names), numbers)
        try:
            if self.schema is None:
                self.schema = table.schema
                columns = ", ".join(f'"{f.name}" {_sql_type(f, self.loc.kind)}' for f in table.schema)
                self._execute(f"CREATE TABLE {self.tmp} ({columns})")
            elif any(pa.types.is_decimal(a.type) and pa.types.is_decimal(b.type) and a.type.precision < b.type.precision
                     for a, b in zip(self.schema, table.schema, strict=False)):
                if self.wide is not None:
                    raise self.wide()  # an amount of more than 16 integer digits: written again, wide
            if table.schema != self.schema:
                table = table.cast(self.schema)
            self._insert(table)
        except OutputError:
            raise
        except Exception as exc:
            if self.wide is not None and isinstance(exc, self.wide):
                raise
            raise self._failed(exc) from None
        self.rows += table.num_rows

    def _failed(self, exc: BaseException) -> OutputError:
        return OutputError(CANNOT_WRITE_TABLE, f"无法写入 {self.loc.shown}：{_first_line(exc)}",
                           "数据库没有改动：结果表要么完整写入，要么保持原样")

    def _exists(self) -> bool:
        raise NotImplementedError

    def _execute(self, sql: str) -> None:
        raise NotImplementedError

    def _insert(self, table: Any) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def refuse_existing(self) -> None:
        if not self.replace and self._exists():
            raise OutputError(TABLE_EXISTS, f"结果表 {self.target} 已经存在于 {self.loc.shown}",
                              "加 --replace 替换它（新表完整写好后才替换），或换一个表名")

    def commit(self) -> None:
        try:
            self.refuse_existing()
            self._execute(f"DROP TABLE IF EXISTS {quoted(self.target)}")
            self._execute(f'ALTER TABLE {self.tmp} RENAME TO "{self.name}"')
            self._commit()
        except OutputError:
            self.abort()
            raise
        except Exception as exc:
            self.abort()
            raise self._failed(exc) from None
        self._close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._rollback()
        with contextlib.suppress(Exception):
            self._close()


class DuckDBWriter(_TableWriter):
    def __init__(self, loc: Location, replace: bool, narrow: bool, wide: type[Exception] | None) -> None:
        super().__init__(loc, replace, narrow, wide)
        self.file = _db_file(loc, must_exist=False)
        self.cursor = _duck_open(self.file, read_only=False)
        self.duckdb = _driver("duckdb", "DuckDB")
        try:
            self.refuse_existing()
            self.cursor.execute("BEGIN TRANSACTION")
        except BaseException:
            _duck_close(self.file, self.cursor)
            raise

    def _exists(self) -> bool:
        parts = self.target.split(".")
        schema = parts[0] if len(parts) == 2 else None
        sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
        args: list[Any] = [parts[-1]]
        if schema is not None:
            sql += " AND table_schema = ?"
            args.append(schema)
        return bool(self.cursor.execute(sql, args).fetchall()[0][0])

    def _execute(self, sql: str) -> None:
        self.cursor.execute(sql)

    def _insert(self, table: Any) -> None:
        self.cursor.register("yb_chunk", table)
        try:
            self.cursor.execute(f"INSERT INTO {self.tmp} SELECT * FROM yb_chunk")
        finally:
            self.cursor.unregister("yb_chunk")

    def _commit(self) -> None:
        self.cursor.execute("COMMIT")

    def _rollback(self) -> None:
        self.cursor.execute("ROLLBACK")

    def _close(self) -> None:
        _duck_close(self.file, self.cursor)


class SqliteWriter(_TableWriter):
    """SQLite: NUMERIC(18, 2) affinity keeps an amount as INTEGER or REAL, exact below 10^13 元."""

    def __init__(self, loc: Location, replace: bool, narrow: bool, wide: type[Exception] | None) -> None:
        import sqlite3

        super().__init__(loc, replace, narrow, None)
        self.file = _db_file(loc, must_exist=False)
        try:
            self.con = sqlite3.connect(self.file, isolation_level=None, check_same_thread=False, timeout=30)
            self.refuse_existing()
            self.con.execute("BEGIN")
        except sqlite3.Error as exc:
            raise OutputError(CANNOT_CONNECT, f"无法打开 SQLite 数据库 {self.file}：{exc}",
                              "请检查文件路径与权限") from None

    def _exists(self) -> bool:
        parts = self.target.split(".")
        master = f'"{parts[0]}".sqlite_master' if len(parts) == 2 else "sqlite_master"
        row = self.con.execute(f"SELECT count(*) FROM {master} WHERE type = 'table' AND name = ?",
                               (parts[-1],)).fetchone()
        return bool(row[0])

    def _execute(self, sql: str) -> None:
        self.con.execute(sql)

    def _insert(self, table: Any) -> None:
        import pyarrow as pa

        columns = []
        for column in table.columns:
            t = column.type
            if pa.types.is_decimal(t) or pa.types.is_date(t) or pa.types.is_timestamp(t):
                columns.append(column.cast(pa.string()).to_pylist())
            else:
                columns.append(column.to_pylist())
        marks = ", ".join("?" for _ in columns)
        self.con.executemany(f"INSERT INTO {self.tmp} VALUES ({marks})", zip(*columns, strict=True))

    def _commit(self) -> None:
        self.con.execute("COMMIT")

    def _rollback(self) -> None:
        self.con.execute("ROLLBACK")

    def _close(self) -> None:
        self.con.close()


class PostgresWriter(_TableWriter):
    """PostgreSQL: CREATE TABLE, then each chunk by binary COPY (ADBC bulk ingest), in one transaction."""

    def __init__(self, loc: Location, replace: bool, narrow: bool, wide: type[Exception] | None) -> None:
        super().__init__(loc, replace, narrow, wide)
        self.con = pg_connect(loc)
        try:
            self.cursor = self.con.cursor()
            self.refuse_existing()
        except BaseException:
            self.con.close()
            raise

    def _exists(self) -> bool:
        self.cursor.execute("SELECT to_regclass($1) IS NOT NULL", parameters=(quoted(self.target),))
        return bool(self.cursor.fetchone()[0])

    def _execute(self, sql: str) -> None:
        self.cursor.execute(sql)

    def _insert(self, table: Any) -> None:
        self.cursor.adbc_ingest(self.tmp_name, table, mode="append",
                                db_schema_name=self.target.split(".")[0] if self.schema_prefix else None)

    def _commit(self) -> None:
        self.con.commit()

    def _rollback(self) -> None:
        self.con.rollback()

    def _close(self) -> None:
        with contextlib.suppress(Exception):
            self.cursor.close()
        self.con.close()


def c_values(column: Any) -> list[Any]:
    return list(column.to_pylist())


class ExcelWriter:
    """An .xlsx result through `files.Output` (temporary file, renamed when complete), XlsxWriter in
    constant-memory mode.  Money cells are numbers shown with 2 decimals: Excel keeps a double, whose
    shortest decimal form is the amount below 10^13 元; a larger amount is written as text."""

    def __init__(self, loc: Location, inputs: Sequence[str]) -> None:
        from yibaolang.files import Output

        self.xlsxwriter = _driver("xlsxwriter", "Excel")
        self.loc = loc
        assert loc.path is not None
        self.output = Output(loc.path, input_files(inputs))
        self.output.release()
        self.path = self.output.path
        self.rows = 0
        self.book: Any = None
        self.sheet: Any = None
        self.sheet_name = loc.sheet or "结果"

    @property
    def started(self) -> bool:
        return self.book is not None

    def write(self, table: Any) -> None:
        import pyarrow as pa

        if self.book is None:
            self.book = self.xlsxwriter.Workbook(str(self.output.tmp), {"constant_memory": True})
            try:
                self.sheet = self.book.add_worksheet(self.sheet_name)
            except Exception as exc:
                raise OutputError(BAD_SHEET, f"工作表名 {self.sheet_name} 不可用：{exc}",
                                  "Excel 的工作表名最多 31 个字符，不含 [ ] : * ? / \\") from None
            self.bold = self.book.add_format({"bold": True})
            self.money = self.book.add_format({"num_format": "0.00"})
            self.date = self.book.add_format({"num_format": "yyyy-mm-dd"})
            for c, name in enumerate(table.column_names):
                self.sheet.write_string(0, c, name, self.bold)
        if self.rows + table.num_rows >= EXCEL_MAX_ROWS:
            raise OutputError(TOO_MANY_ROWS, f"结果有 {self.rows + table.num_rows:,} 行以上，超过 Excel 工作表的上限 "
                              f"{EXCEL_MAX_ROWS - 1:,} 行（不计表头）",
                              "请改写 .parquet、.csv 或数据库表（如 duckdb:///结果.duckdb?table=结果）")
        sheet = self.sheet
        columns = []
        for column in table.columns:  # constant-memory mode writes a row at a time, in order
            t = column.type
            if pa.types.is_dictionary(t):
                column, t = column.cast(t.value_type), t.value_type
            columns.append((c_values(column), pa.types.is_decimal(t)))
        for r in range(table.num_rows):
            row = self.rows + 1 + r
            for c, (values, decimal) in enumerate(columns):
                self._cell(sheet, row, c, values[r], decimal)
        self.rows += table.num_rows

    def _cell(self, sheet: Any, r: int, c: int, value: Any, decimal: bool) -> None:
        if value is None:
            return
        if decimal:
            if abs(value) < EXACT_DOUBLE:
                sheet.write_number(r, c, float(value), self.money)
            else:
                sheet.write_string(r, c, format(value, "f"))
        elif isinstance(value, bool):
            sheet.write_boolean(r, c, value)
        elif isinstance(value, int):
            if abs(value) < 2**53:
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))
        elif isinstance(value, dt.date):
            sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time(0)), self.date)
        elif isinstance(value, bytes):
            sheet.write_string(r, c, value.decode("utf-8", "replace")[:EXCEL_MAX_TEXT])
        else:
            sheet.write_string(r, c, str(value)[:EXCEL_MAX_TEXT])  # text: never a formula

    def commit(self) -> None:
        from yibaolang.files import write_failed

        try:
            if self.book is not None:
                book, self.book = self.book, None
                book.close()
        except Exception as exc:
            self.output.abort()
            raise write_failed(exc, self.output.shown) from None
        self.output.commit()

    def abort(self) -> None:
        if self.book is not None:  # closing removes XlsxWriter's temporary row files; the file itself goes next
            book, self.book = self.book, None
            with contextlib.suppress(Exception):
                book.close()
        self.output.abort()


def open_sink(text: str, inputs: Sequence[str] = (), *, replace: bool = False, narrow: bool = False,
              wide: type[Exception] | None = None, cases: str | None = None, row_numbers: bool = True) -> Any:
    """A writer (the interface of `batch.Writer`) for a result table or an Excel sheet."""
    loc = parse(text, role="output")
    if loc.kind == "excel":
        return ExcelWriter(loc, inputs)
    source: Location | None = None
    if cases is not None and is_location(cases):
        with contextlib.suppress(OutputError):
            source = parse(cases, query=None if "table=" in cases else "")
    if source is not None and _same_table(source, loc):
        raise OutputError(SAME_AS_INPUT, f"结果表 {loc.shown} 就是案例表 {source.shown}，不能覆盖输入",
                          "请给结果表另起一个名字")
    writer: _TableWriter
    if loc.kind == "duckdb":
        writer = DuckDBWriter(loc, replace, narrow, wide)
    elif loc.kind == "sqlite":
        writer = SqliteWriter(loc, replace, narrow, wide)
    else:
        writer = PostgresWriter(loc, replace, narrow, wide)
    writer.row_numbers = row_numbers
    return writer


def _same_table(a: Location, b: Location) -> bool:
    if a.kind != b.kind or a.table is None or b.table is None or a.table != b.table:
        return False
    if a.kind == "postgresql":
        return urlsplit(a.dsn or "")[1:3] == urlsplit(b.dsn or "")[1:3]
    return a.path is not None and b.path is not None and os.path.realpath(a.path) == os.path.realpath(b.path)


# ------------------------------------------------------------------ CSV encodings

DETECT_BYTES = 4 << 20
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8（带 BOM）", "gb18030": "GB18030", "gbk": "GBK"}
ENCODING_HINT = ("用 --encoding 指定文件的编码，如 --encoding gb18030（Excel 在中文 Windows 上另存的 CSV）、"
                 "--encoding utf-8 或 --encoding big5")


def encoding_name(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return ENCODING_NAMES.get(name, name.upper())


def detect_encoding(path: str, forced: str | None) -> str:
    """The codec of a CSV file: `forced`, else UTF-8 (with or without BOM) when its bytes are UTF-8 (or are
    UTF-8 Chinese up to a bad byte), else GB18030 (which includes GBK and GB2312) when they decode as that;
    else one YB476 where the likelier of the two stops."""
    if forced is not None:
        try:
            return codecs.lookup(forced).name
        except LookupError:
            raise OutputError(UNDECODABLE, f"不认识的编码 {forced}", ENCODING_HINT) from None
    with open(path, "rb") as fh:
        head = fh.read(DETECT_BYTES)
        while head.isascii() and len(head) == DETECT_BYTES:  # only ASCII so far: look further for the first other byte
            more = fh.read(DETECT_BYTES)
            if not more:
                break
            head = more
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    complete = len(head) < DETECT_BYTES
    failure = _decode_failure(head, "utf-8", complete)
    if failure is None or not head[:failure].isascii():
        # UTF-8, or evidently UTF-8 (Chinese in UTF-8 before the first bad byte): a bad cell is then that
        # row's error (docs/batch.md 坏行), not the whole file's.
        return "utf-8"
    other = _decode_failure(head, "gb18030", complete)
    if other is None:
        return "gb18030"
    if other > failure:  # the encoding that reads further is the file's, with a bad byte where it stops
        raise undecodable(path, head, other, "gb18030", 0, 1)
    raise undecodable(path, head, failure, "utf-8", 0, 1)


def _decode_failure(data: bytes, encoding: str, complete: bool) -> int | None:
    """Where `data` stops being `encoding` (None if it all is; an incomplete character at the end is fine)."""
    try:
        data.decode(encoding)
        return None
    except UnicodeDecodeError as exc:
        if not complete and exc.start >= len(data) - 4:
            return None
        return int(exc.start)


def undecodable(path: str, data: bytes, position: int, encoding: str, base: int, first_line: int) -> OutputError:
    line = first_line + data.count(b"\n", 0, position)
    shown = " ".join(f"0x{b:02X}" for b in data[position:position + 2])
    return OutputError(UNDECODABLE, f"无法按 {encoding_name(encoding)} 读取 {path}：第 {line:,} 行（文件第 {base + position:,} "
                       f"字节）的 {shown} 不是 {encoding_name(encoding)} 编码", ENCODING_HINT)


class Transcoder:
    """Blocks of a CSV file in `encoding` → the same text in UTF-8 (line ends kept, so line numbers hold).

    A character split between two blocks is carried over; a byte that does not decode is one YB476
    naming the line and the byte offset in the file."""

    def __init__(self, path: str, encoding: str, start: int) -> None:
        self.path = path
        self.encoding = encoding
        self.offset = start  # file offset of the next byte fed
        self.line = 2  # the header is line 1
        self.carry = b""

    def feed(self, data: bytes, eof: bool) -> bytes:
        buf = self.carry + data if self.carry else data
        base = self.offset - len(self.carry)
        self.offset += len(data)
        self.carry = b""
        try:
            text = buf.decode(self.encoding)
        except UnicodeDecodeError as exc:
            if not eof and exc.start >= len(buf) - 4:
                self.carry = buf[exc.start:]
                buf = buf[:exc.start]
                try:
                    text = buf.decode(self.encoding)
                except UnicodeDecodeError as inner:
                    raise undecodable(self.path, buf, inner.start, self.encoding, base, self.line) from None
            else:
                raise undecodable(self.path, buf, exc.start, self.encoding, base, self.line) from None
        self.line += buf.count(b"\n")
        return text.encode("utf-8")


__all__ = ["Location", "Transcoder", "detect_encoding", "encoding_name", "input_files", "is_location",
           "open_sink", "open_source", "parse", "quoted"]
