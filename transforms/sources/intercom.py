"""Chat as Intercom conversation objects, one per line, with their conversation_parts.

    {"type": "conversation", "id": "123", "created_at": 1770744152, "state": "closed",
     "source": {"body": "does it work with Slack?"}, "contacts": {"contacts": [{"id": "5e3", "external_id": "C1"}]},
     "conversation_parts": {"conversation_parts": [{"part_type": "comment", "author": {"type": "admin"}, ...}]},
     "conversation_rating": {"rating": 4}}

One conversation is one interaction: the opening message is the verbatim, assignments count as
transfers, the first admin reply gives the wait, the last update the handle time, and the rating CSAT.
"""

from transforms.sources.base import Check, SourceAdapter, required, timestamp

_PARTS = "$.conversation_parts.conversation_parts[*]"

CHAT = SourceAdapter(
    name="chat",
    framing="jsonl",
    consumed=("id", "created_at", "updated_at", "state", "source", "conversation_rating"),
    paths=(("_id", "$.id"), ("_created", "$.created_at"), ("_updated", "$.updated_at"), ("_state", "$.state"),
           ("_body", "$.source.body"), ("_external", "$.contacts.contacts[0].external_id"),
           ("_contact", "$.contacts.contacts[0].id"), ("_rating", "$.conversation_rating.rating")),
    fields=f"""
        j->>'{_PARTS}.author.type' as _authors,
        j->>'{_PARTS}.created_at' as _part_times,
        'chat:' || _id as interaction_id,
        'chat' as touchpoint,
        case when list_position(_authors, 'admin') is null
             and list_position(_authors, 'bot') is not null then 'automated' else 'assisted' end as channel_type,
        'chat_conversation' as interaction_type,
        cx_ts(_created) as occurred_at,
        case when _external is not null then 'account:' || _external
             else 'intercom_contact:' || _contact end as source_customer_ref,
        case when _external is not null then 'intercom_contact:' || _contact end as linked_ref,
        'chat:' || _id as case_id,
        _body as text,
        _state as source_code,
        (j->>'{_PARTS}.author.id')[list_position(_authors, 'admin')] as agent_id,
        try_cast(_part_times[list_position(_authors, 'admin')] as bigint) - try_cast(_created as bigint) as wait_seconds,
        try_cast(_updated as bigint) - try_cast(_created as bigint) as handle_seconds,
        len(list_filter(j->>'{_PARTS}.part_type', lambda p: p = 'assignment')) as transfers,
        try_cast(_rating as integer) as csat,
        try_cast(_updated as bigint) as record_version""",
    checks=(
        required("_id", "id"),
        required("_created", "created_at"),
        timestamp("_created", "occurred_at", "created_at"),
        Check("source_customer_ref is null", "missing_field", "'conversation has no contact'"),
    ),
)
