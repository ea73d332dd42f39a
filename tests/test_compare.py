"""`yibaolang compare OLD NEW --cases FILE`: totals, breakdowns, largest changes, the HTML report."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy  # noqa: F401 - a test dependency
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench_policy.ybl"


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("compare")
    old = folder / "old.ybl"
    new = folder / "new.ybl"
    text = BENCH.read_text(encoding="utf-8")
    old.write_text(text, encoding="utf-8")
    # The revision: 在职 at 三级 and 二级 get less; the third 大病 band widens and pays more.
    revised = text.replace("在职      90%     92%     94%", "在职      85%     90%     94%")
    revised = revised.replace("20万元 至 30万元(含) 按 70%", "20万元 至 40万元(含) 按 75%")
    assert revised != text
    new.write_text(revised, encoding="utf-8")
    cases = folder / "cases.csv"
    rows = ["人员状态,医院等级,住院政策范围内费用,起付标准"]
    import random

    rng = random.Random(4)
    for _ in range(400):
        cost = Decimal(rng.randrange(0, 60_000_000)) / 100
        rows.append(f"{rng.choice(['在职', '退休'])},{rng.choice(['三级', '二级', '其他'])},{cost},{rng.choice([500, 800])}")
    rows.append("在职,四级,1000,500")  # a bad row: counted as failed, never dropped
    cases.write_text("\n".join(rows) + "\n", encoding="utf-8")
    outs = {}
    for name, policy in (("old", old), ("new", new)):
        out = folder / f"{name}.parquet"
        cli("run", str(policy), "--cases", str(cases), "-o", str(out), "--keep-inputs")
        outs[name] = out
    return {"old": old, "new": new, "cases": cases, "old_out": outs["old"], "new_out": outs["new"], "folder": folder}


def cents(value: str) -> int:
    return int(Decimal(value) * 100)


def test_totals_and_counts_match_the_two_batch_runs(setup: dict[str, Path]) -> None:
    result = cli("compare", str(setup["old"]), str(setup["new"]), "--cases", str(setup["cases"]), "--format", "json")
    assert result.exit_code == 1, result.output  # the bad row fails in both versions; the report is still complete
    report = json.loads(result.output)
    assert report["schema"] == "yibaolang.compare/1" and report["rows"] == 401
    assert report["failed_rows"] == 1 and report["failures"]["old"]["rows"] == 1
    old_rows = pq.read_table(setup["old_out"]).to_pylist()
    new_rows = pq.read_table(setup["new_out"]).to_pylist()
    for out in report["outputs"]:
        name = out["name"]
        pairs = [(a[name], b[name]) for a, b in zip(old_rows, new_rows, strict=True) if not a["错误"] and not b["错误"]]
        assert cents(out["old_total"]) == sum(int(a * 100) for a, _ in pairs)
        assert cents(out["new_total"]) == sum(int(b * 100) for _, b in pairs)
        assert cents(out["difference"]) == cents(out["new_total"]) - cents(out["old_total"])
        assert out["gain"] == sum(1 for a, b in pairs if b > a)
        assert out["lose"] == sum(1 for a, b in pairs if b < a)
        assert out["same"] == sum(1 for a, b in pairs if b == a)
        assert out["failed"] == 1 and out["failed_both"] == 1 and out["compared"] == len(pairs) == 400
        assert out["gain"] + out["lose"] + out["same"] + out["failed"] == 401
        # The breakdown by each enumeration input adds up to the totals.
        for name_, groups in out["by"].items():
            assert name_ in ("人员状态", "医院等级")
            assert sum(cents(g["old_total"]) for g in groups) == cents(out["old_total"])
            assert sum(cents(g["new_total"]) for g in groups) == cents(out["new_total"])
    fund = next(o for o in report["outputs"] if o["name"] == "统筹基金支付")
    by_status = {g["value"]: g for g in fund["by"]["人员状态"]}
    assert cents(by_status["退休"]["difference"]) == 0 and cents(by_status["在职"]["difference"]) < 0
    assert fund["gain"] == 0 and fund["lose"] > 0


def test_largest_changes_come_with_both_explanations(setup: dict[str, Path]) -> None:
    result = cli("compare", str(setup["old"]), str(setup["new"]), "--cases", str(setup["cases"]), "--format", "json",
                 "--top", "3", "--output", "大病保险报销")
    report = json.loads(result.output)
    (out,) = report["outputs"]
    largest = out["largest"]
    assert len(largest) == 3
    differences = [abs(cents(c["difference"])) for c in largest]
    assert differences == sorted(differences, reverse=True)
    old_rows = pq.read_table(setup["old_out"]).to_pylist()
    new_rows = pq.read_table(setup["new_out"]).to_pylist()
    every = sorted((abs(int((b["大病保险报销"] - a["大病保险报销"]) * 100)) for a, b in zip(old_rows, new_rows, strict=True)
                    if not a["错误"]), reverse=True)
    assert differences == every[:3]
    first = largest[0]
    row = old_rows[first["row"] - 1]
    assert Decimal(first["old"]) == row["大病保险报销"]
    assert first["old_explanation"].startswith("大病保险报销 = ")
    assert "20万元 至 30万元（含）" in first["old_explanation"]
    assert "20万元 至 40万元（含）" in first["new_explanation"]


def test_text_report(setup: dict[str, Path]) -> None:
    result = cli("compare", str(setup["old"]), str(setup["new"]), "--cases", str(setup["cases"]), "--top", "1")
    assert result.exit_code == 1  # one bad row (四级)
    text = result.output
    assert "统筹基金支付（金额）" in text and "合计：旧 " in text and "按 医院等级：" in text
    assert re.search(r"增加 [\d,]+ 行，减少 [\d,]+ 行，不变 [\d,]+ 行，出错 1 行", text)
    assert "变化最大的行：" in text and "新政策：" in text


def test_the_html_report_is_self_contained(setup: dict[str, Path]) -> None:
    report = setup["folder"] / "report.html"
    result = cli("compare", str(setup["old"]), str(setup["new"]), "--cases", str(setup["cases"]), "-o", str(report))
    assert result.exit_code == 1 and report.exists()  # a failed row: exit 1, the report is still written
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in html
    assert "<style>" in html and "<svg" in html and "<rect" in html
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)  # no network resources
    assert "<script" not in html and "<link" not in html
    assert "每行差额的分布" in html and "变化最大的行" in html and "按 人员状态" in html


def test_policies_without_shared_outputs_are_refused(setup: dict[str, Path]) -> None:
    other = ROOT / "policies" / "huaian_2007.ybl"
    result = cli("compare", str(setup["old"]), str(other), "--cases", str(setup["cases"]))
    assert result.exit_code == 1
    assert "没有同名的 输出" in result.output
