"""Reading raw files as record-aligned chunks, and framing a chunk into an Arrow table of records.

How a file is framed is told from its bytes (transforms/framing.py). JSON Lines and CSV files are cut
into byte ranges that start and end on a record boundary (a newline outside CSV quotes), so each can
be read and parsed on its own, on any worker. Compressed and UTF-16 files, JSON documents and
concatenated objects are planned as a single chunk and streamed; a Parquet file is one chunk per row
group. Every framed record keeps the line it started on, so failures can name it.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, replace
from typing import BinaryIO, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.framing import (
    BOM,
    FRAME_SCHEMA,
    MAX_RECORD_BYTES,
    RAW_PAYLOAD_LIMIT,
    SIDELOAD_SCHEMA,
    Digesting,
    Framed,
    Layout,
    Prefixed,
    ReadDigest,
    detect_layout,
    file_digest,
    frame_json_values,
    frame_parquet,
    open_text_bytes,
    unwrap_lines,
)

DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
# A field is judged by MAX_RECORD_BYTES (record_too_large), not by Python's 128 KB csv field limit.
csv.field_size_limit(max(csv.field_size_limit(), 16 * MAX_RECORD_BYTES))


@dataclass(frozen=True)
class ChunkSpec:
    """A record-aligned byte range of one file. `end == -1` means: stream to the end of the file."""

    path: str
    touchpoint: str
    index: int
    start: int
    end: int
    first_line: int
    layout: Layout = Layout("jsonl")
    last: bool = True  # the file's last chunk
    digest: str | None = None  # sha256 of the chunk's bytes (the whole file's when streamed) as planned

    @property
    def chunk_id(self) -> str:
        return f"{self.path}#{self.index}"

    @property
    def header(self) -> tuple[str, ...] | None:
        return self.layout.header


def is_compressed(path: str) -> bool:
    return CompressionTypes.detect_compression_type(path) != CompressionTypes.UNCOMPRESSED


def _last_boundary(buf: bytes, quoted: bool) -> int:
    """Index just past the last record terminator in `buf`, or 0 if there is none.

    With `quoted` (CSV), a newline inside double quotes does not end a record; `buf` must start on a
    record boundary. Escaped quotes ("") keep the parity right, as RFC 4180 intends.
    """
    cut = buf.rfind(b"\n")
    if cut < 0:
        return 0
    if not quoted:
        return cut + 1
    quotes = buf.count(b'"', 0, cut)
    while quotes % 2:
        previous = buf.rfind(b"\n", 0, cut)
        if previous < 0:
            return 0
        quotes -= buf.count(b'"', previous, cut)
        cut = previous
    return cut + 1


def iter_blocks(stream: BinaryIO, chunk_bytes: int, quoted: bool) -> Iterator[tuple[int, int, bytes, int]]:
    """Yield (offset, lines_before, block, consumed): record-aligned blocks of about `chunk_bytes` each.

    `offset` is the block's position in the stream, `lines_before` the number of newlines before it and
    `consumed` the bytes of the stream it stands for. A record longer than `chunk_bytes` makes its block
    larger; when quotes never balance (a broken CSV), the block is cut at the last newline once it
    passes `chunk_bytes + MAX_RECORD_BYTES`. A line longer than that (a gzip bomb of one line) is kept
    only up to one byte over MAX_RECORD_BYTES, enough to fail as record_too_large, and the rest of it is
    read past: memory stays bounded whatever the line's length.
    """
    offset, lines, pending = 0, 0, b""
    while True:
        data = stream.read(chunk_bytes)
        buf = pending + data if pending else data
        if not data:
            if buf:
                yield offset, lines, buf, len(buf)
            return
        cut = _last_boundary(buf, quoted)
        if cut == 0 and quoted and len(buf) > chunk_bytes + MAX_RECORD_BYTES:
            cut = _last_boundary(buf, quoted=False)
        if cut == 0 and len(buf) > chunk_bytes + MAX_RECORD_BYTES:
            consumed, pending = _skip_line(stream, chunk_bytes, len(buf))
            yield offset, lines, buf[:MAX_RECORD_BYTES + 1] + b"\n", consumed
            offset += consumed
            lines += 1
            continue
        if cut == 0:
            pending = buf
            continue
        block, pending = buf[:cut], buf[cut:]
        yield offset, lines, block, len(block)
        offset += len(block)
        lines += block.count(b"\n")


def _skip_line(stream: BinaryIO, chunk_bytes: int, read: int) -> tuple[int, bytes]:
    """Read past the rest of an over-long line: (its length with the newline, what follows it)."""
    while True:
        data = stream.read(chunk_bytes)
        if not data:
            return read, b""
        newline = data.find(b"\n")
        if newline >= 0:
            return read + newline + 1, data[newline + 1:]
        read += len(data)


class _Limited(io.RawIOBase):
    """At most `size` bytes of a stream."""

    def __init__(self, stream: BinaryIO, size: int):
        self._stream, self._left = stream, size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(self._left if size < 0 else min(size, self._left))
        self._left -= len(data)
        return data


def _skip_header(stream: BinaryIO, header_rows: int) -> tuple[int, int, bytes]:
    """Consume `header_rows` CSV header records (quotes respected); return (bytes used, lines used, rest)."""
    head = stream.read(64 * 1024)
    pos = text_start = 0
    for _ in range(header_rows):
        while True:
            nl = head.find(b"\n", pos)
            if nl < 0:
                more = stream.read(64 * 1024)
                if not more:
                    nl = len(head)
                    break
                head += more
                continue
            if head.count(b'"', text_start, nl) % 2 == 0:
                break
            pos = nl + 1
        pos = text_start = nl + 1
    pos = min(pos, len(head))
    return pos, head.count(b"\n", 0, pos), head[pos:]


@dataclass(frozen=True)
class FilePlan:
    """A file's chunks and the (size, sha256) of the bytes the planner read: the file as this run saw it."""

    specs: list[ChunkSpec]
    size: int
    sha256: str


