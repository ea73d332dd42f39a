"""The terminal tree (rich): one branch per figure, details under it.

>>> from yibaolang.trace import TraceNode
>>> from yibaolang.types import MONEY
>>> print(render_node_plain(TraceNode("甲", "figure", MONEY, display="1.00元", formula="1元")))
甲 = 1.00元
  = 1元
"""

from __future__ import annotations

import io

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from yibaolang.render import KIND_LABELS, Explanation, WhatIf
from yibaolang.trace import TraceNode
from yibaolang.values import display


def _console(color: bool, width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system="standard" if color else None,
                      force_terminal=color, no_color=not color, highlight=False, emoji=False,
                      legacy_windows=False, soft_wrap=False)
    return console, buffer


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


class _Lines:
    """A label being assembled: styled lines folded to the width left beside the tree guides."""

    def __init__(self, width: int) -> None:
        self.text = Text(no_wrap=True, overflow="crop")
        self.width = width
        self.first = True

    def line(self, content: str, style: str = "", indent: str = "    ") -> None:
        for i, piece in enumerate(fold(content, self.width, indent)):
            if not (self.first and i == 0):
                self.text.append("\n")
            self.text.append(piece, style=style)
        self.first = False


def _label(node: TraceNode, repeated: bool, width: int, clauses: set[tuple[str, str]]) -> Text:
    out = _Lines(width)
    head = Text()
    head.append(node.name, style="bold")
    if node.display:
        head.append(" = ")
        head.append(node.display, style="bold cyan")
    cite = _citation(node)
    if repeated:
        cite += "（见上）"
    if cite and cell_len(head.plain + "  " + cite) <= width:
        head.append("  " + cite, style="dim")
        cite = ""
    out.text.append_text(head)
    out.first = False
    if cite:
        out.line("  " + cite, "dim")
    if repeated:
        return out.text
    if node.expression and node.expression != node.formula:
        out.line("  = " + node.expression)
    if node.formula:
        out.line("  = " + node.formula, "green")
    if node.clause is not None and node.clause.text:
        key = (node.clause.id, node.clause.text)
        if key in clauses:
            out.line(f"  原文：见上（条款 {node.clause.id}）", "italic dim")
        else:
            clauses.add(key)
            out.line(f"  原文：「{node.clause.text}」", "italic dim")
    for note in node.notes:
        out.line(f"  · {note}", "yellow" if note.startswith("不适用") else "dim")
    return out.text


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


class _State:
    def __init__(self, width: int) -> None:
        self.width = width
        self.seen: set[int] = set()
        self.clauses: set[tuple[str, str]] = set()


def _tree(node: TraceNode, state: _State, tree: Tree | None = None, depth: int = 0) -> Tree:
    repeated = id(node) in state.seen and bool(node.children)
    state.seen.add(id(node))
    label = _label(node, repeated, state.width - 4 * depth - 1, state.clauses)
    branch = Tree(label, guide_style="dim") if tree is None else tree.add(label)
    if not repeated:
        for child in node.children:
            _tree(child, state, branch, depth + 1)
    return branch


def _header(exp: Explanation, width: int) -> Text:
    out = _Lines(width)
    title = exp.title or exp.policy
    out.line(f"计算说明：{title}" + (f"（{exp.doc_number}）" if exp.doc_number else ""), "bold")
    out.line(f"政策文件：{exp.policy}")
    if exp.date is not None:
        out.line(f"计算日期：{exp.date.isoformat()}" + (f"（{exp.date_source}）" if exp.date_source else ""))
    if exp.inputs:
        shown = "；".join(f"{name} = {display(t, v)}" for name, (t, v) in exp.inputs.items())
        out.line(f"输入：{shown}")
    return out.text


def what_if_table(what_if: WhatIf) -> Table:
    table = Table(title="假设变化", title_justify="left", show_lines=False, header_style="bold")
    table.add_column("数额")
    table.add_column("原值", justify="right")
    table.add_column("假设后", justify="right")
    table.add_column("变化", justify="right")
    for change in what_if.changes:
        name = change.name + ("（输入）" if change.kind == "input" else "")
        table.add_row(name, change.before_display, change.after_display, change.delta_display or "")
    return table


def render_text(exp: Explanation, color: bool = False, width: int = 100) -> str:
    console, buffer = _console(color, width)
    console.print(_header(exp, width))
    if exp.what_if is not None:
        console.print()
        assumed = "；".join(f"{name}：{display(t, b) if b is not None else '未给出'} → {display(t, a)}"
                            for name, t, b, a in exp.what_if.assignments)
        console.print(Text(f"假设：{assumed}", style="bold"))
        if exp.what_if.changes:
            console.print(what_if_table(exp.what_if))
        else:
            console.print("没有数额因此改变")
    state = _State(width)
    for node in exp.outputs:
        console.print()
        console.print(_tree(node, state))
    if exp.assertions:
        console.print()
        console.print(Text("断言", style="bold"))
        for node in exp.assertions:
            console.print(_tree(node, state))
    return buffer.getvalue().rstrip("\n") + "\n"


def render_node_plain(node: TraceNode, width: int = 100) -> str:
    """One node's tree without colour (for `yibaolang test` failures)."""
    console, buffer = _console(False, width)
    console.print(_tree(node, _State(width)))
    return buffer.getvalue().rstrip("\n")
