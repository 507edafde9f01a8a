import json
from decimal import Decimal
from pathlib import Path

from tests.conftest import failures, parse_with, write
from transforms.sources.stripe import BILLING

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vendors" / "billing"

SAMPLE_BILLING = "\n".join([
    '{"id":"evt_1","object":"event","type":"customer.created","created":1774956985,"data":{"object":{"id":"cus_1","object":"customer","metadata":{"account_id":"C1"}}}}',
    '{"id":"evt_2","object":"event","type":"invoice.paid","created":1776500099,"data":{"object":{"id":"in_1","object":"invoice","customer":"cus_1","amount_due":4900,"amount_paid":4900,"currency":"usd"}}}',
    '{"id":"evt_3","object":"event","type":"charge.refunded","created":1776500100,"data":{"object":{"id":"ch_1","object":"charge","customer":{"id":"cus_1","object":"customer"},"amount":2900,"amount_refunded":2900,"currency":"usd"}}}',
    '{"id":"evt_4","object":"event","type":"invoice.paid","created":1776500099,"data":{"object":{"id":"in_2","object":"invoice","customer":"cus_1","amount_paid":"forty","currency":"usd"}}}',
    '{"id":"evt_5","object":"event","type":"invoice.paid","created":"yesterday afternoon","data":{"object":{"id":"in_3","object":"invoice","customer":"cus_1"}}}',
    '{"id":"evt_6","object":"event","type":"invoice.paid","created":1776500099}',
    '{"id":"evt_7","object":"event","type":"charge.succeeded","created":1776500200,"data":{"object":{"id":"ch_2","object":"charge","customer":null,"amount":5120,"currency":"kwd","billing_details":{"email":" Guest@Brightlane.io "},"receipt_email":"guest@brightlane.io"}}}',
    '{"id":"evt_8","object":"event","type":"charge.succeeded","created":1776500300,"data":{"object":{"id":"ch_3","object":"charge","customer":"cus_2","amount":1500,"currency":"JPY"}}}',
]) + "\n"


def keyed(parsed, *columns):
    return [tuple(str(r[c]) if c == "occurred_at" else r[c] for c in columns) for r in parsed.good.to_pylist()]


def test_events_map_types_amounts_and_links(tmp_path, con):
    parsed = parse_with(con, write(tmp_path, "billing", "events.jsonl", SAMPLE_BILLING), BILLING)
    rows = {r["interaction_id"]: r for r in parsed.good.to_pylist()}
    assert sorted(rows) == ["billing:evt_1", "billing:evt_2", "billing:evt_3", "billing:evt_7", "billing:evt_8"]
    assert rows["billing:evt_1"]["interaction_type"] == "customer_created"
    assert rows["billing:evt_1"]["source_customer_ref"] == "stripe:cus_1"
    assert rows["billing:evt_1"]["linked_refs"] == ["account:C1"]
    assert (rows["billing:evt_2"]["amount"], rows["billing:evt_2"]["currency"]) == (Decimal("49.00"), "usd")
    refund = rows["billing:evt_3"]
    assert (refund["interaction_type"], refund["amount"]) == ("refund_issued", Decimal("29.00"))
    assert refund["source_customer_ref"] == "stripe:cus_1"  # an expanded customer object is read by its id
    assert rows["billing:evt_2"]["channel_type"] == "automated"
    guest = rows["billing:evt_7"]
    assert (guest["amount"], guest["currency"]) == (Decimal("5.12"), "kwd")  # three-decimal currency
    assert guest["source_customer_ref"].startswith("email:") and guest["linked_refs"] == ["stripe_charge:ch_2"]
    assert (rows["billing:evt_8"]["amount"], rows["billing:evt_8"]["currency"]) == (Decimal("1500"), "jpy")  # zero-decimal


def test_failures_name_the_field(tmp_path, con):
    parsed = parse_with(con, write(tmp_path, "billing", "events.jsonl", SAMPLE_BILLING), BILLING)
    assert failures(parsed) == [(4, "invalid_type"), (5, "invalid_timestamp"), (6, "missing_field")]
    assert parsed.failed["error_message"].to_pylist()[0] == "amount is not a whole number: forty"


def test_a_dispute_webhook_names_its_charge_not_a_customer(con):
    parsed = parse_with(con, FIXTURES / "stripe-webhook-dispute.json", BILLING)
    [dispute] = parsed.good.to_pylist()
    assert (dispute["interaction_id"], dispute["source_line"], dispute["interaction_type"], str(dispute["occurred_at"])) == (
        "billing:evt_1QzPbXLkdIwHu7ixVt9rkT3o", 1, "dispute_opened", "2026-03-02 14:05:11+00:00")
    assert dispute["source_customer_ref"] == "stripe_charge:ch_3R0e1fLkdIwHu7ix1Xc7oPlE"
    assert dispute["linked_refs"] == ["stripe_payment_intent:pi_3R0e1fLkdIwHu7ix1Gv0xYtq"]
    assert (dispute["amount"], dispute["currency"], dispute["source_code"], dispute["source_reason"]) == (
        Decimal("12000"), "jpy", "charge.dispute.created", "product_not_received")
    assert failures(parsed) == []


