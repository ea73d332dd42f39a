"""Constructs of issue 17 (docs/language.md §3, §24, §25): 万/亿 on plain numbers, a 查表 row listing
several keys, 封顶/保底 on the lines after a block, and the diagnostics that show how to write them."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_fuzz import _shape
from yibaolang import ir
from yibaolang.frontend import syntax
from yibaolang.frontend.source import from_text
from yibaolang.ir import printer
from yibaolang.ir.types import NUMBER
from yibaolang.semantics.values import parse_value

GOLDEN = Path(__file__).resolve().parent / "golden" / "explain"


def parse(text: str) -> tuple[ir.Module, list[Any]]:
    module, diagnostics = syntax.parse(from_text("t.ybl", text))
    return module, diagnostics


def only_definition(text: str) -> ir.Expr:
    module, diagnostics = parse(text)
    assert diagnostics == []
    return module.definitions[-1].expr


@pytest.mark.parametrize(("written", "value"), [("500万", 5000000), ("2亿", 200000000), ("1.5万", 15000),
                                                 ("0.25亿", 25000000), ("7", 7)])
def test_scaled_number_literal(written: str, value: int) -> None:
    expr = only_definition(f"定义 人数 = {written}\n")
    assert isinstance(expr, ir.Literal) and expr.kind is ir.LiteralKind.NUMBER
    assert expr.value == Decimal(value) and expr.text == written


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["万", "亿"]))
def test_scaled_number_is_bounded_like_money(digits: int, unit: str) -> None:
    scale = 10**4 if unit == "万" else 10**8
    module, diagnostics = parse(f"定义 人数 = {digits}{unit}\n")
    too_large = digits * scale >= 10**15
    assert [d.code for d in diagnostics] == (["YB004"] if too_large else [])
    if not too_large:
        assert module.definitions[0].expr.value == digits * scale  # type: ignore[union-attr]


def test_scaled_number_in_a_range() -> None:
    module, diagnostics = parse("输入 参保人数 : 数 范围 0 至 2亿\n")
    assert diagnostics == []
    assert module.inputs[0].range_high.value == Decimal(200000000)  # type: ignore[union-attr]


def test_case_value_scaled_number() -> None:
    assert parse_value("500万", NUMBER) == Decimal(5000000)
    assert parse_value("2亿", NUMBER) == Decimal(200000000)


def test_table_row_with_several_keys_is_one_row_per_key() -> None:
    expr = only_definition("定义 起付 : 金额 =\n    查表 (等级)\n        基层, 一级 : 0元\n        二级 : 500元\n")
    assert isinstance(expr, ir.Table)
    assert [r.key for r in expr.rows] == ["基层", "一级", "二级"]
    assert expr.rows[0].cells == expr.rows[1].cells


def test_two_key_table_row_with_several_keys() -> None:
    expr = only_definition("定义 比例 : 比例 = 查表 (等级, 人员)\n        在职  退休\n"
                           "    基层, 一级  90%  95%\n    二级  80%  85%\n")
    assert isinstance(expr, ir.Table)
    assert [(r.key, [c.text for c in r.cells]) for r in expr.rows] == [  # type: ignore[attr-defined]
        ("基层", ["90%", "95%"]), ("一级", ["90%", "95%"]), ("二级", ["80%", "85%"])]


BLOCK_WITH_LIMITS = """定义 报销 : 金额 =
    分段累进 费用
        0元 至 10万元 按 50%
    封顶 20万元
    保底 1元
