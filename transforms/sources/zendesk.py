"""Zendesk Support in email/: tickets, ticket comments, satisfaction ratings (CSAT) and ticket metrics.

They come as API list pages ({"tickets": [...], "users": [...], "after_cursor", "end_of_stream"},
{"satisfaction_ratings": [...], "next_page", "count"}, {"ticket_metrics": [...]}) or one per line from
an EL connector (Airbyte's Zendesk Support streams tickets, ticket_comments, satisfaction_ratings,
ticket_metrics); the framing unwraps both. A ticket, as the incremental export sends it:

    {"id": 35436, "created_at": "2026-03-02T09:14:07Z", "updated_at": "2026-03-05T11:30:00Z",
     "status": "solved", "subject": "Help, my printer is on fire!", "description": "The fire is very colorful.",
     "requester_id": 20978392, "assignee_id": 235323, "group_id": 98738, "tags": ["firmware"], "via": {"channel": "web"}}

Zendesk writes times as ISO 8601 UTC ('2026-03-02T09:14:07Z') and ids as integers. Every record of a
ticket shares its case_id 'email:<ticket id>'; the requester is 'zendesk_user:<id>' everywhere.
Docs, under https://developer.zendesk.com/api-reference/ticketing/: tickets/tickets/, tickets/ticket_comments/,
ticket-management/satisfaction_ratings/, tickets/ticket_metrics/, ticket-management/incremental_exports/.
"""

from transforms.sources.base import Check, SourceAdapter, integer, required, timestamp

