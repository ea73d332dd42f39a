"""目录 as data (engines/catalogs.py, docs/itemized.md §3): reading, checking, dated versions, --table, cache."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from yibaolang.checks.compiler import compile_policy
from yibaolang.checks.resolve import Program
from yibaolang.diagnostics import Diagnostic
from yibaolang.engines import catalogs
from yibaolang.engines.catalogs import OPEN_END, OPEN_START, Catalog, CatalogError, catalog_for
from yibaolang.tools.cli import main
from yibaolang.tools.serve.registry import Registry
from yibaolang.tools.tables import apply_tables, check_tables, parse_tables

POLICY = (Path(__file__).resolve().parent / "fixtures" / "itemized" / "目录示例.ybl").read_text("utf-8")

UNDATED = """政策 无有效期

目录 限价 "限价.csv"
    键 编码 : 文本
    列 限价 : 金额
    列 次数 : 数 可空

输入 编码 : 文本

定义 价 : 金额 = 查目录 限价.限价 按 编码 查无 0元

输出 价
"""

HEADER = "编码,名称,类别,先行自付比例,支付标准,生效日期,失效日期,备注"
GOOD = f"""{HEADER}
XB01,阿莫西林,甲,,35.50,2024-01-01,2025-01-01,旧版
XB01,阿莫西林,乙,10%,36,2025-01-01,,新版
ZL03, CT检查 ,乙,0.2,"1,200",,,
HC09,心脏支架,丙,30%,8000元,2024/3/1,,
"""


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    catalogs.clear_cache()


def project(tmp_path: Path, csv_text: str | None = GOOD, policy: str = POLICY, name: str = "医保目录.csv") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "yibaolang.toml").write_text("", encoding="utf-8")
    (tmp_path / "p.ybl").write_text(policy, encoding="utf-8")
    if csv_text is not None:
        (tmp_path / name).write_text(csv_text, encoding="utf-8")
    return tmp_path


def program_of(folder: Path, file: str = "p.ybl") -> Program:
    program = compile_policy(str(folder / file))
    assert not [d for d in program.diagnostics if d.is_error], program.diagnostics
    return program


def load(folder: Path, tables: dict[str, str] | None = None, name: str = "医保目录") -> Catalog:
    program = program_of(folder)
    program.tables = dict(tables or {})
    return catalog_for(program, program.root, name)


def problems(folder: Path, tables: dict[str, str] | None = None, name: str = "医保目录") -> list[Diagnostic]:
    with pytest.raises(CatalogError) as caught:
        load(folder, tables, name)
    assert caught.value.diagnostics
    return caught.value.diagnostics


def where(d: Diagnostic) -> tuple[str, int, int]:
    return (d.code, d.span.line, d.span.column)


# ------------------------------------------------------------------ reading exactly


def test_csv_cells_are_read_exactly_as_declared(tmp_path: Path) -> None:
    catalog = load(project(tmp_path))
    rows = catalog.rows
    assert [r.number for r in rows] == [2, 3, 4, 5]  # the header is row 1, as a spreadsheet shows it
    first = rows[0].values
    assert first == {"编码": "XB01", "名称": "阿莫西林", "类别": "甲", "先行自付比例": None, "支付标准": Decimal("35.50")}
    assert "备注" not in first  # extra columns are ignored
    assert rows[1].values["先行自付比例"] == Decimal("0.1") and rows[1].values["支付标准"] == Decimal("36")
    assert rows[2].values["名称"] == "CT检查"  # stripped
    assert rows[2].values["先行自付比例"] == Decimal("0.2") and rows[2].values["支付标准"] == Decimal("1200")
    assert rows[3].values["支付标准"] == Decimal("8000") and rows[3].valid_from == dt.date(2024, 3, 1)
    assert all(isinstance(r.values["支付标准"], Decimal) for r in rows)
    assert catalog.shown_path == (tmp_path / "医保目录.csv").as_posix() or catalog.shown_path.endswith("医保目录.csv")
    assert catalog.decl.name == "医保目录"


def test_a_bom_and_the_python_reader_give_the_same_rows(tmp_path: Path) -> None:
    plain = load(project(tmp_path)).rows
    catalogs.clear_cache()
    # A BOM (Excel's "CSV UTF-8") and an empty line at the end (pyarrow refuses it: the exact reader takes over).
    (tmp_path / "医保目录.csv").write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8") + b"\n")
    with_bom = load(tmp_path)
    assert [r.values for r in with_bom.rows[:4]] == [r.values for r in plain]
    assert len(with_bom.rows) == 4  # the empty row at the end is not a row


def test_the_csv_module_reads_what_pyarrow_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project(tmp_path)
    with_arrow = load(folder)
    bad = f"{HEADER}\nXB01,阿莫西林,丁,,35.555,2024-01-01,,\n"
    (tmp_path / "坏.csv").write_text(bad, encoding="utf-8")
    arrow_problems = [where(d) for d in problems(folder, {"医保目录": str(tmp_path / "坏.csv")})]
    catalogs.clear_cache()
    monkeypatch.setattr(catalogs, "READ_CSV_WITH_ARROW", False)  # as without pyarrow installed
    plain = load(folder)
    assert plain is not with_arrow
    assert [(r.number, r.values, r.valid_from, r.valid_to) for r in plain.rows] == \
        [(r.number, r.values, r.valid_from, r.valid_to) for r in with_arrow.rows]
    assert [where(d) for d in problems(folder, {"医保目录": str(tmp_path / "坏.csv")})] == arrow_problems
    assert arrow_problems == [("YB465", 2, 3), ("YB465", 2, 5)]


def test_parquet_reads_decimals_dates_and_strings_exactly(tmp_path: Path) -> None:
    folder = project(tmp_path, csv_text=None)
    table = pa.table({
        "编码": ["XB01", "XB01", "ZL03"],
        "名称": ["阿莫西林", "阿莫西林", "CT"],
        "类别": pa.array(["甲", "乙", "乙"]).dictionary_encode(),
        "先行自付比例": pa.array([None, Decimal("0.10"), Decimal("0.20")], pa.decimal128(5, 2)),
        "支付标准": pa.array([Decimal("35.50"), Decimal("36.00"), Decimal("1200.00")], pa.decimal128(18, 2)),
        "生效日期": pa.array([dt.date(2024, 1, 1), dt.date(2025, 1, 1), None], pa.date32()),
        "失效日期": pa.array([dt.date(2025, 1, 1), None, None], pa.date32()),
    })
    pq.write_table(table, folder / "目录.parquet")
    catalog = load(folder, {"医保目录": str(folder / "目录.parquet")})
    assert [r.number for r in catalog.rows] == [1, 2, 3]  # Parquet: the first row is row 1
    assert catalog.find("XB01", dt.date(2024, 6, 1)).values["支付标准"] == Decimal("35.50")  # type: ignore[union-attr]
    assert catalog.find("XB01", dt.date(2025, 6, 1)).values["类别"] == "乙"  # type: ignore[union-attr]
    assert catalog.find("ZL03", dt.date(2030, 1, 1)).values["先行自付比例"] == Decimal("0.20")  # type: ignore[union-attr]


def test_parquet_float_money_only_when_its_decimal_form_is_exact(tmp_path: Path) -> None:
    folder = project(tmp_path, csv_text=None)
    base = {"编码": ["A", "B"], "名称": ["甲药", "乙药"], "类别": ["甲", "乙"], "先行自付比例": [0.1, None],
            "生效日期": pa.array([None, None], pa.date32()), "失效日期": pa.array([None, None], pa.date32())}
    pq.write_table(pa.table({**base, "支付标准": [35.5, 12.25]}), folder / "浮点.parquet")
    catalog = load(folder, {"医保目录": str(folder / "浮点.parquet")})
    assert catalog.find("A", dt.date(2024, 1, 1)).values["支付标准"] == Decimal("35.5")  # type: ignore[union-attr]
    assert catalog.find("A", dt.date(2024, 1, 1)).values["先行自付比例"] == Decimal("0.1")  # type: ignore[union-attr]
    catalogs.clear_cache()
    pq.write_table(pa.table({**base, "支付标准": [0.1 + 0.2, 12.25]}), folder / "浮点.parquet")
    found = problems(folder, {"医保目录": str(folder / "浮点.parquet")})
    assert [where(d) for d in found] == [("YB465", 1, 7)]
    assert "0.30000000000000004" in found[0].message and "二进制浮点数" in found[0].message


# ------------------------------------------------------------------ every problem, at its cell


def test_each_bad_cell_is_reported_with_row_and_column(tmp_path: Path) -> None:
    bad = f"""{HEADER}