"""


def test_limits_after_a_block_wrap_it_top_to_bottom() -> None:
    expr = only_definition(BLOCK_WITH_LIMITS)
    assert isinstance(expr, ir.Bounded) and expr.kind is ir.BoundKind.FLOOR
    inner = expr.value
    assert isinstance(inner, ir.Bounded) and inner.kind is ir.BoundKind.CAP
    assert isinstance(inner.value, ir.Banded)
    assert (expr.span.line, expr.span.end_line) == (2, 5)


def test_limits_after_a_block_are_the_inline_cap() -> None:
    inline = only_definition("定义 分段 : 金额 =\n    分段累进 费用\n        0元 至 10万元 按 50%\n")
    expr = only_definition(BLOCK_WITH_LIMITS)
    assert isinstance(expr, ir.Bounded) and isinstance(expr.value, ir.Bounded)
    assert _shape(expr.value.value) == _shape(inline)


def test_printed_block_limits_parse_back() -> None:
    module, _ = parse("输入 费用 : 金额\n" + BLOCK_WITH_LIMITS)
    text = printer.module_text(module)
    assert "    封顶 200000元\n    保底 1元" in text
    again, diagnostics = parse(text)
    assert diagnostics == [] and _shape(again) == _shape(module)


@pytest.mark.parametrize(("text", "message", "hint"), [
    ("定义 报销 : 金额 = 分段累进 费用\n    0元 至 10万元 按 50%\n封顶 8万元\n", "这里不能写 封顶", "封顶 20万元"),
    (BLOCK_WITH_LIMITS.replace("    封顶", "        封顶"), "这里不能写 封顶", "与块的第一行对齐"),
    ("定义 补助 : 金额 =\n    分情况 在职\n        是 : 100元\n        否 : 0元\n", "是否", "如果 在职 则"),
    ("定义 起付 : 金额 =\n    查表 (等级)\n        基层 一级 : 0元\n", "名称“一级”", "基层, 一级 : 0元"),
])
def test_wrong_way_diagnostics_say_what_to_write(text: str, message: str, hint: str) -> None:
    _, diagnostics = parse(text)
    assert diagnostics, text
    assert message in diagnostics[0].message and hint in diagnostics[0].hint


@pytest.mark.parametrize("divisor", ["0", "0元", "(0)", "0.00", "0%"])
def test_literal_zero_divisor_is_refused_when_checked(divisor: str) -> None:
    _, diagnostics = parse(f"定义 人均 = 费用 ÷ {divisor}\n")
    assert [d.code for d in diagnostics] == ["YB411"]


def test_nonzero_literal_divisor_is_fine() -> None:
    _, diagnostics = parse("定义 人均 = 费用 ÷ 0.01\n")
    assert diagnostics == []


def test_exception_may_not_override_its_own_clause() -> None:
    text = ('条款 "三" 特殊人群\n    定义 起付 : 金额 = 500元\n'
            '    例外 起付 当 甲 时 = 0元 优先于 "三"\n    例外 起付 当 乙 时 = 1元 优先于 "四"\n')
    _, diagnostics = parse(text)
    assert [(d.code, d.span.line) for d in diagnostics] == [("YB108", 3)]
    assert '优先于 "三"' in diagnostics[0].hint


HEADER_POLICY = """政策 天津市医保（2025版）：门诊“两病”待遇
    文号 "津医保发〔2025〕12号，关于进一步完善城乡居民基本医疗保险门诊慢特病保障的通知（试行）"
    施行 2025-07-01
    失效 2026-07-01

输入 费用 : 金额
条款 "一、（二）" 报销比例（含“两病”）
    定义 报销 : 金额 = 费用 × 50%
输出 报销
"""


def test_titles_are_kept_as_written() -> None:
    module, diagnostics = parse(HEADER_POLICY)
    assert diagnostics == []
    assert module.header is not None and module.header.name == "天津市医保（2025版）：门诊“两病”待遇"
    assert module.clauses[0].title == "报销比例（含“两病”）"
    assert module.clauses[0].id == "一、(二)"  # ids still compare after the full-width mapping


def explain_output(tmp_path: Path, date: str) -> str:
    from click.testing import CliRunner

    from yibaolang.tools.cli import main

    (tmp_path / "两病.ybl").write_text(HEADER_POLICY, encoding="utf-8")
    (tmp_path / "案例.yaml").write_text("费用: 100元\n", encoding="utf-8")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, ["explain", "两病.ybl", "--case", "案例.yaml", "--date", date,
                                           "--width", "60"], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code == 0
    return result.output


def test_explain_header_and_a_date_before_the_policy(tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    text = explain_output(tmp_path, "2025-01-01")
    first = text.splitlines()[0]
    assert "天津市医保（2025版）：门诊“两病”待遇" in first and "慢特病保障的通知（试行）" in first
    assert "警告[YB426]" in text and "施行 日期 2025-07-01" in text
    golden(GOLDEN / "header_as_written.txt", text)


@pytest.mark.parametrize(("date", "warned"), [("2025-06-30", True), ("2025-07-01", False),
                                              ("2026-06-30", False), ("2026-07-01", True)])
def test_date_outside_the_policy_is_a_warning(tmp_path: Path, date: str, warned: bool) -> None:
    assert ("YB426" in explain_output(tmp_path, date)) is warned


REFUSING_POLICY = """政策 拒绝
输入 费用 : 金额 范围 0元 至 100万元
输入 人数 : 数
条款 "二、（五）" 人均
    定义 人均 : 金额 = 费用 ÷ 人数
