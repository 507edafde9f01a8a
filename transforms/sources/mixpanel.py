"""Product usage as Mixpanel's raw event export (`GET /api/2.0/export`): JSON Lines, one event a line.

    {"event": "Signed Up", "properties": {"time": 1772612055, "distinct_id": "7712", "$user_id": "7712",
     "$device_id": "18e0f3c2a1b4d2-0d3e5f7a9b1c2", "$insert_id": "hpuDqcvpltpCjBsebtxwadtEBDnFAdycabFb",
     "mp_processing_time_ms": 1772612056874, "$os": "Mac OS X", "plan": "pro"}}

`time` is epoch seconds (milliseconds with time_in_ms=true). The export is not deduplicated: the id is
the client's $insert_id (else a hash of event, distinct_id and time), under 'product:mixpanel:' since a
CDP may send the same id to Amplitude too; the copy Mixpanel processed last (mp_processing_time_ms)
wins. The customer: $user_id, else a distinct_id that is not a device ('$device:<id>' under Simplified
ID Merge, or equal to $device_id under Original ID Merge), is the account; otherwise the device is
'mixpanel_device:<id>', and an event with both links the device to the account. An event with an empty
distinct_id and no device (a server job) belongs to no customer and fails. interaction_type is the
snake-cased event name ($mp_web_page_view is a page_view); the rest of the properties stay in attributes.
"""

from transforms.sources.base import Check, SourceAdapter, required, timestamp

EVENTS = SourceAdapter(
    name="mixpanel_event",
    framing="json",
    accepts="json_exists(j, '$.event') and json_type(j, '$.properties') = 'OBJECT' and not json_exists(j, '$.type')",
    consumed=("event",),
    paths=(("_event", "$.event"), ("_time", "$.properties.time"), ("_distinct_raw", "$.properties.distinct_id"),
           ("_insert_id", '$.properties."$insert_id"'), ("_user_raw", '$.properties."$user_id"'),
           ("_device_raw", '$.properties."$device_id"'), ("_processed", "$.properties.mp_processing_time_ms")),
    fields="""
        nullif(_distinct_raw, '') as _distinct,
        nullif(_device_raw, '') as _device_prop,
        coalesce(nullif(_user_raw, ''), case when not starts_with(_distinct, '$device:')
                                             and _distinct is distinct from _device_prop then _distinct end) as _account,
        coalesce(_device_prop, case when starts_with(_distinct, '$device:') then substr(_distinct, 9) end) as _device,
        'product:mixpanel:' || coalesce(nullif(_insert_id, ''), md5(concat_ws('|', _event, _distinct_raw, _time))) as interaction_id,
        'product' as touchpoint,
        'self_service' as channel_type,
        case when _event = '$mp_web_page_view' then 'page_view'
             else trim(regexp_replace(lower(_event), '[^a-z0-9]+', '_', 'g'), '_') end as interaction_type,
        cx_ts(_time) as occurred_at,
        case when _account is not null then 'account:' || _account
             when _device is not null then 'mixpanel_device:' || _device end as source_customer_ref,
        case when _account is not null and _device is not null then 'mixpanel_device:' || _device end as linked_ref,
        _event as source_code,
        try_cast(_processed as bigint) as record_version""",
    checks=(
        required("_event", "event"),
        required("_time", "properties.time"),
        timestamp("_time", "occurred_at", "properties.time"),
        Check("source_customer_ref is null", "missing_field",
              "'distinct_id is empty and there is no $device_id: the event belongs to no customer'"),
    ),
)
