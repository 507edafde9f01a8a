"""Framing by content: every way a JSON or CSV export is delivered gives one record per object or row,
each on the line it starts on, whatever the file's name."""

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.framing import detect_layout
from transforms.io import frame_chunk, plan_chunks

EVENT = {"id": "evt_1", "object": "event", "type": "invoice.paid", "created": 1767225600,
         "data": {"object": {"id": "in_1", "object": "invoice", "customer": "cus_1"}}}


def frame(path, chunk_bytes=1 << 20):
    """(line, stream, record) of every record framed from a file, and the count of skipped messages."""
    rows, skipped = [], 0
    for spec in plan_chunks(str(path), "any", chunk_bytes):
        for framed in frame_chunk(spec, chunk_bytes):
            skipped += framed.skipped
            records = framed.records
            for line, stream, raw, error in zip(records["source_line"].to_pylist(), records["stream"].to_pylist(),
                                                records["raw"].to_pylist(), records["frame_error"].to_pylist()):
                rows.append((line, stream, error or json.loads(raw).get("id")))
    return rows, skipped


def test_json_lines(tmp_path):
    path = tmp_path / "events.txt"
    path.write_text("\n".join(json.dumps(dict(EVENT, id=f"evt_{i}")) for i in range(3)) + "\n")
    assert detect_layout(str(path)).kind == "jsonl"
    assert frame(path) == ([(1, None, "evt_0"), (2, None, "evt_1"), (3, None, "evt_2")], 0)


def test_a_pretty_printed_event_is_one_record(tmp_path):
    path = tmp_path / "evt_1.jsonl"  # the extension says lines; the bytes say one document
    path.write_text(json.dumps(EVENT, indent=2))
    assert detect_layout(str(path)).kind == "json"
    assert frame(path) == ([(1, None, "evt_1")], 0)


def test_pretty_printed_objects_one_after_another(tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps(EVENT, indent=2) + "\n" + json.dumps(dict(EVENT, id="evt_2"), indent=2) + "\n")
    assert frame(path) == ([(1, None, "evt_1"), (14, None, "evt_2")], 0)


def test_firehose_concatenates_objects_without_newlines(tmp_path):
    path = tmp_path / "connect-ctr-1-2026-03-01"
    path.write_text("".join(json.dumps({"id": f"c{i}", "ContactId": f"c{i}"}) for i in range(4)))
    assert frame(path) == ([(1, None, f"c{i}") for i in range(4)], 0)


def test_a_json_array_gives_one_record_per_element_on_its_line(tmp_path):
    path = tmp_path / "tickets.json"
    path.write_text('[\n  {"id": 1},\n  {"id": 2},\n  {"id": 3}\n]\n')
    assert frame(path) == ([(2, None, 1), (3, None, 2), (4, None, 3)], 0)


def test_a_large_file_is_read_in_blocks_with_the_same_records(tmp_path):
    path = tmp_path / "firehose"
    path.write_text("\n".join(json.dumps({"id": i, "pad": "x" * 50}, indent=1) for i in range(500)))
    rows, _ = frame(path, chunk_bytes=1000)
    assert [r[2] for r in rows] == list(range(500))
    assert [r[0] for r in rows][:3] == [1, 5, 9]


def test_gzip_is_recognised_by_its_bytes_not_its_name(tmp_path):
    path = tmp_path / "1700000000.12345.abc.jsonl"  # dlt before 1.15 wrote gzip without a .gz suffix
    path.write_bytes(gzip.compress(b'{"id": "a"}\n{"id": "b"}\n'))
    layout = detect_layout(str(path))
    assert (layout.kind, layout.gzip) == ("jsonl", True)
    assert frame(path) == ([(1, None, "a"), (2, None, "b")], 0)


