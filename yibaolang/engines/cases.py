"""Case files (docs/cli.md 案例文件): reading, validating, and running them as tests.

A case file is a YAML or JSON mapping from input names to values, with an
optional `计算日期`.  Numbers are read as exact decimals (never through
float); every given value is checked against its declaration before anything
is evaluated, and every problem is reported at once with the input's name and
its line in the case file.

A `*.cases.yaml` file holds a list of `{名称, 输入, 期望, 计算日期?}`;
`run_tests` runs those and every 样例 block of a policy.

>>> raw = parse_case_text("费用: 1234.5\\n等级: 三级\\n", "c.yaml")[0]
>>> [(e.name, e.value) for e in raw.entries]
[('费用', Decimal('1234.5')), ('等级', '三级')]
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import weakref
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs
import yaml

from yibaolang import ir
from yibaolang.checks.resolve import ModuleScope, Program, SymbolKind
from yibaolang.diagnostics import Diagnostic, closest, error
from yibaolang.engines.evaluate import evaluator_for
from yibaolang.engines.outcome import CaseInput
from yibaolang.ir.types import DATE, Kind, Type
from yibaolang.paths import ReadRefused, read_limited
from yibaolang.semantics import limits
from yibaolang.semantics.values import Problem, display, parse_date_text, parse_value

DATE_KEY = "计算日期"
META_KEY = "元数据"
# Bounds on what a case file may hold (docs/reliability.md, "案例文件"): each is far above any real
# case and keeps every value's message short, exact and in Chinese.
MAX_CASE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32          # YAML/JSON nesting: a suite needs four levels
MAX_VALUE_CHARS = limits.MAX_VALUE_CHARS  # one value written as text, e.g. "15万元"
MAX_DIGITS = limits.MAX_WRITTEN_DIGITS     # digits of a plain number (money allows 15 before the point)
MAX_LINES = 100_000     # lines of one 列表 input in one case file (a batch gives more with --items)


@attrs.frozen(slots=True)
class RawEntry:
    """One `name: value` line of a case, with where it was written."""

    name: str
    value: Any
    key_span: ir.Span
    value_span: ir.Span
    # Where each item of a list value starts (a 列表 input's lines, docs/itemized.md §5); () if unknown.
    items: tuple[ir.Span, ...] = ()


@attrs.define
class RawCase:
    file: str
    entries: list[RawEntry] = attrs.Factory(list)
    expect: list[RawEntry] = attrs.Factory(list)
    name: str | None = None
    span: ir.Span | None = None
    lines: list[str] = attrs.Factory(list)
    # A case that must be refused (docs/cli.md, yibaolang test): the code (or its start) and, optionally,
    # the clause the diagnostic names.
    error: str | None = None
    error_clause: str | None = None
    # What is wrong with the case itself (unknown field, no 期望): it fails, alone, and is not run.
    problems: list[Diagnostic] = attrs.Factory(list)


# ------------------------------------------------------------------ reading


class _Problem(yaml.YAMLError):
    """A problem found while reading YAML, already in the drafter's words."""

    def __init__(self, code: str, message: str, hint: str, mark: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.hint, self.mark = code, message, hint, mark


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader: floats read as exact decimals, nesting bounded, dates and big integers checked."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        # PyYAML composes recursively: bound the depth before Python's own limit says it in English.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Problem("YB401", f"案例文件嵌套过深（超过 {MAX_DEPTH} 层）",
                               "案例是一层“名称: 值”的映射；样例文件是这样的映射组成的列表", self._next_mark())
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _next_mark(self) -> Any:
        peek: Any = self.peek_event  # PyYAML is untyped
        return peek().start_mark


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    text = str(loader.construct_scalar(node))
    _check_digits(text, node)
    try:
        value = Decimal(text.replace("_", ""))
    except InvalidOperation:
        return text
    return value if value.is_finite() else text


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    _check_digits(str(node.value), node)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError):
        raise _Problem("YB405", f"日期不存在：{node.value}{_why_no_date(str(node.value))}",
                       "请核对年、月、日；例如 2024-02-29 存在，2023-02-29 不存在", node.start_mark) from None


