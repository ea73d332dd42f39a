"""Source navigation over a compiled Program, for the language server.

Every mention of a name in every module of the program is indexed with what it
refers to (a declared figure, an enumeration type or value, a clause, an
imported module, a function's parameter, a built-in function), so hover, go to
definition, find references, completion and the outline are lookups in one
table.  Positions are yibaolang's own: 1-based lines and code-point columns;
`yibaolang.tools.lsp` converts them to the protocol's.

Declarations carry the span of the whole statement, not of the name they
declare; the name's span is found in the (normalised, position-preserving)
source text of the statement's first line.

>>> from yibaolang.checks.compiler import compile_policy
>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "yibaolang.toml").write_text("")
>>> _ = (folder / "甲.ybl").write_text("输入 费用 : 金额\\n定义 报销 : 金额 = 费用 × 50%\\n输出 报销\\n", "utf-8")
>>> nav = Navigator(compile_policy(folder / "甲.ybl"))
>>> root = nav.program.root.path
>>> nav.target_at(root, 2, 14).key[::2]
('symbol', '费用')
>>> [(s.line, s.column) for s in nav.references(nav.target_at(root, 2, 14))]
[(1, 4), (2, 14)]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Program, Symbol, SymbolKind, lookup
from yibaolang.frontend.source import SourceFile
from yibaolang.ir.types import PRIMITIVES, EnumType, Kind
from yibaolang.semantics.builtins import BUILTINS
from yibaolang.semantics.keyword_help import keyword_help
from yibaolang.semantics.levels import FUND, inner_level, is_fund_level, level_of, local_name, qualified

# What a mention refers to.  The first element says which kind of thing.
TargetKey = tuple[str, ...]

_NAME_CHAR = re.compile(r"[A-Za-z0-9_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_QUOTED = re.compile(r"\"\"\"[\s\S]*?\"\"\"|\"([^\"\n]*)\"|“([^”\n]*)”")

# The hover of a builtin is its entry in semantics/builtins.py; of a keyword, semantics/keyword_help.py.
PRIMITIVE_DOCS: dict[str, str] = {
    "金额": "金额：以元计的钱数，如 2万元、500元、12.5元",
    "比例": "比例：百分数，如 50%；加减百分点用 5个百分点",
    "数": "数：不带单位的数，如 3、1.5；倍数写作 2倍",
    "年数": "年数：以年计的期限，如 1年",
    "月数": "月数：以月计的期限，如 3个月",
    "日数": "日数：以日计的期限，如 30日、30天",
    "日期": "日期：如 2024年1月1日 或 2024-01-01",
    "是否": "是否：是 或 否",
    "文本": "文本：编码、名称一类的值，只能比较相等，如 \"XB01\"",
    "列表": "列表：一次结算的明细，每行一组字段（docs/itemized.md）",
}

EXCERPT_CHARS = 240


@attrs.frozen(slots=True)
class Target:
    """What a mention refers to: `key` identifies it across the program."""

    key: TargetKey

    @property
    def kind(self) -> str:
        return self.key[0]


@attrs.frozen(slots=True)
class Mention:
    span: ir.Span
    target: Target
    declaration: bool = False


@attrs.frozen(slots=True)
class OutlineItem:
    """One entry of the document outline (LSP DocumentSymbol, kind by name)."""

    name: str
    detail: str
    kind: str  # policy | clause | definition | param | input | function | exception | assertion |
    # constraint | requirement | enum | enum-value | import | output | example
    span: ir.Span
    name_span: ir.Span
    children: tuple[OutlineItem, ...] = ()


@attrs.frozen(slots=True)
class Completion:
    label: str
    kind: str  # keyword | input | param | definition | function | requirement | value | type | module | clause | builtin
    detail: str = ""
    documentation: str = ""
    # When set, replaces the text from this 1-based column to the cursor.
    replace_from: int | None = None


# ------------------------------------------------------------------ text helpers


class Lines:
    """The lines of a source, normalised (for searching) and as written (for showing)."""

    def __init__(self, source: SourceFile) -> None:
        self.code = source.text.split("\n")
        self.original = source.original.split("\n")

    def code_line(self, number: int) -> str:
        return self.code[number - 1] if 1 <= number <= len(self.code) else ""

    def original_line(self, number: int) -> str:
        return self.original[number - 1] if 1 <= number <= len(self.original) else ""

    def text_of(self, span: ir.Span) -> str:
        """The drafter's own text of a span (lines joined with newlines)."""
        if span.line < 1:
            return ""
        if span.line == span.end_line:
            return self.original_line(span.line)[span.column - 1:span.end_column - 1]
        parts = [self.original_line(span.line)[span.column - 1:]]
        parts += [self.original_line(n) for n in range(span.line + 1, span.end_line)]
        parts.append(self.original_line(span.end_line)[:span.end_column - 1])
        return "\n".join(parts)


def find_word(lines: Lines, file: str, line: int, start_column: int, word: str,
              end_column: int | None = None) -> ir.Span | None:
    """The first whole-word occurrence of `word` on `line` at or after `start_column`.

    >>> from yibaolang.frontend.source import from_text
    >>> lines = Lines(from_text("a.ybl", "定义 规则 = 则甲 + 则\\n"))
    >>> find_word(lines, "a.ybl", 1, 1, "则")
    Span(file='a.ybl', line=1, column=14, end_line=1, end_column=15)
    """
    text = lines.code_line(line)
    stop = len(text) if end_column is None else min(len(text), end_column - 1)
    at = max(start_column - 1, 0)
    while True:
        at = text.find(word, at, stop)
        if at < 0:
            return None
        after = at + len(word)
        before_ok = at == 0 or not _NAME_CHAR.match(text[at - 1])
        after_ok = after >= len(text) or not _NAME_CHAR.match(text[after])
        if before_ok and after_ok:
            return ir.Span(file, line, at + 1, line, after + 1)
        at += 1


def _quoted_strings(lines: Lines, file: str, span: ir.Span, start_column: int = 1) -> Iterator[tuple[str, ir.Span]]:
    """One-line strings on the first line of `span`: their content and the content's span."""
    text = lines.code_line(span.line)
    stop = len(text) if span.end_line != span.line else span.end_column - 1
    for match in _QUOTED.finditer(text, max(start_column - 1, span.column - 1), stop):
        group = 1 if match.group(1) is not None else 2
        if match.group(group) is None:
            continue
        start, end = match.span(group)
        yield match.group(group), ir.Span(file, span.line, start + 1, span.line, end + 1)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a long text, cut at `limit` characters.

    >>> excerpt("甲乙丙丁", 2)
    '甲乙…'
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


