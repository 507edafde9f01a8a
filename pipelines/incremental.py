"""Incremental, idempotent runs: read only what is new, carry the published lake forward.

Every run folder holds, besides its Parquet:
    files.json          the registry: every raw file in the lake (path, size, modified, sha256, counts, the run that read it)
    keys/bucket=N.parquet   dedup keys of every record in the lake (interaction_id, record_version, file, line)
    links/bucket=N.parquet  every identity link in the lake, with the file it came from

A run lists the input (path, size, time last written, all from the file system's listing: no byte is
read on the driver) and parses only files the registry does not hold as they are now; a file written
again with the same size is hashed on the workers first and read only if its bytes changed. The
workers hash every byte they read; the registry keeps that sha256 with the listing. Files that changed, or
that --reprocess names (by glob or by the days their records fall on), are read again and everything they gave before is removed. The published keys join the
dedup buckets, so an event re-sent in a later file is a duplicate of that file, and a newer version of
a published record supersedes it. Identity links of the whole lake are resolved again; carried rows
whose customer changed are re-stitched. Published Parquet files nothing touched are hard-linked into
the new run; touched files are rewritten. New records land as new part files in their day's partition,
so late events join the days they belong to.
"""

from __future__ import annotations

import fnmatch
import json
import os
import posixpath
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.io.filesystems import FileSystems

from pipelines.publish import is_local
from transforms.dedup import drop_losers
from transforms.identity import IdentityConfig, stitch
from transforms.redact import lineage_name
from transforms.schema import INTERACTION_SCHEMA, conform
from transforms.write import read_parquet, write_parquet

REGISTRY = "files.json"


def load_registry(run_dir: str | None) -> dict[str, dict]:
    if not run_dir or not FileSystems.exists(posixpath.join(run_dir, REGISTRY)):
        return {}
    with FileSystems.open(posixpath.join(run_dir, REGISTRY)) as handle:
        return json.loads(handle.read())["files"]


@dataclass
class Plan:
    """What a run reads and what it drops from the published lake."""

    read: list[str]                                   # files to parse in this run
    fingerprints: dict[str, tuple[int, float]]        # (size, modified) of every input file, as listed
    removed: set[str] = field(default_factory=set)    # published files whose records go (changed, reprocessed, gone)
    unchanged: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # path -> lineage name
    # read unless their bytes are the registry's: the same size, written again (a copy, a sync)
    touched: list[str] = field(default_factory=list)
    refreshed: dict[str, float] = field(default_factory=dict)  # lineage name -> time written, for the registry

    @property
    def read_names(self) -> set[str]:
        return {self.names.get(path, path) for path in self.read}

    @property
    def nothing_new(self) -> bool:
        return not self.read and not self.removed


def plan_run(files: list[tuple[str, int]], modified: dict[str, float], registry: dict[str, dict], input_root: str,
             reprocess: tuple[str, ...] = (), reprocess_files: set[str] = frozenset(), full: bool = False,
             salt: str | None = None) -> Plan:
    """Decide which files to read: new or changed ones (a size or a time last written the registry does
    not hold), those matching a --reprocess glob (relative to the input root, or absolute) or whose
    lineage name is in `reprocess_files`, or every file with `full`.

    The registry, `removed` and `fingerprints` speak of files by their lineage name; `read` by path."""
    names = {path: lineage_name(path, salt) for path, _ in files}
    prints = {names[path]: (size, modified.get(path)) for path, size in files}
    files = [path for path, _ in files]
    if full or not registry:
        return Plan(list(files), prints, set(registry), names=names)
    root = input_root.rstrip("/") + "/"

    def forced(path: str) -> bool:
        relative = path[len(root):] if path.startswith(root) else path
        return names[path] in reprocess_files or any(fnmatch.fnmatch(relative, g) or fnmatch.fnmatch(path, g) for g in reprocess)

    plan = Plan([], prints, names=names)
    for path in files:
        known = registry.get(names[path])
        same = known is not None and (known["size"], known.get("modified")) == prints[names[path]] and known["sha256"]
        if same and not forced(path):
            plan.unchanged.append(path)
            continue
        plan.read.append(path)
        if known is not None:
            plan.removed.add(names[path])
            if not forced(path) and known["sha256"] and known["size"] == prints[names[path]][0]:
                plan.touched.append(path)
    plan.removed |= {name for name in registry if name not in prints and name.startswith(root)}
    return plan


def settle_touched(plan: Plan, registry: dict[str, dict], digests: dict[str, str]) -> None:
    """Touched files whose bytes (hashed on the workers: `digests`, path -> sha256) are the registry's
    are unchanged after all; the registry takes their new time written."""
    for path in plan.touched:
        name = plan.names[path]
        if digests.get(path) == registry[name]["sha256"]:
            plan.read.remove(path)
            plan.removed.discard(name)
            plan.unchanged.append(path)
            plan.refreshed[name] = plan.fingerprints[name][1]
    plan.touched = []


