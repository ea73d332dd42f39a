"""例外: which of the exceptions whose conditions hold gives the value, and when they conflict.

The rule (docs/language.md, 例外):

- an exception whose condition holds *fires*;
- a fired exception is *beaten* when another fired exception names its clause
  in 优先于;
- the fired exceptions not beaten are the *winners*; when none fired the base
  rule gives the value;
- a conflict (YB412) is when exceptions fired but every one is beaten (a
  cycle of 优先于), or when two winners give different values.

Written once over `Logic` (the truth values of `Ops`): the interpreter passes Python truth values, the vector
engine boolean arrays, the prover z3 terms.

>>> def rule(clause, overrides=()):
...     yes = ir.Literal(ir.LiteralKind.BOOL, True, "是", SPAN)
...     return ir.ExceptionRule(ir.Name("甲", None, SPAN), yes, yes, overrides, clause, SPAN)
>>> beaten = beaten_by([rule("二", ("一",)), rule("一")])   # 二 优先于 一
>>> beaten
((), (0,))
>>> winner_guards(DECIMAL, [True, True], beaten)
[True, False]
>>> unresolved(DECIMAL, [True, True], [True, False])
False
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from yibaolang import ir
from yibaolang.diagnostics import Diagnostic, error
from yibaolang.ir.types import Type
from yibaolang.semantics.ops import DECIMAL, B, Logic

SPAN = ir.Span("<例>", 1, 1, 1, 1)
CONFLICT = "YB412"


def beaten_by(rules: Sequence[ir.ExceptionRule]) -> tuple[tuple[int, ...], ...]:
    """For each rule i, the rules j that beat it when both fire (j is 优先于 i's clause)."""
    return tuple(
        tuple(j for j, other in enumerate(rules)
              if j != i and rule.clause is not None and rule.clause in other.overrides)
        for i, rule in enumerate(rules)
    )


def winner_guards(ops: Logic[B], fired: Sequence[B], beaten: Sequence[Sequence[int]]) -> list[B]:
    """For each rule, the condition that it wins: it fires and none of the rules that beat it fires."""
    out = []
    for i, condition in enumerate(fired):
        rivals = [fired[j] for j in beaten[i]]
        out.append(condition if not rivals else ops.all_of([condition, ops.not_(ops.any_of(rivals))]))
    return out


def unresolved(ops: Logic[B], fired: Sequence[B], guards: Sequence[B]) -> B:
    """Exceptions fired but none wins: every fired one is beaten (a cycle of 优先于) — a conflict."""
    return ops.all_of([ops.any_of(list(fired)), ops.not_(ops.any_of(list(guards)))])


def winners(fired: Sequence[bool], beaten: Sequence[Sequence[int]]) -> list[int]:
    """The indices of the winning rules, for one case (Python truth values)."""
    return [i for i, wins in enumerate(winner_guards(DECIMAL, fired, beaten)) if wins]


def conflict(target: str, type_: Type, a: ir.ExceptionRule, b: ir.ExceptionRule, va: Any, vb: Any) -> Diagnostic:
    """YB412: exceptions `a` and `b` both apply to `target` and give `va` and `vb`."""
    from yibaolang.semantics.values import display

    ca, cb = a.clause or "（无条款）", b.clause or "（无条款）"
    same = a.clause == b.clause
    hint = ("同一条款里的两条例外无法排定先后：请把其中一条移到单独的条款，再写 优先于" if same
            else f"若条款 {ca} 的例外应当优先，在它后面写 优先于 \"{cb}\"（反之亦然）")
    return error(
        CONFLICT, a.span,
        f"例外冲突：条款 {ca} 与条款 {cb} 的例外同时成立，"
        f"给 {target} 的值不同（{display(type_, va)} 与 {display(type_, vb)}）",
        hint, clause=a.clause, related=((b.span, f"条款 {cb} 的例外"),))


__all__ = ["CONFLICT", "beaten_by", "conflict", "unresolved", "winner_guards", "winners"]
