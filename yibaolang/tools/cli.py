"""The `yibaolang` command line (docs/cli.md): check, ir, and the evaluation commands.

Heavy modules are imported inside the commands that need them, so a cold
`yibaolang check` stays fast.  Every command turns bad input into diagnostics
and an exit code; an unexpected internal error prints one line asking for a
bug report (the traceback only under --debug).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from yibaolang.files import (
    CANNOT_WRITE,
    OutputError,
    ignore_file_size_signal,
    os_reason,
    program_files,
    refuse_inputs,
    stdout_failed,
    write_text,
)
from yibaolang.tools.tables import table_option

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_INPUT = 1


def guarded(func: F) -> F:
    """Run a command; turn an unexpected exception into a one-line report."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = kwargs.pop("debug", False)
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except OutputError as exc:
            click.echo(exc.render(), err=True)
            sys.exit(EXIT_INPUT)
        except KeyboardInterrupt:
            click.echo("已中断", err=True)
            sys.exit(130)
        except RecursionError:
            click.echo("错误：表达式或引用嵌套过深，无法处理", err=True)
            sys.exit(EXIT_INPUT)
        except MemoryError:
            click.echo("错误：内存不足", err=True)
            sys.exit(EXIT_INPUT)
        except Exception as exc:
            if isinstance(exc, OSError) and _stdout_broken(exc):
                click.echo(stdout_failed(exc), err=True)
                sys.exit(EXIT_INPUT)
            if debug:
                raise
            click.echo(
                f"内部错误（{type(exc).__name__}）：这是 yibaolang 的缺陷，请附上命令与输入文件报告给维护者；"
                "加 --debug 可看到详细信息",
                err=True,
            )
            sys.exit(70)

    wrapper = click.option("--debug", is_flag=True, hidden=True, help="出错时显示 Python 回溯")(wrapper)
    return wrapper  # type: ignore[return-value]


# click's own messages (a bad option value, a missing argument) in Chinese: click looks each one up through
# gettext at the moment it is shown, so its modules' `_` and `ngettext` are pointed at this table.
CLICK_MESSAGES: dict[str, str] = {
    "Usage:": "用法",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看用法。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值不对：{message}",
    "Invalid value: {message}": "值不对：{message}",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "{missing}{param_hint}.{msg}": "{missing}{param_hint}。{msg}",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "Missing command.": "缺少命令。",
    "Did you mean {possibility}?": "是否想写 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是否想写其中之一：{possibilities}？）",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不接受值。",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，给了 {len} 个。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value} is not in the range {range}.": "{value} 不在允许的范围 {range} 之内。",
    "{value!r} is not one of {choices}.": "{value!r} 不是可选的值（可选：{choices}）。",
    "{value!r} is not {choice}.": "{value!r} 不是可选的值（只能是 {choice}）。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是有效的是否值（可写：{states}）",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合任何一种格式：{formats}。",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是一个文件夹，这里需要文件。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是一个文件，这里需要文件夹。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 没有读取权限。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 没有写入权限。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 没有执行权限。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "Aborted!": "已中止。",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "Options": "选项",
    "Commands": "命令",
    "default: {default}": "默认：{default}",
    "required": "必需",
}
NUMBER_TYPES = {"integer": "整数", "float": "数", "integer range": "整数", "float range": "数"}


def _zh(message: str) -> str:
    return CLICK_MESSAGES.get(message, message)


def _zh_plural(singular: str, plural: str, n: int) -> str:
    return _zh(singular if n == 1 else plural)


def _speak_chinese() -> None:
    import importlib

    for name in ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils"):
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = _zh  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _zh_plural  # type: ignore[attr-defined]
    for kind in (click.types.IntParamType, click.types.FloatParamType, click.types.IntRange, click.types.FloatRange):
        kind.name = NUMBER_TYPES.get(kind.name, kind.name)
    missing = click.exceptions.MissingParameter
    english = missing.format_message
    if not getattr(english, "chinese", False):
        def format_message(self: click.exceptions.MissingParameter) -> str:
            return english(self).replace("'.", "'。", 1)  # the full stop after the name is not looked up

        format_message.chinese = True  # type: ignore[attr-defined]
        missing.format_message = format_message  # type: ignore[method-assign]


