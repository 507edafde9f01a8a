"""Memory of identity resolution as the lake grows: on one machine, and by key over buckets.

    python benchmarks/step_memory.py                          # 0.5M, 1M, 2M customers
    python benchmarks/step_memory.py --customers 250000,500000 --links-per-bucket 1000000

Every other step of the job holds one chunk (--chunk_mb), one dedup bucket or one day group
(--bucket_mb of input each), and the job sets the number of buckets from the input's size. Identity
resolution needs the whole link graph: `resolve_identities` holds it on one machine, and
`ResolveIdentitiesByKey` (the job's) passes labels bucket by bucket, with the number of buckets growing
with the links as the job's do with the input.

Each measurement runs in a fresh process on a synthetic graph shaped like the generator's (an account
with 3 anonymous ids, an email and a phone; 1 customer in 10 has no account): peak RSS above the
process's RSS before it reads the graph (written to Parquet by another process first). The by-key
run is Beam's FnApiRunner in one process, so its figure is the largest of any one step's memory plus
the runner's own. Also printed: the size of the
resolved table, which the driver holds to carry the published lake forward.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import apache_beam as beam
from transforms.identity import LINK_SCHEMA, load_identity, resolve_identities
from transforms.identity_graph import ResolveIdentitiesByKey

how, folder = sys.argv[1], sys.argv[2]
if how == "write":
    customers = int(sys.argv[3])
    numbers = pa.array(np.arange(customers)).cast(pa.string())
    kinds = ("anon:a", "anon:b", "anon:c", "email:e", "phone:p")
    account = pc.binary_join_element_wise("account:C", numbers, "")
    nameless = pc.binary_join_element_wise("anon:z", numbers, "")
    # 1 customer in 10 is known only by anonymous ids: its identifiers hang on an anonymous one, not an account
    owner = pc.if_else(pa.array(np.arange(customers) % 10 == 0), nameless, account)
    links = pa.table([pa.concat_arrays([owner] * len(kinds)),
                      pa.concat_arrays([pc.binary_join_element_wise(kind, numbers, "") for kind in kinds]),
                      pa.array(["web/events.jsonl"] * (len(kinds) * customers))], schema=LINK_SCHEMA)
    for i in range(0, links.num_rows, 200_000):  # as the job gets them: one table per parsed chunk
        pq.write_table(links.slice(i, 200_000), f"{folder}/links-{i:012d}.parquet")
    sys.exit(0)
import glob
files = sorted(glob.glob(f"{folder}/links-*.parquet"))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if how == "one":
    size = resolve_identities(pa.concat_tables(pq.read_table(f) for f in files), load_identity()).resolution.nbytes
else:
    size = 0
    with beam.Pipeline(runner="FnApiRunner") as p:
        held = beam.pvalue.AsSingleton(p | "Held" >> beam.Create([{}]))
        _ = (p | beam.Create(files) | beam.Map(pq.read_table)
             | ResolveIdentitiesByKey(f"{folder}/stage", int(sys.argv[3]), load_identity(), f"{folder}/stage/links", held))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mb": (after - before) / 1024, "resolution_mb": size / 1e6}))
"""


def child(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", default="500000,1000000,2000000")
    parser.add_argument("--links-per-bucket", type=int, default=1_000_000,
                        help="Links per identifier bucket in the by-key runs (the job's buckets follow its input).")
    args = parser.parse_args()
    print(f"{'customers':>10} {'links':>11} {'one machine MB':>15} {'buckets':>8} {'by key MB':>10} {'resolved table MB':>18}")
    for n in (int(c) for c in args.customers.split(",")):
        buckets = max(1, round(5 * n / args.links_per_bucket))
        with tempfile.TemporaryDirectory(prefix="cx-identity-") as folder:
            child("write", folder, str(n))
            one, by_key = child("one", folder), child("key", folder, str(buckets))
        print(f"{n:>10,} {5 * n:>11,} {one['peak_mb']:>15,.0f} {buckets:>8} {by_key['peak_mb']:>10,.0f} {one['resolution_mb']:>18,.0f}",
              flush=True)


if __name__ == "__main__":
    main()