# ------------------------------------------------------------------ the index


class Navigator:
    """The mentions of every module of a compiled program, and queries over them."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.lines: dict[str, Lines] = {path: Lines(scope.source) for path, scope in program.modules.items()}
        # Built per module on first use: the server indexes the document being edited, not the stdlib.
        self._mentions: dict[str, list[Mention]] = {}
        self._by_line: dict[str, dict[int, list[Mention]]] = {}
        self._declarations: dict[str, dict[TargetKey, ir.Span]] = {}

    def mentions_of(self, module: str) -> list[Mention]:
        found = self._mentions.get(module)
        if found is None:
            scope = self.program.modules.get(module)
            found = _Indexer(self, scope).run() if scope is not None else []
            self._mentions[module] = found
            by_line: dict[int, list[Mention]] = {}
            declared: dict[TargetKey, ir.Span] = {}
            for mention in found:
                by_line.setdefault(mention.span.line, []).append(mention)
                if mention.declaration:
                    declared.setdefault(mention.target.key, mention.span)
            self._by_line[module] = by_line
            self._declarations[module] = declared
        return found

    @property
    def mentions(self) -> dict[str, list[Mention]]:
        """The mentions of every module (indexes them all)."""
        return {module: self.mentions_of(module) for module in self.program.modules}

    # -------------------------------------------------------------- queries

    def target_at(self, module: str, line: int, column: int) -> Target | None:
        """What the mention under the cursor (1-based line and column) refers to."""
        mention = self.mention_at(module, line, column)
        return mention.target if mention is not None else None

    def mention_at(self, module: str, line: int, column: int) -> Mention | None:
        self.mentions_of(module)
        best: Mention | None = None
        for mention in self._by_line[module].get(line, []):
            span = mention.span
            if span.column <= column <= span.end_column:
                width = span.end_column - span.column
                # Prefer the mention the cursor is inside over one it merely touches.
                inside = column < span.end_column
                if best is None or (inside, -width) > (column < best.span.end_column,
                                                       -(best.span.end_column - best.span.column)):
                    best = mention
        return best

    def definition(self, target: Target) -> ir.Span | None:
        if target.kind == "module":
            return ir.Span(target.key[1], 1, 1, 1, 1)
        if target.kind in ("code", "validity"):  # a code (a 有效期 column) leads to its 目录
            return self.definition(Target(("catalog", target.key[1], target.key[2])))
        if len(target.key) > 1 and target.key[1] in self.program.modules:
            self.mentions_of(target.key[1])  # a declaration is indexed with the module that holds it
            found = self._declarations[target.key[1]].get(target.key)
            if found is not None:
                return found
        for module in self.program.modules:
            self.mentions_of(module)
            found = self._declarations[module].get(target.key)
            if found is not None:
                return found
        return None

    def references(self, target: Target, include_declaration: bool = True) -> list[ir.Span]:
        out = []
        for mentions in self.mentions.values():
            for mention in mentions:
                if mention.target.key == target.key and (include_declaration or not mention.declaration):
                    out.append(mention.span)
        return sorted(set(out), key=lambda s: (s.file, s.line, s.column))

    def scope(self, module: str) -> ModuleScope | None:
        return self.program.modules.get(module)

    # -------------------------------------------------------------- hover

    def hover(self, target: Target, here: str) -> str:
        """Markdown describing what `target` is, for a mention in module `here`."""
        kind = target.kind
        if kind == "symbol":
            return self._hover_symbol(target.key[1], target.key[2], here)
        if kind == "type":
            scope = self.program.modules.get(target.key[1])
            enum_ = scope.enums.get(target.key[2]) if scope else None
            if enum_ is None and scope is not None:
                enum_ = scope.input_enums.get(target.key[2])
            values = ", ".join(enum_.values) if enum_ else ""
            return _join([f"```yibaolang\n类型 {target.key[2]} = 选项 {{{values}}}\n```",
                          self._origin(target.key[1], here)])
        if kind == "value":
            _, module, enum_name, value = target.key
            scope = self.program.modules.get(module)
            enum_ = None if scope is None else scope.enums.get(enum_name) or scope.input_enums.get(enum_name)
            values = "、".join(enum_.values) if enum_ else value
            return _join([f"**选项** `{value}`：{enum_name} 的取值之一", f"{enum_name} 的选项：{values}",
                          self._origin(module, here)])
        if kind == "clause":
            clause = self._clause(target.key[1], target.key[2])
            if clause is None:
                return f"条款 “{target.key[2]}”"
            return _clause_text(clause) + _origin_suffix(self._origin(target.key[1], here))
        if kind == "module":
            scope = self.program.modules.get(target.key[1])
            header = scope.module.header if scope else None
            title = f"：{header.name}" if header is not None else ""
            return f"**引用的文件** `{target.key[1]}`{title}"
        if kind == "local":
            _, module, function, name = target.key
            decl = self._function(module, function)
            for param in decl.params if decl else ():
                if param.name == name:
                    return f"```yibaolang\n{name} : {param.type.display}\n```\n函数 {function} 的参数"
            return f"函数 {function} 的参数 {name}"
        if kind == "builtin":
            builtin = BUILTINS.get(target.key[1])
            return f"**内置函数** {builtin.doc if builtin is not None else target.key[1]}"
        if kind == "primitive":
            return f"**类型** {PRIMITIVE_DOCS.get(target.key[1], target.key[1])}"
        if kind == "word":
            return keyword_help(target.key[1])
        if kind == "catalog":
            return self._hover_catalog(target.key[1], target.key[2], here)
        if kind == "column":
            return self._hover_column(target.key[1], target.key[2], target.key[3])
        if kind == "validity":
            _, module, catalog, column = target.key
            scope = self.program.modules.get(module)
            declared = scope.catalogs.get(catalog) if scope is not None else None
            word = "生效" if declared is not None and declared.valid_from == column else "失效"
            rule = "含当日" if word == "生效" else "不含当日"
            return f"目录 {catalog} 的{word}日期列 {column}：日期，{rule}；留空表示不限"
        if kind == "code":
            _, module, catalog, code, in_key = target.key
            return self._hover_code(module, catalog, code, in_key == "key")
        return ""

    # -------------------------------------------------------------- catalogs (docs/itemized.md §3)

    def _catalog(self, module: str, name: str) -> tuple[ir.CatalogDecl | None, Any, str]:
        """The declaration, the loaded catalog (None if it cannot be read) and why not."""
        from yibaolang.engines.catalogs import CatalogError, catalog_for

        scope = self.program.modules.get(module)
        decl = scope.catalogs.get(name) if scope is not None else None
        if scope is None or decl is None:
            return None, None, ""
        try:
            return decl, catalog_for(self.program, scope, name), ""
        except CatalogError as exc:
            return decl, None, "；".join(d.message for d in exc.diagnostics)
        except KeyError:
            return decl, None, f"目录 {name} 没有声明"

    def _hover_catalog(self, module: str, name: str, here: str) -> str:
        decl, catalog, problem = self._catalog(module, name)
        if decl is None:
            return f"**目录** {name}"
        head = f"**目录** {name}" + (f"：{decl.description}" if decl.description else "")
        if catalog is not None:
            where = f"文件 `{catalog.shown_path}`，{len(catalog)} 行"
        else:
            where = f"文件 `{decl.path}`（读不出来：{problem}）"
        shown = self.lines.get(module)
        columns = [f"- 键 {_field_text(decl.key, shown)}", *(f"- 列 {_field_text(c, shown)}" for c in decl.columns)]
        if decl.valid_from is not None and decl.valid_to is not None:
            columns.append(f"- 有效期 {decl.valid_from} 至 {decl.valid_to}（生效含当日，失效不含当日）")
        return _join([head, where, "\n".join(columns), self._origin(module, here)])

    def _hover_column(self, module: str, catalog: str, column: str) -> str:
        scope = self.program.modules.get(module)
        decl = scope.catalogs.get(catalog) if scope is not None else None
        col = decl.column(column) if decl is not None else None
        if decl is None or col is None:
            return f"目录 {catalog} 的列 {column}"
        word = "键" if col is decl.key else "列"
        return _join([f"```yibaolang\n{word} {_field_text(col, self.lines.get(module))}\n```",
                      f"目录 {catalog}（`{decl.path}`）的{word}"])

    def _hover_code(self, module: str, name: str, code: str, in_key: bool) -> str:
        from yibaolang.semantics.values import display

        decl, catalog, problem = self._catalog(module, name)
        if decl is None:
            return f"文本 \"{code}\""
        if catalog is None:
            return f"目录 {name}（`{decl.path}`）读不出来：{problem}"
        head = f"**目录** {name}：文件 `{catalog.shown_path}`，{len(catalog)} 行" if in_key else ""
        try:
            rows = catalog.find_key(code)
        except Exception:  # a code that is not a key of this catalog's type (a 数 key): no row
            rows = []
        if not rows:
            return _join([head, f"目录 {name} 中没有编码 \"{code}\""])
        shown = []
        for row in rows[:12]:
            cells = "，".join(f"{c}：{'（空）' if row.values.get(c) is None else display(catalog.types[c], row.values[c])}"
                             for c in (col.name for col in decl.columns) if c in catalog.types)
            valid = ""
            if catalog.dated:
                start = row.valid_from.isoformat() if row.valid_from else "不限"
                end = row.valid_to.isoformat() if row.valid_to else "不限"
                valid = f"；有效期 {start} 至 {end}"
            shown.append(f"- 第 {row.number} 行：{cells}{valid}")
        more = f"\n- ……共 {len(rows)} 行" if len(rows) > 12 else ""
        return _join([head, f"编码 \"{code}\" 在目录 {name}（`{catalog.shown_path}`）中：\n" + "\n".join(shown) + more])

    def _hover_symbol(self, module: str, name: str, here: str) -> str:
        scope = self.program.modules.get(module)
        symbol = scope.own.get(name) if scope else None
        if scope is None or symbol is None:
            return f"`{name}`"
        lines = self.lines[module]
        decl = symbol.decl
        kind_type = self.program.types.get(symbol.key)
        type_name = kind_type.name if kind_type is not None and kind_type.kind is not Kind.ERROR else None
        parts: list[str] = []
        match decl:
            case ir.FieldDecl():
                level = level_of(name)
                parts.append(f"```yibaolang\n{level}.{_field_text(decl, lines)}\n```")
                parts.append(f"字段：列表 {level} 的每一行各有一个值；类型 {type_name or decl.type.display}")
            case ir.InputDecl():
                shown = decl.type.display
                head = f"输入 {name} : {shown}"
                extra = []
                if decl.range_low is not None and decl.range_high is not None:
                    extra.append(f"范围 {lines.text_of(decl.range_low.span)} 至 {lines.text_of(decl.range_high.span)}")
                if decl.default is not None:
                    extra.append(f"默认 {lines.text_of(decl.default.span)}")
                if decl.accumulates is not None:
                    extra.append(f"累计 {decl.accumulates.display}")
                parts.append(f"```yibaolang\n{head}{' ' + ' '.join(extra) if extra else ''}\n```")
                if decl.description:
                    parts.append(f"说明：{decl.description}")
                if decl.fields:
                    parts.append("每行的字段：\n" + "\n".join(f"- {_field_text(f, lines)}" for f in decl.fields))
                if decl.scope == FUND:
                    parts.append("基金层的输入：每次运行给一次（run --fund）")
            case ir.ParamDecl():
                parts.append(f"```yibaolang\n参数 {name} : {type_name or decl.type.display}\n```")
                dated = [v for v in decl.versions if v.start is not None]
                if dated or len(decl.versions) > 1:
                    rows = []
                    for version in decl.versions:
                        when = f"自 {version.start.isoformat()} 起" if version.start else "此前"
                        rows.append(f"- {when}：{lines.text_of(version.value.span)}")
                    parts.append("各版本：\n" + "\n".join(rows))
                elif decl.versions:
                    parts.append(f"取值：{lines.text_of(decl.versions[0].value.span)}")
            case ir.Definition():
                parts.append(f"```yibaolang\n定义 {name} : {type_name or (decl.type.display if decl.type else '未知')}\n```")
                if decl.scope == FUND:
                    parts.append("基金层的定义：汇总本次运行的全部案例，每次运行算一次")
                elif decl.scope is not None:
                    parts.append(f"每行的定义：列表 {decl.scope} 的每一行各算一次；类型 {type_name or '未知'}")
            case ir.FunctionDecl():
                params = ", ".join(f"{p.name}: {p.type.display}" for p in decl.params)
                parts.append(f"```yibaolang\n函数 {name}({params}) : {decl.result.display}\n```")
            case ir.Requirement():
                parts.append(f"```yibaolang\n要求 {name} : {decl.type.display}\n```")
        rules = self.program.exceptions.get(symbol.key, [])
        if rules:
            shown_rules = []
            for rule_scope, rule in rules:
                rule_lines = self.lines.get(rule_scope.path)
                text = rule_lines.text_of(rule.span) if rule_lines else ""
                cite = f"（条款 {rule.clause}）" if rule.clause else ""
                shown_rules.append(f"- {excerpt(text, 120)}{cite}")
            parts.append("例外：\n" + "\n".join(shown_rules))
        clause = scope.clause(symbol.clause) if symbol.clause else None
        if clause is not None:
            parts.append(_clause_text(clause))
        parts.append(self._origin(module, here))
        return _join(parts)

    def _origin(self, module: str, here: str) -> str:
        if module == here or module not in self.program.modules:
            return ""
        return f"来自 `{Path(module).name}`"

    def _clause(self, module: str, clause_id: str) -> ir.Clause | None:
        scope = self.program.modules.get(module)
        return scope.clause(clause_id) if scope else None

    def _function(self, module: str, name: str) -> ir.FunctionDecl | None:
        scope = self.program.modules.get(module)
        for decl in scope.module.functions if scope else ():
            if decl.name == name:
                return decl
        return None

    # -------------------------------------------------------------- completion

    def completions(self, module: str, line: int, column: int) -> list[Completion]:
        """What may be typed at (line, column): keywords, names, values, types, clause ids."""

        lines = self.lines.get(module)
        return self.completions_for(module, lines.code_line(line)[:column - 1] if lines else "")

    def completions_for(self, module: str, before: str) -> list[Completion]:
        """What may be typed after `before` (the text of the line up to the cursor)."""
        from yibaolang.frontend.syntax import keywords

        column = len(before) + 1
        scope = self.program.modules.get(module)
        # Inside the string of 优先于 "…": only clause ids.
        quoted = re.search(r"优先于\s*(?:[\"“][^\"”\n]*[\"”]\s*,\s*)*[\"“]([^\"”\n]*)$", before)
        if quoted:
            start = column - len(quoted.group(1))
            clauses = []
            for _module, clause in self.all_clauses(module):
                clauses.append(Completion(clause.raw_id, "clause", f"条款 {clause.title or ''}".strip(),
                                      excerpt(clause.text or "", 200), replace_from=start))
            return clauses
        if scope is None:
            return [Completion(k, "keyword") for k in keywords()]
        qualified = re.search(r"([A-Za-z_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff][\w\u3400-\u9fff]*)\.[\w\u3400-\u9fff]*$",
                              before)
        if qualified and qualified.group(1) in scope.catalogs:
            decl = scope.catalogs[qualified.group(1)]
            return [Completion(c.name, "column", f"{'键' if c is decl.key else '列'} · {c.type.display}",
                               c.description or "") for c in (decl.key, *decl.columns)]
        if qualified and qualified.group(1) in scope.levels:
            level = qualified.group(1)
            return [self._symbol_completion(s, local=True) for s in scope.own.values() if s.level == level]
        if qualified and qualified.group(1) in scope.aliases:
            child = scope.aliases[qualified.group(1)][1]
            named = [self._symbol_completion(s) for s in child.own.values()]
            named += [Completion(n, "type", f"类型 = 选项 {{{', '.join(e.values)}}}") for n, e in child.enums.items()]
            return named
        out: list[Completion] = []
        seen: set[str] = set()

        def add(item: Completion) -> None:
            if item.label not in seen:
                seen.add(item.label)
                out.append(item)

        for _, symbol in scope.names.values():
            add(self._symbol_completion(symbol))
        for alias, (imp, _child) in scope.aliases.items():
            add(Completion(alias, "module", f"引用 \"{imp.path}\" 的别名"))
        for name, catalog in scope.catalogs.items():
            add(Completion(name, "catalog", f"目录 \"{catalog.path}\"", catalog.description or ""))
        for value, enum_ in self._visible_values(scope):
            add(Completion(value, "value", f"选项 · {enum_.name}", f"{enum_.name} 的选项：{'、'.join(enum_.values)}"))
        for name, enum_ in scope.enums.items():
            add(Completion(name, "type", f"类型 = 选项 {{{', '.join(enum_.values)}}}"))
        for name, doc in PRIMITIVE_DOCS.items():
            add(Completion(name, "type", "类型", doc))
        for name in BUILTINS:
            add(Completion(name, "builtin", "内置函数", BUILTINS[name].doc))
        for word in keywords():
            add(Completion(word, "keyword", "关键字"))
        return out

    def _visible_values(self, scope: ModuleScope) -> Iterator[tuple[str, EnumType]]:
        """Enumeration values usable here: declared or imported types, and the types of visible names."""
        for value, owners in scope.enum_values().items():
            yield value, owners[0]
        for _, symbol in scope.names.values():
            known = self.program.types.get(symbol.key)
            if known is not None and known.kind is Kind.ENUM and known.enum is not None:
                for value in known.enum.values:
                    yield value, known.enum

    def _symbol_completion(self, symbol: Symbol, local: bool = False) -> Completion:
        """`local`: labelled without its level (after `明细.` the label is 明细金额)."""
        kind = {SymbolKind.INPUT: "input", SymbolKind.PARAM: "param", SymbolKind.DEFINITION: "definition",
                SymbolKind.FUNCTION: "function", SymbolKind.REQUIREMENT: "requirement",
                SymbolKind.FIELD: "field"}[symbol.kind]
        found = self.program.types.get(symbol.key)
        type_name = found.name if found is not None and found.kind is not Kind.ERROR else ""
        detail = f"{symbol.kind.value} · {type_name}" if type_name else symbol.kind.value
        doc = ""
        if isinstance(symbol.decl, (ir.InputDecl, ir.FieldDecl)) and symbol.decl.description:
            doc = symbol.decl.description
        elif symbol.clause:
            clause = self.program.modules[symbol.module].clause(symbol.clause)
            if clause is not None:
                doc = f"条款 {clause.raw_id} {clause.title or ''}".rstrip()
        return Completion(local_name(symbol.name) if local else symbol.name, kind, detail, doc)

    def all_clauses(self, first: str) -> Iterator[tuple[str, ir.Clause]]:
        """Every clause of the program, the module `first`'s own before the others."""
        order = [first, *(m for m in self.program.modules if m != first)]
        seen: set[str] = set()
        for module in order:
            scope = self.program.modules.get(module)
            for clause in scope.module.clauses if scope else ():
                if clause.id not in seen:
                    seen.add(clause.id)
                    yield module, clause

    # -------------------------------------------------------------- outline

    def outline(self, module: str) -> list[OutlineItem]:
        scope = self.program.modules.get(module)
        if scope is None:
            return []
        return _Outliner(self, scope).run()


