"""Benchmark: our ingest job against a DuckDB-native baseline on the same raw files, plus dbt and `cx run`.

    python benchmarks/bench.py --events 1000000              # the default run, a few minutes on 2 cores
    python benchmarks/bench.py --events 1000000,5000000      # adds the scaling check (5x data)

Raw data is generated once per size and seed and cached under data/bench/. Every measured step runs
in its own process; the figures are the median wall time over --repeat runs and the peak resident
memory the operating system reports for that process tree. Results are printed as a table and
written to data/bench/latest.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CX = str(Path(PYTHON).with_name("cx"))
# Raw records the generator writes per simulated customer (measured: 13,206 for 600 customers, twelve touchpoints).
RECORDS_PER_CUSTOMER = 22.0

TARGETS = {
    "ingest_vs_duckdb": 0.5,         # ours / DuckDB events per second, at least
    "ingest_peak_mb": 1536,          # peak resident memory of the ingest job, at most
    "scaling_5x": 5.5,               # wall time at 5x the data / at 1x, at most
    "cx_run_vs_ingest": 3.0,         # cx run end to end / ingest wall time, at most
}


@dataclass
class Measure:
    step: str
    events: int
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def events_per_s(self) -> float:
        return self.events / self.median_s

    @property
    def peak(self) -> float:
        return max(self.peak_mb)


def timed(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MB of its process tree). Fails loudly."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}): {(err or out).strip().splitlines()[-1:]}")
    return seconds, usage.ru_maxrss / 1024


def dataset(cache: Path, events: int, seed: int) -> tuple[Path, int]:
    """Raw files for about `events` records (generated once, then reused); returns (folder, records)."""
    customers = max(1, round(events / RECORDS_PER_CUSTOMER))
    folder = cache / f"raw-seed{seed}-customers{customers}-gen{generator_version()}"
    truth = folder / "_truth.json"
    if not truth.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {customers:,} customers (~{events:,} events) into {folder} ...", flush=True)
        timed([CX, "generate", "--customers", str(customers), "--seed", str(seed), "--out", str(folder)])
    records = sum(f["records"] for f in json.loads(truth.read_text())["files"].values())
    return folder, records


def generator_version() -> str:
    """A short hash of the generator's code: cached sample data is reused only while it is unchanged."""
    return hashlib.sha256((ROOT / "pipelines" / "generate.py").read_bytes()).hexdigest()[:8]


def measure(step: str, events: int, command_for_run, repeat: int, before=None) -> Measure:
    result = Measure(step, events)
    for i in range(repeat):
        if before:
            before()
        seconds, peak = timed(command_for_run(i))
        result.seconds.append(seconds)
        result.peak_mb.append(peak)
        print(f"  {step}: run {i + 1}/{repeat} {seconds:.1f}s, peak {peak:.0f} MB", flush=True)
    return result


def bench_size(events: int, seed: int, cache: Path, repeat: int, repeat_slow: int) -> dict:
    raw, records = dataset(cache, events, seed)
    work = cache / "work"
    shutil.rmtree(work, ignore_errors=True)
    print(f"{records:,} records in {raw}", flush=True)
    ours = measure("ingest (Beam job)", records, lambda i: [
        PYTHON, "-m", "pipelines.ingest", "--input", str(raw), "--output", str(work / "ours"), "--run_id", f"r{i}", "--no_gate"],
        repeat, before=lambda: shutil.rmtree(work / "ours", ignore_errors=True))
    baseline = measure("DuckDB-native baseline", records, lambda i: [
        PYTHON, str(ROOT / "benchmarks" / "duckdb_baseline.py"), "--input", str(raw), "--output", str(work / "duckdb")], repeat)
    gated = measure("ingest + quality gate + publish", records, lambda i: [
        CX, "ingest", "--input", str(raw), "--warehouse", str(work / "warehouse")], repeat_slow)
    dbt = measure("dbt build", records, lambda i: [CX, "build", "--input", str(raw), "--warehouse", str(work / "warehouse")],
                  repeat_slow)
    cx_run = measure("cx run (end to end)", records, lambda i: [
        CX, "run", "--input", str(raw), "--warehouse", str(work / "run")], repeat_slow,
        before=lambda: shutil.rmtree(work / "run", ignore_errors=True))
    shutil.rmtree(work, ignore_errors=True)
    steps = [ours, baseline, gated, dbt, cx_run]
    return {
        "events": records,
        "steps": [dict(asdict(s), median_s=s.median_s, events_per_s=s.events_per_s, peak=s.peak) for s in steps],
        "ratio_ours_vs_duckdb": ours.events_per_s / baseline.events_per_s,
        "cx_run_vs_ingest": cx_run.median_s / ours.median_s,
        "ingest_peak_mb": ours.peak,
    }