_speak_chinese()


# Commands that live in their own modules, imported only when invoked so that
# `yibaolang check` does not pay for the formatter, the language server or numpy.
LAZY_COMMANDS: dict[str, str] = {
    "fmt": "yibaolang.tools.cmd_fmt:fmt",
    "lsp": "yibaolang.tools.cmd_lsp:lsp",
    "compare": "yibaolang.tools.cmd_batch:compare",
    "sample": "yibaolang.tools.cmd_batch:sample",
    "plot": "yibaolang.tools.cmd_plot:plot",
    "init": "yibaolang.tools.cmd_init:init",
    "coverage": "yibaolang.tools.cmd_init:coverage",
    "serve": "yibaolang.tools.cmd_serve:serve",
    "replay": "yibaolang.tools.cmd_serve:replay",
}


class LazyGroup(click.Group):
    """A click group whose LAZY_COMMANDS are loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except OSError as exc:  # --help or --version into a full device: outside any command's guard
            if not _stdout_broken(exc):
                raise
            click.echo(stdout_failed(exc), err=True)
            sys.exit(EXIT_INPUT)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        import importlib

        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yibaolang", message="yibaolang %(version)s")
def main() -> None:
    """易保语 yibaolang：医保政策规则的声明式语言。"""
    ignore_file_size_signal()


def _stdout_broken(exc: BaseException) -> bool:
    """Whether `exc` came from writing to standard output (a full device, a closed pipe)."""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "echo" and "click" in code.co_filename and not tb.tb_frame.f_locals.get("err"):
            return True
        tb = tb.tb_next
    return False


def _source_lines(program: Any, file: str) -> list[str] | None:
    for scope in program.modules.values():
        if scope.path == file:
            lines: list[str] = scope.source.lines()
            return lines
    return None


def render_diagnostics(diagnostics: list[Any], programs: list[Any], fmt: str) -> str:
    from yibaolang.diagnostics import render_json, render_text

    if fmt == "json":
        return render_json(diagnostics)
    if fmt == "sarif":
        from yibaolang.outputs.sarif import render_sarif

        return render_sarif(diagnostics)
    blocks = []
    split: dict[str, list[str] | None] = {}  # each file split once, however many diagnostics it has
    for d in diagnostics:
        if d.span.file not in split:
            lines = None
            for program in programs:
                lines = _source_lines(program, d.span.file)
                if lines is not None:
                    break
            split[d.span.file] = lines
        blocks.append(render_text(d, split[d.span.file]))
    return "\n".join(blocks)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True,
              help="输出格式（sarif：供代码评审工具读取的 SARIF 2.1.0）")
@click.option("--strict", is_flag=True, help="警告也视为错误（退出码 1）")
@click.option("--counterexamples", "counter_dir", type=click.Path(file_okay=False), default=None,
              metavar="DIR", help="把找到的每个反例写成案例文件 DIR/<代码>-<n>.case.yaml（可用 yibaolang run 重现）")
@click.option("--prove", is_flag=True,
              help="用 z3 证明断言、支付不超过费用、支付随费用不减（需要 pip install 'yibaolang[prove]'）")
@table_option
@guarded
def check(paths: tuple[str, ...], fmt: str, strict: bool, counter_dir: str | None, prove: bool,
          tables: dict[str, str]) -> None:
    """检查政策文件：语法、名称、类型与单位，以及一致性（分段、查表、例外、上级约束、断言与反例）。

    \b
    示例：
      yibaolang check policies/tianjin_2016.ybl
      yibaolang check --strict policies stdlib
    """
    from yibaolang.analysis.lint import check_policy
    from yibaolang.checks.compiler import policy_files, unique
    from yibaolang.diagnostics import Severity, has_errors, summary_line
    from yibaolang.tools.tables import check_tables

    prover = None
    if prove:
        from yibaolang.analysis import prove as prove_module

        if not prove_module.available():
            click.echo("错误：--prove 需要 z3-solver，请先安装：pip install 'yibaolang[prove]'", err=True)
            sys.exit(2)
        prover = prove_module
    diagnostics: list[Any] = []
    files = policy_files(list(paths), diagnostics)
    programs = []
    for file in files:
        program = check_policy(file)
        programs.append(program)
        diagnostics.extend(program.diagnostics)
        if prover is not None and not has_errors(program.diagnostics):
            seen = {(d.code, d.span) for d in program.diagnostics}
            diagnostics.extend(d for d in prover.prove(program) if (d.code, d.span) not in seen)
    diagnostics.extend(check_tables(programs, tables))  # the data files of the 目录 (docs/itemized.md §3)
    diagnostics = unique(diagnostics)
    output = render_diagnostics(diagnostics, programs, fmt)
    if output:
        click.echo(output)
    if counter_dir is not None:
        _write_counterexamples(diagnostics, counter_dir, [f for p in programs for f in program_files(p)])
    if fmt == "text":
        click.echo(summary_line(diagnostics, len(files)))
    failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    if any(d.severity in failing for d in diagnostics):
        sys.exit(EXIT_INPUT)


def _write_counterexamples(diagnostics: list[Any], folder: str, inputs: list[str]) -> None:
    """Each counterexample carried by a diagnostic, as DIR/<code>-<n>.case.yaml."""
    from pathlib import Path

    from yibaolang.analysis.search import counterexample_of

    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(CANNOT_WRITE, f"无法创建文件夹 {folder}：{os_reason(exc)}", "请检查路径与权限") from None
    counts: dict[str, int] = {}
    for d in diagnostics:
        case = counterexample_of(d)
        if case is None:
            continue
        counts[d.code] = counts.get(d.code, 0) + 1
        path = out / f"{d.code}-{counts[d.code]}.case.yaml"
        head = (f"# {d.code} {d.location}: {d.message}\n"
                f"# 重现：yibaolang run {d.span.file} --case {path.as_posix()}\n")
        write_text(path, head + case, inputs)
        click.echo(f"已写入反例 {path.as_posix()}", err=True)


@main.command("ir")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@guarded
def ir_command(file: str) -> None:
    """以 JSON 打印政策文件的中间表示（IR）。

    \b
    示例：
      yibaolang ir policies/tianjin_2016.ybl
    """
    from yibaolang.checks.compiler import compile_policy
    from yibaolang.diagnostics import has_errors
    from yibaolang.ir.irjson import dump

    program = compile_policy(file)
    click.echo(dump(program.root.module))
    if has_errors(program.diagnostics):
        click.echo(render_diagnostics([d for d in program.diagnostics if d.is_error], [program], "text"), err=True)
        sys.exit(EXIT_INPUT)



# ---------------------------------------------------------------------- evaluation: run, explain, test


def _date_option(ctx: Any, param: Any, value: str | None) -> Any:
    """--date: YYYY-MM-DD (or 2025年3月1日)."""
    from yibaolang.semantics.values import parse_date_text

    if value is None:
        return None
    date = parse_date_text(value)
    if date is None:
        raise click.BadParameter(f"不是有效的日期：{value}（应写作 YYYY-MM-DD）", ctx, param)
    return date


def _error_rate_option(ctx: Any, param: Any, value: str | None) -> Any:
    """--max-error-rate: 5%, 0.5% or 0.05 (docs/batch.md 出错的行与合计; a bad value is YB483)."""
    if value is None:
        return None
    from yibaolang.tools.accounting import parse_bound

    try:
        return parse_bound(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}（YB483）", ctx, param) from None


MAX_ERROR_RATE_HELP = "出错的行超过这个比例（如 5% 或 0.05）时停止，不写结果（前 1,000 行之后检查）"


def _case_options(verb: str) -> Callable[[F], F]:
    """POLICY, --case, --output and --date, shared by `run` and `explain` (`verb`: what is done to the figures)."""

    def apply(command: F) -> F:
        for option in reversed([
            click.argument("policy", type=click.Path(exists=True, dir_okay=False)),
            click.option("--case", "case_path", type=click.Path(exists=True, dir_okay=False),
                         help="案例文件（YAML 或 JSON）"),
            click.option("--output", "outputs", multiple=True, metavar="NAME",
                         help=f"要{verb}的数额（可多次；默认为政策的 输出）"),
            click.option("--date", "date", default=None, metavar="YYYY-MM-DD", callback=_date_option,
                         help="计算日期，覆盖案例中的 计算日期"),
            # docs/batch.md 基金层 (tools/fund_run.py): given once per run; a single case leaves 全体 out without it.
            click.option("--fund", "fund", multiple=True, metavar="文件|名称=值",
                         help="基金层输入（全体.名称，每次运行给一次）：YAML/JSON 文件或 名称=值（可多次）；"
                              "单个案例给出时“全体”就是这一个案例"),
        ]):
            command = option(command)
        return command

    return apply


def _echo_problems(diagnostics: list[Any], program: Any = None, case: Any = None) -> None:
    """Diagnostics to stderr, each with its source line (policy or case file)."""
    from yibaolang.diagnostics import render_text

    for d in diagnostics:
        lines = None
        if case is not None and d.span.file == case.file:
            lines = case.lines
        elif program is not None:
            lines = _source_lines(program, d.span.file)
        click.echo(render_text(d, lines), err=True)


def _compile_or_exit(policy: str, tables: dict[str, str] | None = None) -> Any:
    """The checked program, with the `--table` overrides of its 目录 (tools/tables.py); exit 1 on errors."""
    from yibaolang.checks.compiler import compile_policy
    from yibaolang.diagnostics import has_errors
    from yibaolang.tools.tables import apply_tables

    program = compile_policy(policy)
    if has_errors(program.diagnostics):
        _echo_problems([d for d in program.diagnostics if d.is_error], program)
        sys.exit(EXIT_INPUT)
    problems = apply_tables(program, tables or {})
    if problems:  # YB469: a --table name the policy does not declare
        _echo_problems(problems, program)
        sys.exit(EXIT_INPUT)
    return program


def _case_or_exit(program: Any, case_path: str | None) -> Any:
    from yibaolang.engines.cases import load_case_file, validate

    if case_path is None:
        raise click.UsageError("需要 --case 案例文件（YAML 或 JSON）")
    raw, problems = load_case_file(case_path)
    if raw is None or problems:
        _echo_problems(problems, program, raw)
        sys.exit(EXIT_INPUT)
    case, problems = validate(program, raw)
    if problems:
        _echo_problems(problems, program, raw)
        sys.exit(EXIT_INPUT)
    return case


def cases_location(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--cases: a file that exists, or a database table / Excel sheet (docs/batch.md 数据源)."""
    if value is None:
        return None
    from yibaolang.tools.sources import is_location

    if is_location(value) and "://" in value:
        return value
    path = value.partition("?")[0] if is_location(value) else value
    if not os.path.exists(path) or os.path.isdir(path):  # a FIFO or a device is refused later, with its reason
        what = "是一个文件夹" if os.path.isdir(path) else "不存在"
        raise click.BadParameter(f"文件 {path} {what}", ctx=ctx, param=param)
    return value