def _field_text(f: ir.FieldDecl, lines: Lines | None = None) -> str:
    """A field or column as declared: 编码 : 文本 范围 0 至 1万 可空 "说明" (bounds as the drafter wrote them)."""
    from yibaolang.ir.printer import field_line

    if lines is None:
        return field_line(f)
    text = f"{f.name} : {f.type.display}"
    if f.range_low is not None and f.range_high is not None:
        text += f" 范围 {lines.text_of(f.range_low.span)} 至 {lines.text_of(f.range_high.span)}"
    if f.default is not None:
        text += f" 默认 {lines.text_of(f.default.span)}"
    if f.nullable:
        text += " 可空"
    return text + (f" \"{f.description}\"" if f.description else "")


def _join(parts: Iterable[str]) -> str:
    return "\n\n".join(p for p in parts if p)


def _origin_suffix(origin: str) -> str:
    return f"\n\n{origin}" if origin else ""


def _clause_text(clause: ir.Clause) -> str:
    head = f"**条款** {clause.raw_id}" + (f" {clause.title}" if clause.title else "")
    if clause.text:
        return f"{head}\n\n> 原文：{excerpt(clause.text)}"
    return head


# ------------------------------------------------------------------ building the index


class _Indexer:
    """Collects the mentions of one module."""

    def __init__(self, nav: Navigator, scope: ModuleScope) -> None:
        self.nav = nav
        self.program = nav.program
        self.scope = scope
        self.file = scope.path
        self.lines = nav.lines.get(scope.path) or Lines(scope.source)
        self.out: list[Mention] = []

    def run(self) -> list[Mention]:
        module = self.scope.module
        for enum_decl in module.enums:
            self.declare_name(enum_decl.span, "类型", enum_decl.name, ("type", self.file, enum_decl.name))
            self.enum_values_declared(enum_decl.span, enum_decl.name, enum_decl.values)
        for imp in module.imports:
            self.import_(imp)
        for catalog in module.catalogs:
            self.catalog(catalog)
        for decl in module.inputs:
            self.declare_symbol(decl.span, "输入", decl.name, decl.scope)
            self.type_ref(decl.type, owner=decl.name)
            for expr in (decl.range_low, decl.range_high, decl.default):
                if expr is not None:
                    self.expr(expr, enum_hint=self.scope.input_enums.get(decl.name))
            if decl.accumulates is not None:
                self.name(decl.accumulates)
            for f in decl.fields:  # the fields of a 列表 input, named 明细.编码 (docs/itemized.md §2)
                span = find_word(self.lines, self.file, f.span.line, f.span.column, f.name)
                if span is not None:
                    self.add(span, ("symbol", self.file, qualified(decl.name, f.name)), declaration=True)
                self.type_ref(f.type)
                for expr in (f.range_low, f.range_high, f.default):
                    if expr is not None:
                        self.expr(expr, within=decl.name)
        for param in module.params:
            self.declare_symbol(param.span, "参数", param.name)
            self.type_ref(param.type)
            for version in param.versions:
                self.expr(version.value)
        for definition in module.definitions:
            self.declare_symbol(definition.span, "定义", definition.name, definition.scope)
            if definition.type is not None:
                self.type_ref(definition.type)
            self.expr(definition.expr, within=definition.scope)
        for function in module.functions:
            self.declare_symbol(function.span, "函数", function.name)
            locals_: dict[str, TargetKey] = {}
            for fparam in function.params:
                key = ("local", self.file, function.name, fparam.name)
                locals_[fparam.name] = key
                span = find_word(self.lines, self.file, fparam.span.line, fparam.span.column, fparam.name)
                if span is not None:
                    self.add(span, key, declaration=True)
                self.type_ref(fparam.type)
            self.type_ref(function.result)
            self.expr(function.body, locals_)
        for requirement in module.requirements:
            self.declare_symbol(requirement.span, "要求", requirement.name)
            self.type_ref(requirement.type)
        for rule in module.exceptions:
            self.name(rule.target)
            target = lookup(self.scope, rule.target)
            level = target.symbol.level if target is not None else None
            self.expr(rule.condition, within=level)
            self.expr(rule.value, within=level)
            self.overrides(rule)
        for assertion in module.assertions:
            self.expr(assertion.condition, within=FUND if is_fund_level(assertion.condition) else None)
        for constraint in module.constraints:
            self.expr(constraint.condition, within=FUND if is_fund_level(constraint.condition) else None)
        for clause in module.clauses:
            for text, span in _quoted_strings(self.lines, self.file, clause.span):
                if text == clause.raw_id:
                    self.add(span, ("clause", self.file, clause.id), declaration=True)
                    break
        for name in module.outputs:
            self.name(name)
        for example in module.examples:
            for line in example.inputs:
                if line.name.name != "计算日期":
                    self.name(line.name)
                self.expr(line.value)
            for line in example.expectations:
                self.name(line.name)
                self.expr(line.value)
        return self.out

    # -------------------------------------------------------------- helpers

    def add(self, span: ir.Span, key: TargetKey, declaration: bool = False) -> None:
        self.out.append(Mention(span, Target(key), declaration))

    def declare_name(self, span: ir.Span, keyword: str, name: str, key: TargetKey) -> None:
        text = self.lines.code_line(span.line)
        start = text.find(keyword, span.column - 1)
        found = find_word(self.lines, self.file, span.line, (start + len(keyword) + 1) if start >= 0 else span.column, name)
        if found is not None:
            self.add(found, key, declaration=True)

    def declare_symbol(self, span: ir.Span, keyword: str, name: str, level: str | None = None) -> None:
        """A declaration; `level` is the list of a per-line definition or 全体 (written 明细.名称)."""
        symbol_name = qualified(level, name)
        symbol = self.scope.own.get(symbol_name)
        module = symbol.module if symbol is not None else self.file
        if level is not None:
            text = self.lines.code_line(span.line)
            start = text.find(keyword, span.column - 1)
            prefix = find_word(self.lines, self.file, span.line, (start + len(keyword) + 1) if start >= 0 else
                               span.column, level)
            if prefix is not None:
                self.level_prefix(prefix, level)
                found = find_word(self.lines, self.file, span.line, prefix.end_column + 1, name)
                if found is not None:
                    self.add(found, ("symbol", module, symbol_name), declaration=True)
            return
        self.declare_name(span, keyword, name, ("symbol", module, symbol_name))

    def level_prefix(self, span: ir.Span, level: str) -> None:
        """The `明细` of 明细.名称 (the list input) or the `全体` of 全体.名称 (hover explains the level)."""
        if level == FUND:
            self.add(span, ("word", FUND))
        elif level in self.scope.lists:
            self.add(span, ("symbol", self.file, level))

    def catalog(self, decl: ir.CatalogDecl) -> None:
        """目录 名 "文件"：its name and path lead to the catalog; 键/列 lines declare its columns."""
        key: TargetKey = ("catalog", self.file, decl.name)
        self.declare_name(decl.span, "目录", decl.name, key)
        self.add(decl.path_span, key)
        for col, word in ((decl.key, "键"), *((c, "列") for c in decl.columns)):
            text = self.lines.code_line(col.span.line)
            start = text.find(word, max(col.span.column - 2, 0))
            found = find_word(self.lines, self.file, col.span.line, start + 2 if start >= 0 else col.span.column,
                              col.name)
            if found is not None:
                self.add(found, ("column", self.file, decl.name, col.name), declaration=True)
            self.type_ref(col.type)
        if decl.valid_from is not None and decl.valid_to is not None:  # 有效期 生效日期 至 失效日期
            number = decl.span.line
            while True:  # the indented lines of the block (the statement's span may stop before 有效期)
                number += 1
                text = self.lines.code_line(number)
                if not text[:1].isspace():
                    break
                start = text.find("有效期")
                if start < 0 or text[:start].strip():
                    continue
                first = find_word(self.lines, self.file, number, start + 4, decl.valid_from)
                last = find_word(self.lines, self.file, number, first.end_column if first else start + 4,
                                 decl.valid_to)
                for span, column in ((first, decl.valid_from), (last, decl.valid_to)):
                    if span is not None and decl.column(column) is not None:
                        self.add(span, ("column", self.file, decl.name, column))
                    elif span is not None:
                        self.add(span, ("validity", self.file, decl.name, column))
                break

    def enum_values_declared(self, span: ir.Span, enum_name: str, values: tuple[str, ...]) -> None:
        text = self.lines.code_line(span.line)
        brace = text.find("{", span.column - 1)
        if brace < 0:
            return
        for value in values:
            found = find_word(self.lines, self.file, span.line, brace + 2, value)
            if found is not None:
                self.add(found, ("value", self.file, enum_name, value), declaration=True)

    def import_(self, imp: ir.Import) -> None:
        child = next((c for i, c in self.scope.imports if i is imp), None)
        if child is None:
            return
        key = ("module", child.path)
        for text, span in _quoted_strings(self.lines, self.file, imp.span):
            if text == imp.path:
                self.add(span, key)
                break
        if imp.alias:
            text = self.lines.code_line(imp.span.line)
            start = text.find("作为", imp.span.column - 1)
            found = find_word(self.lines, self.file, imp.span.line, start + 3 if start >= 0 else 1, imp.alias)
            if found is not None:
                self.add(found, key)
        for binding in imp.bindings:
            text = self.lines.code_line(binding.span.line)
            start = text.find("代入", binding.span.column - 1)
            found = find_word(self.lines, self.file, binding.span.line, start + 3 if start >= 0 else 1, binding.input)
            target = child.own.get(binding.input)
            if found is not None and target is not None:
                self.add(found, ("symbol", target.module, target.name))
            self.expr(binding.value)

    def overrides(self, rule: ir.ExceptionRule) -> None:
        if not rule.overrides:
            return
        text = self.lines.code_line(rule.span.line)
        start = text.find("优先于", rule.span.column - 1)
        if start < 0:
            return
        strings = list(_quoted_strings(self.lines, self.file, rule.span, start + 1))
        for clause_id, (_, span) in zip(rule.overrides, strings, strict=False):
            module = self.clause_module(clause_id)
            if module is not None:
                self.add(span, ("clause", module, clause_id))

    def clause_module(self, clause_id: str) -> str | None:
        if self.scope.clause(clause_id) is not None:
            return self.file
        for path, scope in self.program.modules.items():
            if scope.clause(clause_id) is not None:
                return path
        return None

    def type_ref(self, ref: ir.TypeRef, owner: str | None = None) -> None:
        if ref.values is not None:
            if owner is not None:
                self.enum_values_declared(ref.span, owner, ref.values)
            return
        if ref.name is None:
            return
        span = ref.span
        if ref.qualifier is not None:
            entry = self.scope.aliases.get(ref.qualifier)
            if entry is None:
                return
            qspan = ir.Span(self.file, span.line, span.column, span.line, span.column + len(ref.qualifier))
            self.add(qspan, ("module", entry[1].path))
            enum_ = entry[1].enums.get(ref.name)
            nspan = ir.Span(self.file, span.line, span.end_column - len(ref.name), span.line, span.end_column)
            if enum_ is not None:
                self.add(nspan, ("type", enum_.module, enum_.name))
            return
        if ref.name in PRIMITIVES:
            self.add(span, ("primitive", ref.name))
            return
        enum_ = self.scope.enums.get(ref.name)
        if enum_ is not None:
            self.add(span, ("type", enum_.module, enum_.name))

    def name(self, name: ir.Name, locals_: dict[str, TargetKey] | None = None,
             enum_hint: EnumType | None = None, within: str | None = None) -> None:
        span = name.span
        if name.qualifier is None and locals_ and name.name in locals_:
            self.add(span, locals_[name.name])
            return
        if name.qualifier is not None and name.qualifier in self.scope.levels:
            self.level_prefix(ir.Span(self.file, span.line, span.column, span.line,
                                      span.column + len(name.qualifier)), name.qualifier)
        if name.qualifier is not None:
            entry = self.scope.aliases.get(name.qualifier)
            if entry is not None:
                self.add(ir.Span(self.file, span.line, span.column, span.line, span.column + len(name.qualifier)),
                         ("module", entry[1].path))
            found = lookup(self.scope, name)
            if found is not None:
                nspan = ir.Span(self.file, span.end_line, span.end_column - len(name.name), span.end_line,
                                span.end_column)
                self.add(nspan, ("symbol", found.symbol.module, found.symbol.name))
            return
        found = lookup(self.scope, name, within)
        if found is not None:
            self.add(span, ("symbol", found.symbol.module, found.symbol.name))
            return
        owner = self.enum_owner(name.name, enum_hint)
        if owner is not None:
            self.add(span, ("value", owner.module, owner.name, name.name))

    def enum_owner(self, value: str, hint: EnumType | None) -> EnumType | None:
        if hint is not None and value in hint.values:
            return hint
        owners = self.scope.enum_values().get(value, [])
        return owners[0] if owners else None

    def subject_enum(self, expr: ir.Expr, locals_: dict[str, TargetKey] | None,
                     within: str | None = None) -> EnumType | None:
        """The enumeration an expression's values come from, when it is a plain name."""
        if not isinstance(expr, ir.Name) or (locals_ and expr.name in locals_):
            return None
        found = lookup(self.scope, expr, within)
        if found is None:
            return None
        known = self.program.types.get(found.symbol.key)
        return known.enum if known is not None and known.kind is Kind.ENUM else None

    def values_in(self, span: ir.Span, values: Iterable[str], owner: EnumType | None, start_column: int) -> None:
        column = start_column
        for value in values:
            found = find_word(self.lines, self.file, span.line, column,
                              value, span.end_column if span.end_line == span.line else None)
            if found is None:
                continue
            column = found.end_column
            enum_ = self.enum_owner(value, owner)
            if enum_ is not None:
                self.add(found, ("value", enum_.module, enum_.name, value))

    def expr(self, expr: ir.Expr, locals_: dict[str, TargetKey] | None = None,
             enum_hint: EnumType | None = None, within: str | None = None) -> None:
        """Index an expression read at level `within` (semantics/levels.py): in 求和(明细.x 其中 …)
        the filter is read on each line of 明细."""
        stack: list[tuple[ir.Expr, EnumType | None, str | None]] = [(expr, enum_hint, within)]
        while stack:
            node, hint, level = stack.pop()

            def push(*exprs: ir.Expr, hint: EnumType | None = None, level: str | None = level) -> None:
                stack.extend((e, hint, level) for e in exprs)

            def subject(e: ir.Expr, level: str | None = level) -> EnumType | None:
                return self.subject_enum(e, locals_, level)

            match node:
                case ir.Literal(kind=ir.LiteralKind.TEXT, value=value):
                    self.code(node.span, str(value))
                case ir.Literal():
                    pass
                case ir.Name():
                    self.name(node, locals_, hint, level)
                case ir.Arith(left=a, right=b) | ir.Logic(left=a, right=b):
                    push(a, b)
                case ir.Compare(left=a, right=b):
                    push(a)
                    push(b, hint=subject(a) or subject(b))
                case ir.Negate(operand=a) | ir.Not(operand=a):
                    push(a)
                case ir.Member(subject=subj, values=values):
                    push(subj)
                    text = self.lines.code_line(node.span.line)
                    brace = text.find("{", subj.span.end_column - 1 if subj.span.line == node.span.line else 0)
                    if brace >= 0:
                        self.values_in(node.span, values, subject(subj), brace + 2)
                case ir.Between(subject=a, low=b, high=c):
                    push(a, b, c)
                case ir.If(branches=branches, otherwise=other):
                    for branch in branches:
                        push(branch.condition)
                        push(branch.value, hint=hint)
                    push(other, hint=hint)
                case ir.Bounded(value=a, limit=b):
                    push(a, b)
                case ir.Call(function=function, args=args):
                    self.call(node, function, locals_)
                    push(*args)
                case ir.Banded(subject=subj, bands=bands):
                    push(subj)
                    for band in bands:
                        push(*(b.value for b in (band.lower, band.upper) if b is not None))
                        push(band.rate)
                case ir.Stepped(subject=subj, steps=steps, otherwise=other):
                    push(subj)
                    for step in steps:
                        push(*(b.value for b in (step.low, step.high) if b is not None))
                        push(step.result, hint=hint)
                    if other is not None:
                        push(other, hint=hint)
                case ir.Cases(subject=subj, rows=rows, otherwise=other):
                    push(subj)
                    owner = subject(subj)
                    for row in rows:
                        self.values_in(row.span, row.values, owner, row.span.column)
                        push(row.result, hint=hint)
                    if other is not None:
                        push(other, hint=hint)
                case ir.Table(keys=keys, rows=rows, columns=columns, column_spans=column_spans):
                    push(*keys)
                    owners = [subject(k) for k in keys]
                    for table_row in rows:
                        self.values_in(table_row.span, (table_row.key,), owners[0], table_row.span.column)
                        push(*table_row.cells, hint=hint)
                    if len(owners) == 2:
                        for column, cspan in zip(columns, column_spans, strict=False):
                            enum_ = self.enum_owner(column, owners[1])
                            if enum_ is not None:
                                self.add(cspan, ("value", enum_.module, enum_.name, column))
                case ir.Aggregate(over=over, item=item, where=where, item_span=span):
                    self.aggregate_target(over, item, span)
                    if where is not None:
                        push(where, level=inner_level(node))
                case ir.Lookup(catalog=catalog, column=column, key=key, date=date, missing=missing):
                    self.lookup_target(catalog, column, node.target_span)
                    if isinstance(key, ir.Literal) and key.kind is ir.LiteralKind.TEXT:
                        self.code(key.span, str(key.value), catalog)
                    else:
                        push(key)
                    push(*(e for e in (date, missing) if e is not None))
                case _:
                    pass

    def aggregate_target(self, over: str, item: str | None, span: ir.Span) -> None:
        """求和(明细.x)：明细 leads to the list, x to its field or per-line definition; 求和(全体.x): x is
        a figure of each claim."""
        head = ir.Span(self.file, span.line, span.column, span.line, span.column + len(over))
        self.level_prefix(head, over)
        if item is None:
            return
        tail = ir.Span(self.file, span.end_line, span.end_column - len(item), span.end_line, span.end_column)
        found = lookup(self.scope, ir.Name(item, None, tail), None if over == FUND else over)
        if found is not None:
            self.add(tail, ("symbol", found.symbol.module, found.symbol.name))

    def lookup_target(self, catalog: str, column: str, span: ir.Span) -> None:
        """查目录 目录.列：the catalog and its column."""
        decl = self.scope.catalogs.get(catalog)
        if decl is None:
            return
        self.add(ir.Span(self.file, span.line, span.column, span.line, span.column + len(catalog)),
                 ("catalog", self.file, catalog))
        if column and decl.column(column) is not None:
            self.add(ir.Span(self.file, span.end_line, span.end_column - len(column), span.end_line, span.end_column),
                     ("column", self.file, catalog, column))

    def code(self, span: ir.Span, value: str, catalog: str | None = None) -> None:
        """A text literal: in a 查目录 key, a code of that catalog; elsewhere, of the first catalog of
        this policy keyed by 文本 (hover shows its rows)."""
        if catalog is None:
            catalog = next((name for name, decl in self.scope.catalogs.items()
                            if decl.key.type.name == "文本" and decl.key.type.qualifier is None), None)
            if catalog is None:
                return
            self.add(span, ("code", self.file, catalog, value, "text"))
        elif catalog in self.scope.catalogs:
            self.add(span, ("code", self.file, catalog, value, "key"))

    def call(self, node: ir.Call, function: str, locals_: dict[str, TargetKey] | None) -> None:
        span = find_word(self.lines, self.file, node.span.line, node.span.column, function)
        if span is None:
            return
        found = self.scope.names.get(function)
        if found is not None and found[1].kind is SymbolKind.FUNCTION:
            self.add(span, ("symbol", found[1].module, function))
        elif function in BUILTINS:
            self.add(span, ("builtin", function))


