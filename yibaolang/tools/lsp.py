"""The language server (`yibaolang lsp`): the protocol edge over `compiler` and `navigate`.

It speaks LSP over stdio through pygls (the optional extra `lsp`; imported
inside `build_server`, so importing this module needs nothing but the core),
with framing of its own that survives a broken or hostile client (`lsp_io`).
Each document is checked as `yibaolang check` does — syntax, names, types and
the lints — with the text the editor holds, not the file on disk: every open
document is passed to the compiler as an override, so an unsaved imported
file is seen too.  An edit re-parses only the top-level statements it touched
(`incremental`); names and types are checked again over the whole program and
published at once; the index for hover and completion and the lints follow
when nothing is more urgent.  Every check runs on one worker thread within a
time budget, so one slow document cannot hold up the others, and requests are
answered from the newest index while a check runs (docs/editor.md).

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
import contextlib
import ctypes
import functools
import hashlib
import json
import logging
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import attrs

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Prepared, Program
from yibaolang.diagnostics import Diagnostic, Severity, error, warning
from yibaolang.frontend.source import SourceError, SourceFile
from yibaolang.frontend.syntax import respace
from yibaolang.semantics.keyword_help import keyword_help
from yibaolang.tools.incremental import IncrementalParser
from yibaolang.tools.navigate import Lines, Navigator

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger("yibaolang.tools.lsp")

# Seconds of quiet after a keystroke before the document is checked again (keystrokes typed faster are one check).
DEBOUNCE_SECONDS = 0.015
# Seconds a request waits for a document's first analysis before it answers nothing.
FIRST_ANSWER_SECONDS = 10.0
# The time budget of each kind of job on the worker (YIBAOLANG_LSP_BUDGET sets all three, in seconds).
BUDGETS = {"front": 10.0, "index": 10.0, "lint": 20.0}
# Seconds a job may take to stop once told to, before its thread is left behind (stuck in C code).
GRACE_SECONDS = 2.0

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


@attrs.define(eq=False)
class Analysis:
    """A document checked as the editor held it: the front end at once, the index and the lints later."""

    uri: str
    text: str
    version: int | None
    module: str  # the document's module key in `program.modules`
    program: Program | None  # None: the text could not be analysed at all (see `diagnostics`)
    diagnostics: list[Diagnostic]  # syntax, names and types of this document (and its imports' errors)
    lints: list[Diagnostic] | None = None  # None until the lints have run (or while they cannot)
    nav: Navigator | None = None
    note: Diagnostic | None = None  # why the lints or the index are missing (out of time)
    _lines: dict[str, Lines] = attrs.Factory(dict)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def text_lines(self) -> list[str]:
        lines = self.lines_of(self.module)
        return lines.original if lines is not None else self.text.split("\n")

    def lines_of(self, module: str) -> Lines | None:
        if self.nav is not None and module in self.nav.lines:
            return self.nav.lines[module]
        found = self._lines.get(module)
        if found is None and self.program is not None and module in self.program.modules:
            found = self._lines[module] = Lines(self.program.modules[module].source)
        return found

    def published(self) -> list[Diagnostic]:
        out = list(self.diagnostics)
        if self.lints:
            out += self.lints
        if self.note is not None:
            out.append(self.note)
        return out


_SURROGATE = re.compile("[\ud800-\udfff]")


def front_end(uri: str, path: Path, text: str, version: int | None, overrides: dict[str, str],
              prepared: Prepared | None = None) -> Analysis:
    """Syntax, names and types of `text` as the file at `path` (runs on the worker thread)."""
    from yibaolang.checks import compiler
    from yibaolang.checks.resolve import load_program

    odd = _SURROGATE.search(text)
    if odd is not None:
        line = text.count("\n", 0, odd.start()) + 1
        column = odd.start() - (text.rfind("\n", 0, odd.start()) + 1) + 1
        span = ir.Span(str(path), line, column, line, column + 1)
        found = error("YB002", span, f"文档含有无效的 Unicode 字符：孤立的代理项 U+{ord(odd.group()):04X}",
                      "这个字符不能保存为 UTF-8；请删去它（通常来自损坏的复制粘贴）")
        return Analysis(uri, text, version, str(path), None, [found])
    program = load_program(path, {**overrides, str(path): text}, prepared=prepared)
    for run in compiler.PASSES:
        program = run(program)
    program.diagnostics[:] = compiler.unique(program.diagnostics)
    root = program.root.path
    own = [d for d in program.diagnostics if d.span.file == root] + import_errors(program)
    # Names declared in the scope (imported ones too) win over the keywords inside them in the spacing fix.
    visible = set(program.root.names) | set(program.root.enum_values()) | set(program.root.aliases)
    own = respace(own, program.root.source, visible)
    return Analysis(uri, text, version, root, program, own)


def build_index(program: Program) -> Navigator:
    """The navigation index, with the document's own mentions built (the imported files' on demand)."""
    nav = Navigator(program)
    nav.mentions_of(program.root.path)
    nav.outline(program.root.path)
    return nav


def run_lints(program: Program) -> list[Diagnostic]:
    """The consistency lints (YB5xx) of the root module, as `yibaolang check` runs them."""
    from yibaolang.analysis.lint import run
    from yibaolang.checks.compiler import unique

    before = len(program.diagnostics)
    run(program)
    root = program.root.path
    return unique([d for d in program.diagnostics[before:] if d.span.file == root])


def same_file(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError, ValueError):
        return a == b


def import_errors(program: Program) -> list[Diagnostic]:
    """One error on each 引用 line whose file (or what it imports) has errors."""
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


# ------------------------------------------------------------------ lines of an older text


class LineMap:
    """Positions in an older text of a document and in its current text.

    Lines before the first and after the last changed line are the same lines,
    moved; between them lines are paired by `difflib` (when that stretch is not
    huge), and a changed line's columns are matched outside the characters that
    changed.

    >>> m = LineMap(["甲", "乙 = 1", "丙"], ["# 注", "甲", "乙 = 12", "丙"])
    >>> m.to_old(2, 1), m.to_old(4, 1), m.to_old(1, 1), m.to_old(3, 3)
    ((1, 1), (3, 1), None, (2, 3))
    >>> m.to_new(3, 1), m.to_new(2, 5)
    ((4, 1), (3, 5))
    """

    REGION_LIMIT = 2000  # lines between the first and the last change that are paired one by one

    def __init__(self, old: list[str], new: list[str]) -> None:
        import difflib

        self.old, self.new = old, new
        limit = min(len(old), len(new))
        prefix = 0
        while prefix < limit and old[prefix] == new[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
            suffix += 1
        self.prefix, self.suffix = prefix, suffix
        self.delta = len(new) - len(old)
        self.new_to_old: dict[int, int] = {}
        old_region, new_region = old[prefix:len(old) - suffix], new[prefix:len(new) - suffix]
        if len(old_region) + len(new_region) <= self.REGION_LIMIT:
            matcher = difflib.SequenceMatcher(None, old_region, new_region, autojunk=False)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes():
                if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
                    for k in range(i2 - i1):
                        self.new_to_old[prefix + j1 + k + 1] = prefix + i1 + k + 1
        self.old_to_new = {o: n for n, o in self.new_to_old.items()}

    def to_old(self, line: int, column: int) -> tuple[int, int] | None:
        return self._map(line, column, self.new, self.old, -self.delta, self.new_to_old)

    def to_new(self, line: int, column: int) -> tuple[int, int] | None:
        return self._map(line, column, self.old, self.new, self.delta, self.old_to_new)

    def _map(self, line: int, column: int, here: list[str], there: list[str], delta: int,
             pairs: dict[int, int]) -> tuple[int, int] | None:
        if line <= self.prefix:
            return line, column
        if line > len(here) - self.suffix:
            return line + delta, column
        other = pairs.get(line)
        if other is None:
            return None
        a = here[line - 1] if line <= len(here) else ""
        b = there[other - 1] if other <= len(there) else ""
        same = 0
        while same < min(len(a), len(b)) and a[same] == b[same]:
            same += 1
        if column <= same + 1:
            return other, column
        tail = 0
        while tail < min(len(a), len(b)) - same and a[-1 - tail] == b[-1 - tail]:
            tail += 1
        if column > len(a) - tail:
            return other, column + len(b) - len(a)
        return None


# ------------------------------------------------------------------ the worker


class Interrupted(BaseException):  # not an error: a job told to stop
    """Raised inside the worker thread when its job runs out of time or gives way to a more urgent one.

    A BaseException, so that no `except Exception` in the passes can swallow it.
    """


@attrs.define(eq=False)
class Job:
    run: Callable[[], Any]
    budget: float
    future: asyncio.Future[tuple[str, Any]]
    loop: asyncio.AbstractEventLoop
    reason: str | None = None


class Worker:
    """One thread that runs the checks one at a time, each within a time budget.

    Python cannot kill a thread, so a job over its budget (or one that must
    give way to an edit) is stopped by raising `Interrupted` inside it
    (PyThreadState_SetAsyncExc): it takes effect at the next Python bytecode,
    so the passes, which are Python, stop within milliseconds.  A job stuck in
    C code (a solver call) does not see it: after GRACE_SECONDS the thread is
    left to finish on its own, its result discarded, and a new thread takes
    the queue.  The parser is not reentrant, so otherwise there is one worker.
    """

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.running: Job | None = None
        self.thread = self._start()

    def _start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="yibaolang-check", daemon=True)
        self.thread = thread
        thread.start()
        return thread

    def submit(self, run: Callable[[], Any], budget: float) -> Job:
        loop = asyncio.get_running_loop()
        job = Job(run, budget, loop.create_future(), loop)
        self.queue.put(job)
        return job

    def interrupt(self, job: Job, reason: str) -> None:
        with self.lock:
            if self.running is job and job.reason is None and self.thread.ident is not None:
                job.reason = reason
                _raise_in(self.thread, Interrupted)
                watchdog = threading.Timer(GRACE_SECONDS, self._abandon, (job,))
                watchdog.daemon = True
                watchdog.start()

    def _abandon(self, job: Job) -> None:
        with self.lock:
            if self.running is not job:
                return
            log.warning("a check did not stop within %s s; leaving it to a thread of its own", GRACE_SECONDS)
            self.running = None
            self._start()
        with contextlib.suppress(RuntimeError):
            job.loop.call_soon_threadsafe(_settle, job.future, ("interrupted", job.reason or "timeout"))

    def _loop(self) -> None:
        me = threading.current_thread()
        while self.thread is me:
            job = self.queue.get()
            if self.thread is not me:  # replaced while waiting: hand the job on
                self.queue.put(job)
                return
            # At most one interrupt is raised per job (`interrupt` marks the job); it may land after the
            # job's own code, anywhere up to `_idle`, which clears one that was sent but not yet raised.
            try:
                outcome = self._run(job)
            except Interrupted:
                outcome = "interrupted", job.reason or "timeout"
            if not self._idle(me):
                return  # abandoned meanwhile: the job is settled and a new thread runs the queue
            try:
                job.loop.call_soon_threadsafe(_settle, job.future, outcome)
            except RuntimeError:  # the event loop is closed: the server is exiting
                return

    def _run(self, job: Job) -> tuple[str, Any]:
        timer = threading.Timer(job.budget, self.interrupt, (job, "timeout"))
        timer.daemon = True
        with self.lock:
            self.running = job
        timer.start()
        try:
            return "done", job.run()
        except Interrupted:
            return "interrupted", job.reason or "timeout"
        except RecursionError:
            log.exception("a check ran too deep")
            return "failed", None
        except Exception:  # a bug must not take the server down with it
            log.exception("a check failed")
            return "failed", None
        finally:
            timer.cancel()

    def _idle(self, me: threading.Thread) -> bool:
        """Mark the worker idle; False if this thread was abandoned while its job ran."""
        while True:
            try:
                with self.lock:
                    _raise_in(me, None)  # clear an interrupt raised too late to matter
                    if self.thread is not me:
                        return False
                    self.running = None
                return True
            except Interrupted:
                continue


def _raise_in(thread: threading.Thread, exception: type[BaseException] | None) -> None:
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                   ctypes.py_object(exception) if exception else None)


def _settle(future: asyncio.Future[tuple[str, Any]], outcome: tuple[str, Any]) -> None:
    if not future.done():
        future.set_result(outcome)


# ------------------------------------------------------------------ the server


@attrs.define(eq=False)
class Document:
    """What the server keeps of one open document."""

    uri: str
    path: Path
    changed_at: float = 0.0
    current: Analysis | None = None  # the newest front-end analysis
    navigable: Analysis | None = None  # the newest analysis with its index built
    last_clean: Analysis | None = None  # the newest without errors (completion while a block is half written)
    parsers: dict[str, IncrementalParser] = attrs.Factory(dict)
    ready: asyncio.Event = attrs.Factory(asyncio.Event)  # set once `navigable` exists

    def parser(self, shown: str) -> IncrementalParser:
        found = self.parsers.get(shown)
        if found is None:
            self.parsers.clear()
            found = self.parsers[shown] = IncrementalParser(shown)
        return found


class Session:
    """The server's state: the open documents, and the worker that checks them in turn.

    Each edit makes its document due for the front end (syntax, names, types),
    which is published as soon as it is done; then, when nothing is more
    urgent, the index for hover and completion and then the lints are built,
    and an edit stops them to go first.  Requests are answered at once from
    the newest analysis that has an index, with positions mapped across the
    edits made since (`LineMap`).
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self.documents: dict[str, Document] = {}
        self.worker = Worker()
        self.wake: asyncio.Event | None = None
        self.running: tuple[str, Document, Job] | None = None
        self.pump_task: asyncio.Task[None] | None = None
        self.budgets = dict(BUDGETS)
        override = os.environ.get("YIBAOLANG_LSP_BUDGET")
        if override:
            try:
                self.budgets = {kind: float(override) for kind in BUDGETS}
            except ValueError:
                log.warning("YIBAOLANG_LSP_BUDGET is not a number of seconds: %r", override)

    # -------------------------------------------------------------- documents

    @property
    def encoding(self) -> str:
        value = getattr(self.server.workspace, "position_encoding", None) or UTF16
        return str(getattr(value, "value", value))

    def _managed(self, uri: str) -> Any:
        workspace = self.server.workspace
        documents = getattr(workspace, "text_documents", None) or getattr(workspace, "documents", {})
        found = documents.get(uri)
        if found is None:
            from urllib.parse import unquote

            found = documents.get(unquote(uri))  # pygls keys its documents by the unquoted URI
        return found

    def text_of(self, uri: str) -> str | None:
        """The text of an open document; never read from disk (a request may name any file, /dev/zero too)."""
        doc = self._managed(uri)
        return None if doc is None else str(doc.source)

    def version_of(self, uri: str) -> int | None:
        version = getattr(self._managed(uri), "version", None)
        return version if isinstance(version, int) else None

    def path_of(self, uri: str) -> Path:
        from pygls.uris import to_fs_path

        fs = to_fs_path(uri) if uri.startswith("file:") else None
        if fs:
            return Path(fs).absolute()
        digest = hashlib.sha256(uri.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        return Path.cwd() / f"未命名-{digest}.ybl"

    def uri_of(self, analysis: Analysis, module: str) -> str:
        from pygls.uris import from_fs_path

        if module == analysis.module:
            return analysis.uri
        return str(from_fs_path(str(Path(module).resolve())))

    def overrides(self) -> dict[str, str]:
        out = {}
        for uri in self.documents:
            text = self.text_of(uri)
            if uri.startswith("file:") and text is not None:
                out[str(self.path_of(uri))] = text
        return out

    def opened(self, uri: str) -> None:
        self.documents[uri] = Document(uri, self.path_of(uri))
        self.changed(uri, debounce=False)

    def changed(self, uri: str, debounce: bool = True) -> None:
        document = self.documents.get(uri)
        if document is None:
            return
        document.changed_at = time.monotonic() - (0 if debounce else DEBOUNCE_SECONDS)
        running = self.running
        if running is not None and running[0] != "front":
            self.worker.interrupt(running[2], "preempted")  # an edit goes before the index and the lints
        self.poke()

    def closed(self, uri: str) -> None:
        self.documents.pop(uri, None)
        self.clear(uri)

    def poke(self) -> None:
        if self.wake is None:
            self.wake = asyncio.Event()
        if self.pump_task is None or self.pump_task.done():
            self.pump_task = asyncio.ensure_future(self.pump())
        self.wake.set()

    # -------------------------------------------------------------- scheduling

    def due(self) -> tuple[str, Document] | tuple[float, None] | None:
        """The most urgent job: a front end (oldest edit first), then an index, then lints."""
        now = time.monotonic()
        waiting: float | None = None
        fronts = []
        for document in self.documents.values():
            text = self.text_of(document.uri)
            if text is None:
                continue
            if document.current is None or document.current.text != text:
                ready_in = document.changed_at + DEBOUNCE_SECONDS - now
                if ready_in > 0:
                    waiting = ready_in if waiting is None else min(waiting, ready_in)
                else:
                    fronts.append(document)
        if fronts:
            return "front", min(fronts, key=lambda d: d.changed_at)
        if waiting is not None:
            return waiting, None
        for kind in ("index", "lint"):
            for document in self.documents.values():
                current = document.current
                if current is None or current.program is None or current.text != self.text_of(document.uri):
                    continue
                if kind == "index" and current.nav is None and current.note is None:
                    return "index", document
                if kind == "lint" and current.lints is None and current.note is None and not current.has_errors:
                    return "lint", document
        return None

    async def pump(self) -> None:
        assert self.wake is not None
        while True:
            due = self.due()
            if due is None:
                self.wake.clear()
                await self.wake.wait()
                continue
            first, document = due
            if document is None:
                assert isinstance(first, float)
                self.wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), first)
                continue
            assert isinstance(first, str)
            try:
                await self.step(first, document)
            except Exception:  # the pump must keep going whatever one step did
                log.exception("a %s step for %s failed", first, document.uri)

    async def step(self, kind: str, document: Document) -> None:
        uri = document.uri
        text = self.text_of(uri)
        if text is None:
            return
        if kind == "front":
            overrides = self.overrides()
            job = self.worker.submit(
                functools.partial(front_end, uri, document.path, text, self.version_of(uri), overrides,
                                  self.prepared(overrides)),
                self.budgets["front"])
        else:
            current = document.current
            assert current is not None and current.program is not None
            program = current.program
            job = self.worker.submit(functools.partial(build_index, program) if kind == "index"
                                     else functools.partial(run_lints, program), self.budgets[kind])
        self.running = (kind, document, job)
        started = time.perf_counter()
        try:
            status, value = await job.future
        finally:
            self.running = None
        log.debug("%s %s: %s in %.0f ms", kind, uri, status, (time.perf_counter() - started) * 1000)
        if self.documents.get(uri) is not document:
            return  # closed meanwhile
        if kind == "front":
            self.finish_front(document, text, status, value)
        elif document.current is not None and document.current.text == text:
            self.finish_later(kind, document, status, value)

    def finish_front(self, document: Document, text: str, status: str, value: Any) -> None:
        if status == "done":
            analysis: Analysis = value
            if analysis.program is not None and not analysis.has_errors:
                document.last_clean = analysis
            previous = document.current
            if previous is not None and previous.lints and not analysis.has_errors:
                # Until the lints run again, keep their findings on the lines the edit did not touch.
                analysis.lints = None
                carried = self.carry(previous, analysis)
                document.current = analysis
                self.publish(analysis, extra=carried)
                return
            document.current = analysis
        else:
            span = ir.Span(str(document.path), 1, 1, 1, 1)
            budget = self.budgets["front"]
            why = (f"检查这份文档超过了 {budget:g} 秒，已停止" if status == "interrupted"
                   else "检查这份文档时语言服务器出错（详情已记入服务器日志）")
            note = warning("YB007", span, why, "用 yibaolang check 检查这个文件；把很长的政策拆成几个文件")
            document.current = Analysis(document.uri, text, self.version_of(document.uri), str(document.path),
                                        None, [note])
        self.publish(document.current)

    def finish_later(self, kind: str, document: Document, status: str, value: Any) -> None:
        current = document.current
        assert current is not None
        if status == "interrupted" and value == "preempted":
            return  # due again once the edits pause
        if status != "done":
            budget = self.budgets[kind]
            what = "悬停与补全所需的索引" if kind == "index" else "一致性检查（YB5xx）"
            why = (f"{what}超过了 {budget:g} 秒，已停止" if status == "interrupted"
                   else f"{what}出错（详情已记入服务器日志）")
            current.note = warning("YB007", ir.Span(current.module, 1, 1, 1, 1), why,
                                   "用 yibaolang check 查看完整的检查结果")
            self.publish(current)
            return
        if kind == "index":
            current.nav = value
            document.navigable = current
            document.ready.set()
        else:
            current.lints = value
            self.publish(current)

    def carry(self, old: Analysis, new: Analysis) -> list[Any]:
        """The old analysis's lint findings, moved to the new text, except those on edited lines."""
        mapping = LineMap(old.text_lines, new.text_lines)
        out = []
        for d in old.lints or ():
            converted = self.to_lsp_diagnostic(old, d)
            moved = self.map_range(mapping, converted.range)
            if moved is not None:
                converted.range = moved
                out.append(converted)
        return out

    def prepared(self, overrides: dict[str, str]) -> Prepared:
        """Open documents, parsed by their own incremental parsers (and never put in the parse cache)."""
        by_path = {str(self.path_of(uri)): document for uri, document in self.documents.items()}

        def prepare(real: Path, shown: str) -> tuple[SourceFile, ir.Module, list[Diagnostic]] | None:
            key = str(real)
            document = by_path.get(key)
            if document is None:
                document = next((d for p, d in by_path.items() if same_file(p, key)), None)
            text = overrides.get(str(document.path)) if document is not None else None
            if document is None or text is None or _SURROGATE.search(text):
                return None
            try:
                return document.parser(shown)(text)
            except SourceError:
                return None  # the loader reads it again and reports the problem

        return prepare

    # -------------------------------------------------------------- answers from the newest index

    async def navigable(self, uri: str) -> tuple[Analysis, LineMap | None] | None:
        """The newest analysis with an index, and how its lines map to the current text."""
        document = self.documents.get(uri)
        if document is None:
            return None
        if document.navigable is None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(document.ready.wait(), FIRST_ANSWER_SECONDS)
        analysis = document.navigable
        text = self.text_of(uri)
        if analysis is None or text is None:
            return None
        if analysis.text == text:
            return analysis, None
        return analysis, LineMap(analysis.text_lines, text.split("\n"))

    async def navigable_at(self, uri: str, position: Any
                           ) -> tuple[Analysis, Navigator, LineMap | None, tuple[int, int]] | None:
        """The newest indexed analysis, its index, its line map and `position` as (line, column) of its text."""
        found = await self.navigable(uri)
        if found is None:
            return None
        analysis, mapping = found
        assert analysis.nav is not None
        at = self.position_in(analysis, mapping, position)
        return None if at is None else (analysis, analysis.nav, mapping, at)

    async def checked(self, uri: str) -> Analysis | None:
        """The front-end analysis of the current text (waiting briefly for it), for code actions."""
        deadline = time.monotonic() + FIRST_ANSWER_SECONDS
        while True:
            document = self.documents.get(uri)
            text = self.text_of(uri)
            if document is None or text is None:
                return None
            current = document.current
            if current is not None and current.text == text:
                return current
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.02)

    def position_in(self, analysis: Analysis, mapping: LineMap | None, position: Any) -> tuple[int, int] | None:
        """A protocol position in the current text, as (line, column) of the analysed text."""
        line = position.line + 1
        if mapping is not None:
            current = mapping.new[line - 1] if 0 < line <= len(mapping.new) else ""
            column = from_lsp_character(current, position.character, self.encoding)
            return mapping.to_old(line, column)
        lines = analysis.lines_of(analysis.module)
        text = lines.original_line(line) if lines is not None else ""
        return line, from_lsp_character(text, position.character, self.encoding)

    def map_range(self, mapping: LineMap | None, found: Any) -> Any:
        """A range computed on an older text, in the current text (None if the edit touched it)."""
        if mapping is None or found is None:
            return found
        from lsprotocol import types as lsp

        ends = []
        for end in (found.start, found.end):
            line = end.line + 1
            old_line = mapping.old[line - 1] if 0 < line <= len(mapping.old) else ""
            column = from_lsp_character(old_line, end.character, self.encoding)
            moved = mapping.to_new(line, column)
            if moved is None:
                return None
            new_line = mapping.new[moved[0] - 1] if 0 < moved[0] <= len(mapping.new) else ""
            ends.append(lsp.Position(line=moved[0] - 1,
                                     character=to_lsp_character(new_line, moved[1], self.encoding)))
        return lsp.Range(start=ends[0], end=ends[1])

    # -------------------------------------------------------------- publishing

    def publish(self, analysis: Analysis, extra: list[Any] | None = None) -> None:
        from lsprotocol import types as lsp

        diagnostics = [self.to_lsp_diagnostic(analysis, d) for d in analysis.published()] + (extra or [])
        params = lsp.PublishDiagnosticsParams(uri=analysis.uri, diagnostics=diagnostics, version=analysis.version)
        self._publish(params)

    def clear(self, uri: str) -> None:
        from lsprotocol import types as lsp

        self._publish(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def _publish(self, params: Any) -> None:
        self.server.text_document_publish_diagnostics(params)

    # -------------------------------------------------------------- conversions

    def to_range(self, analysis: Analysis, span: ir.Span) -> Any:
        from lsprotocol import types as lsp

        lines = analysis.lines_of(span.file) or analysis.lines_of(analysis.module)
        if span.line < 1 or lines is None:
            if lines is None and span.line >= 1:  # no program: the text itself
                text = analysis.text.split("\n")
                line = text[span.line - 1] if span.line <= len(text) else ""
                start = lsp.Position(line=span.line - 1, character=to_lsp_character(line, span.column, self.encoding))
                end = lsp.Position(line=span.line - 1,
                                   character=to_lsp_character(line, span.end_column, self.encoding))
                return lsp.Range(start=start, end=end)
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

    def location(self, analysis: Analysis, span: ir.Span, mapping: LineMap | None = None) -> Any:
        from lsprotocol import types as lsp

        found = self.to_range(analysis, span)
        if span.file == analysis.module:
            found = self.map_range(mapping, found)
            if found is None:
                return None
        return lsp.Location(uri=self.uri_of(analysis, span.file), range=found)

    def to_lsp_diagnostic(self, analysis: Analysis, d: Diagnostic) -> Any:
        from lsprotocol import types as lsp

        severity = {Severity.ERROR: lsp.DiagnosticSeverity.Error, Severity.WARNING: lsp.DiagnosticSeverity.Warning,
                    Severity.INFO: lsp.DiagnosticSeverity.Information}[d.severity]
        message = d.message + (f"\n提示：{d.hint}" if d.hint else "")
        modules = analysis.program.modules if analysis.program is not None else {}
        related = [lsp.DiagnosticRelatedInformation(location=self.location(analysis, span), message=note)
                   for span, note in d.related if span.file in modules]
        return lsp.Diagnostic(range=self.to_range(analysis, d.span), message=message, severity=severity,
                              code=d.code, source="yibaolang", related_information=related or None)


_COMPLETION_KINDS = {
    "keyword": "Keyword", "input": "Field", "param": "Constant", "definition": "Variable",
    "function": "Function", "requirement": "Interface", "value": "EnumMember", "type": "Enum",
    "module": "Module", "clause": "Reference", "builtin": "Function",
    "field": "Field", "catalog": "Struct", "column": "Property",  # docs/itemized.md
}

_SYMBOL_KINDS = {
    "policy": "File", "clause": "Namespace", "definition": "Variable", "param": "Constant", "input": "Field",
    "function": "Function", "exception": "Event", "assertion": "Boolean", "constraint": "Boolean",
    "requirement": "Interface", "enum": "Enum", "enum-value": "EnumMember", "import": "Package",
    "output": "Key", "example": "Object", "catalog": "Struct", "column": "Property", "field": "Field",
}



def build_server() -> Any:
    """The pygls server with every feature registered."""
    from lsprotocol import types as lsp

    from yibaolang import __version__

    server: LanguageServer = _server_class()("yibaolang", __version__, protocol_cls=_protocol_class())
    session = Session(server)
    server.yibaolang_session = session  # type: ignore[attr-defined]

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: Any, params: lsp.DidOpenTextDocumentParams) -> None:
        session.opened(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: Any, params: lsp.DidChangeTextDocumentParams) -> None:
        session.changed(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: Any, params: lsp.DidSaveTextDocumentParams) -> None:
        # Documents that import the saved one see its new text.
        for document in session.documents.values():
            if document.uri != params.text_document.uri:
                document.current = None
        session.poke()

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: Any, params: lsp.DidCloseTextDocumentParams) -> None:
        session.closed(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: Any, params: lsp.HoverParams) -> lsp.Hover | None:
        started = time.perf_counter()
        try:
            return await answer_hover(params)
        finally:
            log.debug("hover answered in %.1f ms", (time.perf_counter() - started) * 1000)

    async def answer_hover(params: lsp.HoverParams) -> lsp.Hover | None:
        found = await session.navigable_at(params.text_document.uri, params.position)
        if found is None:
            return None
        analysis, nav, mapping, at = found
        mention = nav.mention_at(analysis.module, *at)
        if mention is not None:
            text = nav.hover(mention.target, analysis.module)
            where = session.map_range(mapping, session.to_range(analysis, mention.span))
        else:
            word = keyword_at(analysis, *at)
            text = keyword_help(word[0]) if word is not None else ""
            where = (session.map_range(mapping, session.to_range(analysis, word[1])) if word is not None else None)
        if not text:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text), range=where)

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    async def definition(ls: Any, params: lsp.DefinitionParams) -> lsp.Location | None:
        found = await session.navigable_at(params.text_document.uri, params.position)
        if found is None:
            return None
        analysis, nav, mapping, at = found
        target = nav.target_at(analysis.module, *at)
        span = nav.definition(target) if target is not None else None
        return session.location(analysis, span, mapping) if span is not None else None

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    async def references(ls: Any, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        found = await session.navigable_at(params.text_document.uri, params.position)
        if found is None:
            return None
        analysis, nav, mapping, at = found
        target = nav.target_at(analysis.module, *at)
        if target is None:
            return None
        spans = nav.references(target, include_declaration=params.context.include_declaration)
        return [loc for span in spans if (loc := session.location(analysis, span, mapping)) is not None]

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                    lsp.CompletionOptions(trigger_characters=[".", '"', "“"]))
    async def completion(ls: Any, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        uri = params.text_document.uri
        found = await session.navigable(uri)
        if found is None:
            return None
        analysis = found[0]
        assert analysis.nav is not None
        text = session.text_of(uri) or ""
        lines = text.split("\n")
        line = params.position.line + 1
        current = lines[line - 1] if 0 < line <= len(lines) else ""
        column = from_lsp_character(current, params.position.character, session.encoding)
        # Completion looks at the text before the cursor: that of the current text, on the analysed index.
        entries = analysis.nav.completions_for(analysis.module, current[:column - 1])
        document = session.documents.get(uri)
        parsed = document.last_clean if document is not None else None
        if analysis.has_errors and parsed is not None and parsed.program is not None \
                and any(e.kind == "keyword" for e in entries):
            if parsed.nav is None:
                parsed.nav = Navigator(parsed.program)  # cheap: completion needs the scopes, not the mentions
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
                start = lsp.Position(line=line - 1,
                                     character=to_lsp_character(current, entry.replace_from, session.encoding))
                item.text_edit = lsp.TextEdit(range=lsp.Range(start=start, end=params.position), new_text=entry.label)
                item.filter_text = entry.label
            items.append(item)
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbol(ls: Any, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol] | None:
        found = await session.navigable(params.text_document.uri)
        if found is None:
            return None
        analysis, mapping = found
        assert analysis.nav is not None

        def convert(item: Any) -> lsp.DocumentSymbol | None:
            whole = session.map_range(mapping, session.to_range(analysis, item.span))
            if whole is None:
                return None
            name = session.map_range(mapping, session.to_range(analysis, item.name_span))
            if name is None or not (_before(whole.start, name.start) and _before(name.end, whole.end)):
                name = lsp.Range(start=whole.start, end=whole.start)
            children = [c for child in item.children if (c := convert(child)) is not None]
            return lsp.DocumentSymbol(
                name=item.name or "（无名）", detail=item.detail or None,
                kind=getattr(lsp.SymbolKind, _SYMBOL_KINDS.get(item.kind, "Object")),
                range=whole, selection_range=name, children=children or None,
            )

        return [s for item in analysis.nav.outline(analysis.module) if (s := convert(item)) is not None]

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    async def code_action(ls: Any, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        analysis = await session.checked(params.text_document.uri)
        if analysis is None:
            return None
        wanted = params.range
        actions = []
        for d in analysis.published():
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


def keyword_at(analysis: Analysis, line: int, column: int) -> tuple[str, ir.Span] | None:
    """The keyword under the cursor (keywords are not mentions: nothing is declared by them)."""
    lines = analysis.lines_of(analysis.module)
    text = lines.code_line(line) if lines is not None else ""
    from yibaolang.frontend.syntax import keywords

    for word in keywords():  # longest first: 否则如果 before 否则
        start = max(column - len(word), 0)
        while True:
            at = text.find(word, start, column - 1 + len(word))
            if at < 0 or at > column - 1:
                break
            if at <= column - 1 < at + len(word):
                return word, ir.Span(analysis.module, line, at + 1, line, at + 1 + len(word))
            start = at + 1
    return None


_WARM_UP = """\
政策 预热
类型 等级 = 选项 {一, 二}
输入 费用 : 金额 范围 0元 至 1亿元
输入 级 : 等级
条款 "一" 标题
    原文 "超过1万元的部分按50%报销，最高1万元。"
    参数 线 : 金额
        此前 1000元
        自 2020年1月1日 起 800元
    定义 分段 : 金额 =
        分段累进 费用
            1万元 至 2万元（含） 按 50%
    定义 比例 : 比例 =
        分情况 级
            一 : 80%
            其余 : 90%
    定义 报销 : 金额 = 取较大(费用 - 线, 0元) × 比例 + 分段 封顶 1万元
    例外 比例 当 级 属于 {二} 时 = 70%
输出 报销
"""


def warm_up() -> None:
    """Check a small policy once, before serving: every module the checks import is imported now.

    A job stopped by `Interrupted` in the middle of an import would leave a
    half-initialised module behind for good; after this, the jobs import nothing.
    """
    import tempfile

    path = Path(tempfile.gettempdir()) / "yibaolang-预热" / "预热.ybl"
    try:
        analysis = front_end("file:///预热.ybl", path, _WARM_UP, None, {})
        if analysis.program is not None:
            build_index(analysis.program)
            run_lints(analysis.program)
    except Exception:  # the server still serves; the first real check imports what is missing
        log.exception("warming up failed")


def _server_class() -> type[LanguageServer]:
    from pygls.lsp.server import LanguageServer

    return LanguageServer


def _protocol_class() -> type[Any]:
    from pygls.protocol import LanguageServerProtocol

    from yibaolang.tools.lsp_io import clean_error

    class Protocol(LanguageServerProtocol):
        """pygls's protocol, but an error response never carries a Python traceback."""

        def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
            super()._send_response(msg_id, result, clean_error(error))

    return Protocol


def _register_formatting(server: LanguageServer, session: Session) -> None:
    """Formatting, when the formatter (`yibaolang.tools.fmt`) offers a function over text."""
    formatter = _formatter()
    if formatter is None:
        return
    from lsprotocol import types as lsp

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    async def formatting(ls: Any, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        text = session.text_of(params.text_document.uri)
        if text is None:
            return None
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


def serve(stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Run the server over stdin/stdout until the client says exit.

    pygls's own loop is replaced by one with bounded framing (`lsp_io.Framer`);
    each message then goes to pygls's protocol as before.
    """
    from pygls.io_ import StdoutWriter

    from yibaolang.tools.lsp_io import Framer, Rejected, dispatch

    trace = os.environ.get("YIBAOLANG_LSP_LOG")
    if trace:  # a file for the server's log (debug level): what ran, for how long
        logging.basicConfig(filename=trace, level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
        for noisy in ("pygls", "asyncio"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    warm_up()
    server = build_server()
    source = stdin or sys.stdin.buffer
    read = getattr(source, "read1", source.read)
    framer = Framer(read)
    server._stop_event = stop = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    # Messages already checked as JSON, read on a thread of their own so a slow client never blocks the loop.
    frames: asyncio.Queue[Any] | None = None

    def reader(loop: asyncio.AbstractEventLoop) -> None:
        assert frames is not None
        while True:
            try:
                raw = framer.next()
            except Exception:
                log.exception("reading from the client failed")
                raw = None
            frame: tuple[str, Any] | Rejected | None = raw if not isinstance(raw, bytes) else None
            if isinstance(raw, bytes):
                try:
                    frame = ("message", json.loads(raw))
                except (ValueError, RecursionError):
                    framer.reject_body(raw)
                    frame = Rejected("消息内容不是有效的 JSON")
            loop.call_soon_threadsafe(frames.put_nowait, frame)
            if frame is None:
                return

    async def main() -> None:
        nonlocal frames
        frames = asyncio.Queue()
        threading.Thread(target=reader, args=(asyncio.get_running_loop(),), daemon=True,
                         name="yibaolang-stdin").start()
        while not stop.is_set():
            frame = await frames.get()
            if frame is None:
                return
            dispatch(server.protocol, frame)

    try:
        asyncio.run(main())
    except BrokenPipeError:
        log.error("the client went away")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
