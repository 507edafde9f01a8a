"""Amazon Connect in call_center/: contact records (CTRs) and contact events.

Contact records, as data streaming writes them through Kinesis Data Firehose to S3 (objects back to
back, no delimiter: {...}{...}), or one saved as a pretty-printed document:

    {"ContactId": "7d2a9c1e-...", "InitialContactId": null, "Channel": "VOICE", "InitiationMethod": "INBOUND",
     "InitiationTimestamp": "2026-03-02T09:15:02Z", "DisconnectTimestamp": "2026-03-02T09:21:40Z",
     "LastUpdateTimestamp": "2026-03-02T09:23:05Z", "DisconnectReason": "CUSTOMER_DISCONNECT",
     "CustomerEndpoint": {"Address": "+12065550143", "Type": "TELEPHONE_NUMBER"},
     "Agent": {"Username": "maria.lopez", "AgentInteractionDuration": 290, "CustomerHoldDuration": 28,
               "AfterContactWorkDuration": 60, ...},
     "Queue": {"Name": "BasicQueue", "Duration": 42, "EnqueueTimestamp": "2026-03-02T09:15:40Z", ...},
     "Attributes": {"CustomerAccount": "C-1042", "ReasonCode": "BILLING-QUERY", "DispositionCode": "RESOLVED"},
     "NextContactId": null, "TransferredToEndpoint": null, ...}

Contact events, the EventBridge envelope with the contact in `detail` (one per line in an archive or a
log, or a JSON array), whose samples write keys both camelCase and PascalCase and channel 'VOICE' or 'Voice':

    {"version": "0", "id": "8e5c4f2d-...", "detail-type": "Amazon Connect Contact Event", "source": "aws.connect",
     "time": "2026-03-02T09:21:41Z", "detail": {"eventType": "DISCONNECTED", "contactId": "7d2a9c1e-...",
     "channel": "VOICE", "initiationMethod": "INBOUND", "disconnectTimestamp": "2026-03-02T09:21:40.000Z",
     "queueInfo": {"queueArn": "arn:...", "enqueueTimestamp": "2026-03-02T09:15:40.000Z"},
     "agentInfo": {"agentArn": "arn:...", "connectedToAgentTimestamp": "2026-03-02T09:16:22.000Z"}}}

Times are ISO 8601 UTC, 'yyyy-mm-ddThh:mm:ssZ' in records and with milliseconds in events; events write
1970-01-01T00:00:00.001Z for a time not set yet, read as no time. The customer's account comes from the
system attribute CustomerId or, by convention, the user-defined attributes CustomerAccount or customerId;
the flow or agent may also set ReasonCode, DispositionCode and CustomerStatement (the names the
call-centre CSV report uses). Every record of a contact chain shares case_id 'call_center:<InitialContactId>'.
Docs: https://docs.aws.amazon.com/connect/latest/adminguide/ctr-data-model.html,
.../adminguide/contact-events.html, .../adminguide/data-streaming.html (same host),
https://docs.aws.amazon.com/firehose/latest/dev/basic-deliver.html
"""

from transforms.sources.base import SourceAdapter, integer, required, timestamp

_ATTRIBUTES = "$.Attributes"

# Initiation methods whose contact continues one already counted (a transfer, a queue transfer, a call
# to a third party, a disconnect flow, an email reply), chained to it by PreviousContactId.
_LEGS = ("TRANSFER", "QUEUE_TRANSFER", "EXTERNAL_OUTBOUND", "DISCONNECT", "AGENT_REPLY")
_LEGS_SQL = ", ".join(f"'{m}'" for m in _LEGS)

