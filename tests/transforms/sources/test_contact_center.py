import json
import os
from datetime import datetime, timezone

import pytest

from tests.conftest import failures, parse_file, write

HEADER = ("ContactId,CustomerAccount,CallerPhone,InitiationTimestamp,DisconnectTimestamp,Queue,AgentId,AgentTeam,"
          "WaitSeconds,HandleSeconds,Transfers,ReasonCode,DispositionCode,CustomerStatement")
SAMPLE_CALLS = "\n".join([
    HEADER,
    'k1,C1,+15550001,2026-04-01T08:34:25+01:00,2026-04-01T08:42:00+01:00,billing,agent-1,Tier 1,60,395,0,BILLING-QUERY,RESOLVED,"Why was I charged twice, again?"',
    'k2,C2,+15550002,2026-04-01T09:00:00Z,2026-04-01T09:10:00Z,tech,,Tier 2,30,570,2,,ESCALATED_TIER2,"It says ""error 42""\nand then\nit crashes"',
    'k3,C3,+15550003,not a date,2026-04-01T09:10:00Z,tech,agent-3,Tier 2,30,570,0,,RESOLVED,hello',
    'k4,C4,+15550004,2026-04-01T09:00:00Z,2026-04-01T09:10:00Z,tech,agent-4,Tier 2,n/a,570,0,,RESOLVED,hello',
    'k5,C5,+15550005,2026-04-01T09:00:00Z',
    'k6,C6,+15550006,2026-04-01T09:00:00Z,2026-04-01T09:10:00Z,tech,agent-6,Tier 2,1,2,0,,RESOLVED,hello,unexpected',
    ',C7,+15550007,2026-04-01T09:00:00Z,2026-04-01T09:10:00Z,tech,agent-7,Tier 2,1,2,0,,RESOLVED,hello',
    'k8,C8,+15550008,2026-04-01T09:00:00,2026-04-01T09:10:00Z,tech,agent-8,Tier 2,1,2,0,,RESOLVED,no zone',
    'k9,C9,+15550009,2026-04-01T09:00:00Z,2026-04-01T09:10:00Z,tech,agent-9,Tier 2,-5,2,0,,RESOLVED,negative wait',
]) + "\n"


def test_calls_map_with_quoted_multiline_statements(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "call_center", "contacts.csv", SAMPLE_CALLS), "call_center")
    rows = {r["interaction_id"]: r for r in parsed.good.to_pylist()}
    assert sorted(rows) == ["call_center:k1", "call_center:k2"]
    first = rows["call_center:k1"]
    assert first["occurred_at"] == datetime(2026, 4, 1, 7, 34, 25, tzinfo=timezone.utc)
    assert (first["wait_seconds"], first["handle_seconds"], first["transfers"]) == (60, 395, 0)
    assert first["source_code"] == "RESOLVED" and first["source_reason"] == "BILLING-QUERY"
    assert first["text"] == "Why was I charged twice, again?"
    assert first["source_customer_ref"] == "account:C1"
    [phone] = first["linked_refs"]  # the caller's number, only as a salted hash
    assert phone.startswith("phone:") and "555" not in phone and "CallerPhone" not in first["attributes"]
    second = rows["call_center:k2"]
    assert second["text"] == 'It says "error 42"\nand then\nit crashes'
    assert second["agent_id"] is None and second["transfers"] == 2
    assert (first["source_line"], second["source_line"]) == (2, 3)


def test_call_failures_name_the_line_after_multiline_records(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "call_center", "contacts.csv", SAMPLE_CALLS), "call_center")
    assert failures(parsed) == [
        (6, "invalid_timestamp"),
        (7, "invalid_type"),
        (8, "csv_column_count"),
        (9, "csv_column_count"),
        (10, "missing_field"),
        (11, "invalid_timestamp"),
        (12, "out_of_range"),
    ]


def test_a_file_missing_required_columns_fails_every_record(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "call_center", "contacts.csv", "Id,When\n1,2026-01-01T00:00:00Z\n"), "call_center")
    assert failures(parsed) == [(2, "missing_column")]
    assert parsed.failed["error_message"][0].as_py() == "file has no column ContactId, InitiationTimestamp"


def test_chunked_reading_gives_the_same_records(tmp_path, con):
    path = write(tmp_path, "call_center", "contacts.csv", SAMPLE_CALLS)
    whole = parse_file(con, path, "call_center")
    chunked = parse_file(con, path, "call_center", chunk_bytes=150)
    assert chunked.good["interaction_id"].to_pylist() == whole.good["interaction_id"].to_pylist()
    assert failures(chunked) == failures(whole)


