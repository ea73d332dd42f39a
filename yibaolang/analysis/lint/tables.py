"""Tables and cases: completeness, duplicates, rows that could be merged, a key that does not matter."""

from __future__ import annotations

from collections.abc import Iterator

from yibaolang import ir
from yibaolang.analysis.lint.context import LintContext, walk_at
from yibaolang.diagnostics import Diagnostic, Severity, error, warning
from yibaolang.ir.printer import expr_text
from yibaolang.ir.types import Kind, Type


def check(ctx: LintContext) -> Iterator[Diagnostic]:
    for definition in ctx.module.definitions:
        for node, level in walk_at(definition.expr, definition.scope):
            if isinstance(node, ir.Table):
                yield from _table(ctx, node, definition.clause, level)
            elif isinstance(node, ir.Cases):
                yield from _cases(ctx, node, definition.clause, level)


def _enum_values(ctx: LintContext, expr: ir.Expr, within: str | None = None) -> tuple[str, ...] | None:
    """The options of a 选项-typed key, typed at the level it is read at (semantics/levels.py)."""
    from yibaolang.checks.typecheck import Checker, Context

    checker = Checker(ctx.program)
    t: Type = checker.infer(Context(ctx.scope, within=within), expr)
    if t.kind is Kind.ENUM and t.enum is not None:
        return t.enum.values
    return None


def _table(ctx: LintContext, node: ir.Table, clause: str | None, within: str | None = None) -> Iterator[Diagnostic]:
    row_values = _enum_values(ctx, node.keys[0], within)
    keys = [row.key for row in node.rows]
    for i, row in enumerate(node.rows):
        if row.key in keys[:i]:
            yield error("YB521", row.span, f"查表 的行“{row.key}”重复", "每个取值只写一行", clause=clause)
    if len(node.keys) == 2:
        for i, column in enumerate(node.columns):
            if column in node.columns[:i]:
                yield error("YB521", node.column_spans[i], f"查表 的列“{column}”重复", "每个取值只写一列",
                            clause=clause)
        column_values = _enum_values(ctx, node.keys[1], within)
        if column_values is not None:
            missing = [v for v in column_values if v not in node.columns]
            if missing:
                yield error("YB520", node.span, f"查表 缺少列：{'、'.join(missing)}",
                            f"{expr_text(node.keys[1])} 的每个选项都要有一列", clause=clause)
    if row_values is not None:
        missing = [v for v in row_values if v not in keys]
        if missing:
            yield error("YB520", node.span, f"查表 缺少行：{'、'.join(missing)}",
                        f"{expr_text(node.keys[0])} 的每个选项都要有一行", clause=clause)
    texts = [tuple(expr_text(c) for c in row.cells) for row in node.rows]
    if len(node.rows) > 1 and len(set(texts)) == 1:
        yield warning("YB523", node.span, f"查表 的各行完全相同：{expr_text(node.keys[0])} 不影响结果",
                      "去掉这个键，只按另一个键查表", clause=clause)
    elif len(node.keys) == 2 and node.columns and len(node.columns) > 1 and all(len(set(t)) == 1 for t in texts):
        yield warning("YB523", node.span, f"查表 每一行各列都相同：{expr_text(node.keys[1])} 不影响结果",
                      "去掉这个键，改为单键查表", clause=clause)
    else:
        seen: dict[tuple[str, ...], ir.TableRow] = {}
        for row, text in zip(node.rows, texts, strict=False):
            # Keys listed on one row (基层, 一级 : 0元) share their value on purpose.
            if text in seen and seen[text].span != row.span:
                yield Diagnostic("YB522", Severity.INFO, row.span,
                                 f"查表 的行“{row.key}”与“{seen[text].key}”取值完全相同",
                                 "若两者本应不同，请核对原文", clause=clause)
            seen.setdefault(text, row)


def _cases(ctx: LintContext, node: ir.Cases, clause: str | None, within: str | None = None) -> Iterator[Diagnostic]:
    values = _enum_values(ctx, node.subject, within)
    listed: list[str] = []
    for row in node.rows:
        for value in row.values:
            if value in listed:
                yield error("YB521", row.span, f"分情况 的“{value}”出现了两次", "每个取值只写一次", clause=clause)
            listed.append(value)
    if values is not None and node.otherwise is None:
        missing = [v for v in values if v not in listed]
        if missing:
            yield error("YB520", node.span, f"分情况 没有列出：{'、'.join(missing)}，也没有 其余 行",
                        "补上这些取值，或加一行 其余 : 值", clause=clause)
    results: dict[str, ir.CaseRow] = {}
    for row in node.rows:
        text = expr_text(row.result)
        if text in results:
            first = results[text]
            merged = ", ".join([*first.values, *row.values])
            yield Diagnostic("YB522", Severity.INFO, row.span, f"分情况 的这一行与“{'、'.join(first.values)}”结果相同",
                             f"可以合并为一行：{merged} : {text}", clause=clause)
        results.setdefault(text, row)
    all_results = {expr_text(r.result) for r in node.rows}
    if node.otherwise is not None:
        all_results.add(expr_text(node.otherwise))
    if len(node.rows) > 1 and len(all_results) == 1:
        yield warning("YB523", node.span, f"分情况 每一行的结果都相同：{expr_text(node.subject)} 不影响结果",
                      "直接写这个结果即可", clause=clause)
