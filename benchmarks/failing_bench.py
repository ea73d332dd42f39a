"""Failing rows stay in the engine (issue 15): the same Parquet file clean and with 50% failing rows.

    pip install 'yibaolang[batch]'
    python benchmarks/failing_bench.py [--rows 1000000] [--repeat 5] [--check-rows 3000]

Two kinds of failing rows, each against its clean file of the same size and shape, measured in one run as
paired rounds (each round runs every file once, in turn; the median of `--repeat` rounds, and the median of
the per-round ratios):

- 断言: benchmarks/failing_policy.ybl (examples/layered_claim.ybl plus `断言 审核通过`); the clean file has
  审核通过 = 是 on every row, the failing file 否 on half of them (YB415 on those rows, outputs computed);
- 范围: examples/layered_claim.ybl; the failing file has 住院报销比例 = 120% (outside its 范围, YB406) on
  half of the rows, whose outputs that need it stay empty.

Before the timings, the first `--check-rows` rows of each failing file are run with the engine and with
`--engine interpreter` (every row through the interpreter): the result tables must be equal cell for cell,
错误 column included, and the engine must have finished the failing rows itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from duckdb_bench import LAYERED, layered_parquet  # noqa: E402

FAILING_POLICY = HERE / "failing_policy.ybl"


def with_review(src: Path, dst: Path, failing: float, seed: int) -> None:
    """`src` plus a 审核通过 column: 是 on every row, or 否 on `failing` of them."""
    table = pq.read_table(src)
    rng = np.random.default_rng(seed)
    passed = rng.random(table.num_rows) >= failing if failing else np.ones(table.num_rows, dtype=bool)
    words = np.where(passed, "是", "否")
    pq.write_table(table.append_column("审核通过", pa.array(words, pa.string())), dst)


def run(program: Any, src: Path, dst: Path, engine: str = "numpy") -> Any:
    import contextlib
    import io

    from yibaolang.tools.batch import Options, _NoProgress, execute

    with contextlib.redirect_stderr(io.StringIO()):
        return execute(program, Options(policy="", cases=str(src), out=str(dst), engine=engine), _NoProgress())


def head(src: Path, dst: Path, rows: int) -> None:
    pq.write_table(pq.read_table(src).slice(0, rows), dst)


def same_as_interpreter(program: Any, src: Path, folder: Path, rows: int) -> tuple[int, int]:
    """The first `rows` rows through the engine and through the interpreter: equal tables; (failed rows,
    rows the engine finished itself)."""
    part = folder / "part.parquet"
    head(src, part, rows)
    fast = run(program, part, folder / "fast.parquet")
    run(program, part, folder / "slow.parquet", engine="interpreter")
    a, b = pq.read_table(folder / "fast.parquet"), pq.read_table(folder / "slow.parquet")
    assert a.column_names == b.column_names
    for name in a.column_names:
        assert a[name].equals(b[name]), f"{src.name}: column {name} differs from the interpreter's"
    return fast.errors, fast.vector_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--check-rows", type=int, default=3000)
    args = parser.parse_args()
    from yibaolang.checks.compiler import compile_policy

    n = args.rows
    print(f"{n:,} 行，{os.cpu_count()} 核，负载 {os.getloadavg()[0]:.1f}；{args.repeat} 轮配对，取中位数")
    with tempfile.TemporaryDirectory(prefix="yb-failing-") as tmp:
        folder = Path(tmp)
        base = folder / "base.parquet"
        layered_parquet(base, n, 5)
        clean, asserted = folder / "clean.parquet", folder / "asserted.parquet"
        with_review(base, clean, 0.0, 11)
        with_review(base, asserted, 0.5, 11)
        ranged = folder / "ranged.parquet"
        layered_parquet(ranged, n, 5, failing=0.5)
        review, layered = compile_policy(FAILING_POLICY), compile_policy(LAYERED)
        for name, program, src in (("断言", review, asserted), ("范围", layered, ranged)):
            failed, finished = same_as_interpreter(program, src, folder, min(args.check_rows, n))
            print(f"{name}：前 {min(args.check_rows, n):,} 行与解释器逐格相同（含 错误 列）；出错 {failed:,} 行，"
                  f"引擎自己算完 {finished:,} 行")
        tasks = {
            "断言.clean": lambda: run(review, clean, folder / "o1.parquet"),
            "断言.failing": lambda: run(review, asserted, folder / "o2.parquet"),
            "范围.clean": lambda: run(layered, base, folder / "o3.parquet"),
            "范围.failing": lambda: run(layered, ranged, folder / "o4.parquet"),
        }
        times: dict[str, list[float]] = {k: [] for k in tasks}
        summaries: dict[str, Any] = {}
        for _ in range(args.repeat):
            for key, task in tasks.items():
                start = time.perf_counter()
                summaries[key] = task()
                times[key].append(time.perf_counter() - start)
        for name in ("断言", "范围"):
            c, f = times[f"{name}.clean"], times[f"{name}.failing"]
            ratios = [b / a for a, b in zip(c, f, strict=True)]
            s = summaries[f"{name}.failing"]
            print(f"{name}  无错 {statistics.median(c):6.2f} 秒  50% 出错 {statistics.median(f):6.2f} 秒  "
                  f"= {statistics.median(f) / statistics.median(c):.2f}×（逐轮比值的中位数 "
                  f"{statistics.median(ratios):.2f}×）；出错 {s.errors:,} 行，引擎算完 {s.vector_rows:,} 行")


if __name__ == "__main__":
    main()
