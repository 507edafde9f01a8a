"""Beam steps that turn raw file paths into parsed Arrow tables, failed records and per-file counts.

Elements are whole Arrow tables (one per file chunk), never single events.
"""

from __future__ import annotations

import os
import posixpath
import stat
import zlib
from dataclasses import dataclass, field

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.framing import ReadDigest, detect_layout
from transforms.identity import IdentityConfig, identity_links
from transforms.io import DEFAULT_CHUNK_BYTES, ChunkSpec, frame_chunk, is_compressed, plan_file
from transforms.parse import failed_file, parse_framed
from transforms.redact import PII_TYPES, lineage_name, pii_salt
from transforms.sources import default_adapters
from transforms.sources.base import SourceAdapter, connect

FAILED = "failed"
COUNTS = "counts"
LINKS = "links"
PRINTS = "prints"    # (file, (size, sha256)) of the bytes the planner read
CHANGED = "changed"  # file: a chunk's bytes differed from the planner's, the file changed while read


def touchpoint_of(path: str, input_root: str) -> str | None:
    """The touchpoint folder a file sits in: <input_root>/<touchpoint>/..."""
    relative = path[len(input_root):].lstrip("/\\") if path.startswith(input_root) else path
    parts = relative.replace("\\", "/").split("/")
    return parts[0] if len(parts) > 1 else None


def is_hidden(path: str, input_root: str = "") -> bool:
    """Files and folders starting with '_' or '.', at any depth below the root, are bookkeeping (e.g.
    _truth.json, a _archive/ or .snapshot/ folder), not input."""
    relative = path[len(input_root):] if input_root and path.startswith(input_root) else path
    return any(part.startswith(("_", ".")) for part in relative.replace("\\", "/").split("/") if part)


# Per-file counts travel as one tuple in this order: record fates, protocol messages that carry no record
# (Airbyte STATE, LOG...), then PII values redacted per type.
COUNT_FIELDS = ("read", "good", "failed", "duplicates", "skipped") + tuple(f"redacted_{t.lower()}" for t in PII_TYPES)


def counts(path: str, read: int = 0, good: int = 0, failed: int = 0, duplicates: int = 0, skipped: int = 0,
           redacted: dict[str, int] | None = None):
    redacted = redacted or {}
    return path, (read, good, failed, duplicates, skipped) + tuple(redacted.get(t, 0) for t in PII_TYPES)


class PlanChunks(beam.DoFn):
    """File path -> chunks that can be read on their own, framed as the file's bytes say.

    'data/raw/web/events-0001.jsonl' -> ChunkSpec(path, 'web', index=0, start=0, end=8388521, first_line=1), ...
    plus (file, (size, sha256)) of the bytes read while planning, on PRINTS. A file in an unknown
    touchpoint folder, one that cannot be opened, and one whose bytes hold no record at all (blank
    lines) each become one failed record. Files are named by their lineage name (see lineage_name).
    """

    def __init__(self, input_root: str, adapters: dict[str, tuple[SourceAdapter, ...]], chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                 salt: str | None = None):
        self.input_root, self.adapters = input_root, adapters
        self.chunk_bytes = chunk_bytes
        self.salt = salt if salt is not None else pii_salt()[0]
        self.files = Metrics.counter("ingest", "files")

    def process(self, path: str):
        name = lineage_name(path, self.salt)
        touchpoint = touchpoint_of(path, self.input_root)
        adapters = self.adapters.get(touchpoint or "")
        if adapters is None:
            yield beam.pvalue.TaggedOutput(FAILED, failed_file(
                name, touchpoint, "unknown_touchpoint",
                f"no adapter for folder {touchpoint!r}; known: {', '.join(sorted(self.adapters))}"))
            yield beam.pvalue.TaggedOutput(COUNTS, counts(name, read=1, failed=1))
            return
        self.files.inc()
        try:
            layout = detect_layout(path)
            planned = plan_file(path, touchpoint, self.chunk_bytes, layout)
        except Exception as exc:  # unreadable or corrupt file: one counted failure, never a crash
            yield beam.pvalue.TaggedOutput(FAILED, failed_file(name, touchpoint, "unreadable_file", f"{type(exc).__name__}: {exc}"))
            yield beam.pvalue.TaggedOutput(COUNTS, counts(name, read=1, failed=1))
            return
        yield beam.pvalue.TaggedOutput(PRINTS, (name, (planned.size, planned.sha256)))
        if not planned.specs:
            if layout.kind == "empty" and planned.size > 0:
                yield beam.pvalue.TaggedOutput(FAILED, failed_file(name, touchpoint, "no_records", "file holds only white space"))
                yield beam.pvalue.TaggedOutput(COUNTS, counts(name, read=1, failed=1))
            else:
                yield beam.pvalue.TaggedOutput(COUNTS, counts(name))
        yield from planned.specs


