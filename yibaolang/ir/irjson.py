"""The IR as JSON (`yibaolang ir FILE`): every node with its kind and span, and back.

>>> from yibaolang.ir import Literal, LiteralKind, Span
>>> from decimal import Decimal
>>> lit = Literal(LiteralKind.MONEY, Decimal("20000"), "2万元", Span("a", 1, 2, 1, 5))
>>> to_json(lit)
{'node': 'Literal', 'kind': '金额', 'value': '20000', 'text': '2万元', 'span': '1:2-1:5'}
>>> from_json(to_json(lit), "a") == lit
True

`from_json` reads the node classes' own annotations (ir/nodes.py), so every node —
the itemized ones too (Aggregate, Lookup, CatalogDecl, FieldDecl) — comes back
equal to the one dumped; spans name the file given.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import types
import typing
from decimal import Decimal
from typing import Any

import attrs

from yibaolang import ir
from yibaolang.ir import nodes
from yibaolang.ir.walk import NODE_CLASSES, fields


def to_json(node: Any) -> Any:
    if isinstance(node, ir.Span):
        return f"{node.line}:{node.column}-{node.end_line}:{node.end_column}"
    if type(node) in NODE_CLASSES:
        out: dict[str, Any] = {"node": type(node).__name__}
        for name, value in fields(node):
            out[name] = value if isinstance(node, ir.Module) and name == "file" else to_json(value)
        return out
    if isinstance(node, (list, tuple)):
        return [to_json(x) for x in node]
    if isinstance(node, Decimal):
        return format(node, "f")
    if isinstance(node, (dt.date,)):
        return node.isoformat()
    if isinstance(node, enum.Enum):
        return node.value
    return node


def dump(module: ir.Module) -> str:
    return json.dumps({"schema": "yibaolang.ir/1", "module": to_json(module)}, ensure_ascii=False, indent=1)


def load(text: str) -> ir.Module:
    """The module of a `dump` (schema yibaolang.ir/1)."""
    data = json.loads(text)
    if data.get("schema") != "yibaolang.ir/1":
        raise ValueError(f"不是 yibaolang.ir/1 的 JSON：{data.get('schema')!r}")
    module = data["module"]
    found = from_json(module, module["file"])
    assert isinstance(found, ir.Module)
    return found


_CLASSES = {cls.__name__: cls for cls in NODE_CLASSES}
_DURATIONS = {ir.LiteralKind.YEARS, ir.LiteralKind.MONTHS, ir.LiteralKind.DAYS}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(nodes))


def from_json(data: Any, file: str) -> Any:
    """The IR node `data` (a `to_json` result) stands for; its spans are in `file`."""
    cls = _CLASSES[data["node"]]
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.name not in data:
            continue  # a field with a default that an older dump lacks
        raw = data[field.name]
        if cls is ir.Module and field.name == "file":
            values["file"] = raw
        elif cls is ir.Literal and field.name == "value":
            values["value"] = _literal_value(ir.LiteralKind(data["kind"]), raw)
        else:
            values[field.name] = _value(hints[field.name], raw, file)
    return cls(**values)


def _literal_value(kind: ir.LiteralKind, raw: Any) -> Any:
    if kind is ir.LiteralKind.DATE:
        return dt.date.fromisoformat(raw)
    if kind is ir.LiteralKind.BOOL or kind in _DURATIONS:
        return raw
    if kind is ir.LiteralKind.TEXT:
        return str(raw)
    return Decimal(raw)


def _value(hint: Any, raw: Any, file: str) -> Any:
    if raw is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [h for h in typing.get_args(hint) if h is not type(None)]
        if isinstance(raw, dict) and "node" in raw:
            return from_json(raw, file)
        return _value(options[0], raw, file) if len(options) == 1 else raw
    if origin is tuple:
        inner = typing.get_args(hint)[0]
        return tuple(_value(inner, x, file) for x in raw)
    if hint is ir.Span:
        start, _, end = raw.partition("-")
        line, column = start.split(":")
        end_line, end_column = end.split(":")
        return ir.Span(file, int(line), int(column), int(end_line), int(end_column))
    if isinstance(raw, dict) and "node" in raw:
        return from_json(raw, file)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(raw)
    if hint is dt.date:
        return dt.date.fromisoformat(raw)
    if hint is Decimal:
        return Decimal(raw)
    return raw
