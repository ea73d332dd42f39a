"""Benchmark itemized bills in batch (issue 12); prints the figures and the ratios of one run.

    python benchmarks/itemized_bench.py                  # 1,000,000 claims with about 10,000,000 lines
    python benchmarks/itemized_bench.py --claims 100000  # quicker
    python benchmarks/itemized_bench.py --markdown       # also print the table for docs/performance.md
    python benchmarks/itemized_bench.py --repeat 3       # each command three times, the fastest shown

On generated claims of examples/itemized/住院结算.ybl (a Parquet pair: 结算单 and 明细, about 10 lines a
claim, codes of 医保目录.csv and some not in it, visit dates on both sides of the catalog's 2024-01-01
versions), each as a separate process with its peak memory (/usr/bin/time -v when present, else
resource.getrusage of the child):

- `yibaolang run 住院结算.ybl --cases 结算单.parquet --items 明细=明细.parquet --key 单据号 -o out.parquet`;
- DuckDB (optional dependency) computing the same rule in SQL over the same files, Parquet → Parquet;
- the plain batch: the claim-level half of the rule as a policy over the pre-aggregated claims
  (`总费用`, …, `政策范围内费用` as inputs, one row a claim), `yibaolang run --cases` Parquet → Parquet.

Then the checks: our result against DuckDB's on every claim, and against the interpreter (one claim at a
time, engines/evaluate.py) on a 10,000-claim sample — differences in 分, expected 0.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

EXAMPLE = ROOT / "examples" / "itemized"
OUTPUTS = ["总费用", "全自费金额", "超限价自付金额", "先行自付金额", "政策范围内费用", "起付标准", "统筹支付", "个人负担"]
UNKNOWN = ["XJ01XXA999A999", "C1499010010101000099", "ZZ0000000000"]
QUANTITIES = np.array([100, 200, 300, 50, 1000, 1250, 600], dtype=np.int64)  # 数量 × 100
START = dt.date(2023, 6, 1)
DAYS = 580

# The claim-level half of the rule over pre-aggregated claims: the plain batch.
PLAIN = """政策 住院费用按汇总结算示例

类型 医院等级 = 选项 {三级, 二级, 一级}
类型 人员类别 = 选项 {在职, 退休}

输入 医院等级 : 医院等级
输入 人员类别 : 人员类别
输入 年度已支付 : 金额 范围 0元 至 1亿元 默认 0元
输入 总费用 : 金额 范围 0元 至 1亿元
输入 政策范围内费用 : 金额 范围 0元 至 1亿元

定义 医院起付标准 : 金额 =
    查表 (医院等级)
        三级 : 1000元
        二级 : 600元
        一级 : 300元
定义 起付标准 : 金额 = 如果 人员类别 = 退休 则 医院起付标准 × 50% 否则 医院起付标准
定义 统筹支付比例 : 比例 = 查表 (人员类别, 医院等级)
            三级    二级    一级
    在职    85%     90%     95%
    退休    90%     95%     97%
定义 按比例支付额 : 金额 = 四舍五入(取较大(政策范围内费用 - 起付标准, 0元) × 统筹支付比例, 分)
定义 年度剩余限额 : 金额 = 取较大(30万元 - 年度已支付, 0元)
定义 统筹支付 : 金额 = 取较小(按比例支付额, 年度剩余限额)
定义 个人负担 : 金额 = 总费用 - 统筹支付

输出 起付标准, 统筹支付, 个人负担
"""

SQL = """
CREATE TEMP TABLE cat AS
SELECT 编码, 类别,
       CASE WHEN 先行自付比例 IS NULL OR trim(先行自付比例) = '' THEN NULL
            WHEN 先行自付比例 LIKE '%\\%%' ESCAPE '\\'
                 THEN CAST(CAST(replace(先行自付比例, '%', '') AS DECIMAL(12, 6)) * CAST(0.01 AS DECIMAL(3, 2))
                           AS DECIMAL(12, 6))
            ELSE CAST(先行自付比例 AS DECIMAL(12, 6)) END AS 比例,
       CAST(NULLIF(trim(支付标准), '') AS DECIMAL(18, 2)) AS 支付标准,
       CAST(NULLIF(trim(生效日期), '') AS DATE) AS 生效, CAST(NULLIF(trim(失效日期), '') AS DATE) AS 失效