XB01,阿莫西林,甲,,35.555,2024-01-01,2025-01-01,
XB02,阿莫西林,丁,10%,36,2024-06-01,,
,CT,乙,0.2,1200,,,
ZL04,,乙,200%,abc,2024-02-30,,
ZL05,x,乙,,-1,,,
"""
    found = problems(project(tmp_path, bad))
    assert [where(d) for d in found] == [
        ("YB465", 2, 5),  # 35.555: more than two decimals
        ("YB465", 3, 3),  # 丁 is not a 目录类别
        ("YB466", 4, 1),  # the key is empty
        ("YB466", 5, 2),  # 名称 is not 可空
        ("YB467", 5, 4),  # 200% is outside 0% 至 100%
        ("YB465", 5, 5),  # abc is no amount
        ("YB465", 5, 6),  # 2024-02-30 does not exist
        ("YB467", 6, 5),  # -1元 is below 0元
    ]
    assert all(d.span.file.endswith("医保目录.csv") for d in found)
    assert "E 列“支付标准”" in found[0].message and "小数位数过多" in found[0].message
    assert "目录类别 的选项有：甲、乙、丙" in found[1].hint
    assert "200% 超出声明的范围 0% 至 100%" in found[4].message


def test_duplicate_keys_overlaps_and_empty_periods(tmp_path: Path) -> None:
    dated = f"""{HEADER}
