"""The caseworker's workbench (docs/serve.md, "经办工作台"): server-rendered pages, no build step, no script needed.

`/` lists the policies; `/p/{id}` is a form generated from the policy's
inputs.  Submitting it (an ordinary form POST) shows the explanation beside the
form; the what-if row changes one input and lists what changes.  The printed
page drops the controls and keeps the case and the explanation.

Each input becomes a `Field` chosen by `field_for` from its kind; the form
reading (`case_from_form`) goes through the same table.  A 列表 input (the 明细
lines of an itemized bill, docs/itemized.md) is a `records` field: an editable
table whose columns are the line fields, each cell named `明细·行号·字段`; rows
left empty are not lines, and every submission shows two more empty rows, so
lines are added without a script.  Fund-level inputs (全体.…) are given once
per batch run, not per case, and have no control.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import attrs
import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from yibaolang.api import CaseError, InputSpec, Policy
from yibaolang.diagnostics import Diagnostic, to_json_obj
from yibaolang.tools.serve.registry import policy_detail, policy_summary

TEMPLATES = Path(__file__).parent / "templates"
DATE_FIELD = "计算日期"
WHAT_IF_NAME = "假设·输入"
WHAT_IF_VALUE = "假设·值"
WHAT_IF_UNIT = "假设·单位"
UNIT_SUFFIX = "·单位"
ROW_SEPARATOR = "·"  # 明细·3·单价: row 3 (from 1) of the 明细 table, its 单价 cell
EMPTY_ROWS = 2  # empty rows shown below the lines typed so far
FIRST_ROWS = 3
MAX_ROWS = 500  # a bill typed by hand; longer bills come by file or the API

# The units a caseworker may type a figure in, by kind (the first is the declared unit).
UNIT_CHOICES: dict[str, tuple[str, ...]] = {
    "金额": ("元", "万元"),
    "比例": ("%",),
    "年数": ("年",),
    "月数": ("个月",),
    "日数": ("天",),
}


@attrs.frozen(slots=True)
class Field:
    """One control of the form."""

    name: str
    widget: str                 # select | money | number | date | text (| records, for 明细 lines)
    label: str
    spec: InputSpec
    options: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    columns: tuple[Field, ...] = ()  # a records field: one per line field

    def cell(self, row: int, column: Field) -> Field:
        """The control of one cell of a records field: the column's widget under the cell's name."""
        return attrs.evolve(column, name=ROW_SEPARATOR.join((self.name, str(row), column.name)))

    def rows(self, form: dict[str, str]) -> int:
        """How many rows the table shows: the last row typed in, then EMPTY_ROWS empty ones."""
        last = 0
        prefix = self.name + ROW_SEPARATOR
        for key, value in form.items():
            if key.startswith(prefix) and value.strip() and not key.endswith(UNIT_SUFFIX):
                number = key[len(prefix):].split(ROW_SEPARATOR, 1)[0]
                if number.isdigit():
                    last = max(last, min(int(number), MAX_ROWS))
        return max(FIRST_ROWS, min(last + EMPTY_ROWS, MAX_ROWS))


def field_for(spec: InputSpec) -> Field:
    match spec.kind:
        case "列表":
            return Field(spec.name, "records", spec.name, spec, columns=tuple(field_for(f) for f in spec.fields))
        case "选项":
            return Field(spec.name, "select", spec.name, spec, tuple(spec.options or ()))
        case "是否":
            return Field(spec.name, "select", spec.name, spec, ("是", "否"))
        case "日期":
            return Field(spec.name, "date", spec.name, spec)
        case "金额" | "比例" | "年数" | "月数" | "日数":
            return Field(spec.name, "money" if spec.kind == "金额" else "number", spec.name, spec,
                         units=UNIT_CHOICES[spec.kind])
        case _:
            return Field(spec.name, "text", spec.name, spec)


def form_value(field: Field, form: dict[str, str]) -> str | None:
    """The case value a field holds ("15万元", "居民", "2025-03-01"), or None when it is left empty."""
    raw = form.get(field.name, "").strip()
    if not raw:
        return None
    if field.units and (raw[-1].isdigit() or raw[-1] == "."):  # "15万元" typed in full keeps its own unit
        unit = form.get(field.name + UNIT_SUFFIX, field.units[0])
        return raw + (unit if unit in field.units else field.units[0])
    return raw


def case_from_form(fields: list[Field], form: dict[str, str]) -> dict[str, Any]:
    case: dict[str, Any] = {}
    for field in fields:
        if field.widget == "records":
            case[field.name] = lines_from_form(field, form)
            continue
        value = form_value(field, form)
        if value is not None:
            case[field.name] = value
    return case


def lines_from_form(field: Field, form: dict[str, str]) -> list[dict[str, Any]]:
    """The lines typed in a records table, in row order; a row with every cell empty is not a line."""
    lines = []
    for row in range(1, field.rows(form) + 1):
        line = {}
        for column in field.columns:
            value = form_value(field.cell(row, column), form)
            if value is not None:
                line[column.name] = value
        if line:
            lines.append(line)
    return lines


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    return env


def render_page(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


@attrs.define
class Result:
    """What the right-hand side of the page shows after a submission."""

    doc: dict[str, Any] | None = None         # yibaolang.explain/1
    diagnostics: list[dict[str, Any]] = attrs.Factory(list)
    decision_id: str | None = None


def _problems(diagnostics: list[Diagnostic]) -> list[dict[str, Any]]:
    return [to_json_obj(d) for d in diagnostics]


def evaluate_form(service: Any, entry: Any, policy: Policy, fields: list[Field], form: dict[str, str]) -> Result:
    from yibaolang.outputs.render.jsonfmt import explain_document
    from yibaolang.semantics.values import parse_date_text
    from yibaolang.tools.serve.decisions import Decision, new_id
    from yibaolang.tools.serve.requests import CaseRequest

    values = case_from_form(fields, form)
    raw_date = form.get(DATE_FIELD, "").strip()
    date: dt.date | None = parse_date_text(raw_date) if raw_date else None
    if raw_date and date is None:
        return Result(diagnostics=[{"code": "YB405", "message": f"计算日期不是有效的日期：{raw_date[:40]}",
                                    "hint": "写作 YYYY-MM-DD", "file": "表单", "line": None}])
    what_if = None
    name = form.get(WHAT_IF_NAME, "").strip()
    if name:
        target = next((f for f in fields if f.name == name), None)
        if target is not None:
            shown = {target.name: form.get(WHAT_IF_VALUE, ""), target.name + UNIT_SUFFIX: form.get(WHAT_IF_UNIT, "")}
            assumed = form_value(target, shown)
            if assumed is not None:
                what_if = {target.name: assumed}
    try:
        case = policy.case(values)
        exp, base = policy.explained(case, date=date, what_if=what_if)
    except CaseError as exc:
        return Result(diagnostics=_problems(exc.diagnostics))
    errors = [d for d in [*base.diagnostics, *exp.diagnostics] if d.is_error]
    doc = explain_document(exp)
    if errors:
        return Result(doc, _problems(errors))
    decision = Decision(entry, policy, case, base, CaseRequest(values, date, None), new_id())
    service.record(decision, "workbench")
    return Result(doc, [], decision.decision_id)


def routes(handler: Callable[[Callable[[Any, Request], Awaitable[Response]]], Any]) -> list[Route]:
    @handler
    async def index(service: Any, request: Request) -> Response:
        return HTMLResponse(render_page("index.html", policies=[policy_summary(e) for e in service.registry]))

    @handler
    async def page(service: Any, request: Request) -> Response:
        entry = service.entry(request.path_params["id"])
        detail = policy_detail(entry)
        policy = entry.policy
        fields = [field_for(spec) for spec in policy.inputs() if not spec.name.startswith("全体.")] \
            if policy is not None else []
        form: dict[str, str] = {}
        result = None
        if request.method == "POST" and policy is not None:
            body = await service.raw_body(request)
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            result = await service.bounded(lambda: evaluate_form(service, entry, policy, fields, form))
        html = render_page("policy.html", policy=detail, fields=fields, form=form, result=result,
                           date_field=DATE_FIELD, what_if=(WHAT_IF_NAME, WHAT_IF_VALUE, WHAT_IF_UNIT),
                           unit_suffix=UNIT_SUFFIX)
        return HTMLResponse(html)

    return [Route("/", index, methods=["GET"]), Route("/p/{id:path}", page, methods=["GET", "POST"])]
