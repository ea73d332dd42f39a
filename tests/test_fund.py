"""The fund level (docs/itemized.md §4, docs/batch.md 基金层): computed and checked once per run.

Real runs only: policies written to a temporary folder, the CLI through click's runner,
result files read back with pyarrow.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from tests.conftest import ROOT
from yibaolang.checks.compiler import compile_policy
from yibaolang.engines.evaluate import evaluate
from yibaolang.engines.fund import Totals, evaluate_fund, fund_level
from yibaolang.tools.cli import main

POLICY = """\
政策 基金层测试

输入 报销金额 : 金额 范围 0元 至 100万元
输入 类别 : 选项 {住院, 门诊}
输入 全体.参保人数 : 数 范围 1 至 1亿 "本统筹区参保人数"

条款 "一" 赔付率
    原文 "赔付率不低于95%。"
    参数 人均筹资 : 金额 = 100元
    定义 自付 : 金额 = 报销金额 × 10%
    定义 全体.赔付支出 : 金额 = 求和(全体.报销金额)
    定义 全体.住院支出 : 金额 = 求和(全体.报销金额 其中 类别 = 住院)
    定义 全体.案例数 : 数 = 计数(全体)
    定义 全体.最高自付 : 金额 = 最大值(全体.自付)
    定义 全体.最低自付 : 金额 = 最小值(全体.自付)
    定义 全体.筹集保费 : 金额 = 人均筹资 × 参保人数
    断言 全体.赔付支出 不低于 全体.筹集保费 × 95% "赔付率不低于95%"
    断言 报销金额 不超过 90万元 "单次报销不超过90万元"

