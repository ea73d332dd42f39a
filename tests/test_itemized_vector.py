"""Itemized bills in batch runs: the vector engine against the interpreter, to the 分 (docs/evaluation.md 明细).

Random claims with random lines (a seeded generator) go through the vector engine (`Runner` with the
numpy engine) and, one claim at a time, through the interpreter (`engines.evaluate.evaluate`); every
output must be equal and the claims the engine finishes must be all of them for the itemized example.
Then the same data through the CLI: `run --items` with Parquet, CSV and JSON Lines lines tables, lines
not in key order, and nested list columns (Parquet list<struct>, JSON Lines arrays).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from yibaolang.checks.compiler import compile_policy
from yibaolang.engines.evaluate import evaluate
from yibaolang.engines.outcome import CaseInput
from yibaolang.tools.batch import Runner
from yibaolang.tools.cli import main
from yibaolang.tools.items import json_list_column

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "itemized"
OUTPUTS = ["总费用", "全自费金额", "超限价自付金额", "先行自付金额", "政策范围内费用", "起付标准", "统筹支付", "个人负担"]
UNKNOWN = ["XX0000000001", "ZZ9", "丙类外"]
QUANTITIES = ["1", "2", "3", "5", "10", "0.5", "12.5", "0", "7"]


def catalog_rows() -> list[dict[str, str]]:
    with open(EXAMPLE / "医保目录.csv", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def make_claims(seed: int, count: int, codes: list[str], prices: dict[str, list[Decimal]]) -> list[dict[str, Any]]:
    """`count` random claims, each with 0–12 lines (some codes unknown to the catalog)."""
    rng = random.Random(seed)
    out = []
    for number in range(count):
        lines = []
        for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 8, 12])):
            code = rng.choice(codes + UNKNOWN) if rng.random() < 0.9 else rng.choice(UNKNOWN)
            price = rng.choice(prices.get(code, [])) if code in prices and rng.random() < 0.3 else \
                Decimal(rng.randint(1, 500_000)) / 100
            lines.append({"编码": code, "数量": Decimal(rng.choice(QUANTITIES)), "单价": price})
        out.append({
            "单据号": 1000 + number,
            "医院等级": rng.choice(["三级", "二级", "一级"]),
            "人员类别": rng.choice(["在职", "退休"]),
            # Both sides of the catalog's 2024-01-01 versions, and their boundary days.
            "就诊日期": rng.choice([dt.date(2023, 12, 31), dt.date(2024, 1, 1)]) if rng.random() < 0.2
            else dt.date(2023, 6, 1) + dt.timedelta(days=rng.randint(0, 580)),
            "年度已支付": Decimal(rng.choice([0, 0, 0, 100_000, 295_000, 299_999, 400_000])) + Decimal(rng.randint(0, 99)) / 100,
            "明细": lines,
        })
    return out


def example_data(seed: int, count: int) -> list[dict[str, Any]]:
    rows = catalog_rows()
    prices: dict[str, list[Decimal]] = {}
    for row in rows:
        if row["支付标准"]:
            standard = Decimal(row["支付标准"])
            prices.setdefault(row["编码"], []).extend([standard, standard + Decimal("0.01"), standard - Decimal("0.01")])
    return make_claims(seed, count, sorted({r["编码"] for r in rows}), prices)


def claims_table(claims: list[dict[str, Any]], nested: bool = True) -> pa.Table:
    line_type = pa.struct([("编码", pa.string()), ("数量", pa.decimal128(12, 2)), ("单价", pa.decimal128(18, 2))])
    columns: dict[str, Any] = {
        "单据号": pa.array([c["单据号"] for c in claims], pa.int64()),
        "医院等级": pa.array([c["医院等级"] for c in claims]),
        "人员类别": pa.array([c["人员类别"] for c in claims]),
        "就诊日期": pa.array([c["就诊日期"] for c in claims], pa.date32()),
        "年度已支付": pa.array([c["年度已支付"] for c in claims], pa.decimal128(18, 2)),
    }
    if nested:
        columns["明细"] = pa.array([c["明细"] for c in claims], pa.list_(line_type))
    return pa.table(columns)


def lines_table(claims: list[dict[str, Any]]) -> pa.Table:
    keys, codes, quantities, prices = [], [], [], []
    for c in claims:
        for line in c["明细"]:
            keys.append(c["单据号"])
            codes.append(line["编码"])
            quantities.append(line["数量"])
            prices.append(line["单价"])
    return pa.table({"单据号": pa.array(keys, pa.int64()), "编码": pa.array(codes),
                     "数量": pa.array(quantities, pa.decimal128(12, 2)), "单价": pa.array(prices, pa.decimal128(18, 2))})


def interpreted(program: Any, claim: dict[str, Any], outputs: list[str]) -> tuple[list[Any], list[str]]:
    values = {k: v for k, v in claim.items() if k != "单据号"}
    outcome = evaluate(program, CaseInput(values), outputs)
    return [o.value if o.ok else None for o in outcome.outputs], [d.code for d in outcome.diagnostics if d.is_error]


def money(value: Any) -> Any:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


# ------------------------------------------------------------------ the engine against the interpreter


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_example_vector_equals_interpreter(seed: int) -> None:
    program = compile_policy(str(EXAMPLE / "住院结算.ybl"))
    claims = example_data(seed, 400)
    runner = Runner(program, OUTPUTS)
    out = runner.evaluate(claims_table(claims))
    # The itemized example runs fully vectorized: no construct handed back, no claim re-evaluated.
    assert runner.engine is not None and runner.engine.unsupported == []
    assert int(out.fallback.sum()) == 0
    assert out.vector_rows == len(claims)
    differences = []
    for i, claim in enumerate(claims):
        expected, errors = interpreted(program, claim, OUTPUTS)
        assert errors == []
        for name, value in zip(OUTPUTS, expected, strict=True):
            got = out.columns[name][i].as_py()
            if money(got) != money(value):
                differences.append((i, name, got, value))
    assert differences == []
    # The data reach every branch: lines of each class, over-limit lines, claims without lines, the cap.
    totals = {name: sum(out.columns[name].to_pylist()) for name in OUTPUTS}
    assert all(totals[n] > 0 for n in ["全自费金额", "超限价自付金额", "先行自付金额", "政策范围内费用", "统筹支付"])
    assert any(not c["明细"] for c in claims)


AGGREGATES = """政策 明细汇总测试

