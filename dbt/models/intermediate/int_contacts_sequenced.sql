-- Each contact placed in its customer's history for the same reason: is it a repeat, is it followed
-- by one, which episode does it belong to, and did a self-service attempt just fail before it.
with interactions as (
    select * from {{ ref('stg_cx__interactions') }}
),

contacts as (
    select * from interactions where is_contact
),

self_service as (
    select customer_id, occurred_at as self_service_at, journey_phase as self_service_phase
    from interactions
    where channel_type = 'self_service' and touchpoint in ('web', 'app')
),

with_self_service as (
    select
        contacts.*,
        self_service.self_service_at,
        self_service.self_service_phase
    from contacts
    asof left join self_service
        on contacts.customer_id = self_service.customer_id
        and contacts.occurred_at >= self_service.self_service_at
),

sequenced as (
    select
        *,
        lag(occurred_at) over by_reason as previous_contact_at,
        lead(occurred_at) over by_reason as next_contact_at,
        lag(touchpoint) over by_reason as previous_touchpoint
    from with_self_service
    window by_reason as (partition by customer_id, reason_code order by occurred_at, interaction_id)
),

flagged as (
    select
        *,
        reason_code <> 'unknown'
            and previous_contact_at is not null
            and previous_contact_at >= occurred_at - to_days({{ var('repeat_window_days') }})
            as is_repeat_contact,
        reason_code <> 'unknown'
            and next_contact_at is not null
            and next_contact_at <= occurred_at + to_days({{ var('repeat_window_days') }})
            as is_followed_by_repeat,
        self_service_at is not null
            and self_service_phase is not distinct from journey_phase
            and self_service_at >= occurred_at - to_hours({{ var('self_service_failure_hours') }})
            as is_self_service_failure
    from sequenced
),

final as (
    select
        *,
        case when is_followed_by_repeat and outcome = 'resolved' then 'unresolved' else outcome end as effective_outcome,
        count_if(not is_repeat_contact) over (
            partition by customer_id, reason_code order by occurred_at, interaction_id
            rows between unbounded preceding and current row
        )::bigint as episode_number
    from flagged
)

select
    *,
    md5(customer_id || '|' || reason_code || '|' || episode_number::varchar
        || case when reason_code = 'unknown' then '|' || interaction_id else '' end) as episode_id
from final
