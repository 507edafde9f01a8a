"""Atomic publish: a run is written under runs/<run_id>/ and becomes visible only when the
'current' link is swapped to it (a rename, atomic on POSIX). A crashed or rejected run never touches
what readers see; older runs are pruned after the swap."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def current_run(output: str | os.PathLike) -> Path | None:
    link = Path(output) / "current"
    return link.resolve() if link.is_symlink() else None


def publish(output: str | os.PathLike, run_id: str, keep_runs: int = 3) -> Path:
    """Point <output>/current at runs/<run_id>, atomically, then prune all but the newest runs."""
    output = Path(output)
    target = Path("runs") / run_id
    if not (output / target).is_dir():
        raise FileNotFoundError(f"{output / target}: run folder not found")
    temp = output / f".current-{run_id}"
    if temp.is_symlink() or temp.exists():
        temp.unlink()
    temp.symlink_to(target, target_is_directory=True)
    os.replace(temp, output / "current")
    prune(output, keep_runs)
    return output / "current"


def prune(output: Path, keep_runs: int) -> None:
    live = current_run(output)
    runs = sorted((p for p in (output / "runs").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[max(keep_runs, 1):]:
        if live is None or old.resolve() != live:
            shutil.rmtree(old, ignore_errors=True)