类型 目录类别 = 选项 {甲, 乙, 丙}

目录 医保目录 "医保目录.csv"
    键 编码 : 文本
    列 名称 : 文本
    列 类别 : 目录类别
    列 先行自付比例 : 比例 范围 0% 至 100% 可空
    列 支付标准 : 金额 范围 0元 至 100万元 可空
    有效期 生效日期 至 失效日期

目录 加成 "加成.csv"
    键 编码 : 文本
    列 系数 : 比例 范围 0% 至 200% 可空

输入 就诊日期 : 日期
输入 折扣 : 比例 范围 0% 至 100% 默认 100%
输入 明细 : 列表
    编码 : 文本
    数量 : 数 范围 0 至 1万
    单价 : 金额 范围 0元 至 100万元
    日期 : 日期 默认 2024-01-01

函数 折后(x: 金额, r: 比例) : 金额 = x × r

定义 明细.金额 : 金额 = 四舍五入(数量 × 单价, 分)
定义 明细.类别 : 目录类别 = 查目录 医保目录.类别 按 编码 于 就诊日期 查无 丙
定义 明细.系数 : 比例 = 查目录 加成.系数 按 编码 查无 100%
定义 明细.加成金额 : 金额 = 折后(金额 × 系数, 折扣)
定义 明细.是盐水 : 是否 = 编码 = "XB05BBL010B001"
定义 计数全部 : 数 = 计数(明细)
定义 乙类行数 : 数 = 计数(明细 其中 类别 = 乙)
定义 乙丙金额 : 金额 = 求和(明细.金额 其中 类别 属于 {乙, 丙})
定义 最贵 : 金额 = 最大值(明细.金额)
定义 最便宜甲类 : 金额 = 最小值(明细.加成金额 其中 类别 = 甲)
定义 最晚日期 : 日期 = 最大值(明细.日期)
定义 盐水数量 : 数 = 求和(明细.数量 其中 是盐水)
定义 合计 : 金额 = 求和(明细.加成金额)

