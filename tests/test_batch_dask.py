"""`--engine dask`: the same kernel per partition, locally and on a dask.distributed cluster (loopback)."""

from __future__ import annotations

from pathlib import Path

import dask.dataframe  # noqa: F401 - a test dependency
import distributed
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from yibaolang.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
HUANGSHI = str(ROOT / "policies" / "huangshi_2010.ybl")


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dask")
    sample = folder / "sample.parquet"
    assert CliRunner().invoke(main, ["sample", HUANGSHI, "--rows", "3000", "-o", str(sample), "--seed", "5"]).exit_code == 0
    table = pq.read_table(sample)
    # A few bad cells, so that partitions also send rows to the interpreter.
    levels = table.column("医院等级").cast(pa.string()).to_pylist()
    for i in range(0, 3000, 97):
        levels[i] = "四级"
    table = table.set_column(table.schema.get_field_index("医院等级"), "医院等级", pa.array(levels, pa.string()))
    path = folder / "cases.parquet"
    pq.write_table(table, path, row_group_size=400)  # several partitions
    return path


@pytest.fixture(scope="module")
def single(cases: Path) -> pa.Table:
    out = cases.with_name("single.parquet")
    result = CliRunner().invoke(main, ["run", HUANGSHI, "--cases", str(cases), "-o", str(out), "--keep-inputs"])
    assert result.exit_code == 1  # the bad cells
    return pq.read_table(out)


def test_dask_locally_equals_the_single_process_result(cases: Path, single: pa.Table, tmp_path: Path) -> None:
    out = tmp_path / "dask.parquet"
    result = CliRunner().invoke(main, ["run", HUANGSHI, "--cases", str(cases), "-o", str(out), "--keep-inputs",
                                       "--engine", "dask"])
    assert result.exit_code == 1, result.output
    table = pq.read_table(out)
    assert table.num_rows == 3000
    assert table.equals(single)


def test_dask_on_a_local_cluster_equals_the_single_process_result(cases: Path, single: pa.Table,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "cluster.parquet"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        result = CliRunner().invoke(main, ["run", HUANGSHI, "--cases", str(cases), "-o", str(out), "--keep-inputs",
                                           "--engine", "dask", "--scheduler", cluster.scheduler_address])
    assert result.exit_code == 1, result.output
    assert "共 3,000 行，出错 31 行" in result.output
    assert pq.read_table(out).equals(single)


def test_dask_needs_parquet_and_a_reachable_scheduler(cases: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from yibaolang.tools import dask_engine

    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", "1s")
    csv = tmp_path / "c.csv"
    csv.write_text("人员状态\n在职\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", HUANGSHI, "--cases", str(csv), "-o", str(tmp_path / "o.csv"),
                                       "--engine", "dask"])
    assert result.exit_code == 2
    result = CliRunner().invoke(main, ["run", HUANGSHI, "--cases", str(cases), "-o", str(tmp_path / "o.parquet"),
                                       "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "无法连接 dask 调度器" in result.output
    assert not (tmp_path / "o.parquet").exists()