def source_options(func: F) -> F:
    """--query, --encoding, --replace, --bom: shared by run --cases and compare (docs/batch.md 数据源)."""
    func = click.option("--bom/--no-bom", default=True, show_default=True,
                        help="CSV 结果以 UTF-8 BOM 开头（Excel 据此认出 UTF-8）")(func)
    func = click.option("--replace", is_flag=True, help="结果表已存在时替换它（新表完整写好后才替换）")(func)
    func = click.option("--encoding", default=None, metavar="编码",
                        help="CSV 案例文件的编码（默认自动识别 UTF-8 与 GB18030/GBK）")(func)
    return click.option("--query", default=None, metavar="SQL",
                        help="从数据库读取这个查询的结果（代替 ?table=）")(func)


@main.command()
@_case_options("计算")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="输出格式")
@click.option("--cases", "cases_path", callback=cases_location,
              help="批量计算：CSV、JSON Lines、Parquet、Excel 文件或数据库表（见 docs/batch.md）")
@click.option("-o", "--out", "out_file", help="批量计算的结果文件（格式按扩展名）或数据库表")
@source_options
@click.option("--keep-inputs", is_flag=True, help="批量计算：结果中保留输入列")
@click.option("--person", metavar="COL", help="批量计算：人员标识列，按人按统筹年度结算 累计 输入")
@click.option("--claim-date", metavar="COL", help="批量计算：理赔日期列（与 --person 一起用）")
@click.option("--family", metavar="COL", help="批量计算：家庭标识列（如 户号），家庭累计 的输入按家庭共用")
@click.option("--engine", type=click.Choice(["numpy", "dask", "interpreter"]), default="numpy", show_default=True,
              help="批量计算的引擎")