输出 计数全部, 乙类行数, 乙丙金额, 最贵, 最便宜甲类, 最晚日期, 盐水数量, 合计
"""
AGG_OUTPUTS = ["计数全部", "乙类行数", "乙丙金额", "最贵", "最便宜甲类", "最晚日期", "盐水数量", "合计"]


def aggregates_policy(folder: Path) -> Any:
    shutil.copy(EXAMPLE / "医保目录.csv", folder / "医保目录.csv")
    (folder / "加成.csv").write_text("编码,系数\nXB05BBL010B001,150%\n001102000010000,\nXA02BCA010E001,0.333\n",
                                     encoding="utf-8")
    (folder / "汇总.ybl").write_text(AGGREGATES, encoding="utf-8")
    program = compile_policy(str(folder / "汇总.ybl"))
    assert [d.message for d in program.diagnostics if d.is_error] == []
    return program


def test_aggregates_vector_equals_interpreter(tmp_path: Path) -> None:
    """计数/最大值/最小值 with 其中, dates, defaults, text equality, a function on each line, two catalogs."""
    program = aggregates_policy(tmp_path)
    claims = example_data(7, 300)
    rng = random.Random(7)
    codes = ["XB05BBL010B001", "001102000010000", "XA02BCA010E001"]
    for claim in claims:
        claim.pop("医院等级"), claim.pop("人员类别"), claim.pop("年度已支付")
        claim["折扣"] = Decimal(rng.choice(["1", "0.9", "0.85", "0.333"]))
        for line in claim["明细"]:
            if rng.random() < 0.3:
                line["编码"] = rng.choice(codes)
            if rng.random() < 0.5:
                line["日期"] = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 900))
    line_type = pa.struct([("编码", pa.string()), ("数量", pa.decimal128(12, 2)), ("单价", pa.decimal128(18, 2)),
                           ("日期", pa.date32())])
    table = pa.table({
        "就诊日期": pa.array([c["就诊日期"] for c in claims], pa.date32()),
        "折扣": pa.array([str(c["折扣"]) for c in claims]),
        "明细": pa.array([[{**line, "日期": line.get("日期")} for line in c["明细"]] for c in claims],
                       pa.list_(line_type)),
    })
    runner = Runner(program, AGG_OUTPUTS)
    out = runner.evaluate(table)
    assert runner.engine is not None and runner.engine.unsupported == []
    errors_seen = 0
    for i, claim in enumerate(claims):
        expected, errors = interpreted(program, {k: v for k, v in claim.items()}, AGG_OUTPUTS)
        for name, value in zip(AGG_OUTPUTS, expected, strict=True):
            got = out.columns[name][i].as_py()
            if isinstance(value, Decimal) and got is not None:
                got = Decimal(got)
            assert got == value, (i, name, got, value)
        message = out.errors[i].as_py()
        assert bool(message) == bool(errors), (i, message, errors)
        if errors:
            errors_seen += 1
            assert "YB460" in errors  # 最大值/最小值 of no lines
            assert bool(out.fallback[i])  # the interpreter words the error
    assert 0 < errors_seen < len(claims)
    assert int(out.fallback.sum()) == errors_seen  # every other claim finished in the engine


def test_segment_sums_are_exact_at_int64_scale(tmp_path: Path) -> None:
    """Sums near the int64 range are exact or handed back, never wrapped."""
    program = aggregates_policy(tmp_path)
    big = Decimal("999999.99")
    claim = {"就诊日期": dt.date(2024, 5, 1), "明细": [{"编码": "X", "数量": Decimal(10000), "单价": big}] * 50}
    line_type = pa.struct([("编码", pa.string()), ("数量", pa.int64()), ("单价", pa.decimal128(18, 2))])
    table = pa.table({"就诊日期": pa.array([claim["就诊日期"]], pa.date32()),
                      "明细": pa.array([claim["明细"]], pa.list_(line_type))})
    out = Runner(program, ["合计"]).evaluate(table)
    expected, _ = interpreted(program, claim, ["合计"])
    assert Decimal(out.columns["合计"][0].as_py()) == expected[0] == big * 10000 * 50


# ------------------------------------------------------------------ through the CLI


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def expected_rows(claims: list[dict[str, Any]]) -> list[list[Any]]:
    program = compile_policy(str(EXAMPLE / "住院结算.ybl"))
    return [[money(v) for v in interpreted(program, c, OUTPUTS)[0]] for c in claims]


def read_result(path: Path) -> list[list[Any]]:
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return [[money(table[name][i].as_py()) for name in OUTPUTS] for i in range(table.num_rows)]
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [[money(row[name]) for name in OUTPUTS] for row in rows]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("items")
    for name in ["住院结算.ybl", "医保目录.csv"]:
        shutil.copy(EXAMPLE / name, tmp / name)
    return tmp


@pytest.fixture(scope="module")
def data() -> list[dict[str, Any]]:
    return example_data(11, 300)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    def plain(v: Any) -> Any:
        return str(v) if isinstance(v, Decimal | dt.date) else v

    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({k: ([{f: plain(x) for f, x in line.items()} for line in v] if isinstance(v, list)
                                     else plain(v)) for k, v in row.items()}, ensure_ascii=False) + "\n")


@pytest.mark.parametrize("lines_format", ["parquet", "jsonl", "csv", "parquet-shuffled"])
def test_cli_items_joined(folder: Path, data: list[dict[str, Any]], lines_format: str,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    pq.write_table(claims_table(data, nested=False), "claims.parquet")
    lines = lines_table(data)
    if lines_format == "parquet-shuffled":  # not in key order: grouped by sorting once
        lines = lines.take(pa.array(random.Random(5).sample(range(lines.num_rows), lines.num_rows)))
    name = f"lines.{lines_format.split('-')[0]}"
    if lines_format.startswith("parquet"):
        pq.write_table(lines, name, row_group_size=97)
    elif lines_format == "jsonl":
        write_jsonl(Path(name), [{k: v.as_py() for k, v in zip(lines.column_names, row, strict=True)}
                                 for row in zip(*lines.columns, strict=True)])
    else:
        import pyarrow.csv as pv

        pv.write_csv(lines, name)
    result = run_cli("run", "住院结算.ybl", "--cases", "claims.parquet", "--items", f"明细={name}",
                     "--key", "单据号", "-o", "out.parquet", "--chunk-size", "64")
    assert result.exit_code == 0, result.output
    assert read_result(folder / "out.parquet") == expected_rows(data)


def test_cli_nested_parquet_and_jsonl(folder: Path, data: list[dict[str, Any]],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    pq.write_table(claims_table(data), "nested.parquet")
    write_jsonl(Path("nested.jsonl"), [{k: v for k, v in c.items()} for c in data])
    expected = expected_rows(data)
    for source, out in [("nested.parquet", "n1.parquet"), ("nested.jsonl", "n2.jsonl")]:
        result = run_cli("run", "住院结算.ybl", "--cases", source, "-o", out, "--chunk-size", "50")
        assert result.exit_code == 0, result.output
        assert read_result(folder / out) == expected


def test_cli_bad_lines_orphans_and_duplicates(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad line makes its claim's row an error naming the line and column; other claims are computed;
    lines of no claim are counted in the summary; a key twice: the second claim is an error."""
    monkeypatch.chdir(folder)
    claims = example_data(3, 6)
    for claim in claims:
        claim["明细"] = [{"编码": "XB05BBL010B001", "数量": Decimal(2), "单价": Decimal("3.20")}]
    claims[4]["单据号"] = claims[3]["单据号"]  # the same key twice
    pq.write_table(claims_table(claims, nested=False), "c.parquet")
    rows = [{"单据号": c["单据号"], "编码": "XB05BBL010B001", "数量": "2", "单价": "3.20"} for c in claims]
    rows[1]["单价"] = "abc"
    rows.append({"单据号": 99999, "编码": "XB05BBL010B001", "数量": "1", "单价": "1.00"})
    write_jsonl(Path("l.jsonl"), rows)
    result = run_cli("run", "住院结算.ybl", "--cases", "c.parquet", "--items", "明细=l.jsonl", "--key", "单据号",
                     "-o", "bad.jsonl")
    assert result.exit_code == 1
    out = [json.loads(line) for line in (folder / "bad.jsonl").read_text("utf-8").splitlines()]
    assert len(out) == len(claims)  # rows in = rows out
    assert "明细 第 1 行（l.jsonl 第 2 行）单价" in out[1]["错误"] and "abc" in out[1]["错误"]
    assert out[1]["总费用"] is None and out[1]["起付标准"] is not None
    assert out[0]["错误"] == "" and out[0]["总费用"] == "6.40"
    assert "相同" in out[4]["错误"] and out[3]["错误"] == ""
    assert "1 行不属于任何结算单" in result.output and "99999" in result.output


