"""The Python API (docs/api.md): load a policy, run a case, explain it, batch a table.

These are the objects the command line (`yibaolang run`, `explain`) and the
service (`yibaolang serve`, docs/serve.md) use: `run_document` is the
`yibaolang.run/1` document `yibaolang run --format json` prints, `explain` the
explanation `yibaolang explain` renders, and a case given as a mapping is checked
exactly like a JSON case file.

>>> policy = load("examples/tianjin_daibing.ybl")
>>> doc = policy.run({"大病个人负担": "15万元", "参保类别": "居民", "个人应缴费额": "350元", "计算日期": "2017-03-01"})
>>> doc["outputs"]["大病保险报销"]["value"]
'70000.00'
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from yibaolang.checks.resolve import Program
from yibaolang.diagnostics import Diagnostic, has_errors, to_json_obj
from yibaolang.engines.outcome import CaseInput, Outcome
from yibaolang.ir import Span
from yibaolang.ir.types import Kind, Type
from yibaolang.outputs.render import Explanation, WhatIf
from yibaolang.semantics.values import display, to_json

RUN_SCHEMA = "yibaolang.run/1"
ERROR_SCHEMA = "yibaolang.error/1"
EXPLAIN_FORMATS = ("json", "html", "markdown", "text")
# Where a case given as a mapping is "written": diagnostics about its values name this file.
CASE_FILE = "案例.json"
UNITS = {Kind.MONEY: "元", Kind.RATIO: "%", Kind.YEARS: "年", Kind.MONTHS: "个月", Kind.DAYS: "天"}


class PolicyError(Exception):
    """A policy with errors: it cannot be evaluated.  `diagnostics` says why (in Chinese)."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__("；".join(d.message for d in self.diagnostics[:3]) or "政策有错误")


class CaseError(Exception):
    """A case the policy rejects (unknown input, wrong unit, missing input, broken 断言)."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__("；".join(d.message for d in self.diagnostics[:3]) or "案例有错误")

    def document(self) -> dict[str, Any]:
        """The `yibaolang.error/1` document (docs/serve.md)."""
        return {"schema": ERROR_SCHEMA, "diagnostics": [to_json_obj(d) for d in self.diagnostics]}


# ------------------------------------------------------------------ shared with the command line


def run_document(program: Program, outcome: Outcome) -> dict[str, Any]:
    """The `yibaolang.run/1` document of one evaluated case (docs/cli.md, yibaolang run --format json)."""
    doc: dict[str, Any] = {
        "schema": RUN_SCHEMA,
        "policy": program.root.path,
        "date": outcome.date.isoformat() if outcome.date is not None else None,
        "outputs": {
            out.name: {"type": out.type.name, "value": to_json(out.type, out.value),
                       "display": display(out.type, out.value)}
            for out in outcome.outputs if out.ok
        },
    }
    if outcome.diagnostics:
        doc["diagnostics"] = [to_json_obj(d) for d in outcome.diagnostics]
    return doc


def what_if_outcomes(program: Program, case: CaseInput, names: list[str] | None, date: dt.date | None,
                     changes: Sequence[tuple[str, Any]]) -> tuple[Outcome, WhatIf, CaseInput, Outcome]:
    """The case evaluated with `changes` (input → value assumed; `计算日期` moves the date), compared with the case.

    Returns the traced outcome of the changed case, the comparison, the changed case and the case's own outcome."""
    from yibaolang.engines.cases import DATE_KEY, declared_inputs
    from yibaolang.engines.evaluate import evaluate
    from yibaolang.outputs.render import compare

    changed = CaseInput(dict(case.values), case.date, case.date_source, case.file)
    assignments = []
    inputs = declared_inputs(program)
    for name, value in changes:
        if name == DATE_KEY:
            changed.date, changed.date_source = value, "假设的 计算日期"
            continue
        assignments.append((name, inputs[name].type, case.values.get(name), value))
        changed.values[name] = value
    base = evaluate(program, case, names, date=date, details=True)
    outcome = evaluate(program, changed, names, trace=True, date=date)
    return outcome, compare(base, outcome, assignments), changed, base


