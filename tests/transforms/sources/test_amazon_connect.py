import gzip
import json
from pathlib import Path

from tests.conftest import failures, parse_with, write
from transforms.sources import amazon_connect, contact_center, twilio

FIXTURES = Path(__file__).parents[2] / "fixtures" / "vendors" / "call_center"
# The call_center/ folder's adapters, in the order of data/config/touchpoints.yml.
CALL_CENTER = (amazon_connect.CONTACT_EVENTS, amazon_connect.CONTACT_RECORDS, twilio.CALLS, contact_center.CALL_CENTER)

C1, C2, C3, C4 = ("7d2a9c1e-4b3f-4e8a-9c61-2f5b8e0a1d34", "b81f0e47-2c9d-4a65-8e13-6d0c7f9a2b58",
                  "3e6c8a2f-9d14-4b7e-a5c0-81f2d9e4b6a7", "c59d1b83-7e2a-4f06-b4d8-0a3e6f1c9b25")
C5, C6, C8 = ("5a0e7f3c-1b9d-4c82-9f6e-e4d2a8b1c073", "9f4b2d61-8c3e-4a17-b0e5-7c1a9d3f6e28",
              "18d3f6a9-0e5b-4c2d-a7f1-b9c4e2d8a063")

SAMPLE_CTR = {"ContactId": "k1", "InitialContactId": None, "Channel": "CHAT", "InitiationMethod": "API",
              "InitiationTimestamp": "2026-04-01T08:00:00Z", "LastUpdateTimestamp": "2026-04-01T08:09:00Z",
              "DisconnectReason": None, "CustomerEndpoint": None, "Agent": None, "Queue": None, "Attributes": {}}


def keyed(parsed, *columns):
    return [tuple(r[c].isoformat() if c == "occurred_at" else r[c] for c in columns) for r in parsed.good.to_pylist()]


def test_firehose_contact_records_map_each_channel_and_a_re_delivery_supersedes(con):
    parsed = parse_with(con, FIXTURES / "amazon-connect-ctr-firehose.json", CALL_CENTER)
    assert keyed(parsed, "interaction_id", "interaction_type", "occurred_at", "source_code", "wait_seconds",
                 "handle_seconds", "transfers") == [
        (f"call_center:{C1}", "call", "2026-03-02T09:15:02+00:00", "amazon_connect:CUSTOMER_DISCONNECT", 42, 378, 0),
        (f"call_center:{C2}", "call", "2026-03-02T09:40:11+00:00", "amazon_connect:ABANDONED_IN_QUEUE", 95, None, 0),
        (f"call_center:{C3}", "chat_conversation", "2026-03-03T14:05:09+00:00", "amazon_connect:AGENT_DISCONNECT", 18, 447, 0),
        (f"call_center:{C4}", "task", "2026-03-03T15:00:00+00:00", "amazon_connect:AGENT_DISCONNECT", 1200, 600, 0),
        (f"call_center:{C5}", "call", "2026-03-04T11:30:00+00:00", "amazon_connect:TRANSFERRED", 30, 215, 1),
        (f"call_center:{C6}", "contact_leg", "2026-03-04T11:34:10+00:00", "RESOLVED", 65, 630, 0),
        (f"call_center:{C1}", "call", "2026-03-02T09:15:02+00:00", "RESOLVED", 42, 378, 0),
    ]
    rows = parsed.good.to_pylist()
    assert rows[6]["record_version"] > rows[0]["record_version"]  # re-sent after update-contact-attributes
    first = rows[0]
    assert (first["agent_id"], first["team"], first["source_reason"]) == ("maria.lopez", "BasicQueue", "BILLING-QUERY")
    assert first["text"] == "I was charged twice for my March invoice" and first["channel_type"] == "assisted"
    assert failures(parsed) == [(1, "invalid_timestamp")]


def test_a_gzipped_firehose_object_reads_the_same(tmp_path, con):
    plain = parse_with(con, FIXTURES / "amazon-connect-ctr-firehose.json", CALL_CENTER)
    packed = gzip.compress((FIXTURES / "amazon-connect-ctr-firehose.json").read_bytes())
    zipped = parse_with(con, write(tmp_path, "call_center", "connect-ctr-1-2026-03-04-11-50-00-0a1b2c3d", packed), CALL_CENTER)
    assert keyed(zipped, "interaction_id", "record_version") == keyed(plain, "interaction_id", "record_version")
    assert failures(zipped) == failures(plain)


