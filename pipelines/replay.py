"""Replay failed records: read the files behind them again, with the adapters and configuration as
they are now (after a fix to an adapter, the touchpoints file or the data).

A replayed file goes through the incremental run as a reprocessed file: everything it gave before,
good and failed, is replaced by what it gives now. Replaying twice therefore adds nothing, and a record
that still fails stays one failed record.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class ReplayFile:
    path: str
    failed: int
    error_types: tuple[str, ...]
    exists: bool


def failed_files(lake_current: Path, touchpoint: str | None = None, error_type: str | None = None) -> list[ReplayFile]:
    """Source files behind the published run's failed records, optionally of one touchpoint or error type."""
    conditions, params = ["true"], []
    if touchpoint:
        conditions.append("touchpoint = ?")
        params.append(touchpoint)
    if error_type:
        conditions.append("error_type = ?")
        params.append(error_type)
    with duckdb.connect() as con:
        rows = con.execute(f"""
            select source_file, count(*), list(distinct error_type order by error_type)
            from read_parquet('{lake_current}/failed/*.parquet')
            where {' and '.join(f'({c})' for c in conditions)}
            group by source_file order by source_file""", params).fetchall()
    return [ReplayFile(path, n, tuple(kinds), Path(path).exists()) for path, n, kinds in rows]


def replay_globs(files: list[ReplayFile]) -> list[str]:
    """--reprocess globs naming exactly the files still there (glob characters in names escaped)."""
    return [glob.escape(f.path) for f in files if f.exists]
