"""Email tickets as Zendesk's ticket API pages: {"tickets": [...], "users": [...], "count": n}.

Each ticket is one interaction (its description is the customer verbatim; status is the source code).
The incremental export sends a ticket again whenever it changes: the version with the latest
updated_at supersedes the others. Side-loaded users (include=users) link requester_id to the
account through the user's external_id, and to the user's email address (kept only as a salted hash).
"""

from transforms.sources.base import SourceAdapter, integer, required, timestamp

EMAIL = SourceAdapter(
    name="email",
    framing="json_document",
    accepts="stream = 'tickets' or (json_exists(j, '$.requester_id') and json_exists(j, '$.status') and json_exists(j, '$.created_at'))",
    sideload_sql="""left join (
        select distinct on (raw::json->>'$.id') raw::json->>'$.id' as user_id, raw::json->>'$.external_id' as external_id,
            raw::json->>'$.email' as email
        from sideload where stream = 'users' and json_valid(raw)
    ) users on users.user_id = unpacked._requester""",
    consumed=("id", "created_at", "updated_at", "description", "status", "requester_id", "assignee_id", "group_id"),
    paths=(("_id", "$.id"), ("_created", "$.created_at"), ("_updated", "$.updated_at"), ("_requester", "$.requester_id"),
           ("_description", "$.description"), ("_subject", "$.subject"), ("_status", "$.status"), ("_tag", "$.tags[0]"),
           ("_assignee", "$.assignee_id"), ("_group", "$.group_id")),
    fields="""
        'email:' || _id as interaction_id,
        'email' as touchpoint,
        'assisted' as channel_type,
        'ticket' as interaction_type,
        cx_ts_zoned(_created) as occurred_at,
        case when users.external_id is not null then 'account:' || users.external_id
             else 'zendesk_user:' || _requester end as source_customer_ref,
        list_filter([case when users.external_id is not null then 'zendesk_user:' || _requester end,
                     'email:' || cx_pii_hash(lower(trim(users.email)))], lambda x: x is not null) as linked_ref,
        'email:' || _id as case_id,
        coalesce(_description, _subject) as text,
        _status as source_code,
        _tag as source_reason,
        _assignee as agent_id,
        _group as team,
        epoch_ms(cx_ts_zoned(_updated)) as record_version""",
    checks=(
        required("_id", "id"),
        integer("_id", "id"),
        required("_created", "created_at"),
        timestamp("_created", "occurred_at", "created_at"),
        required("_requester", "requester_id"),
    ),
)