# One contact record is one interaction, 'call_center:<ContactId>' like the CSV report's rows, so the
# same contact read from both shapes is one; a record is re-sent whenever the contact changes (after
# update-contact-attributes too), and the latest LastUpdateTimestamp supersedes. A voice contact is a
# 'call', a chat a 'chat_conversation', an email a 'ticket'; a task, a supervisor's monitoring and a
# leg continuing a counted contact ('contact_leg') are not contacts. Handle time is Amazon Connect's:
# agent interaction + customer hold + after-contact work. Wait is the time in queue. A contact passed
# on (NextContactId, or TransferredToEndpoint out of Connect) counts one transfer. The source code is
# the contact's disposition attribute as written, else what the record shows: 'amazon_connect:TRANSFERRED',
# 'amazon_connect:ABANDONED_IN_QUEUE' (queued, never connected to an agent, ended by the customer or
# with no reason, the docs' definition of abandoned) or 'amazon_connect:<DisconnectReason>'.
CONTACT_RECORDS = SourceAdapter(
    name="amazon_connect_ctr",
    framing="json",
    accepts="json_exists(j, '$.ContactId') and json_exists(j, '$.InitiationMethod') and json_exists(j, '$.Channel')",
    consumed=("ContactId", "InitiationTimestamp", "LastUpdateTimestamp", "CustomerEndpoint", "CustomerId"),
    paths=(("_id", "$.ContactId"), ("_initial", "$.InitialContactId"), ("_channel", "$.Channel"),
           ("_method", "$.InitiationMethod"), ("_initiated", "$.InitiationTimestamp"), ("_updated", "$.LastUpdateTimestamp"),
           ("_reason", "$.DisconnectReason"), ("_next", "$.NextContactId"), ("_out_to", "$.TransferredToEndpoint.Address"),
           ("_endpoint", "$.CustomerEndpoint.Address"), ("_endpoint_type", "$.CustomerEndpoint.Type"),
           ("_customer_id", "$.CustomerId"), ("_account_attr", f"{_ATTRIBUTES}.CustomerAccount"),
           ("_customer_attr", f"{_ATTRIBUTES}.customerId"), ("_disposition", f"{_ATTRIBUTES}.DispositionCode"),
           ("_reason_code", f"{_ATTRIBUTES}.ReasonCode"), ("_statement", f"{_ATTRIBUTES}.CustomerStatement"),
           ("_agent_arn", "$.Agent.ARN"), ("_agent", "$.Agent.Username"), ("_agent_at", "$.Agent.ConnectedToAgentTimestamp"),
           ("_talk", "$.Agent.AgentInteractionDuration"), ("_hold", "$.Agent.CustomerHoldDuration"),
           ("_acw", "$.Agent.AfterContactWorkDuration"), ("_queue", "$.Queue.Name"), ("_queue_arn", "$.Queue.ARN"),
           ("_enqueued", "$.Queue.EnqueueTimestamp"), ("_queued", "$.Queue.Duration")),
    fields=f"""
        upper(_channel) as _ch,
        upper(_method) as _how,
        coalesce(nullif(trim(_customer_id), ''), nullif(trim(_account_attr), ''), nullif(trim(_customer_attr), '')) as _account,
        case when nullif(trim(_endpoint), '') is null then null
             when upper(_endpoint_type) = 'EMAIL_ADDRESS' then 'email:' || cx_pii_hash(lower(trim(_endpoint)))
             else 'phone:' || cx_pii_hash(cx_phone(_endpoint)) end as _endpoint_ref,
        'amazon_connect_contact:' || _id as _contact_ref,
        'call_center:' || _id as interaction_id,
        'call_center' as touchpoint,
        case when _agent_arn is not null or _queue_arn is not null or _enqueued is not null
             then 'assisted' else 'automated' end as channel_type,
        case when _how = 'MONITOR' then 'supervisor_monitor'
             when _how in ({_LEGS_SQL}) then 'contact_leg'
             when _ch = 'VOICE' then 'call'
             when _ch = 'CHAT' then 'chat_conversation'
             when _ch = 'EMAIL' then 'ticket'
             else lower(_ch) end as interaction_type,
        cx_ts_zoned(_initiated) as occurred_at,
        coalesce('account:' || _account, _endpoint_ref, _contact_ref) as source_customer_ref,
        list_filter([case when _account is not null then _endpoint_ref end,
                     case when coalesce(_account, _endpoint_ref) is not null then _contact_ref end],
                    lambda r: r is not null) as linked_ref,
        'call_center:' || coalesce(_initial, _id) as case_id,
        nullif(trim(_statement), '') as text,
        coalesce(nullif(trim(_disposition), ''),
            case when _next is not null or _out_to is not null then 'amazon_connect:TRANSFERRED'
                 when _enqueued is not null and _agent_at is null
                      and coalesce(_reason, 'CUSTOMER_DISCONNECT') = 'CUSTOMER_DISCONNECT'
                 then 'amazon_connect:ABANDONED_IN_QUEUE'
                 else 'amazon_connect:' || _reason end) as source_code,
        nullif(trim(_reason_code), '') as source_reason,
        _agent as agent_id,
        _queue as team,
        try_cast(_queued as bigint) as wait_seconds,
        case when _agent_arn is not null or _talk is not null then
            coalesce(try_cast(_talk as bigint), 0) + coalesce(try_cast(_hold as bigint), 0)
            + coalesce(try_cast(_acw as bigint), 0)
        end as handle_seconds,
        case when _next is not null or _out_to is not null then 1 else 0 end as transfers,
        epoch_ms(cx_ts_zoned(_updated)) as record_version""",
    checks=(
        required("_id", "ContactId"),
        required("_initiated", "InitiationTimestamp"),
        timestamp("_initiated", "occurred_at", "InitiationTimestamp"),
        timestamp("_updated", "cx_ts_zoned(_updated)", "LastUpdateTimestamp"),
        integer("_queued", "Queue.Duration"),
        integer("_talk", "Agent.AgentInteractionDuration"),
        integer("_hold", "Agent.CustomerHoldDuration"),
        integer("_acw", "Agent.AfterContactWorkDuration"),
    ),
)


