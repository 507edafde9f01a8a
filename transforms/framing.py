"""Framing by content: what a file holds is told from its bytes, never from its folder or extension.

`detect_layout` looks at the first bytes (after gzip, which is recognised by its magic number too) and
says which of these a file is:

    jsonl    one JSON value per line (JSON Lines, NDJSON)
    json     anything else that starts with '{' or '[': one JSON document (pretty-printed or not), a JSON
             array, or JSON objects one after the other with or without newlines (Kinesis Firehose)
    csv      delimiter-separated text (comma, semicolon, tab or pipe), with one to three header rows
    parquet  a Parquet file (dlt, Airbyte and other loaders write them)

Envelopes are unwrapped generically, whatever the framing (`unwrap`): a Segment batch, a Stripe list, an
Airbyte message or record, an EL loader's raw row, an Intercom webhook notification, a dlt row, and an
API list page (an object without an id whose records sit in one list key). Each record keeps the line
it starts on and the entity name its envelope gave it (`stream`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zlib
from dataclasses import dataclass, replace
from typing import BinaryIO, Iterator

import pyarrow as pa
import pyarrow.compute as pc

BOM = b"\xef\xbb\xbf"
UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
SNIFF_BYTES = 64 * 1024
DELIMITERS = (",", "\t", ";", "|")
# A JSON value is decoded whole: one larger than this (not an array, whose items are read one by one)
# is a failed record, so memory stays bounded.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024  # one record, whatever the framing; larger ones fail as record_too_large
RAW_PAYLOAD_LIMIT = 64 * 1024   # what a failed record keeps of its raw text

FRAME_SCHEMA = pa.schema([
    ("source_line", pa.int64()),
    ("source_item", pa.int64()),  # position among the records that start on the same line
    ("raw", pa.string()),
    ("stream", pa.string()),
    ("frame_error", pa.string()),
    ("frame_message", pa.string()),
])
SIDELOAD_SCHEMA = pa.schema([("stream", pa.string()), ("raw", pa.string())])

# Airbyte protocol message types; only RECORD carries a record.
AIRBYTE_TYPES = {"RECORD", "STATE", "LOG", "SPEC", "CONNECTION_STATUS", "CATALOG", "TRACE", "CONTROL", "DESTINATION_CATALOG"}
# Keys beside a page's records that say it is a page: pagination and counts as the APIs write them.
PAGE_KEYS = {"next_page", "previous_page", "next_page_uri", "previous_page_uri", "first_page_uri", "page", "pages",
             "page_size", "per_page", "links", "has_more", "count", "total", "total_count", "end_time", "end_id",
             "end_of_stream", "after_cursor", "before_cursor", "after_url", "before_url", "meta", "cursor", "url",
             "uri", "start", "end", "next", "offset", "limit"}
# Lists an API page carries beside its records, for joining (Zendesk's include=users and the like).
SIDELOAD_KEYS = {"users", "organizations", "groups", "brands", "metric_sets", "last_audits", "comment_authors",
                 "included", "dates", "ticket_forms"}
# JSON Lines lines worth a closer look for an envelope; the rest go straight to the adapters. A list
# (PAGE_HINT) may hold an API page's records, or be only nested in a record (order lines, message parts,
# a Stripe invoice's lines): those lines are looked at only when the first of them in a chunk are envelopes.
ENVELOPE_HINT = re.compile(
    r'"(batch|_airbyte_data|emitted_at|_dlt_id|notification_event)"'
    r'|"type"\s*:\s*"(' + "|".join(AIRBYTE_TYPES) + r')"')
PAGE_HINT = re.compile(r':\s*\[\s*\{|"object"\s*:\s*"list"')
PAGE_PROBES = 32
ANY_HINT = re.compile(ENVELOPE_HINT.pattern + "|" + PAGE_HINT.pattern)


@dataclass(frozen=True)
class Layout:
    """How a file is framed, as told from its first bytes."""

    kind: str                 # jsonl | json | csv | parquet | empty
    gzip: bool = False
    encoding: str = "utf-8"   # utf-8, utf-16-le or utf-16-be
    delimiter: str = ","
    header_rows: int = 0      # csv: rows before the first record
    header: tuple[str, ...] | None = None   # csv column names
    labels: tuple[str, ...] | None = None   # csv: the row under the names (question texts in survey exports)
    meta: tuple[str, ...] | None = None     # csv: a third header row (Qualtrics' ImportId objects)
    newline: str = "\n"       # "\r": rows end with a lone carriage return (classic Mac, some Excel exports)

    @property
    def splittable(self) -> bool:
        """Whether the file can be cut into byte ranges read on their own."""
        return self.kind in ("jsonl", "csv") and not self.gzip and self.encoding == "utf-8" and self.newline == "\n"

    def describe(self) -> str:
        parts = [self.kind]
        if self.kind == "csv":
            parts.append({"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[self.delimiter] + "-separated")
            parts.append(f"{self.header_rows} header row{'s' if self.header_rows != 1 else ''}")
        if self.gzip:
            parts.append("gzip")
        if self.encoding != "utf-8":
            parts.append(self.encoding)
        return ", ".join(parts)


class ReadDigest:
    """SHA-256 and size of a file's bytes as they are read: what a run records is what it parsed."""

    def __init__(self):
        self._sha, self.size, self._source = hashlib.sha256(), 0, None

    def update(self, data: bytes) -> None:
        self._sha.update(data)
        self.size += len(data)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    def finish(self) -> str:
        """Hash what the reader left unread (a reader may stop at the end of its last record); the digest."""
        if self._source is not None and not self._source.closed:
            while self._source.read(1 << 20):
                pass
        return self.hexdigest()


