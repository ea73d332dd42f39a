"""明细 in batch runs: the lines of a 列表 input, nested in the case file or joined from a lines table.

(docs/batch.md 明细, docs/itemized.md §6.)  Two ways to give a claim its lines:

- a nested column of the case file named like the list input: Parquet
  ``list<struct<编码, 数量, 单价>>``, or a JSON Lines array of objects
  (`json_list_column`);
- ``--items 明细=LINES --key 单据号``: a separate table (Parquet, CSV, JSON
  Lines) with one row per line and the key column naming its claim
  (`attach`).  The lines are grouped once by key: `LineSource` reads the key
  column, sorts it when the file is not already in key order, and hands each
  chunk of claims its lines as a nested column — so both ways reach
  `convert_list` as the same Arrow ``list<struct>``.

`convert_list` turns such a column into the vector engine's form
(`engines.vector.Lines`: per-claim offsets plus one column per line field,
every field read exactly as `tools.columns.convert` reads an input), and
names every line that cannot be read: the claim's row gets the problem
("明细 第 2 行（明细.parquet 第 17 行）单价：…") and its lines are not used.

Memory (docs/batch.md 明细): the key column of the lines table is held whole
(8 bytes a line for integer keys; for text keys a dictionary of the distinct
keys plus 8 bytes a line).  A Parquet lines table in the claims' key order is
streamed: only the current chunk's lines are in memory.  Otherwise (CSV,
JSON Lines, or a Parquet file whose lines are not in the claims' order) the
lines table's used columns are read into memory once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

LINE_NUMBER = "\x00行号"  # a line's row in the lines table (1-based, not counting a header)
LINE_PROBLEM = "\x00问题"  # why a line could not be read (a JSON element that is not an object, …)
SOURCE_KEY = b"yibaolang.lines"  # field metadata of a joined lines column: the lines table it came from
PROBLEMS_SHOWN = 1  # line problems spelled out per claim; the rest are counted


class ItemsError(Exception):
    """A problem with --items/--key that stops the run before any row (one message, exit 1)."""


# ------------------------------------------------------------------ the policy's lists


def list_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The 列表 inputs among `inputs` (name → InputInfo)."""
    from yibaolang.ir.types import Kind

    return {name: info for name, info in inputs.items() if info.type.kind is Kind.LIST}


def field_infos(program: Any, info: Any) -> dict[str, Any]:
    """Each line field of list input `info` as an InputInfo (its type, 范围, 默认), by field name."""
    from yibaolang import ir
    from yibaolang.engines.cases import InputInfo
    from yibaolang.ir.types import ERROR
    from yibaolang.semantics.levels import qualified

    out: dict[str, Any] = {}
    for field in info.decl.fields:
        symbol = info.scope.own.get(qualified(info.name, field.name))
        type_ = program.types.get(symbol.key, ERROR) if symbol is not None else ERROR
        decl = ir.InputDecl(field.name, field.type, field.range_low, field.range_high, field.default, None,
                            field.description, field.span)
        out[field.name] = InputInfo(field.name, type_, decl, info.scope)
    return out


# ------------------------------------------------------------------ a nested column → the engine's lines


class LineValues(list):  # type: ignore[type-arg]
    """A claim's lines as the interpreter reads them (a list of {字段: 值}), hashable for the batch memo."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(tuple(sorted(line.items())) for line in self))


@attrs.define
class ListConverted:
    """A list input's column for a chunk (the shape of `tools.columns.Converted`)."""

    column: Any  # InputColumn with `lines`
    problems: dict[int, str] = attrs.Factory(dict)
    exact: dict[int, Any] = attrs.Factory(dict)
    types: dict[str, Any] = attrs.Factory(dict)  # field → Type

    def value_of(self, row: int) -> LineValues:
        """Claim `row`'s lines as the interpreter's value (fields not given are left out: their 默认)."""
        from yibaolang.tools.columns import python_value

        lines = self.column.lines
        out = LineValues()
        for j in range(int(lines.offsets[row]), int(lines.offsets[row + 1])):
            line: dict[str, Any] = {}
            for name, col in lines.fields.items():
                if col.given is None or col.given[j]:
                    line[name] = python_value(col.vec, self.types[name], j)
            out.append(line)
        return out


