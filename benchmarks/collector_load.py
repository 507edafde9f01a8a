"""The collector under load, on loopback: sustained events/s with request latency, event -> mart latency
with the watcher running, and nothing lost when the collector and the watcher are killed (-9) mid-load.

    python benchmarks/collector_load.py --seconds 300 --rate 5000 --batch 10            # load and latency
    python benchmarks/collector_load.py --seconds 300 --rate 5000 --batch 10 --watch 10  # + event -> mart
    python benchmarks/collector_load.py --seconds 180 --rate 1000 --batch 10 --watch 10 --kill  # + kill -9 test

The load comes from wrk (Debian: apt-get install wrk).

Events are Segment track calls in /v1/batch bodies (as Segment's libraries send them). The load comes from
wrk (benchmarks/collector_load.lua; each of 20 keep-alive connections pauses between requests so the total
is the asked rate), which reports the rate reached and the latency of every request. With --watch, `cx run
--watch` runs beside the collector; every 2 s the time of the newest event sent is noted and looked for in
the interactions mart. With --kill, the load comes from an asyncio client (httpx) that keeps the id of every
event acknowledged with a 2xx, the collector and the watcher are each killed with SIGKILL at random moments
and started again, and at the end every acknowledged id must be in the lake exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parents[1]
CX = str(Path(sys.executable).with_name("cx"))
WRITE_KEY = "wk_load"
EVENTS = ("Order Completed", "Product Viewed", "Signed Up", "Checkout Started", "Invoice Viewed")


def start_collector(raw: Path, port: int, rotate_seconds: float, log) -> subprocess.Popen:
    env = dict(os.environ, CX_COLLECT_SEGMENT_WRITE_KEYS=WRITE_KEY)
    return subprocess.Popen([CX, "collect", "--input", str(raw), "--port", str(port), "--rate", "100000",
                             "--rotate-seconds", str(rotate_seconds), "--max-connections", "2000"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def start_watcher(raw: Path, warehouse: Path, every: float, log) -> subprocess.Popen:
    return subprocess.Popen([CX, "run", "--input", str(raw), "--warehouse", str(warehouse), "--watch", str(every)],
                            stdout=log, stderr=subprocess.STDOUT)


async def wait_up(client: httpx.AsyncClient, url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if (await client.get(url + "/health")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the collector did not start")


def batch_body(size: int, users: int) -> tuple[bytes, list[str]]:
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    calls = [{"type": "track", "messageId": str(uuid.uuid4()), "userId": f"C{random.randrange(users):07d}",
              "event": random.choice(EVENTS), "properties": {"value": random.randint(1, 500)}, "timestamp": now}
             for _ in range(size)]
    return json.dumps({"batch": calls}).encode(), [c["messageId"] for c in calls]


async def load(url: str, seconds: float, rate: float, batch: int, users: int, concurrency: int, stats: dict) -> None:
    """Send `rate` events/s in batches for `seconds`, open-loop; record latencies and acknowledged ids."""
    auth = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode(), "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    in_flight = asyncio.Semaphore(concurrency)
    interval = batch / rate
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        await wait_up(client, url)

        async def send(due: float) -> None:
            body, ids = batch_body(batch, users)
            try:
                response = await client.post(url + "/v1/batch", content=body, headers=auth)
            except httpx.HTTPError:
                stats["errors"] += 1
            else:
                if response.status_code == 200:
                    stats["latencies"].append(time.monotonic() - due)
                    stats["acked"].extend(ids)
                    stats["newest_acked"] = max(stats["newest_acked"], time.time())
                else:
                    stats["refused"][response.status_code] = stats["refused"].get(response.status_code, 0) + 1
            finally:
                in_flight.release()

        started = time.monotonic()
        tasks, n = set(), 0
        while (due := started + n * interval) < started + seconds:
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await in_flight.acquire()
            task = asyncio.create_task(send(due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        await asyncio.gather(*tasks)
        stats["sent_requests"], stats["seconds"] = n, time.monotonic() - started


CONNECTIONS = 20


async def load_with_wrk(url: str, seconds: float, rate: float, batch: int, stats: dict) -> None:
    """Run wrk at `rate` events/s; parse the rate reached and the latency percentiles."""
    async with httpx.AsyncClient() as client:
        await wait_up(client, url)
    pause_ms = max(0, round(1000 * CONNECTIONS * batch / rate) - 3)  # about 3 ms of each cycle is the request
    auth = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    wrk = await asyncio.create_subprocess_exec(
        "wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds:.0f}s", "--latency", "--timeout", "10s",
        "-s", str(ROOT / "benchmarks" / "collector_load.lua"), url, "--", auth, str(batch), str(pause_ms),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    started = time.monotonic()
    while wrk.returncode is None:
        stats["newest_acked"] = time.time() - 1  # events carry their send time, to the second
        try:
            await asyncio.wait_for(wrk.wait(), timeout=1)
        except asyncio.TimeoutError:
            pass
    out = (await wrk.stdout.read()).decode()
    stats["wrk"] = out
    stats["seconds"] = time.monotonic() - started
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    stats["sent_requests"] = requests
    stats["acked_count"] = requests * batch  # wrk counts non-2xx apart
    for line in out.splitlines():
        if m := re.match(r"\s+(50|99|99\.9)%\s+([\d.]+)(us|ms|s)\s*$", line):
            scale = {"us": 1e-3, "ms": 1.0, "s": 1000.0}[m.group(3)]
            stats[f"p{m.group(1)}_ms"] = float(m.group(2)) * scale
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        stats["refused"] = {"non-2xx": int(m.group(1))}
        stats["acked_count"] -= int(m.group(1)) * batch
    if m := re.search(r"Socket errors: (.*)", out):
        stats["errors"] = m.group(1)


def mart_newest(duckdb_path: Path) -> float | None:
    """The newest web event's time in the interactions mart (epoch s), read from the published file."""
    if not duckdb_path.exists():
        return None
    try:
        copy = duckdb_path.with_name(".probe.duckdb")
        shutil.copyfile(duckdb_path, copy)  # never hold the live file while the watcher swaps it
        con = duckdb.connect(str(copy), read_only=True)
        try:
            [(newest,)] = con.execute("select epoch(max(occurred_at)) from marts.interactions where touchpoint = 'web'").fetchall()
        finally:
            con.close()
            copy.unlink(missing_ok=True)
        return newest
    except (duckdb.Error, OSError):
        return None


