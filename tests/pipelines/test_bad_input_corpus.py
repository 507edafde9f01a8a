"""The bad-input corpus through the whole Beam job: every file reconciles, every failure is typed and located."""

from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pipelines.ingest import run
from tests.corpus import CASES, INJECTED_HEADER, PLANTED_PII, SECRET, write_corpus, write_layout
from transforms.redact import lineage_name


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    raw = root / "in" / "raw"
    write_corpus(raw)
    skipped = write_layout(raw, root / "in" / "outside")
    result = run(["--input", str(raw), "--output", str(root / "lake"), "--chunk_mb", "0.05", "--no_gate"])
    failed = ds.dataset(Path(result.run_dir) / "failed", format="parquet").to_table()
    return raw, result, failed, skipped


def test_corpus_has_at_least_twenty_kinds():
    assert len({case.kind for case in CASES}) >= 20


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_every_corpus_file_ends_as_counted_good_or_failed_records(corpus_run, case):
    raw, result, failed, _ = corpus_run
    path = lineage_name(str(raw / case.folder / case.name))
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
    _, result, failed, _ = corpus_run
    totals = result.manifest["totals"]
    assert result.manifest["reconciled"] is True
    assert failed.num_rows == totals["failed"] == sum(len(c.failures) for c in CASES)
    good = ds.dataset(Path(result.run_dir) / "interactions", format="parquet", partitioning="hive").count_rows()
    assert good == totals["written"] == sum(c.good - c.duplicates for c in CASES)


def test_nothing_outside_the_input_is_read_and_every_skipped_path_is_named(corpus_run):
    raw, result, _, skipped = corpus_run
    named = {entry["path"][len(str(raw)) + 1:]: entry["reason"] for entry in result.manifest["skipped_paths"]}
    assert named == skipped
    assert not [f for f in result.manifest["files"] if "secret" in f["file"] or "loose" in f["file"]]


def test_no_planted_personal_value_or_outside_secret_reaches_the_run(corpus_run):
    _, result, _, _ = corpus_run
    for path in Path(result.run_dir).rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for value in (*PLANTED_PII, SECRET):
                assert value.encode() not in content, (value, path)


def test_a_header_is_a_name_never_sql(corpus_run):
    """The header that once ran read_text('/etc/hostname') is kept as an attribute name, its value as written."""
    import json

    _, result, _, _ = corpus_run
    rows = ds.dataset(Path(result.run_dir) / "interactions", format="parquet", partitioning="hive").to_table(
        filter=ds.field("source_file").isin([f["file"] for f in result.manifest["files"] if f["file"].endswith("injected_header.csv")]))
    assert rows.num_rows == 3
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else None
    for attributes in rows["attributes"].to_pylist():
        assert json.loads(attributes)[INJECTED_HEADER.strip('"').replace('""', '"')] == "x"
        assert not hostname or hostname not in attributes
