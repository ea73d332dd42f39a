"""`yibaolang compare OLD NEW --cases FILE`: what a revision of a policy changes over a population.

Both versions are evaluated on every row of the case file by the batch engine
(`yibaolang.tools.batch.Runner`, so each value is the interpreter's).  For each
output the two policies share: the totals and their difference, the same by
every enumeration input of the file (医院等级, 人员状态, …), how many rows gain,
lose or stay, the rows that change most — each with the interpreter's
explanation under both versions — and the distribution of per-row differences.
Money and durations are compared exactly (integers of 分 / whole units);
other outputs are compared as values (changed or not).

Honest accounting (docs/batch.md, "出错的行与合计"): the totals cover only the rows
both versions computed; the report says, for each output, how many rows were
compared and how many failed in the old version only, the new one only or both,
and groups each version's failures by diagnostic code and place (条款, input
column) with a count and an example row (tools/accounting.py).  `--max-error-rate`
stops the comparison early (TooManyErrors, nothing is written).

Renderings: text, JSON (`yibaolang.compare/1`) and a self-contained HTML page
(inline CSS and an inline SVG chart; no network resources).
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs

from yibaolang.ir.types import DURATIONS, Kind, Type
from yibaolang.semantics.values import display, display_delta
from yibaolang.tools.accounting import (
    NOTE,
    ErrorBound,
    Tally,
    TooManyErrors,
    html_table,
    json_groups,
    resliced,
    text_lines,
)

SCHEMA = "yibaolang.compare/1"
HISTOGRAM_BINS = 24


@attrs.define
class Group:
    label: str
    rows: int = 0
    old: int = 0
    new: int = 0


@attrs.define
class Change:
    row: int  # 1-based row of the case file
    old: Any
    new: Any
    delta: int
    inputs: dict[str, Any]
    old_explanation: str = ""
    new_explanation: str = ""


@attrs.define
class OutputReport:
    name: str
    type: Type
    numeric: bool
    old_total: int = 0  # in 分 (money) or whole units (durations)
    new_total: int = 0
    gain: int = 0
    lose: int = 0
    same: int = 0
    failed: int = 0  # rows where either version has an error
    compared: int = 0  # rows both versions computed: the only rows in the totals
    failed_old_only: int = 0
    failed_new_only: int = 0
    failed_both: int = 0
    groups: dict[str, dict[str, Group]] = attrs.Factory(dict)  # input → label → Group
    largest: list[Change] = attrs.Factory(list)
    deltas: list[Any] = attrs.Factory(list)  # numpy arrays of the non-zero differences

    def unit(self, value: int) -> Any:
        """An integer total in this output's unit as its value (Decimal 元 for money)."""
        if self.type.kind is Kind.MONEY:
            return Decimal(value).scaleb(-2)
        return value


@attrs.define
class Report:
    old: str
    new: str
    cases: str
    rows: int
    outputs: list[OutputReport]
    enum_inputs: list[str]
    histograms: dict[str, list[tuple[float, float, int]]] = attrs.Factory(dict)
    old_failures: Tally = attrs.Factory(Tally)
    new_failures: Tally = attrs.Factory(Tally)
    failed_rows: int = 0  # rows where at least one version has an error


def _numeric(type_: Type) -> bool:
    return type_.kind is Kind.MONEY or type_.kind in DURATIONS


