"""Markdown: a heading per output, the figures as nested lists, inputs and results as tables.

Every string that comes from a policy or a case (原文, titles, names, enumeration
values, notes, file names) goes through `escape` or `code`, so that it reads
as text under any CommonMark renderer, raw HTML allowed or not
(docs/reliability.md, "输出中的转义").

>>> escape("<img src=x onerror=alert(1)>")
'\\\\<img src=x onerror=alert(1)\\\\>'
>>> code("a`b")
'`` a`b ``'
"""

from __future__ import annotations

import re

from yibaolang.diagnostics import visible
from yibaolang.engines.trace import ListTrace, TraceNode
from yibaolang.outputs.render import (
    KIND_LABELS,
    Explanation,
    distinct_rows,
    group_title,
    line_columns,
    line_figure,
    node_details,
)
from yibaolang.semantics.values import display

# What could open a tag, an autolink, an entity, a link or image, emphasis, a code span, a table cell
# or an attribute block inside a line.  Escaped text never starts a line (every line it is put on
# begins with our own "- ", "| " or "### "), and its line breaks become <br>, so characters that
# matter only at the start of a line (-, +, =, digits) are left alone and numbers stay readable.
_SPECIAL = re.compile(r"([\\`*_\[\]|<>#&!~{}])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BACKTICKS = re.compile(r"`+")


def escape(text: str) -> str:
    """`text` as literal Markdown inline text; line breaks become <br> so no line can start a new block."""
    escaped = _SPECIAL.sub(r"\\\1", visible(text).replace("\t", " "))
    return _LINE_BREAK.sub("<br>", escaped)


def code(text: str) -> str:
    """`text` as a code span: fenced by more backticks than any run inside it (CommonMark 6.1)."""
    text = visible(_LINE_BREAK.sub(" ", text))
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _node(node: TraceNode, depth: int, seen: set[int], out: list[str], clauses: set[tuple[str, str]]) -> None:
    pad = "  " * depth
    repeated = id(node) in seen and bool(node.children)
    seen.add(id(node))
    head = f"**{escape(node.name)}**"
    if node.display:
        head += f" = **{escape(node.display)}**"
    where = []
    tag = KIND_LABELS.get(node.kind)
    if tag and node.kind in ("input", "parameter", "function", "exception", "assertion"):
        where.append(tag)
    if node.clause is not None:
        where.append(escape(f"条款 {node.clause.id}" + (f" {node.clause.title}" if node.clause.title else "")))
    if node.source is not None and node.kind not in ("band", "cell", "row"):
        where.append(code(f"{node.source.file}:{node.source.line}"))
    if where:
        head += " · " + " · ".join(where)
    if repeated:
        out.append(f"{pad}- {head}（见上）")
        return
    out.append(f"{pad}- {head}")
    inner = "  " * (depth + 1)
    labels = {"expression": "公式：", "formula": "代入："}
    for part, text in node_details(node, clauses):
        if part in labels:
            out.append(f"{inner}- {labels[part]}{code(text)}")
        elif part == "text-again":
            out.append(f"{inner}- 原文：见上（条款 {escape(text)}）")
        elif part == "text":
            out.append(f"{inner}- 原文：「{escape(text)}」")
        else:
            out.append(f"{inner}- {escape(text)}")
    for child in node.children:
        _node(child, depth + 1, seen, out, clauses)


def list_markdown(lt: ListTrace) -> list[str]:
    """A list input's lines as one table per group: fields, amounts, the catalog row (docs/itemized.md §7)."""
    by = f"，按 {escape(lt.group_by)} 分组" if lt.group_by else ""
    out = [f"## {escape(lt.name)}（共 {len(lt.lines)} 行{by}）", ""]
    columns = line_columns(lt)
    fields = [name for name, _, _ in lt.lines[0].fields] if lt.lines else []
    heads = ["行", *fields, *(c.name + (f"（条款 {c.clause}）" if c.clause else "") for c in columns), "目录行"]
    for group, lines in lt.groups():
        if lt.group_by is not None:
            out += [f"### {escape(group_title(lt, group, len(lines)))}", ""]
        out.append("| " + " | ".join(escape(h) for h in heads) + " |")
        out.append("|" + "|".join(["---:"] + ["---"] * len(fields) + ["---:"] * len(columns) + ["---"]) + "|")
        for line in lines:
            cells = [str(line.number)]
            cells += [escape(display(t, v)) for _, t, v in line.fields]
            for column in columns:
                node = line_figure(line, column.figure)
                cells.append(escape(node.display) if node is not None else "—")
            cells.append("<br>".join(escape(use.where) for use in distinct_rows(line)) or "—")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    for text, holds in lt.reconciled:
        out += [f"对账：{code(text)}，{'成立' if holds else '**不成立**'}", ""]
    return out


def render_markdown(exp: Explanation) -> str:
    out = [f"# 计算说明：{escape(exp.title or exp.policy)}", ""]
    out.append(f"- 政策文件：{code(exp.policy)}" + (f"（{escape(exp.doc_number)}）" if exp.doc_number else ""))
    if exp.date is not None:
        source = f"（{escape(exp.date_source)}）" if exp.date_source else ""
        out.append(f"- 计算日期：{exp.date.isoformat()}{source}")
    out.append("")
    if exp.inputs:
        out += ["## 输入", "", "| 输入 | 值 |", "|---|---:|"]
        out += [f"| {escape(name)} | {escape(display(t, v))} |" for name, (t, v) in exp.inputs.items()]
        out.append("")
    if exp.what_if is not None:
        assumed = "；".join(f"{name}：{display(t, b) if b is not None else '未给出'} → {display(t, a)}"
                            for name, t, b, a in exp.what_if.assignments)
        out += ["## 假设变化", "", f"假设：{escape(assumed)}", ""]
        if exp.what_if.changes:
            out += ["| 数额 | 原值 | 假设后 | 变化 |", "|---|---:|---:|---:|"]
            for c in exp.what_if.changes:
                name = c.name + ("（输入）" if c.kind == "input" else "")
                out.append(f"| {escape(name)} | {escape(c.before_display)} | {escape(c.after_display)} | "
                           f"{escape(c.delta_display or '')} |")
        else:
            out.append("没有数额因此改变。")
        out.append("")
    if exp.outputs:
        out += ["## 结果", "", "| 数额 | 值 |", "|---|---:|"]
        out += [f"| {escape(n.name)} | {escape(n.display)} |" for n in exp.outputs]
        out += ["", "## 计算过程", ""]
    seen: set[int] = set()
    clauses: set[tuple[str, str]] = set()
    for node in exp.outputs:
        out += [f"### {escape(node.name)} = {escape(node.display)}", ""]
        lines: list[str] = []
        _node(node, 0, seen, lines, clauses)
        out += lines
        out.append("")
    for lt in exp.lines:
        out += list_markdown(lt)
    if exp.assertions:
        out += ["## 断言", ""]
        lines = []
        for node in exp.assertions:
            _node(node, 0, seen, lines, clauses)
        out += lines
        out.append("")
    if exp.diagnostics:
        out += ["## 问题", ""]
        for d in exp.diagnostics:
            out.append(f"- {code(d.location)} {d.severity.label}[{d.code}]：{escape(d.message)}"
                       + (f"（{escape(d.hint)}）" if d.hint else ""))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
