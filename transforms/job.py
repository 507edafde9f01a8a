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
from dataclasses import dataclass
from datetime import datetime

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.io.filesystems import FileSystems

from transforms.framing import file_digest
from transforms.identity import LINK_SCHEMA, IdentityConfig
from transforms.identity_graph import ResolveIdentitiesByKey
from transforms.quarantine import HeldBack
from transforms.read import COUNT_FIELDS, ReadTouchpoints, SumCounts, touchpoint_of
from transforms.redact import PII_TYPES, SALT_ENV
from transforms.steps import (
    DUPLICATES,
    HELD,
    KEYS,
    REFS,
    UNSURE,
    FindDuplicates,
    LookUpCustomers,
    ProcessGroup,
    StageChunk,
    StagePublishedKeys,
    TagOpenTextsWithEmbeddings,
    WriteFailed,
    run_paths,
)
from transforms.tagging import Taxonomy
from transforms.write import read_parquet


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


def write_identity_report(report: dict, path: str) -> None:
    """identity_report.json: identifiers, customers, blocked links, hubs cut off, the largest customers."""
    with FileSystems.create(path) as handle:
        handle.write(json.dumps(report, indent=2).encode())


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
    # the published run the job carries forward (its dedup keys and identity links join the run's own),
    # and the lineage names of the files whose records leave the lake (changed, reprocessed, gone)
    previous_run: str | None = None
    removed: frozenset[str] = frozenset()


def fingerprint(path: str) -> tuple[str, str]:
    """(path, sha256 of its bytes as stored)."""
    return path, file_digest(path)[1]


def hash_on_workers(paths: list[str], options, out_path: str) -> dict[str, str]:
    """sha256 of each file, computed by the runner's workers (a small job of its own); path -> digest."""
    with beam.Pipeline(options=options) as pipeline:
        _ = (pipeline | "Files" >> beam.Create(sorted(paths)) | "Hash" >> beam.Map(fingerprint)
             | "Collect" >> beam.combiners.ToDict() | "Write" >> beam.Map(_write_json, out_path))
    with FileSystems.open(out_path) as handle:
        return json.loads(handle.read())


def _write_json(value, path: str) -> None:
    with FileSystems.create(path) as handle:
        handle.write(json.dumps(value).encode())


def published_key_files(run_dir: str | None) -> list[str]:
    if not run_dir:
        return []
    return sorted(m.path for m in FileSystems.match([posixpath.join(run_dir, "keys", "*.parquet")])[0].metadata_list)


def published_links(run_dir: str | None) -> list[str]:
    """The published run's link files: links/bucket=N.parquet (or one links.parquet, before schema 1.2)."""
    if not run_dir:
        return []
    found = FileSystems.match([posixpath.join(run_dir, "links", "*.parquet"), posixpath.join(run_dir, "links.parquet")])
    return sorted(m.path for result in found for m in result.metadata_list)


def read_links(path: str, removed: frozenset[str]) -> pa.Table:
    """A published links file, without the links of removed files."""
    links = read_parquet(path, schema=LINK_SCHEMA)
    if removed:
        links = links.filter(pc.invert(pc.is_in(links["source_file"], pa.array(sorted(removed), pa.string()))))
    return links


class IngestInteractions(beam.PTransform):
    """Input file paths -> the run's files. Returns the per-file counts and the failed-record files
    written, as (path, rows).

    `embedding_handler` replaces the packaged sentence encoder's model handler (tests)."""

    def __init__(self, spec: JobSpec, embedding_handler=None):
        super().__init__()
        self.spec = spec
        self.embedding_handler = embedding_handler

    def expand(self, files):
        spec = self.spec
        pipeline = files.pipeline
        paths = run_paths(spec.output, spec.run_id)
        stage = paths["stage"]
        parsed = files | "ReadTouchpoints" >> ReadTouchpoints(spec.input_root, spec.chunk_bytes, spec.salt, spec.adapters, spec.identity)
        # files whose records mostly failed: known once parsing is done, before any grouping step uses them
        held = beam.pvalue.AsSingleton(parsed["counts"] | "FilesToHoldBack" >> beam.CombineGlobally(HeldBack(spec.max_failed_share)))

        # Identities: the lake's links (this run's and the published ones) resolved by key, split by
        # identifier the way the records' identifiers are, and looked up where they are needed.
        carried_links = (pipeline | "PublishedLinkFiles" >> beam.Create(published_links(spec.previous_run))
                         | "ReadPublishedLinks" >> beam.Map(read_links, spec.removed))
        identities = (parsed["links"], carried_links) | "ResolveIdentities" >> ResolveIdentitiesByKey(
            stage, spec.key_buckets, spec.identity, paths["links"], held)
        resolution = identities["resolution"]
        _ = identities["report"] | "WriteIdentityReport" >> beam.Map(write_identity_report, paths["identity_report"])

        staged = parsed["good"] | "StageChunks" >> beam.ParDo(
            StageChunk(stage, spec.key_buckets, spec.buckets)).with_outputs(KEYS, REFS, main="records")
        carried_keys = (
            pipeline
            | "PublishedKeyFiles" >> beam.Create(published_key_files(spec.previous_run))
            | "StagePublishedKeys" >> beam.ParDo(StagePublishedKeys(stage, spec.key_buckets, spec.removed))
        )
        found = (
            (staged[KEYS], carried_keys)
            | "FlattenKeys" >> beam.Flatten()
            | "GroupKeysByBucket" >> beam.GroupByKey()
            | "FindDuplicates" >> beam.ParDo(FindDuplicates(stage, paths["keys"]), held).with_outputs(DUPLICATES, main="losers")
        )
        customers = (
            {"refs": staged[REFS], "resolution": resolution}
            | "JoinIdentifiers" >> beam.CoGroupByKey()
            | "LookUpCustomers" >> beam.ParDo(LookUpCustomers(stage))
        )
        grouped = {"records": staged.records, "losers": found.losers, "customers": customers} | "GroupByDay" >> beam.CoGroupByKey()
        process = ProcessGroup(spec.taxonomy, paths["interactions"], spec.run_id, spec.started, spec.tiers,
                               posixpath.join(stage, "tagged") if "embeddings" in spec.tiers else None, spec.identity)
        if "embeddings" not in spec.tiers:
            processed = grouped | "DropStitchTagWrite" >> beam.ParDo(process, held).with_outputs(HELD)
        else:
            processed = grouped | "DropStitchTag" >> beam.ParDo(process, held).with_outputs(UNSURE, HELD, main="tagged")
            _ = {"tagged": processed.tagged, "unsure": processed[UNSURE]} | "Embeddings" >> TagOpenTextsWithEmbeddings(
                spec.taxonomy, paths["interactions"], spec.run_id, self.embedding_handler)
        # each source of failed records is written in the step that found them
        written = [part | f"WriteFailed{i}" >> beam.ParDo(WriteFailed(paths["failed"]))
                   for i, part in enumerate((*parsed["failed"], processed[HELD]))]
        failed = written | "FailedFiles" >> beam.Flatten()
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
