"""Billing as Stripe event objects: a webhook body, an API list page or `stripe events list` output
({"object": "list", "url": "/v1/events", "has_more": true, "data": [...]}), or events one per line.

    {"id": "evt_1", "object": "event", "type": "charge.dispute.created", "created": 1774956985,
     "data": {"object": {"id": "du_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1",
                         "amount": 4900, "currency": "usd", "reason": "fraudulent"}}}

One event is one interaction; its `type` is the source code (outcomes and journey phases key on it) and
`created` (epoch seconds, UTC) its time. data.object is the resource as it was then; its `object` names its type.

Customer, first found: `customer` ('stripe:<cus_...>'; a customer's own id on customer.* events); a payer's
email, hashed (billing_details.email, receipt_email, customer_details.email, customer_email,
evidence.customer_email_address); a checkout session's client_reference_id ('stripe_client_reference:', the
merchant's own id: a user id, a cart id); else the payment objects the event names: 'stripe_charge:',
'stripe_payment_intent:', 'stripe_invoice:', 'stripe_subscription:' (the object's own id, or the ids it
points to; expanded objects are read too). All the others go to linked_ref, so a dispute (it has no
customer, only its charge) stitches to the customer of that charge's events. metadata.account_id links the
account. Since API 2025-03-31.basil an invoice names its subscription in parent.subscription_details and its
payments in payments.data[].payment (invoice.charge / payment_intent / subscription are gone). An event that
names none of these fails missing_field: product, price, plan, coupon, promotion_code, payout, transfer,
balance, account and application_fee events; a setup_intent or payment_method with no customer or email.

The amount (Stripe writes the minor unit): an invoice's amount_paid on invoice.paid and
invoice.payment_succeeded, else its amount_due; charge.refunded amount_refunded; a checkout session's or
quote's amount_total; an invoice payment's amount_paid, else amount_requested; any other object's `amount`
(charge, dispute, payment intent, refund, credit note). Zero-decimal currencies are already whole units,
three-decimal ones are divided by 1000, the rest by 100 (https://docs.stripe.com/currencies).
A subscription's cancellation comment is the customer's verbatim; its cancellation feedback (else reason),
a dispute's or refund's reason, or a payment's decline or failure code is the source reason.
"""

from transforms.sources.base import Check, SourceAdapter, integer, required, sql_case, timestamp

INTERACTION_TYPES = {
    "invoice.paid": "invoice_paid",
    "invoice.payment_failed": "payment_failed",
    "invoice.finalized": "invoice_issued",
    "charge.refunded": "refund_issued",
    "charge.dispute.created": "dispute_opened",
    "customer.subscription.created": "subscription_started",
    "customer.subscription.deleted": "subscription_cancelled",
}
# invoice.payment_succeeded fires with invoice.paid for the same payment: only invoice.paid is 'invoice_paid', the
# revenue the marts sum. Other types are snake-cased, subscription, dispute and checkout events without their
# parent ('customer.subscription.paused' -> 'subscription_paused', 'charge.dispute.closed' -> 'dispute_closed').
OTHER_TYPES = r"""replace(regexp_replace(regexp_replace(regexp_replace(_type,
    '^customer\.subscription\.', 'subscription.'), '^charge\.dispute\.', 'dispute.'),
    '^checkout\.session\.', 'checkout.'), '.', '_')"""

ZERO_DECIMAL = ("bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf")
THREE_DECIMAL = ("bhd", "jod", "kwd", "omr", "tnd")

_OBJ = "$.data.object"
# Fields that hold an id or, when expanded, the object itself.
_EXPANDABLE = ("customer", "charge", "latest_charge", "payment_intent", "invoice", "subscription")


def _id_of(alias: str) -> str:
    return f"case when {alias} like '{{%' then json_extract_string({alias}, '$.id') else {alias} end"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


