"""Data sources (docs/batch.md 数据源): DuckDB, SQLite and PostgreSQL tables and queries, Excel sheets,
CSV files in UTF-8 (with or without BOM), GBK and GB18030; result tables written in one transaction.

Every database result is compared, row by row and to the 分, with the same rows run from Parquet to
Parquet.  The PostgreSQL tests run against a real throwaway server (the `pg_server` fixture in
conftest.py, tests/pg_server.py); none is mocked.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as pgdb
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import python_calamine
import xlsxwriter
from click.testing import CliRunner

from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
POLICY = """\
政策 数据源测试
    施行 2024年1月1日

输入 费用 : 金额 范围 0元 至 1亿元
输入 比例 : 比例 默认 50%

定义 报销 : 金额 = 费用 × 比例
定义 自付 : 金额 = 费用 - 报销

输出 报销, 自付
"""
ROWS = 3000
CENT = Decimal("0.01")


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def amounts(n: int = ROWS) -> list[Decimal | None]:
    """Exact amounts from 0.01 to just under 1亿元, every tenth row empty (缺少输入)."""
    out: list[Decimal | None] = []
    for i in range(n):
        if i % 10 == 7:
            out.append(None)
        else:
            out.append((Decimal(i * 7919 % 10_000_000_000) + Decimal(i % 100) / 100).quantize(CENT)
                       if i % 3 else Decimal("99999999.99") - i * CENT)
    return out


def ratios(n: int = ROWS) -> list[Decimal | None]:
    return [None if i % 11 == 3 else Decimal(i % 1000) / 1000 for i in range(n)]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.ybl").write_text(POLICY, encoding="utf-8")
    table = pa.table({"费用": pa.array(amounts(), pa.decimal128(18, 2)),
                      "比例": pa.array(ratios(), pa.decimal128(18, 3))})
    pq.write_table(table, tmp_path / "理赔.parquet")
    result = cli("run", "p.ybl", "--cases", "理赔.parquet", "-o", "参考.parquet")
    assert result.exit_code == 1, result.output  # the empty rows are errors
    return tmp_path


def reference(folder: Path) -> list[tuple[Any, ...]]:
    rows = pq.read_table(folder / "参考.parquet").to_pylist()
    return [(i + 1, r["报销"], r["自付"], r["错误"] or "") for i, r in enumerate(rows)]


def normalized(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """(行号, 报销, 自付, 错误) with amounts as Decimal (SQLite gives INTEGER or REAL, PostgreSQL text)."""
    out = []
    for number, paid, own, error in rows:
        out.append((int(number), _dec(paid), _dec(own), error or ""))
    return out


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(CENT)
    return Decimal(value).quantize(CENT)


# ------------------------------------------------------------------ DuckDB


def _duck_cases(folder: Path, name: str = "理赔.duckdb") -> None:
    con = duckdb.connect(str(folder / name))
    con.execute("CREATE TABLE 理赔 AS SELECT * FROM read_parquet('理赔.parquet')")
    con.close()


def test_duckdb_table_to_table_is_the_parquet_run_to_the_fen(work: Path) -> None:
    _duck_cases(work)
    result = cli("run", "p.ybl", "--cases", "duckdb:///理赔.duckdb?table=理赔", "-o", "duckdb:///理赔.duckdb?table=结果")
    assert result.exit_code == 1, result.output
    assert "已写入 duckdb:///理赔.duckdb?table=结果" in result.output
    con = duckdb.connect("理赔.duckdb", read_only=True)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = '结果'").fetchall())
    assert types == {"行号": "BIGINT", "报销": "DECIMAL(18,2)", "自付": "DECIMAL(18,2)", "错误": "VARCHAR"}
    rows = con.execute('SELECT "行号", "报销", "自付", "错误" FROM 结果 ORDER BY "行号"').fetchall()
    assert len(rows) == ROWS
    assert normalized(rows) == reference(work)
    # The input table is untouched.
    assert con.execute("SELECT count(*) FROM 理赔").fetchone() == (ROWS,)


def test_duckdb_query_instead_of_a_table(work: Path) -> None:
    _duck_cases(work)
    result = cli("run", "p.ybl", "--cases", "duckdb:///理赔.duckdb", "--query",
                 "SELECT 费用, 比例 FROM 理赔 WHERE 费用 IS NOT NULL", "-o", "结果.parquet")
    assert result.exit_code == 0, result.output
    expected = [r for r in reference(work) if r[3] == ""]
    got = pq.read_table("结果.parquet").to_pylist()
    assert [(r["报销"], r["自付"]) for r in got] == [(r[1], r[2]) for r in expected]


def test_an_existing_result_table_needs_replace_and_replace_is_complete(work: Path) -> None:
    _duck_cases(work)
    con = duckdb.connect("理赔.duckdb")
    con.execute("CREATE TABLE 结果 (旧 INTEGER)")
    con.execute("INSERT INTO 结果 VALUES (1), (2)")
    con.close()
    target = "duckdb:///理赔.duckdb?table=结果"
    result = cli("run", "p.ybl", "--cases", "理赔.parquet", "-o", target)
    assert result.exit_code == 1
    assert "错误[YB474]：结果表 结果 已经存在" in result.output and "--replace" in result.output
    con = duckdb.connect("理赔.duckdb", read_only=True)
    assert con.execute("SELECT * FROM 结果").fetchall() == [(1,), (2,)]
    con.close()
    result = cli("run", "p.ybl", "--cases", "理赔.parquet", "-o", target, "--replace")
    assert result.exit_code == 1, result.output
    con = duckdb.connect("理赔.duckdb", read_only=True)
    assert normalized(con.execute('SELECT "行号", 报销, 自付, 错误 FROM 结果 ORDER BY 1').fetchall()) == reference(work)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert tables == {"理赔", "结果"}  # no temporary table left


def test_the_input_table_is_never_the_output(work: Path) -> None:
    _duck_cases(work)
    same = "duckdb:///理赔.duckdb?table=理赔"
    result = cli("run", "p.ybl", "--cases", same, "-o", same, "--replace")
    assert result.exit_code == 1
    assert "错误[YB020]" in result.output and "不能覆盖输入" in result.output
    con = duckdb.connect("理赔.duckdb", read_only=True)
    assert con.execute("SELECT count(*) FROM 理赔").fetchone() == (ROWS,)


@pytest.mark.parametrize(("location", "code", "words"), [
    ("duckdb:///理赔.duckdb", "YB470", "没有给出要读的表"),
    ("duckdb:///没有.duckdb?table=理赔", "YB472", "没有.duckdb"),
    ("duckdb:///理赔.duckdb?table=没有这张表", "YB473", "没有这张表"),
    ("mysql://u@h/db?table=t", "YB470", "不认识的前缀 mysql://"),
    ("duckdb://主机/理赔.duckdb?table=理赔", "YB470", "不是主机"),
])
def test_bad_locations_are_one_diagnostic(work: Path, location: str, code: str, words: str) -> None:
    _duck_cases(work)
    result = cli("run", "p.ybl", "--cases", location, "-o", "结果.csv")
    assert result.exit_code == 1, result.output
    assert f"错误[{code}]" in result.output and words in result.output, result.output
    assert "Traceback" not in result.output and not Path("结果.csv").exists()


def _slow_writer(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open("stderr.txt", "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "yibaolang", *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)


def _big_cases(folder: Path, rows: int) -> None:
    n = rows
    table = pa.table({"费用": pa.array([Decimal(i % 100000) / 100 for i in range(n)], pa.decimal128(18, 2)),
                      "比例": pa.array([Decimal("0.5")] * n, pa.decimal128(18, 3))})
    pq.write_table(table, folder / "大.parquet")


def test_a_killed_duckdb_writer_leaves_the_old_table(work: Path) -> None:
    _big_cases(work, 150_000)
    # The interpreter, row by row, so that the run takes long enough; a full run first says how long.
    args = ["run", "p.ybl", "--cases", "大.parquet", "--chunk-size", "2000", "--engine", "interpreter", "--replace"]
    started = time.monotonic()
    full = _slow_writer([*args, "-o", "duckdb:///整.duckdb?table=结果"])
    assert full.wait() == 0, Path("stderr.txt").read_text("utf-8")
    whole = time.monotonic() - started
    con = duckdb.connect("结果.duckdb")
    con.execute("CREATE TABLE 结果 AS SELECT 1 AS 旧")
    con.close()
    proc = _slow_writer([*args, "-o", "duckdb:///结果.duckdb?table=结果"])
    time.sleep(whole * 0.6)  # past compiling and the first chunks: rows are being inserted
    assert proc.poll() is None, ("the run ended before it could be killed", Path("stderr.txt").read_text("utf-8"))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    con = duckdb.connect("结果.duckdb", read_only=True)
    assert con.execute("SELECT * FROM 结果").fetchall() == [(1,)]
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    assert tables == ["结果"]
    con.close()
    con = duckdb.connect("整.duckdb", read_only=True)
    assert con.execute('SELECT count(*), max("行号") FROM 结果').fetchone() == (150_000, 150_000)


# ------------------------------------------------------------------ SQLite


def test_sqlite_integers_reals_and_text_are_read_exactly(work: Path) -> None:
    con = sqlite3.connect("理赔.db")
    con.execute("CREATE TABLE 理赔 (费用 NUMERIC(18, 2), 比例 REAL)")
    rows = []
    for k, (a, r) in enumerate(zip(amounts(), ratios(), strict=True)):
        cell: Any = None if a is None else (int(a) if a == a.to_integral_value() else
                                            float(a) if k % 2 else str(a))
        rows.append((cell, None if r is None else float(r)))
    con.executemany("INSERT INTO 理赔 VALUES (?, ?)", rows)
    con.commit()
    con.close()
    result = cli("run", "p.ybl", "--cases", "sqlite:///理赔.db?table=理赔", "-o", "sqlite:///理赔.db?table=结果")
    assert result.exit_code == 1, result.output
    con = sqlite3.connect("理赔.db")
    got = con.execute('SELECT "行号", 报销, 自付, 错误 FROM 结果 ORDER BY 1').fetchall()
    declared = {r[1]: r[2] for r in con.execute("PRAGMA table_info(结果)").fetchall()}
    assert declared == {"行号": "INTEGER", "报销": "NUMERIC(18, 2)", "自付": "NUMERIC(18, 2)", "错误": "TEXT"}
    assert normalized(got) == reference(work)


def test_a_real_money_cell_with_three_decimals_is_a_row_error(work: Path) -> None:
    con = sqlite3.connect("理赔.db")
    con.execute("CREATE TABLE 理赔 (费用 REAL)")
    con.executemany("INSERT INTO 理赔 VALUES (?)", [(100.5,), (0.1 + 0.2,), (12.345,)])
    con.commit()
    con.close()
    result = cli("run", "p.ybl", "--cases", "sqlite:///理赔.db?table=理赔", "-o", "结果.csv")
    assert result.exit_code == 1
    text = Path("结果.csv").read_text("utf-8-sig").splitlines()
    assert text[1].startswith("50.25,50.25,")
    assert "0.30000000000000004" in text[2] and "12.345" in text[3]


# ------------------------------------------------------------------ PostgreSQL


def _pg_cases(url: str, table: str = "理赔") -> None:
    with pgdb.connect(url) as con, con.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{table}"')
        cur.execute(f'CREATE TABLE "{table}" (费用 NUMERIC(18, 2), 比例 NUMERIC(6, 3))')
        cur.adbc_ingest(table, pa.table({"费用": pa.array(amounts(), pa.decimal128(18, 2)),
                                         "比例": pa.array(ratios(), pa.decimal128(6, 3))}), mode="append")
        con.commit()


def _pg_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with pgdb.connect(url) as con, con.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def test_postgresql_round_trip_to_the_fen(work: Path, pg_server: Any) -> None:
    _pg_cases(pg_server.url_with_password)
    src = pg_server.url_with_password + "?table=理赔"
    out = pg_server.url_with_password + "?table=结果"
    _pg_drop(pg_server, "结果")
    result = cli("run", "p.ybl", "--cases", src, "-o", out)
    assert result.exit_code == 1, result.output
    assert ":***@" in result.output and pg_server.url_with_password not in result.output  # no password shown
    types = _pg_rows(pg_server.url_with_password, "SELECT column_name, data_type, numeric_precision, numeric_scale "
                     "FROM information_schema.columns WHERE table_name = '结果' ORDER BY ordinal_position")
    assert types == [("行号", "bigint", 64, 0), ("报销", "numeric", 18, 2), ("自付", "numeric", 18, 2),
                     ("错误", "text", None, None)]
    rows = _pg_rows(pg_server.url_with_password, 'SELECT "行号", 报销, 自付, 错误 FROM 结果 ORDER BY 1')
    assert len(rows) == ROWS
    assert normalized(rows) == reference(work)


def _pg_drop(server: Any, table: str) -> None:
    with pgdb.connect(server.url_with_password) as con, con.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{table}"')
        con.commit()


def test_postgresql_password_from_pgpassword_and_pgpass(work: Path, pg_server: Any, tmp_path: Path) -> None:
    from tests.pg_server import PASSWORD

    _pg_cases(pg_server.url_with_password)
    src = pg_server.url + "?table=理赔"
    # No password anywhere: refused by the server, one diagnostic.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    empty = tmp_path / "empty_pgpass"
    empty.write_text("", encoding="utf-8")
    result = cli("run", "p.ybl", "--cases", src, "-o", "甲.csv", env={**clean, "PGPASSFILE": str(empty)})
    assert result.exit_code == 1
    assert "错误[YB472]：无法连接" in result.output and "PGPASSWORD" in result.output
    result = cli("run", "p.ybl", "--cases", src, "-o", "乙.csv", env={"PGPASSWORD": PASSWORD})
    assert result.exit_code == 1 and Path("乙.csv").exists(), result.output
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_server.port}:*:yb:{PASSWORD}\n", encoding="utf-8")
    pgpass.chmod(0o600)
    result = cli("run", "p.ybl", "--cases", src, "-o", "丙.csv", env={"PGPASSFILE": str(pgpass), "PGPASSWORD": None})
    assert result.exit_code == 1 and Path("丙.csv").exists(), result.output
    assert Path("乙.csv").read_bytes() == Path("丙.csv").read_bytes()


def test_postgresql_query_and_a_missing_table(work: Path, pg_server: Any) -> None:
    _pg_cases(pg_server.url_with_password)
    result = cli("run", "p.ybl", "--cases", pg_server.url_with_password, "--query",
                 "SELECT 费用 FROM 理赔 WHERE 费用 < 100", "-o", "结果.parquet")
    assert result.exit_code == 0, result.output
    expected = [a for a in amounts() if a is not None and a < 100]
    got = pq.read_table("结果.parquet").to_pylist()
    assert [r["报销"] + r["自付"] for r in got] == expected
    result = cli("run", "p.ybl", "--cases", pg_server.url_with_password + "?table=没有", "-o", "乙.parquet")
    assert result.exit_code == 1 and "错误[YB473]" in result.output and "没有" in result.output


def test_a_killed_postgresql_writer_leaves_the_old_table(work: Path, pg_server: Any) -> None:
    _big_cases(work, 300_000)
    url = pg_server.url_with_password
    # autocommit: pg_stat_activity is read afresh by each statement, not once per transaction.
    with pgdb.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute('DROP TABLE IF EXISTS "大结果"')
        cur.execute('CREATE TABLE "大结果" AS SELECT 1 AS 旧')
        proc = _slow_writer(["run", "p.ybl", "--cases", "大.parquet", "-o", url + "?table=大结果", "--replace",
                             "--chunk-size", "2000", "--engine", "interpreter"])
        writing = ("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %\\_\\_yb\\_%' "
                   "AND pid <> pg_backend_pid()")
        copied = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            cur.execute(writing)  # the writer's session has copied rows into its temporary table
            if cur.fetchone()[0]:
                copied = True
                break
            time.sleep(0.05)
        assert copied and proc.poll() is None, ("the writer never started copying rows",
                                                Path("stderr.txt").read_text("utf-8"))
        time.sleep(1)
        assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for _ in range(100):  # the server ends the killed client's transaction when it sees the connection close
            cur.execute(writing)
            if not cur.fetchone()[0]:
                break
            time.sleep(0.1)
        cur.execute('SELECT * FROM "大结果"')
        assert cur.fetchall() == [(1,)]
        cur.execute("SELECT count(*) FROM pg_class WHERE relname LIKE '%\\_\\_yb\\_%'")
        assert cur.fetchone()[0] == 0


# ------------------------------------------------------------------ Excel


def _workbook(path: Path, sheet: str, rows: list[list[Any]]) -> None:
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("封面").write_string(0, 0, "说明")
    ws = book.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r, c, value)
    book.close()


def test_excel_in_and_out_with_a_sheet_and_a_bad_cell(work: Path) -> None:
    _workbook(work / "结算.xlsx", "Sheet1", [["费用", "比例"], [100.5, 0.5], [200, "60%"], ["15万元", None],
                                            [12.345, 0.5], [100 / 3, 0.5]])
    result = cli("run", "p.ybl", "--cases", "结算.xlsx?sheet=Sheet1", "-o", "结果.xlsx?sheet=结果")
    assert result.exit_code == 1, result.output
    sheet = python_calamine.CalamineWorkbook.from_path("结果.xlsx").get_sheet_by_name("结果").to_python()
    assert sheet[0] == ["报销", "自付", "错误"]
    assert sheet[1][:2] == [50.25, 50.25] and sheet[2][:2] == [120.0, 80.0] and sheet[3][:2] == [75000.0, 75000.0]
    assert "单元格 Sheet1!A5（费用）：金额 12.345 多于两位小数" in sheet[4][2]
    assert "Sheet1!A6" in sheet[5][2] and "33.3333333333333" in sheet[5][2]
    result = cli("run", "p.ybl", "--cases", "结算.xlsx?sheet=没有", "-o", "结果2.csv")
    assert result.exit_code == 1 and "错误[YB477]" in result.output and "封面、Sheet1" in result.output


def test_excel_output_refuses_more_rows_than_a_sheet_holds(work: Path) -> None:
    import yibaolang.tools.sources as sources

    writer = sources.open_sink("大.xlsx")
    writer.write(pa.table({"a": pa.array(range(10))}))
    with pytest.raises(Exception, match=r"YB478|超过 Excel 工作表的上限"):
        writer.write(pa.table({"a": pa.array(range(sources.EXCEL_MAX_ROWS))}))
    writer.abort()
    assert not Path("大.xlsx").exists() and not list(Path().glob(".大.xlsx*"))


# ------------------------------------------------------------------ CSV encodings

CSV_TEXT = "费用,比例,备注\n100.10,0.333,住院\n12.345,,门诊\n,,\n5元,60%,“特殊”病种€\n"


@pytest.mark.parametrize(("encoding", "shown"), [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8（带 BOM）"),
                                                 ("gbk", "GB18030"), ("gb18030", "GB18030")])
def test_csv_encodings_are_detected(work: Path, encoding: str, shown: str) -> None:
    (work / "u.csv").write_text(CSV_TEXT, encoding="utf-8")
    text = CSV_TEXT if encoding != "gbk" else CSV_TEXT.replace("€", "")
    (work / "x.csv").write_bytes(text.encode(encoding))
    cli("run", "p.ybl", "--cases", "u.csv", "-o", "u_out.csv")
    result = cli("run", "p.ybl", "--cases", "x.csv", "-o", "x_out.csv", "--keep-inputs")
    assert result.exit_code == 1, result.output
    assert f"按 {shown} 编码读取" in result.output
    cli("run", "p.ybl", "--cases", "u.csv", "-o", "u_keep.csv", "--keep-inputs")
    expected = Path("u_keep.csv").read_text("utf-8-sig")
    if encoding == "gbk":
        expected = expected.replace("€", "")
    assert Path("x_out.csv").read_text("utf-8-sig") == expected
    assert "特殊" in expected


def test_encoding_can_be_forced_and_an_undecodable_file_names_line_and_byte(work: Path) -> None:
    data = CSV_TEXT.replace("€", "").encode("gbk")
    (work / "g.csv").write_bytes(data)
    forced = cli("run", "p.ybl", "--cases", "g.csv", "-o", "a.csv", "--encoding", "gbk")
    assert forced.exit_code == 1 and "按 GBK 编码读取" in forced.output
    wrong = cli("run", "p.ybl", "--cases", "g.csv", "-o", "b.csv", "--encoding", "utf-8")
    assert wrong.exit_code == 1 and "错误[YB476]：无法按 UTF-8 读取 g.csv：第 1 行（文件第 0 字节）" in wrong.output
    lines = data.split(b"\n")
    lines[3] = b"7,0.5,\xff\xfe"  # line 4: bytes that are neither UTF-8 nor GB18030
    bad = b"\n".join(lines)
    (work / "bad.csv").write_bytes(bad)
    result = cli("run", "p.ybl", "--cases", "bad.csv", "-o", "c.csv")
    assert result.exit_code == 1
    offset = bad.index(b"\xff")
    assert f"第 4 行（文件第 {offset:,} 字节）的 0xFF 0xFE" in result.output, result.output
    assert "错误[YB476]" in result.output and "--encoding gb18030" in result.output
    assert not Path("c.csv").exists()
    result = cli("run", "p.ybl", "--cases", "bad.csv", "-o", "d.csv", "--encoding", "gb18030")
    assert "错误[YB476]：无法按 GB18030 读取 bad.csv：第 4 行" in result.output
    result = cli("run", "p.ybl", "--cases", "bad.csv", "-o", "d.csv", "--encoding", "火星文")
    assert "错误[YB476]：不认识的编码 火星文" in result.output


def test_the_old_utf8_message_is_gone_for_a_gbk_header(work: Path) -> None:
    (work / "g.csv").write_bytes("费用\n100\n".encode("gbk"))
    result = cli("run", "p.ybl", "--cases", "g.csv", "-o", "a.csv")
    assert "表头不是 UTF-8 编码" not in result.output
    assert Path("a.csv").read_text("utf-8-sig").splitlines()[1] == '50.00,50.00,""'


def test_csv_output_bom_is_optional(work: Path) -> None:
    (work / "u.csv").write_text(CSV_TEXT, encoding="utf-8")
    cli("run", "p.ybl", "--cases", "u.csv", "-o", "with.csv")
    cli("run", "p.ybl", "--cases", "u.csv", "-o", "without.csv", "--no-bom")
    assert Path("with.csv").read_bytes() == b"\xef\xbb\xbf" + Path("without.csv").read_bytes()


# ------------------------------------------------------------------ sample and compare from a database


def test_sample_into_duckdb_then_compare_from_it(work: Path) -> None:
    result = cli("sample", "p.ybl", "--rows", "500", "-o", "duckdb:///演示.duckdb?table=案例")
    assert result.exit_code == 0, result.output
    con = duckdb.connect("演示.duckdb", read_only=True)
    assert con.execute("SELECT count(*) FROM 案例").fetchone() == (500,)
    con.close()
    new = work / "新.ybl"
    new.write_text(POLICY.replace("默认 50%", "默认 60%"), encoding="utf-8")
    result = cli("compare", "p.ybl", "新.ybl", "--cases", "duckdb:///演示.duckdb?table=案例", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    assert '"rows": 500' in result.output or "500" in result.output


# ------------------------------------------------------------------ the docs' PostgreSQL transcript


def test_the_docs_postgresql_transcript_runs_against_a_real_server(tmp_path: Path, pg_server: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/batch.md §7's PostgreSQL commands, each run against the throwaway server (its address put in)."""
    from tests.pg_server import PASSWORD
    from tests.test_docs import _TIMING, DOCS, Transcript, expected_pattern, run_transcript

    lines = (DOCS / "batch.md").read_text(encoding="utf-8").split("\n")
    marker = next(i for i, line in enumerate(lines) if line.startswith("<!-- 不运行：要有 PostgreSQL 服务器"))
    assert lines[marker + 1] == "```console"
    end = next(i for i in range(marker + 2, len(lines)) if lines[i] == "```")
    text = "\n".join(lines[marker + 2:end]) + "\n"
    assert text.count("$ yibaolang") == 3
    text = text.replace("postgresql://统计员@库服务器:5432/医保", pg_server.url)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    actual = _TIMING.sub("用时 …", run_transcript(Transcript("batch.md", marker, text, {}), tmp_path))
    assert expected_pattern(_TIMING.sub("用时 …", text)).fullmatch(actual), actual
    rows = _pg_rows(pg_server.url_with_password, 'SELECT count(*), min("行号"), max("行号") FROM 结果')
    assert rows == [(1000, 1, 1000)]


