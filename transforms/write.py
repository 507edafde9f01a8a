"""Writing Arrow tables as Parquet through Beam's FileSystems, so any runner's storage works."""

from __future__ import annotations

import posixpath

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.schema import FAILED_SCHEMA, INTERACTION_SCHEMA, conform


def write_parquet(table: pa.Table, path: str) -> str:
    with FileSystems.create(path) as handle:
        pq.write_table(table, handle, compression="zstd")
    return path


def delete_tree(folder: str) -> None:
    """Delete a folder and everything under it, on a local disk or an object store (where a folder is a
    prefix, named with a trailing slash)."""
    local = FileSystems.get_scheme(folder) in (None, "file")
    if FileSystems.exists(folder) or not local:
        FileSystems.delete([folder if local else folder.rstrip("/") + "/"])


def write_arrow(table: pa.Table, path: str) -> str:
    """Staging format between pipeline steps: uncompressed Arrow IPC, the fastest to write and read back."""
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        with pa.ipc.new_file(handle, table.schema) as writer:
            writer.write_table(table)
    return path


def read_arrow(paths: list[str], promote: bool = False) -> pa.Table:
    """Staged Arrow (or Parquet) files -> one table; with `promote`, columns some files lack are filled with nulls."""
    tables = []
    for path in paths:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            data = pa.BufferReader(handle.read())
            tables.append(pq.read_table(data) if path.endswith(".parquet") else pa.ipc.open_file(data).read_all())
    return pa.concat_tables(tables, promote_options="default" if promote else "none")


def read_parquet(path: str, columns: list[str] | None = None, schema: pa.Schema | None = None) -> pa.Table:
    """A Parquet file through FileSystems (local, gs://, s3://), reading only the column chunks asked for
    (the handle seeks); columns the file lacks are left out, or, with `schema`, filled with nulls."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        parquet = pq.ParquetFile(handle)
        if schema is not None:
            return conform(parquet.read(), schema)
        names = parquet.schema_arrow.names
        return parquet.read(columns=[c for c in columns if c in names] if columns else None)


def write_by_date(table: pa.Table, root: str, part: str) -> list[tuple[str, int]]:
    """Write interactions into Hive-style date partitions: <root>/occurred_date=YYYY-MM-DD/<part>.parquet.

    The rows are put in time order by one `take` over the whole table, and each day is then a zero-copy
    slice of it. A `take` per day would be slower by the number of days: on a table of many staged
    chunks each one walks every chunk of every column."""
    if table.num_rows == 0:
        return []
    table = conform(table, INTERACTION_SCHEMA)
    table = table.take(pc.sort_indices(table, [("occurred_at", "ascending"), ("interaction_id", "ascending")]))
    runs = pc.run_end_encode(pc.strftime(table["occurred_at"], format="%Y-%m-%d").combine_chunks())
    written, start = [], 0
    for day, end in zip(runs.values.to_pylist(), runs.run_ends.to_pylist()):
        rows = table.slice(start, end - start)
        written.append((write_parquet(rows, posixpath.join(root, f"occurred_date={day}", f"{part}.parquet")), rows.num_rows))
        start = end
    return written


def write_failed(table: pa.Table, root: str, part: str) -> tuple[str, int]:
    table = conform(table, FAILED_SCHEMA)
    return write_parquet(table, posixpath.join(root, f"{part}.parquet")), table.num_rows
