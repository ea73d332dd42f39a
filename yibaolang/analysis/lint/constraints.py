"""Higher-level constraints (docs/language.md §31): `依据 "…"` and the cited policy's 约束.

For each 约束 of the cited policy, the figures of the same names in this
policy are evaluated over every combination of the enumeration and truth-value
inputs they depend on (and each 计算日期 that selects a parameter version),
plus the searched points for numeric inputs; the constraint is then evaluated
in the cited policy with those values standing for its 要求 figures.

- YB570 (error): a case where the constraint fails, citing this policy's
  clause of the figure and the cited policy's clause of the 约束, with the values.
- YB571 (warning): a 要求 figure this policy does not define.
"""

from __future__ import annotations

import decimal
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from yibaolang import ir
from yibaolang.analysis import search
from yibaolang.analysis.lint.context import LintContext
from yibaolang.analysis.search import SearchCase, Space
from yibaolang.checks.resolve import Program, SymbolKind, display_path, lookup
from yibaolang.diagnostics import Diagnostic, error, has_errors, warning
from yibaolang.ir.printer import expr_text
from yibaolang.ir.walk import names as names_in
from yibaolang.semantics.values import display

MAX_COMBINATIONS = 512
_CITED: dict[tuple[str, float, str], Program] = {}


def check(ctx: LintContext) -> Iterator[Diagnostic]:
    for basis in ctx.module.bases:
        path = locate(ctx, basis)
        if path is None:
            continue  # YB313, reported by the type checker
        cited = _compile(path)
        if cited is None or has_errors(cited.diagnostics):
            continue
        yield from _check_basis(ctx, basis, cited)


def locate(ctx: LintContext, basis: ir.Basis) -> Path | None:
    """The cited file, through the one resolver (confined to the roots; YB313 says why not)."""
    from yibaolang.checks.resolve import locate_basis

    found = locate_basis(ctx.program, ctx.scope, basis)
    return found if isinstance(found, Path) else None


def _compile(path: Path) -> Program | None:
    from yibaolang.checks.compiler import compile_policy

    shown = display_path(path)  # relative to the working folder: part of every span, so part of the key
    key = (str(path), path.stat().st_mtime, shown)
    if key not in _CITED:
        _CITED[key] = compile_policy(shown)
    return _CITED[key]


def _document(program: Program) -> str:
    header = program.root.module.header
    if header is not None and header.doc_number:
        return header.doc_number
    if header is not None:
        return f"《{header.name}》"
    return program.root.path


def _check_basis(ctx: LintContext, basis: ir.Basis, cited: Program) -> Iterator[Diagnostic]:
    module = cited.root.module
    defined: dict[str, Any] = {}
    document = _document(cited)
    for requirement in module.requirements:
        found = lookup(ctx.scope, ir.Name(requirement.name, None, basis.span))
        if found is None or found.symbol.kind not in (SymbolKind.DEFINITION, SymbolKind.PARAM):
            clause = f"条款 {requirement.clause} " if requirement.clause else ""
            yield warning(
                "YB571", basis.span,
                f"依据的 {document} {clause}要求定义“{requirement.name}”，本政策没有定义它",
                f"用 定义 {requirement.name} : {requirement.type.display} = … 给出它，上级的约束才能检查",
                related=((requirement.span, f"{document} 的 要求"),))
            continue
        defined[requirement.name] = found
    space = search.space(ctx.program, ctx.config)
    for constraint in module.constraints:
        names = [n.name for n in names_in(constraint.condition)
                 if n.qualifier is None and n.name in {r.name for r in module.requirements}]
        names = list(dict.fromkeys(names))
        if not names or any(n not in defined for n in names):
            continue
        holds = _condition(cited, constraint.condition)
        if holds is None:
            continue
        violation = _violation(ctx, space, names, holds)
        if violation is None:
            continue
        case, values, count, relevant = violation
        yield _report(ctx, space, basis, cited, document, constraint, names, defined, case, values, count, relevant)


def _cases(ctx: LintContext, space: Space, relevant: set[str]) -> Iterator[SearchCase]:
    """Every combination of the discrete inputs (and 计算日期), then the searched points."""
    if space.outside(relevant) is not None:
        return  # the search builds no case of these inputs (a list's lines, a 全体. input)
    discrete = [n for n in space.inputs if n in relevant and space.inputs[n].discrete]
    axes = [*(space.inputs[n].candidates for n in discrete), space.dates]
    base = space.typical_values()
    for row in itertools.islice(itertools.product(*axes), MAX_COMBINATIONS):
        values = dict(base)
        values.update(zip(discrete, row[:-1], strict=True))
        yield SearchCase(values, row[-1])
    if any(n in space.inputs and not space.inputs[n].discrete for n in relevant):
        yield from space.all_cases(relevant)