class Digesting(io.RawIOBase):
    """Passes reads through and feeds every byte, in order, to a ReadDigest."""

    def __init__(self, stream: BinaryIO, digest: ReadDigest):
        self._stream, self._digest = stream, digest
        digest._source = self

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._digest.update(data)
        return data

    def close(self) -> None:
        self._stream.close()
        super().close()


def file_digest(path: str) -> tuple[int, str]:
    """(size, sha256) of a file's bytes as stored (compressed files are not unpacked)."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    digest = ReadDigest()
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        while block := handle.read(4 * 1024 * 1024):
            digest.update(block)
    return digest.size, digest.hexdigest()


def open_bytes(path: str, digest: ReadDigest | None = None) -> BinaryIO:
    """Open a file through Beam's FileSystems (local, gs://, s3://), gunzipping when its bytes say gzip;
    with `digest`, every byte read from the file (before unpacking) is hashed into it.

    A file named .gz whose bytes are not gzip is unreadable (OSError): the name and the bytes disagree."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    raw = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    magic = raw.read(2)
    raw.seek(0)
    if digest is not None:
        raw = Digesting(raw, digest)
    if magic == GZIP_MAGIC:
        return Gunzip(raw)
    if path.lower().endswith((".gz", ".gzip")):
        raw.close()
        raise OSError(f"named as gzip, but its bytes are not gzip (they start with {magic!r})")
    return raw


class _Converted(io.RawIOBase):
    """A read-only stream that converts another piece by piece: `_fill` adds to `_out`, or sets `_done`."""

    def __init__(self, raw: BinaryIO):
        self._raw, self._out, self._done = raw, b"", False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        raise NotImplementedError

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._out) < size):
            self._fill()
        if size < 0:
            out, self._out = self._out, b""
        else:
            out, self._out = self._out[:size], self._out[size:]
        return out

    def close(self) -> None:
        self._raw.close()
        super().close()