def note_column(name: str) -> str:
    """The hidden column of claim-level problems found by the join (a key given twice)."""
    return f"\x00{name}.问题"


def convert_table_list(table: Any, info: Any, program: Any, fields: Mapping[str, Any],
                       bounds: Mapping[str, Any]) -> ListConverted:
    """List input `info`'s column of a chunk (nested, or joined by `JoinedReader`) read as lines."""
    field = table.schema.field(info.name)
    meta = field.metadata or {}
    source = meta[SOURCE_KEY].decode("utf-8") if SOURCE_KEY in meta else None
    out = convert_list(table.column(info.name), info, program, fields, bounds, source)
    notes = note_column(info.name)
    if notes in table.column_names:
        for row, text in enumerate(table.column(notes).to_pylist()):
            if text is not None:
                out.problems[row] = _coded(text, info.name)
                out.exact.pop(row, None)
    return out


def convert_list(column: Any, info: Any, program: Any, fields: Mapping[str, Any],
                 bounds: Mapping[str, Any], source: str | None = None) -> ListConverted:
    """A ``list<struct>`` column (one list of lines per claim) read as list input `info`'s lines.

    `fields` are `field_infos`, `bounds` each field's 范围 (evaluated); `source`
    names the lines table in problems when the lines came from one.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from yibaolang.engines.vector import NUM, InputColumn, Lines, Vec
    from yibaolang.tools.columns import Converted, _empty, convert
    from yibaolang.tools.columns import decode_text as _decode_text

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    n = len(column)
    types = {name: f.type for name, f in fields.items()}
    if not (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)):
        given = np.asarray(column.is_valid())
        wrong = {row: _coded(f"输入 {info.name}：应为明细行的列表（每行一个 {{字段: 值}} 对象），"
                             f"这一列的类型是 {column.type}", info.name)
                 for row in np.nonzero(given)[0].tolist()}
        empty = Lines(np.zeros(n + 1, dtype=np.int64), {})
        return ListConverted(InputColumn(Vec(NUM, 0), np.zeros(n, dtype=bool), empty), wrong, {}, types)
    valid = np.asarray(column.is_valid())
    counts = np.asarray(pc.list_value_length(column).fill_null(0), dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    values = column.flatten()
    nlines = len(values)
    owner = np.repeat(np.arange(n, dtype=np.int64), counts)
    problems: dict[int, str] = {}
    if not pa.types.is_struct(values.type):
        for row in np.nonzero(counts > 0)[0].tolist():
            problems[row] = _coded(f"输入 {info.name}：每一行明细应为 {{字段: 值}} 对象，这里是 {values.type}", info.name)
        return ListConverted(InputColumn(Vec(NUM, 0), None if valid.all() else valid,
                                         Lines(offsets, {})), problems, {}, types)
    # StructArray.flatten: each field with the nulls of its line (a null line gives no field).
    present = {values.type.field(i).name: child for i, child in enumerate(values.flatten())}
    numbers = np.asarray(present[LINE_NUMBER].fill_null(0)) if LINE_NUMBER in present else None
    line_texts: list[tuple[int, str]] = []  # (line, text), every line problem
    if LINE_PROBLEM in present:
        marks = present[LINE_PROBLEM]
        for j in np.nonzero(np.asarray(marks.is_valid()))[0].tolist():
            line_texts.append((j, str(marks[j].as_py())))
    out_fields: dict[str, Any] = {}
    exact_lines: set[int] = set()
    for name, finfo in fields.items():
        if name in present:
            child, undecodable = present[name], list[int]()
            if pa.types.is_binary(child.type) or pa.types.is_large_binary(child.type):  # CSV cells (tools/batch.py)
                child, undecodable = _decode_text(child)
            conv = convert(child, finfo, program, bounds.get(name))
            for j in undecodable:
                conv.problems[j] = f"{name}：不是有效的 UTF-8 文字"
        else:
            conv = Converted(InputColumn(_empty(finfo.type, nlines), np.zeros(nlines, dtype=bool)))
        for j, text in conv.problems.items():
            line_texts.append((j, _strip_input(text, name)))
        given = conv.column.given
        if finfo.decl.default is None and given is not None:
            unread = np.asarray(~given)
            if conv.problems:
                unread[list(conv.problems)] = False
            for j in np.nonzero(unread)[0].tolist():
                line_texts.append((j, f"{name}：缺少这一字段（没有 默认）"))
        exact_lines.update(conv.exact)
        out_fields[name] = conv.column
    lines = Lines(offsets, out_fields)
    if line_texts:
        problems = _claim_problems(info.name, line_texts, owner, offsets, numbers, source)
    out = ListConverted(InputColumn(Vec(NUM, 0), None if valid.all() else valid, lines), problems, {}, types)
    for row in sorted({int(owner[j]) for j in exact_lines} - set(problems)):
        out.exact[row] = out.value_of(row)  # a value the engine cannot hold: the interpreter takes the claim
    return out


def _claim_problems(name: str, line_texts: list[tuple[int, str]], owner: Any, offsets: Any, numbers: Any,
                    source: str | None) -> dict[int, str]:
    """Each claim's first line problem in words (with the line's row in the lines table), and how many more."""
    by_claim: dict[int, list[tuple[int, str]]] = {}
    for j, text in sorted(line_texts, key=lambda p: p[0]):
        by_claim.setdefault(int(owner[j]), []).append((j, text))
    out: dict[int, str] = {}
    for row, found in by_claim.items():
        shown = []
        for j, text in found[:PROBLEMS_SHOWN]:
            where = f"（{source} 第 {int(numbers[j]):,} 行）" if numbers is not None and source else " "
            shown.append(f"{name} 第 {j - int(offsets[row]) + 1} 行{where}{text}")
        more = len(found) - PROBLEMS_SHOWN
        tail = f"；另有 {more} 处明细读不出来" if more > 0 else ""
        out[row] = _coded("；".join(shown) + tail + "，这张结算单的明细未计算", name,
                          getattr(found[0][1], "code", "YB403"))
    return out


def _strip_input(text: str, name: str) -> str:
    """A field's problem said of the field ("单价：…"), keeping its code (YB403, YB406…)."""
    prefix = f"输入 {name}："
    if not text.startswith(prefix):
        return text
    return _like(text, f"{name}：{text[len(prefix):]}")


