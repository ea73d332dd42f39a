"""The package's layers (docs/architecture.md): imports go one way, and no two modules import each other.

Every `import` is counted, those inside functions too — a lazy import hides a
cycle from Python, not from a reader.  Also: the one IR traversal
(`yibaolang/ir/walk.py`) knows every class of `ir.nodes`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import attrs

from yibaolang.checks.nesting import call_cycles
from yibaolang.ir import nodes, walk

PACKAGE = Path(__file__).resolve().parent.parent / "yibaolang"

# Left to right: a module may import from its own layer or from a layer to its left.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ir", ("yibaolang.ir",)),
    ("base", ("yibaolang", "yibaolang.diagnostics", "yibaolang.paths")),
    ("frontend", ("yibaolang.frontend",)),
    ("semantics", ("yibaolang.semantics",)),
    ("checks", ("yibaolang.checks",)),
    ("engines", ("yibaolang.engines",)),
    ("analysis", ("yibaolang.analysis",)),
    ("outputs", ("yibaolang.outputs",)),
    ("tools", ("yibaolang.tools", "yibaolang.__main__", "yibaolang.api")),  # the Python API: what the CLI and serve use
)


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The yibaolang modules `name` imports anywhere in its body (a package import counts as its __init__)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                prefix = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                prefix = node.module or ""
            # `from yibaolang.ir import walk` imports the module yibaolang.ir.walk; `import X` names X.
            targets = [f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in known else prefix
                       for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            # A module reading its own package (render.html → render) uses the package's interface.
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def layer_of(name: str) -> int:
    best, rank = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    return rank


GRAPH = {name: imports(name, path, known) for known in [modules()] for name, path in known.items()}


def test_every_module_has_a_layer() -> None:
    assert [name for name in GRAPH if layer_of(name) < 0] == []


def against_the_layers(graph: dict[str, set[str]]) -> list[str]:
    return [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
            for a, targets in sorted(graph.items()) for b in sorted(targets) if layer_of(b) > layer_of(a)]


def test_imports_follow_the_layers() -> None:
    assert against_the_layers(GRAPH) == []


def test_the_layer_rule_rejects_an_upward_import() -> None:
    graph = {"yibaolang.engines.cases": {"yibaolang.outputs.render.text", "yibaolang.ir.nodes"},
             "yibaolang.semantics.bands": {"yibaolang.ir"}, "yibaolang.tools.cli": {"yibaolang.analysis.lint"}}
    assert against_the_layers(graph) == [
        "yibaolang.engines.cases (engines) imports yibaolang.outputs.render.text (outputs)"]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One import cycle through each module that is on one (Tarjan's algorithm, `checks.nesting.call_cycles`)."""
    found = call_cycles(sorted(graph), lambda m: sorted(graph.get(m, ())))
    return [path for module, path in found.items() if module == min(path)]


def test_no_import_cycles() -> None:
    assert [" → ".join(path) for path in cycles(GRAPH)] == []


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_the_import_reader_sees_function_local_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from yibaolang.tools import cli\n    import yibaolang.ir.walk\n", "utf-8")
    known = {"yibaolang.tools.cli": module, "yibaolang.ir.walk": module, "yibaolang.ir": module}
    assert imports("yibaolang.x", module, known) == {"yibaolang.tools.cli", "yibaolang.ir.walk"}


# ------------------------------------------------------------------ the IR traversal knows every node


def node_classes() -> set[type]:
    return {v for v in vars(nodes).values() if isinstance(v, type) and attrs.has(v) and v.__module__ == nodes.__name__}


def test_walk_tables_cover_every_ir_class() -> None:
    assert node_classes() - walk.NODE_CLASSES == set()
    tables = (walk.EXPRESSIONS, walk.PARTS, walk.DECLARATIONS, walk.SUPPORT)
    assert sum(len(t) for t in tables) == len(walk.NODE_CLASSES)  # no class in two roles


def test_walk_tables_match_the_type_aliases() -> None:
    assert set(walk.EXPRESSIONS) == set(nodes.Expr.__args__)
    assert set(walk.DECLARATIONS) == set(nodes.Declaration.__args__)


def test_walk_reaches_every_subexpression_of_the_constructs_program() -> None:
    """Every expression node of a program that uses each construct, found by a generic field scan, is walked."""
    from yibaolang.checks.compiler import compile_policy

    program = compile_policy(PACKAGE.parent / "tests" / "golden" / "check" / "good" / "all_constructs.ybl")
    module = program.root.module
    expr_types = tuple(walk.EXPRESSIONS)
    ASSIGNED = {(nodes.ExceptionRule, "target"), (nodes.ExampleLine, "name")}

    def scan(node: object) -> list[object]:
        out = []
        stack = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, tuple):
                stack.extend(item)
            elif attrs.has(type(item)):
                if isinstance(item, expr_types):
                    out.append(item)
                stack.extend(value for name, value in walk.fields(item) if (type(item), name) not in ASSIGNED)
        return out

    walked = [id(e) for _, root in walk.module_exprs(module) for e in walk.walk(root)]
    scanned = [id(e) for decl in walk.declarations(module) for e in scan(decl)]
    assert sorted(walked) == sorted(scanned)
    seen = {type(e) for _, root in walk.module_exprs(module) for e in walk.walk(root)}
    assert seen == set(walk.EXPRESSIONS)  # the program really uses every construct