def plan_chunks(path: str, touchpoint: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES, layout: Layout | None = None) -> list[ChunkSpec]:
    """Split one file into chunks that can be read on their own, framed as its bytes say."""
    return plan_file(path, touchpoint, chunk_bytes, layout).specs


def plan_file(path: str, touchpoint: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES, layout: Layout | None = None) -> FilePlan:
    """Split one file into chunks, each with the digest of its bytes, so a reader can tell whether the
    file changed between planning and reading."""
    layout = layout or detect_layout(path)
    if layout.kind == "parquet":
        import pyarrow.parquet as pq

        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            metadata = pq.ParquetFile(handle).metadata
        specs, line = [], 1
        for group in range(metadata.num_row_groups):
            specs.append(ChunkSpec(path, touchpoint, group, group, group, line, layout, group == metadata.num_row_groups - 1))
            line += metadata.row_group(group).num_rows
        return FilePlan(specs, *file_digest(path))
    if not layout.splittable:
        size, sha = file_digest(path)
        specs = [] if layout.kind == "empty" else [ChunkSpec(path, touchpoint, 0, 0, -1, 1, layout, digest=sha)]
        return FilePlan(specs, size, sha)
    digest = ReadDigest()
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        stream = Digesting(handle, digest)
        head = stream.read(len(BOM))
        bom = len(BOM) if head == BOM else 0
        stream = Prefixed(head[bom:], stream)  # (a wrapper closes what it wraps when collected: keep each one)
        used, lines, rest = _skip_header(stream, layout.header_rows if layout.kind == "csv" else 0)
        used += bom
        stream = Prefixed(rest, stream)
        specs = []
        for offset, before, block, consumed in iter_blocks(stream, chunk_bytes, layout.kind == "csv"):
            start = used + offset
            sha = hashlib.sha256(block).hexdigest() if len(block) == consumed else _range_digest(path, start, consumed)
            specs.append(ChunkSpec(path, touchpoint, len(specs), start, start + consumed, lines + before + 1, layout, False, sha))
        digest.finish()
    if specs:
        specs[-1] = replace(specs[-1], last=True)
    return FilePlan(specs, digest.size, digest.hexdigest())


def _range_digest(path: str, start: int, size: int) -> str:
    """sha256 of `size` bytes of a file from `start` (a line too long to keep in memory, read again)."""
    digest = ReadDigest()
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        handle.seek(start)
        stream = Digesting(_Limited(handle, size), digest)
        while stream.read(4 * 1024 * 1024):
            pass
    return digest.hexdigest()