def compare_policies(old: Any, new: Any, cases: str, outputs: Sequence[str] | None = None, *,
                     date: dt.date | None = None, top: int = 5, chunk_size: int = 262_144,
                     query: str | None = None, encoding: str | None = None,
                     max_error_rate: ErrorBound | None = None) -> Report:
    import numpy as np
    import pyarrow as pa

    from yibaolang.engines.cases import declared_inputs
    from yibaolang.engines.evaluate import evaluator_for
    from yibaolang.tools.batch import BatchError, Runner, open_reader

    if outputs is None:
        old_names = set(evaluator_for(old, False).default_outputs())
        outputs = [n for n in evaluator_for(new, False).default_outputs() if n in old_names]
        if not outputs:
            raise BatchError("两份政策没有同名的 输出，请用 --output 指定要比较的数额")
    old_runner = Runner(old, outputs, date=date)
    new_runner = Runner(new, outputs, date=date)
    reports = [OutputReport(name, t, _numeric(t)) for name, t in zip(new_runner.outputs, new_runner.types, strict=False)]
    for report, t in zip(reports, old_runner.types, strict=False):
        if t.kind is not report.type.kind:
            raise BatchError(f"两份政策的 {report.name} 类型不同（{t.name} 与 {report.type.name}），无法比较")
    inputs = {**declared_inputs(old), **declared_inputs(new)}
    kinds = {name: "money" if info.type.kind is Kind.MONEY else "bool"  # docs/batch.md 数据源
             for name, info in inputs.items() if info.type.kind in (Kind.MONEY, Kind.BOOL)}
    reader = open_reader(cases, chunk_size, query=query, encoding=encoding, kinds=kinds)
    offset = 0
    enum_inputs: list[str] = []
    candidates: list[list[tuple[int, int, int, int, dict[str, Any]]]] = [[] for _ in reports]
    old_tally, new_tally = Tally(), Tally()
    failed_rows = 0
    # With --max-error-rate the first rows come in growing slices, so a bad file stops after 1,000 rows.
    tables = (t for t, _ in resliced(reader.chunks())) if max_error_rate is not None else reader.chunks()
    for table in tables:
        n = table.num_rows
        problems = {i - offset: t for i, t in reader.problems.items() if offset <= i < offset + n}
        a = old_runner.evaluate(table, problems=problems, unreadable=problems.keys())
        b = new_runner.evaluate(table, problems=problems, unreadable=problems.keys())
        old_tally.add(offset, n, a.failures)
        new_tally.add(offset, n, b.failures)
        failed_rows += int((a.error_rows | b.error_rows).sum())
        if max_error_rate is not None and max_error_rate.exceeded(offset + n, failed_rows):
            raise TooManyErrors(max_error_rate, offset + n, failed_rows,
                                [("旧版本", old_tally), ("新版本", new_tally)], "至少在一个版本中")
        if not enum_inputs:
            enum_inputs = [name for name in table.column_names
                           if name in inputs and inputs[name].type.kind is Kind.ENUM]
        labels = {name: _labels(table[name]) for name in enum_inputs if name in table.column_names}
        failed = a.error_rows | b.error_rows
        for k, report in enumerate(reports):
            old_col, new_col = a.columns[report.name], b.columns[report.name]
            if report.numeric:
                old_v, old_ok = _integers(old_col, report.type)
                new_v, new_ok = _integers(new_col, report.type)
                ok = old_ok & new_ok & ~failed
                _count_failures(report, a.error_rows | ~old_ok, b.error_rows | ~new_ok)
                delta = np.where(ok, new_v - old_v, 0)
                report.old_total += _sum(np.where(ok, old_v, 0))
                report.new_total += _sum(np.where(ok, new_v, 0))
                report.gain += int((ok & (delta > 0)).sum())
                report.lose += int((ok & (delta < 0)).sum())
                report.same += int((ok & (delta == 0)).sum())
                report.failed += int((~ok).sum())
                nonzero = delta[ok & (delta != 0)]
                if nonzero.size:
                    report.deltas.append(nonzero)
                for name, (codes, names) in labels.items():
                    groups = report.groups.setdefault(name, {})
                    for code, label in enumerate(names):
                        rows = ok & (codes == code)
                        if not rows.any():
                            continue
                        g = groups.setdefault(label, Group(label))
                        g.rows += int(rows.sum())
                        g.old += _sum(old_v[rows])
                        g.new += _sum(new_v[rows])
                if top:
                    magnitude = np.abs(delta)
                    count = min(top, int((magnitude > 0).sum()))
                    if count:
                        best = np.argpartition(-magnitude, count - 1)[:count]
                        for i in best.tolist():
                            candidates[k].append((int(magnitude[i]), offset + i, int(old_v[i]), int(new_v[i]),
                                                  _row_cells(table, i)))
            else:
                same = _equal(old_col, new_col) & ~failed
                _count_failures(report, a.error_rows, b.error_rows)
                report.same += int(same.sum())
                report.gain += int((~same & ~failed).sum())  # "changed" for non-numeric outputs
                report.failed += int(failed.sum())
        offset += n
    if max_error_rate is not None and max_error_rate.exceeded(offset, failed_rows, final=True):
        raise TooManyErrors(max_error_rate, offset, failed_rows, [("旧版本", old_tally), ("新版本", new_tally)],
                            "至少在一个版本中")
    for k, report in enumerate(reports):
        chosen = sorted(candidates[k], key=lambda c: (-c[0], c[1]))[:top]
        for size, row, before, after, cells in chosen:
            sign = 1 if after >= before else -1
            change = Change(row + 1, report.unit(before), report.unit(after), sign * size, cells)
            change.old_explanation = _explain(old, cells, report.name, date)
            change.new_explanation = _explain(new, cells, report.name, date)
            report.largest.append(change)
    from yibaolang.tools.sources import shown_location  # a database URL's password is not shown

    result = Report(old.root.path, new.root.path, shown_location(cases, query), offset, reports, enum_inputs,
                    old_failures=old_tally, new_failures=new_tally, failed_rows=failed_rows)
    for report in reports:
        if report.numeric:
            deltas = np.concatenate(report.deltas) if report.deltas else np.zeros(0, dtype=np.int64)
            result.histograms[report.name] = _histogram(deltas, report)
            report.deltas = []
    _ = pa
    return result


