from decimal import Decimal

from tests.conftest import failures, parse_file, write

SAMPLE_BILLING = "\n".join([
    '{"id":"evt_1","object":"event","type":"customer.created","created":1774956985,"data":{"object":{"id":"cus_1","object":"customer","metadata":{"account_id":"C1"}}}}',
    '{"id":"evt_2","object":"event","type":"invoice.paid","created":1776500099,"data":{"object":{"id":"in_1","object":"invoice","customer":"cus_1","amount_due":4900,"amount_paid":4900,"currency":"usd"}}}',
    '{"id":"evt_3","object":"event","type":"charge.refunded","created":1776500100,"data":{"object":{"id":"ch_1","object":"charge","customer":"cus_1","amount":2900,"amount_refunded":2900,"currency":"usd"}}}',
    '{"id":"evt_4","object":"event","type":"invoice.paid","created":1776500099,"data":{"object":{"id":"in_2","customer":"cus_1","amount_paid":"forty","currency":"usd"}}}',
    '{"id":"evt_5","object":"event","type":"invoice.paid","created":"yesterday afternoon","data":{"object":{"id":"in_3","customer":"cus_1"}}}',
    '{"id":"evt_6","object":"event","type":"invoice.paid","created":1776500099}',
]) + "\n"


def test_stripe_events_map_amounts_and_links(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "billing", "events.jsonl", SAMPLE_BILLING), "billing")
    rows = {r["interaction_id"]: r for r in parsed.good.to_pylist()}
    assert sorted(rows) == ["billing:evt_1", "billing:evt_2", "billing:evt_3"]
    assert rows["billing:evt_1"]["interaction_type"] == "customer_created"
    assert rows["billing:evt_1"]["source_customer_ref"] == "stripe:cus_1"
    assert rows["billing:evt_1"]["linked_refs"] == ["account:C1"]
    assert rows["billing:evt_2"]["amount"] == Decimal("49.00")
    assert rows["billing:evt_2"]["currency"] == "usd"
    assert rows["billing:evt_3"]["interaction_type"] == "refund_issued"
    assert rows["billing:evt_3"]["amount"] == Decimal("29.00")
    assert rows["billing:evt_2"]["channel_type"] == "automated"


def test_stripe_failures(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "billing", "events.jsonl", SAMPLE_BILLING), "billing")
    assert failures(parsed) == [(4, "invalid_type"), (5, "invalid_timestamp"), (6, "missing_field")]
    assert parsed.failed["error_message"].to_pylist()[0] == "amount is not a whole number: forty"
