"""Turn framed records of one file into canonical records and failed records, with no Beam in sight.

A folder may hold several tools' shapes (call_center/ takes Amazon Connect records, Twilio calls and a
CSV report): each record goes to the folder's first adapter that accepts it, and a record no adapter
accepts fails as `unsupported_record`, named by its stream or its keys, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.framing import Framed, Layout
from transforms.io import RAW_PAYLOAD_LIMIT
from transforms.redact import PII_TYPES, REDACTED_COLUMNS, redact_table
from transforms.schema import FAILED_SCHEMA, SOURCE_SCHEMA, conform
from transforms.sources.base import INTERNAL_COLUMNS, SourceAdapter
from transforms.validate import MAX_AMOUNT, validate

# DuckDB scans an Arrow table one record batch per thread: batches of this size let it use every core.
FRAME_BATCH_ROWS = 4096

PARSED_SCHEMA = pa.schema(list(SOURCE_SCHEMA) + [pa.field(n, t) for n, t in INTERNAL_COLUMNS[:2]])
MAPPED_SCHEMA = pa.schema(list(PARSED_SCHEMA) + [pa.field(n, t) for n, t in INTERNAL_COLUMNS[2:]])


@dataclass
class Parsed:
    good: pa.Table    # PARSED_SCHEMA
    failed: pa.Table  # FAILED_SCHEMA
    redacted: dict[str, int] = field(default_factory=dict)  # PII values replaced, per type

    @property
    def read(self) -> int:
        return self.good.num_rows + self.failed.num_rows


def csv_adapter(adapters: tuple[SourceAdapter, ...], header: tuple[str, ...]) -> SourceAdapter | None:
    """The adapter for a CSV file: the first whose required columns the header has; a folder's only
    CSV adapter takes the file anyway, so its checks name the missing columns."""
    candidates = [a for a in adapters if a.framing == "csv"]
    for adapter in candidates:
        if adapter.takes_columns(header):
            return adapter
    return candidates[0] if len(candidates) == 1 else None


def route(con: duckdb.DuckDBPyConnection, adapters: tuple[SourceAdapter, ...], records: pa.Table) -> np.ndarray:
    """For each JSON record, the 1-based index of the adapter that takes it (0: none). A record that is
    no JSON object goes to the first adapter, whose checks say what is wrong with it."""
    if len(adapters) == 1 and adapters[0].accepts is None:
        return np.ones(records.num_rows, dtype=np.int64)
    cases = "\n".join(f"when {a.accepts or 'true'} then {i}" for i, a in enumerate(adapters, 1))
    con.register("frame", records.select(["raw", "stream", "frame_error"]))
    try:
        routed = con.sql(f"""
            with parsed as (
                select stream, case when frame_error is null then try_cast(raw as json) end as j from frame
            )
            select case when j is null then 1
                {cases}
                when json_type(j) <> 'OBJECT' then 1
                else 0 end as route
            from parsed""").to_arrow_table()["route"]
    finally:
        con.unregister("frame")
    return routed.to_numpy()


def map_records(con: duckdb.DuckDBPyConnection, adapter: SourceAdapter, records: pa.Table, sideload: pa.Table,
                header: tuple[str, ...] | None) -> pa.Table:
    """Run an adapter's query over framed records: canonical columns plus errors (MAPPED_SCHEMA)."""
    if adapter.framing == "csv":
        for name in adapter.consumed:  # columns the mapping reads but the file lacks: nulls, and a check fails
            if f"col_{name}" not in records.column_names:
                records = records.append_column(f"col_{name}", pa.nulls(records.num_rows, pa.string()))
    con.register("frame", pa.Table.from_batches(records.to_batches(max_chunksize=FRAME_BATCH_ROWS)))
    con.register("sideload", sideload)
    try:
        mapped = con.sql(adapter.query(header)).to_arrow_table()
    finally:
        con.unregister("frame")
        con.unregister("sideload")
    linked = mapped["linked_ref"] if "linked_ref" in mapped.column_names else pa.chunked_array([pa.nulls(mapped.num_rows, pa.string())])
    return conform(_amounts_in_range(mapped.append_column("linked_refs", linked_list(linked))), MAPPED_SCHEMA)


