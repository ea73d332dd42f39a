"""The front half of the pipeline, with the pass order as data.

    source → syntax.parse → lower → resolve.load_program → typecheck → lint

`compile_policy(path)` runs every pass and returns the Program with all the
diagnostics of all the files it read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from yibaolang.checks.resolve import Program, load_program
from yibaolang.checks.typecheck import check_program
from yibaolang.diagnostics import Diagnostic, sort_key

Pass = Callable[[Program], Program]

# Passes over a loaded Program, in order.  Each appends to program.diagnostics.
PASSES: tuple[Pass, ...] = (check_program,)


def compile_policy(path: str | Path, overrides: dict[str, str] | None = None, *, lint: bool = False) -> Program:
    """Run the front end; with `lint`, also the consistency lints (`yibaolang check`)."""
    program = load_program(path, overrides)
    for run in PASSES:
        program = run(program)
    if lint:
        from yibaolang.analysis.lint import run as run_lints

        program = run_lints(program)
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


def policy_files(paths: list[str]) -> list[str]:
    """The .ybl files named or found (recursively) under the folders named."""
    out: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(str(p) for p in sorted(path.rglob("*.ybl")) if p.is_file())
        else:
            out.append(raw)
    return out