class Gunzip(_Converted):
    """gzip bytes in, plain bytes out, in bounded pieces: every member of a multi-member file, and what a
    file cut short still holds (its last, partial record then fails on its own)."""

    def __init__(self, raw: BinaryIO, piece: int = 1 << 20):
        super().__init__(raw)
        self._piece, self._inflate, self._input = piece, zlib.decompressobj(31), b""

    def _fill(self) -> None:
        data = self._inflate.unconsumed_tail or self._input or self._raw.read(1 << 16)
        self._input = b""
        if not data:
            self._done = True
            return
        self._out += self._inflate.decompress(data, self._piece)
        if self._inflate.eof:
            self._input = self._inflate.unused_data
            self._inflate = zlib.decompressobj(31)


class Recoded(_Converted):
    """UTF-16 bytes in, UTF-8 bytes out, block by block."""

    def __init__(self, raw: BinaryIO, encoding: str):
        import codecs

        super().__init__(raw)
        self._decoder = codecs.getincrementaldecoder(encoding)("replace")

    def _fill(self) -> None:
        data = self._raw.read(1 << 20)
        self._out += self._decoder.decode(data, final=not data).encode("utf-8")
        self._done = not data


class LineFeeds(_Converted):
    """Rows ended by a lone carriage return, as rows ended by a line feed."""

    def _fill(self) -> None:
        data = self._raw.read(1 << 20)
        self._out += data.replace(b"\r", b"\n")
        self._done = not data


def open_text_bytes(path: str, layout: Layout, digest: ReadDigest | None = None) -> BinaryIO:
    """The file's bytes as UTF-8, whatever its encoding, with no byte-order mark (hashed into `digest`)."""
    stream = open_bytes(path, digest)
    if layout.encoding == "utf-8":
        head = stream.read(len(BOM))
        stream = Prefixed(b"" if head == BOM else head, stream)
    else:
        stream.read(2)
        stream = Recoded(stream, layout.encoding)
    return LineFeeds(stream) if layout.newline == "\r" else stream


def detect_layout(path: str) -> Layout:
    """Read the start of a file and say how it is framed."""
    with open_bytes(path) as stream:
        compressed = isinstance(stream, Gunzip)
        head = stream.read(SNIFF_BYTES)
        if head.startswith(PARQUET_MAGIC) and not compressed:
            return Layout("parquet")
        encoding = UTF16_BOMS.get(head[:2], "utf-8")
        if encoding != "utf-8":
            text = head[2:len(head) - (len(head) % 2)].decode(encoding, errors="replace")
        else:
            text = head[len(BOM):].decode("utf-8", errors="replace") if head.startswith(BOM) else head.decode("utf-8", errors="replace")
        first = text.lstrip()
        if not first:
            return Layout("empty", compressed, encoding)
        if first[0] in "{[":
            return Layout(_json_kind(first, len(head) < SNIFF_BYTES), compressed, encoding)
        layout = _csv_layout(text, compressed, encoding)
        if "\n" not in text and "\r" in text.rstrip("\r"):
            layout = replace(layout, newline="\r")
        return layout


def _json_kind(text: str, whole: bool) -> str:
    """JSON Lines when the first non-blank line is a complete JSON object or array of its own."""
    if text[0] == "[":
        line = text.split("\n", 1)[0].strip()
        return "jsonl" if _complete(line) and ("\n" in text.strip()) else "json"
    line, newline, _ = text.partition("\n")
    if not newline and not whole:
        return "json"  # a first line over 64 KB: a document on one line, decoded as a stream
    return "jsonl" if _complete(line.strip()) else "json"


