"""End to end Parquet → Parquet against the I/O floor and DuckDB (issue 15); prints ratios, checks exactness.

    pip install 'yibaolang[batch,bench]'
    python benchmarks/duckdb_bench.py [--rows 2000000] [--repeat 3] [--before DIR]

For benchmarks/bench_policy.ybl and examples/layered_claim.ybl, on the same
generated Parquet file (decimal(38, 2) money, as exports usually are), measured
in one run, median of `--repeat` paired rounds:

- floor: pyarrow alone reads the file in chunks and writes the outputs' shapes
  (the same number of decimal(18, 2) columns plus the 错误 text column, same
  writer settings) — what any engine must at least spend on I/O;
- yibaolang: `execute()` in this process (the policy compiled beforehand);
- DuckDB: the same rules in SQL, `COPY (SELECT …) TO … (FORMAT parquet)`, 2 threads;
- yibaolang on the layered file with 50% failing rows (住院报销比例 above its 范围) against the
  clean file of the same size (`--failing-rows`); benchmarks/failing_bench.py measures failing rows
  (a broken 断言, values outside 范围) on files of a million rows.

Every money column of yibaolang's result is compared with DuckDB's, to the 分.
`--before DIR` also times `yibaolang run` from another source tree (e.g. a
`git archive HEAD yibaolang` unpacked in DIR) and the current one, as fresh processes.
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
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from batch import decimal_array, write_parquet  # noqa: E402

BENCH = HERE / "bench_policy.ybl"
LAYERED = ROOT / "examples" / "layered_claim.ybl"

BENCH_SQL = """
WITH a AS (
  SELECT 住院政策范围内费用 AS cost, 起付标准 AS ded, 年度已支付 AS paid,
         CASE WHEN 人员状态 = '在职' THEN (CASE 医院等级 WHEN '三级' THEN 0.90 WHEN '二级' THEN 0.92 ELSE 0.94 END)
              ELSE (CASE 医院等级 WHEN '三级' THEN 0.92 WHEN '二级' THEN 0.94 ELSE 0.96 END) END AS rate
  FROM read_parquet('{src}')),
b AS (SELECT cost, least(round(greatest(cost - ded, 0) * rate, 2), greatest(120000 - paid, 0)) AS fund FROM a),
c AS (SELECT fund, cost - fund AS own FROM b)
SELECT fund::DECIMAL(18,2) AS 统筹基金支付, own::DECIMAL(18,2) AS 个人负担,
       (round((least(greatest(own, 20000), 100000) - 20000) * 0.5, 2)
      + round((least(greatest(own, 100000), 200000) - 100000) * 0.6, 2)
      + round((least(greatest(own, 200000), 300000) - 200000) * 0.7, 2))::DECIMAL(18,2) AS 大病保险报销,
       '' AS 错误
FROM c
"""

LAYERED_SQL = """
WITH a AS (
  SELECT 政策范围内费用 AS inside, 政策范围外费用 AS outside, 住院报销比例 AS rate,
         CASE WHEN 住院次序 >= 2 THEN round(住院起付标准 * 0.50, 2) ELSE 住院起付标准 END AS ded
  FROM read_parquet('{src}')),
b AS (SELECT inside, outside, rate, least(round(greatest(inside - ded, 0) * rate, 2), 70000) AS base FROM a),
c AS (SELECT *, inside - base AS after_base FROM b),
d AS (SELECT *, round((least(greatest(after_base, 20000), 100000) - 20000) * 0.5, 2)
              + round((least(greatest(after_base, 100000), 200000) - 100000) * 0.6, 2)
              + round((least(greatest(after_base, 200000), 300000) - 200000) * 0.7, 2) AS critical FROM c),
e AS (SELECT *, greatest(after_base - 20000, 0) - critical + greatest(outside - 18000, 0) AS basis FROM d),
f AS (SELECT *, round(least(basis, 200000) * 0.75, 2)
              + round((least(greatest(basis, 200000), 500000) - 200000) * 0.85, 2)
              + round((least(greatest(basis, 500000), 1000000) - 500000) * 0.90, 2)
              + round((greatest(basis, 1000000) - 1000000) * 0.95, 2) AS extra FROM e)
SELECT (inside + outside)::DECIMAL(18,2) AS 总费用, base::DECIMAL(18,2) AS 基本医保支付,
       critical::DECIMAL(18,2) AS 大病保险支付, extra::DECIMAL(18,2) AS 补充保险支付,
       (inside + outside - base - critical - extra)::DECIMAL(18,2) AS 个人自付,
       CASE WHEN rate > 1 THEN '输入 住院报销比例：超出范围' ELSE '' END AS 错误
