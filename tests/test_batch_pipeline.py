"""The batch pipeline (issue 15): threads, Parquet encodings, 累计 without a skew cliff.

- `pipeline` keeps order, raises a failure of either thread, and never leaves a thread running;
- Parquet money is decimal(18, 2) in INT64 without dictionary pages, and a file with a larger
  amount is written again as decimal(38, 2) — the same values either way;
- the claim-by-claim tail of 累计 (many small ranks: one person with many claims) gives exactly
  what settling every claim through the interpreter gives, failing claims included.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_batch_claims import capped_program, claim, compare
from yibaolang.tools import batch
from yibaolang.tools.batch import pipeline
from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
HUANGSHI = str(ROOT / "policies" / "huangshi_2010.ybl")


def test_pipeline_keeps_the_order_and_stops_its_threads() -> None:
    seen: list[int] = []
    before = threading.active_count()
    pipeline(iter(range(500)), lambda x: x * 2, seen.append)
    assert seen == [2 * x for x in range(500)]
    assert threading.active_count() == before


@pytest.mark.parametrize("where", ["read", "compute", "write"])
def test_pipeline_raises_a_failure_of_any_stage(where: str) -> None:
    def items() -> Any:
        for x in range(100):
            if where == "read" and x == 50:
                raise batch.BatchError("坏的块")
            yield x

    def compute(x: int) -> int:
        if where == "compute" and x == 50:
            raise batch.BatchError("坏的块")
        return x

    written: list[int] = []

    def sink(x: int) -> None:
        if where == "write" and x == 50:
            raise OSError("磁盘已满")
        written.append(x)

    before = threading.active_count()
    with pytest.raises((batch.BatchError, OSError)):
        pipeline(items(), compute, sink)
    assert written == list(range(len(written))) and len(written) <= 50
    assert threading.active_count() == before


def test_parquet_money_is_int64_without_dictionary(tmp_path: Path) -> None:
    cases, out = tmp_path / "cases.parquet", tmp_path / "out.parquet"
    assert CliRunner().invoke(main, ["sample", HUANGSHI, "--rows", "3000", "-o", str(cases), "--seed", "3"]).exit_code == 0
    result = CliRunner().invoke(main, ["run", HUANGSHI, "--cases", str(cases), "-o", str(out), "--chunk-size", "700"])
    assert result.exit_code in (0, 1), result.output
    meta = pq.ParquetFile(out).metadata
    schema = pq.read_schema(out)
    money = schema.get_field_index("统筹基金支付")
    assert schema.field(money).type == pa.decimal128(18, 2)
    for group in range(meta.num_row_groups):
        column = meta.row_group(group).column(money)
        assert column.physical_type == "INT64"
        assert "RLE_DICTIONARY" not in column.encodings and "PLAIN_DICTIONARY" not in column.encodings
    errors = meta.row_group(0).column(schema.get_field_index("错误"))
    assert "RLE_DICTIONARY" in errors.encodings  # text keeps its dictionary
    csv = tmp_path / "out.csv"
    CliRunner().invoke(main, ["run", HUANGSHI, "--cases", str(cases), "-o", str(csv)])
    from pyarrow import csv as pv

    text = pv.read_csv(csv, convert_options=pv.ConvertOptions(column_types={"统筹基金支付": pa.string()}))
    assert [None if v is None else format(v, "f") for v in pq.read_table(out)["统筹基金支付"].to_pylist()] == \
        [v or None for v in text["统筹基金支付"].to_pylist()]


POLICY = """政策 大额
    施行 2024年1月1日

输入 费用 : 金额 范围 0元 至 1亿元
输入 倍数 : 数 范围 0 至 1000000000

定义 乘积 : 金额 = 费用 × 倍数

输出 乘积
"""


def test_an_amount_beyond_18_digits_writes_the_file_wide(tmp_path: Path) -> None:
    policy = tmp_path / "p.ybl"
    policy.write_text(POLICY, encoding="utf-8")
    rows = [{"费用": "100", "倍数": "2"}] * 900 + [{"费用": "99999999", "倍数": "999999999"}]  # 10^17 元
    cases = tmp_path / "c.parquet"
    pq.write_table(pa.Table.from_pylist(rows), cases)
    out = tmp_path / "o.parquet"
    result = CliRunner().invoke(main, ["run", str(policy), "--cases", str(cases), "-o", str(out), "--chunk-size", "300"])
    assert result.exit_code == 0, result.output
    assert result.output.count("提示") == 0
    table = pq.read_table(out)
    assert table.schema.field("乘积").type == pa.decimal128(38, 2)
    assert table.num_rows == 901
    assert table["乘积"].to_pylist()[-1] == Decimal("99999999") * 999999999
    assert table["乘积"].to_pylist()[0] == Decimal("200.00")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(claim, min_size=1, max_size=30))
def test_the_claim_by_claim_tail_equals_settling_one_by_one(rows: list[dict[str, Any]]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "FEW_CLAIMS", 10**9)
        patch.setattr(batch, "MANY_RANKS", -1)
        compare(capped_program(), rows)


def test_one_person_with_many_claims_takes_the_tail_and_stays_exact() -> None:
    rng = random.Random(5)
    rows = []
    for i in range(1000):
        person = "甲" if i % 4 else f"P{i}"  # 750 claims of one person among 250 with one claim each
        rows.append({"人员": person, "理赔日期": (dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(700))).isoformat(),
                     "费用": rng.choice(["6000", "12500", "60万元", "abc", str(Decimal(rng.randrange(10**6)) / 100)])})
    out = compare(capped_program(), rows)
    assert out.vector_rows > 0  # the first, wide ranks still go through the engine


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_reader_that_dies_without_a_word_ends_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # Out of memory, the reading thread may fail even to hand its error over (found by the fuzz
    # campaign under RLIMIT_AS: the run waited forever); the run must end with an error.
    class SilentDeath:
        def __init__(self, *_: Any) -> None:
            raise MemoryError

    def items() -> Any:
        yield from range(3)
        raise ValueError("unreadable")

    monkeypatch.setattr(batch, "_Failed", SilentDeath)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            pipeline(items(), lambda x: x, lambda _: None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "the pipeline waited for a thread that had ended"
    assert outcome and isinstance(outcome[0], MemoryError)