def test_postgresql_numeric_of_any_precision_is_read_exactly(work: Path, pg_server: Any) -> None:
    """NUMERIC(p ≤ 18, s) travels as a scaled int8, a wider or unconstrained NUMERIC as its exact text."""
    url = pg_server.url_with_password
    with pgdb.connect(url) as con, con.cursor() as cur:
        cur.execute('DROP TABLE IF EXISTS "宽"')
        cur.execute('CREATE TABLE "宽" (费用 NUMERIC, 比例 NUMERIC(30, 4), 备注 TEXT)')
        cur.execute("INSERT INTO \"宽\" VALUES (99999999.99, 0.3333, '甲'), (0.01, 1, NULL), (NULL, 0.5, '乙'), "
                    "(12.345, 0.5, '丙'), (100, 0.12345, '丁')")
        con.commit()
    result = cli("compare", "p.ybl", "p.ybl", "--cases", url + "?table=宽", "--format", "json")
    assert ":***@" in result.output and pg_server.url_with_password not in result.output
    result = cli("run", "p.ybl", "--cases", url + "?table=宽", "-o", "宽.csv", "--keep-inputs")
    assert result.exit_code == 1
    rows = Path("宽.csv").read_text("utf-8-sig").splitlines()
    assert rows[1].startswith("33330000.00,66669999.99,") and rows[2].startswith("0.01,0.00,")
    assert "缺少输入“费用”" in rows[3] and "12.345 的小数位数过多" in rows[4]
    assert rows[5].startswith("12.35,87.65,")  # 100元 × 0.12345 = 12.345元, 四舍五入 to the 分


def test_a_wider_amount_in_a_later_chunk_asks_for_the_wide_table(work: Path) -> None:
    import yibaolang.tools.sources as sources

    class Wide(Exception):
        pass

    writer = sources.open_sink("duckdb:///宽.duckdb?table=结果", narrow=True, wide=Wide)
    small = pa.table({"金额": pa.array([Decimal("1.00")], pa.decimal128(38, 2))})
    huge = pa.table({"金额": pa.array([Decimal("12345678901234567890.12")], pa.decimal128(38, 2))})
    writer.write(small)
    with pytest.raises(Wide):
        writer.write(huge)
    writer.abort()
    con = duckdb.connect("宽.duckdb", read_only=True)
    assert con.execute("SELECT count(*) FROM information_schema.tables").fetchone() == (0,)
    con.close()
    writer = sources.open_sink("duckdb:///宽.duckdb?table=结果", narrow=False)
    writer.write(small)
    writer.write(huge)
    writer.commit()
    con = duckdb.connect("宽.duckdb", read_only=True)
    assert con.execute('SELECT "行号", 金额 FROM 结果').fetchall() == [(1, Decimal("1.00")),
                                                                    (2, Decimal("12345678901234567890.12"))]
