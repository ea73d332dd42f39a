"""The `yibaolang.explain/1` JSON of docs/cli.md.

Each node is `{"name", "type", "value", "display", "formula", "clause", "source", "children"}`
(plus `kind`, `expression`, `notes`).  A figure read by several others is
written out in full once; later occurrences carry `"see_above": true` and no
children, so the document stays linear in the size of the policy.
"""

from __future__ import annotations

from typing import Any

from yibaolang.diagnostics import json_text, to_json_obj
from yibaolang.engines.trace import CatalogUse, ListTrace, TraceNode
from yibaolang.ir.types import Type
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


def catalog_json(use: CatalogUse) -> dict[str, Any]:
    return {"catalog": use.catalog, "file": use.file, "row": use.row, "key": use.key, "column": use.column,
            "date": use.date.isoformat() if use.date is not None else None,
            "valid_from": use.valid_from.isoformat() if use.valid_from is not None else None,
            "valid_to": use.valid_to.isoformat() if use.valid_to is not None else None,
            "label": use.label, "missing": use.missing}


def list_json(lt: ListTrace, seen: set[int]) -> dict[str, Any]:
    """The lines of a list input (docs/itemized.md §7): by group, each with its fields, figures and catalog rows."""
    return {
        "list": lt.name,
        "group_by": lt.group_by,
        "groups": [
            {"group": group, "lines": [
                {"number": line.number,
                 "fields": {name: to_json(t, v) for name, t, v in line.fields},
                 "figures": [node_json(node, seen) for node in line.figures],
                 "catalog_rows": [catalog_json(use) for use in line.rows]}
                for line in lines]}
            for group, lines in lt.groups()],
        "reconciled": [{"condition": text, "holds": holds} for text, holds in lt.reconciled],
    }


def _input_json(exp: Explanation, name: str, type_: Type, value: Any) -> Any:
    """An input's value; a list input's lines with each field encoded by its declared type (money "35.50")."""
    listed = next((lt for lt in exp.lines if lt.name == name), None)
    if listed is None:
        return to_json(type_, value)
    return [{field: to_json(t, v) for field, t, v in line.fields} for line in listed.lines]


def explain_document(exp: Explanation) -> dict[str, Any]:
    seen: set[int] = set()
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "policy": exp.policy,
        "date": exp.date.isoformat() if exp.date is not None else None,
        "inputs": {name: _input_json(exp, name, t, v) for name, (t, v) in exp.inputs.items()},
        "outputs": [node_json(node, seen) for node in exp.outputs],
        "assertions": [node_json(node, seen) for node in exp.assertions],
        "diagnostics": [to_json_obj(d) for d in exp.diagnostics],
    }
    if exp.lines:
        doc["lines"] = [list_json(lt, seen) for lt in exp.lines]
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
