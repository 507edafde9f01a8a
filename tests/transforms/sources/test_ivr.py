from tests.conftest import failures, parse_file, write

SAMPLE_FLOW_LOG = (
    "CallId,CallerNumber,AccountNumber,StartTimestamp,EndTimestamp,MenuPath,LastNode,Outcome,QueueSeconds\n"
    "v1,+1 (555) 010-2030,C1,2026-03-02T10:15:00Z,2026-03-02T10:19:00Z,billing>invoice,queue-billing,AbandonedInQueue,240\n"
    "v2,+15550102030,,2026-03-02T11:00:00+01:00,2026-03-02T11:02:00+01:00,tech>login,self-reset,SelfServed,0\n"
    "v3,,,2026-03-02T11:00:00Z,,tech,menu,Hangup,0\n"
    "v4,+15550102030,C1,2026-03-02T11:00:00Z,,billing,menu,,x\n"
)


def test_sessions_map_and_hash_caller_numbers(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "ivr", "flows.csv", SAMPLE_FLOW_LOG), "ivr")
    abandoned, served = parsed.good.to_pylist()
    assert (abandoned["interaction_id"], abandoned["channel_type"], abandoned["source_code"], abandoned["source_reason"],
            abandoned["wait_seconds"]) == ("ivr:v1", "automated", "AbandonedInQueue", "billing>invoice", 240)
    phone = abandoned["linked_refs"][0]
    assert abandoned["source_customer_ref"] == "account:C1" and phone.startswith("phone:") and "555" not in phone
    assert served["source_customer_ref"] == phone  # the same number, however written, hashes alike
    assert "555" not in (abandoned["attributes"] or "")
    assert failures(parsed) == [(4, "missing_field"), (5, "missing_field")]
