"""The fund level of a run: `--fund`, per-chunk accumulation, the summary (docs/batch.md 基金层).

engines/fund.py knows what the fund level is and computes it; this module
connects it to the batch (tools/batch.py calls `FundRun` at three points: the
extra figures to compute, each chunk's results, the end of the run) and to the
single-case commands (`single_case`).  Sums are exact: the engine's int64 cells
at the column's scale, each split at bit 31 so neither half-sum can overflow;
Decimal for the rows the interpreter computed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from yibaolang import ir
from yibaolang.checks.resolve import Program
from yibaolang.diagnostics import Diagnostic, closest, error
from yibaolang.engines.fund import FundLevel, FundOutcome, Totals, evaluate_fund, fund_level, has_fund_level
from yibaolang.semantics.levels import FUND

SUMMARY_FORMAT = "yibaolang.batch-summary/1"
_FILE_SUFFIXES = (".yaml", ".yml", ".json")


# ------------------------------------------------------------------ --fund


def parse_fund(program: Program, values: Sequence[str]) -> tuple[dict[str, Any], list[Diagnostic]]:
    """`--fund FILE.yaml` and `--fund 名称=值` (repeatable; later ones win): the run's fund inputs, typed.

    Every problem is a diagnostic (YB491 for an option, YB492 for a file); all are returned together.
    """
    from yibaolang.engines.cases import InputInfo, check_value, load_case_file

    if not values:
        return {}, []
    level = fund_level(program) if has_fund_level(program) else None
    known = list(level.inputs) if level is not None else []
    out: dict[str, Any] = {}
    problems: list[Diagnostic] = []

    def info_of(name: str, span: ir.Span, code: str) -> InputInfo | None:
        found = level.input_named(name) if level is not None else None
        if found is None:
            if not known:
                problems.append(error(code, span, f"本政策没有基金层输入，--fund 的“{name}”用不上",
                                      f"基金层输入写作 输入 {FUND}.名称（docs/itemized.md §4）；不需要时去掉 --fund"))
                return None
            guess = closest(name if name.startswith(f"{FUND}.") else f"{FUND}.{name}", known)
            hint = f"是否想写 {guess}？" if guess else f"本政策的基金层输入有：{'、'.join(known)}"
            problems.append(error(code, span, f"未知的基金层输入“{name}”", hint))
            return None
        return InputInfo(found.name, found.type, found.decl, found.scope)

    for text in values:
        where = ir.Span("--fund", 1, 1, 1, len(text) + 1)
        name, sep, raw = text.partition("=")
        if sep:
            name, raw = name.strip(), raw.strip()
            if not name or not raw:
                problems.append(error("YB491", where, f"--fund 应写作 名称=值，这里是“{text}”",
                                      f"例如 --fund {known[0] if known else FUND + '.参保人数'}=10000"))
                continue
            info = info_of(name, where, "YB491")
            if info is None:
                continue
            value = check_value(program, info, _plain_scalar(raw))
            if _is_problem(value):
                problems.append(error("YB491", where, f"--fund {info.name}：{value.message}", value.hint))
                continue
            out[info.name] = value
            continue
        if not text.lower().endswith(_FILE_SUFFIXES):
            problems.append(error("YB491", where, f"--fund 的“{text}”既不是 名称=值，也不是 YAML/JSON 文件",
                                  "写作 --fund 全体.参保人数=10000，或 --fund 基金.yaml"))
            continue
        if not os.path.isfile(text):
            what = "是一个文件夹" if os.path.isdir(text) else "不存在"
            problems.append(error("YB492", where, f"--fund 文件 {text} {what}", "请检查路径"))
            continue
        raw_case, diags = load_case_file(text)
        if raw_case is None or diags:
            problems.extend(_retold(d) for d in diags)
            continue
        if not raw_case.entries:
            problems.append(error("YB492", ir.Span(text, 1, 1, 1, 2), f"--fund 文件 {text} 里没有基金层输入",
                                  "每行写一个 名称: 值，例如 全体.参保人数: 10000"))
        for entry in raw_case.entries:
            info = info_of(entry.name, entry.key_span, "YB492")
            if info is None:
                continue
            value = check_value(program, info, entry.value)
            if _is_problem(value):
                problems.append(error("YB492", entry.value_span, f"基金层输入 {info.name}：{value.message}",
                                      value.hint))
                continue
            out[info.name] = value
    return out, problems


def _retold(d: Diagnostic) -> Diagnostic:
    """A case-file problem of a --fund file keeps its position and hint, under the --fund code."""
    return error("YB492", d.span, f"--fund 文件：{d.message}", d.hint)


def _is_problem(value: Any) -> bool:
    from yibaolang.semantics.values import Problem

    return isinstance(value, Problem)


def _plain_scalar(raw: str) -> Any:
    from yibaolang.engines.cases import _plain_scalar as plain

    return plain(raw)


# ------------------------------------------------------------------ the batch


class FundRun:
    """The fund level of one batch run: which extra figures to compute, and their running aggregations."""

    def __init__(self, program: Program, fund_inputs: Mapping[str, Any], date: Any = None) -> None:
        self.program = program
        self.level: FundLevel = fund_level(program)
        self.fund_inputs = dict(fund_inputs)
        self.date = date
        self.totals = Totals(self.level)
        self.offset = 0  # where the feeds start among the Runner's extras
        self.types = {}
        for site in self.level.sites:
            if site.item is not None and site.item_type is not None:
                self.types[site.item] = site.item_type
            for name, fig in site.reads:
                self.types[name] = fig.type

    @property
    def feeds(self) -> list[str]:
        return self.level.feeds

    def add(self, out: Any) -> None:
        """One chunk's results (tools/batch.py ChunkOut): every aggregation, exactly."""
        import numpy as np

        n = out.n
        if n == 0:
            return
        failed = np.asarray(out.error_rows, dtype=bool)
        self.totals.rows += n
        self.totals.excluded += int(failed.sum())
        columns = {name: out.extras[self.offset + k] for k, name in enumerate(self.feeds)}
        for site in self.level.sites:
            kind = site.node.kind
            if site.filter is not None:
                self._add_filtered(site, columns, failed, n)
            elif kind is ir.AggregateKind.COUNT:
                self.totals.add_count(site.key, n - int(failed.sum()))
            elif site.item is not None:
                vec, fallback = columns[site.item]
                if kind is ir.AggregateKind.SUM:
                    self._add_sum(site.key, site.item, vec, fallback, failed)
                else:
                    self._add_extreme(site.key, site.item, vec, fallback, failed, kind is ir.AggregateKind.MAX)

    def _add_sum(self, key: str, name: str, vec: Any, fallback: dict[int, Any], failed: Any) -> None:
        import numpy as np

        from yibaolang.engines.vector import to_decimal
        from yibaolang.ir.types import DURATIONS

        n = len(failed)
        engine_rows = ~failed
        if fallback:
            engine_rows[list(fallback)] = False
        total: Any = 0
        if engine_rows.any():
            data = np.broadcast_to(np.asarray(vec.data, dtype=np.int64), (n,))[engine_rows]
            # Exact in int64: each value split at bit 31, the two halves summed apart (neither sum can overflow).
            high = int(np.sum(data >> 31, dtype=np.int64))
            low = int(np.sum(data & 0x7FFFFFFF, dtype=np.int64))
            total = to_decimal(high * (1 << 31) + low, vec.scale)
            if self.types[name].kind in DURATIONS:
                total = int(total)
        for row, value in fallback.items():
            if not failed[row] and value is not None:
                total += value
        self.totals.add_sum(key, total, int((~failed).sum()))

    def _add_extreme(self, key: str, name: str, vec: Any, fallback: dict[int, Any], failed: Any,
                     larger: bool) -> None:
        import numpy as np

        from yibaolang.engines.vector import to_decimal
        from yibaolang.ir.types import DURATIONS

        n = len(failed)
        engine_rows = ~failed
        if fallback:
            engine_rows[list(fallback)] = False
        best: Any = None
        if engine_rows.any():
            data = np.broadcast_to(np.asarray(vec.data, dtype=np.int64), (n,))[engine_rows]
            raw = int(data.max() if larger else data.min())
            best = to_decimal(raw, vec.scale)
            if self.types[name].kind in DURATIONS:
                best = int(best)
        for row, value in fallback.items():
            if failed[row] or value is None:
                continue
            if best is None or (value > best if larger else value < best):
                best = value
        self.totals.add_extreme(key, best, int((~failed).sum()), larger)

    def _add_filtered(self, site: Any, columns: Mapping[str, Any], failed: Any, n: int) -> None:
        """A 其中 filter reads several claim figures: it is evaluated claim by claim, by the interpreter."""
        from yibaolang.tools.columns import python_value

        names = [name for name, _ in site.reads]
        if site.item is not None:
            names.append(site.item)
        names = list(dict.fromkeys(names))
        for row in range(n):
            if failed[row]:
                continue
            values: dict[str, Any] = {}
            for name in names:
                vec, fallback = columns[name]
                values[name] = fallback[row] if row in fallback else python_value(vec, self.types[name], row)
            self.totals.add_claim(site, values)

    def finish(self) -> FundOutcome:
        return evaluate_fund(self.program, self.fund_inputs, self.totals.result(), rows=self.totals.rows,
                             excluded=self.totals.excluded, date=self.date)