def _count_failures(report: OutputReport, old_bad: Any, new_bad: Any) -> None:
    """Rows compared, and rows failed in the old version only, the new one only, both (for one output)."""
    report.compared += int((~old_bad & ~new_bad).sum())
    report.failed_old_only += int((old_bad & ~new_bad).sum())
    report.failed_new_only += int((new_bad & ~old_bad).sum())
    report.failed_both += int((old_bad & new_bad).sum())


def _sum(values: Any) -> int:
    """An exact integer sum (int64 while it cannot overflow, Python integers otherwise)."""
    import numpy as np

    if values.size == 0:
        return 0
    bound = int(np.abs(values).max())
    if bound * values.size < 2**62:
        return int(values.sum())
    return sum(int(v) for v in values.tolist())


def _integers(column: Any, type_: Type) -> tuple[Any, Any]:
    """An output column as int64 (分 for money) and where it has a value."""
    import numpy as np
    import pyarrow as pa

    from yibaolang.tools.columns import _unscaled

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    ok = np.asarray(column.is_valid())
    if type_.kind is Kind.MONEY:
        try:
            return _unscaled(column), ok
        except OverflowError:
            values = [int(v.scaleb(2)) if v is not None else 0 for v in column.to_pylist()]
            fits = np.array([abs(v) < 2**62 for v in values], dtype=bool)
            return np.array([v if f else 0 for v, f in zip(values, fits, strict=True)], dtype=np.int64), ok & fits
    return np.asarray(column.fill_null(0), dtype=np.int64), ok


def _equal(a: Any, b: Any) -> Any:
    import numpy as np
    import pyarrow.compute as pc

    same = pc.equal(a, b)
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    return np.asarray(pc.or_(same.fill_null(False), both_null))


def _labels(column: Any) -> tuple[Any, list[str]]:
    """An enumeration column's values as codes and the labels they stand for (empty cells as （空）)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_binary(column.type):
        from yibaolang.tools.batch import _decode_text

        column, _ = _decode_text(column)
    text = pc.utf8_trim_whitespace(column.cast(pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text).fill_null("（空）")
    encoded = pc.dictionary_encode(text)
    return np.asarray(encoded.indices, dtype=np.int64), encoded.dictionary.to_pylist()


def _row_cells(table: Any, i: int) -> dict[str, Any]:
    return {name: value for name, value in table.slice(i, 1).to_pylist()[0].items() if value is not None}


def _explain(program: Any, cells: dict[str, Any], output: str, date: dt.date | None) -> str:
    """The interpreter's explanation of one row under one version (plain text)."""
    from yibaolang import ir
    from yibaolang.engines.cases import DATE_KEY, RawCase, RawEntry, declared_inputs, validate
    from yibaolang.engines.evaluate import evaluate
    from yibaolang.outputs.render.text import render_node_plain

    known = declared_inputs(program)
    span = ir.Span("<批量数据>", 1, 1, 1, 1)
    entries = []
    for name, value in cells.items():
        if name not in known and name != DATE_KEY:
            continue
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, float):
            value = Decimal(repr(value))
        if isinstance(value, str) and not value.strip():
            continue
        entries.append(RawEntry(name, value, span, span))
    case, problems = validate(program, RawCase("<批量数据>", entries))
    if problems:
        return "；".join(d.message for d in problems)
    outcome = evaluate(program, case, [output], trace=True, date=date)
    lines = [render_node_plain(node) for node in outcome.trace]
    lines += [f"错误：{d.message}" for d in outcome.diagnostics if d.is_error]
    return "\n".join(lines)


