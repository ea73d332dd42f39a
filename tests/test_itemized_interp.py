"""The interpreter over itemized bills (docs/itemized.md): list inputs, per-line figures, aggregations,
查目录 with dated versions, 文本, case files with lines, the explanation of the lines, and the fund level
left out of a single case.

The figures are computed by hand in the comments: 住院结算.ybl (tests/fixtures/itemized) encodes the
settlement rule of issue 12, its 医保目录.csv has one code (HC04) with two dated versions.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from yibaolang.checks.compiler import compile_policy
from yibaolang.diagnostics import has_errors
from yibaolang.engines.cases import load_case_file, parse_assignment, parse_case_text, run_examples, validate
from yibaolang.engines.evaluate import evaluate
from yibaolang.engines.outcome import CaseInput, Outcome
from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "itemized"
POLICY = FIXTURES / "住院结算.ybl"
CASE = FIXTURES / "住院.case.yaml"
GOLDEN = Path(__file__).resolve().parent / "golden" / "explain"
D = Decimal


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def compiled(path: Path) -> Any:
    program = compile_policy(str(path))
    assert not has_errors(program.diagnostics), [d.message for d in program.diagnostics]
    return program


def case_of(program: Any, text: str, file: str = "案例.yaml") -> CaseInput:
    raw, problems = parse_case_text(text, file)
    assert raw is not None and not problems, problems
    case, problems = validate(program, raw)
    assert not problems, [d.message for d in problems]
    return case


def problems_of(program: Any, text: str, file: str = "案例.yaml") -> list[Any]:
    raw, problems = parse_case_text(text, file)
    assert raw is not None and not problems
    return validate(program, raw)[1]


def values(outcome: Outcome) -> dict[str, Any]:
    assert outcome.ok, [d.message for d in outcome.diagnostics]
    return {out.name: out.value for out in outcome.outputs}


def project(tmp_path: Path, policy: str, catalog: str | None = None) -> Path:
    """A project folder (yibaolang.toml) with a policy and, optionally, its 目录.csv."""
    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    path = tmp_path / "政策.ybl"
    path.write_text(policy, encoding="utf-8")
    if catalog is not None:
        (tmp_path / "目录.csv").write_text(catalog, encoding="utf-8")
    return path


HEADER = """\
输入 就诊日期 : 日期
输入 明细 : 列表
    编码 : 文本
    数量 : 数 范围 0 至 1万
    单价 : 金额 范围 0元 至 100万元
    自付 : 是否 默认 否
