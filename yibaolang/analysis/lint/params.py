"""Dated parameters: versions outside the policy's 施行/失效 dates."""

from __future__ import annotations

from collections.abc import Iterator

from yibaolang.analysis.lint.context import LintContext
from yibaolang.diagnostics import Diagnostic, warning


def check(ctx: LintContext) -> Iterator[Diagnostic]:
    header = ctx.module.header
    if header is None:
        return
    for param in ctx.module.params:
        for version in param.versions:
            start = version.start
            if start is None:
                continue
            if header.expires is not None and start >= header.expires:
                yield warning("YB551", version.span,
                              f"参数 {param.name} 的版本自 {start.isoformat()} 起，但政策 {header.expires.isoformat()} 失效",
                              "核对日期：失效之后的版本永远用不到", clause=param.clause)
            if header.effective is not None and start < header.effective and version is not param.versions[0]:
                yield warning("YB551", version.span,
                              f"参数 {param.name} 的版本自 {start.isoformat()} 起，早于政策施行日 {header.effective.isoformat()}",
                              "核对日期：施行之前的版本通常不需要", clause=param.clause)
