"""Billing in Stripe's event objects, one per line (a webhook log or `stripe events list` export).

    {"id": "evt_1", "type": "invoice.paid", "created": 1776500099,
     "data": {"object": {"object": "invoice", "customer": "cus_1", "amount_paid": 4900, "currency": "usd"}}}

Amounts are in the currency's minor unit and become decimals. metadata.account_id on the object
links the Stripe customer to the account.
"""

from transforms.sources.base import Check, SourceAdapter, integer, required, timestamp

INTERACTION_TYPES = {
    "invoice.paid": "invoice_paid",
    "invoice.payment_failed": "payment_failed",
    "charge.refunded": "refund_issued",
    "charge.dispute.created": "dispute_opened",
    "customer.created": "customer_created",
    "customer.subscription.created": "subscription_started",
    "customer.subscription.deleted": "subscription_cancelled",
}
_types = " ".join(f"when '{k}' then '{v}'" for k, v in INTERACTION_TYPES.items())

BILLING = SourceAdapter(
    name="billing",
    framing="jsonl",
    consumed=("id", "type", "created"),
    fields=f"""
        j->>'$.id' as _id,
        j->>'$.created' as _created,
        j->'$.data.object' as _obj,
        case j->>'$.type'
            when 'charge.refunded' then j->>'$.data.object.amount_refunded'
            when 'invoice.paid' then j->>'$.data.object.amount_paid'
            else coalesce(j->>'$.data.object.amount_due', j->>'$.data.object.amount')
        end as _amount,
        'billing:' || (j->>'$.id') as interaction_id,
        'billing' as touchpoint,
        'automated' as channel_type,
        case j->>'$.type' {_types} else replace(j->>'$.type', '.', '_') end as interaction_type,
        cx_ts(j->>'$.created') as occurred_at,
        'stripe:' || case when j->>'$.data.object.object' = 'customer' then j->>'$.data.object.id'
                          else j->>'$.data.object.customer' end as source_customer_ref,
        'account:' || (j->>'$.data.object.metadata.account_id') as linked_ref,
        j->>'$.data.object.id' as case_id,
        null::varchar as text,
        j->>'$.type' as source_code,
        null::varchar as source_reason,
        try_cast(_amount as bigint) / 100 as amount,
        j->>'$.data.object.currency' as currency,
        null::bigint as record_version""",
    checks=(
        required("_id", "id"),
        required("j->>'$.type'", "type"),
        required("_created", "created"),
        timestamp("_created", "occurred_at", "created"),
        required("_obj", "data.object"),
        integer("_amount", "amount"),
        Check("source_customer_ref is null", "missing_field", "'data.object has no customer'"),
    ),
)
