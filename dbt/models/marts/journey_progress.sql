-- One row per customer: how far their journey went, how it moved, and whether it has stalled.
-- Only interactions that signal a phase themselves count (phase_move is set); the as-of time is the
-- latest event in the data, so the result does not depend on when the model runs.
with steps as (
    select * from {{ ref('int_journey_steps') }} where phase_move is not null
),

as_of as (
    select max(occurred_at) as as_of_at from {{ ref('int_journey_steps') }}
),

per_customer as (
    select
        customer_id,
        min(occurred_at) as first_signal_at,
        max(occurred_at) as last_signal_at,
        last(journey_phase order by occurred_at, interaction_id) as current_phase,
        max(phase_index) as furthest_phase_index,
        count(distinct journey_phase)::bigint as phases_reached,
        count_if(phase_move = 'forward')::bigint as forward_moves,
        count_if(phase_move = 'back')::bigint as backward_moves,
        count_if(phase_move = 'sideways')::bigint as sideways_moves,
        count_if(phase_move = 'restart')::bigint as restarts,
        min(occurred_at) filter (where journey_phase = 'first_success') as first_success_at
    from steps
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
        per_customer.first_success_at,
        round(epoch(per_customer.first_success_at - per_customer.first_signal_at) / 86400.0, 2) as days_to_first_success,
        per_customer.current_phase <> 'telling_others'
            and per_customer.last_signal_at < as_of.as_of_at - to_days({{ var('journey_stall_days') }}) as is_stalled
    from per_customer
    cross join as_of
)

select * from final