@pytest.mark.parametrize("envelope, stream", [
    ({"batch": [{"id": "m1"}, {"id": "m2"}], "sentAt": "2026-01-01T00:00:00Z"}, None),          # Segment /v1/batch
    ({"object": "list", "url": "/v1/events", "has_more": False, "data": [{"id": "m1"}, {"id": "m2"}]}, None),  # Stripe list
    ({"type": "conversation.list", "conversations": [{"id": "m1"}, {"id": "m2"}], "total_count": 2,
      "pages": {"type": "pages", "page": 1, "per_page": 20, "total_pages": 1}}, "conversations"),  # Intercom list
    ({"calls": [{"id": "m1"}, {"id": "m2"}], "page": 0, "page_size": 50, "next_page_uri": None, "uri": "/x"}, "calls"),  # Twilio
    ({"tickets": [{"id": "m1"}, {"id": "m2"}], "after_cursor": "x", "end_of_stream": True}, "tickets"),  # Zendesk cursor export
])
def test_list_envelopes_are_unwrapped(tmp_path, envelope, stream):
    path = tmp_path / "page.json"
    path.write_text(json.dumps(envelope, indent=2))
    rows, _ = frame(path)
    assert [(s, i) for _, s, i in rows] == [(stream, "m1"), (stream, "m2")]
    assert rows[0][0] < rows[1][0]  # each item on the line it starts on


def test_segment_batch_context_reaches_every_item(tmp_path):
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"batch": [{"messageId": "m1"}, {"messageId": "m2", "context": {"ip": "own"}}],
                                "context": {"ip": "1.2.3.4"}}))
    [records] = [f.records for spec in plan_chunks(str(path), "web") for f in frame_chunk(spec)]
    assert [json.loads(r)["context"]["ip"] for r in records["raw"].to_pylist()] == ["1.2.3.4", "own"]


def test_airbyte_messages_give_their_records_and_skip_state_and_logs(tmp_path):
    path = tmp_path / "sync.jsonl"
    lines = [
        {"type": "LOG", "log": {"level": "INFO", "message": "Starting syncing"}},
        {"type": "RECORD", "record": {"stream": "tickets", "data": {"id": 1}, "emitted_at": 1767225600000}},
        {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "tickets"}}}},
        {"stream": "ticket_metric_events", "data": {"id": 2}, "emitted_at": 1767225600000},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert frame(path) == ([(2, "tickets", 1), (4, "ticket_metric_events", 2)], 2)


def test_raw_tables_of_el_loaders(tmp_path):
    path = tmp_path / "_airbyte_raw_tickets.jsonl"
    path.write_text(json.dumps({"_airbyte_raw_id": "u1", "_airbyte_extracted_at": "2026-01-01T00:00:00Z",
                                "_airbyte_data": json.dumps({"id": 7})}) + "\n"
                    + json.dumps({"_airbyte_ab_id": "u2", "_airbyte_data": {"id": 8}}) + "\n")
    assert frame(path) == ([(1, None, 7), (2, None, 8)], 0)


def test_intercom_webhook_gives_its_item(tmp_path):
    path = tmp_path / "hook.json"
    path.write_text(json.dumps({"type": "notification_event", "topic": "conversation.user.created", "id": "notif_1",
                                "data": {"type": "notification_event_data", "item": {"type": "conversation", "id": "c9"}}}, indent=2))
    assert frame(path) == ([(7, "conversation.user.created", "c9")], 0)


def test_zendesk_side_loaded_users_are_not_records(tmp_path):
    path = tmp_path / "tickets.json"
    path.write_text(json.dumps({"tickets": [{"id": 1}], "users": [{"id": 5, "email": "a@b.c"}], "next_page": None}))
    [framed] = [f for spec in plan_chunks(str(path), "email") for f in frame_chunk(spec)]
    assert framed.records["raw"].to_pylist() == ['{"id": 1}']
    assert framed.sideload.to_pylist() == [{"stream": "users", "raw": '{"id": 5, "email": "a@b.c"}'}]


def test_a_record_with_an_id_is_never_taken_for_a_page(tmp_path):
    path = tmp_path / "conversation.json"
    path.write_text(json.dumps({"id": "c1", "conversation_parts": {"conversation_parts": [{"id": "p1"}]}, "tags": []}))
    assert frame(path) == ([(1, None, "c1")], 0)


