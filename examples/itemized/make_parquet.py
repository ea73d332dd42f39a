"""Write the example claims and lines of examples/itemized as Parquet (docs/itemized.md §6).

    python examples/itemized/make_parquet.py            # writes 结算单.parquet and 明细.parquet beside this file
    python examples/itemized/make_parquet.py --out DIR  # somewhere else

结算单.parquet: one row per claim — 单据号, 人员编号, 医院等级, 人员类别, 就诊日期 (date32).
明细.parquet: one row per line — 单据号, 编码, 数量 (decimal(12,2)), 单价 (decimal(18,2)).

Deterministic: a fixed seed, claims and lines in a fixed order, money as exact decimals (never float), so
running it again gives the same tables (tests/test_examples_itemized.py checks that).  About 50 claims
of 30 people in 2023-12 and 2024, both sides of the catalog's 2024-01-01 change; person P0001 has seven
large claims, so a run with `--person 人员编号 --claim-date 就诊日期` reaches the 30万元 annual cap.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20240101
HERE = Path(__file__).resolve().parent
MONEY = pa.decimal128(18, 2)
QUANTITY = pa.decimal128(12, 2)

# 编码 → (单价, the quantities a line may have).  Prices are typical hospital prices, some above the
# catalog's 支付标准; the last two codes are not in 医保目录.csv (全自费).
PRICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "XJ01CAA040A001": ("8.50", ("1", "2", "3")),              # 阿莫西林胶囊 甲
    "XJ01DCT030A001": ("19.80", ("1", "2")),                  # 头孢呋辛酯片 甲
    "XJ01DDT080B002": ("6.80", ("3", "6", "10")),             # 注射用头孢曲松钠 甲
    "XJ01DDT130B002": ("15.60", ("6", "12", "18")),           # 注射用头孢哌酮钠舒巴坦钠 乙→甲 (2024-01-01)
    "XJ01MAZ040B001": ("18.35", ("3", "6", "7")),             # 左氧氟沙星氯化钠注射液 乙 10%
    "XJ01DHM010B002": ("68.50", ("4", "8", "12")),            # 注射用美罗培南 乙 20%，支付标准 60.00
    "XB05BBL010B001": ("3.20", ("5", "10", "20")),            # 氯化钠注射液 甲
    "XB05BAP010B001": ("3.50", ("5", "10")),                  # 葡萄糖注射液 甲
    "XA02BCA010E001": ("12.90", ("1", "2")),                  # 奥美拉唑肠溶胶囊 甲
    "XA02BCP010B002": ("14.85", ("3", "5", "7")),             # 注射用泮托拉唑钠 乙 20%，支付标准 12.00
    "XC10AAA050A001": ("6.35", ("1", "2", "4")),              # 阿托伐他汀钙片 乙 10%
    "XB01ABY010B001": ("32.47", ("5", "10")),                 # 依诺肝素钠注射液 乙 10%
    "XL01XCL010B001": ("1580.00", ("2", "5")),                # 利妥昔单抗注射液 乙 10%，支付标准 1398.00→1118.00
    "XB05AAR010B001": ("398.00", ("5", "10", "20")),          # 人血白蛋白 乙 20%，支付标准 368.00
    "ZA04AAL010A001": ("14.80", ("1", "2")),                  # 连花清瘟胶囊 甲
    "T000100001": ("12.63", ("10", "12.5", "30")),            # 西洋参（饮片） 丙
    "001102000010000": ("20.00", ("3", "5", "10")),           # 住院诊查费 甲
    "001103000010000": ("45.00", ("3", "5", "10")),           # 床位费（三人间） 甲
    "001103000020000": ("150.00", ("2", "5", "7")),           # 床位费（单人间） 甲，支付标准 50.00
    "001201000020000": ("28.00", ("3", "5", "10")),           # 一级护理 甲
    "001204000010000": ("12.50", ("3", "5", "10")),           # 静脉输液 甲
    "002501010150000": ("25.00", ("1", "2", "3")),            # 血细胞分析 甲
    "002101020150000": ("180.00", ("1", "2")),                # CT平扫 乙 10%
    "002103000010000": ("620.00", ("1",)),                    # 磁共振成像平扫 乙 20%，支付标准 500.00
    "003107010010000": ("25.00", ("1", "2")),                 # 常规心电图检查 甲
    "003309000040000": ("1150.00", ("1",)),                   # 阑尾切除术 甲
    "003311000010000": ("2380.00", ("1",)),                   # 腹腔镜胆囊切除术 乙 10%
    "C0201010010101000001": ("2.50", ("3", "5", "10")),       # 一次性使用输液器 甲
    "C0210010010301000001": ("745.00", ("1", "2")),           # 冠状动脉药物洗脱支架 乙 10%，支付标准 700.00
    "C0501020010101000001": ("2980.00", ("1",)),              # 人工晶状体 乙 20%，支付标准 1200.00
    "004800000010000": ("3600.00", ("1",)),                   # 整形美容项目 丙
    "XJ01XXA999A999": ("256.40", ("1", "2")),                 # 目录外药品
    "C1499010010101000099": ("880.00", ("1",)),               # 目录外耗材
}
EVERYDAY = ["001102000010000", "001103000010000", "001201000020000", "XB05BBL010B001"]
LEVELS = ["三级", "二级", "一级"]
KINDS = ["在职", "退休"]


def claims(rng: random.Random) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """~50 claims and their lines, in a fixed order."""
    heads: list[dict[str, object]] = []
    lines: list[dict[str, object]] = []
    people = [f"P{n:04d}" for n in range(1, 31)]
    kind_of = {p: rng.choice(KINDS) for p in people}
    plan: list[tuple[str, dt.date]] = []
    # P0001: seven large claims in 2024, one a month — the annual cap is reached with --person.
    plan += [("P0001", dt.date(2024, month, 10)) for month in range(2, 9)]
    for person in people[1:]:
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            start = dt.date(2023, 12, 1)
            plan.append((person, start + dt.timedelta(days=rng.randrange(0, 300))))
    plan = plan[:50] if len(plan) > 50 else plan
    plan.sort(key=lambda item: (item[1], item[0]))
    codes = sorted(PRICES)
    for number, (person, date) in enumerate(plan, 1):
        claim = f"ZY{date.year}{number:06d}"
        heads.append({"单据号": claim, "人员编号": person, "医院等级": rng.choice(LEVELS),
                      "人员类别": kind_of[person], "就诊日期": date})
        chosen = list(EVERYDAY) + rng.sample(codes, rng.randrange(1, 12))
        if person == "P0001":
            chosen += ["XL01XCL010B001", "XB05AAR010B001"]
        for code in chosen:
            price, quantities = PRICES[code]
            quantity = rng.choice(quantities)
            if person == "P0001" and code == "XL01XCL010B001":
                quantity = "60"
            if person == "P0001" and code == "XB05AAR010B001":
                quantity = "40"
            lines.append({"单据号": claim, "编码": code, "数量": Decimal(quantity), "单价": Decimal(price)})
    return heads, lines


def write(out: Path) -> tuple[Path, Path]:
    rng = random.Random(SEED)
    heads, lines = claims(rng)
    head_schema = pa.schema([("单据号", pa.string()), ("人员编号", pa.string()), ("医院等级", pa.string()),
                             ("人员类别", pa.string()), ("就诊日期", pa.date32())])
    line_schema = pa.schema([("单据号", pa.string()), ("编码", pa.string()), ("数量", QUANTITY), ("单价", MONEY)])
    out.mkdir(parents=True, exist_ok=True)
    claims_path, lines_path = out / "结算单.parquet", out / "明细.parquet"
    pq.write_table(pa.Table.from_pylist(heads, schema=head_schema), claims_path)
    pq.write_table(pa.Table.from_pylist(lines, schema=line_schema), lines_path)
    return claims_path, lines_path


def main() -> None:
    parser = argparse.ArgumentParser(description="生成 examples/itemized 的结算单与明细 Parquet 文件")
    parser.add_argument("--out", type=Path, default=HERE, help="输出文件夹（默认本文件所在的文件夹）")
    args = parser.parse_args()
    claims_path, lines_path = write(args.out)
    n_claims = pq.read_metadata(claims_path).num_rows
    n_lines = pq.read_metadata(lines_path).num_rows
    print(f"已写出 {claims_path}（{n_claims} 张结算单）和 {lines_path}（{n_lines} 行明细）")


if __name__ == "__main__":
    main()