def version_of(program: Program) -> str:
    """The content hash of a policy, its imports and its data tables: the same files give the same version."""
    digest = hashlib.sha256()
    scopes = [program.root, *sorted((s for s in program.modules.values() if s is not program.root),
                                    key=lambda s: s.path)]
    for scope in scopes:
        data = scope.source.original.encode("utf-8", "surrogatepass")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def raw_case(values: Mapping[str, Any], date: dt.date | str | None = None) -> tuple[Any, list[Diagnostic]]:
    """A case mapping as the JSON case file reader would hold it (`engines.cases.RawCase`), with its problems.

    The checks are the reader's own (names, lengths, control characters, digits); a binary float is refused
    as `parse_value` refuses it.  Entry n is "written" on line n + 1 of 案例.json, as in a file of one
    input a line."""
    from yibaolang.engines.cases import DATE_KEY, RawCase, RawEntry, entry_problem

    items = [*values.items(), *([(DATE_KEY, date.isoformat() if isinstance(date, dt.date) else date)]
                                if date is not None else [])]
    entries: list[Any] = []
    problems: list[Diagnostic] = []
    for line, (key, value) in enumerate(items, 2):
        name = str(key)
        span = Span(CASE_FILE, line, 3, line, 3 + min(len(name), 80) + 2)
        problem = entry_problem(name, value, span)
        if problem is not None:
            problems.append(problem)
            continue
        entries.append(RawEntry(name, value, span, span))
    return RawCase(CASE_FILE, entries), problems


# ------------------------------------------------------------------ the policy object


@attrs.frozen(slots=True)
class InputSpec:
    """One declared input, as a form or a schema shows it."""

    name: str
    type: str
    kind: str          # 金额 比例 数 年数 月数 日数 日期 是否 选项
    unit: str | None
    low: Any           # JSON encodings (docs/cli.md), None when unbounded
    high: Any
    default: Any
    options: tuple[str, ...] | None
    description: str | None
    required: bool     # no 默认: a case that needs it must give it
    accumulates: str | None
    range_display: str | None = None  # "0.00元 至 100,000,000.00元"
    # The line fields of a 列表 input (docs/itemized.md §2), each described the same way.
    fields: tuple[InputSpec, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "kind": self.kind, "unit": self.unit,
                "range": None if self.low is None and self.high is None else {"low": self.low, "high": self.high},
                "default": self.default, "options": list(self.options) if self.options is not None else None,
                "description": self.description, "required": self.required, "accumulates": self.accumulates,
                "range_display": self.range_display, "fields": [f.as_json() for f in self.fields]}


