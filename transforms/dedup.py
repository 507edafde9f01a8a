"""Dedup on interaction_id: re-sent events and superseded versions of the same record.

Only the keys travel for dedup: (interaction_id, record_version, source_file, source_line, source_item),
spread over buckets by a hash of interaction_id so that every copy of an id meets in one bucket. Within
an id the highest record_version wins (a ticket's latest update), then the earliest place in the input;
the others are "losers", named by file, line and item on the line, counted as duplicates of their file
and dropped from the records wherever those are.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

KEY_COLUMNS = ["interaction_id", "record_version", "source_file", "source_line", "source_item"]
LOSER_SCHEMA = pa.schema([("source_file", pa.string()), ("source_line", pa.int64()), ("source_item", pa.int64())])


def assign(con: duckdb.DuckDBPyConnection, table: pa.Table, id_buckets: int, date_groups: int) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Per row: the dedup bucket (hash of interaction_id), the write group (hash of the UTC day) and the
    identifier bucket (hash of source_customer_ref, into `id_buckets`; see hash_buckets)."""
    con.register("records", table.select(["interaction_id", "occurred_at", "source_customer_ref"]))
    try:
        labels = con.sql(f"""
            select (hash(interaction_id) % {int(id_buckets)})::integer as bucket,
                   (hash(strftime(occurred_at, '%Y-%m-%d')) % {int(date_groups)})::integer as date_group,
                   (hash(source_customer_ref) % {int(id_buckets)})::integer as ref_bucket
            from records""").to_arrow_table()
    finally:
        con.unregister("records")
    return labels["bucket"].combine_chunks(), labels["date_group"].combine_chunks(), labels["ref_bucket"].combine_chunks()


def hash_buckets(con: duckdb.DuckDBPyConnection, values: pa.Array | pa.ChunkedArray, buckets: int) -> pa.Array:
    """hash(value) % buckets, the same function `assign` uses, for values labelled elsewhere (published
    keys, resolved identifiers) so that they meet the run's own in the same bucket."""
    con.register("hashed", pa.table({"value": values}))
    try:
        labels = con.sql(f"select (hash(value) % {int(buckets)})::integer as bucket from hashed").to_arrow_table()
    finally:
        con.unregister("hashed")
    return labels["bucket"].combine_chunks()


def split(table: pa.Table, labels: pa.Array):
    """Yield (label, rows of `table` with that label) for each label present."""
    for label in sorted(pc.unique(labels).to_pylist()):
        yield label, table.filter(pc.equal(labels, label))


def rank_copies(con: duckdb.DuckDBPyConnection, keys: pa.Table) -> pa.Table:
    """Keys of one bucket -> the same keys with `loses`: true for every copy another copy beats.

    Keys of the published lake carry `published = true`: at the same version a published copy wins,
    so a re-sent event is a duplicate of the later file, while a newer version supersedes it."""
    if "published" not in keys.column_names:
        keys = keys.append_column("published", pa.array([False] * keys.num_rows, pa.bool_()))
    con.register("record_keys", keys)
    try:
        return con.sql("""
            select *, row_number() over (
                partition by interaction_id
                order by record_version desc nulls last, published desc, source_file, source_line, source_item) > 1 as loses
            from record_keys
        """).to_arrow_table()
    finally:
        con.unregister("record_keys")


def find_duplicates(con: duckdb.DuckDBPyConnection, keys: pa.Table) -> pa.Table:
    """Keys of one bucket -> the place (file, line, item) of every record that loses to another copy."""
    ranked = rank_copies(con, keys)
    return ranked.filter(ranked["loses"]).select(LOSER_SCHEMA.names).cast(LOSER_SCHEMA)


def duplicates_per_file(losers: pa.Table) -> list[tuple[str, int]]:
    if losers.num_rows == 0:
        return []
    grouped = losers.group_by("source_file").aggregate([("source_line", "count")])
    return sorted(zip(grouped["source_file"].to_pylist(), grouped["source_line_count"].to_pylist()))


def drop_losers(table: pa.Table, losers: pa.Table) -> pa.Table:
    """Remove the losing copies from a table of records, keeping the order of the rest."""
    if losers.num_rows == 0 or table.num_rows == 0:
        return table
    return table.filter(pc.invert(pc.is_in(_row_keys(table), value_set=_row_keys(losers).combine_chunks())))


def _row_keys(table: pa.Table) -> pa.ChunkedArray:
    item = table["source_item"] if "source_item" in table.column_names else pa.chunked_array([pa.array([0] * table.num_rows, pa.int64())])
    return pc.binary_join_element_wise(table["source_file"], pc.cast(table["source_line"], pa.string()),
                                       pc.cast(pc.fill_null(item, 0), pa.string()), "\x1f")