def _amounts_in_range(mapped: pa.Table) -> pa.Table:
    """An amount too large for decimal(18, 2) fails its record as out_of_range, before the cast would
    fail the whole chunk."""
    if "amount" not in mapped.column_names or mapped.num_rows == 0:
        return mapped
    amount = pc.cast(mapped["amount"], pa.float64())
    over = pc.fill_null(pc.greater_equal(pc.abs(amount), float(MAX_AMOUNT)), False)
    if not pc.any(over).as_py():
        return mapped
    first = pc.is_null(mapped["error_type"])
    failing = pc.and_(over, first)
    message = pc.binary_join_element_wise("amount ", pc.cast(mapped["amount"], pa.string()), f" is outside ±{MAX_AMOUNT:.0e}", "")
    mapped = mapped.set_column(mapped.schema.get_field_index("error_type"), "error_type",
                               pc.if_else(failing, "out_of_range", mapped["error_type"]))
    mapped = mapped.set_column(mapped.schema.get_field_index("error_message"), "error_message",
                               pc.if_else(failing, message, mapped["error_message"]))
    return mapped.set_column(mapped.schema.get_field_index("amount"), "amount",
                             pc.if_else(over, pa.scalar(None, mapped.schema.field("amount").type), mapped["amount"]))


def unsupported(records: pa.Table, touchpoint: str, why: pa.Array | str, error_type: str = "unsupported_record") -> pa.Table:
    """Records no adapter takes, as failures of `error_type` (MAPPED_SCHEMA)."""
    n = records.num_rows
    message = why if isinstance(why, pa.Array) else pa.array([why] * n, pa.string())
    return conform(pa.table({
        "touchpoint": pa.array([touchpoint] * n, pa.string()),
        "source_line": records["source_line"],
        "error_type": pa.array([error_type] * n, pa.string()),
        "error_message": message,
        "raw_payload": pc.utf8_slice_codeunits(records["raw"], 0, RAW_PAYLOAD_LIMIT),
    }), MAPPED_SCHEMA)


def _unsupported_json(con: duckdb.DuckDBPyConnection, records: pa.Table, touchpoint: str) -> pa.Table:
    con.register("frame", records.select(["raw", "stream"]))
    try:
        why = con.sql(f"""
            select 'no adapter of {touchpoint.replace("'", "''")} takes ' || coalesce(
                'records of stream ' || stream,
                'a record with keys ' || array_to_string(json_keys(raw::json)[1:12], ', ')) as why
            from frame""").to_arrow_table()["why"].combine_chunks()
    finally:
        con.unregister("frame")
    return unsupported(records, touchpoint, why)


def parse_framed(con: duckdb.DuckDBPyConnection, adapters: tuple[SourceAdapter, ...], touchpoint: str, framed: Framed,
                 source_file: str, layout: Layout | None = None, now: datetime | None = None) -> Parsed:
    """Route, map and validate framed records; every record comes back either good or failed.

    `layout` is the file's (transforms/framing.py); CSV records need it for their header."""
    records = framed.records
    if records.num_rows == 0:
        return Parsed(PARSED_SCHEMA.empty_table(), FAILED_SCHEMA.empty_table())
    pieces = []
    header = layout.header if layout is not None and layout.kind == "csv" else None
    if header is not None:
        adapter = csv_adapter(adapters, header)
        if adapter is not None and adapter.bind is not None:
            try:
                adapter = adapter.bind(layout)
            except ValueError as exc:  # the file lacks what the configuration names
                return _finish(con, unsupported(records, touchpoint, str(exc), "missing_column"), source_file, now)
        if adapter is None:
            wanted = "; ".join(f"{a.name}: {', '.join(a.required_columns)}" for a in adapters if a.framing == "csv") or "none reads CSV"
            pieces.append(unsupported(records, touchpoint, f"no adapter of {touchpoint} takes these columns (needed: {wanted})"))
        else:
            pieces.append(map_records(con, adapter, records, framed.sideload, header))
    else:
        json_adapters = tuple(a for a in adapters if a.framing == "json")
        routes = route(con, json_adapters, records) if json_adapters else np.zeros(records.num_rows, dtype=np.int64)
        for i, adapter in enumerate(json_adapters, 1):
            taken = np.flatnonzero(routes == i)
            if len(taken):
                subset = records if len(taken) == records.num_rows else records.take(taken)
                pieces.append(map_records(con, adapter, subset, framed.sideload, None))
        left = np.flatnonzero(routes == 0)
        if len(left):
            pieces.append(_unsupported_json(con, records.take(left), touchpoint))
    return _finish(con, pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0], source_file, now)


