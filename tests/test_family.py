"""Family pooling (家庭共济, docs/batch.md §2.1): `家庭累计` inputs and `--family COL`.

A family's members share the 家庭累计 totals within each 统筹年度; each member keeps
their own `累计` totals.  The batch settles every family's first claim at once,
then every second claim, …; these tests settle each family's claims one by one,
in date order, through the interpreter (tools/cmd_letter.person_year, the
explanation's own settlement) and require the same figures to the 分.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from yibaolang.checks.compiler import compile_policy
from yibaolang.tools.cli import main
from yibaolang.tools.cmd_letter import person_year

POLICY = Path(__file__).resolve().parent / "fixtures" / "batch" / "family.ybl"
HEADER = ["身份证号", "户号", "结算日期", "费用"]
ROWS = [
    ["A", "H1", "2024-01-05", "5000"],
    ["B", "H1", "2024-02-01", "5000"],
    ["A", "H1", "2024-03-01", "5000"],
    ["C", "H2", "2024-01-10", "9000"],
    ["C", "H2", "2024-05-10", "9000"],
    ["D", "", "2024-01-01", "20000"],
    ["A", "H1", "2025-01-02", "100"],
]


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)


def _run(tmp_path: Path, rows: list[list[str]], *extra: str) -> tuple[int, list[dict[str, str]], str]:
    cases, out = tmp_path / "理赔.csv", tmp_path / "结果.csv"
    _write(cases, rows)
    result = CliRunner().invoke(main, ["run", str(POLICY), "--cases", str(cases), "-o", str(out),
                                       "--person", "身份证号", "--claim-date", "结算日期", *extra])
    got: list[dict[str, str]] = []
    if out.exists():
        with out.open(encoding="utf-8-sig") as f:
            got = list(csv.DictReader(f))
    return result.exit_code, got, result.output


def test_family_members_share_the_family_total_and_keep_their_own(tmp_path: Path) -> None:
    code, got, output = _run(tmp_path, ROWS, "--family", "户号")
    assert code == 0, output
    # A 4000 (family 4000); B 4000 (family 8000); A again: the family has 2000 left, A 2000 of 6000;
    # C reaches the personal 6000 cap, then has 0; D has no family and is capped alone; 2025 starts afresh.
    assert [r["支付"] for r in got] == ["4000.00", "4000.00", "2000.00", "6000.00", "0.00", "6000.00", "80.00"]
    assert all(r["错误"] == "" for r in got)
    assert "户号" not in output  # the family column is not reported as an unused column


def test_a_family_total_needs_the_family_column(tmp_path: Path) -> None:
    code, got, output = _run(tmp_path, ROWS)
    assert code != 0 and not got
    assert "家庭累计" in output and "--family" in output


def test_a_person_in_two_families_is_refused(tmp_path: Path) -> None:
    rows = [*ROWS, ["A", "H2", "2024-06-01", "100"]]
    code, got, output = _run(tmp_path, rows, "--family", "户号")
    assert code != 0 and not got
    assert "同一人出现在不同的家庭中" in output and "H1" in output and "H2" in output


def test_family_needs_person(tmp_path: Path) -> None:
    cases, out = tmp_path / "理赔.csv", tmp_path / "结果.csv"
    _write(cases, ROWS)
    result = CliRunner().invoke(main, ["run", str(POLICY), "--cases", str(cases), "-o", str(out), "--family", "户号"])
    assert result.exit_code == 2 and "--person" in result.output and not out.exists()


@pytest.mark.parametrize(("seed", "most"), [(1, 3), (2, 3), (3, 8)])
def test_batch_equals_claim_by_claim_settlement(tmp_path: Path, seed: int, most: int) -> None:
    """Random families over two years: the vectorized ranks (few claims a family, so every rank is one
    vector pass) and the claim-by-claim tail (many, so the small ranks go to the interpreter) agree with
    one-by-one settlement."""
    rng = random.Random(seed)
    rows: list[list[str]] = []
    for person in range(60):
        family = f"H{person // 3}" if person % 7 else ""  # some people have no family
        for _ in range(rng.randint(0, most)):
            day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 500))
            rows.append([f"P{person}", family, day.isoformat(), str(Decimal(rng.randint(0, 900_000)) / 100)])
    rng.shuffle(rows)
    code, got, output = _run(tmp_path, rows, "--family", "户号")
    assert code == 0, output
    assert len(got) == len(rows)
    program = compile_policy(POLICY)
    dicts = [dict(zip(HEADER, r, strict=True)) for r in rows]
    expected: dict[int, str] = {}
    for person in {r[0] for r in rows}:
        claims, skipped = person_year(program, dicts, "身份证号", person, "结算日期", ("支付",), None, "户号")
        assert not skipped
        for claim in claims:
            assert not claim.problems
            expected[claim.number - 1] = dict(claim.figures)["支付"]
    assert len(expected) == len(rows)
    for i, row in enumerate(got):
        shown = expected[i].replace(",", "").removesuffix("元")
        assert row["支付"] == shown, (i, rows[i])


def test_explain_names_the_family_members_claims(tmp_path: Path) -> None:
    cases = tmp_path / "理赔.csv"
    _write(cases, ROWS)
    result = CliRunner().invoke(main, ["explain", str(POLICY), "--cases", str(cases), "--person", "A",
                                       "--family", "户号", "--claim-date", "结算日期"])
    assert result.exit_code == 0, result.output
    assert "家庭累计 家庭已支付 已计入：A 2024-01-05（第 1 条）4,000.00元；B 2024-02-01（第 2 条）4,000.00元" in result.output
    assert "累计 家庭已支付：8,000.00元 → 10,000.00元" in result.output
    assert "累计 本人已支付：4,000.00元 → 6,000.00元" in result.output
    refused = CliRunner().invoke(main, ["explain", str(POLICY), "--cases", str(cases), "--person", "A",
                                        "--claim-date", "结算日期"])
    assert refused.exit_code != 0 and "--family" in refused.output
