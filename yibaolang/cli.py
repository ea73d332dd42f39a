"""The `yibaolang` command line (CLI.md): check, ir, and the evaluation commands.

Heavy modules are imported inside the commands that need them, so a cold
`yibaolang check` stays fast.  Every command turns bad input into diagnostics
and an exit code; an unexpected internal error prints one line asking for a
bug report (the traceback only under --debug).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

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
        except KeyboardInterrupt:
            click.echo("已中断", err=True)
            sys.exit(130)
        except RecursionError:
            click.echo("错误：表达式或引用嵌套过深，无法处理", err=True)
            sys.exit(EXIT_INPUT)
        except MemoryError:
            click.echo("错误：内存不足", err=True)
            sys.exit(EXIT_INPUT)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yibaolang", message="yibaolang %(version)s")
def main() -> None:
    """易保语 yibaolang：医保政策规则的声明式语言。"""


def _source_lines(program: Any, file: str) -> list[str] | None:
    for scope in program.modules.values():
        if scope.path == file:
            return scope.source.original.splitlines()
    return None


def render_diagnostics(diagnostics: list[Any], programs: list[Any], fmt: str) -> str:
    from yibaolang.diagnostics import render_json, render_text

    if fmt == "json":
        return render_json(diagnostics)
    if fmt == "sarif":
        from yibaolang.sarif import render_sarif

        return render_sarif(diagnostics)
    blocks = []
    for d in diagnostics:
        lines = None
        for program in programs:
            lines = _source_lines(program, d.span.file)
            if lines is not None:
                break
        blocks.append(render_text(d, lines))
    return "\n".join(blocks)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="输出格式")
@click.option("--strict", is_flag=True, help="警告也视为错误（退出码 1）")
@guarded
def check(paths: tuple[str, ...], fmt: str, strict: bool) -> None:
    """检查政策文件：语法、名称、类型与单位。"""
    from yibaolang.compiler import compile_policy, policy_files, unique
    from yibaolang.diagnostics import Severity, summary_line

    files = policy_files(list(paths))
    programs = []
    diagnostics = []
    for file in files:
        program = compile_policy(file)
        programs.append(program)
        diagnostics.extend(program.diagnostics)
    diagnostics = unique(diagnostics)
    output = render_diagnostics(diagnostics, programs, fmt)
    if output:
        click.echo(output)
    if fmt == "text":
        click.echo(summary_line(diagnostics, len(files)), err=bool(diagnostics))
    failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    if any(d.severity in failing for d in diagnostics):
        sys.exit(EXIT_INPUT)


@main.command("ir")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@guarded
def ir_command(file: str) -> None:
    """以 JSON 打印政策文件的中间表示（IR）。"""
    from yibaolang.compiler import compile_policy
    from yibaolang.diagnostics import has_errors
    from yibaolang.irjson import dump

    program = compile_policy(file)
    click.echo(dump(program.root.module))
    if has_errors(program.diagnostics):
        click.echo(render_diagnostics([d for d in program.diagnostics if d.is_error], [program], "text"), err=True)
        sys.exit(EXIT_INPUT)


if __name__ == "__main__":
    main()