# A ticket is one contact: its description (the first comment) is the customer's words, its status the
# source code. The incremental export sends a ticket again on every change: the latest updated_at
# supersedes. Side-loaded users (include=users) tie the requester to the account (external_id) and
# to the email address (hashed). Zendesk's string status tells a Zendesk ticket from a Freshdesk one.
TICKETS = SourceAdapter(
    name="zendesk_tickets",
    framing="json",
    accepts="""json_type(j, '$.status') = 'VARCHAR'
        and (stream = 'tickets' or json_exists(j, '$.requester_id') and json_exists(j, '$.subject'))""",
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

EMAIL = TICKETS

# A comment, as Airbyte's ticket_comments stream sends it (the comments API page lacks ticket_id: the
# ticket is in its URL, so such comments fail as missing ticket_id):
#     {"id": 41250031, "ticket_id": 35437, "author_id": 20978511, "public": true, "type": "Comment",
#      "body": "Thanks, I can see the refund now.", "via": {"channel": "email"}, "created_at": "2026-03-04T08:02:55Z"}
# Not a contact ('ticket_comment'). A private note (public false) is an agent's: no text, no customer,
# its author is the agent. A comment made by a trigger or the system (via.channel rule/system) is
# automated: no text, no customer. A public comment is its author's words: the customer is the author,
# 'zendesk_user:<author_id>'; a comment knows no requester, so an agent's public reply reads the same
# and is told apart downstream by comparing its customer with its ticket's (same case_id).
_COMMENT_BY_PERSON = "_public = 'true' and coalesce(_channel, '') not in ('rule', 'system')"

COMMENTS = SourceAdapter(
    name="zendesk_ticket_comments",
    framing="json",
    accepts="json_exists(j, '$.author_id') and json_type(j, '$.public') = 'BOOLEAN' and json_exists(j, '$.body')",
    consumed=("id", "ticket_id", "author_id", "public", "body", "plain_body", "created_at"),
    paths=(("_id", "$.id"), ("_ticket", "$.ticket_id"), ("_author", "$.author_id"), ("_public", "$.public"),
           ("_plain", "$.plain_body"), ("_body", "$.body"), ("_created", "$.created_at"), ("_channel", "$.via.channel")),
    fields=f"""
        'email:zendesk_comment:' || _id as interaction_id,
        'email' as touchpoint,
        case when coalesce(_channel, '') in ('rule', 'system') then 'automated' else 'assisted' end as channel_type,
        'ticket_comment' as interaction_type,
        cx_ts_zoned(_created) as occurred_at,
        case when {_COMMENT_BY_PERSON} then 'zendesk_user:' || _author end as source_customer_ref,
        'email:' || _ticket as case_id,
        case when {_COMMENT_BY_PERSON} then nullif(trim(coalesce(_plain, _body)), '') end as text,
        'zendesk_comment' as source_code,
        case when _public = 'false' then _author end as agent_id""",
    checks=(
        required("_id", "id"),
        required("_ticket", "ticket_id"),
        integer("_ticket", "ticket_id"),
        required("_created", "created_at"),
        timestamp("_created", "occurred_at", "created_at"),
    ),
)

# A satisfaction rating (legacy CSAT):
#     {"id": 35436, "ticket_id": 35436, "requester_id": 20978392, "assignee_id": 235323, "group_id": 98738,
#      "score": "good", "comment": "Awesome support!", "created_at": "2026-03-05T11:30:00Z", "updated_at": "2026-03-05T14:02:10Z"}
# Zendesk asks good or bad: good is csat 5 and bad csat 1, so the share of 4-5 answers equals Zendesk's
# satisfaction score; 'offered' (asked, not answered) and 'unoffered' have no csat. A rating is created
# when offered and updated when answered or changed: updated_at is when it was given and its version.
# The comment is the customer's words; the reason for a bad rating stays in attributes.
SATISFACTION_RATINGS = SourceAdapter(
    name="zendesk_satisfaction_ratings",
    framing="json",
    accepts="json_type(j, '$.score') = 'VARCHAR' and json_exists(j, '$.ticket_id') and json_exists(j, '$.requester_id')",
    consumed=("id", "ticket_id", "requester_id", "assignee_id", "group_id", "score", "comment", "created_at", "updated_at"),
    paths=(("_id", "$.id"), ("_ticket", "$.ticket_id"), ("_requester", "$.requester_id"), ("_assignee", "$.assignee_id"),
           ("_group", "$.group_id"), ("_score", "$.score"), ("_comment", "$.comment"), ("_created", "$.created_at"),
           ("_updated", "$.updated_at")),
    fields="""
        'email:zendesk_rating:' || _id as interaction_id,
        'email' as touchpoint,
        'assisted' as channel_type,
        'csat_rating' as interaction_type,
        cx_ts_zoned(coalesce(_updated, _created)) as occurred_at,
        'zendesk_user:' || _requester as source_customer_ref,
        'email:' || _ticket as case_id,
        nullif(trim(_comment), '') as text,
        'zendesk_csat:' || _score as source_code,
        _assignee as agent_id,
        _group as team,
        case _score when 'good' then 5 when 'bad' then 1 end as csat,
        epoch_ms(cx_ts_zoned(_updated)) as record_version""",
    checks=(
        required("_id", "id"),
        required("_ticket", "ticket_id"),
        integer("_ticket", "ticket_id"),
        required("_requester", "requester_id"),
        required("_created", "created_at"),
        timestamp("coalesce(_updated, _created)", "occurred_at", "updated_at"),
        Check("_score not in ('good', 'bad', 'offered', 'unoffered')", "invalid_value", "'unknown score ' || _score"),
    ),
)

# Ticket metrics, one set per ticket, durations in minutes as {calendar, business} (null until reached):
#     {"id": 33, "ticket_id": 35436, "created_at": "2026-03-02T09:14:08Z", "updated_at": "2026-03-05T11:30:01Z",
#      "reply_time_in_minutes": {"calendar": 26, "business": 26}, "full_resolution_time_in_minutes": {"calendar": 4456,
#      "business": 1336}, "group_stations": 2, "reopens": 0, "replies": 2, "solved_at": "2026-03-05T11:30:00Z"}
# One record per ticket ('ticket_metrics', not a contact): wait is the first reply time, handle the full
# resolution time (calendar minutes, as seconds), transfers the groups passed beyond the first. The
# latest updated_at supersedes. Everything else (solved_at, business minutes, reopens) stays in
# attributes for the marts to join to the ticket by case_id.
TICKET_METRICS = SourceAdapter(
    name="zendesk_ticket_metrics",
    framing="json",
    accepts="json_exists(j, '$.ticket_id') and json_exists(j, '$.reply_time_in_minutes')",
    consumed=("ticket_id", "created_at", "updated_at", "group_stations"),
    paths=(("_ticket", "$.ticket_id"), ("_created", "$.created_at"), ("_updated", "$.updated_at"),
           ("_reply", "$.reply_time_in_minutes.calendar"), ("_resolution", "$.full_resolution_time_in_minutes.calendar"),
           ("_groups", "$.group_stations")),
    fields="""
        'email:zendesk_ticket_metrics:' || _ticket as interaction_id,
        'email' as touchpoint,
        'assisted' as channel_type,
        'ticket_metrics' as interaction_type,
        cx_ts_zoned(_created) as occurred_at,
        'email:' || _ticket as case_id,
        'zendesk_ticket_metrics' as source_code,
        try_cast(_reply as bigint) * 60 as wait_seconds,
        try_cast(_resolution as bigint) * 60 as handle_seconds,
        greatest(try_cast(_groups as bigint) - 1, 0) as transfers,
        epoch_ms(cx_ts_zoned(_updated)) as record_version""",
    checks=(
        required("_ticket", "ticket_id"),
        integer("_ticket", "ticket_id"),
        required("_created", "created_at"),
        timestamp("_created", "occurred_at", "created_at"),
    ),
)
