"""The vectorized engine: the typed IR compiled to numpy array operations over columns.

A chunk of case rows is evaluated column-wise.  Every value is a `Vec`:

- numbers of every kind (金额, 比例, 数, 年数/月数/日数) are exact scaled integers —
  int64 data with a power-of-ten `scale` (value = data / 10**scale) and known
  bounds `lo`/`hi`, so a multiplication that could leave the range int64 holds
  exactly is noticed before it happens (never wrapped);
- 日期 are int64 day numbers (days since 1970-01-01), month arithmetic follows
  民法典 第二百零二条 (the month-end rule), vectorized;
- 是否 are numpy booleans, 选项 are small-int codes into a tuple of labels.

Each Vec also carries two row masks.  `miss`: on this row the interpreter would
stop at a missing input.  `bad`: on this row the result might differ from the
interpreter's — any evaluation error (division by zero, no 分档 row, exception
conflict, a duration that is not whole, a division that terminates beyond 10
places, a magnitude beyond what int64 holds exactly) or anything this engine
does not reproduce exactly.  Both branches of 如果 are computed and their masks
are selected by the condition, so an error in the branch not taken is ignored,
as in the interpreter.

`Engine.run` returns the outputs, per 断言 the rows that break it (`failures`,
aligned with `Engine.checks`: a broken 断言 is the row's error, worded as the
interpreter words it — engines/vector_errors.py) and a `fallback` mask: the rows
whose result is not final (an evaluation error, a missing input — `missing` marks
the rows whose only reason is that — or a 断言 that could not be computed).  The
batch layer (`yibaolang.tools.batch`) re-evaluates the fallback rows through the
scalar interpreter; the differential test (tests/test_vector_diff.py) checks that
every row, failing or not, equals the interpreter's: values to the 分, 错误 text.

>>> v = num_const(Decimal("0.125"))
>>> (v.data, v.scale)
(125, 3)
>>> r = round_to(mul(num_array([1000, -1000], 2), v), 2)   # 10.00元 × 0.125, -10.00元 × 0.125
>>> r.data.tolist(), r.scale                                 # 1.25元, -1.25元
([125, -125], 2)
>>> r = round_to(num_array([125, -125, 124, -124, 5, -5], 3), 2)
>>> r.data.tolist()                                          # half-up, ties away from zero
[13, -13, 12, -12, 1, -1]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, assert_never

import attrs
import numpy as np

from yibaolang import ir
from yibaolang.checks.resolve import Program, Symbol, SymbolKind, lookup
from yibaolang.engines import vector_errors
from yibaolang.engines.evaluate import Evaluator, Figure, Instance, evaluator_for
from yibaolang.ir.types import (
    BOOL,
    DATE,
    DAYS,
    ERROR,
    LITERAL_TYPES,
    MONEY,
    MONTHS,
    NUMBER,
    YEARS,
    Kind,
    Type,
    arith_result,
)
from yibaolang.semantics import bands as band_rules
from yibaolang.semantics import builtins
from yibaolang.semantics import exceptions as exception_rules
from yibaolang.semantics.calls import with_args
from yibaolang.semantics.choices import DatedVersions, case_rows, table_cells
from yibaolang.semantics.instances import InstanceKey
from yibaolang.semantics.levels import FUND, is_fund_level, item_name, level_of
from yibaolang.semantics.numbers import DIVISION_PLACES, PLACES, rounding_target

# Every Num keeps |data| < SAFE: a sum of two fits int64 without wrapping, and a
# product is checked against SAFE before it is formed.
SAFE = 1 << 62
_FLOAT_LIMIT = float(SAFE) * (1 - 2.0**-40)
_EPOCH = dt.date(1970, 1, 1).toordinal()
MIN_DAY = dt.date(1, 1, 1).toordinal() - _EPOCH
MAX_DAY = dt.date(9999, 12, 31).toordinal() - _EPOCH
BLOCK = 65_536  # rows evaluated at once: the working arrays stay in the processor's cache

NUM, DATEK, BOOLK, ENUMK = "num", "date", "bool", "enum"

Mask = Any  # None (no row), a numpy bool array, or a bool scalar (every row)


class Unsupported(Exception):
    """A construct this engine does not reproduce; its rows go to the interpreter."""


# ------------------------------------------------------------------ values


class Vec:
    """One value per row (or one scalar for every row), with its masks."""

    __slots__ = ("bad", "data", "hi", "kind", "labels", "lo", "miss", "scale")

    def __init__(self, kind: str, data: Any, *, scale: int = 0, lo: int = 0, hi: int = 0,
                 labels: tuple[str, ...] = (), bad: Mask = None, miss: Mask = None) -> None:
        self.kind = kind
        self.data = data
        self.scale = scale
        self.lo = lo
        self.hi = hi
        self.labels = labels
        self.bad = bad
        self.miss = miss

    def with_masks(self, bad: Mask, miss: Mask) -> Vec:
        return Vec(self.kind, self.data, scale=self.scale, lo=self.lo, hi=self.hi, labels=self.labels,
                   bad=bad, miss=miss)

    def __repr__(self) -> str:
        return f"Vec({self.kind}, scale={self.scale}, lo={self.lo}, hi={self.hi}, data={self.data!r})"


def is_array(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.ndim > 0


def _scalar(x: Any) -> Any:
    """A 0-d array or numpy scalar as a Python scalar (booleans stay numpy booleans); arrays unchanged."""
    if isinstance(x, np.ndarray):
        if x.ndim > 0:
            return x
        x = x[()]
    if isinstance(x, np.bool_ | bool):
        return np.bool_(x)
    if isinstance(x, np.generic):
        return x.item()
    return x


ALL = np.True_  # a mask that holds on every row


def m_or(a: Mask, b: Mask) -> Mask:
    if a is None or a is False:
        return b
    if b is None or b is False:
        return a
    return a | b


def m_and(cond: Any, m: Mask) -> Mask:
    """The rows of `m` where `cond` holds."""
    if m is None or m is False:
        return None
    return cond & m


def m_sel(cond: Any, a: Mask, b: Mask) -> Mask:
    """`a` where `cond` holds, else `b`."""
    if a is None and b is None:
        return None
    if not is_array(cond):
        return a if bool(cond) else b
    if b is None:
        return cond & a
    if a is None:
        return ~cond & b
    return np.where(cond, a, b)


def m_any(m: Mask) -> bool:
    if m is None:
        return False
    return bool(np.any(m))


def num_const(value: Decimal | int) -> Vec:
    data, scale = scaled(value)
    return Vec(NUM, data, scale=scale, lo=data, hi=data)


def scaled(value: Decimal | int) -> tuple[int, int]:
    """An exact decimal as (integer, scale); Unsupported when it is too large."""
    if isinstance(value, int):
        data, scale = int(value), 0
    else:
        if not value.is_finite():
            raise Unsupported("非有限数")
        sign, digits, exponent = value.normalize().as_tuple()
        assert isinstance(exponent, int)
        magnitude = int("".join(map(str, digits)) or "0")
        if exponent >= 0:
            data, scale = magnitude * 10**exponent, 0
        else:
            data, scale = magnitude, -exponent
        if sign:
            data = -data
    if abs(data) >= SAFE:
        raise Unsupported("数值过大")
    return data, scale


def num_array(data: Any, scale: int, bad: Mask = None, miss: Mask = None) -> Vec:
    """A Num from an int64 array, with bounds computed from the data."""
    arr = np.asarray(data, dtype=np.int64)
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
    else:
        lo = hi = 0
    if lo <= -SAFE or hi >= SAFE:
        over = np.abs(arr) >= SAFE
        arr = np.where(over, 0, arr)
        bad = m_or(bad, over)
        lo, hi = int(arr.min()), int(arr.max())
    return Vec(NUM, arr, scale=scale, lo=lo, hi=hi, bad=bad, miss=miss)


def to_decimal(data: int, scale: int) -> Decimal:
    return Decimal(int(data)).scaleb(-scale) if scale else Decimal(int(data))


def _clamp_bounds(lo: int, hi: int) -> tuple[int, int]:
    return max(lo, -SAFE + 1), min(hi, SAFE - 1)


# ------------------------------------------------------------------ exact integer arithmetic


def rescale(v: Vec, scale: int) -> Vec:
    """The same numbers at a larger scale (multiplied by a power of ten, checked)."""
    k = scale - v.scale
    if k == 0:
        return v
    if k < 0:
        raise AssertionError("rescale only grows the scale")
    f = 10**k
    bound = max(abs(v.lo), abs(v.hi))
    if bound * f < SAFE:
        return Vec(NUM, v.data * f, scale=scale, lo=v.lo * f, hi=v.hi * f, bad=v.bad, miss=v.miss)
    if f >= SAFE:
        over = _scalar(np.asarray(v.data) != 0)
        data = np.zeros_like(v.data) if is_array(v.data) else 0
    else:
        over = _scalar(np.abs(v.data) >= SAFE // f)
        data = _scalar(np.where(over, 0, v.data)) * f
    lo, hi = _clamp_bounds(min(v.lo * f, 0), max(v.hi * f, 0))
    return Vec(NUM, data, scale=scale, lo=lo, hi=hi, bad=m_or(v.bad, over), miss=v.miss)


def align(*vs: Vec) -> list[Vec]:
    scale = max(v.scale for v in vs)
    return [rescale(v, scale) for v in vs]


def add(a: Vec, b: Vec, subtract: bool = False) -> Vec:
    if not subtract and b.kind == NUM and not is_array(b.data) and b.data == 0 and b.bad is None and b.miss is None \
            and b.scale <= a.scale:
        return a
    if not is_array(a.data) and a.data == 0 and not subtract and a.bad is None and a.miss is None \
            and a.scale <= b.scale:
        return b
    a, b = align(a, b)
    if subtract:
        data = a.data - b.data
        lo, hi = a.lo - b.hi, a.hi - b.lo
    else:
        data = a.data + b.data
        lo, hi = a.lo + b.lo, a.hi + b.hi
    bad, miss = m_or(a.bad, b.bad), m_or(a.miss, b.miss)
    if lo <= -SAFE or hi >= SAFE:
        over = _scalar(np.abs(data) >= SAFE)
        data = _scalar(np.where(over, 0, data))
        bad = m_or(bad, over)
        lo, hi = _clamp_bounds(min(lo, 0), max(hi, 0))
    return Vec(NUM, data, scale=a.scale, lo=lo, hi=hi, bad=bad, miss=miss)


def negate(a: Vec) -> Vec:
    return Vec(NUM, -a.data, scale=a.scale, lo=-a.hi, hi=-a.lo, bad=a.bad, miss=a.miss)


def absolute(a: Vec) -> Vec:
    if a.lo >= 0:
        return a
    hi = max(abs(a.lo), abs(a.hi))
    lo = 0 if a.hi >= 0 else -a.hi
    return Vec(NUM, _scalar(np.abs(a.data)), scale=a.scale, lo=lo, hi=hi, bad=a.bad, miss=a.miss)


def mul(a: Vec, b: Vec) -> Vec:
    corners = (a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi)
    lo, hi = min(corners), max(corners)
    scale = a.scale + b.scale
    bad, miss = m_or(a.bad, b.bad), m_or(a.miss, b.miss)
    if -SAFE < lo and hi < SAFE:
        return Vec(NUM, a.data * b.data, scale=scale, lo=lo, hi=hi, bad=bad, miss=miss)
    if not is_array(a.data) and not is_array(b.data):
        product = int(a.data) * int(b.data)
        if abs(product) >= SAFE:
            return Vec(NUM, 0, scale=scale, lo=0, hi=0, bad=ALL, miss=miss)
        return Vec(NUM, product, scale=scale, lo=product, hi=product, bad=bad, miss=miss)
    estimate = np.abs(np.asarray(a.data, dtype=np.float64) * np.asarray(b.data, dtype=np.float64))
    over = estimate >= _FLOAT_LIMIT
    left = np.where(over, 0, a.data)
    data = left * b.data
    lo, hi = _clamp_bounds(min(lo, 0), max(hi, 0))
    return Vec(NUM, data, scale=scale, lo=lo, hi=hi, bad=m_or(bad, over), miss=miss)


def _half_away(x: int, d: int) -> int:
    q = (abs(x) + d // 2) // d
    return -q if x < 0 else q


def round_to(v: Vec, scale: int) -> Vec:
    """Half-up, ties away from zero (四舍五入), to `scale` decimal places."""
    if v.scale <= scale:
        return rescale(v, scale)
    d = 10 ** (v.scale - scale)
    if d > 2 * SAFE:
        zero = _scalar(np.zeros_like(v.data)) if is_array(v.data) else 0
        return Vec(NUM, zero, scale=scale, lo=0, hi=0, bad=v.bad, miss=v.miss)
    h = d // 2
    x = v.data
    if v.lo >= 0:
        data = x + h
        if is_array(data):
            data //= d  # in place: `data` is this function's own temporary
        else:
            data = data // d
    elif v.hi <= 0:
        data = -((h - x) // d)
    else:
        data = (x + h - (x < 0)) // d
    return Vec(NUM, _scalar(data), scale=scale, lo=_half_away(v.lo, d), hi=_half_away(v.hi, d),
               bad=v.bad, miss=v.miss)


def is_whole(v: Vec) -> Any:
    """Rows whose value is a whole number."""
    if v.scale == 0:
        return True
    return _scalar(v.data % 10**v.scale == 0) if 10**v.scale < SAFE else _scalar(v.data == 0)


def to_whole(v: Vec) -> Vec:
    """A whole-number Num at scale 0 (the caller has checked `is_whole`)."""
    if v.scale == 0:
        return v
    d = 10**v.scale
    if d >= SAFE:
        return Vec(NUM, _scalar(np.zeros_like(v.data)) if is_array(v.data) else 0, lo=0, hi=0,
                   bad=v.bad, miss=v.miss)
    return Vec(NUM, _scalar(v.data // d), lo=v.lo // d, hi=-((-v.hi) // d), bad=v.bad, miss=v.miss)


def normalize(v: Vec) -> Vec:
    """The smallest scale that keeps every row exact (fewer digits for what follows)."""
    if v.scale == 0:
        return v
    data = v.data
    if not is_array(data):
        value, scale = int(data), v.scale
        while scale > 0 and value % 10 == 0:
            value //= 10
            scale -= 1
        return Vec(NUM, value, scale=scale, lo=value, hi=value, bad=v.bad, miss=v.miss)
    if not bool(np.all(data % 10 == 0)):
        return v
    low, high = 1, min(v.scale, 18)  # the largest k with every row divisible by 10**k
    while low < high:
        k = (low + high + 1) // 2
        if bool(np.all(data % 10**k == 0)):
            low = k
        else:
            high = k - 1
    if low == 0:
        return v
    d = 10**low
    return Vec(NUM, data // d, scale=v.scale - low, lo=v.lo // d, hi=v.hi // d, bad=v.bad, miss=v.miss)


def compare(op: ir.CompareOp, a: Vec, b: Vec) -> Vec:
    bad, miss = m_or(a.bad, b.bad), m_or(a.miss, b.miss)
    if a.kind == NUM:
        a, b = align(a, b)
        bad = m_or(a.bad, b.bad)
        x, y = a.data, b.data
    elif a.kind == ENUMK:
        x, y, labels = unify_enums([a, b])
        if op not in (ir.CompareOp.EQ, ir.CompareOp.NE):
            ranks = np.argsort(np.argsort(np.array(labels, dtype=object)))
            x, y = ranks[x], ranks[y]
    else:
        x, y = a.data, b.data
    match op:
        case ir.CompareOp.GT:
            data = x > y
        case ir.CompareOp.GE:
            data = x >= y
        case ir.CompareOp.LT:
            data = x < y
        case ir.CompareOp.LE:
            data = x <= y
        case ir.CompareOp.EQ:
            data = x == y
        case ir.CompareOp.NE:
            data = x != y
        case _:
            assert_never(op)
    return Vec(BOOLK, _scalar(data), bad=bad, miss=miss)


def extreme(a: Vec, b: Vec, smaller: bool) -> Vec:
    """取较小 / 取较大 (and 封顶 / 保底) of two values of one kind."""
    bad, miss = m_or(a.bad, b.bad), m_or(a.miss, b.miss)
    if a.kind == NUM:
        a, b = align(a, b)
        bad = m_or(a.bad, b.bad)
        if smaller:
            if a.hi <= b.lo:
                return a.with_masks(bad, miss)
            if b.hi <= a.lo:
                return b.with_masks(bad, miss)
            data = np.minimum(a.data, b.data)
            return Vec(NUM, _scalar(data), scale=a.scale, lo=min(a.lo, b.lo), hi=min(a.hi, b.hi), bad=bad, miss=miss)
        if a.lo >= b.hi:
            return a.with_masks(bad, miss)
        if b.lo >= a.hi:
            return b.with_masks(bad, miss)
        data = np.maximum(a.data, b.data)
        return Vec(NUM, _scalar(data), scale=a.scale, lo=max(a.lo, b.lo), hi=max(a.hi, b.hi), bad=bad, miss=miss)
    if a.kind == ENUMK:
        x, y, labels = unify_enums([a, b])
        ranks = np.argsort(np.argsort(np.array(labels, dtype=object)))
        take_b = ranks[y] < ranks[x] if smaller else ranks[y] > ranks[x]
        return Vec(ENUMK, _scalar(np.where(take_b, y, x)), labels=labels, bad=bad, miss=miss)
    pick = np.minimum if smaller else np.maximum
    data = _scalar(pick(a.data, b.data))
    return Vec(a.kind, data, lo=min(a.lo, b.lo) if smaller else max(a.lo, b.lo),
               hi=min(a.hi, b.hi) if smaller else max(a.hi, b.hi), bad=bad, miss=miss)


def unify_enums(vs: Sequence[Vec]) -> tuple[Any, ...]:
    """The codes of each value against one common label tuple (the labels last)."""
    # A dict, not list.index: the labels of a 文本 column are its distinct texts (thousands of codes).
    labels = list(vs[0].labels)
    index = {label: i for i, label in enumerate(labels)}
    for v in vs[1:]:
        for label in v.labels:
            if label not in index:
                index[label] = len(labels)
                labels.append(label)
    out: list[Any] = []
    for v in vs:
        if tuple(labels[: len(v.labels)]) == v.labels:
            out.append(v.data)
            continue
        table = np.array([index[label] for label in v.labels], dtype=np.int64)
        out.append(_scalar(table[v.data]))
    return (*out, tuple(labels))


def select(conds: Sequence[Any], vs: Sequence[Vec], default: Vec | None, n: int) -> Vec:
    """Row by row, the value of the first condition that holds, else `default`.

    Without a default, rows where no condition holds are bad.
    """
    if not vs:
        assert default is not None
        return default
    allv = [*vs, default] if default is not None else list(vs)
    kind = allv[0].kind
    lo = hi = 0
    labels: tuple[str, ...] = ()
    scale = 0
    if kind == NUM:
        allv = align(*allv)
        scale = allv[0].scale
        lo, hi = min(v.lo for v in allv), max(v.hi for v in allv)
        datas = [v.data for v in allv]
    elif kind == ENUMK:
        *datas, labels = unify_enums(allv)
    else:
        datas = [v.data for v in allv]
        lo, hi = min(v.lo for v in allv), max(v.hi for v in allv)
    if default is None:
        placeholder: Any = False if kind == BOOLK else 0
        lo, hi = min(lo, 0), max(hi, 0)
    else:
        placeholder = datas.pop()
    conds = [c if is_array(c) else np.full(n, bool(c)) for c in conds]
    if len(conds) == 1:
        data = np.where(conds[0], datas[0], placeholder)
    else:
        data = np.select(conds, [np.broadcast_to(d, (n,)) for d in datas], placeholder)
    bad = _select_mask(conds, [v.bad for v in allv[: len(vs)]], ALL if default is None else allv[-1].bad)
    miss = _select_mask(conds, [v.miss for v in allv[: len(vs)]], None if default is None else allv[-1].miss)
    return Vec(kind, data, scale=scale, lo=lo, hi=hi, labels=labels, bad=bad, miss=miss)


def _select_mask(conds: Sequence[Any], masks: Sequence[Mask], default: Mask) -> Mask:
    if all(m is None for m in masks) and default is None:
        return None
    if len(conds) == 1:
        return m_sel(conds[0], masks[0], default)
    return np.select(list(conds), [False if m is None else m for m in masks],
                     False if default is None else default)


def where(cond: Vec, a: Vec, b: Vec, n: int) -> Vec:
    """如果 cond 则 a 否则 b: the condition's masks, then the taken branch's."""
    c = cond.data
    if not is_array(c):
        chosen = a if bool(c) else b
        return chosen.with_masks(m_or(cond.bad, chosen.bad), m_or(cond.miss, chosen.miss))
    v = select([c], [a], b, n)
    return v.with_masks(m_or(cond.bad, v.bad), m_or(cond.miss, v.miss))


# ------------------------------------------------------------------ division


def _strip_2_5(den: Any) -> Any:
    red = den.copy()
    for p in (2, 5):
        while True:
            hit = (red % p == 0) & (red > 1)
            if not hit.any():
                break
            red[hit] //= p
    return red


def _quotient(a: Vec, b: Vec, scale: int) -> tuple[Any, Any, Any, Mask]:
    """a ÷ b as integers at `scale` places: (sign, |numerator|, |denominator|, bad).

    Division by zero, and a numerator or denominator that would leave int64, make the row bad.
    """
    e = b.scale - a.scale + scale
    num = a if e <= 0 else (mul(a, num_const(10**e)) if e < 19 else Vec(NUM, 0, bad=ALL))
    den = b if e >= 0 else (mul(b, num_const(10**-e)) if -e < 19 else Vec(NUM, 0, bad=ALL))
    bad = m_or(m_or(num.bad, den.bad), m_or(a.bad, b.bad))
    zero = _scalar(np.asarray(b.data) == 0)
    if m_any(zero):
        bad = m_or(bad, zero)
    n_data = np.asarray(num.data, dtype=np.int64)
    d_data = np.asarray(den.data, dtype=np.int64)
    d_data = np.where(d_data == 0, 1, d_data)
    sign = np.where((n_data < 0) != (d_data < 0), -1, 1)
    return sign, np.abs(n_data), np.abs(d_data), bad


def _num_result(data: Any, scale: int, bad: Mask, miss: Mask) -> Vec:
    data = _scalar(data)
    if is_array(data):
        return num_array(data, scale, bad=bad, miss=miss)
    return Vec(NUM, int(data), scale=scale, lo=int(data), hi=int(data), bad=bad, miss=miss)


def divide(a: Vec, b: Vec) -> Vec:
    """values.divide: exact when the quotient terminates, else 10 places half-up.

    A quotient that terminates beyond 10 places is kept exact by the
    interpreter; such rows are bad.
    """
    sign, an, ad, bad = _quotient(a, b, DIVISION_PLACES)
    q, r = an // ad, an % ad
    inexact = r != 0
    if inexact.any():
        subset = np.nonzero(np.atleast_1d(inexact))[0]
        # A constant numerator or denominator is a scalar: spread it over the rows first.
        shape = np.atleast_1d(inexact).shape
        an1, ad1 = np.broadcast_to(an, shape)[subset], np.broadcast_to(ad, shape)[subset]
        terminating = _strip_2_5(ad1 // np.gcd(an1, ad1)) == 1
        if terminating.any():
            beyond = np.zeros(np.atleast_1d(inexact).shape, dtype=bool)
            beyond[subset[terminating]] = True
            bad = m_or(bad, _scalar(beyond.reshape(np.shape(inexact))))
        q = q + (inexact & (2 * r >= ad))
    return normalize(_num_result(sign * q, DIVISION_PLACES, bad, m_or(a.miss, b.miss)))


def divide_rounded(a: Vec, b: Vec, scale: int) -> Vec:
    """a ÷ b rounded half-up (ties away from zero) to `scale` places, exactly."""
    sign, an, ad, bad = _quotient(a, b, scale)
    q, r = an // ad, an % ad
    return _num_result(sign * (q + (2 * r >= ad)), scale, bad, m_or(a.miss, b.miss))


def divide_exact(a: Vec, b: Vec) -> Vec:
    """a ÷ b where the interpreter keeps the raw quotient: rows not exact at 10 places are bad."""
    sign, an, ad, bad = _quotient(a, b, DIVISION_PLACES)
    q, r = an // ad, an % ad
    inexact = _scalar(r != 0)
    if m_any(inexact):
        bad = m_or(bad, inexact)
    return normalize(_num_result(sign * q, DIVISION_PLACES, bad, m_or(a.miss, b.miss)))


# ------------------------------------------------------------------ dates


def date_const(value: dt.date) -> Vec:
    day = value.toordinal() - _EPOCH
    return Vec(DATEK, day, lo=day, hi=day)


def _days64(days: Any) -> Any:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]")


def _month_parts(days: Any) -> tuple[Any, Any]:
    """(months since 1970-01, day of month) of day numbers."""
    d64 = _days64(days)
    m64 = d64.astype("datetime64[M]")
    day = (d64 - m64.astype("datetime64[D]")).astype(np.int64) + 1
    return m64.astype(np.int64), day


def _from_months(months: Any, day: Any) -> Any:
    """The day numbers of `day` in month `months` (since 1970-01), clamped to the month's last day."""
    first = np.asarray(months, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    nxt = (np.asarray(months, dtype=np.int64) + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return first + np.minimum(day, nxt - first) - 1


_MIN_MONTH = (1 - 1970) * 12
_MAX_MONTH = (9999 - 1970) * 12 + 11


def add_months(d: Vec, months: Vec) -> Vec:
    """d + months under 民法典 第二百零二条; rows leaving the years 1-9999 are bad."""
    if months.scale != 0:
        raise Unsupported("期限不是整数")
    start = np.clip(d.data, MIN_DAY, MAX_DAY)
    month_index, day = _month_parts(start)
    total = month_index + months.data
    out_of_range = (total < _MIN_MONTH) | (total > _MAX_MONTH)
    total = np.clip(total, _MIN_MONTH, _MAX_MONTH)
    data = _scalar(_from_months(total, day))
    bad = m_or(m_or(d.bad, months.bad), _scalar(out_of_range) if m_any(out_of_range) else None)
    return _date_vec(data, bad, m_or(d.miss, months.miss))


def add_days(d: Vec, days: Vec) -> Vec:
    if days.scale != 0:
        raise Unsupported("期限不是整数")
    data = d.data + days.data
    bad, miss = m_or(d.bad, days.bad), m_or(d.miss, days.miss)
    lo, hi = d.lo + days.lo, d.hi + days.hi
    if lo < MIN_DAY or hi > MAX_DAY:
        out = _scalar((data < MIN_DAY) | (data > MAX_DAY))
        if m_any(out):
            bad = m_or(bad, out)
            data = _scalar(np.clip(data, MIN_DAY, MAX_DAY))
        lo, hi = max(lo, MIN_DAY), min(hi, MAX_DAY)
    return Vec(DATEK, data, lo=lo, hi=hi, bad=bad, miss=miss)


def _date_vec(data: Any, bad: Mask, miss: Mask) -> Vec:
    if is_array(data):
        lo, hi = (int(data.min()), int(data.max())) if data.size else (0, 0)
    else:
        lo = hi = int(data)
    return Vec(DATEK, data, lo=lo, hi=hi, bad=bad, miss=miss)


def date_parts(d: Vec) -> tuple[Any, Any, Any]:
    """(year, month, day) arrays of day numbers."""
    d64 = _days64(np.clip(d.data, MIN_DAY, MAX_DAY))
    years = d64.astype("datetime64[Y]").astype(np.int64) + 1970
    months = d64.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (d64 - d64.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return _scalar(years), _scalar(months), _scalar(days)


def months_between(a: Vec, b: Vec, per: int) -> Vec:
    """dates.months_between (per=1) / years_between (per=12), vectorized."""
    x, y = np.asarray(a.data, dtype=np.int64), np.asarray(b.data, dtype=np.int64)
    backwards = y < x
    low, high = np.minimum(x, y), np.maximum(x, y)
    if per == 1:
        m_low, _ = _month_parts(low)
        m_high, _ = _month_parts(high)
        count = m_high - m_low
    else:
        count = (_days64(high).astype("datetime64[Y]").astype(np.int64)
                 - _days64(low).astype("datetime64[Y]").astype(np.int64))
    m_low, day_low = _month_parts(low)
    candidate = _from_months(np.clip(m_low + count * per, _MIN_MONTH, _MAX_MONTH), day_low)
    count = count - ((count > 0) & (candidate > high))
    data = _scalar(np.where(backwards, -count, count))
    bad, miss = m_or(a.bad, b.bad), m_or(a.miss, b.miss)
    if is_array(data):
        return num_array(data, 0, bad=bad, miss=miss)
    return Vec(NUM, int(data), lo=int(data), hi=int(data), bad=bad, miss=miss)


def _whole_part(v: Vec, whole: Any) -> Any:
    if v.scale == 0:
        return np.asarray(v.data, dtype=np.int64)
    if 10**v.scale >= SAFE:
        return np.zeros(np.shape(v.data), dtype=np.int64)  # only 0 is whole at such a scale
    return np.where(whole, v.data, 0) // 10**v.scale


def make_date(y: Vec, m: Vec, d: Vec) -> Vec:
    """年月日(y, m, d): rows that are not whole numbers or not a real date are bad."""
    bad = m_or(m_or(y.bad, m.bad), d.bad)
    miss = m_or(m_or(y.miss, m.miss), d.miss)
    whole = np.asarray(is_whole(y)) & np.asarray(is_whole(m)) & np.asarray(is_whole(d))
    yy, mm, dd = _whole_part(y, whole), _whole_part(m, whole), _whole_part(d, whole)
    ok = whole & (yy >= 1) & (yy <= 9999) & (mm >= 1) & (mm <= 12) & (dd >= 1)
    months = np.where(ok, (yy - 1970) * 12 + (mm - 1), 0)
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    length = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - first
    ok = ok & (dd <= length)
    data = _scalar(np.where(ok, first + dd - 1, 0))
    invalid = _scalar(np.logical_not(ok))
    return _date_vec(data, m_or(bad, invalid if m_any(invalid) else None), miss)


# ------------------------------------------------------------------ compiled program


Fn = Callable[["VFrame"], Vec]


class VFrame:
    """One chunk: its input columns, 计算日期 per row, the memo of figures.

    The lines of a 列表 input are a frame of their own (`lines`): one row per
    line, `parent` the claims' frame, `owner` the claim of each line and
    `offsets` where each claim's lines start (docs/evaluation.md 明细).
    """

    __slots__ = ("args", "columns", "date", "found", "memo", "n", "offsets", "owner", "parent", "sub")

    def __init__(self, n: int, columns: Mapping[str, InputColumn], date: Vec | None, size: int) -> None:
        self.n = n
        self.columns = columns
        self.date = date
        self.memo: list[Vec | None] = [None] * size
        self.args: tuple[Vec, ...] = ()
        self.parent: VFrame | None = None
        self.owner: Any = None
        self.offsets: Any = None
        self.sub: dict[str, VFrame | None] = {}
        self.found: dict[Any, tuple[Any, Any]] = {}  # 查目录: the rows of each (catalog, key, date)

    def lines(self, name: str) -> VFrame | None:
        """The frame of list input `name`'s lines (None when the chunk has no such column)."""
        if name in self.sub:
            return self.sub[name]
        column = self.columns.get(name)
        frame = None
        if column is not None and column.lines is not None:
            table = column.lines
            counts = np.diff(table.offsets)
            frame = VFrame(int(table.offsets[-1] - table.offsets[0]), table.fields, None, len(self.memo))
            frame.parent = self
            frame.offsets = table.offsets - table.offsets[0]
            frame.owner = np.repeat(np.arange(self.n, dtype=np.int64), counts)
            frame.date = spread(self.date, frame.owner) if self.date is not None else None
        self.sub[name] = frame
        return frame


@attrs.define
class InputColumn:
    """An input's values for a chunk: `vec` holds placeholders where `given` is false.

    `given` is None when every row gives the input.  A 列表 input also has its
    `lines` (a placeholder `vec`; a row without the input has no lines).
    """

    vec: Vec
    given: Any = None
    lines: Lines | None = None


@attrs.define
class Lines:
    """The lines of a 列表 input for a chunk of claims, grouped by claim in order.

    Claim i's lines are rows offsets[i]:offsets[i + 1] of the `fields` columns
    (one InputColumn per line field, every line of the chunk).
    """

    offsets: Any  # int64, one more than the claims
    fields: Mapping[str, InputColumn]


def spread(v: Vec, owner: Any) -> Vec:
    """A claim value on each of its lines (`owner`: the claim of each line)."""
    def take(x: Any) -> Any:
        return x[owner] if is_array(x) else x

    return Vec(v.kind, take(v.data), scale=v.scale, lo=v.lo, hi=v.hi, labels=v.labels, bad=take(v.bad),
               miss=take(v.miss))


def seg_any(mask: Mask, owner: Any, n: int) -> Mask:
    """The claims with at least one line in `mask`."""
    if mask is None or mask is False:
        return None
    if not is_array(mask):
        if not bool(mask):
            return None
        mask = np.ones(len(owner), dtype=bool)
    hits = np.flatnonzero(mask)
    if not hits.size:
        return None
    out = np.zeros(n, dtype=bool)
    out[owner[hits]] = True
    return out


@attrs.frozen(slots=True)
class VC:
    fn: Fn
    type: Type


@attrs.frozen(slots=True)
class VEnv:
    inst: VInstance
    locals: Mapping[str, tuple[int, Type]] = attrs.field(factory=dict)
    whole: bool = True
    # The list whose lines' frame the expression runs on, and the level its bare names are looked up at
    # (the same in a line definition; None in a function called from one: semantics/levels.py).
    level: str | None = None
    within: str | None = None


@attrs.define(eq=False)
class VFigure:
    symbol: Symbol
    slot: int
    type: Type
    name: str
    get: Fn


@attrs.define(eq=False)
class VInstance:
    interp: Instance
    parent: VInstance | None
    quantum_scale: int
    figures: dict[str, VFigure] = attrs.Factory(dict)
    functions: dict[str, VC] = attrs.Factory(dict)
    assertions: list[vector_errors.Check] = attrs.Factory(list)

    @property
    def scope(self) -> Any:
        return self.interp.scope


def _all_bad(type_: Type) -> Fn:
    def bad(fr: VFrame) -> Vec:
        return placeholder(type_, fr.n).with_masks(ALL, None)

    return bad


def placeholder(type_: Type, n: int) -> Vec:
    kind = type_.kind
    if kind is Kind.DATE:
        return Vec(DATEK, 0)
    if kind is Kind.BOOL:
        return Vec(BOOLK, False)
    if kind is Kind.ENUM:
        labels = type_.enum.values if type_.enum is not None else ("",)
        return Vec(ENUMK, 0, labels=labels)
    if kind is Kind.TEXT:
        return Vec(ENUMK, 0, labels=("",))
    return Vec(NUM, 0)


def vec_kind(type_: Type) -> str:
    kind = type_.kind
    if kind is Kind.DATE:
        return DATEK
    if kind is Kind.BOOL:
        return BOOLK
    if kind is Kind.ENUM or kind is Kind.TEXT:  # 文本: codes into its distinct texts, compared like 选项
        return ENUMK
    return NUM


def _column_reader(name: str, default: Fn | None, type_: Type) -> Fn:
    """An input (or a line field) read from the frame's columns; not given → its 默认, else missing."""
    kind = vec_kind(type_)

    def read(fr: VFrame) -> Vec:
        column = fr.columns.get(name)
        if column is None:
            if default is None:
                return placeholder(type_, fr.n).with_masks(None, ALL)
            return default(fr)
        vec = column.vec
        if vec.kind != kind:
            return placeholder(type_, fr.n).with_masks(ALL, None)
        given = column.given
        if given is None:
            return vec
        if default is None:
            return vec.with_masks(vec.bad, m_or(vec.miss, ~given))
        if not given.any():
            return default(fr)
        return select([given], [vec], default(fr), fr.n)

    return read


def _list_reader(name: str) -> Fn:
    """A 列表 input as a claim value: only its masks (a claim without the column misses it); the
    lines themselves are read by the aggregations (`VFrame.lines`)."""

    def read(fr: VFrame) -> Vec:
        column = fr.columns.get(name)
        if column is None or column.lines is None:
            return Vec(NUM, 0, miss=ALL)
        if column.given is None:
            return Vec(NUM, 0)
        return Vec(NUM, 0, miss=_scalar(~np.asarray(column.given, dtype=bool)))

    return read


def _segment_count(chosen: Any, offsets: Any) -> Any:
    """Lines per claim (of the `chosen` lines; None: every line)."""
    if chosen is None:
        return np.diff(offsets)
    return _reduce(np.add, chosen.astype(np.int64), offsets, 0)


def _reduce(ufunc: Any, data: Any, offsets: Any, empty: int) -> Any:
    """`ufunc` over each claim's lines (`empty` for a claim without lines); exact in int64."""
    n = len(offsets) - 1
    out = np.full(n, empty, dtype=data.dtype)
    if data.size:
        nonempty = offsets[1:] > offsets[:-1]
        out[nonempty] = ufunc.reduceat(data, offsets[:-1][nonempty])
    return out


def _line_data(x: Vec, nlines: int) -> Any:
    return np.broadcast_to(np.asarray(x.data, dtype=np.int64), (nlines,))


def _segment_sum(x: Vec, chosen: Any, offsets: Any) -> Vec:
    """求和: segment sums of int64 scaled integers, exact; a claim whose sum could leave SAFE is bad."""
    if x.kind != NUM:
        raise Unsupported("求和的对象不是数")
    nlines = int(offsets[-1])
    data = _line_data(x, nlines)
    if chosen is not None:
        data = np.where(chosen, data, 0)
    counts = np.diff(offsets)
    most = int(counts.max()) if counts.size else 0
    bound = max(abs(x.lo), abs(x.hi))
    sums = _reduce(np.add, data, offsets, 0)
    bad: Mask = None
    if most * bound >= SAFE:
        # Every partial sum of a claim stays below count × bound: only claims beyond SAFE can wrap.
        over = counts > (SAFE - 1) // bound
        sums = np.where(over, 0, sums)
        bad = over
        most = (SAFE - 1) // bound
    lo, hi = _clamp_bounds(min(0, most * x.lo), max(0, most * x.hi))
    return Vec(NUM, sums, scale=x.scale, lo=lo, hi=hi, bad=bad)


def _segment_extreme(x: Vec, chosen: Any, offsets: Any, smaller: bool) -> Vec:
    """最大值/最小值: segment maxima/minima; a claim without (chosen) lines is bad (YB460, the interpreter's)."""
    if x.kind not in (NUM, DATEK):
        raise Unsupported("最大值/最小值的对象不是数或日期")
    nlines = int(offsets[-1])
    data = _line_data(x, nlines)
    limits = np.iinfo(np.int64)
    sentinel = int(limits.max) if smaller else int(limits.min)
    if chosen is not None:
        data = np.where(chosen, data, sentinel)
    values = _reduce(np.minimum if smaller else np.maximum, data, offsets, sentinel)
    empty = _segment_count(chosen, offsets) == 0
    bad: Mask = None
    if empty.any():
        values = np.where(empty, 0, values)
        bad = empty
    return Vec(x.kind, values, scale=x.scale, lo=min(x.lo, 0), hi=max(x.hi, 0), bad=bad)


@attrs.define(eq=False)
class Cells:
    """One catalog column as a Vec over the catalog's rows, and where its cells are filled."""

    vec: Vec
    filled: Any  # bool per catalog row

    def take(self, row: Any, found: Any) -> InputColumn:
        """The cells of catalog rows `row` (where `found`); `given` is where a cell is found and filled."""
        safe = np.where(found, row, 0)
        v = self.vec
        data = v.data[safe] if v.data.size else np.zeros(len(safe), dtype=v.data.dtype)
        filled = found & (self.filled[safe] if self.filled.size else False)
        return InputColumn(Vec(v.kind, data, scale=v.scale, lo=v.lo, hi=v.hi, labels=v.labels), filled)


class CatalogJoin:
    """查目录 as a sorted join (docs/evaluation.md 明细): the catalog's rows sorted by (key, 生效)
    (engines/catalogs.py `arrays()`), the keys of a lookup found by binary search.

    A 文本 or 选项 key is codes into a few distinct texts, so the search is done once per distinct
    text, giving its first row and number of versions; each value then needs only gathers: for the
    v-th version of its key, whether 生效 ≤ date < 失效.  A 数 key is searched value by value.
    """

    def __init__(self, arrays: Any) -> None:
        self.arrays = arrays
        keys = arrays.keys
        self.n = len(keys)
        self.text = keys.dtype.kind in "US"
        self.start = np.asarray(arrays.start, dtype=np.int64)
        self.end = np.asarray(arrays.end, dtype=np.int64)
        self.cells: dict[str, Cells] = {}

    def rows(self, key: Vec, date: Vec | None) -> tuple[Any, Any]:
        """(row, found) for each value of `key` (and `date`): the catalog row valid on the date."""
        codes, first, count = self._range(key)
        if date is None:
            return first[codes], count[codes] > 0
        day = np.broadcast_to(np.asarray(date.data, dtype=np.int64), codes.shape)
        row = np.zeros(codes.shape, dtype=np.int64)
        found = np.zeros(codes.shape, dtype=bool)
        most = int(count.max()) if count.size else 0
        for v in range(most):  # versions of one key do not overlap: at most one is valid on a day
            has = v < count
            at = np.where(has, first + v, 0)
            if not self.n:
                break
            lo = np.where(has, self.start[at], np.iinfo(np.int64).max)[codes]
            hi = self.end[at][codes]
            hit = (lo <= day) & (day < hi)
            row = np.where(hit, at[codes], row)
            found |= hit
        return row, found

    def _range(self, key: Vec) -> tuple[Any, Any, Any]:
        """(index of each value into the distinct values, first row, number of rows) of the key."""
        keys = self.arrays.keys
        if key.kind == ENUMK:
            if not self.text:
                raise Unsupported("目录的键是数，查找的键是文本")
            labels = np.array(key.labels, dtype=str) if key.labels else np.array([""], dtype=str)
            codes = np.atleast_1d(np.asarray(key.data, dtype=np.int64))
        elif key.kind == NUM and not self.text:
            scale = self.arrays.key_scale
            if key.scale > scale:
                raise Unsupported("查目录的键的小数位多于目录")
            data = rescale(key, scale).data if key.scale < scale else key.data
            labels, codes = np.unique(np.atleast_1d(np.asarray(data, dtype=np.int64)), return_inverse=True)
        else:
            raise Unsupported("查目录的键")
        lo = np.searchsorted(keys, labels, side="left")
        hi = np.searchsorted(keys, labels, side="right")
        return codes, lo.astype(np.int64), (hi - lo).astype(np.int64)

    def column(self, name: str) -> Cells:
        found = self.cells.get(name)
        if found is None:
            found = self.cells[name] = _cells(self.arrays.columns[name])
        return found


def _cells(col: Any) -> Cells:
    """A catalog ColumnArray as a Vec over the rows (文本 as codes into its distinct texts)."""
    kind = col.kind
    filled = ~np.asarray(col.null, dtype=bool)
    if kind in (Kind.MONEY, Kind.RATIO, Kind.NUMBER) or kind in (Kind.YEARS, Kind.MONTHS, Kind.DAYS):
        if col.data is None:
            raise Unsupported("目录的数超出整数范围")
        v = num_array(col.data, col.scale)
    elif kind is Kind.DATE:
        v = _date_vec(np.asarray(col.data, dtype=np.int64), None, None)
    elif kind is Kind.BOOL:
        v = Vec(BOOLK, np.asarray(col.data, dtype=bool))
    elif kind is Kind.ENUM:
        v = Vec(ENUMK, np.where(filled, col.data, 0).astype(np.int64), labels=col.labels)
    else:
        texts = [t if t is not None else "" for t in col.data.tolist()]
        labels = tuple(dict.fromkeys(texts))
        index = {t: i for i, t in enumerate(labels)}
        v = Vec(ENUMK, np.array([index[t] for t in texts], dtype=np.int64), labels=labels or ("",))
    return Cells(v, filled)


class Engine:
    """A checked program compiled to column operations, for a fixed list of outputs."""

    def __init__(self, program: Program, outputs: Sequence[str], *, strict: bool = False) -> None:
        self.program = program
        self.strict = strict
        self.ev: Evaluator = evaluator_for(program, False)
        self.nslots = 0
        self.instances: dict[InstanceKey, VInstance] = {}
        self.compiling: set[tuple[InstanceKey, str]] = set()
        self.unsupported: list[str] = []
        self.joins: dict[tuple[str, str], CatalogJoin] = {}
        for interp in self.ev.instances:
            self.vinstance(interp)
        for inst in list(self.instances.values()):
            for symbol in list(inst.scope.own.values()):
                # Fund figures and fund 断言 are computed and checked once per run (engines/fund.py).
                if symbol.kind is not SymbolKind.FUNCTION and level_of(symbol.name) != FUND:
                    self.figure(inst, symbol)
            for assertion in inst.scope.module.assertions:
                if not is_fund_level(assertion.condition):
                    fn = self.guard(self._builder(assertion.condition, VEnv(inst)), BOOL)
                    inst.assertions.append(vector_errors.check_for(assertion, fn))
        self.outputs: list[str] = list(outputs)
        self.output_figures: list[VFigure] = []
        for name in self.outputs:
            figure = self.ev.output(name)
            if not isinstance(figure, Figure):
                raise ValueError(figure.message)
            self.output_figures.append(self.figure(self.vinstance(figure.instance), figure.symbol))
        # Every 断言, in the order the interpreter checks them (engines/vector_errors.py).
        self.checks: list[vector_errors.Check] = [
            c for interp in self.ev.instances if (vi := self.instances.get(interp.key)) is not None
            for c in vi.assertions]

    def _builder(self, e: ir.Expr, env: VEnv) -> Callable[[], VC]:
        return lambda: self.expr(e, env)

    def guard(self, build: Callable[[], VC], type_: Type) -> Fn:
        try:
            return build().fn
        except Unsupported as exc:
            self.unsupported.append(str(exc))
            return _all_bad(type_)
        except Exception as exc:  # a construct the engine cannot compile: the interpreter takes the rows
            if self.strict:
                raise
            self.unsupported.append(f"{type(exc).__name__}: {exc}")
            return _all_bad(type_)

    # -------------------------------------------------------------- instances and figures

    def vinstance(self, interp: Instance) -> VInstance:
        found = self.instances.get(interp.key)
        if found is not None:
            return found
        parent = self.vinstance(interp.parent) if interp.parent is not None else None
        inst = VInstance(interp, parent, PLACES[interp.unit])
        self.instances[interp.key] = inst
        return inst

    def child(self, inst: VInstance, imp: ir.Import) -> VInstance:
        return self.vinstance(self.ev.child(inst.interp, imp))

    def figure(self, inst: VInstance, symbol: Symbol) -> VFigure:
        found = inst.figures.get(symbol.name)
        if found is not None:
            return found
        key = (inst.interp.key, symbol.name)
        if key in self.compiling:
            raise Unsupported(f"“{symbol.name}”循环依赖")
        self.compiling.add(key)
        try:
            fig = self.compile_figure(inst, symbol)
        finally:
            self.compiling.discard(key)
        inst.figures[symbol.name] = fig
        return fig

    def compile_figure(self, inst: VInstance, symbol: Symbol) -> VFigure:
        slot = self.nslots
        self.nslots += 1
        type_ = self.program.types.get(symbol.key, ERROR)
        decl = symbol.decl

        def build() -> VC:
            match decl:
                case ir.InputDecl():
                    compute = self.input_compute(inst, decl, type_)
                case ir.ParamDecl():
                    compute = self.param_compute(inst, decl, type_)
                case ir.Definition():
                    if symbol.level == FUND:
                        raise Unsupported("基金层的数")
                    compute = self.expr(decl.expr, VEnv(inst, level=symbol.level, within=symbol.level)).fn
                case ir.FieldDecl():
                    compute = self.field_compute(inst, symbol, decl, type_)
                case ir.Requirement():
                    compute = _all_bad(type_)
                case ir.FunctionDecl():
                    raise Unsupported(f"函数 {decl.name} 不是数额")
                case _:
                    assert_never(decl)
            rules = self.exception_rules(inst, symbol)
            if rules and symbol.level is not None:
                raise Unsupported(f"{symbol.name} 的例外")
            if rules:
                compute = self.with_exceptions(symbol, type_, compute, rules)
            return VC(compute, type_)

        compute = self.guard(build, type_)

        def get(fr: VFrame) -> Vec:
            value = fr.memo[slot]
            if value is None:
                value = fr.memo[slot] = compute(fr)
            return value

        return VFigure(symbol, slot, type_, inst.interp.qualified(symbol.name), get)

    def field_compute(self, inst: VInstance, symbol: Symbol, decl: ir.FieldDecl, type_: Type) -> Fn:
        """A field of a list input's line, read from the lines' frame (a line without it takes the 默认)."""
        default: Fn | None = None
        if decl.default is not None:  # read at the claim (as the interpreter reads it), on each of its lines
            at_claim = self.expr(decl.default, VEnv(inst)).fn

            def default(fr: VFrame) -> Vec:
                assert fr.parent is not None
                return spread(at_claim(fr.parent), fr.owner)

        return _column_reader(decl.name, default, type_)

    def input_compute(self, inst: VInstance, decl: ir.InputDecl, type_: Type) -> Fn:
        name = decl.name
        if type_.kind is Kind.LIST:
            return _list_reader(name)
        bound_here = inst.interp.binding(name)
        if bound_here is not None:
            assert inst.parent is not None
            return self.expr(bound_here[0].value, VEnv(inst.parent)).fn
        default = self.expr(decl.default, VEnv(inst)).fn if decl.default is not None else None
        return _column_reader(name, default, type_)

    def param_compute(self, inst: VInstance, decl: ir.ParamDecl, type_: Type) -> Fn:
        if len(decl.versions) == 1 and decl.versions[0].start is None:
            return self.expr(decl.versions[0].value, VEnv(inst)).fn
        chosen = DatedVersions.of(decl)
        # DatedVersions.index over a column of dates: bisect_right(starts, date) - 1, vectorised.
        starts = np.array([s.toordinal() - _EPOCH for s in chosen.starts], dtype=np.int64)
        fns = [self.expr(v.value, VEnv(inst)).fn for v in chosen.dated]
        before = self.expr(chosen.before.value, VEnv(inst)).fn if chosen.before is not None else None

        def choose(fr: VFrame) -> Vec:
            date = fr.date
            if date is None:
                return placeholder(type_, fr.n).with_masks(ALL, None)
            index = _scalar(np.searchsorted(starts, date.data, side="right") - 1)
            conds: list[Any] = []
            vs: list[Vec] = []
            if is_array(index):
                present = np.unique(index)
                for i in present.tolist():
                    if i >= 0:
                        conds.append(index == i)
                        vs.append(fns[i](fr))
                default = before(fr) if before is not None and present[0] < 0 else None
                if not vs:
                    value = default if default is not None else placeholder(type_, fr.n).with_masks(ALL, None)
                else:
                    value = select(conds, vs, default, fr.n)
            elif index >= 0:
                value = fns[index](fr)
            elif before is not None:
                value = before(fr)
            else:
                value = placeholder(type_, fr.n).with_masks(ALL, None)
            # A row without a 计算日期 fails (YB414); the date's own masks carry over.
            return value.with_masks(m_or(value.bad, m_or(date.bad, date.miss)), value.miss)

        return choose

    # -------------------------------------------------------------- exceptions (docs/language.md §29)

    def exception_rules(self, inst: VInstance, symbol: Symbol) -> list[tuple[ir.ExceptionRule, Fn, Fn]]:
        out = []
        for scope, rule in self.program.exceptions.get(symbol.key, []):
            found = inst.interp.enclosing(scope)
            if found is None:
                continue
            env = VEnv(self.vinstance(found))
            out.append((rule, self.expr(rule.condition, env).fn, self.expr(rule.value, env).fn))
        return out

    def with_exceptions(self, symbol: Symbol, type_: Type, base: Fn,
                        rules: list[tuple[ir.ExceptionRule, Fn, Fn]]) -> Fn:
        beaten = exception_rules.beaten_by([rule for rule, _, _ in rules])

        def compute(fr: VFrame) -> Vec:
            n = fr.n
            conds = [cond(fr) for _, cond, _ in rules]
            bad: Mask = None
            miss: Mask = None
            for c in conds:
                bad, miss = m_or(bad, c.bad), m_or(miss, c.miss)
            fired = [c.data for c in conds]
            if not any(bool(np.any(f)) for f in fired):
                value = base(fr)
                return value.with_masks(m_or(bad, value.bad), m_or(miss, value.miss))
            count = sum(np.asarray(f, dtype=np.int64) for f in fired)
            winners = [np.broadcast_to(np.asarray(w, dtype=bool), (n,))
                       for w in exception_rules.winner_guards(MASKS, fired, beaten)]
            conflict = np.broadcast_to(np.asarray(exception_rules.unresolved(MASKS, fired, winners)), (n,))
            active = [i for i, w in enumerate(winners) if w.any()]
            values = {i: rules[i][2](fr) for i in active}
            chosen = select([winners[i] for i in active], [values[i] for i in active], None, n) if active else None
            if chosen is not None:
                for i in active:
                    # Every winner's value is computed; they must agree (else YB412).
                    v = values[i]
                    differs = compare(ir.CompareOp.NE, v, chosen)
                    conflict = conflict | (winners[i] & np.broadcast_to(np.asarray(differs.data, dtype=bool), (n,)))
                    bad = m_or(bad, m_and(winners[i], m_or(v.bad, differs.bad)))
                    miss = m_or(miss, m_and(winners[i], v.miss))
            none_fired = np.asarray(count == 0)
            if none_fired.any():
                base_value = base(fr)
                if chosen is None:
                    result = base_value
                else:
                    result = select([none_fired], [base_value], chosen.with_masks(None, None), n)
                bad = m_or(bad, m_and(none_fired, base_value.bad))
                miss = m_or(miss, m_and(none_fired, base_value.miss))
            else:
                assert chosen is not None
                result = chosen
            bad = m_or(bad, conflict if np.any(conflict) else None)
            return result.with_masks(bad, miss)

        return compute

    # -------------------------------------------------------------- expressions

    def expr(self, e: ir.Expr, env: VEnv) -> VC:
        match e:
            case ir.Literal(kind=literal_kind, value=literal_value):
                return self.literal(literal_kind, literal_value)
            case ir.Name():
                return self.name(e, env)
            case ir.Arith():
                return self.arith(e, env)
            case ir.Negate(operand=operand):
                inner = self.expr(operand, env)
                f = inner.fn
                return VC(lambda fr: negate(f(fr)), inner.type)
            case ir.Compare(op=compare_op, left=left, right=right):
                lf, rf = self.expr(left, env).fn, self.expr(right, env).fn
                return VC(lambda fr: compare(compare_op, lf(fr), rf(fr)), BOOL)
            case ir.Member(subject=subject, values=values, negated=negated):
                sf = self.expr(subject, env).fn
                return VC(lambda fr: _member(sf(fr), values, negated), BOOL)
            case ir.Between(subject=subject, low=low, high=high):
                sf, lf, hf = self.expr(subject, env).fn, self.expr(low, env).fn, self.expr(high, env).fn

                def between(fr: VFrame) -> Vec:
                    x = sf(fr)
                    first = compare(ir.CompareOp.LE, lf(fr), x)
                    second = compare(ir.CompareOp.LE, x, hf(fr))
                    # Python's chained comparison reads the upper bound only when the lower holds.
                    return _and(first, second)

                return VC(between, BOOL)
            case ir.Logic(op=logic_op, left=left, right=right):
                lf, rf = self.expr(left, env).fn, self.expr(right, env).fn
                if logic_op is ir.LogicOp.AND:
                    return VC(lambda fr: _and(lf(fr), rf(fr)), BOOL)
                return VC(lambda fr: _or(lf(fr), rf(fr)), BOOL)
            case ir.Not(operand=operand):
                of = self.expr(operand, env).fn

                def negated_bool(fr: VFrame) -> Vec:
                    v = of(fr)
                    return Vec(BOOLK, _scalar(~np.asarray(v.data, dtype=bool)), bad=v.bad, miss=v.miss)

                return VC(negated_bool, BOOL)
            case ir.If():
                return self.conditional(e, env)
            case ir.Bounded(kind=bound_kind, value=value_expr, limit=limit):
                value, lim = self.expr(value_expr, env), self.expr(limit, env)
                vf, lf = value.fn, lim.fn
                smaller = bound_kind is ir.BoundKind.CAP
                return VC(lambda fr: extreme(vf(fr), lf(fr), smaller), value.type)
            case ir.Call():
                return self.call(e, env)
            case ir.Banded():
                return self.banded(e, env)
            case ir.Stepped():
                return self.stepped(e, env)
            case ir.Cases():
                return self.cases(e, env)
            case ir.Table():
                return self.table(e, env)
            case ir.Aggregate():
                return self.aggregate(e, env)
            case ir.Lookup():
                return self.catalog_lookup(e, env)
            case _:
                assert_never(e)

    def literal(self, kind: ir.LiteralKind, value: Any) -> VC:
        type_ = LITERAL_TYPES[kind]
        if kind is ir.LiteralKind.DATE:
            const = date_const(value)
        elif kind is ir.LiteralKind.BOOL:
            const = Vec(BOOLK, bool(value))
        elif kind is ir.LiteralKind.TEXT:
            const = Vec(ENUMK, 0, labels=(str(value),))
        else:
            const = num_const(value)
        return VC(lambda fr: const, type_)

    def name(self, e: ir.Name, env: VEnv) -> VC:
        if e.qualifier is None and e.name in env.locals:
            index, type_ = env.locals[e.name]
            return VC(lambda fr: fr.args[index], type_)
        found = lookup(env.inst.scope, e, within=env.within)
        if found is None and e.qualifier is None and e.name == "计算日期":
            def today(fr: VFrame) -> Vec:
                if fr.date is None:
                    return placeholder(DATE, fr.n).with_masks(ALL, None)  # the interpreter reports it
                return fr.date

            return VC(today, DATE)
        if found is None:
            label = e.name
            const = Vec(ENUMK, 0, labels=(label,))
            return VC(lambda fr: const, Type(Kind.ENUM))
        if found.symbol.kind is SymbolKind.FUNCTION:
            raise Unsupported(f"函数 {e.display} 未加括号")
        target = env.inst if found.via is None else self.child(env.inst, found.via)
        level = found.symbol.level
        if level == FUND:
            raise Unsupported("基金层的数")
        fig = self.figure(target, found.symbol)
        if level == env.level:
            return VC(fig.get, fig.type)
        if level is None:  # a claim's figure read on each of its lines
            get = fig.get

            def on_lines(fr: VFrame) -> Vec:
                assert fr.parent is not None
                return spread(get(fr.parent), fr.owner)

            return VC(on_lines, fig.type)
        raise Unsupported(f"{e.display} 不在这一层")

    def arith(self, e: ir.Arith, env: VEnv) -> VC:
        inner = env if env.whole else attrs.evolve(env, whole=True)
        left, right = self.expr(e.left, inner), self.expr(e.right, inner)
        lt, rt = left.type, right.type
        result = arith_result(e.op, lt, rt) or ERROR
        lf, rf = left.fn, right.fn
        op = e.op
        quantum = env.inst.quantum_scale
        whole = env.whole
        if op in (ir.ArithOp.ADD, ir.ArithOp.SUB):
            sub = op is ir.ArithOp.SUB
            if lt.kind is Kind.DATE and rt.kind is Kind.DATE:
                return VC(lambda fr: _date_diff(lf(fr), rf(fr)), result)
            if lt.kind is Kind.DATE or rt.kind is Kind.DATE:
                date_left = lt.kind is Kind.DATE
                unit = rt.kind if date_left else lt.kind

                def shift(fr: VFrame) -> Vec:
                    a, b = lf(fr), rf(fr)
                    d, count = (a, b) if date_left else (b, a)
                    if sub:
                        count = negate(count)
                    if unit is Kind.DAYS:
                        return add_days(d, count)
                    if unit is Kind.YEARS:
                        count = mul(count, num_const(12))
                    return add_months(d, count)

                return VC(shift, result)
            return VC(lambda fr: add(lf(fr), rf(fr), sub), result)
        if op is ir.ArithOp.MUL:
            if result.kind is Kind.MONEY:
                if whole:
                    return VC(lambda fr: round_to(mul(lf(fr), rf(fr)), quantum), result)
                return VC(lambda fr: mul(lf(fr), rf(fr)), result)
            if result.is_duration:
                if whole:
                    return VC(lambda fr: _whole_duration(mul(lf(fr), rf(fr))), result)
                return VC(lambda fr: mul(lf(fr), rf(fr)), result)
            return VC(lambda fr: mul(lf(fr), rf(fr)), result)
        # division
        if result.kind is Kind.MONEY:
            if whole:
                return VC(lambda fr: divide_rounded(lf(fr), rf(fr), quantum), result)
            return VC(lambda fr: divide_exact(lf(fr), rf(fr)), result)
        if result.is_duration:
            if whole:
                return VC(lambda fr: _whole_duration(divide(lf(fr), rf(fr))), result)
            return VC(lambda fr: divide(lf(fr), rf(fr)), result)
        return VC(lambda fr: divide(lf(fr), rf(fr)), result)

    def conditional(self, e: ir.If, env: VEnv) -> VC:
        branches = [(self.expr(b.condition, env).fn, self.expr(b.value, env)) for b in e.branches]
        other = self.expr(e.otherwise, env)
        type_ = next((v.type for _, v in branches if v.type.kind is not Kind.ERROR), other.type)
        pairs = [(c, v.fn) for c, v in branches]
        of = other.fn
        if len(pairs) == 1:
            (cf, vf), = pairs
            return VC(lambda fr: where(cf(fr), vf(fr), of(fr), fr.n), type_)

        def choose(fr: VFrame) -> Vec:
            n = fr.n
            conds: list[Any] = []
            values: list[Vec] = []
            bad: Mask = None
            miss: Mask = None
            reached: Any = True  # rows whose earlier conditions all failed
            for cf, vf in pairs:
                c = cf(fr)
                bad, miss = m_or(bad, m_and(reached, c.bad)), m_or(miss, m_and(reached, c.miss))
                conds.append(c.data)
                values.append(vf(fr))
                reached = reached & ~np.asarray(c.data, dtype=bool)
            value = select(conds, values, of(fr), n)
            return value.with_masks(m_or(bad, value.bad), m_or(miss, value.miss))

        return VC(choose, type_)

    # -------------------------------------------------------------- calls

    def call(self, e: ir.Call, env: VEnv) -> VC:
        if not env.whole and not builtins.passes_unrounded(e):
            env = attrs.evolve(env, whole=True)
        if builtins.is_builtin(e):
            return self.builtin(e, env)
        found = lookup(env.inst.scope, e.callee)
        if found is None or not isinstance(found.symbol.decl, ir.FunctionDecl):
            raise Unsupported(f"未知的函数 {e.function}")
        decl = found.symbol.decl
        target = env.inst if found.via is None else self.child(env.inst, found.via)
        body = self.function_body(target, decl, env.level)
        arg_fns = [self.expr(a, env).fn for a in e.args]
        return VC(with_args(body.fn, arg_fns), body.type)

    def function_body(self, inst: VInstance, decl: ir.FunctionDecl, level: str | None = None) -> VC:
        """A function's body, compiled once for each frame it runs on (claims, or a list's lines)."""
        key = decl.name if level is None else f"{level}\0{decl.name}"
        found = inst.functions.get(key)
        if found is not None:
            return found
        from yibaolang.checks.typecheck import function_types

        locals_, result_type = function_types(self.program, inst.scope, decl)
        body = self.expr(decl.body, VEnv(inst, locals_, level=level))
        compiled = VC(body.fn, result_type if result_type.kind is not Kind.ERROR else body.type)
        inst.functions[key] = compiled
        return compiled

    def builtin(self, e: ir.Call, env: VEnv) -> VC:
        implement = builtins.implementation("vector", e.function)
        if implement is None:
            raise Unsupported(f"内置函数 {e.function}")
        result: VC = implement(self, e, env)
        return result

    # -------------------------------------------------------------- block expressions

    def banded(self, e: ir.Banded, env: VEnv) -> VC:
        subject = self.expr(e.subject, env)
        sf = subject.fn
        type_ = subject.type if subject.type.kind is not Kind.ERROR else MONEY
        money = type_.kind is Kind.MONEY
        duration = type_.is_duration
        places = env.inst.quantum_scale if money else None
        zero = num_const(0)
        bands = []
        for band in e.bands:
            low = self.expr(band.lower.value, env).fn if band.lower is not None else (lambda fr: zero)
            high = self.expr(band.upper.value, env).fn if band.upper is not None else None
            rate = self.expr(band.rate, env).fn
            bands.append((low, high, rate))
        ops = VECTOR_OPS

        def banded(fr: VFrame) -> Vec:
            x = sf(fr)
            total = zero
            inverted: Mask = None
            for low_f, high_f, rate_f in bands:
                low = low_f(fr)
                high = high_f(fr) if high_f is not None else None
                if high is not None:
                    # An inverted band is an error (YB422): those rows go to the interpreter, which words it.
                    crossed = band_rules.inverted(ops, low, high)
                    inverted = m_or(inverted, crossed if m_any(crossed) else None)
                total = ops.add(total, band_rules.band_amount(ops, x, low, high, rate_f(fr), places))
            total = total.with_masks(m_or(m_or(total.bad, x.bad), inverted), m_or(total.miss, x.miss))
            if duration:
                return _whole_duration(total)
            return total

        return VC(banded, type_)

    def stepped(self, e: ir.Stepped, env: VEnv) -> VC:
        subject = self.expr(e.subject, env)
        sf = subject.fn
        rows = []
        for step in e.steps:
            edges = {"low": self.expr(step.low.value, env).fn if step.low is not None else None,
                     "high": self.expr(step.high.value, env).fn if step.high is not None else None}
            guards = [(op, edges[side]) for op, side in band_rules.step_guards(step)]
            rows.append((guards, self.expr(step.result, env)))
        other = self.expr(e.otherwise, env) if e.otherwise is not None else None
        type_ = next((r[1].type for r in rows if r[1].type.kind is not Kind.ERROR),
                     other.type if other is not None else ERROR)
        of = other.fn if other is not None else None

        def pick(fr: VFrame) -> Vec:
            x = sf(fr)
            bad, miss = x.bad, x.miss
            conds: list[Any] = []
            values: list[Vec] = []
            for guards, result in rows:
                match: Any = True
                for op, edge in guards:
                    assert edge is not None  # step_guards names only the edges a row has
                    c = compare(op, x, edge(fr))
                    match = match & c.data
                    bad = m_or(bad, m_or(c.bad, c.miss))  # a bound read by an unreached row: let the interpreter decide
                conds.append(match)
                values.append(result.fn(fr))
            value = select(conds, values, of(fr) if of is not None else None, fr.n)
            return value.with_masks(m_or(bad, value.bad), m_or(miss, value.miss))

        return VC(pick, type_)

    def cases(self, e: ir.Cases, env: VEnv) -> VC:
        sf = self.expr(e.subject, env).fn
        first_row = case_rows(e)
        results = [self.expr(row.result, env) for row in e.rows]
        compiled = [c.fn for c in results]
        types = [c.type for c in results]
        other = self.expr(e.otherwise, env) if e.otherwise is not None else None
        if other is not None:
            types.append(other.type)
        type_ = next((t for t in types if t.kind is not Kind.ERROR), ERROR)
        of = other.fn if other is not None else None

        def pick(fr: VFrame) -> Vec:
            x = sf(fr)
            if x.kind != ENUMK:
                raise Unsupported("分情况 的对象不是选项")
            cellmap = [first_row.get(label, -1) for label in x.labels]
            value = _pick_cells(x.data, cellmap, compiled, of, fr, type_)
            return value.with_masks(m_or(x.bad, value.bad), m_or(x.miss, value.miss))

        return VC(pick, type_)

    def table(self, e: ir.Table, env: VEnv) -> VC:
        keys = [self.expr(k, env).fn for k in e.keys]
        two = len(e.keys) == 2
        row_names = list(dict.fromkeys(row.key for row in e.rows))
        col_names = list(e.columns) if two else [""]
        cells: dict[tuple[int, int], Fn] = {}
        types = []
        for (row_key, column), (_row, cell) in table_cells(e).items():
            c = self.expr(cell, env)
            types.append(c.type)
            cells[(row_names.index(row_key), 0 if column is None else col_names.index(column))] = c.fn
        type_ = next((t for t in types if t.kind is not Kind.ERROR), ERROR)
        ncols = len(col_names)
        flat_fns: list[Fn | None] = [None] * (len(row_names) * ncols)
        for (r, col), fn in cells.items():
            flat_fns[r * ncols + col] = fn

        def lookup_cell(fr: VFrame) -> Vec:
            k1 = keys[0](fr)
            if k1.kind != ENUMK:
                raise Unsupported("查表 的键不是选项")
            rows_of = [row_names.index(lb) if lb in row_names else -1 for lb in k1.labels]
            bad, miss = k1.bad, k1.miss
            if two:
                k2 = keys[1](fr)
                if k2.kind != ENUMK:
                    raise Unsupported("查表 的键不是选项")
                cols_of = [col_names.index(lb) if lb in col_names else -1 for lb in k2.labels]
                bad, miss = m_or(bad, k2.bad), m_or(miss, k2.miss)
                width = len(k2.labels)
                codes = k1.data * width + k2.data
                cellmap = [r * ncols + c if r >= 0 and c >= 0 else -1 for r in rows_of for c in cols_of]
            else:
                codes = k1.data
                cellmap = rows_of
            value = _pick_cells(codes, cellmap, flat_fns, None, fr, type_)
            return value.with_masks(m_or(bad, value.bad), m_or(miss, value.miss))

        return VC(lookup_cell, type_)

    # -------------------------------------------------------------- lines (docs/evaluation.md 明细)

    def aggregate(self, e: ir.Aggregate, env: VEnv) -> VC:
        """求和/计数/最大值/最小值 of a claim's lines: segment reductions over the lines' frame."""
        if e.over == FUND:
            raise Unsupported("全体的汇总")
        if env.level is not None:
            raise Unsupported("每行之中的汇总")
        name = e.over
        line_env = VEnv(env.inst, level=name, within=name)
        item_ref = item_name(e)
        item = self.name(item_ref, line_env) if item_ref is not None else None
        where = self.expr(e.where, line_env).fn if e.where is not None else None
        found = lookup(env.inst.scope, ir.Name(name, None, e.span))
        if found is None:
            raise Unsupported(f"列表 {name}")
        head = self.figure(env.inst, found.symbol).get
        kind = e.kind
        type_ = NUMBER if kind is ir.AggregateKind.COUNT or item is None else item.type
        item_fn = item.fn if item is not None else None

        def reduce(fr: VFrame) -> Vec:
            given = head(fr)  # the list's own masks: a claim without it misses it
            lines = fr.lines(name)
            if lines is None:
                return placeholder(type_, fr.n).with_masks(given.bad, m_or(given.miss, ALL))
            n, owner, offsets = fr.n, lines.owner, lines.offsets
            bad: Mask = given.bad
            miss: Mask = given.miss
            chosen: Any = None  # None: every line; else the lines the 其中 condition selects
            if where is not None:
                c = where(lines)
                bad, miss = m_or(bad, seg_any(c.bad, owner, n)), m_or(miss, seg_any(c.miss, owner, n))
                chosen = np.broadcast_to(np.asarray(c.data, dtype=bool), (lines.n,))
            if item_fn is None:
                value = num_array(_segment_count(chosen, offsets), 0)
            else:
                x = item_fn(lines)
                # The item is read only on the lines the condition selects.
                bad = m_or(bad, seg_any(x.bad if chosen is None else m_and(chosen, x.bad), owner, n))
                miss = m_or(miss, seg_any(x.miss if chosen is None else m_and(chosen, x.miss), owner, n))
                if kind is ir.AggregateKind.SUM:
                    value = _segment_sum(x, chosen, offsets)
                else:
                    value = _segment_extreme(x, chosen, offsets, kind is ir.AggregateKind.MIN)
            return value.with_masks(m_or(value.bad, bad), m_or(value.miss, miss))

        return VC(reduce, type_)

    def catalog_lookup(self, e: ir.Lookup, env: VEnv) -> VC:
        """查目录: the catalog row of each key valid on the date, as a sorted join (`CatalogJoin`)."""
        decl = env.inst.scope.catalogs.get(e.catalog)
        if decl is None:
            raise Unsupported(f"目录 {e.catalog}")
        join = self.catalog_join(env.inst, decl)
        column = decl.column(e.column)
        if column is None:
            raise Unsupported(f"目录 {e.catalog} 的列 {e.column}")
        key = self.expr(e.key, env).fn
        date = self.expr(e.date, env).fn if e.date is not None else None
        missing = self.expr(e.missing, env)
        mf = missing.fn
        type_ = missing.type
        cells = join.column(e.column)
        # Lookups of several columns by the same key and date find their rows once per frame.
        from yibaolang.ir.printer import expr_text

        # (Not inside a function: its parameters name different values at each call.)
        shared = (e.catalog, expr_text(e.key), expr_text(e.date) if e.date is not None else None) \
            if not env.locals else None

        def find(fr: VFrame) -> Vec:
            k = key(fr)
            if not is_array(k.data):
                k = Vec(k.kind, np.full(fr.n, k.data, dtype=np.int64), scale=k.scale, lo=k.lo, hi=k.hi,
                        labels=k.labels, bad=k.bad, miss=k.miss)
            d = date(fr) if date is not None else None
            rows = fr.found.get(shared) if shared is not None else None
            if rows is None:
                rows = join.rows(k, d)
                if shared is not None:
                    fr.found[shared] = rows
            row, found = rows
            value = cells.take(row, found)
            hit = value.given
            if bool(np.all(hit)):
                out = value.vec
            else:  # not found, or an empty cell: the 查无 value (computed only when some row needs it)
                out = select([hit], [value.vec], mf(fr), fr.n)
            bad = m_or(k.bad, d.bad if d is not None else None)
            miss = m_or(k.miss, d.miss if d is not None else None)
            return out.with_masks(m_or(out.bad, bad), m_or(out.miss, miss))

        return VC(find, type_)

    def catalog_join(self, inst: VInstance, decl: ir.CatalogDecl) -> CatalogJoin:
        key = (inst.scope.path, decl.name)
        found = self.joins.get(key)
        if found is None:
            from yibaolang.engines.catalogs import catalog_for

            found = self.joins[key] = CatalogJoin(catalog_for(self.program, inst.scope, decl.name).arrays())
        return found

    # -------------------------------------------------------------- running a chunk

    def run(self, columns: Mapping[str, InputColumn], n: int, date: Vec | None,
            extra: Sequence[VFigure] = (), block: int = BLOCK) -> Result:
        """Evaluate the outputs (and `extra` figures) for `n` rows, `block` rows at a time.

        Blocks keep the working arrays in the processor's cache; the results are joined.
        """
        with no_gc():
            return self._run(columns, n, date, extra, block)

    def _run(self, columns: Mapping[str, InputColumn], n: int, date: Vec | None, extra: Sequence[VFigure],
             block: int) -> Result:
        if n <= block:
            return self.run_block(columns, n, date, extra)
        parts = []
        sizes = []
        for start in range(0, n, block):
            stop = min(n, start + block)
            part_columns = {name: _slice_column(c, start, stop) for name, c in columns.items()}
            part_date = _slice_vec(date, start, stop) if date is not None else None
            parts.append(self.run_block(part_columns, stop - start, part_date, extra))
            sizes.append(stop - start)
        outputs = [concat([p.outputs[k] for p in parts], sizes) for k in range(len(self.output_figures))]
        extras = [concat([p.extras[k] for p in parts], sizes) for k in range(len(extra))]
        failures = [vector_errors.joined([p.failures[k] for p in parts], sizes) for k in range(len(self.checks))]
        return Result(outputs, extras, np.concatenate([p.fallback for p in parts]), failures,
                      np.concatenate([p.missing for p in parts]))

    def run_block(self, columns: Mapping[str, InputColumn], n: int, date: Vec | None,
                  extra: Sequence[VFigure] = ()) -> Result:
        """One block of rows (no cyclic garbage is made: the collector is paused while it runs)."""
        with no_gc():
            return self._run_block(columns, n, date, extra)

    def _run_block(self, columns: Mapping[str, InputColumn], n: int, date: Vec | None,
                   extra: Sequence[VFigure]) -> Result:
        fr = VFrame(n, columns, date, self.nslots)
        with np.errstate(all="ignore"):
            try:
                outputs = [f.get(fr) for f in self.output_figures]
                extras = [f.get(fr) for f in extra]
                fallback: Mask = None
                missing: Mask = None
                for v in [*outputs, *extras]:
                    fallback = m_or(fallback, v.bad)
                    missing = m_or(missing, v.miss)
                failures = []
                for check in self.checks:
                    a = check.fn(fr)
                    # A broken assertion is the row's error, finished here (vector_errors.py); a row where the
                    # condition could not be computed exactly goes to the interpreter.
                    failures.append(vector_errors.broken_rows(a.data, a.miss))
                    fallback = m_or(fallback, a.bad)
                missing = m_and(np.logical_not(_full(fallback, n)), missing) if missing is not None else None
                fallback = m_or(fallback, missing)
            except Unsupported as exc:
                self.unsupported.append(str(exc))
                return self._all_fallback(n, extra)
            except Exception as exc:
                if self.strict:
                    raise
                self.unsupported.append(f"{type(exc).__name__}: {exc}")
                return self._all_fallback(n, extra)
        return Result(outputs, extras, np.array(_full(fallback, n), dtype=bool), failures,
                      np.array(_full(missing, n), dtype=bool))

    def _all_fallback(self, n: int, extra: Sequence[VFigure]) -> Result:
        return Result([placeholder(f.type, n) for f in self.output_figures],
                      [placeholder(f.type, n) for f in extra], np.ones(n, dtype=bool), [None] * len(self.checks),
                      np.zeros(n, dtype=bool))

    def figure_named(self, name: str) -> VFigure:
        figure = self.ev.output(name)
        if not isinstance(figure, Figure):
            raise ValueError(figure.message)
        return self.figure(self.vinstance(figure.instance), figure.symbol)


@attrs.define
class Result:
    outputs: list[Vec]
    extras: list[Vec]
    fallback: Any  # bool array: rows the interpreter must evaluate
    # Per 断言 of Engine.checks: the rows that break it (engines/vector_errors.py); final where not fallback.
    failures: list[Mask] = attrs.Factory(list)
    # The fallback rows whose only reason is a missing input (the batch keeps those it can word: tools/batch.py).
    missing: Any = None


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause Python's cycle collector: the engine (and the batch's per-row bookkeeping) makes many small
    objects and no cycles; with half a million failing rows, collections cost as much as the rest of a chunk."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _slice_mask(mask: Mask, start: int, stop: int) -> Mask:
    return mask[start:stop] if is_array(mask) else mask


def _slice_vec(v: Vec, start: int, stop: int) -> Vec:
    data = v.data[start:stop] if is_array(v.data) else v.data
    return Vec(v.kind, data, scale=v.scale, lo=v.lo, hi=v.hi, labels=v.labels,
               bad=_slice_mask(v.bad, start, stop), miss=_slice_mask(v.miss, start, stop))


def _slice_column(c: InputColumn, start: int, stop: int) -> InputColumn:
    lines = None
    if c.lines is not None:
        offsets = c.lines.offsets[start:stop + 1]
        first, last = int(offsets[0]), int(offsets[-1])
        lines = Lines(offsets, {name: _slice_column(f, first, last) for name, f in c.lines.fields.items()})
    return InputColumn(_slice_vec(c.vec, start, stop), c.given[start:stop] if c.given is not None else None, lines)


def concat(parts: Sequence[Vec], sizes: Sequence[int]) -> Vec:
    """The rows of several blocks (of `sizes` rows) as one value (numbers at their largest scale)."""
    kind = parts[0].kind
    labels: tuple[str, ...] = ()
    if kind == NUM:
        parts = align(*parts)
    elif kind == ENUMK:
        *codes, labels = unify_enums(parts)
        parts = [Vec(ENUMK, c, labels=labels, bad=p.bad, miss=p.miss) for c, p in zip(codes, parts, strict=True)]
    data = np.concatenate([np.broadcast_to(np.asarray(p.data), (size,)) for p, size in zip(parts, sizes, strict=True)])
    bad = _concat_masks([p.bad for p in parts], sizes)
    miss = _concat_masks([p.miss for p in parts], sizes)
    return Vec(kind, data, scale=parts[0].scale, lo=min(p.lo for p in parts), hi=max(p.hi for p in parts),
               labels=labels, bad=bad, miss=miss)


def _concat_masks(masks: Sequence[Mask], sizes: Sequence[Any]) -> Mask:
    if all(m is None for m in masks):
        return None
    return np.concatenate([np.broadcast_to(np.asarray(False if m is None else m, dtype=bool), (s,))
                           for m, s in zip(masks, sizes, strict=True)])


def _full(mask: Mask, n: int) -> Any:
    if mask is None:
        return np.zeros(n, dtype=bool)
    return np.broadcast_to(np.asarray(mask, dtype=bool), (n,))


# ------------------------------------------------------------------ helpers for expressions


def _member(v: Vec, values: tuple[str, ...], negated: bool) -> Vec:
    if v.kind != ENUMK:
        raise Unsupported("属于 的对象不是选项")
    hits = np.array([label in values for label in v.labels], dtype=bool)
    data = hits[v.data]
    if negated:
        data = ~data
    return Vec(BOOLK, _scalar(data), bad=v.bad, miss=v.miss)


def _and(a: Vec, b: Vec) -> Vec:
    """a 且 b: b is read only on rows where a holds."""
    ad = a.data
    data = _scalar(np.logical_and(ad, b.data))
    return Vec(BOOLK, data, bad=m_or(a.bad, m_and(ad, b.bad) if is_array(ad) else (b.bad if ad else None)),
               miss=m_or(a.miss, m_and(ad, b.miss) if is_array(ad) else (b.miss if ad else None)))


def _or(a: Vec, b: Vec) -> Vec:
    """a 或 b: b is read only on rows where a fails."""
    ad = a.data
    data = _scalar(np.logical_or(ad, b.data))
    if is_array(ad):
        nd = ~ad
        return Vec(BOOLK, data, bad=m_or(a.bad, m_and(nd, b.bad)), miss=m_or(a.miss, m_and(nd, b.miss)))
    return Vec(BOOLK, data, bad=m_or(a.bad, None if ad else b.bad), miss=m_or(a.miss, None if ad else b.miss))


def _date_diff(a: Vec, b: Vec) -> Vec:
    """a - b in days."""
    data = _scalar(np.asarray(a.data, dtype=np.int64) - b.data) if is_array(a.data) or is_array(b.data) \
        else int(a.data) - int(b.data)
    return Vec(NUM, data, lo=a.lo - b.hi, hi=a.hi - b.lo, bad=m_or(a.bad, b.bad), miss=m_or(a.miss, b.miss))


def _whole_duration(v: Vec) -> Vec:
    """A duration produced by × or ÷ must be whole (else YB416: the row is bad)."""
    whole = is_whole(v)
    if whole is True:
        return to_whole(v)
    notwhole = _scalar(~np.asarray(whole, dtype=bool))
    v = v.with_masks(m_or(v.bad, notwhole if m_any(notwhole) else None), v.miss)
    if m_any(notwhole):
        v = Vec(NUM, _scalar(np.where(notwhole, 0, v.data)), scale=v.scale, lo=min(v.lo, 0), hi=max(v.hi, 0),
                bad=v.bad, miss=v.miss)
    return to_whole(v)


# ------------------------------------------------------------------ the operations of the shared rules


class _Fresh(Vec):
    """A Vec whose array was just made by `VectorOps.clamp` and is referenced nowhere else."""

    __slots__ = ()


class MaskLogic:
    """Truth values as row masks (a numpy bool array or one numpy bool for every row)."""

    __slots__ = ()

    def all_of(self, conditions: Sequence[Any]) -> Any:
        out: Any = np.True_
        for c in conditions:
            out = out & c
        return _scalar(out)

    def any_of(self, conditions: Sequence[Any]) -> Any:
        out: Any = np.False_
        for c in conditions:
            out = out | c
        return _scalar(out)

    def not_(self, condition: Any) -> Any:
        return _scalar(np.logical_not(condition))


class VectorOps(MaskLogic):
    """`yibaolang.semantics.ops.Ops` over Vec numbers and row masks: the rules of semantics/ run column-wise."""

    __slots__ = ()

    def zero(self) -> Vec:
        return Vec(NUM, 0)

    def add(self, a: Vec, b: Vec) -> Vec:
        return add(a, b)

    def sub(self, a: Vec, b: Vec) -> Vec:
        if a.__class__ is _Fresh and not is_array(b.data) and b.scale <= a.scale and b.bad is None \
                and b.miss is None:
            # clamp's own array, consumed here: subtract in place (one pass over the rows fewer per band).
            b = rescale(b, a.scale)
            data = a.data
            data -= b.data
            return Vec(NUM, data, scale=a.scale, lo=a.lo - b.hi, hi=a.hi - b.lo, bad=a.bad, miss=a.miss)
        return add(a, b, subtract=True)

    def mul(self, a: Vec, b: Vec) -> Vec:
        return mul(a, b)

    def clamp(self, x: Vec, low: Vec, high: Vec | None) -> Vec:
        if high is None:
            return extreme(x, low, smaller=False)
        x, low, high = align(x, low, high)
        if not is_array(low.data) and not is_array(high.data) and low.data <= high.data:
            lo_v, hi_v = int(low.data), int(high.data)
            bad, miss = m_or(m_or(x.bad, low.bad), high.bad), m_or(m_or(x.miss, low.miss), high.miss)
            if not is_array(x.data):
                value = min(max(int(x.data), lo_v), hi_v)
                return Vec(NUM, value, scale=x.scale, lo=value, hi=value, bad=bad, miss=miss)
            return _Fresh(NUM, np.clip(x.data, lo_v, hi_v), scale=x.scale, lo=min(max(x.lo, lo_v), hi_v),
                          hi=min(max(x.hi, lo_v), hi_v), bad=bad, miss=miss)
        return extreme(extreme(x, low, smaller=False), high, smaller=True)

    def round(self, a: Vec, places: int | None) -> Vec:
        return a if places is None else round_to(a, places)

    def compare(self, op: ir.CompareOp, a: Vec, b: Vec) -> Any:
        return compare(op, a, b).data


MASKS = MaskLogic()
VECTOR_OPS = VectorOps()


def _pick_cells(codes: Any, cellmap: Sequence[int], fns: Sequence[Fn | None], otherwise: Fn | None, fr: VFrame,
                type_: Type) -> Vec:
    """Row by row, the value of cell `cellmap[code]` (-1 or a missing cell: `otherwise`, else an error).

    When every cell is a plain value (a literal, a parameter), one lookup table
    over the codes gives the result in a single pass.
    """
    n = fr.n
    targets = [c if c >= 0 and fns[c] is not None else -1 for c in cellmap]
    if not is_array(codes):
        target = targets[int(codes)]
        if target >= 0:
            fn = fns[target]
            assert fn is not None
            return fn(fr)
        if otherwise is not None:
            return otherwise(fr)
        return placeholder(type_, n).with_masks(ALL, None)
    used = sorted({t for t in targets if t >= 0})
    values = {t: fns[t](fr) for t in used}  # type: ignore[misc]
    missing = any(t < 0 for t in targets)
    default = otherwise(fr) if otherwise is not None and missing else None
    plain = all(not is_array(v.data) and v.bad is None and v.miss is None for v in values.values()) and (
        default is None or (not is_array(default.data) and default.bad is None and default.miss is None))
    if plain and values:
        allv = [values[t] for t in used] + ([default] if default is not None else [])
        kind = allv[0].kind
        labels: tuple[str, ...] = ()
        if kind == NUM:
            allv = align(*allv)
        elif kind == ENUMK:
            *codes_u, labels = unify_enums(allv)
            allv = [Vec(ENUMK, c, labels=labels) for c in codes_u]
        if all(v.bad is None for v in allv):
            position = {t: i for i, t in enumerate(used)}
            fill = allv[-1].data if default is not None else (False if kind == BOOLK else 0)
            lut = np.array([allv[position[t]].data if t >= 0 else fill for t in targets],
                           dtype=bool if kind == BOOLK else np.int64)
            data = lut[codes]
            lo = hi = 0
            if kind in (NUM, DATEK):
                datas = [int(v.data) for v in allv]
                lo, hi = min(datas), max(datas)
            bad: Mask = None
            if missing and default is None:
                lo, hi = min(lo, 0), max(hi, 0)
                absent = np.array([t < 0 for t in targets], dtype=bool)[codes]
                bad = absent if absent.any() else None
            return Vec(kind, data, scale=allv[0].scale, lo=lo, hi=hi, labels=labels, bad=bad)
    index = np.array(targets, dtype=np.int64)[codes]
    present = [t for t in used if bool(np.any(index == t))]
    if not present:
        return default if default is not None else placeholder(type_, n).with_masks(ALL, None)
    return select([index == t for t in present], [values[t] for t in present], default, n)


# ------------------------------------------------------------------ builtins (semantics/builtins.py declares them)


@builtins.implements("vector", "取较小", "取较大")
def _extreme(engine: Engine, e: ir.Call, env: VEnv) -> VC:
    compiled = [engine.expr(a, env) for a in e.args]
    fns = [c.fn for c in compiled]
    type_ = next((c.type for c in compiled if c.type.kind is not Kind.ERROR), ERROR)
    smaller = e.function == "取较小"

    def pick(fr: VFrame) -> Vec:
        value = fns[0](fr)
        for f in fns[1:]:
            value = extreme(value, f(fr), smaller)
        return value

    return VC(pick, type_)


@builtins.implements("vector", "四舍五入")
def _round(engine: Engine, e: ir.Call, env: VEnv) -> VC:
    args = e.args
    inner = engine.expr(args[0], attrs.evolve(env, whole=False))
    f = inner.fn
    unit_name = (args[1].name if isinstance(args[1], ir.Name) else "分") if len(args) == 2 else None
    target = rounding_target(inner.type.kind, unit_name, env.inst.interp.unit)
    scale = target.places
    type_ = inner.type if target.kind is inner.type.kind else MONEY
    return VC(lambda fr: round_to(f(fr), scale), type_)


@builtins.implements("vector", "数值")
def _number(engine: Engine, e: ir.Call, env: VEnv) -> VC:
    return VC(engine.expr(e.args[0], env).fn, NUMBER)


@builtins.implements("vector", "年月日")
def _make_date(engine: Engine, e: ir.Call, env: VEnv) -> VC:
    y, m, d = (engine.expr(a, env).fn for a in e.args)
    return VC(lambda fr: make_date(y(fr), m(fr), d(fr)), DATE)


@builtins.implements("vector", "年份", "月份")
def _date_part(engine: Engine, e: ir.Call, env: VEnv) -> VC:
    f = engine.expr(e.args[0], env).fn
    index = 0 if e.function == "年份" else 1

    def part(fr: VFrame) -> Vec:
        v = f(fr)
        data = date_parts(v)[index]
        if is_array(data):
            return num_array(data, 0, bad=v.bad, miss=v.miss)
        return Vec(NUM, int(data), lo=int(data), hi=int(data), bad=v.bad, miss=v.miss)

    return VC(part, NUMBER)


@builtins.implements("vector", "相差天数", "相差月数", "相差年数")
def _between_dates(engine: Engine, e: ir.Call, env: VEnv) -> VC:
    a, b = engine.expr(e.args[0], env).fn, engine.expr(e.args[1], env).fn
    if e.function == "相差天数":
        return VC(lambda fr: _date_diff(b(fr), a(fr)), DAYS)
    per = 1 if e.function == "相差月数" else 12
    return VC(lambda fr: months_between(a(fr), b(fr), per), MONTHS if per == 1 else YEARS)


@builtins.implements("vector", "绝对值")
def _absolute(engine: Engine, e: ir.Call, env: VEnv) -> VC:
    inner = engine.expr(e.args[0], env)
    f = inner.fn
    return VC(lambda fr: absolute(f(fr)), inner.type)


__all__ = ["SAFE", "Engine", "InputColumn", "Result", "Unsupported", "VFrame", "Vec", "to_decimal"]
