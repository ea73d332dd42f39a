"""A policy file is untrusted input: every resource is bounded with a clear error."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from yibaolang.checks.compiler import compile_policy
from yibaolang.frontend.source import MAX_SOURCE_BYTES
from yibaolang.tools.cli import main


def codes(path: Path) -> list[str]:
    return [d.code for d in compile_policy(path).diagnostics]


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.ybl"
    path.write_text("# " + "甲" * (MAX_SOURCE_BYTES // 3 + 10) + "\n", encoding="utf-8")
    assert codes(path) == ["YB001"]


def test_unreadable_file(tmp_path: Path) -> None:
    folder = tmp_path / "a.ybl"
    folder.mkdir()
    main_file = tmp_path / "main.ybl"
    main_file.write_text('引用 "a.ybl"\n', encoding="utf-8")
    assert "YB003" in codes(main_file)


def test_too_many_imports(tmp_path: Path) -> None:
    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    for i in range(80):
        nxt = f'引用 "m{i + 1}.ybl"\n' if i < 79 else ""
        (tmp_path / f"m{i}.ybl").write_text(f"{nxt}定义 值{i} = {i}\n", encoding="utf-8")
    assert "YB006" in codes(tmp_path / "m0.ybl")


def test_long_operator_chain_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "chain.ybl"
    path.write_text("定义 甲 = " + " + ".join(["1"] * 5000) + "\n", encoding="utf-8")
    assert codes(path) == ["YB005"]


def test_deep_indentation_is_bounded(tmp_path: Path) -> None:
    lines = ["定义 甲 ="]
    lines += [" " * (4 * i) + "如果 是 则 1" for i in range(1, 30)]
    path = tmp_path / "deep.ybl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_huge_number_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "n.ybl"
    path.write_text("定义 甲 = 1" + "0" * 400 + "元\n", encoding="utf-8")
    assert codes(path) == ["YB004"]


def test_imports_cannot_leave_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "yibaolang.toml").write_text("", encoding="utf-8")
    (tmp_path / "secret.ybl").write_text("定义 秘密 = 1\n", encoding="utf-8")
    path = project / "p.ybl"
    path.write_text('引用 "../secret.ybl"\n', encoding="utf-8")
    assert codes(path) == ["YB310"]  # read exactly like a missing file: see tests/test_roots.py


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(tmp_path / "nope.ybl")])
    assert result.exit_code == 2


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--colour", "x"])
    assert result.exit_code == 2


# ------------------------------------------------------------------ magnitudes (semantics/limits.py)


def _run(tmp_path: Path, policy: str, case: str, *extra: str) -> Any:
    (tmp_path / "p.ybl").write_text(policy, encoding="utf-8")
    (tmp_path / "case.yaml").write_text(case, encoding="utf-8")
    return CliRunner().invoke(main, ["run", str(tmp_path / "p.ybl"), "--case", str(tmp_path / "case.yaml"), *extra])


PRODUCT = "输入 甲 : 金额\n输入 乙 : {kind}\n定义 丙 : 金额 = 甲 × 乙\n输出 丙\n"


def test_a_huge_ratio_in_a_case_is_refused(tmp_path: Path) -> None:
    result = _run(tmp_path, PRODUCT.format(kind="比例"), f'甲: 1000元\n乙: "{"9" * 31}%"\n')
    assert result.exit_code == 1
    assert "case.yaml:2:4: 错误[YB403]: 输入 乙：比例过大" in result.output and "比例最多 100000000%" in result.output


def test_a_too_fine_number_in_a_case_is_refused(tmp_path: Path) -> None:
    result = _run(tmp_path, PRODUCT.format(kind="数"), '甲: 1元\n乙: "0.00000000001"\n')
    assert result.exit_code == 1 and "数过于精细" in result.output


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_money_past_the_result_limit_is_refused_not_rounded(tmp_path: Path, fmt: str) -> None:
    result = _run(tmp_path, PRODUCT.format(kind="数"), "甲: 999999999999999元\n乙: 999999999999999\n",
                  "--format", fmt)
    assert result.exit_code == 1, result.output
    assert "YB419" in result.output and "999999999999998000000000000001" in result.output
    assert "内部错误" not in result.output


def test_repeated_squaring_is_refused_at_the_figure(tmp_path: Path) -> None:
    policy = "输入 甲 : 数\n" + "".join(f"定义 方{i} : 数 = 方{i - 1} × 方{i - 1}\n" for i in range(1, 8))
    policy = policy.replace("方0 × 方0", "甲 × 甲") + "输出 方7\n"
    result = _run(tmp_path, policy, "甲: 1.5\n")
    assert result.exit_code == 1
    assert "YB419" in result.output
    assert "无法精确表示" in result.output or "数值过大" in result.output


def test_products_are_exact_and_printed_digit_for_digit(tmp_path: Path) -> None:
    policy = "输入 甲 : 数\n定义 乙 : 数 = 甲 × 甲\n输出 乙\n"
    result = _run(tmp_path, policy, "甲: 999999999\n", "--format", "json")
    assert result.exit_code == 0
    assert '"value": "999999998000000001"' in result.output
    result = _run(tmp_path, policy, "甲: 0.1234567891\n", "--format", "json")
    exact = Decimal("0.1234567891") * Decimal("0.1234567891")  # 20 places: fits the default context too
    assert f'"value": "{exact}"' in result.output
    result = _run(tmp_path, "输入 甲 : 数\n定义 乙 : 数 = 甲 × 甲 × 甲 × 甲\n输出 乙\n", "甲: 0.1234567891\n",
                  "--format", "json")
    assert '"value": "0.0002323057235509297937802504681155270161"' in result.output  # 37 digits, every one kept


def test_display_never_rounds_through_the_default_context() -> None:
    from yibaolang.ir.types import MONEY, NUMBER, RATIO
    from yibaolang.semantics.values import display, to_json

    big = Decimal("999999999999998000000000000001")
    assert display(NUMBER, big) == "999999999999998000000000000001"
    assert to_json(MONEY, big) == "999999999999998000000000000001.00"
    assert display(RATIO, Decimal("0.123456789012345678901234567891")) == "12.3456789012345678901234567891%"


def test_literal_limits_are_the_limits_module() -> None:
    """frontend/lower.py sits below semantics (the layer rule) and so keeps its own copy: the same figures."""
    from yibaolang.frontend import lower
    from yibaolang.semantics import limits

    assert lower.MAX_INTEGER_DIGITS == limits.MAX_INTEGER_DIGITS
    assert lower.MAX_DECIMAL_DIGITS == limits.MAX_FRACTION_DIGITS
    assert lower.MAX_MONEY == limits.MAX_MAGNITUDE
