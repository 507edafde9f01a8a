"""Freshdesk in email/: tickets and their conversations (replies and notes).

The API returns lists as a bare JSON array (GET /api/v2/tickets, GET /api/v2/tickets/{id}/conversations);
an EL connector sends the same objects one per line (Airbyte's Freshdesk streams tickets, conversations).
A ticket, as GET /api/v2/tickets?include=description,requester returns it:

    {"id": 20, "subject": "Cannot export my reports to PDF", "status": 2, "priority": 1, "source": 2,
     "type": "Problem", "requester_id": 43021345678, "responder_id": null, "group_id": 43000612001,
     "description": "<div>When I click <b>Export</b> nothing happens.</div>",
     "description_text": "When I click Export nothing happens.", "tags": ["export"],
     "custom_fields": {"cf_plan": "Growth"}, "created_at": "2026-03-09T11:56:51Z", "updated_at": "2026-03-09T11:59:05Z",
     "requester": {"id": 43021345678, "email": "lena.fischer@alpenhof-gmbh.de", "phone": "+49 30 901820"}}

Freshdesk writes times as ISO 8601 UTC ('2026-03-09T11:56:51Z') and its codes as numbers: status 2 Open,
3 Pending, 4 Resolved, 5 Closed (custom statuses take other numbers); source 1 Email, 2 Portal, 3 Phone,
7 Chat, 9 Feedback widget, 10 Outbound email. Ticket ids are small integers that Zendesk's could share,
so ids carry the vendor: 'email:freshdesk:<id>'. Numeric status and source tell a Freshdesk ticket from
a Zendesk one, whose status is a word.
Docs: https://developers.freshdesk.com/api/#tickets, https://developers.freshdesk.com/api/#list_all_ticket_notes
"""

from transforms.sources.base import SourceAdapter, integer, required, timestamp

_INTEGER = "('UBIGINT', 'BIGINT')"

# A ticket is one contact, except an outbound email (source 10): the agent wrote it, so it is
# 'outbound_email', not a contact, and has no customer words. The customer's words are the
# description as text (the list leaves descriptions out unless include=description: then the subject).
# Status is the source code as 'freshdesk:<status>'; type (the ticket's category) or else the first tag
# is the source reason; source stays in attributes. include=requester ties the contact to their email
# and phone (hashed); include=stats gives the first response and resolution times (wait and handle).
# The latest updated_at supersedes.
TICKETS = SourceAdapter(
    name="freshdesk_tickets",
    framing="json",
    accepts=f"json_type(j, '$.status') in {_INTEGER} and json_type(j, '$.source') in {_INTEGER} and json_exists(j, '$.requester_id')",
    consumed=("id", "created_at", "updated_at", "requester_id", "responder_id", "group_id", "status", "type",
              "description", "description_text", "requester"),
    paths=(("_id", "$.id"), ("_created", "$.created_at"), ("_updated", "$.updated_at"), ("_requester", "$.requester_id"),
           ("_responder", "$.responder_id"), ("_group", "$.group_id"), ("_status", "$.status"), ("_source", "$.source"),
           ("_type", "$.type"), ("_tag", "$.tags[0]"), ("_text", "$.description_text"), ("_html", "$.description"),
           ("_subject", "$.subject"), ("_email", "$.requester.email"), ("_phone", "$.requester.phone"),
           ("_mobile", "$.requester.mobile"), ("_responded", "$.stats.first_responded_at"),
           ("_resolved", "$.stats.resolved_at"), ("_closed", "$.stats.closed_at")),
    fields="""
        'email:freshdesk:' || _id as interaction_id,
        'email' as touchpoint,
        'assisted' as channel_type,
        case when _source = '10' then 'outbound_email' else 'ticket' end as interaction_type,
        cx_ts_zoned(_created) as occurred_at,
        'freshdesk_contact:' || _requester as source_customer_ref,
        list_filter(['email:' || cx_pii_hash(lower(trim(_email))), 'phone:' || cx_pii_hash(cx_phone(_phone)),
                     'phone:' || cx_pii_hash(cx_phone(_mobile))], lambda x: x is not null) as linked_ref,
        'email:freshdesk:' || _id as case_id,
        case when _source <> '10' then coalesce(nullif(trim(_text), ''), cx_strip_html(_html), nullif(trim(_subject), '')) end as text,
        'freshdesk:' || _status as source_code,
        coalesce(_type, _tag) as source_reason,
        _responder as agent_id,
        _group as team,
        -- with include=stats: waited until the first response, handled until resolved (or closed)
        (epoch(cx_ts_zoned(_responded)) - epoch(cx_ts_zoned(_created)))::bigint as wait_seconds,
        (epoch(cx_ts_zoned(coalesce(_resolved, _closed))) - epoch(cx_ts_zoned(_created)))::bigint as handle_seconds,
        epoch_ms(cx_ts_zoned(_updated)) as record_version""",
    checks=(
        required("_id", "id"),
        integer("_id", "id"),
        required("_created", "created_at"),
        timestamp("_created", "occurred_at", "created_at"),
        required("_requester", "requester_id"),
    ),
)

