-- Each interaction in its customer's journey. Only what the customer did moves them (phase_signal):
-- a milestone moves them to its phase; product use moves them to part_of_core once it is habitual (the
-- first event of their habitual_use_weeks-th week of use), and afterwards only back up from an earlier
-- phase, never down from telling_others; context (notifications, invoices, contacts) moves nobody.
-- journey_phase is the interaction's own phase, else the phase the customer had reached by then.
with interactions as (
    select
        interaction_id,
        customer_id,
        occurred_at,
        touchpoint,
        journey_phase,
        phase_signal,
        is_pseudo_customer
    from {{ ref('stg_cx__interactions') }}
),

use_weeks as (
    select
        interaction_id,
        customer_id,
        dense_rank() over (partition by customer_id order by date_trunc('week', timezone('UTC', occurred_at))) as use_week,
        row_number() over (partition by customer_id order by occurred_at, interaction_id) as use_number
    from interactions
    where phase_signal = 'usage'
),

habitual_arrival as (
    select arg_min(interaction_id, use_number) as interaction_id
    from use_weeks
    where use_week = {{ var('habitual_use_weeks') }}
    group by customer_id
),

candidates as (
    select
        interactions.*,
        {{ phase_index('interactions.journey_phase') }} as phase_index,
        interactions.phase_signal = 'milestone' or habitual_arrival.interaction_id is not null as is_arrival,
        interactions.phase_signal = 'usage' and use_weeks.use_week >= {{ var('habitual_use_weeks') }} as is_habitual_use
    from interactions
    left join use_weeks on interactions.interaction_id = use_weeks.interaction_id
    left join habitual_arrival on interactions.interaction_id = habitual_arrival.interaction_id
),

with_last_arrival as (
    select
        *,
        last_value(case when is_arrival then phase_index end ignore nulls) over earlier as last_arrival_index
    from candidates
    window earlier as (
        partition by customer_id order by occurred_at, interaction_id
        rows between unbounded preceding and 1 preceding
    )
),

signals as (
    select
        *,
        coalesce(is_arrival or (is_habitual_use and coalesce(last_arrival_index, 0) < phase_index), false) as is_signal
    from with_last_arrival
),

with_history as (
    select
        *,
        last_value(case when is_signal then journey_phase end ignore nulls) over earlier as previous_phase,
        last_value(case when is_signal then phase_index end ignore nulls) over earlier as previous_phase_index,
        last_value(case when is_signal then touchpoint end ignore nulls) over earlier as previous_phase_touchpoint
    from signals
    window earlier as (
        partition by customer_id order by occurred_at, interaction_id
        rows between unbounded preceding and 1 preceding
    )
),

final as (
    select
        interaction_id,
        customer_id,
        occurred_at,
        is_pseudo_customer,
        phase_signal,
        coalesce(phase_index, previous_phase_index) as phase_index,
        coalesce(journey_phase, previous_phase) as journey_phase,
        case when journey_phase is not null then 'tagged' when previous_phase is not null then 'history' end as journey_phase_source,
        case
            when not is_signal then null
            when previous_phase_index is null then 'start'
            when phase_index > previous_phase_index then 'forward'
            when phase_index = 1 and previous_phase_index >= 3 then 'restart'
            when phase_index < previous_phase_index then 'back'
            when touchpoint <> previous_phase_touchpoint then 'sideways'
            else 'repeat'
        end as phase_move
    from with_history
)

select * from final