输出 人均
"""

REFUSING_CASES = """- 名称: 正常
  输入: {费用: 100元, 人数: 4}
  期望: {人均: 25元}
- 名称: 除以零
  输入: {费用: 100元, 人数: 0}
  错误: YB411
  条款: 二、(五)
- 名称: 超出范围
  输入: {费用: 200万元, 人数: 1}
  错误: YB4
- 名称: 以为会错
  输入: {费用: 100元, 人数: 1}
  错误: YB411
- 名称: 条款不对
  输入: {费用: 100元, 人数: 0}
  错误: YB411
  条款: 三
- 名称: 拼错字段
  输入: {费用: 100元, 人数: 2}
  期待: {人均: 50元}
- 名称: 没有期望
  输入: {费用: 100元, 人数: 2}
- 名称: 错误不是代码
  输入: {费用: 100元, 人数: 0}
  错误: 除数为零
"""


def run_refusing_suite(tmp_path: Path) -> dict[str, tuple[bool, list[str]]]:
    from yibaolang.checks.compiler import compile_policy
    from yibaolang.engines.cases import run_suite

    (tmp_path / "拒绝.ybl").write_text(REFUSING_POLICY, encoding="utf-8")
    (tmp_path / "拒绝.cases.yaml").write_text(REFUSING_CASES, encoding="utf-8")
    program = compile_policy(str(tmp_path / "拒绝.ybl"))
    results = run_suite(program, str(tmp_path / "拒绝.cases.yaml"))
    return {r.name.strip("“”"): (r.passed, r.details) for r in results}


def test_cases_that_expect_an_error(tmp_path: Path) -> None:
    results = run_refusing_suite(tmp_path)
    assert {name: ok for name, (ok, _) in results.items()} == {
        "正常": True, "除以零": True, "超出范围": True, "以为会错": False, "条款不对": False,
        "拼错字段": False, "没有期望": False, "错误不是代码": False}
    assert results["以为会错"][1] == ["期望错误 YB411，但这个案例算出来了"]
    assert "实际是 YB411" in results["条款不对"][1][0]


def test_a_malformed_case_is_one_failure_of_its_own(tmp_path: Path) -> None:
    results = run_refusing_suite(tmp_path)
    assert "样例文件" not in results  # the other cases still run, and nothing malformed passes
    assert any("未知的字段“期待”" in line and "是否想写 期望" in line for line in results["拼错字段"][1])
    assert any("应为诊断代码" in line for line in results["错误不是代码"][1])


def test_yibaolang_test_counts_each_case_once(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from yibaolang.tools.cli import main

    run_refusing_suite(tmp_path)
    result = CliRunner().invoke(main, ["test", str(tmp_path / "拒绝.ybl")])
    assert result.exit_code != 0
    assert result.output.splitlines()[-1] == "3 passed, 5 failed"
    assert "通过" not in "\n".join(line for line in result.output.splitlines() if "拼错字段" in line)


CLAIM_NUMBER = Path(__file__).resolve().parent / "conformance" / "accumulate" / "good" / "claim_number.ybl"


def test_claims_are_numbered_within_the_year(tmp_path: Path) -> None:
    """docs/language.md 12.1: 此前住院次数 累计 本次计次 numbers each person's claims in the 统筹年度."""
    import csv

    from click.testing import CliRunner

    from yibaolang.tools.cli import main

    claims = CLAIM_NUMBER.with_suffix(".claims.csv")
    out = tmp_path / "结果.csv"
    result = CliRunner().invoke(main, ["run", str(CLAIM_NUMBER), "--cases", str(claims), "-o", str(out),
                                       "--person", "参保人", "--claim-date", "结算日期"])
    assert result.exit_code == 0, result.output
    with claims.open(encoding="utf-8") as f:
        want = list(csv.DictReader(f))
    with out.open(encoding="utf-8-sig") as f:
        got = list(csv.DictReader(f))
    for name in ("第几次住院", "起付标准", "统筹支付"):
        assert [Decimal(row[name]) for row in got] == [Decimal(row[f"期望.{name}"]) for row in want], name


def test_limit_hint_only_after_a_block() -> None:
    _, diagnostics = parse('样例 "甲"\n    封顶 = 1元\n')
    assert [(d.code, d.message) for d in diagnostics] == [("YB304", "“封顶”是关键字，不能用作名称")]
