"""Benchmark `yibaolang check`: a generated 10,000-line policy, and cold start on a small file.

Prints figures; it asserts nothing.  Run: `python benchmarks/check_bench.py`.
Targets (issue 2): under 1.5 s for 10,000 lines; under 200 ms cold start.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from gen_policy import generate  # noqa: E402


def command() -> list[str]:
    """The installed console script, as drafters run it (else `python -m yibaolang`)."""
    script = Path(sys.executable).with_name("yibaolang")
    return [str(script)] if script.exists() else [sys.executable, "-m", "yibaolang"]


def cli_time(args: list[str], runs: int, cache: bool = True) -> list[float]:
    import os

    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode
    if not cache:
        env["YIBAOLANG_NO_CACHE"] = "1"
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*command(), *args], check=False, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    from yibaolang.checks import compiler, resolve, typecheck
    from yibaolang.frontend import syntax
    from yibaolang.frontend.source import decode

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.ybl"
        text = generate(10_000)
        big.write_text(text, encoding="utf-8")
        lines = text.count("\n")
        small = HERE.parent / "policies" / "tianjin_2016.ybl"

        # Warm the grammar cache, as any installed CLI would have it.
        subprocess.run([*command(), "check", str(small)], capture_output=True, check=False)

        source = decode(str(big), big.read_bytes())
        t0 = time.perf_counter()
        module, _ = syntax.parse(source)
        t1 = time.perf_counter()
        program = resolve.load_program(big)
        t2 = time.perf_counter()
        typecheck.check_program(program)
        t3 = time.perf_counter()
        assert not program.diagnostics, program.diagnostics[:3]
        del module, compiler

        big_cli = cli_time(["check", str(big)], 5, cache=False)
        big_cached = cli_time(["check", str(big)], 5)
        cold = cli_time(["check", str(small)], 10)
        cold_uncached = cli_time(["check", str(small)], 10, cache=False)
        version = cli_time(["--version"], 10)

    print(f"generated policy: {lines} lines")
    print(f"  parse + lower (in process):       {t1 - t0:.3f} s")
    print(f"  load + parse + resolve (process): {t2 - t1:.3f} s")
    print(f"  type check:                       {t3 - t2:.3f} s")
    print(f"  `yibaolang check` end to end, all lints, no parse cache: median {statistics.median(big_cli):.3f} s "
          f"(min {min(big_cli):.3f}, {len(big_cli)} runs)")
    print(f"  `yibaolang check` end to end, parse cache warm:          median {statistics.median(big_cached):.3f} s")
    print(f"cold `yibaolang check {small.name}` (new process, parse cache warm): "
          f"median {statistics.median(cold) * 1000:.0f} ms (min {min(cold) * 1000:.0f} ms)  target < 200 ms")
    print(f"cold `yibaolang check {small.name}` (no parse cache, grammar cached):  "
          f"median {statistics.median(cold_uncached) * 1000:.0f} ms (min {min(cold_uncached) * 1000:.0f} ms)")
    print(f"cold `yibaolang --version`:          median {statistics.median(version) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
