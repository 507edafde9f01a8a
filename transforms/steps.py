"""Beam steps after parsing: bucketing, the per-bucket dedup → stitch → tag → write, failed writes."""

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
from transforms.write import write_by_date, write_failed

DUPLICATES = "duplicates"


class AssignBuckets(beam.DoFn):
    """Arrow table -> (bucket, sub-table) by a hash of interaction_id."""

    def __init__(self, buckets: int):
        self.buckets = buckets

    def setup(self):
        self.con = connect()

    def process(self, table: pa.Table):
        yield from bucket_tables(self.con, table, self.buckets)


class ProcessBucket(beam.DoFn):
    """(bucket, [tables]) -> dedup, stitch identities, tag, write date partitions.

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
        bucket, tables = element
        table = pa.concat_tables(list(tables))
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
    }
