"""Build the DuckDB warehouse with dbt, in a subprocess, and publish it atomically.

dbt builds into a copy of the live DuckDB file (incremental marts refresh only the customers the new
runs touched) and a fresh exports folder next to the live ones; only when every model and test passes
are they moved into place. A failed build leaves the previous warehouse as it was. While dbt runs, only
the copy is locked, so analysts can keep reading the published one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from pipelines.actions import SCHEMA, write_checked_actions

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt"
# The warehouse remembers which models built it: a change to them rebuilds every model from scratch
# (an incremental mart would otherwise keep its old columns and definitions for the customers not refreshed).
BUILD_INFO_TABLE = "_cx_build"


class WarehouseError(Exception):
    """dbt failed; the message lists what failed."""


@dataclass
class BuildResult:
    duckdb_path: Path
    exports_dir: Path
    seconds: float
    log: str
    refreshed_runs: list[str] | None = None  # runs an incremental build took in; None: a full refresh


# Where readers look for the models: the marts first, then the layers under them.
SEARCH_PATH = "marts,staging,intermediate,main"


def open_warehouse(duckdb_path: Path, read_only: bool = True):
    """A DuckDB connection to the warehouse that finds the marts by name (`root_causes`, not
    `marts.root_causes`) and, like dbt, resolves the views' relative lake paths from the file's folder."""
    import duckdb

    from transforms.sources.base import quote_text

    con = duckdb.connect(str(duckdb_path), read_only=read_only)
    con.execute("set search_path = " + quote_text(SEARCH_PATH))
    con.execute("set file_search_path = " + quote_text(str(Path(duckdb_path).resolve().parent)))
    return con


def lake_location(lake_current: Path, warehouse_dir: Path) -> str:
    """The lake as the staging views name it: relative to the warehouse folder when inside it (so the
    folder can be moved or copied whole), else absolute."""
    lake, folder = Path(lake_current).resolve(), Path(warehouse_dir).resolve()
    return os.path.relpath(lake, folder) if lake.is_relative_to(folder) else str(lake)


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def dbt_work(duckdb_path: Path) -> Path:
    """dbt's target and logs for this warehouse, next to its DuckDB file: builds of two warehouses never
    share them, and dbt's partial parsing carries over between builds of the same one."""
    return Path(duckdb_path).parent / "dbt"


def _failures(log: str) -> str:
    lines = [line.strip() for line in log.splitlines()
             if any(mark in line for mark in ("ERROR", "FAIL", "Failure in", "Error in", "Runtime Error", "Compilation Error"))
             and "PASS=" not in line]
    return "; ".join(lines[:8]) or log.strip().splitlines()[-1] if log.strip() else "dbt exited with an error"


def unseen_runs(duckdb_path: Path, lake_current: Path) -> list[str] | None:
    """Run ids in the lake that the warehouse's interactions mart does not hold; None when the warehouse
    cannot be built incrementally (no file, no mart yet)."""
    import duckdb

    if not duckdb_path.exists():
        return None
    try:
        with open_warehouse(duckdb_path) as con:
            seen = {row[0] for row in con.execute("select distinct run_id from interactions").fetchall()}
    except duckdb.Error:
        return None
    with duckdb.connect() as con:
        lake = {row[0] for row in con.execute(
            "select distinct run_id from read_parquet(?, hive_partitioning = false)",
            [f"{lake_current}/interactions/**/*.parquet"]).fetchall()}
    return sorted(lake - seen)


