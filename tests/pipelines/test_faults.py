"""Faults from outside the job: a file that changes while it is read, a name that holds personal data."""

import json
from pathlib import Path

import pyarrow.dataset as ds

import transforms.read
from pipelines.ingest import run
from tests.conftest import write


def page(i: int) -> str:
    return json.dumps({"messageId": f"m{i}", "type": "page", "anonymousId": f"a{i}", "timestamp": "2026-02-10T10:00:00Z"}) + "\n"


def lake_ids(result) -> list[str]:
    table = ds.dataset(Path(result.run_dir) / "interactions", format="parquet", partitioning="hive").to_table(columns=["interaction_id"])
    return sorted(table["interaction_id"].to_pylist())


def test_a_file_rewritten_while_it_is_read_is_read_again_once_it_settles(tmp_path, monkeypatch):
    raw, out = tmp_path / "raw", tmp_path / "lake"
    original = "".join(page(i) for i in range(1, 41))
    events = write(raw, "web", "events.jsonl", original)
    plan_file = transforms.read.plan_file

    def plan_then_rewrite(path, *args, **kwargs):
        planned = plan_file(path, *args, **kwargs)
        Path(path).write_text("".join(page(i) for i in range(100, 120)))  # an exporter rewrites the file mid-read
        return planned

    monkeypatch.setattr(transforms.read, "plan_file", plan_then_rewrite)
    first = run(["--input", str(raw), "--output", str(out), "--chunk_mb", "0.001", "--no_gate"])
    [entry] = first.manifest["files"]
    assert entry["changed_during_read"] is True and entry["sha256"] is None
    assert first.manifest["changed_during_read"] == [str(events)]

    monkeypatch.setattr(transforms.read, "plan_file", plan_file)
    events.write_text(original)  # the exporter puts the file back as it was when the run listed it
    second = run(["--input", str(raw), "--output", str(out), "--chunk_mb", "0.001"])
    assert not second.nothing_new, "a file read while it changed must not count as read"
    assert second.manifest["files"][0]["changed_during_read"] is False
    assert lake_ids(second) == sorted(f"web:m{i}" for i in range(1, 41))
    assert second.manifest["totals"]["failed"] == 0
    assert run(["--input", str(raw), "--output", str(out)]).nothing_new


def test_an_address_in_a_file_name_is_never_stored(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "lake"
    write(raw, "web", "export-jane.doe@example.com.jsonl", "".join(page(i) for i in range(1, 41)) + '{"messageId": "broken"\n')
    result = run(["--input", str(raw), "--output", str(out)])
    run_dir = Path(result.run_dir)
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert b"jane.doe" not in path.read_bytes(), path
    [entry] = result.manifest["files"]
    assert entry["file"].startswith(str(raw / "web" / "pii-")) and entry["good"] == 40 and entry["failed"] == 1
    assert run(["--input", str(raw), "--output", str(out)]).nothing_new  # the registry knows it by that name


def test_replay_finds_the_file_behind_a_hashed_name(tmp_path):
    from pipelines.publish import current_run
    from pipelines.replay import failed_files

    raw, out = tmp_path / "raw", tmp_path / "lake"
    named = write(raw, "web", "from-+44 20 7946 0958.jsonl", "".join(page(i) for i in range(1, 41)) + "{oops\n")
    run(["--input", str(raw), "--output", str(out)])
    [replayable] = failed_files(current_run(out), str(raw))
    assert "7946" not in replayable.path and replayable.source == str(named) and replayable.failed == 1


def test_a_full_disk_is_one_line_and_leaves_the_published_run_as_it_was(tmp_path):
    import resource
    import signal
    import subprocess
    import sys

    from pipelines.publish import current_run

    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse"
    write(raw, "web", "day-1.jsonl", "".join(page(i) for i in range(1, 41)))
    published = run(["--input", str(raw), "--output", str(warehouse / "lake")]).run_id
    write(raw, "web", "day-2.jsonl", "".join(page(i) for i in range(100, 3100)))

    def no_room():  # every write past 64 KB fails, as on a full disk (EFBIG here, ENOSPC there)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "ingest", "--input", str(raw), "--warehouse", str(warehouse)],
                          preexec_fn=no_room, capture_output=True, text=True)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("cx: error: no room left to write") and "unchanged" in line, line
    assert current_run(warehouse / "lake").name == published


def test_a_killed_parent_takes_its_child_with_it(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "child.pid"
    child = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    parent = subprocess.Popen([sys.executable, "-c", "import sys; from pipelines.warehouse import run_child; "
                                                     f"run_child([sys.executable, '-c', {child!r}], dict())"])
    for _ in range(600):  # wait for the child to start (an event, not a duration)
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    def alive() -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] not in "ZX"
        except (FileNotFoundError, IndexError):
            return False

    for _ in range(600):
        if not alive():
            break
        time.sleep(0.05)
    assert not alive(), "the child outlived its killed parent"
    if alive():
        os.kill(pid, signal.SIGKILL)
