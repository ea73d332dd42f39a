"""The language server (`yibaolang lsp`): the protocol edge over `compiler` and `navigate`.

It speaks LSP over stdio through pygls (the optional extra `lsp`; imported
inside `build_server`, so importing this module needs nothing but the core).
Each document is checked in full — syntax, names, types and the lints, as
`yibaolang check` does — with the text the editor holds, not the file on disk:
every open document is passed to the compiler as an override, so an unsaved
imported file is seen too.  Checks run one at a time on a worker thread (the
parser keeps state while it runs) and, while the drafter types, only after a
short pause.

yibaolang counts columns in code points from 1; the protocol counts from 0 in
the units negotiated at start-up (UTF-16 unless the client offers another), so
every position crosses `to_lsp_character` / `from_lsp_character`:

>>> line = "原文 \\"𠀀\\" 甲"
>>> to_lsp_character(line, 7)      # 甲 is the 7th code point; 𠀀 takes two UTF-16 units
7
>>> from_lsp_character(line, 7)
7
>>> to_lsp_character(line, 7, "utf-8"), to_lsp_character(line, 7, "utf-32")
(13, 6)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Program
from yibaolang.diagnostics import Diagnostic, Severity
from yibaolang.tools.navigate import Lines, Navigator

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger("yibaolang.tools.lsp")

# Seconds of quiet after a keystroke before the document is checked again.
DEBOUNCE_SECONDS = 0.25

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


# ------------------------------------------------------------------ positions


def _units(text: str, encoding: str) -> int:
    if encoding == UTF8:
        return len(text.encode("utf-8"))
    if encoding == UTF32:
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def to_lsp_character(line: str, column: int, encoding: str = UTF16) -> int:
    """A 1-based code-point column of `line` as the protocol's 0-based character offset.

    >>> to_lsp_character("定义 甲", 4), to_lsp_character("𠀀甲", 2), to_lsp_character("甲", 5)
    (3, 2, 4)
    """
    index = max(column - 1, 0)
    prefix = line[:index]
    return _units(prefix, encoding) + (index - len(prefix))


def from_lsp_character(line: str, character: int, encoding: str = UTF16) -> int:
    """The protocol's character offset on `line` as a 1-based code-point column.

    An offset inside a character (the second half of a surrogate pair) means
    that character; an offset past the end of the line means just after it.

    >>> from_lsp_character("𠀀甲", 2), from_lsp_character("𠀀甲", 1), from_lsp_character("甲", 9)
    (2, 1, 2)
    """
    total = 0
    for index, ch in enumerate(line):
        width = _units(ch, encoding)
        if total + width > character:
            return index + 1
        total += width
    return len(line) + 1


# ------------------------------------------------------------------ one checked document


@attrs.frozen
class Analysis:
    """A document checked as the editor held it."""

    uri: str
    text: str
    version: int | None
    module: str  # the document's module key in `program.modules`
    program: Program
    nav: Navigator

    @property
    def has_errors(self) -> bool:
        return any(d.is_error and d.span.file == self.module for d in self.program.diagnostics)

    def lines_of(self, module: str) -> Lines | None:
        return self.nav.lines.get(module)


def analyse(uri: str, path: Path, text: str, version: int | None, overrides: dict[str, str]) -> Analysis:
    """Check `text` as the file at `path` (a pure function; runs on the worker thread)."""
    from yibaolang.analysis.lint import check_policy

    program = check_policy(path, {**overrides, str(path): text})
    return Analysis(uri, text, version, program.root.path, program, Navigator(program))


def same_file(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError, ValueError):
        return a == b


def import_errors(program: Program) -> list[Diagnostic]:
    """One error on each 引用 line whose file (or what it imports) has errors."""
    from yibaolang.diagnostics import error

    root = program.root
    out = []
    for imp, child in root.imports:
        reach = _reachable(child)
        found = [d for d in program.diagnostics
                 if d.is_error and any(same_file(d.span.file, m.path) for m in reach)
                 and not same_file(d.span.file, root.path)]
        if found:
            first = found[0]
            where = f"{Path(first.span.file).name}:{first.span.line}:{first.span.column}"
            out.append(error(first.code, imp.span,
                             f"引用的文件有 {len(found)} 个错误；第一个在 {where}：{first.message}",
                             "打开那个文件查看并修正"))
    return out


def _reachable(scope: ModuleScope) -> list[ModuleScope]:
    seen: dict[int, ModuleScope] = {}
    stack = [scope]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen[id(current)] = current
        stack.extend(child for _, child in current.imports)
    return list(seen.values())


# ------------------------------------------------------------------ the server


class Session:
    """The server's state: the checked documents and the worker that checks them."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.analyses: dict[str, Analysis] = {}
        # The last analysis of each document without errors: while the drafter is in the middle
        # of a statement, its block does not parse, and completion still offers the names it held.
        self.last_clean: dict[str, Analysis] = {}
        self.inflight: dict[str, tuple[str, asyncio.Future[Analysis | None]]] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="yibaolang-check")

    # -------------------------------------------------------------- documents

    @property
    def encoding(self) -> str:
        value = getattr(self.server.workspace, "position_encoding", None) or UTF16
        return str(getattr(value, "value", value))

    def document(self, uri: str) -> Any:
        return self.server.workspace.get_text_document(uri)

    def path_of(self, uri: str) -> Path:
        from pygls.uris import to_fs_path

        fs = to_fs_path(uri) if uri.startswith("file:") else None
        if fs:
            return Path(fs).absolute()
        digest = abs(hash(uri)) % 10**8
        return Path.cwd() / f"未命名-{digest}.ybl"

    def uri_of(self, analysis: Analysis, module: str) -> str:
        from pygls.uris import from_fs_path

        if module == analysis.module:
            return analysis.uri
        return str(from_fs_path(str(Path(module).resolve())))

    def overrides(self) -> dict[str, str]:
        workspace = self.server.workspace
        documents = getattr(workspace, "text_documents", None) or getattr(workspace, "documents", {})
        out = {}
        for uri, doc in dict(documents).items():
            if str(uri).startswith("file:"):
                out[str(self.path_of(str(uri)))] = doc.source
        return out

    async def fresh(self, uri: str) -> Analysis | None:
        """The analysis of the document's current text, checking it if needed."""
        doc = self.document(uri)
        text = doc.source
        cached = self.analyses.get(uri)
        if cached is not None and cached.text == text:
            return cached
        running = self.inflight.get(uri)
        if running is not None and running[0] == text:
            return await running[1]
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Analysis | None] = loop.create_future()
        self.inflight[uri] = (text, future)
        try:
            result = await loop.run_in_executor(self.worker, self._analyse_safely, uri, text, doc.version,
                                                self.overrides())
        finally:
            if self.inflight.get(uri, (None, None))[1] is future:
                del self.inflight[uri]
        if result is not None and self.document(uri).source == text:
            self.analyses[uri] = result
            if not result.has_errors:
                self.last_clean[uri] = result
        if not future.done():
            future.set_result(result)
        return result

    def _analyse_safely(self, uri: str, text: str, version: int | None, overrides: dict[str, str]) -> Analysis | None:
        try:
            return analyse(uri, self.path_of(uri), text, version, overrides)
        except Exception:  # a bug must not take the server down with it
            log.exception("checking %s failed", uri)
            return None

    async def check(self, uri: str) -> None:
        analysis = await self.fresh(uri)
        if analysis is None or self.document(uri).source != analysis.text:
            return
        self.publish(analysis)

    def check_later(self, uri: str) -> None:
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()

        async def later() -> None:
            await asyncio.sleep(DEBOUNCE_SECONDS)
            self.pending.pop(uri, None)
            try:
                await self.check(uri)
            except Exception:  # nobody awaits this task: log rather than lose the error
                log.exception("publishing diagnostics for %s failed", uri)

        self.pending[uri] = asyncio.ensure_future(later())

    def publish(self, analysis: Analysis) -> None:
        from lsprotocol import types as lsp

        diagnostics = [self.to_lsp_diagnostic(analysis, d) for d in self.own_diagnostics(analysis)]
        params = lsp.PublishDiagnosticsParams(uri=analysis.uri, diagnostics=diagnostics, version=analysis.version)
        self._publish(params)

    def clear(self, uri: str) -> None:
        from lsprotocol import types as lsp

        self._publish(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def _publish(self, params: Any) -> None:
        if hasattr(self.server, "text_document_publish_diagnostics"):
            self.server.text_document_publish_diagnostics(params)
        else:  # pygls 1.x
            self.server.publish_diagnostics(params.uri, params.diagnostics, params.version)

    def own_diagnostics(self, analysis: Analysis) -> list[Diagnostic]:
        root = analysis.program.root.path
        own = [d for d in analysis.program.diagnostics if d.span.file == root]
        return own + import_errors(analysis.program)

    # -------------------------------------------------------------- conversions

    def to_range(self, analysis: Analysis, span: ir.Span) -> Any:
        from lsprotocol import types as lsp

        lines = analysis.lines_of(span.file) or analysis.lines_of(analysis.module)
        if span.line < 1 or lines is None:
            return lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0))
        enc = self.encoding
        start = lsp.Position(line=span.line - 1,
                             character=to_lsp_character(lines.original_line(span.line), span.column, enc))
        end_line = max(span.end_line, span.line)
        end_column = span.end_column if span.end_line >= span.line else span.column
        end = lsp.Position(line=end_line - 1,
                           character=to_lsp_character(lines.original_line(end_line), end_column, enc))
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return lsp.Range(start=start, end=end)

    def from_position(self, analysis: Analysis, position: Any) -> tuple[int, int]:
        lines = analysis.lines_of(analysis.module)
        line = position.line + 1
        text = lines.original_line(line) if lines is not None else ""
        return line, from_lsp_character(text, position.character, self.encoding)

    def location(self, analysis: Analysis, span: ir.Span) -> Any:
        from lsprotocol import types as lsp

        return lsp.Location(uri=self.uri_of(analysis, span.file), range=self.to_range(analysis, span))

    def to_lsp_diagnostic(self, analysis: Analysis, d: Diagnostic) -> Any:
        from lsprotocol import types as lsp

        severity = {Severity.ERROR: lsp.DiagnosticSeverity.Error, Severity.WARNING: lsp.DiagnosticSeverity.Warning,
                    Severity.INFO: lsp.DiagnosticSeverity.Information}[d.severity]
        message = d.message + (f"\n提示：{d.hint}" if d.hint else "")
        related = [lsp.DiagnosticRelatedInformation(location=self.location(analysis, span), message=note)
                   for span, note in d.related if span.file in analysis.program.modules]
        return lsp.Diagnostic(range=self.to_range(analysis, d.span), message=message, severity=severity,
                              code=d.code, source="yibaolang", related_information=related or None)


