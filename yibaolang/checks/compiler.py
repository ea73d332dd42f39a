"""The front half of the pipeline, with the pass order as data.

    source → syntax.parse → lower → resolve.load_program → typecheck [→ extra passes]

`compile_policy(path)` runs every pass and returns the Program with all the
diagnostics of all the files it read.  The consistency lints sit two layers up
(analysis); `yibaolang.analysis.lint.check_policy` hands them in as an extra pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from yibaolang.checks.nesting import check_nesting
from yibaolang.checks.resolve import Program, load_program
from yibaolang.checks.typecheck import check_program
from yibaolang.diagnostics import Diagnostic, error, sort_key

Pass = Callable[[Program], Program]

# Passes over a loaded Program, in order.  Each appends to program.diagnostics.
PASSES: tuple[Pass, ...] = (check_nesting, check_program)


def compile_policy(path: str | Path, overrides: dict[str, str] | None = None, *,
                   extra: Sequence[Pass] = ()) -> Program:
    """Run the front end, then the `extra` passes (the lints of `yibaolang check`), in order."""
    program = load_program(path, overrides)
    for run in (*PASSES, *extra):
        program = run(program)
    program.diagnostics[:] = unique(program.diagnostics)
    return program


def unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for d in sorted(diagnostics, key=sort_key):
        key = (d.code, d.span, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def policy_files(paths: list[str], problems: list[Diagnostic]) -> list[str]:
    """The .ybl files named or found (recursively) under the folders named.

    The walk is `yibaolang.paths.walk_policies` (links confined to the project
    root); every file or folder it skips is appended to `problems` (YB003).
    """
    from yibaolang.ir import Span
    from yibaolang.paths import walk_policies

    files, skipped = walk_policies(paths)
    for item in skipped:
        problems.append(error("YB003", Span(item.path, 0, 0, 0, 0), f"已跳过：{item.refusal.reason}",
                              "check 与 fmt 只读取项目文件夹与标准库之内的普通文件"))
    return files
