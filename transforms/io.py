"""Reading raw files as record-aligned chunks, and framing a chunk into an Arrow table of records.

A chunk is a byte range of one file that starts and ends on a record boundary (a newline outside CSV
quotes), so each can be read and parsed on its own, on any worker. Compressed files cannot be seeked:
they are planned as a single chunk and streamed block by block. Every framed record keeps the line it
started on, so failures can name it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import BinaryIO, Iterator

import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

BOM = b"\xef\xbb\xbf"
DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
RAW_PAYLOAD_LIMIT = 64 * 1024

FRAME_SCHEMA = pa.schema([
    ("source_line", pa.int64()),
    ("raw", pa.string()),
    ("frame_error", pa.string()),
    ("frame_message", pa.string()),
])


@dataclass(frozen=True)
class ChunkSpec:
    """A record-aligned byte range of one file. `end == -1` means: stream to the end of the file."""

    path: str
    touchpoint: str
    index: int
    start: int
    end: int
    first_line: int
    header: tuple[str, ...] | None = None

    @property
    def chunk_id(self) -> str:
        return f"{self.path}#{self.index}"


def is_compressed(path: str) -> bool:
    return CompressionTypes.detect_compression_type(path) != CompressionTypes.UNCOMPRESSED


def open_raw(path: str) -> BinaryIO:
    """Open a file through Beam's FileSystems (local, gs://, s3://, ...), decompressing by suffix."""
    return FileSystems.open(path, compression_type=CompressionTypes.AUTO)


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


def iter_blocks(stream: BinaryIO, chunk_bytes: int, quoted: bool) -> Iterator[tuple[int, int, bytes]]:
    """Yield (offset, lines_before, block): record-aligned blocks of about `chunk_bytes` each.

    `offset` is the block's position in the stream and `lines_before` the number of newlines before it.
    A record longer than `chunk_bytes` makes its block larger; when quotes never balance (a broken CSV),
    the block is cut at the last newline once it passes `chunk_bytes + MAX_RECORD_BYTES`.
    """
    offset, lines, pending = 0, 0, b""
    while True:
        data = stream.read(chunk_bytes)
        buf = pending + data if pending else data
        if not data:
            if buf:
                yield offset, lines, buf
            return
        cut = _last_boundary(buf, quoted)
        if cut == 0 and quoted and len(buf) > chunk_bytes + MAX_RECORD_BYTES:
            cut = _last_boundary(buf, quoted=False)
        if cut == 0:
            pending = buf
            continue
        block, pending = buf[:cut], buf[cut:]
        yield offset, lines, block
        offset += len(block)
        lines += block.count(b"\n")


def _skip_header(stream: BinaryIO, header_rows: int) -> tuple[int, int, tuple[str, ...] | None, bytes]:
    """Consume a BOM and `header_rows` CSV header records; return (bytes used, lines used, names, rest)."""
    head = stream.read(64 * 1024)
    used = len(BOM) if head.startswith(BOM) else 0
    if header_rows == 0:
        return used, 0, None, head[used:]
    text_start = used
    pos = used
    names = None
    for row in range(header_rows):
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
        if row == 0:
            first = head[used:nl].decode("utf-8", errors="replace").rstrip("\r")
            names = tuple(next(csv.reader([first]), []))
        pos = text_start = nl + 1
    lines = head.count(b"\n", 0, min(pos, len(head)))
    return min(pos, len(head)), lines, names, head[pos:]