"""


# ------------------------------------------------------------------ the worked example


def test_worked_example_figures_by_hand() -> None:
    program = compiled(POLICY)
    raw, problems = load_case_file(str(CASE))
    assert raw is not None and not problems
    case, problems = validate(program, raw)
    assert not problems
    got = values(evaluate(program, case, None))
    # Lines: XB01 甲 2×35.50 = 71.00; ZL03 乙 20% 1200.00 → 先行 240.00; HC04 乙 on 2024-08-01 (the version
    # from 2024-07-01: 20%, 支付标准 4000) 4500.00 → 超限 500.00, 计价 4000.00, 先行 800.00; XB02 乙 10%, 支付标准
    # 30.00, 3×33.33 = 99.99 → 超限 (33.33−30)×3 = 9.99, 计价 90.00, 先行 9.00; ZF05 丙 88.00 and QQ99 (not in the
    # catalog: 查无 丙) 10.00 are 全自费.
    assert got["总费用"] == D("5968.99")
    assert got["全自费金额"] == D("98.00")
    assert got["超限价自付金额"] == D("509.99")
    assert got["先行自付金额"] == D("1049.00")
    assert got["政策范围内费用"] == D("4312.00")  # 71 + 960 + 3200 + 81
    assert got["起付标准"] == D("1000")
    assert got["统筹支付"] == D("2815.20")  # (4312 − 1000) × 85%
    assert got["个人负担"] == D("3153.79")
    # The parts add up to the total exactly: the reconciling 断言 holds.
    assert got["全自费金额"] + got["超限价自付金额"] + got["先行自付金额"] + got["政策范围内费用"] == got["总费用"]


def test_filtered_count_and_maximum() -> None:
    program = compiled(POLICY)
    case = case_of(program, CASE.read_text(encoding="utf-8"))
    got = values(evaluate(program, case, ["乙类项目数", "最贵一项"]))
    assert got == {"乙类项目数": D(3), "最贵一项": D("4500.00")}


def test_dated_catalog_versions_picked_by_the_visit_date() -> None:
    program = compiled(POLICY)
    line = "明细:\n  - {编码: HC04, 数量: 1, 单价: \"4500\"}\n医院等级: 三级\n人员类别: 在职\n"
    before = values(evaluate(program, case_of(program, "就诊日期: 2024-06-30\n" + line), ["先行自付金额",
                                                                                        "超限价自付金额"]))
    after = values(evaluate(program, case_of(program, "就诊日期: 2024-07-01\n" + line), ["先行自付金额",
                                                                                       "超限价自付金额"]))
    # Until 2024-07-01 (exclusive): 30%, 支付标准 5000 (4500 is below it); from that day: 20%, 支付标准 4000.
    assert before == {"先行自付金额": D("1350.00"), "超限价自付金额": D("0")}
    assert after == {"先行自付金额": D("800.00"), "超限价自付金额": D("500.00")}


def test_missing_catalog_row_takes_the_missing_value() -> None:
    program = compiled(POLICY)
    text = "就诊日期: 2024-08-01\n医院等级: 一级\n人员类别: 在职\n明细:\n  - {编码: NOPE, 数量: 3, 单价: \"1.10\"}\n"
    got = values(evaluate(program, case_of(program, text), ["全自费金额", "政策范围内费用"]))
    assert got == {"全自费金额": D("3.30"), "政策范围内费用": D("0.00")}


# ------------------------------------------------------------------ aggregation semantics


ROUNDING = HEADER + """
定义 明细.金额 : 金额 = 四舍五入(数量 × 单价, 分)
定义 合计 : 金额 = 求和(明细.金额)
定义 行数 : 数 = 计数(明细)
定义 自付行数 : 数 = 计数(明细 其中 自付)
定义 自付合计 : 金额 = 求和(明细.金额 其中 自付 且 编码 ≠ "Z9")
条款 "七" 最高
    原文 "取最贵的一项。"
    定义 最高 : 金额 = 最大值(明细.金额)
