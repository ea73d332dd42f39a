"""Honest accounting of `run --cases` and `compare` (docs/batch.md 出错的行与合计; YB480–YB483).

A revision of the benchmark policy widens the third 大病 band and asserts `大病保险报销 不超过 17万元`: the
new version breaks the assertion on the rows with a large 个人负担, the old one never does.  The reports must
say how many rows failed in which version and why, label the totals as covering only the comparable rows,
exit 1, and `--max-error-rate` must stop a bad run early without writing anything.
"""

from __future__ import annotations

import csv
import json
import random
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy  # noqa: F401 - a test dependency
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from yibaolang.tools.accounting import (
    MIN_ROWS,
    TITLES,
    Coded,
    Tally,
    parse_bound,
    resliced,
    shown_rate,
)
from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "bench_policy.ybl"
GOLDEN = Path(__file__).resolve().parent / "golden" / "compare"
ASSERTION = '    断言 大病保险报销 不超过 17万元 "大病保险每次最多报销17万元"\n'


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write_policies(folder: Path) -> tuple[Path, Path]:
    old, new = folder / "old.ybl", folder / "new.ybl"
    text = BENCH.read_text(encoding="utf-8")
    revised = text.replace("20万元 至 30万元(含) 按 70%\n", "20万元 至 40万元(含) 按 75%\n" + ASSERTION)
    assert revised != text
    old.write_text(text, encoding="utf-8")
    new.write_text(revised, encoding="utf-8")
    return old, new


def write_cases(path: Path, rows: int, seed: int, bad: bool = True) -> None:
    rng = random.Random(seed)
    lines = ["人员状态,医院等级,住院政策范围内费用,起付标准"]
    for _ in range(rows):
        cost = Decimal(rng.randrange(0, 60_000_000)) / 100
        lines.append(f"{rng.choice(['在职', '退休'])},{rng.choice(['三级', '二级', '其他'])},{cost},{rng.choice([500, 800])}")
    if bad:
        lines.append("在职,四级,1000,500")  # not an option: fails in both versions (YB404)
        lines.append("退休,三级,两千,500")  # not money (YB403)
        lines.append("在职,三级")  # too few cells: a row that cannot be read (YB480)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("accounting")
    old, new = write_policies(folder)
    cases = folder / "cases.csv"
    write_cases(cases, 60, seed=7)
    outs = {}
    for name, policy in (("old", old), ("new", new)):
        out = folder / f"{name}.csv"
        result = cli("run", str(policy), "--cases", str(cases), "-o", str(out))
        assert result.exit_code == 1, result.output
        outs[name] = out
    return {"folder": folder, "old": old, "new": new, "cases": cases, "old_out": outs["old"], "new_out": outs["new"]}


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- compare


def test_compare_says_which_rows_failed_in_which_version_and_why(setup: dict[str, Path]) -> None:
    result = cli("compare", str(setup["old"]), str(setup["new"]), "--cases", str(setup["cases"]), "--format", "json",
                 "--top", "0")
    assert result.exit_code == 1, result.output  # rows failed: exit 1, and the report is complete
    report = json.loads(result.output)
    old_rows, new_rows = read(setup["old_out"]), read(setup["new_out"])
    old_bad = [bool(r["错误"]) for r in old_rows]
    new_bad = [bool(r["错误"]) for r in new_rows]
    assert report["rows"] == len(old_rows) == 63
    assert report["failed_rows"] == sum(a or b for a, b in zip(old_bad, new_bad, strict=True))
    assert report["failures"]["old"]["rows"] == sum(old_bad) == 3
    assert report["failures"]["new"]["rows"] == sum(new_bad) > 3
    for out in report["outputs"]:
        assert out["failed_old_only"] == sum(a and not b for a, b in zip(old_bad, new_bad, strict=True)) == 0
        assert out["failed_new_only"] == sum(b and not a for a, b in zip(old_bad, new_bad, strict=True)) > 0
        assert out["failed_both"] == 3
        assert out["compared"] + out["failed"] == 63 and out["compared"] == out["gain"] + out["lose"] + out["same"]
        # The totals are sums over the compared rows only, exactly.
        pairs = [(a, b) for a, b, x, y in zip(old_rows, new_rows, old_bad, new_bad, strict=True) if not x and not y]
        assert len(pairs) == out["compared"]
        assert Decimal(out["old_total"]) == sum(Decimal(a[out["name"]]) for a, _ in pairs)
        assert Decimal(out["new_total"]) == sum(Decimal(b[out["name"]]) for _, b in pairs)
    groups = {(g["code"], g["where"]): g for g in report["failures"]["new"]["groups"]}
    broken = groups[("YB415", "条款 天津 二、(五)")]
    assert broken["title"] == "断言不成立"
    assert broken["rows"] == sum("大病保险每次最多报销17万元" in r["错误"] for r in new_rows)
    first = next(i for i, r in enumerate(new_rows) if "大病保险每次最多报销17万元" in r["错误"])
    assert broken["example"]["row"] == first + 1 and broken["example"]["message"] in new_rows[first]["错误"]
    old_groups = {(g["code"], g["where"]): g["rows"] for g in report["failures"]["old"]["groups"]}
    assert old_groups == {("YB404", "输入 医院等级"): 1, ("YB403", "输入 住院政策范围内费用"): 1, ("YB480", ""): 1}
    reading = next(g for g in report["failures"]["old"]["groups"] if g["code"] == "YB480")
    assert reading["example"]["row"] == 63 and "字段" in reading["example"]["message"]


