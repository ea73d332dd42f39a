"""`yibaolang run` and `yibaolang test`: the JSON of docs/cli.md, exit codes, never a traceback."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "run"
EXAMPLE = "examples/tianjin_daibing.ybl"
EXAMPLE_CASE = "examples/tianjin_daibing.case.yaml"


pytestmark = pytest.mark.usefixtures("at_root")


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_run_json_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = cli("run", EXAMPLE, "--case", EXAMPLE_CASE, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "yibaolang.run/1"
    assert doc["policy"] == EXAMPLE and doc["date"] == "2017-03-01"
    assert doc["outputs"]["大病保险报销"] == {"type": "金额", "value": "70000.00", "display": "70,000.00元"}
    assert doc["outputs"]["药店报销比例"] == {"type": "比例", "value": "0.5", "display": "50%"}
    golden(GOLDEN / "tianjin_daibing.json", result.stdout)


def test_run_text_and_output_any_definition(golden) -> None:  # type: ignore[no-untyped-def]
    result = cli("run", EXAMPLE, "--case", EXAMPLE_CASE)
    assert result.exit_code == 0
    golden(GOLDEN / "tianjin_daibing.txt", result.stdout)
    result = cli("run", EXAMPLE, "--case", EXAMPLE_CASE, "--output", "大额救助计算额", "--output", "居民门诊起付标准",
                 "--format", "json")
    doc = json.loads(result.stdout)
    assert list(doc["outputs"]) == ["大额救助计算额", "居民门诊起付标准"]
    assert doc["outputs"]["大额救助计算额"]["value"] == "40000.00"


def test_run_value_encodings(tmp_path: Path) -> None:
    policy = tmp_path / "enc.ybl"
    policy.write_text(textwrap.dedent("""
        政策 编码
        输入 d : 日期
        输入 e : 选项 {甲, 乙}
        定义 钱 : 金额 = 1.5元 × 3
        定义 比 : 比例 = 12.5%
        定义 数目 : 数 = 2.50 × 1
        定义 月 : 月数 = 3个月
        定义 日 : 日期 = d + 1个月
        定义 真 : 是否 = e = 甲
    """).lstrip(), encoding="utf-8")
    case = tmp_path / "c.yaml"
    case.write_text("d: 2024-01-31\ne: 甲\n", encoding="utf-8")
    result = cli("run", str(policy), "--case", str(case), "--format", "json",
                 *(x for name in ["钱", "比", "数目", "月", "日", "真"] for x in ("--output", name)))
    assert result.exit_code == 0, result.output
    values = {k: v["value"] for k, v in json.loads(result.stdout)["outputs"].items()}
    assert values == {"钱": "4.50", "比": "0.125", "数目": "2.5", "月": 3, "日": "2024-02-29", "真": True}


def test_date_option_overrides_the_case() -> None:
    result = cli("run", EXAMPLE, "--case", EXAMPLE_CASE, "--date", "2016-06-30", "--output", "药店报销比例")
    assert result.exit_code == 1
    assert "YB413" in result.stderr and "2017-01-01" in result.stderr
    result = cli("run", EXAMPLE, "--case", EXAMPLE_CASE, "--date", "2016-13-01")
    assert result.exit_code == 2


def test_case_problems_exit_1_with_all_problems(tmp_path: Path) -> None:
    case = tmp_path / "bad.yaml"
    case.write_text("大病个人负责: 1\n参保类别: 农民\n门诊费用: \"50%\"\n", encoding="utf-8")
    result = cli("run", EXAMPLE, "--case", str(case))
    assert result.exit_code == 1
    for code in ("YB402", "YB404", "YB403"):
        assert code in result.stderr
    assert "大病个人负担" in result.stderr  # did you mean
    assert "Traceback" not in result.output


def test_missing_inputs_are_listed_with_the_figure(tmp_path: Path) -> None:
    case = tmp_path / "partial.yaml"
    case.write_text("计算日期: 2017-03-01\n", encoding="utf-8")
    result = cli("run", EXAMPLE, "--case", str(case), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    missing = [d["message"] for d in doc["diagnostics"] if d["code"] == "YB410"]
    assert any("大病个人负担" in m and "大病保险报销" in m for m in missing)
    assert any("参保类别" in m for m in missing)
    assert any("个人应缴费额" in m for m in missing)
    assert "居民门诊报销" in doc["outputs"]  # what could be computed still is


def test_compile_errors_exit_1(tmp_path: Path) -> None:
    policy = tmp_path / "broken.ybl"
    policy.write_text("政策 坏\n定义 甲 : 金额 = 乙\n", encoding="utf-8")
    case = tmp_path / "c.yaml"
    case.write_text("{}\n", encoding="utf-8")
    result = cli("run", str(policy), "--case", str(case))
    assert result.exit_code == 1 and "YB301" in result.stderr
    assert cli("run", EXAMPLE).exit_code == 2  # no --case: usage error


def test_test_command_on_the_examples() -> None:
    result = cli("test", EXAMPLE)
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().splitlines()[-1] == "2 passed, 0 failed"


def test_test_command_failure_shows_expected_actual_and_explanation(tmp_path: Path) -> None:
    policy = tmp_path / "p.ybl"
    policy.write_text(textwrap.dedent("""
        政策 测试
        输入 费用 : 金额
        定义 报销 : 金额 = (费用 - 500元) × 50% 保底 0元
        样例 "写错的期望"
            费用 = 2000元
            期望 报销 = 800元
        样例 "对的"
            费用 = 100元
            期望 报销 = 0元
    """).lstrip(), encoding="utf-8")
    (tmp_path / "p.cases.yaml").write_text(textwrap.dedent("""
        - 名称: 也对
          输入: {费用: 3000元}
          期望: {报销: 1250}
    """), encoding="utf-8")
    result = cli("test", str(tmp_path))
    assert result.exit_code == 1
    lines = result.stdout.rstrip().splitlines()
    assert lines[-1] == "2 passed, 1 failed"
    text = result.stdout
    assert "报销：期望 800.00元，实际 750.00元" in text
    assert "(2,000.00元 - 500元) × 50% 保底 0元" in text  # the explanation path to the figure


def test_test_command_counts_broken_policies(tmp_path: Path) -> None:
    (tmp_path / "b.ybl").write_text("政策 坏\n定义 甲 : 金额 = 乙\n样例 \"x\"\n    期望 甲 = 1元\n", encoding="utf-8")
    result = cli("test", str(tmp_path / "b.ybl"))
    assert result.exit_code == 1
    assert result.stdout.rstrip().splitlines()[-1] == "0 passed, 1 failed"


# ---------------------------------------------------------------- random bad cases never produce a traceback


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.text(max_size=12),
    st.sampled_from(["15万元", "50%", "3个月", "1年", "2025-02-30", "2025-03-01", "三级", "居民", "是", "否",
                     "1e400", "-0.001元", "NaN", "1.005", "12,000元", "9" * 40, "2017年13月1日", "困难家庭人员"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**9, max_value=10**9).map(str),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                             max_size=3), max_leaves=6)
names = st.sampled_from(["大病个人负担", "政策范围内费用", "缴纳大额医疗救助费", "门诊费用", "参保类别",
                         "全额补助人员类别", "个人应缴费额", "当月个人账户记账金额", "计算日期", "未知输入", "费用"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.dictionaries(names, values, max_size=8), command=st.sampled_from(["run", "explain"]),
       fmt=st.sampled_from(["text", "json"]))
def test_random_bad_cases_never_produce_a_traceback(tmp_path: Path, case: dict[str, object], command: str,
                                                    fmt: str) -> None:
    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump(case, allow_unicode=True), encoding="utf-8")
    result = cli(command, EXAMPLE, "--case", str(path), "--format", fmt)
    assert result.exit_code in (0, 1), (result.exit_code, result.output, case)
    assert "Traceback" not in result.output and "内部错误" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8")))
def test_random_case_bytes_never_produce_a_traceback(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "random.yaml"
    path.write_bytes(data)
    result = cli("run", EXAMPLE, "--case", str(path))
    assert result.exit_code in (0, 1), (result.exit_code, result.output)
    assert "Traceback" not in result.output and "内部错误" not in result.output


# ------------------------------------------------------------------ every bad option value: Chinese, exit 2

POLICY = "policies/huangshi_2010.ybl"
BAD_OPTIONS = [
    ["run", POLICY, "--engine", "gpu"],
    ["run", POLICY, "--chunk-size", "abc"],
    ["run", POLICY, "--chunk-size", "0"],
    ["run", POLICY, "--chunk-size"],
    ["run", POLICY, "--format", "xml", "--case", EXAMPLE_CASE],
    ["run", POLICY, "--date", "2023-02-30", "--case", EXAMPLE_CASE],
    ["run", POLICY, "--cases", "没有这个文件.csv", "-o", "x.csv"],
    ["run", POLICY, "--cases", "policies/huangshi_2010.cases.yaml", "-o", "x.csv"],
    ["run", POLICY, "--cases", "policies", "-o", "x.csv"],
    ["run", POLICY, "--person", "甲", "--cases", "tests/fixtures/batch/capped.ybl", "-o", "x.csv"],
    ["run", POLICY, "--bogus"],
    ["run"],
    ["run", "没有这个政策.ybl"],
    ["explain", POLICY, "--width", "5", "--case", EXAMPLE_CASE],
    ["explain", POLICY, "--format", "pdf"],
    ["explain", POLICY, "-o"],
    ["check", POLICY, "--format", "yaml"],
    ["check", POLICY, "--counterexamples", POLICY],
    ["sample", POLICY, "--rows", "-1", "-o", "x.csv"],
    ["sample", POLICY, "--rows", "1e3", "-o", "x.csv"],
    ["sample", POLICY, "--rows", "3", "-o", "x.txt"],
    ["sample", POLICY, "--rows", "3", "-o", "x.csv", "--seed", "abc"],
    ["compare", POLICY, POLICY, "--cases", "x.csv", "--top", "1000"],
    ["compare", POLICY, POLICY, "--cases", "policies/huangshi_2010.cases.yaml"],
    ["plot", POLICY, "--vary", "费用", "--from", "0元", "--to", "1元", "-o", "x.png"],
    ["plot", POLICY, "--vary", "起付标准", "--from", "0元", "--to", "1元", "--points", "1", "-o", "x.svg"],
    ["fmt"],
    ["nosuchcommand"],
]


@pytest.mark.parametrize("args", BAD_OPTIONS, ids=[" ".join(a[:1] + a[2:4]) for a in BAD_OPTIONS])
def test_every_bad_option_value_is_a_chinese_usage_diagnostic(args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.output
    text = result.output
    assert "错误" in text
    for english in ("Error:", "Usage:", "Invalid value", "Missing", "No such", "is not", "does not exist",
                    "Traceback", "内部错误"):
        assert english not in text, text


def test_a_missing_input_names_the_clause_of_the_figure_that_needs_it(tmp_path: Path) -> None:
    policy = tmp_path / "p.ybl"
    policy.write_text('政策 测试\n输入 费用 : 金额\n条款 "一、(二)" 报销\n    定义 报销 : 金额 = 费用 × 50%\n输出 报销\n',
                      encoding="utf-8")
    (tmp_path / "c.yaml").write_text("{}\n", encoding="utf-8")
    result = cli("run", str(policy), "--case", str(tmp_path / "c.yaml"), "--format", "json")
    assert result.exit_code == 1
    [problem] = json.loads(result.stdout)["diagnostics"]
    assert (problem["code"], problem["clause"]) == ("YB410", "一、(二)")
