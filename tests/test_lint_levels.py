"""The lints, the search, the prover and the charts read the levels of docs/itemized.md:
line figures (明细.x), aggregations, catalog lookups and fund figures (全体.x).

Names are resolved at the level they are read at (semantics/levels.scoped_names);
what an engine cannot model is left out with a stated reason, never guessed.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from yibaolang.analysis import search
from yibaolang.analysis.lint import check_policy
from yibaolang.analysis.lint.context import LintContext, load_config, walk_at
from yibaolang.analysis.lint.definitions import used_names
from yibaolang.checks.resolve import Program
from yibaolang.diagnostics import Diagnostic

LINES = """政策 明细示例

输入 明细 : 列表 "本次住院的结算明细"
    编码 : 文本 "医保目录编码"
    数量 : 数 范围 0 至 1万
    单价 : 金额 范围 0元 至 100万元

定义 明细.明细金额 : 金额 = 四舍五入(数量 × 单价, 分)
定义 总费用 : 金额 = 求和(明细.明细金额)

输出 总费用
"""

FUND = """政策 基金层示例

输入 报销金额 : 金额
输入 全体.参保人数 : 数 范围 1 至 1亿 "本统筹区参保人数"
参数 人均筹资 : 金额 = 100元

定义 全体.赔付支出 : 金额 = 求和(全体.报销金额)
定义 全体.筹集保费 : 金额 = 人均筹资 × 全体.参保人数

断言 全体.赔付支出 不低于 全体.筹集保费 × 95% "赔付率不低于95%"