定义 最低 : 金额 = 最小值(明细.金额 其中 自付)
输出 合计, 行数
"""


def test_rounding_is_per_line(tmp_path: Path) -> None:
    program = compiled(project(tmp_path, ROUNDING))
    # 0.5 × 0.05元 = 0.025元 → 0.03元 on each line: 0.06元 (rounding the sum 0.05元 would give 0.05元).
    text = "就诊日期: 2024-01-01\n明细:\n  - {编码: A, 数量: \"0.5\", 单价: \"0.05\"}\n" \
           "  - {编码: B, 数量: \"0.5\", 单价: \"0.05\"}\n"
    assert values(evaluate(program, case_of(program, text), ["合计", "行数"])) == {"合计": D("0.06"), "行数": D(2)}


def test_filters_and_defaults(tmp_path: Path) -> None:
    program = compiled(project(tmp_path, ROUNDING))
    text = ("就诊日期: 2024-01-01\n明细:\n"
            "  - {编码: A, 数量: 1, 单价: \"10\", 自付: 是}\n"
            "  - {编码: Z9, 数量: 1, 单价: \"20\", 自付: 是}\n"
            "  - {编码: C, 数量: 2, 单价: \"30\"}\n")  # 自付 not given: 默认 否
    got = values(evaluate(program, case_of(program, text), ["自付行数", "自付合计", "最高", "最低"]))
    assert got == {"自付行数": D(2), "自付合计": D("10.00"), "最高": D("60.00"), "最低": D("10.00")}


def test_empty_list(tmp_path: Path) -> None:
    program = compiled(project(tmp_path, ROUNDING))
    case = case_of(program, "就诊日期: 2024-01-01\n明细: []\n")
    assert values(evaluate(program, case, ["合计", "行数", "自付合计"])) == {
        "合计": D(0), "行数": D(0), "自付合计": D(0)}
    outcome = evaluate(program, case, ["最高"])
    [problem] = [d for d in outcome.diagnostics if d.is_error]
    assert problem.code == "YB460"
    assert "最大值(明细.金额)" in problem.message and "明细 没有行" in problem.message
    assert problem.clause == "七"


def test_minimum_with_no_line_passing_the_filter(tmp_path: Path) -> None:
    program = compiled(project(tmp_path, ROUNDING))
    case = case_of(program, "就诊日期: 2024-01-01\n明细:\n  - {编码: A, 数量: 1, 单价: \"5\"}\n")
    [problem] = evaluate(program, case, ["最低"]).diagnostics
    assert problem.code == "YB460" and "其中" in problem.message


def test_text_values_compare_equal_only(tmp_path: Path) -> None:
    policy = HEADER + '定义 明细.是甲 : 是否 = 编码 = "甲01"\n定义 甲数 : 数 = 计数(明细 其中 是甲)\n输出 甲数\n'
    program = compiled(project(tmp_path, policy))
    text = "就诊日期: 2024-01-01\n明细:\n  - {编码: \"甲01\", 数量: 1, 单价: 1}\n  - {编码: \" 甲01 \", 数量: 1, 单价: 1}\n" \
           "  - {编码: \"甲02\", 数量: 1, 单价: 1}\n"
    assert values(evaluate(program, case_of(program, text), ["甲数"])) == {"甲数": D(2)}  # stripped as read
    bad = project(tmp_path, HEADER + '定义 明细.大 : 是否 = 编码 > "A"\n输出 就诊日期\n')
    assert any(d.code == "YB202" for d in compile_policy(str(bad)).diagnostics)


# ------------------------------------------------------------------ case files with lines


def test_case_file_line_errors_name_the_line_and_field(tmp_path: Path) -> None:
    program = compiled(project(tmp_path, ROUNDING))
    text = ("就诊日期: 2024-01-01\n明细:\n"
            "  - {编码: A, 数量: 1, 单价: \"10\"}\n"
            "  - {编码: B, 单价: \"10\"}\n"                     # 2: 数量 missing, no 默认
            "  - {编码: C, 数量: 1, 单价: \"10\", 单位: 盒}\n"   # 3: unknown field
            "  - {编码: D, 数量: 一, 单价: \"10\"}\n"            # 4: wrong type
            "  - {编码: E, 数量: 2万, 单价: \"10\"}\n"           # 5: outside 范围 0 至 1万
            "  - {编码: F, 数量: 1, 单价: 10.555}\n"             # 6: money with three decimals
            "  - {编码: 7, 数量: 1, 单价: \"1\"}\n"              # 7: a code written as a number
            "  - 只有文字\n")                                      # 8: not a mapping
    problems = problems_of(program, text)
    shown = [(d.code, d.span.line, d.message) for d in problems]
    assert [(c, line) for c, line, _ in shown] == [
        ("YB461", 4), ("YB461", 5), ("YB403", 6), ("YB406", 7), ("YB407", 8), ("YB403", 9), ("YB461", 10)]
    messages = [m for _, _, m in shown]
    assert "第 2 行缺少字段 数量" in messages[0]
    assert "第 3 行有未声明的字段“单位”" in messages[1]
    assert "第 4 行的 数量" in messages[2]
    assert "第 5 行的 数量" in messages[3] and "超出范围" in messages[3]
    assert "第 6 行的 单价" in messages[4] and "小数位数过多" in messages[4]
    assert "第 7 行的 编码" in messages[5] and "文本" in messages[5]
    assert "第 8 行应为“字段: 值”的映射" in messages[6]
    assert all(d.hint for d in problems)


def test_json_case_with_lines(tmp_path: Path) -> None:
    program = compiled(project(tmp_path, ROUNDING))
    good = json.dumps({"就诊日期": "2024-01-01", "明细": [{"编码": "A", "数量": 2, "单价": "1.25"}]})
    assert values(evaluate(program, case_of(program, good, "c.json"), ["合计"])) == {"合计": D("2.50")}
    bad = '{"就诊日期": "2024-01-01", "明细": [{"编码": "A", "数量": 1, "单价": 35.555}]}'
    [problem] = problems_of(program, bad, "c.json")
    assert problem.code == "YB407" and "第 1 行的 单价" in problem.message
    [problem] = problems_of(program, '{"就诊日期": "2024-01-01", "明细": {"编码": "A"}}', "c.json")
    assert problem.code == "YB461" and "映射的列表" in problem.message


def test_lists_cannot_be_given_on_one_line(tmp_path: Path) -> None:
    program = compiled(project(tmp_path, ROUNDING))
    problem = parse_assignment(program, "明细=[]")
    assert not isinstance(problem, tuple) and problem.code == "YB461" and "列表输入 明细" in problem.message
    sample = project(tmp_path, ROUNDING + "\n样例 \"一行\"\n    就诊日期 = 2024-01-01\n    明细 = 0\n    期望 行数 = 0\n")
    checked = compile_policy(str(sample))
    [refused] = [d for d in checked.diagnostics if d.is_error]
    assert refused.code == "YB461" and "样例 不能给出列表输入 明细" in refused.message  # said by check, at the line
    results = run_examples(checked)
    assert [r.passed for r in results] == [False]
    assert "样例 不能给出列表输入 明细" in results[0].details[0]


def test_yibaolang_test_runs_case_files_with_lines() -> None:
    result = cli("test", str(POLICY))
    assert result.exit_code == 0, result.output
    assert "4 passed, 0 failed" in result.output


def test_missing_list_input_is_reported() -> None:
    program = compiled(POLICY)
    outcome = evaluate(program, CaseInput({"医院等级": "三级", "人员类别": "在职"}), ["总费用"])
    [problem] = outcome.diagnostics
    assert problem.code == "YB410" and "明细" in problem.message and "每行一个映射" in problem.hint


# ------------------------------------------------------------------ catalogs that cannot be read


def test_unreadable_catalog_is_a_diagnostic_of_the_case(tmp_path: Path) -> None:
    policy = '目录 药品 "目录.csv"\n    键 编码 : 文本\n    列 价格 : 金额\n' + HEADER + \
        "定义 明细.价 : 金额 = 查目录 药品.价格 按 编码 查无 0元\n定义 合计 : 金额 = 求和(明细.价)\n输出 合计\n"
    path = project(tmp_path, policy, "编码,价格\nA,1.005\n")
    program = compiled(path)
    case = case_of(program, "就诊日期: 2024-01-01\n明细:\n  - {编码: A, 数量: 1, 单价: 1}\n")
    outcome = evaluate(program, case, ["合计"])
    assert not outcome.ok
    codes = {d.code for d in outcome.diagnostics}
    assert codes & {"YB465", "YB467"}, codes  # the catalog's own diagnostic, naming the cell
    (tmp_path / "目录.csv").write_text("编码,价格\nA,1.05\n", encoding="utf-8")
    assert values(evaluate(program, case, ["合计"])) == {"合计": D("1.05")}


def test_table_option_replaces_the_catalog(tmp_path: Path) -> None:
    policy = '目录 药品 "目录.csv"\n    键 编码 : 文本\n    列 价格 : 金额\n' + HEADER + \
        "定义 明细.价 : 金额 = 查目录 药品.价格 按 编码 查无 0元\n定义 合计 : 金额 = 求和(明细.价)\n输出 合计\n"
    path = project(tmp_path, policy, "编码,价格\nA,1.00\n")
    (tmp_path / "新目录.csv").write_text("编码,价格\nA,2.00\n", encoding="utf-8")
    case = tmp_path / "c.yaml"
    case.write_text("就诊日期: 2024-01-01\n明细:\n  - {编码: A, 数量: 1, 单价: 1}\n", encoding="utf-8")
    assert "合计 = 1.00元" in cli("run", str(path), "--case", str(case)).output
    result = cli("run", str(path), "--case", str(case), "--table", f"药品={tmp_path / '新目录.csv'}")
    assert result.exit_code == 0, result.output
    assert "合计 = 2.00元" in result.output
    wrong = cli("run", str(path), "--case", str(case), "--table", f"药品目录={tmp_path / '新目录.csv'}")
    assert wrong.exit_code == 1 and "YB469" in wrong.output


# ------------------------------------------------------------------ fund level in a single case


FUND = HEADER + """
输入 全体.参保人数 : 数 范围 1 至 1亿
定义 明细.金额 : 金额 = 四舍五入(数量 × 单价, 分)
定义 报销 : 金额 = 求和(明细.金额) × 50%
定义 全体.赔付支出 : 金额 = 求和(全体.报销)
断言 全体.赔付支出 不超过 全体.参保人数 × 1元 "赔付支出不超过筹资"
输出 报销, 全体.赔付支出
"""


def test_fund_level_left_out_of_a_single_case(tmp_path: Path) -> None:
    program = compiled(project(tmp_path, FUND))
    case = case_of(program, "就诊日期: 2024-01-01\n明细:\n  - {编码: A, 数量: 1, 单价: \"1000\"}\n")
    outcome = evaluate(program, case, None)
    # The default outputs leave 全体.赔付支出 out; the fund 断言 (which this claim alone would break) is not checked.
    assert values(outcome) == {"报销": D("500.00")}
    asked = evaluate(program, case, ["全体.赔付支出"])
    [problem] = asked.diagnostics
    assert problem.code == "YB462" and "基金层" in problem.message and "--fund" in problem.hint


# ------------------------------------------------------------------ the explanation


def explained(fmt: str) -> Result:
    return cli("explain", str(POLICY.relative_to(ROOT)), "--case", str(CASE.relative_to(ROOT)), "--format", fmt)


@pytest.mark.usefixtures("at_root")
def test_explanation_lists_lines_by_group_with_catalog_rows() -> None:
    doc = json.loads(explained("json").stdout)
    [lines] = doc["lines"]
    assert lines["list"] == "明细" and lines["group_by"] == "明细.结算类别"
    groups = {g["group"]: [line["number"] for line in g["lines"]] for g in lines["groups"]}
    assert groups == {"甲类": [1], "乙类": [2, 3, 4], "全自费": [5, 6]}
    third = next(line for g in lines["groups"] for line in g["lines"] if line["number"] == 3)
    assert third["fields"] == {"编码": "HC04", "数量": "1", "单价": "4500.00"}
    rows = {(r["column"], r["row"], r["valid_from"]) for r in third["catalog_rows"]}
    assert ("类别", 6, "2024-07-01") in rows  # the second version of HC04 (row 6 of the CSV, header = row 1)
    assert all(r["file"].endswith("医保目录.csv") for r in third["catalog_rows"])
    figures = {f["name"]: f for f in third["figures"]}
    assert figures["明细.超限价自付"]["display"] == "500.00元" and figures["明细.超限价自付"]["clause"]["id"] == "三"
    sixth = next(line for g in lines["groups"] for line in g["lines"] if line["number"] == 6)
    assert sixth["catalog_rows"][0]["row"] is None and sixth["catalog_rows"][0]["missing"] is True
    assert lines["reconciled"] == [{
        "condition": "总费用 = 全自费金额 + 超限价自付金额 + 先行自付金额 + 政策范围内费用"
                     "（5,968.99元 = 98.00元 + 509.99元 + 1,049.00元 + 4,312.00元）",
        "holds": True}]
    total = doc["outputs"][0]
    assert total["name"] == "总费用" and any("第 1–6 行" in note for note in total["notes"])
    fee = next(o for o in doc["outputs"] if o["name"] == "全自费金额")
    assert any("第 5 行 88.00元 + 第 6 行 10.00元；其余 4 行为 0.00元" in note for note in fee["notes"])


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("markdown", "md"), ("json", "json")])
def test_itemized_explanation_golden(fmt: str, suffix: str, golden) -> None:  # type: ignore[no-untyped-def]
    result = explained(fmt)
    assert result.exit_code == 0, result.output
    golden(GOLDEN / f"itemized_claim.{suffix}", result.stdout)


@pytest.mark.usefixtures("at_root")
def test_html_explanation_has_the_line_tables() -> None:
    page = explained("html").stdout
    assert "<h2>明细（共 6 行，按 明细.结算类别 分组）</h2>" in page
    assert "<h3>乙类（3 行）</h3>" in page and "对账：" in page


# ------------------------------------------------------------------ once per line; functions, 例外, claim lookups


ONCE = HEADER + """
定义 明细.两倍 : 金额 = 单价 × 2
定义 合计 : 金额 = 求和(明细.两倍)
定义 最高 : 金额 = 最大值(明细.两倍)
定义 正数 : 数 = 计数(明细 其中 两倍 > 0元)
输出 合计
"""


def test_a_per_line_figure_is_computed_once_per_line(tmp_path: Path) -> None:
    program = compiled(project(tmp_path, ONCE))
    text = "就诊日期: 2024-01-01\n明细:\n" + "".join(f"  - {{编码: A{i}, 数量: 1, 单价: \"{i}\"}}\n" for i in range(1, 4))
    case = case_of(program, text)
    one = evaluate(program, case, ["合计"], trace=True)
    three = evaluate(program, case, ["合计", "最高", "正数"], trace=True)
    assert values(three) == {"合计": D("12"), "最高": D("6"), "正数": D(3)}
    # The traced run counts every figure computed: the two more aggregations add their own two figures only,
    # the three lines' 明细.两倍 are not computed again.
    assert three.steps - one.steps == 2
    [lines] = three.lines
    assert [[n.name for n in line.figures] for line in lines.lines] == [["明细.两倍"]] * 3


CALLS = HEADER + """
目录 限价 "目录.csv"
    键 编码 : 文本
    列 上限 : 金额
