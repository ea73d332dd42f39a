"""Charts drawn as hand-written inline SVG: no script, no network resource (docs/plot.md).

This module only draws.  What a chart shows — a figure as a function of one
input, its kinks and their clauses, the case marked — is computed beforehand
by `yibaolang.analysis.function` (`figure_function` for `yibaolang plot`,
`band_charts` for the HTML explanation) and handed over as a `Chart`.
"""

from __future__ import annotations

from html import escape
from typing import Any

from yibaolang.analysis.function import UNIT_SUFFIX, Chart, on_lattice, short
from yibaolang.ir.types import Kind, Type
from yibaolang.semantics.values import display

FONT_STACK = '"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif'
COLORS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#16a085", "#7f8c8d")


def _scale(type_: Type, top: float) -> tuple[float, str]:
    """The divisor and unit for axis labels: money in 万元 when large, ratios in %."""
    kind = type_.kind
    if kind is Kind.MONEY:
        return (10000.0, "万元") if top >= 10000 else (1.0, "元")
    if kind is Kind.RATIO:
        return (0.01, "%")
    if kind in UNIT_SUFFIX:
        return (1.0, UNIT_SUFFIX[kind])
    return (1.0, "")


def _nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** int(f"{raw:e}".split("e")[1])
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = int(low // step) * step
    ticks = []
    t = first
    while t <= high + step * 1e-9:
        if t >= low - step * 1e-9:
            ticks.append(round(t, 10))
        t += step
    return ticks


def _fmt_tick(value: float) -> str:
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def _numeric_value(type_: Type, value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value)


# ------------------------------------------------------------------ drawing


def svg(chart: Chart, *, standalone: bool = False, width: int = 900, height: int = 480) -> str:
    """The chart as SVG; `standalone` adds the XML namespace a .svg file needs."""
    left, right, top, bottom = 86, 24, 40 + 18 * ((len(chart.series) + 2) // 3), 64
    pw, ph = width - left - right, height - top - bottom
    x_lo, x_hi = float(chart.low), float(chart.high)
    if x_hi <= x_lo:
        x_hi = x_lo + 1
    ys = [_numeric_value(s.type, y) for s in chart.series for _, y in s.points]
    if chart.marker is not None:
        ys.append(float(chart.marker[1]))
    y_lo, y_hi = min([0.0, *ys]), max([0.0, *ys])
    if y_hi <= y_lo:
        y_hi = y_lo + 1
    y_hi += (y_hi - y_lo) * 0.06
    # The breakpoint labels stand in a band at the top of the plot: keep every line below it.
    band = 14 + 15 * (min(3, len(chart.breakpoints)) - 1) + 8 if chart.breakpoints else 0
    if band:
        y_hi = y_lo + (y_hi - y_lo) * ph / max(ph - band, 1)
    y_type = chart.series[0].type if chart.series else chart.x_type
    x_div, x_unit = _scale(chart.x_type, max(abs(x_lo), abs(x_hi)))
    y_div, y_unit = _scale(y_type, max(abs(y_lo), abs(y_hi)))

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * pw

    def py(y: float) -> float:
        return top + ph - (y - y_lo) / (y_hi - y_lo) * ph

    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    out = [
        f'<svg{ns} class="yb-chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(chart.title)}" font-family=\'{FONT_STACK}\' font-size="12">',
        f"<title>{escape(chart.title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fbfbfd" stroke="#999"/>',
    ]
    # grid and ticks
    for t in _nice_ticks(x_lo / x_div, x_hi / x_div):
        x = px(t * x_div)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#e3e3e8"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle" fill="#333">{_fmt_tick(t)}</text>')
    for t in _nice_ticks(y_lo / y_div, y_hi / y_div):
        y = py(t * y_div)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#e3e3e8"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#333">{_fmt_tick(t)}</text>')
    x_label = f"{chart.x_name}（{x_unit}）" if x_unit else chart.x_name
    y_names = "、".join(s.name for s in chart.series)
    y_label = f"{y_names}（{y_unit}）" if y_unit else y_names
    out.append(f'<text class="x-label" x="{left + pw / 2:.1f}" y="{height - 18}" text-anchor="middle" '
               f'font-size="13" fill="#111">{escape(x_label)}</text>')
    out.append(f'<text class="y-label" x="22" y="{top + ph / 2:.1f}" text-anchor="middle" '
               f'style="writing-mode: vertical-rl" font-size="13" fill="#111">{escape(y_label)}</text>')
    # breakpoints (their labels are drawn after the series, so no line runs across one)
    labels = []
    for i, bp in enumerate(chart.breakpoints):
        x = px(float(bp.x))
        label = bp.label(chart.x_type)
        anchor, dx = ("end", -4) if x > left + pw * 0.85 else ("start", 4)
        out.append(f'<g class="breakpoint" data-x="{bp.x}" data-clause="{escape(bp.clause or "")}">')
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#888" '
                   'stroke-dasharray="5,4"/>')
        out.append("</g>")
        labels.append(f'<text class="breakpoint-label" x="{x + dx:.1f}" y="{top + 14 + (i % 3) * 15}" '
                      f'text-anchor="{anchor}" fill="#444" font-size="11" stroke="#fbfbfd" stroke-width="3" '
                      f'paint-order="stroke">{escape(label)}</text>')
    # series
    for i, s in enumerate(chart.series):
        color = COLORS[i % len(COLORS)]
        coords = " ".join(f"{px(float(x)):.2f},{py(_numeric_value(s.type, y)):.2f}" for x, y in s.points)
        out.append(f'<polyline class="series" data-output="{escape(s.name)}" fill="none" stroke="{color}" '
                   f'stroke-width="2" stroke-linejoin="round" points="{coords}"/>')
        values = dict(s.points)
        for bp in chart.breakpoints:
            if bp.x in values:
                y = values[bp.x]
                out.append(f'<circle class="point" data-output="{escape(s.name)}" data-x="{bp.x}" '
                           f'data-y="{y}" cx="{px(float(bp.x)):.2f}" cy="{py(_numeric_value(s.type, y)):.2f}" '
                           f'r="3" fill="{color}"><title>{escape(s.name)}：{escape(short(chart.x_type, bp.x))} → '
                           f'{escape(display(s.type, y))}</title></circle>')
    out += labels
    # the current case
    if chart.marker is not None:
        mx, my, label = chart.marker
        if chart.low <= mx <= chart.high:
            cx, cy = px(float(mx)), py(float(my))
            anchor = "end" if cx > left + pw * 0.7 else "start"
            dx = -8 if anchor == "end" else 8
            out.append(f'<g class="case-marker" data-x="{mx}" data-y="{my}">'
                       f'<circle cx="{cx:.2f}" cy="{cy:.2f}" r="5" fill="#e67e22" stroke="#fff" stroke-width="1.5"/>'
                       f'<text x="{cx + dx:.1f}" y="{cy - 8:.1f}" text-anchor="{anchor}" fill="#a04000" stroke="#fff" '
                       f'stroke-width="3" paint-order="stroke" '
                       f'font-size="12">{escape(label)}</text></g>')
    # legend
    for i, s in enumerate(chart.series):
        color = COLORS[i % len(COLORS)]
        lx, ly = left + (i % 3) * (pw / 3), 22 + 18 * (i // 3)
        out.append(f'<line x1="{lx:.1f}" y1="{ly - 4}" x2="{lx + 22:.1f}" y2="{ly - 4}" stroke="{color}" '
                   'stroke-width="3"/>')
        out.append(f'<text x="{lx + 28:.1f}" y="{ly}" fill="#111" font-size="13">{escape(s.name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def breakpoint_table(chart: Chart) -> str:
    """An HTML table of the outputs at each breakpoint."""
    if not chart.breakpoints:
        return ""
    head = "".join(f"<th>{escape(s.name)}</th>" for s in chart.series)
    rows = [f'<table class="yb-breakpoints"><tr><th>{escape(chart.x_name)}</th><th>条款</th>{head}</tr>']
    for bp in chart.breakpoints:
        cells = []
        for s in chart.series:
            values = dict(s.points)
            cells.append(f'<td class="num">{escape(display(s.type, values.get(bp.x)))}</td>')
        rows.append(f'<tr><td class="num">{escape(display(chart.x_type, on_lattice(chart.x_type, bp.x)))}</td>'
                    f"<td>{escape(bp.clause or bp.owner)}</td>{''.join(cells)}</tr>")
    rows.append("</table>")
    return "\n".join(rows)


PAGE_CSS = f"""
body {{ font-family: {FONT_STACK}; color: #111; max-width: 960px; margin: 1.5rem auto; padding: 0 1rem; }}
h1 {{ font-size: 1.3rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ border: 1px solid #999; padding: .2rem .6rem; }}
th {{ background: #eee; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.note {{ color: #555; font-size: .9em; }}
"""


def html_page(chart: Chart, policy: str) -> str:
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in chart.notes)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(chart.title)}</title>",
        f"<style>{PAGE_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(chart.title)}</h1>",
        f'<p class="note">政策文件：{escape(policy)}；{escape(chart.x_name)} 从 {escape(short(chart.x_type, chart.low))} '
        f"到 {escape(short(chart.x_type, chart.high))}；虚线为政策规定的分界点及其条款。</p>",
        svg(chart),
        notes,
        breakpoint_table(chart),
        "<footer class=\"note\">由 易保语 yibaolang 生成。</footer>",
        "</body>",
        "</html>",
    ]) + "\n"


def svg_file(chart: Chart) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg(chart, standalone=True) + "\n"


__all__ = ["breakpoint_table", "html_page", "svg", "svg_file"]
