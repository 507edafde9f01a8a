"""Real exports as delivered, through the whole ingest job.

Every file under tests/fixtures/vendors/ is written from its vendor's public documentation (field names,
nesting, enums and time formats as documented; pretty-printed, enveloped, batched, concatenated as the
tool writes it). The job runs once over all of them; each file's counts and the key fields of its good
records must be exactly as tests/fixtures/expected/<vendor>.yml says.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import yaml

from pipelines.ingest import IngestError, run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPECTED = {path.stem: yaml.safe_load(path.read_text()) for path in sorted((FIXTURES / "expected").glob("*.yml"))}
FILES = [(vendor, name, counts) for vendor, spec in EXPECTED.items() for name, counts in spec["files"].items()]
RECORDS = [(vendor, rid, fields) for vendor, spec in EXPECTED.items() for rid, fields in (spec.get("records") or {}).items()]


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    root = tmp_path_factory.mktemp("vendors")
    shutil.copytree(FIXTURES / "vendors", root / "input")
    (root / "input" / "README.txt").write_text("notes an operator left at the root\n")
    result = run(["--input", str(root / "input"), "--output", str(root / "lake"), "--run_id", "vendors", "--no_gate"])
    files = {Path(f["file"]).relative_to(root / "input").as_posix(): f for f in result.manifest["files"]}
    good = ds.dataset(Path(result.run_dir) / "interactions", format="parquet", partitioning="hive").to_table()
    failed = ds.dataset(Path(result.run_dir) / "failed", format="parquet").to_table()
    assert result.manifest["skipped_paths"] == [{"path": str(root / "input" / "README.txt"),
                                                 "reason": "file at the input root, outside any touchpoint folder"}]
    return root / "input", files, {r["interaction_id"]: r for r in good.to_pylist()}, failed.to_pylist()


def test_every_fixture_has_expectations(job):
    _, files, _, _ = job
    assert sorted(files) == sorted(name for _, name, _ in FILES)


@pytest.mark.parametrize("vendor, name, expected", FILES, ids=[f"{v}:{n}" for v, n, _ in FILES])
def test_file_counts(job, vendor, name, expected):
    root, files, _, failed = job
    counted = files[name]
    assert {k: counted[k] for k in ("read", "good", "failed", "duplicates")} == \
        {k: expected.get(k, 0) for k in ("read", "good", "failed", "duplicates")}
    kinds: dict[str, int] = {}
    for row in failed:
        if row["source_file"] == str(root / name):
            kinds[row["error_type"]] = kinds.get(row["error_type"], 0) + 1
    assert kinds == (expected.get("failed_types") or {})


def _as_expected(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@pytest.mark.parametrize("vendor, interaction_id, fields", RECORDS, ids=[f"{v}:{i}" for v, i, _ in RECORDS])
def test_record_fields(job, vendor, interaction_id, fields):
    _, _, good, _ = job
    assert interaction_id in good, f"{interaction_id} is not a good record"
    row = good[interaction_id]
    for name, wanted in fields.items():
        got = _as_expected(row[name])
        if isinstance(wanted, str) and wanted.endswith("*"):
            assert isinstance(got, str) and got.startswith(wanted[:-1]), (name, got)
        elif wanted is not None and (isinstance(wanted, float) or name == "amount"):
            assert got is not None and Decimal(str(wanted)) == Decimal(str(got)), (name, got)
        else:
            assert got == wanted, (name, got)


def test_a_run_with_no_good_record_ends_with_one_line(tmp_path):
    (tmp_path / "input" / "email").mkdir(parents=True)
    (tmp_path / "input" / "email" / "metric-events.jsonl").write_text(
        '{"type": "RECORD", "record": {"stream": "ticket_metric_events", "data": {"id": 1}, "emitted_at": 1767225600000}}\n')
    with pytest.raises(IngestError) as raised:
        run(["--input", str(tmp_path / "input"), "--output", str(tmp_path / "lake")])
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("no good records: all 1 records of 1 files failed (unsupported_record 1); nothing was published")
    assert not (tmp_path / "lake" / "current").exists()
