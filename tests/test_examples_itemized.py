"""examples/itemized (docs/itemized.md): the settlement-from-lines example checks clean, every hand-computed
case passes, each single case file gives the figures of its suite case, the catalog has what the example
promises, and the Parquet pair is what make_parquet.py writes."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import ModuleType

import pyarrow.parquet as pq
import pytest
import yaml

from tests.runner import invoke_in

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "examples" / "itemized"
POLICY = "examples/itemized/住院结算.ybl"

# Each single case file and the suite case it repeats (its comment says so).
SINGLE = {
    "在职三级.case.yaml": "账单甲：在职·三级",
    "退休二级.case.yaml": "账单戊：支付标准与先行自付并存（退休·二级）",
    "目录变更前.case.yaml": "账单丙：目录变更前一日 2023-12-31",
}


def _suite(name: str) -> list[dict[str, object]]:
    loaded = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, list)
    return loaded


def test_check_is_clean() -> None:
    result = invoke_in(ROOT, "check", "examples/itemized")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("检查了 2 个文件，没有发现问题"), result.output


def test_formatted() -> None:
    result = invoke_in(ROOT, "fmt", "--check", "examples/itemized")
    assert result.exit_code == 0, result.output


def test_every_case_passes() -> None:
    expected = len(_suite("住院结算.cases.yaml")) + len(_suite("丽水合理医疗费用.cases.yaml"))
    result = invoke_in(ROOT, "test", "examples/itemized")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == f"{expected} passed, 0 failed", result.output
    assert expected >= 25


def test_suite_covers_what_the_example_promises() -> None:
    cases = _suite("住院结算.cases.yaml")
    inputs = [c["输入"] for c in cases if isinstance(c.get("输入"), dict)]
    combos = {(i["人员类别"], i["医院等级"]) for i in inputs if isinstance(i, dict)}
    assert combos == {(k, g) for k in ("在职", "退休") for g in ("三级", "二级", "一级")}
    assert any(i["明细"] == [] for i in inputs if isinstance(i, dict)), "an empty bill"
    dates = {str(i["就诊日期"]) for i in inputs if isinstance(i, dict)}
    assert {"2023-12-31", "2024-01-01"} <= dates, "both sides of the catalog's change date"
    paid = [i.get("年度已支付") for i in inputs if isinstance(i, dict)]
    assert "300000元" in paid and "296000元" in paid, "the annual cap reached through 年度已支付"
    codes = {line["编码"] for i in inputs if isinstance(i, dict) for line in i["明细"]}
    catalog = {row["编码"] for row in _catalog()}
    assert codes - catalog, "a line with no catalog row (全自费)"


@pytest.mark.parametrize("case_file", sorted(SINGLE))
def test_single_case_matches_its_suite_case(case_file: str) -> None:
    suite = {c["名称"]: c for c in _suite("住院结算.cases.yaml")}
    expected = suite[SINGLE[case_file]]["期望"]
    assert isinstance(expected, dict)
    result = invoke_in(ROOT, "run", POLICY, "--case", f"examples/itemized/{case_file}", "--format", "json")
    assert result.exit_code == 0, result.output
    outputs = json.loads(result.output)["outputs"]
    for name, value in expected.items():
        assert outputs[name]["value"] == str(value).removesuffix("元"), (case_file, name)
    # The single file states the same figures in its comment (“统筹支付 1,208.78元”).
    text = (HERE / case_file).read_text(encoding="utf-8")
    paid = str(expected["统筹支付"]).removesuffix("元")
    assert re.sub(r"(\d),(\d)", r"\1\2", text).count(f"统筹支付 {paid}元") == 1


def _catalog() -> list[dict[str, str]]:
    with (HERE / "医保目录.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_catalog_rows() -> None:
    rows = _catalog()
    assert len(rows) >= 40
    assert list(rows[0]) == ["编码", "名称", "类别", "先行自付比例", "支付标准", "生效日期", "失效日期"]
    assert {r["类别"] for r in rows} == {"甲", "乙", "丙"}
    assert all(r["先行自付比例"] for r in rows if r["类别"] == "乙")
    assert not any(r["先行自付比例"] for r in rows if r["类别"] != "乙")
    assert sum(1 for r in rows if r["支付标准"]) >= 5
    versions: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        versions.setdefault(r["编码"], []).append(r)
    dated = {code: vs for code, vs in versions.items() if len(vs) > 1}
    assert len(dated) == 2
    for vs in dated.values():  # one version ends where the next begins, on 2024-01-01
        assert [(v["生效日期"], v["失效日期"]) for v in vs] == [("", "2024-01-01"), ("2024-01-01", "")]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_parquet", HERE / "make_parquet.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parquet_pair_is_what_the_script_writes(tmp_path: Path) -> None:
    claims, lines = _generator().write(tmp_path)
    for written, shipped in ((claims, HERE / "结算单.parquet"), (lines, HERE / "明细.parquet")):
        assert pq.read_table(written).equals(pq.read_table(shipped)), shipped.name
    heads = pq.read_table(claims)
    items = pq.read_table(lines)
    assert heads.num_rows == 50
    assert str(items.schema.field("单价").type) == "decimal128(18, 2)"
    assert str(heads.schema.field("就诊日期").type) == "date32[day]"
    numbers = heads.column("单据号").to_pylist()
    assert len(set(numbers)) == len(numbers)
    assert set(items.column("单据号").to_pylist()) == set(numbers), "every claim has lines, every line a claim"


# ------------------------------------------------------------------ an independent reference of the rule

CENT = Decimal("0.01")
DEDUCTIBLE = {"三级": Decimal(1000), "二级": Decimal(600), "一级": Decimal(300)}
RATIO = {("在职", "三级"): "0.85", ("在职", "二级"): "0.90", ("在职", "一级"): "0.95",
         ("退休", "三级"): "0.90", ("退休", "二级"): "0.95", ("退休", "一级"): "0.97"}


def _cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, ROUND_HALF_UP)


def _row(rows: list[dict[str, str]], code: str, day: dt.date) -> dict[str, str] | None:
    for row in rows:
        start, end = row["生效日期"], row["失效日期"]
        if row["编码"] == code and (not start or dt.date.fromisoformat(start) <= day) \
                and (not end or day < dt.date.fromisoformat(end)):
            return row
    return None


def _settle(rows: list[dict[str, str]], head: dict[str, object], lines: list[dict[str, object]],
            paid: Decimal) -> dict[str, Decimal]:
    """Rules 1–9 of issue 12 written directly in Python (Decimal), to check the engines against."""
    day = head["就诊日期"]
    assert isinstance(day, dt.date)
    out = dict.fromkeys(("总费用", "全自费金额", "超限价自付金额", "先行自付金额", "政策范围内费用"), Decimal(0))
    for line in lines:
        quantity, price = Decimal(line["数量"]), Decimal(line["单价"])  # type: ignore[arg-type]
        amount = _cents(quantity * price)
        row = _row(rows, str(line["编码"]), day)
        out["总费用"] += amount
        if row is None or row["类别"] == "丙":
            out["全自费金额"] += amount
            continue
        standard = Decimal(row["支付标准"]) if row["支付标准"] else price
        over = _cents((price - standard) * quantity) if standard < price else Decimal(0)
        priced = amount - over
        ratio = Decimal(row["先行自付比例"].rstrip("%")) / 100 if row["类别"] == "乙" else Decimal(0)
        first = _cents(priced * ratio)
        out["超限价自付金额"] += over
        out["先行自付金额"] += first
        out["政策范围内费用"] += priced - first
    kind, level = str(head["人员类别"]), str(head["医院等级"])
    deductible = DEDUCTIBLE[level] * (Decimal("0.5") if kind == "退休" else 1)
    share = _cents(max(out["政策范围内费用"] - deductible, Decimal(0)) * Decimal(RATIO[kind, level]))
    out["起付标准"] = deductible
    out["统筹支付"] = min(share, max(Decimal(300000) - paid, Decimal(0)))
    out["个人负担"] = out["总费用"] - out["统筹支付"]
    return out


def test_reference_agrees_with_the_hand_computed_cases() -> None:
    """The reference below is itself checked against every hand-computed figure first."""
    rows = _catalog()
    checked = 0
    for case in _suite("住院结算.cases.yaml"):
        given = case["输入"]
        assert isinstance(given, dict)
        if "期望" not in case:
            continue
        head = {**given, "就诊日期": dt.date.fromisoformat(str(given["就诊日期"]))}
        paid = Decimal(str(given.get("年度已支付", "0元")).removesuffix("元"))
        got = _settle(rows, head, given["明细"], paid)
        wanted = case["期望"]
        assert isinstance(wanted, dict)
        for name, value in wanted.items():
            if name in got:
                assert got[name] == Decimal(str(value).removesuffix("元")), (case["名称"], name)
                checked += 1
    assert checked >= 80


@pytest.mark.parametrize("engine", ["numpy", "interpreter"])
def test_batch_of_the_parquet_pair_matches_the_reference(engine: str, tmp_path: Path) -> None:
    """`run --cases 结算单 --items 明细=明细 --key 单据号 --person --claim-date`: every claim to the 分,
    with 年度已支付 accumulated per person and year in date order (P0001 reaches the 30万元 cap)."""
    out = tmp_path / "结果.parquet"
    result = invoke_in(ROOT, "run", POLICY, "--cases", "examples/itemized/结算单.parquet",
                       "--items", "明细=examples/itemized/明细.parquet", "--key", "单据号",
                       "--person", "人员编号", "--claim-date", "就诊日期", "--keep-inputs", "--engine", engine,
                       "-o", str(out))
    assert result.exit_code == 0, result.output
    got = {r["单据号"]: r for r in pq.read_table(out).to_pylist()}
    heads = pq.read_table(HERE / "结算单.parquet").to_pylist()
    lines: dict[str, list[dict[str, object]]] = {}
    for line in pq.read_table(HERE / "明细.parquet").to_pylist():
        lines.setdefault(line["单据号"], []).append(line)
    assert len(got) == len(heads) == 50
    rows = _catalog()
    paid: dict[tuple[str, int], Decimal] = {}
    capped = 0
    for head in sorted(heads, key=lambda h: (h["人员编号"], h["就诊日期"])):
        year = (head["人员编号"], head["就诊日期"].year)
        expected = _settle(rows, head, lines[head["单据号"]], paid.get(year, Decimal(0)))
        paid[year] = paid.get(year, Decimal(0)) + expected["统筹支付"]
        row = got[head["单据号"]]
        assert not row["错误"], row
        for name, value in expected.items():
            assert row[name] == value, (head["单据号"], name, row[name], value)
        capped += paid[year] == Decimal(300000)
    assert capped >= 2, "P0001 reaches the annual cap"
    assert sum(r["统筹支付"] for r in got.values()) == Decimal("445084.58")


def test_lishui_example_equals_the_seed_policy_given_the_sums(tmp_path: Path) -> None:
    """Handing the sums over with 代入 gives what the 丽水 policy gives when the sums are typed in."""
    for case in _suite("丽水合理医疗费用.cases.yaml"):
        if "期望" not in case:
            continue
        given = case["输入"]
        assert isinstance(given, dict)
        case_file = tmp_path / "案例.yaml"
        case_file.write_text(yaml.safe_dump(given, allow_unicode=True), encoding="utf-8")
        example = invoke_in(ROOT, "run", "examples/itemized/丽水合理医疗费用.ybl", "--case", str(case_file),
                            "--output", "目录内外合理费用", "--output", "转外自理费用",
                            "--output", "丽水.浙丽保报销", "--format", "json")
        assert example.exit_code == 0, example.output
        sums = json.loads(example.output)["outputs"]
        direct_file = tmp_path / "直接.yaml"
        direct_file.write_text(yaml.safe_dump({
            "大病后自负费用": str(given.get("大病后自负费用", "0元")),
            "合理医疗费用": sums["目录内外合理费用"]["value"],
            "转外自理费用": sums["转外自理费用"]["value"],
        }, allow_unicode=True), encoding="utf-8")
        direct = invoke_in(ROOT, "run", "policies/lishui_2020.ybl", "--case", str(direct_file),
                           "--output", "浙丽保报销", "--format", "json")
        assert direct.exit_code == 0, direct.output
        assert json.loads(direct.output)["outputs"]["浙丽保报销"]["value"] == sums["丽水.浙丽保报销"]["value"]