@attrs.define(eq=False)
class Policy:
    """A checked policy, ready to evaluate cases.  Build it with `load`."""

    path: str
    program: Program
    version: str
    diagnostics: list[Diagnostic]
    _types: dict[str, Type] | None = attrs.field(default=None, init=False, repr=False)

    def input_types(self) -> dict[str, Type]:
        """Each declared input's type, by name."""
        if self._types is None:
            from yibaolang.engines.cases import declared_inputs

            self._types = {name: info.type for name, info in declared_inputs(self.program).items()}
        return self._types

    @property
    def name(self) -> str | None:
        header = self.program.root.module.header
        return header.name if header is not None else None

    @property
    def doc_number(self) -> str | None:
        header = self.program.root.module.header
        return header.doc_number if header is not None else None

    def inputs(self) -> list[InputSpec]:
        from yibaolang.engines.cases import declared_inputs
        from yibaolang.engines.evaluate import evaluator_for

        evaluator = evaluator_for(self.program, False)
        out = []
        for info in declared_inputs(self.program).values():
            if info.decl.scope == "全体":
                continue  # a fund input is given once per batch run, never with a case (docs/itemized.md §4)
            out.append(self._spec(evaluator, info, info.decl, info.type, info.name))
        return out

    def _spec(self, evaluator: Any, info: Any, decl: Any, type_: Type, name: str) -> InputSpec:
        """One input (or one field of a 列表 input's lines) as a form or a schema shows it."""
        from yibaolang.semantics.levels import qualified

        types = self.program.types

        def value(expr: Any, info: Any = info) -> Any:
            if expr is None:
                return None
            try:
                return evaluator.constant(info.scope, expr)
            except Exception:  # a bound that reads an input: the interpreter checks it per case
                return None

        def constant(expr: Any, type_: Type = type_) -> Any:
            found = value(expr)
            return to_json(type_, found) if found is not None else None

        low, high = value(decl.range_low), value(decl.range_high)
        shown = f"{display(type_, low)} 至 {display(type_, high)}" if low is not None and high is not None else None

        keys = [(f, (info.scope.path, qualified(name, f.name))) for f in getattr(decl, "fields", ())]
        fields = tuple(self._spec(evaluator, info, f, types[key], f.name) for f, key in keys if key in types)
        accumulates = getattr(decl, "accumulates", None)
        return InputSpec(
            name=name, type=type_.name, kind=type_.kind.value, unit=UNITS.get(type_.kind),
            low=constant(decl.range_low), high=constant(decl.range_high), default=constant(decl.default),
            options=tuple(type_.enum.values) if type_.kind is Kind.ENUM and type_.enum is not None else None,
            description=decl.description, required=decl.default is None,
            accumulates=accumulates.display if accumulates is not None else None,
            range_display=shown, fields=fields)

    def outputs(self) -> list[dict[str, Any]]:
        from yibaolang.engines.evaluate import evaluator_for

        evaluator = evaluator_for(self.program, False)
        out = []
        for name in evaluator.default_outputs():
            figure = evaluator.output(name)
            type_name = getattr(getattr(figure, "type", None), "name", None)
            out.append({"name": name, "type": type_name})
        return out

    def clauses(self) -> list[dict[str, Any]]:
        return [{"id": c.id, "title": c.title, "原文": c.text} for c in self.program.root.module.clauses]

    def summary(self) -> dict[str, Any]:
        header = self.program.root.module.header
        return {"name": self.name, "version": self.version, "文号": self.doc_number,
                "发布机关": header.issuer if header is not None else None,
                "状态": header.status if header is not None else None,
                "施行": header.effective.isoformat() if header is not None and header.effective else None}

    # -- cases

    def case(self, values: Mapping[str, Any], date: dt.date | str | None = None) -> CaseInput:
        """A case from a mapping of input names to values, checked like a case file; CaseError if it is not valid.

        Values are what a case file holds: "15万元", Decimal("150000"), 150000 (in the declared unit),
        "居民", True, "2025-03-01"."""
        from yibaolang.engines.cases import validate

        raw, problems = raw_case(values, date)
        if problems:
            raise CaseError(problems)
        case, problems = validate(self.program, raw)
        if problems:
            raise CaseError(problems)
        return case

    def evaluate(self, case: CaseInput | Mapping[str, Any], *, date: dt.date | None = None,
                 outputs: Sequence[str] | None = None, trace: bool = False) -> Outcome:
        """The Outcome of one case (`yibaolang.engines.outcome`), errors included."""
        from yibaolang.engines.evaluate import evaluate

        checked = case if isinstance(case, CaseInput) else self.case(case)
        return evaluate(self.program, checked, list(outputs) if outputs else None, trace=trace, date=date)

    def run(self, case: CaseInput | Mapping[str, Any], *, date: dt.date | None = None,
            outputs: Sequence[str] | None = None, strict: bool = True) -> dict[str, Any]:
        """The `yibaolang.run/1` document of `yibaolang run --format json`.

        With `strict` (the default) an evaluation error (a missing input, a broken 断言) raises CaseError."""
        outcome = self.evaluate(case, date=date, outputs=outputs)
        if strict and not outcome.ok:
            raise CaseError([d for d in outcome.diagnostics if d.is_error])
        return run_document(self.program, outcome)

    def explanation(self, case: CaseInput | Mapping[str, Any], *, date: dt.date | None = None,
                    outputs: Sequence[str] | None = None, what_if: Mapping[str, Any] | None = None,
                    charts: bool = False) -> Explanation:
        """The explanation `yibaolang explain` renders (with `--what-if` for each entry of `what_if`)."""
        return self.explained(case, date=date, outputs=outputs, what_if=what_if, charts=charts)[0]

    def explained(self, case: CaseInput | Mapping[str, Any], *, date: dt.date | None = None,
                  outputs: Sequence[str] | None = None, what_if: Mapping[str, Any] | None = None,
                  charts: bool = False) -> tuple[Explanation, Outcome]:
        """The explanation and the Outcome of the case itself (not of the what-if case)."""
        from yibaolang.outputs.render import explanation

        checked = case if isinstance(case, CaseInput) else self.case(case)
        names = list(outputs) if outputs else None
        shown = checked
        comparison = None
        if what_if:
            changes = self.case(what_if)
            pairs: list[tuple[str, Any]] = list(changes.values.items())
            if changes.date is not None:
                pairs.append(("计算日期", changes.date))
            outcome, comparison, shown, base = what_if_outcomes(self.program, checked, names, date, pairs)
        else:
            outcome = base = self.evaluate(checked, date=date, outputs=names, trace=True)
        drawn = {}
        if charts:
            from yibaolang.analysis.function import band_charts

            drawn = band_charts(self.program, dict(shown.values), outcome.date)
        return explanation(self.program, outcome, comparison, drawn), base

    def explain(self, case: CaseInput | Mapping[str, Any], *, format: str = "json", date: dt.date | None = None,
                outputs: Sequence[str] | None = None, what_if: Mapping[str, Any] | None = None) -> Any:
        """`yibaolang explain --format FORMAT`: a dict (`yibaolang.explain/1`) for json, else the rendered text."""
        from yibaolang.outputs.render import render
        from yibaolang.outputs.render.jsonfmt import explain_document

        if format not in EXPLAIN_FORMATS:
            raise ValueError(f"不支持的格式 {format}（可选：{'、'.join(EXPLAIN_FORMATS)}）")
        exp = self.explanation(case, date=date, outputs=outputs, what_if=what_if, charts=format == "html")
        if format == "json":
            return explain_document(exp)
        return render(exp, format)

    def batch(self, cases: str | Path, out: str | Path, *, outputs: Sequence[str] = (), date: dt.date | None = None,
              keep_inputs: bool = False, person: str | None = None, claim_date: str | None = None,
              chunk_size: int = 262_144) -> Any:
        """`yibaolang run --cases CASES -o OUT` (docs/batch.md): a CSV, JSON Lines or Parquet table in, one out.

        Returns the summary (`rows`, `errors`); needs the batch extra (numpy, pyarrow)."""
        from yibaolang.tools.batch import Options, _NoProgress, execute

        options = Options(self.path, str(cases), str(out), tuple(outputs), date, keep_inputs, person, claim_date,
                          "numpy", chunk_size, None)
        return execute(self.program, options, progress=_NoProgress())