XB01,阿莫西林,甲,,35.50,2024-01-01,2025-01-01,
XB01,阿莫西林,乙,,36,2024-06-01,,
ZL05,x,乙,,1,2025-01-01,2024-01-01,
ZL06,y,乙,,1,,,
ZL06,y,乙,,1,2024-01-01,,
"""
    found = problems(project(tmp_path, dated))
    assert [where(d) for d in found] == [("YB468", 3, 6), ("YB468", 4, 7), ("YB468", 6, 6)]
    assert "与第 2 行的（2024-01-01 至 2025-01-01）重叠" in found[0].message
    assert found[0].related and found[0].related[0][0].line == 2
    assert "从不有效" in found[1].message
    assert "与第 5 行的（不限 至 不限）重叠" in found[2].message


def test_a_key_twice_without_validity(tmp_path: Path) -> None:
    folder = project(tmp_path, "编码,限价,次数\nA,10,\nB,20,3\nA,11,\n", policy=UNDATED, name="限价.csv")
    found = problems(folder, name="限价")
    assert [where(d) for d in found] == [("YB468", 4, 1)]
    assert "（第 2 行已有）" in found[0].message


def test_missing_columns_are_named_with_a_guess(tmp_path: Path) -> None:
    text = "编码,名称,类目,先行自付比例,支付标准,生效日期\nXB01,阿莫西林,甲,,1,2024-01-01\n"
    found = problems(project(tmp_path, text))
    assert {d.code for d in found} == {"YB464"} and all(d.span.line == 1 for d in found)
    messages = " ".join(d.message + d.hint for d in found)
    assert "“类别”在文件中没有" in messages and "“类目”" in messages
    assert "有效期的列“失效日期”在文件中没有" in messages


def test_an_irregular_row_and_a_wrong_encoding(tmp_path: Path) -> None:
    folder = project(tmp_path, f"{HEADER}\nXB01,阿莫西林,甲\n")
    found = problems(folder)
    assert [d.code for d in found] == ["YB463"] and found[0].span.line == 2 and "有 3 个格子，表头有 8 列" in found[0].message
    catalogs.clear_cache()
    (folder / "医保目录.csv").write_bytes(f"{HEADER}\n".encode() + "XB01,阿莫西林".encode("gbk") + b",,,,,,\n")
    found = problems(folder)
    assert [d.code for d in found] == ["YB463"] and found[0].span.line == 2 and "UTF-8" in found[0].message


def test_reports_are_bounded_and_the_rest_counted(tmp_path: Path) -> None:
    rows = "\n".join(f"K{i},名{i},丁,,1,,," for i in range(100))
    found = problems(project(tmp_path, f"{HEADER}\n{rows}\n"))
    assert len(found) == catalogs.MAX_REPORTS
    assert [d.span.line for d in found] == list(range(2, 2 + catalogs.MAX_REPORTS))  # the first ones, in order
    assert "还有 80 处问题没有列出" in found[-1].hint


# ------------------------------------------------------------------ versions and lookups


def test_validity_is_inclusive_exclusive_and_empty_is_open(tmp_path: Path) -> None:
    catalog = load(project(tmp_path))
    assert catalog.find("XB01", dt.date(2023, 12, 31)) is None
    assert catalog.find("XB01", dt.date(2024, 1, 1)).number == 2  # type: ignore[union-attr]
    assert catalog.find("XB01", dt.date(2024, 12, 31)).number == 2  # type: ignore[union-attr]
    assert catalog.find("XB01", dt.date(2025, 1, 1)).number == 3  # 失效 is exclusive: the next version  # type: ignore[union-attr]
    assert catalog.find("XB01", dt.date(2099, 1, 1)).number == 3  # type: ignore[union-attr]
    assert catalog.find("ZL03", dt.date(1900, 1, 1)).number == 4  # both ends open  # type: ignore[union-attr]
    assert catalog.find("HC09", dt.date(2024, 2, 29)) is None
    assert catalog.find("NOPE", dt.date(2024, 6, 1)) is None
    assert [r.number for r in catalog.find_key("XB01")] == [2, 3]
    assert catalog.find_key("NOPE") == []


def test_an_undated_catalog_ignores_the_date(tmp_path: Path) -> None:
    folder = project(tmp_path, "编码,限价,次数\nA,10,\nB,20.5,3\n", policy=UNDATED, name="限价.csv")
    catalog = load(folder, name="限价")
    row = catalog.find("B")
    assert row is not None and row.values == {"编码": "B", "限价": Decimal("20.5"), "次数": Decimal("3")}
    assert row.valid_from is None and row.valid_to is None
    assert catalog.find("A", dt.date(2024, 1, 1)).values["次数"] is None  # type: ignore[union-attr]


def test_the_array_form_is_sorted_exact_and_open_ended(tmp_path: Path) -> None:
    arrays = load(project(tmp_path)).arrays()
    assert arrays.keys.tolist() == ["HC09", "XB01", "XB01", "ZL03"]
    assert arrays.numbers.tolist() == [5, 2, 3, 4]
    day = (dt.date(2024, 1, 1) - dt.date(1970, 1, 1)).days
    assert arrays.start.tolist()[1] == day and arrays.start.tolist()[3] == OPEN_START
    assert arrays.end.tolist()[2] == OPEN_END and arrays.start.dtype == np.int64
    money = arrays.columns["支付标准"]
    assert money.scale == 2 and money.data.tolist() == [800000, 3550, 3600, 120000] and money.data.dtype == np.int64
    ratio = arrays.columns["先行自付比例"]
    assert ratio.null.tolist() == [False, True, False, False]
    assert [int(v) / 10**ratio.scale for v in ratio.data.tolist()] == [0.3, 0.0, 0.1, 0.2]
    kind = arrays.columns["类别"]
    assert kind.labels == ("甲", "乙", "丙") and kind.data.tolist() == [2, 0, 1, 1]
    # the join the vector engine does: the last version starting on or before the day, then its end
    position = int(np.searchsorted(arrays.keys, "XB01", side="right")) - 1
    assert arrays.keys[position] == "XB01" and arrays.end[position] == OPEN_END


# ------------------------------------------------------------------ where the file may come from


def test_a_missing_default_file_is_reported_at_the_declaration(tmp_path: Path) -> None:
    found = problems(project(tmp_path, csv_text=None))
    assert [d.code for d in found] == ["YB463"]
    assert found[0].span.file.endswith("p.ybl") and found[0].span.line == 5  # the path in 目录 … "医保目录.csv"
    assert "不存在" in found[0].message


def test_table_overrides_the_default_relative_to_the_current_folder(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project(tmp_path)
    (folder / "数据").mkdir()
    (folder / "数据" / "新目录.csv").write_text(f"{HEADER}\nNEW1,新药,甲,,1,,,\n", encoding="utf-8")
    monkeypatch.chdir(folder / "数据")
    catalog = load(folder, {"医保目录": "新目录.csv"})
    assert catalog.find_key("XB01") == [] and catalog.find("NEW1", dt.date(2024, 1, 1)) is not None
    assert catalog.shown_path == "新目录.csv"


def test_a_path_outside_the_project_is_refused(tmp_path: Path) -> None:
    folder = project(tmp_path / "项目")
    outside = tmp_path / "外面.csv"
    outside.write_text(GOOD, encoding="utf-8")
    found = problems(folder, {"医保目录": str(outside)})
    assert [d.code for d in found] == ["YB463"] and found[0].span.file.startswith("--table 医保目录=")
    assert "不在项目文件夹" in found[0].message
    catalogs.clear_cache()
    (folder / "链接.csv").symlink_to(outside)  # a link inside the project to a file outside it
    found = problems(folder, {"医保目录": str(folder / "链接.csv")})
    assert [d.code for d in found] == ["YB463"]
    policy = POLICY.replace('"医保目录.csv"', '"../外面.csv"')
    (folder / "p.ybl").write_text(policy, encoding="utf-8")
    found = problems(folder)
    assert [d.code for d in found] == ["YB463"] and found[0].span.file.endswith("p.ybl")


def test_too_large_a_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project(tmp_path)
    monkeypatch.setattr(catalogs, "MAX_CATALOG_BYTES", 100)  # a limit, not a mock: the real file is read
    found = problems(folder)
    assert [d.code for d in found] == ["YB463"] and "文件过大" in found[0].message


# ------------------------------------------------------------------ the cache


def test_the_cache_returns_the_same_object_until_the_file_changes(tmp_path: Path) -> None:
    folder = project(tmp_path)
    program = program_of(folder)
    first = catalog_for(program, program.root, "医保目录")
    assert catalog_for(program, program.root, "医保目录") is first
    assert catalog_for(program_of(folder), program.root, "医保目录") is first  # another compile, same file
    (folder / "p.ybl").write_text("# 起草中\n\n" + POLICY, encoding="utf-8")  # the 目录 moved down two lines
    moved = program_of(folder)
    again = catalog_for(moved, moved.root, "医保目录")
    assert again is first and again.decl.span.line == first.decl.span.line == 7  # not read again; newer decl
    (folder / "p.ybl").write_text(POLICY, encoding="utf-8")
    path = folder / "医保目录.csv"
    path.write_text(GOOD + "NEW2,新药,甲,,2,,,\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = catalog_for(program, program.root, "医保目录")
    assert second is not first and second.find("NEW2", dt.date(2024, 1, 1)) is not None
    path.write_text("编码\n", encoding="utf-8")  # broken now: refused, and the refusal is cached too
    with pytest.raises(CatalogError):
        catalog_for(program, program.root, "医保目录")


# ------------------------------------------------------------------ --table, check, serve


def test_parse_tables_and_unknown_names() -> None:
    assert parse_tables(["医保目录=a.csv", " 限价 = b.parquet "]) == {"医保目录": "a.csv", "限价": "b.parquet"}
    for bad in ("医保目录", "=a.csv", "医保目录="):
        with pytest.raises(ValueError, match="目录名=路径"):
            parse_tables([bad])


def test_apply_tables_guesses_the_name(tmp_path: Path) -> None:
    program = program_of(project(tmp_path))
    found = apply_tables(program, {"医保木录": "x.csv", "医保目录": "y.csv"})
    assert [d.code for d in found] == ["YB469"] and "是否想写 --table 医保目录=x.csv" in found[0].hint
    assert program.tables == {"医保目录": "y.csv"}


def run_check(folder: Path, *args: str) -> Any:
    old = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(main, ["check", *args], catch_exceptions=False)
    finally:
        os.chdir(old)


def test_check_validates_the_data_of_every_catalog(tmp_path: Path) -> None:
    folder = project(tmp_path)
    assert run_check(folder, "p.ybl").exit_code == 0
    (folder / "坏.csv").write_text(f"{HEADER}\nXB01,阿莫西林,丁,,1,,,\n", encoding="utf-8")
    result = run_check(folder, "p.ybl", "--table", "医保目录=坏.csv")
    assert result.exit_code == 1
    assert "坏.csv:2:3: 错误[YB465]: 第 2 行 C 列“类别”：“丁”不是 目录类别 的选项" in result.output
    assert "Traceback" not in result.output
    result = run_check(folder, "p.ybl", "--table", "医保木录=坏.csv")
    assert result.exit_code == 1 and "错误[YB469]" in result.output and "是否想写 --table 医保目录=坏.csv" in result.output
    result = run_check(folder, "p.ybl", "--table", "坏.csv")
    assert result.exit_code == 2 and "目录名=路径" in result.output


def test_a_policy_without_catalogs_reads_nothing(tmp_path: Path) -> None:
    folder = project(tmp_path, policy="政策 甲\n\n输入 费用 : 金额\n\n输出 费用\n")
    program = compile_policy(str(folder / "p.ybl"))
    assert check_tables([program], {}) == []
    assert run_check(folder, "p.ybl").exit_code == 0


def test_serve_loads_catalogs_once_per_load_and_reloads_on_a_data_change(tmp_path: Path) -> None:
    folder = project(tmp_path)
    registry = Registry([str(folder)])
    registry.refresh()
    entry = registry.get("p")
    assert entry is not None and entry.policy is not None and entry.catalogs == ["医保目录"]
    assert any(f.endswith("医保目录.csv") for f in entry.stamps)  # the data file is watched
    version = entry.policy.version
    path = folder / "医保目录.csv"
    path.write_text(f"{HEADER}\nXB01,阿莫西林,丁,,1,,,\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert registry.refresh() == ["p"]
    entry = registry.get("p")
    assert entry is not None and entry.stale  # the previous good version is still served
    assert [d.code for d in entry.diagnostics if d.is_error] == ["YB465"]
    other = folder / "其他.csv"
    other.write_text(GOOD, encoding="utf-8")
    overridden = Registry([str(folder)], {"医保目录": str(other)})
    overridden.refresh()
    entry = overridden.get("p")
    assert entry is not None and entry.policy is not None and not entry.stale
    assert entry.policy.version == version  # the same data: the same version
    other.write_text(GOOD + "NEW3,新药,甲,,3,,,\n", encoding="utf-8")
    changed = Registry([str(folder)], {"医保目录": str(other)})
    changed.refresh()
    entry = changed.get("p")
    assert entry is not None and entry.policy is not None and entry.policy.version != version


def test_rows_are_records_even_with_a_line_break_in_a_cell(tmp_path: Path) -> None:
    # pyarrow reads no line break inside a quoted cell: the csv module does, and a row is a record as a
    # spreadsheet shows it (one row for the two-line name), not a line of the file.
    text = f'{HEADER}\nXB01,"阿莫西林\n胶囊",甲,,1,,,\nXB02,头孢,丁,,1,,,\n'
    found = problems(project(tmp_path, text))
    assert [where(d) for d in found] == [("YB465", 3, 3)]
    catalogs.clear_cache()
    (tmp_path / "医保目录.csv").write_text(text.replace("丁", "乙"), encoding="utf-8")
    catalog = load(tmp_path)
    assert catalog.find("XB01", dt.date(2024, 1, 1)).values["名称"] == "阿莫西林\n胶囊"  # type: ignore[union-attr]
    assert catalog.find("XB02", dt.date(2024, 1, 1)).number == 3  # type: ignore[union-attr]


NUMBER_KEY = """政策 按数查