def files_on_days(run_dir: str, first_day: str | None, last_day: str | None) -> set[str]:
    """Source files that gave published records on the days from `first_day` to `last_day` (YYYY-MM-DD)."""
    glob = posixpath.join(run_dir, "interactions", "**", "*.parquet")
    if not FileSystems.match([glob])[0].metadata_list:
        return set()
    conditions, params = ["true"], [glob]
    if first_day:
        conditions.append("occurred_at >= ?::date")
        params.append(first_day)
    if last_day:
        conditions.append("occurred_at < ?::date + 1")
        params.append(last_day)
    con = duckdb.connect(config={"memory_limit": "512MB"})
    con.execute("set timezone = 'UTC'")
    rows = con.execute(f"select distinct source_file from read_parquet(?, hive_partitioning = false) "
                       f"where {' and '.join(conditions)}", params).fetchall()
    return {row[0] for row in rows}


def _link_or_copy(source: str, target: str) -> None:
    """A carried file into the new run: a hard link on a local disk (no bytes copied), else a copy (on an
    object store, a copy made by the store)."""
    if is_local(source) and is_local(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.link(source, target)
            return
        except OSError:  # another device, or a file system without hard links
            pass
    FileSystems.copy([source], [target])


@dataclass
class CarryResult:
    linked: int = 0
    rewritten: int = 0
    rows_dropped: int = 0
    rows_restitched: int = 0
    written: list[str] = field(default_factory=list)  # Parquet files this run wrote anew


def carry_forward(previous: str, run_dir: str, superseded: pa.Table, removed: set[str],
                  resolution: pa.Table, run_id: str, identity: IdentityConfig | None = None) -> CarryResult:
    """Bring the published run's interactions and failed records into `run_dir`, one file at a time.

    A file with no superseded row, no row from a removed file and no customer whose id changed is
    linked (or copied, on an object store); any other is rewritten without those rows and with
    customer ids resolved again. A re-stitched row takes `run_id` (this run wrote it anew), so
    incremental marts refresh its customer."""
    result = CarryResult()
    removed_files = pa.array(sorted(removed), pa.string())
    previous = previous.rstrip("/")
    published = FileSystems.match([posixpath.join(previous, "interactions", "**", "*.parquet")])[0].metadata_list
    for path in sorted(m.path for m in published):
        target = posixpath.join(run_dir, posixpath.relpath(path, previous))
        table = read_parquet(path, ["interaction_id", "source_file", "source_line", "source_item", "source_customer_ref", "customer_id"])
        keep = pc.invert(pc.is_in(table["source_file"], removed_files))
        restitched = stitch(table.select(["source_customer_ref", "interaction_id"]), resolution, identity)["customer_id"]
        changed = pc.not_equal(restitched, table["customer_id"])
        touched = (superseded.num_rows and drop_losers(table, superseded).num_rows < table.num_rows) \
            or not pc.all(keep).as_py() or pc.any(changed).as_py()
        if not touched:
            _link_or_copy(path, target)
            result.linked += 1
            continue
        full = read_parquet(path, schema=INTERACTION_SCHEMA)  # a file from before a column existed gets it, null
        kept = drop_losers(full.filter(keep), superseded)
        result.rows_dropped += full.num_rows - kept.num_rows
        restitched = stitch(kept.drop_columns(["customer_id"]), resolution, identity)
        moved = pc.not_equal(restitched["customer_id"], kept["customer_id"])
        result.rows_restitched += pc.sum(moved).as_py() or 0
        run_ids = pc.if_else(moved, pa.scalar(run_id), restitched["run_id"])
        restitched = restitched.set_column(restitched.schema.get_field_index("run_id"), "run_id", run_ids)
        if restitched.num_rows:
            result.written.append(write_parquet(conform(restitched, INTERACTION_SCHEMA), target))
        result.rewritten += 1
    for found in sorted(FileSystems.match([posixpath.join(previous, "failed", "*.parquet")])[0].metadata_list, key=lambda m: m.path):
        files = pc.unique(read_parquet(found.path, ["source_file"])["source_file"]).to_pylist()
        if not set(files) & removed:
            _link_or_copy(found.path, posixpath.join(run_dir, "failed", posixpath.basename(found.path)))
    return result


def write_registry(run_dir: str, previous: dict[str, dict], plan: Plan, manifest: dict, run_id: str) -> dict:
    """The lake's registry after this run: carried entries, less removed files, plus the files read now.

    A file read now is registered with the size and sha256 of the bytes the workers read (from the
    manifest) and the time last written as listed before the run: a file rewritten during the read has
    no sha256, and one rewritten after the listing has a newer time; either is read again."""
    files = {name: entry for name, entry in previous.items() if name not in plan.removed and name not in plan.read_names}
    for name, modified in plan.refreshed.items():
        files[name] = {**files[name], "modified": modified}
    for entry in manifest["files"]:
        size, modified = plan.fingerprints.get(entry["file"], (None, None))
        sha = entry.get("sha256")
        if entry.get("size") is not None:
            size = entry["size"]
        files[entry["file"]] = {"size": size, "modified": modified, "sha256": sha, "run_id": run_id,
                                **{k: entry[k] for k in ("read", "good", "failed", "duplicates")}}
    registry = {"run_id": run_id, "files": dict(sorted(files.items()))}
    with FileSystems.create(posixpath.join(run_dir, REGISTRY)) as handle:
        handle.write(json.dumps(registry, indent=1).encode())
    return registry
