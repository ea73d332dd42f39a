"""Name resolution: the import graph, module scopes and symbol lookup.

`load_program(path)` reads a policy and everything it imports (relative to
the importing file, then the project root, then the installed stdlib), builds
one scope per module and reports clashes, cycles and keywords used as names.
Every path an 引用 or 依据 names goes through `yibaolang.paths.resolve`: a file
outside the roots is reported exactly like a file that is not there (YB310,
YB313), and a file that is refused is never read, so none of its lines can
appear in a diagnostic.  References inside expressions are
looked up by the type checker through `lookup`, so that enumeration values
can be resolved with the expected type at hand.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

from yibaolang import ir
from yibaolang.diagnostics import Diagnostic, closest, error
from yibaolang.frontend import cache
from yibaolang.frontend.source import MAX_SOURCE_BYTES, SourceError, SourceFile, decode
from yibaolang.ir.types import EnumType, Type
from yibaolang.paths import ReadRefused, Refusal, find_project_root, policy_roots, read_limited, resolve, stdlib_dir
from yibaolang.semantics.levels import FUND, level_of, qualified

MAX_MODULES = 64


class SymbolKind(enum.Enum):
    INPUT = "输入"
    PARAM = "参数"
    DEFINITION = "定义"
    FUNCTION = "函数"
    REQUIREMENT = "要求"
    FIELD = "字段"  # a field of a 列表 input's lines (docs/itemized.md §2)


SymbolKey = tuple[str, str]  # (module path, name)


@attrs.frozen(slots=True)
class Symbol:
    kind: SymbolKind
    name: str
    module: str
    decl: ir.InputDecl | ir.ParamDecl | ir.Definition | ir.FunctionDecl | ir.Requirement | ir.FieldDecl

    @property
    def key(self) -> SymbolKey:
        return (self.module, self.name)

    @property
    def level(self) -> str | None:
        """The list this is a line figure of, 全体 for the fund, None for the claim (semantics/levels.py)."""
        return level_of(self.name)

    @property
    def clause(self) -> str | None:
        return getattr(self.decl, "clause", None)


@attrs.define(eq=False)
class ModuleScope:
    path: str
    module: ir.Module
    source: SourceFile
    own: dict[str, Symbol] = attrs.Factory(dict)
    # Unqualified names visible here: the symbol and the import it came through.
    names: dict[str, tuple[ir.Import | None, Symbol]] = attrs.Factory(dict)
    aliases: dict[str, tuple[ir.Import, ModuleScope]] = attrs.Factory(dict)
    imports: list[tuple[ir.Import, ModuleScope]] = attrs.Factory(list)
    enums: dict[str, EnumType] = attrs.Factory(dict)
    input_enums: dict[str, EnumType] = attrs.Factory(dict)
    real: Path | None = None  # the resolved file (None for text that is not on disk)
    # The 列表 inputs and the 目录 of this module, by name (docs/itemized.md).
    lists: dict[str, ir.InputDecl] = attrs.Factory(dict)
    catalogs: dict[str, ir.CatalogDecl] = attrs.Factory(dict)

    @property
    def levels(self) -> set[str]:
        """The qualifiers that name a level rather than an import alias: the lists and 全体."""
        return {*self.lists, FUND}

    def enum_values(self) -> dict[str, list[EnumType]]:
        values: dict[str, list[EnumType]] = {}
        for enum_ in [*self.enums.values(), *self.visible_input_enums()]:
            for value in enum_.values:
                bucket = values.setdefault(value, [])
                if enum_ not in bucket:
                    bucket.append(enum_)
        return values

    def visible_input_enums(self) -> Iterator[EnumType]:
        yield from self.input_enums.values()
        for _, child in self.imports:
            yield from child.input_enums.values()

    def clause(self, clause_id: str | None) -> ir.Clause | None:
        return self.module.clause(clause_id)


@attrs.frozen(slots=True)
class Resolved:
    symbol: Symbol
    via: ir.Import | None  # None: declared in the scope's own module


@attrs.define(eq=False)
class Program:
    root: ModuleScope
    modules: dict[str, ModuleScope]
    project_root: Path
    diagnostics: list[Diagnostic]
    types: dict[SymbolKey, Type] = attrs.Factory(dict)
    exceptions: dict[SymbolKey, list[tuple[ModuleScope, ir.ExceptionRule]]] = attrs.Factory(dict)
    # `--table 目录名=路径`: the data file standing for a 目录's default file (docs/itemized.md §3);
    # engines/catalogs.py reads it, confined to the roots like the policy itself.
    tables: dict[str, str] = attrs.Factory(dict)

    def scope_of(self, symbol: Symbol) -> ModuleScope:
        return self.modules[symbol.module]

    def type_of(self, symbol: Symbol) -> Type | None:
        return self.types.get(symbol.key)

    @property
    def roots(self) -> tuple[Path, ...]:
        """The folders this policy may read: its project root and the stdlib."""
        return policy_roots(self.project_root)


def display_path(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


# A source already decoded and parsed, by real path and shown path (see `load_program`).
Prepared = Callable[[Path, str], "tuple[SourceFile, ir.Module, list[Diagnostic]] | None"]


class Loader:
    """Reads modules once each, following imports; records every problem."""

    def __init__(self, root_file: Path, overrides: dict[str, str] | None = None,
                 extra_roots: tuple[Path, ...] = (), *, prepared: Prepared | None = None) -> None:
        self.project_root = find_project_root(root_file.parent)
        self.prepared = prepared
        self.roots = policy_roots(self.project_root, *extra_roots)
        self.overrides = {str(Path(k).resolve()): v for k, v in (overrides or {}).items()}
        self.diagnostics: list[Diagnostic] = []
        self.modules: dict[str, ModuleScope] = {}
        self.by_real: dict[Path, ModuleScope] = {}
        self.in_progress: list[Path] = []

    def read(self, real: Path, shown: str, at: ir.Span | None = None) -> SourceFile | None:
        """The decoded file: its size and kind are checked before a byte is read."""
        key = str(real)
        try:
            if key in self.overrides:
                data = self.overrides[key].encode("utf-8", "surrogatepass")
            else:
                data = read_limited(real, MAX_SOURCE_BYTES)
            return decode(shown, data)
        except SourceError as exc:
            span = ir.Span(shown, exc.line, exc.column, exc.line, exc.column + 1)
            self.diagnostics.append(error(exc.code, span, exc.message, exc.hint))
        except ReadRefused as refused:
            span = at or ir.Span(shown, 1, 1, 1, 1)
            if refused.refusal.kind == "too-large":
                self.diagnostics.append(error("YB001", span, refused.refusal.reason,
                                              "请把政策拆成几个文件，用 引用 组合起来"))
            else:
                reason = "文件不存在" if refused.refusal.kind == "missing" else refused.refusal.reason
                self.diagnostics.append(error("YB003", span, f"无法读取 {shown}：{reason}", "请检查路径和权限"))
        return None

    def load(self, real: Path, shown: str, at: ir.Span | None = None) -> ModuleScope | None:
        if real in self.by_real:
            return self.by_real[real]
        if len(self.by_real) >= MAX_MODULES:
            return None
        ready = self.prepared(real, shown) if self.prepared is not None else None
        if ready is not None:
            source, module, diags = ready
        else:
            found = self.read(real, shown, at)
            if found is None:
                return None
            source = found
            module, diags = cache.parse(source)
        self.diagnostics.extend(diags)
        scope = ModuleScope(shown, module, source, real=real)
        self.by_real[real] = scope
        self.modules[shown] = scope
        self.in_progress.append(real)
        self.declare(scope)
        for imp in module.imports:
            self.follow(scope, real, imp)
        self.in_progress.pop()
        return scope

    def locate(self, importer: Path, imp: ir.Import) -> Path | Refusal:
        """Beside the importer, then the project root, then the stdlib; confined to the roots."""
        candidates = [importer.parent / imp.path, self.project_root / imp.path, stdlib_dir().resolve() / imp.path]
        if self.overrides:
            for candidate in candidates:
                found = _override(candidate, self.overrides, self.roots)
                if found is not None:
                    return found
        return resolve(candidates, self.roots)

    def follow(self, scope: ModuleScope, real: Path, imp: ir.Import) -> None:
        target = self.locate(real, imp)
        if isinstance(target, Refusal):
            self.diagnostics.append(_import_refused(imp, target, real.parent))
            return
        if target in self.in_progress:
            chain = " → ".join(display_path(p) for p in [*self.in_progress[self.in_progress.index(target):], target])
            self.diagnostics.append(error("YB312", imp.span, f"循环引用：{chain}",
                                          "把共用的内容移到第三个文件里，由两边分别引用"))
            return
        if len(self.by_real) >= MAX_MODULES and target not in self.by_real:
            self.diagnostics.append(error("YB006", imp.span, f"引用的文件过多（超过 {MAX_MODULES} 个）",
                                          "请减少引用层次"))
            return
        child = self.load(target, display_path(target), imp.span)
        if child is None:
            return
        scope.imports.append((imp, child))
        # Fund figures may be imported: each instance's 全体 is the run's claims (engines/fund.py).
        leveled = [*child.lists, *child.catalogs]
        if leveled:
            self.diagnostics.append(error(
                "YB338", imp.span, f"被引用的政策 {_shown(imp.path)} 含有列表输入或目录（{leveled[0]}）",
                "明细和目录只写在被运行的政策里：在这里汇总明细，再用 代入 把汇总后的金额交给被引用的政策"))
        if imp.alias:
            if imp.alias in scope.aliases or imp.alias in scope.own:
                self.diagnostics.append(error("YB302", imp.span, f"别名“{imp.alias}”重复", "请换一个别名"))
            scope.aliases[imp.alias] = (imp, child)
            return
        for name, symbol in child.own.items():
            mine = scope.names.get(name)
            if mine is None:
                scope.names[name] = (imp, symbol)
                continue
            if mine[1].kind is SymbolKind.INPUT and symbol.kind is SymbolKind.INPUT:
                continue  # the same fact, supplied once by the case
            self.diagnostics.append(error(
                "YB303", imp.span,
                f"引用 {imp.path} 带来的“{name}”与已有的{mine[1].kind.value}同名",
                f"用 引用 \"{imp.path}\" 作为 别名，再以 别名.{name} 使用"))
        for name, enum_ in child.enums.items():
            if name in scope.enums and scope.enums[name] != enum_:
                self.diagnostics.append(error("YB303", imp.span, f"引用带来的类型“{name}”与已有的类型同名",
                                              "用 作为 给引用起别名"))
            scope.enums.setdefault(name, enum_)

    def declare(self, scope: ModuleScope) -> None:
        from yibaolang.frontend.keywords import keywords

        module = scope.module
        reserved = set(keywords())

        def check_name(name: str, span: ir.Span, what: str) -> None:
            if name in reserved:
                self.diagnostics.append(error("YB304", span, f"“{name}”是关键字，不能用作{what}名称",
                                              f"换一个名称，例如“{name}额”或“{name}标准”"))

        def check_unique(values: tuple[str, ...], span: ir.Span, owner: str) -> None:
            if len(set(values)) != len(values):
                dup = next(v for v in values if values.count(v) > 1)
                self.diagnostics.append(error("YB305", span, f"{owner} 的选项“{dup}”重复", "删去重复的选项"))

        for decl in module.enums:
            check_name(decl.name, decl.span, "类型")
            for value in decl.values:
                check_name(value, decl.span, "选项值")
            check_unique(decl.values, decl.span, f"类型 {decl.name}")
            if decl.name in scope.enums:
                self.diagnostics.append(error("YB302", decl.span, f"类型“{decl.name}”重复声明", "每个类型只声明一次"))
            scope.enums[decl.name] = EnumType(decl.name, decl.values, scope.path)
        for input_decl in module.inputs:
            if input_decl.type.name == "列表" and input_decl.type.qualifier is None and input_decl.scope is None:
                scope.lists[input_decl.name] = input_decl
        for catalog in module.catalogs:
            check_name(catalog.name, catalog.span, "目录")
            if catalog.name in scope.catalogs:
                self.diagnostics.append(error("YB302", catalog.span, f"目录“{catalog.name}”重复声明",
                                              "每个目录只声明一次"))
            scope.catalogs[catalog.name] = catalog
        symbols: list[Symbol] = []
        symbols += [Symbol(SymbolKind.INPUT, qualified(d.scope, d.name), scope.path, d) for d in module.inputs]
        symbols += [Symbol(SymbolKind.FIELD, qualified(d.name, f.name), scope.path, f)
                    for d in scope.lists.values() for f in d.fields]
        symbols += [Symbol(SymbolKind.PARAM, d.name, scope.path, d) for d in module.params]
        symbols += [Symbol(SymbolKind.DEFINITION, qualified(d.scope, d.name), scope.path, d)
                    for d in module.definitions]
        symbols += [Symbol(SymbolKind.FUNCTION, d.name, scope.path, d) for d in module.functions]
        symbols += [Symbol(SymbolKind.REQUIREMENT, d.name, scope.path, d) for d in module.requirements]
        for symbol in symbols:
            span = symbol.decl.span
            check_name(symbol.name.rpartition(".")[2], span, symbol.kind.value)
            if symbol.name == FUND:
                self.diagnostics.append(error("YB304", span, f"“{FUND}”指本次运行的全部案例，不能用作名称",
                                              f"基金层的数写作 {FUND}.名称，例如 {FUND}.赔付率"))
            previous = scope.own.get(symbol.name)
            if previous is not None:
                if previous.kind is SymbolKind.REQUIREMENT or symbol.kind is SymbolKind.REQUIREMENT:
                    # A policy may both require and define a figure: the definition wins.
                    if symbol.kind is not SymbolKind.REQUIREMENT:
                        scope.own[symbol.name] = symbol
                        scope.names[symbol.name] = (None, symbol)
                    continue
                where = f"{previous.decl.span.line} 行"
                self.diagnostics.append(error(
                    "YB302", span, f"“{symbol.name}”重复声明（第 {where}已声明为{previous.kind.value}）",
                    "每个名称只声明一次；要在某些情形下改变取值，请用 例外"))
                continue
            scope.own[symbol.name] = symbol
            scope.names[symbol.name] = (None, symbol)
            if isinstance(symbol.decl, ir.InputDecl) and symbol.decl.type.values is not None:
                values = symbol.decl.type.values
                for value in values:
                    check_name(value, symbol.decl.type.span, "选项值")
                check_unique(values, symbol.decl.type.span, f"输入 {symbol.name}")
                scope.input_enums[symbol.name] = EnumType(symbol.name, values, scope.path)


ROOTS_HINT = ("路径相对于本文件，其次相对于项目根目录（向上最近的含 pyproject.toml 或 yibaolang.toml 的文件夹），"
              "最后在标准库中查找；项目与标准库之外的文件一律不读")
BASIS_HINT = "路径相对于本文件，其次相对于项目根目录；项目与标准库之外的文件一律不读"


def _import_refused(imp: ir.Import, refusal: Refusal, folder: Path) -> Diagnostic:
    if refusal.kind != "missing":
        return error("YB003", imp.span, f"无法读取引用的文件 {_shown(imp.path)}：{refusal.reason}",
                     "引用 应指向项目之内的 .ybl 文件")
    # Not there and outside the roots read the same: nothing here says which files exist elsewhere.
    near = _nearby_files(folder, imp.path)
    hint = f"是否想写 \"{near}\"？" if near else ROOTS_HINT
    return error("YB310", imp.span, f"找不到引用的文件：{_shown(imp.path)}", hint)


def _shown(path: str, limit: int = 120) -> str:
    """A path from the source, shortened for a message (the span still points at all of it)."""
    return path if len(path) <= limit else path[: limit // 2] + "…" + path[-limit // 3:]


def _override(candidate: Path, overrides: dict[str, str], roots: tuple[Path, ...]) -> Path | None:
    """An unsaved editor buffer standing for `candidate` (the language server), when inside the roots."""
    from yibaolang.paths import is_within

    try:
        real = Path(os.path.realpath(candidate))
    except (OSError, ValueError):
        return None
    return real if str(real) in overrides and is_within(real, roots) else None


def locate_basis(program: Program, scope: ModuleScope, basis: ir.Basis) -> Path | Diagnostic:
    """The file a `依据` names (beside the file, then the project root), or the diagnostic saying why not.

    The same resolver as 引用: confined to the roots, regular files only, and
    one answer (YB313) for "not there" and "outside the roots".
    """
    here = (scope.real or Path(scope.path).resolve()).parent
    root_folder = (program.root.real or Path(program.root.path).resolve()).parent
    candidates = list(dict.fromkeys([here / basis.path, program.project_root / basis.path, root_folder / basis.path]))
    found = resolve(candidates, program.roots)
    if isinstance(found, Path):
        return found
    if found.kind == "missing":
        return error("YB313", basis.span, f"找不到 依据 的文件：{_shown(basis.path)}", BASIS_HINT)
    return error("YB003", basis.span, f"无法读取 依据 的文件 {_shown(basis.path)}：{found.reason}",
                 "依据 应指向项目之内的 .ybl 文件")


def _nearby_files(folder: Path, wanted: str) -> str | None:
    try:
        names = [p.name for p in folder.glob("*.ybl")]
    except OSError:
        return None
    return closest(Path(wanted).name, names, limit=3)


def load_program(path: str | Path, overrides: dict[str, str] | None = None, *,
                 prepared: Prepared | None = None) -> Program:
    """Read a policy and its imports; the Program still needs `typecheck.check`.

    `prepared(real, shown)` may hand over a file already decoded and parsed (the
    language server parses open documents incrementally); None means read it.
    """
    real = Path(path).resolve()
    loader = Loader(real, overrides, prepared=prepared)
    root = loader.load(real, str(path))
    if root is None:
        empty = ir.Module(str(path), None, (), (), (), (), (), (), (), (), (), (), (), (), (), ())
        root = ModuleScope(str(path), empty, SourceFile(str(path), "", "\n"))
    program = Program(root, loader.modules or {str(path): root}, loader.project_root, loader.diagnostics)
    for scope in program.modules.values():
        for rule in scope.module.exceptions:
            found = lookup(scope, rule.target)
            if found is not None:
                program.exceptions.setdefault(found.symbol.key, []).append((scope, rule))
    return program


def lookup(scope: ModuleScope, name: ir.Name, within: str | None = None) -> Resolved | None:
    """Find the symbol a name refers to in `scope`, through aliases when qualified.

    `within` is the level the name is read at (semantics/levels.py): in a line
    definition of 明细 a bare name is first a field or line figure of 明细, in a
    fund definition first a 全体. figure; then a name of the claim.  A name
    qualified by a list or by 全体 is that level's figure.
    """
    if name.qualifier is not None and name.qualifier in scope.levels:
        symbol = scope.own.get(qualified(name.qualifier, name.name))
        return Resolved(symbol, None) if symbol is not None else None
    if name.qualifier is None and within is not None:
        symbol = scope.own.get(qualified(within, name.name))
        if symbol is not None:
            return Resolved(symbol, None)
    if name.qualifier is not None:
        entry = scope.aliases.get(name.qualifier)
        if entry is None:
            return None
        imp, child = entry
        symbol = child.own.get(name.name)
        return Resolved(symbol, imp) if symbol is not None else None
    found = scope.names.get(name.name)
    if found is None:
        return None
    return Resolved(found[1], found[0])


def all_names(scope: ModuleScope) -> list[str]:
    """Every name a reference in `scope` could mean (for did-you-mean)."""
    names = list(scope.names)
    names.extend(scope.lists)
    for alias, (_, child) in scope.aliases.items():
        names.extend(f"{alias}.{n}" for n in child.own)
    names.extend(scope.enum_values())
    return names