def read_chunk(spec: ChunkSpec, chunk_bytes: int = DEFAULT_CHUNK_BYTES, digest: ReadDigest | None = None) -> Iterator[tuple[int, bytes]]:
    """Yield (first_line, block) of a JSON Lines or CSV chunk: one block for a byte range, several for a
    streamed file. With `digest`, the chunk's bytes as read from the file are hashed into it."""
    quoted = spec.layout.kind == "csv"
    digest = digest or ReadDigest()
    if spec.end >= 0:
        with FileSystems.open(spec.path, compression_type=CompressionTypes.UNCOMPRESSED) as stream:
            stream.seek(spec.start)
            for _, before, block, _ in iter_blocks(Digesting(_Limited(stream, spec.end - spec.start), digest), chunk_bytes, quoted):
                yield spec.first_line + before, block
        return
    with open_text_bytes(spec.path, spec.layout, digest) as stream:
        _, lines, rest = _skip_header(stream, spec.layout.header_rows if quoted else 0)
        for _, before, block, _ in iter_blocks(Prefixed(rest, stream), chunk_bytes, quoted):
            yield lines + before + 1, block
        digest.finish()


def frame_chunk(spec: ChunkSpec, chunk_bytes: int = DEFAULT_CHUNK_BYTES, digest: ReadDigest | None = None) -> Iterator[Framed]:
    """Frame a chunk into records (FRAME_SCHEMA, plus `col_<name>` per column for CSV), piece by piece;
    with `digest`, the bytes read are hashed into it (not for Parquet, which is read by row group)."""
    kind = spec.layout.kind
    if kind == "parquet":
        yield frame_parquet(spec.path, spec.start, spec.first_line)
    elif kind == "json":
        digest = digest or ReadDigest()
        with open_text_bytes(spec.path, spec.layout, digest) as stream:
            yield from frame_json_values(stream, 1, chunk_bytes)
            digest.finish()
    elif kind == "jsonl":
        for first_line, block in read_chunk(spec, chunk_bytes, digest):
            yield unwrap_lines(frame_lines(block, first_line))
    elif kind == "csv":
        for first_line, block in read_chunk(spec, chunk_bytes, digest):
            yield Framed(frame_csv(block, first_line, spec.layout.header or (), spec.layout.delimiter), SIDELOAD_SCHEMA.empty_table())


# ---- framing: bytes -> one row per record -------------------------------------------------------

def _decode_lines(block: bytes) -> tuple[list[str], list[int]]:
    """Split a block into lines; return the lines and the indexes of lines that were not valid UTF-8."""
    try:
        return block.decode("utf-8").split("\n"), []
    except UnicodeDecodeError:
        lines, bad = [], []
        for i, raw in enumerate(block.split(b"\n")):
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                lines.append(raw.decode("utf-8", errors="replace"))
                bad.append(i)
        return lines, bad


def _errors_for(n: int, marks: dict[int, tuple[str, str]]) -> tuple[pa.Array, pa.Array]:
    types = [None] * n
    messages = [None] * n
    for i, (kind, message) in marks.items():
        types[i], messages[i] = kind, message
    return pa.array(types, pa.string()), pa.array(messages, pa.string())


def frame_lines(block: bytes, first_line: int) -> pa.Table:
    """One row per non-blank line (JSON Lines), split and checked in Arrow without a Python loop."""
    if block.startswith(BOM) and first_line == 1:
        block = block[len(BOM):]
    lines = pc.list_flatten(pc.split_pattern(pa.array([block], pa.binary()), b"\n"))
    if len(lines) and len(lines[-1].as_py()) == 0:
        lines = lines.slice(0, len(lines) - 1)
    numbers = pa.array(range(first_line, first_line + len(lines)), pa.int64())
    try:
        raw = lines.cast(pa.string())
        error_type = pa.nulls(len(raw), pa.string())
        error_message = pa.nulls(len(raw), pa.string())
    except pa.ArrowInvalid:  # some line is not UTF-8: find which, in Python (rare)
        decoded, bad = _decode_lines(b"\n".join(lines.to_pylist()))
        raw = pa.array(decoded, pa.string())
        error_type, error_message = _errors_for(len(raw), {i: ("invalid_utf8", "line is not valid UTF-8") for i in bad})
    raw = pc.utf8_rtrim(raw, characters="\r")
    too_large = pc.greater(pc.binary_length(raw), MAX_RECORD_BYTES)
    if pc.any(too_large).as_py():
        size = pc.cast(pc.binary_length(raw), pa.string())
        error_type = pc.if_else(too_large, "record_too_large", error_type)
        error_message = pc.if_else(too_large, pc.binary_join_element_wise(
            "record is ", size, f" bytes, over the {MAX_RECORD_BYTES} limit", ""), error_message)
        raw = pc.if_else(too_large, pc.utf8_slice_codeunits(raw, 0, RAW_PAYLOAD_LIMIT), raw)
    table = pa.Table.from_arrays([numbers, pa.array(np.zeros(len(raw), dtype=np.int64)), raw, pa.nulls(len(raw), pa.string()),
                                  error_type, error_message], schema=FRAME_SCHEMA)
    return table.filter(pc.not_equal(pc.utf8_trim_whitespace(table["raw"]), ""))


