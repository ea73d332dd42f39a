"""Columns: case cells in Arrow arrays ↔ the vectorized engine's values.

Reading (`convert`): every cell is read as its input's type exactly as a case
file's value would be (docs/cli.md 案例文件, `values.parse_value`), but a column at a
time: plain decimal strings and decimal/integer Parquet columns are converted
with Arrow compute, everything else (typed strings such as "15万元", enumeration
names, dates) once per distinct value.  A float money column is read through
its shortest decimal form and must have at most 2 decimals (docs/cli.md).  A cell
that does not fit gives a per-row problem naming the input and the value; the
row is still evaluated, without that input.

Writing (`to_arrow`): 金额 as decimal128(38, 2); 比例 and 数 as exact decimal
text (`"0.5"`); 年数/月数/日数 as int64; 日期 as date32; 是否 as bool; 选项 as
the value's name.

>>> import pyarrow as pa
>>> from yibaolang.ir.types import MONEY
>>> to_arrow(num_array([150, -225], 2), MONEY, 2, {}).to_pylist()
[Decimal('1.50'), Decimal('-2.25')]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yibaolang.engines.cases import InputInfo, check_value
from yibaolang.engines.vector import (
    BOOLK,
    DATEK,
    ENUMK,
    NUM,
    SAFE,
    InputColumn,
    Unsupported,
    Vec,
    m_or,
    num_array,
    round_to,
    scaled,
    to_decimal,
)
from yibaolang.ir.types import DURATIONS, Kind, Type
from yibaolang.semantics.values import MAX_MAGNITUDE, Problem, display, plain, round_money, to_json

_EPOCH = dt.date(1970, 1, 1).toordinal()
MAX_SCALE = 12  # decimals kept in a column; a cell with more goes to the interpreter
MONEY_TYPE = pa.decimal128(38, 2)
_MONEY_TEXT = r"^-?\d{1,15}(\.\d{1,2})?$"
_DECIMAL_TEXT = r"^-?\d{1,9}(\.\d{1,9})?$"  # at 9 decimals, still within int64
_INTEGER_TEXT = r"^-?\d{1,15}$"


@attrs.define
class Converted:
    """One input's column for a chunk, and what was wrong with its cells."""

    column: InputColumn
    problems: dict[int, str] = attrs.Factory(dict)
    exact: dict[int, Any] = attrs.Factory(dict)  # rows whose value the engine cannot hold: the value itself


def _problem_text(name: str, problem: Problem) -> str:
    from yibaolang.tools.accounting import Coded

    text = f"输入 {name}：{problem.message}"
    if problem.code == "YB404" and problem.hint:
        text += f"（{problem.hint}）"
    return Coded(text, problem.code, f"输入 {name}")  # the code and column, for the summary (docs/batch.md)


def _no_range(info: InputInfo) -> InputInfo:
    if info.decl.range_low is None and info.decl.range_high is None:
        return info
    return attrs.evolve(info, decl=attrs.evolve(info.decl, range_low=None, range_high=None))


def kind_of(type_: Type) -> str:
    if type_.kind is Kind.DATE:
        return DATEK
    if type_.kind is Kind.BOOL:
        return BOOLK
    if type_.kind is Kind.ENUM or type_.kind is Kind.TEXT:  # 文本: codes into the distinct texts
        return ENUMK
    return NUM


# ------------------------------------------------------------------ typed Python values → column


def column_from_values(values: Sequence[Any], type_: Type) -> Converted:
    """A column from typed values (None where the row does not give the input)."""
    n = len(values)
    given = np.array([v is not None for v in values], dtype=bool)
    kind = kind_of(type_)
    exact: dict[int, Any] = {}
    if kind == NUM:
        pairs: list[tuple[int, int] | None] = []
        for i, v in enumerate(values):
            if v is None:
                pairs.append(None)
                continue
            try:
                pairs.append(scaled(v))
            except Unsupported:
                pairs.append(None)
                exact[i] = v
        vec = _num_from_pairs(pairs, exact, values)
    elif kind == DATEK:
        data = np.array([v.toordinal() - _EPOCH if v is not None else 0 for v in values], dtype=np.int64)
        vec = Vec(DATEK, data, lo=int(data.min()) if n else 0, hi=int(data.max()) if n else 0)
    elif kind == BOOLK:
        vec = Vec(BOOLK, np.array([bool(v) for v in values], dtype=bool))
    else:
        labels = type_.enum.values if type_.enum is not None else ()
        index = {label: i for i, label in enumerate(labels)}
        codes = np.zeros(n, dtype=np.int64)
        for i, v in enumerate(values):
            if v is not None:
                if v in index:
                    codes[i] = index[v]
                else:
                    exact[i] = v
        vec = Vec(ENUMK, codes, labels=labels)
    if exact:
        bad = np.zeros(n, dtype=bool)
        bad[list(exact)] = True
        vec = vec.with_masks(m_or(vec.bad, bad), None)
    return Converted(InputColumn(vec, None if given.all() else given), {}, exact)