def start(program: Program, fund_inputs: Mapping[str, Any], date: Any = None) -> FundRun | None:
    """A FundRun when the policy has a fund level, else None (nothing extra is computed)."""
    if not has_fund_level(program):
        return None
    return FundRun(program, fund_inputs, date)


# ------------------------------------------------------------------ the summary


def summary_text(outcome: FundOutcome, program: Program | None = None) -> list[str]:
    """The fund part of the run's summary: the figures and checks, then each diagnostic (a failed check is
    its YB493, with the policy's line) — every fund check once."""
    from yibaolang.diagnostics import render_text

    lines = outcome.text(failed=False)
    for d in outcome.diagnostics:
        source = None
        if program is not None:
            source = next((s.source.original.splitlines() for s in program.modules.values() if s.path == d.span.file),
                          None)
        lines.append(render_text(d, source))
    return lines


def report(program: Program, summary: Any) -> bool:
    """The fund part of `run --cases`'s summary on stderr; True when a fund 断言/约束 failed (exit code 1)."""
    import click

    outcome: FundOutcome | None = summary.fund
    if outcome is None:
        if has_fund_level(program):
            why = summary.fund_note or "--engine dask 暂不汇总基金层"
            click.echo(f"基金层未计算：{why}", err=True)
        return False
    click.echo("\n".join(summary_text(outcome, program)), err=True)
    return any(d.is_error for d in outcome.diagnostics)  # a failed check (YB493) or a figure not computed (YB494)