def frame_csv(block: bytes, first_line: int, header: tuple[str, ...], delimiter: str = ",") -> pa.Table:
    """One row per CSV record, every column as text; records of the wrong width become frame errors.

    A record never swallows the ones after it: when a quote opened on a line never closes (the record
    runs to the end of the block) or the CSV reader gives up on a record, that line fails on its own
    and framing resumes on the next line."""
    lines, bad = _decode_lines(block)
    bad_lines = {first_line + i for i in bad}
    width = len(header)
    last = len(lines) - (lines[-1] == "")  # the block ends with a newline: no line after it
    rows, starts, raws, marks = [], [], [], {}

    def fail(index: int, kind: str, message: str) -> None:
        marks[len(rows)] = (kind, message)
        rows.append([None] * width)
        starts.append(first_line + index)
        raws.append(lines[index].rstrip("\r")[:RAW_PAYLOAD_LIMIT])

    pos = 0
    while pos < len(lines):
        # Rows end at line feeds only: a lone carriage return inside a row is that row's failure, and the
        # reader's line count stays the index into `lines`.
        reader = csv.reader(io.StringIO("\n".join(lines[pos:]), newline="\n"), strict=False, delimiter=delimiter)
        previous_end, resume = 0, None
        try:
            for row in reader:
                start, end = pos + previous_end, pos + reader.line_num  # the record is lines[start:end]
                previous_end = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                record_lines = lines[start:end]
                raw = "\n".join(record_lines).rstrip("\r") if len(record_lines) > 1 else record_lines[0].rstrip("\r")
                if end >= last and len(record_lines) > 1 and raw.count('"') % 2:
                    fail(start, "malformed_csv", f"a quote opened on line {first_line + start} never closes")
                    resume = start + 1
                    break
                i = len(rows)
                if any(first_line + k in bad_lines for k in range(start, end)):
                    marks[i] = ("invalid_utf8", "record is not valid UTF-8")
                elif len(raw) > MAX_RECORD_BYTES:
                    marks[i] = ("record_too_large", f"record is {len(raw)} characters, over the {MAX_RECORD_BYTES} limit")
                    raw = raw[:RAW_PAYLOAD_LIMIT]
                elif "\x00" in raw:
                    marks[i] = ("malformed_csv", "record contains a NUL byte")
                elif len(row) != width:
                    marks[i] = ("csv_column_count", f"expected {width} columns, found {len(row)}")
                rows.append([None] * width if i in marks else row)
                starts.append(first_line + start)
                raws.append(raw)
        except csv.Error as exc:  # the reader gave up on a record (a NUL byte): that line fails, framing goes on
            start = pos + previous_end
            fail(start, "malformed_csv", str(exc))
            resume = start + 1
        if resume is None:
            break
        pos = resume
    error_type, error_message = _errors_for(len(rows), marks)
    columns = list(zip(*rows)) if rows else [()] * width
    arrays = [pa.array(starts, pa.int64()), pa.array(np.zeros(len(rows), dtype=np.int64)), pa.array(raws, pa.string()),
              pa.nulls(len(rows), pa.string()), error_type, error_message]
    arrays += [pa.array(col, pa.string()) for col in columns]
    names = list(FRAME_SCHEMA.names) + [f"col_{name}" for name in header]
    return pa.Table.from_arrays(arrays, names=names)