def _like(original: str, text: str) -> str:
    from yibaolang.tools.accounting import retold

    return retold(original, text)


def _coded(text: str, name: str, code: str = "YB403") -> str:
    """A reading problem of the list input, grouped under the input (tools/accounting.py)."""
    from yibaolang.tools.accounting import coded

    return coded(text, code, f"输入 {name}")


# ------------------------------------------------------------------ JSON Lines: arrays of objects


def json_list_column(values: Sequence[Any], cell_text: Any) -> Any:
    """A JSON Lines column whose cells are arrays of objects, as ``list<struct<字段: 文本>>``.

    Every field is kept as the text a case file would hold (`cell_text`), read
    later by the field's type; an element that is not an object, or a cell that
    is not an array, becomes a line carrying its problem (`LINE_PROBLEM`).
    """
    import pyarrow as pa

    names: dict[str, None] = {}
    for cell in values:
        if isinstance(cell, list):
            for element in cell:
                if isinstance(element, dict):
                    names.update(dict.fromkeys(element))
    lists: list[Any] = []
    for cell in values:
        if cell is None:
            lists.append(None)
            continue
        if not isinstance(cell, list):
            lists.append([{LINE_PROBLEM: f"应为明细行的列表 [{{字段: 值}}, …]，这里是 {cell_text(cell)}"}])
            continue
        lines = []
        for element in cell:
            if isinstance(element, dict):
                lines.append({k: cell_text(v) for k, v in element.items()})
            else:
                lines.append({LINE_PROBLEM: f"应为 {{字段: 值}} 对象，这里是 {cell_text(element)}"})
        lists.append(lines)
    struct = pa.struct([(name, pa.string()) for name in [*names, LINE_PROBLEM]])
    return pa.array(lists, pa.list_(struct))


