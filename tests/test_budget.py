"""Evaluation work is bounded (docs/reliability.md, resources): memoised calls, a step budget, a nesting limit.

Each program here once hung `check` or `run`, or passed `check` and then failed
`run` without a position.  Every command runs in a subprocess with a wall
timeout, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from yibaolang.semantics import limits

TIMEOUT = 60


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yibaolang", *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)


def write(tmp_path: Path, lines: list[str], case: str = "甲: 1\n") -> tuple[Path, Path]:
    policy = tmp_path / "p.ybl"
    policy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    case_file = tmp_path / "case.yaml"
    case_file.write_text(case, encoding="utf-8")
    return policy, case_file


def doubling(depth: int, step: str = "f{p}(x) + f{p}(x)") -> list[str]:
    lines = ["输入 甲 : 数", "函数 f0(x : 数) : 数 = x + 1"]
    lines += [f"函数 f{i}(x : 数) : 数 = " + step.format(p=i - 1) for i in range(1, depth + 1)]
    return [*lines, f"定义 结果 : 数 = f{depth}(甲)", "输出 结果"]


def test_doubled_calls_are_memoised(tmp_path: Path) -> None:
    policy, case = write(tmp_path, doubling(30))
    checked = cli("check", policy)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = cli("run", policy, "--case", case, "--format", "json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["outputs"]["结果"]["value"] == str(2 ** 31)
    explained = cli("explain", policy, "--case", case)
    assert explained.returncode == 0 and "f0(x = 1)" in explained.stdout


def test_distinct_arguments_hit_the_step_budget(tmp_path: Path) -> None:
    policy, case = write(tmp_path, doubling(30, "f{p}(x + 1) + f{p}(x × 2)"))
    checked = cli("check", policy)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = cli("run", policy, "--case", case)
    assert ran.returncode == 1
    # The budget is spent by calls; the one that exceeds it is named, at its declaration.
    found = re.search(rf"p\.ybl:(\d+):1: 错误\[YB423\]: 计算步数超过上限：计算 f(\d+) 时已算了 {limits.MAX_STEPS:,} 个",
                      ran.stderr)
    assert found is not None, ran.stderr
    assert int(found[1]) == int(found[2]) + 2  # f{n} is declared on line n + 2


def chain(length: int, kind: str) -> list[str]:
    if kind == "定义":
        return ["输入 甲 : 数", "定义 d0 : 数 = 甲", *(f"定义 d{i} : 数 = d{i - 1} + 1" for i in range(1, length)),
                f"输出 d{length - 1}"]
    return ["输入 甲 : 数", "函数 g0(x : 数) : 数 = x + 1",
            *(f"函数 g{i}(x : 数) : 数 = g{i - 1}(x)" for i in range(1, length)),
            f"定义 结果 : 数 = g{length - 1}(甲)", "输出 结果"]


@pytest.mark.parametrize("kind", ["定义", "函数"])
def test_a_chain_check_accepts_is_one_run_evaluates(tmp_path: Path, kind: str) -> None:
    # An input counts as a level, and so does the definition that calls the first function.
    policy, case = write(tmp_path, chain(limits.MAX_NESTING - (1 if kind == "定义" else 2), kind))
    assert cli("check", policy).returncode == 0
    ran = cli("run", policy, "--case", case, "--format", "json")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    value = next(iter(json.loads(ran.stdout)["outputs"].values()))["value"]
    assert value == (str(limits.MAX_NESTING - 1) if kind == "定义" else "2")


@pytest.mark.parametrize(("kind", "length"), [("定义", 500), ("函数", 5000), ("定义", 20000)])
def test_a_longer_chain_is_refused_at_its_line(tmp_path: Path, kind: str, length: int) -> None:
    policy, case = write(tmp_path, chain(length, kind))
    first = "d" if kind == "定义" else "g"
    line = limits.MAX_NESTING + 1 if kind == "定义" else limits.MAX_NESTING + 2
    for args in (("check", policy), ("run", policy, "--case", case)):
        result = cli(*args)
        assert result.returncode == 1, result.stderr
        output = result.stdout + result.stderr
        assert f"p.ybl:{line}:1: 错误[YB323]: 计算 {first}{line - 2} 要嵌套" in output
        assert "Traceback" not in result.stderr and "嵌套过深，无法处理" not in result.stderr


def test_mutual_recursion_is_found_in_linear_time(tmp_path: Path) -> None:
    lines = ["输入 甲 : 数", *(f"函数 h{i}(x : 数) : 数 = h{i + 1}(x)" for i in range(3000)),
             "函数 h3000(x : 数) : 数 = h0(x)", "定义 结果 : 数 = h0(甲)"]
    policy, _ = write(tmp_path, lines)
    result = cli("check", policy)
    assert result.returncode == 1
    assert "YB321" in result.stdout


def test_run_time_depth_is_a_located_diagnostic() -> None:
    from yibaolang.engines.evaluate import Frame, _enter

    frame = Frame({}, 0, None)
    frame.depth = limits.MAX_EVAL_DEPTH
    with pytest.raises(Exception) as raised:
        _enter(frame, "甲", _span())
    diagnostic = raised.value.diagnostic  # type: ignore[attr-defined]
    assert diagnostic.code == "YB424" and diagnostic.span.line == 3
    assert frame.depth == limits.MAX_EVAL_DEPTH  # the level it refused is not counted


def _span():  # type: ignore[no-untyped-def]
    from yibaolang import ir

    return ir.Span("p.ybl", 3, 1, 3, 5)


def test_search_stops_at_its_budget(tmp_path: Path) -> None:
    """Every search case hits the step budget: check ends within the search's own budget."""
    lines = doubling(30, "f{p}(x + 1) + f{p}(x × 2)")
    lines[-1:] = ["输出 结果", "断言 结果 > 0"]
    policy, _ = write(tmp_path, lines)
    result = cli("check", policy)
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr


def test_prove_memoises_calls(tmp_path: Path) -> None:
    """`check --prove` once translated f0 … f30 into a term of 2³¹ leaves and never finished."""
    lines = doubling(30)
    lines[-1:] = ["输出 结果", "断言 结果 > 0"]
    policy, _ = write(tmp_path, lines)
    result = cli("check", "--prove", policy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "甲: \"-1\"" in result.stdout  # f30(-1) = 2³⁰ × 0: the counterexample z3 finds
