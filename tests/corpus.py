"""A corpus of bad input, one file per kind, each with the outcome the ingest job must give it.

`write_corpus(root)` writes every case under root/<touchpoint>/ and returns the cases; a case says how
many good records its file holds, which (line, error_type) pairs must fail, and how many good records
are duplicates. The test runs the whole Beam job over the corpus and checks every file against this.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    kind: str
    folder: str
    name: str
    content: bytes
    good: int
    failures: tuple[tuple[int, str], ...] = ()
    duplicates: int = 0

    @property
    def path(self) -> str:
        return f"{self.folder}/{self.name}"


def page(i: int, ts: str = "2026-02-10T10:00:00Z", **extra) -> str:
    """A valid Segment page call, as one JSON line (without the newline)."""
    fields = {"messageId": f"m{i}", "type": "page", "anonymousId": f"a{i}", "timestamp": ts, **extra}
    return "{" + ",".join(f'"{k}":{_json(v)}' for k, v in fields.items()) + "}"


def _json(value) -> str:
    import json

    return json.dumps(value)


CALL_HEADER = "ContactId,CustomerAccount,InitiationTimestamp,WaitSeconds,HandleSeconds,Transfers,DispositionCode,CustomerStatement\n"
SURVEY_HEADER = ("ResponseId,RecordedDate,ExternalReference,Q_CES,Q_CSAT,Q_NPS,Q_Verbatim\n"
                 "Response ID,Recorded Date,External Data Reference,Easy?,Satisfied?,Recommend?,Why?\n"
                 '{"ImportId":"_recordId"},{"ImportId":"recordedDate"},{"ImportId":"externalDataReference"},'
                 '{"ImportId":"QID1"},{"ImportId":"QID2"},{"ImportId":"QID3"},{"ImportId":"QID4_TEXT"}\n')


def call(i: int, ts: str = "2026-02-12T09:00:00+01:00", wait: str = "30", statement: str = "my bill is wrong") -> str:
    return f"k{i},C{i},{ts},{wait},120,0,RESOLVED,{statement}\n"


def _cases() -> list[Case]:
    lines = "\n".join(page(i) for i in range(1, 4)) + "\n"
    big = "x" * (10 * 1024 * 1024)
    gz_lines = "".join(page(i) + "\n" for i in range(1, 501)).encode()
    return [
        Case("truncated JSON", "web", "truncated.jsonl", (page(1) + "\n" + page(2)[:25] + "\n" + page(3) + "\n").encode(),
             good=2, failures=((2, "malformed_json"),)),
        Case("JSON that is not an object", "web", "not_object.jsonl", (page(1) + '\n[1, 2]\n"text"\n').encode(),
             good=1, failures=((2, "malformed_json"), (3, "malformed_json"))),
        Case("wrong types", "call_center", "wrong_types.csv",
             (CALL_HEADER + call(1) + call(2, wait="thirty") + "k3,C3,2026-02-12T09:00:00Z,10,12.5x,0,RESOLVED,hi\n").encode(),
             good=1, failures=((3, "invalid_type"), (4, "invalid_type"))),
        Case("invalid UTF-8", "web", "invalid_utf8.jsonl", page(1).encode() + b"\n" + page(2).encode()[:-2] + b'\xff\xfe"}\n' + page(3).encode() + b"\n",
             good=2, failures=((2, "invalid_utf8"),)),
        Case("byte-order mark, JSON Lines", "web", "bom.jsonl", b"\xef\xbb\xbf" + lines.encode(), good=3),
        Case("byte-order mark, CSV", "call_center", "bom.csv", b"\xef\xbb\xbf" + (CALL_HEADER + call(1) + call(2)).encode(), good=2),
        Case("CSV row with too many columns", "call_center", "too_many.csv", (CALL_HEADER + call(1) + call(2).rstrip("\n") + ",extra\n").encode(),
             good=1, failures=((3, "csv_column_count"),)),
        Case("CSV row with too few columns", "call_center", "too_few.csv", (CALL_HEADER + "k1,C1\n" + call(2)).encode(),
             good=1, failures=((2, "csv_column_count"),)),
        Case("quoted newlines in CSV", "call_center", "quoted_newlines.csv",
             (CALL_HEADER + call(1, statement='"line one\nline two, with a comma\nline three"') + call(2)).encode(), good=2),
        Case("CRLF line endings", "call_center", "crlf.csv", (CALL_HEADER + call(1) + call(2)).replace("\n", "\r\n").encode(), good=2),
        Case("empty file", "web", "empty.jsonl", b"", good=0),
        Case("blank lines only", "web", "blank.jsonl", b"\n\n  \n\n", good=0, failures=((1, "no_records"),)),
        Case("10 MB text field", "web", "huge_field.jsonl", (page(1) + "\n" + page(2, properties={"query": big}) + "\n" + page(3) + "\n").encode(),
             good=2, failures=((2, "record_too_large"),)),
        Case("timestamp without a zone", "web", "no_zone.jsonl", (page(1) + "\n" + page(2, ts="2026-02-10T10:00:00") + "\n").encode(),
             good=1, failures=((2, "invalid_timestamp"),)),
        Case("timestamp that is not a date", "web", "not_a_date.jsonl", (page(1, ts="yesterday afternoon") + "\n" + page(2) + "\n").encode(),
             good=1, failures=((1, "invalid_timestamp"),)),
        Case("timestamp before 2000", "web", "too_old.jsonl", (page(1, ts="1970-01-01T00:00:00Z") + "\n" + page(2) + "\n").encode(),
             good=1, failures=((1, "timestamp_out_of_range"),)),
        Case("timestamp far in the future", "web", "future.jsonl", (page(1) + "\n" + page(2, ts="2091-06-01T00:00:00Z") + "\n").encode(),
             good=1, failures=((2, "timestamp_out_of_range"),)),
        Case("epoch out of any range", "billing", "huge_epoch.jsonl",
             b'{"id":"evt_1","type":"invoice.paid","created":99999999999999999,"data":{"object":{"customer":"cus_1","amount_paid":100}}}\n'
             b'{"id":"evt_2","type":"invoice.paid","created":1770000000,"data":{"object":{"customer":"cus_1","amount_paid":100}}}\n',
             good=1, failures=((1, "invalid_timestamp"),)),
        Case("duplicate ids with different payloads", "web", "duplicates.jsonl",
             (page(1) + "\n" + page(1, properties={"path": "/other"}) + "\n" + page(2) + "\n").encode(), good=3, duplicates=1),
        # The HTTP API does not require a messageId: the call is identified by its natural key.
        Case("missing id", "web", "missing_id.jsonl", ('{"type":"page","anonymousId":"a","timestamp":"2026-02-10T10:00:00Z"}\n' + page(2) + "\n").encode(),
             good=2),
        Case("wrong enum value", "web", "bad_type.jsonl", (page(1).replace('"page"', '"pageview"') + "\n" + page(2) + "\n").encode(),
             good=1, failures=((1, "invalid_value"),)),
        Case("score out of range", "survey", "scores.csv",
             (SURVEY_HEADER + "R_1,2026-02-12 09:00:00,C1,9,4,8,fine\nR_2,2026-02-12 09:00:00,C2,6,4,8,fine\n"
              "R_3,2026-02-12 09:00:00,C3,6,4,11,great\n").encode(),
             good=1, failures=((4, "out_of_range"), (6, "out_of_range"))),
        Case("negative seconds", "call_center", "negative.csv", (CALL_HEADER + call(1, wait="-5") + call(2)).encode(),
             good=1, failures=((2, "out_of_range"),)),
        Case("CSV without a required column", "call_center", "no_id_column.csv",
             b"CustomerAccount,InitiationTimestamp\nC1,2026-02-12T09:00:00Z\nC2,2026-02-12T09:00:00Z\n",
             good=0, failures=((2, "missing_column"), (3, "missing_column"))),
        Case("NUL byte in CSV", "call_center", "nul.csv", (CALL_HEADER + call(1)).encode() + b"k2,C2,2026-02-12T09:00:00Z,1,2,0,RESOLVED,a\x00b\n",
             good=1, failures=((3, "malformed_csv"),)),
        Case("JSON document that does not parse", "email", "broken_page.json", b'{"tickets": [{"id": 1, "created_at": "2026-',
             good=0, failures=((1, "malformed_json"),)),
        Case("JSON document without its records array", "email", "no_tickets.json", b'{"users": [], "count": 0}',
             good=0, failures=((1, "unsupported_record"),)),
        Case("corrupt gzip", "web", "corrupt.jsonl.gz", b"\x1f\x8b\x08\x00" + b"definitely not deflate data" * 20,
             good=0, failures=((1, "unreadable_file"),)),
        _cut_gzip(gz_lines),
        Case("unknown touchpoint folder", "fax", "inbox.txt", b"a fax from 1997\n", good=0, failures=((1, "unknown_touchpoint"),)),
        Case("extra unknown fields", "web", "extra_fields.jsonl", (page(1, surprise={"nested": [1, 2]}, another="x") + "\n").encode(), good=1),
        *_hostile_cases(),
    ]


INJECTED_HEADER = ('"CustomerAccount"" || (select string_agg(content, \'\') from read_text(\'/etc/hostname\')) || ""col_CustomerAccount"')
MAX_INT64 = str(2**63 - 1)


def _hostile_cases() -> list[Case]:
    """What an attacker, a messy export and a tired operator hand the job (issue: hostile input)."""
    def calls(first: int) -> str:  # ids of their own: these files are re-encoded after _own_ids could see them
        return "".join(call(i) for i in range(first, first + 3))

    qualtrics_two_rows = SURVEY_HEADER.rsplit("{", 7)[0].rsplit("\n", 1)[0] + "\n"
    stripe = ('{"id":"evt_%d","type":"invoice.paid","created":1770000000,"data":{"object":{"object":"invoice",'
              '"customer":"cus_1","amount_paid":%s,"currency":"usd"}}}\n')
    bad_pages = "".join(page(i).replace('"page"', '"pageview"') + "\n" for i in range(1, 51))
    return [
        Case("SQL in a CSV header", "call_center", "injected_header.csv",
             (CALL_HEADER.rstrip("\n") + "," + INJECTED_HEADER + "\n" + "".join(call(i).rstrip("\n") + ",x\n" for i in range(1, 4))).encode(),
             good=3),
        Case("a double quote in a CSV header", "call_center", "quote_in_header.csv",
             (CALL_HEADER.rstrip("\n") + ',"Agent ""Name"""\n' + "".join(call(i).rstrip("\n") + ",Ann\n" for i in range(1, 3))).encode(),
             good=2),
        Case("an address in the file name", "web", "export-jane.doe@example.com.jsonl", (page(1) + "\n" + page(2) + "\n").encode(), good=2),
        Case("ids that are addresses and phone numbers", "web", "personal_ids.jsonl",
             (page(1, userId="jane.doe@example.com") + "\n" + page(2, userId="+44 20 7946 0958") + "\n"
              + page(3).replace('"m3"', '"bob@example.org"') + "\n").encode(), good=3),
        Case("a CSV field over 128 KB", "call_center", "long_field.csv",
             (CALL_HEADER + call(1, statement="y" * 200_000) + call(2)).encode(), good=2),
        Case("a CSV record over 1 MB", "call_center", "huge_record.csv",
             (CALL_HEADER + call(1) + call(2, statement="z" * 1_200_000) + call(3)).encode(),
             good=2, failures=((3, "record_too_large"),)),
        Case("an unclosed quote in CSV", "call_center", "unclosed_quote.csv",
             (CALL_HEADER + call(1) + call(2, statement='"never closed') + call(3) + call(4)).encode(),
             good=3, failures=((3, "malformed_csv"),)),
        Case("a survey export without its ImportId row", "survey", "no_import_ids.csv",
             (qualtrics_two_rows + "R_21,2026-02-12 09:00:00,C1,6,4,8,fine\nR_22,2026-02-12 09:00:00,C2,5,3,9,ok\n").encode(), good=2),
        Case("empty and blank message ids", "web", "blank_ids.jsonl",
             (page(1).replace('"m1"', '""') + "\n" + page(2, ts="2026-02-10T11:00:00Z").replace('"m2"', '"  "') + "\n").encode(), good=2),
        Case("a wait of 2^63-1 seconds", "call_center", "max_wait.csv", (CALL_HEADER + call(1) + call(2, wait=MAX_INT64)).encode(),
             good=1, failures=((3, "out_of_range"),)),
        Case("an amount of 2^63-1", "billing", "max_amount.jsonl", ((stripe % (1, "4900")) + (stripe % (2, MAX_INT64))).encode(),
             good=1, failures=((2, "out_of_range"),)),
        Case("lone carriage returns between CSV rows", "call_center", "lone_cr.csv", (CALL_HEADER + calls(301)).replace("\n", "\r").encode(), good=3),
        Case("a CSV in UTF-16", "call_center", "utf16.csv", (CALL_HEADER + calls(401)).encode("utf-16"), good=3),
        Case("mixed line endings in CSV", "call_center", "mixed_endings.csv",
             (CALL_HEADER + call(501).replace("\n", "\r\n") + call(502) + call(503, statement="my bill\ris wrong") + call(504)).encode(),
             good=3, failures=((4, "malformed_csv"),)),
        Case("a large file of bad records", "web", "many_bad.jsonl",
             ("".join(page(i) + "\n" for i in range(1, 11)) + "not json\n" * 150).encode(),
             good=0, failures=(*((i, "quarantined") for i in range(1, 11)), *((i, "malformed_json") for i in range(11, 161)))),
        Case("a small file of bad records", "web", "fifty_bad.jsonl", (page(0) + "\n" + bad_pages).encode(),
             good=0, failures=((1, "quarantined"), *((i, "invalid_value") for i in range(2, 52)))),
        Case("a gzip bomb of one line", "web", "bomb.jsonl.gz",
             gzip.compress(b'{"messageId":"' + b"0" * (64 * 1024 * 1024) + b'"}\n', compresslevel=9, mtime=0),
             good=0, failures=((1, "record_too_large"),)),
    ]


