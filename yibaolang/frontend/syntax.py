"""Parsing: the grammar, the indentation post-lexer, and syntax diagnostics.

`parse(source)` returns the Module IR and every diagnostic it could find.
When the whole file does not parse, each top-level statement (a line starting
in column 1 and the lines indented under it) is parsed on its own, so one
mistake does not hide the others.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from yibaolang import ir
from yibaolang.diagnostics import Diagnostic, Suggestion, error
from yibaolang.frontend.lower import Lowering, Reductions, build_module
from yibaolang.frontend.source import SourceFile
from yibaolang.paths import grammar_file

MAX_INDENT_DEPTH = 12
MAX_PAREN_DEPTH = 32
MAX_ERRORS_PER_FILE = 50


class IndentError(LarkError):
    """An indentation problem found by the post-lexer, with its position."""

    def __init__(self, code: str, message: str, hint: str, token: Token) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.token = token


class Indentation(PostLex):
    """Turns newlines into _NL/_INDENT/_DEDENT, like Lark's Indenter, plus:

    - the header line of a two-key 查表 may sit at any indentation (it is
      usually deeper than the rows, to align the columns): the newline before
      it becomes _TABLE_HEADER and the header line changes no indentation;
    - nesting depth (indentation and parentheses) is bounded.
    """

    always_accept = ("_NL",)

    def __init__(self) -> None:
        self.previous: Token | None = None  # the last value token, for error hints

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        self.previous = None
        levels = [0]
        parens = 0
        after_lookup = False  # saw 查表, waiting for its key list
        key_commas = 0
        header_pending = False
        last: Token | None = None
        for token in stream:
            last = token
            kind = token.type
            if kind == "_NL":
                # A newline token is zero-width at the end of its line, so a
                # statement's span ends where its text does.
                token = Token("_NL", token.value, token.start_pos, token.line, token.column,
                              token.line, token.column, token.start_pos)
                if header_pending:
                    header_pending = False
                    yield Token.new_borrow_pos("_TABLE_HEADER", "", token)
                    continue
                yield token
                indent_text = token.value.rsplit("\n", 1)[1]
                indent = len(indent_text)
                if indent > levels[-1]:
                    if len(levels) > MAX_INDENT_DEPTH:
                        raise IndentError("YB005", f"缩进层次过深（超过 {MAX_INDENT_DEPTH} 层）",
                                          "请把规则拆成几个 定义", token)
                    levels.append(indent)
                    yield Token.new_borrow_pos("_INDENT", indent_text, token)
                else:
                    outer = list(levels)
                    while indent < levels[-1]:
                        levels.pop()
                        yield Token.new_borrow_pos("_DEDENT", indent_text, token)
                    if indent != levels[-1]:
                        raise IndentError(
                            "YB110",
                            f"缩进不一致：这一行缩进 {indent} 个空格，与外层各块（{'、'.join(map(str, outer))} 个空格）都对不齐",
                            "同一层的行要对齐；每层缩进 4 个空格",
                            token,
                        )
                continue
            value = token.value
            if kind != "NAME" and value == "查表":
                after_lookup, key_commas = True, 0
            elif kind == "LPAR":
                parens += 1
                if parens > MAX_PAREN_DEPTH:
                    raise IndentError("YB005", f"括号嵌套过深（超过 {MAX_PAREN_DEPTH} 层）",
                                      "请把表达式拆成几个 定义", token)
            elif kind == "RPAR":
                parens = max(parens - 1, 0)
                if after_lookup and parens == 0:
                    after_lookup = False
                    header_pending = key_commas > 0
            elif kind == "COMMA" and after_lookup and parens == 1:
                key_commas += 1
            else:
                header_pending = False if kind != "RPAR" else header_pending
            yield token
            self.previous = token
        while len(levels) > 1:
            levels.pop()
            if last is not None:
                yield Token.new_borrow_pos("_DEDENT", "", last)
            else:
                yield Token("_DEDENT", "")


def grammar_text() -> str:
    return grammar_file().read_text("utf-8")


def _cache_path() -> str | None:
    import os

    from yibaolang import __version__
    from yibaolang.paths import cache_dir

    folder = cache_dir()
    if folder is None:
        return None
    return os.path.join(folder, f"grammar-{__version__}.lark.cache")


def shipped_tables() -> Path:
    """The LALR tables built from the grammar and shipped with the package.

    A fresh install would otherwise spend seconds building them on its first
    command.  `python tools/build_tables.py` rewrites the file; a test checks
    that it matches the grammar, the Lark version and the Python version.
    """
    return grammar_file().with_name("yibaolang.lalr")


def _parser_options() -> dict[str, Any]:
    return dict(
        parser="lalr",
        lexer="basic",
        postlex=Indentation(),
        keep_all_tokens=True,
        maybe_placeholders=True,
        start="start",
        transformer=Reductions(),
    )


_RUNTIME_OPTIONS = ("transformer", "postlex")


def tables_key() -> bytes:
    """What the shipped tables were built from: grammar, options, Lark and Python versions."""
    import hashlib
    import sys

    import lark

    options = sorted((k, str(v)) for k, v in _parser_options().items() if k not in _RUNTIME_OPTIONS)
    text = "\n".join([grammar_text(), repr(options), lark.__version__, repr(sys.version_info[:2])])
    return hashlib.sha256(text.encode("utf-8")).hexdigest().encode("ascii")


def write_tables(path: Path) -> None:
    """Build the LALR tables and store them at `path` (tools/build_tables.py)."""
    import os

    built = Lark(grammar_text(), **_parser_options())
    partial = path.with_name(path.name + ".tmp")
    with partial.open("wb") as out:
        out.write(tables_key() + b"\n")
        built.save(out, exclude_options=_RUNTIME_OPTIONS)
    os.replace(partial, path)


def _load_shipped() -> Lark | None:
    try:
        with shipped_tables().open("rb") as f:
            if f.readline().rstrip(b"\n") != tables_key():
                return None
            options = _parser_options()
            # Lark.load() takes no options; _load is what Lark's own cache uses
            # to attach the transformer and post-lexer to deserialized tables.
            return Lark.__new__(Lark)._load(f, **{k: options[k] for k in _RUNTIME_OPTIONS})
    except OSError:
        return None


@functools.cache
def parser(strict: bool = False) -> Lark:
    """The LALR parser, lowering inline as it reduces (no parse tree is built).

    The tables shipped with the package are used when they match this grammar
    and these versions, so a fresh install's first command does not build
    them; otherwise Lark builds them once into the user's cache.  `strict`
    (used by a test) checks the grammar for terminal collisions and every
    LALR conflict.
    """
    options = _parser_options()
    if strict:
        return Lark(grammar_text(), strict=True, **options)
    built = _load_shipped()
    if built is None:
        cache = _cache_path()
        try:
            built = Lark(grammar_text(), cache=cache if cache else False, **options)
        except (OSError, EOFError, ValueError):
            built = Lark(grammar_text(), **options)
    # Lark.lex() (the formatter's token stream) builds and validates a new lexer
    # on every call unless the instance has one; give it one, built once.
    built.lexer = built._build_lexer()
    return built


@functools.cache
def _terminal_labels() -> dict[str, str]:
    labels = {
        "NAME": "名称", "STRING": "字符串", "TITLE": "标题", "MONEY": "金额", "PERCENT": "比例",
        "POINTS": "百分点", "TIMES": "倍数", "DURATION": "期限", "NUMBER": "数字", "DATE": "日期",
        "MONTH_DAY": "月日（如 1月1日）", "INCL": "（含）", "_NL": "换行", "_INDENT": "缩进的下一行",
        "_DEDENT": "块的结束（减少缩进）", "_TABLE_HEADER": "表头", "$END": "文件结束",
    }
    for term in parser().terminals:
        if term.name not in labels and term.pattern.type == "str":
            labels[term.name] = f"“{term.pattern.value}”"
    return labels


def describe_terminal(name: str) -> str:
    return _terminal_labels().get(name, name)



def keywords() -> tuple[str, ...]:
    """Every keyword of the language, longest first."""
    from yibaolang.frontend.keywords import keywords as from_grammar

    return from_grammar()


def parse(source: SourceFile) -> tuple[ir.Module, list[Diagnostic]]:
    diagnostics: list[Diagnostic] = []
    diagnostics.extend(tab_errors(source))
    if diagnostics:
        return build_module(source.path, []), diagnostics
    items, first_pass = _parse_text(source.path, source.text, 0, source.titles)
    if first_pass is None:
        return _finish(source.path, items, diagnostics)
    # Recovery: parse each top-level statement alone to report every error.
    items = []
    unparsed: set[str] = set()
    with file_names(source.path, names_in_text(source.text)):
        for start_line, chunk in statements(source.text):
            if not chunk.strip(" \t\n"):
                continue
            chunk = chunk if chunk.endswith("\n") else chunk + "\n"
            chunk_items, chunk_diags = _parse_text(source.path, chunk, start_line, source.titles)
            items.extend(chunk_items)
            if chunk_diags:
                diagnostics.extend(chunk_diags)
                if not chunk_items:
                    unparsed.update(names_in_text(chunk))
            if len(diagnostics) >= MAX_ERRORS_PER_FILE:
                break
        if not diagnostics:
            diagnostics.extend(first_pass)  # the statements parse alone, but not together
    return _finish(source.path, items, diagnostics, tuple(sorted(unparsed)))


def _finish(path: str, items: list[Any], diagnostics: list[Diagnostic],
            unparsed: tuple[str, ...] = ()) -> tuple[ir.Module, list[Diagnostic]]:
    headers = [i for i in items if isinstance(i, ir.Header)]
    for extra in headers[1:]:
        diagnostics.append(error("YB111", extra.span, "一个文件只能有一个 政策 声明",
                                 "把多份政策放在不同的文件里"))
    return build_module(path, items, unparsed), diagnostics


def _parse_text(path: str, text: str, line_offset: int,
                titles: dict[int, str]) -> tuple[list[Any], list[Diagnostic] | None]:
    lowering = Lowering(path, line_offset, titles)
    Reductions.current = lowering
    try:
        items: list[Any] = parser().parse(text)  # type: ignore[assignment]  # the inline lowering returns a list
    except IndentError as exc:
        return [], [_indent_diagnostic(path, exc, line_offset)]
    except UnexpectedInput as exc:
        return [], [_syntax_diagnostic(path, text, exc, line_offset)]
    except RecursionError:
        return [], [error("YB005", ir.Span(path, line_offset + 1, 1, line_offset + 1, 2),
                          "表达式嵌套过深", "请把表达式拆成几个 定义")]
    finally:
        Reductions.current = None
    return items, (lowering.diagnostics or None)


_LEXICAL = re.compile(r'"""[\s\S]*?(?:"""|\Z)|"[^"\n]*"?|“[^”\n]*”?|#[^\n]*')


def statements(text: str) -> list[tuple[int, str]]:
    r'''The text cut before each top-level statement: (0-based first line, the lines with their newlines).

    A statement starts at a line whose first character (full-width forms
    mapped) is not a space or `#`, unless the line lies inside a """…"""
    string; joined, the pieces are the text again (blank and comment lines
    stay with the statement before them).

    >>> statements('政策 甲\n\n定义 乙 = """一\n二"""\n  # 注\n输出 乙')
    [(0, '政策 甲\n\n'), (2, '定义 乙 = """一\n二"""\n  # 注\n'), (5, '输出 乙')]
    '''
    from yibaolang.frontend.source import normalize

    lines = text.split("\n")
    inside: set[int] = set()  # 0-based lines that start inside a multi-line string
    if '"""' in text:
        for match in _LEXICAL.finditer(text):
            if match.group(0).startswith('"""'):
                first = text.count("\n", 0, match.start())
                last = first + match.group(0).count("\n")
                inside.update(range(first + 1, last + 1))
    out = []
    start = 0
    for i in range(1, len(lines) + 1):
        if i < len(lines):
            head = lines[i][:1]
            head = head if head < "\x80" else normalize(head)
            if head in ("", " ", "#") or i in inside:
                continue
        body = "\n".join(lines[start:i]) + ("\n" if i < len(lines) else "")
        out.append((start, body))
        start = i
    return out


def parse_statement(path: str, text: str, line_offset: int,
                    titles: dict[int, str]) -> tuple[list[Any], list[Diagnostic] | None]:
    """One top-level statement (`text`, ending in a newline) whose first line is `line_offset` + 1."""
    return _parse_text(path, text, line_offset, titles)


finish = _finish


def tab_errors(source: SourceFile) -> list[Diagnostic]:
    out = []
    for number, line in enumerate(source.text.split("\n"), 1):
        indent = len(line) - len(line.lstrip(" \t"))
        col = line.find("\t", 0, indent)
        if col >= 0:
            out.append(error("YB109", ir.Span(source.path, number, col + 1, number, col + 2),
                             "缩进里有制表符（Tab）", "请用空格缩进，每层 4 个空格"))
    return out


def _indent_diagnostic(path: str, exc: IndentError, offset: int) -> Diagnostic:
    token = exc.token
    if token.type != "_NL":
        line = (token.line or 1) + offset
        column = token.column or 1
        return error(exc.code, ir.Span(path, line, column, line, column + 1), exc.message, exc.hint)
    # The newline token sits at the end of the previous line; the problem is the next line's indentation.
    line = (token.line or 1) + token.value.count("\n") + offset
    indent = len(token.value.rsplit("\n", 1)[-1])
    return error(exc.code, ir.Span(path, line, 1, line, indent + 2), exc.message, exc.hint)


def _syntax_diagnostic(path: str, text: str, exc: UnexpectedInput, offset: int) -> Diagnostic:
    line = (getattr(exc, "line", 1) or 1)
    column = (getattr(exc, "column", 1) or 1)
    if not isinstance(line, int) or line < 1:
        line, column = text.count("\n"), 1
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        ch = text[pos] if pos < len(text) else ""
        span = ir.Span(path, line + offset, column, line + offset, column + 1)
        hint = "这个字符不能出现在这里"
        if ch == '"' or ch == "“":
            hint = "字符串没有结束：请在同一行写上收尾的引号，长文本请用 \"\"\"…\"\"\""
        elif ch in "{}[]":
            hint = "花括号只用于 选项 {…} 和 属于 {…}"
        elif ch == "、":
            hint = "选项、参数之间用逗号（, 或 ，）分隔，不用顿号“、”"
        named = f"“{ch}”" if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}" if ch else "（文件结束）"
        if ch.isspace() and ch not in " \t\n":
            hint = "这是一个看不见的特殊空白字符，请删去它或换成普通空格"
        return error("YB101", span, f"语法错误：无法识别的字符 {named}", hint)
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    if token.type == "TITLE":
        # The contextual lexer found nothing it expects here and fell back to
        # free text: name the first thing it could not read.
        first = str(token).split()[0] if str(token).split() else str(token)
        if not re.match(r"[A-Za-z0-9_\u3400-\u9fff]", first):
            span = ir.Span(path, line + offset, column, line + offset, column + 1)
            return error("YB101", span, f"语法错误：无法识别的字符 “{first[0]}”", "这个字符不能出现在这里")
        token = Token("NAME", first, token.start_pos, token.line, token.column, token.line,
                      (token.column or 1) + len(first), token.start_pos)
    misplaced = _misplaced_in_block(path, text, token, offset, exc.expected)
    if misplaced is not None:
        return misplaced
    if "NAME" in exc.expected and token.value in keywords() and token.type != "NAME":
        # The lexer reads a keyword wherever it stands; say so rather than "unexpected".
        span = ir.Span(path, line + offset, column, line + offset, (token.end_column or column + 1))
        return error("YB304", span, f"“{token.value}”是关键字，不能用作名称",
                     f"换一个名称，例如“{token.value}额”或“{token.value}标准”")
    expected = sorted({describe_terminal(t) for t in exc.expected if not t.startswith("__")})
    found = describe_terminal(token.type) if token.type != "NAME" else f"名称“{token.value}”"
    if token.type in ("_NL",):
        found = "行尾"
        line_text = text.split("\n")[line - 1] if line - 1 < len(text.split("\n")) else ""
        if token.line == token.end_line or token.value.startswith("#"):
            pass
        column = len(line_text.rstrip()) + 1 if not token.value.startswith("#") else column
        end_col = column + 1
    elif token.type == "$END":
        found = "文件结束"
        end_col = column + 1
    else:
        end_col = (token.end_column or column + 1)
        if token.end_line != token.line:
            end_col = column + 1
    span = ir.Span(path, line + offset, column, line + offset, end_col)
    shown = expected[:8]
    more = "等" if len(expected) > 8 else ""
    message = f"语法错误：这里不应出现{found}"
    hint = f"这里应为 {'、'.join(shown)}{more}" if shown else ""
    suggestions: tuple[Suggestion, ...] = ()
    if token.type == "_DEDENT" or token.type == "_INDENT":
        hint = (hint + "；" if hint else "") + "请检查这一行的缩进是否与上下文一致"
    postlex = parser().options.postlex
    previous = postlex.previous if isinstance(postlex, Indentation) else None
    name_tokens = [token, previous] if previous is not token else [token]
    for candidate in name_tokens:
        if candidate is not None and candidate.type == "NAME":
            spaced = split_glued(str(candidate), names_in_text(text) | _file_names.get(path, set()))
            if spaced:
                cline, ccol = candidate.line or 1, candidate.column or 1
                cspan = ir.Span(path, cline + offset, ccol, (candidate.end_line or cline) + offset,
                                candidate.end_column or ccol + len(candidate))
                return _glued(cspan, str(candidate), spaced)
    return error("YB100", span, message, hint, suggestions=suggestions)


