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

from transforms.read import list_input
from transforms.redact import lineage_name


@dataclass(frozen=True)
class ReplayFile:
    path: str                 # the lineage name the failed records carry (source_file)
    failed: int
    error_types: tuple[str, ...]
    source: str | None        # the input file behind it, None when it is gone

    @property
    def exists(self) -> bool:
        return self.source is not None


def failed_files(lake_current: Path, input_root: str, touchpoint: str | None = None, error_type: str | None = None) -> list[ReplayFile]:
    """Source files behind the published run's failed records, optionally of one touchpoint or error type,
    each with the input file of the same lineage name (see transforms.redact.lineage_name)."""
    conditions, params = ["true"], [f"{lake_current}/failed/*.parquet"]
    if touchpoint:
        conditions.append("touchpoint = ?")
        params.append(touchpoint)
    if error_type:
        conditions.append("error_type = ?")
        params.append(error_type)
    with duckdb.connect() as con:
        rows = con.execute(f"""
            select source_file, count(*), list(distinct error_type order by error_type)
            from read_parquet(?)
            where {' and '.join(f'({c})' for c in conditions)}
            group by source_file order by source_file""", params).fetchall()
    sources = {lineage_name(path): path for path, _ in list_input(input_root).files} if Path(input_root).is_dir() else {}
    return [ReplayFile(name, n, tuple(kinds), sources.get(name)) for name, n, kinds in rows]


def replay_globs(files: list[ReplayFile]) -> list[str]:
    """--reprocess globs naming exactly the files still there (glob characters in names escaped)."""
    return [glob.escape(f.source) for f in files if f.exists]
