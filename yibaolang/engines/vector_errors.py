"""Failing rows that stay in the vectorized engine (docs/batch.md#出错的行与合计, docs/performance.md).

A row on which a 断言 does not hold is not a row the engine got wrong: its outputs are computed as on any
other row, and the interpreter would add one YB415 diagnostic per broken 断言 after them.  So the engine
keeps such a row: it carries, per 断言, the mask of rows that break it (`Result.failures`, aligned with
`Engine.checks`), and only the rows it cannot finish (an evaluation error it cannot word, a missing input,
a value it cannot represent exactly) go to the interpreter through the `fallback` mask.

The diagnostic of each 断言 is built once, by the same builder the interpreter uses
(`engines.outcome.assertion_failure`), so the batch output's 错误 column and the accounting by code and
条款 (tools/accounting.py) are the same whichever engine computed the row.  The hint differs: the engine
shows the condition as written, the interpreter with the case's values; the batch shows only messages.

`row_errors` turns the per-断言 masks into one small number per row — the row's *pattern*, which
断言 it breaks — and the list of diagnostics of each pattern, so a million failing rows cost a few array
operations and one text per distinct pattern, not one Python object per row.

>>> import numpy as np
>>> from yibaolang import ir
>>> span = ir.Span("政策.ybl", 3, 1, 3, 9)
>>> a = ir.Assertion(ir.Name("x", None, span), "x 应成立", "二", span)
>>> check = check_for(a, None)
>>> check.diagnostic.message
'断言不成立（条款 二）：x 应成立'
>>> broken_rows(np.array([True, False, False]), np.array([False, False, True])).tolist()
[False, True, False]
>>> errs = row_errors([check.diagnostic], [np.array([False, True, True])], np.array([True, True, False]))
>>> errs.ids.tolist(), [len(p) for p in errs.patterns]
([0, 1, 0], [0, 1])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from yibaolang import ir
from yibaolang.diagnostics import Diagnostic
from yibaolang.engines.outcome import assertion_failure
from yibaolang.engines.trace import unparse

Mask = Any  # None (no row), a numpy bool array, or a bool scalar (every row): as in engines/vector.py


@attrs.frozen(eq=False)
class Check:
    """A 断言 compiled for the engine (`fn`: frame → Vec of 是否) and the diagnostic of a row that breaks it."""

    assertion: ir.Assertion
    fn: Any
    diagnostic: Diagnostic


def check_for(assertion: ir.Assertion, fn: Any) -> Check:
    return Check(assertion, fn, assertion_failure(assertion, unparse(assertion.condition)))


def broken_rows(data: Any, miss: Mask) -> Mask:
    """The rows where a 断言's condition is false; a row where an input it reads is missing is skipped
    (the interpreter notes it as 跳过, not as an error)."""
    if data is True or (isinstance(data, np.bool_) and data):
        return None
    out = np.logical_not(data)
    if miss is not None:
        out = out & np.logical_not(miss)
    return out


def full(mask: Mask, n: int) -> Any:
    """A mask as a bool array of `n` rows."""
    if mask is None:
        return np.zeros(n, dtype=bool)
    return np.broadcast_to(np.asarray(mask, dtype=bool), (n,))


def joined(masks: Sequence[Mask], sizes: Sequence[int]) -> Mask:
    """The masks of consecutive blocks of rows as one mask."""
    if all(m is None for m in masks):
        return None
    return np.concatenate([full(m, s) for m, s in zip(masks, sizes, strict=True)])


@attrs.define
class RowErrors:
    """Per row the number of its pattern (0: no error the engine finished); per pattern its diagnostics,
    in the interpreter's order (each 断言 once, as `evaluate._unique` keeps them)."""

    ids: Any  # numpy int array, one per row
    patterns: list[tuple[Diagnostic, ...]]  # patterns[0] == ()

    @property
    def rows(self) -> Any:
        """The rows with an error, ascending."""
        return np.flatnonzero(self.ids)


def row_errors(diagnostics: Sequence[Diagnostic], failures: Sequence[Mask], finished: Any) -> RowErrors:
    """Which diagnostics each `finished` row has: `failures[k]` are the rows with `diagnostics[k]`."""
    n = len(finished)
    present = [k for k, m in enumerate(failures) if m is not None and np.any(m)]
    if not present:
        return RowErrors(np.zeros(n, dtype=np.int64), [()])
    stack = np.stack([full(failures[k], n) for k in present], axis=1) & np.asarray(finished, dtype=bool)[:, None]
    if len(present) <= 62:
        codes = stack.astype(np.int64) @ (np.int64(1) << np.arange(len(present), dtype=np.int64))
        values, ids = np.unique(codes, return_inverse=True)
        bits = [[bool((int(v) >> j) & 1) for j in range(len(present))] for v in values.tolist()]
    else:  # more 断言 than bits: the distinct rows of the matrix
        rows_, ids = np.unique(stack, axis=0, return_inverse=True)
        bits = rows_.tolist()
    patterns: list[tuple[Diagnostic, ...]] = []
    for on in bits:
        seen: set[tuple[str, ir.Span, str]] = set()
        chosen = []
        for j, flag in enumerate(on):
            d = diagnostics[present[j]]
            key = (d.code, d.span, d.message)
            if flag and key not in seen:
                seen.add(key)
                chosen.append(d)
        patterns.append(tuple(chosen))
    ids = np.asarray(ids, dtype=np.int64).reshape(n)
    if patterns[0]:  # no row is free of errors: number the patterns from 1
        patterns.insert(0, ())
        ids = ids + 1
    return RowErrors(ids, patterns)


__all__ = ["Check", "RowErrors", "broken_rows", "check_for", "full", "joined", "row_errors"]
