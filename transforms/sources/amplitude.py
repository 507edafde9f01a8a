"""Product usage telemetry as Amplitude's export: one JSON event per line (the Export API's files).

    {"uuid": "c2e4…", "$insert_id": "5f1…", "event_type": "Feature Used", "user_id": "C1", "device_id": "d-9",
     "event_time": "2026-02-10 20:52:32.831000", "session_id": 1770756752000,
     "event_properties": {"feature": "reports", "error_message": null}, "user_properties": {...}}

event_time is UTC without a zone, as Amplitude writes it. interaction_type is the snake-cased
event_type (feature_used, error_shown, session_started); an error's message is the text, so what
broke is tagged like a verbatim. The customer is user_id, else device_id, else amplitude_id (Amplitude's
merged user, which joins the other two); an event carrying several links them. session_id -1 means no session.
"""

from transforms.sources.base import Check, SourceAdapter, required, timestamp

PRODUCT = SourceAdapter(
    name="product",
    framing="json",
    accepts="json_exists(j, '$.event_type')",
    consumed=("uuid", "$insert_id", "event_type", "user_id", "device_id", "event_time", "session_id"),
    paths=(("_uuid", "$.uuid"), ("_insert_id", '$."$insert_id"'), ("_event", "$.event_type"), ("_user", "$.user_id"),
           ("_device", "$.device_id"), ("_ts", "$.event_time"), ("_session", "$.session_id"), ("_amplitude_id", "$.amplitude_id"),
           ("_error", "$.event_properties.error_message"), ("_feature", "$.event_properties.feature")),
    fields="""
        coalesce(_uuid, _insert_id) as _id,
        'product:' || coalesce(_uuid, _insert_id) as interaction_id,
        'product' as touchpoint,
        'self_service' as channel_type,
        trim(regexp_replace(lower(_event), '[^a-z0-9]+', '_', 'g'), '_') as interaction_type,
        cx_ts(_ts) as occurred_at,
        case when nullif(_user, '') is not null then 'account:' || _user
             when nullif(_device, '') is not null then 'device:' || _device
             when _amplitude_id is not null then 'amplitude_user:' || _amplitude_id end as source_customer_ref,
        list_filter([case when nullif(_user, '') is not null then 'device:' || nullif(_device, '') end,
                     case when nullif(_user, '') is not null or nullif(_device, '') is not null then 'amplitude_user:' || _amplitude_id end],
                    lambda x: x is not null) as linked_ref,
        case when _session is not null and _session <> '-1' then 'session:' || _session end as case_id,
        _error as text,
        _event as source_code,
        _feature as source_reason,
        null::bigint as record_version""",
    checks=(
        required("_id", "uuid or $insert_id"),
        required("_event", "event_type"),
        required("_ts", "event_time"),
        timestamp("_ts", "occurred_at", "event_time"),
        Check("source_customer_ref is null", "missing_field", "'none of user_id, device_id and amplitude_id is set'"),
    ),
)