FROM f
"""


def layered_parquet(path: Path, n: int, seed: int, failing: float = 0.0, row_group: int = 1_000_000) -> None:
    """Residents' stays: log-normal costs, a few deductibles, ratios 50–90%; `failing` of the rows get 120%."""
    writer = None
    for start in range(0, n, row_group):
        rng = np.random.default_rng(seed + start)
        m = min(row_group, n - start)
        inside = np.minimum(np.exp(rng.normal(np.log(3_000_000), 1.2, m)), 9_000_000_000).astype(np.int64)
        outside = np.where(rng.random(m) < 0.5, 0, np.minimum(np.exp(rng.normal(np.log(1_000_000), 1.0, m)),
                                                                   9_000_000_000)).astype(np.int64)
        ded = rng.choice(np.array([50_000, 80_000, 100_000, 120_000]), m)
        rate = rng.choice(np.array([50, 60, 70, 80, 90]), m).astype(np.int64)
        if failing:
            rate = np.where(rng.random(m) < failing, 120, rate)
        table = pa.table({"政策范围内费用": decimal_array(inside), "政策范围外费用": decimal_array(outside),
                          "住院起付标准": decimal_array(ded),
                          "住院报销比例": _ratio(rate),
                          "住院次序": pa.array(rng.integers(1, 4, m), pa.int64())})
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def _ratio(percent: Any) -> Any:
    words = np.empty(2 * len(percent), dtype=np.int64)
    words[0::2] = percent
    words[1::2] = 0
    return pa.Array.from_buffers(pa.decimal128(5, 2), len(percent), [None, pa.py_buffer(words)])


def floor(src: Path, dst: Path, outputs: int) -> None:
    """Read every chunk and write `outputs` money columns plus 错误, as the batch command does."""
    reader = pq.ParquetFile(src)
    writer = None
    narrow = pa.decimal128(18, 2)
    for batch in reader.iter_batches(batch_size=262_144):
        money = next(c for c in batch.columns if pa.types.is_decimal(c.type))
        column = pa.Array.from_buffers(narrow, len(money), money.buffers(), null_count=money.null_count)
        errors = pa.repeat(pa.scalar("", pa.string()), len(money))
        table = pa.table([column] * outputs + [errors], names=[f"m{i}" for i in range(outputs)] + ["错误"])
        if writer is None:
            writer = pq.ParquetWriter(dst, table.schema, compression="snappy", use_dictionary=["错误"],
                                      store_decimal_as_integer=True)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def ours(program: Any, src: Path, dst: Path) -> int:
    import contextlib
    import io

    from yibaolang.tools.batch import Options, _NoProgress, execute

    with contextlib.redirect_stderr(io.StringIO()):  # the notes about columns the file lacks
        summary = execute(program, Options(policy="", cases=str(src), out=str(dst)), _NoProgress())
    return summary.errors


def duck(sql: str, src: Path, dst: Path) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"COPY ({sql.format(src=src)}) TO '{dst}' (FORMAT parquet, COMPRESSION snappy)")
    con.close()


def _cents_fast(column: Any) -> Any:
    column = column.combine_chunks().cast(pa.decimal128(38, 2))
    words = np.frombuffer(column.buffers()[1], dtype=np.int64)[2 * column.offset: 2 * (column.offset + len(column))]
    return words[0::2].copy()


def agree(ours_path: Path, duck_path: Path, names: list[str], clean_only: bool) -> int:
    a, b = pq.read_table(ours_path), pq.read_table(duck_path)
    assert a.num_rows == b.num_rows, "row counts differ"
    ok = np.asarray(pa.compute.equal(a["错误"], "")) if clean_only else np.ones(a.num_rows, dtype=bool)
    for name in names:
        x, y = _cents_fast(a[name]), _cents_fast(b[name])
        bad = int(np.sum((x != y) & ok))
        assert bad == 0, f"{name}: {bad} rows differ from DuckDB"
    return int(ok.sum())


