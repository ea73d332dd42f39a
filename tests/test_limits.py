"""A policy file is untrusted input: every resource is bounded with a clear error."""

from __future__ import annotations

from pathlib import Path

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
