"""Incremental, idempotent runs: read only what is new, carry the published lake forward.

Every run folder holds, besides its Parquet:
    files.json          the registry: every raw file in the lake (path, size, sha256, counts, the run that read it)
    keys/bucket=N.parquet   dedup keys of every record in the lake (interaction_id, record_version, file, line)
    links.parquet       every identity link in the lake, with the file it came from

A run fingerprints the input (path + size + sha256) and parses only files the registry does not hold
as they are now. Files that changed, or that --reprocess names (by glob or by the days their records
fall on), are read again and everything they gave before is removed. The published keys join the
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
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.dedup import drop_losers
from transforms.framing import file_digest
from transforms.identity import LINK_SCHEMA, IdentityConfig, stitch
from transforms.redact import lineage_name
from transforms.schema import INTERACTION_SCHEMA, conform
from transforms.sources.base import quote_text
from transforms.write import write_parquet

REGISTRY = "files.json"
LINKS = "links.parquet"
KEYS_DIR = "keys"


def load_registry(run_dir: str | None) -> dict[str, dict]:
    if not run_dir or not FileSystems.exists(posixpath.join(run_dir, REGISTRY)):
        return {}
    with FileSystems.open(posixpath.join(run_dir, REGISTRY)) as handle:
        return json.loads(handle.read())["files"]


@dataclass
class Plan:
    """What a run reads and what it drops from the published lake."""

    read: list[str]                                   # files to parse in this run
    fingerprints: dict[str, tuple[int, str]]          # of every input file
    removed: set[str] = field(default_factory=set)    # published files whose records go (changed, reprocessed, gone)
    unchanged: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # path -> lineage name

    @property
    def read_names(self) -> set[str]:
        return {self.names.get(path, path) for path in self.read}

    @property
    def nothing_new(self) -> bool:
        return not self.read and not self.removed


def plan_run(files: list[str], registry: dict[str, dict], input_root: str, reprocess: tuple[str, ...] = (),
             reprocess_files: set[str] = frozenset(), full: bool = False, salt: str | None = None) -> Plan:
    """Decide which files to read: new or changed ones, those matching a --reprocess glob (relative to
    the input root, or absolute) or whose lineage name is in `reprocess_files`, or every file with `full`.

    The registry, `removed` and `fingerprints` speak of files by their lineage name; `read` by path."""
    names = {path: lineage_name(path, salt) for path in files}
    prints = {names[path]: file_digest(path) for path in files}
    if full or not registry:
        return Plan(list(files), prints, set(registry), names=names)
    root = input_root.rstrip("/") + "/"

    def forced(path: str) -> bool:
        relative = path[len(root):] if path.startswith(root) else path
        return names[path] in reprocess_files or any(fnmatch.fnmatch(relative, g) or fnmatch.fnmatch(path, g) for g in reprocess)

    plan = Plan([], prints, names=names)
    for path in files:
        known = registry.get(names[path])
        same = known is not None and (known["size"], known["sha256"]) == prints[names[path]]
        if same and not forced(path):
            plan.unchanged.append(path)
            continue
        plan.read.append(path)
        if known is not None:
            plan.removed.add(names[path])
    plan.removed |= {name for name in registry if name not in prints and name.startswith(root)}
    return plan


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


def carried_links(run_dir: str | None, removed: set[str]) -> pa.Table:
    """The published lake's identity links, without those of removed files."""
    path = posixpath.join(run_dir, LINKS) if run_dir else None
    if not path or not FileSystems.exists(path):
        return LINK_SCHEMA.empty_table()
    links = pq.read_table(path).cast(LINK_SCHEMA)
    if removed:
        links = links.filter(pc.invert(pc.is_in(links["source_file"], pa.array(sorted(removed), pa.string()))))
    return links


def stage_published_keys(run_dir: str | None, removed: set[str], buckets: int, stage_dir: str) -> list[tuple[int, str]]:
    """Split the published keys (less those of removed files) into this run's id buckets, in one
    streaming pass (DuckDB writes one Parquet file per bucket).

    Returns (bucket, path) pairs to join the run's own staged keys."""
    glob = posixpath.join(run_dir, KEYS_DIR, "*.parquet") if run_dir else None
    if not glob or not FileSystems.match([glob])[0].metadata_list:
        return []
    target = posixpath.join(stage_dir, "published_keys")
    Path(stage_dir).mkdir(parents=True, exist_ok=True)  # DuckDB creates only the last folder
    con = duckdb.connect(config={"memory_limit": "1GB"})
    con.register("removed", pa.table({"source_file": pa.array(sorted(removed), pa.string())}))
    # keys published before records had a source_item (schema 1.0.0) are all item 0
    has_item = "source_item" in pq.read_schema(FileSystems.match([glob])[0].metadata_list[0].path).names
    item = "source_item" if has_item else "0::bigint as source_item"
    con.execute(f"""
        copy (
            select interaction_id, record_version, source_file, source_line, {item}, true as published,
                   (hash(interaction_id) % {int(buckets)})::integer as bucket
            from read_parquet(?) k
            where not exists (select 1 from removed r where r.source_file = k.source_file)
        ) to {quote_text(target)} (format parquet, partition_by (bucket), overwrite_or_ignore)""", [glob])
    staged = FileSystems.match([posixpath.join(target, "bucket=*", "*.parquet")])[0].metadata_list
    return sorted((int(posixpath.basename(posixpath.dirname(m.path)).split("=")[1]), m.path) for m in staged)


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another device, or a file system without hard links
        shutil.copy2(source, target)


