"""Dedup on interaction_id: re-sent events and superseded versions of the same record.

Records are spread over buckets by a hash of interaction_id so each bucket is deduplicated on its
own, in parallel, with bounded memory per bucket. Within an id, the highest record_version wins (a
ticket's latest update), then the earliest (source_file, source_line); the others count as
duplicates of the file they came from.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc


def bucket_tables(con: duckdb.DuckDBPyConnection, table: pa.Table, buckets: int):
    """Yield (bucket, sub-table) for each non-empty bucket of `table`."""
    con.register("records", table)
    try:
        ids = con.sql(f"select (hash(interaction_id) % {buckets})::integer as b from records").to_arrow_table()["b"]
    finally:
        con.unregister("records")
    for bucket in pc.unique(ids).to_pylist():
        yield bucket, table.filter(pc.equal(ids, bucket))


def dedup(con: duckdb.DuckDBPyConnection, table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Return (kept records, duplicates per source file as (source_file, duplicates))."""
    keys = table.select(["interaction_id", "record_version", "source_file", "source_line"]).append_column(
        "row", pa.array(range(table.num_rows), pa.int64()))
    con.register("records", keys)
    try:
        ranked = con.sql("""
            select row, row_number() over (
                partition by interaction_id
                order by record_version desc nulls last, source_file, source_line) = 1 as keep
            from records
            order by row
        """).to_arrow_table()["keep"]
    finally:
        con.unregister("records")
    kept = table.filter(ranked)
    dropped = table.filter(pc.invert(ranked))
    per_file = dropped.group_by("source_file").aggregate([("source_line", "count")]).rename_columns(["source_file", "duplicates"]) \
        if dropped.num_rows else pa.table({"source_file": pa.array([], pa.string()), "duplicates": pa.array([], pa.int64())})
    return kept, per_file
