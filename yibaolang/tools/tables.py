"""`--table 目录名=路径`: the one shared click option (docs/itemized.md §3, docs/cli.md).

Every command that runs or checks a policy with 目录 declarations takes the
same option, spelled the same way and parsed by the same code:

    @main.command()
    @table_option
    def run(..., tables: dict[str, str]) -> None:
        program = _compile_or_exit(policy)
        problems = apply_tables(program, tables)   # unknown names → YB469
        ...

`table_option` parses each value (repeatable) into ``{目录名: 路径}``; a value
that is not ``名称=路径`` is a click usage error in Chinese (exit code 2).
Whether the name is a 目录 of the policy can only be known once the policy is
compiled: `apply_tables` checks it (with a did-you-mean hint), and stores the
overrides in `Program.tables`, which `engines/catalogs.py` reads.  The path
itself is checked when the catalog is loaded (relative to the current folder,
confined to the policy's project root: `paths.resolve_data_file`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import click

from yibaolang.diagnostics import Diagnostic, closest, error
from yibaolang.ir import Span

F = TypeVar("F", bound=Callable[..., Any])

OPTION = "--table"
METAVAR = "目录名=路径"


def option_span(name: str, path: str) -> Span:
    """Where a diagnostic about one `--table` value points: the option itself (no line).

    The same as `engines.catalogs.table_span` (written here too: this module is imported by every command
    and must not import the engines).
    """
    return Span(f"{OPTION} {name}={path}", 0, 0, 0, 0)


def parse_tables(values: Iterable[str]) -> dict[str, str]:
    """``["医保目录=a.csv", …]`` → ``{"医保目录": "a.csv"}``; ValueError (Chinese) for a malformed value."""
    tables: dict[str, str] = {}
    for raw in values:
        name, sep, path = raw.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise ValueError(f"{raw!r} 不是 目录名=路径 的形式（例如 --table 医保目录=数据/医保目录2025.csv）")
        if name in tables and tables[name] != path:
            raise ValueError(f"目录 {name} 给了两次（{tables[name]} 与 {path}），只能给一次")
        tables[name] = path
    return tables


def _callback(ctx: click.Context, param: click.Parameter, value: Sequence[str] | None) -> dict[str, str]:
    try:
        return parse_tables(value or ())
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def table_option(command: F) -> F:
    """Adds ``--table 目录名=路径`` (repeatable); the command receives ``tables: dict[str, str]``."""
    return click.option(
        OPTION, "tables", multiple=True, metavar=METAVAR, callback=_callback,
        help="用另一份数据文件代替政策中 目录 声明的文件（可多次；路径相对于当前文件夹，须在项目文件夹之内）",
    )(command)


def declared_catalogs(program: Any) -> list[str]:
    """The names of the 目录 declared by the policy (imported modules hold none: YB338)."""
    names: list[str] = []
    for scope in program.modules.values():
        names.extend(n for n in scope.catalogs if n not in names)
    return names


def apply_tables(program: Any, tables: dict[str, str]) -> list[Diagnostic]:
    """Store the overrides in `program.tables`; YB469 for each name that is not a declared 目录."""
    known = declared_catalogs(program)
    program.tables = {**program.tables, **{n: p for n, p in tables.items() if n in known}}
    return unknown_tables(tables, known)


def check_tables(programs: Sequence[Any], tables: dict[str, str]) -> list[Diagnostic]:
    """`check`: the data of every 目录 of the policies checked, and YB469 for a name none of them declares.

    A policy with errors is not read further (its declarations may be wrong); a policy without 目录
    reads nothing.
    """
    from yibaolang.diagnostics import has_errors
    from yibaolang.engines.catalogs import check_catalogs

    known: list[str] = []
    for program in programs:
        own = declared_catalogs(program)
        known.extend(n for n in own if n not in known)
        program.tables = {**program.tables, **{n: p for n, p in tables.items() if n in own}}
    problems = unknown_tables(tables, known)
    for program in programs:
        if declared_catalogs(program) and not has_errors(program.diagnostics):
            problems.extend(check_catalogs(program))
    return problems


def unknown_tables(tables: dict[str, str], known: Sequence[str]) -> list[Diagnostic]:
    """YB469 for each `--table` name that is not in `known` (the declared 目录), with a did-you-mean hint."""
    problems: list[Diagnostic] = []
    for name, path in tables.items():
        if name in known:
            continue
        guess = closest(name, known)
        if guess is not None:
            hint = f"是否想写 {OPTION} {guess}={path}？"
        elif known:
            hint = "政策声明的目录有：" + "、".join(known)
        else:
            hint = "这份政策没有 目录 声明，不需要 --table"
        problems.append(error("YB469", option_span(name, path), f"{OPTION}：政策中没有名为 {name} 的目录", hint))
    return problems
