import json
from pathlib import Path

from tests.conftest import failures, parse_with, write
from transforms.sources import amazon_connect, contact_center, twilio

FIXTURES = Path(__file__).parents[2] / "fixtures" / "vendors" / "call_center"
# The call_center/ folder's adapters, in the order of data/config/touchpoints.yml.
CALL_CENTER = (amazon_connect.CONTACT_EVENTS, amazon_connect.CONTACT_RECORDS, twilio.CALLS, contact_center.CALL_CENTER)

PARENT, LEG, IN_PROGRESS = ("CA9e4f2a7c1b3d5e8f0a2c4e6b8d1f3a5c", "CA1b7d3f5a9c2e4b6d8f0a3c5e7b9d2f4a",
                            "CA2c6e8a0d4f9b1c3e5a7d9f1b3e5a8c0d")
SAMPLE_CALL = {"sid": "CA" + "0" * 32, "account_sid": "AC" + "0" * 32, "parent_call_sid": None, "direction": "inbound",
               "status": "completed", "from": "client:anna", "to": "+18885550164", "duration": "61",
               "date_created": "Wed, 01 Apr 2026 08:00:00 +0000", "date_updated": "Wed, 01 Apr 2026 08:01:01 +0000",
               "start_time": "Wed, 01 Apr 2026 08:00:00 +0000", "end_time": "Wed, 01 Apr 2026 08:01:01 +0000"}


def keyed(parsed, *columns):
    return [tuple(r[c].isoformat() if c == "occurred_at" else r[c] for c in columns) for r in parsed.good.to_pylist()]


def test_a_calls_page_maps_calls_legs_and_attempts(con):
    parsed = parse_with(con, FIXTURES / "twilio-calls-page.json", CALL_CENTER)
    assert keyed(parsed, "interaction_id", "source_line", "interaction_type", "occurred_at", "source_code", "handle_seconds") == [
        (f"call_center:{PARENT}", 3, "call", "2026-03-02T13:05:11+00:00", "twilio:completed", 189),
        (f"call_center:{LEG}", 38, "call_leg", "2026-03-02T13:05:48+00:00", "twilio:outbound:completed", 152),
        ("call_center:CA4c8e0a2d6f1b3c5e7a9d2f4b6c8e1a3d", 73, "call", "2026-03-02T14:22:03+00:00", "twilio:no-answer", 0),
        ("call_center:CA6d0f2b4e8a3c5d7f9b1e3a5c7d9f2b4e", 108, "call", "2026-03-02T15:47:50+00:00", "twilio:canceled", 0),
        ("call_center:CA8f2b4d6a0c5e7f9b1d3a5c7e9f1b4d6a", 143, "call_attempt", "2026-03-03T10:00:01+00:00",
         "twilio:outbound:no-answer", 0),
        ("call_center:CA0a4c6e8b2d7f9a1c3e5b7d9f1a3c6e8b", 178, "call", "2026-03-03T10:30:01+00:00",
         "twilio:outbound:completed", 251),
        (f"call_center:{IN_PROGRESS}", 247, "call", "2026-03-03T11:15:20+00:00", "twilio:in-progress", None),
    ]
    assert {r["wait_seconds"] for r in parsed.good.to_pylist()} == {None}  # queue_time is no caller's wait
    assert failures(parsed) == [(213, "missing_field")]


def test_the_customer_is_the_other_party_and_a_leg_takes_its_parents(con):
    parent, leg, _, _, attempt, outbound, _ = parse_with(con, FIXTURES / "twilio-calls-page.json", CALL_CENTER).good.to_pylist()
    assert parent["source_customer_ref"].startswith("phone:") and parent["linked_refs"] == [f"twilio_call:{PARENT}"]
    assert leg["source_customer_ref"] == f"twilio_call:{PARENT}" and leg["linked_refs"] == []
    assert leg["case_id"] == parent["case_id"] == f"call_center:{PARENT}" and leg["agent_id"] == "maria_lopez"
    assert outbound["source_customer_ref"] == attempt["source_customer_ref"] != parent["source_customer_ref"]
    assert "0143" not in parent["attributes"] and '"from"' not in parent["attributes"]
    assert '"price":"-0.01700"' in parent["attributes"]


def test_a_call_fetched_after_it_ended_supersedes_its_listing(con):
    listed = parse_with(con, FIXTURES / "twilio-calls-page.json", CALL_CENTER).good.to_pylist()[-1]
    fetched = parse_with(con, FIXTURES / "twilio-call-fetch.json", CALL_CENTER)
    assert keyed(fetched, "interaction_id", "source_line", "source_code", "handle_seconds") == [
        (f"call_center:{IN_PROGRESS}", 1, "twilio:completed", 342),
    ]
    assert fetched.good["record_version"][0].as_py() > listed["record_version"]


def test_client_and_sip_parties_trunks_and_bad_values(tmp_path, con):
    calls = [
        SAMPLE_CALL,
        dict(SAMPLE_CALL, sid="CA" + "1" * 32, direction="trunking-originating",
             **{"from": "+18885550164", "to": "sip:Bob@pbx.example.com"}),
        dict(SAMPLE_CALL, sid="CA" + "2" * 32, status="queued", start_time=None, duration=None),
        dict(SAMPLE_CALL, sid="CA" + "3" * 32, start_time="2026-04-01 08:00"),
        dict(SAMPLE_CALL, sid="CA" + "4" * 32, duration="n/a"),
    ]
    page = json.dumps({"calls": calls, "page": 0, "next_page_uri": None})
    parsed = parse_with(con, write(tmp_path, "call_center", "calls.json", page), CALL_CENTER)
    client, sip, queued = parsed.good.to_pylist()
    assert client["source_customer_ref"] == "twilio_client:anna"
    assert sip["source_customer_ref"].startswith("sip:") and "bob" not in sip["source_customer_ref"].lower()
    assert sip["source_code"] == "twilio:outbound:completed"
    assert queued["occurred_at"].isoformat() == "2026-04-01T08:00:00+00:00" and queued["source_code"] == "twilio:queued"
    assert failures(parsed) == [(1, "invalid_timestamp"), (1, "invalid_type")]