def _complete(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _csv_layout(text: str, compressed: bool, encoding: str) -> Layout:
    delimiter = _sniff_delimiter(text)
    rows = _first_rows(text, 3, delimiter)
    names = tuple(rows[0]) if rows else ()
    second = tuple(rows[1]) if len(rows) > 1 else None
    third = tuple(rows[2]) if len(rows) > 2 else None
    if third and _all_import_ids(third):  # Qualtrics: ids, question texts, ImportId objects
        return Layout("csv", compressed, encoding, delimiter, 3, names, second, third)
    if second and any(n in ("ResponseId", "ResponseID") and label == "Response ID" for n, label in zip(names, second)):
        # Qualtrics without its ImportId row (an older export, or one saved through a spreadsheet)
        return Layout("csv", compressed, encoding, delimiter, 2, names, second, None)
    if second and names and names[0] == "V1" and second[0] in ("ResponseID", "ResponseId"):
        # Qualtrics' legacy export: V1..Vn over the metadata columns, question ids over the rest, labels below
        merged = tuple(label if re.fullmatch(r"V\d+", name) else name for name, label in zip(names, second))
        return Layout("csv", compressed, encoding, delimiter, 2, merged, second, None)
    return Layout("csv", compressed, encoding, delimiter, 1, names, None, None)


def _first_rows(text: str, n: int, delimiter: str = ",") -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) == n:
                break
    except csv.Error:
        pass
    return rows


def _sniff_delimiter(text: str, rows: int = 8) -> str:
    """The delimiter that splits the header into the most fields while most rows below agree with it
    (quotes respected); a file of one column is comma-separated."""
    complete = text if text.endswith("\n") else text[: text.rfind("\n") + 1] or text
    best, score = ",", (False, 0, 0.0)
    for delimiter in DELIMITERS:
        widths = [len(r) for r in _first_rows(complete, rows, delimiter) if r]
        if not widths or widths[0] < 2:
            continue
        below = widths[1:] or widths
        share = sum(w == widths[0] for w in below) / len(below)
        candidate = (share >= 0.6, widths[0] if share >= 0.6 else 0, share)
        if candidate > score:
            best, score = delimiter, candidate
    return best


def _all_import_ids(row: tuple[str, ...]) -> bool:
    cells = [c for c in row if c.strip()]
    return bool(cells) and all(c.lstrip().startswith("{") and "ImportId" in c for c in cells)


class Prefixed(io.RawIOBase):
    """A read-only stream that returns `prefix` first, then the rest of `stream`."""

    def __init__(self, prefix: bytes, stream: BinaryIO):
        self._prefix, self._stream = prefix, stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            data, self._prefix = (self._prefix, b"") if size < 0 or size >= len(self._prefix) else (
                self._prefix[:size], self._prefix[size:])
            return data
        return self._stream.read(size)

    def close(self) -> None:
        self._stream.close()
        super().close()


# ---- JSON values and their envelopes ------------------------------------------------------------

_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


@dataclass
class Framed:
    """One piece of a file framed into records: the records, side-loaded objects, and protocol messages skipped."""

    records: pa.Table   # FRAME_SCHEMA
    sideload: pa.Table  # SIDELOAD_SCHEMA
    skipped: int = 0    # messages that carry no record (Airbyte STATE, LOG, TRACE...)


class _Rows:
    """Collects framed rows column by column; `last` carries (line, item) over from the previous piece."""

    def __init__(self, last: tuple[int, int] = (0, -1)):
        self.lines, self.items, self.raws, self.streams, self.errors, self.messages = [], [], [], [], [], []
        self.side_streams, self.side_raws = [], []
        self.skipped = 0
        self.last = last

    def add(self, line: int, raw: str, stream: str | None = None, error: str | None = None, message: str | None = None):
        if error is None and len(raw) > MAX_RECORD_BYTES:  # characters: at least as many bytes
            error, message = "record_too_large", f"record is {len(raw)} characters, over the {MAX_RECORD_BYTES} byte limit"
            raw = raw[:RAW_PAYLOAD_LIMIT]
        self.last = (line, self.last[1] + 1 if line == self.last[0] else 0)
        self.lines.append(line)
        self.items.append(self.last[1])
        self.raws.append(raw)
        self.streams.append(stream)
        self.errors.append(error)
        self.messages.append(message)

    def framed(self) -> Framed:
        records = pa.Table.from_arrays(
            [pa.array(self.lines, pa.int64()), pa.array(self.items, pa.int64()), pa.array(self.raws, pa.string()),
             pa.array(self.streams, pa.string()),
             pa.array(self.errors, pa.string()), pa.array(self.messages, pa.string())], schema=FRAME_SCHEMA)
        sideload = pa.Table.from_arrays([pa.array(self.side_streams, pa.string()), pa.array(self.side_raws, pa.string())],
                                        schema=SIDELOAD_SCHEMA)
        return Framed(records, sideload, self.skipped)