_COMPLETION_KINDS = {
    "keyword": "Keyword", "input": "Field", "param": "Constant", "definition": "Variable",
    "function": "Function", "requirement": "Interface", "value": "EnumMember", "type": "Enum",
    "module": "Module", "clause": "Reference", "builtin": "Function",
}

_SYMBOL_KINDS = {
    "policy": "File", "clause": "Namespace", "definition": "Variable", "param": "Constant", "input": "Field",
    "function": "Function", "exception": "Event", "assertion": "Boolean", "constraint": "Boolean",
    "requirement": "Interface", "enum": "Enum", "enum-value": "EnumMember", "import": "Package",
    "output": "Key", "example": "Object",
}


def build_server() -> Any:
    """The pygls server with every feature registered."""
    from lsprotocol import types as lsp

    from yibaolang import __version__

    server: LanguageServer = _server_class()("yibaolang", __version__)
    session = Session(server)
    server.yibaolang_session = session  # type: ignore[attr-defined]

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: Any, params: lsp.DidOpenTextDocumentParams) -> None:
        await session.check(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: Any, params: lsp.DidChangeTextDocumentParams) -> None:
        session.check_later(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: Any, params: lsp.DidSaveTextDocumentParams) -> None:
        saved = params.text_document.uri
        await session.check(saved)
        # Documents that import the saved one see its new text.
        for uri in list(session.analyses):
            if uri != saved:
                session.analyses.pop(uri, None)
                await session.check(uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: Any, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        session.analyses.pop(uri, None)
        session.last_clean.pop(uri, None)
        pending = session.pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        session.clear(uri)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: Any, params: lsp.HoverParams) -> lsp.Hover | None:
        analysis = await session.fresh(params.text_document.uri)
        if analysis is None:
            return None
        line, column = session.from_position(analysis, params.position)
        mention = analysis.nav.mention_at(analysis.module, line, column)
        if mention is None:
            return None
        text = analysis.nav.hover(mention.target, analysis.module)
        if not text:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                         range=session.to_range(analysis, mention.span))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    async def definition(ls: Any, params: lsp.DefinitionParams) -> lsp.Location | None:
        analysis = await session.fresh(params.text_document.uri)
        if analysis is None:
            return None
        target = analysis.nav.target_at(analysis.module, *session.from_position(analysis, params.position))
        span = analysis.nav.definition(target) if target is not None else None
        return session.location(analysis, span) if span is not None else None

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    async def references(ls: Any, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        analysis = await session.fresh(params.text_document.uri)
        if analysis is None:
            return None
        target = analysis.nav.target_at(analysis.module, *session.from_position(analysis, params.position))
        if target is None:
            return None
        spans = analysis.nav.references(target, include_declaration=params.context.include_declaration)
        return [session.location(analysis, span) for span in spans]

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                    lsp.CompletionOptions(trigger_characters=[".", '"', "“"]))
    async def completion(ls: Any, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        analysis = await session.fresh(params.text_document.uri)
        if analysis is None:
            return None
        line, column = session.from_position(analysis, params.position)
        entries = analysis.nav.completions(analysis.module, line, column)
        parsed = session.last_clean.get(params.text_document.uri)
        if analysis.has_errors and parsed is not None and any(e.kind == "keyword" for e in entries):
            known = {e.label for e in entries}
            entries += [e for e in parsed.nav.completions(parsed.module, 0, 0)
                        if e.label not in known and e.replace_from is None]
        items = []
        for entry in entries:
            item = lsp.CompletionItem(
                label=entry.label,
                kind=getattr(lsp.CompletionItemKind, _COMPLETION_KINDS.get(entry.kind, "Text")),
                detail=entry.detail or None,
                documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=entry.documentation)
                if entry.documentation else None,
            )
            if entry.replace_from is not None:
                span = ir.Span(analysis.module, line, entry.replace_from, line, column)
                item.text_edit = lsp.TextEdit(range=session.to_range(analysis, span), new_text=entry.label)
                item.filter_text = entry.label
            items.append(item)
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbol(ls: Any, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol] | None:
        analysis = await session.fresh(params.text_document.uri)
        if analysis is None:
            return None

        def convert(item: Any) -> lsp.DocumentSymbol:
            whole = session.to_range(analysis, item.span)
            name = session.to_range(analysis, item.name_span)
            if not (_before(whole.start, name.start) and _before(name.end, whole.end)):
                name = lsp.Range(start=whole.start, end=whole.start)
            return lsp.DocumentSymbol(
                name=item.name or "（无名）", detail=item.detail or None,
                kind=getattr(lsp.SymbolKind, _SYMBOL_KINDS.get(item.kind, "Object")),
                range=whole, selection_range=name,
                children=[convert(child) for child in item.children] or None,
            )

        return [convert(item) for item in analysis.nav.outline(analysis.module)]

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    async def code_action(ls: Any, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        analysis = await session.fresh(params.text_document.uri)
        if analysis is None:
            return None
        wanted = params.range
        actions = []
        for d in session.own_diagnostics(analysis):
            if not d.suggestions:
                continue
            lsp_diag = session.to_lsp_diagnostic(analysis, d)
            if not _overlaps(lsp_diag.range, wanted):
                continue
            for suggestion in d.suggestions:
                edit = lsp.TextEdit(range=session.to_range(analysis, suggestion.span), new_text=suggestion.replacement)
                actions.append(lsp.CodeAction(
                    title=suggestion.title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[lsp_diag],
                    edit=lsp.WorkspaceEdit(changes={analysis.uri: [edit]}),
                    is_preferred=len(d.suggestions) == 1,
                ))
        return actions

    _register_formatting(server, session)
    return server


def _server_class() -> type[LanguageServer]:
    import importlib

    try:
        module = importlib.import_module("pygls.lsp.server")
    except ImportError:  # pygls 1.x
        module = importlib.import_module("pygls.server")
    cls: type[LanguageServer] = module.LanguageServer
    return cls


def _register_formatting(server: LanguageServer, session: Session) -> None:
    """Formatting, when the formatter (`yibaolang.tools.fmt`) offers a function over text."""
    formatter = _formatter()
    if formatter is None:
        return
    from lsprotocol import types as lsp

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    async def formatting(ls: Any, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        doc = session.document(params.text_document.uri)
        text = doc.source
        try:
            formatted = formatter(text)
        except Exception:  # a file that does not parse is left alone
            log.info("not formatting %s: it does not parse", params.text_document.uri)
            return None
        if formatted is None or formatted == text:
            return []
        lines = text.split("\n")
        end = lsp.Position(line=len(lines) - 1, character=to_lsp_character(lines[-1], len(lines[-1]) + 1,
                                                                         session.encoding))
        whole = lsp.Range(start=lsp.Position(line=0, character=0), end=end)
        return [lsp.TextEdit(range=whole, new_text=formatted)]


def _formatter() -> Any:
    """`format_text(str) -> str` from yibaolang.tools.fmt, if that module exists and offers one."""
    import importlib

    try:
        fmt = importlib.import_module("yibaolang.tools.fmt")
    except ImportError:
        return None
    for name in ("format_text", "format_source", "format_string", "format_str"):
        function = getattr(fmt, name, None)
        if callable(function):
            return function
    return None


def _before(a: Any, b: Any) -> bool:
    return bool((a.line, a.character) <= (b.line, b.character))


def _overlaps(a: Any, b: Any) -> bool:
    return _before(a.start, b.end) and _before(b.start, a.end)


def serve() -> None:
    """Run the server over stdin/stdout until the client says exit."""
    build_server().start_io()
