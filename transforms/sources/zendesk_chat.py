"""Chat as Zendesk Chat's Chat API chats: `GET /api/v2/chats` and the incremental export pages
`{"chats": [...], "count", "end_id", "end_time", "next_page"}` (requested with fields=chats(*)).

    {"id": "2603.10414779.Su8xYbLqL2Gp7", "type": "chat", "timestamp": "2026-03-03T14:02:11Z",
     "update_timestamp": "2026-03-03T14:20:40Z", "visitor": {"id": "10414779.1Bsdf3kLw2Xq", "email": "jonas@example.com"},
     "history": [{"type": "chat.msg", "nick": "visitor", "msg": "my invoice shows VAT twice", ...},
                 {"type": "chat.msg", "nick": "agent:361089721035", "msg": "Let me take a look", ...}],
     "response_time": {"first": 38, "avg": 41.5, "max": 60}, "duration": 1011, "missed": false,
     "agent_ids": ["361089721035"], "department_name": "Billing", "rating": "good", "zendesk_ticket_id": 48213}

Times are ISO 8601 in UTC ('Z'); durations are seconds. One chat is one 'chat_conversation'; an
offline message (type offline_msg, its `message` the text) is a 'ticket', for it is answered later by
email; a chat the visitor never wrote in is an 'outbound_message'. The customer's words are the
visitor's chat.msg entries (nick 'visitor' or 'visitor:<id>'), one per line. Wait is
response_time.first and handle is duration; a missed chat was never handled, so its duration is the
wait. Transfers are agents beyond the first. The thumbs rating is CSAT's top or bottom box: good 5,
bad 1. source_code says served, missed or offline_msg. A chat sent to Zendesk Support
(zendesk_ticket_id) shares the ticket's case 'email:<ticket id>'. The visitor is the customer, linked
to the hashed email and phone they gave. The incremental export sends a chat again when it changes:
the latest update_timestamp supersedes.
"""

from transforms.sources.base import Check, SourceAdapter, required, timestamp

CHATS = SourceAdapter(
    name="zendesk_chat",
    framing="json",
    accepts="stream = 'chats' or (j->>'type' in ('chat', 'offline_msg') and json_exists(j, '$.visitor'))",
    consumed=("id", "type", "timestamp", "update_timestamp", "visitor", "message", "history", "count", "missed",
              "response_time", "duration", "agent_ids", "department_name", "rating", "zendesk_ticket_id"),
    paths=(("_id", "$.id"), ("_type", "$.type"), ("_ts", "$.timestamp"), ("_updated", "$.update_timestamp"),
           ("_visitor", "$.visitor.id"), ("_email", "$.visitor.email"), ("_phone", "$.visitor.phone"),
           ("_message", "$.message"), ("_visitor_count", "$.count.visitor"), ("_missed", "$.missed"),
           ("_first_response", "$.response_time.first"), ("_duration", "$.duration"), ("_agent", "$.agent_ids[0]"),
           ("_department", "$.department_name"), ("_rating", "$.rating"), ("_ticket", "$.zendesk_ticket_id"),
           ("_tag", "$.tags[0]")),
    fields="""
        list_transform(list_filter(coalesce(json_extract(j, '$.history[*]'), []::json[]), lambda e:
                           json_extract_string(e, '$.type') = 'chat.msg'
                           and regexp_matches(json_extract_string(e, '$.nick'), '^visitor(:|$)')),
                       lambda e: json_extract_string(e, '$.msg')) as _visitor_messages,
        'chat:' || _id as interaction_id,
        'chat' as touchpoint,
        'assisted' as channel_type,
        case when _type = 'offline_msg' then 'ticket'
             when coalesce(try_cast(_visitor_count as bigint), len(_visitor_messages)) = 0 then 'outbound_message'
             else 'chat_conversation' end as interaction_type,
        cx_ts_zoned(_ts) as occurred_at,
        'zendesk_chat_visitor:' || _visitor as source_customer_ref,
        list_filter(['email:' || cx_pii_hash(lower(trim(nullif(trim(_email), '')))),
                     'phone:' || cx_pii_hash(cx_phone(_phone))], lambda x: x is not null) as linked_ref,
        case when _ticket is not null then 'email:' || _ticket else 'chat:' || _id end as case_id,
        case when _type = 'offline_msg' then _message
             else nullif(array_to_string(_visitor_messages, chr(10)), '') end as text,
        'zendesk_chat:' || case when _type = 'offline_msg' then 'offline_msg'
                                when _missed = 'true' then 'missed' else 'served' end as source_code,
        _tag as source_reason,
        _agent as agent_id,
        _department as team,
        case when _missed = 'true' then try_cast(_duration as bigint)
             else try_cast(_first_response as bigint) end as wait_seconds,
        case when _missed is distinct from 'true' then try_cast(_duration as bigint) end as handle_seconds,
        case when _type = 'chat' then greatest(json_array_length(j, '$.agent_ids')::bigint - 1, 0) end as transfers,
        case _rating when 'good' then 5 when 'bad' then 1 end as csat,
        epoch_ms(cx_ts_zoned(coalesce(_updated, _ts))) as record_version""",
    checks=(
        required("_id", "id"),
        Check("_type is null and _ts is null", "missing_field",
              "'chat ' || _id || ' carries only its id: request the export with fields=chats(*)'"),
        required("_ts", "timestamp"),
        timestamp("_ts", "occurred_at", "timestamp"),
        required("_visitor", "visitor.id"),
    ),
)