@click.option("--chunk-size", type=click.IntRange(1, 10_000_000), default=262_144, show_default=True,
              help="批量计算每块的行数")
@click.option("--scheduler", metavar="ADDR", help="--engine dask：dask.distributed 调度器地址")
@click.option("--max-error-rate", "max_error_rate", metavar="比例", callback=_error_rate_option,
              help="批量计算：" + MAX_ERROR_RATE_HELP)
@click.option("--summary", "summary_file", type=click.Path(dir_okay=False), default=None,
              help="批量计算：把汇总（出错的原因、各输出算出的行数、基金层）写成 JSON 文件")
@click.option("--items", "items", multiple=True, metavar="列表名=明细表",
              help="批量计算：列表输入的明细表（Parquet、CSV、JSON Lines），按 --key 与案例连接（docs/batch.md 明细）")
@click.option("--key", "key", default=None, metavar="列名", help="--items：结算单与明细表共有的键列（如 单据号）")
@table_option
@guarded
def run(policy: str, case_path: str | None, outputs: tuple[str, ...], date: Any, fund: tuple[str, ...], fmt: str,
        cases_path: str | None, out_file: str | None, query: str | None, encoding: str | None, replace: bool,
        bom: bool, keep_inputs: bool, person: str | None, claim_date: str | None, family: str | None, engine: str,
        chunk_size: int, scheduler: str | None, max_error_rate: Any, summary_file: str | None,
        items: tuple[str, ...] = (), key: str | None = None, tables: dict[str, str] | None = None) -> None:
    """计算一个案例；或用 --cases 批量计算一个文件中的所有案例。

    \b
    示例：
      yibaolang run examples/tianjin_daibing.ybl --case examples/tianjin_daibing.case.yaml
      yibaolang run 政策.ybl --cases 理赔.csv -o 结果.csv --person 身份证号 --claim-date 结算日期
    """
    import json

    if cases_path is not None:
        from yibaolang.tools.batch import Options, run_command

        if case_path is not None or out_file is None:
            raise click.UsageError("--cases 需要 -o 结果文件，且不能与 --case 同时使用")
        if summary_file is not None:  # before the work, not after it (YB020)
            refuse_inputs(summary_file, [policy, cases_path.partition("?")[0], out_file])
        executor: Any = None
        if engine == "dask":
            from yibaolang.tools.dask_engine import run_dask as executor
        sys.exit(run_command(Options(policy, cases_path, out_file, outputs, date, keep_inputs, person, claim_date,
                                     engine, chunk_size, scheduler, query=query, encoding=encoding,
                                     replace=replace, bom=bom, max_error_rate=max_error_rate, report=fmt,
                                     family=family, fund=fund, summary=summary_file, items=items, key=key,
                                     tables=dict(tables or {})),
                             executor))
    if summary_file is not None:
        raise click.UsageError("--summary 只用于批量计算（--cases）")
    if items or key is not None:
        raise click.UsageError("--items 与 --key 只用于批量计算（--cases）：单个案例的明细写在案例文件里")

    from yibaolang.engines.evaluate import evaluate
    from yibaolang.semantics.values import display

    program = _compile_or_exit(policy, tables)
    case = _case_or_exit(program, case_path)
    claim_outputs, fund_outputs, fund_outcome = _case_fund(program, case, outputs, fund, date)
    outcome = evaluate(program, case, claim_outputs or None, date=date)
    errors = [d for d in outcome.diagnostics if d.is_error]
    if fmt == "json":
        from yibaolang.api import run_document  # the same document `yibaolang serve` answers

        document = run_document(program, outcome)
        if fund_outcome is not None:
            document["fund"] = fund_outcome.to_json()
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for out in outcome.outputs:
            if out.ok and not (fund_outputs and not claim_outputs):
                click.echo(f"{out.name} = {display(out.type, out.value)}")
        if fund_outcome is not None:
            from yibaolang.tools.fund_run import case_text

            click.echo("\n".join(case_text(fund_outcome, program)))
        for note in outcome.skipped:
            click.echo(f"提示：{note}", err=True)
    if outcome.diagnostics:
        _echo_problems(outcome.diagnostics, program)
    if errors or (fund_outcome is not None and fund_outcome.failed):
        sys.exit(EXIT_INPUT)


