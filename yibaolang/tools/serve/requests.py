"""Reading a request body: bounded in size, JSON with exact numbers, each field checked (docs/serve.md).

Numbers are read as Decimal (never through a binary float); a key given twice,
`NaN`, a number with too many digits or nesting past a limit are refused with a
Chinese diagnostic.  The fields of /run, /explain and /check are checked here,
so the handlers only see well-formed requests.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from yibaolang.api import EXPLAIN_FORMATS
from yibaolang.semantics import limits
from yibaolang.tools.serve.errors import BAD_JSON, TOO_LARGE, bad_field, refusal

MAX_DEPTH = 32


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in items:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _decimal(text: str) -> Decimal:
    if sum(ch.isdigit() for ch in text) > limits.MAX_WRITTEN_DIGITS:
        raise ValueError("too many digits")
    return Decimal(text)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > limits.MAX_WRITTEN_DIGITS:
        raise ValueError("too many digits")
    return int(text)


def _constant(name: str) -> Any:
    raise ValueError(name)


def _depth(text: str) -> int:
    # Brackets inside strings count too: an over-estimate only refuses absurd bodies, never a real case.
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def check_size(declared: str | None, limit: int) -> None:
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)


def too_large(limit: int) -> Exception:
    return refusal(413, TOO_LARGE, f"请求体过大（上限 {limit:,} 字节）", "一个案例远小于这个上限；批量计算请用 yibaolang run --cases")


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; a 400 Refusal when it is not one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise refusal(400, BAD_JSON, "请求体不是 UTF-8 编码的文本", "请以 UTF-8 发送 JSON") from None
    if text.count("{") + text.count("[") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        raise refusal(400, BAD_JSON, f"请求的 JSON 嵌套过深（超过 {MAX_DEPTH} 层）", "案例是一层 {\"输入名\": 值} 的映射")
    try:
        data = json.loads(text, parse_float=_decimal, parse_int=_int, parse_constant=_constant,
                          object_pairs_hook=_pairs)
    except _Duplicate as exc:
        raise refusal(400, BAD_JSON, f"请求的 JSON 中“{exc.key[:40]}”写了两次", "每个名称只写一次") from None
    except json.JSONDecodeError as exc:
        raise refusal(400, BAD_JSON, f"请求体不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）",
                      "检查逗号、引号和括号是否成对", exc.lineno, exc.colno) from None
    except (ValueError, RecursionError):
        raise refusal(400, BAD_JSON, "请求的 JSON 中有无法精确读取的数（NaN、Infinity 或位数过多）",
                      f"数写成普通的十进制数，最多 {limits.MAX_WRITTEN_DIGITS} 位") from None
    if not isinstance(data, dict):
        raise refusal(400, BAD_JSON, "请求体应为 JSON 对象", '例如 {"case": {"门诊费用": "8000元"}}')
    return data


@attrs.frozen(slots=True)
class CaseRequest:
    """The body of /run and /explain."""

    case: Mapping[str, Any]
    date: dt.date | None
    outputs: list[str] | None
    format: str = "json"
    what_if: Mapping[str, Any] | None = None


def _date(value: Any) -> dt.date | None:
    from yibaolang.semantics.values import parse_date_text

    if value is None:
        return None
    if not isinstance(value, str) or parse_date_text(value) is None:
        raise bad_field(f"date 不是有效的日期：{str(value)[:40]}", "写作 YYYY-MM-DD，例如 2025-03-01")
    return parse_date_text(value)


def case_request(data: dict[str, Any], explain: bool) -> CaseRequest:
    known = {"case", "date", "outputs", *(("format", "what_if") if explain else ())}
    unknown = [k for k in data if k not in known]
    if unknown:
        raise bad_field(f"请求中有未知的字段“{unknown[0][:40]}”", f"可用的字段：{'、'.join(sorted(known))}")
    case = data.get("case", {})
    if not isinstance(case, dict):
        raise bad_field("case 应为 {\"输入名\": 值} 的映射", '例如 {"case": {"门诊费用": "8000元"}}')
    outputs = data.get("outputs")
    if outputs is not None and (not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs)):
        raise bad_field("outputs 应为数额名称的列表", '例如 "outputs": ["大病保险报销"]')
    fmt = data.get("format", "json")
    if fmt not in EXPLAIN_FORMATS:
        raise bad_field(f"不支持的格式“{str(fmt)[:40]}”", f"format 可选：{'、'.join(EXPLAIN_FORMATS)}")
    what_if = data.get("what_if")
    if what_if is not None and not isinstance(what_if, dict):
        raise bad_field("what_if 应为 {\"输入名\": 假设的值} 的映射", '例如 "what_if": {"门诊费用": "9000元"}')
    return CaseRequest(case, _date(data.get("date")), outputs or None, fmt, what_if or None)


def check_request(data: dict[str, Any]) -> tuple[str, str]:
    source, filename = data.get("source"), data.get("filename", "policy.ybl")
    if not isinstance(source, str):
        raise bad_field("source 应为政策文件的全文（字符串）", '例如 {"source": "政策 示例\\n输入 费用 : 金额\\n"}')
    if not isinstance(filename, str) or not filename or "/" in filename or "\\" in filename or len(filename) > 200:
        raise bad_field("filename 应为不含路径的文件名", '例如 "x.ybl"')
    return source, filename