@pytest.mark.parametrize("name", ['Customer "Tier"', 'x" || (select 1) || "y', "it's", 'col_"; drop table frame; --'])
def test_any_header_name_is_a_name_never_sql(tmp_path, con, name):
    header = "ContactId,CustomerAccount,InitiationTimestamp," + '"' + name.replace('"', '""') + '"\n'
    parsed = parse_file(con, write(tmp_path, "call_center", "calls.csv", header + "k1,C1,2026-02-12T09:00:00Z,gold\n"), "call_center")
    [row] = parsed.good.to_pylist()
    assert json.loads(row["attributes"]) == {name: "gold"}


def test_values_past_the_canonical_ranges_fail_their_record_not_the_file(tmp_path, con):
    header = "ContactId,CustomerAccount,InitiationTimestamp,WaitSeconds,HandleSeconds,Transfers\n"
    rows = ("k1,C1,2026-02-12T09:00:00Z,9223372036854775807,5,0\n"   # fits in 64 bits, but no call waits 292 billion years
            "k2,C1,2026-02-12T09:00:00Z,99999999999999999999,5,0\n"  # does not fit in 64 bits
            "k3,C1,2026-02-12T09:00:00Z,61.5,5,0\n"
            "k4,C1,2026-02-12T09:00:00Z,5,5,2000\n"
            "k5,C1,2026-02-12T09:00:00Z,5,5,0\n")
    parsed = parse_file(con, write(tmp_path, "call_center", "calls.csv", header + rows), "call_center")
    assert [r["interaction_id"] for r in parsed.good.to_pylist()] == ["call_center:k5"]
    assert failures(parsed) == [(2, "out_of_range"), (3, "out_of_range"), (4, "invalid_type"), (5, "out_of_range")]


HOSTILE = 'x" || (select string_agg(content, \'\') from read_text(\'/etc/hostname\')) || "y'


def _folders(framing: str) -> list[str]:
    from transforms.sources import default_adapters

    return sorted(folder for folder, adapters in default_adapters().items() if any(a.framing == framing for a in adapters))


@pytest.mark.parametrize("folder", _folders("csv"))
def test_a_hostile_header_reaches_no_adapter_as_sql(tmp_path, con, folder):
    """Every CSV adapter gets its own columns plus a header written to break out of an identifier."""
    from transforms.sources import default_adapters
    from transforms.sources.google_forms import COLUMNS

    adapter = next(a for a in default_adapters()[folder] if a.framing == "csv")
    names = list(COLUMNS if folder == "internal_survey" else adapter.required_columns or ("ResponseId", "RecordedDate"))
    header = ",".join('"' + n.replace('"', '""') + '"' for n in names + [HOSTILE])
    row = ",".join("1" for _ in names) + ",payload"
    parsed = parse_file(con, write(tmp_path, folder, "export.csv", header + "\n" + row + "\n"), folder)
    kinds = set(parsed.failed["error_type"].to_pylist())
    assert "internal_error" not in kinds and parsed.read == 1
    text = str(parsed.good.to_pylist() + parsed.failed.to_pylist())
    secret = open("/etc/hostname").read().strip() if os.path.exists("/etc/hostname") else ""
    assert not secret or secret not in text


@pytest.mark.parametrize("folder", _folders("json"))
def test_a_hostile_key_reaches_no_adapter_as_sql(tmp_path, con, folder):
    """Every folder's JSON adapters get a record whose keys and values are written to break out of SQL."""
    record = {HOSTILE: HOSTILE, "id": HOSTILE, "type": HOSTILE, "messageId": "m1", "timestamp": "2026-02-10T10:00:00Z",
              "data": {"object": {HOSTILE: 1, "object": HOSTILE}}, "properties": {HOSTILE: HOSTILE}}
    parsed = parse_file(con, write(tmp_path, folder, "export.jsonl", json.dumps(record) + "\n"), folder)
    assert "internal_error" not in set(parsed.failed["error_type"].to_pylist()) and parsed.read == 1
    secret = open("/etc/hostname").read().strip() if os.path.exists("/etc/hostname") else ""
    assert not secret or secret not in str(parsed.good.to_pylist() + parsed.failed.to_pylist())