def test_broken_json_fails_once_and_framing_resumes(tmp_path):
    path = tmp_path / "events.json"
    path.write_text('{"id": "a",\n  "x": [1, 2}\n{"id": "b"}\n')
    rows, _ = frame(path)
    assert rows == [(1, None, "malformed_json"), (3, None, "b")]


def test_dlt_rows_are_nested_again(tmp_path):
    path = tmp_path / "1700000000.1.jsonl"
    path.write_text(json.dumps({"id": "evt_1", "data__object__customer": "cus_1", "_dlt_id": "x", "_dlt_load_id": "1"}) + "\n")
    [framed] = [f for spec in plan_chunks(str(path), "billing") for f in frame_chunk(spec)]
    assert json.loads(framed.records["raw"][0].as_py())["data"] == {"object": {"customer": "cus_1"}}


def test_parquet_rows_become_json_records(tmp_path):
    path = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "n": [1, 2, 3], "data": [{"x": 1}, {"x": 2}, None]}), path, row_group_size=2)
    assert detect_layout(str(path)).kind == "parquet"
    assert frame(path) == ([(1, None, "a"), (2, None, "b"), (3, None, "c")], 0)


@pytest.mark.parametrize("content, delimiter", [
    (b"id,text\n1,a\n", ","), (b"id\ttext\n1\ta\n", "\t"), (b"id;text\n1;a\n", ";"), (b"id|text\n1|a\n", "|"),
])
def test_csv_delimiters(tmp_path, content, delimiter):
    path = tmp_path / "export.txt"
    path.write_bytes(content)
    layout = detect_layout(str(path))
    assert (layout.kind, layout.delimiter, layout.header) == ("csv", delimiter, ("id", "text"))
    [framed] = [f for spec in plan_chunks(str(path), "x") for f in frame_chunk(spec)]
    assert framed.records["col_text"].to_pylist() == ["a"]


def test_utf16_csv_is_read(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("id\ttext\n1\tcafé\n".encode("utf-16"))
    layout = detect_layout(str(path))
    assert (layout.encoding, layout.delimiter) == ("utf-16-le", "\t")
    [framed] = [f for spec in plan_chunks(str(path), "x") for f in frame_chunk(spec)]
    assert framed.records["col_text"].to_pylist() == ["café"]


def test_a_quoted_header_name_with_a_quote_is_a_name(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b'"Customer ""Account""",Text\nC1,hello\n')
    assert detect_layout(str(path)).header == ('Customer "Account"', "Text")


def test_qualtrics_legacy_export_names_its_columns_from_the_second_row(tmp_path):
    path = tmp_path / "legacy.csv"
    path.write_bytes(b"\xef\xbb\xbfV1,V2,V8,Q1\nResponseID,ResponseSet,StartDate,How easy was it?\nR_1,Default,2026-01-02 10:00:00,6\n")
    layout = detect_layout(str(path))
    assert (layout.header_rows, layout.header) == (2, ("ResponseID", "ResponseSet", "StartDate", "Q1"))
    [spec] = plan_chunks(str(path), "survey")
    assert spec.first_line == 3


def test_whitespace_only_is_empty(tmp_path):
    path = tmp_path / "blank.jsonl"
    path.write_bytes(b"\n  \n")
    assert detect_layout(str(path)).kind == "empty" and plan_chunks(str(path), "web") == []


def test_a_json_value_too_large_to_hold_is_one_failure_in_bounded_memory(tmp_path, monkeypatch):
    import transforms.framing as framing

    monkeypatch.setattr(framing, "MAX_DOCUMENT_BYTES", 1 << 20)
    path = tmp_path / "huge.json.gz"
    path.write_bytes(gzip.compress(b'{\n  "id": "before"\n}\n{"pad": "' + b"a" * (4 << 20) + b'"}\n{"id": "after"}\n'))
    rows, _ = frame(path, chunk_bytes=1 << 16)
    assert rows == [(1, None, "before"), (4, None, "record_too_large")]