def _num_from_pairs(pairs: Sequence[tuple[int, int] | None], exact: dict[int, Any], values: Sequence[Any]) -> Vec:
    """Scaled integers at one common scale; values that do not fit go to `exact`."""
    scales = [p[1] for p in pairs if p is not None]
    scale = min(max(scales, default=0), MAX_SCALE)
    data = np.zeros(len(pairs), dtype=np.int64)
    for i, p in enumerate(pairs):
        if p is None:
            continue
        value, s = p
        if s > scale or abs(value) * 10 ** (scale - s) >= SAFE:
            exact[i] = values[i]
            continue
        data[i] = value * 10 ** (scale - s)
    return num_array(data, scale)


# ------------------------------------------------------------------ Arrow cells → column


def convert(array: pa.Array | pa.ChunkedArray, info: InputInfo, program: Any,
            bounds: tuple[Any, Any] | None) -> Converted:
    """Read an input's cells; `bounds` is its 范围 (already evaluated) or None."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    n = len(array)
    type_ = info.type
    t = array.type
    if type_.kind is Kind.TEXT:
        return _from_texts(array, info)
    if pa.types.is_dictionary(t):
        value_type = t.value_type
        if pa.types.is_string(value_type) or pa.types.is_large_string(value_type):
            out = _from_text_dictionary(array, info, program)
            if bounds is not None:
                _check_range(out, info, bounds)
            return _money_scale(out, type_)
        array = array.cast(value_type)
        t = array.type
    if pa.types.is_null(t):
        return Converted(InputColumn(_empty(type_, n), np.zeros(n, dtype=bool)))
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        out = _from_text(array, info, program)
    elif pa.types.is_integer(t):
        out = _from_integers(array, info, program)
    elif pa.types.is_floating(t):
        out = _from_floats(array, info, program)
    elif pa.types.is_decimal(t):
        out = _from_decimals(array, info, program)
    elif pa.types.is_boolean(t):
        out = _by_value(array, info, program, lambda v: v)
    elif pa.types.is_date(t):
        out = _from_dates(array, info, program)
    elif pa.types.is_timestamp(t):
        out = _by_value(array, info, program, _timestamp_date)
    else:
        shown = str(t)
        problems = {i: f"输入 {info.name}：无法读取这一列的类型（{shown}）" for i in range(n)}
        return Converted(InputColumn(_empty(type_, n), np.zeros(n, dtype=bool)), problems)
    if bounds is not None:
        _check_range(out, info, bounds)
    return _money_scale(out, type_)


def _from_texts(array: pa.Array, info: InputInfo) -> Converted:
    """文本 cells as they are, stripped (docs/itemized.md §1): codes into the chunk's distinct texts.

    Integer cells (a code column stored as numbers) are their decimal digits; an empty cell is not given.
    """
    n = len(array)
    t = array.type
    if pa.types.is_dictionary(t) and (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)):
        return _from_text_codes(array)
    if pa.types.is_dictionary(t):
        array = array.cast(t.value_type)
        t = array.type
    if pa.types.is_null(t):
        return Converted(InputColumn(Vec(ENUMK, np.zeros(n, dtype=np.int64), labels=("",)), np.zeros(n, dtype=bool)))
    if pa.types.is_integer(t):
        array = pc.cast(array, pa.string())
    elif not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)):
        problems = {i: _problem_text(info.name, Problem("YB403", f"应为 文本，这一列的类型是 {t}", "编码请存为文本"))
                    for i in np.nonzero(np.asarray(array.is_valid()))[0].tolist()}
        return Converted(InputColumn(Vec(ENUMK, np.zeros(n, dtype=np.int64), labels=("",)),
                                     np.zeros(n, dtype=bool)), problems)
    stripped, given = _given_text(array)
    encoded = pc.dictionary_encode(stripped)
    labels = tuple(encoded.dictionary.to_pylist()) or ("",)
    codes = np.asarray(encoded.indices.fill_null(0), dtype=np.int64)
    vec = Vec(ENUMK, np.where(given, codes, 0) if not given.all() else codes, labels=labels)
    return Converted(InputColumn(vec, None if given.all() else given))


def _from_text_codes(array: pa.DictionaryArray) -> Converted:
    """A dictionary-encoded 文本 column (a Parquet code column): the dictionary is stripped once, the
    indices are the codes (entries equal after stripping share one code)."""
    stripped = [v.strip() if v is not None else "" for v in array.dictionary.to_pylist()]
    labels = tuple(dict.fromkeys(stripped)) or ("",)
    index = {label: i for i, label in enumerate(labels)}
    remap = np.array([index[v] for v in stripped] or [0], dtype=np.int64)
    filled = np.array([bool(v) for v in stripped] or [False], dtype=bool)
    raw = np.asarray(array.indices.fill_null(0), dtype=np.int64)
    codes = remap[raw]
    given = filled[raw]
    if array.null_count:
        given &= np.asarray(array.is_valid())
    vec = Vec(ENUMK, codes if given.all() else np.where(given, codes, 0), labels=labels)
    return Converted(InputColumn(vec, None if given.all() else given))


def decode_text(column: Any) -> tuple[Any, list[int]]:
    """Binary cells as text; rows that are not UTF-8 are returned (and read as empty)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    try:
        return column.cast(pa.string()), []
    except pa.ArrowInvalid:
        out: list[str | None] = []
        bad: list[int] = []
        for i, value in enumerate(column.to_pylist()):
            if value is None:
                out.append(None)
                continue
            try:
                out.append(value.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(None)
                bad.append(i)
        return pa.array(out, pa.string()), bad


def _money_scale(out: Converted, type_: Type) -> Converted:
    """Money columns at 2 decimals at least, as every money figure is (no rescaling per operation)."""
    vec = out.column.vec
    if type_.kind is Kind.MONEY and vec.kind == NUM and vec.scale < 2:
        from yibaolang.engines.vector import rescale

        out.column.vec = rescale(vec, 2)
    return out


def _empty(type_: Type, n: int) -> Vec:
    kind = kind_of(type_)
    if kind == ENUMK:
        labels = type_.enum.values if type_.enum is not None else ()
        return Vec(ENUMK, np.zeros(n, dtype=np.int64), labels=labels)
    if kind == BOOLK:
        return Vec(BOOLK, np.zeros(n, dtype=bool))
    if kind == DATEK:
        return Vec(DATEK, np.zeros(n, dtype=np.int64))
    return Vec(NUM, np.zeros(n, dtype=np.int64))


def _timestamp_date(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.time() == dt.time(0) and value.tzinfo is None:
        return value.date()
    return value


def _given_text(array: pa.Array) -> tuple[pa.Array, Any]:
    stripped = pc.utf8_trim_whitespace(array)
    given = pc.and_(pc.is_valid(stripped), pc.not_equal(stripped, ""))
    return stripped, np.asarray(given.fill_null(False))


def _from_text(array: pa.Array, info: InputInfo, program: Any) -> Converted:
    stripped, given = _given_text(array)
    n = len(array)
    kind = info.type.kind
    fast: Any = None
    if kind is Kind.MONEY or kind in (Kind.RATIO, Kind.NUMBER) or kind in DURATIONS:
        pattern = _MONEY_TEXT if kind is Kind.MONEY else _INTEGER_TEXT if kind in DURATIONS else _DECIMAL_TEXT
        fast = np.asarray(pc.match_substring_regex(stripped, pattern).fill_null(False)) & given
        if fast.all() or fast.sum() > n // 2:
            return _text_numbers(stripped, fast, given, info, program)
    return _by_unique_text(stripped, given, info, program)


def _text_numbers(stripped: pa.Array, fast: Any, given: Any, info: InputInfo, program: Any) -> Converted:
    """Plain decimal cells through Arrow's decimal cast; the rest one distinct value at a time."""
    kind = info.type.kind
    scale = 2 if kind is Kind.MONEY else 0 if kind in DURATIONS else 9
    cleaned = pc.if_else(pa.array(fast), stripped, pa.scalar("0"))
    decimals = pc.cast(cleaned, pa.decimal128(38, scale))
    data = _unscaled(decimals)
    rest = given & ~fast
    if not rest.any():
        vec = num_array(data, scale)
        return Converted(_numeric_column(vec, given), {}, {})
    other = _by_unique_text(pc.if_else(pa.array(rest), stripped, pa.scalar(None, pa.string())), rest, info, program)
    return _merge_numbers(data, scale, fast, other, given)


def _merge_numbers(data: Any, scale: int, fast: Any, other: Converted, given: Any) -> Converted:
    """Combine fast-path integers at `scale` with a converted column for the other rows."""
    ovec = other.column.vec
    target = max(scale, ovec.scale)
    exact = dict(other.exact)
    problems = dict(other.problems)
    if target > scale:
        f = 10 ** (target - scale)
        too_big = fast & (np.abs(data) >= SAFE // f)
        for i in np.nonzero(too_big)[0].tolist():
            exact[i] = to_decimal(int(data[i]), scale)
        data = np.where(too_big, 0, data) * f
    odata = np.asarray(ovec.data, dtype=np.int64)
    if target > ovec.scale:
        f = 10 ** (target - ovec.scale)
        odata = np.where(np.abs(odata) >= SAFE // f, 0, odata) * f
    merged = np.where(fast, data, odata)
    vec = num_array(merged, target)
    bad = None
    if exact:
        mask = np.zeros(len(merged), dtype=bool)
        mask[list(exact)] = True
        bad = mask
    vec = vec.with_masks(m_or(vec.bad, bad), None)
    valid_given = given & ~_rows(problems, len(merged))
    return Converted(_numeric_column(_normalized(vec), valid_given), problems, exact)


def _rows(rows: dict[int, Any], n: int) -> Any:
    mask = np.zeros(n, dtype=bool)
    if rows:
        mask[list(rows)] = True
    return mask


def _normalized(vec: Vec) -> Vec:
    from yibaolang.engines.vector import normalize

    return normalize(vec)


def _numeric_column(vec: Vec, given: Any) -> InputColumn:
    if vec.kind == NUM and is_arr(vec.data):
        vec = Vec(NUM, np.where(given, vec.data, 0), scale=vec.scale, lo=min(vec.lo, 0), hi=max(vec.hi, 0),
                  bad=vec.bad, miss=vec.miss)
    return InputColumn(vec, None if given.all() else given)


def is_arr(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.ndim > 0


def _unscaled(decimals: pa.Array) -> Any:
    """The unscaled int64 integers of a decimal128 array (nulls as 0)."""
    decimals = decimals.fill_null(0) if decimals.null_count else decimals
    buffer = decimals.buffers()[1]
    words = np.frombuffer(buffer, dtype=np.int64, count=2 * (len(decimals) + decimals.offset))
    words = words[2 * decimals.offset:]
    low, high = words[0::2], words[1::2]
    if not np.array_equal(high, low >> 63):
        raise OverflowError("decimal beyond int64")
    return low.copy()


def _from_text_dictionary(array: pa.DictionaryArray, info: InputInfo, program: Any) -> Converted:
    """A dictionary-encoded text column: each dictionary entry is read once."""
    uniques = [v.strip() if v is not None else None for v in array.dictionary.to_pylist()]
    indices = np.asarray(array.indices.fill_null(-1), dtype=np.int64)
    nonempty = np.array([bool(v) for v in uniques], dtype=bool)
    safe = np.where(indices < 0, 0, indices)
    given = (indices >= 0) & (nonempty[safe] if len(nonempty) else False)
    return _spread([v if v else None for v in uniques], indices, given, info, program)


def _by_unique_text(stripped: pa.Array, given: Any, info: InputInfo, program: Any) -> Converted:
    """Parse each distinct text once (dictionary encoding), then spread to the rows."""
    encoded = pc.dictionary_encode(stripped)
    indices = np.asarray(encoded.indices.fill_null(-1), dtype=np.int64)
    uniques = encoded.dictionary.to_pylist()
    return _spread(uniques, indices, given, info, program)


def _by_value(array: pa.Array, info: InputInfo, program: Any, adapt: Any) -> Converted:
    """Any column, one distinct Python value at a time."""
    given = np.asarray(array.is_valid())
    encoded = pc.dictionary_encode(array)
    indices = np.asarray(encoded.indices.fill_null(-1), dtype=np.int64)
    uniques = [adapt(v) for v in encoded.dictionary.to_pylist()]
    return _spread(uniques, indices, given, info, program)


def _spread(uniques: list[Any], indices: Any, given: Any, info: InputInfo, program: Any) -> Converted:
    checker = _no_range(info)
    parsed: list[Any] = []
    for raw in uniques:
        value = check_value(program, checker, raw) if raw is not None else None
        parsed.append(value)
    type_ = info.type
    n = len(indices)
    problems: dict[int, str] = {}
    bad_unique = [i for i, v in enumerate(parsed) if isinstance(v, Problem)]
    if bad_unique:
        bad_index = np.array(bad_unique, dtype=np.int64)
        rows = np.nonzero(given & np.isin(indices, bad_index))[0]
        texts = {i: _problem_text(info.name, parsed[i]) for i in bad_unique}
        for row in rows.tolist():
            problems[row] = texts[int(indices[row])]
    valid_values = [None if isinstance(v, Problem) else v for v in parsed]
    unique_column = column_from_values(valid_values, type_) if valid_values else None
    valid_unique = np.array([v is not None for v in valid_values], dtype=bool)
    safe = np.where(indices < 0, 0, indices)
    row_ok = given & (indices >= 0) & (valid_unique[safe] if len(valid_unique) else False)
    if unique_column is None:
        return Converted(InputColumn(_empty(type_, n), np.zeros(n, dtype=bool)), problems)
    uvec = unique_column.column.vec
    if uvec.kind == ENUMK:
        data = np.where(row_ok, np.asarray(uvec.data)[safe], 0)
        vec = Vec(ENUMK, data, labels=uvec.labels)
    elif uvec.kind == BOOLK:
        vec = Vec(BOOLK, np.where(row_ok, np.asarray(uvec.data)[safe], False))
    elif uvec.kind == DATEK:
        data = np.where(row_ok, np.asarray(uvec.data)[safe], 0)
        vec = Vec(DATEK, data, lo=int(data.min()) if n else 0, hi=int(data.max()) if n else 0)
    else:
        data = np.where(row_ok, np.asarray(uvec.data)[safe], 0)
        vec = Vec(NUM, data, scale=uvec.scale, lo=min(uvec.lo, 0), hi=max(uvec.hi, 0))
    exact: dict[int, Any] = {}
    if unique_column.exact:
        hit = np.array(sorted(unique_column.exact), dtype=np.int64)
        rows = np.nonzero(row_ok & np.isin(safe, hit))[0]
        for row in rows.tolist():
            exact[row] = unique_column.exact[int(safe[row])]
        if exact:
            vec = vec.with_masks(_rows(exact, n), None)
    return Converted(InputColumn(vec, None if row_ok.all() else row_ok), problems, exact)


def _from_integers(array: pa.Array, info: InputInfo, program: Any) -> Converted:
    kind = info.type.kind
    if kind is Kind.MONEY or kind in (Kind.RATIO, Kind.NUMBER) or kind in DURATIONS:
        given = np.asarray(array.is_valid())
        values = np.asarray(array.fill_null(0).cast(pa.int64(), safe=False)) if len(array) else np.zeros(0, np.int64)
        if pa.types.is_uint64(array.type):
            raw = np.asarray(array.fill_null(0))
            values = np.where(raw > np.uint64(2**62), 0, raw).astype(np.int64)
            huge = raw > np.uint64(2**62)
        else:
            huge = np.zeros(len(values), dtype=bool)
        huge = (huge | (np.abs(values) >= int(MAX_MAGNITUDE))) & given
        problems = {}
        for i in np.nonzero(huge)[0].tolist():
            problems[i] = _problem_text(info.name, Problem("YB403", f"数值过大：{array[i].as_py()}", "整数部分最多 15 位"))
        ok = given & ~huge
        vec = num_array(np.where(ok, values, 0), 0)
        return Converted(InputColumn(vec, None if ok.all() else ok), problems)
    return _by_value(array, info, program, lambda v: v)


def _from_floats(array: pa.Array, info: InputInfo, program: Any) -> Converted:
    given = np.asarray(array.is_valid())
    floats = np.asarray(array.fill_null(0.0).cast(pa.float64()))
    kind = info.type.kind
    if kind is Kind.MONEY:
        finite = np.isfinite(floats) & (np.abs(floats) < float(MAX_MAGNITUDE))
        cents = np.rint(np.where(finite, floats, 0.0) * 100)
        exact_cents = finite & (cents / 100 == floats)
        fast = given & exact_cents
        if fast.all() or not (given & ~fast).any():
            vec = num_array(np.where(fast, cents, 0).astype(np.int64), 2)
            return Converted(_numeric_column(vec, fast), {}, {})
        rest = given & ~fast
        texts = pa.array([repr(f) if r else None for f, r in zip(floats.tolist(), rest.tolist(), strict=True)],
                         pa.string())
        other = _by_unique_text(texts, rest, info, program)
        return _merge_numbers(cents.astype(np.int64), 2, fast, other, given)
    # Every other kind: the shortest decimal form of each distinct value.
    return _by_value(array, info, program, lambda v: Decimal(repr(v)) if isinstance(v, float) else v)


def _from_decimals(array: pa.Array, info: InputInfo, program: Any) -> Converted:
    kind = info.type.kind
    t = array.type
    numeric = kind is Kind.MONEY or kind in (Kind.RATIO, Kind.NUMBER) or kind in DURATIONS
    if not numeric or not pa.types.is_decimal128(t) or t.scale < 0 or t.scale > MAX_SCALE:
        return _by_value(array, info, program, lambda v: v)
    given = np.asarray(array.is_valid())
    try:
        data = _unscaled(array)
    except OverflowError:
        return _by_value(array, info, program, lambda v: v)
    scale = t.scale
    limit = int(MAX_MAGNITUDE) * 10**scale
    problem_rows = given & (np.abs(data) >= limit) if limit < SAFE else np.zeros(len(data), dtype=bool)
    if kind is Kind.MONEY and scale > 2:
        problem_rows |= given & (data % 10 ** (scale - 2) != 0)
    if kind in DURATIONS and scale > 0:
        problem_rows |= given & (data % 10**scale != 0)
    if problem_rows.any():
        other = _by_value(pc.if_else(pa.array(problem_rows), array, pa.scalar(None, t)), info, program, lambda v: v)
        problems = other.problems
    else:
        problems = {}
    ok = given & ~problem_rows
    vec = num_array(np.where(ok, data, 0) if not ok.all() else data, scale)
    if kind is not Kind.MONEY or scale > 2:
        vec = _normalized(vec)
    return Converted(InputColumn(vec, None if ok.all() else ok), problems)


def _from_dates(array: pa.Array, info: InputInfo, program: Any) -> Converted:
    if info.type.kind is not Kind.DATE:
        return _by_value(array, info, program, lambda v: v)
    given = np.asarray(array.is_valid())
    days = np.asarray(array.cast(pa.date32()).fill_null(0).cast(pa.int32())).astype(np.int64)
    data = np.where(given, days, 0)
    vec = Vec(DATEK, data, lo=int(data.min()) if len(data) else 0, hi=int(data.max()) if len(data) else 0)
    return Converted(InputColumn(vec, None if given.all() else given))


def _check_range(out: Converted, info: InputInfo, bounds: tuple[Any, Any]) -> None:
    """范围: cells outside the declared range are problems (YB406), as in a case file."""
    low, high = bounds
    column = out.column
    vec = column.vec
    n = len(vec.data) if is_arr(vec.data) else 0
    given = column.given if column.given is not None else np.ones(n, dtype=bool)
    if vec.kind == NUM:
        try:
            lo_data, lo_scale = scaled(low)
            hi_data, hi_scale = scaled(high)
        except (Unsupported, TypeError):
            return
        scale = max(vec.scale, lo_scale, hi_scale)
        if scale > 18:
            return
        f = 10 ** (scale - vec.scale)
        data = np.asarray(vec.data, dtype=np.int64)
        if max(abs(vec.lo), abs(vec.hi)) * f >= SAFE:
            return
        data = data * f
        lo_v, hi_v = lo_data * 10 ** (scale - lo_scale), hi_data * 10 ** (scale - hi_scale)
        if abs(lo_v) >= SAFE or abs(hi_v) >= SAFE:
            return
        outside = given & ((data < lo_v) | (data > hi_v))
    elif vec.kind == DATEK and isinstance(low, dt.date) and isinstance(high, dt.date):
        outside = given & ((vec.data < low.toordinal() - _EPOCH) | (vec.data > high.toordinal() - _EPOCH))
    else:
        return
    if out.exact:
        outside = outside & ~_rows(out.exact, n)
    if not outside.any():
        return
    type_ = info.type
    rows = np.nonzero(outside)[0]
    # One text per distinct value (a file's out-of-range cells often repeat one value): failing rows stay
    # cheap (docs/performance.md, 出错的行).
    _, first, which = np.unique(np.broadcast_to(np.asarray(vec.data), (n,))[rows], return_index=True,
                                     return_inverse=True)
    texts = []
    for i in first.tolist():
        value = python_value(vec, type_, int(rows[i]))
        problem = Problem("YB406", f"{display(type_, value)} 超出范围 {display(type_, low)} 至 {display(type_, high)}",
                          "请核对这个数；范围由政策的 输入 声明规定")
        texts.append(_problem_text(info.name, problem))
    out.problems.update(zip(rows.tolist(), [texts[k] for k in which.reshape(-1).tolist()], strict=True))
    new_given = given & ~outside
    column.given = None if new_given.all() else new_given


def python_value(vec: Vec, type_: Type, row: int) -> Any:
    """The interpreter's value of a column cell."""
    data = vec.data[row] if is_arr(vec.data) else vec.data
    kind = vec.kind
    if kind == NUM:
        if type_.kind in DURATIONS and vec.scale == 0:
            return int(data)
        return to_decimal(int(data), vec.scale)
    if kind == DATEK:
        return dt.date.fromordinal(int(data) + _EPOCH)
    if kind == BOOLK:
        return bool(data)
    return vec.labels[int(data)]


# ------------------------------------------------------------------ results → Arrow


def arrow_type(type_: Type) -> pa.DataType:
    kind = type_.kind
    if kind is Kind.MONEY:
        return MONEY_TYPE
    if kind in DURATIONS:
        return pa.int64()
    if kind is Kind.DATE:
        return pa.date32()
    if kind is Kind.BOOL:
        return pa.bool_()
    return pa.string()


def to_arrow(vec: Vec, type_: Type, n: int, overrides: dict[int, Any], failed: Any = None) -> pa.Array:
    """An output column: the engine's values, with `overrides` (row → interpreter value or None) in place."""
    kind = type_.kind
    data = np.broadcast_to(np.asarray(vec.data), (n,)) if n else np.zeros(0)
    null = np.zeros(n, dtype=bool) if failed is None else np.array(failed, dtype=bool, copy=True)
    if kind is Kind.MONEY:
        cents_vec = round_to(vec, 2) if vec.scale > 2 else vec
        cents = np.array(np.broadcast_to(np.asarray(cents_vec.data, dtype=np.int64), (n,)), dtype=np.int64)
        if cents_vec.scale < 2:
            cents = cents * 10 ** (2 - cents_vec.scale)
        big: dict[int, Any] = {}
        for row, value in overrides.items():
            if value is None:
                null[row] = True
                continue
            c = int(round_money(value).scaleb(2))
            if abs(c) < SAFE:
                cents[row] = c
                null[row] = False
            else:
                big[row] = round_money(value)
        array = _decimal_array(cents, null)
        if big:
            mask = np.zeros(n, dtype=bool)
            mask[list(big)] = True
            array = pc.replace_with_mask(array, pa.array(mask), pa.array([big[r] for r in sorted(big)], MONEY_TYPE))
        return array
    if kind in DURATIONS:
        values = np.array(data, dtype=np.int64)
        if vec.scale:
            values = values // 10**vec.scale if 10**vec.scale < SAFE else np.zeros_like(values)
        for row, value in overrides.items():
            if value is None:
                null[row] = True
            else:
                values[row] = int(value)
                null[row] = False
        return pa.array(values, pa.int64(), mask=null if null.any() else None)
    if kind is Kind.DATE:
        values = np.array(data, dtype=np.int64)
        for row, value in overrides.items():
            if value is None:
                null[row] = True
            else:
                values[row] = value.toordinal() - _EPOCH
                null[row] = False
        return pa.array(values.astype(np.int32), pa.int32(), mask=null if null.any() else None).cast(pa.date32())
    if kind is Kind.BOOL:
        values = np.array(data, dtype=bool)
        for row, value in overrides.items():
            if value is None:
                null[row] = True
            else:
                values[row] = bool(value)
                null[row] = False
        return pa.array(values, pa.bool_(), mask=null if null.any() else None)
    if kind is Kind.ENUM or vec.kind == ENUMK:
        labels = list(vec.labels) if vec.kind == ENUMK else []
        codes = np.array(data, dtype=np.int64) if vec.kind == ENUMK else np.zeros(n, dtype=np.int64)
        if not labels:
            labels = [""]
        for row, value in overrides.items():
            if value is None:
                null[row] = True
                continue
            if value not in labels:
                labels.append(value)
            codes[row] = labels.index(value)
            null[row] = False
        indices = pa.array(codes.astype(np.int32), pa.int32(), mask=null if null.any() else None)
        return pa.DictionaryArray.from_arrays(indices, pa.array(labels, pa.string())).cast(pa.string())
    # 比例 and 数: exact decimal text.
    text = _decimal_text(vec, n)
    if overrides:
        mask = np.zeros(n, dtype=bool)
        mask[list(overrides)] = True
        rows = sorted(overrides)
        replacement = pa.array([None if overrides[r] is None else str(to_json(type_, overrides[r])) for r in rows],
                               pa.string())
        null[rows] = False
        text = pc.replace_with_mask(text, pa.array(mask), replacement)
    if null.any():
        text = pc.if_else(pa.array(null), pa.scalar(None, pa.string()), text)
    return text


def _decimal_array(cents: Any, null: Any) -> pa.Array:
    n = len(cents)
    words = np.empty(2 * n, dtype=np.int64)
    words[0::2] = cents
    words[1::2] = cents >> 63
    validity = None
    null_count = 0
    if null.any():
        validity = pa.array(~null).buffers()[1]
        null_count = int(null.sum())
    return pa.Array.from_buffers(MONEY_TYPE, n, [validity, pa.py_buffer(words)], null_count=null_count)


def _decimal_text(vec: Vec, n: int) -> pa.Array:
    """Scaled integers as plain decimal text: 0.5, 12, -0.003 (no trailing zeros)."""
    data = np.array(np.broadcast_to(np.asarray(vec.data, dtype=np.int64), (n,)), dtype=np.int64)
    scale = vec.scale
    if scale == 0:
        return pc.cast(pa.array(data), pa.string())
    if scale > 30:
        return pa.array([plain(to_decimal(int(d), scale)) for d in data.tolist()], pa.string())
    words = np.empty(2 * n, dtype=np.int64)
    words[0::2] = data
    words[1::2] = data >> 63
    array = pa.Array.from_buffers(pa.decimal128(38, scale), n, [None, pa.py_buffer(words)])
    text = pc.cast(array, pa.string())
    text = pc.replace_substring_regex(text, r"(\.\d*?)0+$", r"\1")
    return pc.replace_substring_regex(text, r"\.$", "")


def json_text(value: Any, type_: Type) -> Any:
    """How a value is written in JSON Lines (the value encoding of docs/cli.md)."""
    return to_json(type_, value)


__all__ = ["Converted", "arrow_type", "column_from_values", "convert", "python_value", "to_arrow"]


NARROW_PRECISION = 18  # decimal(18, s) is stored as INT64 in Parquet
_NARROW_LIMIT = 10**NARROW_PRECISION


def narrow_decimals(table: pa.Table) -> pa.Table:
    """`table` with each wide decimal column relabelled decimal(18, s) when every value fits 18 digits.

    The 16-byte layout is the same, so no value is converted: the buffers are
    only checked (the high word is the sign of the low one, |low| < 10^18) and
    given the narrower type.  A column that does not fit keeps its type.

    >>> t = narrow_decimals(pa.table({"a": to_arrow(num_array([150], 2), Type(Kind.MONEY), 1, {})}))
    >>> str(t.schema.field("a").type), t["a"].to_pylist()
    ('decimal128(18, 2)', [Decimal('1.50')])
    """
    names, columns = table.column_names, []
    changed = False
    for column in table.columns:
        kind = column.type
        if pa.types.is_decimal128(kind) and kind.precision > NARROW_PRECISION:
            narrow = pa.decimal128(NARROW_PRECISION, kind.scale)
            chunks = [_narrow_chunk(chunk, narrow) for chunk in column.chunks]
            if all(chunk is not None for chunk in chunks):
                column = pa.chunked_array(chunks, narrow)
                changed = True
        columns.append(column)
    return pa.table(columns, names=names) if changed else table


def _narrow_chunk(chunk: pa.Array, narrow: pa.DataType) -> pa.Array | None:
    validity, data = chunk.buffers()
    if data is None:
        return None
    words = np.frombuffer(data, dtype=np.int64)[2 * chunk.offset: 2 * (chunk.offset + len(chunk))]
    low, high = words[0::2], words[1::2]
    if chunk.null_count:
        valid = np.asarray(chunk.is_valid())
        low, high = low[valid], high[valid]
    if not (np.array_equal(high, low >> 63) and bool(np.all((low > -_NARROW_LIMIT) & (low < _NARROW_LIMIT)))):
        return None
    return pa.Array.from_buffers(narrow, len(chunk), [validity, data], null_count=chunk.null_count,
                                 offset=chunk.offset)