def _histogram(deltas: Any, report: OutputReport) -> list[tuple[float, float, int]]:
    """Bins (low, high, count) over the non-zero differences, in the output's unit; the extreme 1% folds into the ends."""
    import numpy as np

    if deltas.size == 0:
        return []
    scale = 100.0 if report.type.kind is Kind.MONEY else 1.0
    values = deltas.astype(np.float64) / scale
    low, high = np.percentile(values, [1, 99]) if values.size > 100 else (values.min(), values.max())
    if low == high:
        return [(float(low), float(high), int(values.size))]
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(np.clip(values, low, high), bins=edges)
    return [(float(edges[i]), float(edges[i + 1]), int(counts[i])) for i in range(HISTOGRAM_BINS)]


# ------------------------------------------------------------------ renderings


def _show(report: OutputReport, value: int) -> str:
    return display(report.type, report.unit(value))


def _delta(report: OutputReport, old: int, new: int) -> str:
    text = display_delta(report.type, report.unit(old), report.unit(new)) or ""
    if old:
        text += f"（{(new - old) / abs(old):+.2%}）"
    return text


def _failures_text(report: Report) -> list[str]:
    """Which rows failed in which version and why (by code and place), before any total."""
    from yibaolang.diagnostics import visible

    if not report.failed_rows:
        return [f"两个版本都算出了全部 {report.rows:,} 行。", ""]
    lines = [f"出错的行：旧版本 {report.old_failures.failed:,} 行，新版本 {report.new_failures.failed:,} 行；"
             f"至少在一个版本中出错的 {report.failed_rows:,} 行不计入下面的合计"]
    for label, tally in (("旧版本", report.old_failures), ("新版本", report.new_failures)):
        if tally.failed:
            lines.append(f"{label}出错的原因（{NOTE}）：")
            lines += text_lines(tally, visible=visible)
    lines.append("")
    return lines


def _coverage(out: OutputReport) -> str:
    """The label of an output's totals: which rows they cover (docs/batch.md 出错的行与合计)."""
    return (f"以下合计只含两个版本都算出结果的 {out.compared:,} 行；出错的 {out.failed:,} 行不计入"
            f"（只在旧版本出错 {out.failed_old_only:,} 行，只在新版本出错 {out.failed_new_only:,} 行，"
            f"两个版本都出错 {out.failed_both:,} 行）")


def render_text(report: Report) -> str:
    lines = [f"比较：{report.old} → {report.new}（案例 {report.cases}，共 {report.rows:,} 行）", ""]
    lines += _failures_text(report)
    for out in report.outputs:
        lines.append(f"{out.name}（{out.type.name}）")
        if out.failed:
            lines.append("  " + _coverage(out))
        if out.numeric:
            lines.append(f"  合计：旧 {_show(out, out.old_total)} → 新 {_show(out, out.new_total)}，"
                         f"差额 {_delta(out, out.old_total, out.new_total)}")
            lines.append(f"  增加 {out.gain:,} 行，减少 {out.lose:,} 行，不变 {out.same:,} 行，出错 {out.failed:,} 行")
            for name, groups in out.groups.items():
                lines.append(f"  按 {name}：")
                for g in sorted(groups.values(), key=lambda g: g.label):
                    lines.append(f"    {g.label}（{g.rows:,} 行）：旧 {_show(out, g.old)} → 新 {_show(out, g.new)}，"
                                 f"差额 {_delta(out, g.old, g.new)}")
            if out.largest:
                lines.append("  变化最大的行：")
                for c in out.largest:
                    lines.append(f"    第 {c.row} 行：{display(out.type, c.old)} → {display(out.type, c.new)}"
                                 f"（{display_delta(out.type, c.old, c.new)}）")
                    lines.append("      旧政策：")
                    lines += ["        " + line for line in c.old_explanation.splitlines()]
                    lines.append("      新政策：")
                    lines += ["        " + line for line in c.new_explanation.splitlines()]
        else:
            lines.append(f"  改变 {out.gain:,} 行，不变 {out.same:,} 行，出错 {out.failed:,} 行")
        lines.append("")
    return "\n".join(lines)