def json_part(summary: Any) -> dict[str, Any] | None:
    """The `fund` member of the JSON summary: None when the policy has no fund level."""
    outcome: FundOutcome | None = getattr(summary, "fund", None)
    if outcome is not None:
        return outcome.to_json()
    note = getattr(summary, "fund_note", None)
    return {"computed": False, "note": note} if note else None


def summary_document(rows: int, errors: int, fund: FundOutcome | None, extra: Mapping[str, Any] | None = None
                     ) -> dict[str, Any]:
    """The JSON summary of `run --cases --summary FILE.json` (docs/batch.md 汇总文件)."""
    doc: dict[str, Any] = {"format": SUMMARY_FORMAT, "rows": rows, "error_rows": errors}
    if extra:
        doc.update(extra)
    doc["fund"] = fund.to_json() if fund is not None else None
    return doc


def write_summary(path: str, document: Mapping[str, Any], inputs: Iterable[str]) -> None:
    from yibaolang.files import write_text

    write_text(path, json.dumps(document, ensure_ascii=False, indent=2) + "\n", list(inputs))


# ------------------------------------------------------------------ a single case


def split_outputs(program: Program, outputs: Sequence[str], fund_given: bool
                  ) -> tuple[list[str], list[str], list[Diagnostic]]:
    """--output names of a single case: (claim figures, fund figures, YB459 for a fund figure without --fund)."""
    claim = [n for n in outputs if not n.startswith(f"{FUND}.")]
    fund = [n for n in outputs if n.startswith(f"{FUND}.")]
    problems = []
    if fund and not fund_given:
        problems.append(error(
            "YB459", ir.Span("--output", 0, 0, 0, 0),
            f"--output {fund[0]} 是基金层的数：单个案例不计算基金层",
            "基金层的数在批量运行（run --cases）中算一次；单个案例要算时用 --fund 给出基金层输入，"
            "此时“全体”就是这一个案例"))
    return claim, fund, problems


def case_fund(program: Program, case: Any, fund_inputs: Mapping[str, Any], date: Any = None) -> FundOutcome:
    """The fund level of a run of one case (`run`/`explain` with --fund): the case's feeds, then `single_case`."""
    from yibaolang.engines.evaluate import evaluate

    level = fund_level(program)
    given = {k: v for k, v in case.values.items() if level.input_named(k) is not None}
    values: dict[str, Any] = {}
    if level.feeds:
        outcome = evaluate(program, case, level.feeds, date=date)
        values = {o.name: o.value for o in outcome.outputs if o.ok}
    return single_case(program, values, {**given, **fund_inputs}, date)


def case_text(outcome: FundOutcome, program: Program | None = None) -> list[str]:
    """The fund part printed after a single case's results."""
    lines = summary_text(outcome, program)
    lines[0] = lines[0].replace(f"全部 {outcome.rows:,} 个案例", "“全体”是这一个案例")
    return lines


def single_case(program: Program, values: Mapping[str, Any], fund_inputs: Mapping[str, Any],
                date: Any = None) -> FundOutcome:
    """`run`/`explain` with --fund: the fund level of a run whose 全体 is this one case (docs/itemized.md §4).

    `values` are the case's figures by output name (at least `FundLevel.feeds`); a
    feed the case could not compute leaves the case out of the aggregations.
    """
    level = fund_level(program)
    totals = Totals(level)
    if all(values.get(name) is not None for name in level.feeds):
        totals.add_case(values)
    else:
        totals.rows, totals.excluded = 1, 1
    return evaluate_fund(program, fund_inputs, totals.result(), rows=1, excluded=totals.excluded, date=date)


__all__ = ["FundRun", "case_fund", "case_text", "json_part", "parse_fund", "report", "single_case", "split_outputs", "start", "summary_document", "summary_text", "write_summary"]