def test_an_events_list_page_reads_guest_payments_and_cancellations(con):
    parsed = parse_with(con, FIXTURES / "stripe-events-list.json", BILLING)
    assert keyed(parsed, "interaction_id", "source_line", "interaction_type", "amount", "currency") == [
        ("billing:evt_1R1bZfLkdIwHu7ixTn7vWq5e", 35, "subscription_cancelled", None, "usd"),
        ("billing:evt_1R0tYcLkdIwHu7ixc3Fh2Jm8", 98, "refund_issued", Decimal("14.50"), "usd"),
        ("billing:evt_3R0e1gLkdIwHu7ix0mTq8PzC", 188, "charge_succeeded", Decimal("12000"), "jpy"),
        ("billing:evt_1R0e1hLkdIwHu7ixYr4uNk2w", 251, "checkout_completed", Decimal("12000"), "jpy"),
        ("billing:evt_1R0aQnLkdIwHu7ixv6J2s9Qk", 319, "invoice_payment_succeeded", Decimal("49.00"), "usd"),
        ("billing:evt_1R0aQmLkdIwHu7ixD0eP7cXa", 407, "invoice_paid", Decimal("49.00"), "usd"),
        ("billing:evt_1QmW4rLkdIwHu7ixS9bN2fLd", 495, "customer_created", None, None),
    ]
    cancelled, refunded, charge, checkout, _, paid, created = parsed.good.to_pylist()
    assert (cancelled["text"], cancelled["source_reason"]) == ("Too pricey for our team since the last price change.", "too_expensive")
    # A guest checkout and its charge: no customer, the payer's email (hashed) ties them, and the payment
    # intent ties the charge (and so a later dispute naming the charge) to them.
    assert charge["source_customer_ref"] == checkout["source_customer_ref"] and charge["source_customer_ref"].startswith("email:")
    assert charge["linked_refs"] == ["stripe_charge:ch_3R0e1fLkdIwHu7ix1Xc7oPlE", "stripe_payment_intent:pi_3R0e1fLkdIwHu7ix1Gv0xYtq"]
    assert checkout["linked_refs"] == ["stripe_payment_intent:pi_3R0e1fLkdIwHu7ix1Gv0xYtq"]
    # A basil invoice names its subscription under parent.subscription_details.
    assert paid["source_customer_ref"] == "stripe:cus_RqA8mZtY3kLw2P"
    assert [r.split(":")[0] for r in paid["linked_refs"]] == ["email", "stripe_invoice", "stripe_subscription"]
    assert paid["linked_refs"][2] == "stripe_subscription:sub_1QbX4tLkdIwHu7ixM5cR0dJe"
    assert created["linked_refs"][0] == "account:C-1042" and created["linked_refs"][1] == paid["linked_refs"][0]
    assert refunded["source_customer_ref"] == "stripe:cus_RrB9nXuZ4mMx3Q"
    assert failures(parsed) == [(4, "missing_field")]
    assert parsed.failed["error_message"].to_pylist() == [
        "data.object (product) names no customer, email, charge, payment intent, invoice or subscription"]


def test_event_lines_link_refunds_payments_and_sessions_without_customer(con):
    parsed = parse_with(con, FIXTURES / "stripe-events.jsonl", BILLING)
    assert keyed(parsed, "source_line", "interaction_type", "source_customer_ref", "source_reason", "amount") == [
        (1, "customer_created", "stripe:cus_RsC0oYvA5nNy4R", None, None),
        (2, "payment_intent_payment_failed", "stripe:cus_RsC0oYvA5nNy4R", "insufficient_funds", Decimal("49.00")),
        (3, "payment_failed", "stripe:cus_RsC0oYvA5nNy4R", None, Decimal("49.00")),
        (4, "payment_failed", "stripe:cus_RsC0oYvA5nNy4R", None, Decimal("49.00")),  # Stripe's retry, the same event
        (5, "dispute_closed", "stripe_charge:ch_3QwX7aLkdIwHu7ix1Lm5nOp6", "duplicate", Decimal("19.90")),
        (7, "refund_created", "stripe_charge:ch_3QwX7aLkdIwHu7ix1Lm5nOp6", "duplicate", Decimal("19.90")),
        (8, "invoice_payment_paid", "stripe_payment_intent:pi_3QyF6gLkdIwHu7ix0X7yZ8aB", None, Decimal("290000")),
        (9, "checkout_expired", "stripe_client_reference:C-2077", None, Decimal("29.00")),
    ]
    rows = parsed.good.to_pylist()
    assert rows[2]["interaction_id"] == rows[3]["interaction_id"] and rows[2]["record_version"] == rows[3]["record_version"]
    # A pre-basil invoice names its charge, payment intent and subscription itself.
    assert [r.split(":")[0] for r in rows[2]["linked_refs"]] == [
        "email", "stripe_charge", "stripe_invoice", "stripe_payment_intent", "stripe_subscription"]
    assert rows[6]["linked_refs"] == ["stripe_invoice:in_1QyF6fLkdIwHu7ixS4tU5vW6"]
    assert failures(parsed) == [(6, "missing_field"), (10, "missing_field")]


def test_only_event_objects_are_taken(tmp_path, con):
    path = write(tmp_path, "billing", "charges.jsonl", '{"id":"ch_9","object":"charge","customer":"cus_9","amount":100}\n')
    parsed = parse_with(con, path, BILLING)
    assert parsed.good.num_rows == 0 and failures(parsed) == [(1, "unsupported_record")]


def test_an_amount_too_large_for_the_record_fails_alone(tmp_path, con):
    events = [{"id": f"evt_{i}", "object": "event", "type": "invoice.paid", "created": 1772366400,
               "data": {"object": {"id": f"in_{i}", "object": "invoice", "customer": "cus_1", "amount_paid": amount, "currency": "usd"}}}
              for i, amount in enumerate([2 ** 63 - 1, 4900])]
    parsed = parse_with(con, write(tmp_path, "billing", "events.jsonl", "\n".join(json.dumps(e) for e in events) + "\n"), BILLING)
    assert [str(r["amount"]) for r in parsed.good.to_pylist()] == ["49.00"]
    assert failures(parsed) == [(1, "out_of_range")]
