"""The terminal tree: one branch per figure, details under it.

The layout (guides, folding of long CJK lines, the what-if table) is computed
here once, as lines of styled segments; plain output joins the text (no
`rich` import, so a piped `explain` starts fast), and a terminal gets the same
lines coloured through `rich`.

>>> from yibaolang.engines.trace import TraceNode
>>> from yibaolang.ir.types import MONEY
>>> print(render_node_plain(TraceNode("甲", "figure", MONEY, display="1.00元", formula="1元")))
甲 = 1.00元
  = 1元
"""

from __future__ import annotations

import unicodedata

from yibaolang.diagnostics import visible
from yibaolang.engines.trace import ListTrace, TraceNode
from yibaolang.outputs.render import (
    KIND_LABELS,
    Explanation,
    WhatIf,
    distinct_rows,
    group_title,
    line_columns,
    line_fields,
    line_figure,
)
from yibaolang.semantics.values import display

Segment = tuple[str, str]  # text, rich style
Line = list[Segment]


def cell_len(text: str) -> int:
    """Terminal cells: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def fold(line: str, width: int, indent: str = "    ") -> list[str]:
    """Break a line into pieces at most `width` cells wide (CJK text has no spaces to break at).

    >>> fold("一二三四五六七八", 12, "")
    ['一二三四五六', '七八']
    """
    width = max(width, 12)
    pieces: list[str] = []
    current, used = "", 0
    for ch in line:
        w = cell_len(ch)
        if used + w > width and current.strip():
            pieces.append(current)
            current, used = indent, cell_len(indent)
        current += ch
        used += w
    pieces.append(current)
    return pieces


class _Label:
    """A node's lines, folded to the width left beside the tree guides."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[Line] = []

    def add(self, content: str, style: str = "", indent: str = "    ") -> None:
        # Text from the policy or case (原文, titles, names, file names) is shown, never obeyed by the terminal.
        for piece in fold(visible(content), self.width, indent):
            self.lines.append([(piece, style)])


def _citation(node: TraceNode) -> str:
    where = []
    tag = KIND_LABELS.get(node.kind)
    if tag and node.kind in ("input", "parameter", "function", "exception", "assertion"):
        where.append(tag)
    if node.clause is not None:
        where.append(f"条款 {node.clause.id}" + (f" {node.clause.title}" if node.clause.title else ""))
    if node.source is not None and node.kind not in ("band", "cell", "row"):
        where.append(f"{node.source.file}:{node.source.line}")
    return "〔" + " · ".join(where) + "〕" if where else ""


def _label(node: TraceNode, repeated: bool, width: int, clauses: set[tuple[str, str]]) -> list[Line]:
    out = _Label(width)
    head: Line = [(node.name, "bold")]
    if node.display:
        head += [(" = ", ""), (node.display, "bold cyan")]
    cite = _citation(node) + ("（见上）" if repeated else "")
    head_text = "".join(text for text, _ in head)
    if cite and cell_len(f"{head_text}  {cite}") <= width:
        head.append(("  " + cite, "dim"))
        cite = ""
    if cell_len(head_text) <= width:
        out.lines.append(head)
    else:
        out.add(head_text, "bold")
    if cite:
        out.add("  " + cite, "dim")
    if repeated:
        return out.lines
    if node.expression and node.expression != node.formula:
        out.add("  = " + node.expression)
    if node.formula:
        out.add("  = " + node.formula, "green")
    if node.clause is not None and node.clause.text:
        key = (node.clause.id, node.clause.text)
        if key in clauses:
            out.add(f"  原文：见上（条款 {node.clause.id}）", "italic dim")
        else:
            clauses.add(key)
            out.add(f"  原文：「{node.clause.text}」", "italic dim")
    for note in node.notes:
        out.add(f"  · {note}", "yellow" if note.startswith("不适用") else "dim")
    return out.lines


class _Tree:
    def __init__(self, width: int) -> None:
        self.width = width
        self.seen: set[int] = set()
        self.clauses: set[tuple[str, str]] = set()

    def lines(self, node: TraceNode, prefix: str = "", branch: str = "", rest: str = "") -> list[Line]:
        """`branch` leads the node's first line, `rest` its other lines; children extend `prefix`."""
        repeated = id(node) in self.seen and bool(node.children)
        self.seen.add(id(node))
        label = _label(node, repeated, self.width - cell_len(prefix + branch) - 1, self.clauses)
        out: list[Line] = []
        for i, line in enumerate(label):
            guide = prefix + (branch if i == 0 else rest)
            out.append([(guide, "dim"), *line] if guide else line)
        if repeated:
            return out
        children = node.children
        for i, child in enumerate(children):
            last = i == len(children) - 1
            out += self.lines(child, prefix + rest, "└── " if last else "├── ", "    " if last else "│   ")
        return out


