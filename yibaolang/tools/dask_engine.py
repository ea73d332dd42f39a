"""`yibaolang run --cases FILE.parquet --engine dask [--scheduler ADDR]`: the same kernel per partition.

The Parquet file is read with `dask.dataframe.read_parquet` (Arrow-backed
columns, so decimal money stays exact); each partition goes through the same
`batch.Runner` — the vectorized engine, and the interpreter for the rows it
does not finish — on whichever worker holds it, locally (threads) or on a
`dask.distributed` cluster.  The partitions come back in order and are written
by the same writers, so the output is identical to `--engine numpy`.

Workers compile the policy from its source text, sent with the task, so they
need the yibaolang package but not the policy files.
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


def evaluate_partition(frame: Any, policy: str, sources: tuple[tuple[str, str], ...], outputs: tuple[str, ...],
                       date: Any, keep_inputs: bool) -> Any:
    """One partition (a pandas DataFrame of Arrow-backed columns) → its output columns, in order."""
    import pandas as pd
    import pyarrow as pa

    from yibaolang.tools.batch import ERROR_COLUMN, INPUT_PREFIX, Runner

    key = (policy, sources, outputs, date)
    runner = _RUNNERS.get(key)
    if runner is None:
        runner = _RUNNERS[key] = Runner(_program(policy, sources), list(outputs) or None, date=date)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    out = runner.evaluate(table)
    names = [*runner.outputs, ERROR_COLUMN]
    arrays = [*(out.columns[name] for name in runner.outputs), out.errors]
    if keep_inputs:
        taken = set(names)
        for name, column in zip(table.column_names, table.columns, strict=True):
            names.append(f"{INPUT_PREFIX}{name}" if name in taken else name)
            arrays.append(column)
    result = pa.table(arrays, names=names)
    return result.to_pandas(types_mapper=pd.ArrowDtype)


def _meta(program: Any, outputs: tuple[str, ...], keep_inputs: bool, columns: Any) -> tuple[Any, Any]:
    """The partitions' pandas meta and the Arrow schema the output is written with."""
    import pandas as pd
    import pyarrow as pa

    from yibaolang.tools.batch import ERROR_COLUMN, INPUT_PREFIX, Runner
    from yibaolang.tools.columns import arrow_type

    runner = Runner(program, list(outputs) or None, engine="interpreter")
    fields = [(name, arrow_type(t)) for name, t in zip(runner.outputs, runner.types, strict=False)]
    fields.append((ERROR_COLUMN, pa.string()))
    if keep_inputs:
        taken = {name for name, _ in fields}
        for field in columns:
            shown = f"{INPUT_PREFIX}{field.name}" if field.name in taken else field.name
            fields.append((shown, field.type))
    frame = pd.DataFrame({name: pd.Series([], dtype=pd.ArrowDtype(t)) for name, t in fields})
    return frame, pa.schema(fields)


def run_dask(program: Any, options: Any) -> Any:
    """Evaluate `options.cases` (Parquet) partition by partition through dask; write `options.out`."""
    from yibaolang.tools.batch import BatchError

    try:
        import dask
        import dask.dataframe as dd
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
        return _run(program, options, dask, dd, client)


def _run(program: Any, options: Any, dask: Any, dd: Any, client: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    from yibaolang.tools.batch import BatchError, Summary, _progress, open_writer

    try:
        import pyarrow.parquet as pq

        from yibaolang.tools.batch import refuse_duplicate_columns, refuse_special

        refuse_special(options.cases)
        try:
            names = pq.read_schema(options.cases).names
        except Exception as exc:  # pyarrow's errors for a file that is not Parquet
            raise BatchError(f"无法读取案例文件 {options.cases}：不是有效的 Parquet 文件（{exc}）") from None
        refuse_duplicate_columns(options.cases, names)
        try:
            frame = dd.read_parquet(options.cases, dtype_backend="pyarrow", split_row_groups=True)
        except Exception as exc:
            raise BatchError(f"无法读取案例文件 {options.cases}：{exc}") from None
        sources = _sources(program)
        policy = str(Path(program.root.path).resolve())
        outputs = tuple(options.outputs)
        meta, schema = _meta(program, outputs, options.keep_inputs, pq.read_schema(options.cases))
        results = frame.map_partitions(evaluate_partition, policy, sources, outputs, options.date,
                                       options.keep_inputs, meta=meta, enforce_metadata=False)
        parts = results.to_delayed()
        from yibaolang.files import program_files

        writer = open_writer(options.out, [*program_files(program), options.cases])
        summary = Summary()
        try:
            with _progress(frame.npartitions) as bar:
                for part in _in_order(parts, client, dask):
                    table = pa.Table.from_pandas(part, preserve_index=False).cast(schema)
                    writer.write(table)
                    summary.rows += table.num_rows
                    errors = table.column("错误")
                    summary.errors += int(pc.sum(pc.not_equal(errors, "")).as_py() or 0)
                    bar.advance(1)
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        return summary
    finally:
        if client is not None:
            client.close()


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


__all__ = ["evaluate_partition", "run_dask"]