# An id whose value is an email address or an E.164 phone number ('account:jo@example.com' from a
# userId, 'account:+447700900123' from a CustomerAccount column) is a personal identifier.
PERSONAL_ID = r"^([a-z_]+):(?:([^@\s]+@[^@\s]+\.[A-Za-z]{2,})|(\+[0-9 ().-]{7,20}))$"
ID_COLUMNS = ("source_customer_ref", "case_id", "interaction_id", "agent_id")


def hash_personal_ids(con: duckdb.DuckDBPyConnection, mapped: pa.Table) -> pa.Table:
    """Personal identifiers in id columns become salted hashes, as the adapters hash the ones they know:
    a customer reference becomes 'email:<hash>' or 'phone:<hash>' (so it stitches with the same person
    seen elsewhere), any other id keeps its type and hashes its value."""
    for name in ID_COLUMNS + ("linked_refs",):
        if name not in mapped.column_names or mapped.num_rows == 0:
            continue
        column = mapped[name].combine_chunks()
        values = pc.list_flatten(column) if name == "linked_refs" else column
        if values.null_count == len(values):
            continue
        maybe = pc.or_(pc.match_substring(values, "@"), pc.match_substring(values, ":+"))  # literal scans, fast
        if not pc.any(pc.fill_null(maybe, False)).as_py():
            continue
        if not pc.any(pc.fill_null(pc.match_substring_regex(values, PERSONAL_ID), False)).as_py():
            continue
        con.register("ids", pa.table({"v": values}))
        try:
            hashed = con.sql(f"""
                select case when not regexp_matches(v, '{PERSONAL_ID}') then v
                    when {name in ("source_customer_ref", "linked_refs")} then
                        case when regexp_extract(v, '{PERSONAL_ID}', 2) <> ''
                             then 'email:' || cx_pii_hash(lower(regexp_extract(v, '{PERSONAL_ID}', 2)))
                             else 'phone:' || cx_pii_hash(cx_phone(regexp_extract(v, '{PERSONAL_ID}', 3))) end
                    else regexp_extract(v, '{PERSONAL_ID}', 1) || ':h' || cx_pii_hash(substr(v, strpos(v, ':') + 1)) end as v
                from ids""").to_arrow_table()["v"].combine_chunks()
        finally:
            con.unregister("ids")
        if name == "linked_refs":
            hashed = pa.ListArray.from_arrays(column.offsets, hashed)
        mapped = mapped.set_column(mapped.schema.get_field_index(name), name, hashed.cast(mapped.schema.field(name).type))
    return mapped


def _finish(con: duckdb.DuckDBPyConnection, mapped: pa.Table, source_file: str, now: datetime | None) -> Parsed:
    """Hash personal ids, validate mapped records, redact them, and split them into good and failed."""
    mapped = hash_personal_ids(con, mapped)
    mapped = mapped.set_column(mapped.schema.get_field_index("source_file"), "source_file",
                               pa.array([source_file] * mapped.num_rows, pa.string()))
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


