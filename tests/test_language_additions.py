"""Constructs added while encoding the seed policies: 此前, 别名.函数(…), 计算日期 in expressions,
and the boundary words 以内/以外/届满 in step rows."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from yibaolang.tools.cli import main


def run(tmp_path: Path, policy: str, case: str, *extra: str) -> tuple[int, dict[str, object]]:
    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    p = tmp_path / "p.ybl"
    p.write_text(policy, encoding="utf-8")
    c = tmp_path / "c.yaml"
    c.write_text(case, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(p), "--case", str(c), "--format", "json", *extra])
    if result.exit_code != 0:
        return result.exit_code, {}
    outputs = json.loads(result.stdout)["outputs"]
    return 0, {name: v["value"] for name, v in outputs.items()}


def test_parameter_value_before_its_first_date(tmp_path: Path) -> None:
    policy = ("参数 标准 : 金额\n    此前 60元\n    自 2017年7月1日 起 100元\n"
              "条款 \"一\" 标准\n    原文 \"从60元提高到100元\"\n    定义 筹资 : 金额 = 标准 × 1\n输出 筹资\n")
    assert run(tmp_path, policy, "计算日期: 2017-06-30\n") == (0, {"筹资": "60.00"})
    assert run(tmp_path, policy, "计算日期: 2017-07-01\n") == (0, {"筹资": "100.00"})


def test_function_of_an_aliased_import(tmp_path: Path) -> None:
    (tmp_path / "lib.ybl").write_text("函数 半数(x: 金额) : 金额 = x ÷ 2\n", encoding="utf-8")
    policy = ('引用 "lib.ybl" 作为 库\n输入 费用 : 金额\n条款 "一" 半数\n    原文 "按一半计"\n'
              "    定义 结果 : 金额 = 库.半数(费用)\n输出 结果\n")
    assert run(tmp_path, policy, "费用: \"101元\"\n") == (0, {"结果": "50.50"})


def test_evaluation_date_is_readable(tmp_path: Path) -> None:
    policy = ("输入 缴费日期 : 日期\n条款 \"一\" 等待期\n    原文 \"缴费满6个月后享受待遇\"\n"
              "    定义 可享受 : 是否 = 计算日期 达到 缴费日期 + 6个月\n输出 可享受\n")
    case = "缴费日期: 2025-08-31\n"
    # 民法典 第二百零二条: 8月31日 + 6个月 = 次年2月28日.
    assert run(tmp_path, policy, case, "--date", "2026-02-28") == (0, {"可享受": True})
    assert run(tmp_path, policy, case, "--date", "2026-02-27") == (0, {"可享受": False})
    assert run(tmp_path, policy, case)[0] == 1  # no 计算日期 anywhere: a clear error


def test_boundary_words_in_step_rows_and_comparisons(tmp_path: Path) -> None:
    policy = ("输入 年数 : 年数\n条款 \"一\" 档\n    原文 \"1年以内、5年以外；届满3年\"\n    定义 档次 : 数 =\n        分档 年数\n"
              "            1年 以内 : 1\n            5年 以外 : 5\n            其余 : 0\n"
              "    定义 满三年 : 是否 = 年数 届满 3年\n输出 档次, 满三年\n")
    expected = {0: ("1", False), 1: ("1", False), 2: ("0", False), 3: ("0", True), 5: ("0", True), 6: ("5", True)}
    for years, (step, full) in expected.items():
        code, out = run(tmp_path, policy, f"年数: {years}\n")
        assert code == 0 and out == {"档次": step, "满三年": full}, (years, out)
