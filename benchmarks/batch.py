"""Benchmark batch evaluation (issue 6); prints the figures, asserts nothing.

    python benchmarks/batch.py [--rows 1000000] [--big-rows 10000000] [--markdown docs/performance.md]
    python benchmarks/batch.py --phases [--rows 1000000]      # read / convert / compute / write, one by one
    python benchmarks/batch.py --dask [--rows 2000000]        # 2-worker LocalCluster vs one process

On `--rows` generated claims of benchmarks/bench_policy.ybl (黄石's ratio table and
yearly cap + 天津's 大病保险 bands), measured in one run:

- the interpreter, one case at a time, on a subsample (rows/s, extrapolated);
- the vectorized engine, compute only (inputs already decoded: int64 分, enum codes);
- the same rules hand-written in numpy int64 (the baseline the engine is held to);
- OpenFisca (`openfisca-core`, optional) encoding the same rules, compute only;
- end to end, `yibaolang run --cases X.parquet -o Y.parquet` as a separate process;
- `--big-rows` rows Parquet → Parquet, with the process's peak memory (resource.getrusage).

Every figure is the best of several repetitions (the machine may be shared).
The engine's results are checked against the hand-written baseline on every row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
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

POLICY = HERE / "bench_policy.ybl"
BLOCK = 65_536
RATES = np.array([90, 92, 94, 92, 94, 96], dtype=np.int64)  # percent: 在职/退休 × 三级/二级/其他
BANDS = ((2_000_000, 10_000_000, 5), (10_000_000, 20_000_000, 6), (20_000_000, 30_000_000, 7))  # 分, tenths
CAP = 12_000_000


def generate(n: int, seed: int) -> dict[str, Any]:
    """Claims: 在职 70%, hospital levels uniform, log-normal costs (median about 1.5万元), a few 起付标准."""
    rng = np.random.default_rng(seed)
    cost = np.minimum(np.exp(rng.normal(np.log(1_500_000), 1.1, n)), 10_000_000_000).astype(np.int64)
    paid = np.where(rng.random(n) < 0.6, 0, rng.integers(0, 15_000_000, n))
    return {
        "status": (rng.random(n) < 0.3).astype(np.int64),
        "level": rng.integers(0, 3, n),
        "cost": cost,
        "deductible": rng.choice(np.array([50_000, 80_000, 100_000, 120_000]), n),
        "paid": paid.astype(np.int64),
    }


def decimal_array(cents: Any) -> Any:
    words = np.empty(2 * len(cents), dtype=np.int64)
    words[0::2] = cents
    words[1::2] = cents >> 63
    return pa.Array.from_buffers(pa.decimal128(38, 2), len(cents), [None, pa.py_buffer(words)])


def arrow_table(data: dict[str, Any]) -> Any:
    status = pa.DictionaryArray.from_arrays(pa.array(data["status"].astype(np.int32)), pa.array(["在职", "退休"]))
    level = pa.DictionaryArray.from_arrays(pa.array(data["level"].astype(np.int32)), pa.array(["三级", "二级", "其他"]))
    return pa.table({"人员状态": status, "医院等级": level, "住院政策范围内费用": decimal_array(data["cost"]),
                     "起付标准": decimal_array(data["deductible"]), "年度已支付": decimal_array(data["paid"])})


def baseline(status: Any, level: Any, cost: Any, deductible: Any, paid: Any) -> tuple[Any, Any, Any]:
    """The rules by hand, numpy int64 分: what a programmer would write for this one policy."""
    rate = RATES[status * 3 + level]
    remaining = np.maximum(CAP - paid, 0)
    fund = np.minimum((np.maximum(cost - deductible, 0) * rate + 50) // 100, remaining)
    own = cost - fund
    critical = 0
    for low, high, tenths in BANDS:
        critical = critical + ((np.clip(own, low, high) - low) * tenths + 5) // 10
    return fund, own, critical


def best(fn: Any, repeat: int, warm_up: int = 3) -> float:
    """The best time of `repeat` runs, after `warm_up` untimed ones (allocator and caches settle)."""
    for _ in range(warm_up):
        fn()
    gc.collect()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def blocks(n: int) -> list[tuple[int, int]]:
    return [(s, min(n, s + BLOCK)) for s in range(0, n, BLOCK)]


def measure_interpreter(program: Any, data: dict[str, Any], sample: int) -> tuple[float, float]:
    """(rows/s of evaluate() per case, rows/s of the interpreter's fast runner) on a subsample."""
    from decimal import Decimal

    from yibaolang.engines.evaluate import evaluate, evaluator_for
    from yibaolang.engines.outcome import CaseInput

    statuses, levels = ["在职", "退休"], ["三级", "二级", "其他"]
    cases = [{"人员状态": statuses[int(data["status"][i])], "医院等级": levels[int(data["level"][i])],
              "住院政策范围内费用": Decimal(int(data["cost"][i])).scaleb(-2),
              "起付标准": Decimal(int(data["deductible"][i])).scaleb(-2),
              "年度已支付": Decimal(int(data["paid"][i])).scaleb(-2)} for i in range(sample)]
    outputs = ["统筹基金支付", "个人负担", "大病保险报销"]

    def full() -> None:
        for values in cases:
            evaluate(program, CaseInput(values), outputs)

    runner = evaluator_for(program, False).runner(outputs)

    def fast() -> None:
        for values in cases:
            runner(values, None)

    return sample / best(full, 2, 0), sample / best(fast, 2, 0)


def measure_engine(program: Any, table: Any, n: int, repeat: int) -> tuple[float, Any]:
    """Compute only: the engine over decoded columns, every row, 64K-row blocks (rows/s, outputs)."""
    from yibaolang.tools.batch import Runner
    from yibaolang.tools.columns import convert

    runner = Runner(program)
    columns = {name: convert(table[name], runner.inputs[name], program, runner.bounds[name]).column
               for name in runner.needed}
    engine = runner.engine
    assert engine is not None
    from yibaolang.engines.vector import _slice_column, date_const

    date = date_const(dt.date(2024, 1, 1))

    def run(keep: list[Any] | None = None) -> None:
        for start, stop in blocks(n):
            part = {name: _slice_column(c, start, stop) for name, c in columns.items()}
            result = engine.run_block(part, stop - start, date)
            if keep is not None:
                keep.append(([v.data for v in result.outputs], result.fallback))

    seconds = best(run, repeat)
    results: list[Any] = []
    run(results)  # once more, keeping the outputs to check them against the baseline
    assert not any(bool(fallback.any()) for _, fallback in results), "the engine left rows to the interpreter"
    outputs = [np.concatenate([np.broadcast_to(np.asarray(r[0][k]), (len(r[1]),)) for r in results])
               for k in range(3)]
    return n / seconds, outputs


def measure_baseline(data: dict[str, Any], n: int, repeat: int) -> tuple[float, Any]:
    def run(keep: list[Any] | None = None) -> None:
        for start, stop in blocks(n):
            result = baseline(data["status"][start:stop], data["level"][start:stop], data["cost"][start:stop],
                              data["deductible"][start:stop], data["paid"][start:stop])
            if keep is not None:
                keep.append(result)

    seconds = best(run, repeat)
    results: list[Any] = []
    run(results)
    outputs = [np.concatenate([r[k] for r in results]) for k in range(3)]
    return n / seconds, outputs


def measure_openfisca(data: dict[str, Any], n: int, repeat: int) -> tuple[float | None, float | None, Any, str]:
    """OpenFisca: (rows/s computing, rows/s building the simulation from the arrays and computing, outputs, note)."""
    try:
        import openfisca_core
        import openfisca_rules
    except ImportError as exc:
        return None, None, None, f"未安装 openfisca-core（{exc}）"
    from importlib.metadata import version

    tbs = openfisca_rules.system()
    outputs: list[Any] = []
    compute, total = [], []
    gc.collect()
    for _ in range(repeat):
        start = time.perf_counter()
        simulation = openfisca_rules.prepare(tbs, data["status"], data["level"], data["cost"], data["deductible"],
                                             data["paid"])
        middle = time.perf_counter()
        outputs = list(openfisca_rules.calculate(simulation))
        end = time.perf_counter()
        compute.append(end - middle)
        total.append(end - start)
    _ = openfisca_core
    return n / min(compute), n / min(total), outputs, f"openfisca-core {version('openfisca-core')}"


def write_parquet(path: Path, n: int, seed: int, row_group: int = 1_000_000) -> None:
    writer = None
    for start in range(0, n, row_group):
        table = arrow_table(generate(min(row_group, n - start), seed + start))
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def end_to_end(cases: Path, out: Path) -> tuple[float, float, str]:
    """`yibaolang run` in a fresh process: (seconds, peak RSS MiB of that process, its summary line)."""
    code = ("import resource, sys\nfrom yibaolang.tools.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
            "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\nsys.exit(code)")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, "run", str(POLICY), "--cases", str(cases), "-o", str(out)],
                            capture_output=True, text=True, check=False, cwd=ROOT)
    seconds = time.perf_counter() - start
    peak = next((int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("PEAK_KB")), 0)
    summary = next((line for line in result.stderr.splitlines() if line.startswith("共 ")), result.stderr.strip())
    if result.returncode not in (0, 1):
        raise SystemExit(f"yibaolang run failed: {result.stderr}")
    return seconds, peak / 1024, summary


