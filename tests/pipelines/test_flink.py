"""The ingest job on Apache Flink gives what it gives on the local runner: the same per-file counts, the
same interaction ids and every good and failed row the same, on a first run and an incremental second.

Needs the Flink job server (`make test-flink` starts it: flink/flink.sh up); runs with `-m flink`."""

import json
import shutil
import socket
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pipelines.generate import generate
from pipelines.ingest import run

pytestmark = pytest.mark.flink

JOB_ENDPOINT = ("localhost", 8099)
WORKER_POOL = ("localhost", 50000)
# Written by the run, not read from the input: they differ between any two runs on any runner.
RUN_COLUMNS = ["ingested_at"]


def flink_args() -> list[str]:
    """The job runs in the worker pool's processes, apart from the driver: what a worker needs must
    travel with the pipeline."""
    for what, (host, port) in (("Flink job server", JOB_ENDPOINT), ("Beam worker pool", WORKER_POOL)):
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError:
            pytest.fail(f"no {what} on {host}:{port}: start it with `flink/flink.sh up` (or run `make test-flink`)")
    return ["--runner", "PortableRunner", "--job_endpoint", f"{JOB_ENDPOINT[0]}:{JOB_ENDPOINT[1]}",
            "--environment_type", "EXTERNAL", "--environment_config", f"{WORKER_POOL[0]}:{WORKER_POOL[1]}"]


def published(lake: Path, raw: Path) -> dict:
    """The published run's manifest per file, and its good and failed rows (run-specific columns dropped,
    source files relative to the input folder: each runner reads its own copy of the input)."""
    run_dir = (lake / "current").resolve()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    files = {Path(f["file"]).relative_to(raw).as_posix(): {k: f[k] for k in ("read", "good", "failed", "duplicates", "sha256")}
             for f in manifest["files"]}

    def rows(table):
        table = table.drop_columns([c for c in RUN_COLUMNS if c in table.column_names])
        found = []
        for row in table.to_pylist():
            row["source_file"] = Path(row["source_file"]).relative_to(raw).as_posix()
            found.append(json.dumps(row, default=str, sort_keys=True))
        return sorted(found)

    good = ds.dataset(run_dir / "interactions", format="parquet", partitioning="hive").to_table()
    failed = ds.dataset(run_dir / "failed", format="parquet").to_table()
    return {"files": files, "totals": manifest["totals"], "ids": sorted(good["interaction_id"].to_pylist()),
            "good": rows(good), "failed": rows(failed)}


def test_flink_gives_what_the_direct_runner_gives(tmp_path):
    runner = flink_args()
    sample = tmp_path / "sample"
    generate(sample, 300, seed=3, records_per_file=2000)
    later = tmp_path / "later"
    generate(later, 120, seed=4, records_per_file=2000)
    results = {}
    for name, extra in (("local", []), ("flink", runner)):
        raw, lake = tmp_path / f"raw-{name}", tmp_path / f"lake-{name}"
        shutil.copytree(sample, raw)
        first = run(["--input", str(raw), "--output", str(lake), "--run_id", "first", "--chunk_mb", "0.25", "--buckets", "3", *extra])
        results[name, "first"] = published(lake, raw)
        assert first.manifest["reconciled"] is True
        # new files arrive: the second run reads only them and carries the first run's records forward
        for source, target in (("web/events-0001.jsonl", "web/events-9001.jsonl"), ("call_center/contacts-0001.csv",
                                                                                     "call_center/contacts-9001.csv")):
            shutil.copyfile(later / source, raw / target)
        second = run(["--input", str(raw), "--output", str(lake), "--run_id", "second", "--chunk_mb", "0.25", "--buckets", "3", *extra])
        assert second.manifest["incremental"]
        results[name, "second"] = published(lake, raw)
    for step in ("first", "second"):
        local, flink = results["local", step], results["flink", step]
        assert flink["files"] == local["files"], step
        assert flink["totals"] == local["totals"], step
        assert flink["ids"] == local["ids"] and len(local["ids"]) > 1000, step
        assert flink["good"] == local["good"], step
        assert flink["failed"] == local["failed"] and len(local["failed"]) > 10, step
    assert len(results["local", "second"]["ids"]) > len(results["local", "first"]["ids"])