@dataclass
class CarryResult:
    linked: int = 0
    rewritten: int = 0
    rows_dropped: int = 0
    rows_restitched: int = 0
    written: list[str] = field(default_factory=list)  # Parquet files this run wrote anew


def carry_forward(previous: Path, run_dir: Path, superseded: pa.Table, removed: set[str],
                  resolution: pa.Table, run_id: str, identity: IdentityConfig | None = None) -> CarryResult:
    """Bring the published run's interactions and failed records into `run_dir`.

    A file with no superseded row, no row from a removed file and no customer whose id changed is
    hard-linked; any other is rewritten without those rows and with customer ids resolved again. A
    re-stitched row takes `run_id` (this run wrote it anew), so incremental marts refresh its customer."""
    result = CarryResult()
    removed_files = pa.array(sorted(removed), pa.string())
    for path in sorted((previous / "interactions").rglob("*.parquet")):
        target = run_dir / path.relative_to(previous)
        table = pq.read_table(path, columns=[c for c in ("interaction_id", "source_file", "source_line", "source_item",
                                                          "source_customer_ref", "customer_id") if c in pq.read_schema(path).names])
        keep = pc.invert(pc.is_in(table["source_file"], removed_files))
        restitched = stitch(table.select(["source_customer_ref", "interaction_id"]), resolution, identity)["customer_id"]
        changed = pc.not_equal(restitched, table["customer_id"])
        touched = (superseded.num_rows and drop_losers(table, superseded).num_rows < table.num_rows) \
            or not pc.all(keep).as_py() or pc.any(changed).as_py()
        if not touched:
            _link(path, target)
            result.linked += 1
            continue
        full = pq.read_table(path, schema=INTERACTION_SCHEMA)
        kept = drop_losers(full.filter(keep), superseded)
        result.rows_dropped += full.num_rows - kept.num_rows
        restitched = stitch(kept.drop_columns(["customer_id"]), resolution, identity)
        moved = pc.not_equal(restitched["customer_id"], kept["customer_id"])
        result.rows_restitched += pc.sum(moved).as_py() or 0
        run_ids = pc.if_else(moved, pa.scalar(run_id), restitched["run_id"])
        restitched = restitched.set_column(restitched.schema.get_field_index("run_id"), "run_id", run_ids)
        if restitched.num_rows:
            result.written.append(write_parquet(conform(restitched, INTERACTION_SCHEMA), str(target)))
        result.rewritten += 1
    for path in sorted((previous / "failed").glob("*.parquet")):
        files = pc.unique(pq.read_table(path, columns=["source_file"])["source_file"]).to_pylist()
        if not set(files) & removed:
            _link(path, run_dir / "failed" / path.name)
    return result


def write_registry(run_dir: str, previous: dict[str, dict], plan: Plan, manifest: dict, run_id: str) -> dict:
    """The lake's registry after this run: carried entries, less removed files, plus the files read now.

    A file read now is registered with the fingerprint of the bytes the run read (from the manifest),
    not of the bytes listed before the run: a file rewritten during the read has none, and is read again."""
    files = {name: entry for name, entry in previous.items() if name not in plan.removed and name not in plan.read_names}
    for entry in manifest["files"]:
        size, sha = plan.fingerprints.get(entry["file"], (None, None))
        if "sha256" in entry and entry["size"] is not None:
            size, sha = entry["size"], entry["sha256"]
        files[entry["file"]] = {"size": size, "sha256": sha, "run_id": run_id,
                                **{k: entry[k] for k in ("read", "good", "failed", "duplicates")}}
    registry = {"run_id": run_id, "files": dict(sorted(files.items()))}
    with FileSystems.create(posixpath.join(run_dir, REGISTRY)) as handle:
        handle.write(json.dumps(registry, indent=1).encode())
    return registry