def _cut_gzip(lines: bytes) -> Case:
    """A gzip stream cut in half: the whole lines before the cut are good, the partial one fails."""
    whole = gzip.compress(lines, mtime=0)
    cut = whole[: len(whole) // 2]
    readable = zlib.decompressobj(31).decompress(cut)
    complete = readable.count(b"\n")
    return Case("gzip cut short", "web", "cut.jsonl.gz", cut, good=complete, failures=((complete + 1, "malformed_json"),))


def _own_ids(case: Case) -> Case:
    """Prefix the ids in a case's file with its name, so that no two files share an id."""
    stem = re.sub(rb"[^a-z0-9_]", b"", case.name.split(".")[0].encode())
    content = re.sub(rb'"messageId":"m', b'"messageId":"' + stem + b'-m', case.content)
    content = re.sub(rb"(?m)^(\xef\xbb\xbf)?k(\d+),", rb"\1" + stem + rb"-k\2,", content)
    return Case(case.kind, case.folder, case.name, content, case.good, case.failures, case.duplicates)


CASES = [_own_ids(case) if case.name != "cut.jsonl.gz" and case.name != "corrupt.jsonl.gz" else case for case in _cases()]


# Personal values the corpus plants in ids and names: none may reach the lake as written.
PLANTED_PII = ("jane.doe@example.com", "jane.doe", "+44 20 7946 0958", "bob@example.org")
SECRET = "outside-secret-7f3e@example.net"


def write_corpus(root: Path) -> list[Case]:
    for case in CASES:
        path = Path(root) / case.folder / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.content)
    return CASES