# ------------------------------------------------------------------ the outline


class _Outliner:
    def __init__(self, nav: Navigator, scope: ModuleScope) -> None:
        self.nav = nav
        self.scope = scope
        self.file = scope.path
        self.lines = nav.lines[scope.path]
        self.declared = {m.span.line: m.span for m in nav.mentions_of(scope.path) if m.declaration}

    def name_span(self, span: ir.Span, name: str | None = None) -> ir.Span:
        if name:
            found = find_word(self.lines, self.file, span.line, span.column, name)
            if found is not None:
                return found
        line = self.lines.code_line(span.line)
        end = len(line.rstrip()) + 1 if span.end_line != span.line else span.end_column
        return ir.Span(self.file, span.line, span.column, span.line, max(end, span.column))

    def run(self) -> list[OutlineItem]:
        module = self.scope.module
        items: list[OutlineItem] = []
        if module.header is not None:
            header = module.header
            items.append(OutlineItem(header.name, "政策", "policy", header.span, self.name_span(header.span)))
        for enum_decl in module.enums:
            values = tuple(
                OutlineItem(v, "选项", "enum-value", enum_decl.span, self.name_span(enum_decl.span, v))
                for v in enum_decl.values
            )
            items.append(OutlineItem(enum_decl.name, "类型", "enum", enum_decl.span,
                                     self.name_span(enum_decl.span, enum_decl.name), values))
        for imp in module.imports:
            detail = f"引用 作为 {imp.alias}" if imp.alias else "引用"
            items.append(OutlineItem(imp.path, detail, "import", imp.span, self.name_span(imp.span, None)))
        for catalog in module.catalogs:
            columns = tuple(OutlineItem(c.name, f"{'键' if c is catalog.key else '列'} : {c.type.display}", "column",
                                        c.span, self.name_span(c.span, c.name)) for c in (catalog.key, *catalog.columns))
            items.append(OutlineItem(catalog.name, f"目录 \"{catalog.path}\"", "catalog", catalog.span,
                                     self.name_span(catalog.span, catalog.name), columns))
        for decl in module.inputs:
            fields = tuple(OutlineItem(f.name, f"字段 : {f.type.display}", "field", f.span, self.name_span(f.span, f.name))
                           for f in decl.fields)
            items.append(OutlineItem(qualified(decl.scope, decl.name), f"输入 : {decl.type.display}", "input", decl.span,
                                     self.name_span(decl.span, decl.name), fields))
        clauses = sorted(module.clauses, key=lambda c: c.span.start)
        members: dict[int, list[OutlineItem]] = {i: [] for i in range(len(clauses))}
        loose: list[OutlineItem] = []
        for item in self.members():
            for i, clause in enumerate(clauses):
                if _within(item.span, clause.span):
                    members[i].append(item)
                    break
            else:
                loose.append(item)
        for i, clause in enumerate(clauses):
            name = clause.raw_id + (f" {clause.title}" if clause.title else "")
            children = tuple(sorted(members[i], key=lambda item: item.span.start))
            items.append(OutlineItem(name, "条款", "clause", clause.span, self.name_span(clause.span, None), children))
        items.extend(loose)
        for output in _output_lines(module.outputs):
            first, last = output[0].span, output[-1].span
            span = ir.Span(self.file, first.line, 1, last.end_line, last.end_column)
            children = tuple(OutlineItem(n.display, "输出", "output", n.span, n.span) for n in output)
            items.append(OutlineItem("输出", "、".join(n.display for n in output), "output", span,
                                     ir.Span(self.file, first.line, 1, first.line, 3), children))
        for example in module.examples:
            items.append(OutlineItem(example.name, "样例", "example", example.span, self.name_span(example.span, None)))
        return sorted(items, key=lambda item: item.span.start)

    def members(self) -> Iterator[OutlineItem]:
        module = self.scope.module
        for param in module.params:
            dated = [v for v in param.versions if v.start is not None]
            detail = f"参数 : {param.type.display}" + (f"（{len(dated)} 个版本）" if dated else "")
            yield OutlineItem(param.name, detail, "param", param.span, self.name_span(param.span, param.name))
        for definition in module.definitions:
            found = self.nav.program.types.get((self.file, qualified(definition.scope, definition.name)))
            shown = found.name if found is not None and found.kind is not Kind.ERROR else (
                definition.type.display if definition.type else "")
            yield OutlineItem(definition.display, f"定义 : {shown}" if shown else "定义", "definition",
                              definition.span, self.name_span(definition.span, definition.name))
        for function in module.functions:
            yield OutlineItem(function.name, f"函数 : {function.result.display}", "function", function.span,
                              self.name_span(function.span, function.name))
        for rule in module.exceptions:
            condition = self.lines.text_of(rule.condition.span)
            yield OutlineItem(f"例外 {rule.target.display}", excerpt(f"当 {condition} 时", 60), "exception",
                              rule.span, rule.target.span)
        for assertion in module.assertions:
            yield OutlineItem("断言", excerpt(assertion.message or self.lines.text_of(assertion.condition.span), 60),
                              "assertion", assertion.span, self.name_span(assertion.span, "断言"))
        for constraint in module.constraints:
            yield OutlineItem("约束", excerpt(constraint.message or self.lines.text_of(constraint.condition.span), 60),
                              "constraint", constraint.span, self.name_span(constraint.span, "约束"))
        for requirement in module.requirements:
            yield OutlineItem(requirement.name, f"要求 : {requirement.type.display}", "requirement", requirement.span,
                              self.name_span(requirement.span, requirement.name))


def _within(inner: ir.Span, outer: ir.Span) -> bool:
    return outer.start <= inner.start and (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)


def _output_lines(outputs: tuple[ir.Name, ...]) -> list[list[ir.Name]]:
    groups: list[list[ir.Name]] = []
    for name in outputs:
        if groups and groups[-1][-1].span.line == name.span.line:
            groups[-1].append(name)
        else:
            groups.append([name])
    return groups
