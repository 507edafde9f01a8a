"""Beam steps after parsing: staging, dedup on keys, identifiers looked up by key, then per day-group
stitch → tag → write.

Records are shuffled through files, not through the runner: only (label, path) pairs go through
GroupByKey. Each parsed chunk is written three times as Arrow IPC under <run>/_stage/: its dedup keys
split by a hash of interaction_id (keys/bucket=N/), its records split by a hash of their UTC day
(records/group=N/), and the identifiers it names split by a hash of the identifier (refs/bucket=N/).
Nothing the whole lake holds is broadcast to every worker:

- dedup reads one key bucket at a time, with the published keys of that bucket, and writes the
  losing copies to the day group their record sits in (losers/group=N/);
- the resolved identities are split by the same identifier hash (resolution/bucket=N); each bucket's
  identifiers are looked up in its part and written to the day groups that named them
  (customers/group=N/);
- each day group is then read whole with its losers and its customers, stitched, tagged and written
  as one Parquet file per day.

Memory per step is bounded by one bucket or one group, which the job sizes from the input.
"""

from __future__ import annotations

import hashlib
import posixpath
import uuid
from datetime import datetime

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from transforms.dedup import KEY_COLUMNS, LOSER_SCHEMA, assign, drop_losers, duplicates_per_file, hash_buckets, rank_copies, split
from transforms.identity import RESOLUTION_SCHEMA, IdentityConfig, stitch
from transforms.quarantine import as_quarantined, held_mask, without_held
from transforms.read import counts
from transforms.schema import SCHEMA_VERSION, UTC_TIMESTAMP
from transforms.sources.base import macro_connection
from transforms.tagging import DEFAULT_TIERS, Tagger, Taxonomy
from transforms.write import read_arrow, read_parquet, write_arrow, write_by_date, write_failed, write_parquet

DUPLICATES = "duplicates"
SUPERSEDED = "superseded"
KEYS = "keys"
REFS = "refs"
# one identifier named by records of one day group: what the lookup step is asked
REF_SCHEMA = pa.schema([("source_customer_ref", pa.string()), ("date_group", pa.int32())])


def stage_file(stage_root: str, kind: str, folder: str) -> str:
    return posixpath.join(stage_root, kind, folder, f"{uuid.uuid4().hex}.arrow")