FROM read_csv('{catalog}', header = true, all_varchar = true);
COPY (
  WITH c AS (SELECT row_number() OVER () AS 行, * FROM read_parquet('{claims}')),
  l AS (
    SELECT l.单据号, l.数量, l.单价, c.就诊日期, k.类别, k.比例, k.支付标准
    FROM read_parquet('{lines}') l
    JOIN c USING (单据号)
    LEFT JOIN cat k ON k.编码 = trim(l.编码) AND (k.生效 IS NULL OR k.生效 <= c.就诊日期)
                     AND (k.失效 IS NULL OR c.就诊日期 < k.失效)
  ),
  a AS (
    SELECT *, round(数量 * 单价, 2) AS 明细金额, coalesce(类别, '丙') AS 类, coalesce(支付标准, 单价) AS 标准
    FROM l
  ),
  b AS (
    SELECT *, CASE WHEN 类 <> '丙' AND 标准 < 单价 THEN round((单价 - 标准) * 数量, 2) ELSE 0.00 END AS 超限价
    FROM a
  ),
  d AS (
    SELECT *, CAST(CASE WHEN 类 = '丙' THEN 0.00 ELSE 明细金额 - 超限价 END AS DECIMAL(18, 2)) AS 计价 FROM b
  ),
  e AS (
    SELECT *, CAST(CASE WHEN 类 = '乙' THEN round(计价 * coalesce(比例, CAST(0 AS DECIMAL(12, 6))), 2) ELSE 0.00 END
                   AS DECIMAL(18, 2)) AS 先行 FROM d
  ),
  s AS (
    SELECT 单据号, sum(明细金额) AS 总费用, sum(CASE WHEN 类 = '丙' THEN 明细金额 ELSE 0 END) AS 全自费金额,
           sum(超限价) AS 超限价自付金额, sum(先行) AS 先行自付金额, sum(计价 - 先行) AS 政策范围内费用
    FROM e GROUP BY 单据号
  ),
  t AS (
    SELECT c.行, c.医院等级, c.人员类别,
           coalesce(s.总费用, 0) AS 总费用, coalesce(s.全自费金额, 0) AS 全自费金额,
           coalesce(s.超限价自付金额, 0) AS 超限价自付金额, coalesce(s.先行自付金额, 0) AS 先行自付金额,
           coalesce(s.政策范围内费用, 0) AS 政策范围内费用,
           CAST(CASE c.医院等级 WHEN '三级' THEN 1000 WHEN '二级' THEN 600 ELSE 300 END AS DECIMAL(18, 2))
             * CASE WHEN c.人员类别 = '退休' THEN 0.5 ELSE 1 END AS 起付标准,
           CAST(CASE WHEN c.人员类别 = '在职' THEN (CASE c.医院等级 WHEN '三级' THEN 0.85 WHEN '二级' THEN 0.90 ELSE 0.95 END)
                ELSE (CASE c.医院等级 WHEN '三级' THEN 0.90 WHEN '二级' THEN 0.95 ELSE 0.97 END) END AS DECIMAL(4, 2)) AS 比例
    FROM c LEFT JOIN s USING (单据号)
  ),
  u AS (
    SELECT *, least(round(greatest(CAST(政策范围内费用 - 起付标准 AS DECIMAL(18, 2)), CAST(0 AS DECIMAL(18, 2))) * 比例, 2),
                    CAST(300000 AS DECIMAL(18, 2))) AS 统筹支付 FROM t
  )
  SELECT CAST(总费用 AS DECIMAL(18, 2)) AS 总费用, CAST(全自费金额 AS DECIMAL(18, 2)) AS 全自费金额,
         CAST(超限价自付金额 AS DECIMAL(18, 2)) AS 超限价自付金额, CAST(先行自付金额 AS DECIMAL(18, 2)) AS 先行自付金额,
         CAST(政策范围内费用 AS DECIMAL(18, 2)) AS 政策范围内费用, CAST(起付标准 AS DECIMAL(18, 2)) AS 起付标准,
         CAST(统筹支付 AS DECIMAL(18, 2)) AS 统筹支付, CAST(总费用 - 统筹支付 AS DECIMAL(18, 2)) AS 个人负担,
         医院等级, 人员类别
  FROM u ORDER BY 行
) TO '{out}' (FORMAT parquet);
"""

DUCKDB_RUN = """
import sys, duckdb
sql = open(sys.argv[1], encoding="utf-8").read()
con = duckdb.connect()
con.execute(sql)
"""


# ------------------------------------------------------------------ data


def decimal_array(unscaled: Any, scale: int, precision: int = 18) -> pa.Array:
    """A decimal128 array from int64 unscaled values (no float, no Python objects)."""
    n = len(unscaled)
    words = np.empty(2 * n, dtype=np.int64)
    words[0::2] = unscaled
    words[1::2] = unscaled >> 63
    return pa.Array.from_buffers(pa.decimal128(precision, scale), n, [None, pa.py_buffer(words)])


def catalog_codes() -> tuple[list[str], dict[str, int]]:
    """The catalog's codes and, for codes with a 支付标准, that standard in 分 (prices cluster around it)."""
    with open(EXAMPLE / "医保目录.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    standards = {r["编码"]: int(Decimal(r["支付标准"]) * 100) for r in rows if r["支付标准"]}
    return sorted({r["编码"] for r in rows}), standards


def generate(claims: int, folder: Path, seed: int = 12) -> tuple[Path, Path, int]:
    """结算单.parquet and 明细.parquet (lines in claim order), about 10 lines a claim."""
    rng = np.random.default_rng(seed)
    codes, standards = catalog_codes()
    vocabulary = codes + UNKNOWN
    keys = np.arange(1, claims + 1, dtype=np.int64) * 7 + 1_000_000  # increasing, not dense
    days = (START - dt.date(1970, 1, 1)).days + rng.integers(0, DAYS, claims)
    counts = rng.integers(0, 21, claims)  # 0–20 lines, mean 10
    counts[rng.random(claims) < 0.02] = 0
    head = pa.table({
        "单据号": pa.array(keys),
        "医院等级": pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 3, claims).astype(np.int32)),
                                               pa.array(["三级", "二级", "一级"])),
        "人员类别": pa.DictionaryArray.from_arrays(pa.array((rng.random(claims) < 0.3).astype(np.int32)),
                                               pa.array(["在职", "退休"])),
        "就诊日期": pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32()),
    })
    total = int(counts.sum())
    weights = np.ones(len(vocabulary))
    weights[-len(UNKNOWN):] = 0.3
    code_index = rng.choice(len(vocabulary), total, p=weights / weights.sum())
    base = rng.integers(100, 400_000, len(vocabulary))
    for i, code in enumerate(vocabulary):
        if code in standards:
            base[i] = standards[code]
    factor = rng.choice(np.array([80, 95, 100, 100, 100, 105, 130]), total)
    price = np.maximum(base[code_index] * factor // 100 + rng.integers(-3, 4, total), 1)
    lines = pa.table({
        "单据号": pa.array(np.repeat(keys, counts)),
        "编码": pa.DictionaryArray.from_arrays(pa.array(code_index.astype(np.int32)), pa.array(vocabulary)),
        "数量": decimal_array(rng.choice(QUANTITIES, total), 2, 12),
        "单价": decimal_array(price.astype(np.int64), 2),
    })
    claims_path, lines_path = folder / "结算单.parquet", folder / "明细.parquet"
    pq.write_table(head, claims_path, row_group_size=262_144)
    pq.write_table(lines, lines_path, row_group_size=1_048_576)
    return claims_path, lines_path, total


# ------------------------------------------------------------------ runs


def best(command: list[str], cwd: Path, repeat: int) -> tuple[float, float, float]:
    """The fastest of `repeat` runs (the machine is shared): (seconds, peak MB, processor seconds)."""
    return min((timed(command, cwd) for _ in range(repeat)), key=lambda r: r[0])


def timed(command: list[str], cwd: Path) -> tuple[float, float, float]:
    """(seconds, peak RSS in MB, processor seconds: user + system) of a child process."""
    time_bin = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    started = time.perf_counter()
    if time_bin is not None:
        done = subprocess.run([time_bin, "-v", *command], cwd=cwd, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        fields = {line.split(":")[0].strip(): line.rsplit(":", 1)[1].strip() for line in done.stderr.splitlines()
                  if ":" in line}
        cpu = float(fields.get("User time (seconds)", 0)) + float(fields.get("System time (seconds)", 0))
        return seconds, int(fields["Maximum resident set size (kbytes)"]) / 1024, cpu
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, max(after.ru_maxrss, before.ru_maxrss) / 1024, cpu


def yibaolang(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from yibaolang.tools.cli import main; sys.argv[0] = 'yibaolang'; main()",
            *args]


def cents(table: pa.Table, name: str) -> Any:
    column = table[name].combine_chunks().cast(pa.decimal128(38, 2))
    column = column.fill_null(0)
    words = np.frombuffer(column.buffers()[1], dtype=np.int64)[2 * column.offset: 2 * (column.offset + len(column))]
    return words[0::2].copy()


def interpreter_sample(folder: Path, out: pa.Table, claims_path: Path, lines_path: Path, size: int) -> int:
    """分 differences between our result and the interpreter on `size` random claims."""
    from yibaolang.checks.compiler import compile_policy
    from yibaolang.engines.evaluate import evaluate
    from yibaolang.engines.outcome import CaseInput

    program = compile_policy(str(folder / "住院结算.ybl"))
    head = pq.read_table(claims_path)
    lines = pq.read_table(lines_path)
    n = head.num_rows
    rows = sorted(random.Random(3).sample(range(n), min(size, n)))
    keys = head["单据号"].to_numpy()
    line_keys = lines["单据号"].to_numpy()
    starts = np.searchsorted(line_keys, keys[rows], side="left")
    ends = np.searchsorted(line_keys, keys[rows], side="right")
    codes = lines["编码"].combine_chunks()
    differences = 0
    for r, a, b in zip(rows, starts.tolist(), ends.tolist(), strict=True):
        items = [{"编码": str(codes[j].as_py()), "数量": lines["数量"][j].as_py(), "单价": lines["单价"][j].as_py()}
                 for j in range(a, b)]
        values = {"医院等级": head["医院等级"][r].as_py(), "人员类别": head["人员类别"][r].as_py(),
                  "就诊日期": head["就诊日期"][r].as_py(), "明细": items}
        outcome = evaluate(program, CaseInput(values), OUTPUTS)
        for o in outcome.outputs:
            ours = out[o.name][r].as_py()
            if o.ok is False or ours is None or Decimal(ours) != o.value:
                differences += 1
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=10_000, help="claims checked against the interpreter")
    parser.add_argument("--dir", type=Path, default=None, help="where the files go (default: a temporary folder)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each command; the fastest is shown")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="itemized_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    for name in ["住院结算.ybl", "医保目录.csv"]:
        shutil.copy(EXAMPLE / name, folder / name)
    (folder / "pyproject.toml").write_text("", encoding="utf-8")  # the project root: the catalog beside the policy
    started = time.perf_counter()
    claims_path, lines_path, total = generate(args.claims, folder)
    print(f"数据：{args.claims:,} 张结算单、{total:,} 行明细（生成 {time.perf_counter() - started:.1f} 秒）：{folder}")

    ours_t, ours_m, ours_c = best(yibaolang("run", "住院结算.ybl", "--cases", claims_path.name, "--items",
                                     f"明细={lines_path.name}", "--key", "单据号", "-o", "out.parquet"), folder, args.repeat)
    sql = SQL.format(catalog=folder / "医保目录.csv", claims=claims_path, lines=lines_path, out=folder / "duck.parquet")
    (folder / "rule.sql").write_text(sql, encoding="utf-8")
    (folder / "duck_run.py").write_text(DUCKDB_RUN, encoding="utf-8")
    duck_t, duck_m, duck_c = best([sys.executable, "duck_run.py", "rule.sql"], folder, args.repeat)

    # The plain batch: DuckDB's per-claim totals as the cases of the claim-level policy.
    duck = pq.read_table(folder / "duck.parquet")
    pq.write_table(duck.select(["医院等级", "人员类别", "总费用", "政策范围内费用"]), folder / "汇总.parquet")
    (folder / "汇总结算.ybl").write_text(PLAIN, encoding="utf-8")
    plain_t, plain_m, plain_c = best(yibaolang("run", "汇总结算.ybl", "--cases", "汇总.parquet", "-o", "plain.parquet"),
                                     folder, args.repeat)

    ours = pq.read_table(folder / "out.parquet")
    assert ours.num_rows == args.claims, "rows in = rows out"
    errors = int(np.count_nonzero(np.asarray(ours["错误"].to_pylist(), dtype=object) != ""))
    vs_duck = sum(int(np.count_nonzero(cents(ours, name) != cents(duck, name))) for name in OUTPUTS)
    plain = pq.read_table(folder / "plain.parquet")
    vs_plain = int(np.count_nonzero(cents(plain, "统筹支付") != cents(ours, "统筹支付")))
    sample = interpreter_sample(folder, ours, claims_path, lines_path, args.sample)

    rows = [
        ("yibaolang run --items（Parquet → Parquet）", ours_t, ours_m, ours_c),
        ("DuckDB SQL（同一规则，同样的文件）", duck_t, duck_m, duck_c),
        ("普通批量（预先汇总的结算单，yibaolang run --cases）", plain_t, plain_m, plain_c),
    ]
    load = os.getloadavg()[0]
    print(f"{'':44}{'秒':>9}{'处理器秒':>10}{'峰值内存 MB':>14}{'相对 DuckDB':>13}    （负载 {load:.1f}）")
    for label, seconds, peak, cpu in rows:
        print(f"{label:44}{seconds:9.2f}{cpu:10.2f}{peak:14,.0f}{seconds / duck_t:12.2f}×")
    print(f"明细 {total / ours_t:,.0f} 行/秒；结算单 {args.claims / ours_t:,.0f} 张/秒；出错 {errors} 行")
    print(f"与 DuckDB 不同的金额：{vs_duck} 个；与普通批量的 统筹支付 不同：{vs_plain} 个；"
          f"与解释器（{min(args.sample, args.claims):,} 张抽样）相差 {sample} 分")
    if args.markdown:
        print()
        print(f"| {args.claims:,} 张结算单、{total:,} 行明细 | 秒 | 处理器秒 | 峰值内存 | 相对 DuckDB |")
        print("|---|---:|---:|---:|---:|")
        for label, seconds, peak, cpu in rows:
            print(f"| {label} | {seconds:.2f} | {cpu:.2f} | {peak / 1024:.2f} GB | {seconds / duck_t:.2f}× |")
    summary = {"claims": args.claims, "lines": total, "load": load, "ours": [ours_t, ours_m, ours_c],
               "duckdb": [duck_t, duck_m, duck_c], "plain": [plain_t, plain_m, plain_c], "differences": {"duckdb": vs_duck, "plain": vs_plain,
                                                            "interpreter_sample": sample}}
    print(json.dumps(summary, ensure_ascii=False))
    if args.dir is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
