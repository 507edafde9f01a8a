"""Faults from outside the job: a file that changes while it is read, a name that holds personal data."""

import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest

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

    from pipelines.publish import current_run_id

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
    assert current_run_id(warehouse / "lake") == published


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


def ticket(ticket_id: int, status: str, updated: str, created: str = "2026-02-03T07:00:00Z") -> dict:
    return {"id": ticket_id, "created_at": created, "updated_at": updated, "description": "I was charged twice",
            "status": status, "requester_id": 360001, "tags": ["billing"], "via": {"channel": "email"}}


def test_a_quarantined_file_neither_supersedes_nor_stitches(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "lake"
    users = [{"id": 360001, "external_id": "C1"}]
    write(raw, "email", "tickets-1.json", json.dumps({"tickets": [ticket(101, "open", "2026-02-03T08:00:00Z")], "users": users}))
    write(raw, "web", "pages.jsonl", "".join(page(i) for i in range(1, 41)) + json.dumps(
        {"messageId": "p7", "type": "page", "anonymousId": "a7", "timestamp": "2026-02-11T10:00:00Z"}) + "\n")
    run(["--input", str(raw), "--output", str(out)])
    control = run(["--input", str(raw), "--output", str(tmp_path / "control"), "--no_gate"])

    # A newer version of ticket 101 and an identify call for a7, each in a file whose other records are broken.
    broken = [ticket(200 + i, "open", "2026-02-04T08:00:00Z", created="not a date") for i in range(10)]
    write(raw, "email", "tickets-2.json", json.dumps({"tickets": [ticket(101, "solved", "2026-02-05T08:00:00Z"), *broken], "users": users}))
    write(raw, "web", "identify.jsonl", json.dumps({"messageId": "i7", "type": "identify", "anonymousId": "a7", "userId": "C7",
                                                    "timestamp": "2026-02-11T11:00:00Z"}) + "\n" + "not json\n" * 10)
    result = run(["--input", str(raw), "--output", str(out)])
    assert sorted(Path(q["file"]).name for q in result.manifest["quarantined"]) == ["identify.jsonl", "tickets-2.json"]

    rows = {r["interaction_id"]: r for r in ds.dataset(Path(result.run_dir) / "interactions", format="parquet",
                                                       partitioning="hive").to_table().to_pylist()}
    assert rows["email:101"]["source_file"].endswith("tickets-1.json"), "a held-back file superseded a published record"
    before = {r["interaction_id"]: r for r in ds.dataset(Path(control.run_dir) / "interactions", format="parquet",
                                                         partitioning="hive").to_table().to_pylist()}
    assert rows["web:p7"]["customer_id"] == before["web:p7"]["customer_id"], "a held-back file's link stitched a customer"
    links = ds.dataset(Path(result.run_dir) / "links", format="parquet").to_table()
    assert not [f for f in links["source_file"].to_pylist() if f.endswith(("identify.jsonl", "tickets-2.json"))]
    failed = ds.dataset(Path(result.run_dir) / "failed", format="parquet").to_table().to_pylist()
    held = sorted((Path(r["source_file"]).name, r["error_type"]) for r in failed if r["error_type"] == "quarantined")
    assert held == [("identify.jsonl", "quarantined"), ("tickets-2.json", "quarantined")]


@pytest.mark.slow
def test_overlapping_runs_one_waits_for_nothing_and_says_who_holds_the_warehouse(tmp_path):
    """Two `cx ingest` as cron starts them: the second ends at once with one line naming the first, which
    completes and publishes untouched."""
    import subprocess
    import sys
    import time

    from pipelines.publish import current_run

    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse"
    for n in range(8):
        write(raw, "web", f"day-{n}.jsonl", "".join(page(1000 * n + i) for i in range(400)))
    command = [sys.executable, "-m", "pipelines.cli", "ingest", "--input", str(raw), "--warehouse", str(warehouse), "--chunk-mb", "0.01"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs = warehouse / "lake" / "runs"
    for _ in range(1200):  # until the first run has started writing (an event, not a duration)
        if runs.is_dir() and any(runs.iterdir()):
            break
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    second = subprocess.run(command, capture_output=True, text=True)
    out, err = first.communicate(timeout=600)
    assert second.returncode == 1
    assert second.stderr.strip() == (f"cx: error: another run (pid {first.pid}) is in progress on {warehouse}; "
                                     "try again when it has ended")
    assert first.returncode == 0, err
    assert current_run(warehouse / "lake") is not None and len(list(runs.iterdir())) == 1