def render(console: Console, results: list[dict]) -> None:
    table = Table(title="cx-analytics benchmark (median of runs; peak RSS of the process tree)")
    for column in ("events", "step", "runs", "median s", "events/s", "peak MB"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for size in results:
        for s in size["steps"]:
            table.add_row(f"{size['events']:,}", s["step"], str(len(s["seconds"])), f"{s['median_s']:.1f}",
                          f"{s['events_per_s']:,.0f}", f"{s['peak']:,.0f}")
    console.print(table)
    verdicts = Table(title="Targets")
    for column in ("events", "measure", "value", "target", "met"):
        verdicts.add_column(column)
    for size in results:
        n = f"{size['events']:,}"
        ratio, peak, run_ratio = size["ratio_ours_vs_duckdb"], size["ingest_peak_mb"], size["cx_run_vs_ingest"]
        verdicts.add_row(n, "ingest / DuckDB (events/s)", f"{ratio:.2f}", f">= {TARGETS['ingest_vs_duckdb']}", _yes(ratio >= TARGETS["ingest_vs_duckdb"]))
        verdicts.add_row(n, "ingest peak memory", f"{peak:,.0f} MB", f"<= {TARGETS['ingest_peak_mb']} MB", _yes(peak <= TARGETS["ingest_peak_mb"]))
        verdicts.add_row(n, "cx run / ingest (wall)", f"{run_ratio:.2f}", f"<= {TARGETS['cx_run_vs_ingest']}", _yes(run_ratio <= TARGETS["cx_run_vs_ingest"]))
    for small, large in zip(results, results[1:]):
        factor = large["events"] / small["events"]
        wall = large["steps"][0]["median_s"] / small["steps"][0]["median_s"]
        allowed = TARGETS["scaling_5x"] * factor / 5
        verdicts.add_row(f"{small['events']:,} -> {large['events']:,}", f"ingest wall time at {factor:.1f}x data",
                         f"{wall:.2f}x", f"<= {allowed:.2f}x", _yes(wall <= allowed))
    console.print(verdicts)


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", default="1000000", help="Comma-separated dataset sizes in raw records.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs of the ingest job and the DuckDB baseline.")
    parser.add_argument("--repeat-slow", type=int, default=1, help="Runs of the gated ingest, dbt build and cx run.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "bench")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.events.split(",")]
    except ValueError:
        parser.error(f"--events takes whole numbers separated by commas, not {args.events!r}")
    if args.repeat < 1 or args.repeat_slow < 1 or any(s < 1000 for s in sizes):
        parser.error("--repeat and --repeat-slow must be at least 1, and sizes at least 1000 events")
    console = Console(width=max(Console().width, 110))
    results = [bench_size(size, args.seed, args.cache, args.repeat, args.repeat_slow) for size in sizes]
    render(console, results)
    report = {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "targets": TARGETS, "sizes": results}
    args.cache.mkdir(parents=True, exist_ok=True)
    (args.cache / "latest.json").write_text(json.dumps(report, indent=2))
    console.print(f"written: {args.cache / 'latest.json'}")
    return 0


def machine() -> dict:
    import platform

    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), None)
    return {"cpus": os.cpu_count(), "memory_gb": round(int(memory) / 1024 / 1024, 1) if memory else None,
            "python": platform.python_version(), "platform": platform.platform()}


if __name__ == "__main__":
    sys.exit(main())