def median_times(tasks: dict[str, Any], repeat: int) -> dict[str, float]:
    """Paired rounds: each round runs every task once, in turn; the median per task."""
    times: dict[str, list[float]] = {k: [] for k in tasks}
    for _ in range(repeat):
        for name, task in tasks.items():
            start = time.perf_counter()
            task()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def process_run(tree: Path, policy: Path, src: Path, dst: Path) -> float:
    code = f"import sys; sys.path.insert(0, {str(tree)!r}); from yibaolang.tools.cli import main; main(sys.argv[1:])"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, "run", str(policy), "--cases", str(src), "-o", str(dst)],
                   capture_output=True, check=False, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--failing-rows", type=int, default=20_000)
    parser.add_argument("--before", type=Path, default=None, help="another source tree to time as a process")
    args = parser.parse_args()
    from yibaolang.checks.compiler import compile_policy

    n = args.rows
    print(f"{n:,} 行，{os.cpu_count()} 核，负载 {os.getloadavg()[0]:.1f}；每项取 {args.repeat} 轮的中位数")
    with tempfile.TemporaryDirectory(prefix="yb-duck-") as tmp:
        folder = Path(tmp)
        bench_src, layered_src, failing_src = folder / "bench.parquet", folder / "layered.parquet", \
            folder / "layered_failing.parquet"
        write_parquet(bench_src, n, 7)
        layered_parquet(layered_src, n, 5)
        small_src = folder / "layered_small.parquet"
        layered_parquet(small_src, args.failing_rows, 5)
        layered_parquet(failing_src, args.failing_rows, 5, failing=0.5)
        bench, layered = compile_policy(BENCH), compile_policy(LAYERED)
        out = folder / "out.parquet"
        tasks = {
            "bench.floor": lambda: floor(bench_src, out, 3),
            "bench.yibaolang": lambda: ours(bench, bench_src, folder / "bench_ours.parquet"),
            "bench.duckdb": lambda: duck(BENCH_SQL, bench_src, folder / "bench_duck.parquet"),
            "layered.floor": lambda: floor(layered_src, out, 5),
            "layered.yibaolang": lambda: ours(layered, layered_src, folder / "layered_ours.parquet"),
            "layered.duckdb": lambda: duck(LAYERED_SQL, layered_src, folder / "layered_duck.parquet"),
            "small.yibaolang": lambda: ours(layered, small_src, folder / "small_ours.parquet"),
            "failing.yibaolang": lambda: ours(layered, failing_src, folder / "failing_ours.parquet"),
            "failing.duckdb": lambda: duck(LAYERED_SQL, failing_src, folder / "failing_duck.parquet"),
        }
        t = median_times(tasks, args.repeat)
        agree(folder / "bench_ours.parquet", folder / "bench_duck.parquet",
              ["统筹基金支付", "个人负担", "大病保险报销"], False)
        agree(folder / "layered_ours.parquet", folder / "layered_duck.parquet",
              ["总费用", "基本医保支付", "大病保险支付", "补充保险支付", "个人自付"], False)
        clean = agree(folder / "failing_ours.parquet", folder / "failing_duck.parquet",
                      ["总费用", "基本医保支付", "大病保险支付", "补充保险支付", "个人自付"], True)
        print("结果与 DuckDB 逐分相同（两份政策的全部金额列）；50% 出错的文件中成功的行："
              f"{clean:,}")
        for policy in ("bench", "layered"):
            f, y, d = t[f"{policy}.floor"], t[f"{policy}.yibaolang"], t[f"{policy}.duckdb"]
            print(f"{policy:8} 读写下限 {f:6.2f} 秒  yibaolang {y:6.2f} 秒  DuckDB {d:6.2f} 秒  "
                  f"yibaolang/下限 {y / f:.2f}×  yibaolang/DuckDB {y / d:.2f}×")
        print(f"failing  {args.failing_rows:,} 行，50% 出错 {t['failing.yibaolang']:6.2f} 秒 / 无错 "
              f"{t['small.yibaolang']:.2f} 秒 = {t['failing.yibaolang'] / t['small.yibaolang']:.2f}×")
        if args.before is not None:
            pairs: dict[str, list[float]] = {"before": [], "after": []}
            for _ in range(args.repeat):
                pairs["before"].append(process_run(args.before, BENCH, bench_src, folder / "p.parquet"))
                pairs["after"].append(process_run(ROOT, BENCH, bench_src, folder / "p.parquet"))
            b, a = statistics.median(pairs["before"]), statistics.median(pairs["after"])
            print(f"yibaolang run（新进程，bench）改进前 {b:.2f} 秒  改进后 {a:.2f} 秒  = {a / b:.2f}×")


if __name__ == "__main__":
    main()