# ------------------------------------------------------------------ a lines table joined by key


@attrs.define
class Orphans:
    """Lines whose key names no claim (reported once, in the summary)."""

    count: int = 0
    example_row: int = 0
    example_key: str = ""


class LineSource:
    """The lines table of one list input, grouped by key, handing out the lines of each chunk of claims."""

    def __init__(self, name: str, path: str, key: str, fields: Sequence[str], chunk_size: int,
                 open_lines: Callable[[str, int], Any], error: type[Exception]) -> None:
        """`open_lines(path, chunk_size)` opens a table as the case files are opened (tools/batch.py
        `open_reader`: format by extension, regular files only); `error` is the exception that stops a run."""
        import pyarrow as pa

        self.name = name
        self.path = path
        self.key = key
        self.chunk_size = chunk_size
        self.read_problems: dict[int, str] = {}
        self.table: Any = None  # the whole lines table once it is in memory
        reader = open_lines(path, chunk_size)
        self.file: Any = getattr(reader, "file", None)  # a Parquet file: read by columns and row ranges
        if self.file is not None:
            names = self.file.schema_arrow.names
        else:
            parts = list(reader.chunks())
            table = pa.concat_tables(parts, promote_options="permissive") if parts else pa.table({})
            self.read_problems = dict(reader.problems)
            names = table.column_names
        if key not in names:
            raise error(f"明细表 {path} 没有 --key 指定的列“{key}”（它的列有：{'、'.join(names[:12])}）")
        self.columns = [c for c in dict.fromkeys([key, *fields]) if c in names]
        if self.file is not None:
            keys = self.file.read(columns=[key]).column(key)
        else:
            self.table = table.select(self.columns)
            keys = self.table.column(key)
        self._index(keys)
        self.cursor = 0  # streaming: the first file row not yet discarded
        self.buffer: Any = None  # streaming: file rows [buffer_start, buffer_start + len)
        self.buffer_start = 0
        self.batches: Iterator[Any] | None = None

    # -------------------------------------------------------------- the key index

    def _index(self, keys: Any) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from yibaolang.tools.columns import decode_text as _decode_text

        keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
        if pa.types.is_dictionary(keys.type):
            keys = keys.cast(keys.type.value_type)
        if pa.types.is_binary(keys.type):
            keys, _ = _decode_text(keys)  # a key that is not UTF-8 is no key: its line is reported
        self.total = len(keys)
        valid = np.asarray(keys.is_valid())
        self.integer = pa.types.is_integer(keys.type)
        if self.integer:
            codes = np.asarray(keys.fill_null(0).cast(pa.int64()), dtype=np.int64)
            self.dictionary = None
        else:
            text = pc.utf8_trim_whitespace(keys.cast(pa.string()))
            valid &= np.asarray(pc.not_equal(text, "").fill_null(False))
            encoded = pc.dictionary_encode(text)
            self.dictionary = encoded.dictionary
            rank = np.empty(len(self.dictionary), dtype=np.int64)
            rank[np.asarray(pc.sort_indices(self.dictionary))] = np.arange(len(self.dictionary))
            self.rank = rank
            codes = rank[np.asarray(encoded.indices.fill_null(0), dtype=np.int64)] if len(rank) else \
                np.zeros(len(keys), dtype=np.int64)
        self.unkeyed = np.flatnonzero(~valid)  # lines without a key: reported, never attributed
        if valid.all() and (len(codes) < 2 or bool(np.all(codes[1:] >= codes[:-1]))):
            self.perm: Any = None
            ordered = codes
        else:
            rows = np.flatnonzero(valid)
            self.perm = rows[np.argsort(codes[rows], kind="stable")]
            ordered = codes[self.perm]
        m = len(ordered)
        change = np.ones(m, dtype=bool)
        if m > 1:
            change[1:] = ordered[1:] != ordered[:-1]
        self.starts = np.flatnonzero(change)
        self.ends = np.append(self.starts[1:], m).astype(np.int64)
        self.unique = ordered[self.starts]
        self.claimed = np.zeros(len(self.unique), dtype=bool)

    def _claim_codes(self, keys: Any) -> tuple[Any, Any]:
        """(index into `unique`, found) for each claim key."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from yibaolang.tools.columns import decode_text as _decode_text

        keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
        if pa.types.is_dictionary(keys.type):
            keys = keys.cast(keys.type.value_type)
        if pa.types.is_binary(keys.type):
            keys, _ = _decode_text(keys)
        n = len(keys)
        if self.integer:
            if not pa.types.is_integer(keys.type):
                text = pc.utf8_trim_whitespace(keys.cast(pa.string()))
                ok = pc.match_substring_regex(text, r"^-?\d{1,18}$").fill_null(False)
                keys = pc.if_else(ok, text, pa.scalar(None, pa.string())).cast(pa.int64())
            valid = np.asarray(keys.is_valid())
            codes = np.asarray(keys.fill_null(0).cast(pa.int64()), dtype=np.int64)
        else:
            text = pc.utf8_trim_whitespace(keys.cast(pa.string()))
            index = pc.index_in(text, value_set=self.dictionary)
            valid = np.asarray(index.is_valid())
            raw = np.asarray(index.fill_null(0), dtype=np.int64)
            codes = self.rank[raw] if len(self.rank) else np.zeros(n, dtype=np.int64)
        if not len(self.unique):
            return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        u = np.minimum(np.searchsorted(self.unique, codes), len(self.unique) - 1)
        return u, valid & (self.unique[u] == codes)

    # -------------------------------------------------------------- one chunk of claims

    def lines_for(self, claim_keys: Any) -> tuple[Any, dict[int, str]]:
        """The nested lines column for a chunk of claims, and problems of claims (row → text)."""
        import numpy as np
        import pyarrow as pa

        n = len(claim_keys)
        u, found = self._claim_codes(claim_keys)
        problems: dict[int, str] = {}
        # A key twice among the claims: the first claim gets the lines, the others an error.
        rows = np.flatnonzero(found)
        first_mask = np.zeros(n, dtype=bool)
        if rows.size:
            _, first = np.unique(u[rows], return_index=True)
            first_mask[rows[first]] = True
        duplicate = found & (~first_mask | self.claimed[u])
        for row in np.flatnonzero(duplicate).tolist():
            problems[row] = _coded(f"列“{self.key}”的值与前面的一张结算单相同：它的明细已归入前一张，这一张无法确定明细",
                                   self.name)
        keep = found & ~duplicate
        self.claimed[u[keep]] = True
        counts = np.where(keep, self.ends[u] - self.starts[u], 0)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        total = int(offsets[-1])
        positions = np.arange(total, dtype=np.int64) - np.repeat(offsets[:-1], counts) + \
            np.repeat(np.where(keep, self.starts[u], 0), counts)
        file_rows = self.perm[positions] if self.perm is not None else positions
        taken = self._take(file_rows)
        names = [c for c in self.columns if c != self.key]
        arrays = [taken.column(c).combine_chunks() if taken.num_rows else pa.array([], taken.schema.field(c).type)
                  for c in names]
        arrays.append(pa.array(file_rows + 1, pa.int64()))
        names.append(LINE_NUMBER)
        if self.read_problems:
            marks = [self.read_problems.get(int(r)) for r in file_rows.tolist()]
            arrays.append(pa.array(marks, pa.string()))
            names.append(LINE_PROBLEM)
        struct = pa.StructArray.from_arrays(arrays, names=names)
        null = ~np.asarray(claim_keys.is_valid()) if claim_keys.null_count else None
        lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), struct,
                                              mask=pa.array(null) if null is not None else None)
        return lists, problems

    def _take(self, file_rows: Any) -> Any:
        """The lines table's rows `file_rows` (streamed while they keep to file order, else read whole)."""
        import numpy as np
        import pyarrow as pa

        if self.table is None and file_rows.size and (
                int(file_rows[0]) < self.cursor or not bool(np.all(file_rows[1:] >= file_rows[:-1]))):
            # The claims are not in the lines' order: read the used columns whole, once.
            self.table = self.file.read(columns=self.columns)
            self.buffer = None
        if self.table is not None:
            return _rows_of(self.table, file_rows, 0)
        if not file_rows.size:
            return self._empty()
        last = int(file_rows[-1])
        if self.batches is None:
            self.batches = self.file.iter_batches(batch_size=max(self.chunk_size * 4, 65_536),
                                                  columns=[c for c in self.columns if c != self.key])
            self.buffer = None
            self.buffer_start = 0
        parts = [self.buffer] if self.buffer is not None else []
        end = self.buffer_start + (self.buffer.num_rows if self.buffer is not None else 0)
        while end <= last:
            batch = next(self.batches)
            parts.append(pa.Table.from_batches([batch]))
            end += batch.num_rows
        buffer = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        taken = _rows_of(buffer, file_rows, self.buffer_start)
        # Rows up to `last` are never needed again while the claims keep the lines' order.
        self.cursor = last + 1
        self.buffer = buffer.slice(self.cursor - self.buffer_start)
        self.buffer_start = self.cursor
        return taken

    def _empty(self) -> Any:
        if self.file is not None:
            return self.file.schema_arrow.empty_table().select([c for c in self.columns if c != self.key])
        return self.table.slice(0, 0)

    # -------------------------------------------------------------- at the end

    def orphans(self) -> Orphans:
        """Lines whose key is no claim's, and lines without a key."""
        import numpy as np

        out = Orphans()
        lost = np.flatnonzero(~self.claimed)
        out.count = int((self.ends[lost] - self.starts[lost]).sum()) + len(self.unkeyed)
        candidates = []
        if lost.size:
            first = int(self.starts[lost[0]])
            row = int(self.perm[first]) if self.perm is not None else first
            candidates.append((row, self._key_text(int(self.unique[lost[0]]))))
        if len(self.unkeyed):
            candidates.append((int(self.unkeyed[0]), "（空）"))
        if candidates:
            row, key = min(candidates)
            out.example_row, out.example_key = row + 1, key
        return out

    def _key_text(self, code: int) -> str:
        import numpy as np

        if self.dictionary is None:
            return str(code)
        return str(self.dictionary[int(np.flatnonzero(self.rank == code)[0])].as_py())


