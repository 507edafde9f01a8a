"""The lake on an object store: the job's staging, its carry-forward of the published lake, the
registry and the publish all go through Beam's FileSystems, so a lake on memstore:// (flat keys, no
folders, no links, no rename) gives what a lake on a local disk gives."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.ingest import run
from pipelines.publish import current_run, current_run_id, publish
from tests.conftest import write
from tests.objectstore import OBJECTS, MemoryObjectStore  # noqa: F401  (registers memstore://)
from tests.pipelines.test_incremental import event, tickets


def rows(files: list[str], read) -> list[tuple]:
    """(interaction_id, customer_id) of a run's interaction files, each read with `read(path) -> table`."""
    table = pa.concat_tables(read(p) for p in files)
    return sorted(zip(table["interaction_id"].to_pylist(), table["customer_id"].to_pylist()))


@pytest.mark.slow
def test_a_lake_on_an_object_store_runs_incrementally_and_publishes_by_pointer(tmp_path):
    raw = tmp_path / "raw"
    write(raw, "web", "a.jsonl", event("m1", 1) + event("m2", 2) + event("m1", 1))
    write(raw, "email", "tickets-1.json", tickets("open", "2026-02-03T08:00:00Z"))
    lakes = {"local": str(tmp_path / "lake"), "store": "memstore://bucket/lake"}
    results = {}
    for name, lake in lakes.items():
        first = run(["--input", str(raw), "--output", lake, "--run_id", "r1", "--no_gate"])
        publish(lake, "r1")
        results[name, "first"] = first
    # a login ties the anonymous visitor to an account: the second run re-stitches the carried rows
    write(raw, "web", "b.jsonl", event("m3", 3, user="C1", kind="identify"))
    for name, lake in lakes.items():
        assert current_run_id(lake) == "r1"
        second = run(["--input", str(raw), "--output", lake, "--run_id", "r2", "--no_gate"])
        publish(lake, "r2", keep_runs=1)
        results[name, "second"] = second
        assert second.manifest["incremental"]["files_read"] == 1 and second.manifest["incremental"]["previous_run"] == "r1"
        assert second.manifest["incremental"]["rows_restitched"] == 2
    assert current_run("memstore://bucket/lake") == "memstore://bucket/lake/runs/r2"
    assert not [key for key in OBJECTS if "/runs/r1/" in key or "/_stage/" in key]  # pruned, and no staging left
    assert {"local", "store"} == {name for name, _ in results}
    for step in ("first", "second"):
        assert results["store", step].manifest["totals"] == results["local", step].manifest["totals"]
    stored = sorted(k for k in OBJECTS if k.startswith("memstore://bucket/lake/runs/r2/interactions/"))
    local = sorted(str(p) for p in (tmp_path / "lake" / "runs" / "r2" / "interactions").rglob("*.parquet"))
    got = rows(stored, lambda key: pq.read_table(pa.BufferReader(OBJECTS[key][0]), columns=["interaction_id", "customer_id"]))
    assert got == rows(local, lambda path: pq.read_table(path, columns=["interaction_id", "customer_id"]))
    assert {customer for interaction, customer in got if interaction.startswith("web:")} == {"C1"} and len(got) == 4
