"""Claims read from and written to databases against Parquet → Parquet (issue 14); prints ratios, checks exactness.

    pip install 'yibaolang[batch,db,bench]'   # and Debian's postgresql package (initdb, pg_ctl)
    python benchmarks/db_bench.py [--rows 1000000] [--repeat 3]

For examples/layered_claim.ybl on the same generated claims (benchmarks/duckdb_bench.py's
`layered_parquet`: money as decimal, ratios 50–90%), measured in one run, median of `--repeat`
paired rounds, each a full `execute()` in this process (the policy compiled beforehand):

- Parquet → Parquet: the file case, the yardstick;
- DuckDB → DuckDB: `duckdb:///理赔.duckdb?table=理赔` to `?table=结果` in the same file (--replace);
- PostgreSQL → PostgreSQL: a throwaway local server (tests/pg_server.py, loopback, fsync on), a
  NUMERIC(18, 2) claims table to a result table (--replace), over ADBC (binary COPY both ways);
- DuckDB SQL: the same rules written in SQL (duckdb_bench.LAYERED_SQL) run inside DuckDB,
  `CREATE OR REPLACE TABLE … AS SELECT …` from the claims table, 2 threads.

Every money column of the DuckDB and PostgreSQL result tables is compared with the Parquet result, and
the Parquet result with DuckDB's SQL, to the 分; row counts and order (行号) are checked.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from duckdb_bench import LAYERED, LAYERED_SQL, layered_parquet, median_times  # noqa: E402

MONEY = ["总费用", "基本医保支付", "大病保险支付", "补充保险支付", "个人自付"]


def run(program: Any, cases: str, out: str) -> int:
    from yibaolang.tools.batch import Options, _NoProgress, execute

    with contextlib.redirect_stderr(io.StringIO()):  # the notes about columns the file lacks
        summary = execute(program, Options(policy="", cases=cases, out=out, replace=True), _NoProgress())
    return summary.rows


def duck_sql(path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("SET threads = 2")
    sql = LAYERED_SQL.replace("read_parquet('{src}')", "理赔")
    con.execute(f"CREATE OR REPLACE TABLE 结果sql AS {sql}")
    con.close()


def cents(column: Any) -> Any:
    """Money as int64 分, whatever the type it comes back in (decimal, or PostgreSQL's NUMERIC text)."""
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column.type, pa.BaseExtensionType):
        column = column.storage
    if pa.types.is_string(column.type):
        column = pc.cast(column, pa.decimal128(38, 2))
    column = column.cast(pa.decimal128(38, 2))
    words = np.frombuffer(column.buffers()[1], dtype=np.int64)[2 * column.offset: 2 * (column.offset + len(column))]
    return words[0::2].copy()


def same(reference: Any, table: Any, what: str) -> None:
    assert table.num_rows == reference.num_rows, f"{what}: {table.num_rows} rows, not {reference.num_rows}"
    if "行号" in table.column_names:
        numbers = np.asarray(table["行号"].combine_chunks())
        assert np.array_equal(numbers, np.arange(1, table.num_rows + 1)), f"{what}: rows out of order"
    for name in MONEY:
        bad = int(np.sum(cents(reference[name]) != cents(table[name])))
        assert bad == 0, f"{what}: {name} differs on {bad} rows"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import adbc_driver_postgresql.dbapi as pgdb
    import duckdb

    from tests import pg_server
    from yibaolang.checks.compiler import compile_policy

    n = args.rows
    print(f"{n:,} 行，{os.cpu_count()} 核，负载 {os.getloadavg()[0]:.1f}；每项取 {args.repeat} 轮的中位数")
    server = pg_server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="yb-db-") as tmp:
            folder = Path(tmp)
            src = folder / "理赔.parquet"
            layered_parquet(src, n, 5)
            claims = pq.read_table(src)
            duck_file = folder / "理赔.duckdb"
            con = duckdb.connect(str(duck_file))
            con.execute(f"CREATE TABLE 理赔 AS SELECT * FROM read_parquet('{src}')")
            con.close()
            url = server.url_with_password
            with pgdb.connect(url) as pg, pg.cursor() as cur:
                cur.execute("CREATE TABLE 理赔 (政策范围内费用 NUMERIC(18, 2), 政策范围外费用 NUMERIC(18, 2), "
                            "住院起付标准 NUMERIC(18, 2), 住院报销比例 NUMERIC(5, 2), 住院次序 BIGINT)")
                cur.adbc_ingest("理赔", claims, mode="append")
                pg.commit()
            program = compile_policy(LAYERED)
            duck_in, duck_out = f"duckdb:///{duck_file}?table=理赔", f"duckdb:///{duck_file}?table=结果"
            tasks = {
                "parquet": lambda: run(program, str(src), str(folder / "结果.parquet")),
                "duckdb": lambda: run(program, duck_in, duck_out),
                "postgresql": lambda: run(program, url + "?table=理赔", url + "?table=结果"),
                "duckdb-sql": lambda: duck_sql(duck_file),
            }
            t = median_times(tasks, args.repeat)
            reference = pq.read_table(folder / "结果.parquet")
            con = duckdb.connect(str(duck_file), read_only=True)
            same(reference, con.execute('SELECT * FROM 结果 ORDER BY "行号"').to_arrow_table(), "DuckDB")
            same(reference, con.execute("SELECT * FROM 结果sql").to_arrow_table(), "DuckDB SQL")
            con.close()
            with pgdb.connect(url) as pg, pg.cursor() as cur:
                cur.execute('SELECT * FROM 结果 ORDER BY "行号"')
                same(reference, cur.fetch_arrow_table(), "PostgreSQL")
            print(f"结果逐分相同：DuckDB 表、PostgreSQL 表、DuckDB 的 SQL 与 Parquet 的结果，{n:,} 行，5 个金额列")
            p = t["parquet"]
            print(f"{'Parquet → Parquet':24} {p:6.2f} 秒  1.00×")
            print(f"{'DuckDB → DuckDB':24} {t['duckdb']:6.2f} 秒  {t['duckdb'] / p:.2f}×")
            print(f"{'PostgreSQL → PostgreSQL':24} {t['postgresql']:6.2f} 秒  {t['postgresql'] / p:.2f}×")
            print(f"{'DuckDB 内的 SQL':24} {t['duckdb-sql']:6.2f} 秒  {t['duckdb-sql'] / p:.2f}×")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