def _rows_of(table: Any, rows: Any, first: int) -> Any:
    """Rows `rows` of a table whose first row is file row `first`: a zero-copy slice when they are
    consecutive (a lines table in the claims' order), else a take."""
    import numpy as np
    import pyarrow as pa

    if rows.size and int(rows[-1]) - int(rows[0]) + 1 == rows.size and bool(np.all(np.diff(rows) == 1)):
        return table.slice(int(rows[0]) - first, int(rows.size))
    return table.take(pa.array(rows - first, pa.int64()))


class JoinedReader:
    """A case reader whose chunks carry each list's lines as a nested column (`LineSource`)."""

    def __init__(self, inner: Any, sources: Sequence[LineSource], key: str, error: type[Exception]) -> None:
        self.inner = inner
        self.sources = list(sources)
        self.key = key
        self.error = error

    def __getattr__(self, name: str) -> Any:  # total, blank_lines, encoding … of the case file
        return getattr(self.inner, name)

    @property
    def names(self) -> list[str]:
        """The case file's columns, and the lists joined to it."""
        inner = list(getattr(self.inner, "names", []) or [])
        if not inner and getattr(self.inner, "file", None) is not None:
            inner = list(self.inner.file.schema_arrow.names)
        return [*inner, *(s.name for s in self.sources)]

    @property
    def problems(self) -> dict[int, str]:
        return self.inner.problems  # type: ignore[no-any-return]

    def chunks(self) -> Iterator[Any]:
        import pyarrow as pa

        for table in self.inner.chunks():
            if table.num_rows and self.key not in table.column_names:
                raise self.error(f"案例文件没有 --key 指定的列“{self.key}”")
            for source in self.sources:
                if source.name in table.column_names:
                    raise self.error(f"案例文件已有列“{source.name}”，又用 --items 给出了 {source.name} 的明细表"
                                     "：只能用其中一种")
                if not table.num_rows:
                    continue
                column, problems = source.lines_for(table.column(self.key))
                field = pa.field(source.name, column.type, metadata={SOURCE_KEY: source.path.encode("utf-8")})
                table = table.append_column(field, column)
                if problems:
                    notes = [problems.get(row) for row in range(table.num_rows)]
                    table = table.append_column(note_column(source.name), pa.array(notes, pa.string()))
            yield table

    def notes(self) -> list[str]:
        """The summary's lines about lines that belong to no claim."""
        out = []
        for source in self.sources:
            lost = source.orphans()
            if lost.count:
                out.append(f"明细表 {source.path} 中有 {lost.count:,} 行不属于任何结算单（列“{self.key}”的值在案例文件中"
                           f"没有，例如第 {lost.example_row:,} 行的 {lost.example_key}），这些明细没有计入")
        return out


