import pyarrow as pa

from transforms.dedup import bucket_tables, dedup
from transforms.sources.base import connect

SAMPLE = pa.table({
    "interaction_id": ["web:1", "web:2", "web:1", "email:9", "email:9", "web:3"],
    "record_version": pa.array([None, None, None, 100, 200, None], pa.int64()),
    "source_file": ["a.jsonl", "a.jsonl", "b.jsonl", "t.json", "t.json", "b.jsonl"],
    "source_line": [1, 2, 7, 1, 2, 8],
})


def test_dedup_keeps_the_first_copy_and_the_latest_version():
    kept, per_file = dedup(connect(), SAMPLE)
    assert sorted(zip(kept["interaction_id"].to_pylist(), kept["source_line"].to_pylist())) == [
        ("email:9", 2), ("web:1", 1), ("web:2", 2), ("web:3", 8)]
    assert sorted(zip(*per_file.to_pydict().values())) == [("b.jsonl", 1), ("t.json", 1)]


def test_dedup_keeps_row_order():
    kept, _ = dedup(connect(), SAMPLE)
    assert kept["source_line"].to_pylist() == [1, 2, 2, 8]


def test_buckets_partition_by_id_and_keep_every_row():
    con = connect()
    parts = dict(bucket_tables(con, SAMPLE, 3))
    assert sum(t.num_rows for t in parts.values()) == SAMPLE.num_rows
    for bucket, table in parts.items():
        for other, rest in parts.items():
            if other != bucket:
                assert not set(table["interaction_id"].to_pylist()) & set(rest["interaction_id"].to_pylist())
    again = dict(bucket_tables(con, SAMPLE, 3))
    assert {b: t["interaction_id"].to_pylist() for b, t in again.items()} == \
        {b: t["interaction_id"].to_pylist() for b, t in parts.items()}
