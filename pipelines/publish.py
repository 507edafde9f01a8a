"""Publishing a run: a pointer file, written last, names the run readers see.

A run is written whole under <output>/runs/<run_id>/ and becomes visible when <output>/current.json is
written to name it, in the style of a table format's metadata pointer. Writing one small object is
atomic on an object store (gs://, s3://: readers get the old or the new pointer, never a mix) and is
made atomic on a local disk by writing a temporary file and renaming it. A crashed or rejected run
never touches what readers see; older runs are pruned after the pointer moves.

On a local disk the `current` folder link is kept beside the pointer, for tools that read a folder.
"""

from __future__ import annotations

import json
import os
import posixpath
from datetime import datetime, timezone

from apache_beam.io.filesystems import FileSystems

from transforms.write import delete_tree

POINTER = "current.json"


def is_local(path: str) -> bool:
    return FileSystems.get_scheme(path) in (None, "file")


def current_run(output: str | os.PathLike) -> str | None:
    """The published run's folder, or None when nothing is published yet.

    Read from the pointer; a lake published before the pointer existed has only the `current` link."""
    output = str(output)
    pointer = posixpath.join(output, POINTER)
    if FileSystems.exists(pointer):
        with FileSystems.open(pointer) as handle:
            return posixpath.join(output, json.loads(handle.read())["run"])
    link = os.path.join(output, "current")
    return os.path.realpath(link) if is_local(output) and os.path.islink(link) else None


def current_run_id(output: str | os.PathLike) -> str | None:
    run = current_run(output)
    return posixpath.basename(run.rstrip("/")) if run else None


def publish(output: str | os.PathLike, run_id: str, keep_runs: int = 3) -> str:
    """Point <output>/current.json at runs/<run_id>, then prune all but the newest `keep_runs` runs."""
    output = str(output)
    run = posixpath.join("runs", run_id)
    if not FileSystems.exists(posixpath.join(output, run, "manifest.json")):
        raise FileNotFoundError(f"{posixpath.join(output, run)}: run folder not found")
    pointer = json.dumps({"run_id": run_id, "run": run,
                          "published_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat()}).encode()
    if is_local(output):
        temp = os.path.join(output, f".{POINTER}-{run_id}")
        with open(temp, "wb") as handle:
            handle.write(pointer)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, os.path.join(output, POINTER))
        _link_current(output, run)
    else:
        with FileSystems.create(posixpath.join(output, POINTER)) as handle:
            handle.write(pointer)
    prune(output, keep_runs)
    return posixpath.join(output, run)


def _link_current(output: str, run: str) -> None:
    """Swap the local `current` link to the run (a rename, atomic on POSIX)."""
    temp = os.path.join(output, ".current-link")
    if os.path.lexists(temp):
        os.unlink(temp)
    os.symlink(run, temp, target_is_directory=True)
    os.replace(temp, os.path.join(output, "current"))


def runs(output: str) -> list[tuple[str, float]]:
    """(run folder, when a file in it was last written) of every run under <output>/runs, newest first.

    Listed by file, as an object store lists: a crashed run's folder counts as long as it holds a file."""
    root = posixpath.join(output, "runs")
    newest: dict[str, float] = {}
    for found in FileSystems.match([posixpath.join(root, "**")])[0].metadata_list:
        folder = posixpath.join(root, posixpath.relpath(found.path, root).split("/")[0])
        newest[folder] = max(newest.get(folder, 0.0), found.last_updated_in_seconds)
    return sorted(newest.items(), key=lambda run: run[1], reverse=True)


def prune(output: str, keep_runs: int) -> None:
    """Delete every run but the newest `keep_runs` and the published one."""
    live = current_run(output)
    live = os.path.realpath(live) if live and is_local(live) else live
    for folder, _ in runs(output)[max(keep_runs, 1):]:
        if (os.path.realpath(folder) if is_local(folder) else folder) != live:
            delete_tree(folder)
