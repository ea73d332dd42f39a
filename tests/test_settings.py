"""`[tool.yibaolang]`: ignored settings are YB008 warnings; `exclude` keeps broken fixtures out of `yibaolang test`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
POLICY = '政策 示例\n\n输入 费用 : 金额\n\n条款 "一" 报销\n    原文 "报销50%。"\n    定义 报销 : 金额 = 费用 × 50%\n\n输出 报销\n'


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    old = os.getcwd()
    os.chdir(tmp_path)
    (tmp_path / "甲.ybl").write_text(POLICY, encoding="utf-8")
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def check(*args: str) -> Result:
    return CliRunner().invoke(main, ["check", *args])


def settings(folder: Path, text: str) -> None:
    (folder / "pyproject.toml").write_text(f"[project]\nname = \"x\"\n\n[tool.yibaolang]\n{text}", encoding="utf-8")


def test_a_misspelt_key_is_a_warning_at_its_line(project: Path) -> None:
    settings(project, 'disabel = ["YB561"]\n')
    result = check("甲.ybl")
    assert result.exit_code == 0
    assert result.output.startswith("pyproject.toml:5:1: 警告[YB008]: 未知的配置项“disabel”，已忽略")
    assert "是否想写 disable？" in result.output
    assert check("--strict", "甲.ybl").exit_code == 1


def test_unknown_codes_and_bad_severities(project: Path) -> None:
    settings(project, 'disable = ["YB999", "YB561"]\n\n[tool.yibaolang.severity]\nYB562 = "warn"\n')
    result = check("甲.ybl")
    assert "disable 中的“YB999”不是一致性检查的代码" in result.output
    assert "YB561" not in result.output.split("YB999")[1].split("\n")[0]
    assert "severity 中 YB562 的级别“warn”无效" in result.output and '是否想写 "warning"？' in result.output


def test_wrong_types_keep_the_default(project: Path) -> None:
    settings(project, 'search-points = "many"\nseed = 1.5\n')
    result = check("甲.ybl")
    assert result.exit_code == 0
    assert "配置项 search-points 应为正整数" in result.output and "配置项 seed 应为整数" in result.output


def test_a_file_that_is_not_toml(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.yibaolang]\ndisable = ["YB561"\n', encoding="utf-8")
    result = check("甲.ybl")
    assert "警告[YB008]" in result.output and "不是有效的 TOML" in result.output


def test_good_settings_say_nothing(project: Path) -> None:
    settings(project, 'disable = ["YB561"]\nexclude = ["草稿"]\n\n[tool.yibaolang.severity]\nYB562 = "info"\n')
    result = check("甲.ybl")
    assert "YB008" not in result.output and result.exit_code == 0


def test_exclude_leaves_broken_fixtures_out_of_yibaolang_test(project: Path) -> None:
    broken = project / "坏例" / "坏.ybl"
    broken.parent.mkdir()
    broken.write_text('政策 坏\n\n样例 "甲"\n    期望 乙 = 1元\n', encoding="utf-8")
    settings(project, "")
    assert CliRunner().invoke(main, ["test", "."]).exit_code == 1
    settings(project, 'exclude = ["坏例"]\n')
    result = CliRunner().invoke(main, ["test", "."])
    assert result.exit_code == 0, result.output
    named = CliRunner().invoke(main, ["test", str(broken)])
    assert named.exit_code == 1, "a file named on the command line is run even when excluded"


def test_yibaolang_test_at_the_repository_root_passes() -> None:
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(main, ["test", "-q"])
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output[-2000:]
    assert result.output.rstrip().endswith("0 failed")
