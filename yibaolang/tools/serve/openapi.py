"""The OpenAPI 3 document of the service (GET /openapi.json; docs/serve.md).

The schemas are the documents the service really answers: `yibaolang.run/1`,
`yibaolang.explain/1`, `yibaolang.diagnostics/1`, `yibaolang.error/1`; each
loaded policy adds the schema of its own case (`Case.<id>`: its inputs, their
options and ranges) so a client generator sees real fields.
"""

from __future__ import annotations

from typing import Any

from yibaolang.api import EXPLAIN_FORMATS

NULLABLE_STRING = {"type": ["string", "null"]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


VALUE = {"description": "docs/cli.md 的编码：金额 \"70000.00\"、比例 \"0.5\"、期限为整数、日期 YYYY-MM-DD、是否为布尔值、选项为字符串",
         "type": ["string", "integer", "boolean", "null"]}
CASE_VALUE = {"description": "与案例文件相同：带单位的字符串（\"15万元\"）、声明单位下的数、选项、是否、日期；"
                             "列表输入（明细）是各行字段的映射组成的数组",
              "type": ["string", "number", "integer", "boolean", "array"],
              "items": {"type": "object", "additionalProperties": {"type": ["string", "number", "integer", "boolean"]}}}

DIAGNOSTIC = {
    "type": "object",
    "required": ["code", "severity", "message"],
    "properties": {
        "code": {"type": "string", "pattern": "^YB[0-9]{3}$"},
        "severity": {"type": "string", "enum": ["error", "warning", "info"]},
        "message": {"type": "string"}, "file": NULLABLE_STRING,
        "line": {"type": ["integer", "null"]}, "column": {"type": ["integer", "null"]},
        "end_line": {"type": ["integer", "null"]}, "end_column": {"type": ["integer", "null"]},
        "clause": NULLABLE_STRING, "hint": NULLABLE_STRING,
        "suggestions": {"type": "array", "items": {"type": "object"}},
    },
}

TRACE_NODE: dict[str, Any] = {
    "type": "object",
    "required": ["name", "value", "display", "children", "kind"],
    "properties": {
        "name": {"type": "string"}, "type": NULLABLE_STRING, "value": VALUE, "display": NULLABLE_STRING,
        "formula": NULLABLE_STRING, "expression": NULLABLE_STRING, "kind": {"type": "string"},
        "clause": {"type": ["object", "null"], "properties": {"id": {"type": "string"}, "title": NULLABLE_STRING,
                                                              "text": NULLABLE_STRING}},
        "source": {"type": ["object", "null"], "properties": {"file": {"type": "string"}, "line": {"type": "integer"}}},
        "children": {"type": "array", "items": ref("TraceNode")},
        "notes": {"type": "array", "items": {"type": "string"}},
        "see_above": {"type": "boolean"},
    },
}

SCHEMAS: dict[str, Any] = {
    "Diagnostic": DIAGNOSTIC,
    "Error": {"type": "object", "required": ["schema", "diagnostics"],
              "properties": {"schema": {"const": "yibaolang.error/1"},
                             "diagnostics": {"type": "array", "items": ref("Diagnostic"), "minItems": 1}}},
    "Diagnostics": {"type": "object", "required": ["schema", "diagnostics"],
                    "properties": {"schema": {"const": "yibaolang.diagnostics/1"},
                                   "diagnostics": {"type": "array", "items": ref("Diagnostic")}}},
    "Health": {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["ok", "loading"]}}},
    "PolicySummary": {"type": "object", "required": ["id", "version"],
                      "properties": {"id": {"type": "string"}, "name": NULLABLE_STRING,
                                     "version": {"type": ["string", "null"], "description": "政策、其引用与数据表的内容哈希"},
                                     "文号": NULLABLE_STRING, "发布机关": NULLABLE_STRING, "状态": NULLABLE_STRING,
                                     "施行": NULLABLE_STRING, "errors": {"type": "integer"},
                                     "stale": {"type": "boolean", "description": "最近一次加载有错误，仍在使用上一个正确的版本"}}},
    "PolicyList": {"type": "object", "required": ["policies"],
                   "properties": {"policies": {"type": "array", "items": ref("PolicySummary")}}},
    "Input": {"type": "object", "required": ["name", "type", "kind"],
              "properties": {"name": {"type": "string"}, "type": {"type": "string"}, "kind": {"type": "string"},
                             "unit": NULLABLE_STRING,
                             "range": {"type": ["object", "null"], "properties": {"low": VALUE, "high": VALUE}},
                             "default": VALUE, "options": {"type": ["array", "null"], "items": {"type": "string"}},
                             "description": NULLABLE_STRING, "required": {"type": "boolean"},
                             "accumulates": NULLABLE_STRING, "range_display": NULLABLE_STRING,
                             "fields": {"type": "array", "items": ref("Input"),
                                        "description": "列表输入（如 明细）每一行的字段（docs/itemized.md §2）"}}},
    "PolicyDetail": {"allOf": [ref("PolicySummary"), {
        "type": "object", "required": ["inputs", "outputs", "clauses", "diagnostics"],
        "properties": {"inputs": {"type": "array", "items": ref("Input")},
                       "outputs": {"type": "array", "items": {"type": "object", "properties": {
                           "name": {"type": "string"}, "type": NULLABLE_STRING}}},
                       "clauses": {"type": "array", "items": {"type": "object", "properties": {
                           "id": {"type": "string"}, "title": NULLABLE_STRING, "原文": NULLABLE_STRING}}},
                       "diagnostics": {"type": "array", "items": ref("Diagnostic")}}}]},
    "RunRequest": {"type": "object", "additionalProperties": False,
                   "properties": {"case": {"type": "object", "additionalProperties": CASE_VALUE},
                                  "date": {"type": "string", "format": "date", "description": "计算日期，覆盖案例中的 计算日期"},
                                  "outputs": {"type": "array", "items": {"type": "string"}}}},
    "ExplainRequest": {"type": "object", "additionalProperties": False,
                       "properties": {"case": {"type": "object", "additionalProperties": CASE_VALUE},
                                      "date": {"type": "string", "format": "date"},
                                      "outputs": {"type": "array", "items": {"type": "string"}},
                                      "format": {"enum": list(EXPLAIN_FORMATS), "default": "json"},
                                      "what_if": {"type": "object", "additionalProperties": CASE_VALUE,
                                                  "description": "假设某些输入取另一个值（与 --what-if 相同）"}}},
    "Run": {"type": "object", "required": ["schema", "policy", "date", "outputs", "version", "decision_id"],
            "properties": {"schema": {"const": "yibaolang.run/1"}, "policy": {"type": "string"},
                           "date": {"type": ["string", "null"], "format": "date"},
                           "outputs": {"type": "object", "additionalProperties": {
                               "type": "object", "required": ["type", "value", "display"],
                               "properties": {"type": {"type": "string"}, "value": VALUE,
                                              "display": {"type": "string"}}}},
                           "diagnostics": {"type": "array", "items": ref("Diagnostic")},
                           "version": {"type": "string"}, "decision_id": {"type": "string"}}},
    "TraceNode": TRACE_NODE,
    "Explain": {"type": "object",
                "required": ["schema", "policy", "date", "inputs", "outputs", "assertions", "diagnostics", "version",
                             "decision_id"],
                "properties": {"schema": {"const": "yibaolang.explain/1"}, "policy": {"type": "string"},
                               "date": {"type": ["string", "null"], "format": "date"},
                               "inputs": {"type": "object", "additionalProperties": VALUE},
                               "outputs": {"type": "array", "items": ref("TraceNode")},
                               "assertions": {"type": "array", "items": ref("TraceNode")},
                               "diagnostics": {"type": "array", "items": ref("Diagnostic")},
                               "what_if": {"type": "object"},
                               "version": {"type": "string"}, "decision_id": {"type": "string"}}},
    "CheckRequest": {"type": "object", "required": ["source"], "additionalProperties": False,
                     "properties": {"source": {"type": "string"}, "filename": {"type": "string", "default": "policy.ybl"}}},
}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": ref(schema)}}


