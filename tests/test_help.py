"""Help and terminal width as a new user meets them: Chinese help with examples; COLUMNS counts when piped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from yibaolang.tools.cli import LAZY_COMMANDS, main

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = sorted({"check", "ir", "run", "explain", "test", *LAZY_COMMANDS})
WITH_EXAMPLES = ("check", "ir", "run", "explain", "test", "init", "coverage")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_no_english_boilerplate(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    for english in ("Usage:", "Options:", "Show this message and exit", "[default:"):
        assert english not in result.output, f"{command} --help: {english}"
    assert "用法" in result.output and "选项" in result.output


@pytest.mark.parametrize("command", WITH_EXAMPLES)
def test_help_gives_an_example(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert "示例：" in result.output
    example = result.output.split("示例：", 1)[1].strip().splitlines()[0].strip()
    assert example.startswith(f"yibaolang {command}")


def test_piped_explain_wraps_at_columns() -> None:
    env = {**os.environ, "COLUMNS": "60"}
    args = [sys.executable, "-m", "yibaolang.tools.cli", "explain", "examples/tianjin_daibing.ybl",
            "--case", "examples/tianjin_daibing.case.yaml"]
    narrow = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    env.pop("COLUMNS")
    default = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    from yibaolang.diagnostics import cell_width

    widest = max(cell_width(line) for line in narrow.stdout.splitlines() if not line.startswith("计算说明"))
    assert widest <= 60 < max(cell_width(line) for line in default.stdout.splitlines())
