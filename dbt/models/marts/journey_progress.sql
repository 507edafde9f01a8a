-- One row per customer (pseudo-customers left out) with a journey signal: how far their journey went,
-- how it moved, and its status. Only interactions that signal progress count (phase_move is set). The
-- as-of time is the latest event in the data, so the result does not depend on when the model runs.
with steps as (
    select * from {{ ref('int_journey_steps') }}
),

interactions as (
    select
        customer_id,
        occurred_at,
        interaction_type
    from {{ ref('stg_cx__interactions') }}
),

as_of as (
    select max(occurred_at) as as_of_at from interactions
),

activity as (
    select
        customer_id,
        max(occurred_at) as last_seen_at,
        bool_or({{ is_churn_event('interaction_type') }}) as is_churned
    from interactions
    group by customer_id
),

signals as (
    select
        *,
        phase_index > coalesce(max(phase_index) over (
            partition by customer_id order by occurred_at, interaction_id
            rows between unbounded preceding and 1 preceding
        ), 0) as is_progress
    from steps
    where phase_move is not null and not is_pseudo_customer
),

per_customer as (
    select
        customer_id,
        min(occurred_at) as first_signal_at,
        max(occurred_at) as last_signal_at,
        max(occurred_at) filter (where is_progress) as last_progress_at,
        last(journey_phase order by occurred_at, interaction_id) as current_phase,
        max(phase_index) as furthest_phase_index,
        count(distinct journey_phase)::bigint as phases_reached,
        count_if(phase_move = 'forward')::bigint as forward_moves,
        count_if(phase_move = 'back')::bigint as backward_moves,
        count_if(phase_move = 'sideways')::bigint as sideways_moves,
        count_if(phase_move = 'restart')::bigint as restarts,
        min(occurred_at) filter (where journey_phase = 'first_success') as first_success_at
    from signals
    group by customer_id
),

final as (
    select
        per_customer.customer_id,
        per_customer.phases_reached,
        per_customer.current_phase,
        {{ phase_name('per_customer.furthest_phase_index') }} as furthest_phase,
        per_customer.furthest_phase_index,
        per_customer.forward_moves,
        per_customer.backward_moves,
        per_customer.sideways_moves,
        per_customer.restarts,
        per_customer.first_signal_at,
        per_customer.last_signal_at,
        per_customer.last_progress_at,
        activity.last_seen_at,
        per_customer.first_success_at,
        round(epoch(per_customer.first_success_at - per_customer.first_signal_at) / 86400.0, 2) as days_to_first_success,
        activity.is_churned,
        case
            when activity.is_churned or activity.last_seen_at < as_of.as_of_at - to_days({{ var('journey_gone_days') }}) then 'dropped'
            when per_customer.furthest_phase_index < {{ last_phase_index() }}
                and per_customer.last_progress_at < as_of.as_of_at - to_days({{ var('journey_stall_days') }}) then 'stalled'
            else 'active'
        end as journey_status
    from per_customer
    inner join activity using (customer_id)
    cross join as_of
)

select * from final