def _detail_paths(alias: str, *keys: str) -> tuple[tuple[str, str], ...]:
    """(alias_i, path) for `detail.<keys>` in every casing the docs' samples use: each key camelCase or PascalCase."""
    variants = [""]
    for key in keys:
        variants = [f"{v}.{k}" for v in variants for k in (key[0].lower() + key[1:], key[0].upper() + key[1:])]
    return tuple((f"{alias}_{i}", f"$.detail{v}") for i, v in enumerate(variants))


def _either(paths: tuple[tuple[str, str], ...]) -> str:
    return "coalesce(" + ", ".join(alias for alias, _ in paths) + ")"


def _set_time(expr: str) -> str:
    """A time the event has set: 1970-01-01T00:00:00.001Z marks one not set yet."""
    return f"case when cx_ts_zoned({expr}) >= timestamptz '2000-01-01' then cx_ts_zoned({expr}) end"


_EVENT_PATHS = {
    "type": _detail_paths("_type", "eventType"),
    "contact": _detail_paths("_contact", "contactId"),
    "initial": _detail_paths("_initial", "initialContactId"),
    "customer": _detail_paths("_customer", "customerId"),
    "initiated": _detail_paths("_initiated", "initiationTimestamp"),
    "system": _detail_paths("_system", "connectedToSystemTimestamp"),
    "disconnected": _detail_paths("_disconnected", "disconnectTimestamp"),
    "queue": _detail_paths("_queue", "queueInfo", "queueArn"),
    "enqueued": _detail_paths("_enqueued", "queueInfo", "enqueueTimestamp"),
    "agent": _detail_paths("_agent", "agentInfo", "agentArn"),
    "agent_at": _detail_paths("_agent_at", "agentInfo", "connectedToAgentTimestamp"),
    "acw_end": _detail_paths("_acw_end", "agentInfo", "afterContactWorkEndTimestamp"),
}
_E = {name: _either(paths) for name, paths in _EVENT_PATHS.items()}

