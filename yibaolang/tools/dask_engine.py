"""`yibaolang run --cases FILE.parquet --engine dask [--scheduler ADDR]`: the same kernel per partition.

A partition is one Parquet row group.  Each task reads its row group with
pyarrow (in `--chunk-size` batches, so a worker holds one batch of inputs at a
time), runs it through the same `batch.Runner` — the vectorized engine, and the
interpreter for the rows it does not finish — and returns an Arrow table: no
pandas anywhere, and Arrow tables pickle as their buffers.  The results come
back in order and are written by the single-process writer, so the output is
identical to `--engine numpy` (docs/batch.md §5).

The policy's source text is one node of the task graph that every task depends
on, so a `dask.distributed` scheduler sends it to each worker once; workers
compile it once (cached per process) and need the yibaolang package, not the
policy files.  They do need the case file at the same path (shared storage).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WINDOW = 4  # partitions in flight at once: bounds the memory the client holds
CONNECT_TIMEOUT = "10s"

_PROGRAMS: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}


def _sources(program: Any) -> tuple[tuple[str, str], ...]:
    """Every module's source text, by resolved path (the root first)."""
    out = []
    for scope in program.modules.values():
        out.append((str(Path(scope.path).resolve()), scope.source.original))
    return tuple(out)


def _program(policy: str, sources: tuple[tuple[str, str], ...]) -> Any:
    key = (policy, sources)
    found = _PROGRAMS.get(key)
    if found is None:
        from yibaolang.checks.compiler import compile_policy

        found = _PROGRAMS[key] = compile_policy(policy, overrides=dict(sources))
    return found


_RUNNERS: dict[tuple[Any, ...], Any] = {}


def evaluate_row_group(spec: tuple[Any, ...], path: str, group: int) -> Any:
    """One row group of `path` → its result table (outputs, 错误, inputs when kept), as Arrow."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from yibaolang.tools.batch import Options, Runner, Summary, _result_table

    policy, sources, outputs, date, keep_inputs, chunk_size = spec
    key = (policy, sources, outputs, date)
    runner = _RUNNERS.get(key)
    if runner is None:
        runner = _RUNNERS[key] = Runner(_program(policy, sources), list(outputs) or None, date=date)
    options = Options(policy=policy, cases=path, out="", keep_inputs=keep_inputs)
    parts = []
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_size, row_groups=[group]):
        table = pa.Table.from_batches([batch])
        parts.append(_result_table(runner.evaluate(table), table, runner, options, Summary()))
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def run_dask(program: Any, options: Any) -> Any:
    """Evaluate `options.cases` (Parquet) partition by partition through dask; write `options.out`."""
    from yibaolang.tools.batch import BatchError

    try:
        import dask
    except ImportError:
        raise BatchError("--engine dask 需要 dask：请运行 pip install 'yibaolang[dask]'") from None
    client = None
    if options.scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise BatchError("--scheduler 需要 distributed：请运行 pip install 'yibaolang[dask]'") from None
        try:
            client = Client(options.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)  # type: ignore[no-untyped-call]
        except Exception as exc:
            raise BatchError(f"无法连接 dask 调度器 {options.scheduler}：{exc}") from None
    with warnings.catch_warnings():
        # dask's own deprecation warnings (pandas 3 changes) are not the user's business.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return _run(program, options, dask, client)


def _run(program: Any, options: Any, dask: Any, client: Any) -> Any:
    from yibaolang.tools.batch import WideMoney

    try:
        try:
            return _write_all(program, options, dask, client, narrow=True)
        except WideMoney:  # an amount beyond decimal(18, 2): written again with decimal(38, 2)
            return _write_all(program, options, dask, client, narrow=False)
    finally:
        if client is not None:
            client.close()


def _write_all(program: Any, options: Any, dask: Any, client: Any, narrow: bool) -> Any:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from yibaolang.files import program_files
    from yibaolang.tools.batch import (
        BatchError,
        Summary,
        _progress,
        open_writer,
        refuse_duplicate_columns,
        refuse_special,
    )

    refuse_special(options.cases)
    try:
        file = pq.ParquetFile(options.cases)
    except Exception as exc:  # pyarrow's errors for a file that is not Parquet
        raise BatchError(f"无法读取案例文件 {options.cases}：不是有效的 Parquet 文件（{exc}）") from None
    refuse_duplicate_columns(options.cases, file.schema_arrow.names)
    groups = file.metadata.num_row_groups
    path = str(Path(options.cases).resolve())
    spec = dask.delayed((str(Path(program.root.path).resolve()), _sources(program), tuple(options.outputs),
                         options.date, options.keep_inputs, options.chunk_size), pure=True)
    task = dask.delayed(evaluate_row_group, pure=True)
    parts = [task(spec, path, group) for group in range(groups)]
    writer = open_writer(options.out, [*program_files(program), options.cases], narrow)
    summary = Summary()
    try:
        with _progress(groups) as bar:
            for table in _in_order(parts, client, dask):
                writer.write(table)
                summary.rows += table.num_rows
                summary.errors += int(pc.sum(pc.not_equal(table.column("错误"), "")).as_py() or 0)
                bar.advance(1)
        if groups == 0:
            from yibaolang.tools.batch import Options, Runner, _result_table

            runner = Runner(program, list(options.outputs) or None, date=options.date)
            empty = file.schema_arrow.empty_table()
            writer.write(_result_table(runner.evaluate(empty), empty, runner,
                                       Options(policy="", cases="", out="", keep_inputs=options.keep_inputs),
                                       Summary()))
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return summary


def _in_order(parts: list[Any], client: Any, dask: Any) -> Iterator[Any]:
    """Partition results in partition order, at most WINDOW computed ahead."""
    if client is not None:
        pending: list[Any] = []
        index = 0
        while index < len(parts) or pending:
            while index < len(parts) and len(pending) < WINDOW:
                pending.append(client.compute(parts[index]))
                index += 1
            future = pending.pop(0)
            yield future.result()
        return
    for start in range(0, len(parts), WINDOW):
        yield from dask.compute(*parts[start:start + WINDOW], scheduler="threads")


__all__ = ["evaluate_row_group", "run_dask"]