def test_the_caller_is_the_account_tied_to_the_hashed_number_and_to_the_contact(con):
    first, abandoned, chat, *_ = parse_with(con, FIXTURES / "amazon-connect-ctr-firehose.json", CALL_CENTER).good.to_pylist()
    assert first["source_customer_ref"] == "account:C-1042"
    phone, contact = first["linked_refs"]
    assert phone.startswith("phone:") and "555" not in phone and contact == f"amazon_connect_contact:{C1}"
    assert '"CustomerEndpoint"' not in first["attributes"] and "0143" not in first["attributes"]
    assert abandoned["source_customer_ref"].startswith("phone:") and abandoned["linked_refs"] == [f"amazon_connect_contact:{C2}"]
    assert chat["source_customer_ref"] == "account:C-2001" and chat["linked_refs"] == [f"amazon_connect_contact:{C3}"]


def test_a_transfer_chain_shares_the_initial_contact_as_its_case(con):
    parsed = parse_with(con, FIXTURES / "amazon-connect-ctr-firehose.json", CALL_CENTER)
    rows = {r["interaction_id"]: r for r in parsed.good.to_pylist()}
    transferred, leg = rows[f"call_center:{C5}"], rows[f"call_center:{C6}"]
    assert transferred["case_id"] == leg["case_id"] == f"call_center:{C5}"
    assert (leg["agent_id"], leg["team"], leg["source_customer_ref"]) == ("dev.patel", "Tier2", "account:C-3307")


def test_one_record_saved_as_a_pretty_printed_document(con):
    parsed = parse_with(con, FIXTURES / "amazon-connect-ctr-single.json", CALL_CENTER)
    assert keyed(parsed, "interaction_id", "source_line", "interaction_type", "source_code", "source_customer_ref",
                 "wait_seconds", "handle_seconds") == [
        (f"call_center:{C8}", 1, "call", "CALLBACK_SCHEDULED", "account:C-1042", None, 437),
    ]
    assert failures(parsed) == []


def test_contact_events_one_per_line_in_either_casing(con):
    parsed = parse_with(con, FIXTURES / "amazon-connect-contact-events.jsonl", CALL_CENTER)
    assert keyed(parsed, "interaction_id", "source_line", "occurred_at", "source_code", "agent_id", "wait_seconds",
                 "handle_seconds") == [
        (f"call_center:{C1}:INITIATED", 1, "2026-03-02T09:15:02+00:00", "amazon_connect_event:INITIATED", None, None, None),
        (f"call_center:{C1}:QUEUED", 2, "2026-03-02T09:15:40+00:00", "amazon_connect_event:QUEUED", None, None, None),
        (f"call_center:{C1}:CONNECTED_TO_AGENT", 3, "2026-03-02T09:16:22+00:00", "amazon_connect_event:CONNECTED_TO_AGENT",
         "57db30ae-8c01-44e6-abd5-80b7b51944cf", 42, None),
        (f"call_center:{C1}:DISCONNECTED", 4, "2026-03-02T09:21:40+00:00", "amazon_connect_event:DISCONNECTED",
         "57db30ae-8c01-44e6-abd5-80b7b51944cf", 42, 318),
        (f"call_center:{C1}:COMPLETED", 5, "2026-03-02T09:22:40+00:00", "amazon_connect_event:COMPLETED",
         "57db30ae-8c01-44e6-abd5-80b7b51944cf", 42, 378),
        # unset times (1970-01-01T00:00:00.001Z) are no times: the envelope's time is the event's
        (f"call_center:{C1}:CONTACT_DATA_UPDATED", 6, "2026-03-02T10:02:10+00:00", "amazon_connect_event:CONTACT_DATA_UPDATED",
         "57db30ae-8c01-44e6-abd5-80b7b51944cf", None, None),
        (f"call_center:{C2}:INITIATED", 7, "2026-03-02T09:40:11+00:00", "amazon_connect_event:INITIATED", None, None, None),
        (f"call_center:{C2}:QUEUED", 8, "2026-03-02T09:40:35+00:00", "amazon_connect_event:QUEUED", None, None, None),
        (f"call_center:{C2}:DISCONNECTED", 9, "2026-03-02T09:42:10+00:00", "amazon_connect_event:DISCONNECTED_IN_QUEUE",
         None, 95, None),
        (f"call_center:{C2}:DISCONNECTED", 10, "2026-03-02T09:42:10+00:00", "amazon_connect_event:DISCONNECTED_IN_QUEUE",
         None, 95, None),
    ]
    rows = parsed.good.to_pylist()
    assert rows[8]["record_version"] == rows[9]["record_version"]  # EventBridge's duplicate: dedup keeps one
    assert {r["interaction_type"] for r in rows} == {"contact_event"}
    assert {r["case_id"] for r in rows} == {f"call_center:{C1}", f"call_center:{C2}"}
    assert rows[0]["source_customer_ref"] == f"amazon_connect_contact:{C1}" and rows[0]["linked_refs"] == []
    assert (rows[0]["channel_type"], rows[1]["channel_type"]) == ("automated", "assisted")
    assert failures(parsed) == [(11, "missing_field")]


