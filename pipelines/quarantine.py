"""Quarantine instead of blocking: a file whose records mostly fail is held back, the rest of the run publishes.

A file is quarantined when more than `max_failed_share` of its records failed and at least
QUARANTINE_MIN_FAILED of them did (so one bad row of three does not hold a file back, while fifty bad
rows of fifty do, whatever the file's size). Its good records are taken out of the run's interactions
and kept as failed records of type `quarantined`, so nothing is lost; the manifest names the file and
why; `cx replay --error-type quarantined` reads it again once it is fixed.
"""

from __future__ import annotations

import posixpath

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from transforms.schema import FAILED_SCHEMA, conform
from transforms.write import write_parquet

QUARANTINE_MIN_FAILED = 5
ERROR_TYPE = "quarantined"


def files_to_quarantine(manifest: dict, max_failed_share: float) -> list[dict]:
    """The manifest entries of the files this run reads that fail over the threshold."""
    return [f for f in manifest["files"]
            if f["read"] and f["failed"] >= QUARANTINE_MIN_FAILED and f["failed"] / f["read"] > max_failed_share]


def quarantine(paths: dict[str, str], run_id: str, manifest: dict, max_failed_share: float) -> list[dict]:
    """Hold back the files over the threshold: move their good records of this run to the failed
    records, and mark them in the manifest (returned: what was quarantined, one entry per file)."""
    held = files_to_quarantine(manifest, max_failed_share)
    if not held:
        return []
    names = pa.array(sorted(f["file"] for f in held), pa.string())
    reasons = {f["file"]: f"file quarantined: {f['failed']:,} of {f['read']:,} records failed (over {max_failed_share:.0%}); "
                          "fix it, then `cx replay --error-type quarantined`" for f in held}
    moved = []
    written = FileSystems.match([posixpath.join(paths["interactions"], "**", f"part-{run_id}-*.parquet")])[0].metadata_list
    for meta in written:
        table = pq.read_table(meta.path)
        mine = pc.is_in(table["source_file"], value_set=names)
        if not pc.any(mine).as_py():
            continue
        moved.append(table.filter(mine))
        kept = table.filter(pc.invert(mine))
        FileSystems.delete([meta.path])
        if kept.num_rows:
            write_parquet(kept, meta.path)
    if moved:
        rows = pa.concat_tables(moved)
        failed = conform(rows, FAILED_SCHEMA)
        messages = pa.array([reasons[f] for f in rows["source_file"].to_pylist()], pa.string())
        failed = failed.set_column(failed.schema.get_field_index("error_type"), "error_type",
                                   pa.array([ERROR_TYPE] * rows.num_rows, pa.string()))
        failed = failed.set_column(failed.schema.get_field_index("error_message"), "error_message", messages)
        write_parquet(failed, posixpath.join(paths["failed"], f"part-{run_id}-quarantined.parquet"))
    report = []
    for f in held:
        held_back = f["written"]  # its good records minus duplicates of records kept elsewhere
        f.update(quarantined=True, failed=f["failed"] + held_back, good=f["duplicates"], written=0)
        report.append({"file": f["file"], "read": f["read"], "held_back": held_back, "reason": reasons[f["file"]]})
    totals = manifest["totals"]
    for key in ("good", "failed", "duplicates", "written"):
        totals[key] = sum(f[key] for f in manifest["files"])
    manifest["quarantined"] = report
    return report
