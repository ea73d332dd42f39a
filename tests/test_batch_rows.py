"""Rows in = rows out for every batch reader (docs/batch.md "坏行"), and spreadsheet-safe CSV output.

Each test runs `yibaolang run POLICY --cases FILE -o OUT` as a user would and
counts the result rows: a ragged row, a stray quote, an oversized line or cell,
a duplicate key is one error row naming its line, never a lost row or exit 70.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibaolang.tools import batch
from yibaolang.tools.cli import main

POLICY = textwrap.dedent("""\
    政策 小例
        施行 2020年1月1日

    输入 费用 : 金额 范围 0元 至 100万元
    输入 类别 : 选项 {甲, 乙} 默认 甲

    条款 "一" 支付
        定义 支付 : 金额 = 费用 × 80%

    输出 支付
    """)


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "p.ybl"
    path.write_text(POLICY, "utf-8")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output
    return path


def run(policy: Path, cases: Path, out: Path, *extra: str) -> Result:
    return CliRunner().invoke(main, ["run", str(policy), "--cases", str(cases), "-o", str(out), *extra])


def rows_of(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def errors_of(rows: list[dict[str, Any]]) -> list[str]:
    return [row["错误"] for row in rows]


# ------------------------------------------------------------------ CSV


def test_ragged_rows_are_error_rows_naming_the_line_and_the_cell_count(policy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "c.csv"
    cases.write_text("费用,类别\n100,甲\n200\n300,乙,多余\n400,乙\n500,甲\n", "utf-8")
    result = run(policy, cases, tmp_path / "o.csv")
    assert result.exit_code == 1, result.output
    rows = rows_of(tmp_path / "o.csv")
    assert len(rows) == 5
    assert [r["支付"] for r in rows] == ["80.00", "", "", "320.00", "400.00"]
    errors = errors_of(rows)
    assert errors[1].startswith("第 3 行有 1 个字段，与表头的 2 列不符")
    assert errors[2].startswith("第 4 行有 3 个字段，与表头的 2 列不符")
    assert "共 5 行，出错 2 行" in result.output


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_every_line_end_is_read(policy: Path, tmp_path: Path, end: str) -> None:
    cases = tmp_path / "c.csv"
    cases.write_bytes(end.join(["费用,类别", "100,甲", "200,乙", "300,甲"]).encode("utf-8") + end.encode())
    result = run(policy, cases, tmp_path / "o.csv")
    assert result.exit_code == 0, result.output
    assert [r["支付"] for r in rows_of(tmp_path / "o.csv")] == ["80.00", "160.00", "240.00"]


def test_blank_lines_are_skipped_and_counted(policy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "c.csv"
    cases.write_text("费用,类别\n100,甲\n\n200,乙\r\n\r\n300,甲\n\n", "utf-8")
    result = run(policy, cases, tmp_path / "o.csv")
    assert result.exit_code == 0, result.output
    assert len(rows_of(tmp_path / "o.csv")) == 3
    assert "跳过空行 3 行" in result.output


def test_a_stray_quote_costs_one_row_not_the_rest_of_the_file(policy: Path, tmp_path: Path) -> None:
    lines = ["费用,类别"] + [f"{i},甲" for i in range(2, 1001)]
    lines[10] = '"' + lines[10]  # line 11
    cases = tmp_path / "c.csv"
    cases.write_text("\n".join(lines) + "\n", "utf-8")
    result = run(policy, cases, tmp_path / "o.csv")
    assert result.exit_code == 1, result.output
    rows = rows_of(tmp_path / "o.csv")
    assert len(rows) == 999  # every physical line after the header
    bad = [i for i, e in enumerate(errors_of(rows)) if e]
    assert bad == [9]
    assert rows[9]["错误"].startswith("第 11 行的引号没有闭合")
    assert rows[10]["支付"] == "9.60"  # line 12 reads as usual


def test_quoted_cells_may_span_lines_within_the_bound(policy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "c.csv"
    cases.write_text('费用,类别\n"100",甲\n"2\n00",乙\n300,"甲"\n', "utf-8")
    result = run(policy, cases, tmp_path / "o.csv", "--keep-inputs")
    rows = rows_of(tmp_path / "o.csv")
    assert len(rows) == 3, result.output
    assert rows[1]["费用"] == "2\n00" and rows[1]["错误"]  # a value, read whole (and not a money amount)
    assert rows[2]["支付"] == "240.00"


def test_a_quote_that_closes_on_a_later_line_with_the_wrong_cell_count_is_one_error_row(policy: Path,
                                                                                        tmp_path: Path) -> None:
    cases = tmp_path / "c.csv"
    cases.write_text('费用,类别\n"100,甲\n200,乙\n300",甲,多\n400,乙\n', "utf-8")
    result = run(policy, cases, tmp_path / "o.csv")
    rows = rows_of(tmp_path / "o.csv")
    assert len(rows) == 4, result.output
    assert rows[0]["错误"].startswith("第 2 行的引号没有闭合")
    assert rows[1]["支付"] == "160.00"
    assert rows[3]["支付"] == "320.00"


def test_an_oversized_line_and_an_oversized_cell_are_error_rows(policy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "c.csv"
    cases.write_bytes(b"\xe8\xb4\xb9\xe7\x94\xa8,\xe7\xb1\xbb\xe5\x88\xab\n100,\xe7\x94\xb2\n"  # 费用,类别 / 100,甲
                      + b"1" * 3_000_000 + b",x\n" + b"9" * 5000 + b",x\n300,\xe7\x94\xb2\n")
    result = run(policy, cases, tmp_path / "o.csv")
    assert result.exit_code == 1, result.output
    rows = rows_of(tmp_path / "o.csv")
    assert len(rows) == 4
    assert rows[1]["错误"].startswith("第 3 行超过 1,048,576 字节")
    assert "输入 费用：单元格有 5,000 字节，超过上限 1,000 字节" in rows[2]["错误"]
    assert rows[3]["支付"] == "240.00"


# ------------------------------------------------------------------ JSON Lines


def test_jsonl_bounded_lines_duplicate_keys_and_blank_lines(policy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "c.jsonl"
    with cases.open("wb") as fh:
        fh.write('{"费用": "100"}\n'.encode())
        fh.write(b'{"x": "' + b"a" * (50 << 20) + b'"}\n')  # a 50 MB line
        fh.write(b"\n")
        fh.write('{"费用":"100","费用":"200"}\n'.encode())
        fh.write(('{"费用": ' + "9" * 5000 + "}\n").encode())
        fh.write(("[" * 100_000 + "]" * 100_000 + "\n").encode())
        fh.write('{"费用": 1e999999}\n'.encode())
        fh.write('{"费用": "300"}\n'.encode())
    result = run(policy, cases, tmp_path / "o.jsonl")
    assert result.exit_code == 1, result.output
    assert "内部错误" not in result.output
    rows = rows_of(tmp_path / "o.jsonl")
    assert len(rows) == 7
    errors = errors_of(rows)
    assert errors[0] == "" and rows[0]["支付"] == "80.00"
    assert errors[1].startswith("第 2 行超过 1,048,576 字节")
    assert errors[2].startswith("第 4 行的键“费用”出现了两次")
    assert errors[3].startswith("第 5 行有一个 5,000 位的数")
    assert errors[4].startswith("第 6 行")
    assert "单元格" in errors[5] or "费用" in errors[5]
    assert rows[6]["支付"] == "240.00"
    assert "跳过空行 1 行" in result.output
    assert all(ch not in "".join(errors) for ch in ("Expecting", "recursion", "Exceeds"))


# ------------------------------------------------------------------ Parquet


@pytest.mark.parametrize("engine", ["numpy", "dask"])
def test_parquet_with_duplicate_column_names_is_a_clear_diagnostic(policy: Path, tmp_path: Path,
                                                                   engine: str) -> None:
    cases = tmp_path / "c.parquet"
    table = pa.Table.from_arrays([pa.array(["100"]), pa.array(["200"])], names=["费用", "费用"])
    pq.write_table(table, cases)
    result = run(policy, cases, tmp_path / "o.parquet", "--engine", engine)
    assert result.exit_code == 1, result.output
    assert "有重名的列：“费用”" in result.output
    assert not (tmp_path / "o.parquet").exists()


def test_parquet_oversized_cell_is_an_error_row(policy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "c.parquet"
    pq.write_table(pa.table({"费用": ["100", "9" * 5000, "300"]}), cases)
    result = run(policy, cases, tmp_path / "o.parquet")
    rows = rows_of(tmp_path / "o.parquet")
    assert len(rows) == 3, result.output
    assert "超过上限 1,000 字节" in rows[1]["错误"]


# ------------------------------------------------------------------ rows in = rows out, for every reader


cell = st.text(alphabet=st.sampled_from(list('0123456789甲乙,"\n\r x=')), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell, min_size=0, max_size=4), max_size=30), end=st.sampled_from(["\n", "\r\n", "\r"]))
def test_csv_every_physical_line_is_a_row_or_a_counted_blank(tmp_path: Path, rows: list[list[str]],
                                                             end: str) -> None:
    # Written raw (no quoting): anything goes, and every line must come back as a row, an error row or a blank.
    text = end.join(["费用,类别", *(",".join(cells).replace("\r", "").replace("\n", "") for cells in rows)]) + end
    path = tmp_path / "h.csv"
    path.write_bytes(text.encode("utf-8"))
    reader = batch.open_reader(str(path), 7)
    count = sum(t.num_rows for t in reader.chunks())
    lines = len(text.split(end)) - 2  # minus the header and the empty piece after the last line end
    assert lines >= 0
    blank = getattr(reader, "blank_lines", 0)
    multi = sum(1 for cells in rows if '"' in ",".join(cells))
    if not multi:
        assert count + blank == lines
    else:  # a quoted cell may join lines (within the bound): still every line is inside some row or blank
        assert count + blank <= lines
    assert all(0 <= i < count for i in reader.problems)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.one_of(st.dictionaries(st.sampled_from(["费用", "类别", "x"]), st.text(max_size=5)),
                               st.text(max_size=10), st.just("")), max_size=25))
def test_jsonl_rows_in_rows_out(tmp_path: Path, rows: list[Any]) -> None:
    lines = [json.dumps(r, ensure_ascii=False) if isinstance(r, dict) else r.replace("\n", " ").replace("\r", " ")
             for r in rows]
    path = tmp_path / "h.jsonl"
    path.write_text("".join(line + "\n" for line in lines), "utf-8")
    reader = batch.open_reader(str(path), 4)
    count = sum(t.num_rows for t in reader.chunks())
    blank = sum(1 for line in lines if not line.encode().strip())  # ASCII white space only: "\u3000" is a bad row
    assert count == len(lines) - blank
    assert getattr(reader, "blank_lines", 0) == blank


def test_parquet_rows_in_rows_out(policy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "c.parquet"
    pq.write_table(pa.table({"费用": [str(i) if i % 7 else "坏" for i in range(1000)]}), cases, row_group_size=97)
    run(policy, cases, tmp_path / "o.parquet", "--chunk-size", "64")
    rows = rows_of(tmp_path / "o.parquet")
    assert len(rows) == 1000
    assert sum(1 for r in rows if r["错误"]) == len(range(0, 1000, 7))


# ------------------------------------------------------------------ spreadsheet-safe CSV


def test_keep_inputs_does_not_copy_formulas_into_csv(policy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "c.jsonl"
    cells = ["=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3", "\t=1", "\r=1", "-5", "+5", "-120.50", "甲"]
    cases.write_text("".join(json.dumps({"费用": "100", "备注": c, "=HYPERLINK(1)": "x"}, ensure_ascii=False) + "\n"
                             for c in cells), "utf-8")
    result = run(policy, cases, tmp_path / "o.csv", "--keep-inputs")
    assert result.exit_code == 0, result.output
    raw = (tmp_path / "o.csv").read_bytes().decode("utf-8-sig")
    shown = [r["备注"] for r in csv.DictReader(io.StringIO(raw, newline=""))]
    assert shown == ["'=1+1", "'@SUM(A1)", "'+cmd|' /C calc'!A0", "'-2+3", "'\t=1", "'\r=1", "-5", "+5", "-120.50",
                     "甲"]
    for row in csv.reader(io.StringIO(raw, newline="")):
        assert not any(c[:1] in ("=", "@", "\t", "\r") for c in row)
    assert "'=HYPERLINK(1)" in next(csv.reader(io.StringIO(raw, newline="")))  # the header too


def test_negative_money_stays_a_number_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "n.ybl"
    path.write_text(POLICY.replace("费用 × 80%", "费用 × 80% - 100元"), "utf-8")
    cases = tmp_path / "c.csv"
    cases.write_text("费用\n0\n", "utf-8")
    result = run(path, cases, tmp_path / "o.csv")
    assert result.exit_code == 0, result.output
    assert rows_of(tmp_path / "o.csv")[0]["支付"] == "-100.00"


@pytest.mark.parametrize("engine", ["numpy", "dask"])
def test_a_case_file_that_is_not_a_regular_file_is_refused_without_reading(policy: Path, tmp_path: Path,
                                                                           engine: str) -> None:
    import os

    fifo = tmp_path / "c.parquet"
    os.mkfifo(fifo)  # opening it for reading would wait forever for a writer
    (tmp_path / "z.jsonl").symlink_to("/dev/zero")  # reading it would never end
    for cases in ([fifo] if engine == "dask" else [fifo, tmp_path / "z.jsonl"]):
        result = run(policy, cases, tmp_path / "o.parquet", "--engine", engine)
        assert result.exit_code == 1, result.output
        assert "不是普通文件" in result.output


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_an_unreadable_row_is_not_computed_from_defaults(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "d.ybl"
    path.write_text(POLICY.replace("范围 0元 至 100万元", "范围 0元 至 100万元 默认 100元"), "utf-8")
    cases = tmp_path / f"c{suffix}"
    if suffix == ".csv":
        cases.write_text("费用,类别\n200,甲\n1,2,3\n300,乙\n", "utf-8")
    else:
        cases.write_text('{"费用": "200"}\n{"费用": \n{"费用": "300"}\n', "utf-8")
    result = run(path, cases, tmp_path / "o.csv")
    assert result.exit_code == 1, result.output
    rows = rows_of(tmp_path / "o.csv")
    assert [r["支付"] for r in rows] == ["160.00", "", "240.00"]  # not 80.00 from the 默认 100元
    assert rows[1]["错误"].startswith("第 3 行有 3 个字段" if suffix == ".csv" else "第 2 行不是有效的 JSON（第 8 个字符附近）")
    assert "缺少输入" not in rows[1]["错误"]


value = st.text(alphabet=st.sampled_from(list('0123456789甲乙,"\n\r x=')), max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.one_of(st.lists(value, min_size=2, max_size=2).map(tuple), st.just(None)), max_size=25),
       end=st.sampled_from(["\n", "\r\n"]), size=st.integers(1, 9), quote_all=st.booleans())
def test_csv_quoted_cells_round_trip(tmp_path: Path, records: list[tuple[str, str] | None], end: str,
                                     size: int, quote_all: bool) -> None:
    # Well-formed CSV from Python's writer: quoted cells holding commas, quotes and line ends; None is a blank line.
    if not quote_all:  # the writer leaves a lone CR unquoted unless it is part of the line terminator
        records = [None if r is None else (r[0].replace("\r", ""), r[1].replace("\r", "")) for r in records]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=end, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(["费用", "类别"])
    for record in records:
        if record is None:
            out.write(end)
        else:
            writer.writerow(record)
    path = tmp_path / "q.csv"
    path.write_bytes(out.getvalue().encode("utf-8"))
    reader = batch.open_reader(str(path), size)
    got = [(r["费用"].decode(), r["类别"].decode()) for t in reader.chunks() for r in t.to_pylist()]
    kept = [r for r in records if r is not None]
    assert reader.problems == {}
    assert got == kept
    assert getattr(reader, "blank_lines", 0) == len(records) - len(kept)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 300), where=st.data())
def test_one_stray_quote_is_one_error_row(tmp_path: Path, n: int, where: st.DataObject) -> None:
    lines = [f"{i},甲" for i in range(n)]
    k = where.draw(st.integers(0, n - 1))
    field = where.draw(st.sampled_from([0, 1]))
    cells = lines[k].split(",")
    cells[field] = '"' + cells[field]
    lines[k] = ",".join(cells)
    path = tmp_path / "s.csv"
    path.write_text("费用,类别\n" + "\n".join(lines) + "\n", "utf-8")
    reader = batch.open_reader(str(path), 64)
    rows = [r for t in reader.chunks() for r in t.to_pylist()]
    assert len(rows) == n
    assert list(reader.problems) == [k]
    assert reader.problems[k].startswith(f"第 {k + 2} 行的引号没有闭合")
    assert [r["费用"] for i, r in enumerate(rows) if i != k] == [str(i).encode() for i in range(n) if i != k]


def test_a_quote_inside_a_cell_then_an_opening_quote_on_the_same_line(policy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "c.csv"
    cases.write_text('费用,类别\n100,甲\n1"0,"乙\n300,甲\n400,乙\n', "utf-8")  # line 3: 1"0 is text, "乙 opens
    result = run(policy, cases, tmp_path / "o.csv")
    rows = rows_of(tmp_path / "o.csv")
    assert len(rows) == 4, result.output
    assert rows[1]["错误"].startswith("第 3 行的引号没有闭合")
    assert [r["支付"] for r in rows] == ["80.00", "", "240.00", "320.00"]


def test_claims_by_person_keep_every_row_and_skip_unreadable_ones(tmp_path: Path) -> None:
    capped = Path(__file__).resolve().parent / "fixtures" / "batch" / "capped.ybl"
    cases = tmp_path / "c.csv"
    cases.write_text("人,日期,费用\n甲,2021-01-01,5000\n甲,2021-01-02\n甲,2021-01-03,5000\n\n甲,2021-01-04,5000\n", "utf-8")
    result = run(capped, cases, tmp_path / "o.csv", "--person", "人", "--claim-date", "日期")
    rows = rows_of(tmp_path / "o.csv")
    assert len(rows) == 4, result.output
    assert rows[1]["错误"].startswith("第 3 行有 2 个字段")
    # the unreadable claim pays nothing and uses none of the 1万元 cap: 4000 + 4000 + 2000
    assert [r["支付"] for r in rows] == ["4000.00", "", "4000.00", "2000.00"]
    assert "跳过空行 1 行" in result.output
