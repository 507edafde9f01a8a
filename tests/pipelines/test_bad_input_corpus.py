"""The bad-input corpus through the whole Beam job: every file reconciles, every failure is typed and located."""

from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pipelines.ingest import run
from tests.corpus import CASES, write_corpus


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    raw = root / "raw"
    write_corpus(raw)
    result = run(["--input", str(raw), "--output", str(root / "lake"), "--chunk_mb", "0.05", "--no_gate"])
    failed = ds.dataset(Path(result.run_dir) / "failed", format="parquet").to_table()
    return raw, result, failed


def test_corpus_has_at_least_twenty_kinds():
    assert len({case.kind for case in CASES}) >= 20


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_every_corpus_file_ends_as_counted_good_or_failed_records(corpus_run, case):
    raw, result, failed = corpus_run
    path = str(raw / case.folder / case.name)
    counted = {f["file"]: f for f in result.manifest["files"]}[path]
    assert counted["read"] == counted["good"] + counted["failed"]
    assert counted["good"] == case.good
    assert counted["failed"] == len(case.failures)
    assert counted["duplicates"] == case.duplicates
    rows = failed.filter(ds.field("source_file") == path).to_pylist() if failed.num_rows else []
    assert sorted((r["source_line"], r["error_type"]) for r in rows) == sorted(case.failures)
    for row in rows:
        assert row["error_message"], row
        assert row["error_type"] != "internal_error"


def test_corpus_run_reconciles_and_writes_every_good_record(corpus_run):
    _, result, failed = corpus_run
    totals = result.manifest["totals"]
    assert result.manifest["reconciled"] is True
    assert failed.num_rows == totals["failed"] == sum(len(c.failures) for c in CASES)
    good = ds.dataset(Path(result.run_dir) / "interactions", format="parquet", partitioning="hive").count_rows()
    assert good == totals["written"] == sum(c.good - c.duplicates for c in CASES)