BILLING = SourceAdapter(
    name="billing",
    framing="json",
    accepts="j->>'object' = 'event' or starts_with(j->>'id', 'evt_')",
    consumed=("id", "object", "type", "created"),
    paths=(("_id", "$.id"), ("_type", "$.type"), ("_created", "$.created"), ("_obj", _OBJ),
           ("_obj_type", f"{_OBJ}.object"), ("_obj_id", f"{_OBJ}.id"),
           *((f"_{name}", f"{_OBJ}.{name}") for name in _EXPANDABLE),
           ("_pay_charge", f"{_OBJ}.payment.charge"), ("_pay_pi", f"{_OBJ}.payment.payment_intent"),
           ("_parent_sub", f"{_OBJ}.parent.subscription_details.subscription"),
           ("_client_ref", f"{_OBJ}.client_reference_id"), ("_account", f"{_OBJ}.metadata.account_id"),
           ("_billing_email", f"{_OBJ}.billing_details.email"), ("_receipt_email", f"{_OBJ}.receipt_email"),
           ("_details_email", f"{_OBJ}.customer_details.email"), ("_customer_email", f"{_OBJ}.customer_email"),
           ("_own_email", f"{_OBJ}.email"), ("_evidence_email", f"{_OBJ}.evidence.customer_email_address"),
           ("_currency", f"{_OBJ}.currency"), ("_plain_amount", f"{_OBJ}.amount"),
           ("_amount_paid", f"{_OBJ}.amount_paid"), ("_amount_due", f"{_OBJ}.amount_due"),
           ("_amount_refunded", f"{_OBJ}.amount_refunded"), ("_amount_total", f"{_OBJ}.amount_total"),
           ("_amount_requested", f"{_OBJ}.amount_requested"),
           ("_comment", f"{_OBJ}.cancellation_details.comment"), ("_feedback", f"{_OBJ}.cancellation_details.feedback"),
           ("_cancel_reason", f"{_OBJ}.cancellation_details.reason"), ("_reason", f"{_OBJ}.reason"),
           ("_decline_code", f"{_OBJ}.last_payment_error.decline_code"), ("_error_code", f"{_OBJ}.last_payment_error.code"),
           ("_failure_code", f"{_OBJ}.failure_code")),
    fields=f"""
        case when _obj_type = 'customer' then _obj_id else {_id_of('_customer')} end as _cus,
        [nullif(lower(trim(e)), '') for e in [_billing_email, _receipt_email, _details_email, _customer_email,
             case when _obj_type = 'customer' then _own_email end, _evidence_email]] as _emails,
        case when _obj_type = 'charge' then _obj_id
             else coalesce({_id_of('_charge')}, {_id_of('_latest_charge')}, _pay_charge) end as _charge_id,
        case when _obj_type = 'payment_intent' then _obj_id else coalesce({_id_of('_payment_intent')}, _pay_pi) end as _pi_id,
        case when _obj_type = 'invoice' then _obj_id else {_id_of('_invoice')} end as _invoice_id,
        case when _obj_type = 'subscription' then _obj_id else coalesce({_id_of('_subscription')}, _parent_sub) end as _sub_id,
        list_filter(['stripe:' || _cus,
                     'email:' || cx_pii_hash(list_filter(_emails, lambda e: e is not null)[1]),
                     'stripe_client_reference:' || nullif(_client_ref, ''),
                     'stripe_charge:' || _charge_id,
                     'stripe_payment_intent:' || _pi_id,
                     'stripe_invoice:' || _invoice_id,
                     'stripe_subscription:' || _sub_id], lambda r: r is not null) as _refs,
        case
            when _obj_type = 'invoice' and _type in ('invoice.paid', 'invoice.payment_succeeded') then _amount_paid
            when _obj_type = 'invoice' then _amount_due
            when _obj_type = 'invoice_payment' then coalesce(_amount_paid, _amount_requested)
            when _obj_type = 'charge' and _type = 'charge.refunded' then _amount_refunded
            when _obj_type in ('checkout.session', 'quote') then _amount_total
            else _plain_amount
        end as _amount,
        'billing:' || _id as interaction_id,
        'billing' as touchpoint,
        'automated' as channel_type,
        {sql_case("_type", INTERACTION_TYPES, OTHER_TYPES)} as interaction_type,
        cx_ts(_created) as occurred_at,
        _refs[1] as source_customer_ref,
        list_sort(list_distinct(list_filter(
            _refs[2:]
            || [case when e is not null then 'email:' || cx_pii_hash(e) end for e in _emails]
            || ['account:' || nullif(_account, '')]
            || ['stripe_payment_intent:' || p
                for p in coalesce(json_extract_string(j, '{_OBJ}.payments.data[*].payment.payment_intent'), [])],
            lambda r: r is not null and r <> _refs[1]))) as linked_ref,
        _obj_id as case_id,
        nullif(trim(_comment), '') as text,
        _type as source_code,
        coalesce(_feedback, _cancel_reason, _reason, _decline_code, _error_code, _failure_code) as source_reason,
        try_cast(_amount as bigint)::decimal(20, 0) * case
            when lower(_currency) in {_in(ZERO_DECIMAL)} then 1
            when lower(_currency) in {_in(THREE_DECIMAL)} then 0.001
            else 0.01 end as amount,
        lower(_currency) as currency,
        try_cast(_created as bigint) as record_version""",
    checks=(
        required("_id", "id"),
        required("_type", "type"),
        required("_created", "created"),
        timestamp("_created", "occurred_at", "created"),
        required("_obj", "data.object"),
        integer("_amount", "amount"),
        Check("source_customer_ref is null", "missing_field",
              "'data.object (' || coalesce(_obj_type, 'no object type') || ') names no customer, email, charge, "
              "payment intent, invoice or subscription'"),
    ),
)
