"""`yibaolang sample`: synthetic case files from a policy's input declarations.

Every input the case supplies gets a column (inputs bound by 代入 and 累计
inputs, which the batch fills itself, get none): 选项 uniformly among the
declared values; 金额 within the declared 范围 (log-uniformly when the range
spans several orders of magnitude, to the 分); 比例 to the hundredth of a
percent; 数 and durations mostly small, within the 范围; 日期 within three
years from the policy's 施行 (or 发布) date.  An input with a 默认 is left
empty in a tenth of the rows, so the default is exercised too.  A policy with
dated parameters and no 施行 gets a `计算日期` column.

Parquet files are typed (decimal money, date32, bool, dictionary text);
CSV and JSON Lines hold the same values as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from yibaolang.ir.types import DURATIONS, Kind
from yibaolang.tools.batch import DATE_COLUMN, format_of, open_writer
from yibaolang.tools.sources import is_location

_EPOCH = dt.date(1970, 1, 1).toordinal()
EMPTY_SHARE = 0.1
BLOCK = 1_000_000


def sample_columns(program: Any) -> list[tuple[str, Any, Any]]:
    """(column, InputInfo or None for 计算日期, (low, high) bounds or None) in declaration order."""
    from yibaolang.engines.cases import declared_inputs
    from yibaolang.engines.evaluate import evaluator_for
    from yibaolang.tools.batch import _case_inputs, accumulators

    evaluator = evaluator_for(program, False)
    infos = declared_inputs(program)
    accumulated = {a.input for a in accumulators(program)}
    out: list[tuple[str, Any, Any]] = []
    for name in _case_inputs(evaluator):
        info = infos.get(name)
        if info is None or name in accumulated:
            continue
        out.append((name, info, _bounds(evaluator, info)))
    if _needs_date(program):
        out.append((DATE_COLUMN, None, None))
    return out


def _needs_date(program: Any) -> bool:
    header = program.root.module.header
    if header is not None and header.effective is not None:
        return False
    return any(v.start is not None for scope in program.modules.values() for p in scope.module.params
               for v in p.versions)


def _window(program: Any) -> tuple[dt.date, dt.date]:
    """Three years from the policy's 施行 (or 发布, or the latest first version of a dated parameter)."""
    header = program.root.module.header
    start = None
    if header is not None:
        start = header.effective or header.published
    firsts = [min(v.start for v in p.versions if v.start is not None)
              for scope in program.modules.values() for p in scope.module.params
              if any(v.start is not None for v in p.versions)]
    if start is None:
        start = max(firsts) if firsts else dt.date(2024, 1, 1)
    return start, dt.date(start.year + 3, start.month, min(start.day, 28))


def sample_table(program: Any, rows: int, seed: int) -> Any:
    """A typed Arrow table of `rows` synthetic cases."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    low_date, high_date = _window(program)
    arrays = []
    names = []
    for name, info, bounds in sample_columns(program):
        if info is None:
            days = rng.integers(low_date.toordinal() - _EPOCH, high_date.toordinal() - _EPOCH, rows)
            arrays.append(pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32()))
            names.append(name)
            continue
        empty = np.zeros(rows, dtype=bool)
        if info.decl.default is not None and rows:
            empty = rng.random(rows) < EMPTY_SHARE
        arrays.append(_column(rng, info.type, bounds, rows, low_date, high_date, empty))
        names.append(name)
    if not names:
        return pa.table({"_": pa.nulls(rows)}).drop_columns(["_"]) if rows else pa.table({})
    return pa.table(arrays, names=names)


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _column(rng: Any, type_: Any, bounds: Any, rows: int, low_date: dt.date, high_date: dt.date,
            empty: Any) -> Any:
    """One column of synthetic values; rows in `empty` are left empty (the input's 默认 applies)."""
    import numpy as np
    import pyarrow as pa

    from yibaolang.tools.columns import _decimal_array

    kind = type_.kind
    mask = empty if empty.any() else None
    if kind is Kind.ENUM:
        labels = list(type_.enum.values) if type_.enum is not None else [""]
        codes = rng.integers(0, len(labels), rows).astype(np.int32)
        return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32(), mask=mask), pa.array(labels, pa.string()))
    if kind is Kind.BOOL:
        return pa.array(rng.random(rows) < 0.5, pa.bool_(), mask=mask)
    if kind is Kind.DATE:
        first, last = low_date, high_date
        if bounds is not None and isinstance(bounds[0], dt.date):
            first, last = bounds
        days = rng.integers(first.toordinal() - _EPOCH, last.toordinal() - _EPOCH + 1, rows)
        return pa.array(days.astype(np.int32), pa.int32(), mask=mask).cast(pa.date32())
    if kind is Kind.MONEY:
        low, high = (_decimal(bounds[0]), _decimal(bounds[1])) if bounds is not None else (Decimal(0), Decimal(10**6))
        lo_c, hi_c = int(low * 100), int(high * 100)
        if hi_c <= lo_c:
            cents = np.full(rows, lo_c, dtype=np.int64)
        elif hi_c > 1000 * max(lo_c, 10000):
            # Several orders of magnitude: log-uniform from max(low, 100元), so small amounts are common.
            start = max(lo_c, 10000)
            cents = np.exp(rng.uniform(np.log(start), np.log(hi_c), rows)).astype(np.int64)
            cents = np.clip(cents, lo_c, hi_c)
        else:
            cents = rng.integers(lo_c, hi_c + 1, rows)
        return _decimal_array(cents.astype(np.int64), empty)
    if kind is Kind.RATIO:
        low, high = (_decimal(bounds[0]), _decimal(bounds[1])) if bounds is not None else (Decimal(0), Decimal(1))
        lo_b, hi_b = int(low * 10000), int(high * 10000)
        points = rng.integers(lo_b, max(hi_b, lo_b) + 1, rows)
        return _scaled_decimal(points, 4, empty)
    # 数 and durations: mostly small whole numbers within the range.
    low_i, high_i = (int(bounds[0]), int(bounds[1])) if bounds is not None else (0, 10)
    if high_i < low_i:
        high_i = low_i
    small = rng.integers(low_i, min(high_i, low_i + 10) + 1, rows)
    wide = rng.integers(low_i, high_i + 1, rows)
    values = np.where(rng.random(rows) < 0.8, small, wide)
    if kind in DURATIONS:
        return pa.array(values.astype(np.int64), pa.int64(), mask=mask)
    return _scaled_decimal(values, 0, empty)