def test_compare_text_report_labels_the_totals(setup: dict[str, Path], golden: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(setup["folder"])
    result = cli("compare", "old.ybl", "new.ybl", "--cases", "cases.csv", "--top", "0")
    assert result.exit_code == 1
    text = result.stdout
    compared = re.findall(r"以下合计只含两个版本都算出结果的 (\d+) 行", text)
    assert len(compared) == 3 and len(set(compared)) == 1  # one label per output
    assert "新版本出错的原因（一行有几个问题时各计一次；行号不算表头，与结果文件的行对应）：" in text and "YB415 断言不成立（条款 天津 二、(五)）" in text
    golden(GOLDEN / "assertion_breaks.txt", text)


def test_compare_without_failures_says_every_row_was_compared(setup: dict[str, Path], golden: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = setup["folder"]
    write_cases(folder / "clean.csv", 12, seed=3, bad=False)
    raised = BENCH.read_text(encoding="utf-8").replace("统筹基金最高支付限额 : 金额 = 12万元", "统筹基金最高支付限额 : 金额 = 15万元")
    (folder / "raised.ybl").write_text(raised, encoding="utf-8")
    monkeypatch.chdir(folder)
    result = cli("compare", "old.ybl", "raised.ybl", "--cases", "clean.csv", "--top", "0")
    assert result.exit_code == 0, result.output
    assert "两个版本都算出了全部 12 行。" in result.stdout and "以下合计只含" not in result.stdout
    golden(GOLDEN / "no_failures.txt", result.stdout)


def test_the_html_report_has_the_failures_and_the_label(setup: dict[str, Path]) -> None:
    report = setup["folder"] / "report.html"
    result = cli("compare", str(setup["old"]), str(setup["new"]), "--cases", str(setup["cases"]), "--top", "0",
                 "-o", str(report))
    assert result.exit_code == 1 and report.exists()
    page = report.read_text(encoding="utf-8")
    assert "<h2>出错的行</h2>" in page and "新版本出错的原因" in page and "<code>YB415</code>" in page
    assert page.count("以下合计只含两个版本都算出结果的") == 3
    assert "“四级”不是 黄石医院等级 的选项" in page


def test_compare_max_error_rate_stops_and_writes_no_report(setup: dict[str, Path]) -> None:
    folder = setup["folder"]
    big = folder / "big.csv"
    write_cases(big, 5000, seed=11)
    report = folder / "stopped.html"
    result = cli("compare", str(setup["old"]), str(setup["new"]), "--cases", str(big), "--max-error-rate", "5%",
                 "-o", str(report))
    assert result.exit_code == 1
    assert not report.exists() and result.stdout == ""
    assert "错误[YB482]" in result.stderr and f"已读 {MIN_ROWS:,} 行" in result.stderr
    assert "至少在一个版本中出错" in result.stderr and "新版本最多的是 YB415 断言不成立" in result.stderr


# ---------------------------------------------------------------- run --cases


def test_run_summary_groups_the_failures(setup: dict[str, Path]) -> None:
    out = setup["folder"] / "summary.csv"
    result = cli("run", str(setup["new"]), "--cases", str(setup["cases"]), "-o", str(out), "--format", "json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    rows = read(out)
    failed = [i for i, r in enumerate(rows) if r["错误"]]
    assert summary["schema"] == "yibaolang.batch/1"
    assert summary["rows"] == len(rows) and summary["failed"] == len(failed)
    assert summary["succeeded"] == len(rows) - len(failed)
    for group in summary["failures"]:
        row = group["example"]["row"]
        assert group["example"]["message"] in rows[row - 1]["错误"]
        assert group["title"] == TITLES[group["code"]]
    assert sum(g["rows"] for g in summary["failures"]) >= len(failed)
    for item in summary["outputs"]:
        assert item["computed"] == sum(1 for r in rows if r[item["name"]] != "")
        assert item["computed"] + item["missing"] == len(rows)
    # The same on standard error, as text.
    assert "出错的 " in result.stderr and "YB415 断言不成立（条款 天津 二、(五)）" in result.stderr
    assert re.search(r"例：第 \d+ 行：断言不成立", result.stderr)
    assert "各输出算出的行数：" in result.stderr


def test_a_run_without_failures_prints_only_the_summary_line(setup: dict[str, Path]) -> None:
    clean = setup["folder"] / "clean2.csv"
    write_cases(clean, 5, seed=5, bad=False)
    result = cli("run", str(setup["old"]), "--cases", str(clean), "-o", str(setup["folder"] / "clean2.out.csv"))
    assert result.exit_code == 0
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("共 5 行，出错 0 行")


def test_max_error_rate_stops_after_the_first_thousand_rows_and_writes_nothing(setup: dict[str, Path]) -> None:
    folder = setup["folder"]
    big = folder / "bad_big.csv"
    write_cases(big, 20_000, seed=13)
    out = folder / "bad_big.parquet"
    pq.write_table(pa.table({"旧": [1]}), out)  # an earlier result: left exactly as it was
    before = out.read_bytes()
    result = cli("run", str(setup["new"]), "--cases", str(big), "-o", str(out), "--max-error-rate", "5%")
    assert result.exit_code == 1
    assert out.read_bytes() == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".bad_big.parquet")]  # no temporary file left
    message = result.stderr
    assert "错误[YB482]" in message and "已读 1,000 行" in message and "已停止，没有写出结果" in message
    rate = re.search(r"其中 ([\d,]+) 行出错（([\d.]+)%）", message)
    assert rate is not None and Decimal(rate.group(2)) > 5
    assert shown_rate(int(rate.group(1).replace(",", "")), 1000) == rate.group(2) + "%"
    assert "最多的是 YB415 断言不成立（条款 天津 二、(五)）" in message


def test_a_bound_that_holds_lets_the_run_finish(setup: dict[str, Path]) -> None:
    folder = setup["folder"]
    big = folder / "bad_big2.csv"
    write_cases(big, 3000, seed=13)
    out = folder / "bad_big2.csv.out.csv"
    result = cli("run", str(setup["new"]), "--cases", str(big), "-o", str(out), "--max-error-rate", "0.9")
    assert result.exit_code == 1  # rows failed, within the bound: the file is complete
    assert len(read(out)) == 3003


def test_a_small_file_is_checked_at_its_end(setup: dict[str, Path]) -> None:
    # 63 rows, 3 of them fail under the old version: 4.76%.
    out = setup["folder"] / "small.csv.out.csv"
    result = cli("run", str(setup["old"]), "--cases", str(setup["cases"]), "-o", str(out), "--max-error-rate", "4%")
    assert result.exit_code == 1 and not out.exists()
    assert "已读 63 行，其中 3 行出错（4.76%）" in result.stderr
    result = cli("run", str(setup["old"]), "--cases", str(setup["cases"]), "-o", str(out), "--max-error-rate", "5%")
    assert result.exit_code == 1 and out.exists() and len(read(out)) == 63


def test_claims_by_person_account_for_claims_settled_alone(tmp_path: Path) -> None:
    policy = tmp_path / "p.ybl"
    policy.write_text(
        "政策 年度限额示例\n    施行 2020年1月1日\n\n"
        "输入 费用 : 金额 范围 0元 至 100万元\n"
        "输入 年度已支付 : 金额 默认 0元 累计 支付\n\n"
        "条款 \"一\" 年度限额\n"
        "    参数 年度限额 : 金额 = 1万元\n"
        "    定义 支付 : 金额 = 费用 × 80% 封顶 取较大(年度限额 - 年度已支付, 0元)\n\n"
        "输出 支付\n", encoding="utf-8")
    cases = tmp_path / "claims.csv"
    cases.write_text("身份证号,结算日期,费用\nA,2024-01-05,1000\n,2024-02-01,500\nA,2024-03-01,abc\n"
                     "B,,700\nB,2024-05-01,800\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = cli("run", str(policy), "--cases", str(cases), "-o", str(out), "--person", "身份证号",
                 "--claim-date", "结算日期", "--format", "json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    groups = {(g["code"], g["where"]): g for g in summary["failures"]}
    assert groups[("YB481", "列“身份证号”")]["example"]["row"] == 2
    assert groups[("YB481", "列“结算日期”")]["example"]["row"] == 4
    assert groups[("YB403", "输入 费用")]["example"]["row"] == 3
    rows = read(out)
    assert summary["failed"] == sum(1 for r in rows if r["错误"]) == 3


def test_a_bad_bound_is_a_usage_error(setup: dict[str, Path]) -> None:
    for bad in ("abc", "150%", "-1%", "nan"):
        result = cli("run", str(setup["old"]), "--cases", str(setup["cases"]), "-o",
                     str(setup["folder"] / "never.csv"), "--max-error-rate", bad)
        assert result.exit_code == 2, bad
        assert "--max-error-rate" in result.output and "YB483" in result.output and "5%" in result.output
        assert not (setup["folder"] / "never.csv").exists()


def test_dask_refuses_the_bound(setup: dict[str, Path]) -> None:
    result = cli("run", str(setup["old"]), "--cases", str(setup["cases"]), "-o", str(setup["folder"] / "d.csv"),
                 "--engine", "dask", "--max-error-rate", "5%")
    assert result.exit_code == 2 and "--max-error-rate" in result.output


# ---------------------------------------------------------------- the pieces


def test_parse_bound() -> None:
    assert parse_bound("5%").rate == Decimal("0.05")
    assert parse_bound("0.05").rate == Decimal("0.05")
    assert parse_bound("\uff15\uff05").rate == Decimal("0.05")  # full-width digits and percent sign
    assert parse_bound("0.5 %").rate == Decimal("0.005")
    assert parse_bound("0").rate == 0 and parse_bound("100%").rate == 1
    for bad in ("", "五", "1.5", "101%", "-0.1", "inf"):
        with pytest.raises(ValueError):
            parse_bound(bad)


def test_the_bound_is_checked_from_min_rows_on_or_at_the_end() -> None:
    bound = parse_bound("10%")
    assert not bound.exceeded(MIN_ROWS - 1, MIN_ROWS - 1)  # too few rows to judge
    assert bound.exceeded(MIN_ROWS - 1, MIN_ROWS - 1, final=True)  # but the whole file was this small
    assert not bound.exceeded(1000, 100) and bound.exceeded(1000, 101)  # exact: 10.0% holds, 10.1% does not
    assert not parse_bound("0").exceeded(5000, 0) and parse_bound("0").exceeded(5000, 1)


def test_resliced_covers_every_row_once_in_order() -> None:
    tables = [pa.table({"i": list(range(k, k + n))}) for k, n in ((0, 10_000), (10_000, 3), (10_003, 0), (10_003, 7))]
    parts = list(resliced(tables))
    sizes = [p.num_rows for p, _ in parts]
    assert sizes[:5] == [1000, 1000, 2000, 4000, 2000]  # checks at 1,000, 2,000, 4,000, 8,000 rows
    seen = [v for p, _ in parts for v in p["i"].to_pylist()]
    assert seen == list(range(10_010))


def test_a_tally_groups_by_code_and_place_with_the_first_row_as_example() -> None:
    tally = Tally()
    tally.add(0, 4, {1: [Coded("乙", "YB415", "条款 一"), Coded("丙", "YB415", "条款 一")],
                     3: [Coded("丁", "YB415", "条款 一"), "第 5 行有 2 个字段"]})
    tally.add(4, 2, {0: [Coded("戊", "YB410", "条款 二")]})
    assert (tally.rows, tally.failed) == (6, 3)
    groups = tally.ordered()
    assert [(g.code, g.where, g.rows, g.example_row, g.example) for g in groups] == [
        ("YB415", "条款 一", 2, 2, "乙"), ("YB410", "条款 二", 1, 5, "戊"), ("YB480", "", 1, 4, "第 5 行有 2 个字段")]


def test_titles_are_the_headings_of_the_diagnostics_page() -> None:
    page = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for code, title in TITLES.items():
        assert re.search(rf"^### {code} {re.escape(title)}", page, re.M), f"{code} {title}"
    for code in ("YB480", "YB481", "YB482", "YB483"):
        assert f'<a id="{code.lower()}"></a>' in page
