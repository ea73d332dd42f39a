"""Claims over a year (docs/batch.md §2): `--person COL --claim-date COL` and `累计` inputs.

The batch settles every person's first claim at once, then every second
claim, …; these tests settle each person's claims one by one through the
interpreter, in date order within each 统筹年度, and require the same values
and the same errors.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy  # noqa: F401 - a test dependency
import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from yibaolang import ir
from yibaolang.checks.compiler import compile_policy
from yibaolang.engines.cases import RawCase, RawEntry, declared_inputs, validate
from yibaolang.engines.evaluate import evaluate
from yibaolang.semantics.values import to_json
from yibaolang.tools.batch import Runner, accumulators, fiscal_start, settle_claims
from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPAN = ir.Span("<理赔>", 1, 1, 1, 1)

# A yearly cap that later claims use up, a 统筹年度 from 7月1日, and an assertion some claims break.
CAPPED_PATH = ROOT / "tests" / "fixtures" / "batch" / "capped.ybl"
_CAPPED: list[Any] = []


def capped_program() -> Any:
    if not _CAPPED:
        program = compile_policy(CAPPED_PATH)
        assert not [d for d in program.diagnostics if d.is_error], program.diagnostics
        _CAPPED.append(program)
    return _CAPPED[0]


@pytest.fixture(scope="module")
def capped() -> Any:
    return capped_program()


def fiscal_year(program: Any, day: dt.date) -> int:
    month, first = fiscal_start(program)
    return day.year - ((day.month, day.day) < (month, first))


def one_by_one(program: Any, rows: list[dict[str, Any]], person: str, claim_date: str,
               outputs: list[str]) -> list[dict[str, Any]]:
    """Each person's claims settled in order through the interpreter, feeding the running totals."""
    accs = accumulators(program)
    known = declared_inputs(program)
    keys = []
    for i, row in enumerate(rows):
        try:
            day = dt.date.fromisoformat(row[claim_date])
        except (TypeError, ValueError):
            day = None
        group = (row[person], fiscal_year(program, day)) if day is not None and row[person] else ("单独", i)
        keys.append((group, day or dt.date.min, i))
    totals: dict[Any, dict[str, Any]] = {}
    results: list[dict[str, Any]] = [{} for _ in rows]
    for group, day, i in sorted(keys, key=lambda k: (str(k[0]), k[1], k[2])):
        row = rows[i]
        entries = [RawEntry(k, v, SPAN, SPAN) for k, v in row.items()
                   if k in known and k not in {a.input for a in accs} and v not in (None, "")]
        case, problems = validate(program, RawCase("<理赔>", entries))
        if problems:
            results[i] = {"problems": True}
            continue
        running = totals.setdefault(group, {a.input: Decimal(0) for a in accs})
        case.values.update(running)
        case.date = day if day != dt.date.min else None
        outcome = evaluate(program, case, outputs + [a.figure for a in accs])
        values = {o.name: to_json(o.type, o.value) if o.ok else None for o in outcome.outputs[: len(outputs)]}
        values["错误"] = "；".join(d.message for d in outcome.diagnostics if d.is_error)
        if outcome.ok:
            for acc, out in zip(accs, outcome.outputs[len(outputs):], strict=True):
                running[acc.input] += out.value
        results[i] = values
    return results


def batch_settle(program: Any, rows: list[dict[str, Any]]) -> Any:
    names = list(dict.fromkeys(k for row in rows for k in row))
    table = pa.table({n: pa.array([row.get(n) for row in rows], pa.string()) for n in names})
    accs = accumulators(program)
    runner = Runner(program, extras=[a.figure for a in accs], strict=True)
    return runner, settle_claims(runner, table, "人员", "理赔日期")


def compare(program: Any, rows: list[dict[str, Any]]) -> Any:
    runner, out = batch_settle(program, rows)
    want = one_by_one(program, rows, "人员", "理赔日期", runner.outputs)
    columns = {name: out.columns[name].to_pylist() for name in runner.outputs}
    errors = out.errors.to_pylist()
    assert out.n == len(rows)
    for i, expected in enumerate(want):
        if expected.get("problems"):
            assert errors[i]  # a bad cell: the row says so
            continue
        got = {name: _json(columns[name][i]) for name in runner.outputs}
        assert got == {k: v for k, v in expected.items() if k != "错误"}, f"row {i}: {rows[i]}"
        alone = _alone(rows[i])
        note = "本次理赔有错误，未计入"
        want_errors = "；".join(t for t in (alone, expected["错误"]) if t)
        assert errors[i].split("；" + note)[0].split(note)[0] == want_errors, f"row {i}"
        # A failed claim adds nothing to the running totals, and its row says so.
        assert (note in errors[i]) == bool(expected["错误"] and not alone)
    return out


