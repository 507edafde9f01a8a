"""Chat as Intercom conversations (API 2.x): `GET /conversations/{id}`, list pages and webhook items.

    {"type": "conversation", "id": "215471234567891", "created_at": 1772442845, "updated_at": 1772443550,
     "state": "closed", "source": {"type": "conversation", "delivered_as": "customer_initiated",
       "author": {"type": "user", "email": "maya@example.com"}, "body": "<p>I was charged twice</p>"},
     "contacts": {"contacts": [{"id": "65e1f0c2", "external_id": "7712"}]}, "admin_assignee_id": 991267,
     "statistics": {"time_to_admin_reply": 212, "last_close_at": 1772443545, "count_assignments": 2},
     "conversation_parts": {"conversation_parts": [{"part_type": "comment", "author": {"type": "admin"}, ...}]},
     "conversation_rating": {"rating": 4}}

Times are epoch seconds. One conversation is one interaction. The customer's words are the source body
when a user, lead or contact started it (HTML stripped), else their first part: a comment, or an
`open` part when their reply reopened it; a message sent by an admin, bot or campaign never is. A
conversation the customer never answered is an 'outbound_message', not a contact; an email source is a
'ticket', a phone call a 'call'. Wait is Intercom's time_to_admin_reply (office hours excluded), else
first_admin_reply_at less the customer's first message, else the first admin comment among the parts.
Handle is wall-clock from creation to the last close (statistics.last_close_at, else the last close
part), set only while the state is closed. Transfers are assignments beyond the first
(statistics.count_assignments - 1, else assignment parts). The list endpoint and some webhooks carry
no parts: statistics then speak alone. A re-delivered conversation supersedes by updated_at.
"""

from transforms.sources.base import Check, SourceAdapter, required, timestamp

_CUSTOMER = "('user', 'lead', 'contact')"
_OUTBOUND = "('admin_initiated', 'operator_initiated', 'campaigns_initiated', 'automated')"


def _part(field: str) -> str:
    return f"json_extract_string(p, '$.{field}')"


CHAT = SourceAdapter(
    name="intercom_conversation",
    framing="json",
    accepts="j->>'type' = 'conversation' or stream = 'conversations'",
    consumed=("type", "id", "created_at", "updated_at", "state", "source", "contacts", "conversation_rating",
              "conversation_parts", "statistics", "admin_assignee_id", "team_assignee_id"),
    paths=(("_id", "$.id"), ("_created", "$.created_at"), ("_updated", "$.updated_at"), ("_state", "$.state"),
           ("_source_type", "$.source.type"), ("_delivered", "$.source.delivered_as"),
           ("_source_author", "$.source.author.type"), ("_source_email", "$.source.author.email"),
           ("_body", "$.source.body"), ("_external", "$.contacts.contacts[0].external_id"),
           ("_contact", "$.contacts.contacts[0].id"), ("_rating", "$.conversation_rating.rating"),
           ("_assignee", "$.admin_assignee_id"), ("_team", "$.team_assignee_id"),
           ("_to_admin_reply", "$.statistics.time_to_admin_reply"),
           ("_first_admin_reply_at", "$.statistics.first_admin_reply_at"),
           ("_first_contact_reply_at", "$.statistics.first_contact_reply_at"),
           ("_last_close_at", "$.statistics.last_close_at"), ("_assignments", "$.statistics.count_assignments"),
           ("_contact_replied", "$.first_contact_reply.created_at"), ("_ai", "$.ai_agent_participated")),
    fields=f"""
        coalesce(json_extract(j, '$.conversation_parts.conversation_parts[*]'), []::json[]) as _parts,
        coalesce(_source_author in {_CUSTOMER} and coalesce(_delivered, 'customer_initiated') not in {_OUTBOUND}, false) as _customer_started,
        list_filter(_parts, lambda p: {_part('author.type')} in {_CUSTOMER} and {_part('part_type')} in ('comment', 'open')
                    and nullif(cx_strip_html({_part('body')}), '') is not null) as _customer_parts,
        list_filter(_parts, lambda p: {_part('author.type')} = 'admin' and {_part('part_type')} = 'comment') as _admin_replies,
        list_filter(_parts, lambda p: {_part('part_type')} = 'close') as _closes,
        try_cast(_created as bigint) as _created_s,
        try_cast(_assignments as bigint) as _assignment_count,
        'chat:' || _id as interaction_id,
        'chat' as touchpoint,
        case when _first_admin_reply_at is null and len(_admin_replies) = 0
              and (_ai = 'true' or _source_author = 'bot' or _delivered in {_OUTBOUND}
                   or list_contains(list_transform(_parts, lambda p: {_part('author.type')}), 'bot'))
             then 'automated' else 'assisted' end as channel_type,
        case when not (_customer_started or _contact_replied is not null or _first_contact_reply_at is not null
                       or len(_customer_parts) > 0) then 'outbound_message'
             when _source_type = 'email' then 'ticket'
             when _source_type = 'phone_call' then 'call'
             else 'chat_conversation' end as interaction_type,
        cx_ts(_created) as occurred_at,
        case when _external is not null then 'account:' || _external
             else 'intercom_contact:' || _contact end as source_customer_ref,
        list_filter([case when _external is not null then 'intercom_contact:' || _contact end,
                     case when _source_author in {_CUSTOMER} then 'email:' || cx_pii_hash(lower(trim(_source_email))) end],
                    lambda x: x is not null) as linked_ref,
        'chat:' || _id as case_id,
        nullif(array_to_string(list_filter(
            [case when _customer_started then nullif(cx_strip_html(_body), '') end]
            || list_transform(_customer_parts, lambda p: cx_strip_html(json_extract_string(p, '$.body'))),
            lambda x: x is not null), chr(10)), '') as text,
        _state as source_code,
        coalesce(_assignee, json_extract_string(_admin_replies[1], '$.author.id')) as agent_id,
        _team as team,
        coalesce(try_cast(_to_admin_reply as bigint),
                 try_cast(_first_admin_reply_at as bigint) - coalesce(try_cast(_first_contact_reply_at as bigint), _created_s),
                 try_cast(json_extract_string(_admin_replies[1], '$.created_at') as bigint) - _created_s) as wait_seconds,
        case when _state = 'closed' then coalesce(try_cast(_last_close_at as bigint),
                                                   try_cast(json_extract_string(_closes[-1], '$.created_at') as bigint))
                                          - _created_s end as handle_seconds,
        case when _assignment_count is not null then greatest(_assignment_count - 1, 0)
             when json_exists(j, '$.conversation_parts') then greatest(len(list_filter(_parts, lambda p:
                  {_part('part_type')} in ('assignment', 'default_assignment', 'assign_and_reopen'))) - 1, 0)
             end as transfers,
        try_cast(_rating as integer) as csat,
        try_cast(_updated as bigint) as record_version""",
    checks=(
        required("_id", "id"),
        required("_created", "created_at"),
        timestamp("_created", "occurred_at", "created_at"),
        Check("source_customer_ref is null", "missing_field", "'conversation has no contact'"),
    ),
)
