"""The one traversal of the IR: the sub-expressions of every expression and declaration.

`children(expr)` is a `match` over every expression class ending in
`assert_never`, and `declaration_exprs(decl)` one over every declaration
class: adding a node to `ir.Expr` or `ir.Declaration` without handling it here
fails `mypy`, and `tests/test_layers.py` fails when a class of `ir.nodes` is in
none of the tables below.  Every pass that looks inside expressions (lints,
the search, the charts, the trace, the type checker) goes through `walk`
rather than writing its own walker (docs/architecture.md).

>>> from decimal import Decimal
>>> from yibaolang import ir
>>> one = ir.Literal(ir.LiteralKind.MONEY, Decimal(1), "1元", ir.NO_SPAN)
>>> e = ir.Arith(ir.ArithOp.ADD, ir.Name("甲", None, ir.NO_SPAN), one, ir.NO_SPAN)
>>> [type(n).__name__ for n in walk(e)]
['Arith', 'Name', 'Literal']
>>> [n.name for n in names(e)]
['甲']
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, assert_never

import attrs

from yibaolang.ir.nodes import (
    Aggregate,
    Arith,
    Assertion,
    Band,
    Banded,
    Basis,
    Between,
    Binding,
    Bound,
    Bounded,
    Branch,
    Call,
    CaseRow,
    Cases,
    CatalogDecl,
    Clause,
    Compare,
    Constraint,
    Declaration,
    Definition,
    EnumDecl,
    Example,
    ExampleLine,
    ExceptionRule,
    Expr,
    FieldDecl,
    FunctionDecl,
    FunctionParam,
    Header,
    If,
    Import,
    InputDecl,
    Literal,
    Logic,
    Lookup,
    Member,
    Module,
    Name,
    Negate,
    Not,
    ParamDecl,
    ParamVersion,
    Requirement,
    Span,
    Step,
    Stepped,
    Table,
    TableRow,
    TypeRef,
)

# Every attrs class of ir.nodes, by role (the layer test checks the tables are complete).
EXPRESSIONS: tuple[type, ...] = (
    Literal, Name, Arith, Negate, Compare, Member, Between, Logic, Not, If, Bounded, Call, Banded, Stepped,
    Cases, Table, Aggregate, Lookup,
)
PARTS: tuple[type, ...] = (Branch, Bound, Band, Step, CaseRow, TableRow)  # pieces of a block expression
DECLARATIONS: tuple[type, ...] = (
    Header, EnumDecl, Import, Basis, InputDecl, ParamDecl, Definition, FunctionDecl, ExceptionRule, Assertion,
    Requirement, Constraint, Clause, Example, CatalogDecl,
)
SUPPORT: tuple[type, ...] = (Span, TypeRef, Binding, ParamVersion, FunctionParam, ExampleLine, Module, FieldDecl)


def _bounds(*bounds: Bound | None) -> Iterator[Expr]:
    for bound in bounds:
        if bound is not None:
            yield bound.value


def children(expr: Expr) -> Iterator[Expr]:
    """The direct sub-expressions of an expression, in source order (block bounds and results included)."""
    match expr:
        case Literal() | Name():
            return
        case Arith(left=a, right=b) | Logic(left=a, right=b) | Compare(left=a, right=b) | Bounded(value=a, limit=b):
            yield a
            yield b
        case Negate(operand=a) | Not(operand=a) | Member(subject=a):
            yield a
        case Between(subject=a, low=b, high=c):
            yield from (a, b, c)
        case If(branches=branches, otherwise=other):
            for branch in branches:
                yield branch.condition
                yield branch.value
            yield other
        case Call(args=args):
            yield from args
        case Banded(subject=s, bands=bands):
            yield s
            for band in bands:
                yield from _bounds(band.lower, band.upper)
                yield band.rate
        case Stepped(subject=s, steps=steps, otherwise=other):
            yield s
            for step in steps:
                yield from _bounds(step.low, step.high)
                yield step.result
            if other is not None:
                yield other
        case Cases(subject=s, rows=rows, otherwise=other):
            yield s
            yield from (row.result for row in rows)
            if other is not None:
                yield other
        case Table(keys=keys, rows=rows):
            yield from keys
            for row in rows:
                yield from row.cells
        case Aggregate(where=where):
            if where is not None:
                yield where
        case Lookup(key=key, date=date, missing=missing):
            yield key
            if date is not None:
                yield date
            yield missing
        case _:
            assert_never(expr)


def walk(expr: Expr) -> Iterator[Expr]:
    """The expression and all its sub-expressions, outermost first, left to right (no recursion)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(tuple(children(node))))


def names(expr: Expr) -> Iterator[Name]:
    """Every name the expression reads, left to right."""
    for node in walk(expr):
        if isinstance(node, Name):
            yield node


def calls(expr: Expr) -> Iterator[Call]:
    for node in walk(expr):
        if isinstance(node, Call):
            yield node


def declaration_exprs(decl: Declaration) -> Iterator[Expr]:
    """The top-level expressions of a declaration, in source order.

    The names a declaration *assigns* (an 例外's target, a 样例 line's name) are not expressions it reads.
    """
    match decl:
        case Header() | EnumDecl() | Basis() | Requirement() | Clause():
            return
        case Import(bindings=bindings):
            yield from (b.value for b in bindings)
        case InputDecl(range_low=low, range_high=high, default=default, accumulates=acc, fields=line_fields):
            yield from (e for e in (low, high, default, acc) if e is not None)
            yield from _field_exprs(line_fields)
        case CatalogDecl(key=key, columns=columns):
            yield from _field_exprs((key, *columns))
        case ParamDecl(versions=versions, range_low=low, range_high=high):
            yield from (v.value for v in versions)
            yield from (e for e in (low, high) if e is not None)
        case Definition(expr=e):
            yield e
        case FunctionDecl(body=body):
            yield body
        case ExceptionRule(condition=c, value=v):
            yield c
            yield v
        case Assertion(condition=c) | Constraint(condition=c):
            yield c
        case Example(inputs=inputs, expectations=expectations):
            yield from (line.value for line in (*inputs, *expectations))
        case _:
            assert_never(decl)


def _field_exprs(decls: tuple[FieldDecl, ...]) -> Iterator[Expr]:
    for f in decls:
        yield from (e for e in (f.range_low, f.range_high, f.default) if e is not None)


def declarations(module: Module) -> Iterator[Declaration]:
    """Every declaration of a module, grouped by kind as `ir.Module` holds them."""
    if module.header is not None:
        yield module.header
    yield from module.enums
    yield from module.imports
    yield from module.bases
    yield from module.catalogs
    yield from module.inputs
    yield from module.params
    yield from module.definitions
    yield from module.functions
    yield from module.exceptions
    yield from module.assertions
    yield from module.requirements
    yield from module.constraints
    yield from module.clauses
    yield from module.examples


def module_exprs(module: Module) -> Iterator[tuple[Declaration, Expr]]:
    """Every top-level expression of a module with the declaration it belongs to (输出 names excluded)."""
    for decl in declarations(module):
        for expr in declaration_exprs(decl):
            yield decl, expr


def fields(node: Any) -> Iterator[tuple[str, Any]]:
    """The fields of any IR node as (name, value), in declaration order (for generic dumps such as `irjson`)."""
    for field in attrs.fields(type(node)):
        yield field.name, getattr(node, field.name)


NODE_CLASSES: frozenset[type] = frozenset((*EXPRESSIONS, *PARTS, *DECLARATIONS, *SUPPORT))
