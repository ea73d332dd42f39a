"""`yibaolang sample` and `yibaolang compare` (docs/batch.md).

Only click is imported here at module level; numpy, pyarrow and the engine
are imported when a command runs, so `yibaolang check` stays fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from yibaolang.tools.cli import (
    EXIT_INPUT,
    MAX_ERROR_RATE_HELP,
    _date_option,
    _error_rate_option,
    cases_location,
    guarded,
)

EXIT_USAGE = 2


def _require_batch() -> None:
    from yibaolang.tools.batch import INSTALL_HINT, have_batch_dependencies

    if not have_batch_dependencies():
        click.echo(INSTALL_HINT, err=True)
        sys.exit(EXIT_USAGE)


def _compile(policy: str) -> Any:
    from yibaolang.tools.cli import _compile_or_exit

    return _compile_or_exit(policy)


@click.command("sample")
@click.argument("policy", type=click.Path(exists=True, dir_okay=False))
@click.option("--rows", type=click.IntRange(0, 100_000_000), required=True, help="生成多少行")
@click.option("-o", "--out", "out_file", required=True,
              help="案例文件（.csv、.jsonl、.parquet、.xlsx）或数据库表（docs/batch.md 数据源）")
@click.option("--replace", is_flag=True, help="数据库表已存在时替换它")
@click.option("--seed", type=int, default=0, show_default=True, help="随机数种子（同一种子生成同样的数据）")
@click.option("--fund-out", "fund_out", type=click.Path(dir_okay=False), default=None,
              help="把基金层输入（全体.名称，每次运行一次）写成 YAML 文件，供 run --fund 使用")
@guarded
def sample(policy: str, rows: int, out_file: str, replace: bool, seed: int, fund_out: str | None) -> None:
    """按政策的输入声明（类型、范围、默认）生成演示或测试用的案例文件。"""
    _require_batch()
    from yibaolang.files import program_files
    from yibaolang.tools.batch import BatchError, format_of
    from yibaolang.tools.sample import write_sample
    from yibaolang.tools.sources import is_location

    if format_of(out_file) is None and not is_location(out_file):
        raise click.UsageError(f"无法识别输出文件的格式：{out_file}（支持 .csv、.jsonl、.parquet）")
    program = _compile(policy)
    try:
        columns = write_sample(program, rows, out_file, seed, program_files(program), replace=replace)
    except BatchError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(EXIT_INPUT)
    click.echo(f"已生成 {rows:,} 行（{len(columns)} 列：{'、'.join(columns)}）：{out_file}", err=True)
    _sample_fund(program, rows, seed, fund_out, [*program_files(program), out_file])


def _sample_fund(program: Any, rows: int, seed: int, fund_out: str | None, inputs: list[str]) -> None:
    """The fund inputs once, not per row (docs/batch.md 基金层): written with --fund-out, else a hint."""
    from yibaolang.files import write_text
    from yibaolang.tools.sample import fund_yaml, sample_fund

    values = sample_fund(program, seed, rows)
    if not values:
        if fund_out is not None:
            click.echo("错误：本政策没有基金层输入（输入 全体.名称），--fund-out 用不上", err=True)
            sys.exit(EXIT_INPUT)
        return
    if fund_out is None:
        click.echo(f"提示：本政策的基金层输入 {'、'.join(values)} 每次运行给一次，不在每一行里；"
                   "加 --fund-out 基金.yaml 生成它们，运行时用 --fund 基金.yaml", err=True)
        return
    write_text(fund_out, fund_yaml(values), inputs)
    click.echo(f"已生成基金层输入（{'、'.join(values)}）：{fund_out}", err=True)


@click.command("compare")
@click.argument("old", type=click.Path(exists=True, dir_okay=False))
@click.argument("new", type=click.Path(exists=True, dir_okay=False))
@click.option("--cases", "cases_path", callback=cases_location, required=True,
              help="案例文件（CSV、JSON Lines、Parquet、Excel）或数据库表（docs/batch.md 数据源）")
@click.option("-o", "--out", "out_file", type=click.Path(dir_okay=False), help="把 HTML 报告写入这个文件")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="标准输出的格式")
@click.option("--output", "outputs", multiple=True, metavar="NAME", help="要比较的数额（可多次；默认为两份政策共有的 输出）")
@click.option("--date", "date", default=None, metavar="YYYY-MM-DD", callback=_date_option, help="计算日期")
@click.option("--top", type=click.IntRange(0, 100), default=5, show_default=True, help="列出变化最大的几行")
@click.option("--chunk-size", type=click.IntRange(1, 10_000_000), default=262_144, show_default=True,
              help="每块的行数")
@click.option("--query", default=None, metavar="SQL", help="从数据库读取这个查询的结果（代替 ?table=）")
@click.option("--encoding", default=None, metavar="编码", help="CSV 案例文件的编码（默认自动识别）")
@click.option("--max-error-rate", "max_error_rate", metavar="比例", callback=_error_rate_option,
              help=MAX_ERROR_RATE_HELP)
@guarded
def compare(old: str, new: str, cases_path: str, out_file: str | None, fmt: str, outputs: tuple[str, ...],
            date: Any, top: int, chunk_size: int, query: str | None, encoding: str | None,
            max_error_rate: Any) -> None:
    """比较政策的两个版本在一批案例上的差别：合计、按选项分组、增减行数、变化最大的行及其计算说明。

    有任何一行在任一版本中出错时退出码为 1（报告仍然完整，合计只含两个版本都算出结果的行）。"""
    _require_batch()
    import json

    from yibaolang.diagnostics import render_text as render_diagnostic
    from yibaolang.files import program_files, refuse_inputs, write_text
    from yibaolang.tools.accounting import TooManyErrors
    from yibaolang.tools.batch import BatchError, format_of
    from yibaolang.tools.compare import compare_policies, render_html, render_text, to_json
    from yibaolang.tools.sources import input_files, is_location

    if format_of(cases_path) is None and not is_location(cases_path):
        raise click.UsageError(f"无法识别案例文件的格式：{cases_path}（支持 .csv、.jsonl、.parquet、.xlsx 与数据库表）")
    old_program = _compile(old)
    new_program = _compile(new)
    inputs = input_files([*program_files(old_program), *program_files(new_program), cases_path])
    if out_file is not None:
        refuse_inputs(out_file, inputs)
    try:
        report = compare_policies(old_program, new_program, cases_path, list(outputs) or None, date=date,
                                  top=top, chunk_size=chunk_size, query=query, encoding=encoding,
                                  max_error_rate=max_error_rate)
    except TooManyErrors as exc:  # YB482: stopped early, no report
        click.echo(render_diagnostic(exc.diagnostic(cases_path), None), err=True)
        sys.exit(EXIT_INPUT)
    except BatchError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(EXIT_INPUT)
    if fmt == "json":
        click.echo(json.dumps(to_json(report), ensure_ascii=False, indent=2))
    else:
        click.echo(render_text(report), nl=False)
    if out_file is not None:
        write_text(out_file, render_html(report), inputs)
        click.echo(f"已写入 {out_file}", err=True)
    if report.failed_rows:  # like `run --cases`: the report is complete, the exit code says rows failed
        sys.exit(EXIT_INPUT)
