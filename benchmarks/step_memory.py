"""How the memory of each step that sees more than one bucket or group grows, and where it would pass
one worker's memory.

    python benchmarks/step_memory.py                    # 0.5M, 1M, 2M customers
    python benchmarks/step_memory.py --customers 250000,500000 --worker-gb 4

Every other step holds one chunk (--chunk_mb), one dedup bucket or one day group (--bucket_mb of input
each), whatever the size of the lake. Two things grow with the lake instead:

- identity resolution: every identity link of the lake meets on one worker (connected components need
  the whole graph), and the driver holds the resolved table while it carries the lake forward;
- the identifier lookup: one identifier bucket (the lake's identifiers / id buckets).

Each measurement runs in a fresh process on a synthetic graph shaped like the generator's (an account
with 3 anonymous ids, an email and a phone; 1 customer in 10 has no account): peak RSS above the
process's RSS once the input is built. Prints MB per million links and the links (and customers) at
which the step passes --worker-gb.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from transforms.identity import LINK_SCHEMA, load_identity, resolve_identities

customers = int(sys.argv[1])
numbers = pa.array(np.arange(customers)).cast(pa.string())
kinds = ("anon:a", "anon:b", "anon:c", "email:e", "phone:p")
account = pc.binary_join_element_wise("account:C", numbers, "")
nameless = pc.binary_join_element_wise("anon:z", numbers, "")
# 1 customer in 10 is known only by anonymous ids: its identifiers hang on an anonymous one, not an account
owner = pc.if_else(pa.array(np.arange(customers) % 10 == 0), nameless, account)
links = pa.table([pa.concat_arrays([owner] * len(kinds)),
                  pa.concat_arrays([pc.binary_join_element_wise(kind, numbers, "") for kind in kinds]),
                  pa.array(["web/events.jsonl"] * (len(kinds) * customers))], schema=LINK_SCHEMA)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
resolved = resolve_identities(links, load_identity())
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"customers": customers, "links": len(links), "identifiers": resolved.report["identifiers"],
                  "resolution_mb": resolved.resolution.nbytes / 1e6, "peak_mb": (after - before) / 1024}))
"""


def measure(customers: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(customers)], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", default="500000,1000000,2000000")
    parser.add_argument("--worker-gb", type=float, default=4.0)
    args = parser.parse_args()
    rows = [measure(int(n)) for n in args.customers.split(",")]
    print(f"{'customers':>10} {'links':>11} {'identifiers':>12} {'peak MB':>9} {'MB per M links':>15} {'resolution MB':>14}")
    for r in rows:
        print(f"{r['customers']:>10,} {r['links']:>11,} {r['identifiers']:>12,} {r['peak_mb']:>9,.0f} "
              f"{r['peak_mb'] / r['links'] * 1e6:>15,.0f} {r['resolution_mb']:>14,.0f}")
    per_link = max(r["peak_mb"] / r["links"] for r in rows)  # MB per link, the largest measured
    limit = args.worker_gb * 1024 / per_link
    links_per_customer = rows[-1]["links"] / rows[-1]["customers"]
    print(f"identity resolution passes a {args.worker_gb:g} GB worker at about {limit / 1e6:,.0f}M links "
          f"({limit / links_per_customer / 1e6:,.1f}M customers at {links_per_customer:g} links each)")


if __name__ == "__main__":
    main()