def test_cli_usage_errors(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    pq.write_table(claims_table(example_data(1, 3), nested=False), "u.parquet")
    pq.write_table(lines_table(example_data(1, 3)), "ul.parquet")
    result = run_cli("run", "住院结算.ybl", "--cases", "u.parquet", "--items", "明细=ul.parquet", "-o", "u.jsonl")
    assert result.exit_code == 2 and "--key" in result.output
    result = run_cli("run", "住院结算.ybl", "--cases", "u.parquet", "--items", "账单=ul.parquet", "--key", "单据号",
                     "-o", "u.jsonl")
    assert result.exit_code == 2 and "不是本政策的列表输入" in result.output and "明细" in result.output
    result = run_cli("run", "住院结算.ybl", "--cases", "u.parquet", "--items", "明细=ul.parquet", "--key", "号",
                     "-o", "u.jsonl")
    assert result.exit_code == 1 and "没有 --key 指定的列“号”" in result.output
    result = run_cli("run", "住院结算.ybl", "--cases", "u.parquet", "--items", "明细=ul.parquet", "--key", "单据号",
                     "-o", "u.jsonl", "--engine", "dask")
    assert result.exit_code == 2 and "--engine dask 不支持 --items" in result.output
    result = run_cli("run", "住院结算.ybl", "--case", "u.parquet", "--items", "明细=ul.parquet", "--key", "单据号")
    assert result.exit_code == 2 and "只用于批量计算" in result.output
    assert not (folder / "u.jsonl").exists()


def test_json_list_column_marks_bad_elements() -> None:
    from yibaolang.tools.batch import cell_text

    column = json_list_column([[{"编码": "A", "数量": 1}], None, "x", [3]], cell_text)
    assert column.to_pylist()[0] == [{"编码": "A", "数量": "1", "\x00问题": None}]
    assert column[1].as_py() is None
    assert "应为明细行的列表" in column.to_pylist()[2][0]["\x00问题"]
    assert "应为 {字段: 值} 对象" in column.to_pylist()[3][0]["\x00问题"]


def test_text_cells_of_a_dictionary_column_are_stripped_and_share_codes() -> None:
    from yibaolang.engines.cases import declared_inputs
    from yibaolang.tools.columns import convert, python_value
    from yibaolang.tools.items import field_infos

    program = compile_policy(str(EXAMPLE / "住院结算.ybl"))
    info = field_infos(program, declared_inputs(program)["明细"])["编码"]
    array = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, None, 3, 1], pa.int32()),
                                           pa.array([" XB01", "XB01 ", "ZL03", ""]))
    out = convert(array, info, program, None)
    given = out.column.given.tolist()
    assert given == [True, True, True, False, False, True]
    values = [python_value(out.column.vec, info.type, i) for i in range(6) if given[i]]
    assert values == ["XB01", "XB01", "ZL03", "XB01"]
    assert out.column.vec.data[0] == out.column.vec.data[1]  # one code for one text
    plain = convert(array.cast(pa.string()), info, program, None)
    assert [python_value(plain.column.vec, info.type, i) for i in range(6) if given[i]] == values