# A conversation (a reply, a note, a forwarded email) on a ticket:
#     {"id": 43100000001, "ticket_id": 20, "user_id": 43021345678, "incoming": true, "private": false, "source": 0,
#      "body": "<div>Any update?</div>", "body_text": "Any update?", "from_email": "lena.fischer@alpenhof-gmbh.de",
#      "created_at": "2026-03-10T07:12:00Z", "updated_at": "2026-03-10T07:12:00Z"}
# Not a contact ('ticket_comment'). Only an incoming, public message is the customer's words: its author
# is the customer (tied to the sender's address, hashed). An outgoing one is the agent's (agent_id, no
# text); an incoming private one (a note, a forward from a third party) has neither. Edits move updated_at.
CONVERSATIONS = SourceAdapter(
    name="freshdesk_conversations",
    framing="json",
    accepts="json_type(j, '$.incoming') = 'BOOLEAN' and json_type(j, '$.private') = 'BOOLEAN' and json_exists(j, '$.user_id')",
    consumed=("id", "ticket_id", "user_id", "incoming", "private", "body", "body_text", "created_at", "updated_at"),
    paths=(("_id", "$.id"), ("_ticket", "$.ticket_id"), ("_user", "$.user_id"), ("_incoming", "$.incoming"),
           ("_private", "$.private"), ("_text", "$.body_text"), ("_html", "$.body"), ("_from", "$.from_email"),
           ("_created", "$.created_at"), ("_updated", "$.updated_at")),
    fields="""
        _incoming = 'true' and _private = 'false' as _customer,
        'email:freshdesk_conversation:' || _id as interaction_id,
        'email' as touchpoint,
        'assisted' as channel_type,
        'ticket_comment' as interaction_type,
        cx_ts_zoned(_created) as occurred_at,
        case when _customer then 'freshdesk_contact:' || _user end as source_customer_ref,
        case when _customer then 'email:' || cx_pii_hash(lower(nullif(regexp_extract(_from, '[^<>"\\s]+@[^<>"\\s]+'), ''))) end as linked_ref,
        'email:freshdesk:' || _ticket as case_id,
        case when _customer then coalesce(nullif(trim(_text), ''), cx_strip_html(_html)) end as text,
        'freshdesk_conversation' as source_code,
        case when _incoming = 'false' then _user end as agent_id,
        epoch_ms(cx_ts_zoned(_updated)) as record_version""",
    checks=(
        required("_id", "id"),
        required("_ticket", "ticket_id"),
        integer("_ticket", "ticket_id"),
        required("_created", "created_at"),
        timestamp("_created", "occurred_at", "created_at"),
    ),
)
