"""Batch evaluation: `yibaolang run POLICY --cases FILE -o OUT` (docs/cli.md, docs/batch.md).

The case file (CSV, JSON Lines or Parquet, by extension) is read in chunks.
Each chunk's cells are converted column by column (`yibaolang.tools.columns`),
evaluated by the vectorized engine (`yibaolang.engines.vector`), and every row the
engine does not finish — a row with an error, a missing input, a broken or
uncertain 断言, a bad cell — is evaluated again by the interpreter, one row at
a time, so every value and every message is the interpreter's.  Rows are
written in input order, one column per output plus `错误`, to a temporary
file beside OUT that is renamed only when the whole file is written.

With `--person COL --claim-date COL` (docs/batch.md §2) the whole file is read,
claims are grouped by person and 统筹年度 and settled rank by rank (every
person's first claim at once, then every second claim, …); each `累计` input
is the running total of its figure over the person's earlier claims of the
year.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

INSTALL_HINT = "批量计算需要 numpy 与 pyarrow：请运行 pip install 'yibaolang[batch]'"
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
ERROR_COLUMN = "错误"
DATE_COLUMN = "计算日期"
INPUT_PREFIX = "输入."
DEFAULT_CHUNK = 262_144
SEPARATOR = "；"
MEMO_ROWS = 100_000  # distinct interpreted rows remembered at once


class BatchError(Exception):
    """A problem that stops the batch before any row is written (one diagnostic, exit 1)."""


def have_batch_dependencies() -> bool:
    try:
        import numpy  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def format_of(path: str) -> str | None:
    return FORMATS.get(Path(path).suffix.lower())


# ------------------------------------------------------------------ reading


class Reader:
    """Chunks of a case file as Arrow tables (every row, in file order)."""

    total: int | None = None
    problems: dict[int, str]  # global row index → why the row could not be read

    def chunks(self) -> Iterator[Any]:
        raise NotImplementedError


def open_reader(path: str, chunk_size: int, *, query: str | None = None, encoding: str | None = None,
                kinds: dict[str, str] | None = None, out: str | None = None) -> Reader:
    """A reader for a case file, or (docs/batch.md 数据源) a database table, a query or an Excel sheet."""
    from typing import cast

    from yibaolang.tools import sources

    if sources.is_location(path):
        return cast(Reader, sources.open_source(path, chunk_size, query=query, kinds=kinds, out=out))
    if query is not None:
        raise BatchError(f"--query 只用于数据库：{path} 是文件")
    fmt = format_of(path)
    if fmt is None:
        raise BatchError(f"无法识别案例文件的格式：{path}（支持 .csv、.jsonl、.parquet）")
    try:
        refuse_special(path)
        if fmt == "csv":
            return CsvReader(path, chunk_size, encoding)
        if fmt == "jsonl":
            return JsonlReader(path, chunk_size)
        return ParquetReader(path, chunk_size)
    except OSError as exc:
        raise BatchError(f"无法读取案例文件 {path}：{exc.strerror or exc}") from None


class ParquetReader(Reader):
    def __init__(self, path: str, chunk_size: int) -> None:
        import pyarrow.parquet as pq

        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid and friends for a corrupt file
            raise BatchError(f"无法读取案例文件 {path}：不是有效的 Parquet 文件（{exc}）") from None
        refuse_duplicate_columns(path, self.file.schema_arrow.names)
        self.path = path
        self.chunk_size = chunk_size
        self.total = self.file.metadata.num_rows
        self.problems = {}

    def chunks(self) -> Iterator[Any]:
        import pyarrow as pa

        batches = self.file.iter_batches(batch_size=self.chunk_size)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except (OSError, pa.ArrowException) as exc:  # a page that does not decode: the footer was fine
                raise BatchError(f"无法读取案例文件 {self.path}：Parquet 文件已损坏（{exc}）") from None
            yield pa.Table.from_batches([batch])


# Bounds on what one row may hold (docs/batch.md, "坏行"): beyond them the row is an error row, never a crash.
MAX_RECORD_BYTES = 1 << 20  # a line, or a row whose quoted cells span lines
MAX_RECORD_LINES = 100  # physical lines one quoted row may span
MAX_CELL_BYTES = 1000  # one cell (5,000 digits is not a figure)
CSV_BLOCK = 8 << 20


def refuse_special(path: str) -> None:
    """Only a regular file is read: a FIFO would block, /dev/zero never ends."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise BatchError(f"无法读取案例文件 {path}：{exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise BatchError(f"无法读取案例文件 {path}：不是普通文件")


def refuse_duplicate_columns(path: str, names: Sequence[str]) -> None:
    seen: set[str] = set()
    twice = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if twice:
        shown = "、".join(f"“{n}”" for n in dict.fromkeys(twice))
        raise BatchError(f"案例文件 {path} 有重名的列：{shown}，无法确定每个输入用哪一列"
                         "（请在生成 Parquet 文件时给每列不同的名字）")


class CsvReader(Reader):
    """A CSV file read in blocks whose every physical line is accounted for.

    Record boundaries are found with numpy (a line end is a boundary when the
    quotes before it are balanced); a row whose quoted cell runs past
    MAX_RECORD_LINES or MAX_RECORD_BYTES, or across lines whose cells then do
    not match the header, is an error row for its first line and reading starts
    again on the next line — so a stray `"` costs one row, not the rest of the
    file.  Each block is then parsed by pyarrow (every column as bytes); a row
    with the wrong number of cells becomes an error row naming its line.  Blank
    lines are skipped and counted.  Line ends may be LF, CRLF or CR.
    """

    def __init__(self, path: str, chunk_size: int, encoding: str | None = None) -> None:
        import csv

        from yibaolang.tools.sources import detect_encoding, encoding_name, undecodable

        self.codec = detect_encoding(path, encoding)  # docs/batch.md 数据源: UTF-8 (BOM or not), else GB18030
        self.encoding = encoding_name(self.codec)
        self.path = path
        self.chunk_size = chunk_size
        self.problems = {}
        self.blank_lines = 0
        with open(path, "rb") as fh:
            head = fh.read(MAX_RECORD_BYTES + 1)
        end, after = _line_end(head)
        if end is None:
            if len(head) > MAX_RECORD_BYTES:
                raise BatchError(f"无法读取案例文件 {path}：第一行（表头）超过 {MAX_RECORD_BYTES:,} 字节")
            end = after = len(head)
        self.header_end = after
        try:
            header_text = head[:end].decode("utf-8-sig" if self.codec.startswith("utf-8") else self.codec)
        except UnicodeDecodeError as exc:
            raise undecodable(path, head, exc.start, self.codec, 0, 1) from None
        if not header_text.strip():
            raise BatchError(f"无法读取案例文件 {path}：文件为空，第一行应为列名")
        names = next(csv.reader([header_text]))
        self.names = _unique_names([n.strip() for n in names])

    def chunks(self) -> Iterator[Any]:
        pending: list[Any] = []
        pending_rows = 0
        for table in self._blocks():
            pending.append(table)
            pending_rows += table.num_rows
            if pending_rows >= self.chunk_size:
                yield from _split(_concat(pending), self.chunk_size, keep_tail=pending)
                pending_rows = sum(t.num_rows for t in pending)
        if pending:
            yield from _split(_concat(pending), self.chunk_size, keep_tail=None)

    def _blocks(self) -> Iterator[Any]:
        line = 2  # the physical line the next block starts on
        rows = 0
        carry = b""
        skipping = False  # inside a line longer than MAX_RECORD_BYTES: drop bytes up to its end
        from yibaolang.tools.sources import Transcoder

        transcoder = None if self.codec.startswith("utf-8") else Transcoder(self.path, self.codec, self.header_end)
        with open(self.path, "rb") as fh:
            fh.seek(self.header_end)
            while True:
                data = fh.read(CSV_BLOCK)
                eof = not data
                if transcoder is not None:
                    data = transcoder.feed(data, eof)
                buf = carry + data if carry else data
                carry = b""
                if skipping:
                    end, after = _line_end(buf)
                    if end is None:
                        if eof:
                            break
                        continue
                    buf = buf[after:]
                    line += 1
                    skipping = False
                if eof and buf and buf[-1:] not in (b"\n", b"\r"):
                    buf += b"\n"
                if not buf:
                    if eof:
                        break
                    continue
                block = _scan_block(buf, eof, line, len(self.names))
                parsed = self._parse(block) if block.records else None
                if parsed is None and block.records:
                    # A quote inside a cell (5"), then one opening a cell on the same line: quote parity is
                    # wrong there; the block's rows are found again exactly, as the CSV parser reads them.
                    block = _scan_block(buf, eof, line, len(self.names), exact=True)
                    parsed = self._parse(block) if block.records else None
                    if parsed is None and block.records:
                        raise BatchError(f"无法读取案例文件 {self.path}：第 {line} 行起的一块无法按行读取")
                if block.oversized:
                    skipping = True
                carry = buf[block.consumed:]
                line += block.lines
                self.blank_lines += block.blanks
                if parsed is not None:
                    table, problems = parsed
                    for index, text in problems.items():
                        self.problems[rows + index] = text
                    rows += table.num_rows
                    yield table
                if eof:
                    break
        if carry.strip():  # cannot happen (the last block ends with a line end); kept as a guard on the count
            raise BatchError(f"无法读取案例文件 {self.path}：文件末尾有未读完的内容")

    def _parse(self, block: _Block) -> tuple[Any, dict[int, str]] | None:
        """The block's rows as a table and their problems; None when the parser finds other rows than the scan."""
        import pyarrow as pa
        import pyarrow.csv as pv

        expected = len(self.names)
        problems = dict(block.problems)
        ragged: dict[int, int] = {}  # row → how many cells pyarrow found

        def invalid(row: Any) -> str:
            ragged[(row.number or 0) - 1] = row.actual_columns
            return "skip"

        options = (pv.ReadOptions(column_names=self.names, use_threads=False, block_size=CSV_BLOCK + MAX_RECORD_BYTES),
                   pv.ParseOptions(invalid_row_handler=invalid, newlines_in_values=True),
                   pv.ConvertOptions(column_types={n: pa.binary() for n in self.names},
                                     strings_can_be_null=False, quoted_strings_can_be_null=False))
        feed = block.feed()
        for _ in range(2):
            ragged.clear()
            try:
                table = pv.read_csv(pa.BufferReader(feed), *options)
            except (pa.ArrowInvalid, OSError) as exc:
                raise BatchError(f"无法读取案例文件 {self.path}：{exc}") from None
            if not ragged:
                break
            # Rare: rows with the wrong number of cells; read the block again with them replaced.
            for row, cells in ragged.items():
                record = block.record_of_row(row)
                problems[row] = (f"第 {block.line_of(record)} 行有 {cells} 个字段，与表头的 {expected} 列不符："
                                 f"{_shorten(block.text(record))}")
                block.bad.add(record)
            feed = block.feed()
        if table.num_rows != block.rows:
            return None
        return table, problems


def _concat(tables: list[Any]) -> Any:
    import pyarrow as pa

    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def _line_end(data: bytes) -> tuple[int | None, int]:
    """Where the first line of `data` ends and where the next begins (LF, CRLF or CR)."""
    lf = data.find(b"\n")
    cr = data.find(b"\r", 0, lf if lf >= 0 else len(data))
    if cr >= 0:
        return cr, cr + 2 if data[cr + 1:cr + 2] == b"\n" else cr + 1
    if lf >= 0:
        return lf, lf + 1
    return None, len(data)


@attrs.define
class _Block:
    """The whole rows of one block of a CSV file, found by `_scan_block`."""

    buf: bytes
    starts: Any  # numpy: byte where each record starts
    ends: Any  # numpy: byte where each record ends (its line end, excluded)
    first_line: int  # physical line of the block's first byte
    record_lines: Any  # numpy: physical line each record starts on, relative to first_line
    blank: Any  # numpy bool: the record is a blank line
    ncols: int
    bad: set[int]  # records replaced by an empty row (their problem is in `problems`)
    problems: dict[int, str]  # row → text
    consumed: int = 0
    lines: int = 0
    blanks: int = 0
    oversized: bool = False  # the block ends inside a line longer than MAX_RECORD_BYTES

    @property
    def records(self) -> int:
        return len(self.starts)

    @property
    def rows(self) -> int:
        return self.records - self.blanks

    def line_of(self, record: int) -> int:
        return self.first_line + int(self.record_lines[record]) if self.records else self.first_line

    def text(self, record: int) -> str:
        return self.buf[self.starts[record]:min(self.ends[record], self.starts[record] + 200)].decode("utf-8", "replace")

    def row_of(self, record: int) -> int:
        import numpy as np

        return record - int(np.count_nonzero(self.blank[:record]))

    def record_of_row(self, row: int) -> int:
        import numpy as np

        return int(np.flatnonzero(~self.blank)[row])

    def feed(self) -> bytes | memoryview:
        """The bytes pyarrow reads: the block, with each bad record replaced by a row of empty cells."""
        view = memoryview(self.buf)
        if not self.bad:
            return view[:self.consumed]
        empty = b",".join([b'""'] * self.ncols)
        parts: list[bytes | memoryview] = []
        at = 0
        for record in sorted(self.bad):
            parts.append(view[at:self.starts[record]])
            parts.append(empty)
            at = int(self.ends[record])
        parts.append(view[at:self.consumed])
        return b"".join(parts)


def _scan_block(buf: bytes, eof: bool, first_line: int, ncols: int, exact: bool = False) -> _Block:
    """Split `buf` into whole records; what follows the last one is left for the next block.

    Record ends are found from quote parity (numpy, fast); with `exact`, line by line with Python's csv
    module, which reads a quote inside a cell the way pyarrow does (for the rare block where parity is wrong).
    """
    import numpy as np

    a = np.frombuffer(buf, dtype=np.uint8)
    n = len(a)
    newlines = np.flatnonzero(a == 10)
    cr = np.flatnonzero(a == 13)
    if cr.size:
        after = np.minimum(cr + 1, n - 1)
        lone = cr[(cr + 1 >= n) | (a[after] != 10)]
        if not eof:
            lone = lone[lone != n - 1]  # a CR ending the block may be the first half of a CRLF
        if lone.size:
            newlines = np.sort(np.concatenate([newlines, lone]))
    m = len(newlines)
    # Extended index j: j = 0 is the block's start, j ≥ 1 is just after newline j-1.
    starts_of = np.concatenate([[0], newlines + 1])
    quote = (a == 34).view(np.uint8)
    bad: dict[int, str] = {}  # extended index of a record start → problem of that record (its first line only)
    consumed_at = m  # extended index where the carried-over rest begins
    if exact:
        exact_bounds, bad, consumed_at = _exact_bounds(buf, newlines, starts_of, eof, first_line)
        bounds = np.array(exact_bounds, dtype=np.int64)
    elif not quote.any():
        bounds = np.arange(m + 1)
    else:
        # Whether an odd number of quotes precedes each line end: then it lies inside a quoted cell.
        parity = np.concatenate([[0], np.bitwise_xor.accumulate(quote)[newlines]])
        flips = np.flatnonzero(parity[1:] != parity[:-1]) + 1
        parts = []
        k = 0
        while True:
            fi = int(np.searchsorted(flips, k, side="right"))
            if fi == len(flips):
                parts.append(np.arange(k, m + 1))
                break
            f = int(flips[fi])
            parts.append(np.arange(k, f))
            s = f - 1  # a quoted cell opens on the line starting at s and is still open at its end
            start = int(starts_of[s])
            e = int(flips[fi + 1]) if fi + 1 < len(flips) else None
            if e is None and not eof and n - start <= MAX_RECORD_BYTES and m - s <= MAX_RECORD_LINES:
                consumed_at = s  # the row may close in the next block
                break
            if e is not None:
                lines, size = e - s, int(newlines[e - 1]) - start
                if lines <= MAX_RECORD_LINES and size <= MAX_RECORD_BYTES \
                        and _cells(buf[start:int(newlines[e - 1])]) == ncols:
                    k = e  # a row whose quoted cell spans lines
                    continue
            first = buf[start:int(newlines[f - 1])]
            cells = _cells(first)
            if cells != ncols:
                line = first_line + s
                if e is None:
                    why = "到文件末尾也没有闭合" if eof or n - start > MAX_RECORD_BYTES else \
                        f"跨过了 {MAX_RECORD_LINES} 行以上"
                elif e - s > MAX_RECORD_LINES or int(newlines[e - 1]) - start > MAX_RECORD_BYTES:
                    why = f"跨过了 {e - s} 行（上限 {MAX_RECORD_LINES} 行）"
                else:
                    why = f"到第 {first_line + e - 1} 行才闭合，这几行的字段数与表头的 {ncols} 列不符"
                bad[s] = (f"第 {line} 行的引号没有闭合（以引号开始的字段{why}），这一行无法读取，"
                          f"从下一行起照常读取：{_shorten(first.decode('utf-8', 'replace'))}")
            k = f  # start again on the next line
        bounds = np.concatenate(parts) if parts else np.arange(1)
        bounds = bounds[bounds <= consumed_at]
    record_start = bounds[:-1]
    starts = starts_of[record_start]
    ends = newlines[bounds[1:] - 1] if len(bounds) > 1 else np.zeros(0, dtype=np.int64)
    length = ends - starts
    blank = (length == 0) | ((length == 1) & (a[np.minimum(starts, n - 1)] == 13))
    consumed = int(starts_of[bounds[-1]])
    oversized = False
    if n - consumed > MAX_RECORD_BYTES and bounds[-1] == m:
        # One line longer than the bound and no line end yet: it becomes an error row, read no further.
        record_start = np.append(record_start, m)
        starts = np.append(starts, consumed)
        ends = np.append(ends, n)
        blank = np.append(blank, False)
        bad[m] = f"第 {first_line + m} 行超过 {MAX_RECORD_BYTES:,} 字节，无法读取"
        consumed = n
        oversized = True
    too_long = np.flatnonzero(~blank & (length > MAX_RECORD_BYTES))
    for r in too_long.tolist():
        bad.setdefault(int(record_start[r]), f"第 {first_line + int(record_start[r])} 行超过 {MAX_RECORD_BYTES:,} 字节，无法读取")
    block = _Block(buf, starts, ends, first_line, record_start, blank, ncols, set(), {})
    block.consumed = consumed
    block.lines = int(bounds[-1])  # the line ends consumed (an oversized line's own end comes later)
    block.blanks = int(np.count_nonzero(blank))
    block.oversized = oversized
    if bad:
        index = {int(j): r for r, j in enumerate(record_start.tolist())}
        for j, text in bad.items():
            record = index[j]
            block.bad.add(record)
            block.problems[block.row_of(record)] = text
    return block


def _exact_bounds(buf: bytes, newlines: Any, starts_of: Any, eof: bool,
                  first_line: int) -> tuple[list[int], dict[int, str], int]:
    """Record boundaries (extended indices) line by line: a line with a quote is joined with the next ones
    until Python's csv module reads them as exactly one record, within MAX_RECORD_LINES and MAX_RECORD_BYTES."""
    m = len(newlines)
    bounds = [0]
    bad: dict[int, str] = {}
    j = 0
    while j < m:
        start = int(starts_of[j])
        if b'"' not in buf[start:int(newlines[j])]:
            j += 1
            bounds.append(j)
            continue
        closed = None
        last = min(m, j + MAX_RECORD_LINES)
        for t in range(j + 1, last + 1):
            text = buf[start:int(newlines[t - 1])]
            if len(text) > MAX_RECORD_BYTES:
                break
            if _cells(text) != -1:
                closed = t
                break
        if closed is not None:
            j = closed
            bounds.append(j)
            continue
        if not eof and last == m and len(buf) - start <= MAX_RECORD_BYTES:
            return bounds, bad, j  # the record may close in the next block
        first = buf[start:int(newlines[j])]
        why = f"跨过了 {MAX_RECORD_LINES} 行以上" if last < m else "到文件末尾也没有闭合"
        bad[j] = (f"第 {first_line + j} 行的引号没有闭合（以引号开始的字段{why}），这一行无法读取，"
                  f"从下一行起照常读取：{_shorten(first.decode('utf-8', 'replace'))}")
        j += 1
        bounds.append(j)
    return bounds, bad, m


def _cells(record: bytes) -> int:
    """How many cells Python's csv module finds in one record; -1 when it is not exactly one record."""
    import csv
    import io

    try:
        rows = list(csv.reader(io.StringIO(record.decode("utf-8", "replace"), newline=""), strict=True))
    except csv.Error:
        return -1
    return len(rows[0]) if len(rows) == 1 else -1


def _split(table: Any, size: int, keep_tail: list[Any] | None) -> Iterator[Any]:
    """Whole chunks of `size` rows; with `keep_tail`, the remainder is left in it for later."""
    start = 0
    while table.num_rows - start >= size:
        yield table.slice(start, size)
        start += size
    rest = table.slice(start)
    if keep_tail is None:
        if rest.num_rows:
            yield rest
        return
    keep_tail.clear()
    if rest.num_rows:
        keep_tail.append(rest)


def _shorten(text: str | None, limit: int = 60) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


class JsonlReader(Reader):
    """One JSON object per line; numbers are read as exact decimals, never through float.

    Lines are read with a bound (MAX_RECORD_BYTES): a longer line is an error
    row and is skipped without being held in memory.  Blank lines are skipped
    and counted; a key given twice in one object is an error row (like YB408
    for a case file).
    """

    def __init__(self, path: str, chunk_size: int) -> None:
        self.path = path
        self.chunk_size = chunk_size
        self.problems = {}
        self.blank_lines = 0
        self.names: list[str] = []
        with open(path, "rb"):
            pass

    def chunks(self) -> Iterator[Any]:
        import pyarrow as pa

        rows: list[dict[str, Any] | None] = []
        start = 0
        for number, raw in _bounded_lines(self.path):
            if number == 1 and raw is not None and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if raw is None:
                self.problems[start + len(rows)] = f"第 {number} 行超过 {MAX_RECORD_BYTES:,} 字节，无法读取"
                rows.append(None)
            elif not raw.strip():
                self.blank_lines += 1
                continue
            else:
                rows.append(self._parse(raw, number, start + len(rows)))
            if len(rows) >= self.chunk_size:
                yield self._table(rows, pa)
                start += len(rows)
                rows = []
        if rows or start == 0:
            yield self._table(rows, pa)

    def _parse(self, raw: bytes, number: int, index: int) -> dict[str, Any] | None:
        try:
            text = raw.decode("utf-8").rstrip("\r\n")  # so that a column number is on this line
        except UnicodeDecodeError:
            self.problems[index] = f"第 {number} 行不是 UTF-8 编码"
            return None
        try:
            value = json.loads(text, parse_float=_bounded_decimal, parse_int=_bounded_int,
                               parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
        except _RowProblem as exc:
            self.problems[index] = f"第 {number} 行{exc}"
            return None
        except RecursionError:
            self.problems[index] = f"第 {number} 行嵌套过深，不是一个案例"
            return None
        except json.JSONDecodeError as exc:
            self.problems[index] = f"第 {number} 行不是有效的 JSON（第 {exc.colno} 个字符附近）：{_shorten(text)}"
            return None
        except ValueError as exc:
            self.problems[index] = f"第 {number} 行不是有效的 JSON：{_shorten(str(exc))}"
            return None
        if not isinstance(value, dict):
            self.problems[index] = f"第 {number} 行应为 JSON 对象 {{\"输入名\": 值, …}}"
            return None
        for key in value:
            if key not in self.names:
                self.names.append(key)
        return value

    def _table(self, rows: list[dict[str, Any] | None], pa: Any) -> Any:
        from yibaolang.tools.items import json_list_column

        columns: dict[str, list[Any]] = {name: [] for name in self.names}
        for row in rows:
            for name, cells in columns.items():
                cells.append(row.get(name) if row is not None else None)
        if not columns:
            return pa.table({"": pa.nulls(len(rows))}).drop_columns([""]) if rows else pa.table({})
        return pa.table({name: json_list_column(cells, cell_text) if _mostly_lists(cells)
                         else pa.array([cell_text(c) for c in cells], pa.string()) for name, cells in columns.items()})


def _mostly_lists(cells: list[Any]) -> bool:
    """A column of arrays (a list input's lines, tools/items.py): at least as many arrays as other values."""
    lists = sum(isinstance(c, list) for c in cells)
    return lists > 0 and lists >= sum(c is not None and not isinstance(c, list) for c in cells)


def _bounded_lines(path: str) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) for each line; None for a line longer than MAX_RECORD_BYTES (never held whole)."""
    with open(path, "rb") as fh:
        number = 0
        while True:
            raw = fh.readline(MAX_RECORD_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):
                    raw = fh.readline(MAX_RECORD_BYTES)
                yield number, None
                continue
            yield number, raw


class _RowProblem(ValueError):
    """What is wrong with one JSON Lines row, in the words shown after "第 N 行"."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RowProblem(f"的键“{key}”出现了两次，无法确定用哪一个值")
        out[key] = value
    return out


def _bounded_int(text: str) -> Any:
    if len(text) > MAX_CELL_BYTES:
        raise _RowProblem(f"有一个 {len(text):,} 位的数，超过上限 {MAX_CELL_BYTES:,} 个字符")
    return int(text)


def _bounded_decimal(text: str) -> Decimal:
    if len(text) > MAX_CELL_BYTES:
        raise _RowProblem(f"有一个 {len(text):,} 个字符的数，超过上限 {MAX_CELL_BYTES:,} 个字符")
    return Decimal(text)


def _reject_constant(name: str) -> Any:
    raise _RowProblem(f"有不支持的数值 {name}")


def cell_text(value: Any) -> str | None:
    """A JSON or Python value as the typed string a case file would hold (None stays an empty cell)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "（列表）"
    return "（映射）" if isinstance(value, dict) else str(value)


# ------------------------------------------------------------------ writing


class Writer:
    """Writes through `yibaolang.files.Output`: a temporary file beside the target, fsynced and renamed by `commit`."""

    def __init__(self, path: str, inputs: Sequence[str] = ()) -> None:
        from yibaolang.files import Output

        self.output = Output(path, inputs)
        self.path = self.output.path
        self.tmp = self.output.tmp
        self.rows = 0

    @property
    def started(self) -> bool:
        return self.rows > 0 or getattr(self, "writer", None) is not None

    def write(self, table: Any) -> None:
        from yibaolang.files import write_failed

        try:
            self._write(table)
        except OSError as exc:  # pyarrow's IO errors are OSErrors too (ENOSPC, EFBIG under ulimit -f, …)
            raise write_failed(exc, self.output.shown) from None

    def _write(self, table: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        from yibaolang.files import write_failed

        try:
            self.close()
        except OSError as exc:
            self.abort()
            raise write_failed(exc, self.output.shown) from None
        self.output.commit()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
        self.output.abort()


def open_writer(path: str, inputs: Sequence[str] = (), narrow: bool = False, *, replace: bool = False,
                bom: bool = True, cases: str | None = None, row_numbers: bool = True) -> Writer:
    from typing import cast

    from yibaolang.tools import sources

    if sources.is_location(path):  # a database table or an Excel sheet (docs/batch.md 数据源)
        return cast(Writer, sources.open_sink(path, inputs, replace=replace, narrow=narrow, wide=WideMoney,
                                              cases=cases, row_numbers=row_numbers))
    inputs = sources.input_files(inputs)
    fmt = format_of(path)
    if fmt == "csv":
        return CsvWriter(path, inputs, bom)
    if fmt == "jsonl":
        return JsonlWriter(path, inputs)
    if fmt == "parquet":
        return ParquetWriter(path, inputs, narrow)
    raise BatchError(f"无法识别输出文件的格式：{path}（支持 .csv、.jsonl、.parquet）")


class WideMoney(Exception):
    """A Parquet result started with decimal(18, 2) money meets a larger amount: written again, wide."""


class _ArrowWriter(Writer):
    """A writer through a pyarrow writer, opened on the first chunk (when the schema is known), closed once."""

    def __init__(self, path: str, inputs: Sequence[str] = ()) -> None:
        super().__init__(path, inputs)
        self.writer: Any = None

    def close(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()


class ParquetWriter(_ArrowWriter):
    def __init__(self, path: str, inputs: Sequence[str] = (), narrow: bool = False) -> None:
        super().__init__(path, inputs)
        self.narrow = narrow
        self.output.release()  # pyarrow opens the temporary file by its path

    def _write(self, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from yibaolang.tools.columns import narrow_decimals

        table = narrow_decimals(table) if self.narrow else table
        if self.writer is None:
            # Dictionary pages only for text (错误, 选项): for money, high-cardinality by nature, they cost
            # time and space.  Decimals of precision ≤ 18 are stored as INT64 (docs/batch.md 结果文件).
            text = [f.name for f in table.schema
                    if pa.types.is_string(f.type) or pa.types.is_large_string(f.type) or pa.types.is_dictionary(f.type)]
            self.writer = pq.ParquetWriter(self.tmp, table.schema, compression="snappy", use_dictionary=text,
                                           store_decimal_as_integer=True)
        elif self.narrow and _widened(self.writer.schema, table.schema):
            raise WideMoney  # a later chunk holds an amount of more than 16 integer digits
        self.writer.write_table(table)
        self.rows += table.num_rows


def _widened(written: Any, table: Any) -> bool:
    import pyarrow as pa

    return any(pa.types.is_decimal(a.type) and pa.types.is_decimal(b.type) and a.type.precision < b.type.precision
               for a, b in zip(written, table, strict=False))


class CsvWriter(_ArrowWriter):
    def __init__(self, path: str, inputs: Sequence[str] = (), bom: bool = True) -> None:
        super().__init__(path, inputs)
        self.bom = bom

    def _write(self, table: Any) -> None:
        import pyarrow.csv as pv

        table = spreadsheet_safe(_plain_columns(table))
        if self.writer is None:
            if self.bom:  # so that spreadsheet programs read the Chinese header as UTF-8 (--no-bom leaves it out)
                self.output.write(b"\xef\xbb\xbf")
            self.writer = pv.CSVWriter(self.output.handle, table.schema)
        self.writer.write_table(table)
        self.rows += table.num_rows


# A cell a spreadsheet would run as a formula (OWASP, "CSV Injection"): =, +, -, @, tab or CR first.
FORMULA_START = r"^[=+\-@\t\r]"
# ...unless it is a plain number such as -5 or -120.50: a value, which must stay a number for the analyst.
PLAIN_NUMBER = r"^[+-]?[0-9]+(\.[0-9]+)?$"


def spreadsheet_safe(table: Any) -> Any:
    """Text cells that would start a formula get a leading ' (shown as text by Excel, LibreOffice, WPS)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    changed = False
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.match_substring_regex(column, FORMULA_START)
            if not pc.any(risky).as_py():
                columns.append(column)
                continue
            risky = pc.and_kleene(risky, pc.invert(pc.match_substring_regex(column, PLAIN_NUMBER)))
            if pc.any(risky).as_py():
                column = pc.if_else(risky, pc.binary_join_element_wise(pa.scalar("'"), column, ""), column)
                changed = True
        columns.append(column)
    names = [_safe_name(name) for name in table.column_names]  # the header row is a row of cells too
    changed = changed or names != table.column_names
    return pa.table(columns, names=names) if changed else table


def _safe_name(name: str) -> str:
    import re

    if re.match(FORMULA_START, name) and not re.match(PLAIN_NUMBER, name):
        return "'" + name
    return name


def _plain_columns(table: Any) -> Any:
    """Dictionary and binary columns as text (for the text formats)."""
    import pyarrow as pa

    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_binary(column.type):
            column = _binary_text(column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _binary_text(column: Any) -> Any:
    import pyarrow as pa

    try:
        return column.cast(pa.string())
    except pa.ArrowInvalid:
        return pa.array([None if v is None else v.decode("utf-8", "replace") for v in column.to_pylist()], pa.string())


class JsonlWriter(Writer):
    """JSON Lines written a column at a time: each value is JSON-encoded with Arrow compute."""

    def _write(self, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        table = _plain_columns(table)
        n = table.num_rows
        if n == 0:
            return
        parts: list[Any] = []
        for i, (name, column) in enumerate(zip(table.column_names, table.columns, strict=True)):
            key = json.dumps(name, ensure_ascii=False) + ":"
            parts.append(("{" if i == 0 else ",") + key)
            parts.append(_json_values(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column))
        parts.append("}\n")
        arrays = [p if not isinstance(p, str) else pa.scalar(p) for p in parts]
        lines = pc.binary_join_element_wise(*arrays, "")
        for chunk in (lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]):
            self.output.write(b"".join(v for v in pa.array(chunk).cast(pa.binary()).to_pylist()))
        self.rows += n

    def close(self) -> None:
        return None  # the Output owns the handle


def _json_values(column: Any) -> Any:
    """Each value of a column as JSON text ("null" for a null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = column.type
    if pa.types.is_boolean(t):
        text = pc.if_else(column, pa.scalar("true"), pa.scalar("false"))
    elif pa.types.is_integer(t):
        text = column.cast(pa.string())
    else:
        if not pa.types.is_string(t):
            column = column.cast(pa.string())
        text = _json_strings(column)
    return text.fill_null("null")


def _json_strings(column: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    control = pc.match_substring_regex(column, r"[\x00-\x1f]")
    if pc.any(control).as_py():
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in column.to_pylist()],
                        pa.string())
    escaped = pc.replace_substring(column, "\\", "\\\\")
    escaped = pc.replace_substring(escaped, '"', '\\"')
    return pc.binary_join_element_wise(pa.scalar('"'), escaped, pa.scalar('"'), "")


# ------------------------------------------------------------------ evaluation of a chunk


@attrs.define
class Accumulator:
    """An input declared `累计 figure`: the running total of `figure` over earlier claims."""

    input: str
    figure: str  # the output name that reaches the figure from the root policy
    type: Any
    family: bool = False  # 家庭累计: one running total per family (docs/batch.md §2.1)


@attrs.define
class ChunkOut:
    n: int
    columns: dict[str, Any]  # output name → Arrow array
    errors: Any  # Arrow string array, "" when the row succeeded
    error_rows: Any  # numpy bool array
    extras: list[tuple[Any, dict[int, Any]]] = attrs.Factory(list)  # per extra figure: Vec, fallback values
    vector_rows: int = 0
    fallback: Any = None  # numpy bool array: rows the interpreter evaluated
    failures: dict[int, list[str]] = attrs.Factory(dict)  # failed row → its problems (accounting.Coded)


class _CaseValues(dict):  # type: ignore[type-arg]
    """A case's inputs where a cell that could not be read counts as not given (even with a 默认)."""

    def __init__(self, values: dict[str, Any], invalid: dict[str, tuple[Any, Any]]) -> None:
        super().__init__(values)
        self.invalid = invalid

    def get(self, key: str, default: Any = None) -> Any:
        found = self.invalid.get(key)
        if found is not None:
            from yibaolang.engines.evaluate import MissingInput

            raise MissingInput(key, found[0], found[1])
        return super().get(key, default)


class Runner:
    """A policy ready to evaluate chunks of rows: the engine plus the interpreter for the rest."""

    def __init__(self, program: Any, outputs: Sequence[str] | None = None, *, date: dt.date | None = None,
                 engine: str = "numpy", claim_date: str | None = None, extras: Sequence[str] = (),
                 strict: bool = False) -> None:
        from yibaolang.engines.cases import declared_inputs
        from yibaolang.engines.evaluate import Figure, evaluator_for
        from yibaolang.engines.vector import Engine

        self.program = program
        self.evaluator = evaluator_for(program, False)
        self.outputs = list(dict.fromkeys(outputs or self.evaluator.default_outputs()))
        self.types = []
        for name in [*self.outputs, *extras]:
            figure = self.evaluator.output(name)
            if not isinstance(figure, Figure):
                raise BatchError(f"--output {name}：{figure.message}（{figure.hint}）")
            self.types.append(figure.type)
        self.extras = list(extras)
        self.date = date
        self.claim_date = claim_date
        self.inputs = declared_inputs(program)
        self.needed = _case_inputs(self.evaluator)
        self.bounds = {name: self._bounds(info) for name, info in self.inputs.items()}
        self.engine = Engine(program, self.outputs, strict=strict) if engine != "interpreter" else None
        self.extra_figures = [self.engine.figure_named(n) for n in self.extras] if self.engine is not None else []
        header = program.root.module.header
        self.effective = header.effective if header is not None else None
        self.fallback_rows = 0
        self.rows = 0
        self._memo: dict[Any, tuple[list[Any], list[str]]] = {}

    def _bounds(self, info: Any) -> tuple[Any, Any] | None:
        decl = info.decl
        if decl.range_low is None or decl.range_high is None:
            return None
        try:
            return (self.evaluator.constant(info.scope, decl.range_low),
                    self.evaluator.constant(info.scope, decl.range_high))
        except Exception:
            return None

    def prepare(self, table: Any, *, problems: dict[int, str] | None = None,
                fixed: dict[str, Any] | None = None, row_dates: Any = None,
                unreadable: Collection[int] = ()) -> tuple[dict[str, Any], dict[int, list[str]],
                                                          dict[int, list[str]], Any, Any]:
        """The cells of `table` converted: (inputs, row → problems, row → unreadable inputs, dates, 计算日期)."""
        import pyarrow as pa

        from yibaolang.engines.vector import date_const, m_or, select
        from yibaolang.ir.types import Kind
        from yibaolang.tools.accounting import coded
        from yibaolang.tools.columns import convert

        n = table.num_rows
        converted: dict[str, Any] = {}
        names = set(table.column_names)
        for name in self.needed:
            if fixed is not None and name in fixed:
                converted[name] = fixed[name]
            elif name in names and self.inputs[name].type.kind is Kind.LIST:
                from yibaolang.tools.items import convert_input

                converted[name] = convert_input(self, table, name)  # 明细 (docs/batch.md 明细)
            elif name in names:
                column, too_long = _drop_long_cells(table[name])
                bad_text: list[int] = []
                if pa.types.is_binary(column.type):
                    column, bad_text = _decode_text(column)
                conv = converted[name] = convert(column, self.inputs[name], self.program, self.bounds[name])
                for row in bad_text:  # a cell that is not UTF-8 text: a problem of this input
                    conv.problems[row] = coded(f"输入 {name}：不是有效的 UTF-8 文字", "YB403", f"输入 {name}")
                for row, size in too_long.items():
                    conv.problems[row] = coded(f"输入 {name}：单元格有 {size:,} 字节，超过上限 {MAX_CELL_BYTES:,} 字节",
                                               "YB403", f"输入 {name}")
        row_problems: dict[int, list[str]] = {}
        for row, text in (problems or {}).items():
            row_problems.setdefault(row, []).append(text)
        invalid_rows: dict[int, list[str]] = {}
        for name, conv in converted.items():
            for row, text in conv.problems.items():
                row_problems.setdefault(row, []).append(text)
                invalid_rows.setdefault(row, []).append(name)
        for row in unreadable:
            invalid_rows[row] = list(self.needed)
            row_problems.setdefault(row, [])
        # 计算日期: --date, else the row's 计算日期 cell, else its claim date, else the policy's 施行.
        file_dates = self._date_column(table, row_problems)
        if file_dates is None:
            file_dates = row_dates
        elif row_dates is not None:
            file_dates = _merge_dates(file_dates, row_dates)
        default_date = date_const(self.effective) if self.effective is not None else None
        date_vec: Any
        if self.date is not None:
            date_vec = date_const(self.date)
        elif file_dates is not None:
            given = file_dates.column.given
            vec = file_dates.column.vec
            if given is None:
                date_vec = vec
            elif default_date is not None:
                date_vec = select([given], [vec], default_date, n)
            else:
                date_vec = vec.with_masks(vec.bad, m_or(vec.miss, ~given))
        else:
            date_vec = default_date
        return converted, row_problems, invalid_rows, file_dates, date_vec

    def evaluate(self, table: Any, *, problems: dict[int, str] | None = None,
                 fixed: dict[str, Any] | None = None, row_dates: Any = None,
                 unreadable: Collection[int] = ()) -> ChunkOut:
        """Evaluate every row of `table`; `problems` are row-level reading problems (row → text).

        `unreadable` rows could not be read at all (a ragged CSV row, a line that is not JSON): every input
        counts as unreadable, so no figure is computed from defaults and only the reading problem is shown.

        `fixed` replaces input columns (the 累计 totals); `row_dates` is a
        Converted date column used as 计算日期 where the file gives none.
        """
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from yibaolang.engines.vector import no_gc
        from yibaolang.tools.columns import python_value, to_arrow

        n = table.num_rows
        with no_gc():  # a list per failing row and no cycles (docs/performance.md#出错的行留在引擎里)
            converted, row_problems, invalid_rows, file_dates, date_vec = self.prepare(
                table, problems=problems, fixed=fixed, row_dates=row_dates, unreadable=unreadable)
        # The engine.
        kept = None  # rows with unusable cells the engine finishes (_cells_missing)
        if self.engine is not None:
            columns_in, kept = self._cells_missing(converted, n, row_problems, invalid_rows, unreadable, date_vec)
            result = self.engine.run(columns_in, n, date_vec, self.extra_figures)
            fallback = np.array(result.fallback, dtype=bool, copy=True)
            kept &= result.missing | ~fallback
            if (kept & fallback).any():
                kept &= ~fallback | self._placeholders_complete(converted, columns_in, kept, n, date_vec)
            fallback &= ~kept
            outputs, extra_vecs = result.outputs, result.extras
        else:
            from yibaolang.engines.vector import placeholder

            fallback = np.ones(n, dtype=bool)
            outputs = [placeholder(t, n) for t in self.types[: len(self.outputs)]]
            extra_vecs = [placeholder(t, n) for t in self.types[len(self.outputs):]]
        if row_problems:
            problem_rows = np.fromiter(row_problems, dtype=np.int64, count=len(row_problems))
            fallback[problem_rows if kept is None else problem_rows[~kept[problem_rows]]] = True
        for conv in converted.values():
            for row in conv.exact:
                fallback[row] = True
        if kept is not None:
            kept &= ~fallback
        # The interpreter for the rest.
        overrides: list[dict[int, Any]] = [{} for _ in [*self.outputs, *self.extras]]
        messages: dict[int, str] = {}
        failures: dict[int, list[str]] = {}  # the same rows, each problem with its code (tools/accounting.py)
        rows = np.nonzero(fallback)[0].tolist()
        for row in rows:
            outcome_values, errors = self._interpret(row, converted, invalid_rows.get(row, []), file_dates,
                                                     python_value)
            for k, value in enumerate(outcome_values):
                overrides[k][row] = value
            texts = row_problems.get(row, []) + errors
            if texts:
                messages[row] = SEPARATOR.join(texts)
                failures[row] = texts
        with no_gc():
            self.rows += n
            self.fallback_rows += len(rows)
            columns = {}
            for k, name in enumerate(self.outputs):
                # An output the engine could not compute on a kept row (it reads an unusable cell) stays empty.
                unset = _unset(outputs[k], n) & kept if kept is not None and kept.any() else None
                columns[name] = to_arrow(outputs[k], self.types[k], n, overrides[k], unset)
            # The failing rows the engine finished itself (broken 断言: engines/vector_errors.py), then the rest.
            errors, error_rows = _engine_errors(self.engine, result, fallback, failures) if self.engine is not None \
                else (pa.repeat(pa.scalar("", pa.string()), n), np.zeros(n, dtype=bool))
            if kept is not None and kept.any():  # the cells' problems first, as the interpreter's rows give them
                alike: dict[tuple[int, ...], tuple[list[str], str]] = {}  # rows with the same texts share them
                for row in np.flatnonzero(kept).tolist():
                    texts = row_problems[row] + failures.get(row, [])
                    found = alike.get(same := tuple(map(id, texts)))
                    if found is None:
                        found = alike[same] = (texts, SEPARATOR.join(texts))
                    failures[row], messages[row] = found
            if messages:
                ordered = sorted(messages)
                interpreted = np.zeros(n, dtype=bool)
                interpreted[ordered] = True
                error_rows |= interpreted
                errors = pc.replace_with_mask(errors, pa.array(interpreted), pa.array([messages[r] for r in ordered],
                                                                                       pa.string()))
            extras = [(extra_vecs[k], overrides[len(self.outputs) + k]) for k in range(len(self.extras))]
        return ChunkOut(n, columns, errors, error_rows, extras, n - len(rows), fallback, failures)

    def _cells_missing(self, converted: dict[str, Any], n: int, row_problems: dict[int, list[str]],
                       invalid_rows: dict[int, list[str]], unreadable: Collection[int], date_vec: Any
                       ) -> tuple[dict[str, Any], Any]:
        """The engine's input columns, where an unusable cell (YB403–YB407) reads as a missing input even
        when the input has a 默认 — as the interpreter reads it (`_CaseValues`) — and the rows the engine
        may finish: their only problems are such cells (the interpreter leaves out the YB410 of an unusable
        cell; `_placeholders_complete` checks that no other YB410 is due)."""
        import numpy as np

        from yibaolang.engines.vector import InputColumn, m_or

        columns = {name: conv.column for name, conv in converted.items()}
        kept = np.zeros(n, dtype=bool)
        if not row_problems:
            return columns, kept
        cells = np.zeros(n, dtype=bool)
        refused = np.zeros(n, dtype=bool)  # a list's lines with a problem: the interpreter takes the row
        for name, conv in converted.items():
            if not conv.problems:
                continue
            rows = np.zeros(n, dtype=bool)
            rows[list(conv.problems)] = True
            if conv.column.lines is not None:
                refused |= rows
                continue
            cells |= rows
            vec, given = conv.column.vec, conv.column.given
            columns[name] = InputColumn(vec.with_masks(vec.bad, m_or(vec.miss, rows)),
                                        None if given is None else given | rows, None)
        kept = cells & ~refused
        for row in np.flatnonzero(kept).tolist():  # only cell problems (each cell: one text, one input)
            if len(row_problems.get(row, ())) != len(invalid_rows.get(row, ())):
                kept[row] = False
        for row in unreadable:
            kept[row] = False
        return columns, kept

    def _placeholders_complete(self, converted: dict[str, Any], columns: dict[str, Any], kept: Any, n: int,
                               date_vec: Any) -> Any:
        """The kept rows on which no other input is missing: the outputs again, each unusable cell given the
        interpreter's placeholder value (`evaluate._missing_diagnostics` looks for the other missing inputs
        this way); a row still missing an input (its YB410 is due) or failing goes to the interpreter."""
        import numpy as np

        from yibaolang.engines.vector import DATEK, ENUMK, NUM, InputColumn, Vec

        filled = dict(columns)
        for name, conv in converted.items():
            if not conv.problems or name not in columns or columns[name] is conv.column:
                continue
            rows = np.zeros(n, dtype=bool)
            rows[list(conv.problems)] = True
            vec, type_ = conv.column.vec, self.inputs[name].type
            data = np.broadcast_to(np.asarray(vec.data), (n,))
            if vec.kind == NUM:
                new = Vec(NUM, np.where(rows, 0, data), scale=vec.scale, lo=min(vec.lo, 0), hi=max(vec.hi, 0))
            elif vec.kind == DATEK:
                day = dt.date(2000, 1, 1).toordinal() - dt.date(1970, 1, 1).toordinal()
                new = Vec(DATEK, np.where(rows, day, data), lo=min(vec.lo, day), hi=max(vec.hi, day))
            elif vec.kind == ENUMK and type_.enum is not None and type_.enum.values \
                    and type_.enum.values[0] in vec.labels:
                code = vec.labels.index(type_.enum.values[0])
                new = Vec(ENUMK, np.where(rows, code, data), labels=vec.labels)
            elif vec.kind == "bool":
                new = Vec("bool", np.where(rows, False, data))
            else:
                return np.zeros(n, dtype=bool)
            given = conv.column.given
            filled[name] = InputColumn(new.with_masks(vec.bad, vec.miss), None if given is None else given | rows)
        assert self.engine is not None
        again = self.engine.run(filled, n, date_vec, self.extra_figures)
        return kept & ~np.asarray(again.fallback, dtype=bool)

    def _date_column(self, table: Any, row_problems: dict[int, list[str]]) -> Any:
        import pyarrow as pa

        from yibaolang.tools.columns import convert

        if DATE_COLUMN not in table.column_names or self.date is not None:
            return None
        column, too_long = _drop_long_cells(table[DATE_COLUMN])
        if pa.types.is_binary(column.type):
            column, _ = _decode_text(column)
        converted = convert(column, _date_info(self.program), self.program, None)
        from yibaolang.tools.accounting import coded, retold

        for row, size in too_long.items():
            converted.problems[row] = coded(f"{DATE_COLUMN}：单元格有 {size:,} 字节，超过上限 {MAX_CELL_BYTES:,} 字节",
                                            "YB403", DATE_COLUMN)
        for row, text in converted.problems.items():
            row_problems.setdefault(row, []).append(retold(text, text.replace(f"输入 {DATE_COLUMN}：", f"{DATE_COLUMN}：")))
        return converted

    def _interpret(self, row: int, converted: dict[str, Any], invalid: list[str], dates: Any,
                   python_value: Callable[..., Any], given_values: dict[str, Any] | None = None
                   ) -> tuple[list[Any], list[str]]:
        values: dict[str, Any] = {}
        for name, conv in converted.items():
            given = conv.column.given
            if given is not None and not given[row]:
                continue
            if row in conv.exact:
                values[name] = conv.exact[row]
            elif conv.column.lines is not None:
                values[name] = conv.value_of(row)  # a claim's lines (tools/items.py)
            else:
                values[name] = python_value(conv.column.vec, self.inputs[name].type, row)
        if given_values:
            values.update(given_values)
        bad = {name: (self.inputs[name].type, self.inputs[name].decl.span) for name in invalid}
        date = None
        if dates is not None:
            given = dates.column.given
            if given is None or given[row]:
                date = python_value(dates.column.vec, _date_info(self.program).type, row)
        # Rows with the same values give the same result: a file whose every row lacks a column, or
        # repeats a few bad rows, is evaluated once per distinct row.
        key = (tuple(sorted(values.items(), key=lambda kv: kv[0])), tuple(sorted(invalid)), date)
        found = self._memo.get(key)
        if found is not None:
            return found
        if len(self._memo) >= MEMO_ROWS:
            self._memo.clear()
        found = self._memo[key] = self._evaluate_case(values, bad, invalid, date)
        return found

    def _evaluate_case(self, values: dict[str, Any], bad: dict[str, Any], invalid: list[str],
                       date: Any) -> tuple[list[Any], list[str]]:
        from yibaolang.engines.evaluate import evaluate
        from yibaolang.engines.outcome import CaseInput
        from yibaolang.tools.accounting import diagnostic_text

        case = CaseInput(_CaseValues(values, bad), date=date, date_source="批量数据的 计算日期")
        outcome = evaluate(self.program, case, [*self.outputs, *self.extras], date=self.date)
        results = [out.value if out.ok else None for out in outcome.outputs]
        errors: list[str] = []
        for d in outcome.diagnostics:
            if not d.is_error:
                continue
            if d.code == "YB410" and any(d.message.startswith(f"缺少输入“{name}”") for name in invalid):
                continue  # the cell's own problem is already reported
            errors.append(diagnostic_text(d))  # the message, with its code and clause
        return results, errors


def _unset(vec: Any, n: int) -> Any:
    """The rows where the engine has no value of `vec` (a missing input or an error)."""
    import numpy as np

    out = np.zeros(n, dtype=bool)
    for mask in (vec.bad, vec.miss):
        if mask is not None:
            out |= np.broadcast_to(np.asarray(mask, dtype=bool), (n,))
    return out


def _engine_errors(engine: Any, result: Any, fallback: Any, failures: dict[int, list[str]]) -> tuple[Any, Any]:
    """The 错误 column and failed rows of what the engine finished (the rows not in `fallback`), with each
    row's problems added to `failures`: the interpreter's texts and codes (engines/vector_errors.py)."""
    import itertools

    import numpy as np
    import pyarrow as pa

    from yibaolang.engines.vector_errors import row_errors
    from yibaolang.tools.accounting import diagnostic_text

    errs = row_errors([c.diagnostic for c in engine.checks], result.failures, ~fallback)
    coded: list[list[str]] = [[diagnostic_text(d) for d in pattern] for pattern in errs.patterns]
    texts = pa.array([SEPARATOR.join(c) for c in coded], pa.string())
    errors = texts.take(pa.array(errs.ids)) if len(coded) > 1 else pa.repeat(pa.scalar("", pa.string()), len(fallback))
    for p in range(1, len(coded)):
        rows = np.flatnonzero(errs.ids == p).tolist()
        failures.update(zip(rows, itertools.repeat(coded[p])))
    return errors, errs.ids != 0


def _drop_long_cells(column: Any) -> tuple[Any, dict[int, int]]:
    """Text cells longer than MAX_CELL_BYTES as empty, and which rows they were (row → bytes)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if not (pa.types.is_binary(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or pa.types.is_large_binary(kind)):
        return column, {}
    lengths = pc.binary_length(column)
    long = pc.fill_null(pc.greater(lengths, MAX_CELL_BYTES), False)
    if not pc.any(long).as_py():
        return column, {}
    mask = np.asarray(long.combine_chunks() if isinstance(long, pa.ChunkedArray) else long, dtype=bool)
    sizes = np.asarray(lengths.combine_chunks() if isinstance(lengths, pa.ChunkedArray) else lengths)
    rows = np.flatnonzero(mask)
    column = pc.if_else(long, pa.scalar(None, kind), column)
    return column, {int(r): int(sizes[r]) for r in rows.tolist()}


def _decode_text(column: Any) -> tuple[Any, list[int]]:
    """Binary cells as text (tools/columns.py `decode_text`, shared with the lines of tools/items.py)."""
    from yibaolang.tools.columns import decode_text

    return decode_text(column)


def _merge_dates(first: Any, second: Any) -> Any:
    """The 计算日期 cells where given, else `second`'s."""
    import numpy as np

    from yibaolang.engines.vector import InputColumn, select
    from yibaolang.tools.columns import Converted

    a, b = first.column, second.column
    if a.given is None:
        return first
    n = len(a.given)
    vec = select([a.given], [a.vec], b.vec, n)
    given_b = b.given if b.given is not None else np.ones(n, dtype=bool)
    given = a.given | given_b
    return Converted(InputColumn(vec, None if given.all() else given))


_DATE_INFO: dict[int, Any] = {}


def _date_info(program: Any) -> Any:
    found = _DATE_INFO.get(id(program))
    if found is not None and found[0] is program:
        return found[1]
    from yibaolang import ir
    from yibaolang.engines.cases import InputInfo
    from yibaolang.ir.types import DATE

    decl = ir.InputDecl(DATE_COLUMN, ir.TypeRef("日期", None, ir.NO_SPAN), None, None, None, None, None, ir.NO_SPAN)
    info = InputInfo(DATE_COLUMN, DATE, decl, program.root)
    _DATE_INFO[id(program)] = (program, info)
    return info


def _case_inputs(evaluator: Any) -> list[str]:
    """Inputs some instance reads from the case (not bound by 代入), in declaration order."""
    from yibaolang.checks.resolve import SymbolKind
    from yibaolang.semantics.levels import FUND, level_of

    names: list[str] = []
    for inst in evaluator.instances:
        for symbol in inst.scope.own.values():
            if symbol.kind is SymbolKind.INPUT and symbol.name not in inst.bindings and symbol.name not in names \
                    and level_of(symbol.name) != FUND:  # a fund input is given once per run (--fund), not per row
                names.append(symbol.name)
    return names


def accumulators(program: Any) -> list[Accumulator]:
    """The 累计 inputs the case supplies, each with the output name of its figure."""
    from yibaolang import ir
    from yibaolang.engines.evaluate import Figure, evaluator_for

    evaluator = evaluator_for(program, False)
    found: list[Accumulator] = []
    for inst in evaluator.instances:
        for symbol in inst.scope.own.values():
            decl = symbol.decl
            if not isinstance(decl, ir.InputDecl) or decl.accumulates is None or symbol.name in inst.bindings:
                continue
            if any(a.input == symbol.name for a in found):
                continue
            name = inst.qualified(decl.accumulates.display)
            figure = evaluator.output(name)
            if not isinstance(figure, Figure):
                raise BatchError(f"无法找到 {symbol.name} 所累计的数额 {decl.accumulates.display}：{figure.message}")
            found.append(Accumulator(symbol.name, name, program.types.get(symbol.key), decl.family))
    return found


# ------------------------------------------------------------------ claims over a year (docs/batch.md §2)


def fiscal_start(program: Any) -> tuple[int, int]:
    header = program.root.module.header
    if header is not None and header.fiscal_year_start is not None:
        month, day = header.fiscal_year_start
        return (int(month), int(day))
    return (1, 1)


def _key_ids(table: Any, column: str) -> tuple[Any, Any, Any]:
    """One id per distinct value of a key column (trimmed), the empty cells, and the texts."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = table[column]
    if pa.types.is_binary(values.type):
        values, _ = _decode_text(values)
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    encoded = pc.dictionary_encode(text)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    ids = np.asarray(encoded.indices.fill_null(-1), dtype=np.int64)
    empty = np.asarray(pc.equal(text, "").fill_null(True))
    return ids, empty, text


def _families(table: Any, family: str, person_id: Any, person: str) -> Any:
    """The family group of each claim (docs/batch.md §2.1): a person without a family is a family alone.

    A person must belong to one family: two claims of one person in one vector pass would both read
    the same running total.
    """
    import numpy as np

    n = table.num_rows
    if family not in table.column_names:
        raise BatchError(f"案例文件中没有列“{family}”（--family）")
    family_id, empty, text = _key_ids(table, family)
    family_id = np.where(empty | (family_id < 0), -1, family_id)
    known = (person_id >= 0) & (family_id >= 0)
    if known.any():
        pairs = np.unique(np.stack([person_id[known], family_id[known]], axis=1), axis=0)
        twice = pairs[:-1, 0][np.diff(pairs[:, 0]) == 0] if len(pairs) > 1 else pairs[:0, 0]
        if len(twice):
            rows = np.nonzero(known & (person_id == twice[0]))[0]
            names = sorted({str(text[int(r)]) for r in rows})
            raise BatchError(f"同一人出现在不同的家庭中：列“{person}”相同的理赔，列“{family}”为 {'、'.join(names[:3])}"
                             "（每人只能属于一个家庭，家庭累计 才算得准）")
    # Ids of families, then one id per person without a family, all distinct and non-negative.
    base = int(family_id.max()) + 1 if n else 0
    alone = np.where(person_id >= 0, base + person_id, -1)
    return np.where(family_id >= 0, family_id, alone)


def settle_claims(runner: Runner, table: Any, person: str, claim_date: str,
                  problems: dict[int, str] | None = None, progress: Callable[[int], None] | None = None,
                  family: str | None = None) -> ChunkOut:
    """Every claim of `table`, settled per person (or family) and 统筹年度 in date order (ties in file order).

    With `family`, claims are grouped by family: the 家庭累计 inputs are one running total per family
    and 统筹年度, the other 累计 inputs still one per person (docs/batch.md §2.1).
    """
    import numpy as np
    import pyarrow as pa

    from yibaolang.engines.vector import InputColumn, Vec
    from yibaolang.tools.accounting import ALONE, coded, retold
    from yibaolang.tools.columns import Converted, convert, to_arrow

    n = table.num_rows
    problems = dict(problems or {})
    unreadable = set(problems)  # rows the reader could not read; the notes added below are not such rows
    for column_name in (person, claim_date):
        if column_name not in table.column_names:
            raise BatchError(f"案例文件中没有列“{column_name}”")
    accs = accumulators(runner.program)
    pooled = [acc.input for acc in accs if acc.family]
    if pooled and family is None:
        raise BatchError(f"{'、'.join(pooled)} 是 家庭累计 的输入：请用 --family 指定家庭标识列（如 户号）")
    # Persons: one id per distinct value; an empty cell is a person of its own.
    person_id, empty, _ = _key_ids(table, person)
    family_of = _families(table, family, person_id, person) if family is not None else None
    person_id = np.where(empty | (person_id < 0), -1 - np.arange(n), person_id)
    if family_of is not None:
        family_of = np.where(family_of >= 0, family_of, person_id)
    for row in np.nonzero(empty)[0].tolist():
        problems.setdefault(row, coded(f"列“{person}”为空：这笔理赔单独结算，不与其他理赔累计", ALONE, f"列“{person}”"))
    # Claim dates.
    date_column = table[claim_date]
    if pa.types.is_binary(date_column.type):
        date_column, _ = _decode_text(date_column)
    dates = convert(date_column, _date_info(runner.program), runner.program, None)
    given = dates.column.given if dates.column.given is not None else np.ones(n, dtype=bool)
    for row, text in dates.problems.items():
        problems[row] = retold(text, text.replace(f"输入 {DATE_COLUMN}：", f"列“{claim_date}”："))
    for row in np.nonzero(~given)[0].tolist():
        if row not in problems:
            problems[row] = coded(f"列“{claim_date}”为空：这笔理赔单独结算，不与其他理赔累计", ALONE,
                                  f"列“{claim_date}”")
    day = np.where(given, np.asarray(dates.column.vec.data, dtype=np.int64), 0)
    person_id = np.where(given, person_id, -1 - np.arange(n) - n)
    alone = (person_id < 0)  # settled on its own: no person or no claim date
    # The sort key: the family when claims are pooled by family, else the person.
    owner = np.where(alone, person_id, family_of) if family_of is not None else person_id
    first = int(day.min()) if n else 0
    span = int(day.max()) - first + 1 if n else 1
    # 统筹年度 of each claim: computed once per day of the file's date range when that is shorter.
    days = np.arange(first, first + span) if span < n else day
    fiscal = _fiscal_years(days, fiscal_start(runner.program))
    if span < n:
        fiscal = fiscal[day - first]
    # One sort: by person, claim date (so by 统筹年度 too), file order — one int64 key, a stable sort.
    # Groups are runs of the sorted rows; a claim's rank is its place in its group.  Then rank-major
    # order (stable, so groups keep their order within a rank): rank k's claims are one contiguous
    # slice, whatever the skew.
    if (3 * n + 2) * span < 1 << 62 and int(owner.max(initial=0)) < n:
        order = np.argsort((owner + 2 * n + 1) * span + (day - first), kind="stable")
    else:
        order = np.lexsort((np.arange(n), day, owner))
    new_group = np.ones(n, dtype=bool)
    if n:
        new_group[1:] = (np.diff(owner[order]) != 0) | (np.diff(fiscal[order]) != 0)
    sorted_group = np.cumsum(new_group) - 1
    starts = np.nonzero(new_group)[0]
    lengths = np.diff(np.r_[starts, n])
    rank_sorted = np.arange(n) - np.repeat(starts, lengths)
    by_rank = np.argsort(rank_sorted, kind="stable")
    perm = order[by_rank]  # file row of each position in rank-major order
    group = sorted_group[by_rank]  # group of each position
    counts = np.bincount(rank_sorted, minlength=1) if n else np.zeros(0, dtype=np.int64)
    bounds = np.r_[0, np.cumsum(counts)]
    ngroups = int(sorted_group[-1]) + 1 if n else 0
    # Per-person groups (person, 统筹年度) for the person totals when claims are grouped by family.
    person_group = group
    npersons = ngroups
    if family_of is not None and n and any(not acc.family for acc in accs):
        _, person_group_of = np.unique(np.stack([person_id, fiscal], axis=1), axis=0, return_inverse=True)
        person_group = np.asarray(person_group_of, dtype=np.int64).reshape(-1)[perm]
        npersons = int(person_group.max()) + 1
    groups_of = [group if (acc.family or family_of is None) else person_group for acc in accs]
    # Running totals per group, exact: int64 at the figure's scale while that holds, else a Decimal.
    totals = [_Totals(ngroups if acc.family or family_of is None else npersons, _initial_total(runner, acc), acc.type)
              for acc in accs]
    used = [c for c in table.column_names if c in set(runner.needed) or c == DATE_COLUMN]
    ordered = table.select(used).take(pa.array(perm)) if n else table.select(used)
    position = np.empty(n, dtype=np.int64)
    position[perm] = np.arange(n)
    at = {int(position[r]): text for r, text in problems.items()}  # problems by rank-major position
    unreadable_at = {int(position[r]) for r in unreadable}
    alone_at = alone[perm]
    day_at = day[perm]
    given_at = None if given.all() else given[perm]
    out_columns: dict[str, list[Any]] = {name: [] for name in runner.outputs}
    out_errors: list[Any] = []
    error_rows = np.zeros(n, dtype=bool)
    failures: dict[int, list[str]] = {}  # file row → its problems (tools/accounting.py)
    vector_rows = 0
    names = "、".join(acc.input for acc in accs)
    for k in range(len(counts)):
        a, b = int(bounds[k]), int(bounds[k + 1])
        if b - a < FEW_CLAIMS and len(counts) - k > MANY_RANKS:  # many small ranks left: claim by claim
            result = _settle_tail(runner, ordered.slice(a), [g[a:] for g in groups_of], totals, accs,
                                  {p - a: t for p, t in at.items() if p >= a}, {p - a for p in unreadable_at if p >= a},
                                  Converted(InputColumn(Vec("date", day_at[a:]),
                                                        None if given_at is None else given_at[a:])),
                                  alone_at[a:])
            failed = result.error_rows
            for name in runner.outputs:
                out_columns[name].append(result.columns[name])
            out_errors.append(result.errors)
            error_rows[perm[a:]] = failed
            failures.update((int(perm[a + j]), texts) for j, texts in result.failures.items())
            if progress is not None:
                progress(n - a)
            break
        sub = ordered.slice(a, b - a)
        fixed = {acc.input: totals[i].column(groups_of[i][a:b]) for i, acc in enumerate(accs)}
        sub_dates = Converted(InputColumn(Vec("date", day_at[a:b]), None if given_at is None else given_at[a:b]))
        sub_problems = {p - a: t for p, t in at.items() if a <= p < b}
        sub_unreadable = [p - a for p in unreadable_at if a <= p < b]
        result = runner.evaluate(sub, problems=sub_problems, fixed=fixed, row_dates=sub_dates,
                                 unreadable=sub_unreadable)
        failed = result.error_rows
        notes: dict[int, str] = {}
        for i, (total, (vec, fallback_values)) in enumerate(zip(totals, result.extras, strict=True)):
            total.add(groups_of[i][a:b], vec, fallback_values, failed)
        if accs and failed.any():
            for j in np.nonzero(failed & ~alone_at[a:b])[0].tolist():
                notes[j] = f"本次理赔有错误，未计入 {names} 的累计"
        errors = result.errors
        if notes:
            texts = errors.to_pylist()
            for j, note in notes.items():
                texts[j] = SEPARATOR.join(t for t in (texts[j], note) if t)
            errors = pa.array(texts, pa.string())
        for name in runner.outputs:
            out_columns[name].append(result.columns[name])
        out_errors.append(errors)
        error_rows[perm[a:b]] = failed
        failures.update((int(perm[a + j]), texts) for j, texts in result.failures.items())
        vector_rows += result.vector_rows
        if progress is not None:
            progress(b - a)
    # Back to file order.
    if not n:
        columns = {name: to_arrow(Vec("num", np.zeros(0, dtype=np.int64)), t, 0, {})
                   for name, t in zip(runner.outputs, runner.types, strict=False)}
        return ChunkOut(0, columns, pa.array([], pa.string()), error_rows)
    take = pa.array(position)
    columns = {name: pa.concat_arrays(parts).take(take) for name, parts in out_columns.items()}
    errors = pa.concat_arrays(out_errors).take(take)
    return ChunkOut(n, columns, errors, error_rows, [], vector_rows, None, failures)


# Below this many claims in one rank, a vector pass costs more than the interpreter on each claim
# (about 2 ms against 10 µs a claim): the ranks of one person with thousands of claims go claim by claim.
FEW_CLAIMS = 200
MANY_RANKS = 16  # a few small ranks cost little as vector passes


def _settle_tail(runner: Runner, table: Any, groups: list[Any], totals: list[_Totals], accs: list[Accumulator],
                 problems: dict[int, str], unreadable: set[int], dates: Any, alone: Any) -> ChunkOut:
    """The claims of the small ranks, in rank-major order (so each group's in date order), by the interpreter."""
    import numpy as np
    import pyarrow as pa

    from yibaolang.engines.vector import placeholder
    from yibaolang.tools.columns import python_value, to_arrow

    n = table.num_rows
    fixed_names = {acc.input for acc in accs}
    converted, row_problems, invalid_rows, file_dates, _ = runner.prepare(
        table, problems=problems, fixed={}, row_dates=dates, unreadable=unreadable)
    for name in fixed_names:
        converted.pop(name, None)
    noted = "、".join(acc.input for acc in accs)
    overrides: list[dict[int, Any]] = [{} for _ in runner.outputs]
    texts: list[str] = []
    error_rows = np.zeros(n, dtype=bool)
    failures: dict[int, list[str]] = {}
    for row in range(n):
        invalid = [name for name in invalid_rows.get(row, []) if name not in fixed_names]
        given = {acc.input: totals[i].value(int(groups[i][row])) for i, acc in enumerate(accs)}
        values, errors = runner._interpret(row, converted, invalid, file_dates, python_value, given)
        for k in range(len(runner.outputs)):
            overrides[k][row] = values[k]
        shown = row_problems.get(row, []) + errors
        failed = bool(shown) or row in unreadable
        if failed:
            failures[row] = list(shown)
        if failed and accs and not alone[row]:
            shown.append(f"本次理赔有错误，未计入 {noted} 的累计")
        if not failed:
            for i, total in enumerate(totals):
                value = values[len(runner.outputs) + i]
                if value is not None:
                    total._add_exact(int(groups[i][row]), value)
        error_rows[row] = failed
        texts.append(SEPARATOR.join(shown))
    runner.rows += n
    runner.fallback_rows += n
    columns = {name: to_arrow(placeholder(t, n), t, n, overrides[k])
               for k, (name, t) in enumerate(zip(runner.outputs, runner.types, strict=False))}
    return ChunkOut(n, columns, pa.array(texts, pa.string()), error_rows, [], 0, None, failures)


def _fiscal_years(days: Any, start: tuple[int, int]) -> Any:
    """The 统筹年度 (the calendar year it starts in) of each day number (days since 1970-01-01)."""
    import numpy as np

    month0, day0 = start
    d64 = days.astype("datetime64[D]")
    year = d64.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d64.astype("datetime64[M]").astype(np.int64) % 12 + 1
    mday = (d64 - d64.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return year - ((month < month0) | ((month == month0) & (mday < day0)))


def _initial_total(runner: Runner, acc: Accumulator) -> Any:
    """A running total starts from the input's 默认 (zero when it has none)."""
    from yibaolang.ir.types import DURATIONS

    info = runner.inputs.get(acc.input)
    if info is not None and info.decl.default is not None:
        try:
            return runner.evaluator.constant(info.scope, info.decl.default)
        except Exception:
            pass
    return 0 if acc.type is not None and acc.type.kind in DURATIONS else Decimal(0)


class _Totals:
    """Per-group running totals: int64 at a fixed scale, with exact Decimals for groups that outgrow it."""

    SCALE = 10

    def __init__(self, ngroups: int, start: Any, type_: Any) -> None:
        import numpy as np

        from yibaolang.engines.vector import scaled

        self.type = type_
        self.exact: dict[int, Any] = {}
        value, scale = scaled(start) if not isinstance(start, bool) else (int(start), 0)
        self.scale = max(scale, 2 if type_ is not None and type_.kind.value == "金额" else 0)
        self.data = np.full(ngroups, value * 10 ** (self.scale - scale), dtype=np.int64)
        self.start = start

    def value(self, group: int) -> Any:
        from yibaolang.engines.vector import to_decimal
        from yibaolang.ir.types import DURATIONS

        if group in self.exact:
            return self.exact[group]
        value = to_decimal(int(self.data[group]), self.scale)
        if self.type is not None and self.type.kind in DURATIONS:
            return int(value)
        return value

    def column(self, groups: Any) -> Any:
        import numpy as np

        from yibaolang.engines.vector import InputColumn, num_array
        from yibaolang.tools.columns import Converted

        vec = num_array(self.data[groups], self.scale)
        exact: dict[int, Any] = {}
        if self.exact:
            hit = np.isin(groups, np.array(list(self.exact), dtype=np.int64))
            for j in np.nonzero(hit)[0].tolist():
                exact[j] = self.exact[int(groups[j])]
            vec = vec.with_masks(hit, None)
        return Converted(InputColumn(vec, None), {}, exact)

    def add(self, groups: Any, vec: Any, fallback: dict[int, Any], failed: Any) -> None:
        """Add each succeeded claim's figure to its group's total.

        `vec` holds the engine's values, `fallback` the interpreter's (row → value)
        for the rows it evaluated; `failed` rows add nothing.
        """
        import numpy as np

        from yibaolang.engines.vector import SAFE, to_decimal

        n = len(groups)
        slow: dict[int, Any] = {j: v for j, v in fallback.items() if not failed[j] and v is not None}
        engine_rows = ~np.asarray(failed, dtype=bool)
        if fallback:
            engine_rows[list(fallback)] = False
        if engine_rows.any():
            data = np.broadcast_to(np.asarray(vec.data, dtype=np.int64), (n,))
            if vec.scale > self.scale:
                self._grow(vec.scale)
            fast = engine_rows.copy()
            if self.exact:
                fast &= ~np.isin(groups, np.array(list(self.exact), dtype=np.int64))
            if vec.scale <= self.scale:
                f = 10 ** (self.scale - vec.scale)
                fast &= np.abs(data) < SAFE // f
                values = data * f
                g = groups[fast]
                new = self.data[g] + values[fast]
                fits = np.abs(new) < SAFE
                self.data[g[fits]] = new[fits]
                fast[np.nonzero(fast)[0][~fits]] = False
            else:
                fast[:] = False
            for j in np.nonzero(engine_rows & ~fast)[0].tolist():
                slow[j] = to_decimal(int(data[j]), vec.scale)
        for j, value in slow.items():
            self._add_exact(int(groups[j]), value)

    def _add_exact(self, group: int, value: Any) -> None:
        from yibaolang.engines.vector import SAFE, Unsupported, scaled

        total = self.value(group) + value
        if group in self.exact:
            self.exact[group] = total
            return
        try:
            data, scale = scaled(total)
        except Unsupported:
            self.exact[group] = total
            return
        if scale > self.scale:
            self._grow(scale)
        if scale <= self.scale and abs(data) * 10 ** (self.scale - scale) < SAFE:
            self.data[group] = data * 10 ** (self.scale - scale)
        else:
            self.exact[group] = total

    def _grow(self, scale: int) -> None:
        import numpy as np

        from yibaolang.engines.vector import SAFE

        scale = min(scale, self.SCALE)
        if scale <= self.scale:
            return
        f = 10 ** (scale - self.scale)
        too_big = np.abs(self.data) >= SAFE // f
        for group in np.nonzero(too_big)[0].tolist():
            self.exact.setdefault(group, self.value(group))
        self.data = np.where(too_big, 0, self.data) * f
        self.scale = scale


# ------------------------------------------------------------------ the command


@attrs.define
class Options:
    policy: str
    cases: str
    out: str
    outputs: tuple[str, ...] = ()
    date: dt.date | None = None
    keep_inputs: bool = False
    person: str | None = None
    claim_date: str | None = None
    engine: str = "numpy"
    chunk_size: int = DEFAULT_CHUNK
    scheduler: str | None = None
    query: str | None = None  # docs/batch.md 数据源: --query, --encoding, --replace, --bom
    encoding: str | None = None
    replace: bool = False
    bom: bool = True
    max_error_rate: Any = None  # accounting.ErrorBound of --max-error-rate (docs/batch.md 出错的行与合计)
    report: str = "text"  # --format json: the summary as JSON on standard output
    family: str | None = None  # --family: the family key of 家庭累计 (docs/batch.md §2.1)
    fund: tuple[str, ...] = ()  # docs/batch.md 基金层: --fund FILE.yaml / --fund 名称=值 (tools/fund_run.py)
    summary: str | None = None  # --summary FILE.json: the JSON summary, written to a file
    fund_inputs: dict[str, Any] = attrs.Factory(dict)  # --fund, read once the policy is compiled
    items: tuple[str, ...] = ()  # docs/batch.md 明细: --items 明细=LINES (tools/items.py)
    key: str | None = None  # --key 单据号: the column joining claims and lines
    tables: dict[str, str] = attrs.Factory(dict)  # --table 目录名=路径 (tools/tables.py)


def run_command(options: Options, executor: Callable[[Any, Options], Summary] | None = None) -> int:
    """`yibaolang run --cases`: returns the exit code (0 all rows succeeded, 1 some row failed or the input is bad).

    `executor` replaces `execute` (the dask engine passes `dask_engine.run_dask`: it builds on this module)."""
    import click

    if not have_batch_dependencies():
        click.echo(INSTALL_HINT, err=True)
        return 2
    if (options.person is None) != (options.claim_date is None):
        raise click.UsageError("--person 与 --claim-date 需要同时给出")
    if options.family is not None and options.person is None:
        raise click.UsageError("--family 要与 --person、--claim-date 一起用：家庭内各人的理赔仍按人、按日期排序")
    from yibaolang.tools.sources import is_location

    for path, what in ((options.cases, "案例文件"), (options.out, "输出文件")):
        if format_of(path) is None and not is_location(path):
            raise click.UsageError(f"无法识别{what}的格式：{path}（支持 .csv、.jsonl、.parquet）")
    if options.engine == "dask" and options.person is not None:
        raise click.UsageError("--engine dask 不支持 --person（按人结算需要整个文件）")
    if options.engine == "dask" and options.items:
        raise click.UsageError("--engine dask 不支持 --items（明细表按键连接在单进程中进行）；请用 --engine numpy")
    if options.engine == "dask" and options.max_error_rate is not None:
        raise click.UsageError("--engine dask 不支持 --max-error-rate（各分区分别计算，无法在途中停下）")
    if options.engine == "dask" and format_of(options.cases) != "parquet":
        raise click.UsageError("--engine dask 只读取 Parquet 案例文件")
    from yibaolang.checks.compiler import compile_policy
    from yibaolang.diagnostics import has_errors, render_text

    program = compile_policy(options.policy)
    if has_errors(program.diagnostics):
        for d in program.diagnostics:
            if d.is_error:
                lines = next((s.source.original.splitlines() for s in program.modules.values()
                              if s.path == d.span.file), None)
                click.echo(render_text(d, lines), err=True)
        return 1
    from yibaolang.tools.tables import apply_tables

    refused = apply_tables(program, options.tables)  # YB469: a --table name the policy does not declare
    if refused:
        for d in refused:
            click.echo(render_text(d, None), err=True)
        return 1
    from yibaolang.tools import fund_run

    options.fund_inputs, problems = fund_run.parse_fund(program, options.fund)
    if problems:  # YB491/YB492: nothing is computed
        for d in problems:
            click.echo(render_text(d, None), err=True)
        return 1
    started = time.perf_counter()
    from yibaolang.tools.accounting import TooManyErrors

    try:
        summary = (executor or execute)(program, options)
    except TooManyErrors as exc:  # YB482: stopped, nothing written
        click.echo(render_text(exc.diagnostic(options.cases), None), err=True)
        return 1
    except BatchError as exc:
        click.echo(f"错误：{exc}", err=True)
        return 1
    seconds = time.perf_counter() - started
    rate = summary.rows / seconds if seconds > 0 else 0.0
    blank = f"，跳过空行 {summary.blank_lines:,} 行" if summary.blank_lines else ""
    if summary.encoding is not None:  # docs/batch.md 数据源: which encoding the CSV was read in
        blank += f"，按 {summary.encoding} 编码读取"
    click.echo(f"共 {summary.rows:,} 行，出错 {summary.errors:,} 行{blank}，用时 {seconds:.2f} 秒"
               f"（{rate:,.0f} 行/秒）；已写入 {_shown(options.out)}", err=True)
    fund_failed = fund_run.report(program, summary)  # the fund level, once (docs/batch.md 基金层)
    _report(summary, options)
    return 1 if summary.errors or fund_failed else 0


def _report(summary: Summary, options: Options) -> None:
    """The accounting after the summary line (docs/batch.md 出错的行与合计): why rows failed, by code and place,
    and how many rows each output has a value for; with --format json, all of it as JSON on standard output."""
    import json

    import click

    from yibaolang.diagnostics import visible
    from yibaolang.tools.accounting import NOTE, json_groups, text_lines

    tally = summary.tally
    outputs = list(summary.computed)
    if options.report == "json" or options.summary is not None:
        from yibaolang.tools import fund_run

        document = {"schema": "yibaolang.batch/1", "cases": options.cases, "out": _shown(options.out),
                    "rows": summary.rows, "failed": summary.errors, "succeeded": summary.rows - summary.errors,
                    "blank_lines": summary.blank_lines,
                    "outputs": [{"name": name, "computed": summary.computed[name],
                                 "missing": summary.rows - summary.computed[name]} for name in outputs],
                    "failures": json_groups(tally) if tally is not None else None,
                    "fund": fund_run.json_part(summary)}
        if options.report == "json":
            click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        if options.summary is not None:
            fund_run.write_summary(options.summary, document, [options.policy, options.cases, options.out])
    if not summary.errors:
        return
    lines = []
    if tally is not None and tally.failed == summary.errors:
        lines.append(f"出错的 {summary.errors:,} 行，按原因（{NOTE}）：")
        lines += text_lines(tally, visible=visible)
    else:
        lines.append("（--engine dask 不分类出错的原因；用 --engine numpy 运行可以看到）")
    if outputs:
        shown = "；".join(f"{visible(name)} {summary.computed[name]:,} 行" +
                         (f"（未算出 {summary.rows - summary.computed[name]:,} 行）"
                          if summary.computed[name] < summary.rows else "") for name in outputs)
        lines.append(f"各输出算出的行数：{shown}")
    click.echo("\n".join(lines), err=True)


@attrs.define
class Summary:
    rows: int = 0
    errors: int = 0
    vector_rows: int = 0
    blank_lines: int = 0  # skipped, not rows (CSV and JSON Lines)
    encoding: str | None = None  # a CSV file's encoding, as read (docs/batch.md 数据源)
    fund: Any = None  # engines/fund.py FundOutcome: the fund level, computed once after the last row
    fund_note: str | None = None  # why the fund level was not computed (--person, --engine dask)
    tally: Any = None  # accounting.Tally: the failed rows by code and place
    computed: dict[str, int] = attrs.Factory(dict)  # output → rows with a value


def execute(program: Any, options: Options, progress: Any = None) -> Summary:
    """Evaluate the case file into the output file (written completely or not at all).

    Parquet money is written as decimal(18, 2) (INT64) while every amount fits; when
    one does not, the file is written again with decimal(38, 2) (docs/batch.md 结果文件)."""
    try:
        return _execute(program, options, progress, narrow=True)
    except WideMoney:
        return _execute(program, options, _NoProgress(), narrow=False)


def _execute(program: Any, options: Options, progress: Any, narrow: bool) -> Summary:
    extras: list[str] = []
    accs: list[Accumulator] = []
    if options.person is not None:
        accs = accumulators(program)
        extras = [a.figure for a in accs]
    from yibaolang.tools import fund_run

    fund = fund_run.start(program, options.fund_inputs, options.date) if options.person is None else None
    if fund is not None:  # the claim figures the fund aggregates: computed, not written (docs/batch.md 基金层)
        fund.offset = len(extras)
        extras = [*extras, *fund.feeds]
    runner = Runner(program, options.outputs or None, date=options.date, engine=options.engine,
                    claim_date=options.claim_date, extras=extras)
    reader = open_reader(options.cases, options.chunk_size, query=options.query, encoding=options.encoding,
                         kinds=_input_kinds(runner), out=options.out)
    from yibaolang.tools import items

    reader = items.attach(reader, runner, options.items, options.key, options.chunk_size,  # --items (docs/batch.md 明细)
                          open_lines=open_reader, error=BatchError)
    if narrow:  # the notes once, not again when the file is written a second time
        _note_columns(runner, reader, options, {a.input for a in accs})
    if narrow and runner.engine is not None and runner.engine.unsupported:
        import click

        click.echo(f"提示：向量化引擎不处理 {'；'.join(dict.fromkeys(runner.engine.unsupported))}，"
                   "用到它的数额逐行由解释器计算（结果相同，较慢）", err=True)
    from yibaolang.files import program_files

    writer = open_writer(options.out, [*program_files(program), options.cases], narrow, replace=options.replace,
                         bom=options.bom, cases=options.cases)
    summary = Summary()
    bar = _progress(reader.total) if progress is None else progress
    try:
        with bar:
            if options.person is not None:
                import pyarrow as pa

                parts = list(reader.chunks())
                table = pa.concat_tables(parts, promote_options="permissive") if parts else pa.table({})
                ignored = [a.input for a in accs if a.input in table.column_names]
                if ignored and narrow:
                    import click

                    click.echo(f"提示：按人结算时 {'、'.join(ignored)} 由此前理赔的结果累计得出，文件中的这些列不使用",
                               err=True)
                out = settle_claims(runner, table, options.person, options.claim_date or "",
                                    problems=reader.problems, progress=bar.advance, family=options.family)
                writer.write(_result_table(out, table, runner, options, summary))
            else:
                def compute(item: tuple[Any, dict[int, str]]) -> Any:
                    table, problems = item
                    out = runner.evaluate(table, problems=problems, unreadable=problems.keys())
                    if fund is not None:
                        fund.add(out)
                    bar.advance(table.num_rows)
                    return _result_table(out, table, runner, options, summary)

                pipeline(_guarded_chunks(reader, options), compute, writer.write)
            if writer.rows == 0 and not writer.started:
                import pyarrow as pa

                empty = pa.table({name: pa.array([], pa.string()) for name in _input_names(reader)})
                writer.write(_result_table(runner.evaluate(empty), empty, runner, options, summary))
            bound, tally = options.max_error_rate, summary.tally
            if bound is not None and tally is not None and bound.exceeded(tally.rows, tally.failed, final=True):
                from yibaolang.tools.accounting import TooManyErrors

                raise TooManyErrors(bound, tally.rows, tally.failed, [("", tally)])  # a file under MIN_ROWS rows
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    summary.vector_rows = runner.rows - runner.fallback_rows
    if narrow:
        _echo_notes(items.finish(reader))  # lines whose key is no claim's (docs/batch.md 明细)
    if fund is not None:
        summary.fund = fund.finish()
    elif options.person is not None:
        summary.fund_note = "按人结算（--person）时基金层暂不汇总"
    summary.blank_lines = getattr(reader, "blank_lines", 0)
    summary.encoding = getattr(reader, "encoding", None)
    return summary


def _shown(location: str) -> str:
    from yibaolang.tools.sources import shown_location

    return shown_location(location)


def _input_kinds(runner: Runner) -> dict[str, str]:
    """Money and 是否 inputs, for the readers of spreadsheets and SQLite (docs/batch.md 数据源)."""
    from yibaolang.ir.types import Kind

    kinds = {Kind.MONEY: "money", Kind.BOOL: "bool"}
    return {name: kinds[info.type.kind] for name, info in runner.inputs.items() if info.type.kind in kinds}


def _chunks_with_problems(reader: Reader) -> Iterator[tuple[Any, dict[int, str]]]:
    """Each chunk with its rows' reading problems (chunk row → text), taken as the chunk is read."""
    offset = 0
    for table in reader.chunks():
        stop = offset + table.num_rows
        yield table, {i - offset: t for i, t in reader.problems.items() if offset <= i < stop}
        offset = stop


_DONE = object()


def pipeline(items: Iterator[Any], compute: Callable[[Any], Any], sink: Callable[[Any], None],
             depth: int = 1) -> None:
    """`sink(compute(item))` for every item in order, reading ahead and writing in two threads.

    pyarrow reads and writes Parquet without the GIL, so on two cores the next
    chunk is read and the last one written while this thread computes.  Each queue
    holds at most `depth` chunks, so memory stays a few chunks whatever the file.
    An exception in either thread ends the run and is raised here; the caller's
    `abort` runs only after both threads have stopped touching the files.
    """
    import queue
    import threading

    ahead: queue.Queue[Any] = queue.Queue(depth)
    behind: queue.Queue[Any] = queue.Queue(depth)
    stop = threading.Event()
    failure: list[BaseException] = []

    def put(q: queue.Queue[Any], value: Any, taker: threading.Thread | None = None) -> bool:
        while not stop.is_set():
            try:
                q.put(value, timeout=0.1)
                return True
            except queue.Full:
                if taker is not None and not taker.is_alive():
                    return False  # the thread that empties q has ended: never wait for it
                continue
        return False

    def read() -> None:
        try:
            for item in items:
                if not put(ahead, item):
                    return
            put(ahead, _DONE)
        except BaseException as exc:  # handed to the computing thread, raised there
            put(ahead, _Failed(exc))

    def write() -> None:
        try:
            while True:
                try:
                    value = behind.get(timeout=0.1)
                except queue.Empty:
                    if stop.is_set():
                        return
                    continue
                if value is _DONE:
                    return
                sink(value)
        except BaseException as exc:
            failure.append(exc)
            stop.set()

    reader = threading.Thread(target=read, name="yibaolang-read", daemon=True)
    writer = threading.Thread(target=write, name="yibaolang-write", daemon=True)
    reader.start()
    writer.start()
    try:
        while not failure:
            try:
                item = ahead.get(timeout=0.1)
            except queue.Empty:
                if not reader.is_alive() and ahead.empty():
                    # The reader ended without a word (it could not even report, e.g. out of memory).
                    raise MemoryError("the reading thread ended") from None
                continue
            if item is _DONE:
                break
            if isinstance(item, _Failed):
                raise item.exc
            if not put(behind, compute(item), writer):
                break
        if not failure and not writer.is_alive():
            raise MemoryError("the writing thread ended") from None
        if failure:
            raise failure[0]
        put(behind, _DONE, writer)
        writer.join()
        if failure:
            raise failure[0]
    finally:
        stop.set()
        writer.join()
        reader.join()


@attrs.frozen
class _Failed:
    exc: BaseException


def _note_columns(runner: Runner, reader: Reader, options: Options, computed: set[str]) -> None:
    """Tell once, on stderr, which inputs the file lacks and which of its columns are not inputs."""
    import click

    names = _input_names(reader)
    if not names and isinstance(reader, ParquetReader):
        names = list(reader.file.schema_arrow.names)
    if not names:
        return
    present = set(names)
    lacking = [n for n in runner.needed if n not in present and n not in computed
               and runner.inputs[n].decl.default is None]
    if lacking:
        click.echo(f"提示：案例文件中没有这些输入的列：{'、'.join(lacking)}（需要它们的数额会报“缺少输入”）", err=True)
    known = set(runner.needed) | {DATE_COLUMN, options.person, options.claim_date, options.family, options.key}
    extra = [n for n in names if n not in known]
    if extra:
        shown = "、".join(extra[:8]) + (f" 等 {len(extra)} 列" if len(extra) > 8 else "")
        click.echo(f"提示：这些列不是政策的输入，不参与计算：{shown}", err=True)


def _echo_notes(notes: Sequence[str]) -> None:
    import click

    for note in notes:
        click.echo(f"提示：{note}", err=True)


def _input_names(reader: Reader) -> list[str]:
    return list(getattr(reader, "names", []) or [])


def _result_table(out: ChunkOut, table: Any, runner: Runner, options: Options, summary: Summary) -> Any:
    import pyarrow as pa

    names = list(runner.outputs)
    arrays = [out.columns[name] for name in names]
    names.append(ERROR_COLUMN)
    arrays.append(out.errors)
    if options.keep_inputs:
        taken = set(names)
        for name, column in zip(table.column_names, table.columns, strict=True):
            if name.startswith("\x00") or pa.types.is_large_list(column.type) or pa.types.is_list(column.type):
                continue  # lines are not kept as an input column (docs/batch.md 明细)
            shown = f"{INPUT_PREFIX}{name}" if name in taken else name
            names.append(shown)
            arrays.append(_binary_text(column) if pa.types.is_binary(column.type) else column)
    summary.rows += out.n
    summary.errors += int(out.error_rows.sum())
    _account(out, runner, options, summary)
    return pa.table(arrays, names=names)


def _account(out: ChunkOut, runner: Runner, options: Options, summary: Summary) -> None:
    """Count the chunk's failed rows by code and place; stop (TooManyErrors) beyond --max-error-rate."""
    from yibaolang.tools.accounting import Tally, TooManyErrors

    if summary.tally is None:
        summary.tally = Tally()
    tally = summary.tally
    tally.add(summary.rows - out.n, out.n, out.failures)
    for name in runner.outputs:
        summary.computed[name] = summary.computed.get(name, 0) + out.n - out.columns[name].null_count
    bound = options.max_error_rate
    if bound is not None and bound.exceeded(tally.rows, tally.failed):
        raise TooManyErrors(bound, tally.rows, tally.failed, [("", tally)])


def _guarded_chunks(reader: Reader, options: Options) -> Iterator[tuple[Any, dict[int, str]]]:
    """The chunks; with --max-error-rate the first rows in growing slices (1,000, 1,000, 2,000, 4,000 …
    rows, accounting.resliced) so that a file of bad rows is stopped after its first thousand rows."""
    items = _chunks_with_problems(reader)
    if options.max_error_rate is None:
        yield from items
        return
    from yibaolang.tools.accounting import resliced

    current: list[dict[int, str]] = [{}]

    def tables() -> Iterator[Any]:
        for table, problems in items:
            current[0] = problems
            yield table

    for part, at in resliced(tables()):
        stop = at + part.num_rows
        yield part, {i - at: t for i, t in current[0].items() if at <= i < stop}


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def advance(self, rows: int) -> None:
        return None


def _row_speed_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RowSpeed(ProgressColumn):
        """Rows per second, once rich has measured it."""

        def render(self, task: Any) -> Text:
            return Text(f"{task.speed:,.0f} 行/秒" if task.speed else "")

    return RowSpeed()


class _RichProgress:
    """The bar on a terminal: with a known row count (Parquet's metadata) the percentage, rows of
    the total, time used and time left; otherwise (CSV, JSON Lines) rows done, speed and time used."""

    def __init__(self, total: int | None, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns: list[str | ProgressColumn]
        if total is not None:
            columns = [TextColumn("计算"), BarColumn(), TaskProgressColumn(), MofNCompleteColumn(), TextColumn("行"),
                       TextColumn("已用"), TimeElapsedColumn(), TextColumn("剩余"), TimeRemainingColumn()]
        else:
            columns = [TextColumn("计算"), TextColumn("{task.completed:,} 行"), _row_speed_column(),
                       TextColumn("已用"), TimeElapsedColumn()]
        self.progress = Progress(*columns, console=console or Console(stderr=True), transient=True)
        self.task = self.progress.add_task("rows", total=total)

    def __enter__(self) -> _RichProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def advance(self, rows: int) -> None:
        self.progress.advance(self.task, rows)


def _progress(total: int | None) -> Any:
    """A rich progress bar on a terminal; nothing otherwise."""
    if sys.stderr.isatty():
        return _RichProgress(total)
    return _NoProgress()


# ------------------------------------------------------------------ in memory (tests, compare, benchmarks)


def evaluate_rows(program: Any, rows: Sequence[dict[str, Any]], outputs: Sequence[str] | None = None, *,
                  date: dt.date | None = None, engine: str = "numpy", strict: bool = False) -> list[dict[str, Any]]:
    """Rows of cells (typed strings or plain values, None for an empty cell) → per row {output: value, 错误: text}.

    Values are the JSON encoding of docs/cli.md (money "70000.00", ratio "0.5", …) or None.
    """
    import pyarrow as pa

    names: list[str] = []
    for row in rows:
        for key in row:
            if key not in names:
                names.append(key)
    table = pa.table({name: pa.array([cell_text(row.get(name)) for row in rows], pa.string()) for name in names}) \
        if names else pa.table({"_": pa.nulls(len(rows))})
    runner = Runner(program, outputs, date=date, engine=engine, strict=strict)
    out = runner.evaluate(table)
    columns = {name: out.columns[name].to_pylist() for name in runner.outputs}
    errors = out.errors.to_pylist()
    result = []
    for i in range(out.n):
        record = {name: _json_value(columns[name][i]) for name in runner.outputs}
        record[ERROR_COLUMN] = errors[i]
        result.append(record)
    return result


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


__all__ = ["BatchError", "ChunkOut", "Options", "Runner", "accumulators", "evaluate_rows", "execute", "open_reader",
           "open_writer", "run_command", "settle_claims"]