class ParseChunk(beam.DoFn):
    """ChunkSpec -> Arrow tables of canonical records (main), failed records, counts and identity links.

    A chunk of web/events-0001.jsonl holding
        {"messageId":"m1","type":"page","anonymousId":"a1","timestamp":"2026-02-10T20:52:32Z",...}
        {"messageId":"m2","type":"page",
    gives one good row (web:m1) and one failed row (malformed_json, line 2).
    """

    def __init__(self, adapters: dict[str, tuple[SourceAdapter, ...]], chunk_bytes: int = DEFAULT_CHUNK_BYTES, salt: str | None = None,
                 identity: IdentityConfig | None = None):
        self.adapters, self.identity = adapters, identity
        self.chunk_bytes = chunk_bytes
        self.salt = salt if salt is not None else pii_salt()[0]
        self.good_records = Metrics.counter("ingest", "good_records")
        self.failed_records = Metrics.counter("ingest", "failed_records")

    def setup(self):
        self.con = connect(self.salt, self.identity)

    def process(self, spec: ChunkSpec):
        adapters = self.adapters[spec.touchpoint]
        name = lineage_name(spec.path, self.salt)
        read = good = failed = skipped = 0
        redacted = dict.fromkeys(PII_TYPES, 0)
        line = spec.first_line
        digest = ReadDigest()
        try:
            for framed in frame_chunk(spec, self.chunk_bytes, digest):
                skipped += framed.skipped
                if framed.records.num_rows:
                    line = framed.records["source_line"][0].as_py()
                parsed = parse_framed(self.con, adapters, spec.touchpoint, framed, name, spec.layout)
                read += parsed.read
                good += parsed.good.num_rows
                failed += parsed.failed.num_rows
                for token, n in parsed.redacted.items():
                    redacted[token] += n
                if parsed.good.num_rows:
                    yield parsed.good
                    links = identity_links(parsed.good)
                    if links.num_rows:
                        yield beam.pvalue.TaggedOutput(LINKS, links)
                if parsed.failed.num_rows:
                    yield beam.pvalue.TaggedOutput(FAILED, parsed.failed)
            if read == 0 and skipped == 0 and spec.index == 0 and spec.last:
                yield beam.pvalue.TaggedOutput(FAILED, failed_file(
                    name, spec.touchpoint, "no_records", f"file has bytes but no records ({spec.layout.describe()})"))
                read, failed = 1, 1
            if spec.digest is not None and digest.hexdigest() != spec.digest:
                yield beam.pvalue.TaggedOutput(CHANGED, name)
        except Exception as exc:
            # A corrupt .gz or a vanished file: what was read stands, the rest is one failure. Anything
            # else is a fault of ours, recorded as internal_error so the quality gate refuses the run.
            kind = "unreadable_file" if isinstance(exc, (OSError, EOFError, zlib.error)) else "internal_error"
            yield beam.pvalue.TaggedOutput(FAILED, failed_file(name, spec.touchpoint, kind, f"{type(exc).__name__}: {exc}", line))
            read += 1
            failed += 1
        self.good_records.inc(good)
        self.failed_records.inc(failed)
        yield beam.pvalue.TaggedOutput(COUNTS, counts(name, read, good, failed, skipped=skipped, redacted=redacted))


class SumCounts(beam.CombineFn):
    """Element-wise sum of count tuples (see COUNT_FIELDS)."""

    def create_accumulator(self):
        return (0,) * len(COUNT_FIELDS)

    def add_input(self, acc, value):
        return tuple(a + b for a, b in zip(acc, value))

    def merge_accumulators(self, accumulators):
        total = self.create_accumulator()
        for acc in accumulators:
            total = self.add_input(total, acc)
        return total

    def extract_output(self, acc):
        return acc


