"""The interpreter (docs/language.md §4–§6, §29): arithmetic, rounding, dates, parameters, exceptions, blocks."""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from yibaolang.checks.compiler import compile_policy
from yibaolang.checks.resolve import Program
from yibaolang.engines.evaluate import evaluate, evaluator_for
from yibaolang.engines.outcome import CaseInput, Outcome

HEADER = "政策 测试\n\n"


def policy(tmp_path: Path, body: str, name: str = "p.ybl", header: str = HEADER) -> Program:
    path = tmp_path / name
    path.write_text(header + textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    program = compile_policy(path)
    errors = [d.message for d in program.diagnostics if d.is_error]
    assert not errors, errors
    return program


def run(program: Program, outputs: list[str] | None = None, date: dt.date | None = None,
        trace: bool = False, **inputs: Any) -> Outcome:
    return evaluate(program, CaseInput(inputs, date), outputs, trace=trace)


def value(program: Program, name: str, **inputs: Any) -> Any:
    outcome = run(program, [name], **inputs)
    assert outcome.ok, [d.message for d in outcome.diagnostics]
    return outcome.value(name)


def codes(outcome: Outcome) -> list[str]:
    return [d.code for d in outcome.diagnostics]


# ---------------------------------------------------------------- numbers and rounding


def test_money_times_ratio_is_rounded_half_up_where_produced(tmp_path: Path) -> None:
    p = policy(tmp_path, """
        输入 记账 : 金额
        定义 划卡 : 金额 = 记账 × 70%
        定义 两次 : 金额 = 记账 × 70% + 记账 × 70%
    """)
    assert value(p, "划卡", 记账=Decimal("100.05")) == Decimal("70.04")  # 70.035 → 70.04
    assert value(p, "划卡", 记账=Decimal("-100.05")) == Decimal("-70.04")  # ties away from zero
    # each product is rounded before the sum: 70.04 + 70.04, not round(140.07)
    assert value(p, "两次", 记账=Decimal("100.05")) == Decimal("140.08")


def test_policy_rounding_to_yuan_and_explicit_rounding(tmp_path: Path) -> None:
    p = policy(tmp_path, """
        输入 费用 : 金额
        定义 补助 : 金额 = 费用 × 50%
        定义 到角 : 金额 = 四舍五入(费用 × 1.5, 角)
    """, header="政策 测试\n    舍入 到 元\n\n")
    assert value(p, "补助", 费用=Decimal("10.99")) == Decimal("5")  # 5.495 → 5 元
    assert value(p, "补助", 费用=Decimal("11")) == Decimal("6")  # 5.5 → 6 元
    # an explicit 四舍五入 decides the rounding of the product it wraps: 1.545 → 1.5
    assert value(p, "到角", 费用=Decimal("1.03")) == Decimal("1.5")


def test_division_keeps_ten_places_and_money_division_rounds(tmp_path: Path) -> None:
    p = policy(tmp_path, """
        输入 甲 : 金额
        输入 乙 : 金额
        定义 倍数 : 数 = 甲 ÷ 乙
        定义 人均 : 金额 = 甲 ÷ 3
    """)
    assert value(p, "倍数", 甲=Decimal(1), 乙=Decimal(3)) == Decimal("0.3333333333")
    assert value(p, "倍数", 甲=Decimal(1), 乙=Decimal(8)) == Decimal("0.125")
    assert value(p, "人均", 甲=Decimal(100), 乙=Decimal(1)) == Decimal("33.33")


def test_division_by_zero_is_an_error_at_the_division(tmp_path: Path) -> None:
    p = policy(tmp_path, """
        输入 甲 : 金额
        输入 乙 : 金额
        定义 倍数 : 数 = 甲 ÷ 乙
    """)
    outcome = run(p, ["倍数"], 甲=Decimal(1), 乙=Decimal(0))
    assert codes(outcome) == ["YB411"]
    d = outcome.diagnostics[0]
    assert (d.span.line, d.span.column) == (5, 13)  # the ÷ expression `甲 ÷ 乙`
    assert "除数为零" in d.message


def test_durations_must_come_out_whole_unless_rounded(tmp_path: Path) -> None:
    p = policy(tmp_path, """
        输入 年数 : 年数
        定义 加倍 : 年数 = 年数 × 1.5
        定义 取整 : 年数 = 四舍五入(年数 × 1.5)
        定义 月份数 : 月数 = 数值(年数) × 12个月
    """)
    assert value(p, "加倍", 年数=2) == 3
    assert value(p, "取整", 年数=3) == 5  # 4.5 → 5
    assert value(p, "月份数", 年数=2) == 24
    outcome = run(p, ["加倍"], 年数=3)
    assert codes(outcome) == ["YB416"]


# ---------------------------------------------------------------- dates


def test_month_end_rule_of_civil_code_202(tmp_path: Path) -> None:
    p = policy(tmp_path, """
        输入 缴费日期 : 日期
        定义 起始 : 日期 = 缴费日期 + 1个月
        定义 一年后 : 日期 = 缴费日期 + 1年
        定义 相差 : 日数 = 起始 - 缴费日期
    """)
    assert value(p, "起始", 缴费日期=dt.date(2025, 1, 31)) == dt.date(2025, 2, 28)
    assert value(p, "起始", 缴费日期=dt.date(2024, 1, 31)) == dt.date(2024, 2, 29)
    assert value(p, "一年后", 缴费日期=dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)
    assert value(p, "相差", 缴费日期=dt.date(2025, 1, 31)) == 28
    traced = run(p, ["起始"], trace=True, 缴费日期=dt.date(2025, 1, 31))
    notes = " ".join(traced.trace[0].notes)
    assert "民法典 第二百零二条" in notes and "2025-02-28" in notes
    plain = run(p, ["起始"], trace=True, 缴费日期=dt.date(2025, 1, 15))
    assert not any("民法典" in n for n in plain.trace[0].notes)


# ---------------------------------------------------------------- parameters by 计算日期


DATED = """
    参数 筹资标准 : 金额
        自 2016年1月1日 起 60元
        自 2017年7月1日 起 100元
    输出 筹资标准
"""


def test_dated_parameter_is_chosen_by_date(tmp_path: Path) -> None:
    p = policy(tmp_path, DATED)
    assert run(p, date=dt.date(2017, 6, 30)).value("筹资标准") == Decimal(60)
    assert run(p, date=dt.date(2017, 7, 1)).value("筹资标准") == Decimal(100)
    traced = run(p, date=dt.date(2018, 1, 1), trace=True)
    assert traced.trace[0].formula == "自 2017-07-01 起 100元"
    assert any("2018-01-01" in n and "2017-07-01" in n for n in traced.trace[0].notes)


def test_date_before_first_version_names_parameter_and_first_date(tmp_path: Path) -> None:
    p = policy(tmp_path, DATED)
    outcome = run(p, date=dt.date(2015, 12, 31))
    assert codes(outcome) == ["YB413"]
    assert "筹资标准" in outcome.diagnostics[0].message
    assert "2016-01-01" in outcome.diagnostics[0].message


def test_value_before_the_first_version(tmp_path: Path) -> None:
    p = policy(tmp_path, """
        参数 比例 : 比例
            此前 60%
            自 2017年1月1日 起 65%
        输出 比例
    """)
    assert run(p, date=dt.date(2016, 12, 31)).value("比例") == Decimal("0.6")
    assert run(p, date=dt.date(2017, 1, 1)).value("比例") == Decimal("0.65")
    node = run(p, date=dt.date(2016, 1, 1), trace=True).trace[0]
    assert node.formula == "此前 60%" and any("早于 2017-01-01" in n for n in node.notes)


def test_no_date_is_an_error_only_when_needed(tmp_path: Path) -> None:
    p = policy(tmp_path, DATED + "    定义 别的 : 金额 = 1元\n")
    assert codes(run(p, ["筹资标准"])) == ["YB414"]
    assert run(p, ["别的"]).ok


def test_effective_date_of_the_policy_is_the_default(tmp_path: Path) -> None:
    p = policy(tmp_path, DATED, header="政策 测试\n    施行 2017年7月1日\n\n")
    outcome = run(p)
    assert outcome.value("筹资标准") == Decimal(100)
    assert outcome.date == dt.date(2017, 7, 1)


# ---------------------------------------------------------------- exceptions (§7)


EXCEPTIONS = """
    输入 人员类别 : 选项 {普通, 新生儿, 退役军人}
    输入 断保年数 : 年数
    条款 "二、(六)" 断保约束
        定义 等待期 : 月数 = 如果 断保年数 > 0年 则 3个月 否则 0个月
        例外 等待期 当 人员类别 属于 {新生儿} 时 = 0个月
    条款 "二、(七)" 另一条
        例外 等待期 当 人员类别 属于 {新生儿, 退役军人} 时 = 1个月
    条款 "二、(八)" 优先条款
        例外 等待期 当 人员类别 = 退役军人 时 = 2个月 优先于 "二、(七)"
"""


def test_exception_replaces_the_base_rule_and_is_explained(tmp_path: Path) -> None:
    p = policy(tmp_path, EXCEPTIONS)
    assert value(p, "等待期", 人员类别="普通", 断保年数=1) == 3
    traced = run(p, ["等待期"], trace=True, 人员类别="退役军人", 断保年数=1)
    node = traced.trace[0]
    assert node.value == 2
    fired = [c for c in node.children if c.kind == "exception"]
    assert len(fired) == 1 and fired[0].clause is not None and fired[0].clause.id == "二、(八)"
    assert any("替代了基本规则" in n and "二、(六)" in n for n in fired[0].notes)


def test_conflicting_exceptions_name_both_clauses(tmp_path: Path) -> None:
    p = policy(tmp_path, EXCEPTIONS)
    outcome = run(p, ["等待期"], 人员类别="新生儿", 断保年数=1)
    assert codes(outcome) == ["YB412"]
    message = outcome.diagnostics[0].message
    assert "二、(六)" in message and "二、(七)" in message


def test_base_rule_not_evaluated_when_an_exception_fires(tmp_path: Path) -> None:
    p = policy(tmp_path, EXCEPTIONS)
    # 断保年数 is only needed by the base rule
    outcome = run(p, ["等待期"], 人员类别="退役军人")
    assert outcome.ok and outcome.value("等待期") == 2


# ---------------------------------------------------------------- demand and missing inputs


def test_only_needed_inputs_are_required_and_missing_ones_are_reported_together(tmp_path: Path) -> None:
    p = policy(tmp_path, """
        输入 甲 : 金额
        输入 乙 : 金额
        输入 丙 : 金额
        输入 丁 : 是否
        定义 和 : 金额 = 甲 + 乙
        定义 只用丙 : 金额 = 丙 × 2
        定义 条件 : 金额 = 如果 丁 则 甲 否则 丙
        定义 短路 : 是否 = 丁 或 甲 > 0元
    """)
    assert value(p, "只用丙", 丙=Decimal(1)) == Decimal(2)
    outcome = run(p, ["和", "只用丙"])
    assert codes(outcome) == ["YB410", "YB410", "YB410"]
    messages = [d.message for d in outcome.diagnostics]
    assert any("甲" in m and "计算 和" in m for m in messages)
    assert any("乙" in m and "计算 和" in m for m in messages)
    assert any("丙" in m and "只用丙" in m for m in messages)
    # 如果 evaluates only the branch taken; 或 short-circuits
    assert value(p, "条件", 丁=True, 甲=Decimal(5)) == Decimal(5)
    assert value(p, "短路", 丁=True) is True


# ---------------------------------------------------------------- blocks


BLOCKS = """
    类型 等级 = 选项 {三级, 二级, 其他}
    输入 医院等级 : 等级
    输入 人员 : 选项 {在职, 退休}
    输入 年数 : 年数
    输入 负担 : 金额
    定义 比例 : 比例 = 查表 (人员, 医院等级)
                三级    二级    其他
        在职      90%     92%     94%
        退休      92%     94%     96%
    定义 起付 : 金额 =
        分情况 医院等级
            三级 : 1200元
            其余 : 600元
    定义 降低额 : 金额 =
        分档 年数
            1年 : 100元
            2年 : 200元
            3年 以上 : 300元
    定义 大病 : 金额 =
        分段累进 负担
            2万元 至 10万元（含） 按 50%
            10万元 至 20万元（含） 按 60%
            超过 20万元 按 70%
"""


def test_table_cases_steps_and_bands(tmp_path: Path) -> None:
    p = policy(tmp_path, BLOCKS)
    assert value(p, "比例", 人员="退休", 医院等级="二级") == Decimal("0.94")
    assert value(p, "起付", 医院等级="其他") == Decimal(600)
    assert value(p, "降低额", 年数=2) == Decimal(200)
    assert value(p, "降低额", 年数=7) == Decimal(300)
    assert value(p, "大病", 负担=Decimal(150000)) == Decimal(70000)
    assert value(p, "大病", 负担=Decimal(250000)) == Decimal(135000)
    assert value(p, "大病", 负担=Decimal(15000)) == Decimal(0)


def test_step_without_matching_row_is_an_error(tmp_path: Path) -> None:
    p = policy(tmp_path, BLOCKS)
    outcome = run(p, ["降低额"], 年数=0)
    assert codes(outcome) == ["YB418"]


def test_band_trace_lists_every_band_and_says_why_zero(tmp_path: Path) -> None:
    p = policy(tmp_path, BLOCKS)
    node = run(p, ["大病"], trace=True, 负担=Decimal("15000")).trace[0]
    bands = [c for c in node.children if c.kind == "band"]
    assert [b.value for b in bands] == [Decimal("0.00")] * 3
    assert any(n.startswith("不适用：") and "15,000.00元" in n for n in node.notes)
    node = run(p, ["大病"], trace=True, 负担=Decimal("150000")).trace[0]
    bands = [c for c in node.children if c.kind == "band"]
    assert [b.display for b in bands] == ["40,000.00元", "30,000.00元", "0.00元"]
    assert bands[0].formula == "(100,000.00元 - 20,000.00元) × 50%"


def test_table_cell_in_trace(tmp_path: Path) -> None:
    p = policy(tmp_path, BLOCKS)
    node = run(p, ["比例"], trace=True, 人员="在职", 医院等级="三级").trace[0]
    cells = [c for c in node.children if c.kind == "cell"]
    assert len(cells) == 1 and cells[0].name == "查表「在职 × 三级」" and cells[0].display == "90%"


# ---------------------------------------------------------------- assertions, functions, imports


def test_assertion_failure_cites_clause_and_is_skipped_without_inputs(tmp_path: Path) -> None:
    p = policy(tmp_path, """
        输入 费用 : 金额
        输入 别的 : 金额
        条款 "一、" 上限
            定义 支付 : 金额 = 费用 × 90%
            断言 支付 不超过 1万元 "支付不超过1万元"
        定义 无关 : 金额 = 别的
    """)
    outcome = run(p, ["支付"], 费用=Decimal(20000))
    assert codes(outcome) == ["YB415"]
    assert outcome.diagnostics[0].clause == "一、"
    assert "18,000.00元 不超过 1万元" in outcome.diagnostics[0].hint
    skipped = run(p, ["无关"], 别的=Decimal(1))
    assert skipped.ok and skipped.skipped and "费用" in skipped.skipped[0]


def test_functions(tmp_path: Path) -> None:
    p = policy(tmp_path, """
        函数 起付报销(费用: 金额, 起付: 金额, 比例: 比例) : 金额 = (费用 - 起付) × 比例 保底 0元
        输入 费用 : 金额
        定义 报销 : 金额 = 起付报销(费用, 500元, 50%)
    """)
    assert value(p, "报销", 费用=Decimal(2000)) == Decimal(750)
    assert value(p, "报销", 费用=Decimal(200)) == Decimal(0)
    node = run(p, ["报销"], trace=True, 费用=Decimal(2000)).trace[0]
    assert any(c.kind == "function" and c.value == Decimal(750) for c in node.children)


def test_imports_with_bindings_and_own_rounding(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "lower.ybl").write_text(textwrap.dedent("""
        政策 下层
            舍入 到 元

        输入 负担 : 金额
        定义 报销 : 金额 = 负担 × 50%
    """).lstrip(), encoding="utf-8")
    p = policy(tmp_path, """
        引用 "lower.ybl" 作为 甲
            代入 负担 = 费用 - 100元
        引用 "lower.ybl" 作为 乙
        输入 费用 : 金额
        定义 一 : 金额 = 甲.报销
        定义 二 : 金额 = 乙.报销
        定义 本层 : 金额 = 费用 × 50%
    """)
    # 甲: (1001 - 100) × 50% = 450.5 → 451 元 (the imported policy keeps 舍入 到 元)
    assert value(p, "一", 费用=Decimal(1001)) == Decimal(451)
    # 乙 is unbound: 负担 comes from the case
    assert value(p, "二", 负担=Decimal(3)) == Decimal(2)
    assert value(p, "本层", 费用=Decimal("1.01")) == Decimal("0.51")


def test_unknown_output_has_a_suggestion(tmp_path: Path) -> None:
    p = policy(tmp_path, "输入 费用 : 金额\n定义 报销额 : 金额 = 费用\n")
    outcome = run(p, ["报销"])
    assert codes(outcome) == ["YB409"]
    assert "报销额" in outcome.diagnostics[0].hint


def test_evaluator_is_compiled_once_per_program(tmp_path: Path) -> None:
    p = policy(tmp_path, "输入 费用 : 金额\n定义 报销额 : 金额 = 费用\n")
    assert evaluator_for(p) is evaluator_for(p)
    assert evaluator_for(p, True) is not evaluator_for(p, False)
    runner = evaluator_for(p).runner(["报销额"])
    assert runner({"费用": Decimal(5)}, None) == [Decimal(5)]


@pytest.mark.parametrize("policy_file", sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.ybl")),
                         ids=lambda p: p.stem)
def test_examples_evaluate_their_samples(policy_file: Path) -> None:
    from yibaolang.engines.cases import run_examples

    program = compile_policy(policy_file)
    assert not any(d.is_error for d in program.diagnostics)
    results = run_examples(program)
    assert all(r.passed for r in results), [r.details for r in results if not r.passed]


# ---------------------------------------------------------------- defects of issue 10


INVERTED = """
    输入 费用 : 金额
    输入 起付 : 金额
    条款 "二" 大病保险
        定义 大病 : 金额 =
            分段累进 费用
                起付 至 10万元（含） 按 50%
                超过 10万元 按 60%
"""


def test_an_inverted_band_is_an_error_naming_the_band_the_clause_and_both_values(tmp_path: Path) -> None:
    p = policy(tmp_path, INVERTED)
    assert value(p, "大病", 费用=Decimal(150000), 起付=Decimal(20000)) == Decimal(70000)
    for trace in (False, True):
        outcome = run(p, ["大病"], trace=trace, 费用=Decimal(150000), 起付=Decimal(200000))
        assert codes(outcome) == ["YB422"]
        problem = outcome.diagnostics[0]
        assert problem.message == ("分段颠倒：大病 的 分段累进 第1段「起付 至 10万元（含）」的起点 200,000.00元 "
                                   "高于终点 100,000.00元")
        assert problem.clause == "二"
        assert problem.span.line == 8  # the band's own line


def test_the_vector_engine_sends_inverted_band_rows_to_the_interpreter(tmp_path: Path) -> None:
    import pyarrow as pa

    from yibaolang.tools.batch import Runner

    p = policy(tmp_path, INVERTED)
    table = pa.table({"费用": pa.array(["15万元", "15万元", "5万元"]), "起付": pa.array(["2万元", "20万元", "20万元"])})
    fast = Runner(p, strict=True).evaluate(table)
    slow = Runner(p, engine="interpreter").evaluate(table)
    assert fast.errors.to_pylist() == slow.errors.to_pylist()
    assert fast.columns["大病"].to_pylist() == slow.columns["大病"].to_pylist()
    errors = fast.errors.to_pylist()
    assert not errors[0] and "分段颠倒" in errors[1] and "200,000.00元" in errors[2]


@pytest.mark.parametrize(("body", "path"), [
    ("""
        输入 费用 : 金额
        定义 甲 : 金额 = 费用 × 50%
        例外 甲 当 甲 > 1元 时 = 1元
    """, "甲 →（例外）甲"),
    ("""
        输入 费用 : 金额
        定义 报销 : 金额 = 费用 × 50%
        定义 翻倍 : 金额 = 报销 × 2
        条款 "三" 例外
            例外 报销 当 翻倍 > 1万元 时 = 5000元
    """, "报销 →（条款 三 的例外）翻倍 → 报销"),
])
def test_an_exception_reading_its_own_figure_is_a_cycle(tmp_path: Path, body: str, path: str) -> None:
    from click.testing import CliRunner

    from yibaolang.tools.cli import main

    file = tmp_path / "p.ybl"
    file.write_text(HEADER + textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    program = compile_policy(file)
    cycles = [d for d in program.diagnostics if d.code == "YB320"]
    assert [d.message for d in cycles] == [f"定义之间循环依赖：{path}"]
    checked = CliRunner().invoke(main, ["check", str(file)])
    assert checked.exit_code == 1 and path in checked.output
    case = tmp_path / "c.yaml"
    case.write_text("费用: 100元\n", encoding="utf-8")
    ran = CliRunner().invoke(main, ["run", str(file), "--case", str(case)])
    assert ran.exit_code == 1 and "YB320" in ran.output and "内部错误" not in ran.output
