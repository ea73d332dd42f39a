"""A self-contained HTML page to print or attach to a letter: inline CSS, no network resources."""

from __future__ import annotations

from html import escape

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

CSS = """
:root { color-scheme: light; }
body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", SimSun, serif;
       color: #111; max-width: 52rem; margin: 2rem auto; padding: 0 1.5rem; line-height: 1.6; }
h1 { font-size: 1.5rem; border-bottom: 2px solid #333; padding-bottom: .3rem; }
h2 { font-size: 1.15rem; margin-top: 1.8rem; border-bottom: 1px solid #bbb; }
h3 { font-size: 1.05rem; margin-bottom: .3rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #999; padding: .2rem .7rem; }
th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 1.3rem; border-left: 1px solid #ccc; }
ul.tree { padding-left: .4rem; border-left: none; }
ul.tree li { margin: .35rem 0; }
.fig .name { font-weight: bold; }
.fig .value { font-weight: bold; color: #0b4f8a; }
.cite { color: #555; font-size: .9em; }
.formula { font-family: "Noto Sans Mono CJK SC", monospace; font-size: .92em; color: #234; }
.text { color: #444; font-style: italic; font-size: .92em; }
.note { color: #555; font-size: .92em; }
.note.na { color: #8a5a00; }
.meta { color: #333; }
.problem { color: #a00; }
.incomplete { border: 2px solid #a00; color: #700; padding: .4rem .8rem; margin: .8rem 0; }
figure.chart { margin: .5rem 0; }
figure.chart svg { max-width: 100%; height: auto; }
footer { margin-top: 2.5rem; font-size: .8em; color: #777; border-top: 1px solid #ccc; padding-top: .4rem; }
@media print { body { margin: 0; max-width: none; } h2, h3 { break-after: avoid; }
  .fig, .formula, .note, figure.chart, tr { break-inside: avoid; } }
"""


def _node(node: TraceNode, seen: set[int], out: list[str], clauses: set[tuple[str, str]],
          charts: dict[str, str] | None = None) -> None:
    repeated = id(node) in seen and bool(node.children)
    seen.add(id(node))
    out.append("<li>")
    head = f'<span class="name">{escape(node.name)}</span>'
    if node.display:
        head += f' = <span class="value">{escape(node.display)}</span>'
    where = []
    tag = KIND_LABELS.get(node.kind)
    if tag and node.kind in ("input", "parameter", "function", "exception", "assertion"):
        where.append(tag)
    if node.clause is not None:
        where.append(f"条款 {node.clause.id}" + (f" {node.clause.title}" if node.clause.title else ""))
    if node.source is not None and node.kind not in ("band", "cell", "row"):
        where.append(f"{node.source.file}:{node.source.line}")
    if where:
        head += f' <span class="cite">〔{escape(" · ".join(where))}〕</span>'
    if repeated:
        head += ' <span class="cite">（见上）</span>'
    out.append(f'<div class="fig">{head}</div>')
    if not repeated:
        for part, text in node_details(node, clauses):
            if part in ("expression", "formula"):
                out.append(f'<div class="formula">= {escape(text)}</div>')
            elif part == "text-again":
                out.append(f'<div class="text">原文：见上（条款 {escape(text)}）</div>')
            elif part == "text":
                out.append(f'<div class="text">原文：「{escape(text)}」</div>')
            else:
                css = "note na" if part == "na" else "note"
                out.append(f'<div class="{css}">· {escape(text)}</div>')
        chart = charts.pop(node.name, None) if charts and node.kind == "figure" else None
        if chart is not None:
            out.append(f'<figure class="chart">{chart}</figure>')
        if node.children:
            out.append("<ul>")
            for child in node.children:
                _node(child, seen, out, clauses, charts)
            out.append("</ul>")
    out.append("</li>")


def _charts(exp: Explanation) -> dict[str, str]:
    """The SVG of each chart handed over with the explanation (drawn here, computed before rendering)."""
    from yibaolang.outputs.plot import svg

    return {name: svg(chart, width=720, height=360) for name, chart in exp.charts.items()}


