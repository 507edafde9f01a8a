"""Billing in Stripe's event objects, one per line (a webhook log or `stripe events list` export).

    {"id": "evt_1", "type": "invoice.paid", "created": 1776500099,
     "data": {"object": {"object": "invoice", "customer": "cus_1", "amount_paid": 4900, "currency": "usd"}}}

Amounts are in the currency's minor unit and become decimals. metadata.account_id on the object
links the Stripe customer to the account.
"""

from transforms.sources.base import Check, SourceAdapter, integer, required, sql_case, timestamp

INTERACTION_TYPES = {
    "invoice.paid": "invoice_paid",
    "invoice.payment_failed": "payment_failed",
    "charge.refunded": "refund_issued",
    "charge.dispute.created": "dispute_opened",
    "customer.created": "customer_created",
    "customer.subscription.created": "subscription_started",
    "customer.subscription.deleted": "subscription_cancelled",
}

BILLING = SourceAdapter(
    name="billing",
    framing="jsonl",
    consumed=("id", "type", "created"),
    paths=(("_id", "$.id"), ("_type", "$.type"), ("_created", "$.created"), ("_obj", "$.data.object"),
           ("_obj_type", "$.data.object.object"), ("_obj_id", "$.data.object.id"), ("_customer", "$.data.object.customer"),
           ("_account", "$.data.object.metadata.account_id"), ("_currency", "$.data.object.currency"),
           ("_refunded", "$.data.object.amount_refunded"), ("_paid", "$.data.object.amount_paid"),
           ("_due", "$.data.object.amount_due"), ("_plain_amount", "$.data.object.amount")),
    fields=f"""
        case _type
            when 'charge.refunded' then _refunded
            when 'invoice.paid' then _paid
            else coalesce(_due, _plain_amount)
        end as _amount,
        'billing:' || _id as interaction_id,
        'billing' as touchpoint,
        'automated' as channel_type,
        {sql_case("_type", INTERACTION_TYPES, "replace(_type, '.', '_')")} as interaction_type,
        cx_ts(_created) as occurred_at,
        'stripe:' || case when _obj_type = 'customer' then _obj_id else _customer end as source_customer_ref,
        'account:' || _account as linked_ref,
        _obj_id as case_id,
        null::varchar as text,
        _type as source_code,
        null::varchar as source_reason,
        try_cast(_amount as bigint) / 100 as amount,
        _currency as currency,
        null::bigint as record_version""",
    checks=(
        required("_id", "id"),
        required("_type", "type"),
        required("_created", "created"),
        timestamp("_created", "occurred_at", "created"),
        required("_obj", "data.object"),
        integer("_amount", "amount"),
        Check("source_customer_ref is null", "missing_field", "'data.object has no customer'"),
    ),
)
