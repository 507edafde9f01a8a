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
    fields=f"""
        j->>'$.id' as _id,
        j->>'$.created_at' as _created,
        j->>'{_PARTS}.author.type' as _authors,
        j->>'{_PARTS}.created_at' as _part_times,
        'chat:' || (j->>'$.id') as interaction_id,
        'chat' as touchpoint,
        case when list_position(j->>'{_PARTS}.author.type', 'admin') is null
             and list_position(j->>'{_PARTS}.author.type', 'bot') is not null then 'automated' else 'assisted' end as channel_type,
        'chat_conversation' as interaction_type,
        cx_ts(j->>'$.created_at') as occurred_at,
        case when j->>'$.contacts.contacts[0].external_id' is not null then 'account:' || (j->>'$.contacts.contacts[0].external_id')
             else 'intercom_contact:' || (j->>'$.contacts.contacts[0].id') end as source_customer_ref,
        case when j->>'$.contacts.contacts[0].external_id' is not null
             then 'intercom_contact:' || (j->>'$.contacts.contacts[0].id') end as linked_ref,
        'chat:' || (j->>'$.id') as case_id,
        j->>'$.source.body' as text,
        j->>'$.state' as source_code,
        (j->>'{_PARTS}.author.id')[list_position(j->>'{_PARTS}.author.type', 'admin')] as agent_id,
        try_cast(_part_times[list_position(_authors, 'admin')] as bigint) - try_cast(_created as bigint) as wait_seconds,
        try_cast(j->>'$.updated_at' as bigint) - try_cast(_created as bigint) as handle_seconds,
        len(list_filter(j->>'{_PARTS}.part_type', lambda p: p = 'assignment')) as transfers,
        try_cast(j->>'$.conversation_rating.rating' as integer) as csat,
        try_cast(j->>'$.updated_at' as bigint) as record_version""",
    checks=(
        required("_id", "id"),
        required("_created", "created_at"),
        timestamp("_created", "occurred_at", "created_at"),
        Check("source_customer_ref is null", "missing_field", "'conversation has no contact'"),
    ),
)
