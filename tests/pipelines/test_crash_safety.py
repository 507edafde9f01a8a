"""Kill `cx run` at each stage: what was published (lake, DuckDB file, exports) stays byte for byte,
and the next run completes and publishes."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pipelines.generate import generate
from pipelines.warehouse import open_warehouse

REPO = Path(__file__).resolve().parents[2]
LATER = {"email", "chat"}  # touchpoints that arrive after the first publish


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published(warehouse: Path) -> dict[str, str]:
    """sha256 of everything readers see: the lake's current run, the DuckDB file and the exports."""
    current = (warehouse / "lake" / "current").resolve()
    exports = (warehouse / "exports").resolve()
    seen = {"current": current.name, "exports": exports.name, "cx.duckdb": sha256(warehouse / "cx.duckdb")}
    for root, label in ((current, "lake"), (exports, "exports")):
        for path in sorted(root.rglob("*")):
            if path.is_file():
                seen[f"{label}/{path.relative_to(root)}"] = sha256(path)
    return seen


def cx_run(raw: Path, warehouse: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--input", str(raw), "--warehouse", str(warehouse),
                             "--chunk-mb", "0.05"], cwd=REPO, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=open(warehouse.parent / "cx-run.err", "a"))


def unpublished_runs(warehouse: Path) -> list[Path]:
    current = (warehouse / "lake" / "current").resolve()
    return [p for p in (warehouse / "lake" / "runs").iterdir() if p.resolve() != current]


def holds(folder: Path, pattern: str) -> bool:
    """Whether a folder another process is writing (and may remove) holds a file matching pattern."""
    try:
        return any(folder.rglob(pattern))
    except OSError:
        return False


# Each stage is recognised by what it leaves on disk, never by time; a marker seen late still falls
# before publishing, which comes after the multi-second quality gate.
STAGES = {
    # chunks parsed and staged as Arrow files (the published keys copied before them are Parquet)
    "parsing and staging": lambda wh: any(holds(run / "_stage", "*.arrow") for run in unpublished_runs(wh)),
    "writing Parquet": lambda wh: any(holds(run / "interactions", "*.parquet") for run in unpublished_runs(wh)),
    "quality gate": lambda wh: any((run / "files.json").exists() for run in unpublished_runs(wh)),
    "dbt build": lambda wh: (wh / "cx.duckdb.building").exists(),
}


# Slow proofs (about a minute): `make test-slow`, which CI runs after `make test`.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    everything, raw, warehouse = root / "all", root / "raw", root / "warehouse"
    generate(everything, 300, seed=3, records_per_file=2000)
    for path in everything.rglob("*.*"):
        if path.name != "_truth.json" and path.parent.name not in LATER:
            (raw / path.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, raw / path.parent.name / path.name)
    assert cx_run(raw, warehouse).wait(timeout=600) == 0
    shutil.copytree(everything, raw, dirs_exist_ok=True)
    return raw, warehouse


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_run_killed_mid_stage_leaves_what_was_published_intact(setup, stage):
    raw, warehouse = setup
    before = published(warehouse)
    process = cx_run(raw, warehouse)
    deadline = time.monotonic() + 300
    while not STAGES[stage](warehouse):
        assert process.poll() is None, f"the run ended before reaching {stage}"
        assert time.monotonic() < deadline, f"never reached {stage}"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    after = published(warehouse)
    if stage != "dbt build":
        assert after == before
        return
    # The ingest had finished and published its run before dbt started: the lake may be the new,
    # complete run; the warehouse readers see is the one built before, byte for byte.
    assert {k: v for k, v in after.items() if not k.startswith(("lake/", "current"))} == \
        {k: v for k, v in before.items() if not k.startswith(("lake/", "current"))}
    current = (warehouse / "lake" / "current").resolve()
    assert (current / "files.json").exists() and json.loads((current / "manifest.json").read_text())["reconciled"]


def test_the_next_run_after_the_kills_completes_and_publishes(setup):
    raw, warehouse = setup
    assert cx_run(raw, warehouse).wait(timeout=600) == 0, (warehouse.parent / "cx-run.err").read_text()[-2000:]
    current = (warehouse / "lake" / "current").resolve()
    lake = ds.dataset(current / "interactions", format="parquet", partitioning="hive").to_table(columns=["interaction_id", "touchpoint"])
    assert lake.num_rows == len(set(lake["interaction_id"].to_pylist())) > 0
    assert set(lake["touchpoint"].to_pylist()) >= LATER
    con = open_warehouse(warehouse / "cx.duckdb")
    customer_rows = lake.num_rows - lake["touchpoint"].to_pylist().count("internal_survey")  # staff answers are not interactions
    assert con.execute("select count(*) from interactions").fetchone()[0] == customer_rows  # the warehouse caught up
    assert not (warehouse / "cx.duckdb.building").exists()
