import hashlib
from datetime import datetime, timezone

from tests.conftest import failures, parse_file, write

SAMPLE_WEB = "\n".join([
    '{"messageId":"m1","type":"page","anonymousId":"a1","timestamp":"2026-02-10T20:52:32.831+05:30","properties":{"path":"/pricing"},"context":{"locale":"en-US"}}',
    '{"messageId":"m2","type":"track","event":"Signed Up","anonymousId":"a1","userId":"C1","timestamp":"2026-02-10T15:30:00Z","properties":{"plan":"pro"}}',
    '{"messageId":"m3","type":"identify","anonymousId":"a1","userId":"C1","timestamp":1770737400000,"traits":{"plan":"pro"}}',
    '{"messageId":"m4","type":"page","anonymousId":"a1","timestamp":"yesterday afternoon"}',
    '{"messageId":"m5","type":"page","anonym',
    '{"type":"page","anonymousId":"a1","timestamp":"2026-02-10T15:30:00Z"}',
    '{"messageId":"m7","type":"page","timestamp":"2026-02-10T15:30:00Z"}',
    '{"messageId":"m8","type":"purchase","anonymousId":"a1","timestamp":"2026-02-10T15:30:00Z"}',
    '[1, 2]',
    '{"messageId":"m10","type":"page","anonymousId":"a1","timestamp":"2026-02-10T15:30:00"}',
    '{"messageId":"m11","type":"page","anonymousId":"a1","timestamp":"2031-01-01T00:00:00Z"}',
]) + "\n"


# The HTTP API does not require a messageId (line 6): the call's natural key identifies it.
NATURAL_KEY_HASH = hashlib.md5(b"page||a1|2026-02-10T15:30:00Z||").hexdigest()[:24]


def test_segment_calls_map_to_canonical_records(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "web", "events.jsonl", SAMPLE_WEB), "web")
    good = {r["interaction_id"]: r for r in parsed.good.to_pylist()}
    assert sorted(good) == ["web:h" + NATURAL_KEY_HASH, "web:m1", "web:m2", "web:m3"]
    page, track, identify = good["web:m1"], good["web:m2"], good["web:m3"]
    assert page["interaction_type"] == "page_view"
    assert page["source_code"] == "/pricing"
    assert page["occurred_at"] == datetime(2026, 2, 10, 15, 22, 32, 831000, tzinfo=timezone.utc)
    assert page["source_customer_ref"] == "anon:a1" and page["linked_refs"] == []
    assert page["source_line"] == 1
    assert '"locale":"en-US"' in page["attributes"] and "messageId" not in page["attributes"]
    assert track["interaction_type"] == "signed_up" and track["source_code"] == "Signed Up"
    assert track["source_customer_ref"] == "account:C1" and track["linked_refs"] == ["anon:a1"]
    assert identify["occurred_at"] == datetime(2026, 2, 10, 15, 30, tzinfo=timezone.utc)  # epoch milliseconds
    assert page["channel_type"] == "self_service"


def test_segment_failures_are_typed_and_located(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "web", "events.jsonl", SAMPLE_WEB), "web")
    assert failures(parsed) == [
        (4, "invalid_timestamp"),
        (5, "malformed_json"),
        (7, "missing_field"),
        (8, "invalid_value"),
        (9, "malformed_json"),
        (10, "invalid_timestamp"),
        (11, "timestamp_out_of_range"),
    ]
    messages = dict(zip(parsed.failed["source_line"].to_pylist(), parsed.failed["error_message"].to_pylist()))
    assert messages[7] == "neither userId nor anonymousId is set"
    assert messages[9] == "record is a JSON array, not an object"
    assert "in the future" in messages[11]
    raws = dict(zip(parsed.failed["source_line"].to_pylist(), parsed.failed["raw_payload"].to_pylist()))
    assert raws[5] == '{"messageId":"m5","type":"page","anonym'
    assert set(parsed.failed["source_file"].to_pylist()) == {str(tmp_path / "web" / "events.jsonl")}


def test_app_events_use_the_same_shape(tmp_path, con):
    line = '{"messageId":"s1","type":"screen","name":"Dashboard","userId":"C1","anonymousId":"d1","timestamp":"2026-03-01T10:00:00+01:00"}\n'
    parsed = parse_file(con, write(tmp_path, "app", "events.jsonl", line), "app")
    [row] = parsed.good.to_pylist()
    assert (row["interaction_id"], row["touchpoint"], row["interaction_type"], row["source_code"]) == \
        ("app:s1", "app", "screen_view", "Dashboard")
