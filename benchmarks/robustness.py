"""Robustness figures: the bad-input corpus, PII redaction recall, duplicates over reruns, identity traps.

    python benchmarks/robustness.py --customers 20000

1. Every file of the bad-input corpus (tests/corpus.py) through the ingest job: read = good + failed,
   and each failure of the expected type on the expected line.
2. A generated dataset through ingest and dbt: every planted PII value searched for in every column of
   the lake (good and failed records), every warehouse table and every export.
3. Three reruns with nothing new, then three that read every file again: duplicate ids in the lake.
4. Identity: the planted merge traps (shared household phones, a placeholder ticket address).
Prints the figures; exits non-zero if a figure misses its bar.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.generate import generate  # noqa: E402
from pipelines.ingest import run  # noqa: E402
from pipelines.publish import current_run  # noqa: E402
from pipelines.warehouse import build_warehouse  # noqa: E402
from tests.corpus import CASES, write_corpus  # noqa: E402
from transforms.redact import lineage_name  # noqa: E402


def corpus(work: Path) -> dict:
    raw = work / "corpus"
    write_corpus(raw)
    result = run(["--input", str(raw), "--output", str(work / "corpus-lake"), "--chunk_mb", "0.05", "--no_gate"])
    con = duckdb.connect()
    failed = con.execute("select source_file, source_line, error_type from read_parquet(?)", [f"{result.run_dir}/failed/*.parquet"]).fetchall()
    counted = {f["file"]: f for f in result.manifest["files"]}
    ok = 0
    for case in CASES:
        path = lineage_name(str(raw / case.folder / case.name))
        f = counted[path]
        lines = sorted((line, kind) for file, line, kind in failed if file == path)
        ok += (f["read"] == f["good"] + f["failed"] and f["good"] == case.good and lines == sorted(case.failures)
               and f["duplicates"] == case.duplicates)
    kinds = sorted({kind for _, _, kind in failed})
    return {"kinds": len({c.kind for c in CASES}), "files": len(CASES), "reconciled": ok, "error_types": kinds,
            "internal_errors": sum(kind == "internal_error" for _, _, kind in failed)}


def bomb(work: Path, mebibytes: int) -> dict:
    """A gzip file that unpacks to one line of `mebibytes` MiB, through the ingest job in a child process
    (next to one ordinary record): its peak memory (max RSS) against a run over the ordinary record alone."""
    raw = work / "bomb"
    (raw / "web").mkdir(parents=True)
    with gzip.open(raw / "web" / "bomb.jsonl.gz", "wb", compresslevel=9) as out:
        out.write(b'{"messageId":"')
        zeros = b"0" * (1 << 20)
        for _ in range(mebibytes):
            out.write(zeros)
        out.write(b'"}\n')
    small = work / "small"
    (small / "web").mkdir(parents=True)
    for root in (raw, small):  # a run needs one good record to finish
        (root / "web" / "events.jsonl").write_text('{"messageId":"m1","type":"page","anonymousId":"a","timestamp":"2026-02-10T10:00:00Z"}\n')

    def peak(input_root: Path) -> tuple[float, dict]:
        code = ("import json, resource, sys; from pipelines.ingest import run; r = run(sys.argv[1:]); "
                "print(json.dumps({'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'totals': r.manifest['totals']}))")
        done = subprocess.run([sys.executable, "-c", code, "--input", str(input_root), "--output", str(work / f"lake-{input_root.name}"),
                               "--no_gate"], cwd=ROOT, capture_output=True, text=True, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        return figures["peak_mb"], figures["totals"]

    bomb_peak, totals = peak(raw)
    baseline, _ = peak(small)
    return {"unpacked_mib": mebibytes, "compressed_kib": round((raw / "web" / "bomb.jsonl.gz").stat().st_size / 1024),
            "peak_rss_mb": round(bomb_peak), "baseline_rss_mb": round(baseline), "failed": totals["failed"]}


def pii(truth: dict, lake_run: Path, built) -> dict:
    con = duckdb.connect()
    con.execute("create table planted (type varchar, value varchar)")
    con.executemany("insert into planted values (?, ?)", [(p["type"], p["value"]) for p in truth["pii"]])
    con.execute(f"attach '{built.duckdb_path}' as warehouse (read_only)")
    tables = [f"warehouse.{s}.{t}" for s, t in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'warehouse'").fetchall()]
    sources = [f"read_parquet('{lake_run}/interactions/**/*.parquet')", f"read_parquet('{lake_run}/failed/*.parquet')",
               f"read_parquet('{built.exports_dir}/*.parquet', union_by_name => true)"] + tables
    found, rows = set(), 0
    for source in sources:
        rows += con.execute(f"select count(*) from {source}").fetchone()[0]
        found |= {r[0] for r in con.execute(f"""
            select distinct planted.value from (select r::varchar as row_text from {source} r) rows
            join planted on contains(rows.row_text, planted.value)""").fetchall()}
    by_type = {}
    for p in truth["pii"]:
        kind = by_type.setdefault(p["type"], {"planted": 0, "found": 0})
        kind["planted"] += 1
        kind["found"] += p["value"] in found
    for kind in by_type.values():
        kind["recall"] = 1 - kind["found"] / kind["planted"]
    return {"planted": len(truth["pii"]), "rows_searched": rows, "sources": len(sources), "by_type": by_type,
            "found": len(found), "recall": 1 - len(found) / max(1, len(truth["pii"]))}


def duplicates(args: list[str], lake: Path) -> dict:
    def lake_ids() -> tuple[int, int]:
        rows = duckdb.connect().execute(
            f"select count(*), count(distinct interaction_id) from read_parquet('{current_run(lake)}/interactions/**/*.parquet')").fetchone()
        return rows[0], rows[0] - rows[1]

    figures = {"rows_after_first_run": lake_ids()[0], "reruns": []}
    for n in range(3):
        started = time.perf_counter()
        result = run(args)
        figures["reruns"].append({"kind": "nothing new" if result.nothing_new else "ran", "seconds": round(time.perf_counter() - started, 1),
                                  "rows": lake_ids()[0], "duplicate_ids": lake_ids()[1]})
    for n in range(3):
        started = time.perf_counter()
        run(args + ["--reprocess", "*"])
        rows, dupes = lake_ids()
        figures["reruns"].append({"kind": "reprocess every file", "seconds": round(time.perf_counter() - started, 1),
                                  "rows": rows, "duplicate_ids": dupes})
    return figures


def identity(truth: dict, lake_run: Path) -> dict:
    report = json.loads((lake_run / "identity_report.json").read_text())
    con = duckdb.connect()
    rows = con.execute(f"""
        select customer_id, count(distinct source_customer_ref) filter (where source_customer_ref like 'account:%') as accounts
        from read_parquet('{lake_run}/interactions/**/*.parquet') group by 1""").fetchall()
    pairs = truth["identity_traps"]["shared_phone_accounts"]
    customer_of = dict(con.execute(f"""
        select distinct source_customer_ref, customer_id from read_parquet('{lake_run}/interactions/**/*.parquet')
        where source_customer_ref like 'account:%'""").fetchall())
    seen = [(a, b) for a, b in pairs if f"account:{a}" in customer_of and f"account:{b}" in customer_of]
    kept_apart = sum(customer_of[f"account:{a}"] == a and customer_of[f"account:{b}"] == b for a, b in seen)
    return {"identifiers": report["identifiers"], "customers": report["customers"], "hubs": report["hub_count"],
            "blocked_links": report["blocked_links"], "cuts": len(report["cut"]), "max_accounts_per_customer": max(r[1] for r in rows),
            "shared_phone_pairs": len(pairs), "pairs_with_both_accounts_seen": len(seen), "pairs_kept_apart": kept_apart,
            "placeholder_tickets": truth["identity_traps"]["placeholder_tickets"],
            "largest_customer_identifiers": report["largest"][0]["identifiers"] if report["largest"] else 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--bomb-mib", type=int, default=1024, help="What the gzip bomb unpacks to (one line).")
    parser.add_argument("--quick", action="store_true", help="Only the corpus and the gzip bomb, no generated dataset.")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        figures = {"corpus": corpus(work), "gzip_bomb": bomb(work, options.bomb_mib)}
        bars = [figures["corpus"]["reconciled"] == figures["corpus"]["files"], figures["corpus"]["internal_errors"] == 0,
                figures["gzip_bomb"]["peak_rss_mb"] < figures["gzip_bomb"]["baseline_rss_mb"] + 1024]
        if options.quick:
            print(json.dumps(figures, indent=2))
            return 0 if all(bars) else 1
        truth = generate(work / "raw", options.customers, options.seed)
        lake = work / "lake"
        args = ["--input", str(work / "raw"), "--output", str(lake)]
        started = time.perf_counter()
        first = run(args)
        figures["first_run"] = {"records": first.manifest["totals"]["read"], "seconds": round(time.perf_counter() - started, 1),
                                "redacted": first.manifest["redacted"]}
        built = build_warehouse(lake / "current", work / "cx.duckdb", work / "exports")
        figures["pii"] = pii(truth, current_run(lake), built)
        figures["identity"] = identity(truth, current_run(lake))
        figures["duplicates"] = duplicates(args, lake)
    print(json.dumps(figures, indent=2))
    bars += [figures["pii"]["recall"] >= 0.99, all(r["duplicate_ids"] == 0 for r in figures["duplicates"]["reruns"]),
             figures["identity"]["max_accounts_per_customer"] == 1]
    return 0 if all(bars) else 1


if __name__ == "__main__":
    sys.exit(main())
