"""How deeply figures and functions nest (docs/language.md, 资源限制): YB323.

Computing a definition computes what it reads first, one level deeper: a chain
of 500 definitions each reading the one before nests 500 levels.  `run` has a
budget for that nesting (`yibaolang.semantics.limits.MAX_EVAL_DEPTH`); `check`
refuses, with a located diagnostic, any program nested deeper than
`MAX_NESTING`, so whatever `check` accepts, `run` can evaluate.

The graph is walked without recursion, so a file of any length is measured in
linear time.  `call_cycles` gives the functions that call themselves back
(YB321) the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar, assert_never

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Program, Symbol, lookup
from yibaolang.diagnostics import error
from yibaolang.ir.walk import walk
from yibaolang.semantics import limits
from yibaolang.semantics.levels import scoped_names

N = TypeVar("N", bound=Hashable)

Node = tuple[str, str]  # (module path, symbol name)
MAX_REPORTS = 5


def longest_paths(nodes: list[N], edges: Callable[[N], list[N]]) -> dict[N, tuple[int, N | None]]:
    """Each node's depth (1 + the deepest node it reaches) and the edge taken; a back edge counts 0.

    >>> graph = {"a": ["b"], "b": ["c"], "c": [], "d": ["d"]}
    >>> depths = longest_paths(list(graph), graph.__getitem__)
    >>> depths["a"], depths["c"], depths["d"]
    ((3, 'b'), (1, None), (1, None))
    """
    done: dict[N, tuple[int, N | None]] = {}
    active: set[N] = set()
    for start in nodes:
        if start in done:
            continue
        stack: list[tuple[N, Iterator[N]]] = [(start, iter(edges(start)))]
        active.add(start)
        best: dict[N, tuple[int, N | None]] = {start: (1, None)}
        while stack:
            node, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                stack.pop()
                active.discard(node)
                done[node] = best[node]
                if stack:
                    parent = stack[-1][0]
                    if done[node][0] + 1 > best[parent][0]:
                        best[parent] = (done[node][0] + 1, node)
                continue
            if child in done:
                if done[child][0] + 1 > best[node][0]:
                    best[node] = (done[child][0] + 1, child)
            elif child not in active:
                active.add(child)
                best[child] = (1, None)
                stack.append((child, iter(edges(child))))
    return done


def call_cycles(nodes: list[N], edges: Callable[[N], list[N]]) -> dict[N, list[N]]:
    """For each node on a cycle, one cycle through it (start … start), by Tarjan's algorithm, iteratively.

    >>> graph = {"f": ["g"], "g": ["f"], "h": ["f"], "k": ["k"]}
    >>> call_cycles(list(graph), graph.__getitem__)
    {'f': ['f', 'g', 'f'], 'g': ['g', 'f', 'g'], 'k': ['k', 'k']}
    """
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    on_stack: set[N] = set()
    order: list[N] = []
    components: list[list[N]] = []
    for start in nodes:
        if start in index:
            continue
        work: list[tuple[N, Iterator[N]]] = [(start, iter(edges(start)))]
        index[start] = low[start] = len(index)
        order.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            child = next(pending, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    order.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges(child))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[N] = []
                while True:
                    member = order.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    out: dict[N, list[N]] = {}
    for component in components:
        if len(component) == 1 and component[0] not in edges(component[0]):
            continue
        members = set(component)
        for node in component:
            if node in out:
                continue
            cycle = _cycle_through(node, members, edges)
            # Every member of the cycle found gets the same cycle, started at itself: a ring of
            # 3,000 functions is searched once, not 3,000 times.
            ring = cycle[:-1]
            for i, member in enumerate(ring):
                out.setdefault(member, [*ring[i:], *ring[:i], member])
    return {n: out[n] for n in nodes if n in out}


def _cycle_through(start: N, members: set[N], edges: Callable[[N], list[N]]) -> list[N]:
    """A shortest path start → … → start inside one strongly connected component (breadth first)."""
    parent: dict[N, N] = {}
    frontier = [start]
    while frontier:
        following: list[N] = []
        for node in frontier:
            for child in edges(node):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if child in members and child not in parent:
                    parent[child] = node
                    following.append(child)
        frontier = following
    return [start, start]


# ------------------------------------------------------------------ the program's graph


class _Graph:
    """Figures and functions of every module, and what each one's computation reads."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.symbols: dict[Node, tuple[ModuleScope, Symbol]] = {}
        self.cache: dict[Node, list[Node]] = {}
        for scope in program.modules.values():
            for symbol in scope.own.values():
                self.symbols[(scope.path, symbol.name)] = (scope, symbol)

    def exprs(self, node: Node) -> Iterator[tuple[ModuleScope, ir.Expr, frozenset[str]]]:
        scope, symbol = self.symbols[node]
        decl = symbol.decl
        match decl:
            case ir.Definition():
                yield scope, decl.expr, frozenset()
            case ir.ParamDecl():
                for version in decl.versions:
                    yield scope, version.value, frozenset()
            case ir.InputDecl() | ir.FieldDecl():
                if decl.default is not None:
                    yield scope, decl.default, frozenset()
            case ir.FunctionDecl():
                yield scope, decl.body, frozenset(p.name for p in decl.params)
            case ir.Requirement():
                pass
            case _:
                assert_never(decl)
        for rule_scope, rule in self.program.exceptions.get(symbol.key, []):
            yield rule_scope, rule.condition, frozenset()
            yield rule_scope, rule.value, frozenset()

    def edges(self, node: Node) -> list[Node]:
        found = self.cache.get(node)
        if found is not None:
            return found
        out: list[Node] = []
        within = self.symbols[node][1].level
        for scope, expr, params in self.exprs(node):
            refs: list[tuple[ir.Name, str | None]] = [
                (sub.callee, None) for sub in walk(expr) if isinstance(sub, ir.Call)]
            for name, level in [*scoped_names(expr, within), *refs]:
                if name.qualifier is None and name.name in params:
                    continue
                resolved = lookup(scope, name, level)
                if resolved is None:
                    continue
                target = (resolved.symbol.module, resolved.symbol.name)
                if target in self.symbols and target not in out:
                    out.append(target)
        self.cache[node] = out
        return out

    def functions(self, scope: ModuleScope) -> list[Node]:
        return [(scope.path, s.name) for s in scope.own.values() if isinstance(s.decl, ir.FunctionDecl)]