函数 打折(x: 金额, r: 比例) : 金额 = x × r
定义 明细.计入 : 金额 = 打折(单价 × 数量, 80%)
例外 明细.计入 当 编码 = "FREE" 时 = 0元
定义 合计 : 金额 = 求和(明细.计入)
输入 主编码 : 文本 默认 "A"
定义 主上限 : 金额 = 查目录 限价.上限 按 主编码 查无 0元
输出 合计, 主上限
"""


def test_functions_exceptions_and_claim_level_lookups(tmp_path: Path) -> None:
    program = compiled(project(tmp_path, CALLS, "编码,上限\nA,12.34\n"))
    text = ("就诊日期: 2024-01-01\n明细:\n  - {编码: A, 数量: 1, 单价: \"10\"}\n"
            "  - {编码: FREE, 数量: 1, 单价: \"10\"}\n  - {编码: B, 数量: 2, 单价: \"10\"}\n")
    assert values(evaluate(program, case_of(program, text), None)) == {"合计": D("24.00"), "主上限": D("12.34")}
    traced = evaluate(program, case_of(program, text + "主编码: Z\n"), None, trace=True)
    assert values(traced) == {"合计": D("24.00"), "主上限": D("0")}
    second = traced.lines[0].lines[1]
    assert second.figures[0].display == "0.00元" and any("例外" in n for n in second.figures[0].notes)
