import json

from tests.conftest import failures, parse_file, write

EVENT = {"uuid": "u1", "$insert_id": "i1", "event_type": "Feature Used", "user_id": "C1", "device_id": "d9",
         "event_time": "2026-03-02 10:15:00.250000", "session_id": 1772446500000,
         "event_properties": {"feature": "reports"}, "user_properties": {"plan": "pro"}, "amplitude_id": 42}
SAMPLE_EXPORT = "\n".join(json.dumps(e) for e in [
    EVENT,
    dict(EVENT, uuid=None, event_type="Error Shown", user_id=None, event_properties={"error_message": "Sync failed: timeout"}),
    dict(EVENT, uuid="u3", event_time="03/02/2026"),
    dict(EVENT, uuid="u4", user_id=None, device_id=None),
    dict(EVENT, uuid="u5", user_id=None, device_id=None, amplitude_id=None),
]) + "\n"


def test_events_map_and_link_devices_to_accounts(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "product", "export.jsonl", SAMPLE_EXPORT), "product")
    first, error, merged_only = parsed.good.to_pylist()
    assert (first["interaction_id"], first["interaction_type"], first["source_customer_ref"], first["linked_refs"]) == \
        ("product:u1", "feature_used", "account:C1", ["device:d9", "amplitude_user:42"])
    assert merged_only["source_customer_ref"] == "amplitude_user:42"  # Amplitude's merged user joins the others
    assert first["occurred_at"].isoformat() == "2026-03-02T10:15:00.250000+00:00"  # event_time is UTC without a zone
    assert first["source_reason"] == "reports" and '"amplitude_id":42' in first["attributes"]
    assert (error["interaction_id"], error["interaction_type"], error["source_customer_ref"], error["text"]) == \
        ("product:i1", "error_shown", "device:d9", "Sync failed: timeout")
    assert failures(parsed) == [(3, "invalid_timestamp"), (5, "missing_field")]