输出 报销金额
"""


def checked(tmp_path: Path, text: str, name: str = "政策.ybl") -> Program:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 't'\n", encoding="utf-8")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return check_policy(path)


def codes(program: Program) -> list[str]:
    return [d.code for d in program.diagnostics]


def found(program: Program, code: str) -> list[Diagnostic]:
    return [d for d in program.diagnostics if d.code == code]


def test_a_line_figure_summed_by_an_output_is_used(tmp_path: Path) -> None:
    program = checked(tmp_path, LINES)
    assert codes(program) == []
    used = used_names(LintContext(program, load_config(tmp_path)))
    assert {"明细", "明细.明细金额", "明细.数量", "明细.单价", "总费用"} <= used
    assert "明细.编码" not in used


def test_count_of_a_list_uses_the_list(tmp_path: Path) -> None:
    text = LINES.replace("定义 总费用 : 金额 = 求和(明细.明细金额)\n\n输出 总费用",
                         "定义 行数 : 数 = 计数(明细)\n\n输出 行数")
    program = checked(tmp_path, text)
    # 明细.明细金额 is really unused now; the list itself is read by 计数.
    assert [d.message for d in found(program, "YB531")] == ["定义“明细.明细金额”没有用到：既不是输出，也没有输出依赖它"]
    assert found(program, "YB530") == []


def test_a_filter_is_read_on_each_line(tmp_path: Path) -> None:
    text = LINES.replace("求和(明细.明细金额)", "求和(明细.单价 其中 明细金额 超过 1000元)")
    program = checked(tmp_path, text)
    assert codes(program) == []


def test_a_bare_name_in_a_line_definition_is_the_field_first(tmp_path: Path) -> None:
    # 单价 is both a claim parameter and a field: in 明细.x it is the field, so the parameter is unused.
    text = LINES.replace("定义 明细.明细金额", "参数 单价 : 金额 = 5元\n定义 明细.明细金额")
    program = checked(tmp_path, text)
    assert [d.message for d in found(program, "YB531")] == ["参数“单价”没有用到：既不是输出，也没有输出依赖它"]


def test_an_unused_line_definition_is_reported_by_its_qualified_name(tmp_path: Path) -> None:
    text = LINES.replace("定义 总费用", "定义 明细.折后 : 金额 = 明细金额 × 90%\n定义 总费用")
    program = checked(tmp_path, text)
    assert [d.message for d in found(program, "YB531")] == ["定义“明细.折后”没有用到：既不是输出，也没有输出依赖它"]


def test_fund_figures_read_by_a_fund_assertion_are_used(tmp_path: Path) -> None:
    program = checked(tmp_path, FUND)
    assert codes(program) == []


def test_walk_at_reads_a_filter_at_the_line_level(tmp_path: Path) -> None:
    text = LINES.replace("求和(明细.明细金额)", "求和(明细.单价 其中 明细金额 超过 1000元)")
    program = checked(tmp_path, text)
    total = next(d for d in program.root.module.definitions if d.name == "总费用")
    levels = {type(node).__name__: level for node, level in walk_at(total.expr)}
    assert levels["Aggregate"] is None
    assert levels["Compare"] == "明细"


def test_the_search_states_why_it_builds_no_case(tmp_path: Path) -> None:
    program = checked(tmp_path, LINES)
    space = search.space(program, load_config(tmp_path))
    where = search.at_root(program)
    total = next(n for n in program.root.module.outputs)
    relevant = search.depends_on(program, [(total, where)])
    assert relevant == {"明细"}
    assert space.outside(relevant) == "读到列表输入 明细：搜索不构造明细行"
    assert space.lines(relevant) == [] and space.points(relevant) == []


def test_the_search_builds_no_fund_input(tmp_path: Path) -> None:
    program = checked(tmp_path, FUND)
    space = search.space(program, load_config(tmp_path))
    assert "全体.参保人数" not in space.inputs and "报销金额" in space.inputs
    assert space.outside({"全体.参保人数", "报销金额"}) == (
        "读到基金层的输入 全体.参保人数：基金层的数每次运行算一次，搜索只构造单个案例")
    assert space.outside({"报销金额"}) is None
    from yibaolang.analysis.lint.properties import searched_out

    ctx = LintContext(program, load_config(tmp_path))
    assert searched_out(ctx, space, program.root.module.assertions[0]) == "基金层的断言在批量运行中检查一次，不在单个案例上搜索"


def test_prove_reports_a_fund_assertion_outside_and_proves_claim_figures(tmp_path: Path) -> None:
    from yibaolang.analysis.prove import prove

    text = FUND.replace("输出 报销金额", "输入 住院费用 : 金额 范围 0元 至 100万元\n"
                                      "定义 统筹支付 : 金额 = 住院费用 × 90%\n"
                                      "断言 统筹支付 不超过 住院费用 \"支付不超过费用\"\n输出 统筹支付")
    program = checked(tmp_path, text)
    verdicts = {d.message.split("——")[0].split("：", 1)[1]: d for d in prove(program)}
    fund = verdicts["断言“赔付率不低于95%”"]
    assert fund.code == "YB592" and "基金层的断言汇总本次运行的全部案例" in fund.message
    assert verdicts["断言“支付不超过费用”，对所有案例成立"].code == "YB590"


def test_prove_takes_a_sum_of_lines_as_an_unknown(tmp_path: Path) -> None:
    from yibaolang.analysis.prove import prove

    # 总费用 = 求和(明细.明细金额): a per-line definition, so the sum may be any number — 总费用 × 90% ≤ 总费用
    # fails for a negative sum and is not proved; 求和(明细.单价) of a field declared 范围 0元 至 … is ≥ 0.
    text = LINES.replace("输出 总费用", "定义 统筹支付 : 金额 = 总费用 × 90%\n断言 统筹支付 不超过 总费用 \"不超过\"\n"
                                      "定义 单价合计 : 金额 = 求和(明细.单价)\n"
                                      "断言 单价合计 × 90% 不超过 单价合计 \"单价合计\"\n输出 总费用")
    program = checked(tmp_path, text)
    verdicts = {d.message.split("”")[0]: d for d in prove(program)}
    unknown = verdicts["无法证明：断言“不超过"]
    assert unknown.code == "YB592"
    assert "把 求和(明细.明细金额) 当作任意数时不成立" in unknown.message
    proved = verdicts["已证明（舍入按精确计算，求和(明细.单价) 取任意值）：断言“单价合计"]
    assert proved.code == "YB590"


def test_prove_does_not_share_a_sum_that_reads_the_varied_expense(tmp_path: Path) -> None:
    from yibaolang.analysis.prove import prove

    # 统筹支付 = 0.5 × 住院费用 + Σ(单价 − 住院费用) falls as 住院费用 rises (one line or more): the sum reads
    # 住院费用, so the two copies of YB582's proof must not share it.  统筹支付乙 adds a sum that does not.
    text = LINES.replace("输出 总费用", "输入 住院费用 : 金额 范围 0元 至 100万元\n"
                                      "定义 明细.折后 : 金额 = 单价 - 住院费用\n"
                                      "定义 统筹支付 : 金额 = 住院费用 × 50% + 求和(明细.折后)\n"
                                      "定义 统筹支付乙 : 金额 = 住院费用 × 50% + 求和(明细.单价)\n"
                                      "输出 统筹支付, 统筹支付乙")
    program = checked(tmp_path, text)
    falls = {d.message.split("——")[0]: d.code for d in prove(program) if "增加时" in d.message}
    assert falls == {"无法证明：住院费用 增加时 统筹支付 不减少": "YB592",
                     "已证明（舍入按精确计算，求和(明细.单价) 取任意值）：住院费用 增加时 统筹支付乙 不减少，对所有案例成立": "YB590"}


def test_the_same_rule_at_two_levels_is_not_a_duplicate(tmp_path: Path) -> None:
    text = LINES.replace("定义 总费用", "定义 明细.甲 : 金额 = 单价 × 2\n参数 单价 : 金额 = 3元\n定义 乙 : 金额 = 单价 × 2\n"
                                      "定义 明细.丙 : 金额 = 单价 × 2\n定义 总费用")
    program = checked(tmp_path, text)
    (dup,) = found(program, "YB533")
    assert dup.message == "“明细.丙”与“明细.甲”的规则完全相同"


def test_a_line_definition_outside_clauses_is_named_with_its_list(tmp_path: Path) -> None:
    text = LINES.replace("输出 总费用", '条款 "一" 总则\n    原文 "按明细结算"\n\n输出 总费用')
    program = checked(tmp_path, text)
    assert "定义“明细.明细金额”不在任何条款之下，解释时无法引用原文" in [d.message for d in found(program, "YB560")]


def test_the_chart_cone_reads_the_list_and_refuses_the_fund(tmp_path: Path) -> None:
    from yibaolang.analysis.function import FunctionError, dependencies, figure_function

    program = checked(tmp_path, LINES.replace("输出 总费用", "输入 住院费用 : 金额\n"
                                              "定义 统筹支付 : 金额 = (住院费用 - 总费用) × 90% 保底 0元\n"
                                              "输入 全体.参保人数 : 数\n输出 总费用, 统筹支付"))
    assert dependencies(program, "总费用").inputs == {"明细"}
    assert dependencies(program, "统筹支付").inputs == {"明细", "住院费用"}
    lines = [{"编码": "XB01", "数量": Decimal(2), "单价": Decimal("35.50")}]
    chart = figure_function(program, "住院费用", Decimal(0), Decimal(1000), {"明细": lines}, None, ["统筹支付"],
                            points=10)
    assert chart.value_at("统筹支付", Decimal(1000)) == Decimal("836.10")  # (1000 − 71) × 90%
    assert [bp.x for bp in chart.breakpoints] == [Decimal(71)]  # where the 保底 switches: 住院费用 = 总费用
    with pytest.raises(FunctionError, match="基金层的输入"):
        figure_function(program, "全体.参保人数", Decimal(1), Decimal(10), {}, None, ["统筹支付"])


def test_bands_of_a_line_figure_are_checked_but_not_searched(tmp_path: Path) -> None:
    # A bound read from the case may invert: on a claim figure the search finds the case (YB507); on a line
    # figure it is not searched (the search builds no lines), while the band checks on constants still run.
    bands = "    分段累进 {subject}\n        {low} 至 1000元 按 50%\n        {second} 至 2000元 按 60%\n"
    claim = LINES.replace("定义 总费用", "输入 下限 : 金额\n定义 分段 : 金额 =\n"
                          + bands.format(subject="下限 + 1元", low="下限", second="1000元") + "定义 总费用")
    claim = claim.replace("输出 总费用", "输出 总费用, 分段")
    (tmp_path / "claim").mkdir()
    assert "YB507" in codes(checked(tmp_path / "claim", claim))
    line = LINES.replace("定义 总费用", "定义 明细.分段 : 金额 =\n"
                         + bands.format(subject="明细金额", low="单价", second="1000元") + "定义 总费用")
    line = line.replace("求和(明细.明细金额)", "求和(明细.分段)")
    assert "YB507" not in codes(checked(tmp_path, line))
    overlapping = line.replace("单价 至 1000元", "0元 至 1000元").replace("1000元 至 2000元", "800元 至 2000元")
    assert [d.message for d in found(checked(tmp_path, overlapping), "YB501")] == ["分段重叠：800元 至 1000元 同时属于两段"]


def test_a_payment_computed_from_lines_is_not_searched(tmp_path: Path) -> None:
    from yibaolang.analysis.lint.properties import payments

    text = LINES.replace("输出 总费用", "输入 住院费用 : 金额\n定义 统筹支付 : 金额 = 住院费用 × 50% + 总费用 × 200%\n"
                                      "输出 统筹支付")
    program = checked(tmp_path, text)
    assert "YB581" not in codes(program)
    space = search.space(program, load_config(tmp_path))
    (payment,) = payments(LintContext(program, load_config(tmp_path)), space)
    assert payment.expenses == ("住院费用",)
    assert space.outside(payment.relevant) == "读到列表输入 明细：搜索不构造明细行"


def test_a_lookup_keyed_by_a_text_input_is_not_searched_and_says_why() -> None:
    root = Path(__file__).resolve().parent / "conformance" / "catalog" / "good" / "lookup.ybl"
    program = check_policy(root)
    assert [d.code for d in program.diagnostics] == []
    space = search.space(program, load_config(program.project_root))
    relevant = search.depends_on(program, [(n, search.at_root(program)) for n in program.root.module.outputs])
    assert relevant == {"就诊日期", "编码"}
    assert space.outside(relevant) == "读到输入 编码（文本）：搜索没有它的候选值"
    assert space.outside({"就诊日期"}) is None  # a date is searched as usual
