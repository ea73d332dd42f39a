"""`yibaolang run POLICY --cases FILE -o OUT` (docs/cli.md): formats, the 错误 column, bad rows, atomic output."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy  # noqa: F401 - a test dependency
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from yibaolang.checks.compiler import compile_policy
from yibaolang.engines.evaluate import evaluate
from yibaolang.engines.outcome import CaseInput
from yibaolang.semantics.values import to_json
from yibaolang.tools import batch
from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
HUANGSHI = str(ROOT / "policies" / "huangshi_2010.ybl")
BENCH = str(ROOT / "benchmarks" / "bench_policy.ybl")
DAIBING = str(ROOT / "examples" / "tianjin_daibing.ybl")


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Any output file as rows of text (money "1234.50", booleans true/false, dates ISO, empty as None)."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        out = []
        for row in table.to_pylist():
            out.append({k: _text(v) for k, v in row.items()})
        return out
    if path.suffix == ".jsonl":
        return [{k: _text(v) for k, v in json.loads(line).items()} for line in path.read_text("utf-8").splitlines()]
    import csv

    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(fh)]


def _text(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("samples")
    out = {}
    for ext in ("csv", "jsonl", "parquet"):
        path = folder / f"huangshi.{ext}"
        result = cli("sample", HUANGSHI, "--rows", "120", "-o", str(path), "--seed", "7")
        assert result.exit_code == 0, result.output
        out[ext] = path
    return out


# ------------------------------------------------------------------ formats


@pytest.mark.parametrize("source", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("target", ["csv", "jsonl", "parquet"])
def test_every_format_in_and_out_gives_the_same_rows(samples: dict[str, Path], tmp_path: Path, source: str,
                                                     target: str) -> None:
    out = tmp_path / f"out.{target}"
    result = cli("run", HUANGSHI, "--cases", str(samples[source]), "-o", str(out), "--chunk-size", "50")
    assert result.exit_code in (0, 1), result.output
    rows = read_rows(out)
    assert len(rows) == 120
    reference = tmp_path / "reference.parquet"
    cli("run", HUANGSHI, "--cases", str(samples["parquet"]), "-o", str(reference), "--engine", "interpreter")
    assert rows == read_rows(reference)


def test_parquet_output_is_typed_and_money_is_exact_decimal(samples: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    cli("run", HUANGSHI, "--cases", str(samples["parquet"]), "-o", str(out))
    schema = pq.read_schema(out)
    assert schema.field("统筹基金支付").type == pa.decimal128(18, 2)  # every amount fits: stored as INT64
    assert pq.ParquetFile(out).schema.column(1).physical_type == "INT64"
    assert schema.field("住院报销比例").type == pa.string()  # 比例: exact decimal text
    assert schema.field("错误").type == pa.string()
    table = pq.read_table(out)
    program = compile_policy(HUANGSHI)
    cases = pq.read_table(samples["parquet"]).to_pylist()
    from yibaolang.engines.cases import RawCase, RawEntry, validate
    from yibaolang.ir import Span

    span = Span("x", 1, 1, 1, 1)
    for i in (0, 1, 2, 50, 119):
        raw = RawCase("x", [RawEntry(k, v, span, span) for k, v in cases[i].items() if v is not None])
        case, problems = validate(program, raw)
        assert not problems
        outcome = evaluate(program, case)
        for out_value in outcome.outputs:
            got = table.column(out_value.name)[i].as_py()
            if out_value.ok:
                want = out_value.value
                assert (got == want) if out_value.type.name != "比例" else (Decimal(got) == want)


def test_csv_cells_are_formatted_like_run(tmp_path: Path) -> None:
    cases = tmp_path / "c.csv"
    cases.write_text("人员状态,医院等级,住院政策范围内费用,起付标准\n在职,三级,150000,1000\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    assert cli("run", BENCH, "--cases", str(cases), "-o", str(out)).exit_code == 0
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[1] == '120000.00,30000.00,5000.00,""'


# ------------------------------------------------------------------ bad rows never stop the batch


BAD_CSV = (
    "人员状态,医院等级,住院政策范围内费用,起付标准,主要病种报销限额\n"
    "在职,三级,10000,500,3000\n"            # fine
    "退休,四级,20000,500,3000\n"            # unknown enumeration value
    "在职,三级\n"                           # too few fields
    "在职,三级,abc,500,3000\n"              # wrong type
    "在职,二级,3万元,500,3000,extra\n"      # too many fields
    "在职,其他,1.234,500,3000\n"            # money with 3 decimals
    "在职,其他,2亿元,500,3000\n"            # outside 范围
    "在职,二级,8000.5,1千元,3000\n"         # wrong unit
)


def test_bad_rows_are_kept_and_say_which_column_and_value(tmp_path: Path) -> None:
    cases = tmp_path / "bad.csv"
    cases.write_bytes(BAD_CSV.encode("utf-8") + b"\xff\xfe," + "三级,5000,500,3000\n".encode())
    out = tmp_path / "out.csv"
    result = cli("run", HUANGSHI, "--cases", str(cases), "-o", str(out), "--keep-inputs")
    assert result.exit_code == 1
    rows = read_rows(out)
    assert len(rows) == 9  # rows in = rows out
    errors = [row["错误"] for row in rows]
    assert errors[0] is None and rows[0]["统筹基金支付"] == "8550.00"
    assert "输入 医院等级：“四级”不是 黄石医院等级 的选项（是否想写 三级？）" in errors[1]
    assert "第 4 行有 2 个字段，与表头的 5 列不符：在职,三级" in errors[2]
    assert "输入 住院政策范围内费用：应为 金额，无法读作金额：abc" in errors[3]
    assert "第 6 行有 6 个字段，与表头的 5 列不符" in errors[4]
    assert "输入 住院政策范围内费用：金额精确到分，1.234 的小数位数过多" in errors[5]
    assert "输入 住院政策范围内费用：200,000,000.00元 超出范围 0.00元 至 100,000,000.00元" in errors[6]
    assert "输入 起付标准：应为 金额，无法读作金额：1千元" in errors[7]
    assert "输入 人员状态：不是有效的 UTF-8 文字" in errors[8]
    # An unreadable cell is not reported again as a missing input …
    assert "缺少输入“医院等级”" not in errors[1]
    # … and the outputs that do not need it are still computed.
    assert rows[1]["慢性病门诊报销限额"] == "3000.00" and rows[1]["统筹基金支付"] is None
    assert rows[3]["原统筹基金最高支付限额"] == "30000.00"
    # The inputs are kept as they were read.
    assert rows[3]["住院政策范围内费用"] == "abc"
    assert "共 9 行，出错 8 行" in result.output


def test_a_missing_column_is_a_per_row_error_naming_it(tmp_path: Path) -> None:
    cases = tmp_path / "c.csv"
    cases.write_text("人员状态,医院等级,住院政策范围内费用,备注\n在职,三级,10000,x\n退休,二级,5000,y\n", encoding="utf-8")
    out = tmp_path / "o.parquet"
    result = cli("run", BENCH, "--cases", str(cases), "-o", str(out))
    assert result.exit_code == 1
    rows = read_rows(out)
    assert [r["错误"] for r in rows] == ["缺少输入“起付标准”：计算 统筹基金支付 需要它"] * 2
    assert "案例文件中没有这些输入的列：起付标准" in result.output
    assert "这些列不是政策的输入，不参与计算：备注" in result.output


def test_json_lines_are_read_exactly_and_bad_lines_are_kept(tmp_path: Path) -> None:
    cases = tmp_path / "c.jsonl"
    lines = [
        '{"人员状态": "在职", "医院等级": "三级", "住院政策范围内费用": 100000.10, "起付标准": 0.2}',
        '{"人员状态": "在职", "医院等级": "三级", "住院政策范围内费用": 1234.565, "起付标准": 0}',
        "not json",
        '["a list"]',
        '{"人员状态": "退休", "医院等级": "其他", "住院政策范围内费用": "15万元", "起付标准": "1000元", "年度已支付": 115000}',
    ]
    cases.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = cli("run", BENCH, "--cases", str(cases), "-o", str(out))
    assert result.exit_code == 1
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(rows) == 5
    assert rows[0]["统筹基金支付"] == "89999.91"  # (100000.10 - 0.20) × 90%, read as exact decimals
    assert rows[0]["错误"] == ""
    assert "1234.565 的小数位数过多" in rows[1]["错误"]
    assert rows[2]["错误"].startswith("第 3 行不是有效的 JSON")
    assert rows[3]["错误"].startswith("第 4 行应为 JSON 对象")
    assert rows[4]["统筹基金支付"] == "5000.00"  # capped by 12万元 - 11.5万元 already paid


def test_parquet_columns_of_every_type(tmp_path: Path) -> None:
    cases = tmp_path / "c.parquet"
    table = pa.table({
        "人员状态": pa.array(["在职", "在职", "退休", None]).dictionary_encode(),
        "医院等级": pa.array(["三级", "二级", "其他", "三级"]),
        "住院政策范围内费用": pa.array([1000.1, 0.1 + 0.2, 1.005, 50.0], pa.float64()),
        "起付标准": pa.array([0, 10, 20, 30], pa.int32()),
        "年度已支付": pa.array([Decimal("1.50"), None, Decimal("0"), Decimal("2.5")], pa.decimal128(10, 2)),
    })
    pq.write_table(table, cases)
    out = tmp_path / "o.parquet"
    assert cli("run", BENCH, "--cases", str(cases), "-o", str(out)).exit_code == 1
    rows = read_rows(out)
    assert rows[0]["统筹基金支付"] == "900.09"  # 1000.1 read through its shortest decimal form
    assert "0.30000000000000004 的小数位数过多" in rows[1]["错误"]  # a float that is not a 分 amount
    assert "1.005 的小数位数过多" in rows[2]["错误"]
    assert "缺少输入“人员状态”" in rows[3]["错误"]


# ------------------------------------------------------------------ order, chunks, dates, outputs


def test_rows_keep_input_order_across_chunks(tmp_path: Path) -> None:
    cases = tmp_path / "c.csv"
    body = "".join(f"{i},在职,三级,{i * 1000},{'abc' if i % 7 == 3 else 100}\n" for i in range(53))
    cases.write_text("编号,人员状态,医院等级,住院政策范围内费用,起付标准\n" + body, encoding="utf-8")
    out = tmp_path / "o.jsonl"
    cli("run", BENCH, "--cases", str(cases), "-o", str(out), "--chunk-size", "5", "--keep-inputs")
    rows = read_rows(out)
    assert [r["编号"] for r in rows] == [str(i) for i in range(53)]
    assert all((r["错误"] is not None) == (i % 7 == 3) for i, r in enumerate(rows))


def test_dated_parameters_follow_each_rows_date(tmp_path: Path) -> None:
    cases = tmp_path / "c.csv"
    cases.write_text("大病个人负担,参保类别,个人应缴费额,计算日期\n1000,居民,350,2017-03-01\n1000,职工,350,2016-05-01\n"
                     "1000,职工,350,2017-03-01\n1000,居民,350,\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    cli("run", DAIBING, "--cases", str(cases), "-o", str(out), "--output", "药店报销比例")
    rows = read_rows(out)
    assert [r["药店报销比例"] for r in rows] == ["0.5", None, "0.65", None]
    assert "计算日期 2016-05-01 早于参数 职工药店报销比例 的第一个版本" in rows[1]["错误"]
    assert "参数 居民药店报销比例 按日期分版本，需要计算日期" in rows[3]["错误"]
    out2 = tmp_path / "o2.csv"
    assert cli("run", DAIBING, "--cases", str(cases), "-o", str(out2), "--output", "药店报销比例",
               "--date", "2020-01-01").exit_code == 0
    assert [r["药店报销比例"] for r in read_rows(out2)] == ["0.5", "0.65", "0.65", "0.5"]


def test_keep_inputs_prefixes_a_clashing_name(tmp_path: Path) -> None:
    cases = tmp_path / "c.csv"
    cases.write_text("人员状态,医院等级,住院政策范围内费用,起付标准,错误\n在职,三级,100,0,旧\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    cli("run", BENCH, "--cases", str(cases), "-o", str(out), "--keep-inputs")
    row = read_rows(out)[0]
    assert row["错误"] is None and row["输入.错误"] == "旧"


# ------------------------------------------------------------------ written completely or not at all


def test_a_failure_mid_write_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              samples: dict[str, Path]) -> None:
    out = tmp_path / "out.parquet"
    original = batch.ParquetWriter.write
    calls = []

    def failing(self: Any, table: Any) -> None:
        calls.append(table.num_rows)
        if len(calls) == 2:
            raise OSError("磁盘已满")
        original(self, table)

    monkeypatch.setattr(batch.ParquetWriter, "write", failing)
    result = CliRunner().invoke(main, ["run", HUANGSHI, "--cases", str(samples["parquet"]), "-o", str(out),
                                       "--chunk-size", "40"])
    assert result.exit_code == 70  # an internal error, reported in one line
    assert len(calls) == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind either


def test_an_interrupted_run_keeps_the_previous_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      samples: dict[str, Path]) -> None:
    out = tmp_path / "out.csv"
    out.write_text("previous", encoding="utf-8")

    def interrupted(self: Any, table: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch.CsvWriter, "write", interrupted)
    result = CliRunner().invoke(main, ["run", HUANGSHI, "--cases", str(samples["csv"]), "-o", str(out)])
    assert result.exit_code == 130
    assert out.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


# ------------------------------------------------------------------ exit codes and diagnostics


def test_exit_codes(tmp_path: Path, samples: dict[str, Path]) -> None:
    good = tmp_path / "good.csv"
    good.write_text("人员状态,医院等级,住院政策范围内费用,起付标准\n在职,三级,100,0\n", encoding="utf-8")
    result = cli("run", BENCH, "--cases", str(good), "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 0
    assert "共 1 行，出错 0 行，按 UTF-8 编码读取，用时" in result.output and "行/秒" in result.output
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not a parquet file at all")
    result = cli("run", BENCH, "--cases", str(broken), "-o", str(tmp_path / "o2.csv"))
    assert result.exit_code == 1
    assert result.output.strip().startswith("错误：无法读取案例文件") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "o2.csv").exists()
    assert cli("run", BENCH, "--cases", str(good), "-o", str(tmp_path / "o.txt")).exit_code == 2
    assert cli("run", BENCH, "--cases", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.csv")).exit_code == 2
    assert cli("run", BENCH, "--cases", str(good)).exit_code == 2
    result = cli("run", BENCH, "--cases", str(good), "-o", str(tmp_path / "o3.csv"), "--output", "不存在")
    assert result.exit_code == 1 and "不存在" in result.output


def test_without_numpy_and_pyarrow_batch_commands_say_how_to_install(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "have_batch_dependencies", lambda: False)
    good = tmp_path / "good.csv"
    good.write_text("x\n1\n", encoding="utf-8")
    for args in (["run", BENCH, "--cases", str(good), "-o", str(tmp_path / "o.csv")],
                 ["sample", BENCH, "--rows", "3", "-o", str(tmp_path / "s.csv")],
                 ["compare", BENCH, BENCH, "--cases", str(good)]):
        result = cli(*args)
        assert result.exit_code == 2
        assert "pip install 'yibaolang[batch]'" in result.output


def test_check_does_not_import_numpy_or_pyarrow() -> None:
    code = ("import sys\nfrom yibaolang.tools.cli import main\n"
            "try:\n    main(['check', 'policies/huaian_2007.ybl'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'pyarrow', 'yibaolang.engines.vector', 'yibaolang.tools.batch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert isinstance(batch._progress(10), batch._NoProgress)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    bar = batch._progress(10)
    assert isinstance(bar, batch._RichProgress)
    with bar:
        bar.advance(10)
    assert bar.progress.tasks[0].completed == 10


# ------------------------------------------------------------------ sample


def test_sample_respects_types_ranges_and_seed(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "c.parquet"
    for path, seed in ((first, "1"), (second, "1"), (other, "2")):
        assert cli("sample", HUANGSHI, "--rows", "400", "-o", str(path), "--seed", seed).exit_code == 0
    a, b, c = pq.read_table(first), pq.read_table(second), pq.read_table(other)
    assert a.equals(b) and not a.equals(c)
    assert "年度已支付" not in a.column_names  # a 累计 input: the batch computes it
    assert set(a.column("医院等级").to_pylist()) == {"三级", "二级", "其他"}
    costs = [v for v in a.column("住院政策范围内费用").to_pylist()]
    assert all(Decimal(0) <= v <= Decimal(100_000_000) for v in costs)
    assert a.schema.field("住院政策范围内费用").type == pa.decimal128(38, 2)
    counts = [v for v in a.column("确诊慢性病种数").to_pylist() if v is not None]
    assert all(0 <= v <= 50 for v in counts)
    assert a.column("确诊慢性病种数").null_count > 0  # 默认 1: some rows leave it to the default
    out = tmp_path / "o.parquet"
    cli("run", HUANGSHI, "--cases", str(first), "-o", str(out))
    errors = [e for e in pq.read_table(out).column("错误").to_pylist() if e]
    assert not [e for e in errors if "输入 " in e]  # every generated cell is valid


def test_sample_adds_a_date_column_when_parameters_are_dated(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    assert cli("sample", DAIBING, "--rows", "20", "-o", str(out)).exit_code == 0
    rows = read_rows(out)
    assert all(r["计算日期"] >= "2017-01-01" for r in rows)
    result = tmp_path / "r.csv"
    cli("run", DAIBING, "--cases", str(out), "-o", str(result), "--output", "药店报销比例")
    assert all(r["错误"] is None for r in read_rows(result))


def test_evaluate_rows_in_memory() -> None:
    program = compile_policy(BENCH)
    rows = batch.evaluate_rows(program, [{"人员状态": "在职", "医院等级": "三级", "住院政策范围内费用": "150000",
                                          "起付标准": "1000元"}])
    want = evaluate(program, CaseInput({"人员状态": "在职", "医院等级": "三级", "住院政策范围内费用": Decimal(150000),
                                        "起付标准": Decimal(1000)}))
    assert rows[0]["统筹基金支付"] == to_json(want.outputs[0].type, want.outputs[0].value) == "120000.00"
    assert rows[0]["错误"] == ""


def test_progress_bar_shows_percentage_and_time_left_when_the_row_count_is_known() -> None:
    import io

    from rich.console import Console

    from yibaolang.tools.batch import _RichProgress

    def shown(total: int | None) -> str:
        out = io.StringIO()
        bar = _RichProgress(total, Console(file=out, width=120, force_terminal=True, color_system=None))
        with bar:
            bar.advance(250)
            bar.progress.refresh()
        return out.getvalue()

    known = shown(1000)
    assert "25%" in known and "250/1000" in known and "剩余" in known
    unknown = shown(None)  # CSV and JSON Lines: rows are counted as they are read
    assert "250 行" in unknown and "%" not in unknown
