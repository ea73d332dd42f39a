"""Benchmark reading a 目录 (engines/catalogs.py); prints the figures, asserts nothing.

    python benchmarks/catalog_bench.py [--rows 100000] [--repeat 5]

Generates a catalog of `--rows` rows (a 文本 key, a 文本 name, an option column, a 比例
and a 金额 column that may be empty, 有效期 columns with two versions for one key in
ten) as CSV and as Parquet, in a temporary project, and reports for each:

- the first load (read, type every cell exactly, check ranges, keys and 有效期);
- a cached load (`catalog_for` again on the unchanged file: one stat);
- `Catalog.arrays()` (the vector engine's sorted form);
- 10⁵ `Catalog.find(key, date)` calls.

Every figure is the best of `--repeat` runs (the machine may be shared); the cache is
cleared before each first load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from yibaolang.checks.compiler import compile_policy
from yibaolang.engines import catalogs

# The declaration of docs/itemized.md §3, shared with tests/test_catalogs.py.
POLICY = (Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "itemized" / "目录示例.ybl").read_text("utf-8")


def generate(folder: Path, rows: int) -> None:
    rng = random.Random(12)
    lines = ["编码,名称,类别,先行自付比例,支付标准,生效日期,失效日期,备注"]
    n = 0
    i = 0
    while n < rows:
        code = f"X{i:07d}"
        kind = "甲乙丙"[i % 3]
        ratio = "" if i % 4 == 0 else f"{rng.randint(0, 30)}%"
        money = "" if i % 5 == 0 else f"{rng.randint(1, 999999)}.{rng.randint(0, 99):02d}"
        if i % 10 == 0 and n + 1 < rows:
            lines.append(f"{code},药品{i},{kind},{ratio},{money},2023-01-01,2024-01-01,旧版")
            lines.append(f"{code},药品{i},{kind},{ratio},{money},2024-01-01,,")
            n += 2
        else:
            lines.append(f"{code},药品{i},{kind},{ratio},{money},,,")
            n += 1
        i += 1
    (folder / "医保目录.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def to_parquet(folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(folder / "医保目录.csv",
                           convert_options=pacsv.ConvertOptions(column_types={
                               "先行自付比例": pa.string(), "支付标准": pa.decimal128(18, 2),
                               "生效日期": pa.date32(), "失效日期": pa.date32()}))
    pq.write_table(table, folder / "医保目录.parquet")


CPU: list[float] = []  # the processor time of the last `best` (the machine may be shared: wall time varies)


def best(fn: object, repeat: int) -> float:
    times, cpu = [], []
    for _ in range(repeat):
        start, used = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - used)
    CPU[:] = [min(cpu)]
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp).resolve()
        (folder / "yibaolang.toml").write_text("", encoding="utf-8")
        (folder / "p.ybl").write_text(POLICY, encoding="utf-8")
        generate(folder, args.rows)
        to_parquet(folder)
        old = os.getcwd()
        os.chdir(folder)
        try:
            program = compile_policy("p.ybl")
            assert not any(d.is_error for d in program.diagnostics), program.diagnostics
            for label, table in (("CSV", None), ("Parquet", "医保目录.parquet")):
                program.tables = {"医保目录": table} if table else {}
                size = os.stat(folder / (table or "医保目录.csv")).st_size

                def first() -> None:
                    catalogs.clear_cache()
                    catalogs.catalog_for(program, program.root, "医保目录")

                load = best(first, args.repeat)
                load_cpu = CPU[0]
                catalog = catalogs.catalog_for(program, program.root, "医保目录")
                cached = best(lambda: catalogs.catalog_for(program, program.root, "医保目录"), args.repeat)

                def arrays(catalog: catalogs.Catalog = catalog) -> None:
                    catalog._arrays = None
                    catalog.arrays()

                arr = best(arrays, args.repeat)
                keys = [r.values["编码"] for r in catalog.rows]
                day = dt.date(2024, 6, 1)
                finds = best(lambda catalog=catalog, keys=keys, day=day: [catalog.find(k, day) for k in keys[:100_000]],
                             args.repeat)
                print(f"{label:8} {len(catalog.rows):>9,} 行 {size / 1e6:6.1f} MB  首次读入 {load:.3f} 秒（处理器 {load_cpu:.3f} 秒）  "
                      f"缓存命中 {cached * 1e6:.0f} 微秒  arrays() {arr:.3f} 秒  "
                      f"{min(len(keys), 100_000):,} 次 find {finds:.3f} 秒")
            print(f"（{os.cpu_count()} 核，负载 {os.getloadavg()[0]:.1f}；每项取 {args.repeat} 次中最快的一次）")
        finally:
            os.chdir(old)


if __name__ == "__main__":
    main()
