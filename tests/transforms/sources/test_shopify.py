import json

from tests.conftest import failures, parse_file, write

ORDER = {"webhook_id": "w1", "topic": "orders/create", "triggered_at": "2026-03-02T05:15:00-05:00",
         "payload": {"id": 820982911946154508, "order_number": 1001, "customer": {"id": 115310627314723954},
                     "total_price": "49.00", "currency": "USD", "note_attributes": [{"name": "account_id", "value": "C1"}]}}
SAMPLE_WEBHOOKS = "\n".join(json.dumps(w) for w in [
    ORDER,
    {"webhook_id": "w2", "topic": "fulfillments/update", "triggered_at": "2026-03-05T09:00:00Z",
     "payload": {"id": 255858046, "order_id": 820982911946154508, "shipment_status": "delayed"}},
    dict(ORDER, webhook_id="w3", payload=dict(ORDER["payload"], total_price="forty")),
    {"webhook_id": "w4", "topic": "orders/create", "triggered_at": "2026-03-02T05:15:00Z"},
]) + "\n"


def test_orders_and_fulfilments_stitch_through_the_order(tmp_path, con):
    parsed = parse_file(con, write(tmp_path, "orders", "webhooks.jsonl", SAMPLE_WEBHOOKS), "orders")
    order, shipment = parsed.good.to_pylist()
    assert (order["interaction_type"], str(order["amount"]), order["currency"], order["case_id"]) == \
        ("order_placed", "49.00", "usd", "order:820982911946154508")
    assert order["source_customer_ref"] == "shopify:115310627314723954"
    assert order["linked_refs"] == ["account:C1", "shopify_order:820982911946154508"]
    assert (shipment["interaction_type"], shipment["source_customer_ref"], shipment["source_reason"]) == \
        ("shipment_delayed", "shopify_order:820982911946154508", "delayed")
    assert failures(parsed) == [(3, "invalid_type"), (4, "missing_field")]