def load(path: str | Path, *, lint: bool = False) -> Policy:
    """Read and check a policy file (with its imports); PolicyError when it has errors.

    `lint` also runs the consistency checks of `yibaolang check` (their findings are in `.diagnostics`)."""
    from yibaolang.checks.compiler import compile_policy

    if lint:
        from yibaolang.analysis.lint import check_policy

        program = check_policy(path)
    else:
        program = compile_policy(path)
    if has_errors(program.diagnostics):
        raise PolicyError([d for d in program.diagnostics if d.is_error])
    return Policy(str(path), program, version_of(program), list(program.diagnostics))


def check_source(source: str, filename: str = "policy.ybl") -> dict[str, Any]:
    """The `yibaolang.diagnostics/1` document of `yibaolang check --format json` for policy text not on disk."""
    import tempfile

    from yibaolang.analysis.lint import check_policy

    name = Path(filename).name or "policy.ybl"
    if not name.endswith(".ybl"):
        name += ".ybl"
    with tempfile.TemporaryDirectory(prefix="yibaolang-check-") as folder:
        path = Path(folder) / name
        program = check_policy(path, {str(path): source})
        diagnostics = [to_json_obj(d) for d in program.diagnostics]
    for d in diagnostics:
        if d.get("file") and Path(str(d["file"])).name == name:
            d["file"] = filename
    return {"schema": "yibaolang.diagnostics/1", "diagnostics": diagnostics}


__all__ = [
    "CASE_FILE",
    "ERROR_SCHEMA",
    "RUN_SCHEMA",
    "CaseError",
    "InputSpec",
    "Policy",
    "PolicyError",
    "check_source",
    "load",
    "raw_case",
    "run_document",
    "version_of",
    "what_if_outcomes",
]