class BufferedStage(beam.DoFn):
    """Stages Arrow parts by (kind, number) under `stage_root`: parts are buffered across the elements of
    a bundle and written when the buffer passes `flush_bytes` (largest labels first) or the bundle ends,
    so the number of staging files grows with the data, not with elements x labels. Emits (number, path):
    on the main output for the kind `main_kind`, tagged with the kind's name for the others."""

    main_kind = ""

    def __init__(self, stage_root: str, flush_bytes: int = 128 * 1024 * 1024):
        self.stage_root, self.flush_bytes = stage_root, flush_bytes

    def start_bundle(self):
        self.buffers: dict[tuple[str, int], list[pa.Table]] = {}
        self.sizes: dict[tuple[str, int], int] = {}

    def add(self, kind: str, number: int, part: pa.Table) -> None:
        self.buffers.setdefault((kind, number), []).append(part)
        self.sizes[kind, number] = self.sizes.get((kind, number), 0) + part.nbytes

    def flush_if_full(self):
        if sum(self.sizes.values()) > self.flush_bytes:
            for label in sorted(self.sizes, key=self.sizes.get, reverse=True):
                yield self._write(label)
                if sum(self.sizes.values()) <= self.flush_bytes // 2:
                    break

    def finish_bundle(self):
        for label in list(self.sizes):
            out = self._write(label)
            if isinstance(out, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(out.tag, GlobalWindows.windowed_value(out.value))
            else:
                yield GlobalWindows.windowed_value(out)

    def _write(self, label: tuple[str, int]):
        kind, number = label
        parts = self.buffers.pop(label)
        del self.sizes[label]
        folder = f"group={number:05d}" if kind == "records" else f"bucket={number:05d}"
        path = write_arrow(pa.concat_tables(parts).combine_chunks(), stage_file(self.stage_root, kind, folder))
        return (number, path) if kind == self.main_kind else beam.pvalue.TaggedOutput(kind, (number, path))


class StageChunk(BufferedStage):
    """Parsed records -> (day group, records path); tagged KEYS, (id bucket, keys path); tagged REFS,
    (identifier bucket, identifiers path)."""

    main_kind = "records"

    def __init__(self, stage_root: str, id_buckets: int, date_groups: int, flush_bytes: int = 128 * 1024 * 1024):
        super().__init__(stage_root, flush_bytes)
        self.id_buckets, self.date_groups = id_buckets, date_groups

    def setup(self):
        self.con = macro_connection()

    def process(self, table: pa.Table):
        buckets, groups, ref_buckets = assign(self.con, table, self.id_buckets, self.date_groups)
        for bucket, keys in split(table.select(KEY_COLUMNS).append_column("date_group", groups), buckets):
            self.add(KEYS, bucket, keys)
        for group, records in split(table, groups):
            self.add("records", group, records)
        named = pc.is_valid(table["source_customer_ref"])
        refs = pa.table([table["source_customer_ref"], groups, ref_buckets], names=REF_SCHEMA.names + ["bucket"]).filter(named)
        refs = refs.group_by(refs.column_names).aggregate([])
        for bucket, part in split(refs.select(REF_SCHEMA.names), refs["bucket"].combine_chunks()):
            self.add(REFS, bucket, part)
        yield from self.flush_if_full()


class StagePublishedKeys(beam.DoFn):
    """A published key file -> (id bucket, path) of its keys, less those of removed files, split into
    this run's id buckets (with `published = true`), to meet the run's own keys in FindDuplicates."""

    def __init__(self, stage_root: str, id_buckets: int, removed: frozenset[str] = frozenset()):
        self.stage_root, self.id_buckets, self.removed = stage_root, id_buckets, sorted(removed)

    def setup(self):
        self.con = macro_connection()

    def process(self, path: str):
        keys = read_parquet(path)
        if "source_item" not in keys.column_names:  # keys published before records had one (schema 1.0.0)
            keys = keys.append_column("source_item", pa.array([0] * keys.num_rows, pa.int64()))
        keys = keys.select(KEY_COLUMNS)
        if self.removed:
            keys = keys.filter(pc.invert(pc.is_in(keys["source_file"], pa.array(self.removed, pa.string()))))
        keys = keys.append_column("published", pa.array([True] * keys.num_rows, pa.bool_()))
        for bucket, part in split(keys, hash_buckets(self.con, keys["interaction_id"], self.id_buckets)):
            yield bucket, write_arrow(part, stage_file(self.stage_root, "published_keys", f"bucket={bucket:05d}"))


class FindDuplicates(beam.DoFn):
    """(id bucket, [keys paths]) -> (day group, path) of the losing copies among this run's records,
    and per-file DUPLICATES counts.

    Keys paths may include the published lake's keys of the bucket (with `published = true`); the
    published records a newer version replaces are written to superseded/bucket=N.parquet, for the
    driver to drop from the carried lake. With `keys_dir`, the bucket's surviving keys are written
    there: the next run's published keys.
    """

    def __init__(self, stage_root: str, keys_dir: str | None = None):
        self.stage_root, self.keys_dir = stage_root, keys_dir

    def setup(self):
        self.con = macro_connection()
        self.duplicates = Metrics.counter("ingest", "duplicates")

    def process(self, element, held: dict[str, str] | None = None):
        bucket, paths = element
        keys = without_held(read_arrow(sorted(paths), promote=True), held or {})  # a held-back file supersedes nothing
        if "date_group" not in keys.column_names:  # only published keys in this bucket: none of them is this run's
            keys = keys.append_column("date_group", pa.nulls(keys.num_rows, pa.int32()))
        if "published" in keys.column_names:
            keys = keys.set_column(keys.schema.get_field_index("published"), "published", pc.fill_null(keys["published"], False))
        ranked = rank_copies(self.con, keys)
        if self.keys_dir:
            write_parquet(ranked.filter(pc.invert(ranked["loses"])).select(KEY_COLUMNS),
                          posixpath.join(self.keys_dir, f"bucket={bucket:05d}.parquet"))
        losers = ranked.filter(ranked["loses"])
        superseded = losers.filter(losers["published"]).select(LOSER_SCHEMA.names).cast(LOSER_SCHEMA)
        if superseded.num_rows:
            write_parquet(superseded, posixpath.join(self.stage_root, SUPERSEDED, f"bucket={bucket:05d}.parquet"))
        losers = losers.filter(pc.invert(losers["published"]))
        for source_file, n in duplicates_per_file(losers):
            self.duplicates.inc(n)
            yield beam.pvalue.TaggedOutput(DUPLICATES, counts(source_file, duplicates=n))
        for group, part in split(losers.select(LOSER_SCHEMA.names).cast(LOSER_SCHEMA), losers["date_group"].combine_chunks()):
            yield group, write_arrow(part, stage_file(self.stage_root, "losers", f"group={group:05d}"))


class LookUpCustomers(beam.DoFn):
    """(identifier bucket, {"refs": [paths], "resolution": [paths]}) -> (day group, path) of the
    customer each identifier of the bucket resolved to, for the day groups that named it."""

    def __init__(self, stage_root: str):
        self.stage_root = stage_root

    def process(self, element):
        _, staged = element
        refs, resolution = list(staged["refs"]), list(staged["resolution"])
        if not refs or not resolution:
            return
        asked = read_arrow(refs).group_by(REF_SCHEMA.names).aggregate([])
        found = asked.join(read_arrow(resolution), "source_customer_ref", join_type="inner")
        for group, part in split(found.select(RESOLUTION_SCHEMA.names), found["date_group"].combine_chunks()):
            yield group, write_arrow(part, stage_file(self.stage_root, "customers", f"group={group:05d}"))


UNSURE = "unsure"
HELD = "held"


class ProcessGroup(beam.DoFn):
    """(day group, {"records": [paths], "losers": [paths], "customers": [paths]}) -> drop losing copies,
    stitch identities, tag, write one file per day.

    Output: (path, rows) per Parquet file written; records of held-back files go out tagged HELD, as
    failed records of type `quarantined`. With `hold_root` (the embedding tier is on), the
    tagged group is staged there instead, as (group, path), and every text the fast tiers left
    'unknown' goes out tagged UNSURE as ((group, row), text) for RunInference.
    """

    def __init__(self, taxonomy: Taxonomy, root: str, run_id: str, ingested_at: datetime,
                 tiers: tuple[str, ...] = DEFAULT_TIERS, hold_root: str | None = None, identity: IdentityConfig | None = None):
        self.taxonomy, self.root, self.run_id, self.ingested_at = taxonomy, root, run_id, ingested_at
        self.identity = identity
        self.tiers = tuple(t for t in tiers if t != "embeddings")
        self.hold_root = hold_root
        self.written = Metrics.counter("ingest", "written_records")

    def setup(self):
        self.tagger = Tagger(self.taxonomy, self.tiers, embeddings_follow=self.hold_root is not None)

    def process(self, element, held: dict[str, str] | None = None):
        group, staged = element
        if not staged["records"]:
            return
        losers = read_arrow(sorted(staged["losers"])) if staged["losers"] else LOSER_SCHEMA.empty_table()
        resolution = read_arrow(sorted(staged["customers"])) if staged["customers"] else RESOLUTION_SCHEMA.empty_table()
        kept = drop_losers(read_arrow(sorted(staged["records"])), losers)
        mask = held_mask(kept, held or {})
        if mask is not None:
            yield beam.pvalue.TaggedOutput(HELD, as_quarantined(kept.filter(mask), held))
            kept = kept.filter(pc.invert(mask))
        tagged = self.tagger.tag(stitch(kept, resolution, self.identity))
        n = tagged.num_rows
        tagged = (tagged.append_column("schema_version", pa.array([SCHEMA_VERSION] * n, pa.string()))
                  .append_column("ingested_at", pa.array([self.ingested_at] * n, UTC_TIMESTAMP))
                  .append_column("run_id", pa.array([self.run_id] * n, pa.string())))
        if self.hold_root:
            yield group, write_arrow(tagged, posixpath.join(self.hold_root, f"group={group:05d}.arrow"))
            rows = self.tagger.reasons.open_texts(tagged)
            for row, text in zip(rows.tolist(), tagged["text"].take(pa.array(rows)).to_pylist()):
                yield beam.pvalue.TaggedOutput(UNSURE, ((group, row), text))
            return
        self.written.inc(n)
        yield from write_by_date(tagged, self.root, part_name(self.run_id, group))


@beam.ptransform_fn
def TagOpenTextsWithEmbeddings(held: dict, taxonomy: Taxonomy, root: str, run_id: str, handler=None):
    """{"tagged": held groups, "unsure": their open texts} -> RunInference on the texts -> patched groups written by day."""
    from apache_beam.ml.inference.base import KeyedModelHandler, RunInference

    from transforms.tagging.embeddings import ReasonEmbeddingHandler, calibrations, load_model, reason_examples

    if handler is None:
        handler = ReasonEmbeddingHandler(reason_examples(taxonomy), load_model, *calibrations(taxonomy))
    predictions = (
        held["unsure"]
        | "EmbedOpenTexts" >> RunInference(KeyedModelHandler(handler))
        | "ByGroup" >> beam.Map(lambda kv: (kv[0][0], (kv[0][1], *kv[1].inference)))
    )
    return (
        {"tagged": held["tagged"], "predictions": predictions}
        | "JoinPredictions" >> beam.CoGroupByKey()
        | "ApplyEmbeddingsWrite" >> beam.ParDo(ApplyEmbeddings(taxonomy, root, run_id))
    )


class ApplyEmbeddings(beam.DoFn):
    """(group, {"tagged": [path], "predictions": [(row, reason, score, nearest)]}) -> patch, re-phase, write."""

    def __init__(self, taxonomy: Taxonomy, root: str, run_id: str):
        self.taxonomy, self.root, self.run_id = taxonomy, root, run_id
        self.written = Metrics.counter("ingest", "written_records")

    def setup(self):
        self.tagger = Tagger(self.taxonomy, ("rules",))

    def process(self, element):
        group, joined = element
        table = read_arrow(list(joined["tagged"]))
        predictions = list(joined["predictions"])
        if predictions:
            rows, reasons, scores, nearest = (list(x) for x in zip(*predictions))
            table = self.tagger.reasons.apply_predictions(table, "embeddings", rows, reasons, scores, nearest)
            table = self.tagger.phases.tag(table.drop_columns(["journey_phase", "phase_signal"]))
        self.written.inc(table.num_rows)
        yield from write_by_date(table, self.root, part_name(self.run_id, group))


class WriteFailed(beam.DoFn):
    """Failed-record table -> one Parquet file named after the chunk it came from (stable on rerun)."""

    def __init__(self, root: str):
        self.root = root

    def process(self, table: pa.Table):
        first = f"{table['source_file'][0].as_py()}:{table['source_line'][0].as_py()}"
        part = "part-" + hashlib.sha1(first.encode()).hexdigest()[:16]
        yield write_failed(table, self.root, part)


def part_name(run_id: str, group: int) -> str:
    """Parquet part name for a day group: named after the run, so it never clashes with carried files."""
    return f"part-{run_id}-{group:05d}"


def run_paths(output: str, run_id: str) -> dict[str, str]:
    run_dir = posixpath.join(output, "runs", run_id)
    return {
        "run": run_dir,
        "interactions": posixpath.join(run_dir, "interactions"),
        "failed": posixpath.join(run_dir, "failed"),
        "manifest": posixpath.join(run_dir, "manifest.json"),
        "stage": posixpath.join(run_dir, "_stage"),
        "keys": posixpath.join(run_dir, "keys"),
        "links": posixpath.join(run_dir, "links"),
        "identity_report": posixpath.join(run_dir, "identity_report.json"),
        "quality": posixpath.join(run_dir, "quality"),
    }
