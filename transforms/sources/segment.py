"""Web and app clickstream in the Segment spec: track, page, screen and identify calls, one per line.

    {"messageId": "ajs-1", "type": "track", "event": "Signed Up", "anonymousId": "a1", "userId": "C1",
     "timestamp": "2026-02-10T20:52:32.831+05:30", "context": {...}, "properties": {"plan": "pro"}}

interaction_type is the call type (page_view, screen_view, identify) or the snake-cased event name;
source_code is the page path, screen name or event name. A call carrying both anonymousId and userId
links the anonymous visitor to the account.
"""

from transforms.sources.base import Check, SourceAdapter, required, timestamp


def segment_adapter(touchpoint: str) -> SourceAdapter:
    return SourceAdapter(
        name=touchpoint,
        framing="jsonl",
        consumed=("messageId", "type", "event", "name", "anonymousId", "userId", "timestamp"),
        fields=f"""
        j->>'$.messageId' as _id,
        j->>'$.type' as _type,
        j->>'$.timestamp' as _ts,
        j->>'$.userId' as _user,
        j->>'$.anonymousId' as _anon,
        '{touchpoint}:' || (j->>'$.messageId') as interaction_id,
        '{touchpoint}' as touchpoint,
        'self_service' as channel_type,
        case j->>'$.type'
            when 'page' then 'page_view'
            when 'screen' then 'screen_view'
            when 'identify' then 'identify'
            when 'track' then trim(regexp_replace(lower(j->>'$.event'), '[^a-z0-9]+', '_', 'g'), '_')
        end as interaction_type,
        cx_ts_zoned(j->>'$.timestamp') as occurred_at,
        case when nullif(j->>'$.userId', '') is not null then 'account:' || (j->>'$.userId')
             when nullif(j->>'$.anonymousId', '') is not null then 'anon:' || (j->>'$.anonymousId') end as source_customer_ref,
        case when nullif(j->>'$.userId', '') is not null and nullif(j->>'$.anonymousId', '') is not null
             then 'anon:' || (j->>'$.anonymousId') end as linked_ref,
        null::varchar as case_id,
        coalesce(j->>'$.properties.query', j->>'$.properties.comment') as text,
        case j->>'$.type'
            when 'page' then coalesce(j->>'$.properties.path', j->>'$.context.page.path', j->>'$.name')
            when 'screen' then j->>'$.name'
            when 'track' then j->>'$.event'
            else j->>'$.type'
        end as source_code,
        null::bigint as record_version""",
        checks=(
            required("_id", "messageId"),
            required("_type", "type"),
            Check("_type not in ('track', 'page', 'screen', 'identify', 'group', 'alias')", "invalid_value",
                  "'type ' || _type || ' is not a Segment call type'"),
            Check("_type = 'track' and j->>'$.event' is null", "missing_field", "'track call has no event'"),
            required("_ts", "timestamp"),
            timestamp("_ts", "occurred_at", "timestamp"),
            Check("source_customer_ref is null", "missing_field", "'neither userId nor anonymousId is set'"),
        ),
    )


WEB = segment_adapter("web")
APP = segment_adapter("app")