def _skip_ws(text: str, pos: int) -> int:
    return _WHITESPACE.match(text, pos).end()


def _members(text: str, pos: int) -> Iterator[tuple[str, int, int]]:
    """(key, value start, value end) of the object starting at text[pos] == '{'."""
    pos = _skip_ws(text, pos + 1)
    while pos < len(text) and text[pos] != "}":
        key, pos = json.decoder.scanstring(text, pos + 1)
        pos = _skip_ws(text, pos)
        pos = _skip_ws(text, pos + 1)  # the ':'
        _, end = _DECODER.raw_decode(text, pos)
        yield key, pos, end
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)


def _items(text: str, pos: int) -> Iterator[tuple[int, int]]:
    """(start, end) of every element of the array starting at text[pos] == '['."""
    pos = _skip_ws(text, pos + 1)
    while pos < len(text) and text[pos] != "]":
        _, end = _DECODER.raw_decode(text, pos)
        yield pos, end
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)


def _span(text: str, pos: int, path: tuple[str, ...]) -> tuple[int, int]:
    """Where the value at `path` (object keys) inside the object at text[pos] starts and ends."""
    for key in path:
        for name, start, end in _members(text, pos):
            if name == key:
                pos, stop = start, end
                break
    return pos, stop


def _list_key(obj: dict) -> tuple[str | None, list[str]]:
    """An API page's record key and its side-loaded keys, or (None, []) when `obj` is not a page."""
    if "id" in obj:
        return None, []
    lists = [k for k, v in obj.items() if isinstance(v, list) and (not v or isinstance(v[0], dict))]
    if not lists:
        return None, []
    main = [k for k in lists if k not in SIDELOAD_KEYS]
    others = set(obj) - set(lists)
    if len(main) != 1 or not (others <= PAGE_KEYS | {"type", "object"}):
        return None, []
    return main[0], [k for k in lists if k in SIDELOAD_KEYS]


def _unflatten_dlt(obj: dict) -> dict:
    """A dlt row has nested objects flattened into `parent__child` columns: nest them again."""
    nested: dict = {}
    for key, value in obj.items():
        parts = key.split("__") if not key.startswith("_dlt") else [key]
        target = nested
        for part in parts[:-1]:
            target = target.setdefault(part, {}) if isinstance(target.get(part, {}), dict) else target
        target[parts[-1]] = value
    return nested


