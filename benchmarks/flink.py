"""The ingest job on Apache Flink beside the local runner, on the same generated files.

    python benchmarks/flink.py                       # ~1M events: the local runner, then Flink with 2 and 1 TaskManager slots
    python benchmarks/flink.py --events 200000 --slots 2

Each Flink row restarts the local cluster (flink/flink.sh) with that many slots and a TaskManager of
--tm-memory (8192m) with --tm-off-heap (2048m) of direct memory for tasks: at ~1M events the job's
largest elements (a whole chunk's Arrow table, every identity link in one table) fail Flink's defaults
("Record too large" for the sort buffer at 2048m; "Direct buffer memory" without the off-heap). Then it times
`python -m pipelines.ingest --full --no_gate` submitted through Beam's job server, its Python work done by
the worker pool's processes (EXTERNAL: one per task slot). Wall seconds are the whole run, planning and
completing included; peak MB is the submitting process's (Flink's JVMs and the pool's workers are not
counted).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import PYTHON, ROOT, dataset  # noqa: E402

FLINK = ["--runner", "PortableRunner", "--job_endpoint", "localhost:8099",
         "--environment_type", "EXTERNAL", "--environment_config", "localhost:50000"]


def timed_run(args: list[str], log: Path) -> tuple[float, float]:
    """Run the ingest job; (wall seconds, peak RSS MB of its largest process). Output goes to `log`."""
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen([PYTHON, "-m", "pipelines.ingest", *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"ingest failed; see {log}: {log.read_text().strip().splitlines()[-1:]}")
    return seconds, usage.ru_maxrss / 1024


def cluster(slots: int | None, memory: str = "", off_heap: str = "") -> None:
    """Stop the local Flink cluster; start it again with `slots` TaskManager slots (None: leave it down)."""
    subprocess.run([str(ROOT / "flink" / "flink.sh"), "down"], check=True, capture_output=True)
    if slots is not None:
        subprocess.run([str(ROOT / "flink" / "flink.sh"), "up"], check=True, capture_output=True,
                       env=dict(os.environ, TASK_SLOTS=str(slots), TM_MEMORY=memory, TM_OFF_HEAP=off_heap))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--slots", default="2,1", help="TaskManager slots to try, comma-separated.")
    parser.add_argument("--tm-memory", default="8192m", help="The TaskManager's process size.")
    parser.add_argument("--tm-off-heap", default="2048m", help="Direct memory for the tasks (taskmanager.memory.task.off-heap.size).")
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "bench")
    args = parser.parse_args(argv)
    raw, records = dataset(args.cache, args.events, 7)
    work = Path(tempfile.mkdtemp(prefix="cx-flink-bench-"))
    rows = []
    try:
        tried = [int(s) for s in args.slots.split(",")]
        configs = [("local (FnApiRunner)", None)] + [(f"Flink, {s} slot{'s' if s > 1 else ''}", s) for s in tried]
        for name, slots in configs:
            cluster(slots, args.tm_memory, args.tm_off_heap)
            print(f"{name} ...", flush=True)
            job = ["--input", str(raw), "--output", str(work / "lake"), "--full", "--no_gate"] + (FLINK if slots else [])
            seconds, peak = timed_run(job, work / "ingest.log")
            rows.append((name, seconds, records / seconds, peak))
            shutil.rmtree(work / "lake", ignore_errors=True)
    finally:
        cluster(None)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{records:,} raw records ({raw.name})")
    print(f"{'runner':<20} {'wall s':>8} {'events/s':>10} {'peak MB':>8}")
    for name, seconds, rate, peak in rows:
        print(f"{name:<20} {seconds:>8.1f} {rate:>10,.0f} {peak:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