def plan_chunks(path: str, touchpoint: str, framing: str, header_rows: int = 0,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> list[ChunkSpec]:
    """Split one file into record-aligned chunks (one streamed chunk for compressed files and documents)."""
    whole = is_compressed(path) or framing == "json_document"
    with open_raw(path) as stream:
        used, lines, header, rest = _skip_header(stream, header_rows if framing == "csv" else 0)
        if whole:
            return [ChunkSpec(path, touchpoint, 0, 0, -1, lines + 1, header)]
        specs = []
        for offset, before, block in iter_blocks(_Prefixed(rest, stream), chunk_bytes, framing == "csv"):
            specs.append(ChunkSpec(path, touchpoint, len(specs), used + offset, used + offset + len(block),
                                   lines + before + 1, header))
    return specs


class _Prefixed(io.RawIOBase):
    """A read-only stream that returns `prefix` first, then the rest of `stream`."""

    def __init__(self, prefix: bytes, stream: BinaryIO):
        self._prefix, self._stream = prefix, stream

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            data, self._prefix = (self._prefix, b"") if size < 0 or size >= len(self._prefix) else (
                self._prefix[:size], self._prefix[size:])
            return data
        return self._stream.read(size)


def read_chunk(spec: ChunkSpec, header_rows: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
               quoted: bool = False) -> Iterator[tuple[int, bytes]]:
    """Yield (first_line, block) for a chunk: one block for a byte range, several for a streamed file."""
    if spec.end >= 0:
        with FileSystems.open(spec.path, compression_type=CompressionTypes.UNCOMPRESSED) as stream:
            stream.seek(spec.start)
            yield spec.first_line, stream.read(spec.end - spec.start)
        return
    with open_raw(spec.path) as stream:
        _, lines, _, rest = _skip_header(stream, header_rows if spec.header is not None else 0)
        if spec.header is None and spec.first_line > 1:
            lines = spec.first_line - 1
        if chunk_bytes <= 0:  # documents are read whole
            yield lines + 1, rest + stream.read()
            return
        for _, before, block in iter_blocks(_Prefixed(rest, stream), chunk_bytes, quoted):
            yield lines + before + 1, block


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
    table = pa.Table.from_arrays([numbers, raw, error_type, error_message], schema=FRAME_SCHEMA)
    return table.filter(pc.not_equal(pc.utf8_trim_whitespace(table["raw"]), ""))


def frame_csv(block: bytes, first_line: int, header: tuple[str, ...]) -> pa.Table:
    """One row per CSV record, every column as text; records of the wrong width become frame errors."""
    lines, bad = _decode_lines(block)
    text = "\n".join(lines)
    bad_lines = {first_line + i for i in bad}
    width = len(header)
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    rows, starts, raws, marks = [], [], [], {}
    previous_end = 0
    try:
        for row in reader:
            end = reader.line_num
            start = previous_end + 1
            previous_end = end
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            record_lines = lines[start - 1:end]
            raw = "\n".join(record_lines).rstrip("\r") if len(record_lines) > 1 else record_lines[0].rstrip("\r")
            i = len(rows)
            line_no = first_line + start - 1
            if any(first_line + k in bad_lines for k in range(start - 1, end)):
                marks[i] = ("invalid_utf8", "record is not valid UTF-8")
            elif len(raw) > MAX_RECORD_BYTES:
                marks[i] = ("record_too_large", f"record is {len(raw)} characters, over the {MAX_RECORD_BYTES} limit")
                raw = raw[:RAW_PAYLOAD_LIMIT]
            elif "\x00" in raw:
                marks[i] = ("malformed_csv", "record contains a NUL byte")
            elif len(row) != width:
                marks[i] = ("csv_column_count", f"expected {width} columns, found {len(row)}")
            if i in marks:
                row = [None] * width
            rows.append(row)
            starts.append(line_no)
            raws.append(raw)
    except csv.Error as exc:  # e.g. a NUL byte; the rest of the block becomes one failed record
        start = previous_end + 1
        rows.append([None] * width)
        starts.append(first_line + start - 1)
        raws.append("\n".join(lines[start - 1:])[:RAW_PAYLOAD_LIMIT])
        marks[len(rows) - 1] = ("malformed_csv", str(exc))
    error_type, error_message = _errors_for(len(rows), marks)
    columns = list(zip(*rows)) if rows else [()] * width
    arrays = [pa.array(starts, pa.int64()), pa.array(raws, pa.string()), error_type, error_message]
    arrays += [pa.array(col, pa.string()) for col in columns]
    names = list(FRAME_SCHEMA.names) + [f"col_{name}" for name in header]
    return pa.Table.from_arrays(arrays, names=names)


def frame_json_document(con, block: bytes, record_key: str, sideload_key: str | None = None) -> tuple[pa.Table, pa.Table]:
    """Records of one JSON document (an API page such as Zendesk's {"tickets": [...], "users": [...]}).

    `source_line` is the record's 1-based position in the array. A document that does not parse is one
    failed record. Returns the records and the side-loaded objects (e.g. users), each as raw JSON text,
    split out by DuckDB (`con`) without building Python objects.
    """
    empty_side = pa.table({"raw": pa.array([], pa.string())})
    def failed(kind: str, message: str, raw: str) -> tuple[pa.Table, pa.Table]:
        return pa.Table.from_pylist(
            [{"source_line": 1, "raw": raw[:RAW_PAYLOAD_LIMIT], "frame_error": kind, "frame_message": message}],
            schema=FRAME_SCHEMA), empty_side
    if block.startswith(BOM):
        block = block[len(BOM):]
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        return failed("invalid_utf8", f"document is not valid UTF-8 ({exc.reason} at byte {exc.start})",
                      block.decode("utf-8", errors="replace"))
    if not text.strip():
        return FRAME_SCHEMA.empty_table(), empty_side
    if not con.execute("select json_valid(?)", [text]).fetchall()[0][0]:
        try:
            json.loads(text)
            reason = "not valid JSON"
        except json.JSONDecodeError as exc:  # only for broken documents: say where it breaks
            reason = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        return failed("malformed_json", f"document is {reason}", text)
    def array(key: str) -> pa.Array | None:
        path = "$." + key.replace("'", "''")
        found = con.execute(f"select json_type(?::json, '{path}') = 'ARRAY'", [text]).fetchall()[0][0]
        if not found:
            return None
        return con.sql(f"select unnest(json_extract(?::json, '{path}[*]'))::varchar as raw", params=[text]) \
            .to_arrow_table()["raw"].combine_chunks()
    raws = array(record_key)
    if raws is None:
        return failed("missing_field", f"document has no '{record_key}' array", text)
    table = pa.Table.from_arrays(
        [pa.array(range(1, len(raws) + 1), pa.int64()), raws.cast(pa.string()),
         pa.nulls(len(raws), pa.string()), pa.nulls(len(raws), pa.string())], schema=FRAME_SCHEMA)
    side = array(sideload_key) if sideload_key else None
    return table, (pa.table({"raw": side.cast(pa.string())}) if side is not None else empty_side)