_LIMIT_AFTER_BLOCK = (
    "块（分段累进、分档、分情况、查表）之后的 封顶/保底 另起一行，与块的第一行对齐，"
    "块本身写在 “定义 … =” 的下一行，例如：\n"
    "    定义 报销 : 金额 =\n"
    "        分段累进 费用\n"
    "            …\n"
    "        封顶 20万元"
)


def _enclosing_block(text: str, line: int) -> tuple[str, str] | None:
    """The block keyword (分情况, 查表 …) whose rows hold `line` (1-based, in `text`) and what follows it."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    own = lines[line - 1]
    depth = len(own) - len(own.lstrip(" "))
    for above in reversed(lines[: line - 1]):
        stripped = above.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if len(above) - len(stripped) < depth:
            head = stripped.split()[0] if stripped.split() else ""
            for word in _BLOCK_WORDS:
                if head == word or f"= {word}" in stripped:
                    return word, stripped.split(word, 1)[1].strip()
            return None
    return None


def _after_block(text: str, line: int) -> bool:
    """Whether the statement holding `line` (up to its first line at column 1, or the one before) has a block."""
    for above in reversed(text.split("\n")[: line - 1]):
        if any(word in above.split("#", 1)[0] for word in _BLOCK_WORDS):
            return True
        if above[:1] not in ("", " ", "#"):
            return False
    return False


_BLOCK_WORDS = ("分段累进", "分档", "分情况", "查表")


def _misplaced_in_block(path: str, text: str, token: Token, offset: int,
                        expected: Collection[str]) -> Diagnostic | None:
    """The documented way to write what drafters write inside or after a block (docs/language.md)."""
    line, column = token.line or 1, token.column or 1
    span = ir.Span(path, line + offset, column, line + offset, token.end_column or column + 1)
    line_text = text.split("\n")[line - 1] if line - 1 < text.count("\n") + 1 else ""
    first_on_line = line_text[: column - 1].strip() == ""
    if token.type != "NAME" and token.value in ("封顶", "保底") and first_on_line \
            and (_after_block(text, line) or column == 1):  # a statement never starts with 封顶: it followed a block
        return error("YB100", span, f"语法错误：这里不能写 {token.value}", _LIMIT_AFTER_BLOCK)
    block, subject = _enclosing_block(text, line) or ("", "")
    if token.type != "NAME" and token.value in ("是", "否") and first_on_line and block == "分情况":
        return error("YB100", span, "分情况 按 选项 的取值分行，不能按 是否 的“是”“否”分行",
                     f"是否 的输入请用 如果，例如 如果 {subject or '条件'} 则 … 否则 …；"
                     "要分几种情况时，把输入声明为选项，例如 选项 {在职, 退休}")
    if token.type == "NAME" and block == "查表" and not first_on_line and "COLON" in expected \
            and "COMMA" in expected:
        return error("YB100", span, f"语法错误：这里不应出现名称“{token.value}”",
                     "一行列出几个行键时用逗号分隔，例如 基层, 一级 : 0元")
    return None


_GLUED = "连写在一起"
# Names the whole file declares, while one of its statements is parsed alone (recovery).
_file_names: dict[str, set[str]] = {}


@contextlib.contextmanager
def file_names(path: str, names: set[str]) -> Iterator[None]:
    """While statements of `path` are parsed one by one, the names its whole text declares.

    A statement parsed alone knows only its own names; the spacing hint of a
    syntax error (`如果政策范围内费用超过2万元`) needs the file's.
    """
    _file_names[path] = names
    try:
        yield
    finally:
        _file_names.pop(path, None)


def _glued(span: ir.Span, word: str, spaced: str) -> Diagnostic:
    return error("YB100", span, f"语法错误：“{word}”{_GLUED}，被读成了一个名称",
                 f"关键字与名称之间要有空格：是否想写 {spaced}？", suggestions=(Suggestion(span, spaced, f"改为 {spaced}"),))


def respace(diagnostics: list[Diagnostic], source: SourceFile, names: set[str]) -> list[Diagnostic]:
    """The spacing hints of `source` (YB100) split again with `names`: every name visible in its scope.

    The parser knows only the names its own file declares; a name declared in
    an imported file must not be split at the keywords inside it either.
    """
    if not any(d.code == "YB100" and d.suggestions for d in diagnostics):
        return diagnostics  # the usual case: nothing to split, and the text is not read
    lines = source.text.split("\n")
    out = []
    for d in diagnostics:
        if d.code == "YB100" and d.suggestions and d.span.file == source.path and _GLUED in d.message \
                and d.span.line == d.span.end_line and 0 < d.span.line <= len(lines):
            word = lines[d.span.line - 1][d.span.column - 1:d.span.end_column - 1]
            spaced = split_glued(word, names | names_in_text(source.text))
            if spaced and spaced != d.suggestions[0].replacement:
                d = _glued(d.span, word, spaced)
        out.append(d)
    return out


_DECL_NAME = re.compile(r"(?:输入|定义|参数|类型|要求|函数)\s+([A-Za-z_\u3400-\u9fff][A-Za-z0-9_\u3400-\u9fff]*)")


def names_in_text(text: str) -> set[str]:
    """Names a file declares, found without parsing (for the spacing hint)."""
    names = set(_DECL_NAME.findall(text))
    for values in re.findall(r"选项\s*\{([^}]*)\}", text):
        names.update(v.strip() for v in values.split(",") if v.strip())
    return names


_LITERAL_AT = re.compile(
    r"\d{4}年\d{1,2}月\d{1,2}日|\d+(?:\.\d+)?(?:[万亿]?元|%|个百分点|倍|个月|年|日|天)?"
)


def split_glued(word: str, names: set[str]) -> str | None:
    """Split an identifier that swallowed keywords and literals.

    >>> split_glued("如果个人负担超过2万元", {"个人负担"})
    '如果 个人负担 超过 2万元'
    >>> split_glued("规则", set()) is None
    True
    """
    kws = [k for k in keywords() if k not in ("是", "否")]  # 是否、是否参保: literals glue too easily
    n = len(word)
    # best[i] = (cost, pieces) for word[:i]; a known piece costs 1, an unknown
    # run costs more than splitting it into known pieces would.
    best: list[tuple[int, list[str]] | None] = [None] * (n + 1)
    best[0] = (0, [])
    for i in range(n):
        if best[i] is None:
            continue
        cost, pieces = best[i]  # type: ignore[misc]
        options: list[tuple[int, str]] = []
        for kw in kws:
            if word.startswith(kw, i):
                options.append((1, kw))
        for name in names:
            if name and word.startswith(name, i):
                options.append((1, name))
        match = _LITERAL_AT.match(word, i)
        if match and match.group(0):
            options.append((1, match.group(0)))
        for j in range(i + 1, n + 1):
            options.append((2 + (j - i), word[i:j]))
        for extra, piece in options:
            j = i + len(piece)
            candidate = (cost + extra, [*pieces, piece])
            if best[j] is None or candidate[0] < best[j][0]:  # type: ignore[index]
                best[j] = candidate
    final = best[n]
    if final is None or len(final[1]) < 2:
        return None
    pieces = final[1]
    if not any(p in kws for p in pieces):
        return None
    unknown = [p for p in pieces if p not in kws and p not in names and not _LITERAL_AT.fullmatch(p)]
    if any(len(p) < 2 for p in unknown):
        return None  # 规则 is a name, not 规 + 则
    merged: list[str] = []
    for piece in pieces:
        known = piece in kws or piece in names or _LITERAL_AT.fullmatch(piece)
        if merged and not known and not (merged[-1] in kws or merged[-1] in names):
            merged[-1] += piece
        else:
            merged.append(piece)
    return " ".join(merged)