def write_layout(root: Path, outside: Path) -> dict[str, str]:
    """Paths under the input that must not be read, and the reason the listing must give for each:
    links out of the input, dangling and looping links, linked folders, a FIFO (which would block a
    reader forever), files at the root, bookkeeping names at any depth."""
    import os

    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.jsonl").write_text(page(1, userId=SECRET) + "\n")
    web = Path(root) / "web"
    web.mkdir(parents=True, exist_ok=True)
    (Path(root) / "loose.jsonl").write_text(page(2) + "\n")
    os.symlink(outside / "secret.jsonl", web / "secret.jsonl")
    os.symlink(Path("../../outside/secret.jsonl"), web / "relative-secret.jsonl")
    os.symlink(web / "nowhere.jsonl", web / "dangling.jsonl")
    os.symlink(web / "loop-b.jsonl", web / "loop-a.jsonl")
    os.symlink(web / "loop-a.jsonl", web / "loop-b.jsonl")
    os.symlink(outside, web / "linked-folder")
    os.mkfifo(web / "pipe.jsonl")
    for hidden in ("_archive/2025", ".snapshot/hourly"):
        (web / hidden).mkdir(parents=True)
        (web / hidden / "old.jsonl").write_text(page(3, userId=SECRET) + "\n")
    (web / ".partial.jsonl").write_text(page(4, userId=SECRET) + "\n")
    linked_out = "symbolic link leading outside the input"
    dangling = "dangling or looping symbolic link"
    bookkeeping_dir, bookkeeping_file = "bookkeeping folder (its name starts with _ or .)", "bookkeeping file (its name starts with _ or .)"
    return {"loose.jsonl": "file at the input root, outside any touchpoint folder", "web/secret.jsonl": linked_out,
            "web/relative-secret.jsonl": linked_out, "web/dangling.jsonl": dangling, "web/loop-a.jsonl": dangling,
            "web/loop-b.jsonl": dangling, "web/linked-folder": "a linked folder is not entered",
            "web/pipe.jsonl": "not a regular file (a FIFO, socket or device)", "web/_archive": bookkeeping_dir,
            "web/.snapshot": bookkeeping_dir, "web/.partial.jsonl": bookkeeping_file}
