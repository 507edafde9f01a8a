"""Call centre contacts as a contact-centre CSV report, one row per contact.

    ContactId,CustomerAccount,CallerPhone,InitiationTimestamp,DisconnectTimestamp,Queue,AgentId,AgentTeam,
    WaitSeconds,HandleSeconds,Transfers,ReasonCode,DispositionCode,CustomerStatement

The column names follow the common report layout (Amazon Connect's contact search export uses the
same fields). The disposition code decides the outcome; the agent-selected reason code the reason.
The caller's number is kept only as a salted hash, linked to the account.
"""

from transforms.sources.base import Check, SourceAdapter, integer, required, timestamp

CALL_CENTER = SourceAdapter(
    name="call_center",
    framing="csv",
    required_columns=("ContactId", "InitiationTimestamp"),
    consumed=("ContactId", "CustomerAccount", "CallerPhone", "InitiationTimestamp", "AgentId", "AgentTeam", "WaitSeconds",
              "HandleSeconds", "Transfers", "ReasonCode", "DispositionCode", "CustomerStatement"),
    fields="""
        nullif("col_ContactId", '') as _id,
        nullif("col_InitiationTimestamp", '') as _ts,
        "col_WaitSeconds" as _wait, "col_HandleSeconds" as _handle, "col_Transfers" as _transfers,
        'call_center:' || nullif("col_ContactId", '') as interaction_id,
        'call_center' as touchpoint,
        'assisted' as channel_type,
        'call' as interaction_type,
        cx_ts_zoned(nullif("col_InitiationTimestamp", '')) as occurred_at,
        'account:' || nullif("col_CustomerAccount", '') as source_customer_ref,
        'phone:' || cx_pii_hash(cx_phone("col_CallerPhone")) as linked_ref,
        'call_center:' || nullif("col_ContactId", '') as case_id,
        nullif("col_CustomerStatement", '') as text,
        nullif("col_DispositionCode", '') as source_code,
        nullif("col_ReasonCode", '') as source_reason,
        nullif("col_AgentId", '') as agent_id,
        nullif("col_AgentTeam", '') as team,
        try_cast(nullif("col_WaitSeconds", '') as bigint) as wait_seconds,
        try_cast(nullif("col_HandleSeconds", '') as bigint) as handle_seconds,
        try_cast(nullif("col_Transfers", '') as bigint) as transfers,
        null::bigint as record_version""",
    checks=(
        required("_id", "ContactId"),
        required("_ts", "InitiationTimestamp"),
        timestamp("_ts", "occurred_at", "InitiationTimestamp"),
        integer("_wait", "WaitSeconds"),
        integer("_handle", "HandleSeconds"),
        integer("_transfers", "Transfers"),
        Check("source_customer_ref is null", "missing_field", "'CustomerAccount is missing'"),
    ),
)
