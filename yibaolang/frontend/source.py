"""Source text: decoding, size limits and the full-width mapping.

Files are read by `yibaolang.paths.read_limited` (kind and size checked
before a byte is read, at most MAX_SOURCE_BYTES + 1 bytes); `decode` then
checks the bytes it is given.

The mapping keeps one character for one character, so a line and column in
the normalised text are the line and column in the drafter's file.

>>> normalize("定义 甲 ＝ （\uff11＋\uff12）")
'定义 甲 = (1+2)'
>>> normalize('原文 "（含）"')
'原文 "（含）"'
"""

from __future__ import annotations

import re

import attrs

MAX_SOURCE_BYTES = 2 * 1024 * 1024

# Full-width ASCII forms U+FF01..U+FF5E map to U+0021..U+007E; the ideographic
# space maps to a plain space.  Quotes are left alone: they open strings.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if cp not in (0xFF02,)}
_FULLWIDTH[0x3000] = 0x20


TITLE_MARK = "\ue000"  # a private-use character: never valid in source outside a title


@attrs.frozen(slots=True)
class SourceFile:
    """A decoded policy file.

    `original` is the text as written; `text` is what the lexer reads: the
    full-width mapping applied and each free-text title (after 政策, and after
    a 条款's id) replaced by as many TITLE_MARK characters, so the lexer needs
    no context to tell a title from code.  `titles` maps a line number to the
    title text on it.
    """

    path: str
    original: str
    text: str
    titles: dict[int, str] = attrs.field(factory=dict, eq=False)

    def lines(self) -> list[str]:
        """The drafter's lines, split at line feeds only: the lexer counts lines the same way
        (str.splitlines would also split at form feeds and U+2028, and shift every later line)."""
        lines = self.original.split("\n")
        return lines[:-1] if lines[-1] == "" else lines  # no line after the final newline

    def line(self, number: int) -> str:
        """The drafter's own line `number` (1-based), without its newline."""
        lines = self.lines()
        if 1 <= number <= len(lines):
            return lines[number - 1]
        return ""


class SourceError(Exception):
    """A file that cannot be read as a policy source at all."""

    def __init__(self, code: str, message: str, hint: str = "", line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.line = line
        self.column = column


def normalize(text: str) -> str:
    """Map full-width forms to ASCII outside strings and comments."""
    return _normalize(text, None)


def _normalize(text: str, line_starts_in_code: list[bool] | None) -> str:
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            if text.startswith('"""', i):
                end = text.find('"""', i + 3)
                end = n if end < 0 else end + 3
            else:
                end = _line_bounded_find(text, '"', i + 1)
            if line_starts_in_code is not None:
                line_starts_in_code.extend([False] * text.count("\n", i, end))
            out.append(text[i:end])
            i = end
        elif ch == "“":
            end = _line_bounded_find(text, "”", i + 1)
            out.append(text[i:end])
            i = end
        elif ch == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(text[i:end])
            i = end
        else:
            if ch == "\n" and line_starts_in_code is not None:
                line_starts_in_code.append(True)
            out.append(ch.translate(_FULLWIDTH))
            i += 1
    return "".join(out)


_TITLE_LINE = re.compile(
    r"""(?P<lead>[ \t]*(?:政策|条款[ \t]+(?:"[^"\n]*"|“[^”\n]*”)))(?P<gap>[ \t]+)(?P<title>[^#\n]*?)[ \t]*(?:#.*)?$"""
)


def mark_titles(text: str, code_lines: list[bool]) -> tuple[str, dict[int, str]]:
    """Replace each title by TITLE_MARKs of the same length (positions stay exact)."""
    lines = text.split("\n")
    titles: dict[int, str] = {}
    for number, line in enumerate(lines, 1):
        if not (line.lstrip().startswith(("政策", "条款")) and code_lines[number - 1]):
            continue
        match = _TITLE_LINE.match(line)
        if match is None or not match.group("title"):
            continue
        start, end = match.span("title")
        titles[number] = match.group("title")
        lines[number - 1] = line[:start] + TITLE_MARK * (end - start) + line[end:]
    return "\n".join(lines), titles


def _line_bounded_find(text: str, closer: str, start: int) -> int:
    """End (exclusive) of a one-line string opened before `start`."""
    newline = text.find("\n", start)
    close = text.find(closer, start)
    if close < 0 or (0 <= newline < close):
        return newline if newline >= 0 else len(text)
    return close + 1


def utf8_text(data: bytes) -> tuple[str | None, int]:
    """UTF-8 text without its BOM, or (None, the line of the first byte that is not UTF-8)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError as exc:
        return None, data[: exc.start].count(b"\n") + 1


def decode(path: str, data: bytes) -> SourceFile:
    """Decode bytes to a SourceFile, or raise SourceError with a Chinese message."""
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceError(
            "YB001",
            f"文件过大：{len(data)} 字节，超过上限 {MAX_SOURCE_BYTES} 字节",
            "请把政策拆成几个文件，用 引用 组合起来",
        )
    original, line = utf8_text(data)
    if original is None:
        raise SourceError(
            "YB002",
            "文件不是 UTF-8 编码",
            "请用 UTF-8 保存文件（GBK 等编码的文件可用编辑器“另存为 UTF-8”）",
            line=line,
        )
    original = original.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in original:
        line = original[: original.index("\x00")].count("\n") + 1
        raise SourceError("YB002", "文件含有空字符（NUL），不是文本文件", "请检查文件内容", line=line)
    if TITLE_MARK in original:
        line = original[: original.index(TITLE_MARK)].count("\n") + 1
        raise SourceError("YB002", "文件含有私用区字符 U+E000", "请删去这个不可见的字符", line=line)
    code_lines = [True]
    text = _normalize(original, code_lines)
    if not text.endswith("\n"):
        text += "\n"
        code_lines.append(True)
    text, titles = mark_titles(text, code_lines)
    # A title is shown as written: take it from the original line, not the full-width-mapped one
    # (the mapping is one character for one, so the columns are the same).
    marked, written = text.split("\n"), original.split("\n")
    for number in titles:
        row = marked[number - 1]
        titles[number] = written[number - 1][row.index(TITLE_MARK):row.rindex(TITLE_MARK) + 1]
    return SourceFile(path=path, original=original, text=text, titles=titles)


def from_text(path: str, original: str) -> SourceFile:
    """A SourceFile from text already in memory (tests, the language server)."""
    return decode(path, original.encode("utf-8"))