async def probe_mart(duckdb_path: Path, stats: dict, stop: asyncio.Event) -> None:
    """Every 2 s, note the newest event sent; when the mart first shows an event at least that new, the
    difference is one event -> mart latency."""
    waiting: list[float] = []
    while not stop.is_set() or waiting:
        if not stop.is_set() and stats["newest_acked"]:
            waiting.append(stats["newest_acked"])
        newest = await asyncio.to_thread(mart_newest, duckdb_path)
        now = time.time()
        if newest is not None:
            while waiting and waiting[0] - 1 <= newest:  # occurred_at is the send time, to the millisecond
                stats["mart_latencies"].append(now - waiting.pop(0))
        if stop.is_set() and waiting and now - waiting[0] > 300:
            break
        await asyncio.sleep(2)


async def killer(processes: dict, restart: dict, stats: dict, stop: asyncio.Event) -> None:
    """Kill -9 the collector or the watcher at random moments, and start it again at once."""
    while not stop.is_set():
        await asyncio.sleep(random.uniform(5, 20))
        if stop.is_set():
            break
        name = random.choice(sorted(processes))
        processes[name].send_signal(signal.SIGKILL)
        processes[name].wait()
        stats["kills"][name] = stats["kills"].get(name, 0) + 1
        processes[name] = restart[name]()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--rate", type=float, default=5000, help="events per second")
    parser.add_argument("--batch", type=int, default=10, help="events per /v1/batch request")
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight at most")
    parser.add_argument("--watch", type=float, default=None, help="run `cx run --watch SECONDS` beside the collector")
    parser.add_argument("--kill", action="store_true", help="kill -9 the collector and the watcher at random moments")
    parser.add_argument("--rotate-seconds", type=float, default=5)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cx-load-"))
    raw, warehouse, log = work / "raw", work / "warehouse", open(work / "processes.log", "w")
    raw.mkdir()
    url = f"http://127.0.0.1:{args.port}"
    stats = {"latencies": [], "acked": [], "errors": 0, "refused": {}, "newest_acked": 0.0, "mart_latencies": [], "kills": {}}
    restart = {"collector": lambda: start_collector(raw, args.port, args.rotate_seconds, log)}
    if args.watch is not None:
        restart["watcher"] = lambda: start_watcher(raw, warehouse, args.watch, log)
    processes = {name: start() for name, start in restart.items()}

    async def scenario() -> None:
        stop = asyncio.Event()
        side = []
        if args.watch is not None:
            side.append(asyncio.create_task(probe_mart(warehouse / "cx.duckdb", stats, stop)))
        if args.kill:
            side.append(asyncio.create_task(killer(processes, restart, stats, stop)))
            await load(url, args.seconds, args.rate, args.batch, args.users, args.concurrency, stats)
        else:
            await load_with_wrk(url, args.seconds, args.rate, args.batch, stats)
        stop.set()
        await asyncio.gather(*side)

    try:
        asyncio.run(scenario())
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGINT)
            process.wait(timeout=120)
    sent = stats["sent_requests"] * args.batch
    if args.kill:
        acked = len(stats["acked"])
        p50, p99 = 1000 * percentile(stats["latencies"], 0.5), 1000 * percentile(stats["latencies"], 0.99)
    else:
        acked, p50, p99 = stats["acked_count"], stats.get("p50_ms", float("nan")), stats.get("p99_ms", float("nan"))
    print(f"load: {args.rate:,.0f} events/s asked in batches of {args.batch} for {stats['seconds']:.0f} s; "
          f"{sent:,} events sent, {acked:,} acknowledged ({acked / stats['seconds']:,.0f} events/s, "
          f"{stats['sent_requests'] / stats['seconds']:,.0f} requests/s); refused {stats['refused'] or 0}, errors {stats['errors']}")
    print(f"request latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    if stats["mart_latencies"]:
        m = stats["mart_latencies"]
        print(f"event -> mart: p50 {percentile(m, 0.5):.0f} s, p99 {percentile(m, 0.99):.0f} s, max {max(m):.0f} s ({len(m)} probes)")
    if args.kill:
        print(f"kills: {stats['kills']}")
        # the last collector's open file is closed on its way down; one last run takes in what is left
        subprocess.run([CX, "run", "--input", str(raw), "--warehouse", str(warehouse)], stdout=log, stderr=subprocess.STDOUT, check=True)
        con = duckdb.connect()
        con.execute("create table acked as select unnest($ids) as interaction_id", {"ids": ["web:" + i for i in stats["acked"]]})
        missing, repeated = con.execute(f"""
            with lake as (select interaction_id, count(*) as n
                          from read_parquet('{(warehouse / 'lake' / 'current').resolve()}/interactions/**/*.parquet')
                          group by interaction_id)
            select count_if(lake.n is null), count_if(lake.n > 1) from acked left join lake using (interaction_id)""").fetchone()
        print(f"kill test: {acked:,} acknowledged events; missing from the lake {missing}, more than once {repeated}")
        if missing or repeated:
            return 1
    if args.keep:
        print(f"work folder: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
