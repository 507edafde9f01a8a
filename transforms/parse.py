"""Turn one block of a raw file into canonical records and failed records, with no Beam in sight."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.io import FRAME_SCHEMA, frame_csv, frame_json_document, frame_lines
from transforms.redact import PII_TYPES, REDACTED_COLUMNS, redact_table
from transforms.schema import FAILED_SCHEMA, SOURCE_SCHEMA, conform
from transforms.sources.base import INTERNAL_COLUMNS, SourceAdapter
from transforms.validate import validate

# DuckDB scans an Arrow table one record batch per thread: batches of this size let it use every core.
FRAME_BATCH_ROWS = 4096

PARSED_SCHEMA = pa.schema(list(SOURCE_SCHEMA) + [pa.field(n, t) for n, t in INTERNAL_COLUMNS[:2]])


@dataclass
class Parsed:
    good: pa.Table    # PARSED_SCHEMA
    failed: pa.Table  # FAILED_SCHEMA
    redacted: dict[str, int] = field(default_factory=dict)  # PII values replaced, per type

    @property
    def read(self) -> int:
        return self.good.num_rows + self.failed.num_rows


def frame(con: duckdb.DuckDBPyConnection, adapter: SourceAdapter, block: bytes, first_line: int,
          header: tuple[str, ...] | None) -> tuple[pa.Table, pa.Table | None]:
    """Split a block into one row per record, as the adapter's framing says."""
    if adapter.framing == "jsonl":
        return frame_lines(block, first_line), None
    if adapter.framing == "csv":
        table = frame_csv(block, first_line, header or ())
        for name in adapter.consumed:  # columns the mapping reads but the file lacks: nulls, and a check fails
            if f"col_{name}" not in table.column_names:
                table = table.append_column(f"col_{name}", pa.nulls(table.num_rows, pa.string()))
        return table, None
    return frame_json_document(con, block, adapter.record_key, adapter.sideload_key)


def parse_block(con: duckdb.DuckDBPyConnection, adapter: SourceAdapter, block: bytes, first_line: int,
                source_file: str, header: tuple[str, ...] | None = None, now: datetime | None = None) -> Parsed:
    """Frame, map and validate one block; every record comes back either good or failed."""
    records, sideload = frame(con, adapter, block, first_line, header)
    if records.num_rows == 0:
        return Parsed(PARSED_SCHEMA.empty_table(), FAILED_SCHEMA.empty_table())
    con.register("frame", pa.Table.from_batches(records.to_batches(max_chunksize=FRAME_BATCH_ROWS)))
    con.register("sideload", sideload if sideload is not None else pa.table({"raw": pa.array([], pa.string())}))
    try:
        mapped = con.sql(adapter.query(header)).to_arrow_table()
    finally:
        con.unregister("frame")
        con.unregister("sideload")
    mapped = mapped.append_column("source_file", pa.array([source_file] * mapped.num_rows, pa.string()))
    linked = mapped["linked_ref"] if "linked_ref" in mapped.column_names else pa.chunked_array([pa.nulls(mapped.num_rows, pa.string())])
    mapped = mapped.append_column("linked_refs", linked_list(linked))
    mapped = validate(mapped, now)
    ok = pc.is_null(mapped["error_type"])
    good, redacted = redact_table(conform(mapped.filter(ok), PARSED_SCHEMA))
    # A failed record's raw payload holds everything it said: count its PII there, once.
    failed, _ = redact_table(conform(mapped.filter(pc.invert(ok)), FAILED_SCHEMA), tuple(c for c in REDACTED_COLUMNS if c != "raw_payload"))
    failed, in_payloads = redact_table(failed, ("raw_payload",))
    return Parsed(good, failed, {t: redacted[t] + in_payloads[t] for t in PII_TYPES})


def linked_list(linked: pa.ChunkedArray) -> pa.Array:
    """An adapter's linked_ref column (one identifier, or a list of them, per record) as lists without nulls."""
    linked = linked.combine_chunks()
    if pa.types.is_list(linked.type):
        values, parents = pc.list_flatten(linked), pc.list_parent_indices(linked)
    else:
        values, parents = linked.cast(pa.string()), pa.array(np.arange(len(linked)))
    keep = pc.is_valid(values)
    counts = np.bincount(parents.filter(keep).to_numpy(), minlength=len(linked))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values.filter(keep).cast(pa.string()))


def failed_file(source_file: str, touchpoint: str | None, error_type: str, message: str, line: int = 1) -> pa.Table:
    """One failed record standing for a whole file (or its unreadable rest)."""
    return conform(pa.Table.from_pylist([{
        "touchpoint": touchpoint, "source_file": source_file, "source_line": line,
        "error_type": error_type, "error_message": message,
    }]), FAILED_SCHEMA)


__all__ = ["FRAME_SCHEMA", "PARSED_SCHEMA", "Parsed", "failed_file", "parse_block"]
