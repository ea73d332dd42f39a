"""The IR as JSON (`yibaolang ir FILE`): every node with its kind and span.

>>> from yibaolang.ir import Literal, LiteralKind, Span
>>> from decimal import Decimal
>>> to_json(Literal(LiteralKind.MONEY, Decimal("20000"), "2万元", Span("a", 1, 2, 1, 5)))
{'node': 'Literal', 'kind': '金额', 'value': '20000', 'text': '2万元', 'span': '1:2-1:5'}
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from decimal import Decimal
from typing import Any

import attrs

from yibaolang import ir


def to_json(node: Any) -> Any:
    if isinstance(node, ir.Span):
        return f"{node.line}:{node.column}-{node.end_line}:{node.end_column}"
    if attrs.has(type(node)):
        out: dict[str, Any] = {"node": type(node).__name__}
        for field in attrs.fields(type(node)):
            value = getattr(node, field.name)
            if isinstance(node, ir.Module) and field.name == "file":
                out["file"] = value
                continue
            out[field.name] = to_json(value)
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
