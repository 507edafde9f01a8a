"""Order and fulfilment events as a Shopify webhook log: one delivery per line, with the webhook's
headers (X-Shopify-Webhook-Id, X-Shopify-Topic, X-Shopify-Triggered-At) and its payload.

    {"webhook_id": "b54557e4-…", "topic": "orders/create", "triggered_at": "2026-02-10T20:52:32-05:00",
     "payload": {"id": 820982911946154508, "order_number": 1001, "customer": {"id": 115310627314723954, "email": "…"},
                 "total_price": "49.00", "currency": "USD", "financial_status": "paid", "fulfillment_status": null,
                 "note_attributes": [{"name": "account_id", "value": "C1"}]}}

Topics become interaction types (order_placed, order_fulfilled, order_cancelled, shipment_updated…);
a fulfillments/update with shipment_status 'delayed' or 'failure' is a shipment_delayed. The Shopify
customer is linked to the account by the account_id note attribute the storefront sets, and to the
order; fulfilment payloads name only the order (order_id), which stitches them to the same customer.
"""

from transforms.sources.base import Check, SourceAdapter, required, sql_case, timestamp

INTERACTION_TYPES = {
    "orders/create": "order_placed",
    "orders/paid": "order_paid",
    "orders/fulfilled": "order_fulfilled",
    "orders/cancelled": "order_cancelled",
    "refunds/create": "order_refunded",
    "fulfillments/create": "shipment_created",
    "fulfillments/update": "shipment_updated",
}

ORDERS = SourceAdapter(
    name="orders",
    framing="jsonl",
    consumed=("webhook_id", "topic", "triggered_at"),
    paths=(("_id", "$.webhook_id"), ("_topic", "$.topic"), ("_ts", "$.triggered_at"), ("_payload", "$.payload"),
           ("_order", "$.payload.id"), ("_order_id", "$.payload.order_id"), ("_customer", "$.payload.customer.id"),
           ("_account", "$.payload.note_attributes[0].value"), ("_total", "$.payload.total_price"),
           ("_currency", "$.payload.currency"), ("_shipment", "$.payload.shipment_status"),
           ("_cancel", "$.payload.cancel_reason")),
    fields=f"""
        'orders:' || _id as interaction_id,
        'orders' as touchpoint,
        'automated' as channel_type,
        case when _topic = 'fulfillments/update' and _shipment in ('delayed', 'failure') then 'shipment_delayed'
             else {sql_case("_topic", INTERACTION_TYPES, "replace(_topic, '/', '_')")} end as interaction_type,
        cx_ts_zoned(_ts) as occurred_at,
        coalesce('shopify:' || _customer, 'shopify_order:' || _order_id) as source_customer_ref,
        list_filter(['account:' || _account, case when _customer is not null then 'shopify_order:' || _order end],
                    lambda x: x is not null) as linked_ref,
        'order:' || coalesce(_order_id, _order) as case_id,
        _topic as source_code,
        coalesce(_cancel, _shipment) as source_reason,
        try_cast(_total as decimal(18, 2)) as amount,
        lower(_currency) as currency,
        null::bigint as record_version""",
    checks=(
        required("_id", "webhook_id"),
        required("_topic", "topic"),
        required("_ts", "triggered_at"),
        timestamp("_ts", "occurred_at", "triggered_at"),
        required("_payload", "payload"),
        Check("_total is not null and try_cast(_total as decimal(18, 2)) is null", "invalid_type",
              "'total_price is not an amount: ' || left(_total, 60)"),
        Check("source_customer_ref is null", "missing_field", "'payload has neither customer nor order_id'"),
    ),
)
