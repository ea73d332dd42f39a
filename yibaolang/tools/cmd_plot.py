"""`yibaolang plot` (docs/plot.md): how outputs change as one input varies, as SVG or a self-contained HTML page."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from yibaolang.tools.cli import EXIT_INPUT, _date_option, guarded


def _fail(message: str, hint: str = "") -> None:
    click.echo(f"错误：{message}" + (f"（{hint}）" if hint else ""), err=True)
    sys.exit(EXIT_INPUT)


@click.command("plot")
@click.argument("policy", type=click.Path(exists=True, dir_okay=False))
@click.option("--vary", "input_name", required=True, metavar="INPUT", help="变化的输入（数值型：金额、比例、数、期限）")
@click.option("--from", "low_text", required=True, metavar="A", help="起点，例如 0元")
@click.option("--to", "high_text", required=True, metavar="B", help="终点，例如 40万元")
@click.option("--case", "case_path", type=click.Path(exists=True, dir_okay=False),
              help="其余输入取自这个案例文件（YAML 或 JSON）；不给则用各输入的 默认")
@click.option("--output", "outputs", multiple=True, metavar="NAME",
              help="要画的数额（可多次；默认为政策 输出 中依赖该输入的金额）")
@click.option("--points", type=click.IntRange(2, 5000), default=200, show_default=True, help="均匀取点的个数")
@click.option("--date", "date", default=None, metavar="YYYY-MM-DD", callback=_date_option,
              help="计算日期，覆盖案例中的 计算日期")
@click.option("-o", "--out", "out_file", type=click.Path(dir_okay=False), required=True,
              help="图的文件：.svg 或 .html")
@guarded
def plot(policy: str, input_name: str, low_text: str, high_text: str, case_path: str | None,
         outputs: tuple[str, ...], points: int, date: Any, out_file: str) -> None:
    """画出一个输入变化时各数额的变化（折线图），在分界点标出条款。"""
    suffix = Path(out_file).suffix.lower()
    if suffix not in (".svg", ".html", ".htm"):
        raise click.UsageError(f"无法识别图的文件格式：{out_file}（支持 .svg、.html）")
    from yibaolang.analysis.function import FunctionError, figure_function
    from yibaolang.diagnostics import closest
    from yibaolang.engines.cases import check_value, declared_inputs
    from yibaolang.engines.evaluate import choose_date
    from yibaolang.engines.outcome import CaseInput
    from yibaolang.outputs.plot import html_page, svg_file
    from yibaolang.semantics.values import Problem
    from yibaolang.tools.cli import _case_or_exit, _compile_or_exit

    program = _compile_or_exit(policy)
    inputs = declared_inputs(program)
    info = inputs.get(input_name)
    if info is None:
        guess = closest(input_name, list(inputs))
        _fail(f"未知的输入“{input_name}”", f"是否想写 {guess}？" if guess else "--vary 只能是政策声明的输入")
        return
    if not info.type.is_numeric:
        _fail(f"输入 {input_name} 是{info.type.name}，不是数值，无法变化画图", "--vary 只能是金额、比例、数或期限")
    bounds = []
    for which, text in (("--from", low_text), ("--to", high_text)):
        value = check_value(program, info, _raw(text))
        if isinstance(value, Problem):
            _fail(f"{which} {text}：{value.message}", value.hint)
        bounds.append(value)
    low, high = bounds
    if not low < high:
        _fail(f"范围不对：--from {low_text} 应小于 --to {high_text}")
    case = _case_or_exit(program, case_path) if case_path is not None else CaseInput({})
    when, _ = choose_date(program, case, date)
    values = dict(case.values)
    values.pop(input_name, None)
    try:
        chart = figure_function(program, input_name, low, high, values, when, outputs, points)
    except FunctionError as exc:
        _fail(str(exc))
        return
    text = svg_file(chart) if suffix == ".svg" else html_page(chart, program.root.path)
    from yibaolang.files import program_files, write_text

    write_text(out_file, text, [*program_files(program), *([case_path] if case_path else [])])
    for note in chart.notes:
        click.echo(f"提示：{note}", err=True)
    marks = "、".join(bp.label(chart.x_type) for bp in chart.breakpoints) or "无"
    click.echo(f"已写入 {out_file}（{len(chart.series)} 条折线；分界点：{marks}）", err=True)


def _raw(text: str) -> Any:
    import re
    from decimal import Decimal

    text = text.strip()
    if re.fullmatch(r"[-+]?\d+(\.\d+)?", text):
        return Decimal(text)
    return text
