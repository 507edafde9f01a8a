"""Quarantine inside the job: a file whose records mostly fail is held back before dedup and stitching.

A file is held back when more than the failure share of its records failed and at least
QUARANTINE_MIN_FAILED of them did (one bad row of three does not hold a file back; fifty bad rows of
fifty do, whatever the file's size). The decision is made from the parse counts, which are complete
before the first grouping step, so a held file takes no part in the run: its identity links do not
stitch other records, its keys supersede no published record, and its good records are written as
failed records of type `quarantined` instead of interactions. Nothing is lost; `cx replay
--error-type quarantined` reads it again once it is fixed.
"""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc

from transforms.read import COUNT_FIELDS
from transforms.schema import FAILED_SCHEMA, conform

QUARANTINE_MIN_FAILED = 5
ERROR_TYPE = "quarantined"
_READ, _FAILED = COUNT_FIELDS.index("read"), COUNT_FIELDS.index("failed")


def over_threshold(read: int, failed: int, max_failed_share: float) -> bool:
    return bool(read) and failed >= QUARANTINE_MIN_FAILED and failed / read > max_failed_share


def reason(read: int, failed: int, max_failed_share: float) -> str:
    return (f"file quarantined: {failed:,} of {read:,} records failed (over {max_failed_share:.0%}); "
            "fix it, then `cx replay --error-type quarantined`")


class HeldBack(beam.CombineFn):
    """(file, count tuple) pairs -> {file: reason} of the files to hold back."""

    def __init__(self, max_failed_share: float):
        self.max_failed_share = max_failed_share

    def create_accumulator(self):
        return {}

    def add_input(self, acc, element):
        name, values = element
        read, failed = acc.get(name, (0, 0))
        acc[name] = (read + values[_READ], failed + values[_FAILED])
        return acc

    def merge_accumulators(self, accumulators):
        merged = {}
        for acc in accumulators:
            for name, (read, failed) in acc.items():
                before = merged.get(name, (0, 0))
                merged[name] = (before[0] + read, before[1] + failed)
        return merged

    def extract_output(self, acc):
        return {name: reason(read, failed, self.max_failed_share)
                for name, (read, failed) in acc.items() if over_threshold(read, failed, self.max_failed_share)}


def held_mask(table: pa.Table, held: dict[str, str]) -> pa.ChunkedArray | None:
    """Which rows come from a held-back file (None: none do)."""
    if not held or table.num_rows == 0:
        return None
    mask = pc.fill_null(pc.is_in(table["source_file"], value_set=pa.array(sorted(held), pa.string())), False)
    return mask if pc.any(mask).as_py() else None


def without_held(table: pa.Table, held: dict[str, str]) -> pa.Table:
    mask = held_mask(table, held)
    return table if mask is None else table.filter(pc.invert(mask))


def as_quarantined(rows: pa.Table, held: dict[str, str]) -> pa.Table:
    """Good records of held-back files as failed records (FAILED_SCHEMA) saying why."""
    failed = conform(rows, FAILED_SCHEMA)
    failed = failed.set_column(failed.schema.get_field_index("error_type"), "error_type",
                               pa.array([ERROR_TYPE] * rows.num_rows, pa.string()))
    return failed.set_column(failed.schema.get_field_index("error_message"), "error_message",
                             pa.array([held[f] for f in rows["source_file"].to_pylist()], pa.string()))
