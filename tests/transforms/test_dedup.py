from datetime import datetime, timezone

import pyarrow as pa

from transforms.dedup import KEY_COLUMNS, assign, drop_losers, duplicates_per_file, find_duplicates, hash_buckets, split
from transforms.schema import UTC_TIMESTAMP
from transforms.sources.base import connect

SAMPLE = pa.table({
    "interaction_id": ["web:1", "web:2", "web:1", "email:9", "email:9", "web:3"],
    "record_version": pa.array([None, None, None, 100, 200, None], pa.int64()),
    "source_file": ["a.jsonl", "a.jsonl", "b.jsonl", "t.json", "t.json", "b.jsonl"],
    "source_line": [1, 2, 7, 1, 2, 8],
    "source_item": [0, 0, 0, 0, 0, 0],
    "occurred_at": pa.array([datetime(2026, 3, d, 12, tzinfo=timezone.utc) for d in (1, 1, 2, 3, 3, 4)], UTC_TIMESTAMP),
    "source_customer_ref": ["anon:a1", "account:C1", "anon:a1", "email:h", None, "account:C1"],
})


def test_losers_are_later_copies_and_older_versions():
    losers = find_duplicates(connect(), SAMPLE.select(KEY_COLUMNS))
    assert sorted(zip(losers["source_file"].to_pylist(), losers["source_line"].to_pylist())) == [("b.jsonl", 7), ("t.json", 1)]
    assert duplicates_per_file(losers) == [("b.jsonl", 1), ("t.json", 1)]
    kept = drop_losers(SAMPLE, losers)
    assert sorted(zip(kept["interaction_id"].to_pylist(), kept["source_line"].to_pylist())) == [
        ("email:9", 2), ("web:1", 1), ("web:2", 2), ("web:3", 8)]


def test_records_on_one_line_lose_one_by_one():
    # Kinesis Firehose writes objects with no newline between them: every record starts on line 1.
    one_line = pa.table({"interaction_id": ["call_center:a", "call_center:b", "call_center:a"],
                         "record_version": pa.array([1, 1, 2], pa.int64()), "source_file": ["ctr"] * 3,
                         "source_line": [1, 1, 1], "source_item": [0, 1, 2]})
    losers = find_duplicates(connect(), one_line)
    assert losers.to_pylist() == [{"source_file": "ctr", "source_line": 1, "source_item": 0}]
    assert drop_losers(one_line, losers)["interaction_id"].to_pylist() == ["call_center:b", "call_center:a"]


def test_every_copy_of_an_id_shares_a_bucket_and_every_day_a_group():
    buckets, groups, ref_buckets = assign(connect(), SAMPLE, 3, 2)
    # published keys and resolved identifiers are labelled apart from the records, by the same hash
    assert hash_buckets(connect(), SAMPLE["interaction_id"], 3).equals(buckets)
    assert hash_buckets(connect(), SAMPLE["source_customer_ref"], 3).equals(ref_buckets)
    assert ref_buckets[1] == ref_buckets[5] and ref_buckets[0] == ref_buckets[2]
    rows = SAMPLE.append_column("b", buckets).append_column("g", groups).to_pylist()
    by_id, by_day = {}, {}
    for r in rows:
        by_id.setdefault(r["interaction_id"], set()).add(r["b"])
        by_day.setdefault(r["occurred_at"].date(), set()).add(r["g"])
    assert all(len(v) == 1 for v in by_id.values()) and all(len(v) == 1 for v in by_day.values())
    assert set(buckets.to_pylist()) <= {0, 1, 2} and set(groups.to_pylist()) <= {0, 1}
    assert assign(connect(), SAMPLE, 3, 2)[0].equals(buckets)  # stable across connections
    parts = dict(split(SAMPLE, buckets))
    assert sum(t.num_rows for t in parts.values()) == SAMPLE.num_rows
