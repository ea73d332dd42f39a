"""`check --format sarif`: diagnostics as SARIF 2.1.0, for code-review tools.

One run, tool.driver `yibaolang` with a rule for each code seen; each result
has its ruleId, level (error / warning / note), message and one physical
location.  Columns are 1-based characters with the end column one past the
last, so the run declares `columnKind: unicodeCodePoints`.

>>> from yibaolang.diagnostics import Diagnostic, Severity
>>> from yibaolang.ir import Span
>>> import json
>>> doc = json.loads(render_sarif([Diagnostic("YB502", Severity.WARNING, Span("甲.ybl", 3, 5, 3, 9), "分段有空档")]))
>>> doc["runs"][0]["results"][0]["level"], doc["runs"][0]["tool"]["driver"]["rules"][0]["id"]
('warning', 'YB502')
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from yibaolang.diagnostics import Diagnostic, Severity, json_text

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render_sarif(diagnostics: Iterable[Diagnostic]) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        tool_version = version("yibaolang")
    except PackageNotFoundError:
        tool_version = "0"
    found = list(diagnostics)
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for d in found:
        if d.code not in rules:
            rules[d.code] = {
                "id": d.code,
                "shortDescription": {"text": _short(d.message)},
                "defaultConfiguration": {"level": _LEVEL[d.severity]},
            }
        text = d.message + (f"\n提示：{d.hint}" if d.hint else "")
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": list(rules).index(d.code),
            "level": _LEVEL[d.severity],
            "message": {"text": text},
            "locations": [_location(d.span.file, d.span.line, d.span.column, d.span.end_line, d.span.end_column)],
        }
        if d.related:
            result["relatedLocations"] = [
                {**_location(span.file, span.line, span.column, span.end_line, span.end_column),
                 "id": i, "message": {"text": note}}
                for i, (span, note) in enumerate(d.related)
            ]
        if d.clause:
            result["properties"] = {"clause": d.clause}
        results.append(result)
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "yibaolang", "version": tool_version, "rules": list(rules.values())}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json_text(doc)  # bidi and C1 controls escaped (diagnostics.json_text)


def _short(message: str) -> str:
    return message.split("：", 1)[0][:80]


def _location(file: str, line: int, column: int, end_line: int, end_column: int) -> dict[str, Any]:
    line, column = max(line, 1), max(column, 1)
    end_line = max(end_line, line)
    end_column = max(end_column, column + 1 if end_line == line else 1)
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": PurePath(file).as_posix()},
            "region": {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column},
        }
    }