def phases(n: int, repeat: int) -> None:
    """One end-to-end Parquet → Parquet run cut into its stages, each timed alone (medians), then the
    pipelined run (read-ahead and writer threads) and the old writer settings, in the same process."""
    import contextlib
    import io
    import statistics

    from yibaolang.checks.compiler import compile_policy
    from yibaolang.tools.batch import Options, Runner, Summary, _NoProgress, _result_table, execute, open_writer

    program = compile_policy(POLICY)
    options = Options(policy="", cases="", out="")
    times: dict[str, list[float]] = {}

    def timed(name: str, start: float) -> float:
        now = time.perf_counter()
        times.setdefault(name, []).append(now - start)
        return now

    with tempfile.TemporaryDirectory(prefix="yb-phases-") as tmp:
        cases, out = Path(tmp) / "cases.parquet", Path(tmp) / "out.parquet"
        write_parquet(cases, n, 7)
        for _ in range(repeat):
            runner = Runner(program)
            start = time.perf_counter()
            tables = [pa.Table.from_batches([b]) for b in pq.ParquetFile(cases).iter_batches(batch_size=262_144)]
            start = timed("读", start)
            for table in tables:
                runner.prepare(table)
            start = timed("单元格转换", start)
            results = [_result_table(runner.evaluate(t), t, runner, options, Summary()) for t in tables]
            start = timed("计算（含转换）", start)
            writer = open_writer(str(out), narrow=True)
            for result in results:
                writer.write(result)
            writer.commit()
            start = timed("写（decimal(18,2) INT64，金额不用字典）", start)
            import pyarrow.parquet as pqw

            old = pqw.ParquetWriter(str(out), results[0].schema, compression="snappy")
            for result in results:
                old.write_table(result)
            old.close()
            start = timed("写（改进前：decimal(38,2)，字典编码）", start)
            with contextlib.redirect_stderr(io.StringIO()):
                execute(program, Options(policy="", cases=str(cases), out=str(out)), _NoProgress())
            timed("端到端 execute()（读、算、写重叠）", start)
            del tables, results
    t = {k: statistics.median(v) for k, v in times.items()}
    t["计算（不含转换）"] = t.pop("计算（含转换）") - t["单元格转换"]
    serial = t["读"] + t["单元格转换"] + t["计算（不含转换）"] + t["写（decimal(18,2) INT64，金额不用字典）"]
    old_serial = serial - t["写（decimal(18,2) INT64，金额不用字典）"] + t["写（改进前：decimal(38,2)，字典编码）"]
    print(f"{n:,} 行 Parquet → Parquet，{os.cpu_count()} 核，负载 {os.getloadavg()[0]:.1f}，{repeat} 次的中位数")
    for name in ("读", "单元格转换", "计算（不含转换）", "写（decimal(18,2) INT64，金额不用字典）"):
        print(f"  {name:40} {t[name]:6.3f} 秒  {t[name] / serial:5.1%}")
    print(f"  {'写（改进前：decimal(38,2)，字典编码）':40} {t['写（改进前：decimal(38,2)，字典编码）']:6.3f} 秒  "
          f"占改进前串行合计 {t['写（改进前：decimal(38,2)，字典编码）'] / old_serial:5.1%}")
    e2e = t["端到端 execute()（读、算、写重叠）"]
    print(f"  串行合计 {serial:.3f} 秒（改进前的写法 {old_serial:.3f} 秒）；重叠后端到端 {e2e:.3f} 秒 = 串行的 "
          f"{e2e / serial:.2f}×，改进前串行的 {e2e / old_serial:.2f}×")


