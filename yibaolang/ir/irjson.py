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

from yibaolang import ir
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
