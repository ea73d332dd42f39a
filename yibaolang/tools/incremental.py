"""Incremental parsing for the language server: only the top-level statements an edit touched.

A policy is a sequence of top-level statements (a line starting in column 1
and the lines indented under it; see `syntax.statements`).  Each statement is
decoded and parsed on its own, as the parser's error recovery already does,
and the result is kept under the statement's text.  After an edit, a
statement whose text is unchanged is reused; if lines were inserted or deleted
above it, its spans are moved by that many lines instead of parsing it again.

The result is the same SourceFile, Module and diagnostics that decoding and
parsing the whole text gives (a property test checks this); nothing is
written to the on-disk parse cache, which would otherwise gain one entry per
keystroke.

>>> parse = IncrementalParser("甲.ybl")
>>> source, module, diagnostics = parse("输入 费用 : 金额\\n定义 报销 : 金额 = 费用\\n")
>>> [d.name for d in module.definitions], parse.reparsed
(['报销'], 2)
>>> _, module, _ = parse("输入 费用 : 金额\\n\\n定义 报销 : 金额 = 费用 × 50%\\n")
>>> module.definitions[0].span.line, parse.reparsed
(3, 1)
"""

from __future__ import annotations

from typing import Any

import attrs

from yibaolang import ir
from yibaolang.diagnostics import Diagnostic
from yibaolang.frontend import syntax
from yibaolang.frontend.lower import build_module
from yibaolang.frontend.source import MAX_SOURCE_BYTES, SourceError, SourceFile, decode

# Statements kept per document beyond the ones in the current text (older versions of edited statements).
SPARE_ENTRIES = 64


@attrs.frozen(slots=True)
class Statement:
    """One top-level statement (or a run of blank and comment lines), parsed at line `start` (0-based)."""

    start: int
    original: str
    text: str  # normalised, titles masked
    titles: dict[int, str]  # absolute line numbers
    items: tuple[Any, ...]
    diagnostics: tuple[Diagnostic, ...]
    tab_errors: tuple[Diagnostic, ...]
    blank: bool
    unparsed: tuple[str, ...]
    # The file's declared names when the statement was parsed, if it has syntax errors: the
    # spacing hint of an error depends on them, so the statement is parsed again when they change.
    names: frozenset[str] | None = None