def parse_items(values: Sequence[str], key: str | None, lists: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`--items 名称=路径` values checked against the policy's 列表 inputs; a UsageError otherwise."""
    import click

    if values and key is None:
        raise click.UsageError("--items 需要 --key：结算单与明细表共有的键列（如 --key 单据号）")
    if key is not None and not values:
        raise click.UsageError("--key 只与 --items 一起用")
    out: list[tuple[str, str]] = []
    for value in values:
        name, sep, path = value.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise click.UsageError(f"--items {value}：应写成 列表名=明细表文件，例如 --items 明细=明细.parquet")
        if name not in lists:
            known = "、".join(lists) or "（本政策没有 列表 输入）"
            raise click.UsageError(f"--items {value}：“{name}”不是本政策的列表输入（列表输入有：{known}）")
        out.append((name, path))
    return out


def attach(reader: Any, runner: Any, items: Sequence[str], key: str | None, chunk_size: int, *,
           open_lines: Callable[[str, int], Any], error: type[Exception]) -> Any:
    """The case reader with --items' lines joined to it (unchanged without --items).

    tools/batch.py passes its `open_reader` and `BatchError` (this module sits below it)."""
    lists = list_inputs(runner.inputs)
    pairs = parse_items(items, key, lists)
    if not pairs:
        return reader
    assert key is not None
    sources = [LineSource(name, path, key, [f.name for f in lists[name].decl.fields], chunk_size, open_lines, error)
               for name, path in pairs]
    return JoinedReader(reader, sources, key, error)


def finish(reader: Any) -> list[str]:
    """After the run: the notes about unattributed lines (empty without --items)."""
    return reader.notes() if isinstance(reader, JoinedReader) else []


def preflight(program: Any) -> list[Any]:
    """The diagnostics of catalogs that cannot be used (a batch refuses to start with a broken 目录)."""
    from yibaolang.engines.catalogs import load_catalogs

    _, problems = load_catalogs(program)
    return problems


__all__ = ["LINE_NUMBER", "LINE_PROBLEM", "JoinedReader", "LineSource", "LineValues", "ListConverted", "attach",
           "convert_input", "convert_list", "convert_table_list", "field_infos", "finish", "json_list_column", "list_inputs",
           "parse_items", "preflight"]

_ = (Decimal, dt)


def convert_input(runner: Any, table: Any, name: str) -> ListConverted:
    """Runner.prepare's reading of list input `name` from a chunk (fields and 范围 worked out once per run)."""
    cache: dict[str, tuple[dict[str, Any], dict[str, Any]]] = runner.__dict__.setdefault("_line_fields", {})
    found = cache.get(name)
    if found is None:
        info = runner.inputs[name]
        fields = field_infos(runner.program, info)
        found = cache[name] = (fields, {f: runner._bounds(i) for f, i in fields.items()})
    fields, bounds = found
    return convert_table_list(table, runner.inputs[name], runner.program, fields, bounds)