def _scaled_decimal(values: Any, scale: int, empty: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    values = np.asarray(values, dtype=np.int64)
    words = np.empty(2 * len(values), dtype=np.int64)
    words[0::2] = values
    words[1::2] = values >> 63
    validity = pa.array(~empty).buffers()[1] if empty.any() else None
    return pa.Array.from_buffers(pa.decimal128(38, scale), len(values), [validity, pa.py_buffer(words)],
                                 null_count=int(empty.sum()))


def write_sample(program: Any, rows: int, out: str, seed: int, inputs: Sequence[str] = (), *,
                 replace: bool = False) -> list[str]:
    """Write `rows` synthetic cases to `out` (CSV, JSON Lines or Parquet); returns the column names."""
    fmt = format_of(out)
    names: list[str] = [name for name, _, _ in sample_columns(program)]
    writer = open_writer(out, inputs, replace=replace, row_numbers=False)  # case data: no 行号 column
    try:
        written = 0
        block = 0
        while written < rows or (rows == 0 and written == 0 and block == 0):
            size = min(BLOCK, rows - written)
            table = sample_table(program, size, seed + block)
            if fmt != "parquet" and not is_location(out):  # a database table keeps the types (docs/batch.md 数据源)
                table = _as_text(table)
            writer.write(table)
            written += size
            block += 1
            if rows == 0:
                break
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return names


def sample_fund(program: Any, seed: int, rows: int) -> dict[str, Any]:
    """One value per fund input (`输入 全体.x`): given once per run, never per row (docs/batch.md 基金层).

    A 数 fund input that counts people (参保人数, …) is between the number of sampled
    rows and ten times it (the claims of a run are a share of the insured); the others
    are drawn like a row's input, within the declared 范围.
    """
    import numpy as np

    from yibaolang.engines.cases import declared_inputs
    from yibaolang.engines.evaluate import evaluator_for
    from yibaolang.semantics.levels import FUND, level_of

    evaluator = evaluator_for(program, False)
    rng = np.random.default_rng(seed + 7_919)
    low_date, high_date = _window(program)
    out: dict[str, Any] = {}
    for name, info in declared_inputs(program).items():
        if level_of(name) != FUND:
            continue
        bounds = _bounds(evaluator, info)
        if info.type.kind is Kind.NUMBER and "人数" in name:
            low = max(Decimal(max(rows, 1)), bounds[0] if bounds else Decimal(1))
            high = min(low * 10, bounds[1]) if bounds else low * 10
            low = min(low, high)
            out[name] = low + Decimal(int(rng.integers(0, int(high - low) + 1)))
            continue
        column = _column(rng, info.type, bounds, 1, low_date, high_date, np.zeros(1, dtype=bool))
        value = column[0].as_py()
        out[name] = value
    return out


def fund_yaml(values: dict[str, Any]) -> str:
    """The --fund file of `yibaolang run` (one `名称: 值` a line; money and ratios as exact strings)."""
    lines = ["# 基金层输入：每次运行给一次（yibaolang run … --fund 本文件，docs/batch.md 基金层）"]
    for name, value in values.items():
        if isinstance(value, Decimal):
            text = f'"{value}"'
        elif isinstance(value, dt.date):
            text = value.isoformat()
        elif isinstance(value, bool):
            text = "是" if value else "否"
        else:
            text = f'"{value}"'
        lines.append(f"{name}: {text}")
    return "\n".join(lines) + "\n"


def _as_text(table: Any) -> Any:
    """The same values as the typed strings a case file holds."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for column in table.columns:
        t = column.type
        if pa.types.is_dictionary(t):
            column = column.cast(t.value_type)
        elif pa.types.is_decimal(t):
            text = column.cast(pa.string())
            if t.scale > 0:
                text = pc.replace_substring_regex(text, r"(\.\d*?)0+$", r"\1")
                text = pc.replace_substring_regex(text, r"\.$", "")
            column = text
        elif pa.types.is_boolean(t):
            column = pc.if_else(column, pa.scalar("是"), pa.scalar("否"))
        elif not pa.types.is_string(t):
            column = column.cast(pa.string())
        columns.append(column)
    return pa.table(columns, names=table.column_names)



def _bounds(evaluator: Any, info: Any) -> tuple[Any, Any] | None:
    """An input's 范围 as values, or None when it has none or a bound reads another input."""
    decl = info.decl
    if decl.range_low is None or decl.range_high is None:
        return None
    try:
        return (evaluator.constant(info.scope, decl.range_low), evaluator.constant(info.scope, decl.range_high))
    except Exception:
        return None

__all__ = ["fund_yaml", "sample_columns", "sample_fund", "sample_table", "write_sample"]