class IncrementalParser:
    """Parses successive versions of one document, reusing the statements an edit left alone."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.entries: dict[str, Statement] = {}
        self.reparsed = 0  # statements parsed by the last call (the rest were reused)

    def __call__(self, original: str) -> tuple[SourceFile, ir.Module, list[Diagnostic]]:
        """The decoded source, its Module and the syntax diagnostics; SourceError as `decode` raises it."""
        original = _check_whole(self.path, original)
        segments = syntax.statements(original)
        statements: list[Statement] = []
        self.reparsed = 0
        names = frozenset(_declared_names(self.path, original))
        with syntax.file_names(self.path, set(names)):
            for start, text in segments:
                # Blank lines after a statement are kept apart, so that inserting one leaves the statement alone.
                core = text.rstrip(" \t\n\u3000")
                cut = text.find("\n", len(core))
                if core and 0 <= cut < len(text) - 1:
                    statements.append(self._statement(start, text[:cut + 1], names))
                    statements.append(self._statement(start + core.count("\n") + 1, text[cut + 1:], names))
                else:
                    statements.append(self._statement(start, text, names))
        live = {s.original for s in statements}
        if len(self.entries) > len(live) + SPARE_ENTRIES:
            self.entries = {k: v for k, v in self.entries.items() if k in live}
        return self._assemble(original, statements)

    def _statement(self, start: int, text: str, names: frozenset[str]) -> Statement:
        known = self.entries.get(text)
        if known is not None and known.diagnostics and known.names != names:
            known = None
        if known is not None and known.start == start:
            return known
        if known is not None:
            moved = _moved(known, start)
            self.entries[text] = moved
            return moved
        made = _parse_statement(self.path, start, text)
        if made.diagnostics:
            made = attrs.evolve(made, names=names)
        self.reparsed += not made.blank
        self.entries[text] = made
        return made

    def _assemble(self, original: str, statements: list[Statement]) -> tuple[SourceFile, ir.Module, list[Diagnostic]]:
        text = "".join(s.text for s in statements)
        if not text.endswith("\n"):
            text += "\n"
        titles: dict[int, str] = {}
        for s in statements:
            titles.update(s.titles)
        source = SourceFile(path=self.path, original=original, text=text, titles=titles)
        tabs = [d for s in statements for d in s.tab_errors]
        if tabs:
            return source, build_module(self.path, []), tabs
        items: list[Any] = []
        diagnostics: list[Diagnostic] = []
        unparsed: set[str] = set()
        for s in statements:
            if s.blank:
                continue
            items.extend(s.items)
            diagnostics.extend(s.diagnostics)
            unparsed.update(s.unparsed)
            if len(diagnostics) >= syntax.MAX_ERRORS_PER_FILE:
                break
        module, diagnostics = syntax.finish(self.path, items, diagnostics, tuple(sorted(unparsed)))
        # A statement parsed alone knows only its own names; the spacing hint wants the file's.
        return source, module, syntax.respace(diagnostics, source, set())


def _declared_names(path: str, original: str) -> set[str]:
    """The names the whole file declares, as the whole-file parse finds them (its spacing hints use them)."""
    try:
        return syntax.names_in_text(decode(path, original.encode("utf-8", "surrogatepass")).text)
    except SourceError:
        return syntax.names_in_text(original)  # the statement that holds the problem reports it


def _check_whole(path: str, original: str) -> str:
    """What `decode` checks of the whole text, and its line-end and BOM handling."""
    size = len(original.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        decode(path, b"\0" * (MAX_SOURCE_BYTES + 1))  # raises the size error, worded once in source.py
    if original.startswith("\ufeff"):
        original = original[1:]
    return original.replace("\r\n", "\n").replace("\r", "\n")


def _parse_statement(path: str, start: int, original: str) -> Statement:
    try:
        piece = decode(path, original.encode("utf-8", "surrogatepass"))
    except SourceError as exc:
        # Lines inside the statement: place the error in the document.
        raise SourceError(exc.code, exc.message, exc.hint, exc.line + start, exc.column) from None
    text = piece.text if original.endswith("\n") else piece.text[:-1] if piece.text.endswith("\n") else piece.text
    titles = {line + start: title for line, title in piece.titles.items()}
    blank = not text.strip(" \t\n") or all(
        not line.strip(" \t") or line.lstrip(" \t").startswith("#") for line in text.split("\n"))
    shown = SourceFile(path=path, original=original, text=text if text.endswith("\n") else text + "\n",
                       titles=titles)
    tabs = tuple(_shift(d, start) for d in syntax.tab_errors(shown))
    if blank or tabs:
        return Statement(start, original, text, titles, (), (), tabs, blank, ())
    body = shown.text
    items, diagnostics = syntax.parse_statement(path, body, start, titles)
    unparsed = tuple(sorted(syntax.names_in_text(body))) if diagnostics and not items else ()
    return Statement(start, original, text, titles, tuple(items), tuple(diagnostics or ()), (), False, unparsed)


def _moved(statement: Statement, start: int) -> Statement:
    delta = start - statement.start
    return attrs.evolve(
        statement, start=start,
        titles={line + delta: title for line, title in statement.titles.items()},
        items=tuple(_shift(item, delta) for item in statement.items),
        diagnostics=tuple(_shift(d, delta) for d in statement.diagnostics),
        tab_errors=tuple(_shift(d, delta) for d in statement.tab_errors),
    )


# ------------------------------------------------------------------ moving spans


_LEAVES = frozenset({str, int, float, bool, type(None)})
_MOVERS: dict[type, Any] = {}


def _shift(node: Any, delta: int) -> Any:
    """`node` (an IR node, a Diagnostic, or a tuple or list of them) with every span `delta` lines later."""
    if delta == 0:
        return node
    cls = type(node)
    mover = _MOVERS.get(cls)
    if mover is None:
        mover = _MOVERS[cls] = _mover(cls)
    return mover(node, delta)


def _mover(cls: type) -> Any:
    """A function that moves the spans inside instances of `cls` (built once per class: this runs per keystroke)."""
    if cls in _LEAVES or not (attrs.has(cls) or cls in (tuple, list)):
        return lambda node, delta: node  # Decimal, date, enum members: no position
    if cls is ir.Span:
        def span(node: ir.Span, delta: int) -> ir.Span:
            if node.line <= 0:
                return node  # not a place in the file
            return ir.Span(node.file, node.line + delta, node.column, node.end_line + delta, node.end_column)
        return span
    if cls is tuple:
        return lambda node, delta: tuple([_shift(item, delta) for item in node])
    if cls is list:
        return lambda node, delta: [_shift(item, delta) for item in node]
    names = [f.name for f in attrs.fields(cls)]  # type: ignore[arg-type]  # attrs.has(cls) above
    lines = ["def move(node, delta):", "    copy = new(cls)"]
    for name in names:
        lines += [f"    value = node.{name}",
                  f"    put(copy, {name!r}, value if type(value) in leaves else shift(value, delta))"]
    lines.append("    return copy")
    scope: dict[str, Any] = {"new": object.__new__, "put": object.__setattr__, "shift": _shift, "cls": cls,
                             "leaves": _LEAVES}
    exec("\n".join(lines), scope)  # the source is built from attrs field names only
    return scope["move"]
