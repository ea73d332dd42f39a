"""Case files (docs/cli.md 案例文件): exact numbers, typed strings, every problem at once, suites."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibaolang.checks.compiler import compile_policy
from yibaolang.checks.resolve import Program
from yibaolang.diagnostics import Diagnostic
from yibaolang.engines.cases import load_case_file, load_suite, parse_assignment, parse_case_text, run_suite, validate
from yibaolang.outputs.render.text import render_node_plain

POLICY = """
政策 案例测试

类型 医院等级 = 选项 {三级, 二级, 其他}
输入 费用 : 金额 范围 0元 至 100万元
输入 比例 : 比例
输入 等待 : 月数
输入 年数 : 年数 默认 0年
输入 日期 : 日期
输入 等级 : 医院等级
输入 缴费 : 是否
输入 次序 : 数
定义 报销 : 金额 = 费用 × 比例
输出 报销
"""


@pytest.fixture
def program(tmp_path: Path) -> Program:
    path = tmp_path / "p.ybl"
    path.write_text(POLICY.lstrip(), encoding="utf-8")
    return compile_policy(path)


def check(program: Program, text: str, file: str = "case.yaml") -> tuple[dict[str, object], list[Diagnostic]]:
    raw, problems = parse_case_text(textwrap.dedent(text), file)
    assert raw is not None, [d.message for d in problems]
    case, more = validate(program, raw)
    return case.values, problems + more


def test_numbers_are_exact_decimals_never_floats(program: Program) -> None:
    values, problems = check(program, """
        费用: 0.1
        比例: 0.3
        等待: 3
        次序: 2.5
    """)
    assert problems == []
    assert values == {"费用": Decimal("0.1"), "比例": Decimal("0.3"), "等待": 3, "次序": Decimal("2.5")}
    assert all(not isinstance(v, float) for v in values.values())


def test_typed_strings(program: Program) -> None:
    values, problems = check(program, """
        费用: "1.8万元"
        比例: "50%"
        等待: "3个月"
        年数: 4年
        日期: "2025年3月1日"
        等级: 三级
        缴费: 是
        次序: "2倍"
    """)
    assert problems == []
    assert values == {"费用": Decimal(18000), "比例": Decimal("0.5"), "等待": 3, "年数": 4,
                      "日期": dt.date(2025, 3, 1), "等级": "三级", "缴费": True, "次序": Decimal(2)}


def test_every_problem_is_reported_at_once_with_the_input_name(program: Program) -> None:
    _, problems = check(program, """
        费永: 100
        比例: "3个月"
        等待: "1年"
        日期: "2025-02-30"
        等级: 三极
        费用: 2000000
        缴费: 1
        次序: "abc"
    """)
    by_code = {d.code: d for d in problems}
    assert sorted(d.code for d in problems) == ["YB402", "YB403", "YB403", "YB403", "YB403", "YB404", "YB405",
                                                 "YB406"]
    assert "费永" in by_code["YB402"].message and "费用" in by_code["YB402"].hint
    assert "三级" in by_code["YB404"].hint
    assert "2025-02-30" in by_code["YB405"].message
    assert "费用" in by_code["YB406"].message and "1,000,000.00元" in by_code["YB406"].message
    wrong_unit = [d for d in problems if d.code == "YB403" and d.message.startswith("输入 等待")]
    assert wrong_unit and "年数" in wrong_unit[0].message
    # each problem points at its line in the case file
    assert by_code["YB402"].span.line == 2 and by_code["YB405"].span.line == 5


def test_money_with_more_than_two_decimals(program: Program) -> None:
    _, problems = check(program, "费用: 12.345\n")
    assert [d.code for d in problems] == ["YB407"]
    _, problems = check(program, "费用: \"12.345元\"\n")
    assert [d.code for d in problems] == ["YB407"]


def test_invalid_yaml_has_line_and_column(program: Program) -> None:
    raw, problems = parse_case_text("费用: 1\n比例: [0.5\n等级: 三级\n", "bad.yaml")
    assert raw is None
    assert problems[0].code == "YB401"
    assert problems[0].span.line >= 2 and problems[0].span.column >= 1


def test_case_must_be_a_mapping_and_keys_unique(program: Program) -> None:
    _, problems = check(program, "- 费用: 1\n")
    assert [d.code for d in problems] == ["YB408"]
    _, problems = check(program, "费用: 1\n费用: 2\n")
    assert [d.code for d in problems] == ["YB408"]


def test_json_case(program: Program, tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text('{"费用": 1234.56, "比例": "90%", "计算日期": "2025-01-01"}', encoding="utf-8")
    raw, problems = load_case_file(str(path))
    assert raw is not None and problems == []
    case, problems = validate(program, raw)
    assert problems == []
    assert case.values == {"费用": Decimal("1234.56"), "比例": Decimal("0.9")}
    assert case.date == dt.date(2025, 1, 1)
    path.write_text('{"费用": 1,\n "比例": }', encoding="utf-8")
    raw, problems = load_case_file(str(path))
    assert raw is None and problems[0].code == "YB401" and problems[0].span.line == 2


def test_what_if_assignment(program: Program) -> None:
    assert parse_assignment(program, "费用=2万元") == ("费用", Decimal(20000))
    assert parse_assignment(program, "等待=3") == ("等待", 3)
    assert parse_assignment(program, "计算日期=2025-01-01") == ("计算日期", dt.date(2025, 1, 1))
    bad = parse_assignment(program, "费用")
    assert isinstance(bad, Diagnostic) and bad.code == "YB421"
    unknown = parse_assignment(program, "费永=1")
    assert isinstance(unknown, Diagnostic) and unknown.code == "YB402"


def test_suite_expectations_pass_and_fail(program: Program, tmp_path: Path) -> None:
    suite = tmp_path / "p.cases.yaml"
    suite.write_text(textwrap.dedent("""
        - 名称: 对
          输入: {费用: "1000元", 比例: "50%"}
          期望: {报销: "500元"}
        - 名称: 错
          输入: {费用: "1000元", 比例: "50%"}
          期望: {报销: "600元"}
        - 名称: 缺输入
          输入: {费用: "1000元"}
          期望: {报销: "500元"}
    """), encoding="utf-8")
    cases, problems = load_suite(str(suite))
    assert problems == [] and [c.name for c in cases] == ["对", "错", "缺输入"]
    results = run_suite(program, str(suite), render_node_plain)
    assert [r.passed for r in results] == [True, False, False]
    wrong = "\n".join(results[1].details)
    assert "期望 600.00元，实际 500.00元" in wrong
    assert "1,000.00元 × 50%" in wrong  # the explanation of the figure
    assert "比例" in "\n".join(results[2].details)


# ------------------------------------------------------------------ hostile case files, through the CLI


HOSTILE_POLICY = "输入 费用 : 金额\n输入 日 : 日期 默认 2024-01-01\n定义 报销 : 金额 = 费用 × 50%\n输出 报销\n"
# Words of Python's and the parsers' own messages that must never reach a drafter.
ENGLISH = re.compile(r"[A-Za-z]{4,}")
ALLOWED = {"YAML", "JSON", "true", "false", "python", "object", "apply", "system"}  # the tag is quoted back


@pytest.mark.parametrize(("name", "text", "code", "where", "words"), [
    ("leap.yaml", "费用: 100元\n日: 2023-02-29\n", "YB405", (2, 4), "2 月只有 28 天"),
    ("feb30.yaml", "费用: 100元\n日: 2022-02-30\n", "YB405", (2, 4), "2 月只有 28 天"),
    ("month13.yaml", "费用: 100元\n日: 2022-13-01\n", "YB405", (2, 4), "没有 13 月"),
    ("tag.yaml", "费用: !!python/object:os.system {}\n", "YB403", (1, 5), "不支持的 YAML 标签"),
    ("tag2.yaml", "费用: !!python/object/apply:os.system [echo]\n", "YB403", (1, 5), "不支持的 YAML 标签"),
    ("nul.yaml", "费用: 1\x00\n", "YB401", (1, 6), "空字符"),
    ("nul-escape.yaml", '费用: "1\\0元"\n', "YB403", (1, 5), "控制字符 U+0000"),
    ("long.yaml", "费用: \"" + "1" * 100_000 + "\"\n", "YB403", (1, 5), "值过长"),
    ("digits.yaml", "费用: " + "1" * 5000 + "\n", "YB403", (1, 5), "位数过多"),
    ("deep.yaml", "费用: " + "[" * 5000 + "]" * 5000 + "\n", "YB401", (1, 36), "嵌套过深"),
    ("big.json", '{"费用": ' + "1" * 5000 + "}", "YB403", (1, 8), "位数过多"),
    ("exponent.json", '{"费用": 1e99999999}', "YB403", (1, 2), "过大或过于精细"),
    ("deep.json", '{"费用": ' + "[" * 5000 + "]" * 5000 + "}", "YB401", (1, 39), "嵌套过深"),
    ("nul.json", '{"费用": "1\\u0000"}', "YB403", (1, 2), "控制字符 U+0000"),
    ("raw-nul.json", '{"费用": "1\x00"}', "YB401", (1, 10), "空字符"),
    ("bad.json", '{"费用": 1,}', "YB401", (1, 10), "名称要用双引号"),
])
def test_hostile_case_values_get_a_located_chinese_diagnostic(tmp_path: Path, name: str, text: str, code: str,
                                                             where: tuple[int, int], words: str) -> None:
    from click.testing import CliRunner

    from yibaolang.tools.cli import main

    policy = tmp_path / "p.ybl"
    policy.write_text(HOSTILE_POLICY, encoding="utf-8")
    case = tmp_path / name
    case.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(policy), "--case", str(case)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    head = result.output.splitlines()[0]
    assert head.startswith(f"{case}:{where[0]}:{where[1]}: 错误[{code}]"), head
    assert words in result.output
    assert "提示：" in result.output
    assert len(result.output) < 2000  # a long value is never echoed whole
    words_shown = [line.split(": ", 1)[1] for line in result.output.splitlines() if "错误[" in line]
    words_shown += [line for line in result.output.splitlines() if "提示：" in line]
    leaked = set(ENGLISH.findall(" ".join(words_shown))) - ALLOWED  # the messages, not the echoed source line
    assert not leaked, result.output


YAML_BITS = st.sampled_from(["费用", ": ", "\n", "  ", "- ", "[", "]", "{", "}", "\"", "'", "!!python/object:x", "&a",
                             "*a", "2023-02-29", "1" * 60, "1e99", "\x00", "\x1b", "#", ",", "?", "|", ">", "\t", "名称"])


@settings(max_examples=300, deadline=None)
@given(st.lists(YAML_BITS, max_size=40), st.sampled_from(["c.yaml", "c.json"]))
def test_no_case_text_raises_and_every_problem_is_located(bits: list[str], file: str) -> None:
    raw, problems = parse_case_text("".join(bits), file)
    assert raw is not None or problems
    for d in problems:
        assert d.code.startswith("YB4") and d.span.line >= 1 and d.span.column >= 1
        assert d.message and d.hint is not None
