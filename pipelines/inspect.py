"""`cx inspect FILE`: how a file will be framed and which adapter takes its records, before anything is written.

Reads at most `limit` records from the start of the file, exactly as the ingest job frames and routes
them, and maps them with the adapters of the file's touchpoint folder. Nothing is staged or published.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from transforms.framing import SIDELOAD_SCHEMA, Framed, detect_layout
from transforms.io import frame_chunk, plan_chunks
from transforms.parse import csv_adapter, parse_framed, route
from transforms.sources.base import SourceAdapter, connect

SHOWN_FIELDS = ("interaction_id", "touchpoint", "channel_type", "interaction_type", "occurred_at", "source_customer_ref",
                "case_id", "text", "source_code", "source_reason", "agent_id", "wait_seconds", "handle_seconds",
                "transfers", "ces", "csat", "nps", "amount", "currency", "source_line")


def _head(path: str, touchpoint: str, limit: int) -> tuple[Framed, object]:
    """The first `limit` framed records of a file, its side-loaded objects, and its layout."""
    layout = detect_layout(path)
    records, sideloads, skipped = [], [], 0
    taken = 0
    for spec in plan_chunks(path, touchpoint, layout=layout):
        for framed in frame_chunk(spec):
            skipped += framed.skipped
            records.append(framed.records.slice(0, limit - taken))
            sideloads.append(framed.sideload)
            taken += records[-1].num_rows
            if taken >= limit:
                break
        if taken >= limit:
            break
    if not records:
        return Framed(pa.table({"source_line": pa.array([], pa.int64())}), SIDELOAD_SCHEMA.empty_table(), skipped), layout
    return Framed(pa.concat_tables(records, promote_options="default"), pa.concat_tables(sideloads), skipped), layout


def inspect_file(path: str | Path, touchpoint: str, adapters: tuple[SourceAdapter, ...], limit: int = 1000) -> dict:
    """Framing, routing and the first mapped record of a file, as a plain dict."""
    path = str(path)
    framed, layout = _head(path, touchpoint, limit)
    con = connect()
    report = {"file": path, "touchpoint": touchpoint, "framing": layout.describe(), "records_read": framed.records.num_rows,
              "skipped_messages": framed.skipped, "header": list(layout.header) if layout.kind == "csv" else None,
              "streams": dict(Counter(framed.records["stream"].to_pylist())) if "stream" in framed.records.column_names else {},
              "adapters": {}}
    if framed.records.num_rows == 0:
        return report
    if layout.kind == "csv":
        chosen = csv_adapter(adapters, layout.header or ())
        report["adapters"] = {chosen.name if chosen else "unsupported_record": framed.records.num_rows}
    else:
        json_adapters = tuple(a for a in adapters if a.framing == "json")
        routes = route(con, json_adapters, framed.records) if json_adapters else np.zeros(framed.records.num_rows, dtype=np.int64)
        names = ["unsupported_record"] + [a.name for a in json_adapters]
        report["adapters"] = {names[i]: int(n) for i, n in zip(*np.unique(routes, return_counts=True))}
    parsed = parse_framed(con, adapters, touchpoint, framed, path, layout)
    report["good"], report["failed"] = parsed.good.num_rows, parsed.failed.num_rows
    report["failures"] = dict(Counter(parsed.failed["error_type"].to_pylist()))
    if parsed.good.num_rows:
        first = parsed.good.slice(0, 1).to_pylist()[0]
        report["first_record"] = {k: _plain(first[k]) for k in SHOWN_FIELDS}
    if parsed.failed.num_rows:
        failure = parsed.failed.slice(0, 1).to_pylist()[0]
        report["first_failure"] = {k: _plain(failure[k]) for k in ("source_line", "error_type", "error_message")}
    return report


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if value is not None and not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value