def unwrap(rows: _Rows, text: str, start: int, end: int, value, line_of, stream: str | None = None, depth: int = 0) -> None:
    """Add the record(s) a JSON value holds: itself, or what its envelope wraps (see the module docstring)."""
    def nested(path: tuple[str, ...], inner_stream: str | None):
        s, e = _span(text, start, path)
        inner = value
        for key in path:
            inner = inner[key]
        unwrap(rows, text, s, e, inner, line_of, inner_stream, depth + 1)

    def each(key: str, inner_stream: str | None, merge: dict | None = None):
        s, _ = _span(text, start, (key,))
        for (item_start, item_end), item in zip(_items(text, s), value[key]):
            if merge and isinstance(item, dict):
                merged = {**merge, **item}
                rows.add(line_of(item_start), json.dumps(merged, ensure_ascii=False), inner_stream)
            else:
                unwrap(rows, text, item_start, item_end, item, line_of, inner_stream, depth + 1)

    if not isinstance(value, dict) or depth > 3:
        rows.add(line_of(start), text[start:end], stream)
        return
    kind = value.get("type")
    if kind in AIRBYTE_TYPES and ("record" in value or len(value) <= 4 and kind != "RECORD"):
        if kind == "RECORD" and isinstance(value.get("record"), dict) and isinstance(value["record"].get("data"), dict):
            nested(("record", "data"), value["record"].get("stream"))
        else:
            rows.skipped += 1
        return
    if isinstance(value.get("data"), dict) and isinstance(value.get("stream"), str) and "emitted_at" in value:
        nested(("data",), value["stream"])
        return
    if "_airbyte_data" in value:
        data = value["_airbyte_data"]
        if isinstance(data, str):
            rows.add(line_of(start), data, stream)
        else:
            nested(("_airbyte_data",), stream)
        return
    if isinstance(value.get("batch"), list):
        merge = {k: value[k] for k in ("context", "integrations") if k in value}
        each("batch", stream, merge or None)
        return
    if value.get("object") == "list" and isinstance(value.get("data"), list):
        each("data", stream)
        return
    if kind == "notification_event" and isinstance(value.get("data"), dict) and isinstance(value["data"].get("item"), dict):
        nested(("data", "item"), value.get("topic"))
        return
    if "_dlt_id" in value and any("__" in k for k in value if not k.startswith("_dlt")):
        rows.add(line_of(start), json.dumps(_unflatten_dlt(value), ensure_ascii=False), stream)
        return
    key, sideloads = _list_key(value)
    if key is not None:
        for side in sideloads:
            for item in value[side]:
                rows.side_streams.append(side)
                rows.side_raws.append(json.dumps(item, ensure_ascii=False))
        each(key, key)
        return
    rows.add(line_of(start), text[start:end], stream)


class _LineCounter:
    """Line number of a position in a text, for positions that only move forward."""

    def __init__(self, text: str, first_line: int):
        self.text, self.pos, self.line = text, 0, first_line

    def __call__(self, pos: int) -> int:
        if pos < self.pos:
            return self.line - self.text.count("\n", pos, self.pos)
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def frame_json_values(stream: BinaryIO, first_line: int = 1, block_bytes: int = 8 * 1024 * 1024) -> Iterator[Framed]:
    """Frame a stream of JSON values: one document, an array, or objects one after another.

    Top-level arrays are read item by item and objects one at a time, so memory stays bounded by the
    largest object. A value that does not parse fails as one record and framing resumes at the next line
    that starts an object."""
    buf, pos, line, eof, in_array = "", 0, first_line, False, False
    pending = b""
    rows = _Rows()
    counter = _LineCounter(buf, line)

    def more() -> bool:
        nonlocal buf, pos, line, eof, pending, counter
        if eof:
            return False
        data = stream.read(max(block_bytes, len(buf)))
        if not data:
            eof = True
            if not pending:
                return False
            text, pending = pending.decode("utf-8", errors="replace"), b""
        else:
            data = pending + data
            cut = len(data)  # never split a UTF-8 character between two reads
            while cut > max(0, len(data) - 4) and (data[cut - 1] & 0xC0) == 0x80:
                cut -= 1
            if cut > 0 and data[cut - 1] >= 0xC0:
                cut -= 1
            text, pending = data[:cut].decode("utf-8", errors="replace"), data[cut:]
        line += buf.count("\n", 0, pos)
        buf = buf[pos:] + text
        pos = 0
        counter = _LineCounter(buf, line)
        return True

    more()
    while True:
        pos = _skip_ws(buf, pos)
        if in_array and pos < len(buf) and buf[pos] in ",]":
            in_array = buf[pos] == ","
            pos += 1
            continue
        if pos >= len(buf):
            if not more():
                break
            continue
        if not in_array and buf[pos] == "[":
            in_array = True
            pos += 1
            continue
        try:
            value, end = _DECODER.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            if not eof and len(buf) - pos < MAX_DOCUMENT_BYTES and more():
                continue
            at = counter(pos)
            if not eof and len(buf) - pos >= MAX_DOCUMENT_BYTES:  # where it ends is not knowable in bounded memory
                rows.add(at, buf[pos:pos + 64 * 1024], None, "record_too_large",
                         f"a JSON value over {MAX_DOCUMENT_BYTES >> 20} MB; the rest of the file is not read")
                while stream.read(block_bytes):
                    pass
                break
            resume = buf.find("\n{", pos + 1)
            stop = len(buf) if resume < 0 else resume + 1
            rows.add(at, buf[pos:stop][:64 * 1024], None, "malformed_json",
                     f"not valid JSON: {exc.msg} at line {counter(exc.pos)}")
            pos = stop
            in_array = False
            continue
        unwrap(rows, buf, pos, end, value, counter)
        pos = end
        if len(rows.lines) >= 10_000:
            yield rows.framed()
            rows = _Rows(rows.last)
    if rows.lines or rows.skipped or rows.side_raws:
        yield rows.framed()