def _errors(*statuses: int) -> dict[str, Any]:
    words = {400: "请求体不是有效的 JSON", 404: "找不到政策", 413: "请求体过大", 422: "请求或案例有误（政策拒绝这个案例）",
             503: "计算超时、决定写不进决定日志，或政策尚无可用的版本"}
    return {str(s): {"description": words[s], "content": _json("Error")} for s in statuses}


def case_schema(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """A policy's own case: one property per input."""
    properties: dict[str, Any] = {}
    for spec in inputs:
        prop: dict[str, Any] = {"description": spec.get("description") or spec["type"]}
        if spec.get("options"):
            prop["enum"] = spec["options"]
        elif spec["kind"] == "是否":
            prop["type"] = ["boolean", "string"]
        elif spec["kind"] == "日期":
            prop.update(type="string", format="date")
        else:
            prop["type"] = ["string", "number", "integer"]
        properties[spec["name"]] = prop
    required = [s["name"] for s in inputs if s.get("required")]
    return {"type": "object", "additionalProperties": False, "properties": properties, "required": required}


def document(service: Any) -> dict[str, Any]:
    from yibaolang.tools.serve.registry import policy_detail

    schemas = dict(SCHEMAS)
    ids = []
    for entry in service.registry:
        ids.append(entry.id)
        if entry.policy is not None:
            schemas[f"Case.{entry.id}"] = case_schema(policy_detail(entry)["inputs"])
    pid = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "enum": ids} if ids else
           {"type": "string"}, "description": "政策的标识：相对于所在文件夹的路径，不含 .ybl，用 / 分隔"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "yibaolang 易保语 结算与解释服务", "version": "1",
                 "description": "政策的计算、逐项解释与检查；每个回答都注明政策的版本（内容哈希）。见 docs/serve.md。"},
        "paths": {
            "/v1/health": {"get": {"summary": "服务就绪", "responses": {"200": {"description": "所有政策已加载",
                                                                           "content": _json("Health")}}}},
            "/v1/policies": {"get": {"summary": "列出政策", "responses": {
                "200": {"description": "政策列表", "content": _json("PolicyList")}}}},
            "/v1/policies/{id}": {"get": {"summary": "政策的输入、输出、条款与当前的诊断", "parameters": [pid],
                                          "responses": {"200": {"description": "政策", "content": _json("PolicyDetail")},
                                                        **_errors(404)}}},
            "/v1/policies/{id}/run": {"post": {
                "summary": "计算一个案例（与 yibaolang run --format json 相同）", "parameters": [pid],
                "requestBody": {"required": True, "content": _json("RunRequest")},
                "responses": {"200": {"description": "yibaolang.run/1", "content": _json("Run")},
                              **_errors(400, 404, 413, 422, 503)}}},
            "/v1/policies/{id}/explain": {"post": {
                "summary": "计算并逐项说明（与 yibaolang explain 相同）", "parameters": [pid],
                "requestBody": {"required": True, "content": _json("ExplainRequest")},
                "responses": {"200": {"description": "format 为 json 时是 yibaolang.explain/1；html、markdown、text 为渲染好的文本",
                                      "content": {**_json("Explain"), "text/html": {"schema": {"type": "string"}},
                                                  "text/markdown": {"schema": {"type": "string"}},
                                                  "text/plain": {"schema": {"type": "string"}}}},
                              **_errors(400, 404, 413, 422, 503)}}},
            "/v1/check": {"post": {
                "summary": "检查政策文本（与 yibaolang check --format json 相同）",
                "requestBody": {"required": True, "content": _json("CheckRequest")},
                "responses": {"200": {"description": "yibaolang.diagnostics/1", "content": _json("Diagnostics")},
                              **_errors(400, 413, 422, 503)}}},
        },
        "components": {"schemas": schemas},
    }