def list_html(lt: ListTrace) -> list[str]:
    """A list input's lines as one table per group (docs/itemized.md §7)."""
    by = f"，按 {escape(lt.group_by)} 分组" if lt.group_by else ""
    out = [f"<h2>{escape(lt.name)}（共 {len(lt.lines)} 行{by}）</h2>"]
    columns = line_columns(lt)
    fields = [name for name, _, _ in lt.lines[0].fields] if lt.lines else []
    heads = ["行", *fields, *(c.name + (f"（条款 {c.clause}）" if c.clause else "") for c in columns), "目录行"]
    for group, lines in lt.groups():
        if lt.group_by is not None:
            out.append(f"<h3>{escape(group_title(lt, group, len(lines)))}</h3>")
        out += ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in heads) + "</tr>"]
        for line in lines:
            cells = [f'<td class="num">{line.number}</td>']
            cells += [f"<td>{escape(display(t, v))}</td>" for _, t, v in line.fields]
            for column in columns:
                node = line_figure(line, column.figure)
                cells.append(f'<td class="num">{escape(node.display) if node is not None else "—"}</td>')
            rows = "<br>".join(escape(use.where) for use in distinct_rows(line)) or "—"
            cells.append(f'<td class="cite">{rows}</td>')
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</table>")
    for text, holds in lt.reconciled:
        out.append(f'<p class="{"meta" if holds else "problem"}">对账：{escape(text)}，{"成立" if holds else "不成立"}</p>')
    return out


def render_html(exp: Explanation) -> str:
    title = exp.title or exp.policy
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>计算说明：{escape(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>计算说明：{escape(title)}</h1>",
        '<p class="meta">',
        f"政策文件：{escape(exp.policy)}" + (f"（{escape(exp.doc_number)}）" if exp.doc_number else ""),
    ]
    if exp.date is not None:
        source = f"（{escape(exp.date_source)}）" if exp.date_source else ""
        out.append(f"<br>计算日期：{exp.date.isoformat()}{source}")
    out.append("</p>")
    errors = [d for d in exp.diagnostics if d.is_error]
    if errors:  # said first: the figures below are not all there (the details stay under 问题)
        out.append('<div class="incomplete"><strong>计算有错误，下面的结果不完整：</strong><ul>')
        out += [f"<li>{escape(d.message)}</li>" for d in errors]
        out.append("</ul></div>")
    if exp.inputs:
        out += ["<h2>输入</h2>", "<table>", "<tr><th>输入</th><th>值</th></tr>"]
        for name, (t, v) in exp.inputs.items():
            out.append(f'<tr><td>{escape(name)}</td><td class="num">{escape(display(t, v))}</td></tr>')
        out.append("</table>")
    if exp.what_if is not None:
        assumed = "；".join(f"{name}：{display(t, b) if b is not None else '未给出'} → {display(t, a)}"
                            for name, t, b, a in exp.what_if.assignments)
        out += ["<h2>假设变化</h2>", f"<p>假设：{escape(assumed)}</p>"]
        if exp.what_if.changes:
            out += ["<table>", "<tr><th>数额</th><th>原值</th><th>假设后</th><th>变化</th></tr>"]
            for c in exp.what_if.changes:
                name = c.name + ("（输入）" if c.kind == "input" else "")
                out.append(f'<tr><td>{escape(name)}</td><td class="num">{escape(c.before_display)}</td>'
                           f'<td class="num">{escape(c.after_display)}</td>'
                           f'<td class="num">{escape(c.delta_display or "")}</td></tr>')
            out.append("</table>")
        else:
            out.append("<p>没有数额因此改变。</p>")
    if exp.outputs or exp.failed:
        out += ["<h2>结果</h2>", "<table>", "<tr><th>数额</th><th>值</th></tr>"]
        for node in exp.outputs:
            out.append(f'<tr><td>{escape(node.name)}</td><td class="num">{escape(node.display)}</td></tr>')
        shown = {node.name for node in exp.outputs}
        out += [f'<tr><td>{escape(name)}</td><td class="num problem">未算出</td></tr>'
                for name in exp.failed if name not in shown]
        out += ["</table>", "<h2>计算过程</h2>"]
    seen: set[int] = set()
    clauses: set[tuple[str, str]] = set()
    charts = _charts(exp)
    for node in exp.outputs:
        out.append(f"<h3>{escape(node.name)} = {escape(node.display)}</h3>")
        out.append('<ul class="tree">')
        _node(node, seen, out, clauses, charts)
        out.append("</ul>")
    for lt in exp.lines:
        out += list_html(lt)
    if exp.assertions:
        out += ["<h2>断言</h2>", '<ul class="tree">']
        for node in exp.assertions:
            _node(node, seen, out, clauses)
        out.append("</ul>")
    if exp.diagnostics:
        out += ["<h2>问题</h2>", "<ul>"]
        for d in exp.diagnostics:
            hint = f"（{escape(d.hint)}）" if d.hint else ""
            out.append(f'<li class="problem">{escape(d.location)} {d.severity.label}[{d.code}]：'
                       f"{escape(d.message)}{hint}</li>")
        out.append("</ul>")
    out += ["<footer>由 易保语 yibaolang 生成；每个数额均注明所依据的条款与原文。</footer>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
