-- Each contact placed in its customer's history for the same reason: is it a repeat, is it followed
-- by one, which episode does it belong to, and did a self-service attempt just fail before it.
with interactions as (
    select * from {{ ref('stg_cx__interactions') }}
),

-- A ticket's own record has no handle time and no transfer count; its metrics record (Zendesk's
-- ticket_metrics: full resolution time, group stations) does, joined by case_id, the latest version.
ticket_metrics as (
    select
        case_id,
        arg_max(wait_seconds, occurred_at) as metric_wait_seconds,
        arg_max(handle_seconds, occurred_at) as metric_handle_seconds,
        arg_max(transfers, occurred_at) as metric_transfers
    from interactions
    where interaction_type = 'ticket_metrics' and case_id is not null
    group by case_id
),

contacts as (
    select
        interactions.* replace (
            coalesce(interactions.wait_seconds, ticket_metrics.metric_wait_seconds) as wait_seconds,
            coalesce(interactions.handle_seconds, ticket_metrics.metric_handle_seconds) as handle_seconds,
            greatest(interactions.transfers, coalesce(ticket_metrics.metric_transfers, 0)) as transfers
        )
    from interactions
    left join ticket_metrics
        on interactions.interaction_type = 'ticket' and interactions.case_id = ticket_metrics.case_id
    where interactions.is_contact
),

self_service as (
    select
        customer_id,
        occurred_at as self_service_at,
        journey_phase as self_service_phase
    from interactions
    where channel_type = 'self_service' and touchpoint in ('web', 'app')
),

-- Any self-service attempt in the contact's phase within the window counts, not only the latest
-- web or app event before the contact (which is often in another phase).
self_service_failures as (
    select distinct contacts.interaction_id
    from contacts
    inner join self_service
        on contacts.customer_id = self_service.customer_id
            and self_service.self_service_phase is not distinct from contacts.journey_phase
            and contacts.occurred_at >= self_service.self_service_at
            and self_service.self_service_at >= contacts.occurred_at - to_hours({{ var('self_service_failure_hours') }})
),

with_self_service as (
    select
        contacts.*,
        contacts.interaction_id in (select interaction_id from self_service_failures) as is_self_service_failure
    from contacts
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
            as is_followed_by_repeat
    from sequenced
),

final as (
    select
        *,
        -- whatever the disposition said (resolved, pending, escalated, transferred, abandoned), a contact
        -- the customer had to repeat did not end their issue
        case when is_followed_by_repeat then 'unresolved' else outcome end as effective_outcome,
        count_if(not is_repeat_contact) over (
            partition by customer_id, reason_code order by occurred_at, interaction_id
            rows between unbounded preceding and current row
        )::bigint as episode_number
    from flagged
)

select
    *,
    md5(
        customer_id || '|' || reason_code || '|' || episode_number::varchar
        || case when reason_code = 'unknown' then '|' || interaction_id else '' end
    ) as episode_id
from final