def unwrap_lines(records: pa.Table) -> Framed:
    """JSON Lines records whose line is an envelope, replaced by the records it wraps (most lines are not)."""
    empty = Framed(records, SIDELOAD_SCHEMA.empty_table())
    if records.num_rows == 0:
        return empty
    hinted = pc.indices_nonzero(pc.fill_null(pc.and_(pc.match_substring_regex(records["raw"], ANY_HINT.pattern),
                                                     pc.is_null(records["frame_error"])), False))
    if len(hinted) == 0:
        return empty
    strong = pc.match_substring_regex(records["raw"].take(hinted), ENVELOPE_HINT.pattern).to_numpy(zero_copy_only=False)
    hinted = hinted.to_numpy()
    hits = set(hinted[strong].tolist())
    probes = hinted[~strong].tolist()
    if any(_is_envelope(records["raw"][i].as_py()) for i in probes[:PAGE_PROBES]):
        hits.update(probes)
    if not hits:
        return empty
    rows = _Rows()
    lines, raws, streams = (records[c].to_pylist() for c in ("source_line", "raw", "stream"))
    errors, messages = records["frame_error"].to_pylist(), records["frame_message"].to_pylist()
    for i, (line, raw) in enumerate(zip(lines, raws)):
        if i not in hits:
            rows.add(line, raw, streams[i], errors[i], messages[i])
            continue
        try:
            value, end = _DECODER.raw_decode(raw, _skip_ws(raw, 0))
        except json.JSONDecodeError:
            rows.add(line, raw, streams[i], errors[i], messages[i])
            continue
        unwrap(rows, raw, _skip_ws(raw, 0), end, value, lambda _pos, line=line: line, streams[i])
    return rows.framed()


def _is_envelope(raw: str) -> bool:
    """Whether a line is an envelope: unwrapping it gives anything but the line itself."""
    try:
        value, end = _DECODER.raw_decode(raw, _skip_ws(raw, 0))
    except json.JSONDecodeError:
        return False
    rows = _Rows()
    unwrap(rows, raw, _skip_ws(raw, 0), end, value, lambda _pos: 0)
    return rows.skipped > 0 or bool(rows.side_raws) or len(rows.raws) != 1 or rows.raws[0] != raw[_skip_ws(raw, 0):end]


def frame_parquet(path: str, row_group: int, first_line: int) -> Framed:
    """One row group of a Parquet file as JSON records (nested columns stay nested), envelopes unwrapped."""
    import duckdb
    import pyarrow.parquet as pq

    with open_bytes(path) as handle:
        table = pq.ParquetFile(handle).read_row_group(row_group)
    con = duckdb.connect()
    try:
        con.register("parquet_rows", table)
        raws = con.sql("select to_json(parquet_rows)::varchar as raw from parquet_rows").to_arrow_table()["raw"]
    finally:
        con.close()
    records = pa.Table.from_arrays(
        [pa.array(range(first_line, first_line + len(raws)), pa.int64()), pa.array([0] * len(raws), pa.int64()),
         raws.combine_chunks().cast(pa.string()), pa.nulls(len(raws), pa.string()), pa.nulls(len(raws), pa.string()),
         pa.nulls(len(raws), pa.string())],
        schema=FRAME_SCHEMA)
    return unwrap_lines(records)
