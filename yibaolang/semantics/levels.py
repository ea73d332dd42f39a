"""The levels a policy speaks at — the line, the claim, the fund — decided once (docs/itemized.md).

A figure's level is written as its qualifier: `明细.明细金额` is a figure of each
line of the list input 明细, `全体.赔付率` one of the whole run, a bare name one
of the claim.  Symbols of the line and fund levels are stored under their
qualified name ("明细.明细金额"), so a level is read off the symbol's name.

>>> level_of("明细.明细金额"), level_of("全体.赔付率"), level_of("统筹支付")
('明细', '全体', None)
>>> qualified("明细", "单价")
'明细.单价'
"""

from __future__ import annotations

from yibaolang import ir
from yibaolang.ir.walk import children, walk

FUND = ir.FUND


def qualified(level: str | None, name: str) -> str:
    """The symbol name of `name` at `level` (None: the claim level)."""
    return f"{level}.{name}" if level else name


def level_of(symbol_name: str) -> str | None:
    """The level of a symbol by its stored name: a list name, 全体, or None for the claim."""
    head, dot, _ = symbol_name.partition(".")
    return head if dot else None


def local_name(symbol_name: str) -> str:
    """The name without its level: 明细.明细金额 → 明细金额."""
    return symbol_name.partition(".")[2] or symbol_name


def is_fund_level(expr: ir.Expr) -> bool:
    """Whether an 断言/约束 speaks of the fund: it reads a 全体. figure or sums over 全体.

    Such a condition is checked once per batch run, never per claim (docs/itemized.md §4).
    """
    for node in walk(expr):
        if isinstance(node, ir.Name) and node.qualifier == FUND:
            return True
        if isinstance(node, ir.Aggregate) and node.over == FUND:
            return True
    return False


def inner_level(agg: ir.Aggregate) -> str | None:
    """The level the item and the 其中 filter of an aggregation are read at.

    求和(明细.x 其中 …) reads each line of 明细; 求和(全体.x 其中 …) reads each claim.
    """
    return None if agg.over == FUND else agg.over


def item_name(agg: ir.Aggregate) -> ir.Name | None:
    """The figure an aggregation reads on each line (or claim), as a name at the inner level."""
    if agg.item is None:
        return None
    return ir.Name(agg.item, None, agg.item_span)


def scoped_names(expr: ir.Expr, within: str | None = None) -> list[tuple[ir.Name, str | None]]:
    """Every name `expr` reads, each with the level it is read at.

    Inside 求和(明细.x 其中 条件) the item and the filter are read per line of
    明细; everything else at `within`.  Every pass that resolves the names of an
    expression (type checking, dependencies, the engines) goes through here.
    """
    out: list[tuple[ir.Name, str | None]] = []
    stack: list[tuple[ir.Expr, str | None]] = [(expr, within)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, ir.Name):
            out.append((node, level))
            continue
        if isinstance(node, ir.Aggregate):
            inner = inner_level(node)
            item = item_name(node)
            if item is not None:
                out.append((item, inner))
            if node.where is not None:
                stack.append((node.where, inner))
            continue
        stack.extend((child, level) for child in reversed(tuple(children(node))))
    return out