def _case_fund(program: Any, case: Any, outputs: tuple[str, ...], fund: tuple[str, ...], date: Any
               ) -> tuple[list[str], list[str], Any]:
    """A single case's --output split into claim and fund figures, and its fund level when --fund is given
    (docs/itemized.md §4: without --fund a single case leaves 全体 out; a 全体.x output is YB459)."""
    if not fund and not any(n.startswith("全体.") for n in outputs):
        return list(outputs), [], None
    from yibaolang.tools.fund_run import case_fund, parse_fund, split_outputs

    claim, fund_names, problems = split_outputs(program, outputs, bool(fund))
    fund_inputs, more = parse_fund(program, fund)
    problems += more
    if problems:
        _echo_problems(problems, program)
        sys.exit(EXIT_INPUT)
    return claim, fund_names, case_fund(program, case, fund_inputs, date)


@main.command()
@_case_options("解释")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html", "letter"]), default="text",
              show_default=True, help="输出格式（letter：给参保人的待遇结算告知书，HTML；-o 为 .pdf 时打印成 PDF）")
@click.option("-o", "--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="写入文件而不是标准输出")
@click.option("--what-if", "what_ifs", multiple=True, metavar="NAME=VALUE",
              help="假设某个输入取另一个值，并列显示哪些数额因此改变（可多次）")
@click.option("--partial", is_flag=True, help="计算有错误时仍写出 -o 文件（页面顶部注明未算出的数额）")
@click.option("--template", type=click.Path(exists=True, dir_okay=False), default=None,
              help="--format letter：经办机构自己的 Jinja2 模板（见 docs/letter.md）")
@click.option("--cases", "cases_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="一个人一年的理赔：CSV、JSON Lines 或 Parquet 案例文件（与 --person 一起用）")
@click.option("--person", default=None, metavar="ID", help="--cases：要说明的人员标识（如身份证号）")
@click.option("--person-column", default=None, metavar="COL", help="--cases：人员标识所在的列（默认自动找出）")
@click.option("--claim-date", default=None, metavar="COL", help="--cases：理赔日期列（默认自动找出）")
@click.option("--family", default=None, metavar="COL",
              help="--cases：家庭标识列；家庭累计 的输入按家庭共用，并列出计入家庭累计的其他成员的理赔")
@click.option("--width", type=click.IntRange(40, 400), default=None, hidden=True)
@table_option
@guarded
def explain(policy: str, case_path: str | None, outputs: tuple[str, ...], date: Any, fund: tuple[str, ...], fmt: str,
            out_file: str | None, what_ifs: tuple[str, ...], partial: bool, template: str | None,
            cases_path: str | None, person: str | None, person_column: str | None, claim_date: str | None,
            family: str | None, width: int | None, tables: dict[str, str] | None = None) -> None:
    """计算一个案例，并逐项说明每个数额的来历（条款、原文、公式）。

    \b
    示例：
      yibaolang explain examples/tianjin_daibing.ybl --case examples/tianjin_daibing.case.yaml
      yibaolang explain 政策.ybl --case 案例.yaml --format letter -o 告知书.pdf
      yibaolang explain 政策.ybl --cases 理赔.csv --person 110101199001011234
    """
    if fmt == "letter" or cases_path is not None or person is not None:
        if what_ifs:
            raise click.UsageError("--what-if 不能与 --format letter 或 --cases 同时使用（告知书只写实际的结算）")
        import importlib

        # Looked up like LAZY_COMMANDS: cmd_letter builds on this module's helpers.
        explain_letter = importlib.import_module("yibaolang.tools.cmd_letter").explain_letter
        sys.exit(explain_letter(policy, case_path, outputs, date, fmt, out_file, partial, template,
                                cases_path, person, person_column, claim_date, family))

    from yibaolang.diagnostics import Diagnostic
    from yibaolang.engines.cases import parse_assignment
    from yibaolang.engines.evaluate import evaluate
    from yibaolang.outputs.render import explanation, render

    program = _compile_or_exit(policy, tables)
    inputs = [*program_files(program), *([case_path] if case_path else [])]
    if out_file is not None:
        refuse_inputs(out_file, inputs)  # before the work, not after it
    case = _case_or_exit(program, case_path)
    claim_outputs, _, fund_outcome = _case_fund(program, case, outputs, fund, date)
    names = claim_outputs or None
    what_if = None
    if what_ifs:
        from yibaolang.api import what_if_outcomes  # shared with the workbench's what-if

        parsed_all = [parse_assignment(program, item) for item in what_ifs]
        problems = [p for p in parsed_all if isinstance(p, Diagnostic)]
        if problems:
            _echo_problems(problems, program)
            sys.exit(EXIT_INPUT)
        pairs = [p for p in parsed_all if not isinstance(p, Diagnostic)]
        outcome, what_if, changed, _ = what_if_outcomes(program, case, names, date, pairs)
    else:
        outcome = evaluate(program, case, names, trace=True, date=date)
    charts = {}
    if fmt == "html":  # the charts under 分段累进 figures: the figure's real values, computed before rendering
        from yibaolang.analysis.function import band_charts

        shown = changed if what_ifs else case
        charts = band_charts(program, dict(shown.values), outcome.date)
    document = explanation(program, outcome, what_if, charts)
    to_terminal = out_file is None and fmt == "text" and sys.stdout.isatty()
    if width is None:
        import os
        import shutil

        # COLUMNS counts for piped output too (shutil reads it first); without it a pipe gets 100.
        width = shutil.get_terminal_size((100, 24)).columns if to_terminal or os.environ.get("COLUMNS") else 100
        width = min(max(width, 40), 400)
    text = render(document, fmt, color=to_terminal, width=width)
    if fund_outcome is not None:  # --fund: the fund level of a run of this one case, after the explanation
        from yibaolang.tools.fund_run import case_text

        if fmt in ("text", "markdown"):
            text += "\n" + "\n".join(case_text(fund_outcome, program)) + "\n"
        else:
            click.echo("\n".join(case_text(fund_outcome, program)), err=True)
    if out_file is not None and not outcome.ok and not partial:
        _echo_problems(outcome.diagnostics, program)
        click.echo(f"未写入 {out_file}：计算有错误，有的数额没有算出（加 --partial 仍写出已算出的部分）", err=True)
        sys.exit(EXIT_INPUT)
    if out_file is not None:
        write_text(out_file, text, inputs)
        click.echo(f"已写入 {out_file}", err=True)
    else:
        click.echo(text, nl=False)
    if outcome.diagnostics:
        _echo_problems(outcome.diagnostics, program)
    if not outcome.ok:
        sys.exit(EXIT_INPUT)


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("-q", "--quiet", is_flag=True, help="只显示失败的样例")
@table_option
@guarded
def test_command(paths: tuple[str, ...], quiet: bool, tables: dict[str, str] | None = None) -> None:
    """运行政策中的 样例 与旁边的 *.cases.yaml。

    \b
    示例：
      yibaolang test policies/
      yibaolang test -q policies/tianjin_2016.ybl
    """
    from pathlib import Path

    from yibaolang.checks.compiler import compile_policy
    from yibaolang.diagnostics import has_errors
    from yibaolang.engines.cases import SampleResult, run_examples, run_suite, suites_beside
    from yibaolang.outputs.render.text import render_node_plain

    plan: dict[str, tuple[bool, list[str]]] = {}  # policy → (named explicitly, suites)

    def add(policy: Path, explicit: bool, suites: list[Path]) -> None:
        key = str(policy)
        named, known = plan.get(key, (False, []))
        plan[key] = (named or explicit, known + [str(s) for s in suites if str(s) not in known])

    failed_walk: list[str] = []
    for raw in paths or (".",):
        path = Path(raw)
        if path.is_dir():
            from yibaolang.analysis.lint.context import load_config
            from yibaolang.analysis.lint.settings import is_excluded
            from yibaolang.paths import find_project_root, walk_policies

            root = find_project_root(path)
            patterns = load_config(root).exclude  # [tool.yibaolang] exclude: e.g. deliberately broken fixtures
            found, skipped = walk_policies([raw])  # links confined to the project, nothing skipped silently
            for item in skipped:
                click.echo(f"{item.path}: 已跳过：{item.refusal.reason}", err=True)
                failed_walk.append(item.path)
            for policy in map(Path, found):
                if not is_excluded(policy, root, patterns):
                    add(policy, False, suites_beside(policy))
        elif path.name.endswith((".cases.yaml", ".cases.yml")):
            stem = path.name.rsplit(".cases.", 1)[0]
            policy = path.with_name(f"{stem}.ybl")
            if not policy.is_file():
                click.echo(f"{raw}: 找不到对应的政策文件 {policy}", err=True)
                add(path, True, [])
                continue
            add(policy, True, [path])
        else:
            add(path, True, suites_beside(path))
    passed, failed = 0, len(failed_walk)
    used_tables: set[str] = set()
    for policy_file, (explicit, suites) in plan.items():
        if not policy_file.endswith(".ybl") and not Path(policy_file).is_file():
            failed += 1
            continue
        if not explicit and not suites and "样例" not in _read_quietly(policy_file):
            continue
        program = compile_policy(policy_file)
        if tables and not has_errors(program.diagnostics):
            from yibaolang.tools.tables import apply_tables, declared_catalogs

            declared = declared_catalogs(program)  # each policy takes the --table names it declares
            apply_tables(program, {n: p for n, p in tables.items() if n in declared})
            used_tables.update(n for n in tables if n in declared)
        if has_errors(program.diagnostics):
            _echo_problems([d for d in program.diagnostics if d.is_error], program)
            click.echo(f"失败  {policy_file}：政策有错误，无法运行样例")
            failed += 1
            continue
        results: list[SampleResult] = run_examples(program, render_node_plain)
        for suite in suites:
            results.extend(run_suite(program, suite, render_node_plain))
        for result in results:
            if result.passed:
                passed += 1
                if not quiet:
                    click.echo(f"通过  {result.policy} {result.name}")
            else:
                failed += 1
                click.echo(f"失败  {result.policy} {result.name}")
                for line in result.details:
                    click.echo(f"      {line}")
    for name in sorted(set(tables or {}) - used_tables):  # YB469: no policy run declares it
        from yibaolang.diagnostics import error
        from yibaolang.tools.tables import option_span

        _echo_problems([error("YB469", option_span(name, (tables or {})[name]),
                              f"--table：运行的政策中没有名为 {name} 的目录",
                              "--table 目录名=路径 的目录名要与政策里 目录 声明的名称相同")])
        failed += 1
    click.echo(f"{passed} passed, {failed} failed")
    if failed:
        sys.exit(EXIT_INPUT)


def _read_quietly(path: str) -> str:
    from yibaolang.frontend.source import MAX_SOURCE_BYTES
    from yibaolang.paths import ReadRefused, read_limited

    try:  # kind and size first: a FIFO named *.ybl must not block `test DIR`
        return read_limited(path, MAX_SOURCE_BYTES).decode("utf-8", "replace")
    except ReadRefused:
        return "样例"  # let compile_policy report why it cannot be read


if __name__ == "__main__":
    main()
