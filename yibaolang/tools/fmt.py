"""The formatter (`yibaolang fmt`): one canonical layout for a policy file.

It works from the parser's own token stream (the basic lexer and the
indentation post-lexer of `yibaolang.frontend.syntax`), so the layout follows exactly
the structure the parser sees, and it copies strings, titles and comments from
the drafter's text by position, so they come through byte for byte.  Every
result is parsed again and must give the same IR as the input (spans aside);
otherwise the file is left alone.  docs/fmt.md states the rules.

>>> format_text("定义 甲=（1+2）*3   # 注释\\n")
'定义 甲 = (1 + 2) × 3  # 注释\\n'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from lark import Token
from lark.exceptions import UnexpectedCharacters
from rich.cells import cell_len

from yibaolang.diagnostics import Diagnostic, error, has_errors
from yibaolang.frontend.source import SourceError, SourceFile, from_text
from yibaolang.ir import Span

INDENT = 4  # spaces per indentation level
TABLE_GAP = 4  # spaces between the columns of a two-key 查表 (one indentation step)
COMMENT_GAP = 2  # spaces before a trailing comment

BLOCK_KEYWORDS = frozenset({"分段累进", "分档", "分情况", "查表"})
_AGGREGATES = frozenset({"求和", "计数", "最大值", "最小值"})  # written like a call: 求和(明细.明细金额)

# Tokens after which a `-` is subtraction rather than negation.
_OPERAND_END = frozenset({
    "NAME", "MONEY", "PERCENT", "POINTS", "TIMES", "DURATION", "NUMBER", "DATE", "MONTH_DAY",
    "RPAR", "RBRACE", "INCL", "STRING", "TITLE", "是", "否",
})
_NO_SPACE_BEFORE = frozenset({"COMMA", "RPAR", "RBRACE", "INCL", "DOT"})
_NO_SPACE_AFTER = frozenset({"LPAR", "LBRACE", "DOT"})
# One spelling for operators that have two: the one the printer and the docs use.
_CANONICAL = {"STAR": "×", "SLASH": "÷"}


class FormatError(Exception):
    """The formatted text would not mean what the input meant (a formatter defect)."""


@attrs.frozen(slots=True)
class Formatted:
    """The outcome for one file: the canonical text, or why there is none."""

    text: str | None
    diagnostics: tuple[Diagnostic, ...] = ()


def format_text(text: str, path: str = "<text>") -> str:
    """The canonical layout of `text`; raises ValueError when it does not parse."""
    try:
        source = from_text(path, text)
    except SourceError as exc:
        raise ValueError(exc.message) from None
    result = format_source(source)
    if result.text is None:
        raise ValueError("; ".join(f"{d.location}: {d.message}" for d in result.diagnostics))
    return result.text


def format_source(source: SourceFile) -> Formatted:
    """Format a decoded file, or return its syntax diagnostics when it does not parse."""
    from yibaolang.frontend import syntax

    module, diagnostics = syntax.parse(source)
    if has_errors(diagnostics):
        return Formatted(None, tuple(diagnostics))
    try:
        text = layout(source)
    except UnexpectedCharacters as exc:
        # syntax.parse can miss a line of characters that Python strips as blank (U+001F,
        # U+00A0…) when it parses statement by statement; the lexer still rejects them.
        at = exc.pos_in_stream or 0
        char = source.text[at] if at < len(source.text) else ""
        span = Span(source.path, exc.line, exc.column, exc.line, exc.column + 1)
        return Formatted(None, (error("YB101", span, f"语法错误：无法识别的字符 “{char}”（U+{ord(char or ' '):04X}）",
                                      "这个字符不能出现在这里，请删去"),))
    try:
        again, again_diagnostics = syntax.parse(from_text(source.path, text))
    except SourceError as exc:  # pragma: no cover - a defect, reported as such
        raise FormatError(exc.message) from None
    if has_errors(again_diagnostics) or ir_shape(again) != ir_shape(module):
        raise FormatError("格式化后的程序与原程序不一致")
    return Formatted(text)


def ir_shape(node: Any) -> Any:
    """The IR as plain data without positions: formatting must keep it equal."""
    from yibaolang.ir.irjson import to_json

    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if not k.endswith(("span", "spans")) and k != "file"}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return strip(to_json(node))


# ------------------------------------------------------------------ lines


@attrs.define
class _Line:
    """One logical line of code: its tokens and where it stands."""

    tokens: list[Token]
    depth: int
    header: bool  # the column header of a two-key 查表 (its indentation is free)
    column: int = 0  # the drafter's column of the first token
    open_columns: tuple[int, ...] = ()  # the drafter's column of each open block level, outermost first
    indent: int = 0  # the canonical indentation, in spaces
    body: str = ""
    comment: str | None = None  # a trailing comment

    @property
    def start(self) -> int:
        return int(self.tokens[0].start_pos or 0)

    @property
    def end(self) -> int:
        return int(self.tokens[-1].end_pos or 0)

    @property
    def comment_depth(self) -> int:
        """The level of comment lines just above this line."""
        return self.depth + 1 if self.header else self.depth


def _logical_lines(text: str) -> list[_Line]:
    from yibaolang.frontend import syntax

    lines: list[_Line] = []
    current: list[Token] = []
    depth = 0
    line_depth = 0
    header_next = header = False
    for token in syntax.parser().lex(text):
        kind = token.type
        if kind in ("_NL", "_TABLE_HEADER"):
            if current:
                lines.append(_Line(current, line_depth, header))
                current = []
            header_next = kind == "_TABLE_HEADER"
        elif kind == "_INDENT":
            depth += 1
        elif kind == "_DEDENT":
            depth -= 1
        else:
            if not current:
                line_depth, header, header_next = depth, header_next, False
            current.append(token)
    if current:
        lines.append(_Line(current, line_depth, header))
    open_columns: tuple[int, ...] = ()
    for line in lines:
        line.column = (line.tokens[0].column or 1) - 1
        line.indent = INDENT * line.depth
        if not line.header:
            open_columns = (*open_columns[: line.depth], line.column)
        line.open_columns = open_columns[: line.depth + 1]
    return lines


# ------------------------------------------------------------------ spacing


def _token_text(token: Token, original: str) -> str:
    if token.type in ("STRING", "TITLE"):
        # Strings are never normalised; titles are, so take both from the drafter's text.
        return original[token.start_pos:token.end_pos]
    return _CANONICAL.get(token.type, str(token.value))


def join(tokens: Sequence[Token], original: str) -> str:
    """Tokens of one line with the canonical spacing."""
    out: list[str] = []
    parens = 0
    previous: Token | None = None
    previous_negation = False
    for i, token in enumerate(tokens):
        kind = token.type
        if kind == "COMMA" and i + 1 < len(tokens) and tokens[i + 1].type == "RBRACE":
            continue  # 选项 {甲, 乙,} → 选项 {甲, 乙}
        if previous is not None and _spaced(previous, token, parens, previous_negation):
            out.append(" ")
        out.append(_token_text(token, original))
        if kind == "LPAR":
            parens += 1
        elif kind == "RPAR":
            parens -= 1
        previous_negation = kind == "MINUS" and (previous is None or previous.type not in _OPERAND_END)
        previous = token
    return "".join(out)


def _spaced(previous: Token, token: Token, parens: int, previous_negation: bool) -> bool:
    if token.type in _NO_SPACE_BEFORE or previous.type in _NO_SPACE_AFTER or previous_negation:
        return False
    if token.type == "LPAR" and (previous.type == "NAME" or previous.value in _AGGREGATES):
        return False  # a call, the parameter list of a 函数, or 求和(明细.x) (docs/itemized.md)
    # Inside parentheses a colon is a 函数 parameter's type: 费用: 金额.
    return not (token.type == "COLON" and parens > 0)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cell_len(text))


# ------------------------------------------------------------------ blocks


def _align_blocks(lines: list[_Line], original: str) -> None:
    """Row layouts of the block expressions: bands, steps, cases and tables."""
    for i, line in enumerate(lines):
        kinds = {t.type for t in line.tokens} & BLOCK_KEYWORDS
        if not kinds:
            continue
        start = i + 1
        two_keys = start < len(lines) and lines[start].header
        if two_keys:
            start += 1
        end = start
        while end < len(lines) and lines[end].depth == line.depth + 1 and not lines[end].header:
            end += 1
        rows = lines[start:end]
        if not rows:
            continue
        if two_keys:
            _align_table(lines[start - 1], rows, original)
        elif "分段累进" in kinds:
            _align_at(rows, "按", original)
        else:
            _align_at(rows, "COLON", original)


def _align_at(rows: list[_Line], kind: str, original: str) -> None:
    """Pad the part before the first `kind` token so that token lines up."""
    split: list[tuple[_Line, str, str] | None] = []
    for row in rows:
        at = next((j for j, t in enumerate(row.tokens) if t.type == kind), None)
        if at is None or at == 0:
            split.append(None)
            continue
        head = join(row.tokens[:at], original)
        rest = join(row.tokens[at:], original)
        split.append((row, head, rest))
    width = max((cell_len(s[1]) for s in split if s is not None), default=0)
    for item in split:
        if item is not None:
            row, head, rest = item
            row.body = f"{_pad(head, width)} {rest}"


def _table_cells(tokens: list[Token]) -> list[list[Token]]:
    """The cells of a two-key table row (after its key): literal, name, -literal or (expr)."""
    cells: list[list[Token]] = []
    i = 0
    while i < len(tokens):
        kind = tokens[i].type
        if kind == "LPAR":
            depth, j = 0, i
            while j < len(tokens):
                depth += {"LPAR": 1, "RPAR": -1}.get(tokens[j].type, 0)
                j += 1
                if depth == 0:
                    break
        elif kind == "MINUS":
            j = i + 2
        elif kind == "NAME" and i + 2 < len(tokens) and tokens[i + 1].type == "DOT":
            j = i + 3
        else:
            j = i + 1
        cells.append(tokens[i:j])
        i = j
    return cells


def _align_table(header: _Line, rows: list[_Line], original: str) -> None:
    """A grid: keys in the first column, the header over the cell columns, widths by display cells."""
    titles = [join([t], original) for t in header.tokens]
    grid = [[join(cell, original) for cell in _table_cells(row.tokens[1:])] for row in rows]
    keys = [join(row.tokens[:1], original) for row in rows]
    columns = max([len(titles), *(len(cells) for cells in grid)])
    widths = [0] * columns
    for cells in [titles, *grid]:
        for c, cell in enumerate(cells):
            widths[c] = max(widths[c], cell_len(cell))
    key_width = max(cell_len(k) for k in keys)
    gap = " " * TABLE_GAP

    def line(cells: list[str]) -> str:
        return gap.join(_pad(cell, widths[c]) for c, cell in enumerate(cells)).rstrip()

    row_indent = rows[0].indent
    header.indent = row_indent + key_width + TABLE_GAP
    header.body = line(titles)
    for row, key, cells in zip(rows, keys, grid, strict=True):
        row.body = _pad(key, key_width) + gap + line(cells)


# ------------------------------------------------------------------ comments and blank lines


@attrs.define
class _Gap:
    """What stands between two lines of code: blank lines and comment lines."""

    items: list[tuple[int, str] | None]  # (the drafter's column, comment) or None for a blank line


def _split_gap(text: str, before: _Line | None, after: _Line | None) -> tuple[str | None, _Gap]:
    start = before.end if before is not None else 0
    end = after.start if after is not None else len(text)
    parts = text[start:end].split("\n")
    trailing: str | None = None
    if before is not None:
        first = parts[0].strip(" \t")
        trailing = first or None
        parts = parts[1:]
    # The last part is the indentation of `after` (or what follows the final newline).
    items: list[tuple[int, str] | None] = []
    for part in parts[:-1]:
        comment = part.strip(" \t")
        items.append((len(part) - len(part.lstrip(" \t")), comment) if comment else None)
    return trailing, _Gap(items)


def _comment_depths(gap: _Gap, before: _Line | None, after: _Line | None) -> list[int]:
    """The level of each comment line of a gap (see docs/fmt.md)."""
    depths: list[int] = []
    items = gap.items
    i = 0
    while i < len(items):
        item = items[i]
        if item is None:
            i += 1
            continue
        j = i
        while j < len(items) and items[j] is not None:
            j += 1
        column = item[0]
        detached = j < len(items) or after is None  # a blank line (or the end of file) follows the run
        depth = after.comment_depth if after is not None else 0
        if (before is not None and detached and (after is None or not after.header)
                and column > (after.column if after is not None else -1)
                and (after is None or after.depth <= before.depth)):
            # The run closes the block above it: keep it with that block, at the level it is nearest to.
            depth = max(d for d, c in enumerate(before.open_columns) if c <= column or d == 0)
            depth = max(depth, after.depth if after is not None else 0)
        depths.extend([depth] * (j - i))
        i = j
    return depths


def layout(source: SourceFile) -> str:
    """The canonical text of a file that parses."""
    text, original = source.text, source.original
    lines = _logical_lines(text)
    for line in lines:
        line.body = join(line.tokens, original)
    _align_blocks(lines, original)

    out: list[str] = []
    blank = False

    def emit(content: str) -> None:
        nonlocal blank
        if blank and out:
            out.append("")
        blank = False
        out.append(content)

    for k in range(len(lines) + 1):
        before = lines[k - 1] if k > 0 else None
        after = lines[k] if k < len(lines) else None
        trailing, gap = _split_gap(text, before, after)
        if before is not None:
            code = " " * before.indent + before.body
            emit(code + (" " * COMMENT_GAP + trailing if trailing else ""))
        depths = iter(_comment_depths(gap, before, after))
        for item in gap.items:
            if item is None:
                blank = True
            else:
                emit(" " * (INDENT * next(depths)) + item[1])
    return "\n".join(out) + "\n" if out else ""