输出 报销金额, 全体.赔付支出, 全体.住院支出, 全体.案例数, 全体.最高自付, 全体.最低自付
"""

CLAIMS = "报销金额,类别\n100.10,住院\n200.20,门诊\n300.30,住院\n0.01,门诊\n"
LISHUI = ROOT / "policies" / "lishui_2020.ybl"
LAYERED = ROOT / "examples" / "layered_claim.ybl"


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "fund.ybl").write_text(POLICY, encoding="utf-8")
    (tmp_path / "claims.csv").write_text(CLAIMS, encoding="utf-8")
    return tmp_path


def _batch(folder: Path, *extra: str, claims: str = "claims.csv") -> tuple[Result, dict]:  # type: ignore[type-arg]
    summary = folder / "summary.json"
    result = cli("run", folder / "fund.ybl", "--cases", folder / claims, "-o", folder / "out.csv",
                 "--summary", summary, *extra)
    return result, json.loads(summary.read_text("utf-8")) if summary.exists() else {}


# ------------------------------------------------------------------ the fund level of a program


def test_the_fund_level_lists_its_inputs_figures_checks_and_the_claim_figures_it_needs(folder: Path) -> None:
    level = fund_level(compile_policy(str(folder / "fund.ybl")))
    assert list(level.inputs) == ["全体.参保人数"]
    assert [f.name for f in level.figures] == ["全体.赔付支出", "全体.住院支出", "全体.案例数", "全体.最高自付",
                                               "全体.最低自付", "全体.筹集保费"]
    assert [c.node.message for c in level.checks] == ["赔付率不低于95%"]  # the claim 断言 is not a fund check
    assert level.feeds == ["报销金额", "类别", "自付"]  # the filter's 类别 too
    assert level.outputs == ["全体.赔付支出", "全体.住院支出", "全体.案例数", "全体.最高自付", "全体.最低自付"]


def test_evaluate_fund_is_exact_and_names_the_figures_behind_a_failed_check(folder: Path) -> None:
    program = compile_policy(str(folder / "fund.ybl"))
    level = fund_level(program)
    totals = Totals(level)
    for amount, kind in [("0.10", "住院"), ("0.20", "门诊"), ("1000000", "住院")]:
        value = Decimal(amount)
        totals.add_case({"报销金额": value, "类别": kind, "自付": (value * Decimal("0.1")).quantize(Decimal("0.01"))})
    fund = evaluate_fund(program, {"参保人数": Decimal(20000)}, totals.result(), rows=3)
    values = {v.name: v.value for v in fund.values}
    assert values["全体.赔付支出"] == Decimal("1000000.30")  # 0.1 + 0.2 exactly, no binary float
    assert values["全体.住院支出"] == Decimal("1000000.10")
    assert values["全体.案例数"] == 3
    assert values["全体.最高自付"] == Decimal("100000.00") and values["全体.最低自付"] == Decimal("0.01")
    [check] = fund.checks
    assert check.holds is False and check.clause == "一"
    assert check.shown == "1,000,000.30元 不低于 2,000,000.00元 × 95%"
    assert ("全体.筹集保费", "2,000,000.00元") in check.figures and ("全体.参保人数", "20000") in check.figures
    [failed] = [d for d in fund.diagnostics if d.code == "YB493"]
    assert "赔付率不低于95%" in failed.message and failed.clause == "一"
    ok = evaluate_fund(program, {"全体.参保人数": Decimal(10000)}, totals.result(), rows=3)
    assert ok.checks[0].holds is True and not ok.failed


def test_a_missing_fund_input_is_one_warning_and_the_checks_are_not_checked(folder: Path) -> None:
    program = compile_policy(str(folder / "fund.ybl"))
    totals = Totals(fund_level(program))
    totals.add_case({"报销金额": Decimal(1), "类别": "门诊", "自付": Decimal("0.10")})
    fund = evaluate_fund(program, {}, totals.result(), rows=1)
    assert [d.code for d in fund.diagnostics] == ["YB490"]
    assert "全体.参保人数" in fund.diagnostics[0].message and "--fund" in fund.diagnostics[0].hint
    assert fund.computed is False
    assert fund.checks[0].holds is None and "全体.参保人数" in (fund.checks[0].note or "")
    assert fund.value("全体.赔付支出") is not None and fund.value("全体.赔付支出").value == Decimal(1)  # type: ignore[union-attr]


def test_the_claim_evaluator_never_carries_a_fund_error() -> None:
    from yibaolang.engines.outcome import CaseInput

    program = compile_policy(str(LISHUI))
    outcome = evaluate(program, CaseInput({"大病后自负费用": Decimal(50000), "合理医疗费用": Decimal(0)}))
    assert not [d for d in outcome.diagnostics if d.code in ("YB415", "YB493")]
    assert all(not o.name.startswith("全体.") for o in outcome.outputs)  # fund outputs are the run's
    assert not outcome.skipped  # the 赔付率 断言 is not even skipped: it is not a claim's


# ------------------------------------------------------------------ batch


@pytest.mark.parametrize("engine", ["numpy", "interpreter"])
def test_batch_computes_the_fund_once_across_chunks(folder: Path, engine: str) -> None:
    result, summary = _batch(folder, "--fund", "全体.参保人数=6", "--chunk-size", "2", "--engine", engine)
    assert result.exit_code == 0, result.output
    rows = pacsv.read_csv(folder / "out.csv").to_pylist()
    assert [r["错误"] for r in rows] == [None, None, None, None]
    assert list(rows[0]) == ["报销金额", "错误"]  # 类别 and 自付 feed the fund but are not outputs: not written
    fund = summary["fund"]
    assert fund["computed"] is True and fund["rows"] == 4 and fund["excluded_rows"] == 0
    shown = {name: entry["value"] for name, entry in fund["outputs"].items()}
    assert shown == {"全体.赔付支出": "600.61", "全体.住院支出": "400.40", "全体.案例数": "4",
                     "全体.最高自付": "30.03", "全体.最低自付": "0.00"}
    assert [(c["message"], c["holds"]) for c in fund["checks"]] == [("赔付率不低于95%", True)]
    assert result.output.count("赔付率不低于95%") == 1


def test_a_failed_fund_assertion_is_reported_once_and_no_row_carries_it(folder: Path) -> None:
    many = "报销金额,类别\n" + "10.00,住院\n" * 50
    (folder / "many.csv").write_text(many, encoding="utf-8")
    result, summary = _batch(folder, "--fund", "参保人数=100", "--chunk-size", "7", claims="many.csv")
    assert result.exit_code == 1  # the run's rule does not hold
    assert result.output.count("YB493") == 1  # once, with the policy's line
    assert "基金层断言不成立（条款 一）：赔付率不低于95%" in result.output
    assert "本次运行中：500.00元 不低于 10,000.00元 × 95%" in result.output
    errors = [r["错误"] for r in pacsv.read_csv(folder / "out.csv").to_pylist()]
    assert errors == [None] * 50
    [check] = summary["fund"]["checks"]
    assert check["holds"] is False and check["clause"] == "一"
    assert {"name": "全体.筹集保费", "display": "10,000.00元"} in check["figures"]
    assert summary["failed"] == 0 and summary["rows"] == 50


def test_failed_rows_are_left_out_of_the_aggregations_and_the_summary_says_so(folder: Path) -> None:
    (folder / "bad.csv").write_text(CLAIMS + "950000,门诊\n", encoding="utf-8")
    result, summary = _batch(folder, "--fund", "参保人数=6", claims="bad.csv")
    assert result.exit_code == 1  # the claim assertion fails one row
    fund = summary["fund"]
    assert fund["excluded_rows"] == 1 and fund["computed"] is False
    assert fund["outputs"]["全体.赔付支出"]["value"] == "600.61"
    assert any(d["code"] == "YB458" for d in fund["diagnostics"])


def test_without_fund_inputs_the_claims_are_computed_and_the_fund_is_not(folder: Path) -> None:
    result, summary = _batch(folder)
    assert result.exit_code == 0  # the claims are fine; the fund part says why it is missing
    assert len(pacsv.read_csv(folder / "out.csv").to_pylist()) == 4
    assert result.output.count("YB490") == 1 and "--fund 全体.参保人数=" in result.output
    fund = summary["fund"]
    assert fund["computed"] is False and fund["checks"][0]["holds"] is None
    assert [d["code"] for d in fund["diagnostics"]] == ["YB490"]


def test_fund_inputs_from_a_file(folder: Path) -> None:
    (folder / "fund.yaml").write_text("全体.参保人数: 6\n", encoding="utf-8")
    result, summary = _batch(folder, "--fund", str(folder / "fund.yaml"))
    assert result.exit_code == 0, result.output
    assert summary["fund"]["computed"] is True


@pytest.mark.parametrize(("args", "code", "words"), [
    (["参保人数"], "YB491", "既不是 名称=值"),
    (["参保人数="], "YB491", "名称=值"),
    (["参保数=10"], "YB491", "是否想写 全体.参保人数"),
    (["全体.参保人数=0"], "YB491", "超出范围"),
    (["全体.参保人数=很多"], "YB491", "全体.参保人数"),
    (["没有.yaml"], "YB492", "不存在"),
])
def test_bad_fund_options_are_chinese_diagnostics_and_nothing_is_written(folder: Path, args: list[str], code: str,
                                                                         words: str) -> None:
    result, _ = _batch(folder, *[a for arg in args for a in ("--fund", arg)])
    assert result.exit_code == 1
    assert code in result.output and words in result.output
    assert "Traceback" not in result.output
    assert not (folder / "out.csv").exists() and not (folder / "summary.json").exists()


def test_a_bad_fund_file_names_the_line(folder: Path) -> None:
    (folder / "fund.yaml").write_text("全体.参保人数: 6\n筹资: 100元\n", encoding="utf-8")
    result, _ = _batch(folder, "--fund", str(folder / "fund.yaml"))
    assert result.exit_code == 1
    assert "YB492" in result.output and "fund.yaml:2" in result.output and "未知的基金层输入“筹资”" in result.output


def test_fund_options_for_a_policy_without_a_fund_level(tmp_path: Path) -> None:
    (tmp_path / "p.ybl").write_text("政策 无基金层\n\n输入 甲 : 金额\n定义 乙 : 金额 = 甲\n输出 乙\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("甲\n1\n", encoding="utf-8")
    result = cli("run", tmp_path / "p.ybl", "--cases", tmp_path / "c.csv", "-o", tmp_path / "o.csv",
                 "--fund", "参保人数=1")
    assert result.exit_code == 1 and "YB491" in result.output and "本政策没有基金层输入" in result.output


# ------------------------------------------------------------------ a single case


def test_a_single_case_leaves_the_fund_out_unless_fund_inputs_are_given(folder: Path) -> None:
    (folder / "case.yaml").write_text("报销金额: \"300\"\n类别: 住院\n", encoding="utf-8")
    plain = cli("run", folder / "fund.ybl", "--case", folder / "case.yaml")
    assert plain.exit_code == 0, plain.output
    assert plain.output.strip() == "报销金额 = 300.00元"
    asked = cli("run", folder / "fund.ybl", "--case", folder / "case.yaml", "--output", "全体.赔付支出")
    assert asked.exit_code == 1 and "YB459" in asked.output and "--fund" in asked.output
    given = cli("run", folder / "fund.ybl", "--case", folder / "case.yaml", "--fund", "参保人数=3")
    assert given.exit_code == 0, given.output
    assert "“全体”是这一个案例" in given.output
    assert "全体.赔付支出 = 300.00元" in given.output and "全体.案例数 = 1" in given.output
    assert "成立：赔付率不低于95%" in given.output
    failing = cli("run", folder / "fund.ybl", "--case", folder / "case.yaml", "--fund", "参保人数=4", "--format", "json")
    assert failing.exit_code == 1
    document = json.loads(failing.stdout)
    assert document["fund"]["checks"][0]["holds"] is False
    explained = cli("explain", folder / "fund.ybl", "--case", folder / "case.yaml", "--fund", "参保人数=3")
    assert explained.exit_code == 0, explained.output
    assert "全体.筹集保费 = 300.00元" in explained.output


# ------------------------------------------------------------------ 丽水 三、(七)3.


def test_lishui_payout_ratio_is_a_fund_rule() -> None:
    text = LISHUI.read_text("utf-8")
    assert "定义 全体.年度赔付支出 : 金额 = 求和(全体.浙丽保报销)" in text
    assert "定义 全体.年度筹集保费 : 金额 = 全体.人均保费 × 全体.参保人数" in text
    assert "断言 全体.年度赔付支出 不低于 全体.年度筹集保费 × 最低赔付率" in text
    assert "输入 年度赔付支出" not in text and "输入 年度筹集保费" not in text
    result = cli("check", LISHUI, LAYERED)
    assert result.exit_code == 0, result.output


def test_layered_claims_no_longer_fail_the_payout_ratio_row_by_row(tmp_path: Path) -> None:
    cases, fund = tmp_path / "cases.parquet", tmp_path / "fund.yaml"
    made = cli("sample", LAYERED, "--rows", "2000", "-o", cases, "--seed", "3", "--fund-out", fund)
    assert made.exit_code == 0, made.output
    names = pq.read_schema(cases).names
    assert not [n for n in names if n.startswith("全体.")]  # fund inputs once, not per row
    assert "全体.参保人数:" in fund.read_text("utf-8") and "全体.人均保费:" in fund.read_text("utf-8")
    summary = tmp_path / "s.json"
    result = cli("run", LAYERED, "--cases", cases, "-o", tmp_path / "out.parquet", "--fund", fund,
                 "--fund", "全体.人均保费=100元", "--summary", summary)
    errors = pq.read_table(tmp_path / "out.parquet", columns=["错误"]).column(0).to_pylist()
    assert not [e for e in errors if e and "赔付率" in e]
    document = json.loads(summary.read_text("utf-8"))
    [check] = document["fund"]["checks"]
    assert check["clause"] == "三、(七)3." and check["policy"] == "补充保险" and check["holds"] is not None
    assert result.output.count("赔付率原则上不低于95%") == 1
    paid = pq.read_table(tmp_path / "out.parquet", columns=["补充保险支付", "错误"]).to_pylist()
    total = sum((r["补充保险支付"] for r in paid if not r["错误"]), Decimal(0))
    figures = {f["name"]: f["value"] for f in document["fund"]["figures"]}
    assert Decimal(figures["补充保险.全体.年度赔付支出"]) == total  # the sum of every claim's 浙丽保报销, to the 分


def test_lishui_single_case_with_fund_inputs(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("大病后自负费用: \"5万元\"\n", encoding="utf-8")
    result = cli("run", LISHUI, "--case", case, "--output", "浙丽保报销", "--output", "全体.年度赔付支出",
                 "--fund", "全体.参保人数=1", "--fund", "人均保费=100元")
    assert result.exit_code == 0, result.output
    assert "浙丽保报销 = 37,500.00元" in result.output
    assert "全体.年度赔付支出 = 37,500.00元" in result.output and "全体.年度筹集保费 = 100.00元" in result.output
    assert "成立：赔付率原则上不低于95%" in result.output
    assert fund_level(compile_policy(str(LISHUI))).feeds == ["浙丽保报销"]


def test_a_fund_constraint_is_checked_once_like_an_assertion(folder: Path) -> None:
    text = POLICY.replace('    断言 全体.赔付支出 不低于', '    约束 全体.赔付支出 不低于')
    (folder / "fund.ybl").write_text(text, encoding="utf-8")
    result, summary = _batch(folder, "--fund", "参保人数=100")
    assert result.exit_code == 1
    assert result.output.count("YB493") == 1 and "基金层约束不成立（条款 一）" in result.output
    assert [(c["kind"], c["holds"]) for c in summary["fund"]["checks"]] == [("约束", False)]


def test_the_summary_of_a_policy_without_a_fund_level_says_so(tmp_path: Path) -> None:
    (tmp_path / "p.ybl").write_text("政策 无基金层\n\n输入 甲 : 金额\n定义 乙 : 金额 = 甲\n输出 乙\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("甲\n1\n", encoding="utf-8")
    result = cli("run", tmp_path / "p.ybl", "--cases", tmp_path / "c.csv", "-o", tmp_path / "o.csv",
                 "--summary", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    assert "基金层" not in result.output
    document = json.loads((tmp_path / "s.json").read_text("utf-8"))
    assert document["fund"] is None and document["rows"] == 1


def test_settling_by_person_says_the_fund_is_not_computed(folder: Path) -> None:
    (folder / "people.csv").write_text("报销金额,类别,人,日期\n100,住院,甲,2024-01-01\n200,门诊,乙,2024-02-01\n",
                                       encoding="utf-8")
    result, summary = _batch(folder, "--fund", "参保人数=1", "--person", "人", "--claim-date", "日期",
                             claims="people.csv")
    assert result.exit_code == 0, result.output
    assert "基金层未计算：按人结算（--person）时基金层暂不汇总" in result.output
    assert summary["fund"] == {"computed": False, "note": "按人结算（--person）时基金层暂不汇总"}


def test_the_python_interface_does_not_ask_a_case_for_fund_inputs() -> None:
    from yibaolang import api

    names = [spec.name for spec in api.load(str(LISHUI)).inputs()]
    assert "大病后自负费用" in names
    assert not [n for n in names if n.startswith("全体.")]  # serve's form and schema take a claim, not the fund


def test_an_aggregation_two_imports_deep_is_one_error_not_a_zero(tmp_path: Path) -> None:
    (tmp_path / "c.ybl").write_text("政策 丙\n\n输入 报销 : 金额\n定义 全体.合计 : 金额 = 求和(全体.报销)\n\n输出 报销\n",
                                    encoding="utf-8")
    (tmp_path / "b.ybl").write_text('政策 乙\n\n引用 "c.ybl" 作为 丙\n    代入 报销 = 金额\n\n输入 金额 : 金额\n'
                                    "定义 乙报销 : 金额 = 丙.报销\n\n输出 乙报销\n", encoding="utf-8")
    (tmp_path / "a.ybl").write_text('政策 甲\n\n引用 "b.ybl" 作为 乙\n    代入 金额 = 费用\n\n输入 费用 : 金额\n'
                                    "定义 支付 : 金额 = 乙.乙报销\n\n输出 支付\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("费用\n10\n20\n", encoding="utf-8")
    summary = tmp_path / "s.json"
    result = cli("run", tmp_path / "a.ybl", "--cases", tmp_path / "c.csv", "-o", tmp_path / "o.csv",
                 "--summary", summary)
    assert result.exit_code == 1
    assert result.output.count("YB494") == 1 and "在多层引用之内" in result.output
    fund = json.loads(summary.read_text("utf-8"))["fund"]
    assert fund["computed"] is False
    assert {f["name"]: f["value"] for f in fund["figures"]}["乙.丙.全体.合计"] is None  # never a silent 0
    assert [r["支付"] for r in pacsv.read_csv(tmp_path / "o.csv").to_pylist()] == [10, 20]  # the claims are computed


def test_the_json_summary_on_standard_output_has_the_same_fund_part(folder: Path) -> None:
    result, summary = _batch(folder, "--fund", "参保人数=6", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema"] == "yibaolang.batch/1"
    assert document["fund"] == summary["fund"] and document["fund"]["outputs"]["全体.案例数"]["value"] == "4"
