"""Email tickets as Zendesk's ticket API pages: {"tickets": [...], "users": [...], "count": n}.

Each ticket is one interaction (its description is the customer verbatim; status is the source code).
The incremental export sends a ticket again whenever it changes: the version with the latest
updated_at supersedes the others. Side-loaded users (include=users) link requester_id to the
account through the user's external_id.
"""

from transforms.sources.base import SourceAdapter, integer, required, timestamp

EMAIL = SourceAdapter(
    name="email",
    framing="json_document",
    record_key="tickets",
    sideload_key="users",
    sideload_sql="""left join (
        select distinct on (raw::json->>'$.id') raw::json->>'$.id' as user_id, raw::json->>'$.external_id' as external_id
        from sideload where json_valid(raw)
    ) users on users.user_id = parsed.j->>'$.requester_id'""",
    consumed=("id", "created_at", "updated_at", "description", "status", "requester_id", "assignee_id", "group_id"),
    fields="""
        j->>'$.id' as _id,
        j->>'$.created_at' as _created,
        j->>'$.requester_id' as _requester,
        'email:' || (j->>'$.id') as interaction_id,
        'email' as touchpoint,
        'assisted' as channel_type,
        'ticket' as interaction_type,
        cx_ts_zoned(j->>'$.created_at') as occurred_at,
        case when users.external_id is not null then 'account:' || users.external_id
             else 'zendesk_user:' || (j->>'$.requester_id') end as source_customer_ref,
        case when users.external_id is not null then 'zendesk_user:' || (j->>'$.requester_id') end as linked_ref,
        'email:' || (j->>'$.id') as case_id,
        coalesce(j->>'$.description', j->>'$.subject') as text,
        j->>'$.status' as source_code,
        j->>'$.tags[0]' as source_reason,
        j->>'$.assignee_id' as agent_id,
        j->>'$.group_id' as team,
        epoch_ms(cx_ts_zoned(j->>'$.updated_at')) as record_version""",
    checks=(
        required("_id", "id"),
        integer("_id", "id"),
        required("_created", "created_at"),
        timestamp("_created", "occurred_at", "created_at"),
        required("_requester", "requester_id"),
    ),
)