def models_fingerprint() -> str:
    """SHA-256 over the dbt project's models, macros and dbt_project.yml, path and content."""
    digest = hashlib.sha256()
    files = [DBT_PROJECT / "dbt_project.yml", *sorted(p for folder in ("models", "macros")
                                                      for p in (DBT_PROJECT / folder).rglob("*") if p.is_file())]
    for path in files:
        digest.update(path.relative_to(DBT_PROJECT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _built_with(duckdb_path: Path, query: str) -> pa.Table | None:
    """What the live warehouse answers to `query` about how it was built; None without a warehouse or an answer."""
    import duckdb

    if not duckdb_path.exists():
        return None
    try:
        with open_warehouse(duckdb_path) as con:
            return con.sql(query).to_arrow_table()
    except duckdb.Error:
        return None


def models_changed(duckdb_path: Path) -> bool:
    """Whether the warehouse was built by other dbt models than the ones here (or cannot tell)."""
    built = _built_with(duckdb_path, f"select models_fingerprint from {BUILD_INFO_TABLE}")
    return built is None or built["models_fingerprint"].to_pylist() != [models_fingerprint()]


def _remember_models(duckdb_path: Path) -> None:
    import duckdb

    with duckdb.connect(str(duckdb_path)) as con:
        con.execute(f"create or replace table {BUILD_INFO_TABLE} as select ? as models_fingerprint", [models_fingerprint()])


def actions_changed(duckdb_path: Path, actions: pa.Table) -> bool:
    """Whether the checked actions differ from those the warehouse was built with (stg_cx__actions)."""
    built = _built_with(duckdb_path, f"select {', '.join(SCHEMA.names)} from stg_cx__actions order by action_id")
    return built is None or not built.cast(SCHEMA).equals(actions.sort_by("action_id"))


def build_warehouse(lake_current: Path, duckdb_path: Path, exports_dir: Path, command: str = "build",
                    full_refresh: bool = False, actions: pa.Table | None = None) -> BuildResult:
    """Run `dbt <command>` over the published lake; swap the new DuckDB file and exports into place.

    Incremental by default: the live file is copied and built on; `full_refresh` (or no live file)
    builds every model from scratch. `actions` are the checked closed-loop actions (pipelines.actions);
    None is no actions."""
    # absolute, not resolved: `exports_dir` is a link to the live version and must stay the link
    duckdb_path, exports_dir = Path(duckdb_path).resolve(), Path(os.path.abspath(exports_dir))
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    building_db = duckdb_path.with_name(duckdb_path.name + ".building")
    building_exports = exports_dir.with_name(exports_dir.name + ".building")
    for leftover in (building_db, building_db.with_name(building_db.name + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(building_exports, ignore_errors=True)
    building_exports.mkdir(parents=True)
    actions_csv = write_checked_actions(SCHEMA.empty_table() if actions is None else actions,
                                        duckdb_path.with_name(duckdb_path.name + ".actions.csv"))
    refresh_runs = None if full_refresh or models_changed(duckdb_path) else unseen_runs(duckdb_path, Path(lake_current).resolve())
    if refresh_runs is None:
        flags = ["--full-refresh"]
    else:
        shutil.copyfile(duckdb_path, building_db)
        flags = ["--vars", json.dumps({"refresh_runs": refresh_runs})]
    # Unit tests check the models' logic on fixed rows, not the data: the test suite runs them, builds skip them.
    flags += ["--exclude-resource-type", "unit_test"]
    env = dict(os.environ,
               CX_LAKE_PATH=lake_location(lake_current, duckdb_path.parent),
               CX_WAREHOUSE_DIR=str(duckdb_path.parent),
               CX_DUCKDB_PATH=str(building_db),
               CX_EXPORTS_DIR=str(building_exports),
               CX_ACTIONS_PATH=str(actions_csv),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               DBT_LOG_PATH=str(dbt_work(duckdb_path) / "logs"),
               DBT_TARGET_PATH=str(dbt_work(duckdb_path) / "target"))
    started = time.perf_counter()
    proc = run_child(
        [dbt_executable(), command, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT), "--no-use-colors", *flags],
        env)
    seconds = time.perf_counter() - started
    actions_csv.unlink(missing_ok=True)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        building_db.unlink(missing_ok=True)
        shutil.rmtree(building_exports, ignore_errors=True)
        raise WarehouseError(f"dbt {command} failed; the published warehouse is unchanged: {_failures(log)} "
                             f"(details: {dbt_work(duckdb_path) / 'logs' / 'dbt.log'})")
    _remember_models(building_db)
    os.replace(building_db, duckdb_path)
    swap_exports(building_exports, exports_dir)
    return BuildResult(duckdb_path, exports_dir, seconds, log, refresh_runs)


def _end_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the parent dies (even by SIGKILL), so a
    killed run leaves no dbt writing on. Elsewhere a no-op."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def run_child(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a child process to its end, capturing its output; it ends with us (Ctrl-C, kill)."""
    return subprocess.run(args, env=env, capture_output=True, text=True, preexec_fn=_end_with_parent)


def generate_docs(lake_current: Path, duckdb_path: Path, docs_dir: Path) -> Path:
    """`dbt docs generate --static` against a copy of the warehouse (the live file stays readable): the
    models, columns, tests, lineage and exposures, with the warehouse's column types, as one HTML file
    (docs_dir/index.html, opens from disk, no server or network) next to manifest.json and catalog.json."""
    duckdb_path, docs_dir = Path(duckdb_path).resolve(), Path(os.path.abspath(docs_dir))
    copy = duckdb_path.with_name(duckdb_path.name + ".docs")
    target = docs_dir.with_name(docs_dir.name + ".building")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copyfile(duckdb_path, copy)
    env = dict(os.environ, CX_LAKE_PATH=lake_location(lake_current, duckdb_path.parent), CX_WAREHOUSE_DIR=str(duckdb_path.parent),
               CX_DUCKDB_PATH=str(copy),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false", DBT_LOG_PATH=str(dbt_work(duckdb_path) / "logs"))
    try:
        proc = run_child(
            [dbt_executable(), "docs", "generate", "--static", "--project-dir", str(DBT_PROJECT), "--profiles-dir",
             str(DBT_PROJECT), "--target-path", str(target), "--no-use-colors"],
            env)
    finally:
        copy.unlink(missing_ok=True)
        copy.with_name(copy.name + ".wal").unlink(missing_ok=True)
    if proc.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise WarehouseError(f"dbt docs generate failed: {_failures(proc.stdout + proc.stderr)}")
    shutil.rmtree(docs_dir, ignore_errors=True)
    docs_dir.mkdir(parents=True)
    shutil.copyfile(target / "static_index.html", docs_dir / "index.html")
    for name in ("manifest.json", "catalog.json"):
        shutil.copyfile(target / name, docs_dir / name)
    shutil.rmtree(target, ignore_errors=True)
    return docs_dir / "index.html"


def swap_exports(built: Path, exports_dir: Path) -> None:
    """Make `built` the exports BI tools read: `exports_dir` is a link to a versioned folder, replaced
    by a rename (atomic), so a reader or a crash never sees it missing or half written."""
    version = exports_dir.with_name(f"{exports_dir.name}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    os.replace(built, version)
    if exports_dir.is_dir() and not exports_dir.is_symlink():  # a plain folder from an older layout
        shutil.rmtree(exports_dir)
    link = exports_dir.with_name(f".{exports_dir.name}-link-{os.getpid()}")
    link.unlink(missing_ok=True)
    link.symlink_to(version.name, target_is_directory=True)
    os.replace(link, exports_dir)
    for old in exports_dir.parent.glob(f"{exports_dir.name}-*"):
        if old == version:
            continue
        if old.is_symlink():  # left by builds that resolved the link (before this was fixed)
            old.unlink()
        elif old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
