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
        paths=(("_id", "$.messageId"), ("_type", "$.type"), ("_ts", "$.timestamp"), ("_user_raw", "$.userId"),
               ("_anon_raw", "$.anonymousId"), ("_event", "$.event"), ("_name", "$.name"), ("_path", "$.properties.path"),
               ("_page_path", "$.context.page.path"), ("_query", "$.properties.query"), ("_comment", "$.properties.comment")),
        fields=f"""
        nullif(_user_raw, '') as _user,
        nullif(_anon_raw, '') as _anon,
        '{touchpoint}:' || _id as interaction_id,
        '{touchpoint}' as touchpoint,
        'self_service' as channel_type,
        case _type
            when 'page' then 'page_view'
            when 'screen' then 'screen_view'
            when 'identify' then 'identify'
            when 'track' then trim(regexp_replace(lower(_event), '[^a-z0-9]+', '_', 'g'), '_')
        end as interaction_type,
        cx_ts_zoned(_ts) as occurred_at,
        case when _user is not null then 'account:' || _user
             when _anon is not null then 'anon:' || _anon end as source_customer_ref,
        case when _user is not null and _anon is not null then 'anon:' || _anon end as linked_ref,
        null::varchar as case_id,
        coalesce(_query, _comment) as text,
        case _type
            when 'page' then coalesce(_path, _page_path, _name)
            when 'screen' then _name
            when 'track' then _event
            else _type
        end as source_code,
        null::bigint as record_version""",
        checks=(
            required("_id", "messageId"),
            required("_type", "type"),
            Check("_type not in ('track', 'page', 'screen', 'identify', 'group', 'alias')", "invalid_value",
                  "'type ' || _type || ' is not a Segment call type'"),
            Check("_type = 'track' and _event is null", "missing_field", "'track call has no event'"),
            required("_ts", "timestamp"),
            timestamp("_ts", "occurred_at", "timestamp"),
            Check("source_customer_ref is null", "missing_field", "'neither userId nor anonymousId is set'"),
        ),
    )


WEB = segment_adapter("web")
APP = segment_adapter("app")