def _violation(ctx: LintContext, space: Space, names: list[str],
               holds: Callable[[dict[str, Any], Any], bool | None]) -> tuple[SearchCase, dict[str, Any], int,
                                                                          list[str]] | None:
    where = search.at_root(ctx.program)
    relevant = search.depends_on(ctx.program, [(ir.Name(n, None, ir.NO_SPAN), where) for n in names])
    first: tuple[SearchCase, dict[str, Any]] | None = None
    count = 0
    seen: set[tuple[Any, ...]] = set()
    for case in _cases(ctx, space, relevant):
        key = (*(case.values.get(n) for n in sorted(relevant)), case.date)
        if key in seen:
            continue
        seen.add(key)
        outcome = space.run(case, names)
        values = {o.name: o.value for o in outcome.outputs if o.ok}
        if len(values) != len(names):
            continue
        if holds(values, outcome.date) is False:
            count += 1
            if first is None:
                first = (case, values)
    if first is None:
        return None
    return first[0], first[1], count, sorted(relevant, key=list(space.inputs).index)


def _condition(cited: Program, condition: ir.Expr) -> Callable[[dict[str, Any], Any], bool | None] | None:
    """The 约束 as a function of its 要求 figures' values, evaluated by the cited policy's evaluator.

    The figures' slots are filled in before the condition runs, so the
    interpreter's own comparison rules decide (not a second implementation).
    """
    from yibaolang.engines.evaluate import Env, Frame, evaluator_for
    from yibaolang.semantics.values import CONTEXT

    try:
        evaluator = evaluator_for(cited, False)
        inst = evaluator.root
        fn = evaluator.expr(condition, Env(inst)).fn
    except Exception:
        return None
    slots = {name: fig.slot for name, fig in evaluator.figures_of(inst).items()}

    def holds(values: dict[str, Any], date: Any) -> bool | None:
        frame = Frame({}, evaluator.nslots, date)
        for name, value in values.items():
            if name in slots:
                frame.memo[slots[name]] = value
        try:
            with decimal.localcontext(CONTEXT):
                return bool(fn(frame))
        except Exception:  # the constraint reads something the values do not give
            return None

    return holds


def _report(ctx: LintContext, space: Space, basis: ir.Basis, cited: Program, document: str,
            constraint: ir.Constraint, names: list[str], defined: dict[str, Any], case: SearchCase,
            values: dict[str, Any], count: int, relevant: list[str]) -> Diagnostic:
    first = defined[names[0]]
    symbol = first.symbol
    own = first.via is None
    span = symbol.decl.span if own else basis.span
    clause = symbol.clause if own else None
    here = f"本政策条款 {clause}" if clause else "本政策"
    when = "，".join(f"{n} = {search.case_value_text(space.inputs[n].info.type, case.values[n])}"
                     for n in relevant if n in space.inputs and n in case.values and space.inputs[n].discrete)
    shown = "，".join(f"{n} = {display(ctx.program.types[defined[n].symbol.key], values[n])}" for n in names)
    if case.date is not None:
        when = f"{when}，计算日期 {case.date.isoformat()}" if when else f"计算日期 {case.date.isoformat()}"
    condition = search.source_text(cited, constraint.condition.span) or expr_text(constraint.condition)
    text = constraint.message or condition
    where_text = f"{when} 时" if when else ""
    more = f"（共 {count} 种情形违反）" if count > 1 else ""
    cited_clause = f"条款 {constraint.clause} " if constraint.clause else ""
    message = (f"{here}的 {shown}{('（' + where_text + '）') if where_text else ''}，违反依据的 {document} "
               f"{cited_clause}的约束：{condition}{more}")
    hint = search.counterexample_hint(
        f"上级文件要求“{text}”；调整本政策的取值，或确有依据时在这一行写 # 忽略 YB570 并说明理由",
        space.case_yaml(case, space.needed_inputs(names), f"{shown}（{where_text or '任何情形'}）"))
    related = ((constraint.span, f"{document} {cited_clause}的 约束"),)
    return error("YB570", span, message, hint, clause=clause, related=related)
