"""Beam steps after parsing: staging by bucket, the per-bucket dedup → stitch → tag → write, failed writes.

Records are shuffled through files, not through the runner: each parsed chunk is split by a hash of
interaction_id and written as Arrow IPC files under <run>/_stage/bucket=NNNNN/; only the small
(bucket, path) pairs go through GroupByKey. A bucket is then read whole, so memory is bounded by the
bucket size (set by the job from the input size), not by the input.
"""

from __future__ import annotations

import hashlib
import posixpath
from datetime import datetime

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics

from transforms.dedup import bucket_tables, dedup
from transforms.identity import stitch
from transforms.read import counts
from transforms.schema import SCHEMA_VERSION, UTC_TIMESTAMP
from transforms.sources.base import connect
from transforms.tagging import Tagger, Taxonomy
from transforms.write import read_arrow, write_arrow, write_by_date, write_failed

DUPLICATES = "duplicates"


class StageBuckets(beam.DoFn):
    """Arrow table of parsed records -> (bucket, staging file path), one file per bucket present."""

    def __init__(self, stage_root: str, buckets: int):
        self.stage_root, self.buckets = stage_root, buckets

    def setup(self):
        self.con = connect()

    def process(self, table: pa.Table):
        origin = f"{table['source_file'][0].as_py()}:{table['source_line'][0].as_py()}"
        for bucket, part in bucket_tables(self.con, table, self.buckets):
            name = hashlib.sha1(f"{origin}:{bucket}".encode()).hexdigest()[:20]
            yield bucket, write_arrow(part, posixpath.join(self.stage_root, f"bucket={bucket:05d}", f"{name}.arrow"))


class ProcessBucket(beam.DoFn):
    """(bucket, [staging paths]) -> dedup, stitch identities, tag, write date partitions.

    Main output: (path, rows) per Parquet file written; DUPLICATES: per-file duplicate counts.
    """

    def __init__(self, taxonomy: Taxonomy, root: str, run_id: str, ingested_at: datetime):
        self.taxonomy, self.root, self.run_id, self.ingested_at = taxonomy, root, run_id, ingested_at
        self.duplicates = Metrics.counter("ingest", "duplicates")
        self.written = Metrics.counter("ingest", "written_records")

    def setup(self):
        self.con = connect()
        self.tagger = Tagger(self.taxonomy)

    def process(self, element, resolution: pa.Table):
        bucket, paths = element
        table = read_arrow(sorted(paths))
        kept, per_file = dedup(self.con, table)
        for source_file, n in zip(per_file["source_file"].to_pylist(), per_file["duplicates"].to_pylist()):
            self.duplicates.inc(n)
            yield beam.pvalue.TaggedOutput(DUPLICATES, counts(source_file, duplicates=n))
        tagged = self.tagger.tag(stitch(kept, resolution))
        n = tagged.num_rows
        tagged = (tagged.append_column("schema_version", pa.array([SCHEMA_VERSION] * n, pa.string()))
                  .append_column("ingested_at", pa.array([self.ingested_at] * n, UTC_TIMESTAMP))
                  .append_column("run_id", pa.array([self.run_id] * n, pa.string())))
        self.written.inc(n)
        yield from write_by_date(tagged, self.root, f"part-{bucket:05d}")


class WriteFailed(beam.DoFn):
    """Failed-record table -> one Parquet file named after the chunk it came from (stable on rerun)."""

    def __init__(self, root: str):
        self.root = root

    def process(self, table: pa.Table):
        first = f"{table['source_file'][0].as_py()}:{table['source_line'][0].as_py()}"
        part = "part-" + hashlib.sha1(first.encode()).hexdigest()[:16]
        yield write_failed(table, self.root, part)


def run_paths(output: str, run_id: str) -> dict[str, str]:
    run_dir = posixpath.join(output, "runs", run_id)
    return {
        "run": run_dir,
        "interactions": posixpath.join(run_dir, "interactions"),
        "failed": posixpath.join(run_dir, "failed"),
        "manifest": posixpath.join(run_dir, "manifest.json"),
        "stage": posixpath.join(run_dir, "_stage"),
    }
