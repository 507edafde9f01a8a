"""Twilio calls in call_center/: Call resources as the REST API lists them ({"calls": [...], "page",
"page_size", "first_page_uri", "next_page_uri", ...}; the framing unwraps the page) or fetches one:

    {"sid": "CA9e4f2a7c1b3d5e8f0a2c4e6b8d1f3a5c", "parent_call_sid": null, "account_sid": "AC3f0c...",
     "direction": "inbound", "status": "completed", "from": "+12065550143", "to": "+18885550164",
     "date_created": "Mon, 02 Mar 2026 13:05:11 +0000", "date_updated": "Mon, 02 Mar 2026 13:08:20 +0000",
     "start_time": "Mon, 02 Mar 2026 13:05:11 +0000", "end_time": "Mon, 02 Mar 2026 13:08:20 +0000",
     "duration": "189", "queue_time": "0", "price": "-0.01700", "price_unit": "USD", "answered_by": null, ...}

Times are RFC 2822 in UTC ('Mon, 02 Mar 2026 13:05:11 +0000'); duration is a string of seconds, null
or "0" when the call never connected. Docs: https://www.twilio.com/docs/voice/api/call-resource
[src: github.com/twilio/twilio-oai spec/json/twilio_api_v2010.json, schema api.v2010.account.call].
"""

from transforms.sources.base import Check, SourceAdapter, integer, required

# Directions in which the customer called in (Elastic SIP Trunking's terminating calls come from the PSTN).
_INBOUND = "('inbound', 'trunking-terminating')"
_NOT_CONNECTED = "('busy', 'no-answer', 'canceled', 'failed')"

# One Call resource is one interaction, 'call_center:<sid>'; a call listed while in progress and read
# again later is superseded by the version with the later date_updated. The customer is the other
# party: `from` on inbound calls, `to` on outbound ones, as a hashed phone number, a Twilio Client
# identity ('twilio_client:<name>') or a hashed SIP address. A call made by <Dial> within another call
# (parent_call_sid set) is that call's leg to an agent or a forward: a 'call_leg', no contact, in the
# parent's case, whose customer it takes through the ref 'twilio_call:<parent sid>' the parent links to;
# a leg to a Twilio Client names the agent. An outbound call that never connected is a 'call_attempt',
# not a contact. Handle time is the call's duration (for an inbound call, IVR and queue included); no
# wait is set, as queue_time is Twilio's own queueing of outbound calls under the account's calls per
# second, not the caller's wait; price is Twilio's charge to the account, not the customer's money, and
# stays in attributes. The source code is 'twilio:<status>' for inbound calls (busy, no-answer, canceled
# or failed: the caller was not served) and 'twilio:outbound:<status>' otherwise.
CALLS = SourceAdapter(
    name="twilio_calls",
    framing="json",
    accepts="""regexp_full_match(coalesce(j->>'$.sid', ''), 'CA[0-9a-fA-F]{32}')
        or (stream = 'calls' and starts_with(coalesce(j->>'$.account_sid', ''), 'AC') and json_exists(j, '$.direction'))""",
    consumed=("sid", "parent_call_sid", "direction", "status", "from", "to", "from_formatted", "to_formatted",
              "caller_name", "start_time", "date_created", "date_updated", "duration"),
    paths=(("_sid", "$.sid"), ("_parent", "$.parent_call_sid"), ("_direction", "$.direction"), ("_status", "$.status"),
           ("_from", "$.from"), ("_to", "$.to"), ("_start", "$.start_time"), ("_created", "$.date_created"),
           ("_updated", "$.date_updated"), ("_duration", "$.duration")),
    fields=f"""
        lower(_direction) as _dir,
        lower(_status) as _st,
        coalesce(_start, _created) as _when,
        case when _dir in {_INBOUND} then _from else _to end as _party,
        case when _party is null or trim(_party) = '' then null
             when starts_with(_party, 'client:') then 'twilio_client:' || substr(_party, 8)
             when starts_with(_party, 'sim:') then 'twilio_sim:' || substr(_party, 5)
             when regexp_full_match(trim(_party), '\\+?[0-9 ()./-]+') then 'phone:' || cx_pii_hash(cx_phone(_party))
             else 'sip:' || cx_pii_hash(lower(trim(regexp_replace(_party, '^sips?:', '')))) end as _party_ref,
        'call_center:' || _sid as interaction_id,
        'call_center' as touchpoint,
        'assisted' as channel_type,
        case when _parent is not null then 'call_leg'
             when _dir not in {_INBOUND} and _st in {_NOT_CONNECTED} then 'call_attempt'
             else 'call' end as interaction_type,
        cx_ts_rfc2822(_when) as occurred_at,
        case when _parent is not null then 'twilio_call:' || _parent else _party_ref end as source_customer_ref,
        case when _parent is null and _party_ref is not null then 'twilio_call:' || _sid end as linked_ref,
        'call_center:' || coalesce(_parent, _sid) as case_id,
        null::varchar as text,
        'twilio:' || case when _dir in {_INBOUND} then '' else 'outbound:' end || _st as source_code,
        case when _parent is not null and starts_with(_to, 'client:') then substr(_to, 8) end as agent_id,
        try_cast(nullif(trim(_duration), '') as bigint) as handle_seconds,
        epoch_ms(cx_ts_rfc2822(_updated)) as record_version""",
    checks=(
        required("_sid", "sid"),
        required("_when", "start_time"),
        Check("occurred_at is null", "invalid_timestamp",
              "'start_time is not an RFC 2822 date (Mon, 02 Mar 2026 13:05:11 +0000): ' || left(_when, 60)"),
        integer("_duration", "duration"),
    ),
)