def _why_no_date(text: str) -> str:
    match = re.match(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if match is None:
        return ""
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12:
        return f"（没有 {month} 月）"
    days = calendar.monthrange(year, month)[1]
    return f"（{year} 年 {month} 月只有 {days} 天）" if day > days or day < 1 else ""


def _construct_unknown(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    raise _Problem("YB403", f"不支持的 YAML 标签 {_short(tag)}",
                   "案例中的值只能是数、文字、日期或 true/false；请删去标签", node.start_mark)


def _check_digits(text: str, node: yaml.Node) -> None:
    digits = sum(ch.isdigit() for ch in text)
    if digits > MAX_DIGITS:
        raise _Problem("YB403", f"数的位数过多（{digits} 位）", f"一个数最多 {MAX_DIGITS} 位；金额的整数部分最多 15 位",
                       node.start_mark)


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor(None, _construct_unknown)  # every tag the safe loader does not know


def _short(text: str, limit: int = 40) -> str:
    """A value from the case file, cut to a length a message can show."""
    return text if len(text) <= limit else text[:limit] + f"…（共 {len(text)} 个字符）"


def _span(file: str, mark: Any, length: int = 1) -> ir.Span:
    line, column = mark.line + 1, mark.column + 1
    return ir.Span(file, line, column, line, column + max(length, 1))


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


# C0 controls other than tab and line ends, DEL, C1 controls and bidi overrides: never part of a case.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _control_problem(text: str, file: str) -> Diagnostic | None:
    found = _CONTROL.search(text)
    if found is None:
        return None
    line, column = _position(text, found.start())
    char = found.group()
    name = "空字符（NUL）" if char == "\x00" else f"控制字符 U+{ord(char):04X}"
    return error("YB401", ir.Span(file, line, column, line, column + 1), f"案例文件含有{name}",
                 "案例文件应是纯文本；请删去这个不可见的字符（可用编辑器的“显示不可见字符”找到它）")


def _read_text(path: str) -> tuple[str | None, list[Diagnostic]]:
    where = ir.Span(path, 1, 1, 1, 1)
    try:
        data = read_limited(path, MAX_CASE_BYTES)  # size and kind first: a FIFO or a huge file is never read
    except ReadRefused as refused:
        if refused.refusal.kind == "too-large":
            return None, [error("YB401", where, "案例文件过大",
                                f"单个案例文件最多 {MAX_CASE_BYTES // 1024 // 1024} MB；大量案例请用 run --cases 批量计算")]
        reason = "文件不存在" if refused.refusal.kind == "missing" else refused.refusal.reason
        return None, [error("YB401", where, f"无法读取案例文件：{reason}", "请检查路径和权限")]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [error("YB401", ir.Span(path, line, 1, line, 2), "案例文件不是 UTF-8 编码",
                            "请用 UTF-8 保存案例文件")]


# PyYAML's problems, in the drafter's language (the original is kept for the rest).
_YAML_PROBLEMS = (
    ("mapping values are not allowed", "这里不能再出现“名称: 值”（冒号后缺空格，或缩进不对）"),
    ("could not find expected ':'", "缺少冒号：每行写作 名称: 值"),
    ("found character '\\t'", "用了制表符（Tab）缩进，请改用空格"),
    ("found unexpected end of stream", "文件在引号或括号结束之前就结束了"),
    ("found undefined alias", "用了未定义的别名（*）"),
    ("expected <block end>", "缩进不一致"),
    ("did not find expected key", "缩进不一致或缺少冒号"),
    ("found duplicate anchor", "锚点（&）重复"),
    ("while scanning a quoted scalar", "引号没有成对"),
    ("found unknown escape character", "字符串里有无法识别的转义（\\）"),
    ("expected ',' or ']'", "方括号 [ ] 没有成对，或元素之间缺逗号"),
    ("expected ',' or '}'", "花括号 { } 没有成对，或元素之间缺逗号"),
    ("found unexpected ':'", "冒号的位置不对"),
    ("expected alphabetic or numeric character", "锚点或别名的名称不对"),
    ("expected a comment or a line break", "这一行的末尾多了内容"),
    ("expected the node content", "缺少值"),
    ("expected a single document", "文件里有多个文档（---）：一个案例文件只写一个"),
)


def _yaml_problem(problem: str) -> str:
    for english, chinese in _YAML_PROBLEMS:
        if english in problem:
            return chinese
    return "格式错误"


def _compose(text: str, file: str) -> tuple[Any, list[Diagnostic]]:
    control = _control_problem(text, file)
    if control is not None:
        return None, [control]
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        return loader.get_single_node(), []
    except _Problem as exc:
        return None, [error(exc.code, _span(file, exc.mark), exc.message, exc.hint)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = _span(file, mark) if mark is not None else ir.Span(file, 1, 1, 1, 1)
        problem = _yaml_problem(exc.problem or "")
        return None, [error("YB401", span, f"案例文件不是有效的 YAML：{problem}",
                            "检查缩进、冒号后的空格和引号是否成对")]
    except yaml.YAMLError:
        return None, [error("YB401", ir.Span(file, 1, 1, 1, 1), "案例文件不是有效的 YAML",
                            "检查缩进、冒号后的空格和引号是否成对")]
    except RecursionError:
        return None, [error("YB401", ir.Span(file, 1, 1, 1, 1), "案例文件嵌套过深", "案例是一层 名称: 值 的映射")]
    finally:
        if loader is not None:
            loader.dispose()


def _construct(node: Any, file: str) -> tuple[Any, list[Diagnostic]]:
    loader = _Loader("")
    try:
        value = loader.construct_object(node, deep=True)
    except _Problem as exc:
        return None, [error(exc.code, _span(file, exc.mark), exc.message, exc.hint)]
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
        span = _span(file, node.start_mark)
        return None, [error("YB403", span, "无法读取这个值", "请把值写成字符串，例如 \"15万元\"")]
    problem = _value_problem(value)
    if problem is not None:
        return None, [error("YB403", _span(file, node.start_mark), problem[0], problem[1])]
    return value, []


def entry_problem(name: str, value: Any, span: ir.Span) -> Diagnostic | None:
    """What is wrong with one input of a JSON case (file or API mapping) before its type is known, if anything."""
    if len(name) > MAX_VALUE_CHARS or _CONTROL.search(name):
        return error("YB408", span, f"名称“{_short(name)}”过长或含有控制字符", "名称应是政策里声明的一个输入名")
    if isinstance(value, float):  # not the amount that was meant: refused, never rounded
        return error("YB403", span, f"输入 {_short(name)}：数值以二进制浮点数给出，无法保证精确",
                     "请写成字符串或 Decimal，例如 \"1234.56\"")
    problem = _value_problem(value)
    return None if problem is None else error("YB403", span, f"“{_short(name)}”的{problem[0]}", problem[1])


def _value_problem(value: Any) -> tuple[str, str] | None:
    """A value no input could take, found before its type is known: too long, or with control characters."""
    if isinstance(value, str):
        if len(value) > MAX_VALUE_CHARS:
            return (f"值过长（{len(value)} 个字符）：{_short(value)}",
                    f"一个值最多 {MAX_VALUE_CHARS} 个字符，例如 \"15万元\"、\"三级\"")
        found = _CONTROL.search(value) or re.search("[\n\r\t]", value)
        if found is not None:
            return (f"值里有控制字符 U+{ord(found.group()):04X}", "删去值里不可见的字符（例如 \\0、\\t 或换行）")
    if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) > MAX_DIGITS:
        return (f"数的位数过多（{len(str(abs(value)))} 位）", f"一个数最多 {MAX_DIGITS} 位")
    if isinstance(value, Decimal) and value.is_finite():
        if len(value.as_tuple().digits) > MAX_DIGITS:
            return (f"数的位数过多（{len(value.as_tuple().digits)} 位）", f"一个数最多 {MAX_DIGITS} 位")
        if not -MAX_DIGITS <= value.adjusted() <= MAX_DIGITS:
            return (f"数过大或过于精细：{_short(str(value))}", "写成普通的十进制数，例如 1234.5（不用指数）")
    return None


def _mapping_entries(node: Any, file: str, what: str) -> tuple[list[RawEntry], list[Diagnostic]]:
    if not isinstance(node, yaml.MappingNode):
        span = _span(file, node.start_mark) if node is not None else ir.Span(file, 1, 1, 1, 1)
        return [], [error("YB408", span, f"{what}应为“名称: 值”的映射", "每行写一个 输入名: 值")]
    entries: list[RawEntry] = []
    problems: list[Diagnostic] = []
    seen: dict[str, ir.Span] = {}
    for key_node, value_node in node.value:
        key_span = _span(file, key_node.start_mark, len(str(getattr(key_node, "value", ""))))
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(error("YB408", key_span, "名称应为文字", "每行写一个 输入名: 值"))
            continue
        name = str(key_node.value).strip()
        if len(name) > MAX_VALUE_CHARS or _CONTROL.search(name):
            problems.append(error("YB408", key_span, f"名称“{_short(name)}”过长或含有控制字符",
                                  "名称应是政策里声明的一个输入名"))
            continue
        value, diags = _construct(value_node, file)
        if diags:
            problems.extend(diags)
            continue
        if name in seen:
            problems.append(error("YB408", key_span, f"“{name}”写了两次（第 {seen[name].line} 行已经给出）",
                                  "每个输入只写一次"))
            continue
        seen[name] = key_span
        items = tuple(_span(file, item.start_mark) for item in value_node.value) \
            if isinstance(value_node, yaml.SequenceNode) else ()
        entries.append(RawEntry(name, value, key_span, _span(file, value_node.start_mark), items))
    return entries, problems


def parse_case_text(text: str, file: str) -> tuple[RawCase | None, list[Diagnostic]]:
    """A single case from YAML (or JSON) text."""
    if file.endswith(".json"):
        return _parse_json_case(text, file)
    node, diags = _compose(text, file)
    if diags:
        return None, diags
    if node is None:
        return RawCase(file, lines=text.splitlines()), []
    entries, problems = _mapping_entries(node, file, "案例文件")
    return RawCase(file, entries, lines=text.splitlines()), problems


def _json_position(text: str, key: str, start: int = 0) -> tuple[int, int]:
    index = text.find(json.dumps(key, ensure_ascii=False), start)
    if index < 0:
        index = text.find(json.dumps(key), start)
    if index < 0:
        return 1, 1
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def _reject_constant(name: str) -> Any:
    raise _JsonProblem(f"不支持的数值 {name}", "JSON 里的数写成普通的十进制数，例如 1234.5", name)


class _JsonProblem(ValueError):
    """A problem found while decoding JSON, in the drafter's words, near the text `near`."""

    def __init__(self, message: str, hint: str, near: str) -> None:
        super().__init__(message)
        self.message, self.hint, self.near = message, hint, near


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _JsonProblem(f"数的位数过多（{len(text.lstrip('-'))} 位）", f"一个数最多 {MAX_DIGITS} 位", text)
    return int(text)


def _bounded_decimal(text: str) -> Decimal:
    digits = sum(ch.isdigit() for ch in text)
    if digits > MAX_DIGITS:
        raise _JsonProblem(f"数的位数过多（{digits} 位）", f"一个数最多 {MAX_DIGITS} 位", text)
    return Decimal(text)


def _json_too_deep(text: str) -> int | None:
    """Where JSON nesting first passes MAX_DEPTH (an index into `text`), or None."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    in_string = escaped = False
    for index, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return index
        elif ch in "]}":
            depth -= 1
    return None


def _parse_json_case(text: str, file: str) -> tuple[RawCase | None, list[Diagnostic]]:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                duplicates.append(key)
            out[key] = value
        return out

    control = _control_problem(text, file)
    if control is not None:
        return None, [control]
    deep = _json_too_deep(text)
    if deep is not None:
        line, column = _position(text, deep)
        return None, [error("YB401", ir.Span(file, line, column, line, column + 1),
                            f"案例文件嵌套过深（超过 {MAX_DEPTH} 层）", "案例是一层 {\"名称\": 值} 的映射")]
    try:
        data = json.loads(text, parse_float=_bounded_decimal, parse_int=_bounded_int,
                          parse_constant=_reject_constant, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        span = ir.Span(file, exc.lineno, exc.colno, exc.lineno, exc.colno + 1)
        return None, [error("YB401", span, f"案例文件不是有效的 JSON：{_json_problem(exc.msg)}",
                            "检查逗号、引号和括号是否成对")]
    except _JsonProblem as exc:
        index = text.find(exc.near)
        line, column = _position(text, index) if index >= 0 else (1, 1)
        return None, [error("YB403", ir.Span(file, line, column, line, column + min(len(exc.near), 40)),
                            exc.message, exc.hint)]
    except (ValueError, RecursionError):
        return None, [error("YB401", ir.Span(file, 1, 1, 1, 1), "案例文件不是有效的 JSON", "检查逗号、引号和括号是否成对")]
    if not isinstance(data, dict):
        return None, [error("YB408", ir.Span(file, 1, 1, 1, 2), "案例文件应为“名称: 值”的映射",
                            "JSON 写作 {\"输入名\": 值, …}")]
    problems = []
    for key in duplicates:
        line, column = _json_position(text, key)
        problems.append(error("YB408", ir.Span(file, line, column, line, column + len(key) + 2),
                              f"“{_short(key)}”写了两次", "每个输入只写一次"))
    entries = []
    for key, value in data.items():
        line, column = _json_position(text, key)
        span = ir.Span(file, line, column, line, column + len(key) + 2)
        problem = entry_problem(key, value, span)
        if problem is not None:
            problems.append(problem)
            continue
        entries.append(RawEntry(str(key), value, span, span))
    return RawCase(file, entries, lines=re.split(r"\r?\n", text)), problems  # json counts lines at \n only


# json's messages, in the drafter's language.
_JSON_PROBLEMS = (
    ("Expecting value", "这里缺少值"),
    ("Expecting property name enclosed in double quotes", "名称要用双引号括起来（最后一项后面不能有逗号）"),
    ("Expecting ':' delimiter", "名称后面缺少冒号"),
    ("Expecting ',' delimiter", "两项之间缺少逗号"),
    ("Unterminated string", "引号没有成对"),
    ("Invalid control character", "字符串里有控制字符"),
    ("Invalid \\escape", "字符串里有无法识别的转义（\\）"),
    ("Invalid \\uXXXX escape", "字符串里的 \\u 转义不完整"),
    ("Extra data", "映射结束之后还有多余的内容"),
)


def _json_problem(message: str) -> str:
    for english, chinese in _JSON_PROBLEMS:
        if message.startswith(english):
            return chinese
    return "格式错误"


def load_case_file(path: str) -> tuple[RawCase | None, list[Diagnostic]]:
    text, diags = _read_text(path)
    if text is None:
        return None, diags
    return parse_case_text(text, path)


CASE_FIELDS = ("名称", "输入", "期望", DATE_KEY, "错误", "条款", "说明")


def load_suite(path: str) -> tuple[list[RawCase], list[Diagnostic]]:
    """A `*.cases.yaml` file: a list of {名称, 输入, 期望 or 错误 (+ 条款), 计算日期?}.

    Problems of the file as a whole are returned; those of one case are in its `problems`.
    """
    text, diags = _read_text(path)
    if text is None:
        return [], diags
    node, diags = _compose(text, path)
    if diags:
        return [], diags
    if node is None:
        return [], []
    if not isinstance(node, yaml.SequenceNode):
        return [], [error("YB408", _span(path, node.start_mark), "样例文件应为列表：每项有 名称、输入、期望",
                          "写作 - 名称: …\n  输入: {…}\n  期望: {…}")]
    cases: list[RawCase] = []
    problems: list[Diagnostic] = []
    lines = text.splitlines()
    for index, item in enumerate(node.value, 1):
        span = _span(path, item.start_mark)
        if not isinstance(item, yaml.MappingNode):
            problems.append(error("YB408", span, f"第 {index} 项应为映射：名称、输入、期望", ""))
            continue
        fields = {str(k.value): v for k, v in item.value if isinstance(k, yaml.ScalarNode)}
        name_node = fields.get("名称")
        name = str(name_node.value) if isinstance(name_node, yaml.ScalarNode) else f"第 {index} 项"
        case = RawCase(path, name=name, span=span, lines=lines)
        own = case.problems  # problems of this case: it fails on its own, the others still run
        for key in [k for k in fields if k not in CASE_FIELDS]:
            guess = closest(key, list(CASE_FIELDS))
            own.append(error("YB408", span, f"第 {index} 项有未知的字段“{key}”",
                             f"是否想写 {guess}？" if guess else f"字段有：{'、'.join(CASE_FIELDS)}"))
        if "输入" in fields:
            case.entries, diags = _mapping_entries(fields["输入"], path, f"样例“{name}”的 输入 ")
            own.extend(diags)
        if DATE_KEY in fields:
            value, diags = _construct(fields[DATE_KEY], path)
            own.extend(diags)
            date_span = _span(path, fields[DATE_KEY].start_mark)
            case.entries.append(RawEntry(DATE_KEY, value, date_span, date_span))
        for key in ("错误", "条款"):
            node = fields.get(key)
            if node is None:
                continue
            text = str(node.value).strip() if isinstance(node, yaml.ScalarNode) else ""
            if key == "错误" and not re.fullmatch(r"YB\d{1,3}", text):
                own.append(error("YB408", _span(path, node.start_mark), f"样例“{name}”的 错误 应为诊断代码",
                                 "例如 错误: YB411（也可以只写开头，YB4 表示任何计算错误）"))
            elif key == "错误":
                case.error = text
            elif text:
                case.error_clause = text
        if "期望" in fields:
            case.expect, diags = _mapping_entries(fields["期望"], path, f"样例“{name}”的 期望 ")
            own.extend(diags)
        elif "错误" not in fields:
            own.append(error("YB408", span, f"样例“{name}”没有 期望",
                             "写出要核对的数额：期望: {名称: 值}；必须算不出来的案例写 错误: YBnnn"))
        if "条款" in fields and "错误" not in fields:
            own.append(error("YB408", span, f"样例“{name}”的 条款 只用于 错误", "写 错误: YBnnn，再写 条款"))
        cases.append(case)
    return cases, problems


# ------------------------------------------------------------------ validating


@attrs.frozen(slots=True)
class InputInfo:
    name: str
    type: Type
    decl: ir.InputDecl
    scope: ModuleScope


def declared_inputs(program: Program) -> dict[str, InputInfo]:
    """Every input the case may give: the policy's own first, then its imports'."""
    out: dict[str, InputInfo] = {}
    scopes = [program.root, *(s for s in program.modules.values() if s is not program.root)]
    for scope in scopes:
        for symbol in scope.own.values():
            if symbol.kind is SymbolKind.INPUT and symbol.name not in out:
                assert isinstance(symbol.decl, ir.InputDecl)
                type_ = program.types.get(symbol.key)
                if type_ is not None:
                    out[symbol.name] = InputInfo(symbol.name, type_, symbol.decl, scope)
    return out


def check_value(program: Program, info: InputInfo, raw: Any) -> Any:
    """`raw` read as the input's type, checked against its enumeration and 范围; a Problem if it fails."""
    return _checked(info.type, raw, lambda: _range_bounds(program, info))


def _checked(type_: Type, raw: Any, range_of: Callable[[], tuple[Any, Any] | None]) -> Any:
    """`raw` read as `type_`, checked against its enumeration and the 范围 `range_of()` gives; else a Problem."""
    value = parse_value(raw, type_)
    if isinstance(value, Problem):
        return value
    if type_.kind is Kind.ENUM and type_.enum is not None:
        if value not in type_.enum.values:
            guess = closest(str(value), type_.enum.values)
            hint = f"是否想写 {guess}？" if guess else f"{type_.name} 的选项有：{'、'.join(type_.enum.values)}"
            return Problem("YB404", f"“{value}”不是 {type_.name} 的选项", hint)
        return value
    if type_.kind is Kind.TEXT:
        problem = _value_problem(value)
        return Problem("YB403", problem[0], problem[1]) if problem is not None else value
    bounds = range_of()
    if bounds is not None:
        low, high = bounds
        if not low <= value <= high:
            return Problem("YB406", f"{display(type_, value)} 超出范围 {display(type_, low)} 至 {display(type_, high)}",
                           "请核对这个数；范围由政策的 输入 声明规定")
    return value


# An input's 范围 reads no input: computed once per program, not once per case (`yibaolang serve` checks
# thousands of cases a second against the same program).
_BOUNDS: weakref.WeakKeyDictionary[Program, dict[int, tuple[Any, Any] | None]] = weakref.WeakKeyDictionary()


def _range_bounds(program: Program, info: InputInfo) -> tuple[Any, Any] | None:
    decl = info.decl
    if decl.range_low is None or decl.range_high is None:
        return None
    memo = _BOUNDS.setdefault(program, {})
    if id(decl) not in memo:
        evaluator = evaluator_for(program, False)
        try:
            memo[id(decl)] = (evaluator.constant(info.scope, decl.range_low),
                              evaluator.constant(info.scope, decl.range_high))
        except Exception:
            memo[id(decl)] = None
    return memo[id(decl)]


# ------------------------------------------------------------------ list inputs (docs/itemized.md §5)


@attrs.frozen(slots=True)
class FieldInfo:
    name: str
    type: Type
    decl: ir.FieldDecl


def list_fields(program: Program, info: InputInfo) -> list[FieldInfo]:
    """The fields of a 列表 input's lines, with their types."""
    out = []
    for f in info.decl.fields:
        type_ = program.types.get((info.scope.path, f"{info.name}.{f.name}"))
        if type_ is not None:
            out.append(FieldInfo(f.name, type_, f))
    return out


def _constant(program: Program, scope: ModuleScope, expr: ir.Expr | None) -> Any:
    """A 范围 bound or 默认 of a field (it reads no input), computed once per program."""
    if expr is None:
        return None
    memo = _BOUNDS.setdefault(program, {})
    if id(expr) not in memo:
        try:
            memo[id(expr)] = (evaluator_for(program, False).constant(scope, expr), None)
        except Exception:
            memo[id(expr)] = None
    found = memo[id(expr)]
    return found[0] if found is not None else None


def check_lines(program: Program, info: InputInfo, raw: Any, span: ir.Span,
                items: tuple[ir.Span, ...] = ()) -> tuple[tuple[dict[str, Any], ...] | None, list[Diagnostic]]:
    """The lines of a 列表 input: each a mapping of its declared fields, each field read as its type.

    A missing field takes its 默认; a missing field without one, a field the list does not declare,
    or a value of the wrong type or outside the field's 范围 is one error naming the line and field.
    """
    name = info.name
    if not isinstance(raw, list):
        shown = "映射" if isinstance(raw, dict) else (_short(str(raw)) if raw is not None else "空")
        return None, [error("YB461", span, f"输入 {name} 是列表：应为映射的列表，这里是 {shown}",
                            f"每行一个映射，例如：\n{name}:\n  - {{编码: \"XB01\", 数量: 2, 单价: \"35.50\"}}")]
    if len(raw) > MAX_LINES:
        return None, [error("YB461", span, f"输入 {name} 有 {len(raw):,} 行，超过一个案例的上限 {MAX_LINES:,} 行",
                            "一次结算的明细过多；大量数据请用 run --cases … --items 批量计算")]
    fields = list_fields(program, info)
    declared = {f.name: f for f in fields}
    lines: list[dict[str, Any]] = []
    problems: list[Diagnostic] = []
    for number, row in enumerate(raw, 1):
        where = items[number - 1] if number - 1 < len(items) else span
        if not isinstance(row, dict):
            problems.append(error("YB461", where, f"输入 {name} 第 {number} 行应为“字段: 值”的映射",
                                  f"例如 - {{{', '.join(f'{f.name}: …' for f in fields[:3])}}}"))
            continue
        line: dict[str, Any] = {}
        for key in row:
            if str(key) not in declared:
                guess = closest(str(key), list(declared))
                problems.append(error(
                    "YB461", where, f"输入 {name} 第 {number} 行有未声明的字段“{_short(str(key))}”",
                    f"是否想写 {guess}？" if guess else f"{name} 的字段有：{'、'.join(declared)}"))
        for f in fields:
            if f.name not in row:
                default = _constant(program, info.scope, f.decl.default)
                if default is None:
                    problems.append(error("YB461", where, f"输入 {name} 第 {number} 行缺少字段 {f.name}",
                                          f"写上 {f.name}（{f.type.name}），或在字段声明中写 默认"))
                else:
                    line[f.name] = default
                continue
            decl = f.decl

            def bounds(decl: ir.FieldDecl = decl) -> tuple[Any, Any] | None:
                low = _constant(program, info.scope, decl.range_low)
                high = _constant(program, info.scope, decl.range_high)
                return (low, high) if low is not None and high is not None else None

            value = _checked(f.type, row[f.name], bounds)
            if isinstance(value, Problem):
                problems.append(error(value.code, where, f"输入 {name} 第 {number} 行的 {f.name}：{value.message}",
                                      value.hint))
                continue
            line[f.name] = value
        lines.append(line)
    return (tuple(lines), problems) if not problems else (None, problems)


def validate(program: Program, raw: RawCase) -> tuple[CaseInput, list[Diagnostic]]:
    """Check every given value; all problems are returned together."""
    inputs = declared_inputs(program)
    case = CaseInput({}, file=raw.file)
    problems: list[Diagnostic] = []
    for entry in raw.entries:
        if entry.name == META_KEY:  # who and which claim: for the decision letter, never an input (docs/letter.md)
            if not isinstance(entry.value, dict):
                problems.append(error("YB408", entry.key_span, "元数据应为“字段: 值”的映射",
                                      "例如 元数据: {参保人: 张三, 结算单号: JS-001}"))
            continue
        if entry.name == DATE_KEY:
            value = parse_value(entry.value, DATE)
            if isinstance(value, Problem):
                problems.append(error("YB405", entry.value_span, f"计算日期：{value.message}", value.hint))
            else:
                case.date, case.date_source = value, "案例的 计算日期"
            continue
        info = inputs.get(entry.name)
        if info is None:
            guess = closest(entry.name, [*inputs, DATE_KEY])
            listed = "、".join(list(inputs)[:12]) + ("等" if len(inputs) > 12 else "")
            hint = f"是否想写 {guess}？" if guess else (f"本政策的输入有：{listed}" if inputs else "本政策没有声明输入")
            problems.append(error("YB402", entry.key_span, f"未知的输入“{entry.name}”", hint))
            continue
        if info.type.kind is Kind.LIST:
            lines, diags = check_lines(program, info, entry.value, entry.value_span, entry.items)
            problems.extend(diags)
            if lines is not None:
                case.values[entry.name] = lines
            continue
        value = check_value(program, info, entry.value)
        if isinstance(value, Problem):
            problems.append(error(value.code, entry.value_span, f"输入 {entry.name}：{value.message}", value.hint))
            continue
        case.values[entry.name] = value
    return case, problems


def parse_assignment(program: Program, text: str) -> tuple[str, Any] | Diagnostic:
    """`NAME=VALUE` of --what-if, with VALUE a typed string or a plain value."""
    where = ir.Span("--what-if", 1, 1, 1, len(text) + 1)
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name:
        return error("YB421", where, f"--what-if 应写作 名称=值，这里是“{text}”", "例如 --what-if 修复缴费年数=2年")
    if name == DATE_KEY:
        date = parse_date_text(raw)
        if date is None:
            return error("YB405", where, f"计算日期：无法读作日期：{raw}", "例如 2025-03-01")
        return name, date
    inputs = declared_inputs(program)
    info = inputs.get(name)
    if info is None:
        guess = closest(name, list(inputs))
        hint = f"是否想写 {guess}？" if guess else "--what-if 只能改变输入"
        return error("YB402", where, f"未知的输入“{name}”", hint)
    if info.type.kind is Kind.LIST:
        return error("YB461", where, f"--what-if 不能给出列表输入 {name}：命令行上写不下逐行的明细",
                     "把改动后的明细写进另一个案例文件，再分别 explain；或改变一次结算的输入")
    value = check_value(program, info, _plain_scalar(raw))
    if isinstance(value, Problem):
        return error(value.code, where, f"输入 {name}：{value.message}", value.hint)
    return name, value


def _plain_scalar(raw: str) -> Any:
    if re.fullmatch(r"[-+]?\d+(\.\d+)?", raw):
        return Decimal(raw)
    if raw in ("true", "false"):
        return raw == "true"
    return raw


# ------------------------------------------------------------------ tests: 样例 and *.cases.yaml


# Renders a figure's trace as text (the caller's renderer: engines do not render).
Explain = Callable[[Any], str]


@attrs.define
class SampleResult:
    policy: str
    name: str
    passed: bool
    details: list[str] = attrs.Factory(list)


def suites_beside(policy: Path) -> list[Path]:
    """`x.cases.yaml` (and `x.cases.yml`) beside `x.ybl`."""
    stem = policy.name[: -len(policy.suffix)] if policy.suffix else policy.name
    return [p for p in (policy.with_name(f"{stem}.cases.yaml"), policy.with_name(f"{stem}.cases.yml")) if p.is_file()]


def run_examples(program: Program, explain: Explain | None = None) -> list[SampleResult]:
    """Every 样例 block of the policy (`explain` renders the trace of a wrong figure into the details)."""
    results = []
    evaluator = evaluator_for(program, False)
    scope = program.root
    inputs = declared_inputs(program)
    for example in scope.module.examples:
        result = SampleResult(scope.path, f"样例“{example.name}”", True)
        case = CaseInput({}, file=scope.path)
        expected: list[tuple[str, Any]] = []
        try:
            listed = [line.name.name for line in example.inputs
                      if (found := inputs.get(line.name.name)) is not None and found.type.kind is Kind.LIST]
            if listed:
                result.passed = False
                result.details.append(f"样例 不能给出列表输入 {listed[0]}：一行 名称 = 值 写不下逐行的明细；"
                                      f"请把这个案例写进旁边的 *.cases.yaml（{listed[0]}: 映射的列表）")
                results.append(result)
                continue
            for line in example.inputs:
                value = evaluator.constant(scope, line.value)
                if line.name.name == DATE_KEY:
                    case.date, case.date_source = value, "样例的 计算日期"
                else:
                    info = inputs.get(line.name.name)
                    checked = check_value(program, info, _as_raw(value, info.type)) if info is not None else value
                    if isinstance(checked, Problem):
                        result.passed = False
                        result.details.append(f"输入 {line.name.name}：{checked.message}")
                    case.values[line.name.name] = value
            for line in example.expectations:
                expected.append((line.name.display, evaluator.constant(scope, line.value)))
        except Exception as exc:
            result.passed = False
            result.details.append(f"无法读取样例的值：{exc}")
            results.append(result)
            continue
        _compare(program, case, expected, result, explain)
        results.append(result)
    return results


def _as_raw(value: Any, type_: Type) -> Any:
    """A constant from a 样例 line, in the plain form `check_value` reads."""
    if type_.kind is Kind.MONTHS or type_.kind is Kind.YEARS or type_.kind is Kind.DAYS:
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return value


def run_suite(program: Program, path: str, explain: Explain | None = None) -> list[SampleResult]:
    """Every case of a `*.cases.yaml` file."""
    raw_cases, problems = load_suite(path)
    results = []
    if problems:
        results.append(SampleResult(path, "样例文件", False, [_render_problem(d, raw_cases) for d in problems]))
    for raw in raw_cases:
        result = SampleResult(path, f"“{raw.name}”", True)
        if raw.problems:
            result.passed = False
            result.details.extend(_render_problem(d, raw_cases) for d in raw.problems)
            results.append(result)
            continue
        case, diags = validate(program, raw)
        if raw.error is not None:
            _expect_refusal(program, raw, case, diags, result)
            results.append(result)
            continue
        if diags:
            result.passed = False
            result.details.extend(_render_problem(d, raw_cases) for d in diags)
            results.append(result)
            continue
        expected: list[tuple[str, Any]] = []
        evaluator = evaluator_for(program, False)
        for entry in raw.expect:
            fig = evaluator.resolve_output(entry.name)
            if isinstance(fig, Diagnostic):
                result.passed = False
                result.details.append(f"期望 {entry.name}：{fig.message}（{fig.hint}）")
                continue
            value = parse_value(entry.value, fig.type)
            if isinstance(value, Problem):
                result.passed = False
                result.details.append(f"期望 {entry.name}（第 {entry.value_span.line} 行）：{value.message}")
                continue
            expected.append((entry.name, value))
        if result.passed:
            _compare(program, case, expected, result, explain)
        results.append(result)
    return results


def _expect_refusal(program: Program, raw: RawCase, case: CaseInput, refused: list[Diagnostic],
                    result: SampleResult) -> None:
    """A case with 错误 passes when reading or computing it reports that code (and clause, if given)."""
    from yibaolang.engines.evaluate import evaluate
    from yibaolang.frontend.lower import normalize_clause_id

    assert raw.error is not None
    found = [d for d in refused if d.is_error]
    if not found:
        names = [e.name for e in raw.expect] or None
        found = [d for d in evaluate(program, case, names).diagnostics if d.is_error]
    clause = normalize_clause_id(raw.error_clause) if raw.error_clause else None

    def in_clause(d: Diagnostic) -> bool:
        if clause is None or d.clause == clause:
            return True
        # Evaluation errors point at the expression; the clause is the one written around it.
        return any(c.id == clause and c.span.file == d.span.file and c.span.line <= d.span.line <= c.span.end_line
                   for scope in program.modules.values() for c in scope.module.clauses)

    if any(d.code.startswith(raw.error) and in_clause(d) for d in found):
        return
    result.passed = False
    where = f"（条款 {clause}）" if clause else ""
    if not found:
        result.details.append(f"期望错误 {raw.error}{where}，但这个案例算出来了")
    for d in found:
        result.details.append(f"期望错误 {raw.error}{where}，实际是 {d.code}"
                              + (f"（条款 {d.clause}）" if d.clause else "") + f"：{d.message}")


def _render_problem(d: Diagnostic, cases: Iterable[RawCase]) -> str:
    return f"{d.span.file}:{d.span.line}:{d.span.column}: {d.message}" + (f"（{d.hint}）" if d.hint else "")


def _compare(program: Program, case: CaseInput, expected: list[tuple[str, Any]], result: SampleResult,
             explain: Explain | None) -> None:
    from yibaolang.engines.evaluate import evaluate

    if not expected:
        return
    names = [name for name, _ in expected]
    outcome = evaluate(program, case, names)
    failed: list[tuple[str, Any, Any, Type]] = []
    for (name, want), out in zip(expected, outcome.outputs, strict=True):
        if not out.ok:
            continue
        if out.value != want:
            failed.append((name, want, out.value, out.type))
    errors = [d for d in outcome.diagnostics if d.is_error]
    if not failed and not errors:
        return
    result.passed = False
    for d in errors:
        hint = f"（{d.hint}）" if d.hint else ""
        result.details.append(f"{d.span.file}:{d.span.line}: 错误[{d.code}]: {d.message}{hint}")
    nodes = {}
    if failed and explain is not None:
        traced = evaluate(program, case, [name for name, *_ in failed], trace=True)
        nodes = {node.name: node for node in traced.trace}
    for name, want, got, type_ in failed:
        result.details.append(f"{name}：期望 {display(type_, want)}，实际 {display(type_, got)}")
        node = nodes.get(name)
        if node is not None and explain is not None:
            result.details.append("解释：")
            result.details.extend("  " + line for line in explain(node).splitlines())


__all__ = [
    "DATE_KEY", "InputInfo", "RawCase", "RawEntry", "SampleResult", "check_value", "declared_inputs",
    "load_case_file", "load_suite", "parse_assignment", "parse_case_text", "run_examples", "run_suite",
    "suites_beside", "validate",
]

_ = dt  # dates arrive as datetime.date from YAML
