"""累计 mode (`--person/--claim-date`) against a plain run, uniform and skewed (issue 15); prints ratios.

    python benchmarks/cumulative_bench.py [--rows 1000000] [--repeat 3] [--before DIR]

On `--rows` generated claims of benchmarks/bench_policy.ybl (its 年度已支付 accumulates
统筹基金支付), Parquet → Parquet, median of `--repeat` paired rounds in this process:

- plain: the same file without --person (the 累计 input from its default);
- uniform: about 20 claims per person over two years;
- skewed: the same, except that one person holds 5,000 claims.

Target: 累计 ≤ 1.5× the plain run at any skew.  `--before DIR` also times the
uniform and skewed runs as `yibaolang run` processes from another source tree
(e.g. `git archive HEAD yibaolang` unpacked in DIR) and from this one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from batch import POLICY, arrow_table, generate  # noqa: E402

HEAVY = 5_000


def claims(path: Path, n: int, skewed: bool, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    table = arrow_table(generate(n, seed)).drop_columns(["年度已支付"])
    person = rng.integers(0, max(1, n // 20), n)
    if skewed:
        person[rng.choice(n, min(HEAVY, n), replace=False)] = -1  # one person, 5,000 claims
    ids = pa.array(np.char.add("P", person.astype(str)))
    days = pa.array(rng.integers(19_723, 19_723 + 730, n).astype(np.int32)).cast(pa.date32())  # 2024–2025
    pq.write_table(table.append_column("人员", ids).append_column("理赔日期", days), path, row_group_size=1_000_000)


def run(program: object, src: Path, dst: Path, person: bool) -> None:
    from yibaolang.tools.batch import Options, _NoProgress, execute

    options = Options(policy="", cases=str(src), out=str(dst),
                      person="人员" if person else None, claim_date="理赔日期" if person else None)
    execute(program, options, _NoProgress())


def process(tree: Path, src: Path, dst: Path) -> float:
    code = f"import sys; sys.path.insert(0, {str(tree)!r}); from yibaolang.tools.cli import main; main(sys.argv[1:])"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, "run", str(POLICY), "--cases", str(src), "-o", str(dst),
                    "--person", "人员", "--claim-date", "理赔日期"], capture_output=True, check=False, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", type=Path, default=None)
    args = parser.parse_args()
    from yibaolang.checks.compiler import compile_policy

    program = compile_policy(POLICY)
    print(f"{args.rows:,} 行，{os.cpu_count()} 核，负载 {os.getloadavg()[0]:.1f}；每项取 {args.repeat} 轮的中位数")
    with tempfile.TemporaryDirectory(prefix="yb-cumul-") as tmp:
        folder = Path(tmp)
        uniform, skewed = folder / "uniform.parquet", folder / "skewed.parquet"
        claims(uniform, args.rows, False)
        claims(skewed, args.rows, True)
        out = folder / "out.parquet"
        tasks = {"plain": lambda: run(program, uniform, out, False),
                 "uniform": lambda: run(program, uniform, out, True),
                 "skewed": lambda: run(program, skewed, out, True)}
        times: dict[str, list[float]] = {k: [] for k in tasks}
        for _ in range(args.repeat):
            for name, task in tasks.items():
                start = time.perf_counter()
                task()
                times[name].append(time.perf_counter() - start)
        t = {k: statistics.median(v) for k, v in times.items()}
        print(f"普通运行 {t['plain']:.2f} 秒；累计（均匀）{t['uniform']:.2f} 秒 = {t['uniform'] / t['plain']:.2f}×；"
              f"累计（一人 {HEAVY:,} 笔）{t['skewed']:.2f} 秒 = {t['skewed'] / t['plain']:.2f}×")
        if args.before is not None:
            for name, src in (("uniform", uniform), ("skewed", skewed)):
                b = statistics.median(process(args.before, src, out) for _ in range(args.repeat))
                a = statistics.median(process(ROOT, src, out) for _ in range(args.repeat))
                print(f"yibaolang run --person（新进程，{name}）改进前 {b:.2f} 秒  改进后 {a:.2f} 秒  = {a / b:.2f}×")


if __name__ == "__main__":
    main()
