"""The closed loop's input: the actions a team takes on root causes, kept as a CSV the team maintains.

    action_id,root_cause,journey_phase,touchpoint,action,owner,opened_on,due_on,status,done_on
    A-12,billing_confusion,,,Explain every invoice line,Billing ops,2026-02-01,2026-03-31,done,2026-04-05

`root_cause` is a reason code of the taxonomy; `journey_phase` and `touchpoint` narrow the action to part
of it (blank: all of it). Dates are YYYY-MM-DD. `status` is open, in_progress, done (needs `done_on`) or
dropped. The file is checked before dbt runs: a problem is one line naming the file, the line and the
column. dbt reads a checked copy (source `actions`, CX_ACTIONS_PATH), so a missing file is no actions.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from transforms.schema import JOURNEY_PHASES

COLUMNS = ("action_id", "root_cause", "journey_phase", "touchpoint", "action", "owner", "opened_on", "due_on", "status",
           "done_on")
REQUIRED = ("action_id", "root_cause", "action", "status")
DATES = ("opened_on", "due_on", "done_on")
STATUSES = ("open", "in_progress", "done", "dropped")
SCHEMA = pa.schema([(c, pa.date32() if c in DATES else pa.string()) for c in COLUMNS])


class ActionsError(ValueError):
    """The actions file cannot be used; the message names the file, line and column."""


def load_actions(path: str | Path | None, reason_codes: set[str] | None = None) -> pa.Table:
    """Read and check the actions file; None or a missing file gives no actions."""
    if path is None or not Path(path).exists():
        return SCHEMA.empty_table()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ActionsError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ActionsError(f"{path}:1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    rows, seen = [], {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ActionsError(f"{path}:{line}: more values than the {len(header)} columns")
        row = {c: (row[c] or "").strip() or None for c in COLUMNS}
        if not any(row.values()):
            continue
        rows.append(_checked(row, path, line, reason_codes, seen))
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def _checked(row: dict, path: Path, line: int, reason_codes: set[str] | None, seen: dict) -> dict:
    where = f"{path}:{line}"
    for column in REQUIRED:
        if row[column] is None:
            raise ActionsError(f"{where}: {column} is empty")
    if row["action_id"] in seen:
        raise ActionsError(f"{where}: action_id {row['action_id']} is already on line {seen[row['action_id']]}")
    seen[row["action_id"]] = line
    if reason_codes is not None and row["root_cause"] not in reason_codes:
        raise ActionsError(f"{where}: root_cause {row['root_cause']} is not a reason code of the taxonomy")
    if row["journey_phase"] is not None and row["journey_phase"] not in JOURNEY_PHASES:
        raise ActionsError(f"{where}: journey_phase {row['journey_phase']} is not one of: {', '.join(JOURNEY_PHASES)}")
    if row["status"] not in STATUSES:
        raise ActionsError(f"{where}: status {row['status']} is not one of: {', '.join(STATUSES)}")
    for column in DATES:
        if row[column] is not None:
            try:
                row[column] = dt.date.fromisoformat(row[column])
            except ValueError:
                raise ActionsError(f"{where}: {column} {row[column]!r} is not a date (YYYY-MM-DD)") from None
    if row["status"] == "done" and row["done_on"] is None:
        raise ActionsError(f"{where}: status is done but done_on is empty")
    if row["done_on"] is not None and row["opened_on"] is not None and row["done_on"] < row["opened_on"]:
        raise ActionsError(f"{where}: done_on {row['done_on']} is before opened_on {row['opened_on']}")
    return row



def write_checked_actions(table: pa.Table, target: Path) -> Path:
    """The checked actions as a plain CSV (ISO dates, no blank rows) for dbt's source `actions`."""
    pacsv.write_csv(table, target)
    return target
