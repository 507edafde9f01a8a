"""The ingest job as one composite transform: file paths in, the run's files out (interactions by day,
failed records, links, identity report, manifest under the run's folder).

Everything a worker needs travels inside the transform, as the driver loaded it: the adapters, the
taxonomy, the identity guards and the PII salt; no worker reads a configuration file or the environment.
The driver's part (listing, planning, carrying the published lake forward, the gate, publishing) stays
in pipelines/ingest.py.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from datetime import datetime

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from transforms.dedup import LOSER_SCHEMA
from transforms.identity import LINK_SCHEMA, CollectTables, IdentityConfig, Resolved, resolve_identities
from transforms.quarantine import HeldBack, without_held
from transforms.read import COUNT_FIELDS, ReadTouchpoints, SumCounts, touchpoint_of
from transforms.redact import PII_TYPES, SALT_ENV
from transforms.steps import (
    DUPLICATES,
    HELD,
    KEYS,
    SUPERSEDED,
    UNSURE,
    FindDuplicates,
    ProcessGroup,
    StageChunk,
    TagOpenTextsWithEmbeddings,
    WriteFailed,
    run_paths,
)
from transforms.tagging import Taxonomy
from transforms.write import write_parquet

SUPERSEDED_FILE = "superseded.parquet"


def write_manifest(rows, path: str, run_id: str, input_root: str, started_at: str, demo_salt: bool,
                   prints=(), changed=()) -> None:
    """Per-file counts -> manifest.json; good includes duplicates, written = good - duplicates; skipped
    counts protocol messages that carry no record (Airbyte STATE, LOG), which are not records read.

    `redacted` counts the PII values replaced in each file, per type; `pii_salt` says whether
    identifiers were hashed with the demo salt (no CX_PII_SALT set) or the operator's. `size` and
    `sha256` are of the bytes the run read (`prints`); a file that changed while it was read
    (`changed`) has no sha256, so the next run reads it again."""
    read_prints, changed = dict(prints), set(changed)
    files = []
    for source_file, values in sorted(rows):
        named = dict(zip(COUNT_FIELDS, values))
        size, sha = read_prints.get(source_file, (None, None))
        files.append({"file": source_file, "touchpoint": touchpoint_of(source_file, input_root),
                      "read": named["read"], "good": named["good"], "failed": named["failed"],
                      "duplicates": named["duplicates"], "written": named["good"] - named["duplicates"],
                      "skipped": named["skipped"],
                      "redacted": {t: named[f"redacted_{t.lower()}"] for t in PII_TYPES},
                      "size": size, "sha256": None if source_file in changed else sha,
                      "changed_during_read": source_file in changed})
    totals = {k: sum(f[k] for f in files) for k in ("read", "good", "failed", "duplicates", "written", "skipped")}
    redacted = {t: sum(f["redacted"][t] for f in files) for t in PII_TYPES}
    manifest = {"run_id": run_id, "started_at": started_at, "input": input_root, "files": files, "totals": totals,
                "redacted": redacted, "pii_salt": "demo" if demo_salt else SALT_ENV,
                "changed_during_read": sorted(changed),
                "reconciled": all(f["read"] == f["good"] + f["failed"] for f in files)}
    with FileSystems.create(path) as handle:
        handle.write(json.dumps(manifest, indent=2).encode())


def write_identity_report(resolved: Resolved, path: str) -> None:
    """identity_report.json: identifiers, customers, blocked links, hubs cut off, the largest customers."""
    with FileSystems.create(path) as handle:
        handle.write(json.dumps(resolved.report, indent=2).encode())


@dataclass(frozen=True)
class JobSpec:
    """What one run of the job needs, decided by the driver before the pipeline is built."""

    input_root: str
    output: str
    run_id: str
    started: datetime
    adapters: dict
    identity: IdentityConfig
    taxonomy: Taxonomy
    salt: str
    demo_salt: bool
    chunk_bytes: int
    buckets: int
    key_buckets: int
    tiers: tuple[str, ...] = ("rules", "examples")
    # a file with a larger share of failed records is held back whole (quarantined)
    max_failed_share: float = 0.05
    # what the run takes over from the published lake: its dedup keys by bucket and its identity links
    carried_keys: list[tuple[int, str]] = field(default_factory=list)
    carried_links: pa.Table = field(default_factory=LINK_SCHEMA.empty_table)


class IngestInteractions(beam.PTransform):
    """Input file paths -> the run's files. Returns the per-file counts and the failed records."""

    def __init__(self, spec: JobSpec):
        super().__init__()
        self.spec = spec

    def expand(self, files):
        spec = self.spec
        pipeline = files.pipeline
        paths = run_paths(spec.output, spec.run_id)
        parsed = files | "ReadTouchpoints" >> ReadTouchpoints(spec.input_root, spec.chunk_bytes, spec.salt, spec.adapters, spec.identity)
        # files whose records mostly failed: known once parsing is done, before any grouping step uses them
        held = beam.pvalue.AsSingleton(parsed["counts"] | "FilesToHoldBack" >> beam.CombineGlobally(HeldBack(spec.max_failed_share)))
        links = (
            (parsed["links"], pipeline | "PublishedLinks" >> beam.Create([spec.carried_links]))
            | "FlattenLinks" >> beam.Flatten()
            | "CollectLinks" >> beam.CombineGlobally(CollectTables(LINK_SCHEMA))
            | "DropHeldLinks" >> beam.Map(without_held, held)
        )
        _ = links | "WriteLinks" >> beam.Map(write_parquet, paths["links"])
        resolved = links | "ResolveIdentities" >> beam.Map(resolve_identities, spec.identity)
        resolution = resolved | "Resolution" >> beam.Map(lambda r: r.resolution)
        _ = resolved | "WriteIdentityReport" >> beam.Map(write_identity_report, paths["identity_report"])
        staged = parsed["good"] | "StageChunks" >> beam.ParDo(
            StageChunk(paths["stage"], spec.key_buckets, spec.buckets)).with_outputs(KEYS, main="records")
        found = (
            (staged[KEYS], pipeline | "PublishedKeys" >> beam.Create(spec.carried_keys))
            | "FlattenKeys" >> beam.Flatten()
            | "GroupKeysByBucket" >> beam.GroupByKey()
            | "FindDuplicates" >> beam.ParDo(FindDuplicates(paths["keys"]), held).with_outputs(DUPLICATES, SUPERSEDED, main="losers")
        )
        losers = found.losers | "CollectLosers" >> beam.CombineGlobally(CollectTables(LOSER_SCHEMA))
        _ = (
            found[SUPERSEDED]
            | "CollectSuperseded" >> beam.CombineGlobally(CollectTables(LOSER_SCHEMA))
            | "WriteSuperseded" >> beam.Map(write_parquet, posixpath.join(paths["stage"], SUPERSEDED_FILE))
        )
        grouped = staged.records | "GroupRecordsByDay" >> beam.GroupByKey()
        side_inputs = (beam.pvalue.AsSingleton(losers), beam.pvalue.AsSingleton(resolution), held)
        process = ProcessGroup(spec.taxonomy, paths["interactions"], spec.run_id, spec.started, spec.tiers,
                               posixpath.join(paths["stage"], "tagged") if "embeddings" in spec.tiers else None, spec.identity)
        if "embeddings" not in spec.tiers:
            processed = grouped | "DropStitchTagWrite" >> beam.ParDo(process, *side_inputs).with_outputs(HELD)
        else:
            processed = grouped | "DropStitchTag" >> beam.ParDo(process, *side_inputs).with_outputs(UNSURE, HELD, main="tagged")
            _ = {"tagged": processed.tagged, "unsure": processed[UNSURE]} | "Embeddings" >> TagOpenTextsWithEmbeddings(
                spec.taxonomy, paths["interactions"], spec.run_id)
        failed = (parsed["failed"], processed[HELD]) | "FlattenFailed" >> beam.Flatten()
        _ = failed | "WriteFailed" >> beam.ParDo(WriteFailed(paths["failed"]))
        counts = (
            (parsed["counts"], found[DUPLICATES])
            | "FlattenCounts" >> beam.Flatten()
            | "SumPerFile" >> beam.CombinePerKey(SumCounts())
        )
        _ = (
            counts
            | "CollectCounts" >> beam.combiners.ToList()
            | "WriteManifest" >> beam.Map(write_manifest, paths["manifest"], spec.run_id, spec.input_root, spec.started.isoformat(),
                                          spec.demo_salt, beam.pvalue.AsList(parsed["prints"]), beam.pvalue.AsList(parsed["changed"]))
        )
        return {"counts": counts, "failed": failed}