def test_a_claim_without_its_list_and_a_line_too_fine_go_to_the_interpreter() -> None:
    program = compile_policy(str(EXAMPLE / "住院结算.ybl"))
    claims = example_data(5, 3)
    claims[0]["明细"] = [{"编码": "XB05BBL010B001", "数量": "2", "单价": "3.20"},
                       {"编码": "XB05BBL010B001", "数量": "0.0000000000001", "单价": "3.20"}]  # 13 decimals
    line_type = pa.struct([("编码", pa.string()), ("数量", pa.string()), ("单价", pa.string())])
    table = claims_table(claims, nested=False).append_column(
        "明细", pa.array([c["明细"] for c in claims[:1]] + [None] +
                       [[{k: str(v) for k, v in line.items()} for line in claims[2]["明细"]]], pa.list_(line_type)))
    runner = Runner(program, OUTPUTS)
    out = runner.evaluate(table)
    assert out.fallback.tolist()[:2] == [True, True]
    assert out.errors[0].as_py().startswith("明细 第 2 行 数量：") and out.columns["总费用"][0].as_py() is None
    assert "缺少输入“明细”" in out.errors[1].as_py() and out.columns["起付标准"][1].as_py() is not None
    assert out.errors[2].as_py() == ""
    expected, _ = interpreted(program, claims[2], OUTPUTS)
    assert money(out.columns["总费用"][2].as_py()) == money(expected[0])
