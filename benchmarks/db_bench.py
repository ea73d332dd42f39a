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


def duck_floor(path: Path, result: Any) -> None:
    """DuckDB's own I/O for the run: read the claims as Arrow batches, write the result rows in a transaction."""
    import duckdb

    con = duckdb.connect(str(path))
    for _ in con.sql("SELECT * FROM 理赔").to_arrow_reader(262_144):
        pass
    con.execute("BEGIN TRANSACTION")
    con.execute("DROP TABLE IF EXISTS 下限")
    con.register("r", result)
    con.execute("CREATE TABLE 下限 AS SELECT * FROM r")
    con.execute("COMMIT")
    con.close()


def pg_floor(url: str, result: Any) -> None:
    """PostgreSQL's own I/O for the run through ADBC: read the claims (binary COPY), COPY the result rows in."""
    import adbc_driver_postgresql.dbapi as pgdb

    with pgdb.connect(url) as pg, pg.cursor() as cur:
        cur.execute("SELECT * FROM 理赔")
        for _ in cur.fetch_record_batch():
            pass
        cur.execute("DROP TABLE IF EXISTS 下限")
        cur.execute('CREATE TABLE 下限 ("行号" BIGINT, 总费用 NUMERIC(18, 2), 基本医保支付 NUMERIC(18, 2), '
                    "大病保险支付 NUMERIC(18, 2), 补充保险支付 NUMERIC(18, 2), 个人自付 NUMERIC(18, 2), 错误 TEXT)")
        for batch in result.to_batches(262_144):
            cur.adbc_ingest("下限", batch, mode="append")
        pg.commit()


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
            run(program, str(src), str(folder / "结果.parquet"))
            reference = pq.read_table(folder / "结果.parquet")
            numbered = reference.add_column(0, "行号", pa.array(np.arange(1, n + 1, dtype=np.int64)))
            numbered = numbered.cast(pa.schema([pa.field(f.name, pa.decimal128(18, 2) if pa.types.is_decimal(f.type)
                                                         else f.type) for f in numbered.schema]))
            tasks = {
                "parquet": lambda: run(program, str(src), str(folder / "结果.parquet")),
                "duckdb-floor": lambda: duck_floor(duck_file, numbered),
                "postgresql-floor": lambda: pg_floor(url, numbered),
                "duckdb": lambda: run(program, duck_in, duck_out),
                "postgresql": lambda: run(program, url + "?table=理赔", url + "?table=结果"),
                "duckdb-sql": lambda: duck_sql(duck_file),
            }
            t = median_times(tasks, args.repeat)
            con = duckdb.connect(str(duck_file), read_only=True)
            same(reference, con.sql('SELECT * FROM 结果 ORDER BY "行号"').to_arrow_table(), "DuckDB")
            same(reference, con.sql("SELECT * FROM 结果sql").to_arrow_table(), "DuckDB SQL")
            con.close()
            with pgdb.connect(url) as pg, pg.cursor() as cur:
                cur.execute('SELECT * FROM 结果 ORDER BY "行号"')
                same(reference, cur.fetch_arrow_table(), "PostgreSQL")
            print(f"结果逐分相同：DuckDB 表、PostgreSQL 表、DuckDB 的 SQL 与 Parquet 的结果，{n:,} 行，5 个金额列")
            p = t["parquet"]
            df, pf = t["duckdb-floor"], t["postgresql-floor"]
            print(f"{'':26}{'用时':>8}  {'对 Parquet':>10}  {'对库自身的读写':>10}")
            print(f"{'Parquet → Parquet':26}{p:7.2f} 秒  {1:9.2f}×")
            print(f"{'DuckDB → DuckDB':26}{t['duckdb']:7.2f} 秒  {t['duckdb'] / p:9.2f}×  {t['duckdb'] / df:9.2f}×")
            print(f"{'PostgreSQL → PostgreSQL':26}{t['postgresql']:7.2f} 秒  {t['postgresql'] / p:9.2f}×  "
                  f"{t['postgresql'] / pf:9.2f}×")
            print(f"{'DuckDB 自身的读写':26}{df:7.2f} 秒  {df / p:9.2f}×")
            print(f"{'PostgreSQL 自身的读写':26}{pf:7.2f} 秒  {pf / p:9.2f}×")
            print(f"{'DuckDB 内的 SQL':26}{t['duckdb-sql']:7.2f} 秒  {t['duckdb-sql'] / p:9.2f}×")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
