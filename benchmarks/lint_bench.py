"""Benchmark `yibaolang check` with every lint, counterexample search included.

Prints figures; it asserts nothing.  Run: `python benchmarks/lint_bench.py`.
Targets (issue 5): under 2 s for all of policies/ including the search; the
generated 10,000-line policy is reported for scale.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from gen_policy import generate  # noqa: E402


def command() -> list[str]:
    script = Path(sys.executable).with_name("yibaolang")
    return [str(script)] if script.exists() else [sys.executable, "-m", "yibaolang"]


def cli_time(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*command(), *args], check=False, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times


def in_process(files: list[str]) -> dict[str, float]:
    """Seconds per stage, summed over the files: front end, each lint family, configuration."""
    from yibaolang.analysis.lint import apply_config, lints
    from yibaolang.analysis.lint.context import LintContext, load_config
    from yibaolang.checks.compiler import compile_policy

    spent: dict[str, float] = {}
    for file in files:
        start = time.perf_counter()
        program = compile_policy(file)
        spent["front end"] = spent.get("front end", 0.0) + time.perf_counter() - start
        ctx = LintContext(program, load_config(program.project_root))
        found = []
        for lint in lints():
            start = time.perf_counter()
            found.extend(lint(ctx))
            name = lint.__module__.rsplit(".", 1)[-1]
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
        start = time.perf_counter()
        apply_config(found, program, ctx.config)
        spent["suppression/config"] = spent.get("suppression/config", 0.0) + time.perf_counter() - start
    return spent


def show(title: str, times: list[float], target: str = "") -> None:
    print(f"{title}: median {statistics.median(times):.3f} s (min {min(times):.3f}, {len(times)} runs){target}")


def main() -> None:
    from yibaolang.checks.compiler import policy_files

    subprocess.run([*command(), "check", "policies/tianjin_2016.ybl"], capture_output=True, check=False, cwd=ROOT)
    show("`yibaolang check policies`", cli_time(["check", "policies"], 5), "  target < 2 s")
    show("`yibaolang check policies stdlib examples`", cli_time(["check", "policies", "stdlib", "examples"], 5))
    files = policy_files([str(ROOT / "policies")], [])
    print(f"  in process, {len(files)} files:")
    for stage, seconds in in_process(files).items():
        print(f"    {stage:<20} {seconds:.3f} s")

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.ybl"
        text = generate(10_000)
        big.write_text(text, encoding="utf-8")
        print(f"generated policy: {text.count(chr(10))} lines")
        show("  `yibaolang check big.ybl`", cli_time(["check", str(big)], 3))
        for stage, seconds in in_process([str(big)]).items():
            print(f"    {stage:<20} {seconds:.3f} s")


if __name__ == "__main__":
    main()