def test_contact_events_in_a_json_array(con):
    parsed = parse_with(con, FIXTURES / "amazon-connect-contact-events-array.json", CALL_CENTER)
    assert keyed(parsed, "interaction_id", "source_line", "occurred_at", "wait_seconds", "handle_seconds") == [
        (f"call_center:{C3}:INITIATED", 2, "2026-03-03T14:05:09+00:00", None, None),
        (f"call_center:{C3}:QUEUED", 23, "2026-03-03T14:05:09.512000+00:00", None, None),
        (f"call_center:{C3}:CONNECTED_TO_AGENT", 49, "2026-03-03T14:05:27.204000+00:00", 18, None),
        (f"call_center:{C3}:DISCONNECTED", 79, "2026-03-03T14:12:39.618000+00:00", 18, 432),
    ]
    assert failures(parsed) == []


def test_contacts_without_a_caller_monitoring_and_email(tmp_path, con):
    records = [
        SAMPLE_CTR,
        dict(SAMPLE_CTR, ContactId="k2", Channel="VOICE", InitiationMethod="MONITOR"),
        dict(SAMPLE_CTR, ContactId="k3", Channel="EMAIL", InitiationMethod="INBOUND",
             CustomerEndpoint={"Address": " Ana@Example.org ", "Type": "EMAIL_ADDRESS"}),
        dict(SAMPLE_CTR, ContactId="k4", Channel="VOICE", CustomerId="C-77",
             Queue={"Name": "Q", "Duration": "n/a", "EnqueueTimestamp": "2026-04-01T08:00:05Z"}),
    ]
    parsed = parse_with(con, write(tmp_path, "call_center", "ctr.json", "".join(json.dumps(r) for r in records)), CALL_CENTER)
    anonymous, monitor, email = parsed.good.to_pylist()
    assert (anonymous["interaction_type"], anonymous["channel_type"]) == ("chat_conversation", "automated")
    assert anonymous["source_customer_ref"] == "amazon_connect_contact:k1" and anonymous["linked_refs"] == []
    assert anonymous["source_code"] is None and anonymous["handle_seconds"] is None
    assert monitor["interaction_type"] == "supervisor_monitor"
    assert email["interaction_type"] == "ticket" and email["source_customer_ref"].startswith("email:")
    assert "example" not in email["source_customer_ref"]
    assert failures(parsed) == [(1, "invalid_type")]


def test_each_record_of_the_folder_goes_to_its_adapter(tmp_path, con):
    lines = [
        (FIXTURES / "amazon-connect-contact-events.jsonl").read_text().splitlines()[0],
        json.dumps(SAMPLE_CTR),
        json.dumps(json.loads((FIXTURES / "twilio-call-fetch.json").read_text())),
        json.dumps({"ContactId": "x", "Note": "a contact id alone is no contact record"}),
    ]
    parsed = parse_with(con, write(tmp_path, "call_center", "mixed.jsonl", "\n".join(lines) + "\n"), CALL_CENTER)
    assert keyed(parsed, "source_line", "interaction_type") == [(1, "contact_event"), (2, "chat_conversation"), (3, "call")]
    assert failures(parsed) == [(4, "unsupported_record")]