def _header(exp: Explanation, width: int) -> list[Line]:
    out = _Label(width)
    title = exp.title or exp.policy
    # The policy's name and 文号 as written, on one line: folding would break a 文号 in two.
    out.lines.append([(visible(f"计算说明：{title}" + (f"（{exp.doc_number}）" if exp.doc_number else "")), "bold")])
    out.add(f"政策文件：{exp.policy}")
    if exp.date is not None:
        out.add(f"计算日期：{exp.date.isoformat()}" + (f"（{exp.date_source}）" if exp.date_source else ""))
    if exp.inputs:
        shown = "；".join(f"{name} = {display(t, v)}" for name, (t, v) in exp.inputs.items())
        out.add(f"输入：{shown}")
    return out.lines


def what_if_table(what_if: WhatIf) -> list[Line]:
    """The figures that change, side by side, in a box-drawn table."""
    head = ["数额", "原值", "假设后", "变化"]
    rows = [[visible(c.name) + ("（输入）" if c.kind == "input" else ""), visible(c.before_display),
             visible(c.after_display), c.delta_display or ""] for c in what_if.changes]
    widths = [max(cell_len(r[i]) for r in [head, *rows]) for i in range(4)]

    def cells(row: list[str], style: str) -> Line:
        line: Line = [("│", "dim")]
        for i, text in enumerate(row):
            pad = " " * (widths[i] - cell_len(text))
            line += [(" ", ""), (text + pad if i == 0 else pad + text, style), (" │", "dim")]
        return line

    def rule(left: str, middle: str, right: str, fill: str) -> Line:
        return [(left + middle.join(fill * (w + 2) for w in widths) + right, "dim")]

    out: list[Line] = [[("假设变化", "bold")], rule("┌", "┬", "┐", "─"), cells(head, "bold"), rule("├", "┼", "┤", "─")]
    out += [cells(row, "") for row in rows]
    out.append(rule("└", "┴", "┘", "─"))
    return out


def explanation_lines(exp: Explanation, width: int) -> list[Line]:
    out = _header(exp, width)
    if exp.what_if is not None:
        assumed = "；".join(f"{name}：{display(t, b) if b is not None else '未给出'} → {display(t, a)}"
                            for name, t, b, a in exp.what_if.assignments)
        out.append([])
        label = _Label(width)
        label.add(f"假设：{assumed}", "bold")
        out += label.lines
        out += what_if_table(exp.what_if) if exp.what_if.changes else [[("没有数额因此改变", "")]]
    tree = _Tree(width)
    for node in exp.outputs:
        out.append([])
        out += tree.lines(node)
    for lt in exp.lines:
        out.append([])
        out += list_lines(lt, width)
    if exp.assertions:
        out += [[], [("断言", "bold")]]
        for node in exp.assertions:
            out += tree.lines(node)
    return out


def list_lines(lt: ListTrace, width: int) -> list[Line]:
    """The lines of a list input, by group: fields, the catalog rows read, the amounts (docs/itemized.md §7)."""
    out = _Label(width)
    by = f"，按 {lt.group_by} 分组" if lt.group_by else ""
    out.lines.append([(visible(f"{lt.name}（共 {len(lt.lines)} 行{by}）"), "bold")])
    columns = line_columns(lt)
    for group, lines in lt.groups():
        if lt.group_by is not None:
            out.add(f"  {group_title(lt, group, len(lines))}", "bold")
        for line in lines:
            out.add(f"    第 {line.number} 行：{line_fields(line)}", "", "        ")
            for use in distinct_rows(line):
                out.add(f"      目录：{use.where}", "dim", "        ")
            for column in columns:
                node = line_figure(line, column.figure)
                if node is None:
                    continue
                formula = f" = {node.formula}" if node.formula and node.formula != node.display else ""
                cite = f"（条款 {column.clause}）" if column.clause else ""
                out.add(f"      {column.name} = {node.display}{formula}{cite}", "", "        ")
    for text, holds in lt.reconciled:
        out.add(f"  对账：{text}，{'成立' if holds else '不成立'}", "bold" if holds else "bold red")
    return out.lines


def plain(lines: list[Line]) -> str:
    return "".join("".join(text for text, _ in line).rstrip() + "\n" for line in lines)


def render_text(exp: Explanation, color: bool = False, width: int = 100) -> str:
    lines = explanation_lines(exp, width)
    if not color:
        return plain(lines)
    import io

    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=True, highlight=False, emoji=False, soft_wrap=True)
    for line in lines:
        text = Text(no_wrap=True)
        for segment, style in line:
            text.append(segment, style=style or None)
        console.print(text)
    return buffer.getvalue()


def render_node_plain(node: TraceNode, width: int = 100) -> str:
    """One node's tree without colour (for `yibaolang test` failures)."""
    return plain(_Tree(width).lines(node)).rstrip("\n")
