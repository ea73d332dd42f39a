"""Lints: the drafter's consistency review, run by `yibaolang check` after type checking.

Each lint family lives in its own module and exposes `check(ctx)`, a generator
of Diagnostics; `LINTS` below is the order they run in.  Codes are YB5xx:

- YB50x bands and steps (分段累进, 分档)        — bands.py
- YB51x numbers (ratios, caps, unit slips)      — numbers.py
- YB52x tables and cases (查表, 分情况)          — tables.py
- YB53x definitions (unused, duplicates, constant conditions) — definitions.py
- YB54x exceptions                              — exceptions.py
- YB55x dated parameters                        — params.py
- YB56x citations (条款, 原文)                   — citations.py
- YB57x higher-level constraints (依据/约束)     — constraints.py
- YB58x assertions and universal properties     — properties.py

Diagnostics on a line that carries `# 忽略 YB5xx` are dropped; projects may
disable codes or change severities in `[tool.yibaolang]` of pyproject.toml.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from yibaolang.analysis.lint.context import LintConfig, LintContext, load_config
from yibaolang.checks.compiler import compile_policy
from yibaolang.checks.resolve import Program
from yibaolang.diagnostics import Diagnostic, Severity

Lint = Callable[[LintContext], Iterable[Diagnostic]]

_SUPPRESS = re.compile(r"#\s*忽略\s+((?:YB\d{3}[\s,，、]*)+)")


def lints() -> tuple[Lint, ...]:
    from yibaolang.analysis.lint import (
        bands,
        citations,
        constraints,
        definitions,
        exceptions,
        numbers,
        params,
        properties,
        tables,
    )

    return (bands.check, numbers.check, tables.check, definitions.check, exceptions.check, params.check,
            citations.check, constraints.check, properties.check)


def run(program: Program, config: LintConfig | None = None, extra: tuple[Lint, ...] = ()) -> Program:
    """The lint pass: append every finding about the root module to the program."""
    from yibaolang.diagnostics import has_errors

    config = config or load_config(program.project_root)
    program.diagnostics.extend(config.problems)  # YB008: the project's settings that were ignored
    if has_errors(program.diagnostics):
        return program  # lints reason about a well-typed program only
    ctx = LintContext(program, config)
    found: list[Diagnostic] = []
    for lint in (*lints(), *extra):
        found.extend(lint(ctx))
    program.diagnostics.extend(apply_config(found, program, config))
    return program


def check_policy(path: str | Path, overrides: dict[str, str] | None = None) -> Program:
    """The front end and then the lints: what `yibaolang check` and the language server report."""
    return compile_policy(path, overrides, extra=(run,))


def suppressed_codes(line: str) -> set[str]:
    """Codes silenced by a `# 忽略 YB531` comment on this line.

    >>> sorted(suppressed_codes("定义 甲 = 1  # 忽略 YB531、YB560 示例"))
    ['YB531', 'YB560']
    """
    match = _SUPPRESS.search(line)
    return set(re.findall(r"YB\d{3}", match.group(1))) if match else set()


def apply_config(found: list[Diagnostic], program: Program, config: LintConfig) -> list[Diagnostic]:
    import attrs

    out = []
    lines_of: dict[str, list[str]] = {}
    for d in found:
        if d.code in config.disabled:
            continue
        scope = program.modules.get(d.span.file)
        if scope is not None:
            lines = lines_of.get(d.span.file)
            if lines is None:
                lines = lines_of[d.span.file] = scope.source.original.splitlines()
            if 1 <= d.span.line <= len(lines) and d.code in suppressed_codes(lines[d.span.line - 1]):
                continue
        level = config.severity.get(d.code)
        if level is not None:
            d = attrs.evolve(d, severity=Severity(level))
        out.append(d)
    return out
