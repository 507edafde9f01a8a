"""IVR (phone menu) sessions as a flow-log CSV report, one row per call through the menu.

    CallId,CallerNumber,AccountNumber,StartTimestamp,EndTimestamp,MenuPath,LastNode,Outcome,QueueSeconds

Outcome is what the menu did with the call: SelfServed, Transferred (to an agent queue),
AbandonedInQueue (the caller hung up waiting for an agent) or Hangup (left inside the menu); it maps to
the canonical outcome in outcomes.yml. MenuPath ("billing>invoice>agent") is the reason the caller
chose. A caller number is a personal identifier: it becomes a salted hash linked to the account.
"""

from transforms.sources.base import SourceAdapter, integer, required, timestamp

IVR = SourceAdapter(
    name="ivr",
    framing="csv",
    required_columns=("CallId", "StartTimestamp", "Outcome"),
    consumed=("CallId", "CallerNumber", "AccountNumber", "StartTimestamp", "MenuPath", "LastNode", "Outcome", "QueueSeconds"),
    fields="""
        nullif("col_CallId", '') as _id,
        nullif("col_StartTimestamp", '') as _ts,
        "col_QueueSeconds" as _queue,
        cx_phone("col_CallerNumber") as _phone,
        'ivr:' || nullif("col_CallId", '') as interaction_id,
        'ivr' as touchpoint,
        'automated' as channel_type,
        'ivr_session' as interaction_type,
        cx_ts_zoned(nullif("col_StartTimestamp", '')) as occurred_at,
        case when nullif("col_AccountNumber", '') is not null then 'account:' || "col_AccountNumber"
             when _phone is not null then 'phone:' || cx_pii_hash(_phone) end as source_customer_ref,
        case when nullif("col_AccountNumber", '') is not null and _phone is not null then 'phone:' || cx_pii_hash(_phone) end as linked_ref,
        'ivr:' || nullif("col_CallId", '') as case_id,
        nullif("col_Outcome", '') as source_code,
        nullif("col_MenuPath", '') as source_reason,
        nullif("col_LastNode", '') as team,
        try_cast(nullif("col_QueueSeconds", '') as bigint) as wait_seconds,
        null::bigint as record_version""",
    checks=(
        required("_id", "CallId"),
        required("_ts", "StartTimestamp"),
        timestamp("_ts", "occurred_at", "StartTimestamp"),
        required("source_code", "Outcome"),
        integer("_queue", "QueueSeconds"),
        required("source_customer_ref", "AccountNumber or CallerNumber"),
    ),
)
