"""Web and app clickstream in the Segment spec: track, page, screen and identify calls, one per line.

    {"messageId": "ajs-1", "type": "track", "event": "Signed Up", "anonymousId": "a1", "userId": "C1",
     "timestamp": "2026-02-10T20:52:32.831+05:30", "context": {...}, "properties": {"plan": "pro"}}

Read as Segment's libraries and HTTP API send them (one call, or a `/v1/batch` body whose top-level
context reaches every call), as a warehouse or S3 copy writes them (one per line), or inside an EL
envelope. interaction_type is the call type (page_view, screen_view, identify) or the snake-cased event
name; source_code is the page path, screen name or event name. A call carrying both anonymousId and
userId links the anonymous visitor to the account. The HTTP API does not require a messageId (the
libraries always set one): a call without one is identified by a hash of its natural key (type, user,
anonymous id, timestamp, event, name), so a re-sent call is still a duplicate.
"""

from transforms.sources.base import Check, SourceAdapter, required, timestamp


def segment_adapter(touchpoint: str) -> SourceAdapter:
    return SourceAdapter(
        name=touchpoint,
        framing="jsonl",
        consumed=("messageId", "type", "event", "name", "anonymousId", "userId", "timestamp"),
        paths=(("_id_raw", "$.messageId"), ("_type", "$.type"), ("_ts", "$.timestamp"), ("_user_raw", "$.userId"),
               ("_anon_raw", "$.anonymousId"), ("_event", "$.event"), ("_name", "$.name"), ("_path", "$.properties.path"),
               ("_page_path", "$.context.page.path"), ("_query", "$.properties.query"), ("_comment", "$.properties.comment")),
        fields=f"""
        coalesce(nullif(trim(_id_raw), ''), 'h' || left(md5(concat_ws('|', _type, coalesce(_user_raw, ''), coalesce(_anon_raw, ''), _ts,
                                                                   coalesce(_event, ''), coalesce(_name, ''))), 24)) as _id,
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
