"""The warehouse built once per test session from a small generated dataset, for the tests that read it."""

import pytest

from pipelines.actions import load_actions
from pipelines.generate import generate
from pipelines.ingest import run
from pipelines.warehouse import build_warehouse

CUSTOMERS = 600


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """generate -> ingest twice (a first run, then a full one) -> gate -> publish -> dbt build, in one folder laid
    out as `cx run` lays out a warehouse (lake/, cx.duckdb, exports/)."""
    root = tmp_path_factory.mktemp("e2e")
    raw = root / "raw"
    truth = generate(raw, CUSTOMERS, seed=11, records_per_file=4000)
    lake = root / "lake"
    args = ["--input", str(raw), "--output", str(lake), "--chunk_mb", "0.25", "--buckets", "3"]
    first = run(args + ["--run_id", "first"])
    second = run(args + ["--run_id", "second", "--full"])
    built = build_warehouse(lake / "current", root / "cx.duckdb", root / "exports", actions=load_actions(raw / "_actions.csv"))
    return {"root": root, "raw": raw, "truth": truth, "lake": lake, "first": first, "second": second, "built": built}
