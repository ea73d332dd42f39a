"""`yibaolang fmt`: rewrite policy files in the canonical layout (docs/fmt.md).

Only click is imported here at module level; the formatter and the parser are
imported when the command runs, so the CLI starts fast.  `yibaolang.tools.cli` (for
`guarded`) is imported then too: cli.py imports this module on its last line,
so importing cli from here at load time would be circular when this module is
loaded first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_INPUT = 1
EXIT_INTERNAL = 70
STDIN = "-"


@click.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True))
@click.option("--check", "check_only", is_flag=True, help="只检查不改写：列出需要格式化的文件，有则退出码为 1")
@click.option("--diff", "show_diff", is_flag=True, help="显示格式化前后的差异（unified diff），不改写文件")
@click.option("--debug", is_flag=True, hidden=True, help="出错时显示 Python 回溯")
def fmt(paths: tuple[str, ...], check_only: bool, show_diff: bool, debug: bool) -> None:
    """把政策文件排成统一格式（缩进、空格、表格对齐），保留注释与空行。

    PATH 是 .ybl 文件或文件夹（递归查找其中的 .ybl）；“-” 表示从标准输入读、向标准输出写。

    有语法错误的文件原样不动，报告错误并以退出码 1 结束。
    """
    from typing import Any

    from yibaolang.tools.cli import guarded

    run: Any = guarded(format_paths)  # the wrapper takes --debug
    run(paths, check_only, show_diff, debug=debug)


def format_paths(paths: tuple[str, ...], check_only: bool, show_diff: bool) -> None:
    import difflib
    from typing import Any

    from yibaolang.checks.compiler import policy_files
    from yibaolang.diagnostics import error, render_text
    from yibaolang.frontend.source import MAX_SOURCE_BYTES, SourceError, decode
    from yibaolang.ir import Span
    from yibaolang.paths import ReadRefused, read_limited
    from yibaolang.tools.fmt import FormatError, format_source

    if STDIN in paths and len(paths) > 1:
        raise click.UsageError("“-”（标准输入）不能与其他路径同时使用")
    skipped: list[Any] = []
    files = [STDIN] if STDIN in paths else policy_files(list(paths), skipped)

    changed = unchanged = failed = broken = 0
    for problem in skipped:  # links out of the project and unreadable folders: reported, never written through
        click.echo(render_text(problem, None), err=True)
        failed += 1
    for file in files:
        try:
            data = sys.stdin.buffer.read() if file == STDIN else read_limited(file, MAX_SOURCE_BYTES)
        except ReadRefused as exc:  # size and kind checked before reading: a FIFO never blocks
            click.echo(f"{file}: 错误：无法读取文件（{exc.refusal.reason}）", err=True)
            failed += 1
            continue
        name = "<标准输入>" if file == STDIN else file
        try:
            source = decode(name, data)
        except SourceError as exc:
            span = Span(name, exc.line, exc.column, exc.line, exc.column + 1)
            click.echo(render_text(error(exc.code, span, exc.message, exc.hint), None), err=True)
            failed += 1
            continue
        try:
            result = format_source(source)
        except FormatError as exc:
            click.echo(f"{name}: 内部错误：{exc}，文件未改动；这是 yibaolang 的缺陷，请附上文件报告给维护者",
                       err=True)
            broken += 1
            continue
        if result.text is None:
            lines = source.original.split("\n")
            for d in result.diagnostics:
                click.echo(render_text(d, lines), err=True)
            click.echo(f"{name}: 有语法错误，未格式化", err=True)
            failed += 1
            continue
        new = result.text.encode("utf-8")
        if file == STDIN and not (check_only or show_diff):
            click.echo(result.text, nl=False)
            continue
        if new == data:
            unchanged += 1
            continue
        changed += 1
        if show_diff:
            diff = difflib.unified_diff(source.original.splitlines(keepends=True),
                                        result.text.splitlines(keepends=True), name, name)
            click.echo("".join(line if line.endswith("\n") else line + "\n" for line in diff), nl=False)
        elif check_only:
            click.echo(name)
        else:
            from yibaolang.files import OutputError

            try:
                replace_atomically(Path(file), new)
            except OutputError as exc:  # one unwritable file does not stop the others
                click.echo(exc.render(), err=True)
                failed += 1
                changed -= 1

    if changed + unchanged:
        verb = "需要格式化" if (check_only or show_diff) else "已格式化"
        click.echo(f"{changed} 个文件{verb}，{unchanged} 个文件无需改动", err=True)
    if broken:
        sys.exit(EXIT_INTERNAL)
    if failed or (check_only and changed):
        sys.exit(EXIT_INPUT)


def replace_atomically(target: Path, data: bytes) -> None:
    """Write beside the file, then rename over it (yibaolang.files): no reader ever sees half a file."""
    from yibaolang.files import write_bytes

    target = target.resolve()  # through a symbolic link: rewrite the file it points to, keep the link
    write_bytes(target, data, mode=target.stat().st_mode)
