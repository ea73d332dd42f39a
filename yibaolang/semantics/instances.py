"""Import instances: one evaluation of a module, the root policy or one 引用 of it with its 代入.

Every engine evaluates an imported policy on the same case (docs/language.md,
引用 与 代入).  An `引用` with 代入 bindings is its own instance (its bound inputs
are computed in the importing instance); every unbound `引用` of one file
shares one instance.  Each instance has a stable `InstanceKey` — the module's
path and the chain of 引用 sites (file, line, column) that reached it with
bindings — so an engine, the prover or the search can memoise on it across
runs and processes, never on the `id()` of a short-lived object.

>>> root = InstanceKey("a.ybl")
>>> site = ir.Span("a.ybl", 3, 1, 3, 20)
>>> child = root.enter("b.ybl", site, bound=True)
>>> child
InstanceKey(module='b.ybl', sites=(('a.ybl', 3, 1),))
>>> root.enter("b.ybl", site, bound=False) == InstanceKey("b.ybl")
True
>>> child.text
'b.ybl@a.ybl:3:1'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Generic, Protocol, TypeVar, cast

import attrs

from yibaolang import ir
from yibaolang.semantics.numbers import QUANTUM, unit_of


class ModuleScope(Protocol):
    """What the instance model reads of a resolved module (`yibaolang.checks.resolve.ModuleScope`)."""

    @property
    def path(self) -> str: ...

    @property
    def module(self) -> ir.Module: ...

    @property
    def imports(self) -> Sequence[tuple[ir.Import, ModuleScope]]: ...


S = TypeVar("S", bound=ModuleScope)
S_co = TypeVar("S_co", bound=ModuleScope, covariant=True)


class Program(Protocol[S_co]):
    """What the instance model reads of a checked program (`yibaolang.checks.resolve.Program`)."""

    @property
    def root(self) -> S_co: ...

Site = tuple[str, int, int]


@attrs.frozen(slots=True)
class InstanceKey:
    """Which instance: the module's path, and the 引用 sites with 代入 on the way from the root."""

    module: str
    sites: tuple[Site, ...] = ()

    def enter(self, module: str, site: ir.Span, *, bound: bool) -> InstanceKey:
        """The key of `module` imported at `site` from this instance (shared when not `bound`)."""
        if not bound:
            return InstanceKey(module)
        return InstanceKey(module, (*self.sites, (site.file, site.line, site.column)))

    @property
    def text(self) -> str:
        return self.module + "".join(f"@{f}:{line}:{col}" for f, line, col in self.sites)


@attrs.define(eq=False)
class Instance(Generic[S]):
    """One evaluation of a module: where it sits in the import tree, its 代入 and its 舍入."""

    key: InstanceKey
    scope: S
    parent: Instance[S] | None
    imp: ir.Import | None
    label: str  # the alias path shown in explanations ("" for the root and unaliased imports)
    unit: str  # the 舍入 of the module: 分, 角 or 元
    bindings: dict[str, ir.Binding] = attrs.Factory(dict)

    @property
    def quantum(self) -> Decimal:
        return QUANTUM[self.unit]

    def qualified(self, name: str) -> str:
        return f"{self.label}.{name}" if self.label else name

    def binding(self, name: str) -> tuple[ir.Binding, Instance[S]] | None:
        """The 代入 giving input `name` here, with the instance its expression is read in."""
        found = self.bindings.get(name)
        if found is None or self.parent is None:
            return None
        return found, self.parent

    def enclosing(self, scope: object) -> Instance[S] | None:
        """This instance or the nearest importing one that evaluates `scope` (where an 例外 is read)."""
        where: Instance[S] | None = self
        while where is not None and where.scope is not scope:
            where = where.parent
        return where


class Instances(Generic[S]):
    """The import tree of a Program: instances created on demand, one per key."""

    def __init__(self, program: Program[S]) -> None:
        self.program = program
        self.by_key: dict[InstanceKey, Instance[S]] = {}
        self.order: list[Instance[S]] = []
        self.root = self._make(InstanceKey(program.root.path), program.root, None, None, "")

    def _make(self, key: InstanceKey, scope: S, parent: Instance[S] | None, imp: ir.Import | None,
              label: str) -> Instance[S]:
        header = scope.module.header
        unit = unit_of(header.rounding if header is not None else None)
        bindings = {b.input: b for b in imp.bindings} if imp is not None else {}
        inst: Instance[S] = Instance(key, scope, parent, imp, label, unit, bindings)
        self.by_key[key] = inst
        self.order.append(inst)
        return inst

    def child(self, inst: Instance[S], imp: ir.Import) -> Instance[S]:
        """The instance `imp` (one of `inst`'s 引用) evaluates."""
        # A resolved module's imports are modules of the same kind as itself.
        child_scope = cast(S, next(c for i, c in inst.scope.imports if i is imp))
        key = inst.key.enter(child_scope.path, imp.span, bound=bool(imp.bindings))
        found = self.by_key.get(key)
        if found is not None:
            return found
        label = imp.alias or ""
        if inst.label and label:
            label = f"{inst.label}.{label}"
        return self._make(key, child_scope, inst, imp, label)

    def via(self, inst: Instance[S], imp: ir.Import | None) -> Instance[S]:
        """Where a name found through `imp` (None: declared here) is evaluated."""
        return inst if imp is None else self.child(inst, imp)

    def walk(self) -> Iterator[Instance[S]]:
        """Every instance reachable from the root, each once, parents before children."""
        seen: set[InstanceKey] = set()
        stack = [self.root]
        while stack:
            inst = stack.pop(0)
            if inst.key in seen:
                continue
            seen.add(inst.key)
            yield inst
            stack.extend(self.child(inst, imp) for imp, _ in inst.scope.imports)

    def of_scope(self, scope: object) -> Instance[S]:
        """The first instance evaluating `scope` (the root when none does)."""
        for inst in self.order:
            if inst.scope is scope:
                return inst
        return self.root


__all__ = ["Instance", "InstanceKey", "Instances", "Site"]