def check_nesting(program: Program) -> Program:
    """YB323 at each figure or function where the nesting first goes past MAX_NESTING."""
    limits.ensure_recursion_limit()  # the passes after this one recurse over the same chains
    graph = _Graph(program)
    nodes = list(graph.symbols)
    depths = longest_paths(nodes, graph.edges)
    limit = limits.MAX_NESTING
    reported = 0
    for node in nodes:
        depth, _ = depths.get(node, (0, None))
        if depth != limit + 1 or reported >= MAX_REPORTS:
            continue
        reported += 1
        chain = [node[1]]
        step = depths[node][1]
        while step is not None and len(chain) < 4:
            chain.append(step[1])
            step = depths[step][1]
        _, symbol = graph.symbols[node]
        shown = " → ".join(chain) + (" → …" if step is not None else "")
        program.diagnostics.append(error(
            "YB323", symbol.decl.span,
            f"计算 {node[1]} 要嵌套 {depth} 层定义或函数调用，超过上限 {limit} 层：{shown}",
            "把一长串互相依赖的 定义 或函数合并、缩短（例如把相邻几步写进同一个表达式）"))
    return program


def function_cycles(scope: ModuleScope, program: Program) -> dict[str, list[str]]:
    """The functions of `scope` that call themselves back, each with one cycle (names), for YB321."""
    graph = _Graph(program)
    nodes = graph.functions(scope)
    cycles = call_cycles(nodes, lambda n: [t for t in graph.edges(n) if t in graph.symbols
                                           and isinstance(graph.symbols[t][1].decl, ir.FunctionDecl)])
    out = {}
    for node, path in cycles.items():
        names = [n[1] for n in path]
        out[node[1]] = names if len(names) <= 8 else [*names[:6], "…", names[-1]]
    return out


__all__ = ["MAX_REPORTS", "call_cycles", "check_nesting", "function_cycles", "longest_paths"]
