"""The Beam wiring: TestPipeline + assert_that on small inline files."""

from datetime import datetime, timezone

import apache_beam as beam
import pyarrow.dataset as ds
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.conftest import write
from transforms.identity import ResolveIdentities
from transforms.read import ReadTouchpoints, SumCounts, list_input_files
from transforms.steps import DUPLICATES, KEYS, CollectLosers, FindDuplicates, ProcessGroup, StageChunk
from transforms.tagging import load_taxonomy

SAMPLE_WEB = (
    '{"messageId":"m1","type":"page","anonymousId":"a1","timestamp":"2026-02-10T10:00:00Z","properties":{"path":"/pricing"}}\n'
    '{"messageId":"m2","type":"identify","anonymousId":"a1","userId":"C1","timestamp":"2026-02-11T10:00:00Z"}\n'
    '{"messageId":"m1","type":"page","anonymousId":"a1","timestamp":"2026-02-10T10:00:00Z","properties":{"path":"/pricing"}}\n'
    '{"messageId":"m4","type":"page",\n'
)
SAMPLE_CALLS = (
    "ContactId,CustomerAccount,InitiationTimestamp,ReasonCode,DispositionCode,CustomerStatement\n"
    "k1,C1,2026-02-12T09:00:00+01:00,,RESOLVED,I was charged twice\n"
    "k2,C1,2026-02-12T09:00:00+01:00\n"
)


def make_input(tmp_path):
    write(tmp_path, "web", "events.jsonl", SAMPLE_WEB)
    write(tmp_path, "call_center", "contacts.csv", SAMPLE_CALLS)
    write(tmp_path, "fax", "old.txt", "a fax\n")
    write(tmp_path, "", "_truth.json", "{}")
    return str(tmp_path)


def test_list_input_files_skips_bookkeeping_and_loose_files(tmp_path):
    root = make_input(tmp_path)
    assert [(p[len(root) + 1:], size) for p, size in list_input_files(root)] == [
        ("call_center/contacts.csv", len(SAMPLE_CALLS)), ("fax/old.txt", 6), ("web/events.jsonl", len(SAMPLE_WEB))]


def test_read_touchpoints_counts_every_record_of_every_file(tmp_path):
    root = make_input(tmp_path)
    files = [path for path, _ in list_input_files(root)]
    with TestPipeline() as p:
        out = p | beam.Create(files) | ReadTouchpoints(root, chunk_bytes=64)
        counted = out["counts"] | "Sum" >> beam.CombinePerKey(SumCounts())
        assert_that(counted, equal_to([
            (f"{root}/web/events.jsonl", (4, 3, 1, 0)),
            (f"{root}/call_center/contacts.csv", (2, 1, 1, 0)),
            (f"{root}/fax/old.txt", (1, 0, 1, 0)),
        ]), label="CheckCounts")
        failed = out["failed"] | "FailedRows" >> beam.FlatMap(
            lambda t: zip(t["source_file"].to_pylist(), t["source_line"].to_pylist(), t["error_type"].to_pylist()))
        assert_that(failed, equal_to([
            (f"{root}/web/events.jsonl", 4, "malformed_json"),
            (f"{root}/call_center/contacts.csv", 3, "csv_column_count"),
            (f"{root}/fax/old.txt", 1, "unknown_touchpoint"),
        ]), label="CheckFailed")
        links = out["links"] | "Links" >> beam.FlatMap(lambda t: zip(*t.to_pydict().values()))
        assert_that(links, equal_to([("account:C1", "anon:a1")]), label="CheckLinks")


def test_stage_dedup_stitch_tag_and_write(tmp_path):
    root = make_input(tmp_path)
    files = [path for path, _ in list_input_files(root) if "fax" not in path]
    out_dir = str(tmp_path / "out")
    with TestPipeline() as p:
        read = p | beam.Create(files) | ReadTouchpoints(root)
        resolution = read["links"] | "Resolve" >> beam.CombineGlobally(ResolveIdentities())
        staged = read["good"] | beam.ParDo(StageChunk(str(tmp_path / "stage"), 2, 3)).with_outputs(KEYS, main="records")
        found = staged[KEYS] | "GroupKeys" >> beam.GroupByKey() | beam.ParDo(FindDuplicates()).with_outputs(DUPLICATES, main="losers")
        losers = found.losers | "Losers" >> beam.CombineGlobally(CollectLosers())
        written = (
            staged.records
            | "GroupRecords" >> beam.GroupByKey()
            | beam.ParDo(ProcessGroup(load_taxonomy(), out_dir, "run-1", datetime(2026, 3, 1, tzinfo=timezone.utc)),
                         beam.pvalue.AsSingleton(losers), beam.pvalue.AsSingleton(resolution))
        )
        assert_that(found[DUPLICATES], equal_to([(f"{root}/web/events.jsonl", (0, 0, 0, 1))]), label="CheckDuplicates")
        rows = written | beam.Map(lambda w: w[1]) | "Sum" >> beam.CombineGlobally(sum)
        assert_that(rows, equal_to([3]), label="CheckWritten")
        days = written | beam.Map(lambda w: w[0].split("/")[-2])
        assert_that(days, equal_to(["occurred_date=2026-02-10", "occurred_date=2026-02-11", "occurred_date=2026-02-12"]), label="OneFilePerDay")
    table = ds.dataset(out_dir, format="parquet", partitioning="hive").to_table()
    rows = {r["interaction_id"]: r for r in table.to_pylist()}
    assert sorted(rows) == ["call_center:k1", "web:m1", "web:m2"]
    assert {r["customer_id"] for r in rows.values()} == {"C1"}  # the anonymous page view is stitched
    assert rows["call_center:k1"]["reason_code"] == "billing_confusion"
    assert rows["call_center:k1"]["outcome"] == "resolved"
    assert rows["web:m1"]["journey_phase"] == "looking_and_deciding"
    assert rows["web:m1"]["run_id"] == "run-1" and rows["web:m1"]["schema_version"] == "1.0.0"
    assert str(rows["web:m1"]["occurred_date"]) == "2026-02-10"
