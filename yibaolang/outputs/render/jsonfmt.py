"""The `yibaolang.explain/1` JSON of docs/cli.md.

Each node is `{"name", "type", "value", "display", "formula", "clause", "source", "children"}`
(plus `kind`, `expression`, `notes`).  A figure read by several others is
written out in full once; later occurrences carry `"see_above": true` and no
children, so the document stays linear in the size of the policy.
"""

from __future__ import annotations

from typing import Any

from yibaolang.diagnostics import json_text, to_json_obj
from yibaolang.engines.trace import TraceNode
from yibaolang.outputs.render import Explanation
from yibaolang.semantics.values import to_json

SCHEMA = "yibaolang.explain/1"


def node_json(node: TraceNode, seen: set[int]) -> dict[str, Any]:
    repeated = id(node) in seen and bool(node.children)
    seen.add(id(node))
    out: dict[str, Any] = {
        "name": node.name,
        "type": node.type_name,
        "value": to_json(node.type, node.value) if node.type is not None else node.value,
        "display": node.display,
        "formula": node.formula,
        "clause": ({"id": node.clause.id, "title": node.clause.title, "text": node.clause.text}
                   if node.clause is not None else None),
        "source": {"file": node.source.file, "line": node.source.line} if node.source is not None else None,
        "children": [] if repeated else [node_json(child, seen) for child in node.children],
        "kind": node.kind,
        "expression": node.expression,
        "notes": list(node.notes),
    }
    if repeated:
        out["see_above"] = True
    return out


def explain_document(exp: Explanation) -> dict[str, Any]:
    seen: set[int] = set()
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "policy": exp.policy,
        "date": exp.date.isoformat() if exp.date is not None else None,
        "inputs": {name: to_json(t, v) for name, (t, v) in exp.inputs.items()},
        "outputs": [node_json(node, seen) for node in exp.outputs],
        "assertions": [node_json(node, seen) for node in exp.assertions],
        "diagnostics": [to_json_obj(d) for d in exp.diagnostics],
    }
    if exp.what_if is not None:
        doc["what_if"] = {
            "assumptions": {name: to_json(t, a) for name, t, _, a in exp.what_if.assignments},
            "changes": [
                {"name": c.name, "kind": c.kind, "type": c.type.name,
                 "before": to_json(c.type, c.before), "after": to_json(c.type, c.after),
                 "before_display": c.before_display, "after_display": c.after_display,
                 "delta": c.delta_display}
                for c in exp.what_if.changes
            ],
        }
    return doc


def render_json(exp: Explanation) -> str:
    return json_text(explain_document(exp)) + "\n"  # bidi and C1 controls escaped, not raw