类型 档 = 选项 {一档, 二档}

目录 档位 "档位.csv"
    键 序号 : 数
    列 档 : 档
    列 比例 : 比例
    列 起付 : 是否 可空

输入 序号 : 数

定义 比例 : 比例 = 查目录 档位.比例 按 序号 查无 0%

输出 比例
"""


def test_a_number_key_and_other_types(tmp_path: Path) -> None:
    folder = project(tmp_path, "序号,档,比例,起付\n1,一档,85%,是\n2.5,二档,0.755,否\n10,二档,1,\n",
                     policy=NUMBER_KEY, name="档位.csv")
    catalog = load(folder, name="档位")
    assert catalog.find(1).values == {"序号": Decimal(1), "档": "一档", "比例": Decimal("0.85"), "起付": True}  # type: ignore[union-attr]
    assert catalog.find(Decimal("2.50")).values["起付"] is False  # type: ignore[union-attr]
    assert catalog.find(10).values["起付"] is None  # type: ignore[union-attr]
    arrays = catalog.arrays()
    assert arrays.key_scale == 1 and arrays.keys.tolist() == [10, 25, 100]
    ratio = arrays.columns["比例"]
    assert ratio.scale == 3 and ratio.data.tolist() == [850, 755, 1000]
    assert arrays.columns["起付"].data.tolist() == [True, False, False]
    assert arrays.columns["起付"].null.tolist() == [False, False, True]