@beam.ptransform_fn
def ReadTouchpoints(pipeline_or_files, input_root: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES, salt: str | None = None,
                    adapters: dict[str, tuple[SourceAdapter, ...]] | None = None, identity: IdentityConfig | None = None):
    """Paths -> {'good', 'failed', 'counts', 'links', 'prints', 'changed'} PCollections; `adapters`
    (folder -> its adapters) default to data/config/touchpoints.yml.

    'failed' is a pair of PCollections (files that failed whole while planning, records that failed
    parsing), left unflattened: a consumer applied to each runs in the step that made its records, so a
    runner need not hold them all until a later step."""
    adapters = default_adapters() if adapters is None else adapters
    planned = pipeline_or_files | "PlanChunks" >> beam.ParDo(PlanChunks(input_root, adapters, chunk_bytes, salt)).with_outputs(
        FAILED, COUNTS, PRINTS, main="chunks")
    parsed = (
        planned.chunks
        | "SpreadChunks" >> beam.Reshuffle()
        | "ParseChunks" >> beam.ParDo(ParseChunk(adapters, chunk_bytes, salt, identity)).with_outputs(FAILED, COUNTS, LINKS, CHANGED, main="good")
    )
    failed = (planned[FAILED], parsed[FAILED])
    counted = (planned[COUNTS], parsed[COUNTS]) | "FlattenCounts" >> beam.Flatten()
    return {"good": parsed.good, "failed": failed, "counts": counted, "links": parsed[LINKS],
            "prints": planned[PRINTS], "changed": parsed[CHANGED]}


@dataclass(frozen=True)
class InputListing:
    """What a run reads, and every path under the input root it does not read, with why."""

    files: list[tuple[str, int]]          # (path, size) of each regular file under <input>/<touchpoint>/
    skipped: list[tuple[str, str]]        # (path, reason)
    modified: dict[str, float] = field(default_factory=dict)  # path -> when it was last written (seconds)


def list_input(input_root: str) -> InputListing:
    """The input files: regular files under <input_root>/<touchpoint>/ at any depth.

    Names starting with '_' or '.' (at any depth) are bookkeeping and skipped. On a local disk, a
    symbolic link is read only when it leads to a regular file inside the input root, and folders behind
    links are not entered (no loops); anything that is not a regular file (a FIFO, a socket, a device)
    is skipped unopened, and so are files at the root itself. Every skipped path is listed with its reason."""
    if "://" in input_root:
        from apache_beam.io.filesystems import FileSystems

        matched = FileSystems.match([posixpath.join(input_root.rstrip("/"), "**")])[0].metadata_list
        files = [(m.path, m.size_in_bytes) for m in matched]
        keep = [(p, n) for p, n in files if not is_hidden(p, input_root) and touchpoint_of(p, input_root) is not None]
        skipped = [(p, "file at the input root, outside any touchpoint folder") for p, _ in files
                   if not is_hidden(p, input_root) and touchpoint_of(p, input_root) is None]
        return InputListing(sorted(keep), sorted(skipped), {m.path: m.last_updated_in_seconds for m in matched})
    root = os.path.realpath(input_root)
    files, skipped, modified = [], [], {}
    for folder, dirs, names in os.walk(input_root):
        for name in sorted(dirs):
            path = os.path.join(folder, name)
            if name.startswith(("_", ".")):
                skipped.append((path, "bookkeeping folder (its name starts with _ or .)"))
            elif os.path.islink(path):
                skipped.append((path, "a linked folder is not entered"))
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")) and not os.path.islink(os.path.join(folder, d)))
        for name in sorted(names):
            path = os.path.join(folder, name)
            if name.startswith(("_", ".")):
                skipped.append((path, "bookkeeping file (its name starts with _ or .)"))
                continue
            reason = _unreadable_reason(path, root)
            if reason is None and os.path.dirname(os.path.abspath(path)) == os.path.abspath(input_root):
                reason = "file at the input root, outside any touchpoint folder"
            if reason:
                skipped.append((path, reason))
            else:
                status = os.stat(path)
                files.append((path, status.st_size))
                modified[path] = status.st_mtime
    return InputListing(sorted(files), sorted(skipped), modified)


def _unreadable_reason(path: str, root: str) -> str | None:
    """Why a path under the input is not read, or None for a regular file that stays inside the root."""
    if os.path.islink(path):
        target = os.path.realpath(path)
        if not os.path.exists(target):
            return "dangling or looping symbolic link"
        if os.path.commonpath([root, target]) != root:
            return "symbolic link leading outside the input"
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device)"
    return None


def list_input_files(input_root: str) -> list[tuple[str, int]]:
    """(path, size) of every file the run reads (see list_input)."""
    return list_input(input_root).files


def estimated_raw_bytes(files: list[tuple[str, int]], gzip_ratio: int = 6) -> int:
    """Input size as parsed: compressed files count as `gzip_ratio` times their size."""
    return sum(size * (gzip_ratio if is_compressed(path) else 1) for path, size in files)