def _alone(row: dict[str, Any]) -> str:
    """Why a claim is settled on its own (no person, no readable claim date), as its row says."""
    if row["理赔日期"]:
        try:
            dt.date.fromisoformat(row["理赔日期"])
        except ValueError:
            return f"列“理赔日期”：日期不存在：{row['理赔日期']}"
    if not row["人员"]:
        return "列“人员”为空：这笔理赔单独结算，不与其他理赔累计"
    if not row["理赔日期"]:
        return "列“理赔日期”为空：这笔理赔单独结算，不与其他理赔累计"
    return ""



def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


claim = st.fixed_dictionaries({
    "人员": st.sampled_from(["甲", "乙", "丙", "丁", ""]),
    "理赔日期": st.one_of(st.dates(dt.date(2021, 1, 1), dt.date(2023, 12, 31)).map(dt.date.isoformat),
                        st.sampled_from(["2022-06-30", "2022-07-01", "2022-07-01", "2023-02-30", ""])),
    "费用": st.one_of(st.integers(0, 2_000_000).map(lambda c: str(Decimal(c) / 100)),
                    st.sampled_from(["6000", "12500", "60万元", "abc"])),
})


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(claim, min_size=1, max_size=30))
def test_batch_equals_settling_one_by_one(rows: list[dict[str, Any]]) -> None:
    compare(capped_program(), rows)


def test_the_cap_is_used_up_in_date_order_and_the_year_starts_in_july(capped: Any) -> None:
    rows = [
        {"人员": "甲", "理赔日期": "2022-08-01", "费用": "10000"},   # second in the year from 2022-07-01
        {"人员": "甲", "理赔日期": "2022-07-01", "费用": "10000"},   # first: pays 8000
        {"人员": "甲", "理赔日期": "2022-06-30", "费用": "10000"},   # the year before: pays 8000
        {"人员": "甲", "理赔日期": "2022-07-01", "费用": "1000"},    # same day as row 2: after it (file order)
        {"人员": "乙", "理赔日期": "2022-08-01", "费用": "10000"},   # another person
        {"人员": "甲", "理赔日期": "2022-09-01", "费用": "60万元"},  # breaks the assertion: adds nothing
        {"人员": "甲", "理赔日期": "2022-10-01", "费用": "10000"},
    ]
    out = compare(capped, rows)
    paid = [_json(v) for v in out.columns["支付"].to_pylist()]
    assert paid == ["1200.00", "8000.00", "8000.00", "800.00", "8000.00", "0.00", "0.00"]
    counts = out.columns["第几次"].to_pylist()
    assert counts == ["3", "1", "1", "2", "1", "4", "4"]
    errors = out.errors.to_pylist()
    assert errors[5] == "断言不成立（条款 一）：单次费用不超过50万元；本次理赔有错误，未计入 年度已支付、住院次数 的累计"


@pytest.mark.parametrize("policy", ["policies/huangshi_2010.ybl", "policies/shanxi_2017.ybl"])
def test_seed_policies_with_running_totals(policy: str) -> None:
    program = compile_policy(ROOT / policy)
    rng = random.Random(11)
    rows = []
    for i in range(240):
        row = {"人员": f"P{rng.randrange(30)}",
               "理赔日期": (dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(0, 730))).isoformat(),
               "人员状态": rng.choice(["在职", "退休"]), "医院等级": rng.choice(["三级", "二级", "其他"]),
               "住院政策范围内费用": str(Decimal(rng.randrange(0, 9_000_000)) / 100), "起付标准": "800",
               "主要病种报销限额": "3000", "原住院起付标准": "1000", "住院报销比例": "70%",
               "住院次序": str(rng.randrange(1, 4)), "参保人数": "100"}
        if i % 37 == 5:
            row["住院政策范围内费用"] = "abc"
        rows.append(row)
    out = compare(program, rows)
    assert out.vector_rows >= 200  # the engine settles them, rank by rank


def test_the_command_line(tmp_path: Path, capped: Any) -> None:
    path = Path(capped.root.path)
    cases = tmp_path / "claims.csv"
    cases.write_text("人员,理赔日期,费用,年度已支付\n甲,2022-08-01,10000,999\n甲,2022-07-15,10000,999\n",
                     encoding="utf-8")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["run", str(path), "--cases", str(cases), "-o", str(out),
                                       "--person", "人员", "--claim-date", "理赔日期", "--keep-inputs"])
    assert result.exit_code == 0, result.output
    assert "年度已支付 由此前理赔的结果累计得出" in result.output
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith("2000.00,") and lines[2].startswith("8000.00,")
    result = CliRunner().invoke(main, ["run", str(path), "--cases", str(cases), "-o", str(out), "--person", "人员"])
    assert result.exit_code == 2
