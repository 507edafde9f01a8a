"""Checks every adapter's output must pass, whatever the source: vectorised over an Arrow table."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc

from transforms.schema import CHANNEL_TYPES, UTC_TIMESTAMP

EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)

RANGES = {"ces": (1, 7), "csat": (1, 5), "nps": (0, 10)}
NON_NEGATIVE = ("wait_seconds", "handle_seconds", "transfers")
# Upper bounds no real interaction reaches: a value past them is a broken export, and would overflow
# the marts' sums (2^63 seconds) if it got through.
MAXIMA = {"wait_seconds": 400 * 86_400, "handle_seconds": 400 * 86_400, "transfers": 1_000}
# amount is decimal(18, 2): 16 digits before the point.
MAX_AMOUNT = 10 ** 16


def _first_error(table: pa.Table, checks: list[tuple[pa.ChunkedArray, str, Callable[[], pa.ChunkedArray]]]) -> pa.Table:
    """Fill error_type/error_message from the first failing check, keeping errors already set.

    Messages are built only for checks that fail somewhere (formatting every row is not free)."""
    error_type, error_message = table["error_type"], table["error_message"]
    for failing, kind, message in reversed(checks):
        failing = pc.fill_null(failing, False)
        if not pc.any(failing).as_py():
            continue
        error_type = pc.if_else(failing, kind, error_type)
        error_message = pc.if_else(failing, message(), error_message)
    keep = pc.is_valid(table["error_type"])
    error_type = pc.if_else(keep, table["error_type"], error_type)
    error_message = pc.if_else(keep, table["error_message"], error_message)
    table = table.set_column(table.schema.get_field_index("error_type"), "error_type", error_type)
    return table.set_column(table.schema.get_field_index("error_message"), "error_message", error_message)


def validate(table: pa.Table, now: datetime | None = None) -> pa.Table:
    """Mark records that break the canonical record's rules: time range, score ranges, known codes."""
    now = now or datetime.now(timezone.utc)
    occurred = table["occurred_at"].cast(UTC_TIMESTAMP)
    latest = now + FUTURE_SLACK

    def as_text():
        return pc.cast(occurred, pa.string())

    checks = [
        (pc.less(occurred, pa.scalar(EARLIEST, UTC_TIMESTAMP)), "timestamp_out_of_range",
         lambda: pc.binary_join_element_wise("occurred_at ", as_text(), " is before 2000", "")),
        (pc.greater(occurred, pa.scalar(latest, UTC_TIMESTAMP)), "timestamp_out_of_range",
         lambda: pc.binary_join_element_wise("occurred_at ", as_text(), " is in the future", "")),
        (pc.invert(pc.is_in(table["channel_type"], pa.array(CHANNEL_TYPES))), "invalid_value",
         lambda: pc.binary_join_element_wise("unknown channel_type ", pc.fill_null(table["channel_type"], "null"), "")),
        (pc.is_null(table["interaction_type"]), "missing_field", lambda: "interaction_type is missing"),
    ]
    for column, (low, high) in RANGES.items():
        if column in table.column_names:
            values = table[column]
            checks.append((pc.or_(pc.less(values, low), pc.greater(values, high)), "out_of_range",
                           lambda column=column, values=values, low=low, high=high: pc.binary_join_element_wise(
                               f"{column} ", pc.cast(values, pa.string()), f" is outside {low}-{high}", "")))
    for column, high in MAXIMA.items():
        if column in table.column_names and table[column].null_count < table.num_rows:
            values = table[column]
            checks.append((pc.greater(values, high), "out_of_range",
                           lambda column=column, values=values, high=high: pc.binary_join_element_wise(
                               f"{column} ", pc.cast(values, pa.string()), f" is over {high:,}", "")))
    for column in NON_NEGATIVE:
        if column in table.column_names:
            values = table[column]
            checks.append((pc.less(values, 0), "out_of_range",
                           lambda column=column, values=values: pc.binary_join_element_wise(
                               f"{column} ", pc.cast(values, pa.string()), " is negative", "")))
    return _first_error(table, checks)