def dask_vs_single(n: int, repeat: int) -> None:
    """`--engine dask` on a 2-worker LocalCluster (loopback, processes) against the single-process engine."""
    import statistics

    import distributed

    with tempfile.TemporaryDirectory(prefix="yb-dask-") as tmp:
        cases = Path(tmp) / "cases.parquet"
        write_parquet(cases, n, 7, row_group=262_144)

        def cli(tree: Path, *extra: str) -> tuple[float, float]:
            code = ("import resource, sys\n"
                    f"sys.path.insert(0, {str(tree)!r})\nfrom yibaolang.tools.cli import main\n"
                    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
                    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "-c", code, "run", str(POLICY), "--cases", str(cases), "-o",
                                     str(Path(tmp) / "out.parquet"), *extra], capture_output=True, text=True,
                                    check=False, cwd=ROOT)
            seconds = time.perf_counter() - start
            peak = next((int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("PEAK_KB")), 0)
            if "共 " not in result.stderr:
                raise SystemExit(result.stderr[-2000:])
            return seconds, peak / 1024

        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, protocol="tcp",
                                           host="127.0.0.1", dashboard_address=None, memory_limit="2GiB")
        with cluster, distributed.Client(cluster) as client:
            single, dask, dask_mem = [], [], []
            for _ in range(repeat):
                single.append(cli(ROOT)[0])
                dask.append(cli(ROOT, "--engine", "dask", "--scheduler", cluster.scheduler_address)[0])
                mem = client.run(lambda: __import__("resource").getrusage(0).ru_maxrss)
                dask_mem.append(max(mem.values()) / 1024)
            s, d = statistics.median(single), statistics.median(dask)
            print(f"{n:,} 行，单进程 {s:.2f} 秒，dask 2 个工作进程 {d:.2f} 秒 = {d / s:.2f}×；"
                  f"工作进程峰值内存 {max(dask_mem):,.0f} MiB（负载 {os.getloadavg()[0]:.1f}）")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phases", action="store_true", help="only the stage breakdown of one run")
    parser.add_argument("--dask", action="store_true", help="only dask on a 2-worker LocalCluster vs one process")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000)
    parser.add_argument("--interpreter-sample", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table to this Markdown file")
    args = parser.parse_args()
    if args.phases:
        phases(args.rows, min(args.repeat, 5))
        return
    if args.dask:
        dask_vs_single(args.rows, min(args.repeat, 3))
        return

    from yibaolang.checks.compiler import compile_policy

    program = compile_policy(POLICY)
    n = args.rows
    data = generate(n, 20240101)
    table = arrow_table(data)
    rows: list[tuple[str, str, str]] = []

    engine_rate, engine_out = measure_engine(program, table, n, args.repeat)
    base_rate, base_out = measure_baseline(data, n, args.repeat)
    for k, name in enumerate(("统筹基金支付", "个人负担", "大病保险报销")):
        assert np.array_equal(engine_out[k], base_out[k]), f"{name}: engine and baseline differ"
    fisca_rate, fisca_total, fisca_out, fisca_note = measure_openfisca(data, n, max(3, args.repeat // 2))
    full_rate, fast_rate = measure_interpreter(program, data, min(args.interpreter_sample, n))
    fisca_diff = ""
    if fisca_out:
        exact = base_out[2] / 100
        off = int(np.sum(np.abs(np.asarray(fisca_out[2], dtype=np.float64) - exact) >= 0.005))
        fisca_diff = f"大病保险报销 与精确值相差 ≥ 0.5分 的行：{off:,} / {n:,}"

    with tempfile.TemporaryDirectory(prefix="yb-bench-") as tmp:
        folder = Path(tmp)
        cases = folder / "cases.parquet"
        write_parquet(cases, n, 7)
        e2e_seconds, e2e_peak, e2e_summary = end_to_end(cases, folder / "out.parquet")
        big = None
        if args.big_rows:
            big_cases = folder / "big.parquet"
            write_parquet(big_cases, args.big_rows, 11)
            big = end_to_end(big_cases, folder / "big_out.parquet")

    def rate(value: float) -> str:
        return f"{value / 1e6:,.2f}M 行/秒" if value >= 1e6 else f"{value:,.0f} 行/秒"

    rows.append(("解释器：evaluate() 逐个案例", rate(full_rate),
                 f"{args.interpreter_sample:,} 行子样本；{n:,} 行外推 {n / full_rate:,.1f} 秒"))
    rows.append(("解释器：快速 runner（无断言、无诊断）", rate(fast_rate), f"{n:,} 行外推 {n / fast_rate:,.1f} 秒"))
    rows.append(("向量化引擎：仅计算", rate(engine_rate), f"{n:,} 行 {n / engine_rate * 1000:,.0f} 毫秒；每块 {BLOCK:,} 行"))
    rows.append(("手写 numpy int64 基线", rate(base_rate),
                 f"引擎 / 基线 耗时比 {base_rate / engine_rate:.2f}×；两者逐行相同"))
    if fisca_rate is not None and fisca_total is not None:
        rows.append((f"OpenFisca（{fisca_note}）：仅计算", rate(fisca_rate),
                     f"引擎是它的 {engine_rate / fisca_rate:.2f} 倍；float32 金额，{fisca_diff}"))
        rows.append(("OpenFisca：建立模拟、设置输入并计算", rate(fisca_total),
                     f"引擎是它的 {engine_rate / fisca_total:.2f} 倍"))
    else:
        rows.append(("OpenFisca", "—", fisca_note))
    rows.append(("端到端 Parquet → Parquet（新进程）", rate(n / e2e_seconds),
                 f"{n:,} 行 {e2e_seconds:.2f} 秒（含启动与编译）；峰值内存 {e2e_peak:,.0f} MiB"))
    if big is not None:
        seconds, peak, _summary = big
        rows.append((f"端到端 {args.big_rows:,} 行 Parquet → Parquet", rate(args.big_rows / seconds),
                     f"{seconds:.1f} 秒；峰值内存 {peak:,.0f} MiB"))

    machine = f"{platform.python_implementation()} {platform.python_version()}, numpy {np.__version__}, " \
              f"pyarrow {pa.__version__}, {os.cpu_count()} 核"
    command = "python benchmarks/batch.py" + (f" --rows {n}" if n != 1_000_000 else "") + \
        (f" --big-rows {args.big_rows}" if args.big_rows != 10_000_000 else "")
    width = max(len(r[0]) for r in rows)
    print(f"批量计算基准（{machine}）")
    for name, value, note in rows:
        print(f"  {name.ljust(width)}  {value:>16}  {note}")
    if args.markdown is not None:
        write_markdown(args.markdown, rows, machine, command, e2e_summary)


def write_markdown(path: Path, rows: list[tuple[str, str, str]], machine: str, command: str, summary: str) -> None:
    table = ["| 测量 | 速度 | 说明 |", "|---|---:|---|"]
    table += [f"| {name} | {value} | {note} |" for name, value, note in rows]
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = "<!-- figures:start -->", "<!-- figures:end -->"
    block = "\n".join([start, f"机器：{machine}；命令：`{command}`；日期：{dt.date.today().isoformat()}", "",
                       *table, "", f"`yibaolang run`（100 万行）的摘要行：{summary.split('；已写入')[0]}", end])
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