def to_json(report: Report) -> dict[str, Any]:
    from yibaolang.semantics.values import to_json as value_json

    outputs = []
    for out in report.outputs:
        item: dict[str, Any] = {"name": out.name, "type": out.type.name, "gain": out.gain, "lose": out.lose,
                                "same": out.same, "failed": out.failed, "compared": out.compared,
                                "failed_old_only": out.failed_old_only, "failed_new_only": out.failed_new_only,
                                "failed_both": out.failed_both}
        if out.numeric:
            item["old_total"] = value_json(out.type, out.unit(out.old_total))
            item["new_total"] = value_json(out.type, out.unit(out.new_total))
            item["difference"] = value_json(out.type, out.unit(out.new_total - out.old_total))
            item["by"] = {
                name: [{"value": g.label, "rows": g.rows, "old_total": value_json(out.type, out.unit(g.old)),
                        "new_total": value_json(out.type, out.unit(g.new)),
                        "difference": value_json(out.type, out.unit(g.new - g.old))}
                       for g in sorted(groups.values(), key=lambda g: g.label)]
                for name, groups in out.groups.items()
            }
            item["largest"] = [{"row": c.row, "old": value_json(out.type, c.old), "new": value_json(out.type, c.new),
                                "difference": value_json(out.type, out.unit(c.delta)),
                                "old_explanation": c.old_explanation, "new_explanation": c.new_explanation}
                               for c in out.largest]
            item["histogram"] = [{"low": lo, "high": hi, "rows": count}
                                 for lo, hi, count in report.histograms.get(out.name, [])]
        outputs.append(item)
    failures = {label: {"rows": tally.failed, "groups": json_groups(tally)}
                for label, tally in (("old", report.old_failures), ("new", report.new_failures))}
    return {"schema": SCHEMA, "old": report.old, "new": report.new, "cases": report.cases, "rows": report.rows,
            "failed_rows": report.failed_rows, "failures": failures, "outputs": outputs}


_CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #1f2328; line-height: 1.5; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; border-bottom: 1px solid #d0d7de; padding-bottom: .3em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; }
th, td { border: 1px solid #d0d7de; padding: .3em .7em; text-align: right; }
th { background: #f6f8fa; } td.label, th.label { text-align: left; }
.gain { color: #1a7f37; } .lose { color: #cf222e; }
.warn { border-left: 4px solid #bf8700; background: #fff8c5; padding: .4em .8em; }
.summary { display: flex; gap: 1em; flex-wrap: wrap; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .6em 1em; min-width: 10em; }
.card b { display: block; font-size: 1.3em; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: .85em; white-space: pre-wrap; }
details { margin: .4em 0 1em; } summary { cursor: pointer; }
svg text { font-size: 11px; fill: #57606a; }
@media print { details { display: block; } }
"""


def render_html(report: Report) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
             f"<title>政策比较：{e(report.old)} → {e(report.new)}</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>政策修订影响测算</h1>",
             f"<p>旧版本：<code>{e(report.old)}</code><br>新版本：<code>{e(report.new)}</code><br>"
             f"案例：<code>{e(report.cases)}</code>，共 {report.rows:,} 行</p>"]
    parts.append("<h2>出错的行</h2>")
    if not report.failed_rows:
        parts.append(f"<p>两个版本都算出了全部 {report.rows:,} 行。</p>")
    else:
        parts.append(f'<p class="warn">旧版本出错 {report.old_failures.failed:,} 行，新版本出错 '
                     f"{report.new_failures.failed:,} 行；至少在一个版本中出错的 {report.failed_rows:,} 行"
                     "不计入下面的合计。</p>")
        for label, tally in (("旧版本", report.old_failures), ("新版本", report.new_failures)):
            if tally.failed:
                parts.append(f"<h3>{label}出错的原因</h3><p>{NOTE}。</p>")
                parts.append(html_table(tally))
    for out in report.outputs:
        parts.append(f"<h2>{e(out.name)}（{e(out.type.name)}）</h2>")
        if out.failed:
            parts.append(f'<p class="warn">{e(_coverage(out))}</p>')
        if not out.numeric:
            parts.append(f"<p>改变 {out.gain:,} 行，不变 {out.same:,} 行，出错 {out.failed:,} 行。</p>")
            continue
        diff = out.new_total - out.old_total
        css = "gain" if diff > 0 else "lose" if diff < 0 else ""
        parts.append('<div class="summary">')
        parts.append(f'<div class="card">旧版本合计<b>{e(_show(out, out.old_total))}</b></div>')
        parts.append(f'<div class="card">新版本合计<b>{e(_show(out, out.new_total))}</b></div>')
        parts.append(f'<div class="card">差额<b class="{css}">{e(_delta(out, out.old_total, out.new_total))}</b></div>')
        parts.append(f'<div class="card">增加 / 减少 / 不变 / 出错<b>{out.gain:,} / {out.lose:,} / {out.same:,} / '
                     f'{out.failed:,}</b></div>')
        parts.append("</div>")
        for name, groups in out.groups.items():
            parts.append(f"<h3>按 {e(name)}</h3><table><tr><th class=\"label\">{e(name)}</th><th>行数</th>"
                         "<th>旧版本合计</th><th>新版本合计</th><th>差额</th></tr>")
            for g in sorted(groups.values(), key=lambda g: g.label):
                gcss = "gain" if g.new > g.old else "lose" if g.new < g.old else ""
                parts.append(f'<tr><td class="label">{e(g.label)}</td><td>{g.rows:,}</td><td>{e(_show(out, g.old))}</td>'
                             f'<td>{e(_show(out, g.new))}</td><td class="{gcss}">{e(_delta(out, g.old, g.new))}</td></tr>')
            parts.append("</table>")
        parts.append("<h3>每行差额的分布</h3>")
        parts.append(_svg(report.histograms.get(out.name, []), out))
        if out.largest:
            parts.append("<h3>变化最大的行</h3>")
            for c in out.largest:
                parts.append(f"<details><summary>第 {c.row} 行：{e(display(out.type, c.old))} → "
                             f"{e(display(out.type, c.new))}（{e(display_delta(out.type, c.old, c.new) or '')}）</summary>")
                shown = "，".join(f"{k} = {v}" for k, v in c.inputs.items())
                parts.append(f"<p>输入：{e(shown)}</p>")
                parts.append(f"<p>旧版本的计算：</p><pre>{e(c.old_explanation)}</pre>")
                parts.append(f"<p>新版本的计算：</p><pre>{e(c.new_explanation)}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _svg(bins: list[tuple[float, float, int]], out: OutputReport) -> str:
    """An inline SVG bar chart of the per-row differences (rows that do not change are left out)."""
    e = html.escape
    if not bins:
        return f"<p>没有行的 {e(out.name)} 发生变化（不变 {out.same:,} 行）。</p>"
    width, height, pad = 900, 260, 50
    peak = max(count for _, _, count in bins) or 1
    bar = (width - 2 * pad) / len(bins)
    unit = "元" if out.type.kind is Kind.MONEY else ""
    items = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" '
             f'role="img" aria-label="{e(out.name)} 每行差额的分布">',
             f'<line x1="{pad}" y1="{height}" x2="{width - pad}" y2="{height}" stroke="#8c959f"/>']
    for i, (low, high, count) in enumerate(bins):
        h = 0 if count == 0 else max(1.0, (height - 30) * count / peak)
        x = pad + i * bar
        colour = "#1a7f37" if low >= 0 else "#cf222e" if high <= 0 else "#8c959f"
        items.append(f'<rect x="{x + 1:.1f}" y="{height - h:.1f}" width="{max(bar - 2, 1):.1f}" height="{h:.1f}" '
                     f'fill="{colour}"><title>{_number(low)}{unit} 至 {_number(high)}{unit}：{count:,} 行</title></rect>')
    for i in (0, len(bins) // 2, len(bins)):
        value = bins[min(i, len(bins) - 1)][0] if i < len(bins) else bins[-1][1]
        x = pad + i * bar
        items.append(f'<text x="{x:.1f}" y="{height + 16}" text-anchor="middle">{e(_number(value))}{unit}</text>')
    items.append(f'<text x="{pad}" y="14">最多 {peak:,} 行/组；增加为绿色，减少为红色；不变的 {out.same:,} 行不在图中</text>')
    items.append("</svg>")
    return "\n".join(items)


def _number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.2f}" if abs(value) < 1e6 else f"{value:,.0f}"


__all__ = ["Report", "compare_policies", "render_html", "render_text", "to_json"]
