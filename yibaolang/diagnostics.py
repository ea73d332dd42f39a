"""Diagnostics as data, and their one renderer.

Every stage appends `Diagnostic`s to a list; nothing is printed until the
edge (the CLI, the language server).  Codes are stable and grouped by stage:

- YB0xx  the file itself (size, encoding, limits)
- YB1xx  syntax
- YB2xx  types and units
- YB3xx  names, imports and declarations
- YB4xx  evaluation and case files
- YB5xx  lints (consistency)

>>> from yibaolang.ir import Span
>>> d = Diagnostic("YB301", Severity.ERROR, Span("a.ybl", 2, 5, 2, 7), "未知的名称：甲乙")
>>> d.location
'a.ybl:2:5'
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence

import attrs

from yibaolang.ir import Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def label(self) -> str:
        return {"error": "错误", "warning": "警告", "info": "提示"}[self.value]


@attrs.frozen(slots=True)
class Suggestion:
    """A replacement of the text at `span` that fixes the problem."""

    span: Span
    replacement: str
    title: str


@attrs.frozen(slots=True)
class Diagnostic:
    code: str
    severity: Severity
    span: Span
    message: str
    hint: str = ""
    clause: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    related: tuple[tuple[Span, str], ...] = ()

    @property
    def location(self) -> str:
        if self.span.line <= 0:
            return self.span.file  # about the file as a whole (e.g. a name given on the command line)
        return f"{self.span.file}:{self.span.line}:{self.span.column}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(code: str, span: Span, message: str, hint: str = "", **kw: object) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, span, message, hint, **kw)  # type: ignore[arg-type]


def warning(code: str, span: Span, message: str, hint: str = "", **kw: object) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, span, message, hint, **kw)  # type: ignore[arg-type]


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.span.file, d.span.line, d.span.column, d.code)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


# ------------------------------------------------------------------ rendering


def cell_width(text: str) -> int:
    """Display width in terminal cells: a CJK character takes two."""
    from rich.cells import cell_len

    return cell_len(text)


# Characters a terminal would act on rather than show: C0 controls (but tab and line feed), DEL,
# C1 controls, and the bidirectional overrides and isolates that reorder what follows them.
_INVISIBLE = {cp: f"\\x{cp:02x}" for cp in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if cp not in (0x09, 0x0A)}
_INVISIBLE.update({cp: f"\\u{cp:04x}" for cp in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F),
                                                   *range(0x2066, 0x206A), 0x2028, 0x2029)})

MAX_SHOWN_LINE = 160  # source characters shown around the caret; longer lines are cut with …


def visible(text: str) -> str:
    r"""`text` safe to print on a terminal: ESC, CSI, OSC and bidi overrides are shown, not obeyed.

    >>> visible("甲\x1b]0;标题\x07乙\u202e")
    '甲\\x1b]0;标题\\x07乙\\u202e'
    """
    return text.translate(_INVISIBLE)


def render_text(d: Diagnostic, source_lines: Sequence[str] | None) -> str:
    """The text form of docs/cli.md (诊断的格式): location, code, message, source line, caret, hint.

    Everything printed passes through `visible`, so a policy or case file
    cannot move the cursor, set the title or reorder the line it is shown on;
    a long line is shown as a window around the caret.
    """
    head = f"{visible(d.location)}: {d.severity.label}[{d.code}]: {visible(d.message)}"
    out = [head]
    if source_lines is not None and 1 <= d.span.line <= len(source_lines):
        line_text = source_lines[d.span.line - 1].replace("\t", " ")
        number = str(d.span.line)
        gutter = " " * len(number)
        start = max(d.span.column - 1, 0)
        if d.span.end_line == d.span.line:
            end = max(d.span.end_column - 1, start + 1)
        else:
            end = max(len(line_text.rstrip()), start + 1)
        end = min(end, max(len(line_text), start + 1))
        lo, hi = _window(len(line_text), start, end)
        before = ("…" if lo > 0 else "") + visible(line_text[lo:start])
        marked = visible(line_text[start:min(end, hi)])
        after = visible(line_text[min(end, hi):hi]) + ("…" if hi < len(line_text) else "")
        out.append(f"    {number} | {before}{marked}{after}")
        pad = cell_width(before)
        width = max(cell_width(marked), 1)
        out.append(f"    {gutter} | {' ' * pad}{'^' * width}")
    for span, note in d.related:
        out.append(f"  参见 {visible(span.file)}:{span.line}:{span.column}：{visible(note)}")
    if d.hint:
        out.append(f"  提示：{visible(d.hint)}")
    return "\n".join(out)


def _window(length: int, start: int, end: int) -> tuple[int, int]:
    """The slice of a line to show: all of it when short, else MAX_SHOWN_LINE characters from near the caret."""
    if length <= MAX_SHOWN_LINE:
        return 0, length
    lo = max(0, start - MAX_SHOWN_LINE // 4)
    hi = min(length, max(end, lo + MAX_SHOWN_LINE // 2))
    hi = min(hi, lo + MAX_SHOWN_LINE)
    return lo, max(hi, min(length, start + 1))


def to_json_obj(d: Diagnostic) -> dict[str, object]:
    obj: dict[str, object] = {
        "code": d.code,
        "severity": d.severity.value,
        "message": d.message,
        "file": d.span.file,
        # No position (0) is written as null: positions are 1-based.
        "line": d.span.line or None,
        "column": d.span.column or None,
        "end_line": d.span.end_line or None,
        "end_column": d.span.end_column or None,
        "clause": d.clause,
        "hint": d.hint or None,
    }
    if d.suggestions:
        obj["suggestions"] = [
            {"replacement": s.replacement, "title": s.title, "line": s.span.line,
             "column": s.span.column, "end_line": s.span.end_line, "end_column": s.span.end_column}
            for s in d.suggestions
        ]
    return obj


# json.dumps escapes C0 controls itself; DEL, C1 controls and bidi controls it leaves raw.
_JSON_INVISIBLE = {cp: f"\\u{cp:04x}" for cp in [0x7F, *range(0x80, 0xA0), 0x061C, 0x200E, 0x200F,
                                                   *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029]}


def json_text(value: object) -> str:
    r"""Readable JSON (Chinese as is) in which no character a terminal would obey appears raw.

    >>> print(json_text({"原文": "甲\u202e乙\x9b"}))
    {
      "原文": "甲\u202e乙\u009b"
    }
    """
    return json.dumps(value, ensure_ascii=False, indent=2).translate(_JSON_INVISIBLE)


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json_text({"schema": "yibaolang.diagnostics/1", "diagnostics": [to_json_obj(d) for d in diagnostics]})


def summary_line(diagnostics: Sequence[Diagnostic], files: int) -> str:
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    infos = len(diagnostics) - errors - warnings
    if not diagnostics:
        return f"检查了 {files} 个文件，没有发现问题"
    line = f"检查了 {files} 个文件：{errors} 个错误，{warnings} 个警告"
    return line + (f"，{infos} 条提示" if infos else "")


# ------------------------------------------------------------------ did you mean


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance, giving up (returning limit + 1) past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        best = i
        for j, cb in enumerate(b, 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            current.append(value)
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous = current
    return previous[-1]


def closest(word: str, candidates: Iterable[str], limit: int | None = None) -> str | None:
    """The nearest candidate by edit distance, if it is near enough to be a typo."""
    if len(word) <= 1:
        return None
    if limit is None:
        limit = 1 if len(word) <= 3 else 2 if len(word) <= 6 else 3
    best: tuple[int, str] | None = None
    for candidate in candidates:
        if candidate == word:
            continue
        dist = edit_distance(word, candidate, limit)
        if dist <= limit and (best is None or (dist, candidate) < best):
            best = (dist, candidate)
    return best[1] if best else None