# Events are best effort and unordered, and the contact records are the record of contacts; so an
# event is no contact but a 'contact_event', one per contact and event type
# ('call_center:<contactId>:<eventType>'; EventBridge's duplicates collapse, a later event of the same
# type supersedes), at the time the event is about (initiation, enqueue, connection to the agent,
# disconnect, end of after-contact work; else the envelope's time). The sequence stays readable by
# case_id, and the DISCONNECTED event says on its own whether the customer gave up in queue (it was
# queued and never connected to an agent): source code 'amazon_connect_event:DISCONNECTED_IN_QUEUE',
# else 'amazon_connect_event:<eventType>'. Wait (enqueue to agent, or to disconnect) and handle time
# (agent to disconnect, or to the end of after-contact work) are set where the event knows both ends.
# The customer is the CustomerId when the event has one, else the contact itself
# ('amazon_connect_contact:<contactId>'), which the contact's record ties to the caller.
CONTACT_EVENTS = SourceAdapter(
    name="amazon_connect_contact_events",
    framing="json",
    accepts="j->>'$.source' = 'aws.connect' and j->>'$.\"detail-type\"' = 'Amazon Connect Contact Event'",
    consumed=("id", "time", "source", "detail-type"),
    paths=(("_time", "$.time"),) + tuple(p for paths in _EVENT_PATHS.values() for p in paths),
    fields=f"""
        upper({_E['type']}) as _event,
        {_E['contact']} as _cid,
        {_set_time(_E['initiated'])} as _t_initiated,
        {_set_time(_E['system'])} as _t_system,
        {_set_time(_E['disconnected'])} as _t_disconnected,
        {_set_time(_E['enqueued'])} as _t_enqueued,
        {_set_time(_E['agent_at'])} as _t_agent,
        {_set_time(_E['acw_end'])} as _t_acw_end,
        cx_ts_zoned(_time) as _t_event,
        'call_center:' || _cid || ':' || _event as interaction_id,
        'call_center' as touchpoint,
        case when {_E['queue']} is not null or {_E['agent']} is not null then 'assisted' else 'automated' end as channel_type,
        'contact_event' as interaction_type,
        coalesce(case _event when 'INITIATED' then _t_initiated
                             when 'CONNECTED_TO_SYSTEM' then _t_system
                             when 'QUEUED' then _t_enqueued
                             when 'CONNECTED_TO_AGENT' then _t_agent
                             when 'DISCONNECTED' then _t_disconnected
                             when 'COMPLETED' then coalesce(_t_acw_end, _t_disconnected) end, _t_event) as occurred_at,
        coalesce('account:' || nullif(trim({_E['customer']}), ''), 'amazon_connect_contact:' || _cid) as source_customer_ref,
        case when nullif(trim({_E['customer']}), '') is not null then 'amazon_connect_contact:' || _cid end as linked_ref,
        'call_center:' || coalesce({_E['initial']}, _cid) as case_id,
        null::varchar as text,
        'amazon_connect_event:' || case when _event = 'DISCONNECTED' and _t_enqueued is not null and _t_agent is null
                                        then 'DISCONNECTED_IN_QUEUE' else _event end as source_code,
        nullif(regexp_extract({_E['agent']}, '/agent/([^/]+)$', 1), '') as agent_id,
        nullif(regexp_extract({_E['queue']}, '/queue/([^/]+)$', 1), '') as team,
        case when _event in ('CONNECTED_TO_AGENT', 'DISCONNECTED', 'COMPLETED')
             then date_diff('second', _t_enqueued, coalesce(_t_agent, _t_disconnected)) end as wait_seconds,
        case when _event = 'DISCONNECTED' then date_diff('second', _t_agent, _t_disconnected)
             when _event = 'COMPLETED' then date_diff('second', _t_agent, coalesce(_t_acw_end, _t_disconnected))
        end as handle_seconds,
        epoch_ms(_t_event) as record_version""",
    checks=(
        required("_cid", "detail.contactId"),
        required("_event", "detail.eventType"),
        required("_time", "time"),
        timestamp("_time", "_t_event", "time"),
    ),
)
